#!/usr/bin/python3
# torch_gpu_peer.py: the PyTorch peer of `sl-bench-train --device cuda`, on the same GPU.
#
# Trains a Sightline model description (--model-json, as `sl-bench-train --model NAME
# --print-model` prints it) on Fashion-MNIST with Adam (lr 1e-3), the same batch and epochs,
# and prints one JSON object with the keys compare-gpu.sh reads. It reuses torch_peer.py's data
# loading and model reading, so both peers train the same network.
#
# Measured as the engine measures itself: the wall time of the training loops only, batches
# shuffled per epoch, taken from host memory (pinned) and copied to the GPU per step, and the
# loss read back every step (the engine reports it every step). FP32 throughout: TF32 is off
# for convolutions and matrix products, as the engine's cuDNN and cuBLAS calls use plain FP32.
# cudnn.benchmark is on, as the engine measures its convolution algorithms too.

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_peer  # noqa: E402  (load_split, evaluate, SlNet)


def main():
    ap = argparse.ArgumentParser(description="PyTorch GPU peer of sl-bench-train --device cuda")
    ap.add_argument("--model-json", required=True)
    ap.add_argument("--train-images", type=int, default=60000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda:0")
    args = ap.parse_args()

    if not torch.cuda.is_available():
        sys.exit("torch_gpu_peer: this PyTorch (%s) has no usable CUDA device" % torch.__version__)
    dev = torch.device(args.device)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(args.seed)
    with open(args.model_json) as f:
        doc = json.load(f)
    net = torch_peer.SlNet(doc)
    net.init_weights()
    net.to(dev)

    x_train, y_train = torch_peer.load_split("train", args.train_images)
    x_test, y_test = torch_peer.load_split("t10k")
    x_train, y_train = x_train.pin_memory(), y_train.pin_memory()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    n = x_train.shape[0]
    epoch_seconds = []
    for epoch in range(args.epochs):
        net.train()
        torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, args.batch):
            idx = order[i:i + args.batch]
            xb = x_train[idx].pin_memory().to(dev, non_blocking=True)
            yb = y_train[idx].to(dev, non_blocking=True)
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        torch.cuda.synchronize(dev)
        epoch_seconds.append(time.perf_counter() - t0)
        print("epoch %d: loss %.4f, %.2f s" % (epoch + 1, total / n, epoch_seconds[-1]),
              file=sys.stderr, flush=True)

    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x_test.shape[0], 1000):
            out = net(x_test[i:i + 1000].to(dev))
            correct += (out.argmax(1).cpu() == y_test[i:i + 1000]).sum().item()
    # The first epoch carries cuDNN's algorithm search, as the engine's first plan does;
    # both sides report all epochs.
    print(json.dumps({
        "framework": "pytorch %s" % torch.__version__,
        "device": torch.cuda.get_device_name(dev),
        "batch": args.batch,
        "train_images": n,
        "epochs": args.epochs,
        "epoch_seconds": [round(s, 3) for s in epoch_seconds],
        "train_images_per_s": round(n * args.epochs / sum(epoch_seconds), 1),
        "train_images_per_s_after_first": round(
            n * (args.epochs - 1) / sum(epoch_seconds[1:]), 1) if args.epochs > 1 else None,
        "test_accuracy": round(correct / x_test.shape[0], 4),
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated(dev) / 2**20, 1),
    }))


if __name__ == "__main__":
    main()
