#!/usr/bin/env bash
# compare-transfer.sh: small-data accuracy, from scratch against the pretrained backbone, through sightline-cli.
#
#   bench/compare-transfer.sh [--sources fmnist,photos] [--sizes 10,30,100] [--seed 1]
#       [--configs "scratch:resnet-s lite0:head lite0:last:3 lite0:all"] [--size-px 128]
#       [--epochs N (default: 30 below 500 training images, else 15)] [--threads 2]
#       [--cli build/app/sightline-cli] [--out DIR]
#
# bench/make-small-data.py writes seeded subsets (N images per class, N in --sizes)
# and a fixed held-out test set per source; for every source and size a project
# gets the test images (split: test) and the subset (split: train; no validation
# images, so every run trains its full epoch budget), and every config trains in it
# with the same epochs, seed and input size, then `eval --checkpoint last` on the
# test split. A config is MODEL:MODE with optional CLI arguments after '/':
#   scratch:PRESET          a from-scratch preset at --size-px (e.g. scratch:resnet-s)
#   lite0:head, lite0:last:N, lite0:all   --model lite0 --finetune MODE --input-size --size-px
#   lite0:all/--lr=0.003/--backbone-lr-ratio=0.1   extra train options
# Prints, per source and size, each config's test accuracy, its training time and
# its gain over the best from-scratch config. Target: the backbone beats from scratch
# by >= 8 points at 10 and 30 per class on fmnist at 128 px, by more on photos.
# --out keeps the projects, data and results.tsv in DIR (default: a temporary folder).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
py=/usr/bin/python3

sources=fmnist,photos
sizes=10,30,100
seed=1
configs="scratch:resnet-s lite0:head lite0:last:3 lite0:all"
size_px=128
epochs=""
threads=2
cli="$root/build/app/sightline-cli"
out_dir=""

bench_usage_last=21
# shellcheck source=bench-lib.sh
source "$here/bench-lib.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --sources) need_value "$@"; sources="$2"; shift 2 ;;
    --sizes) need_value "$@"; sizes="$2"; shift 2 ;;
    --seed) need_value "$@"; seed="$2"; shift 2 ;;
    --configs) need_value "$@"; configs="$2"; shift 2 ;;
    --size-px) need_value "$@"; size_px="$2"; shift 2 ;;
    --epochs) need_value "$@"; epochs="$2"; shift 2 ;;
    --threads) need_value "$@"; threads="$2"; shift 2 ;;
    --cli) need_value "$@"; cli="$2"; shift 2 ;;
    --out) need_value "$@"; out_dir="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

need_counts --sizes "$sizes" 10,30,100
need_positive "seed:$seed" "size-px:$size_px" "threads:$threads" "epochs:${epochs:-1}"
[[ -x "$cli" ]] || die "$cli is missing; build it first (meson setup build && ninja -C build)"
"$py" -c 'import cv2, numpy' 2>/dev/null || die "$py cannot import cv2 and numpy (apt-get install python3-opencv)"
if [[ ",$sources," == *,photos,* ]] && ! "$py" -c 'import skimage' 2>/dev/null; then
  die "the photos source needs scikit-image's sample photographs: apt-get install python3-skimage"
fi
for c in $configs; do
  spec="${c%%/*}"
  case "$spec" in
    scratch:?*|lite0:head|lite0:all|lite0:last:[1-9]*) ;;
    *) die "unknown config '$c' (scratch:PRESET, lite0:head, lite0:last:N, lite0:all)" ;;
  esac
done

if [[ -n "$out_dir" ]]; then
  mkdir -p "$out_dir"
  work="$(cd "$out_dir" && pwd)"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/sl-compare-transfer.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi
results="$work/results.tsv"
[[ -f "$results" ]] || printf 'source\tper_class\tconfig\tepochs\ttest_images\taccuracy\ttrain_s\trun\n' >"$results"

