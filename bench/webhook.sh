#!/usr/bin/env bash
# mlguard webhook vs a no-op HTTPS server, in one run, under the same fixed-rate load.
#
# Both servers use the same TLS and HTTP stack (rustls, hyper, axum); the no-op one
# (crates/mlguard-server/examples/noop_webhook.rs) answers "allowed" without decoding. The
# webhook runs every control with the context `--in-cluster` would keep for a cluster running
# the example platform (examples/platform: its namespaces, policies, quotas, RBAC, services).
# oha (crates.io; `cargo install oha --locked`) sends AdmissionReviews at RATE requests/s over
# CONNS keep-alive HTTPS connections, with latency correction (coordinated omission), for three
# realistic objects (a training Pod, a PyTorchJob, an InferenceService), after a one-second
# warm-up of each. Measurement: ROUNDS rounds of DURATION per object and server, webhook and
# baseline alternating (order swapped every round, so a slow spell of the machine falls on
# both); every request's latency is kept (oha --db-url) and pooled per object and server,
# but for those due in a round's first SETTLE seconds (new connections' TLS handshakes).
# Prints p50, p99, each server's CPU time per request (/proc/PID/stat, user + system) and the
# p99 ratio webhook/baseline.
# Targets (issue 6): p50 < 1 ms, p99 < 5 ms, p99 at most 2x the baseline's.
#
# With --namespaces N the context also holds the watched objects of a generated cluster of N
# more namespaces (bench/gen_platform.py), to see a decision's cost in a larger cluster.
#
# With --calibrate US[,US...] the rounds also drive the no-op server spinning US microseconds
# of CPU per request before answering (rows "spinUS", not judged): the p99 ratio a decision
# of that cost would give on this machine under the same load.
#
# Usage: bench/webhook.sh [--rate N] [--duration 5s] [--rounds 5] [--settle 1] [--connections C]
#                         [--namespaces N] [--compare MLGUARD_BINARY] [--calibrate US,...]
#                         [--pgo] [--pin]
# MLGUARD_BIN=PATH (environment) measures that mlguard binary instead of this tree's build.
# MLGUARD_WEBHOOK_THREADS=pool (environment) serves both the webhook and the baseline with
# decisions on a pool of judging threads (`mlguard webhook serve --threads pool`) instead of
# the default, one single-threaded runtime per core (`--threads per-core`).
# --compare runs a second mlguard build as a third server in the same rounds ("other" rows:
# an A/B of two commits in one run; the targets are judged on this tree's build only).
# --pgo measures the profile-guided builds of both the webhook and the baseline that
# scripts/build-pgo wrote to target/pgo (both servers get the same treatment, so the ratio is
# still the decision's cost; the header names the commit they were built from).
# --pin runs the servers on the last CPU and oha on the others (taskset), as a webhook on its
# own node would be, away from the client's caches and scheduling.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
RATE=2000
DURATION=5s
ROUNDS=5
SETTLE=1
CONNS=16
NAMESPACES=0
COMPARE=
CALIBRATE=
PGO=
PIN=
while [ $# -gt 0 ]; do
    case $1 in
        --rate) RATE=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --settle) SETTLE=$2; shift 2 ;;
        --connections) CONNS=$2; shift 2 ;;
        --namespaces) NAMESPACES=$2; shift 2 ;;
        --compare) COMPARE=$2; shift 2 ;;
        --calibrate) CALIBRATE=$2; shift 2 ;;
        --pgo) PGO=1; shift ;;
        --pin) PIN=1; shift ;;
        -h|--help) sed -n "2,39p" "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
command -v oha >/dev/null || { echo "oha not found: cargo install oha --locked" >&2; exit 2; }
if [ -z "$PGO" ]; then
    cargo build --release -q -p mlguard
    cargo build --release -q -p mlguard-server --example noop_webhook
