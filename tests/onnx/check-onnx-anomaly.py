#!/usr/bin/env python3
# check-onnx-anomaly.py: checks an anomaly model's ONNX file (_sl_onnx_export_anomaly) against the runtime.
#
#   python3 tests/onnx/check-onnx-anomaly.py --checker DIR   (needs the onnx package)
#   python3 tests/onnx/check-onnx-anomaly.py --runtime DIR   (needs onnxruntime and numpy)
#
# DIR holds model.onnx, shape.txt ("N C H W"), inputs.f32 (N images, NCHW, values 0..255),
# scores.f32 (N) and maps.f32 (N x H x W): what sl_anomaly_score gave for the same images after
# the same normalisation, raw little-endian float32.
#   --checker: onnx.checker.check_model (full_check) and the graph's interface: opset 13, input
#              "image" [batch, C, H, W], outputs "anomaly_score" [batch] and "anomaly_map"
#              [batch, 1, H, W], metadata "labels" ["good", "anomalous"].
#   --runtime: runs the model in ONNX Runtime, one image at a time and the whole batch at once;
#              the largest absolute difference of any score and of any map value must be at
#              most 1e-3.
# Exits 77 (a skip) when the interpreter lacks the package the mode needs, 1 on a failure.
import json
import os
import sys

TOLERANCE = 1e-3
SKIP = 77


def fail(message):
    print(f"check-onnx-anomaly: {message}", file=sys.stderr)
    sys.exit(1)


def skip(message):
    print(f"check-onnx-anomaly: {message}", file=sys.stderr)
    sys.exit(SKIP)


def dims(value_info):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value
            for d in value_info.type.tensor_type.shape.dim]


def read_shape(folder):
    with open(os.path.join(folder, "shape.txt")) as f:
        return [int(v) for v in f.read().split()]


def check(folder, shape):
    try:
        import onnx
    except ImportError:
        skip(f"onnx is missing for {sys.executable} (apt-get install python3-onnx)")
    model = onnx.load(os.path.join(folder, "model.onnx"))
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # the checker raises several exception types
        fail(f"onnx.checker rejects the model: {e}")
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets != {"": 13}:
        fail(f"opset_import is {opsets}, expected only the default domain at version 13")
    graph = model.graph
    n, c, h, w = shape
    if [i.name for i in graph.input] != ["image"] or dims(graph.input[0]) != ["batch", c, h, w]:
        fail(f"the input must be 'image' [batch, {c}, {h}, {w}]")
    outputs = {o.name: dims(o) for o in graph.output}
    if outputs != {"anomaly_score": ["batch"], "anomaly_map": ["batch", 1, h, w]}:
        fail(f"unexpected outputs {outputs}")
    props = {p.key: p.value for p in model.metadata_props}
    if json.loads(props.get("labels", "null")) != ["good", "anomalous"]:
        fail(f"metadata 'labels' is {props.get('labels')}")
    ops = sorted({node.op_type for node in graph.node})
    print(f"checker: {len(graph.node)} nodes, operators {' '.join(ops)}")


def run(folder, shape):
    try:
        import numpy as np
        import onnxruntime
    except ImportError:
        skip(f"onnxruntime or numpy is missing for {sys.executable} (pip install onnxruntime)")
    n, c, h, w = shape
    x = np.fromfile(os.path.join(folder, "inputs.f32"), dtype="<f4").reshape(n, c, h, w)
    scores = np.fromfile(os.path.join(folder, "scores.f32"), dtype="<f4")
    maps = np.fromfile(os.path.join(folder, "maps.f32"), dtype="<f4").reshape(n, 1, h, w)
    session = onnxruntime.InferenceSession(os.path.join(folder, "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    s_all, m_all = session.run(["anomaly_score", "anomaly_map"], {"image": x})
    ones = [session.run(["anomaly_score", "anomaly_map"], {"image": x[i:i + 1]}) for i in range(n)]
    s_one = np.concatenate([o[0] for o in ones])
    m_one = np.concatenate([o[1] for o in ones])
    if s_all.shape != (n,) or m_all.shape != (n, 1, h, w):
        fail(f"output shapes {s_all.shape} and {m_all.shape}")
    diffs = {
        "score (batch)": float(np.max(np.abs(s_all - scores))),
        "score (one by one)": float(np.max(np.abs(s_one - scores))),
        "map (batch)": float(np.max(np.abs(m_all - maps))),
        "map (one by one)": float(np.max(np.abs(m_one - maps))),
    }
    print(f"onnxruntime {onnxruntime.__version__}: {n} images, scores {scores.min():.4f} .. "
          f"{scores.max():.4f}, map values up to {maps.max():.4f}; max |onnx - runtime|: "
          + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
    bad = [k for k, v in diffs.items() if not v <= TOLERANCE]
    if bad:
        fail(f"the ONNX model differs from the runtime by more than {TOLERANCE:g}: {bad}")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("--checker", "--runtime"):
        fail("usage: check-onnx-anomaly.py --checker|--runtime DIR")
    folder = sys.argv[2]
    shape = read_shape(folder)
    if sys.argv[1] == "--checker":
        check(folder, shape)
    else:
        run(folder, shape)


if __name__ == "__main__":
    main()
