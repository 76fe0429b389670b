#!/usr/bin/env bash
# compare-line.sh: line-side batch-1 latency of an exported classifier: sightline-infer against OpenCV DNN and ONNX Runtime.
#
#   bench/compare-line.sh [--project P [--run RUN]] [--threads 1,2] [--iterations 300]
#       [--rounds 3] [--images DIR] [--build build] [--out DIR]
#
# Without --project, builds the Lite0 classifier the way a user does: a project from
# bench/make-small-data.py's photographs (10 per class), `sightline-cli train --model
# lite0 --finetune head --input-size 224 --epochs 2`, `sightline-cli export --format
# slmodel,onnx`. With --project, exports that project's run (default: latest).
# The frames are --images (default: the photographs' test crops) resized to the
# model's input size and colour, written as PNG for sightline-infer and as the
# float32 [N, C, H, W] blob the ONNX graph takes (0 .. 255) for the peers, so no
# side resizes: ours still converts 8-bit pixels and normalises inside the timed
# call, the peers get the blob ready. For each thread count, each round runs
# `sightline-infer M.slmodel FRAMES --bench --threads T`, then bench-line-peer.py in
# OpenCV DNN (Debian's /usr/bin/python3, python3-opencv) and in ONNX Runtime (pip
# onnxruntime in `python3`); one after the other; each keeps its best round. The
# peers' predictions are checked against ours (same class, confidence difference).
# Target: ours below OpenCV DNN; the ratio to ONNX Runtime is reported.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
py=/usr/bin/python3
ort_py=python3

project=""
run=latest
threads=1,2
iterations=300
rounds=3
images=""
build="$root/build"
out_dir=""

bench_usage_last=21
# shellcheck source=bench-lib.sh
source "$here/bench-lib.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --project) need_value "$@"; project="$2"; shift 2 ;;
    --run) need_value "$@"; run="$2"; shift 2 ;;
    --threads) need_value "$@"; threads="$2"; shift 2 ;;
    --iterations) need_value "$@"; iterations="$2"; shift 2 ;;
    --rounds) need_value "$@"; rounds="$2"; shift 2 ;;
    --images) need_value "$@"; images="$2"; shift 2 ;;
    --build) need_value "$@"; build="$2"; shift 2 ;;
    --out) need_value "$@"; out_dir="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

need_positive "iterations:$iterations" "rounds:$rounds"
need_counts --threads "$threads" 1,2
cli="$build/app/sightline-cli"
infer="$build/app/sightline-infer"
[[ -x "$cli" && -x "$infer" ]] || die "$cli or $infer is missing; build first (ninja -C $build)"
"$py" -c 'import cv2, numpy' 2>/dev/null || die "$py cannot import cv2 (apt-get install python3-opencv)"
"$ort_py" -c 'import onnxruntime, numpy' 2>/dev/null ||
  die "$ort_py cannot import onnxruntime (python3 -m pip install onnxruntime)"

if [[ -n "$out_dir" ]]; then
  mkdir -p "$out_dir"
  work="$(cd "$out_dir" && pwd)"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/sl-compare-line.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi

if [[ -z "$project" || -z "$images" ]] && [[ ! -d "$work/data" ]]; then
  "$py" -c 'import skimage' 2>/dev/null || die "the default images need python3-skimage (or give --project and --images)"
  echo "== data: make-small-data.py $work/data --sources photos --sizes 10" >&2
  "$py" "$here/make-small-data.py" "$work/data" --sources photos --sizes 10 2> >(grep -v iCCP >&2)
fi
[[ -n "$images" ]] || images="$work/data/photos/test"
if [[ -z "$project" ]]; then
  project="$work/project"
  if [[ ! -d "$project" ]]; then
    "$cli" new "$project" >/dev/null
    "$cli" import "$project" "$work/data/photos/train-10" --labels-from-folders >/dev/null
    "$cli" split "$project" --train 1 --val 0 --test 0 >/dev/null
    echo "== $cli train P --model lite0 --finetune head --input-size 224 --epochs 2" >&2
    "$cli" train "$project" --model lite0 --finetune head --input-size 224 --epochs 2 >/dev/null ||
      die "training the Lite0 classifier failed"
  fi
fi
rm -rf "$work/export"
"$cli" export "$project" --run "$run" --checkpoint last --format slmodel,onnx --output "$work/export" \
  --name classifier >/dev/null || die "sightline-cli export failed"
model="$work/export/classifier.slmodel"
onnx="$work/export/classifier.onnx"
[[ -f "$model" && -f "$onnx" ]] || die "the export wrote no classifier.slmodel / classifier.onnx"

# The frames at the model's input size and colour: PNGs for ours, a float32 blob for the peers.
"$infer" --info --json "$model" >"$work/info.json"
rm -rf "$work/frames"
"$py" - "$work/info.json" "$images" "$work/frames" "$work/frames.npy" <<'EOF'
import json, os, sys
import cv2, numpy as np
info = json.load(open(sys.argv[1]))
w, h, c = info["input"]
src, out, blob = sys.argv[2:]
os.makedirs(out)
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs
               if f.lower().endswith((".png", ".jpg", ".jpeg", ".bmp")))[:200]