fi
MLG=${MLGUARD_BIN:-$ROOT/target/release/mlguard}
NOOP=$ROOT/target/release/examples/noop_webhook
BUILD=${MLGUARD_BIN:-"release build of the working tree"}
if [ -n "$PGO" ]; then
    MLG=${MLGUARD_BIN:-$ROOT/target/pgo/release/mlguard}
    NOOP=$ROOT/target/pgo/release/examples/noop_webhook
    [ -x "$MLG" ] && [ -x "$NOOP" ] && [ -f "$ROOT/target/pgo/COMMIT" ] \
        || { echo "no profile-guided build in target/pgo: run scripts/build-pgo" >&2; exit 2; }
    BUILD="profile-guided build of $(tr '\n' ' ' < "$ROOT/target/pgo/COMMIT")(scripts/build-pgo)"
    [ "$(head -1 "$ROOT/target/pgo/COMMIT")" = "$(git rev-parse HEAD)" ] \
        || echo "warning: target/pgo was built from another commit than HEAD" >&2
fi
# The serving mode, given to both servers explicitly: a build from before per-core became the
# default (2026-11-30) would otherwise serve in pool mode under a per-core header.
export MLGUARD_WEBHOOK_THREADS=${MLGUARD_WEBHOOK_THREADS:-per-core}
# Where servers and load run: with --pin, the servers on the last CPU, oha on the others.
SERVE_ON=()
LOAD_ON=()
PLACEMENT="servers and oha share every CPU"
if [ -n "$PIN" ]; then
    last=$(($(nproc) - 1))
    [ "$last" -ge 1 ] || { echo "--pin needs at least 2 CPUs" >&2; exit 2; }
    SERVE_ON=(taskset -c "$last")
    LOAD_ON=(taskset -c "0-$((last - 1))")
    PLACEMENT="servers on CPU $last, oha on CPUs 0-$((last - 1)) (--pin)"
fi
WORK=${TMPDIR:-/tmp}/mlguard-webhook-bench
rm -rf "$WORK"; mkdir -p "$WORK"
bench/webhook-inputs.sh "$WORK" "$MLG" "$NAMESPACES"
"${SERVE_ON[@]}" "$MLG" webhook serve --listen 127.0.0.1:18443 --tls-cert "$WORK/certs/tls.crt" --tls-key "$WORK/certs/tls.key" \
    --context-dir "$WORK/context.yaml" 2>"$WORK/webhook.log" &
WEBHOOK=$!
"${SERVE_ON[@]}" "$NOOP" 127.0.0.1:18444 "$WORK/certs/tls.crt" "$WORK/certs/tls.key" 2>"$WORK/noop.log" &
BASE=$!
OTHER=
SERVERS="webhook:18443:$WEBHOOK baseline:18444:$BASE"
if [ -n "$COMPARE" ]; then
    "${SERVE_ON[@]}" "$COMPARE" webhook serve --listen 127.0.0.1:18445 --tls-cert "$WORK/certs/tls.crt" \
        --tls-key "$WORK/certs/tls.key" --context-dir "$WORK/context.yaml" 2>"$WORK/other.log" &
    OTHER=$!
    SERVERS="$SERVERS other:18445:$OTHER"
