"""Builder of bench/image-scan.sh's image: an OCI image layout of about SIZE_GIB GiB (gzip
layers, as stored) with 12 layers, written straight into blobs/ (GNU tar and `gzip -1` do the
work; the uncompressed stream is hashed on its way for the config's diff IDs):

  1      Debian base: this machine's /usr/bin and /usr/lib/x86_64-linux-gnu (real ELF files),
         /var/lib/dpkg/status (its real status file), /etc/os-release
  2-5    a real site-packages tree (PACKAGES, e.g. the test venv's, ~40,000 files) under four
         prefixes: /usr/local/lib/python3.11, /opt/conda/lib/python3.11 (with conda-meta/),
         /opt/conda/envs/train/lib/python3.11 and /app/.venv/lib/python3.11
  6-11   CUDA: large incompressible files as its libraries (libcublasLt, libcudnn...) and
         /usr/local/cuda-12.1/version.json; their size makes the image SIZE_GIB
  12     whiteouts (one dist-info of /app/.venv, an opaque folder in envs/train) and a small
         change

Usage: image_scan_build.py OUT_DIR SIZE_GIB PACKAGES
Nothing is done when OUT_DIR/index.json exists (the image is built in OUT_DIR.tmp, renamed at
the end). Build time is not measured; on 2 cores it takes a few minutes.
"""

import concurrent.futures
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

MTIME = 1700000000
LAYER_MT = "application/vnd.oci.image.layer.v1.tar+gzip"
PY = "lib/python3.11/site-packages"
PREFIXES = ["usr/local", "opt/conda", "opt/conda/envs/train", "app/.venv"]
CUDA = "usr/local/cuda-12.1"
CUDA_LIBS = [
    "libcublasLt.so.12.1.3.1", "libcublas.so.12.1.3.1", "libcudnn_cnn_infer.so.8.9.2",
    "libcudnn_adv_infer.so.8.9.2", "libcufft.so.11.0.2.54", "libcusparse.so.12.1.0.106",
    "libnccl.so.2.18.1", "libcusolver.so.11.4.5.107", "libcurand.so.10.3.2.106",
    "libnvrtc.so.12.1.105", "libcudnn_ops_infer.so.8.9.2", "libnvjitlink.so.12.1.105",
]
VERSION_JSON = {
    "cuda": {"name": "CUDA SDK", "version": "12.1.1"},
    "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "12.1.105"},
    "libcublas": {"name": "CUDA cuBLAS", "version": "12.1.3.1"},
    "libcufft": {"name": "CUDA cuFFT", "version": "11.0.2.54"},
}


class Sink:
    """Hash the uncompressed tar (diff ID) and feed it to `gzip -1`, whose output is hashed and
    written to a blob."""

    def __init__(self, blobs):
        self.blobs = blobs
        self.path = os.path.join(blobs, f"tmp-{os.getpid()}-{id(self)}")
        self.out = open(self.path, "wb")
        self.gz = subprocess.Popen(["gzip", "-1", "-c", "-n"], stdin=subprocess.PIPE, stdout=self.out)
        self.diff = hashlib.sha256()

    def write(self, b):
        self.diff.update(b)
        self.gz.stdin.write(b)
        return len(b)

    def close(self):
        self.gz.stdin.close()
        if self.gz.wait() != 0:
            raise RuntimeError("gzip failed")
        self.out.close()
        h = hashlib.sha256()
        with open(self.path, "rb") as f:
            while True:
                b = f.read(1 << 22)
                if not b:
                    break
                h.update(b)
        digest = h.hexdigest()
        os.rename(self.path, os.path.join(self.blobs, digest))
        return {"mediaType": LAYER_MT, "digest": "sha256:" + digest,
                "size": os.path.getsize(os.path.join(self.blobs, digest))}, "sha256:" + self.diff.hexdigest()


def gnu_tar(sink, args):
    """Pipe `tar -cf - ARGS` into the sink (tar exit 1, files changed while read, is fine)."""
    p = subprocess.Popen(["tar", "-cf", "-", "--owner=0", "--group=0", "--numeric-owner",
                          f"--mtime=@{MTIME}", "--sort=name", *args], stdout=subprocess.PIPE)
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        sink.write(b)
    rc = p.wait()
    if rc not in (0, 1):
        raise RuntimeError(f"tar {args}: exit {rc}")


def add_bytes(t, path, data, mode=0o644):
    ti = tarfile.TarInfo(path)
    ti.size, ti.mode, ti.mtime = len(data), mode, MTIME
    t.addfile(ti, io.BytesIO(data))


class Random:
    """Incompressible bytes for gzip: slices of a 64 MiB random pool at moving offsets (deflate
    sees 32 KiB back, so repeats further apart than that do not compress)."""

    pool = None

    def __init__(self, size):
        if Random.pool is None:
            Random.pool = os.urandom(64 << 20)
        self.left, self.pos = size, 0

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        out = bytearray()
        while len(out) < n:
            start = (self.pos * 10_000_019) % (len(self.pool) - (1 << 20))
            k = min(n - len(out), 1 << 20)
            out += self.pool[start:start + k]
            self.pos += 1
        self.left -= n
        return bytes(out)


