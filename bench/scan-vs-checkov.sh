#!/usr/bin/env bash
# mlguard scan vs checkov 3.3.30, in one run, on the same inputs:
#   (a) the shared manifest corpus (${SHARED:-../shared}/corpus/manifests), and
#   (b) a generated platform of 100,000 objects (bench/gen_platform.py: 20,000 Pods in 1,000
#       namespaces with Deployments, NetworkPolicies, Roles, RoleBindings, quotas ...).
# Prints wall time (median of RUNS runs), max resident memory, and the ratio checkov/mlguard.
#
# Usage: bench/scan-vs-checkov.sh [--runs N] [--skip-mlguard] [--skip-checkov] [--no-platform]
# Env:   SHARED (default ../shared, relative to the repo root), TMPDIR, CHECKOV_TIMEOUT (900 s),
#        NAMESPACES (1000, of 100 objects each), KEEP_VENV=1 to reuse the checkov venv.
#
# Needs: python3 with venv, network access to PyPI (for checkov) and Debian (for `time`).
# checkov runs offline: no API key, --skip-download, no update check.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"

RUNS=3
DO_MLGUARD=1
DO_CHECKOV=1
DO_PLATFORM=1
while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --skip-mlguard) DO_MLGUARD=0; shift ;;
        --skip-checkov) DO_CHECKOV=0; shift ;;
        --no-platform) DO_PLATFORM=0; shift ;;
        -h|--help) sed -n "2,13p" "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

