#!/usr/bin/python3
# torch_peer.py: the PyTorch (and OpenCV-DNN) peer of build/bench/sl-bench-train.
#
# Trains the same model on the same Fashion-MNIST data with the same optimizer
# and reports the same JSON keys, measured the same way, so bench/compare-train.sh
# can put the two side by side. Run it with Debian's interpreter, which has
# python3-torch and python3-opencv:
#
#   /usr/bin/python3 bench/torch_peer.py --model seed-cnn --train-images 60000 \
#       --epochs 5 --batch 64 --threads 2 --json [--opencv-dnn]
#
# What is measured:
#   train_images_per_s  images trained / wall seconds of the training loops only
#                       (data is read from disk and normalised before the clock
#                       starts; the per-batch shuffle-index slicing is inside it)
#   test_accuracy       on all 10,000 test images after the last epoch, eval mode
#   latency_b1_ms       median of 500 single-image forwards (the first test
#                       image) after 50 warm-up runs, eval mode, torch.no_grad()
#   train_cpu_seconds   process CPU time of the training loops, which tells the
#                       efficiency even on a machine shared with other work
#   peak_rss_mb         ru_maxrss of this process, read before the ONNX export
#                       and OpenCV-DNN part so that it covers training only
#   opencv_dnn_latency_b1_ms (with --opencv-dnn) the trained model exported to
#                       ONNX (opset 13, batch 1) and run by cv2.dnn the same way
#
# Models are Sightline model descriptions (docs/model-format.md) interpreted
# layer by layer, so --model-json can run any document the engine accepts.
# PRESETS copies what engine/sl-presets.c builds for a 1 x 28 x 28 input with 10
# classes; weights start as the engine's do (He normal or Xavier uniform, zero
# biases) from PyTorch's own random stream.

import argparse
import gzip
import json
import os
import resource
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530