def layer_base(blobs, work, status):
    stage = os.path.join(work, "base")
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(os.path.join(stage, "etc"))
    os.makedirs(os.path.join(stage, "var/lib/dpkg"))
    shutil.copy(status, os.path.join(stage, "var/lib/dpkg/status"))
    shutil.copy("/etc/os-release", os.path.join(stage, "etc/os-release"))
    with open(os.path.join(stage, "etc/debian_version"), "w") as f:
        f.write("12.11\n")
    s = Sink(blobs)
    gnu_tar(s, ["-C", "/", "usr/bin", "usr/lib/x86_64-linux-gnu", "-C", stage, "etc", "var"])
    r = s.close()
    shutil.rmtree(stage)
    return r


def layer_site(blobs, work, packages, prefix, conda):
    s = Sink(blobs)
    parent, base = os.path.split(os.path.abspath(packages))
    args = ["-C", parent, f"--transform=s,^{base},{prefix}/{PY},", base]
    if conda:
        stage = os.path.join(work, "conda-" + prefix.replace("/", "_"))
        shutil.rmtree(stage, ignore_errors=True)
        meta = os.path.join(stage, prefix, "conda-meta")
        os.makedirs(meta)
        for n in sorted(os.listdir(packages)):
            if n.endswith(".dist-info") and "-" in n:
                name, version = n[: -len(".dist-info")].split("-", 1)
                with open(os.path.join(meta, f"{name}-{version}-py311_0.json"), "w") as f:
                    json.dump({"name": name.lower().replace("_", "-"), "version": version, "build": "py311_0",
                               "depends": ["python >=3.11,<3.12.0a0"], "files": []}, f)
        args += ["-C", stage, prefix]
    gnu_tar(s, args)
    return s.close()


def layer_cuda(blobs, libs, size, version_json):
    s = Sink(blobs)
    with tarfile.open(fileobj=s, mode="w|", format=tarfile.PAX_FORMAT, copybufsize=1 << 20) as t:
        if version_json:
            add_bytes(t, f"{CUDA}/version.json", json.dumps(VERSION_JSON, indent=3).encode())
        for i, lib in enumerate(libs):
            n = size // len(libs)
            ti = tarfile.TarInfo(f"{CUDA}/targets/x86_64-linux/lib/{lib}")
            ti.size, ti.mode, ti.mtime = n, 0o755, MTIME
            t.addfile(ti, Random(n))
    return s.close()


def layer_last(blobs, packages):
    s = Sink(blobs)
    dist = sorted(n for n in os.listdir(packages) if n.endswith(".dist-info"))
    pkgdirs = sorted(n for n in os.listdir(packages)
                     if os.path.isdir(os.path.join(packages, n)) and not n.endswith(("-info", "__pycache__")))
    with tarfile.open(fileobj=s, mode="w|", format=tarfile.PAX_FORMAT, copybufsize=1 << 20) as t:
        add_bytes(t, f"app/.venv/{PY}/.wh.{dist[0]}", b"")
        add_bytes(t, f"opt/conda/envs/train/{PY}/{pkgdirs[0]}/.wh..wh..opq", b"")
        add_bytes(t, f"opt/conda/envs/train/{PY}/{pkgdirs[0]}/__init__.py", b"# replaced\n")
        add_bytes(t, "etc/motd", b"mlguard image-scan bench\n")
    return s.close()


def main():
    out, size_gib, packages = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    if os.path.exists(os.path.join(out, "index.json")):
        print(f"reusing {out}", file=sys.stderr)
        return
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    blobs = os.path.join(tmp, "blobs", "sha256")
    os.makedirs(blobs)
    work = os.path.join(tmp, "work")
    os.makedirs(work)
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        first = [ex.submit(layer_base, blobs, work, "/var/lib/dpkg/status")]
        first += [ex.submit(layer_site, blobs, work, packages, p, p == "opt/conda") for p in PREFIXES]
        done = [f.result() for f in first]
        # The CUDA layers fill the image up to SIZE_GIB (random data does not compress).
        have = sum(d["size"] for d, _ in done)
        cuda_total = max(int(size_gib * (1 << 30)) - have, 6 << 20)
        per = cuda_total // 6
        libs = [CUDA_LIBS[i::6] for i in range(6)]
        cuda = [ex.submit(layer_cuda, blobs, libs[i], per, i == 0) for i in range(6)]
        done += [f.result() for f in cuda]
    done.append(layer_last(blobs, packages))
    shutil.rmtree(work)
    layers = [d for d, _ in done]
    config = {
        "architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
        "config": {"Env": [
            "PATH=/opt/conda/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "CUDA_VERSION=12.1.1", "NV_CUDNN_VERSION=8.9.2.26", "NCCL_VERSION=2.18.1-1"]},
        "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in done]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": f"layer {i + 1}"} for i in range(len(done))],
    }

    def blob(obj):
        b = json.dumps(obj).encode()
        d = hashlib.sha256(b).hexdigest()
        with open(os.path.join(blobs, d), "wb") as f:
            f.write(b)
        return "sha256:" + d, len(b)

    cd, cs = blob(config)
    md, ms = blob({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                   "layers": layers})
    with open(os.path.join(tmp, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(tmp, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
             "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
    os.rename(tmp, out)
    total = sum(l["size"] for l in layers)
    print(f"built {out}: {len(layers)} layers, {total / (1 << 30):.2f} GiB", file=sys.stderr)


if __name__ == "__main__":
    main()
