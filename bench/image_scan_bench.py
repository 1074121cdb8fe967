"""Driver of bench/image-scan.sh: runs, in one run and in rotating order for ROUNDS rounds,
  tar     `tar -tzf` over every layer blob, one after the other (the limit: reading and
          decompressing every layer once, keeping nothing);
  inflate zlib (C, through Python) inflating every layer blob, one after the other, keeping
          nothing: the floor of one core's decompression, below GNU gzip's (which tar runs);
  trivy   `trivy image --input OCI --format cyclonedx --skip-db-update --offline-scan` (the
          package listing; no vulnerability database offline), a fresh cache folder each run
          (trivy caches layer analyses by diff ID: a reused cache would skip the work);
  mlguard `mlguard image scan OCI --format json --db DB` (inventory and matching);
each under /usr/bin/time -v (wall time, CPU time, maximum resident set size). Prints a table of
medians, the ratios trivy/mlguard, mlguard/tar and mlguard/inflate, and whether the targets hold
(mlguard >= 3x faster than trivy; mlguard's maximum RSS < 500 MiB).

Usage: image_scan_bench.py MLGUARD TRIVY OCI_DIR DB_DIR WORK_DIR ROUNDS
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

mlguard, trivy, oci, dbdir, work, rounds = sys.argv[1:6] + [int(sys.argv[6])]
os.makedirs(work, exist_ok=True)


def blob(d):
    return os.path.join(oci, "blobs", "sha256", d.split(":", 1)[1])


with open(os.path.join(oci, "index.json")) as f:
    index = json.load(f)
with open(blob(index["manifests"][0]["digest"])) as f:
    manifest = json.load(f)
layers = [blob(l["digest"]) for l in manifest["layers"]]
size = sum(os.path.getsize(l) for l in layers)


def timed(name, cmd, env=None):
    """Run cmd under /usr/bin/time -v: (seconds, max RSS in KiB)."""
    tf = os.path.join(work, f"time-{name}.txt")
    r = subprocess.run(["/usr/bin/time", "-v", "-o", tf, *cmd], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # mlguard exits 1 when it finds vulnerabilities at or above --fail-on: that is a result.
    ok = {0, 1} if name == "mlguard" else {0}
    if r.returncode not in ok:
        sys.exit(f"{name} failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-3000:]}")
    wall = rss = None
    cpu = 0.0
    for line in open(tf):
        line = line.strip()
        if line.startswith(("User time", "System time")):
            cpu += float(line.rsplit(" ", 1)[1])
        elif line.startswith("Elapsed (wall clock) time"):
            t = line.rsplit(" ", 1)[1].split(":")
            wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(t)))
        elif line.startswith("Maximum resident set size"):
            rss = int(line.rsplit(" ", 1)[1])
    return wall, cpu, rss


def run_tar():
    script = 'for f in "$@"; do tar -tzf "$f" > /dev/null || exit 1; done'
    return timed("tar", ["sh", "-c", script, "sh", *layers])


INFLATE = """import sys, zlib
for p in sys.argv[1:]:
    d = zlib.decompressobj(31)
    with open(p, 'rb') as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            d.decompress(b)
    assert d.eof, p
"""


def run_inflate():
    return timed("inflate", [sys.executable, "-c", INFLATE, *layers])


trivy_out = os.path.join(work, "trivy.cdx.json")
mlguard_out = os.path.join(work, "mlguard.json")


def run_trivy():
    cache = tempfile.mkdtemp(prefix="trivy-cache-", dir=work)
    env = dict(os.environ, TRIVY_CACHE_DIR=cache)
    try:
        return timed("trivy", [trivy, "image", "--input", oci, "--format", "cyclonedx",
                               "--skip-db-update", "--offline-scan", "--quiet", "--output", trivy_out], env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def run_mlguard():
    return timed("mlguard", [mlguard, "image", "scan", oci, "--quiet", "--format", "json", "--db", dbdir,
                             "--output", mlguard_out])


tools = [("tar -tzf", run_tar), ("inflate", run_inflate), ("trivy", run_trivy), ("mlguard", run_mlguard)]
# Warm the page cache: every tool reads the image from memory, none pays the first read.
for l in layers:
    with open(l, "rb") as f:
        while f.read(1 << 24):
            pass
results = {name: [] for name, _ in tools}
for r in range(rounds):
    order = tools[r % len(tools):] + tools[: r % len(tools)]
    for name, fn in order:
        wall, cpu, rss = fn()
        results[name].append((wall, cpu, rss))
        print(f"round {r + 1}: {name:9} {wall:7.1f} s  (CPU {cpu:6.1f} s)  {rss / 1024:7.0f} MiB",
              file=sys.stderr, flush=True)

def count(keys):
    c = {}
    for k in keys:
        c[k] = c.get(k, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(c.items(), key=lambda x: -x[1]))


with open(trivy_out) as f:
    comps = json.load(f).get("components", [])
trivy_pkgs = f"{len(comps)} ({count(c.get('purl', 'pkg:none/').split('/')[0][4:] for c in comps)})"
with open(mlguard_out) as f:
    m = json.load(f)
mlguard_pkgs = f"{len(m['packages'])} ({count(p['ecosystem'].split(':')[0] for p in m['packages'])})"
print()
print(f"image: {oci}: {len(layers)} layers, {size / (1 << 30):.2f} GiB as stored (gzip); "
      f"{rounds} rounds, medians; CPUs: {os.cpu_count()}")
print(f"trivy components: {trivy_pkgs}")
print(f"mlguard packages: {mlguard_pkgs}; {len(m['findings'])} findings")
print()
print(f"| {'tool':9} | {'wall s':>7} | {'CPU s':>7} | {'MiB/s':>7} | {'max RSS MiB':>11} |")
print(f"|{'-' * 11}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 13}|")
med = {}
for name, _ in tools:
    wall = statistics.median(w for w, _, _ in results[name])
    cpu = statistics.median(c for _, c, _ in results[name])
    rss = statistics.median(r for _, _, r in results[name]) / 1024
    med[name] = (wall, rss)
    print(f"| {name:9} | {wall:7.1f} | {cpu:7.1f} | {size / (1 << 20) / wall:7.0f} | {rss:11.0f} |")
print()
t_ml = med["mlguard"][0]
speedup = med["trivy"][0] / t_ml
print(f"trivy/mlguard (time): {speedup:.2f}x   mlguard/tar (time): {t_ml / med['tar -tzf'][0]:.2f}x   "
      f"mlguard/inflate (time): {t_ml / med['inflate'][0]:.2f}x")
rss_max = max(r for _, _, r in results["mlguard"]) / 1024
print(f"target mlguard >= 3x faster than trivy: {'met' if speedup >= 3 else 'NOT met'} ({speedup:.2f}x)")
print(f"target mlguard max RSS < 500 MiB: {'met' if rss_max < 500 else 'NOT met'} (max {rss_max:.0f} MiB)")
