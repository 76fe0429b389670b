#!/usr/bin/env python3
# make-transparent-set.py: writes a labelled data set of RGBA "symbolic icon" shapes on transparent backgrounds.
"""Writes OUT/<class>/<class>-NNN.png: 64x64 RGBA PNG images, one antialiased dark
glyph (circle, ring, square, triangle, cross, star) per image on a fully transparent
background, at a random position, size and rotation. Glyphs are drawn as symbolic
icons and cut-out masks are: a dark colour (levels 0..DARK, default 60) whose shape
lives in the alpha channel; transparent pixels store black (0, 0, 0, 0), as most
exporters write them. Deterministic for a given --seed. Needs only Python 3.

    python3 bench/make-transparent-set.py OUT [--per-class 100] [--seed 1] [--dark 60]

See bench/README.md ("Transparent images") for the experiment that uses it."""

import argparse
import math
import os
import random
import struct
import zlib

SIZE = 64
SUPER = 4  # samples per pixel side for antialiasing
CLASSES = ("circle", "ring", "square", "triangle", "cross", "star")


def polygon_inside(px, py, pts):
    """Even-odd rule point-in-polygon test."""
    inside = False
    j = len(pts) - 1
    for i in range(len(pts)):
        xi, yi = pts[i]
        xj, yj = pts[j]
        if (yi > py) != (yj > py) and px < (xj - xi) * (py - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def regular(n, r, rot, inner=None):
    pts = []
    for k in range(n * (2 if inner else 1)):
        rr = inner if inner and k % 2 else r
        a = rot + k * math.pi / (n if inner else n / 2)
        pts.append((rr * math.cos(a), rr * math.sin(a)))
    return pts


def shape_test(name, r, rot):
    """A function (x, y) -> bool, coordinates relative to the glyph centre."""
    if name == "circle":
        return lambda x, y: x * x + y * y <= r * r
    if name == "ring":
        inner = 0.55 * r
        return lambda x, y: inner * inner <= x * x + y * y <= r * r
    if name == "square":
        pts = regular(4, r, rot + math.pi / 4)
    elif name == "triangle":
        pts = regular(3, r, rot - math.pi / 2)
    elif name == "star":
        pts = regular(5, r, rot - math.pi / 2, inner=0.45 * r)
    else:  # cross: two bars
        c, s, w = math.cos(rot), math.sin(rot), 0.3 * r

        def cross(x, y):
            u, v = c * x + s * y, -s * x + c * y
            return (abs(u) <= r and abs(v) <= w) or (abs(v) <= r and abs(u) <= w)

        return cross
    return lambda x, y: polygon_inside(x, y, pts)


def render(name, rng, dark):
    r = rng.uniform(14, 24)
    cx = SIZE / 2 + rng.uniform(-6, 6)
    cy = SIZE / 2 + rng.uniform(-6, 6)
    inside = shape_test(name, r, rng.uniform(0, 2 * math.pi))
    level = rng.randint(0, dark)
    tint = [max(0, min(255, level + rng.randint(-6, 6))) for _ in range(3)]
    rows = []
    for y in range(SIZE):
        row = bytearray([0])  # PNG filter type: none
        for x in range(SIZE):
            hits = 0
            for sy in range(SUPER):
                for sx in range(SUPER):
                    if inside(x + (sx + 0.5) / SUPER - cx, y + (sy + 0.5) / SUPER - cy):
                        hits += 1
            a = round(255 * hits / (SUPER * SUPER))
            row += bytes(tint + [a]) if a > 0 else b"\0\0\0\0"
        rows.append(bytes(row))
    return b"".join(rows)


def png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png(path, raw):
    ihdr = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dark", type=int, default=60,
                    help="the brightest glyph level (0..255); symbolic icons are near 50")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    for name in CLASSES:
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        for i in range(args.per_class):
            write_png(os.path.join(folder, "%s-%03d.png" % (name, i)), render(name, rng, args.dark))
    print("%d images in %d classes under %s" % (args.per_class * len(CLASSES), len(CLASSES),
                                                args.out))


if __name__ == "__main__":
    main()
