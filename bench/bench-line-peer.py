#!/usr/bin/env python3
# bench-line-peer.py: batch-1 latency of an exported ONNX classifier in OpenCV DNN or ONNX Runtime, for bench/compare-line.sh.
#
#   /usr/bin/python3 bench/bench-line-peer.py --runtime opencv --onnx M.onnx --blob frames.npy --threads 1
#   python3          bench/bench-line-peer.py --runtime ort    --onnx M.onnx --blob frames.npy --threads 1
#
# frames.npy holds the pipeline's 8-bit output as float32 [N, C, H, W] (0 .. 255), the
# exported graph's input (docs/onnx.md), made before timing as sightline-infer decodes
# its images before timing. 20 warm-up predictions, then --iterations timed one by one
# cycling through the frames; p50, p90, p99 and the mean, plus the probabilities of
# every frame (argmax and its value) for the parity check. Prints one JSON object.
# OpenCV: cv2.dnn.readNetFromONNX, OpenCV backend, CPU target, cv2.setNumThreads.
# ONNX Runtime: CPUExecutionProvider, intra-op threads = --threads, inter-op 1,
# sequential execution, all graph optimisations.
import argparse
import json
import time

import numpy as np

WARMUP = 20


def percentile(sorted_ms, p):
    rank = max(1, min(len(sorted_ms), int(p / 100.0 * len(sorted_ms) + 0.999999)))
    return sorted_ms[rank - 1]


def opencv_runner(path, threads):
    import cv2

    cv2.setNumThreads(threads)
    net = cv2.dnn.readNetFromONNX(path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)

    def run(blob):
        net.setInput(blob)
        return net.forward()

    return run, "opencv-dnn %s" % cv2.__version__


def ort_runner(path, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def run(blob):
        return sess.run(None, {name: blob})[0]

    return run, "onnxruntime %s" % ort.__version__


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", choices=("opencv", "ort"), required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--blob", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--iterations", type=int, default=200)
    a = ap.parse_args()
    if a.threads < 1 or a.iterations < 10:
        ap.error("need threads >= 1 and iterations >= 10")
    frames = np.load(a.blob)
    if frames.ndim != 4 or frames.dtype != np.float32 or len(frames) == 0:
        ap.error("%s is not a float32 [N, C, H, W] array" % a.blob)
    singles = [np.ascontiguousarray(frames[i:i + 1]) for i in range(len(frames))]
    t0 = time.perf_counter()
    run, version = (opencv_runner if a.runtime == "opencv" else ort_runner)(a.onnx, a.threads)
    open_ms = (time.perf_counter() - t0) * 1e3
    probs = np.concatenate([run(s).reshape(1, -1) for s in singles])
    ms = []
    for i in range(WARMUP + a.iterations):
        blob = singles[i % len(singles)]
        t0 = time.perf_counter()
        run(blob)
        if i >= WARMUP:
            ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    print(json.dumps({
        "runtime": version, "threads": a.threads, "iterations": a.iterations,
        "frames": len(singles), "open_ms": round(open_ms, 3),
        "latency_ms": {"p50": round(percentile(ms, 50), 4), "p90": round(percentile(ms, 90), 4),
                       "p99": round(percentile(ms, 99), 4), "mean": round(sum(ms) / len(ms), 4)},
        "class_index": [int(k) for k in probs.argmax(1)],
        "confidence": [round(float(v), 6) for v in probs.max(1)],
    }))


if __name__ == "__main__":
    main()
