#!/usr/bin/python3
# bench-vision-peer.py: the peer of bench-vision.c: the same chain in Python OpenCV
# (imread -> gray -> crop -> CLAHE -> resize -> normalize -> float NCHW batches),
# in one process or a multiprocessing.Pool, as a PyTorch DataLoader would run it.
import argparse
import multiprocessing
import os
import resource
import time

import cv2
import numpy as np


def preprocess(path, clahe):
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    h, w = img.shape
    x0, y0 = round(0.1 * w), round(0.1 * h)
    x1, y1 = min(w, round(0.9 * w)), min(h, round(0.9 * h))
    img = img[y0:y1, x0:x1]
    img = clahe.apply(img)
    img = cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA)
    img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)
    return (img.astype(np.float32) / 255.0 - 0.5) / 0.25


def batch(paths):
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    return np.stack([preprocess(p, clahe) for p in paths])[:, None, :, :]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--procs", type=int, default=1)
    a = ap.parse_args()
    paths = [os.path.join(a.dir, "img-%05d.png" % i) for i in range(a.images)]
    chunks = [paths[i:i + a.batch] for i in range(0, len(paths), a.batch)]
    print("checksum %.6f" % float(batch(paths[:64]).astype(np.float64).sum()))
    t0 = time.perf_counter()
    c0 = time.process_time()
    n = 0
    if a.procs == 1:
        for c in chunks:
            n += batch(c).shape[0]
    else:
        pool = multiprocessing.Pool(a.procs)
        for b in pool.imap(batch, chunks):
            n += b.shape[0]
        pool.close()
        pool.join()
    dt = time.perf_counter() - t0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - c0 + children.ru_utime + children.ru_stime
    assert n == a.images
    print("images_per_s %.1f" % (n / dt))
    print("cpu_ms_per_image %.4f" % (1e3 * cpu / n))


if __name__ == "__main__":
    main()
