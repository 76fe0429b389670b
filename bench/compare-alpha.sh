#!/bin/bash
# compare-alpha.sh: trains on a transparent data set with the old alpha rule (drop: black) and the new (composite onto white).
# Usage: bash bench/compare-alpha.sh [--dark N] [--per-class N] [--seeds "1 2 3"] [--epochs N] [--build DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dark=60 per_class=100 seeds="1 2 3" epochs=10 build="$here/../build"
while [ $# -gt 0 ]; do
  case "$1" in
    --dark) dark=$2; shift 2 ;;
    --per-class) per_class=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "compare-alpha.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
cli="$build/app/sightline-cli"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 "$here/make-transparent-set.py" "$work/data" --per-class "$per_class" --dark "$dark"
"$cli" new "$work/P" > /dev/null
"$cli" import "$work/P" "$work/data" --labels-from-folders > /dev/null
"$cli" split "$work/P" > /dev/null
# The same 64x64 gray input and normalisation; only the alpha rule differs. A pipeline without
# "alpha" is what every pipeline was before the rule existed (drop: the stored black shows).
cat > "$work/old-black.json" << 'JSON'
{ "version": 1,
  "input": { "width": 64, "height": 64, "channels": 1, "mean": [0.5], "std": [0.5] },
  "steps": [] }
JSON
cat > "$work/new-white.json" << 'JSON'
{ "version": 2,
  "input": { "width": 64, "height": 64, "channels": 1, "mean": [0.5], "std": [0.5],
             "alpha": { "mode": "composite", "background": [255, 255, 255] } },
  "steps": [] }
JSON
for seed in $seeds; do
  for rule in old-black new-white; do
    "$cli" train "$work/P" --model small-bn --epochs "$epochs" --seed "$seed" --threads 2 \
      --pipeline "$work/$rule.json" > /dev/null 2>&1
    echo "dark $dark seed $seed $rule: $("$cli" eval "$work/P" 2>&1 | grep -m1 '^Accuracy')"
  done
done
