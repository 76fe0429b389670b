#!/usr/bin/env bash
# test-bundle.sh: makes the portable bundles (packaging/make-bundle.sh) from this build, runs
# them from another folder with a clean environment, and proves with LD_DEBUG that every
# library that is not the system's comes from inside the bundle. Prints TAP.
#   test-bundle.sh BUILDDIR SOURCEDIR [STAND-IN-CUDA-MODULE]
# SIGHTLINE_TEST_FULL_BUNDLE=0 leaves out the bundle with CUDA (1.1 GB of libraries copied).
# shellcheck disable=SC2016,SC2317 # '$ORIGIN' is literal; check() calls the functions
set -uo pipefail

builddir=$1
src=$2
stand_in=${3:-}
data=${SL_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
system_list=$src/packaging/system-libraries.txt
checker=$src/tests/packaging/check-ld-debug.py

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $*"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
skip () { n=$((n + 1)); echo "ok $n # SKIP $*"; }
check () { # description, then a command; its output becomes TAP comments
  local what=$1 out status
  shift
  out=$("$@" 2>&1)
  status=$?
  [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'
  if [ $status -eq 0 ]; then ok "$what"; else not_ok "$what (exit status $status)"; fi
  return $status
}
skip_all () { echo "1..0 # SKIP $*"; exit 0; }

for tool in readelf patchelf python3 dpkg-query glib-compile-schemas tar; do
  command -v "$tool" >/dev/null || skip_all "$tool is not installed (packaging/debian-packages.txt)"
done
[ -f "$data/train-images-idx3-ubyte.gz" ] || [ -f "$data/train-images-idx3-ubyte" ] \
  || skip_all "no Fashion-MNIST in $data (dataset-fashion-mnist) for sightline-cli demo"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sightline-bundle-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
home=$tmp/home
mkdir -p "$home" "$tmp/ld"

# Runs a command with nothing of this environment but PATH and HOME (and DISPLAY with
# XAUTHORITY for the workbench), its loader's LD_DEBUG logs in $tmp/ld/<name>.<pid>.
clean () {
  local name=$1
  shift
  env -i PATH=/usr/bin:/bin HOME="$home" ${DISPLAY:+DISPLAY=$DISPLAY} \
    ${XAUTHORITY:+XAUTHORITY=$XAUTHORITY} LD_DEBUG=libs,files LD_DEBUG_OUTPUT="$tmp/ld/$name" "$@"
}
contains () { # text, then a command: runs it and looks for text in what it prints
  local text=$1 out
  shift
  out=$("$@" 2>&1) || { printf '%s\n' "$out"; return 1; }
  printf '%s\n' "$out" | tail -n 4
  grep -qF -- "$text" <<<"$out" || { echo "(\"$text\" is missing)"; return 1; }
}

# ---- The CPU-only bundle ------------------------------------------------------------------

check "make-bundle.sh --cpu-only" \
  bash "$src/packaging/make-bundle.sh" --cpu-only --builddir "$builddir" --no-build \
    --output "$tmp/out" --fast || { echo "1..$n"; exit 1; }
tarball=$(ls "$tmp"/out/Sightline-*-linux-x86_64-cpu.tar.gz)
name=$(basename "$tarball" .tar.gz)
cpu_size="$(du -sh "$tmp/out/$name" | cut -f1) folder, $(du -sh "$tarball" | cut -f1) tar.gz (gzip -1)"

# Every third-party library in lib/ is listed with its Debian package, and every package
# listed brings its copyright file.
licences () {
  local b=$1 lib pkg f bb
  for lib in $(find "$b/lib" -maxdepth 1 -name '*.so*' -printf '%f\n'); do
    case "$lib" in libsightline.so*) continue ;; esac
    grep -q "^lib/$lib  [a-z0-9]" "$b/share/licenses/PACKAGES.txt" \
      || { echo "lib/$lib has no package in share/licenses/PACKAGES.txt"; return 1; }
  done
  for pkg in $(grep -v '^#' "$b/share/licenses/PACKAGES.txt" | awk '{ print $2 }' | sort -u); do
    [ -s "$b/share/licenses/debian/$pkg/copyright" ] \
      || { echo "share/licenses/debian/$pkg/copyright is missing"; return 1; }
  done
  cmp -s "$b/share/licenses/sightline/COPYING" "$src/COPYING" \
    || { echo "share/licenses/sightline/COPYING differs from the source tree's"; return 1; }
  # The build's pretrained backbones travel, each with its licence text.
  for f in "$builddir"/backbones/*.slmodel; do
    [ -f "$f" ] || continue
    bb=$(basename "$f" .slmodel)
    cmp -s "$f" "$b/share/sightline/backbones/$bb.slmodel" \
      || { echo "share/sightline/backbones/$bb.slmodel is missing or differs"; return 1; }
    grep -q "Apache License" "$b/share/licenses/backbones/$bb.LICENSE" 2>/dev/null \
      || { echo "share/licenses/backbones/$bb.LICENSE is missing its licence text"; return 1; }
  done
}

layout () {
  local b=$1 f
  for f in bin/sightline bin/sightline-cli bin/sightline-infer libexec/sightline/sightline \
           libexec/sightline/sightline-cli lib/libsightline.so.0 \
           share/glib-2.0/schemas/gschemas.compiled \
           lib/gdk-pixbuf-2.0/2.10.0/loaders.cache.in share/icons/hicolor/index.theme \
           share/licenses/PACKAGES.txt share/licenses/sightline/NOTICE \
           share/licenses/sightline/COPYING; do
    [ -e "$b/$f" ] || { echo "$f is missing"; return 1; }
  done
  licences "$b" || return 1
  if [ -e "$b/lib/cuda" ] || [ -e "$b/lib/libsightline-cuda.so" ]; then
    echo "a CPU-only bundle with CUDA in it"
    return 1
  fi
  [ -z "$(find "$b" -name 'libcuda.so*')" ] || { echo "the driver's libcuda is in the bundle"; return 1; }
  echo "$(find "$b/lib" -maxdepth 1 -name '*.so*' | wc -l) libraries in lib/, licences of" \
       "$(find "$b/share/licenses/debian" -mindepth 1 -maxdepth 1 | wc -l) Debian packages"
}
check "the CPU-only layout" layout "$tmp/out/$name"

# Unpacked somewhere else, with the folder it was made in gone.
mkdir -p "$tmp/elsewhere"
check "the tarball unpacks" tar -C "$tmp/elsewhere" -xzf "$tarball"
rm -rf "$tmp/out"
b=$tmp/elsewhere/$name
version=$(sed -n 's/^Sightline \([0-9.]*\)$/\1/p' "$b/share/licenses/sightline/NOTICE")

check "sightline --version" contains "sightline $version" clean gui-version "$b/bin/sightline" --version
check "sightline-cli demo (300 images, 1 epoch)" contains "Test accuracy" \
  clean demo "$b/bin/sightline-cli" demo --train-images 300 --test-images 100 --epochs 1 \
    --threads 2 --project "$home/project"
check "sightline-cli export" contains ".slmodel" \
  clean export "$b/bin/sightline-cli" export "$home/project" -o "$home/line" -n model
infer () {
  local out lines
  out=$(clean infer "$b/bin/sightline-infer" "$home/line/model.slmodel" "$@") || return 1
  lines=$(grep -c . <<<"$out")
  echo "$lines lines; $(head -n 2 <<<"$out" | tail -n 1)"
  [ "$lines" -eq $(($# + 1)) ]
}
mapfile -t images < <(find "$home/project/images" -type f -name '*.png' | sort | head -n 20)
check "sightline-infer on the exported model (20 images)" infer "${images[@]}"
check "sightline-cli devices says why it trains on the CPU" contains "training uses the CPU" \
  clean devices "$b/bin/sightline-cli" devices

# The workbench under Xvfb opens the demo project; the window's title names it.
workbench () {
  local pid shown=""
  clean gui "$b/bin/sightline" "$home/project" > "$tmp/gui.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 60); do
    if xwininfo -root -tree 2>/dev/null | grep -q -- '— Sightline"'; then
      shown=$(xwininfo -root -tree | grep -o -- '"[^"]*— Sightline"' | head -n 1)
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  sed -n '/\S/p' "$tmp/gui.log" | head -n 20
  [ -n "$shown" ] || { echo "no Sightline window appeared"; return 1; }
  echo "window $shown"
  ! grep -q CRITICAL "$tmp/gui.log"
}
if command -v xvfb-run >/dev/null && command -v xwininfo >/dev/null; then
  # xvfb-run is a sh script: the functions travel as text, the values as arguments.
  check "the workbench opens the project under xvfb-run" \
    xvfb-run -a -s '-screen 0 1280x800x24' \
      bash -c "$(declare -f clean workbench)"'; b=$1 home=$2 tmp=$3; workbench' \
      workbench "$b" "$home" "$tmp"
else
  skip "xvfb-run or xwininfo (x11-utils) is not installed"
fi

check "LD_DEBUG: every library that is not the system's came from the bundle" \
  python3 "$checker" --bundle "$b" --system-list "$system_list" "$tmp"/ld/*

# The proof notices a library from the host: zlib taken out of the bundle.
mv "$b/lib/libz.so.1" "$tmp/libz.so.1"
rm -f "$tmp"/ld/*
clean zlib "$b/bin/sightline-infer" --version > /dev/null 2>&1
proof=$(python3 "$checker" --bundle "$b" --system-list "$system_list" "$tmp"/ld/*)
if grep -q 'NOT IN THE BUNDLE: libz.so.1' <<<"$proof"; then
  ok "LD_DEBUG: the proof notices zlib coming from the host"
else
  not_ok "LD_DEBUG: the proof missed zlib coming from the host"
fi
mv "$tmp/libz.so.1" "$b/lib/libz.so.1"
rm -rf "$tmp/elsewhere" "$tmp"/ld/* "$home/line"

# ---- The bundle with CUDA ------------------------------------------------------------------

cuda_lib=${CUDA_HOME:-/usr/local/cuda}/lib64
module=$(find "$builddir" -name libsightline-cuda.so -type f -not -path '*/tests/*' \
           -not -path '*/dist/*' 2>/dev/null | head -n 1)
if [ "${SIGHTLINE_TEST_FULL_BUNDLE:-1}" = 0 ]; then
  skip "the CUDA bundle (SIGHTLINE_TEST_FULL_BUNDLE=0)"
elif ! ls "$cuda_lib"/libcudart.so.* >/dev/null 2>&1; then
  skip "the CUDA bundle: no CUDA libraries in $cuda_lib"
else
  args=()
  if [ -z "$module" ] && [ -n "$stand_in" ]; then
    echo "# no CUDA module in the build yet: the bundle carries the stand-in $(basename "$stand_in")"
    args=(--cuda-module "$stand_in")
    module=$stand_in
  fi
  check "make-bundle.sh (with CUDA)" \
    bash "$src/packaging/make-bundle.sh" --builddir "$builddir" --no-build --output "$tmp/full" \
      --no-tar "${args[@]}"
  full=$(basename "$(ls -d "$tmp"/full/Sightline-*-linux-x86_64)")
  full_size="$(du -sh "$tmp/full/$full" | cut -f1) folder, lib/cuda $(du -sh "$tmp/full/$full/lib/cuda" | cut -f1)"
  mkdir -p "$tmp/moved"
  mv "$tmp/full/$full" "$tmp/moved/"
  f=$tmp/moved/$full

  cuda_layout () {
    local lib from n=0
    while read -r _ lib _ from; do
      cmp -s "$from" "$f/lib/cuda/$lib" || { echo "lib/cuda/$lib differs from $from"; return 1; }
      n=$((n + 1))
    done < <(grep '^cuda ' "$f/share/sightline/libraries.txt")
    [ "$n" -gt 0 ] || { echo "lib/cuda is empty"; return 1; }
    [ -z "$(find "$f" -name 'libcuda.so*')" ] || { echo "the driver's libcuda is in the bundle"; return 1; }
    echo "$n CUDA libraries, identical to their originals"
    if [ -n "$module" ]; then
      [ "$(patchelf --print-rpath "$f/lib/libsightline-cuda.so")" = '$ORIGIN/cuda:$ORIGIN' ] \
        || { echo "the module's run path is $(patchelf --print-rpath "$f/lib/libsightline-cuda.so")"; return 1; }
    fi
  }
  check "lib/cuda: unmodified NVIDIA libraries, no driver" cuda_layout
  check "sightline-cli devices (no NVIDIA driver here) says why it uses the CPU" \
    contains "training uses the CPU" clean cuda-devices "$f/bin/sightline-cli" devices
  check "sightline-cli demo trains on the CPU" contains "Test accuracy" \
    clean cuda-demo "$f/bin/sightline-cli" demo --train-images 100 --test-images 50 --epochs 1 \
      --threads 2
  if [ -n "$module" ]; then
    cuda_needed=()
    while read -r lib; do
      case "$lib" in libcudart*|libcublas*|libcudnn*) cuda_needed+=(--cuda "$lib") ;; esac
    done < <(readelf -d "$module" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
    check "LD_DEBUG: the CUDA libraries came from lib/cuda, the rest from the bundle or the system" \
      python3 "$checker" --bundle "$f" --system-list "$system_list" "${cuda_needed[@]}" "$tmp"/ld/*
  else
    skip "LD_DEBUG proof for the CUDA libraries: no CUDA module and no stand-in"
  fi
  rm -rf "$tmp/moved"
fi

echo "# bundle sizes: CPU-only $cpu_size${full_size:+; with CUDA $full_size}"
echo "1..$n"
exit $failed
