#!/usr/bin/env bash
# mlguard report render over a large scan: a findings JSON of --findings N findings (default
# 100,000: the example platform's findings repeated over N/97 synthetic teams, each at its own
# file and line), with a connectivity section of 5,000 edges, GPU quotas for 1,000 teams and the
# example's audit coverage. Times `mlguard report render` (release build, best of --rounds,
# peak RSS from wait4) and `mlguard report pack`, and prints the figures against the targets.
#
# Targets (issue 11): render in under 2 s, the page under 20 MB (aggregated: counts per control
# and clause, at most 50 evidence objects per clause).
#
# Usage: bench/report.sh [--findings 100000] [--rounds 3] [--work DIR] [--bin PATH]
#   --bin PATH: time this mlguard binary instead of building target/release/mlguard
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
N=100000
ROUNDS=3
WORK=${TMPDIR:-/tmp}/mlguard-bench-report
BIN=
while [ $# -gt 0 ]; do
    case $1 in
        --findings) N=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        -h|--help) sed -n "2,12p" "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$BIN" ]; then
    cargo build --release -q -p mlguard
    BIN=$ROOT/target/release/mlguard
fi
mkdir -p "$WORK"
"$BIN" scan examples/platform --format json -o "$WORK/example.json" --fail-on none --quiet

python3 - "$BIN" "$WORK" "$N" "$ROUNDS" <<'EOF'
import json, os, subprocess, sys, time

bin_, work, n, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ex = json.load(open(os.path.join(work, "example.json")))
base = ex["findings"]
findings = []
team = 0
while len(findings) < n:
    for f in base:
        if len(findings) >= n:
            break
        g = json.loads(json.dumps(f))
        ns = g["resource"].get("namespace")
        if ns:
            g["resource"]["namespace"] = f"{ns}-{team}"
        g["resource"]["name"] = f'{g["resource"]["name"]}-{team}'
        g["location"]["file"] = f'teams/{team}/{g["location"]["file"].rsplit("/", 1)[-1]}'
        g["location"]["line"] += team % 500
        g["message"] = f'{g["message"]} (team {team})'
        findings.append(g)
    team += 1
ex["findings"] = findings
for c in ex["summary"]["controls"]:
    c["findings"] = sum(1 for f in findings if f["control"] == c["id"])
ex["inputs"] = [{"file": f"teams/{t}/manifests.yaml", "sha256": "%064x" % t} for t in range(team)]
ex["context"]["connectivity"] = [
    {"src": f"team-{i % 50}/trainer-{i}[Deployment]", "dst": f"team-{(i * 7) % 50}/serve-{i % 13}[InferenceService]",
     "conn": "TCP 8080" if i % 3 else "All Connections"}
    for i in range(5000)
]
ex["context"]["quotas"] = {f"team-{t}": {"requests.nvidia.com/gpu": str(t % 16 + 1), "limits.nvidia.com/gpu": str(t % 16 + 1), "pods": "100"} for t in range(1000)}
big = os.path.join(work, f"findings-{n}.json")
with open(big, "w") as fh:
    json.dump(ex, fh)
print(f"input: {big}: {len(findings)} findings, {os.path.getsize(big) / 1e6:.1f} MB")

def run(args):
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    err = p.stderr.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(args)} exited {code}: {err}")
    return dt, ru.ru_maxrss * 1024

out = os.path.join(work, "report.html")
best, rss = None, 0
for _ in range(rounds):
    dt, r = run([bin_, "report", "render", big, "-o", out])
    best = dt if best is None else min(best, dt)
    rss = max(rss, r)
size = os.path.getsize(out)
print(f"mlguard report render: best of {rounds}: {best:.3f} s (target < 2 s: {'OK' if best < 2 else 'MISSED'}), "
      f"page {size / 1e6:.2f} MB (target < 20 MB: {'OK' if size < 20e6 else 'MISSED'}), peak RSS {rss / 1e6:.0f} MB")

keys = os.path.join(work, "keys")
if not os.path.exists(os.path.join(keys, "bench.key")):
    subprocess.run([bin_, "report", "keygen", "-o", keys, "--name", "bench"], check=True, stderr=subprocess.DEVNULL)
pack = os.path.join(work, "evidence.zip")
dt, r = run([bin_, "report", "pack", big, "-o", pack, "--key", os.path.join(keys, "bench.key")])
print(f"mlguard report pack: {dt:.3f} s, {os.path.getsize(pack) / 1e6:.1f} MB, peak RSS {r / 1e6:.0f} MB")
dt, r = run([bin_, "report", "verify", pack, "--key", os.path.join(keys, "bench.pub"), "--quiet"])
print(f"mlguard report verify: {dt:.3f} s, peak RSS {r / 1e6:.0f} MB")
EOF
