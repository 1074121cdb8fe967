#!/usr/bin/env bash
# mlguard audit policy estimate, against the machine's limit for reading the same file, in one
# run: `cat FILE > /dev/null` (page cache warm) and `mlguard audit policy estimate`, interleaved,
# median of RUNS runs each. Prints MB/s for both and the ratio mlguard/cat.
#   (a) the shared audit corpus (${SHARED:-../shared}/corpus/audit/audit2rbac-demo.log), and
#   (b) a generated log of SIZE_MB megabytes (default 1074, i.e. 1 GiB) of audit.k8s.io/v1
#       Events over one day, replayed through the 100-rule policy of the `audit` bench
#       (`cargo bench -p mlguard-audit --bench audit -- --write-log PATH MB`).
#
# Usage: bench/audit-estimate.sh [--runs N] [--size-mb MB]
# Env:   SHARED (default ../shared), TMPDIR (the log goes there; it is deleted at the end
#        unless KEEP_LOG=1).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
RUNS=3
SIZE_MB=1074
while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --size-mb) SIZE_MB=$2; shift 2 ;;
        -h|--help) sed -n "2,13p" "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
SHARED=${SHARED:-$ROOT/../shared}
WORK=${TMPDIR:-/tmp}/mlguard-audit-bench
mkdir -p "$WORK"
cargo build --release -q -p mlguard
BIN=$ROOT/target/release/mlguard
LOG=$WORK/audit.log
cargo bench -q -p mlguard-audit --bench audit -- --write-log "$LOG" "$SIZE_MB"
CORPUS=$SHARED/corpus/audit/audit2rbac-demo.log

python3 - "$BIN" "$RUNS" "$CORPUS" "$ROOT/examples/platform/cluster/audit-policy.yaml" "$LOG" "$LOG.policy.yaml" <<'PY'
import os, statistics, subprocess, sys, time
binary, runs = sys.argv[1], int(sys.argv[2])
cases = [("corpus", sys.argv[3], sys.argv[4]), ("generated", sys.argv[5], sys.argv[6])]

def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode()[:500]}")
    return dt

print(f"{'input':<10} {'size':>12} {'cat':>9} {'cat MB/s':>9} {'mlguard':>9} {'mlguard MB/s':>12} {'mlguard/cat':>11}")
for name, log, policy in cases:
    size = os.path.getsize(log)
    cat = ["sh", "-c", f"cat '{log}' > /dev/null"]
    est = [binary, "audit", "policy", "estimate", policy, "--estimate", log, "-q", "-o", "/dev/null"]
    timed(cat)  # warm the page cache
    timed(est)
    c, m = [], []
    for _ in range(runs):
        c.append(timed(cat))
        m.append(timed(est))
    c, m = statistics.median(c), statistics.median(m)
    print(f"{name:<10} {size/1e6:>9.1f} MB {c:>8.3f}s {size/1e6/c:>9.0f} {m:>8.3f}s {size/1e6/m:>12.0f} {m/c:>10.1f}x")
PY
[ "${KEEP_LOG:-0}" = 1 ] || rm -f "$LOG" "$LOG.policy.yaml"
