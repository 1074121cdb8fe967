#!/usr/bin/env bash
# What a webhook request costs in CPU against how long its serving thread was idle before it:
# the measurement behind docs/webhook.md's "Why a decision's cost varies: cold caches".
#
# Builds this commit with bench/webhook-idle.patch applied (in a temporary git worktree; the
# patch times each /validate request in the handler with the thread's CPU clock and the wall
# clock, and notes the thread's idle time before it and the CPU time of decoding and
# deciding), serves the benchmark's context
# (bench/webhook-inputs.sh) in the default per-core mode, drives it with oha at RATE
# requests/s over CONNS keep-alive connections for DURATION, and prints the CPU per request
# by idle time before it. The instrumented build is a diagnostic: it is never shipped (the
# workspace forbids unsafe code; the patch relaxes that for its one clock call).
#
# Usage: bench/webhook-idle.sh [--body pytorchjob|pod|isvc] [--rate 2000] [--connections 16]
#                              [--duration 12s] [--skip 2000]
# Needs: git, cargo, oha (`cargo install oha --locked`), python3, openssl. Takes a non-LTO
# release build (about 5 minutes the first time; the build folder is kept in
# target/webhook-idle for the next run).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
BODY=pytorchjob
RATE=2000
CONNS=16
DURATION=12s
SKIP=2000
while [ $# -gt 0 ]; do
    case $1 in
        --body) BODY=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        --connections) CONNS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --skip) SKIP=$2; shift 2 ;;
        -h|--help) sed -n "2,18p" "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
case $BODY in pod|pytorchjob|isvc) ;; *) echo "--body is pod, pytorchjob or isvc: $BODY" >&2; exit 2 ;; esac
command -v oha >/dev/null || { echo "oha not found: cargo install oha --locked" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlguard-webhook-idle.XXXXXX")
TREE=$WORK/tree
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    git worktree remove --force "$TREE" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
git worktree add -q --detach "$TREE" HEAD
git -C "$TREE" apply "$ROOT/bench/webhook-idle.patch" \
    || { echo "bench/webhook-idle.patch no longer applies to this commit's webhook.rs" >&2; exit 2; }
echo "building the instrumented server (non-LTO release, target/webhook-idle)" >&2
(cd "$TREE" && CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo build --release -q -p mlguard --bin mlguard --target-dir "$ROOT/target/webhook-idle")
MLG=$ROOT/target/webhook-idle/release/mlguard
bench/webhook-inputs.sh "$WORK" "$MLG" 0 >/dev/null
OUT=$WORK/rows.txt
MLGUARD_IDLE_OUT=$OUT MLGUARD_WEBHOOK_THREADS=per-core "$MLG" webhook serve --listen 127.0.0.1:18496 \
    --tls-cert "$WORK/certs/tls.crt" --tls-key "$WORK/certs/tls.key" --context-dir "$WORK/context.yaml" \
    2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do
    curl -s --cacert "$WORK/certs/ca.crt" https://localhost:18496/healthz >/dev/null && break
    sleep 0.1
done
oha -q "$RATE" -z "$DURATION" -c "$CONNS" --no-tui --output-format quiet --cacert "$WORK/certs/ca.crt" \
    -m POST -H 'content-type: application/json' -D "$WORK/$BODY.json" https://localhost:18496/validate >/dev/null 2>&1
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
echo "$BODY at $RATE requests/s over $CONNS connections for $DURATION, per-core; instrumented non-LTO build of $(git rev-parse --short HEAD)"
python3 - "$OUT" "$SKIP" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
rows = rows[int(sys.argv[2]):]
if not rows:
    sys.exit("no requests recorded (fewer than 1,000 a thread? raise --duration)")
def pct(a, q):
    return a[min(len(a) - 1, int(q * len(a)))] / 1000
wall = sorted(r[0] for r in rows)
cpu = sorted(r[1] for r in rows)
print(f"{len(rows)} requests (the first {sys.argv[2]} left out); handler time, decode to answer bytes:")
for q in (0.5, 0.9, 0.99):
    print(f"  p{q * 100:g}: cpu {pct(cpu, q):7.1f} us, wall {pct(wall, q):7.1f} us")
print("CPU per request by the serving thread's idle time before it (p50 of each part: decoding")
print("the review, the decision, the rest: metrics, answer, bookkeeping):")
print(f"  {'idle':>16} {'requests':>9} {'p50 us':>8} {'p90 us':>8} {'p99 us':>8} {'decode':>7} {'decide':>7} {'rest':>6}")
for lo, hi in ((0, 20), (20, 100), (100, 300), (300, 700), (700, 1500), (1500, None)):
    sel = [r for r in rows if r[2] > 0 and r[2] >= lo * 1000 and (hi is None or r[2] < hi * 1000)]
    if sel:
        cs = sorted(r[1] for r in sel)
        dec = sorted(r[3] for r in sel)
        dcd = sorted(r[4] for r in sel)
        rest = sorted(r[1] - r[3] - r[4] for r in sel)
        span = f"{lo}-{hi} us" if hi else f"over {lo} us"
        print(f"  {span:>16} {len(cs):9d} {pct(cs, .5):8.1f} {pct(cs, .9):8.1f} {pct(cs, .99):8.1f}"
              f" {pct(dec, .5):7.1f} {pct(dcd, .5):7.1f} {pct(rest, .5):6.1f}")
PY
