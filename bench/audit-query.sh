#!/usr/bin/env bash
# mlguard audit query --model over a large trail, SQLite and PostgreSQL: the benchmark
# crates/mlguard-audit/benches/store_query.rs bulk-loads RECORDS realistic records (about 1,000
# models, ten years of event times; 100,000 records per transaction, COPY for PostgreSQL) into
# each store through the store's own append, then times `query --model` (the indexed query and
# the decoding of every matching record) for 20 models: p50, p99 and max against the 200 ms
# target of issue 10.
#
# Usage: bench/audit-query.sh [--records N] [--no-postgres]
# Env:   MLGUARD_BENCH_POSTGRES=postgres://... uses that server; otherwise a throwaway server
#        is started with scripts/pg-test-server (when PostgreSQL is installed).
#        MLGUARD_BENCH_DIR: where the SQLite file goes (default target/store-bench; a store
#        that already holds RECORDS records is reused). 10,000,000 records take about 12 GB per
#        store and 15-30 minutes per store to load on 2 cores.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
RECORDS=10000000
POSTGRES=1
while [ $# -gt 0 ]; do
    case $1 in
        --records) RECORDS=$2; shift 2 ;;
        --no-postgres) POSTGRES=0; shift ;;
        -h|--help) sed -n "2,14p" "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlguard-query-bench.XXXXXX")
PG_DIR=$WORK/pg
cleanup() {
    [ -d "$PG_DIR" ] && "$ROOT/scripts/pg-test-server" stop "$PG_DIR" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

BACKENDS=sqlite
if [ "$POSTGRES" = 1 ]; then
    if [ -z "${MLGUARD_BENCH_POSTGRES:-}" ]; then
        if MLGUARD_BENCH_POSTGRES=$("$ROOT/scripts/pg-test-server" start "$PG_DIR" 55440 2>"$WORK/pg.log"); then
            export MLGUARD_BENCH_POSTGRES
        else
            echo "PostgreSQL not benchmarked: $(tail -1 "$WORK/pg.log")" >&2
        fi
    fi
    [ -n "${MLGUARD_BENCH_POSTGRES:-}" ] && BACKENDS=sqlite,postgres
fi
MLGUARD_BENCH_RECORDS=$RECORDS MLGUARD_BENCH_BACKENDS=$BACKENDS \
    cargo bench -p mlguard-audit --bench store_query
