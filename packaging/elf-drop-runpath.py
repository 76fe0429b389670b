#!/usr/bin/env python3
"""Removes the DT_RUNPATH/DT_RPATH entries of ELF64 little-endian files, leaving the string table alone.

make-bundle.sh calls this before `patchelf --set-rpath` on files that already have a run path:
patchelf 0.14 overwrites the old run path string with 'X's, and the linker may have merged the
tail of that string with a symbol name (".../openblas-pthread" ends in "read", the name of a
libc function libsightline imports), which then turns into "XXXX". With the entry gone, patchelf
adds a fresh string instead and the old one stays as it was.
"""
import struct
import sys

PT_DYNAMIC = 2
DT_NULL, DT_RPATH, DT_RUNPATH = 0, 15, 29


def drop_runpath(path):
    with open(path, 'r+b') as f:
        header = f.read(64)
        if header[:4] != b'\x7fELF' or header[4] != 2 or header[5] != 1:
            sys.exit(f'{path}: not a little-endian 64-bit ELF file')
        phoff, = struct.unpack_from('<Q', header, 32)
        phentsize, phnum = struct.unpack_from('<HH', header, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, _, offset, _, _, filesz = struct.unpack('<IIQQQQ', f.read(40))
            if p_type != PT_DYNAMIC:
                continue
            f.seek(offset)
            raw = f.read(filesz)
            entries = [struct.unpack_from('<qQ', raw, o) for o in range(0, len(raw) - 15, 16)]
            used = next((n for n, e in enumerate(entries) if e[0] == DT_NULL), len(entries))
            kept = [e for e in entries[:used] if e[0] not in (DT_RPATH, DT_RUNPATH)]
            if len(kept) == used:
                return
            kept += [(DT_NULL, 0)] * (len(entries) - len(kept))
            f.seek(offset)
            f.write(b''.join(struct.pack('<qQ', *e) for e in kept))
            return


if __name__ == '__main__':
    for name in sys.argv[1:]:
        drop_runpath(name)
