#!/usr/bin/python3
# bench-runtime-peer.py: the peer of bench-runtime.c: the same model (its ONNX export) on the
# same Fashion-MNIST test images in OpenCV DNN, timed the same way, printed as one JSON object.
#
#   /usr/bin/python3 bench/bench-runtime-peer.py --onnx DIR/small-bn.onnx --threads 1
#       [--images 1000] [--iterations 2000] [--batch 32] [--parity DIR/small-bn.probs.f32]
#   /usr/bin/python3 bench/bench-runtime-peer.py --onnx DIR/small-bn.onnx --threads 1 --cold
#
# The graph takes the pipeline's 8-bit output as float32 NCHW (0 .. 255) and normalises and
# applies softmax inside, so its blobs are made before timing, as our frames are: neither side
# times decoding or the uint8 -> float conversion of its input.
# --cold times, in this fresh process, importing cv2, readNetFromONNX and the first forward.
import argparse
import gzip
import json
import time

T_START = time.perf_counter()
import cv2  # noqa: E402  (timed: part of the peer's cold start)
import numpy as np  # noqa: E402

T_IMPORTED = time.perf_counter()

FMNIST_TEST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
WARMUP = 100
MIN_SECONDS = 1.0


def load_images(n):
    with gzip.open(FMNIST_TEST, "rb") as f:
        data = f.read()
    count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    assert rows == 28 and cols == 28 and count >= n
    px = np.frombuffer(data, dtype=np.uint8, count=n * 784, offset=16)
    return px.reshape(n, 1, 28, 28).astype(np.float32)


def open_net(path):
    net = cv2.dnn.readNetFromONNX(path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def forward(net, blob):
    net.setInput(blob)
    return net.forward()


def latency(net, singles, iterations):
    ms = []
    for i in range(WARMUP + iterations):
        blob = singles[i % len(singles)]
        t0 = time.perf_counter()
        forward(net, blob)
        if i >= WARMUP:
            ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()

    def pct(p):
        rank = max(1, min(len(ms), int(p / 100.0 * len(ms) + 0.999999)))
        return ms[rank - 1]

    return {"latency_b1_p50_ms": round(pct(50), 5), "latency_b1_p99_ms": round(pct(99), 5),
            "latency_b1_mean_ms": round(sum(ms) / len(ms), 5)}


def throughput(net, images, batch):
    n = len(images)
    blobs = [np.ascontiguousarray(images[s:s + batch]) for s in range(0, n - batch + 1, batch)]
    forward(net, blobs[0])  # the first pass at a new batch size sets the network up
    done, k = 0, 0
    t0 = time.perf_counter()
    while True:
        forward(net, blobs[k % len(blobs)])
        k += 1
        done += batch
        elapsed = time.perf_counter() - t0
        if elapsed >= MIN_SECONDS and done >= n:
            return done / elapsed


def parity(net, images, path):
    ours = np.fromfile(path, dtype=np.float32)
    n = len(ours) // 10
    theirs = np.concatenate([forward(net, images[i:i + 1]) for i in range(n)])
    return float(np.abs(theirs.reshape(-1) - ours).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--parity")
    ap.add_argument("--cold", action="store_true")
    a = ap.parse_args()
    if a.threads < 1 or not 1 <= a.batch <= a.images <= 10000 or a.iterations < 10:
        ap.error("need threads >= 1, 1 <= batch <= images <= 10000, iterations >= 10")
    cv2.setNumThreads(a.threads)

    if a.cold:
        first = load_images(1)
        t0 = time.perf_counter()
        net = open_net(a.onnx)
        t1 = time.perf_counter()
        forward(net, first)
        t2 = time.perf_counter()
        print(json.dumps({"import_ms": round((T_IMPORTED - T_START) * 1e3, 3),
                          "open_ms": round((t1 - t0) * 1e3, 3),
                          "first_prediction_ms": round((t2 - t1) * 1e3, 3)}))
        return

    images = load_images(a.images)
    singles = [np.ascontiguousarray(images[i:i + 1]) for i in range(len(images))]
    net = open_net(a.onnx)
    result = {"peer": "opencv-dnn", "opencv": cv2.__version__, "threads": a.threads,
              "opencv_threads": cv2.getNumThreads(), "batch": a.batch,
              "iterations": a.iterations}
    result.update(latency(net, singles, a.iterations))
    result["images_per_s"] = round(throughput(net, images, a.batch), 1)
    if a.parity:
        result["max_abs_diff"] = float("%.3g" % parity(net, images, a.parity))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
