#!/usr/bin/env bash
# compare-gpu.sh: training throughput on an NVIDIA GPU: Sightline's CUDA backend against PyTorch
# on the same GPU with the same batch, in the same run, and against Sightline on the CPU.
#
#   bench/compare-gpu.sh [--build DIR] [--models "seed-cnn resnet-s"] [--batch 256]
#                        [--epochs 3] [--train-images 60000] [--cpu-train-images 6000]
#                        [--device cuda:0] [--out DIR]
#
# For each model: sl-bench-train --device cuda, then torch_gpu_peer.py (when this Python has a
# PyTorch with CUDA), then sl-bench-train on the CPU (all cores, fewer images: it is slow), one
# after the other so that none disturbs another. Prints images/s, GPU/PyTorch (target >= 1) and
# GPU/CPU. Where there is no usable GPU it says why (sightline-cli devices) and exits 0.
# Both GPU sides compute in FP32 (no TF32) and choose convolution algorithms by measuring them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
py=${PYTHON:-/usr/bin/python3}

build="$root/build"
models="seed-cnn resnet-s"
batch=256
epochs=3
train_images=60000
cpu_train_images=6000
device=cuda:0
out_dir=""

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
  echo "compare-gpu: $*" >&2
  exit 1
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="${2:?--build needs a folder}"; shift 2 ;;
    --models) models="${2:?--models needs names}"; shift 2 ;;
    --batch) batch="${2:?--batch needs a number}"; shift 2 ;;
    --epochs) epochs="${2:?--epochs needs a number}"; shift 2 ;;
    --train-images) train_images="${2:?--train-images needs a number}"; shift 2 ;;
    --cpu-train-images) cpu_train_images="${2:?--cpu-train-images needs a number}"; shift 2 ;;
    --device) device="${2:?--device needs cuda or cuda:N}"; shift 2 ;;
    --out) out_dir="${2:?--out needs a folder}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
for pair in "batch:$batch" "epochs:$epochs" "train-images:$train_images" \
            "cpu-train-images:$cpu_train_images"; do
  [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || die "--${pair%%:*} must be a positive integer"
done
[[ "$epochs" -ge 2 ]] || die "--epochs must be at least 2 (the first carries algorithm searches)"

bench="$build/bench/sl-bench-train"
cli="$build/app/sightline-cli"
[[ -x "$bench" && -x "$cli" ]] || die "build Sightline first: $bench and $cli are missing"
if [[ ! -e "$build/libsightline-cuda.so" ]]; then
  echo "compare-gpu: this build has no CUDA backend module ($build/libsightline-cuda.so);"
  echo "  it needs nvcc, cuBLAS and cuDNN 9 at configure time (see docs/engine.md, GPU). Nothing to measure."
  exit 0
fi
# sl-bench-train links the engine statically: point it at the module.
export SIGHTLINE_CUDA_MODULE_DIR="$build"

# A usable GPU, or the reason there is none.
devices_json="$("$cli" devices --json)"
usable="$(printf '%s' "$devices_json" | "$py" -c '
import json, sys
want = sys.argv[1]
for d in json.load(sys.stdin):
    if d["kind"] == "cuda" and d["usable"] and (want in ("cuda", d["id"])):
        print(d["id"], d["name"], sep="\t")
        break
' "$device")"
if [[ -z "$usable" ]]; then
  echo "compare-gpu: no usable GPU for $device, so nothing to measure:"
  "$cli" devices | sed 's/^/  /'
  exit 0
fi
gpu_id="${usable%%$'\t'*}"
gpu_name="${usable#*$'\t'}"
echo "== $gpu_id: $gpu_name; batch $batch, $epochs epochs of $train_images images" >&2

torch_ok=1
torch_why="$("$py" -c 'import torch, sys
sys.exit(0 if torch.cuda.is_available() else "PyTorch %s has no CUDA device" % torch.__version__)' 2>&1)" \
  || torch_ok=0
[[ "$torch_ok" == 1 ]] || echo "compare-gpu: the PyTorch side is skipped: ${torch_why##*$'\n'}" >&2

work="$(mktemp -d "${TMPDIR:-/tmp}/sl-compare-gpu.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cores="$(nproc)"

for model in $models; do
  echo "== $model" >&2
  "$bench" --model "$model" --print-model >"$work/$model.json"
  "$bench" --model "$model" --device "$gpu_id" --batch "$batch" --epochs "$epochs" \
    --train-images "$train_images" --json >"$work/$model-gpu.out"
  if [[ "$torch_ok" == 1 ]]; then
    "$py" "$here/torch_gpu_peer.py" --model-json "$work/$model.json" --device "$gpu_id" \
      --batch "$batch" --epochs "$epochs" --train-images "$train_images" >"$work/$model-torch.out" \
      || echo '{}' >"$work/$model-torch.out"
  else
    echo '{}' >"$work/$model-torch.out"
  fi
  "$bench" --model "$model" --device cpu --threads "$cores" --batch "$batch" --epochs 1 \
    --train-images "$cpu_train_images" --test-images 1000 --json >"$work/$model-cpu.out"
done

"$py" - "$work" "$out_dir" "$gpu_id" "$gpu_name" $models <<'EOF'
import json, os, sys

work, out_dir, gpu_id, gpu_name, models = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]

def last_object(path):
    text, found, i = open(path).read(), {}, 0
    dec = json.JSONDecoder()
    while (i := text.find("{", i)) >= 0:
        try:
            obj, i = dec.raw_decode(text, i)
            if isinstance(obj, dict):
                found = obj
        except ValueError:
            i += 1
    return found

def fmt(v):
    return "%10.1f" % v if isinstance(v, (int, float)) else "%10s" % "-"

def ratio(a, b):
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b > 0 else None

print("GPU %s (%s)" % (gpu_id, gpu_name))
print("%-10s %10s %10s %10s %12s %10s" % ("model", "ours GPU", "torch GPU", "ours CPU",
                                          "ours/torch", "GPU/CPU"))
results = {}
for m in models:
    ours, torch, cpu = (last_object(os.path.join(work, "%s-%s.out" % (m, k)))
                        for k in ("gpu", "torch", "cpu"))
    a, b, c = (r.get("train_images_per_s") for r in (ours, torch, cpu))
    vs_torch, vs_cpu = ratio(a, b), ratio(a, c)
    verdict = "" if vs_torch is None else ("  (target >= 1: %s)" % ("met" if vs_torch >= 1 else "NOT met"))
    print("%-10s %s %s %s %12s %10s%s" % (m, fmt(a), fmt(b), fmt(c),
          "-" if vs_torch is None else "%.2fx" % vs_torch,
          "-" if vs_cpu is None else "%.1fx" % vs_cpu, verdict))
    results[m] = {"sightline_gpu": ours, "pytorch_gpu": torch, "sightline_cpu": cpu}
print("images/s over all epochs (the first includes each side's convolution algorithm search);")
print("accuracy: " + ", ".join("%s ours %s / torch %s" % (m, results[m]["sightline_gpu"].get("test_accuracy", "-"),
                               results[m]["pytorch_gpu"].get("test_accuracy", "-")) for m in models))
if out_dir:
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "compare-gpu.json"), "w") as f:
        json.dump({"gpu": gpu_name, "results": results}, f, indent=2)
        f.write("\n")
EOF
