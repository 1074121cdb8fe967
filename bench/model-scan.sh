#!/usr/bin/env bash
# mlguard model scan vs picklescan and modelscan (PyPI, in a throwaway venv), in one run:
# a PyTorch-format checkpoint (zip with data.pkl and 256 tensor records, --size-mib, default
# 1024) and a folder of 100 small checkpoints, each tool run ROUNDS times interleaved, best time
# kept; peak RSS from wait4. Then each tool's detection count on the shared picklescan corpus
# (../shared/corpus/pickles/picklescan/tests), file by file, with the exit code as the verdict.
#
# Targets (issue 8): >= 20x faster than the faster peer on the checkpoint (tensor records are
# skipped, not read); mlguard's peak RSS < 100 MiB.
#
# Usage: bench/model-scan.sh [--size-mib 1024] [--rounds 3] [--work DIR]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
SIZE_MIB=1024
ROUNDS=3
WORK=${TMPDIR:-/tmp}/mlguard-bench-model-scan
while [ $# -gt 0 ]; do
    case $1 in
        --size-mib) SIZE_MIB=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        -h|--help) sed -n "2,12p" "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
cargo build --release -q -p mlguard
VENV=$WORK/peers-venv
if [ ! -x "$VENV/bin/modelscan" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q picklescan==1.0.5 modelscan==0.8.8
fi
echo "peers: $("$VENV/bin/pip" list 2>/dev/null | grep -iE '^(picklescan|modelscan) ' | tr -s ' ' | tr '\n' ' ')"
"$VENV/bin/python" "$HERE/model_scan_bench.py" "$ROOT/target/release/mlguard" "$VENV" "$WORK" "$ROUNDS" "$SIZE_MIB"
