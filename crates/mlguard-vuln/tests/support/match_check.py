#!/usr/bin/env python3
"""An evaluation of which OSV records affect the packages of an image, written apart from
mlguard's (tests/peers.rs compares the two):

    match_check.py OCI_DIR TAG RECORDS...

RECORDS are OSV files or folders of them (`.json`: a record or an array; `.yaml`: the PyPA
advisory database's form, read with PyYAML). Prints one JSON document:
{"os": "Debian:12", "packages": [[ecosystem, name, version, path]...],
 "findings": [[ecosystem, name, version, [ids...]]...], "errors": [...]}.

The packages come from the image as umoci unpacks it (`umoci unpack --rootless` applies the
layers, whiteouts and opaque whiteouts itself) and as the ecosystems' own tools read them:
- Debian: `dpkg-query --admindir` over /var/lib/dpkg/status (every package whose files are on
  disk: any state but not-installed and config-files, whether held or unpacked only; with
  `${source:Package}` and `${source:Version}`), and the paragraphs of
  /var/lib/dpkg/status.d/* (distroless; `*.md5sums` are file lists);
- PyPI: every `*.dist-info` and `*.egg-info` (folder or file) read by importlib.metadata, and
  every `*.egg` (folder or zip; its EGG-INFO) as importlib.metadata finds it on sys.path;
- conda: `conda-meta/*.json` of every environment; a conda package with Python files
  (`site-packages/` in `files`, or a `python` dependency) is also a PyPI package of the same
  name (mlguard's documented rule; see src/inventory.rs);
- NVIDIA: CUDA_VERSION and NV_CUDNN_VERSION of the image config, and
  /usr/local/cuda*/version.json (`cuda`; `cuda_x` is `x`, `libx` is `x`).

Matching follows the OSV schema (https://ossf.github.io/osv-schema/#evaluation): `versions`
lists and ECOSYSTEM ranges (events sorted by version, `introduced: "0"` first; introduced,
fixed, last_affected; `limit` bounds the range, `*` is no bound); GIT ranges are skipped;
withdrawn records affect nothing. Versions: PyPI with `packaging.version` on the public
version (mlguard's documented rule for local versions like `2.1.0+cu121`); Debian and NVIDIA
with `dpkg --compare-versions`. Ecosystems match on their base name, and on the release when
both name one (`Debian:12` records apply to the image's `Debian:12`, `Debian` ones to every
release). Debian advisories are keyed by the source package and its version. Records of one
package that share an ID or alias are one finding.
"""

import functools
import importlib.metadata
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import yaml
from packaging.version import InvalidVersion, Version


def load_records(paths):
    out = []

    def one(p):
        if p.endswith((".yaml", ".yml")):
            with open(p) as f:
                out.extend(d for d in yaml.safe_load_all(f) if d)
        elif p.endswith(".json"):
            with open(p) as f:
                v = json.load(f)
            out.extend(v if isinstance(v, list) else [v])

    def strings(r):
        # PyYAML reads an unquoted 1.10 as the float 1.1: such a record would be misread here.
        for a in r.get("affected", []):
            vs = list(a.get("versions", []))
            vs += [v for rg in a.get("ranges", []) for e in rg.get("events", []) for v in e.values()]
            bad = [v for v in vs if not isinstance(v, str)]
            if bad:
                raise ValueError(f"{r['id']}: versions that are not strings: {bad}")

    for p in paths:
        if os.path.isdir(p):
            for dirpath, _, files in sorted(os.walk(p)):
                for n in sorted(files):
                    one(os.path.join(dirpath, n))
        else:
            one(p)
    for r in out:
        strings(r)
    return out


# --- the image ---------------------------------------------------------------------------------

