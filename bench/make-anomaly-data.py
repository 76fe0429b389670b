#!/usr/bin/python3
# make-anomaly-data.py: writes the anomaly benchmark's images: real texture photographs with seeded synthetic defects and masks.
#
#   /usr/bin/python3 bench/make-anomaly-data.py OUT [--categories brick,grass,gravel]
#                    [--size 224] [--train 200] [--test-good 50] [--test-defect 50] [--seed 1]
#
# For each category (a texture photograph from scikit-image's data folder,
# python3-skimage, offline; 512 x 512 gray, brick, grass and gravel; CC0, as
# skimage.data's docstrings say):
#   OUT/CAT/train/good/good-NNN.png            crops of the left 288 columns
#   OUT/CAT/test/good/good-NNN.png             crops of the right 224 columns
#   OUT/CAT/test/defect/defect-NNN-KIND.png    right-side crops with one defect
#   OUT/CAT/masks/defect-NNN-KIND.png          8-bit, 255 on the defect, else 0
# No test pixel comes from the training side of the photograph. A crop is a
# random square of 190..224 source pixels, mirrored at random either way,
# resized to SIZE x SIZE (area) and written as RGB (the gray texture in all
# three channels: contamination may bring colour).
# Defect kinds cycle scratch, spot, crack, missing, contamination; their size
# varies continuously (small to large) and their contrast cycles high, medium
# and low; see the draw_* functions. The same arguments write the same files.
import argparse
import os
import sys

import cv2
import numpy as np

TEXTURES = {"brick": "brick.png", "grass": "grass.png", "gravel": "gravel.png"}
TRAIN_COLUMNS = 288  # of the 512: training crops come from x < 288, test crops from x >= 288
CROP_MIN, CROP_MAX = 190, 224  # crop side in source pixels
KINDS = ["scratch", "spot", "crack", "missing", "contamination"]
CONTRASTS = [1.0, 0.6, 0.35]  # high, medium, low
# Foreign colours (RGB) a contamination may bring: rust, oil, paint.
STAINS = [(150, 75, 35), (35, 45, 70), (60, 120, 60)]


def die(msg):
    sys.exit("make-anomaly-data: " + msg)


def load_texture(name):
    import skimage.data  # noqa: F401, only for its folder
    path = os.path.join(os.path.dirname(skimage.data.__file__), TEXTURES[name])
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        die("cannot read %s (install python3-skimage)" % path)
    return img


def crop(src, rng, x0, x1, size):
    """A random square crop whose columns lie in [x0, x1), mirrored, resized to size (float RGB)."""
    side = int(rng.integers(CROP_MIN, min(CROP_MAX, x1 - x0) + 1))
    x = int(rng.integers(x0, x1 - side + 1))
    y = int(rng.integers(0, src.shape[0] - side + 1))
    patch = src[y:y + side, x:x + side]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    if rng.random() < 0.5:
        patch = patch[::-1, :]
    patch = cv2.resize(np.ascontiguousarray(patch), (size, size), interpolation=cv2.INTER_AREA)
    return np.repeat(patch.astype(np.float32)[:, :, None], 3, axis=2)


def soft_layer(size, draw):
    """Draws (anti-aliased, at 4x sub-pixel precision) into a 0..1 float layer."""
    layer = np.zeros((size, size), np.uint8)
    draw(layer)
    return layer.astype(np.float32) / 255.0


def pt(x, y):
    return (int(round(x * 16)), int(round(y * 16)))  # cv2 shift=4 fixed point


def shade(img, mask, alpha, delta):
    """Adds delta levels where alpha says (keeps the texture under it) and marks the mask."""
    img += alpha[:, :, None] * delta
    mask |= alpha >= 0.5


