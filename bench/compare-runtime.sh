#!/usr/bin/env bash
# compare-runtime.sh: the line-side runtime against OpenCV DNN on the same model, images and
# thread counts (batch-1 latency and batch throughput), plus cold start of every preset.
#
#   bench/compare-runtime.sh [--preset small-bn] [--threads 1,N] [--images 1000]
#                            [--iterations 2000] [--batch 32] [--cold-runs 9] [--rounds 3]
#                            [--sl-bench build/bench/bench-runtime] [--out DIR]
#
# N defaults to the number of CPU cores. Each round runs bench-runtime, then the peer
# (bench/bench-runtime-peer.py) for each thread count, never both at once; each side's
# best round counts, so a burst of other work on a shared machine hurts neither side.
# Targets: batch-1 latency p50 opencv/ours > 1, throughput ours/opencv > 1,
# cold start (open + first prediction, fresh process) of small-bn < 50 ms.
# --out keeps the models, the ONNX file and both JSON results in DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
py=/usr/bin/python3

preset=small-bn
threads="1,$(nproc)"
images=1000
iterations=2000
batch=32
cold_runs=9
rounds=3
sl_bench="$root/build/bench/bench-runtime"
out_dir=""

bench_usage_last=13
# shellcheck source=bench-lib.sh
source "$here/bench-lib.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --preset) need_value "$@"; preset="$2"; shift 2 ;;
    --threads) need_value "$@"; threads="$2"; shift 2 ;;
    --images) need_value "$@"; images="$2"; shift 2 ;;
    --iterations) need_value "$@"; iterations="$2"; shift 2 ;;
    --batch) need_value "$@"; batch="$2"; shift 2 ;;
    --cold-runs) need_value "$@"; cold_runs="$2"; shift 2 ;;
    --rounds) need_value "$@"; rounds="$2"; shift 2 ;;
    --sl-bench) need_value "$@"; sl_bench="$2"; shift 2 ;;
    --out) need_value "$@"; out_dir="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

