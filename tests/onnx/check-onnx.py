#!/usr/bin/python3
# check-onnx.py: checks one ONNX file written by sl_model_export_onnx against the engine.
#
#   /usr/bin/python3 tests/onnx/check-onnx.py [--expect-metadata] DIR
#
# DIR holds model.onnx, inputs.f32 (N images, NCHW, values 0..255) and
# probabilities.f32 (N x classes, what sl_model_predict gave for the same images
# after the same normalisation), both raw little-endian float32. The check
#   1. runs onnx.checker.check_model (full_check: operator schemas and shape
#      inference) and checks the graph's interface (opset, input, output);
#   2. runs the model with OpenCV's DNN module, one image at a time and the
#      whole batch at once (the batch dimension is symbolic);
#   3. compares with the engine: the largest absolute difference of any
#      probability must be at most 1e-5;
#   4. does the same with ONNX Runtime when the interpreter can import it.
# It prints one line per model and exits non-zero when any step fails.
import json
import os
import sys

TOLERANCE = 1e-5


def fail(message):
    print(f"check-onnx: {message}", file=sys.stderr)
    sys.exit(1)


try:
    import numpy as np
except ImportError:
    fail(f"numpy is missing for {sys.executable} (apt-get install python3-numpy)")
try:
    import onnx
except ImportError:
    fail(f"onnx is missing for {sys.executable} (apt-get install python3-onnx)")
try:
    import cv2
except ImportError:
    fail(f"cv2 is missing for {sys.executable} (apt-get install python3-opencv)")


def dims(value_info):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value
            for d in value_info.type.tensor_type.shape.dim]


def check_interface(model):
    """The contract documented in engine/sightline.h and docs/onnx.md."""
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets != {"": 13}:
        fail(f"opset_import is {opsets}, expected only the default domain at version 13")
    if model.ir_version != 7 or model.producer_name != "Sightline":
        fail(f"ir_version {model.ir_version}, producer '{model.producer_name}'")
    graph = model.graph
    if [i.name for i in graph.input] != ["image"] or [o.name for o in graph.output] != [
            "probabilities"]:
        fail("the graph must read 'image' and write 'probabilities'")
    shape_in, shape_out = dims(graph.input[0]), dims(graph.output[0])
    if len(shape_in) != 4 or shape_in[0] != "batch" or len(shape_out) != 2 or shape_out[0] != "batch":
        fail(f"unexpected shapes: image {shape_in}, probabilities {shape_out}")
    if graph.node[-1].op_type != "Softmax":
        fail("the graph must end with a Softmax")
    return shape_in[1:], shape_out[1]


def check_metadata(model, classes):
    props = {p.key: p.value for p in model.metadata_props}
    if "labels" not in props or "sightline" not in props:
        fail(f"metadata_props lacks 'labels' or 'sightline': {sorted(props)}")
    labels = json.loads(props["labels"])
    if not isinstance(labels, list) or len(labels) != classes or not all(
            isinstance(s, str) for s in labels):
        fail(f"metadata 'labels' is not a list of {classes} strings: {props['labels']}")
    json.loads(props["sightline"])


def run_opencv(model, x):
    net = cv2.dnn.readNetFromONNX(np.frombuffer(model.SerializeToString(), dtype=np.uint8))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)

    def forward(batch):
        net.setInput(np.ascontiguousarray(batch), "image")
        return np.array(net.forward("probabilities"), dtype=np.float32)

    one_by_one = np.concatenate([forward(x[i:i + 1]) for i in range(len(x))])
    return one_by_one, forward(x)


def main():
    args = sys.argv[1:]
    expect_metadata = "--expect-metadata" in args
    args = [a for a in args if a != "--expect-metadata"]
    if len(args) != 1:
        fail("usage: check-onnx.py [--expect-metadata] DIR")
    folder = args[0]
    name = os.path.basename(os.path.normpath(folder))

    model = onnx.load(os.path.join(folder, "model.onnx"))
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # the checker raises several exception types
        fail(f"{name}: onnx.checker rejects the model: {e}")
    chw, classes = check_interface(model)
    if expect_metadata:
        check_metadata(model, classes)

    x = np.fromfile(os.path.join(folder, "inputs.f32"), dtype="<f4").astype(np.float32)
    native = np.fromfile(os.path.join(folder, "probabilities.f32"), dtype="<f4")
    n = x.size // int(np.prod(chw))
    x = x.reshape([n] + chw)
    native = native.reshape(n, classes)

    one_by_one, batched = run_opencv(model, x)
    diff_one = float(np.max(np.abs(one_by_one - native)))
    diff_all = float(np.max(np.abs(batched - native)))
    print(f"{name}: {n} images, max |onnx - native| = {diff_one:.2e} one at a time, "
          f"{diff_all:.2e} as one batch")
    if not (diff_one <= TOLERANCE and diff_all <= TOLERANCE):
        fail(f"{name}: the ONNX model differs from the engine by more than {TOLERANCE:g}")
    # ONNX Runtime too, where this interpreter has it (PyPI onnxruntime; Debian has none).
    try:
        import onnxruntime
    except ImportError:
        return
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    diff_ort = float(np.max(np.abs(session.run(["probabilities"], {"image": x})[0] - native)))
    print(f"{name}: max |onnxruntime - native| = {diff_ort:.2e}")
    if not diff_ort <= TOLERANCE:
        fail(f"{name}: under ONNX Runtime the model differs from the engine by more than "
             f"{TOLERANCE:g}")


if __name__ == "__main__":
    main()