frames = []
for k, f in enumerate(files):
    img = cv2.imread(f, cv2.IMREAD_GRAYSCALE if c == 1 else cv2.IMREAD_COLOR)
    if img is None:
        continue
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    cv2.imwrite(os.path.join(out, "frame-%04d.png" % k), img)
    rgb = img[None] if c == 1 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)
    frames.append(rgb.astype(np.float32))
if not frames:
    sys.exit("compare-line: no readable images in %s" % src)
np.save(blob, np.stack(frames))
print("%d frames of %dx%dx%d" % (len(frames), w, h, c), file=sys.stderr)
EOF

: >"$work/results.jsonl"
for round in $(seq "$rounds"); do
  for t in ${threads//,/ }; do
    echo "== round $round/$rounds, $t thread(s): $infer classifier.slmodel FRAMES --bench --threads $t --iterations $iterations" >&2
    "$infer" "$model" "$work/frames" --bench --batch 1 --threads "$t" --iterations "$iterations" --json \
      >"$work/ours.json" || die "sightline-infer --bench failed"
    "$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(json.dumps({"side": "sightline", "threads": int(sys.argv[2]), "round": int(sys.argv[3]), "latency_ms": d["latency_ms"], "open_ms": d["open_ms"]}))' \
      "$work/ours.json" "$t" "$round" >>"$work/results.jsonl"
    for rt in opencv ort; do
      interp="$py"
      [[ "$rt" == ort ]] && interp="$ort_py"
      echo "== round $round/$rounds, $t thread(s): $interp bench-line-peer.py --runtime $rt --threads $t" >&2
      "$interp" "$here/bench-line-peer.py" --runtime "$rt" --onnx "$onnx" --blob "$work/frames.npy" \
        --threads "$t" --iterations "$iterations" >"$work/peer.json" || die "bench-line-peer.py ($rt) failed"
      "$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); d.update(side=sys.argv[2], round=int(sys.argv[3])); print(json.dumps(d))' \
        "$work/peer.json" "$rt" "$round" >>"$work/results.jsonl"
    done
  done
done
# Our predictions on the same frames, for the parity check.
"$infer" "$model" "$work/frames" --json --threads 1 >"$work/ours-predictions.jsonl"

"$py" - "$work/results.jsonl" "$work/ours-predictions.jsonl" "$work/info.json" "$rounds" "$iterations" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
preds = [json.loads(l) for l in open(sys.argv[2])]
info = json.load(open(sys.argv[3]))
rounds, iterations = sys.argv[4:]
best = {}
for r in rows:
    key = (r["side"], r["threads"])
    if key not in best or r["latency_ms"]["p50"] < best[key]["latency_ms"]["p50"]:
        best[key] = r
names = {"sightline": "sightline", "opencv": "opencv-dnn", "ort": "onnxruntime"}
print()
w, h, c = info["input"]
print("%dx%dx%d classifier, %d classes, %.0f MFLOP per image; batch 1, %s predictions, best p50 of %s round(s)"
      % (w, h, c, info["classes"], info["mflops"], iterations, rounds))
versions = sorted({r["runtime"] for r in rows if "runtime" in r})
print("peers: %s" % ", ".join(versions))
print("%-8s %-12s %9s %9s %9s %9s   %s" % ("threads", "runtime", "p50 ms", "p90 ms", "p99 ms",
                                          "ratio", "(p50 of the peer / ours)"))
for t in sorted({k[1] for k in best}):
    ours = best[("sightline", t)]["latency_ms"]
    for side in ("sightline", "opencv", "ort"):
        r = best[(side, t)]["latency_ms"]
        ratio = r["p50"] / ours["p50"]
        note = ""
        if side == "opencv":
            note = "target: ours below OpenCV DNN: %s" % ("met" if ratio > 1 else "NOT met")
        elif side == "ort":
            note = "ours is %.2fx ONNX Runtime's latency" % (ours["p50"] / r["p50"])
        print("%-8d %-12s %9.3f %9.3f %9.3f %9.2f   %s" % (t, names[side], r["p50"], r["p90"], r["p99"],
                                                       ratio, note))
# Parity: the same class for every frame, and how far the confidences are apart.
ours_idx = [p["class_index"] for p in preds]
ours_conf = [p["confidence"] for p in preds]
for side in ("opencv", "ort"):
    r = next(x for x in rows if x["side"] == side)
    n = min(len(ours_idx), len(r["class_index"]))
    agree = sum(ours_idx[i] == r["class_index"][i] for i in range(n))
    diff = max(abs(ours_conf[i] - r["confidence"][i]) for i in range(n))
    print("parity, %s against ours: same class on %d of %d frames, largest confidence difference %.2g"
          % (names[side], agree, n, diff))
EOF