need_positive "images:$images" "iterations:$iterations" "batch:$batch" "cold-runs:$cold_runs" "rounds:$rounds"
need_counts --threads "$threads" 1,2
# With one core, "1,1" would time the same thing twice.
threads="$(tr ',' '\n' <<<"$threads" | awk '!seen[$0]++' | paste -sd, -)"
[[ -x "$sl_bench" ]] || die "$sl_bench is missing or not executable; build it first (meson setup build && meson compile -C build)"
if ! { [[ -x "$py" ]] && "$py" -c 'import cv2, numpy' 2>/dev/null; }; then
  echo "== installing the peer: python3-opencv python3-numpy" >&2
  sudo_cmd=()
  [[ "$(id -u)" == 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    python3-opencv python3-numpy >/dev/null \
    || die "could not install python3-opencv python3-numpy"
fi

if [[ -n "$out_dir" ]]; then
  mkdir -p "$out_dir"
  work="$(cd "$out_dir" && pwd)"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/sl-compare-runtime.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi

for round in $(seq "$rounds"); do
  # Cold starts (fresh processes, every preset) are timed once, in the first round.
  cold=0
  [[ "$round" == 1 ]] && cold="$cold_runs"
  echo "== round $round/$rounds: sightline: $sl_bench --preset $preset --threads $threads" >&2
  "$sl_bench" --preset "$preset" --threads "$threads" --images "$images" \
    --iterations "$iterations" --batch "$batch" --cold-runs "$cold" --out "$work" --json \
    >"$work/sightline-$round.json" || die "bench-runtime failed"
  : >"$work/opencv-$round.jsonl"
  for t in ${threads//,/ }; do
    echo "== round $round/$rounds: opencv-dnn: bench-runtime-peer.py --threads $t" >&2
    "$py" "$here/bench-runtime-peer.py" --onnx "$work/$preset.onnx" --threads "$t" \
      --images "$images" --iterations "$iterations" --batch "$batch" \
      --parity "$work/$preset.probs.f32" >>"$work/opencv-$round.jsonl" \
      || die "bench-runtime-peer.py failed"
  done
done
# The peer's cold start in fresh processes, for context (Python and cv2 import included).
: >"$work/opencv-cold.jsonl"
for _ in $(seq 5); do
  "$py" "$here/bench-runtime-peer.py" --onnx "$work/$preset.onnx" --threads 1 --cold \
    >>"$work/opencv-cold.jsonl" || die "bench-runtime-peer.py --cold failed"
done

"$py" - "$work" "$preset" "$rounds" <<'EOF'
import json, os, statistics, sys

work, preset, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
all_ours = [json.load(open(os.path.join(work, "sightline-%d.json" % r)))
            for r in range(1, rounds + 1)]
all_peer = [{p["threads"]: p for p in map(json.loads, open(os.path.join(work, "opencv-%d.jsonl" % r)))}
            for r in range(1, rounds + 1)]
cold_cv = [json.loads(l) for l in open(os.path.join(work, "opencv-cold.jsonl"))]

def best(results):
    """Each figure from the round where it was best: the least disturbed by other work."""
    out = dict(results[0])
    for key in out:
        if key.startswith("latency"):
            out[key] = min(r[key] for r in results)
        elif key == "images_per_s":
            out[key] = max(r[key] for r in results)
    return out

ours = dict(all_ours[0])
ours["runs"] = []
for i, run in enumerate(all_ours[0]["runs"]):
    ours["runs"].append({"threads": run["threads"],
                         "classifier": best([o["runs"][i]["classifier"] for o in all_ours]),
                         "forward": best([o["runs"][i]["forward"] for o in all_ours])})
peer = {t: best([p[t] for p in all_peer]) for t in all_peer[0]}
json.dump({"sightline": ours, "opencv_dnn": peer}, open(os.path.join(work, "best.json"), "w"), indent=1)

def ratio(a, b):
    return a / b if b > 0 else float("inf")

print()
print("%s (%d parameters), %d Fashion-MNIST test images, batch-1 over %d predictions, "
      "throughput at batch %d, best of %d rounds" % (ours["preset"], ours["params"], ours["images"],
                                                     ours["iterations"], ours["batch"], rounds))
print("%-8s %-24s %12s %12s %9s %-10s %-7s %s" %
      ("threads", "metric", "sightline", "opencv-dnn", "ratio", "(of)", "target", "met"))
for run in ours["runs"]:
    t = run["threads"]
    cv = peer[t]
    rows = []
    for path in ("classifier", "forward"):
        r = run[path]
        target = path == "classifier"
        rows += [
            ("p50 ms, %s" % path, r["latency_b1_p50_ms"], cv["latency_b1_p50_ms"],
             ratio(cv["latency_b1_p50_ms"], r["latency_b1_p50_ms"]), "cv/ours", target),
            ("p99 ms, %s" % path, r["latency_b1_p99_ms"], cv["latency_b1_p99_ms"],
             ratio(cv["latency_b1_p99_ms"], r["latency_b1_p99_ms"]), "cv/ours", False),
            ("images/s b%d, %s" % (ours["batch"], path), r["images_per_s"], cv["images_per_s"],
             ratio(r["images_per_s"], cv["images_per_s"]), "ours/cv", target),
        ]
    for metric, a, b, rt, of, target in rows:
        met = ("yes" if rt > 1 else "NO") if target else "-"
        print("%-8d %-24s %12.4g %12.4g %9.3f %-10s %-7s %s" %
              (t, metric, a, b, rt, of, "> 1" if target else "-", met))
diff = max(r.get("max_abs_diff", 0) for p in all_peer for r in p.values())
print("largest probability difference, opencv-dnn vs sightline: %.3g" % diff)
for r in range(rounds):
    print("round %d, p50 ms classifier/opencv: %s" % (r + 1, "  ".join(
        "%dt %.4f/%.4f" % (run["threads"], run["classifier"]["latency_b1_p50_ms"],
                           all_peer[r][run["threads"]]["latency_b1_p50_ms"])
        for run in all_ours[r]["runs"])))

print()
print("cold start in a fresh process (median of %d): sl_classifier_open + first prediction"
      % ours["cold_start"][0]["runs"])
print("%-12s %-8s %9s %9s %9s %11s %-7s %s" %
      ("preset", "threads", "open ms", "first ms", "cold ms", "process ms", "target", "met"))
for c in ours["cold_start"]:
    target = c["preset"] == "small-bn"
    met = ("yes" if c["cold_start_ms"] < 50 else "NO") if target else "-"
    print("%-12s %-8d %9.3f %9.3f %9.3f %11.1f %-7s %s" %
          (c["preset"], c["threads"], c["open_ms"], c["first_prediction_ms"], c["cold_start_ms"],
           c["process_ms"], "< 50" if target else "-", met))
med = lambda k: statistics.median(c[k] for c in cold_cv)
print("opencv-dnn (%s, 1 thread, median of %d): import cv2 %.1f ms, readNetFromONNX %.3f ms, "
      "first forward %.3f ms" % (preset, len(cold_cv), med("import_ms"), med("open_ms"),
                                 med("first_prediction_ms")))
print("process ms: spawn to exit of the whole bench-runtime --cold process (dynamic loading included)")
EOF
