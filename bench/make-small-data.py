#!/usr/bin/python3
# make-small-data.py: writes the small-data benchmark's image folders (seeded subsets + a fixed test set).
#
#   /usr/bin/python3 bench/make-small-data.py OUT [--sizes 10,30,100] [--seed 1]
#                    [--sources fmnist,photos] [--test-per-class 100]
#
# For each source, OUT/SOURCE/test/CLASS/*.png is the fixed held-out test set and
# OUT/SOURCE/train-N/CLASS/*.png the first N images per class of one seeded
# order, so the 10-image subset is inside the 30 and the 30 inside the 100.
# The test folders hold one image per class more than the test set's size:
# `sightline-cli split` always gives training at least one image per class, and
# compare-transfer.sh sets that one aside (ignored).
#
# Sources (both offline, from Debian packages):
#   fmnist  Fashion-MNIST (dataset-fashion-mnist, MIT licence): the training
#           subsets come from its 60,000 training images, the test set (100 per
#           class) from its 10,000 test images. 28 x 28 gray, written as they are.
#   photos  scikit-image's sample photographs (python3-skimage, its data
#           folder; BSD-3-Clause for the package; the seven photographs used
#           are public domain or CC0 as their docstrings in skimage.data say):
#           one class per colour photograph (astronaut, cat, coffee, galaxies,
#           tissue stain, retina, rocket). An image is a random square crop
#           (18-30 % of the photograph's shorter side, random mirror) resized
#           to 128 x 128 RGB. Training crops come from the left 70 % of the
#           photograph, test crops from the right 30 %, so no test pixel was
#           ever seen in training. 50 test crops per class.
import argparse
import gzip
import os
import sys

import cv2
import numpy as np

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
FMNIST_CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                  "sneaker", "bag", "ankle-boot"]
# (class, file in skimage's data folder); all colour photographs.
PHOTOS = [("astronaut", "astronaut.png"), ("cat", "chelsea.png"), ("coffee", "coffee.png"),
          ("galaxies", "hubble_deep_field.jpg"), ("tissue", "ihc.png"),
          ("retina", "retina.jpg"), ("rocket", "rocket.jpg")]
PHOTO_SIDE = 128
PHOTO_TEST_PER_CLASS = 50
TRAIN_FRACTION = 0.7


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\0\0" or data[2] != 8:
        sys.exit("make-small-data: %s is not an unsigned-byte IDX file" % path)
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, image):
        sys.exit("make-small-data: cannot write %s" % path)


def per_class_order(labels, classes, rng):
    """For each class, the indices of its images in one seeded order."""
    return [rng.permutation(np.flatnonzero(labels == c)) for c in range(classes)]


def make_fmnist(out, sizes, test_per_class, seed):
    rng = np.random.default_rng(seed)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(os.path.join(FMNIST_DIR, prefix + "-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(FMNIST_DIR, prefix + "-labels-idx1-ubyte.gz"))
        order = per_class_order(labels, len(FMNIST_CLASSES), rng)
        for c, name in enumerate(FMNIST_CLASSES):
            if split == "test":
                for i in order[c][:test_per_class + 1]:
                    write(os.path.join(out, "fmnist", "test", name, "t10k-%05d.png" % i), images[i])
                continue
            for n in sizes:
                for i in order[c][:n]:
                    write(os.path.join(out, "fmnist", "train-%d" % n, name, "train-%05d.png" % i),
                          images[i])


def crops(photo, count, test, rng):
    """count square crops from the photograph's training (left) or test (right) part."""
    h, w = photo.shape[:2]
    edge = int(w * TRAIN_FRACTION)
    x_lo, x_hi = (edge, w) if test else (0, edge)
    short = min(h, w)
    out = []
    for _ in range(count):
        side = int(short * rng.uniform(0.18, 0.30))
        side = min(side, x_hi - x_lo, h)
        x = int(rng.integers(x_lo, x_hi - side + 1))
        y = int(rng.integers(0, h - side + 1))
        crop = photo[y:y + side, x:x + side]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out.append(cv2.resize(np.ascontiguousarray(crop), (PHOTO_SIDE, PHOTO_SIDE),
                              interpolation=cv2.INTER_AREA))
    return out


def make_photos(out, sizes, seed):
    import skimage

    data_dir = os.path.join(os.path.dirname(skimage.__file__), "data")
    for k, (name, file) in enumerate(PHOTOS):
        path = os.path.join(data_dir, file)
        photo = cv2.imread(path, cv2.IMREAD_COLOR)  # BGR, as cv2.imwrite expects
        if photo is None:
            sys.exit("make-small-data: cannot read %s (apt-get install python3-skimage)" % path)
        # Separate streams: the crops do not depend on the sizes asked for.
        train = crops(photo, max(sizes), False, np.random.default_rng([seed, k, 0]))
        for n in sizes:
            for i, image in enumerate(train[:n]):
                write(os.path.join(out, "photos", "train-%d" % n, name, "%s-%03d.png" % (name, i)),
                      image)
        test = crops(photo, PHOTO_TEST_PER_CLASS + 1, True, np.random.default_rng([seed, k, 1]))
        for i, image in enumerate(test):
            write(os.path.join(out, "photos", "test", name, "%s-test-%03d.png" % (name, i)), image)


def main():
    ap = argparse.ArgumentParser(description="Writes the small-data benchmark's image folders.")
    ap.add_argument("out")
    ap.add_argument("--sizes", default="10,30,100")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sources", default="fmnist,photos")
    ap.add_argument("--test-per-class", type=int, default=100)
    a = ap.parse_args()
    try:
        sizes = sorted({int(s) for s in a.sizes.split(",")})
    except ValueError:
        ap.error("--sizes takes counts like 10,30,100")
    if sizes[0] < 1 or sizes[-1] > 1000 or not 1 <= a.test_per_class <= 1000:
        ap.error("sizes and --test-per-class must be between 1 and 1000")
    sources = a.sources.split(",")
    unknown = set(sources) - {"fmnist", "photos"}
    if unknown:
        ap.error("unknown source %s (fmnist, photos)" % ", ".join(sorted(unknown)))
    for src in sources:
        if os.path.exists(os.path.join(a.out, src)):
            ap.error("%s exists: remove it or write elsewhere" % os.path.join(a.out, src))
    if "fmnist" in sources:
        make_fmnist(a.out, sizes, a.test_per_class, a.seed)
    if "photos" in sources:
        make_photos(a.out, sizes, a.seed)


if __name__ == "__main__":
    main()
