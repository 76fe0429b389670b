#!/usr/bin/env bash
# compare-train.sh: runs the Sightline training benchmark and its PyTorch /
# OpenCV-DNN peer on the same settings and prints both results and their ratios.
#
#   bench/compare-train.sh [--model seed-cnn] [--train-images 60000] [--epochs 5]
#                          [--batch 64] [--threads 2] [--model-json FILE]
#                          [--sl-bench build/bench/sl-bench-train] [--out DIR]
#   bench/compare-train.sh --matrix [--presets "small-bn resnet-s:8 resnet-s:20 mobilenet-s
#                          efficientnet-lite0"] [--sizes "128 224"] [--images 64] [--epochs 1]
#                          [--batch 32] [--threads 2] [--train-images 10000]
#
# --matrix trains every preset (random init, all layers) at every size on the same synthetic
# 3 x S x S images on both sides (sl-bench-train --size; bench/torch_transfer_peer.py on the
# model description the engine writes), one untimed warm-up epoch of two batches then the timed
# epochs, and prints images/s (fastest epoch), images per CPU-second, peak RSS, GFLOP/s and the
# share of the SGEMM roofline; then seed-cnn on Fashion-MNIST (--train-images, --epochs).
# Sightline runs first, then PyTorch (never both at once, so neither steals the
# other's cores). Targets: training throughput ours/torch >= 2, peak memory
# torch/ours >= 8, batch-1 latency opencv_dnn/ours > 1; accuracy is shown for both.
# --model-json hands the peer the exact model description (for presets whose
# definition only the engine knows); --out keeps both JSON results in DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
py=/usr/bin/python3

model=seed-cnn
train_images=60000
epochs=5
batch=64
threads=2
model_json=""
sl_bench="$root/build/bench/sl-bench-train"
out_dir=""
matrix=0
presets="small-bn resnet-s:8 resnet-s:20 mobilenet-s efficientnet-lite0"
sizes="128 224"
images=64
epochs_set=0
batch_set=0

bench_usage_last=22
# shellcheck source=bench-lib.sh
source "$here/bench-lib.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) need_value "$@"; model="$2"; shift 2 ;;
    --train-images) need_value "$@"; train_images="$2"; shift 2 ;;
    --epochs) need_value "$@"; epochs="$2"; epochs_set=1; shift 2 ;;
    --matrix) matrix=1; shift ;;
    --presets) need_value "$@"; presets="$2"; shift 2 ;;
    --sizes) need_value "$@"; sizes="$2"; shift 2 ;;
    --images) need_value "$@"; images="$2"; shift 2 ;;
    --batch) need_value "$@"; batch="$2"; batch_set=1; shift 2 ;;
    --threads) need_value "$@"; threads="$2"; shift 2 ;;
    --model-json) need_value "$@"; model_json="$2"; shift 2 ;;
    --sl-bench) need_value "$@"; sl_bench="$2"; shift 2 ;;
    --out) need_value "$@"; out_dir="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

need_positive "train-images:$train_images" "epochs:$epochs" "batch:$batch" "threads:$threads" "images:$images"
if [[ $matrix == 1 ]]; then
  [[ -x "$sl_bench" ]] || die "$sl_bench is missing or not executable; build it first (meson setup build && meson compile -C build)"
  "$py" -c 'import torch, numpy' 2>/dev/null || die "$py cannot import torch and numpy (apt-get install python3-torch)"
  [[ $epochs_set == 1 ]] || epochs=1
  [[ $batch_set == 1 ]] || batch=32
  ((images >= 2 * batch)) || die "--images must be at least two batches ($((2 * batch)))"
  [[ "$train_images" == 60000 ]] && train_images=10000
  work="$(mktemp -d "${TMPDIR:-/tmp}/sl-compare-matrix.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  : >"$work/rows.jsonl"
  for spec in $presets; do
    name="${spec%%:*}"
    depth=()
    [[ "$spec" == *:* ]] && depth=(--depth "${spec#*:}")
    for size in $sizes; do
      need_positive "sizes:$size"
      echo "== $spec at $size px (load average:$(uptime | sed 's/.*average://'))" >&2
      "$sl_bench" --model "$name" "${depth[@]}" --size "$size" --print-model >"$work/model.json" \
        || die "sl-bench-train cannot describe $spec"
      "$sl_bench" --model "$name" "${depth[@]}" --size "$size" --train-images "$images" \
        --epochs "$epochs" --batch "$batch" --threads "$threads" --json >"$work/ours.json" \
        || die "sl-bench-train failed on $spec at $size px"
      "$py" "$here/torch_transfer_peer.py" --model-json "$work/model.json" --images "$images" \
        --epochs "$epochs" --batch "$batch" --threads "$threads" --json >"$work/peer.json" \
        || die "torch_transfer_peer.py failed on $spec at $size px"
      "$py" -c 'import json,sys; o=json.load(open(sys.argv[1])); p=json.load(open(sys.argv[2]))