SHARED=${SHARED:-../shared}
case $SHARED in /*) ;; *) SHARED=$ROOT/$SHARED ;; esac
CORPUS=$SHARED/corpus/manifests
CHECKOV_VERSION=3.3.30
CHECKOV_TIMEOUT=${CHECKOV_TIMEOUT:-900}
NAMESPACES=${NAMESPACES:-1000}
WORK=${TMPDIR:-/tmp}/mlguard-bench.$$
VENV=${TMPDIR:-/tmp}/mlguard-bench-checkov-$CHECKOV_VERSION
PLATFORM=$WORK/platform
MLGUARD=$ROOT/target/release/mlguard
mkdir -p "$WORK"
cleanup() {
    rm -rf "$WORK"
    [ "${KEEP_VENV:-0}" = 1 ] || rm -rf "$VENV"
}
trap cleanup EXIT

say() { printf '%s\n' "$*" >&2; }

[ -d "$CORPUS" ] || { say "corpus not found: $CORPUS (set SHARED)"; exit 2; }

# GNU time for max RSS.
if [ ! -x /usr/bin/time ]; then
    say "installing Debian package time"
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends time
fi

# checkov in a throwaway venv.
if [ "$DO_CHECKOV" = 1 ]; then
    if ! "$VENV/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
        say "installing checkov==$CHECKOV_VERSION into $VENV"
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
    fi
    CHECKOV=$VENV/bin/checkov
    # Offline: no platform key, no policy download, no PyPI update check.
    unset BC_API_KEY BC_API_URL PRISMA_API_URL || true
    export CKV_SKIP_PACKAGE_UPDATE_CHECK=true
fi

if [ "$DO_MLGUARD" = 1 ]; then
    say "cargo build --release -p mlguard"
    cargo build --release -p mlguard >&2
    [ -x "$MLGUARD" ] || { say "no binary at $MLGUARD"; exit 2; }
fi

if [ "$DO_PLATFORM" = 1 ]; then
    python3 "$HERE/gen_platform.py" "$PLATFORM" --namespaces "$NAMESPACES"
fi

RESULTS=$WORK/results.tsv
: >"$RESULTS"

# run TOOL INPUT_LABEL TIMEOUT STDOUT REPORT CMD...: one timed run; appends a line
# "tool input wall_s max_rss_kib status" to $RESULTS. Exit codes 0 and 1 (findings) and, for
# mlguard, 2 (some inputs invalid: the corpus holds template files that are not YAML) count as a
# completed scan when the report is valid JSON. Max RSS is that of the largest process.
run() {
    local tool=$1 input=$2 limit=$3 stdout=$4 report=$5
    shift 5
    local tfile=$WORK/time.txt start end rc=0
    rm -f "$report" "$tfile"
    start=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$tfile" timeout "$limit" "$@" >"$stdout" 2>"$WORK/stderr.txt" || rc=$?
    end=$(date +%s.%N)
    local wall rss status
    wall=$(python3 -c "print(f'{$end - $start:.3f}')")
    rss=$(tail -n1 "$tfile" 2>/dev/null || true)
    case $rss in '' | *[!0-9]*) rss=0 ;; esac
    case $rc in
        124) status=timeout ;;
        0 | 1 | 2)
            if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$report" 2>/dev/null; then
                status=ok
            else
                status="bad-output(rc=$rc)"
            fi
            ;;
        *) status="failed(rc=$rc)" ;;
    esac
    if [ "$status" != ok ] && [ "$status" != timeout ]; then
        say "$tool on $input: $status; stderr:"
        tail -n 20 "$WORK/stderr.txt" >&2
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$tool" "$input" "$wall" "$rss" "$status" >>"$RESULTS"
    say "  $tool $input: ${wall}s, max RSS $((rss / 1024)) MiB, $status"
    [ "$status" = ok ]
}

# warmup CMD...: one untimed run, so the first timed run does not pay for a cold page cache
# (and for checkov, Python's first-import bytecode compilation).
warmup() {
    timeout 600 "$@" >/dev/null 2>&1 || true
}

bench_input() {
    local label=$1 dir=$2 warm_checkov=$3 i last
    if [ "$DO_MLGUARD" = 1 ]; then
        say "mlguard scan $label (1 warm-up run, then $RUNS runs)"
        warmup "$MLGUARD" scan "$dir" --format json -o "$WORK/mlguard.json"
        for ((i = 0; i < RUNS; i++)); do
            run mlguard "$label" 600 /dev/null "$WORK/mlguard.json" \
                "$MLGUARD" scan "$dir" --format json -o "$WORK/mlguard.json" || break
        done
    fi
    if [ "$DO_CHECKOV" = 1 ]; then
        local ckv=("$CHECKOV" -d "$dir" --framework kubernetes --quiet --compact -o json
            --skip-download --skip-results-upload)
        if [ "$warm_checkov" = 1 ]; then
            say "checkov -d $label (1 warm-up run, then $RUNS runs)"
            warmup "${ckv[@]}"
        else
            say "checkov -d $label (no warm-up; $RUNS runs, one if it takes over 120 s; limit ${CHECKOV_TIMEOUT}s)"
        fi
        for ((i = 0; i < RUNS; i++)); do
            run checkov "$label" "$CHECKOV_TIMEOUT" "$WORK/checkov.json" "$WORK/checkov.json" \
                "${ckv[@]}" || break
            last=$(tail -n1 "$RESULTS" | cut -f3)
            python3 -c "import sys; sys.exit(0 if $last < 120 else 1)" || break
        done
    fi
}

bench_input corpus "$CORPUS" 1
if [ "$DO_PLATFORM" = 1 ]; then
    bench_input platform "$PLATFORM" 0
fi

python3 - "$RESULTS" "$CORPUS" "$PLATFORM" "$CHECKOV_TIMEOUT" "$NAMESPACES" <<'PY'
import os, statistics, sys
results, corpus, platform, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
namespaces = int(sys.argv[5])
rows = [l.rstrip("\n").split("\t") for l in open(results) if l.strip()]
def stats(tool, inp):
    r = [x for x in rows if x[0] == tool and x[1] == inp]
    if not r:
        return None
    if any(x[4] == "timeout" for x in r):
        return ("timeout", max(int(x[3]) for x in r) / 1024, len(r))
    ok = [x for x in r if x[4] == "ok"]
    if not ok:
        return ("failed", None, len(r))
    return (statistics.median(float(x[2]) for x in ok), max(int(x[3]) for x in ok) / 1024, len(ok))
def count_files(d):
    return sum(1 for _, _, fs in os.walk(d) for f in fs if f.endswith((".yaml", ".yml", ".json")))
inputs = [("corpus", f"{count_files(corpus)} files")]
if os.path.isdir(platform):
    inputs.append(("platform", f"{namespaces * 100:,} objects"))
def t(s):
    if s is None: return "-"
    if s[0] == "timeout": return f"> {limit} s"
    if s[0] == "failed": return "failed"
    return (f"{s[0]:.3f} s" if s[0] < 1 else f"{s[0]:.2f} s") + ("" if s[2] > 1 else " (1 run)")
def mem(s):
    if s is None or s[1] is None:
        return "-"
    return (">= " if s[0] == "timeout" else "") + f"{s[1]:.0f} MiB"
hdr = ["input", "size", "mlguard wall", "mlguard max RSS", "checkov wall", "checkov max RSS*", "checkov/mlguard"]
out = [hdr]
for inp, size in inputs:
    m, c = stats("mlguard", inp), stats("checkov", inp)
    if m and c and not isinstance(m[0], str) and not isinstance(c[0], str):
        ratio = f"{c[0] / m[0]:.1f}x"
    elif m and c and c[0] == "timeout" and not isinstance(m[0], str):
        ratio = f"> {limit / m[0]:.0f}x"
    else:
        ratio = "-"
    out.append([inp, size, t(m), mem(m), t(c), mem(c), ratio])
w = [max(len(r[i]) for r in out) for i in range(len(hdr))]
print()
print(f"median wall time over the runs, on {os.cpu_count()} cores; max RSS over the runs (*largest single process)")
for j, r in enumerate(out):
    print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
    if j == 0:
        print("  ".join("-" * x for x in w))
PY
