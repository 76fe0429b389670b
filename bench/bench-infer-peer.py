#!/usr/bin/env python3
# bench-infer-peer.py: the ONNX Runtime peer of bench-infer.c: the same exported models on the same
# images, timed the same way, one JSON object per line.
#
#   python3 bench/bench-infer-peer.py --dir DIR --presets small-bn,resnet-s --threads 1
#       [--batch 32] [--iterations 300] [--seconds 1.5]
#   python3 bench/bench-infer-peer.py --dir DIR --presets small-bn --threads 1 --cold
#
# CPU execution provider, intra-op threads = --threads, inter-op 1, sequential execution, all
# graph optimisations (ORT's defaults for a CPU session otherwise). The blob DIR/<preset>.images.f32
# is the float32 NCHW 0 .. 255 input the graph takes; DIR/<preset>.probs.f32 holds our
# probabilities for the first 8 images (max_abs_diff reports the largest difference).
# --cold times, in this fresh process, importing onnxruntime, creating the session and the first run.
import argparse
import json
import os
import time

T_START = time.perf_counter()
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402  (timed: part of the peer's cold start)

T_IMPORTED = time.perf_counter()
WARMUP = 5
N_IMAGES = 64
N_PARITY = 8


def session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def images(d, preset, shape):
    x = np.fromfile(os.path.join(d, preset + ".images.f32"), dtype=np.float32)
    return x.reshape([N_IMAGES] + list(shape[1:]))


def shape_of(sess):
    s = sess.get_inputs()[0].shape
    return [1] + [int(v) for v in s[1:]]


def measure(sess, x, a):
    name = sess.get_inputs()[0].name
    singles = [np.ascontiguousarray(x[i:i + 1]) for i in range(len(x))]
    for i in range(WARMUP):
        sess.run(None, {name: singles[i % len(singles)]})
    ms = []
    t0 = time.perf_counter()
    while len(ms) < a.iterations and (len(ms) < 20 or time.perf_counter() - t0 < a.seconds):
        s = time.perf_counter()
        sess.run(None, {name: singles[len(ms) % len(singles)]})
        ms.append((time.perf_counter() - s) * 1e3)
    n = len(ms)
    mean = sum(ms) / n
    ms.sort()
    p50 = ms[n // 2] if n % 2 else (ms[n // 2 - 1] + ms[n // 2]) / 2
    blobs = [np.ascontiguousarray(x[s:s + a.batch]) for s in range(0, N_IMAGES - a.batch + 1, a.batch)]
    sess.run(None, {name: blobs[0]})
    done, k = 0, 0
    t0 = time.perf_counter()
    while True:
        sess.run(None, {name: blobs[k % len(blobs)]})
        k += 1
        done += a.batch
        elapsed = time.perf_counter() - t0
        if elapsed >= a.seconds and done >= 2 * a.batch:
            break
    return {"latency_b1_p50_ms": round(p50, 5), "latency_b1_mean_ms": round(mean, 5),
            "iterations": n, "images_per_s": round(done / elapsed, 1)}


def parity(sess, x, d, preset):
    ours = np.fromfile(os.path.join(d, preset + ".probs.f32"), dtype=np.float32)
    theirs = sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(x[:N_PARITY])})[0]
    return float(np.abs(theirs.reshape(-1) - ours).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--presets", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--cold", action="store_true")
    a = ap.parse_args()
    if a.threads < 1 or not 1 <= a.batch <= N_IMAGES or a.iterations < 20:
        ap.error("need threads >= 1, 1 <= batch <= 64, iterations >= 20")
    for preset in a.presets.split(","):
        path = os.path.join(a.dir, preset + ".onnx")
        if a.cold:
            t0 = time.perf_counter()
            sess = session(path, a.threads)
            t1 = time.perf_counter()
            x = images(a.dir, preset, shape_of(sess))
            t2 = time.perf_counter()
            sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(x[:1])})
            t3 = time.perf_counter()
            print(json.dumps({"side": "onnxruntime", "preset": preset, "threads": a.threads,
                              "import_ms": round((T_IMPORTED - T_START) * 1e3, 3),
                              "open_ms": round((t1 - t0) * 1e3, 3),
                              "first_prediction_ms": round((t3 - t2) * 1e3, 3)}), flush=True)
            return  # one preset per fresh process
        sess = session(path, a.threads)
        x = images(a.dir, preset, shape_of(sess))
        r = {"side": "onnxruntime", "version": ort.__version__, "preset": preset,
             "threads": a.threads, "batch": a.batch}
        r.update(measure(sess, x, a))
        r["max_abs_diff"] = float("%.3g" % parity(sess, x, a.dir, preset))
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
