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
