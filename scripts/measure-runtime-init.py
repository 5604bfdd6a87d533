#!/usr/bin/env python3
"""Which syscalls an OCI runtime's init makes after it loads the container's seccomp filter and
before it execs the workload: those must be in every profile the runtime loads, or the container
never starts. Reads `strace -f` output of a runtime run (runc, crun, podman, or containerd's shim
as Docker starts it) and prints the names, per filtered task, as JSON.

  strace -f -qq -o trace.txt runc run --bundle B ID
  scripts/measure-runtime-init.py trace.txt

A task counts as filtered from the moment its own prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, …)
or seccomp(SECCOMP_SET_MODE_FILTER, …) with a program returns 0 (or any task of its thread group
does so with SECCOMP_FILTER_FLAG_TSYNC); tasks it clones afterwards inherit the filter. Its calls
are collected until its execve succeeds. The load itself and the calls that failed with the
filter's own errno still count: the runtime made them, and a profile must let them through.
"""
import json
import re
import sys

LINE = re.compile(r'^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$')


def analyse(path):
    filtered = set()
    done = set()
    pending = {}
    calls = {}
    loads = []
    for raw in open(path, encoding='utf-8', errors='replace'):
        m = LINE.match(raw.rstrip('\n'))
        if not m:
            continue
        tid = int(m.group(1))
        resumed, name, rest = m.group(2), m.group(3), m.group(4)
        if resumed:
            name = resumed
            rest = pending.pop(tid, '') + rest
        elif rest.endswith('<unfinished ...>'):
            pending[tid] = rest[:-len('<unfinished ...>')]
            # Record the call now: the filter applies when it is entered.
            if tid in filtered and tid not in done:
                calls.setdefault(tid, set()).add(name)
            continue
        result = rest.rsplit('=', 1)[-1].strip() if '=' in rest else ''
        ok = result.split(' ')[0].lstrip('-').isdigit() and not result.startswith('-')
        if tid in filtered and tid not in done and not resumed:
            calls.setdefault(tid, set()).add(name)
        if name in ('clone', 'clone3', 'fork', 'vfork') and ok and tid in filtered:
            child = int(result.split(' ')[0])
            filtered.add(child)
        is_load = (name == 'prctl' and 'PR_SET_SECCOMP' in rest and 'SECCOMP_MODE_FILTER' in rest) or \
                  (name == 'seccomp' and 'SECCOMP_SET_MODE_FILTER' in rest and 'NULL' not in rest)
        if is_load and ok and tid not in filtered:
            filtered.add(tid)
            loads.append(tid)
            calls.setdefault(tid, set()).add(name)
        if name == 'execve' and ok and tid in filtered:
            done.add(tid)
            calls.setdefault(tid, set()).add('execve')
    return loads, calls


def main():
    if len(sys.argv) < 2:
        sys.exit('usage: measure-runtime-init.py STRACE_OUTPUT...')
    union = set()
    report = {}
    for path in sys.argv[1:]:
        loads, calls = analyse(path)
        if not loads:
            sys.exit(f'{path}: no seccomp filter load found (was the config given a linux.seccomp?)')
        names = sorted(set().union(*calls.values()))
        report[path] = names
        union.update(names)
    print(json.dumps({'runs': report, 'union': sorted(union)}, indent=1))


if __name__ == '__main__':
    main()