# The data of a source is written once per --out folder (seeded: the same every time).
for src in ${sources//,/ }; do
  missing=""
  for n in ${sizes//,/ }; do
    [[ -d "$work/data/$src/train-$n" ]] || missing=1
  done
  [[ -z "$missing" ]] && continue
  rm -rf "$work/data/$src"
  echo "== data: make-small-data.py $work/data --sizes $sizes --seed $seed --sources $src" >&2
  "$py" "$here/make-small-data.py" "$work/data" --sizes "$sizes" --seed "$seed" --sources "$src" \
    2> >(grep -v 'iCCP' >&2)
done

# A project per source and size: the test set (split: test; the one image per class that
# `split` always gives training is ignored), then the subset, all of it training.
make_project() {
  local src="$1" n="$2" p="$3" ids
  "$cli" new "$p" >/dev/null
  "$cli" import "$p" "$work/data/$src/test" --labels-from-folders >/dev/null
  "$cli" split "$p" --train 0.000001 --val 0 --test 0.999999 --seed "$seed" >/dev/null
  ids="$("$cli" label "$p" --list --split train --json |
    "$py" -c 'import json, sys; print(" ".join(str(i["id"]) for i in json.load(sys.stdin)))')"
  # shellcheck disable=SC2086  # the ids are separate arguments
  [[ -z "$ids" ]] || "$cli" label "$p" --ignore $ids >/dev/null
  "$cli" import "$p" "$work/data/$src/train-$n" --labels-from-folders >/dev/null
  "$cli" split "$p" --train 1 --val 0 --test 0 --seed "$seed" >/dev/null
}

# The 8-bit input at SIZE x SIZE the scratch presets see, normalised as the data asks.
scratch_pipeline() {
  local src="$1" f="$work/pipeline-$1-$size_px.json"
  if [[ "$src" == fmnist ]]; then
    printf '{ "version": 2, "input": { "width": %d, "height": %d, "channels": 1, "mean": [0.2860], "std": [0.3530] }, "steps": [] }\n' \
      "$size_px" "$size_px" >"$f"
  else
    printf '{ "version": 2, "input": { "width": %d, "height": %d, "channels": 3, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25] }, "steps": [] }\n' \
      "$size_px" "$size_px" >"$f"
  fi
  echo "$f"
}

for src in ${sources//,/ }; do
  for n in ${sizes//,/ }; do
    p="$work/projects/$src-$n"
    if [[ ! -d "$p" ]]; then
      # Built aside and renamed, so a stopped run never leaves a half-made project behind.
      rm -rf "$p.partial"
      make_project "$src" "$n" "$p.partial"
      mv "$p.partial" "$p"
    fi
    classes="$(ls "$work/data/$src/train-$n" | wc -l)"
    e="$epochs"
    [[ -n "$e" ]] || { if (( n * classes < 500 )); then e=30; else e=15; fi; }
    for c in $configs; do
      if awk -F'\t' -v s="$src" -v n="$n" -v c="$c" -v e="$e" \
          '$1 == s && $2 == n && $3 == c && $4 == e { found = 1 } END { exit !found }' "$results"; then
        echo "== $src $n/class $c: done before (results.tsv)" >&2
        continue
      fi
      spec="${c%%/*}"
      extra=()
      [[ "$c" == */* ]] && IFS=/ read -r -a extra <<<"${c#*/}"
      if [[ "$spec" == scratch:* ]]; then
        args=(--model "${spec#scratch:}" --pipeline "$(scratch_pipeline "$src")")
      else
        args=(--model lite0 --finetune "${spec#lite0:}" --input-size "$size_px")
      fi
      args+=(--epochs "$e" --seed "$seed" --threads "$threads" "${extra[@]}")
      echo "== $src $n/class: $cli train P ${args[*]}" >&2
      t0="$(date +%s.%N)"
      "$cli" train "$p" "${args[@]}" --json >"$work/train.json" 2>"$work/train.err" || {
        cat "$work/train.err" >&2
        die "training $c on $src $n/class failed"
      }
      t1="$(date +%s.%N)"
      run="$("$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d.get("id", d.get("run_id", "latest")))' "$work/train.json")"
      "$cli" eval "$p" --run "$run" --checkpoint last --threads "$threads" --json >"$work/eval.json" ||
        die "evaluating $c on $src $n/class failed"
      "$py" - "$work/eval.json" "$src" "$n" "$c" "$e" "$t0" "$t1" "$run" >>"$results" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
src, n, c, e, t0, t1, run = sys.argv[2:]
print("%s\t%s\t%s\t%s\t%d\t%.4f\t%.1f\t%s" % (src, n, c, e, d["images"], d["accuracy"],
                                              float(t1) - float(t0), run))
EOF
      tail -n 1 "$results" | awk -F'\t' '{ printf "   accuracy %.4f on %d test images, %s s\n", $6, $5, $7 }' >&2
    done
  done
done

"$py" - "$results" "$size_px" <<'EOF'
import collections, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
table = collections.defaultdict(dict)
for src, n, c, e, images, acc, secs, run in rows:
    table[(src, int(n))][c] = (float(acc), float(secs), int(e), int(images))
print()
print("test accuracy at %s px; gain = over the best from-scratch config, in points" % sys.argv[2])
print("%-7s %6s %-42s %7s %8s %9s %7s %s" % ("source", "/class", "config", "epochs", "accuracy",
                                             "train s", "gain", "target"))
for (src, n) in sorted(table):
    configs = table[(src, n)]
    scratch = [a for c, (a, *_r) in configs.items() if c.startswith("scratch:")]
    best = max(scratch) if scratch else None
    for c, (acc, secs, e, images) in sorted(configs.items(), key=lambda kv: (not kv[0].startswith("scratch"), kv[0])):
        gain = "" if best is None or c.startswith("scratch") else "%+.1f" % (100 * (acc - best))
        target = ""
        if gain and n in (10, 30):
            need = 8.0
            ok = 100 * (acc - best) >= need
            target = ">= %+.0f%s: %s" % (need, "" if src == "fmnist" else " (more)", "met" if ok else "NO")
        print("%-7s %6d %-42s %7d %8.4f %9.1f %7s %s" % (src, n, c, e, acc, secs, gain, target))
EOF
echo "results: $results" >&2