print(json.dumps({"preset": sys.argv[3], "size": int(sys.argv[4]), "ours": o, "torch": p}))' \
        "$work/ours.json" "$work/peer.json" "$spec" "$size" >>"$work/rows.jsonl"
    done
  done
  echo "== seed-cnn on Fashion-MNIST, $train_images images x $epochs epochs, batch 64" >&2
  "$sl_bench" --model seed-cnn --train-images "$train_images" --epochs "$epochs" --batch 64 \
    --threads "$threads" --test-images 1000 --json >"$work/seed-ours.json" \
    || die "sl-bench-train failed on seed-cnn"
  "$py" "$here/torch_peer.py" --model seed-cnn --train-images "$train_images" --epochs "$epochs" \
    --batch 64 --threads "$threads" --latency-runs 200 --json >"$work/seed-peer.json" \
    || die "torch_peer.py failed on seed-cnn"
  if [[ -n "$out_dir" ]]; then
    mkdir -p "$out_dir" && cp "$work"/rows.jsonl "$work"/seed-*.json "$out_dir"/
  fi
  "$py" - "$work" "$batch" "$threads" <<'EOF'
import json, sys
work = sys.argv[1]
def cps(r, n):
    return n / r["train_cpu_seconds"] if r.get("train_cpu_seconds") else float("nan")
def line(name, px, o_ips, p_ips, o_cps, p_cps, o_rss, p_rss, gf, roof, ok):
    print("%-19s %4d %9.1f %9.1f %6.2f %9.1f %9.1f %6.2f %8.0f %8.0f %6.2f %7.1f %5.0f%% %4s" % (
        name, px, o_ips, p_ips, o_ips / p_ips, o_cps, p_cps, o_cps / p_cps, o_rss, p_rss,
        p_rss / o_rss, gf, roof, "yes" if ok else "NO"))
print()
print("%-19s %4s %9s %9s %6s %9s %9s %6s %8s %8s %6s %7s %6s %4s" % (
    "preset", "px", "ours i/s", "torch i/s", "x", "ours i/cs", "torch i/cs", "x",
    "RSS ours", "torch MB", "1/x", "GFLOP/s", "roof", "met"))
for text in open(work + "/rows.jsonl"):
    row = json.loads(text)
    o, p = row["ours"], row["torch"]
    n = o["images"] * o["epochs"]
    o_ips, p_ips = o["best_epoch_images_per_s"], p["best_epoch_images_per_s"]
    ok = o_ips >= 2 * p_ips and p["peak_rss_mb"] >= 4 * o["peak_rss_mb"]
    line(row["preset"], row["size"], o_ips, p_ips, cps(o, n), cps(p, n), o["peak_rss_mb"],
         p["peak_rss_mb"], o["train_gflops"], o["roofline_percent"], ok)
o, p = json.load(open(work + "/seed-ours.json")), json.load(open(work + "/seed-peer.json"))
n = o["train_images"] * o["epochs"]
line("seed-cnn F-MNIST", 28, o["train_images_per_s"], p["train_images_per_s"], cps(o, n),
     cps(p, n), o["peak_rss_mb"], p["peak_rss_mb"], o["train_gflops"],
     100 * o["train_gflops"] / o["sgemm_gflops"],
     o["train_images_per_s"] >= 2.5 * p["train_images_per_s"])
print()
print("batch %s (seed-cnn 64), Adam lr 1e-3, %s threads; i/s: images/s of the fastest timed epoch;"
      " i/cs: images per CPU-second;\nroof: GFLOP/s (2 x 3 x forward multiply-adds per image) over"
      " OpenBLAS SGEMM (1536^3, same threads);\nmet: >= 2x images/s and <= 1/4 of the peak RSS"
      " (seed-cnn: >= 2.5x images/s)" % (sys.argv[2], sys.argv[3]))
EOF
  exit 0