PRESETS = {
    "seed-cnn": {
        "name": "seed-cnn",
        "input": {"channels": 1, "height": 28, "width": 28},
        "classes": 10,
        "layers": [
            {"type": "conv2d", "filters": 32, "kernel": 5, "padding": 2},
            {"type": "relu"},
            {"type": "maxpool", "size": 2},
            {"type": "conv2d", "filters": 64, "kernel": 5, "padding": 2},
            {"type": "relu"},
            {"type": "maxpool", "size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 1024},
            {"type": "relu"},
            {"type": "dense", "units": 10},
        ],
    },
    "small-bn": {
        "name": "small-bn",
        "input": {"channels": 1, "height": 28, "width": 28},
        "classes": 10,
        "layers": [
            {"type": "conv2d", "filters": 32, "kernel": 3, "padding": 1, "bias": False},
            {"type": "batchnorm"},
            {"type": "relu"},
            {"type": "maxpool", "size": 2},
            {"type": "conv2d", "filters": 64, "kernel": 3, "padding": 1, "bias": False},
            {"type": "batchnorm"},
            {"type": "relu"},
            {"type": "maxpool", "size": 2},
            {"type": "conv2d", "filters": 128, "kernel": 3, "padding": 1, "bias": False},
            {"type": "batchnorm"},
            {"type": "relu"},
            {"type": "global_avgpool"},
            {"type": "dropout", "rate": 0.2},
            {"type": "dense", "units": 10},
        ],
    },
}


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from sl_torch_model import SlNet  # noqa: E402  (the model format's PyTorch reading)


def read_idx(path, limit=0):
    """An IDX file (gzip or plain) as a uint8 array: images N x H x W or labels N."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\0\0" or data[2] != 8:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)
    return arr[:limit] if limit > 0 else arr


def load_split(prefix, limit=0):
    """Images normalised like the engine's loader ((x/255 - mean) / std), N x 1 x H x W."""
    images = read_idx(os.path.join(DATA_DIR, prefix + "-images-idx3-ubyte.gz"), limit)
    labels = read_idx(os.path.join(DATA_DIR, prefix + "-labels-idx1-ubyte.gz"), limit)
    x = (images.astype(np.float32) / 255.0 - MEAN) / STD
    x = torch.from_numpy(np.ascontiguousarray(x[:, None, :, :]))
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def median_ms(fn, inputs, warmup, runs):
    for i in range(warmup):
        fn(inputs[i % len(inputs)])
    times = []
    for i in range(runs):
        inp = inputs[i % len(inputs)]
        t0 = time.perf_counter()
        fn(inp)
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def evaluate(net, x, y, batch):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            correct += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / x.shape[0]


def opencv_dnn_latency(net, sample, inputs, threads, warmup, runs):
    """Exports net to ONNX (opset 13, batch 1) and times cv2.dnn on it.

    Returns (median ms, max |cv2 - torch| on the first input)."""
    import cv2

    cv2.setNumThreads(threads)
    with tempfile.TemporaryDirectory(prefix="sl-torch-peer-") as tmp:
        path = os.path.join(tmp, "model.onnx")
        net.eval()
        torch.onnx.export(net, sample, path, opset_version=13,
                          input_names=["input"], output_names=["logits"])
        dnn = cv2.dnn.readNetFromONNX(path)
    dnn.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    dnn.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    blobs = [inp.numpy() for inp in inputs]

    def run(blob):
        dnn.setInput(blob)
        return dnn.forward()

    with torch.no_grad():
        ref = net(inputs[0]).numpy()
    diff = float(np.abs(run(blobs[0]).reshape(ref.shape) - ref).max())
    return median_ms(run, blobs, warmup, runs), diff


def main():
    ap = argparse.ArgumentParser(description="PyTorch peer of sl-bench-train")
    ap.add_argument("--model", default="seed-cnn", choices=sorted(PRESETS))
    ap.add_argument("--model-json", help="a model description file; overrides --model")
    ap.add_argument("--train-images", type=int, default=60000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--latency-runs", type=int, default=500)
    ap.add_argument("--json", action="store_true", help="print only the JSON result")
    ap.add_argument("--opencv-dnn", action="store_true",
                    help="also time the model under OpenCV DNN (ONNX export)")
    args = ap.parse_args()
    if args.train_images < 1 or args.train_images > 60000 or args.epochs < 1 \
            or args.batch < 1 or args.threads < 1 or args.latency_runs < 200:
        ap.error("need 1 <= train-images <= 60000, epochs, batch, threads >= 1, latency-runs >= 200")

    def log(msg):
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.model_json:
        with open(args.model_json) as f:
            doc = json.load(f)
    else:
        doc = PRESETS[args.model]
    net = SlNet(doc)
    net.init_weights()
    inp = doc["input"]
    if (inp["channels"], inp["height"], inp["width"]) != (1, 28, 28) or net.classes != 10:
        sys.exit("torch_peer: Fashion-MNIST needs a 1 x 28 x 28 input and 10 classes")

    x_train, y_train = load_split("train", args.train_images)
    x_test, y_test = load_split("t10k")
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                           weight_decay=0.0)
    gen = torch.Generator().manual_seed(args.seed)
    n = x_train.shape[0]
    epoch_seconds, epoch_loss = [], []
    cpu0 = time.process_time()
    for epoch in range(args.epochs):
        net.train()
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, args.batch):  # the last partial batch is included
            idx = order[i:i + args.batch]
            xb, yb = x_train[idx], y_train[idx]
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        epoch_seconds.append(time.perf_counter() - t0)
        epoch_loss.append(total / n)
        log("epoch %d: loss %.4f, %.1f s, %.0f images/s" %
            (epoch + 1, epoch_loss[-1], epoch_seconds[-1], n / epoch_seconds[-1]))
    train_cpu = time.process_time() - cpu0

    accuracy = evaluate(net, x_test, y_test, 1000)
    net.eval()
    singles = [x_test[0:1].clone()]
    with torch.no_grad():
        latency = median_ms(net, singles, 50, args.latency_runs)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    result = {
        "model": doc.get("name", args.model),
        "framework": "pytorch %s" % torch.__version__,
        "threads": args.threads,
        "batch": args.batch,
        "train_images": n,
        "epochs": args.epochs,
        "epoch_seconds": [round(s, 3) for s in epoch_seconds],
        "epoch_loss": [round(v, 5) for v in epoch_loss],
        "train_images_per_s": round(n * args.epochs / sum(epoch_seconds), 1),
        "test_accuracy": round(accuracy, 4),
        "latency_b1_ms": round(latency, 4),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "train_cpu_seconds": round(train_cpu, 2),
    }
    if args.opencv_dnn:
        import cv2

        ms, diff = opencv_dnn_latency(net, singles[0], singles, args.threads, 50,
                                      args.latency_runs)
        result["opencv_version"] = cv2.__version__
        result["opencv_dnn_latency_b1_ms"] = round(ms, 4)
        result["opencv_dnn_max_abs_diff"] = float("%.3g" % diff)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
