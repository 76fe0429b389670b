#!/usr/bin/env bash
# compare-infer.sh: libsightline inference against ONNX Runtime, every preset at its usual input size.
#
#   bench/compare-infer.sh [--presets small-bn:28:1,seed-cnn:28:1,resnet-s:128:3,mobilenet-s:128:3,efficientnet-lite0:224:3]
#       [--threads 1,2] [--batch 32] [--iterations 300] [--seconds 1.5] [--rounds 2]
#       [--cold-runs 5] [--build build] [--out DIR]
#
# Each round runs build/bench/bench-infer (all presets, every thread count: batch-1 latency
# p50 of sl_model_predict and images/s at --batch), then bench/bench-infer-peer.py in ONNX
# Runtime (pip onnxruntime in `python3`, CPU provider, same thread count) on our ONNX export of
# the same models (seed-7 weights, 10 classes) and the same images, one side after the other;
# each figure keeps its best round, so a burst of other work on a shared machine hurts neither
# side. Cold start (first round): open + first prediction in a fresh process, ours through
# sl_classifier (.slmodel), the peer's session creation + first run (import not counted).
# Prints one table: ours, the peer's, and the ratio (> 1: ours better). Targets (issue 18):
# latency ratio ORT/ours >= 1, throughput ours/ORT > 1, our cold start < 10 ms.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
ort_py=python3

presets="small-bn:28:1,seed-cnn:28:1,resnet-s:128:3,mobilenet-s:128:3,efficientnet-lite0:224:3"
threads=1,2
batch=32
iterations=300
seconds=1.5
rounds=2
cold_runs=5
build="$root/build"
out_dir=""

bench_usage_last=17
# shellcheck source=bench-lib.sh
source "$here/bench-lib.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --presets) need_value "$@"; presets="$2"; shift 2 ;;
    --threads) need_value "$@"; threads="$2"; shift 2 ;;
    --batch) need_value "$@"; batch="$2"; shift 2 ;;
    --iterations) need_value "$@"; iterations="$2"; shift 2 ;;
    --seconds) need_value "$@"; seconds="$2"; shift 2 ;;
    --rounds) need_value "$@"; rounds="$2"; shift 2 ;;
    --cold-runs) need_value "$@"; cold_runs="$2"; shift 2 ;;
    --build) need_value "$@"; build="$2"; shift 2 ;;
    --out) need_value "$@"; out_dir="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

need_positive "batch:$batch" "iterations:$iterations" "rounds:$rounds" "cold-runs:$cold_runs"
need_counts --threads "$threads" 1,2
sl_bench="$build/bench/bench-infer"
[[ -x "$sl_bench" ]] || die "$sl_bench is missing; build first (ninja -C $build bench/bench-infer)"
"$ort_py" -c 'import onnxruntime, numpy' 2>/dev/null ||
  die "$ort_py cannot import onnxruntime (python3 -m pip install onnxruntime)"
names="$(tr ',' '\n' <<<"$presets" | cut -d: -f1 | paste -sd, -)"

if [[ -n "$out_dir" ]]; then
  mkdir -p "$out_dir"
  work="$(cd "$out_dir" && pwd)"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/sl-compare-infer.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi

for round in $(seq "$rounds"); do
  cold=0
  [[ "$round" == 1 ]] && cold="$cold_runs"
  echo "== round $round/$rounds: sightline: bench-infer --presets $presets --threads $threads" >&2
  "$sl_bench" --out "$work" --presets "$presets" --threads "$threads" --batch "$batch" \
    --iterations "$iterations" --seconds "$seconds" --cold-runs "$cold" \
    >"$work/sightline-$round.jsonl" || die "bench-infer failed"
  : >"$work/ort-$round.jsonl"
  for t in ${threads//,/ }; do
    echo "== round $round/$rounds: onnxruntime: bench-infer-peer.py --threads $t" >&2
    "$ort_py" "$here/bench-infer-peer.py" --dir "$work" --presets "$names" --threads "$t" \
      --batch "$batch" --iterations "$iterations" --seconds "$seconds" \
      >>"$work/ort-$round.jsonl" || die "bench-infer-peer.py failed"
  done
done
: >"$work/ort-cold.jsonl"
for p in ${names//,/ }; do
  for t in ${threads//,/ }; do
    for _ in $(seq "$cold_runs"); do
      "$ort_py" "$here/bench-infer-peer.py" --dir "$work" --presets "$p" --threads "$t" --cold \
        >>"$work/ort-cold.jsonl" || die "bench-infer-peer.py --cold failed"
    done
  done
done

"$ort_py" - "$work" "$rounds" <<'PY'
import json, os, statistics, sys

work, rounds = sys.argv[1], int(sys.argv[2])
def load(name):
    return [json.loads(l) for l in open(os.path.join(work, name)) if l.strip()]
ours = [r for k in range(1, rounds + 1) for r in load("sightline-%d.jsonl" % k)]
peer = [r for k in range(1, rounds + 1) for r in load("ort-%d.jsonl" % k)]
cold = load("ort-cold.jsonl")
keys = []
for r in ours:
    if (r["preset"], r["threads"]) not in keys:
        keys.append((r["preset"], r["threads"]))

def best(rows, key, lower):
    vals = [r[key] for r in rows]
    return min(vals) if lower else max(vals)

print("batch-1 latency p50 (ms) and images/s at batch %d; best of %d rounds; ratio > 1: ours better"
      % (ours[0]["batch"], rounds))
print("%-19s %3s %9s %9s %6s | %9s %9s %6s | %7s %7s %9s" % (
    "preset", "thr", "b1 ms", "ort ms", "ratio", "img/s", "ort", "ratio", "cold ms", "ort ms", "max|dp|"))
summary = []
for preset, t in keys:
    o = [r for r in ours if r["preset"] == preset and r["threads"] == t]
    p = [r for r in peer if r["preset"] == preset and r["threads"] == t]
    c = [r for r in cold if r["preset"] == preset and r["threads"] == t]
    lo, lp = best(o, "latency_b1_p50_ms", True), best(p, "latency_b1_p50_ms", True)
    to, tp = best(o, "images_per_s", False), best(p, "images_per_s", False)
    co = next(r["cold_start_ms"] for r in o if r["cold_start_ms"] > 0) if any(r["cold_start_ms"] > 0 for r in o) else float("nan")
    cp = statistics.median(r["open_ms"] + r["first_prediction_ms"] for r in c) if c else float("nan")
    diff = max(r["max_abs_diff"] for r in p)
    row = dict(preset=preset, threads=t, ours_ms=lo, ort_ms=lp, lat_ratio=lp / lo, ours_ips=to,
               ort_ips=tp, ips_ratio=to / tp, ours_cold_ms=co, ort_cold_ms=cp, max_abs_diff=diff)
    summary.append(row)
    print("%-19s %3d %9.4f %9.4f %6.2f | %9.1f %9.1f %6.2f | %7.2f %7.1f %9.2g" % (
        preset, t, lo, lp, lp / lo, to, tp, to / tp, co, cp, diff))
json.dump(summary, open(os.path.join(work, "summary.json"), "w"), indent=1)
met = sum(1 for r in summary if r["lat_ratio"] >= 1) , sum(1 for r in summary if r["ips_ratio"] > 1)
print("latency at or below ORT's: %d/%d; throughput above ORT's: %d/%d; cold start < 10 ms: %d/%d" % (
    met[0], len(summary), met[1], len(summary),
    sum(1 for r in summary if r["ours_cold_ms"] < 10), len(summary)))
print("ORT cold: session creation + first run, median of fresh processes (import onnxruntime "
      "%.0f ms not counted)" % statistics.median(r["import_ms"] for r in cold))
PY
