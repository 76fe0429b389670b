#!/bin/sh
# The launcher of the portable bundle, installed as bin/sightline and bin/sightline-cli: points
# GLib and GTK at the schemas, icons, image loaders and (no) modules inside this folder, then
# runs libexec/sightline/<its own name>. The libraries are found through $ORIGIN run paths,
# so nothing here touches LD_LIBRARY_PATH. See docs/bundle.md.

self=$(readlink -f -- "$0") || self=
if [ -z "$self" ]; then
  echo "sightline: cannot tell which folder this launcher is in" >&2
  exit 127
fi
name=${self##*/}
top=${self%/*}
top=${top%/*}
program=$top/libexec/sightline/$name
if [ ! -x "$program" ]; then
  echo "$name: $program is missing: this Sightline folder is incomplete" >&2
  exit 127
fi

# The programs need the glibc they were built against or a newer one; say so plainly.
need=$(cat "$top/share/sightline/glibc-version" 2>/dev/null)
have=$(getconf GNU_LIBC_VERSION 2>/dev/null)
have=${have#glibc }
if [ -n "$need" ] && [ -n "$have" ] \
   && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -t . -k 1,1n -k 2,2n | head -n 1)" != "$need" ]; then
  echo "$name: this Sightline needs glibc $need or newer; this system has glibc $have." >&2
  echo "Use a newer Linux distribution (see README.md in $top)." >&2
  exit 127
fi

# The host's values of what is changed below, for programs Sightline starts (a file manager,
# say) to get back: SIGHTLINE_HOST_<NAME> holds each one that was set.
SIGHTLINE_ENV_VARS="GSETTINGS_SCHEMA_DIR XDG_DATA_DIRS GDK_PIXBUF_MODULE_FILE GIO_MODULE_DIR GIO_EXTRA_MODULES GTK_EXE_PREFIX GTK_PATH GSETTINGS_BACKEND"
export SIGHTLINE_ENV_VARS
for var in $SIGHTLINE_ENV_VARS; do
  if eval "[ -n \"\${$var+set}\" ]"; then
    eval "SIGHTLINE_HOST_$var=\$$var; export SIGHTLINE_HOST_$var"
  fi
done

# Settings schemas: Sightline's and GTK's own, compiled together.
GSETTINGS_SCHEMA_DIR=$top/share/glib-2.0/schemas${GSETTINGS_SCHEMA_DIR:+:$GSETTINGS_SCHEMA_DIR}
# Icons (and the schemas again) from the bundle first, then the desktop's.
XDG_DATA_DIRS=$top/share:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}
# GIO modules (GVfs, dconf, proxies) and GTK modules (input methods, printing) of the host
# are built for the host's GLib and GTK, not for the copies in lib/: none are loaded.
GIO_MODULE_DIR=$top/lib/gio/modules
GTK_EXE_PREFIX=$top
unset GIO_EXTRA_MODULES GTK_PATH
# Without dconf, settings go to ~/.config/glib-2.0/settings/keyfile.
GSETTINGS_BACKEND=${GSETTINGS_BACKEND:-keyfile}
export GSETTINGS_SCHEMA_DIR XDG_DATA_DIRS GIO_MODULE_DIR GTK_EXE_PREFIX GSETTINGS_BACKEND

# gdk-pixbuf's loader list names each loader by absolute path: write it for where the folder
# is now, beside the loaders when the folder is writable, else in the user's cache.
pixbuf=$top/lib/gdk-pixbuf-2.0/2.10.0
stamp="# Sightline loaders in $pixbuf/loaders"
write_loaders () {
  escaped=$(printf '%s\n' "$pixbuf/loaders" | sed 's/[\\&|]/\\&/g')
  mkdir -p "${1%/*}" 2>/dev/null
  { printf '%s\n' "$stamp"; sed "s|@LOADERS_DIR@|$escaped|" "$pixbuf/loaders.cache.in"; } \
    2>/dev/null > "$1.$$" && mv -f "$1.$$" "$1" 2>/dev/null && return 0
  rm -f "$1.$$" 2>/dev/null
  return 1
}
use_cache () { # a loader list file: true when it holds the right list, now or already
  if [ "$(head -n 1 "$1" 2>/dev/null)" = "$stamp" ] || write_loaders "$1"; then
    cache=$1
    return 0
  fi
  return 1
}
# The last resort is a folder of our own in /tmp: a loader list names code to load, so never
# one in a folder someone else could have made.
use_private_cache () {
  private=${TMPDIR:-/tmp}/sightline-$(id -u)
  (umask 077 && mkdir -p "$private") 2>/dev/null
  [ ! -L "$private" ] && [ -O "$private" ] && use_cache "$private/loaders-$key.cache"
}
key=$(printf '%s' "$top" | cksum | cut -d ' ' -f 1)
cache=
use_cache "$pixbuf/loaders.cache" \
  || { [ -n "${XDG_CACHE_HOME:-}" ] && use_cache "$XDG_CACHE_HOME/sightline/loaders-$key.cache"; } \
  || { [ -n "${HOME:-}" ] && use_cache "$HOME/.cache/sightline/loaders-$key.cache"; } \
  || use_private_cache
if [ -z "$cache" ] && [ "$name" = sightline ]; then
  echo "$name: cannot write the image loader list anywhere; SVG icons will be missing" >&2
fi
if [ -n "$cache" ]; then
  GDK_PIXBUF_MODULE_FILE=$cache
  export GDK_PIXBUF_MODULE_FILE
fi

exec "$program" "$@"