def draw_scratch(img, mask, rng, size, contrast, scale):
    s = size / 224.0
    length = scale * rng.uniform(0.15, 0.55) * size + 10 * s
    ang = rng.uniform(0, np.pi)
    cx, cy = rng.uniform(0.25, 0.75, 2) * size
    dx, dy = 0.5 * length * np.cos(ang), 0.5 * length * np.sin(ang)
    width = max(1, int(round(s * (1 + 3 * scale * rng.random()))))
    sign = 1 if rng.random() < 0.6 else -1
    alpha = soft_layer(size, lambda l: cv2.line(l, pt(cx - dx, cy - dy), pt(cx + dx, cy + dy),
                                                255, width, cv2.LINE_AA, 4))
    shade(img, mask, alpha, sign * 110 * contrast)


def draw_spot(img, mask, rng, size, contrast, scale):
    s = size / 224.0
    r = s * (2.5 + 10 * scale * rng.uniform(0.5, 1.0))
    cx, cy = rng.uniform(0.2, 0.8, 2) * size
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    d = np.hypot(xx - cx, yy - cy)
    alpha = np.clip((r - d) / max(1.0, 0.3 * r) + 0.5, 0, 1)
    sign = -1 if rng.random() < 0.75 else 1
    shade(img, mask, alpha, sign * 100 * contrast)


def draw_crack(img, mask, rng, size, contrast, scale):
    s = size / 224.0
    x, y = rng.uniform(0.3, 0.7, 2) * size
    direction = rng.uniform(0, 2 * np.pi)
    steps = int((0.15 + 0.35 * scale * rng.random()) * size / 2)
    pts = [(x, y)]
    for _ in range(steps):
        direction += rng.uniform(-0.5, 0.5)
        x = np.clip(x + 2 * np.cos(direction), 2, size - 3)
        y = np.clip(y + 2 * np.sin(direction), 2, size - 3)
        pts.append((x, y))
    width = max(1, int(round(s * (1 + 2 * scale * rng.random()))))

    def draw(layer):
        poly = np.array([pt(px, py) for px, py in pts], np.int32)
        cv2.polylines(layer, [poly], False, 255, width, cv2.LINE_AA, 4)
        # A short branch from the middle.
        mid = len(pts) // 2
        bx, by = pts[mid]
        b = rng.uniform(0, 2 * np.pi)
        cv2.line(layer, pt(bx, by), pt(bx + 0.1 * size * np.cos(b), by + 0.1 * size * np.sin(b)),
                 255, width, cv2.LINE_AA, 4)

    alpha = soft_layer(size, draw)
    shade(img, mask, alpha, -120 * contrast)


def draw_missing(img, mask, rng, size, contrast, scale):
    """Material broken out: an irregular hole showing a dark, flat backing in shadow."""
    s = size / 224.0
    r = s * (5 + 18 * scale * rng.uniform(0.5, 1.0))
    cx, cy = rng.uniform(0.25, 0.75, 2) * size
    angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
    radii = r * rng.uniform(0.6, 1.2, 9)
    poly = np.array([pt(cx + q * np.cos(a), cy + q * np.sin(a)) for a, q in zip(angles, radii)],
                    np.int32)
    alpha = soft_layer(size, lambda l: cv2.fillPoly(l, [poly], 255, cv2.LINE_AA, 4))
    local = float(img[..., 0][alpha > 0.5].mean()) if (alpha > 0.5).any() else 128.0
    level = local - 90 * contrast
    yy = np.mgrid[0:size, 0:size][0].astype(np.float32)
    backing = level + 12 * contrast * (yy - cy) / max(r, 1) + rng.normal(0, 3, (size, size))
    a = alpha[:, :, None]
    img *= 1 - a
    img += a * backing[:, :, None].astype(np.float32)
    mask |= alpha >= 0.5


