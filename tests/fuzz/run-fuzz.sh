#!/usr/bin/env bash
# run-fuzz.sh: the meson tests fuzz-slmodel and fuzz-pickle: build one libFuzzer target with clang, fuzz briefly.
#
# Usage: run-fuzz.sh SOURCE_ROOT FUZZ_BUILD_DIR [TARGET]
# TARGET is fuzz-slmodel (the default: .slmodel files, seeds from make-seeds,
# regressions in tests/fuzz/regressions/) or fuzz-pickle (the backbone
# converter's pickle and ZIP readers, seeds from tests/fixtures/backbone/,
# regressions in tests/fuzz/regressions-pickle/).
# Configures (once) a clang build of the project with ASan, UBSan and
# libFuzzer coverage in FUZZ_BUILD_DIR, builds only tests/fuzz there, writes
# the seed corpus, replays tests/fuzz/regressions/ and fuzzes for
# SL_FUZZ_TIME seconds (30) with a fixed seed. Prints TAP; build and fuzzer
# logs go to stderr. Any finding fails the test and names the input to replay:
#   FUZZ_BUILD_DIR/tests/fuzz/TARGET CRASH_FILE
set -euo pipefail

if [[ $# -ne 2 && $# -ne 3 ]]; then
  echo "usage: $0 SOURCE_ROOT FUZZ_BUILD_DIR [fuzz-slmodel|fuzz-pickle]" >&2
  exit 2
fi
src=$(cd "$1" && pwd)
build=$2
target=${3:-fuzz-slmodel}
case $target in
  fuzz-slmodel)
    extra_targets=(tests/fuzz/make-seeds)
    regression_dir=$src/tests/fuzz/regressions
    dict=(-dict="$src/tests/fuzz/slmodel.dict")
    ;;
  fuzz-pickle)
    extra_targets=()
    regression_dir=$src/tests/fuzz/regressions-pickle
    dict=()
    ;;
  *)
    echo "$0: unknown fuzz target $target" >&2
    exit 2
    ;;
esac
fuzz_time=${SL_FUZZ_TIME:-30}
seed=${SL_FUZZ_SEED:-20240501}

echo "1..1"

fail() {
  echo "not ok 1 - $target: $*"
  exit 1
}

# clang with the libFuzzer runtime: check by linking a trivial target.
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
  fail "clang is not installed (apt install clang libclang-rt-14-dev)"
fi
printf 'int LLVMFuzzerTestOneInput (const unsigned char *d, unsigned long n) { return 0; }\n' \
  >"$probe_dir/probe.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe_dir/probe.c" -o "$probe_dir/probe" \
  2>"$probe_dir/probe.log"; then
  cat "$probe_dir/probe.log" >&2
  fail "clang cannot link libFuzzer (apt install clang libclang-rt-14-dev)"
fi

mkdir -p "$build"
build=$(cd "$build" && pwd)
log=$build/$target-build.log

# Coverage instrumentation (fuzzer-no-link) reaches every object through
# c_args/cpp_args; UBSan findings abort instead of scrolling by.
if [[ ! -f $build/build.ninja ]]; then
  # An interrupted setup starts over; any other directory is left alone.
  if [[ -d $build/meson-private ]]; then
    rm -rf "$build"
    mkdir -p "$build"
  fi
  if [[ -n $(ls -A "$build") ]]; then
    fail "$build is neither empty nor a meson build directory"
  fi
  echo "# configuring $build" >&2
  start=$SECONDS
  if ! CC=clang CXX=clang++ meson setup "$build" "$src" \
    --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
    -Dnative=false -Dfuzzing=true \
    "-Dc_args=['-fsanitize=fuzzer-no-link','-fno-sanitize-recover=all']" \
    "-Dcpp_args=['-fsanitize=fuzzer-no-link','-fno-sanitize-recover=all']" \
    >"$probe_dir/setup.log" 2>&1; then
    cat "$probe_dir/setup.log" >&2
    fail "meson setup of the clang build failed (see above)"
  fi
  echo "# configured in $((SECONDS - start)) s" >&2
fi
echo "# building $target in $build" >&2
start=$SECONDS
if ! ninja -C "$build" -j2 "tests/fuzz/$target" "${extra_targets[@]}" >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  fail "building the fuzz target failed (see above)"
fi
echo "# built in $((SECONDS - start)) s" >&2

fuzzer=$build/tests/fuzz/$target
seeds=$build/$target-seeds
large=$build/$target-large
corpus=$build/$target-corpus
artifacts=$build/$target-artifacts
rm -rf "$seeds" "$large" "$corpus"
mkdir -p "$seeds" "$large" "$corpus" "$artifacts"
if [[ $target == fuzz-slmodel ]]; then
  if ! "$build/tests/fuzz/make-seeds" "$seeds" "$large" >&2; then
    fail "make-seeds could not write the seed corpus"
  fi
else
  cp "$src"/tests/fixtures/backbone/* "$seeds"/
fi

# The same options under meson test (which sets its own) and by hand.
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OPENBLAS_NUM_THREADS=1
common=(-rss_limit_mb=2048 -timeout=10 -detect_leaks=1 "-artifact_prefix=$artifacts/"
  "${dict[@]}")

# Earlier findings and the files too big to fuzz first: libFuzzer runs
# files given as arguments once.
regressions=()
while IFS= read -r -d '' f; do
  regressions+=("$f")
done < <(find "$regression_dir" "$large" -type f -print0 2>/dev/null | sort -z)
if ((${#regressions[@]} > 0)); then
  echo "# replaying ${#regressions[@]} regression inputs" >&2
  start=$SECONDS
  if ! "$fuzzer" "${common[@]}" "${regressions[@]}" >"$build/$target-regressions.log" 2>&1; then
    tail -n 80 "$build/$target-regressions.log" >&2
    input=$(sed -n 's/^Running: //p' "$build/$target-regressions.log" | tail -n 1)
    fail "regression input fails again; replay with: $fuzzer $input"
  fi
  echo "# replayed in $((SECONDS - start)) s" >&2
fi

echo "# fuzzing for $fuzz_time s (seed $seed)" >&2
status=0
"$fuzzer" "${common[@]}" -seed="$seed" -max_total_time="$fuzz_time" -print_final_stats=1 \
  "$corpus" "$seeds" >"$build/$target.log" 2>&1 || status=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$build/$target.log" | tail -n 1)
secs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$build/$target.log" | tail -n 1)
stats=$(grep -E '^#[0-9]+' "$build/$target.log" | tail -n 1 || true)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$stats")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$stats")
corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$stats")

if [[ $status -ne 0 || -z $secs ]]; then
  tail -n 80 "$build/$target.log" >&2
  crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$build/$target.log" | tail -n 1)
  if [[ -n $crash ]]; then
    fail "finding after ${runs:-?} runs; replay with: $fuzzer $crash"
  fi
  fail "libFuzzer exited with status $status (log: $build/$target.log)"
fi
echo "# $stats" >&2
echo "ok 1 - $target: $runs runs in $secs s, no crash (cov: ${cov:-?}, ft: ${ft:-?}, corpus: ${corp:-?})"
