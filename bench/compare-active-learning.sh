#!/usr/bin/env bash
# compare-active-learning.sh: a simulated labelling session on Fashion-MNIST: labels chosen by the
# model's uncertainty (label --suggest, --sort uncertainty / margin) against labels chosen at random.
#
#   bench/compare-active-learning.sh [--seeds 1,2,3] [--strategies random,uncertainty,margin]
#                                    [--pool 2000] [--test 1000] [--start 100] [--step 100]
#                                    [--rounds 4] [--epochs 6] [--threads 0]
#                                    [--bench build/bench/sl-bench-al] [--out FILE]
#
# Each session starts from the same --start labels drawn at random (per seed), then repeats:
# train small-bn (fixed seed, --epochs, no early stop), measure the accuracy on --test fixed
# t10k images, and label the next --step pool images, chosen by the strategy (uncertainty: least
# confident suggestions first; margin: smallest gap between the two best classes; random), with
# their true Fashion-MNIST class. Ten labelled validation images per class stay fixed. Prints the
# test accuracy per number of training labels, mean and standard deviation over the seeds, for
# each strategy side by side (--out also keeps the per-seed JSON). A few minutes on 2 cores.
set -euo pipefail

bench_usage_last=18
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

sl_bench="$root/build/bench/sl-bench-al"
out=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --seeds|--strategies) need_value "$@"; args+=("$1" "$2"); shift 2 ;;
    --pool|--test|--start|--step|--rounds|--epochs)
      need_value "$@"; need_positive "${1#--}:$2"; args+=("$1" "$2"); shift 2 ;;
    --threads) need_value "$@"; [[ "$2" =~ ^[0-9]+$ ]] || die "--threads must be 0 or more"
      args+=("$1" "$2"); shift 2 ;;
    --bench) need_value "$@"; sl_bench="$2"; shift 2 ;;
    --out) need_value "$@"; out="$2"; shift 2 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ -x "$sl_bench" ]] || die "$sl_bench is not built: ninja -C build bench/sl-bench-al"
[[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]] \
  || die "Fashion-MNIST is missing: apt install dataset-fashion-mnist"

result="$(mktemp)"
trap 'rm -f "$result"' EXIT
"$sl_bench" --json "${args[@]}" > "$result"
grep -v '^{' "$result"
if [[ -n "$out" ]]; then
  grep '^{' "$result" > "$out"
  echo "per-seed accuracies: $out"
fi