fi
EXTRA=${COMPARE:+other}
SPINS=
port=18446
for us in ${CALIBRATE//,/ }; do
    [[ $us =~ ^[0-9]+$ ]] || { echo "--calibrate takes microseconds, e.g. 100,150: $us" >&2; exit 2; }
    "${SERVE_ON[@]}" "$NOOP" 127.0.0.1:$port "$WORK/certs/tls.crt" "$WORK/certs/tls.key" --spin-us "$us" \
        2>"$WORK/spin$us.log" &
    SPINS="$SPINS $!"
    SERVERS="$SERVERS spin$us:$port:$!"
    EXTRA="$EXTRA spin$us"
    port=$((port + 1))
done
trap 'kill $WEBHOOK $BASE $OTHER $SPINS 2>/dev/null || true' EXIT
sleep 1


cpu_ticks() { # pid -> utime+stime in clock ticks
    awk '{print $14+$15}' "/proc/$1/stat"
}

drive() { # body port duration [oha options...]: RATE requests/s of the body over CONNS connections
    local body=$1 port=$2 duration=$3
    shift 3
    "${LOAD_ON[@]}" oha -q "$RATE" -z "$duration" -c "$CONNS" --no-tui --output-format quiet "$@" \
        --cacert "$WORK/certs/ca.crt" -m POST -H 'content-type: application/json' \
        -D "$WORK/$body.json" "https://localhost:$port/validate" >/dev/null 2>&1
}

# One measured round of one body on one server: oha's every request (its start as scheduled,
# i.e. with latency correction, and its end) goes to a SQLite file per (body, server); the
# server's CPU time over the round is added to a file beside it.
round() { # body server port pid
    local before after
    before=$(cpu_ticks "$4")
    drive "$1" "$3" "$DURATION" --latency-correction --db-url "$WORK/$1-$2.db"
    after=$(cpu_ticks "$4")
    echo "$((after - before))" >> "$WORK/$1-$2.cpu"
}

# Warm-up, not measured: one second of each body on both servers (first connections, the
# catalog and each namespace's context index are built on first use).
for body in pod pytorchjob isvc; do
    for s in $SERVERS; do
        IFS=: read -r _ port _ <<< "$s"
        drive "$body" "$port" 1s
    done
done
# Rounds alternate the servers (the order reversed every round), so a slow spell of the
# machine falls on all alike; each side's latencies are then pooled over its rounds.
for r in $(seq "$ROUNDS"); do
    order=$SERVERS
    if [ $((r % 2)) = 0 ]; then
        order=$(tr ' ' '\n' <<< "$SERVERS" | tac | tr '\n' ' ')
    fi
    for body in pod pytorchjob isvc; do
        for s in $order; do
            IFS=: read -r name port pid <<< "$s"
            round "$body" "$name" "$port" "$pid"
        done
    done
done
echo "servers: $BUILD; threads: $MLGUARD_WEBHOOK_THREADS; $PLACEMENT"
python3 - "$WORK" "$(getconf CLK_TCK)" "$ROUNDS" "$DURATION" "$SETTLE" $EXTRA <<'PY'
import sqlite3, sys
work, hz, rounds, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
settle = float(sys.argv[5])
extra = sys.argv[6:]

def pooled(body, server):
    db = sqlite3.connect(f"{work}/{body}-{server}.db")
    # Latency as oha corrects it: from when the request was due to its end. Requests due in
    # a round's first SETTLE seconds (its connections' TLS handshakes) are not counted.
    due = "COALESCE(start_latency_correction, start)"
    lat = sorted(r[0] for r in db.execute(f"SELECT end - {due} FROM oha WHERE {due} >= ?", (settle,)))
    codes = dict(db.execute(f"SELECT status, COUNT(*) FROM oha WHERE {due} >= ? GROUP BY status",
                            (settle,)).fetchall())
    # The CPU time covers every request of the rounds, the first seconds' too.
    (sent,) = db.execute("SELECT COUNT(*) FROM oha").fetchone()
    ticks = sum(int(l) for l in open(f"{work}/{body}-{server}.cpu"))
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    return pct(0.50), pct(0.99), len(lat), codes, ticks / hz / max(1, sent) * 1e6

print(f"{rounds} rounds of {duration} per body and server, alternating; latencies pooled, "
      f"each round's first {settle:g} s not counted")
print(f'{"object":<12} {"server":<9} {"p50 ms":>8} {"p99 ms":>8} {"requests":>9} {"cpu us/req":>10}  status codes')
ok = True
for body in ("pod", "pytorchjob", "isvc"):
    w = pooled(body, "webhook")
    b = pooled(body, "baseline")
    for name, (p50, p99, n, codes, cpu) in (("webhook", w), ("baseline", b)):
        c = ",".join(f"{k}:{v}" for k, v in sorted(codes.items()))
        print(f"{body:<12} {name:<9} {p50:8.3f} {p99:8.3f} {n:9d} {cpu:10.0f}  {c}")
    ratio = w[1] / b[1]
    met = w[0] < 1 and w[1] < 5 and ratio <= 2 and set(w[3]) == {200}
    ok &= met
    print(f"{body:<12} p99 ratio webhook/baseline: {ratio:.2f}x; p50 < 1 ms, p99 < 5 ms, "
          f"ratio <= 2, all 200: {'MET' if met else 'NOT MET'}")
    for name in extra:
        p50, p99, n, codes, cpu = pooled(body, name)
        c = ",".join(f"{k}:{v}" for k, v in sorted(codes.items()))
        what = "--compare build" if name == "other" else "--calibrate"
        print(f"{body:<12} {name:<9} {p50:8.3f} {p99:8.3f} {n:9d} {cpu:10.0f}  {c}")
        print(f"{body:<12} p99 ratio {name}/baseline: {p99 / b[1]:.2f}x ({what}, not judged)")
print("targets: MET" if ok else "targets: NOT MET")
PY
