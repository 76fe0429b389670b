#!/usr/bin/env python3
"""Reads LD_DEBUG=libs,files logs (LD_DEBUG_OUTPUT files) of programs run from a Sightline bundle
and fails, naming each one, for every library that came from outside the bundle although it is
not a system library (packaging/system-libraries.txt) nor loaded on behalf of one.

  check-ld-debug.py --bundle DIR --system-list FILE [--cuda NAME]... LOG...

--cuda NAME: NAME (a soname such as libcudart.so.13) must have been loaded, from DIR/lib/cuda/.
Every CUDA library loaded at all must come from there too, and the driver's libcuda never from
the bundle. Logs of processes that loaded nothing for a bundle file (the launcher's readlink,
say) are ignored.
"""
import argparse
import fnmatch
import os
import re
import sys

CUDA_NAMES = re.compile(r'^lib(cudart|cublas|cublasLt|cudnn\w*|nvrtc[\w.-]*|nvJitLink|curand|cufft\w*|'
                        r'cusolver\w*|cusparse|nvjpeg|npp\w*|nccl|cupti|nvToolsExt|nvtx\w*|nvblas)\.so')
NEEDED = re.compile(r'^file=(\S+) \[\d+\];\s+(needed by|dynamically loaded by) (\S+) \[\d+\]$')
MAPPED = re.compile(r'^file=(\S+) \[\d+\];\s+generating link map$')
FIND = re.compile(r'^find library=(\S+) \[\d+\]; searching$')
TRYING = re.compile(r'^trying file=(\S+)$')


def load_patterns(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


def parse(log):
    """(name, path, requester) for each object the loader mapped, in order, and the names it
    looked for without finding them."""
    requester, tried, current, mapped, searched = {}, {}, None, [], set()
    with open(log, errors='replace') as f:
        for raw in f:
            line = raw.split(':', 1)[1].strip() if ':' in raw else raw.strip()
            m = NEEDED.match(line)
            if m:
                requester[m.group(1)] = m.group(3)
                current = m.group(1)
                continue
            m = FIND.match(line)
            if m:
                current = m.group(1)
                searched.add(current)
                continue
            m = TRYING.match(line)
            if m and current is not None:
                tried[current] = m.group(1)
                continue
            m = MAPPED.match(line)
            if m:
                name = m.group(1)
                path = name if '/' in name else tried.get(name)
                if path is not None:
                    mapped.append((os.path.basename(name), os.path.realpath(path),
                                   requester.get(name, '?')))
                searched.discard(name)
    return mapped, searched


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bundle', required=True)
    ap.add_argument('--system-list', required=True)
    ap.add_argument('--cuda', action='append', default=[])
    ap.add_argument('logs', nargs='+')
    args = ap.parse_args()

    bundle = os.path.realpath(args.bundle)
    cuda_dir = os.path.join(bundle, 'lib', 'cuda')
    patterns = load_patterns(args.system_list)

    def is_system(name):
        return any(fnmatch.fnmatchcase(name, p) for p in patterns)

    def inside(path, folder):
        return path == folder or path.startswith(folder + os.sep)

    offenders, cuda_problems = [], []
    from_bundle, from_system, cuda_seen, missing = set(), set(), {}, set()
    for log in args.logs:
        mapped, searched = parse(log)
        # Only processes that ran a bundle program (or loaded a bundle file) count.
        if not any(inside(os.path.realpath(req), bundle) for _, _, req in mapped
                   if req.startswith('/')) and not any(inside(p, bundle) for _, p, _ in mapped):
            continue
        missing |= searched
        host_ok = set()  # host files that are system libraries or were loaded for one
        for name, path, req in mapped:
            req_path = os.path.realpath(req) if req.startswith('/') else req
            if CUDA_NAMES.match(name):
                cuda_seen.setdefault(name, set()).add(path)
                if not inside(path, cuda_dir):
                    cuda_problems.append(f'{name} came from {path}, not from lib/cuda/ '
                                         f'(needed by {req})')
                continue
            if name.startswith('libcuda.so') and inside(path, bundle):
                cuda_problems.append(f'the driver library {name} was loaded from the bundle ({path})')
            if inside(path, bundle):
                from_bundle.add(os.path.relpath(path, bundle))
            elif is_system(name) or is_system(os.path.basename(path)) or req_path in host_ok:
                host_ok.add(path)
                from_system.add(name)
            else:
                offenders.append(f'{name} came from {path} (needed by {req}) in {os.path.basename(log)}')

    for name in args.cuda:
        if name not in cuda_seen:
            cuda_problems.append(f'{name} was never loaded')

    print(f'# {len(from_bundle)} files loaded from the bundle, {len(from_system)} from the system: '
          + ' '.join(sorted(from_system)))
    for name in sorted(cuda_seen):
        for path in sorted(cuda_seen[name]):
            print(f'# CUDA: {name} <- {path}')
    if missing:
        print('# looked for, not found (optional, opened with dlopen): ' + ' '.join(sorted(missing)))
    for line in offenders + cuda_problems:
        print(f'# NOT IN THE BUNDLE: {line}')
    if not from_bundle:
        print('# no log shows a bundle program: was LD_DEBUG_OUTPUT written?')
        return 1
    return 1 if offenders or cuda_problems else 0


if __name__ == '__main__':
    sys.exit(main())