def draw_contamination(img, mask, rng, size, contrast, scale, foreign):
    """A cluster of blobs of foreign matter: another texture, tinted, partly see-through."""
    s = size / 224.0
    cx, cy = rng.uniform(0.25, 0.75, 2) * size
    n = int(rng.integers(2, 5))
    base = s * (3 + 9 * scale * rng.uniform(0.5, 1.0))

    def draw(layer):
        for _ in range(n):
            ex, ey = cx + rng.uniform(-1.2, 1.2) * base, cy + rng.uniform(-1.2, 1.2) * base
            ax = (int(round(base * rng.uniform(0.6, 1.3) * 16)),
                  int(round(base * rng.uniform(0.6, 1.3) * 16)))
            cv2.ellipse(layer, pt(ex, ey), ax, rng.uniform(0, 180), 0, 360, 255, -1,
                        cv2.LINE_AA, 4)

    alpha = soft_layer(size, draw)
    tint = np.array(STAINS[int(rng.integers(len(STAINS)))], np.float32) / 128.0
    matter = foreign[:, :, None].astype(np.float32) * tint[None, None, :]
    a = alpha[:, :, None] * (0.35 + 0.65 * contrast)
    img *= 1 - a
    img += a * matter
    mask |= alpha * (0.35 + 0.65 * contrast) >= 0.3


def write(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(path, image):
        die("cannot write %s" % path)


def make_category(out, name, index, sources, args):
    rng = np.random.default_rng([args.seed, index])
    src = sources[name]
    others = [sources[n] for n in sorted(sources) if n != name] or [255 - src]
    width = src.shape[1]
    if width - TRAIN_COLUMNS < CROP_MAX:
        die("%s is too narrow (%d px)" % (name, width))
    folder = os.path.join(out, name)
    for i in range(args.train):
        img = crop(src, rng, 0, TRAIN_COLUMNS, args.size)
        write(os.path.join(folder, "train", "good", "good-%03d.png" % i), img.astype(np.uint8))
    for i in range(args.test_good):
        img = crop(src, rng, TRAIN_COLUMNS, width, args.size)
        write(os.path.join(folder, "test", "good", "good-%03d.png" % i), img.astype(np.uint8))
    kinds = {"scratch": draw_scratch, "spot": draw_spot, "crack": draw_crack,
             "missing": draw_missing}
    for i in range(args.test_defect):
        kind = KINDS[i % len(KINDS)]
        contrast = CONTRASTS[(i // len(KINDS)) % len(CONTRASTS)]
        scale = rng.uniform(0.2, 1.0)
        img = crop(src, rng, TRAIN_COLUMNS, width, args.size)
        mask = np.zeros((args.size, args.size), bool)
        if kind == "contamination":
            foreign_src = others[int(rng.integers(len(others)))]
            foreign = crop(foreign_src, rng, 0, foreign_src.shape[1], args.size)[:, :, 0]
            draw_contamination(img, mask, rng, args.size, contrast, scale, foreign)
        else:
            kinds[kind](img, mask, rng, args.size, contrast, scale)
        if not mask.any():
            die("internal error: defect %d (%s) has an empty mask" % (i, kind))
        stem = "defect-%03d-%s.png" % (i, kind)
        write(os.path.join(folder, "test", "defect", stem),
              np.clip(np.rint(img), 0, 255).astype(np.uint8))
        write(os.path.join(folder, "masks", stem), mask.astype(np.uint8) * 255)
    print("%s: %d train good, %d test good, %d test defect (%d px) in %s" %
          (name, args.train, args.test_good, args.test_defect, args.size, folder))


def main():
    p = argparse.ArgumentParser(description="Texture photographs with synthetic defects and "
                                "ground-truth masks, for the anomaly benchmark.")
    p.add_argument("out")
    p.add_argument("--categories", default=",".join(TEXTURES),
                   help="comma-separated, of: " + ", ".join(TEXTURES))
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--train", type=int, default=200)
    p.add_argument("--test-good", type=int, default=50)
    p.add_argument("--test-defect", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    cats = [c for c in args.categories.split(",") if c]
    for c in cats:
        if c not in TEXTURES:
            die("unknown category '%s' (choose from %s)" % (c, ", ".join(TEXTURES)))
    if not cats:
        die("--categories is empty")
    if not 32 <= args.size <= 1024:
        die("--size must be 32..1024, not %d" % args.size)
    if min(args.train, args.test_good, args.test_defect) < 0:
        die("image counts must not be negative")
    sources = {name: load_texture(name) for name in TEXTURES}
    for c in cats:
        make_category(args.out, c, list(TEXTURES).index(c), sources, args)


if __name__ == "__main__":
    main()
