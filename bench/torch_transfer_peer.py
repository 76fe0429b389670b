#!/usr/bin/python3
# torch_transfer_peer.py: the PyTorch peer of build/bench/sl-bench-transfer: the same model description, frozen layers, data, batch, optimizer and threads.
#
#   /usr/bin/python3 bench/torch_transfer_peer.py --model-json MODEL.json [--batch 32]
#       [--threads 2] [--images 256] [--epochs 2] [--lr 1e-3] [--json]
#
# The network is built from the Sightline model description that sl-bench-transfer
# wrote (--write-model): conv2d (groups, dilation, stride, padding as an int, [ph, pw],
# [top, left, bottom, right] or "same" = TensorFlow SAME_UPPER, done with F.pad when
# it is asymmetric), batchnorm (epsilon, momentum), maxpool (size, stride, no padding),
# relu, relu6, add, global_avgpool,
# dropout, dense, flatten, layer "input"/"inputs" references. A layer with
# "frozen": true gets requires_grad False and, for batch-norm, eval mode (running
# statistics, which it keeps), as in the engine; frozen dropout is the identity.
# A batch-norm with "statistics": "running" is in eval mode too while its weights train.
# "lr_scale" becomes a parameter group at lr * lr_scale. Weights are PyTorch's own
# initialisation: speed does not depend on their values.
#
# Data: the synthetic images sl-bench-transfer trains on (pixel p of image i is
# ((i * 7919 + p * 31) mod 251) / 125 - 1, label i mod classes), in memory before
# the clock starts. Adam (betas 0.9 / 0.999, eps 1e-8, no weight decay), one untimed
# warm-up epoch of two batches, then `epochs` timed epochs over the images in order
# (images/s over all of them, and of the fastest one: the least disturbed by other work).
import argparse
import json
import math
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def pair(v):
    if isinstance(v, (list, tuple)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def conv_pads(pad, h, w, k, s, d):
    """(top, left, bottom, right) padding of a conv2d layer, as the engine reads it."""
    if pad == "same":
        out = []
        for size, kk, ss, dd in ((h, k[0], s[0], d[0]), (w, k[1], s[1], d[1])):
            o = (size + ss - 1) // ss
            total = max((o - 1) * ss + (kk - 1) * dd + 1 - size, 0)
            out.append((total // 2, total - total // 2))
        return out[0][0], out[1][0], out[0][1], out[1][1]
    if pad == "valid":
        return 0, 0, 0, 0
    if isinstance(pad, (list, tuple)) and len(pad) == 4:
        return tuple(int(p) for p in pad)
    ph, pw = pair(pad)
    return ph, pw, ph, pw


class Conv(nn.Module):
    def __init__(self, c, layer, h, w):
        super().__init__()
        k = pair(layer["kernel"])
        s = pair(layer.get("stride", 1))
        d = pair(layer.get("dilation", 1))
        t, l, b, r = conv_pads(layer.get("padding", 0), h, w, k, s, d)
        self.symmetric = t == b and l == r
        self.pads = (l, r, t, b)  # F.pad order: last axis first
        self.conv = nn.Conv2d(c, layer["filters"], k, s, (t, l) if self.symmetric else 0, d,
                              layer.get("groups", 1), layer.get("bias", True))
        self.out_h = (h + t + b - d[0] * (k[0] - 1) - 1) // s[0] + 1
        self.out_w = (w + l + r - d[1] * (k[1] - 1) - 1) // s[1] + 1

    def forward(self, x):
        return self.conv(x if self.symmetric else F.pad(x, self.pads))


class Net(nn.Module):
    """A Sightline model description as a PyTorch module (NCHW, float32)."""

    def __init__(self, doc):
        super().__init__()
        inp = doc["input"]
        self.classes = int(doc["classes"])
        self.steps = []  # (type, module index or None, sources, name)
        self.mods = nn.ModuleList()
        self.frozen_bn = []
        self.groups = {}  # lr_scale -> parameters
        shapes = {"input": (inp["channels"], inp["height"], inp["width"])}
        prev = "input"
        for i, layer in enumerate(doc["layers"]):
            t = layer["type"]
            name = layer.get("name", "#%d" % i)
            srcs = list(layer["inputs"]) if t == "add" else [layer.get("input", prev)]
            c, h, w = shapes[srcs[0]]
            frozen = bool(layer.get("frozen", False))
            mod = None
            if t == "conv2d":
                mod = Conv(c, layer, h, w)
                c, h, w = layer["filters"], mod.out_h, mod.out_w
            elif t == "dense":
                mod = nn.Linear(c * h * w, layer["units"], layer.get("bias", True))
                c, h, w = layer["units"], 1, 1
            elif t == "batchnorm":
                mod = nn.BatchNorm2d(c, eps=layer.get("epsilon", 1e-5),
                                     momentum=layer.get("momentum", 0.1))
                if frozen or layer.get("statistics") == "running":
                    self.frozen_bn.append(mod)
            elif t == "dropout":
                mod = nn.Identity() if frozen else nn.Dropout(layer.get("rate", 0.5))
            elif t == "maxpool":
                if layer.get("padding", 0) not in (0, [0, 0]):
                    raise ValueError("layers[%d] (maxpool): padding is not supported by this peer" % i)
                k = pair(layer["size"])
                st = pair(layer.get("stride", layer["size"]))
                mod = nn.MaxPool2d(k, st)
                h, w = (h - k[0]) // st[0] + 1, (w - k[1]) // st[1] + 1
            elif t == "global_avgpool":
                h, w = 1, 1
            elif t == "flatten":
                c, h, w = c * h * w, 1, 1
            elif t == "add":
                if shapes[srcs[0]] != shapes[srcs[1]]:
                    raise ValueError("layers[%d] (add): inputs differ in shape" % i)
            elif t not in ("relu", "relu6"):
                raise ValueError("layers[%d]: type %r is not supported by this peer" % (i, t))
            idx = None
            if mod is not None:
                idx = len(self.mods)
                self.mods.append(mod)
                for p in mod.parameters():
                    p.requires_grad_(not frozen)
                    if not frozen:
                        self.groups.setdefault(float(layer.get("lr_scale", 1.0)), []).append(p)
            self.steps.append((t, idx, srcs, name))
            shapes[name] = (c, h, w)
            prev = name
        if shapes[prev] != (self.classes, 1, 1):
            raise ValueError("the last layer gives %r, not %d classes" % (shapes[prev], self.classes))

    def train(self, mode=True):
        super().train(mode)
        for m in self.frozen_bn:  # frozen batch-norm uses and keeps its running statistics
            m.eval()
        return self

    def forward(self, x):
        outs = {"input": x}
        y = x
        for t, idx, srcs, name in self.steps:
            a = outs[srcs[0]]
            if t == "dense":
                y = self.mods[idx](a.flatten(1))
                y = y.reshape(y.shape[0], -1, 1, 1)
            elif idx is not None:
                y = self.mods[idx](a)
            elif t == "relu":
                y = F.relu(a)
            elif t == "relu6":
                y = F.relu6(a)
            elif t == "global_avgpool":
                y = a.mean(dim=(2, 3), keepdim=True)
            elif t == "flatten":
                y = a.reshape(a.shape[0], -1, 1, 1)
            elif t == "add":
                y = a + outs[srcs[1]]
            outs[name] = y
        return y.reshape(y.shape[0], self.classes)


def synthetic_images(n, shape):
    """The images as 8-bit values (0..250), built one image at a time; a batch
    becomes floats, (v / 125) - 1, when it is used, as a data loader would."""
    pixels = int(np.prod(shape))
    p = np.arange(pixels, dtype=np.int64)
    x = np.empty((n, pixels), dtype=np.uint8)
    for i in range(n):
        x[i] = (i * 7919 + p * 31) % 251
    return torch.from_numpy(x.reshape((n,) + tuple(shape)))


def to_floats(batch):
    return batch.float() / 125.0 - 1.0


def main():
    ap = argparse.ArgumentParser(description="PyTorch peer of sl-bench-transfer")
    ap.add_argument("--model-json", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.batch < 1 or a.threads < 1 or a.epochs < 1 or a.images < 2 * a.batch or not a.lr > 0:
        ap.error("need batch, threads, epochs >= 1, images >= 2 * batch, lr > 0")
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    with open(a.model_json) as f:
        doc = json.load(f)
    net = Net(doc)
    inp = doc["input"]
    x = synthetic_images(a.images, (inp["channels"], inp["height"], inp["width"]))
    y = torch.arange(a.images) % net.classes
    groups = [{"params": ps, "lr": a.lr * s} for s, ps in sorted(net.groups.items())]
    opt = torch.optim.Adam(groups, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    trainable = sum(p.numel() for ps in net.groups.values() for p in ps)
    total = sum(p.numel() for p in net.parameters())

    def epoch(n):
        net.train()
        last = 0.0
        for i in range(0, n, a.batch):
            loss = F.cross_entropy(net(to_floats(x[i:min(i + a.batch, n)])), y[i:min(i + a.batch, n)])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            last = loss.item()
        return last

    epoch(2 * a.batch)  # warm-up, untimed
    seconds = []
    cpu0 = time.process_time()
    for e in range(a.epochs):
        t0 = time.perf_counter()
        last = epoch(a.images)
        seconds.append(time.perf_counter() - t0)
        if not a.json:
            print("epoch %d: loss %.4f, %.2f s" % (e + 1, last, seconds[-1]), file=sys.stderr)
    cpu = time.process_time() - cpu0
    if not math.isfinite(last):
        sys.exit("torch_transfer_peer: the loss is not finite")
    print(json.dumps({
        "engine": "pytorch %s" % torch.__version__, "size": inp["height"],
        "channels": inp["channels"], "batch": a.batch, "threads": a.threads,
        "images": a.images, "epochs": a.epochs,
        "train_images_per_s": round(a.images * a.epochs / sum(seconds), 2),
        "best_epoch_images_per_s": round(a.images / min(seconds), 2),
        "train_cpu_seconds": round(cpu, 2), "params": total, "trainable_params": trainable,
        "last_loss": round(last, 5),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
    }))


if __name__ == "__main__":
    main()
