#!/usr/bin/env bash
# Runs two builds of cloister-full over the same inputs and diffs every output, so a refactor
# can show it changed nothing a user sees (or name exactly what it changed).
#
#   scripts/compare-outputs.sh OLD_CLOISTER_FULL NEW_CLOISTER_FULL [OUTPUT_DIR]
#
# Inputs: every captured host tree (scan --root) and every check fixture directory, in every
# report format; `advise` and `profile` (every --emit) for every scenario in policies/scenarios;
# `rules list`. Both binaries read this checkout's rules/ and policies/. Times that differ run to
# run (the scan's start, durations, OSCAL's random version 4 UUIDs) are replaced by a placeholder before diffing.
# Exit status: 0 when every output is byte-identical after that, 1 otherwise (the diff is printed).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OLD=$(realpath "$1")
NEW=$(realpath "$2")
OUT=${3:-$(mktemp -d /tmp/cloister-compare.XXXXXX)}
mkdir -p "$OUT/old" "$OUT/new"
cd "$ROOT"
export CLOISTER_RULES="$ROOT/rules" CLOISTER_POLICY="$ROOT/policies/exposure.yaml" CLOISTER_POLICIES="$ROOT/policies"
export NO_COLOR=1 COLUMNS=120

normalize() {
    sed -E \
        -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})/<time>/g' \
        -e 's/"(durationMs|durationSeconds|elapsed)": ?[0-9.]+/"\1": <n>/g' \
        -e 's/in [0-9.]+ ?(ms|s)\b/in <n>/g' \
        -e 's/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/<random-uuid>/g'
}

# run NAME ARGS...: the same command with each binary; stdout and stderr kept, exit code noted.
run() {
    local name=$1
    shift
    for side in old new; do
        local binary=$OLD
        [[ $side == new ]] && binary=$NEW
        local scratch="$OUT/$side/scratch"
        mkdir -p "$scratch"
        (cd "$scratch" && "$binary" "$@" >stdout 2>stderr; echo "exit $?" >status)
        { normalize <"$scratch/stdout"; echo "--- stderr"; normalize <"$scratch/stderr"; cat "$scratch/status"; } \
            >"$OUT/$side/$name"
        # Files a command wrote (-o): compared too.
        for file in "$scratch"/written.*; do
            [[ -e $file ]] && { normalize <"$file" >"$OUT/$side/$name.$(basename "$file")"; rm -f "$file"; }
        done
        rm -f "$scratch/stdout" "$scratch/stderr" "$scratch/status"
    done
}

count=0
for tree in Tests/CloisterInspectTests/Fixtures/*/; do
    tree=${tree%/}
    for format in table json sarif junit markdown html oscal; do
        run "scan-$(basename "$tree").$format" scan --root "$ROOT/$tree" --format "$format"
        count=$((count + 1))
    done
    run "scan-$(basename "$tree").verbose" scan --root "$ROOT/$tree" --verbose
    count=$((count + 1))
done

for directory in Tests/CloisterCheckTests/Fixtures/*/ deploy/; do
    directory=${directory%/}
    label=$(echo "$directory" | tr '/' '_')
    for format in table json sarif junit markdown html oscal; do
        run "check-$label.$format" check "$ROOT/$directory" --format "$format"
        count=$((count + 1))
    done
    for file in "$directory"/*; do
        [[ -f $file ]] || continue
        run "check-file-$(echo "$file" | tr '/' '_').json" check "$ROOT/$file" --format json
        count=$((count + 1))
    done
done
run "check-qemu-argv.json" check --format json --qemu -- qemu-system-x86_64 -enable-kvm -vnc 0.0.0.0:1 -m 512 \
    -chardev socket,id=mon,host=0.0.0.0,port=4444,server=on,wait=off -sandbox on,spawn=deny

kinds="seccomp seccomp-bpf capabilities apparmor selinux oci-config kubernetes qemu libvirt landlock"
for scenario in policies/scenarios/*.yaml; do
    name=$(basename "$scenario" .yaml)
    run "advise-$name.table" advise "$ROOT/$scenario"
    run "advise-$name.json" advise "$ROOT/$scenario" --format json
    count=$((count + 2))
    for kind in $kinds; do
        case $kind in
        seccomp-bpf) run "profile-$name.$kind" profile "$ROOT/$scenario" --emit "$kind" -o written.bpf ;;
        oci-config | kubernetes) run "profile-$name.$kind" profile "$ROOT/$scenario" --emit "$kind" -- /bin/sh -c true ;;
        *) run "profile-$name.$kind" profile "$ROOT/$scenario" --emit "$kind" ;;
        esac
        count=$((count + 1))
    done
done
run "rules-list" rules list
run "rules-lint" rules lint
count=$((count + 2))

rm -rf "$OUT/old/scratch" "$OUT/new/scratch"
if diff -r "$OUT/old" "$OUT/new" >"$OUT/diff.txt"; then
    echo "compare-outputs: $count outputs byte-identical (in $OUT)"
    exit 0
fi
cat "$OUT/diff.txt"
echo "compare-outputs: $(grep -c '^diff\|^Only' "$OUT/diff.txt") of $count outputs differ (in $OUT)"
exit 1
