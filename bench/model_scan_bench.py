"""Driver of bench/model-scan.sh: builds the inputs, runs mlguard, picklescan and modelscan on
them in one run (interleaved, best of ROUNDS per tool), and prints times, ratios, peak RSS and
the detection counts of each tool on the shared picklescan corpus.

Usage: model_scan_bench.py MLGUARD PEER_VENV WORK_DIR ROUNDS SIZE_MIB"""

import collections
import io
import os
import pickle
import resource
import subprocess
import sys
import time
import types
import zipfile

mlguard, venv, work, rounds, size_mib = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
here = os.path.dirname(os.path.abspath(__file__))
corpus = os.path.normpath(os.path.join(here, "..", "..", "shared", "corpus", "pickles", "picklescan", "tests"))
os.makedirs(work, exist_ok=True)


# --- Inputs: a PyTorch-format checkpoint of SIZE_MIB, and a folder of 100 model files ----------
def _rebuild_tensor_v2(*a):
    pass


class FloatStorage:
    pass


for name in ("torch", "torch._utils"):
    sys.modules[name] = types.ModuleType(name)
sys.modules["torch"]._utils = sys.modules["torch._utils"]
sys.modules["torch._utils"]._rebuild_tensor_v2 = _rebuild_tensor_v2
_rebuild_tensor_v2.__module__ = "torch._utils"
sys.modules["torch"].FloatStorage = FloatStorage
FloatStorage.__module__ = "torch"


class P:
    def __init__(self, pid):
        self.pid = pid


class T:
    def __init__(self, key, n):
        self.key, self.n = key, n

    def __reduce_ex__(self, proto):
        return (_rebuild_tensor_v2, (P(("storage", FloatStorage, self.key, "cpu", self.n)), 0, (self.n,), (1,), False, collections.OrderedDict()))


class Pk(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, P) else None


def checkpoint(path, total_bytes, tensors):
    per = total_bytes // tensors
    sd = collections.OrderedDict((f"layers.{i}.weight", T(str(i), per // 4)) for i in range(tensors))
    buf = io.BytesIO()
    Pk(buf, protocol=2).dump(sd)
    chunk = os.urandom(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        for i in range(tensors):
            with z.open(f"archive/data/{i}", "w", force_zip64=True) as f:
                left = per
                while left > 0:
                    f.write(chunk[: min(left, len(chunk))])
                    left -= len(chunk)
        z.writestr("archive/version", "3\n")


big = os.path.join(work, "checkpoint.pt")
if not os.path.exists(big) or os.path.getsize(big) < size_mib << 20:
    checkpoint(big, size_mib << 20, 256)
folder = os.path.join(work, "folder")
if not os.path.isdir(folder):
    os.makedirs(folder)
    for i in range(100):
        checkpoint(os.path.join(folder, f"model_{i:03}.pt"), 1 << 20, 16)


# --- Timing ------------------------------------------------------------------------------------
def run(cmd):
    """Wall time, peak RSS (KiB) of the child, exit code."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


bindir = os.path.join(venv, "bin")
tools = {
    "mlguard": lambda p: [mlguard, "model", "scan", p, "--quiet", "--fail-on", "none"],
    "picklescan": lambda p: [os.path.join(bindir, "picklescan"), "-p", p],
    "modelscan": lambda p: [os.path.join(bindir, "modelscan"), "-p", p],
}
results = {}
for label, target in (("checkpoint", big), ("folder", folder)):
    best = {t: (float("inf"), 0) for t in tools}
    for _ in range(rounds):
        for t, cmd in tools.items():
            secs, rss, _ = run(cmd(target))
            if secs < best[t][0]:
                best[t] = (secs, max(rss, best[t][1]))
            else:
                best[t] = (best[t][0], max(rss, best[t][1]))
    results[label] = best

size = os.path.getsize(big)
print(f"inputs: {big} ({size / 2**30:.2f} GiB, 256 tensor records), {folder} (100 checkpoints of 1 MiB)")
print(f"best of {rounds} interleaved rounds; peak RSS is the largest seen")
print()
print(f"{'input':<11} {'tool':<11} {'seconds':>9} {'peak RSS':>10} {'mlguard faster by':>18}")
for label, best in results.items():
    m = best["mlguard"][0]
    for t, (secs, rss) in best.items():
        ratio = "" if t == "mlguard" else f"{secs / m:.1f}x"
        print(f"{label:<11} {t:<11} {secs:>9.3f} {rss / 1024:>8.1f} MiB {ratio:>18}")
print()
ck = results["checkpoint"]
faster_peer = min(ck["picklescan"][0], ck["modelscan"][0])
ratio = faster_peer / ck["mlguard"][0]
rss_mib = ck["mlguard"][1] / 1024
print(f"checkpoint: mlguard is {ratio:.1f}x faster than the faster peer (target >= 20x): {'MET' if ratio >= 20 else 'NOT MET'}")
print(f"checkpoint: mlguard peak RSS {rss_mib:.1f} MiB (target < 100 MiB): {'MET' if rss_mib < 100 else 'NOT MET'}")

# --- Detection on the shared corpus -----------------------------------------------------------
if not os.path.isdir(corpus):
    print(f"\n(no shared corpus at {corpus}: detection counts skipped)")
    sys.exit(0)
should, benign = [], []
for sub in ("data", "data2"):
    for n in sorted(os.listdir(os.path.join(corpus, sub))):
        p = os.path.join(corpus, sub, n)
        if n.startswith(("malicious", "GHSA-")) or n in ("pytorch_magic_bypass.pt", "sys_module_override_sploit.pkl"):
            should.append(p)
        elif n.startswith("benign0_") or n in ("pytorch_model.bin", "new_pytorch_model.bin"):
            benign.append(p)


def flagged(tool, path):
    """Did the tool report a problem with the file (exit code 1)? Errors (other codes) are not
    detections."""
    _, _, rc = run(tools[tool](path) if tool != "mlguard" else [mlguard, "model", "scan", path, "--quiet"])
    return rc == 1


print()
print(f"detection on the shared corpus (picklescan's samples, MIT): {len(should)} malicious or advisory samples, {len(benign)} benign")
print(f"{'tool':<11} {'malicious flagged':>18} {'benign flagged':>15}")
for t in tools:
    hit = sum(flagged(t, p) for p in should)
    fp = sum(flagged(t, p) for p in benign)
    print(f"{t:<11} {hit:>12}/{len(should):<5} {fp:>9}/{len(benign):<5}")