fi
[[ -x "$sl_bench" ]] || die "$sl_bench is missing or not executable; build it first (meson setup build && meson compile -C build)"
# The peers come from Debian's packages; install them when they are missing.
if ! { [[ -x "$py" ]] && "$py" -c 'import torch, cv2, numpy, onnx' 2>/dev/null; }; then
  echo "== installing the peers: python3-torch python3-opencv python3-numpy python3-onnx" >&2
  sudo_cmd=()
  [[ "$(id -u)" == 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    python3-torch python3-opencv python3-numpy python3-onnx >/dev/null \
    || die "could not install python3-torch python3-opencv python3-numpy python3-onnx"
fi
"$py" -c 'import torch, cv2, numpy' 2>/dev/null \
  || die "$py cannot import torch, cv2 and numpy"
[[ -z "$model_json" || -r "$model_json" ]] || die "cannot read $model_json"
if [[ -z "$model_json" && "$model" != seed-cnn && "$model" != small-bn ]]; then
  die "the PyTorch peer knows only seed-cnn and small-bn; pass --model-json FILE for $model"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/sl-compare.XXXXXX")"
trap 'rm -rf "$work"' EXIT

common=(--train-images "$train_images" --epochs "$epochs" --batch "$batch" --threads "$threads")
peer_model=(--model "$model")
[[ -n "$model_json" ]] && peer_model=(--model-json "$model_json")

# Both programs print one JSON object; the report takes the last one in their
# output, so stray lines around it do no harm, and checks its keys.
cat >"$work/report.py" <<'EOF'
import json, os, sys

def last_object(path):
    text = open(path).read()
    dec, found, i = json.JSONDecoder(), None, 0
    while True:
        i = text.find("{", i)
        if i < 0:
            break
        try:
            obj, end = dec.raw_decode(text, i)
        except ValueError:
            i += 1
            continue
        if isinstance(obj, dict):
            found = obj
        i = end
    if found is None:
        sys.exit("compare-train: no JSON object in the output of %s" % path)
    return found

def checked(path, who, extra=()):
    res = last_object(path)
    keys = ("train_images_per_s", "test_accuracy", "latency_b1_ms", "peak_rss_mb") + extra
    missing = [k for k in keys if not isinstance(res.get(k), (int, float)) or isinstance(res.get(k), bool)]
    if missing:
        sys.exit("compare-train: %s gave no number for %s" % (who, ", ".join(missing)))
    return res

if sys.argv[1] == "check":
    checked(sys.argv[2], sys.argv[3])
    sys.exit(0)
ours = checked(sys.argv[2], "sl-bench-train")
peer = checked(sys.argv[3], "torch_peer.py", ("opencv_dnn_latency_b1_ms",))

print("sightline:", json.dumps(ours))
print("pytorch:  ", json.dumps(peer))
if sys.argv[4]:
    os.makedirs(sys.argv[4], exist_ok=True)
    for name, res in (("sightline.json", ours), ("torch.json", peer)):
        with open(os.path.join(sys.argv[4], name), "w") as f:
            json.dump(res, f, indent=2)
            f.write("\n")

def ratio(a, b):
    return a / b if b > 0 else float("inf")

rows = [
    ("train images/s", "torch", ours["train_images_per_s"], peer["train_images_per_s"],
     ratio(ours["train_images_per_s"], peer["train_images_per_s"]), "ours/torch", ">= 2", lambda r: r >= 2),
    ("peak RSS MB", "torch", ours["peak_rss_mb"], peer["peak_rss_mb"],
     ratio(peer["peak_rss_mb"], ours["peak_rss_mb"]), "torch/ours", ">= 8", lambda r: r >= 8),
    ("latency b1 ms", "opencv-dnn", ours["latency_b1_ms"], peer["opencv_dnn_latency_b1_ms"],
     ratio(peer["opencv_dnn_latency_b1_ms"], ours["latency_b1_ms"]), "cv/ours", "> 1", lambda r: r > 1),
    ("latency b1 ms", "torch", ours["latency_b1_ms"], peer["latency_b1_ms"],
     ratio(peer["latency_b1_ms"], ours["latency_b1_ms"]), "torch/ours", "-", None),
    ("test accuracy", "torch", ours["test_accuracy"], peer["test_accuracy"],
     ours["test_accuracy"] - peer["test_accuracy"], "ours-torch", "-", None),
]
# Images per CPU-second still compares the two when other work shares the machine.
def per_cpu_s(res):
    try:
        return res["train_images"] * res["epochs"] / res["train_cpu_seconds"]
    except (KeyError, TypeError, ZeroDivisionError):
        return None
if per_cpu_s(ours) and per_cpu_s(peer):
    rows.insert(1, ("images/cpu-s", "torch", per_cpu_s(ours), per_cpu_s(peer),
                    per_cpu_s(ours) / per_cpu_s(peer), "ours/torch", "-", None))
print()
print("%-15s %-11s %12s %12s %10s %-11s %-7s %s" %
      ("metric", "peer", "sightline", "peer", "ratio", "(of)", "target", "met"))
for metric, who, a, b, r, of, target, ok in rows:
    met = "-" if ok is None else ("yes" if ok(r) else "NO")
    print("%-15s %-11s %12.4g %12.4g %10.3f %-11s %-7s %s" % (metric, who, a, b, r, of, target, met))
print()
print("model %s, %s threads, batch %s, %s train images x %s epochs" %
      (ours.get("model", "?"), ours.get("threads", "?"), ours.get("batch", "?"),
       peer.get("train_images", "?"), peer.get("epochs", "?")))
EOF

echo "== sightline: $sl_bench --model $model ${common[*]} --json" >&2
if ! "$sl_bench" --model "$model" "${common[@]}" --json >"$work/ours.out" 2>"$work/ours.err"; then
  cat "$work/ours.err" >&2
  die "sl-bench-train failed"
fi
# A malformed result stops here, before the long PyTorch run.
"$py" "$work/report.py" check "$work/ours.out" sl-bench-train

echo "== pytorch: $py bench/torch_peer.py ${peer_model[*]} ${common[*]} --json --opencv-dnn" >&2
if ! "$py" "$here/torch_peer.py" "${peer_model[@]}" "${common[@]}" --json --opencv-dnn \
    >"$work/peer.out" 2>"$work/peer.err"; then
  cat "$work/peer.err" >&2
  die "torch_peer.py failed"
fi

"$py" "$work/report.py" table "$work/ours.out" "$work/peer.out" "${out_dir:-}"