def image_config(oci, tag):
    def blob(d):
        with open(os.path.join(oci, "blobs", *d.split(":", 1))) as f:
            return json.load(f)

    with open(os.path.join(oci, "index.json")) as f:
        index = json.load(f)
    desc = next(m for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
    return blob(blob(desc["digest"])["config"]["digest"])


def unpack(oci, tag, dest):
    subprocess.run(["umoci", "unpack", "--rootless", "--image", f"{oci}:{tag}", dest],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(dest, "rootfs")


def os_ecosystem(root):
    for p in ("etc/os-release", "usr/lib/os-release"):
        f = os.path.join(root, p)
        if os.path.exists(f):
            kv = dict(l.split("=", 1) for l in open(f).read().splitlines() if "=" in l)
            ident = kv.get("ID", "").strip('"')
            ver = kv.get("VERSION_ID", "").strip('"')
            if ident == "debian" and ver:
                return "Debian:" + ver.split(".")[0]
            return None
    return None


def paragraphs(text):
    for para in text.split("\n\n"):
        fields = {}
        for line in para.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            k, v = line.split(":", 1)
            fields[k.strip().lower()] = v.strip()
        if fields:
            yield fields


def debian_packages(root):
    """(name, version, source, source version, path)."""
    out = []
    admin = os.path.join(root, "var/lib/dpkg")
    if os.path.isfile(os.path.join(admin, "status")):
        fmt = "${db:Status-Status}\\t${Package}\\t${Version}\\t${source:Package}\\t${source:Version}\\n"
        r = subprocess.run(["dpkg-query", "--admindir", admin, "-W", "-f", fmt],
                           check=True, capture_output=True, text=True)
        for line in r.stdout.splitlines():
            st, name, ver, src, srcver = line.split("\t")
            # The package's files are on disk unless it is not installed or only its
            # configuration files are left (whatever was wanted: `hold`, `deinstall`...).
            if st not in ("not-installed", "config-files"):
                out.append((name, ver, src, srcver, "var/lib/dpkg/status"))
    sd = os.path.join(admin, "status.d")
    if os.path.isdir(sd):
        for n in sorted(os.listdir(sd)):
            if n.endswith(".md5sums"):
                continue
            for f in paragraphs(open(os.path.join(sd, n)).read()):
                name, ver = f["package"], f["version"]
                src, srcver = name, ver
                if "source" in f:
                    m = re.fullmatch(r"(\S+)(?:\s*\((.+)\))?", f["source"])
                    src, srcver = m.group(1), m.group(2) or ver
                out.append((name, ver, src, srcver, f"var/lib/dpkg/status.d/{n}"))
    return out


def python_packages(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in sorted(dirnames + filenames):
            full = os.path.join(dirpath, n)
            if n.endswith((".dist-info", ".egg-info")):
                dists = [importlib.metadata.PathDistribution(pathlib.Path(full))]
            elif n.endswith(".egg"):
                # An egg (folder or zip) on sys.path: importlib.metadata reads its EGG-INFO.
                dists = list(importlib.metadata.distributions(path=[full]))
            else:
                continue
            for d in dists:
                md = d.metadata
                if md is None or md["Name"] is None:
                    continue
                out.append((md["Name"], md["Version"], os.path.relpath(full, root)))
    return out


def conda_packages(root):
    out = []
    for dirpath, _, filenames in os.walk(root):
        if os.path.basename(dirpath) != "conda-meta":
            continue
        for n in sorted(filenames):
            if not n.endswith(".json"):
                continue
            with open(os.path.join(dirpath, n)) as f:
                m = json.load(f)
            pythonic = any(d == "python" or d.startswith(("python ", "python_abi"))
                           for d in m.get("depends", [])) or \
                any("site-packages/" in f for f in m.get("files", []))
            out.append((m["name"], m["version"], pythonic and m["name"] != "python",
                        os.path.relpath(os.path.join(dirpath, n), root)))
    return out


def nvidia_components(root, env):
    out = []
    kv = dict(e.split("=", 1) for e in env if "=" in e)
    if "CUDA_VERSION" in kv:
        out.append(("cuda", kv["CUDA_VERSION"], "image config Env"))
    if "NV_CUDNN_VERSION" in kv:
        out.append(("cudnn", kv["NV_CUDNN_VERSION"], "image config Env"))
    local = os.path.join(root, "usr/local")
    for n in sorted(os.listdir(local)) if os.path.isdir(local) else []:
        vj = os.path.join(local, n, "version.json")
        if n.startswith("cuda") and os.path.isfile(vj):
            with open(vj) as f:
                for key, entry in json.load(f).items():
                    name = "cuda" if key == "cuda" else re.sub(r"^(lib|cuda_)", "", key)
                    out.append((name, entry["version"], f"usr/local/{n}/version.json"))
    return out


# --- versions ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def dpkg_cmp(a, b):
    for op, res in (("lt", -1), ("eq", 0)):
        if subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0:
            return res
    return 1


def pypi_version(v):
    return Version(Version(v).public)


def compare(scheme, a, b):
    if scheme == "pypi":
        x, y = pypi_version(a), pypi_version(b)
        return (x > y) - (x < y)
    return dpkg_cmp(a, b)


def scheme_of(ecosystem):
    base = ecosystem.split(":")[0]
    return {"PyPI": "pypi", "Debian": "dpkg", "NVIDIA": "dpkg"}.get(base)


def norm(eco, name):
    return re.sub(r"[-_.]+", "-", name).lower() if eco.split(":")[0] == "PyPI" else name


def same_ecosystem(record_eco, pkg_eco):
    rb, _, rr = record_eco.partition(":")
    pb, _, pr = pkg_eco.partition(":")
    return rb == pb and (not rr or not pr or rr == pr or rr.startswith(pr + ":"))


def in_versions(scheme, v, listed):
    for x in listed:
        try:
            if compare(scheme, v, x) == 0:
                return True
        except InvalidVersion:
            if x.strip() == v.strip():
                return True
    return False


def in_range(scheme, v, events):
    limits = [e["limit"] for e in events if "limit" in e]
    if limits and not any(l == "*" or compare(scheme, v, l) < 0 for l in limits):
        return False
    evs = []
    for e in events:
        (kind, at), = e.items()
        if kind != "limit":
            evs.append((kind, at))

    def key(a, b):
        if a[1] == b[1]:
            return 0
        if a == ("introduced", "0"):
            return -1
        if b == ("introduced", "0"):
            return 1
        return compare(scheme, a[1], b[1])

    evs.sort(key=functools.cmp_to_key(key))
    vulnerable = False
    for kind, at in evs:
        if kind == "introduced" and (at == "0" or compare(scheme, v, at) >= 0):
            vulnerable = True
        elif kind == "fixed" and compare(scheme, v, at) >= 0:
            vulnerable = False
        elif kind == "last_affected" and compare(scheme, v, at) > 0:
            vulnerable = False
    return vulnerable


def affects(record, eco, name, version):
    if record.get("withdrawn"):
        return False
    scheme = scheme_of(eco)
    for a in record.get("affected", []):
        p = a.get("package") or {}
        if not same_ecosystem(p.get("ecosystem", ""), eco) or norm(eco, p.get("name", "")) != norm(eco, name):
            continue
        if in_versions(scheme, version, a.get("versions", [])):
            return True
        for r in a.get("ranges", []):
            if r["type"] == "GIT":
                continue
            if r["type"] != "ECOSYSTEM":
                raise ValueError(f"{record['id']}: range type {r['type']} is not evaluated here")
            if in_range(scheme, version, r["events"]):
                return True
    return False


def merged(hits):
    groups = []
    for r in hits:
        ids = {r["id"], *r.get("aliases", [])}
        for g in [g for g in groups if g & ids]:
            groups.remove(g)
            ids |= g
        groups.append(ids)
    return [sorted(g) for g in groups]


def main():
    oci, tag, *paths = sys.argv[1:]
    records = load_records(paths)
    config = image_config(oci, tag)
    with tempfile.TemporaryDirectory() as tmp:
        root = unpack(oci, tag, os.path.join(tmp, "bundle"))
        osrel = os_ecosystem(root)
        debs = debian_packages(root)
        pys = python_packages(root)
        condas = conda_packages(root)
        nv = nvidia_components(root, config.get("config", {}).get("Env", []))
    # (ecosystem, name, version, advisory name, advisory version, path)
    packages = []
    for name, ver, src, srcver, path in debs:
        packages.append((osrel or "Debian", name, ver, src, srcver, path))
    for name, ver, path in pys:
        packages.append(("PyPI", name, ver, name, ver, path))
    for name, ver, pythonic, path in condas:
        packages.append(("conda", name, ver, name, ver, path))
        if pythonic:
            packages.append(("PyPI", name, ver, name, ver, path))
    for name, ver, path in nv:
        packages.append(("NVIDIA", name, ver, name, ver, path))
    by_key = {}
    for r in records:
        for a in r.get("affected", []):
            p = a.get("package") or {}
            k = (p.get("ecosystem", "").split(":")[0], norm(p.get("ecosystem", ""), p.get("name", "")))
            by_key.setdefault(k, [])
            if r not in by_key[k]:
                by_key[k].append(r)
    findings, errors = set(), []
    for eco, name, ver, aname, aver, path in packages:
        if scheme_of(eco) is None:
            continue
        try:
            hits = [r for r in by_key.get((eco.split(":")[0], norm(eco, aname)), [])
                    if affects(r, eco, aname, aver)]
        except (InvalidVersion, ValueError) as e:
            errors.append(f"{eco} {name} {ver}: {e}")
            continue
        for ids in merged(hits):
            findings.add((eco.split(":")[0], norm(eco, name), ver, tuple(ids)))
    json.dump({
        "os": osrel,
        "packages": sorted({(e.split(":")[0], n, v, p) for e, n, v, _, _, p in packages}),
        "findings": sorted([e, n, v, list(ids)] for e, n, v, ids in findings),
        "errors": errors,
    }, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
