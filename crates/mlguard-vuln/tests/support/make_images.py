#!/usr/bin/env python3
"""Build the fixture image of tests/peers.rs: an OCI layout made with umoci (and the same image as
a docker-archive tar, made with skopeo), whose layers hold the package records an ML image has.

    make_images.py OUT_DIR

writes OUT_DIR/oci (OCI layout, tag `fixture`), OUT_DIR/oci-zstd (the same image with zstd
layers), OUT_DIR/image.tar (docker-archive, `mlguard/peers-fixture:1`) and OUT_DIR/fixture.json
(what was put where, written last). Nothing is done when OUT_DIR exists: the image is built in a
folder of its own and renamed to OUT_DIR at the end, so an interrupted build leaves no half-made
fixture behind.

Layers (each made by `umoci repack` from a rootless unpack, unless said otherwise):
 1. Debian 12 base: /usr/lib/os-release (and /etc/os-release linking to it),
    /etc/debian_version, /var/lib/dpkg/status (tests/support/dpkg-status: real paragraphs of a
    Debian 12 machine's status file, trimmed) in which `bc` was removed with its configuration
    files kept (`Status: deinstall ok config-files`, as `apt-get remove` leaves it), and
    tzdata and python3.11-minimal moved to /var/lib/dpkg/status.d/<package> without their
    Status field, each with its `<package>.md5sums` (as distroless images keep them);
    libgnutls30 is held (`hold ok installed`) and e2fsprogs only unpacked (`install ok unpacked`).
 2. pip: `pip install --target --no-deps --only-binary=:all:` of real old wheels into
    /usr/local/lib/python3.11/site-packages and /usr/lib/python3/dist-packages, plus an egg-info
    folder, a distutils egg-info file, and two eggs (a folder with EGG-INFO/ and a zip file).
 3. conda: the base environment /opt/conda/conda-meta/*.json (as conda writes them) and the
    dist-info folders of its Python packages under /opt/conda/lib/python3.11/site-packages
    (pillow has none, as older conda builds did not write one); environments
    /opt/conda/envs/ml and /opt/conda/envs/old; numpy's files in the package cache
    /opt/conda/pkgs/ hard-linked into the base environment and envs/ml, as conda links them
    (in the layer tar the first path, envs/ml, is the file; the later ones are hard links).
 4. CUDA: /usr/local/cuda-12.1/version.json, and the config's Env (CUDA_VERSION=12.1.1,
    NV_CUDNN_VERSION=8.9.2.26).
 5. deletions: requests removed (umoci writes `.wh.` whiteouts), jinja2 upgraded 2.11.2 -> 2.11.3,
    the conda environment envs/old removed as a whole.
 6. an opaque folder (written here with tarfile, added with `umoci raw add-layer`):
    /usr/lib/python3/dist-packages/.wh..wh..opq, then six 1.16.0 and setuptools 65.5.0 again;
    wheel 0.37.1 and six 1.15.0 of layer 2 are gone.

Environment: PIP (default: this python's `-m pip`), UMOCI (umoci), SKOPEO (skopeo).
pip downloads from PyPI (its cache makes reruns cheap).
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
UMOCI = os.environ.get("UMOCI", "umoci")
SKOPEO = os.environ.get("SKOPEO", "skopeo")
TAG = "fixture"
ARCHIVE_REF = "mlguard/peers-fixture:1"

OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""

SITE = "usr/local/lib/python3.11/site-packages"
DIST = "usr/lib/python3/dist-packages"
CONDA = "opt/conda"
CONDA_SITE = CONDA + "/lib/python3.11/site-packages"

# Layer 2: real wheels at versions with published advisories.
PIP_SITE = ["urllib3==1.26.4", "requests==2.25.0", "jinja2==2.11.2", "certifi==2022.9.24", "idna==2.10"]
PIP_DIST = ["setuptools==65.5.0", "wheel==0.37.1", "six==1.15.0"]
# Layer 5 and 6.
PIP_UPGRADE = ["jinja2==2.11.3"]
PIP_OPAQUE = ["six==1.16.0", "setuptools==65.5.0"]

ENV = [
    "PATH=/opt/conda/bin:/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "NVIDIA_VISIBLE_DEVICES=all",
    "NVIDIA_DRIVER_CAPABILITIES=compute,utility",
    "CUDA_VERSION=12.1.1",
    "NV_CUDNN_VERSION=8.9.2.26",
    "LANG=C.UTF-8",
]

# CUDA 12.1.1's version.json, as the toolkit installs it (a subset of its components).
CUDA_VERSION_JSON = {
    "cuda": {"name": "CUDA SDK", "version": "12.1.1"},
    "cuda_cccl": {"name": "CUDA C++ Core Compute Libraries", "version": "12.1.109"},
    "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "12.1.105"},
    "cuda_nvcc": {"name": "CUDA NVCC", "version": "12.1.105"},
    "cuda_nvrtc": {"name": "CUDA NVRTC", "version": "12.1.105"},
    "libcublas": {"name": "CUDA cuBLAS", "version": "12.1.3.1"},
    "libcufft": {"name": "CUDA cuFFT", "version": "11.0.2.54"},
    "libcurand": {"name": "CUDA cuRAND", "version": "10.3.2.106"},
    "libcusolver": {"name": "CUDA cuSOLVER", "version": "11.4.5.107"},
    "libcusparse": {"name": "CUDA cuSPARSE", "version": "12.1.0.106"},
    "nvidia_driver": {"name": "NVIDIA Linux Driver", "version": "530.30.02"},
}

# conda base environment: (name, version, build, channel, depends, python files).
CONDA_PACKAGES = [
    ("python", "3.11.5", "h955ad1f_0", "pkgs/main",
     ["bzip2 >=1.0.8,<2.0a0", "libffi >=3.4,<4.0a0", "openssl >=3.0.10,<4.0a0", "tzdata"], None),
    ("numpy", "1.24.3", "py311h08b1b3b_1", "pkgs/main",
     ["numpy-base 1.24.3 py311hf175353_1", "python >=3.11,<3.12.0a0"], "numpy"),
    ("pytorch", "2.1.0", "py3.11_cuda12.1_cudnn8.9.2_0", "pytorch",
     ["python >=3.11,<3.12.0a0", "pytorch-cuda >=12.1,<12.2", "numpy >=1.23.5", "pyyaml", "typing_extensions"],
     "torch"),
    ("pytorch-cuda", "12.1", "ha16c6d3_5", "pytorch", ["cuda-libraries >=12.1,<12.2"], None),
    ("pip", "23.2.1", "py311h06a4308_0", "pkgs/main", ["python >=3.11,<3.12.0a0", "setuptools", "wheel"], "pip"),
    ("pillow", "9.4.0", "py311h6a678d5_0", "pkgs/main",
     ["freetype >=2.12.1,<3.0a0", "jpeg >=9e,<10a", "python >=3.11,<3.12.0a0"], None),
    ("openssl", "3.0.11", "h7f8727e_2", "pkgs/main", ["ca-certificates", "libgcc-ng >=7.5.0"], None),
    ("cuda-cudart", "12.1.105", "0", "nvidia", [], None),
]

# The dist-info name of conda Python packages that have one (conda `pytorch` is `torch`).
CONDA_DIST_INFO = {"numpy": "numpy", "pytorch": "torch", "pip": "pip", "tqdm": "tqdm", "mlflow": "mlflow"}

# Other environments: envs/ml stays, envs/old is removed in layer 5.
CONDA_ENVS = {
    "ml": [
        ("python", "3.11.5", "h955ad1f_0", "pkgs/main", ["openssl >=3.0.10,<4.0a0"], None),
        ("numpy", "1.24.3", "py311h08b1b3b_1", "pkgs/main",
         ["numpy-base 1.24.3 py311hf175353_1", "python >=3.11,<3.12.0a0"], "numpy"),
        ("tqdm", "4.65.0", "py311h92b7b1e_0", "pkgs/main", ["python >=3.11,<3.12.0a0"], "tqdm"),
    ],
    "old": [
        ("python", "3.10.12", "h955ad1f_0", "pkgs/main", [], None),
        ("mlflow", "2.3.0", "py310h06a4308_0", "pkgs/main", ["python >=3.10,<3.11.0a0"], "mlflow"),
    ],
}
# numpy's package cache folder; its dist-info is hard-linked into the environments.
NUMPY_PKG = "opt/conda/pkgs/numpy-1.24.3-py311h08b1b3b_1"


def run(*cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, **kw)


def pip(*args):
    cmd = os.environ.get("PIP")
    base = cmd.split() if cmd else [sys.executable, "-m", "pip"]
    run(*base, "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--no-compile",
        "--only-binary=:all:", *args)


def write(root, path, data, mode=0o644):
    p = os.path.join(root, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(p, mode)


# Moved to status.d (distroless style), and removed with `apt-get remove` (config files kept).
STATUS_D = ["tzdata", "python3.11-minimal"]
REMOVED = "bc"
# Other states dpkg leaves: `apt-mark hold` (NVIDIA's CUDA images hold cuDNN and NCCL), and
# `dpkg --unpack` without configuring (a Dockerfile idiom to skip a postinst script).
STATES = {"libgnutls30": "hold ok installed", "e2fsprogs": "install ok unpacked"}


def dpkg_files(text):
    """The status file without the STATUS_D packages (REMOVED marked as removed, STATES set),
    and the STATUS_D paragraphs without their Status field."""
    paras = [p for p in text.split("\n\n") if p.strip()]
    keep, moved = [], {}
    for p in paras:
        name = p.split("\n", 1)[0].split(":", 1)[1].strip()
        if name in STATUS_D:
            moved[name] = "\n".join(l for l in p.splitlines() if not l.startswith("Status:")) + "\n"
        elif name == REMOVED:
            keep.append(p.replace("Status: install ok installed", "Status: deinstall ok config-files"))
        elif name in STATES:
            keep.append(p.replace("Status: install ok installed", f"Status: {STATES[name]}"))
        else:
            keep.append(p)
    assert sorted(moved) == sorted(STATUS_D), moved.keys()
    return "\n\n".join(keep) + "\n", moved


def conda_meta(name, version, build, channel, depends, py, pyver="3.11"):
    files = []
    if py:
        files.append(f"lib/python{pyver}/site-packages/{py}/__init__.py")
        if name in CONDA_DIST_INFO:
            files.append(f"lib/python{pyver}/site-packages/{py}-{version}.dist-info/METADATA")
    elif name == "pillow":
        files.append("lib/python3.11/site-packages/PIL/__init__.py")
    elif name == "python":
        files += ["bin/python3.11", "lib/python3.11/os.py"]
    fn = f"{name}-{version}-{build}.tar.bz2"
    return {
        "build": build,
        "build_number": int(build.rsplit("_", 1)[-1]) if build.rsplit("_", 1)[-1].isdigit() else 0,
        "channel": f"https://repo.anaconda.com/{channel}/linux-64" if channel.startswith("pkgs/")
        else f"https://conda.anaconda.org/{channel}/linux-64",
        "constrains": [],
        "depends": depends,
        "extracted_package_dir": f"/opt/conda/pkgs/{name}-{version}-{build}",
        "features": "",
        "files": files,
        "fn": fn,
        "license": "BSD-3-Clause",
        "link": {"source": f"/opt/conda/pkgs/{name}-{version}-{build}", "type": 1},
        "md5": "0" * 32,
        "name": name,
        "package_tarball_full_path": f"/opt/conda/pkgs/{fn}",
        "paths_data": {"paths": [{"_path": f, "path_type": "hardlink"} for f in files],
                       "paths_version": 1},
        "requested_spec": "",
        "sha256": "0" * 64,
        "size": 0,
        "subdir": "linux-64",
        "timestamp": 1696000000000,
        "url": f"https://conda.anaconda.org/{channel}/linux-64/{fn}",
        "version": version,
    }


def dist_info(root, site, name, version, summary):
    d = f"{site}/{name}-{version}.dist-info"
    write(root, f"{d}/METADATA",
          f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n\n")
    write(root, f"{d}/INSTALLER", "conda\n")
    write(root, f"{d}/RECORD", f"{d}/METADATA,,\n{d}/INSTALLER,,\n{d}/RECORD,,\n")
    write(root, f"{site}/{name}/__init__.py", f"__version__ = {version!r}\n")


def repack(image, bundle, comment):
    run(UMOCI, "repack", "--refresh-bundle", "--image", image, "--history.comment", comment, bundle)


def build(out):
    oci = os.path.join(out, "oci")
    image = f"{oci}:{TAG}"
    bundle = os.path.join(out, "bundle")
    rootfs = os.path.join(bundle, "rootfs")
    run(UMOCI, "init", "--layout", oci)
    run(UMOCI, "new", "--image", image)
    run(UMOCI, "config", "--image", image, "--os", "linux", "--architecture", "amd64",
        *[a for e in ENV for a in ("--config.env", e)])
    run(UMOCI, "unpack", "--rootless", "--image", image, bundle)

    # 1. Debian base.
    with open(os.path.join(HERE, "dpkg-status")) as f:
        status, status_d = dpkg_files(f.read())
    # As in Debian's images: /etc/os-release is a symlink to ../usr/lib/os-release.
    write(rootfs, "usr/lib/os-release", OS_RELEASE)
    write(rootfs, "etc/debian_version", "12.11\n")
    os.symlink("../usr/lib/os-release", os.path.join(rootfs, "etc/os-release"))
    write(rootfs, "var/lib/dpkg/status", status)
    for name, para in status_d.items():
        write(rootfs, f"var/lib/dpkg/status.d/{name}", para)
        write(rootfs, f"var/lib/dpkg/status.d/{name}.md5sums",
              f"d41d8cd98f00b204e9800998ecf8427e  usr/share/doc/{name}/changelog.Debian.gz\n")
    write(rootfs, "usr/share/doc/base-files/README", "Debian base system\n")
    repack(image, bundle, "debian base")

    # 2. pip, an egg-info folder and a distutils egg-info file.
    pip("--target", os.path.join(rootfs, SITE), *PIP_SITE)
    pip("--target", os.path.join(rootfs, DIST), *PIP_DIST)
    shutil.rmtree(os.path.join(rootfs, SITE, "bin"), ignore_errors=True)
    shutil.rmtree(os.path.join(rootfs, DIST, "bin"), ignore_errors=True)
    egg = f"{SITE}/PyJWT-1.7.1-py3.11.egg-info"
    write(rootfs, f"{egg}/PKG-INFO",
          "Metadata-Version: 2.1\nName: PyJWT\nVersion: 1.7.1\n"
          "Summary: JSON Web Token implementation in Python\n"
          "Home-page: https://github.com/jpadilla/pyjwt\nAuthor: Jose Padilla\nLicense: MIT\n\n")
    write(rootfs, f"{egg}/top_level.txt", "jwt\n")
    write(rootfs, f"{egg}/SOURCES.txt", "jwt/__init__.py\n")
    write(rootfs, f"{SITE}/jwt/__init__.py", "__version__ = '1.7.1'\n")
    write(rootfs, f"{SITE}/pycrypto-2.6.1-py3.11.egg-info",
          "Metadata-Version: 1.0\nName: pycrypto\nVersion: 2.6.1\n"
          "Summary: Cryptographic modules for Python.\nHome-page: http://www.pycrypto.org/\n"
          "Author: Dwayne C. Litzenberger\nLicense: UNKNOWN\nPlatform: UNKNOWN\n")
    write(rootfs, f"{SITE}/Crypto/__init__.py", "__version__ = '2.6.1'\n")
    # Eggs, as `python setup.py install` (easy_install) leaves them: a folder with EGG-INFO/,
    # and a zipped egg, both named in easy-install.pth.
    egg_dir = f"{SITE}/simplejson-3.17.0-py3.11-linux-x86_64.egg"
    write(rootfs, f"{egg_dir}/EGG-INFO/PKG-INFO",
          "Metadata-Version: 1.1\nName: simplejson\nVersion: 3.17.0\n"
          "Summary: Simple, fast, extensible JSON encoder/decoder for Python\n"
          "Home-page: https://github.com/simplejson/simplejson\nAuthor: Bob Ippolito\nLicense: MIT License\n")
    write(rootfs, f"{egg_dir}/EGG-INFO/top_level.txt", "simplejson\n")
    write(rootfs, f"{egg_dir}/EGG-INFO/zip-safe", "\n")
    write(rootfs, f"{egg_dir}/simplejson/__init__.py", "__version__ = '3.17.0'\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("EGG-INFO/PKG-INFO",
                   "Metadata-Version: 1.1\nName: httplib2\nVersion: 0.18.0\n"
                   "Summary: A comprehensive HTTP client library.\n"
                   "Home-page: https://github.com/httplib2/httplib2\nAuthor: Joe Gregorio\nLicense: MIT\n")
        z.writestr("EGG-INFO/top_level.txt", "httplib2\n")
        z.writestr("EGG-INFO/zip-safe", "\n")
        z.writestr("httplib2/__init__.py", "__version__ = '0.18.0'\n")
    write(rootfs, f"{SITE}/httplib2-0.18.0-py3.11.egg", buf.getvalue())
    write(rootfs, f"{SITE}/easy-install.pth",
          "./simplejson-3.17.0-py3.11-linux-x86_64.egg\n./httplib2-0.18.0-py3.11.egg\n")
    repack(image, bundle, "pip install")

    # 3. conda: base environment, envs/ml and envs/old, numpy hard-linked from the package cache.
    numpy_dist = f"{NUMPY_PKG}/lib/python3.11/site-packages/numpy-1.24.3.dist-info"
    dist_info(rootfs, f"{NUMPY_PKG}/lib/python3.11/site-packages", "numpy", "1.24.3",
              "Fundamental package for array computing in Python")
    write(rootfs, f"{NUMPY_PKG}/info/index.json",
          json.dumps({"name": "numpy", "version": "1.24.3", "build": "py311h08b1b3b_1"}) + "\n")
    envs = [(CONDA, CONDA_PACKAGES)] + [(f"{CONDA}/envs/{e}", ps) for e, ps in CONDA_ENVS.items()]
    for prefix, packages in envs:
        pyver = next(v for n, v, *_ in packages if n == "python").rsplit(".", 1)[0]
        site = f"{prefix}/lib/python{pyver}/site-packages"
        for name, version, build_, channel, depends, py in packages:
            meta = conda_meta(name, version, build_, channel, depends, py, pyver)
            write(rootfs, f"{prefix}/conda-meta/{name}-{version}-{build_}.json",
                  json.dumps(meta, indent=2) + "\n")
            if name == "numpy":
                assert version == "1.24.3"
                d = os.path.join(rootfs, site, f"numpy-{version}.dist-info")
                os.makedirs(d)
                for f in ("METADATA", "INSTALLER", "RECORD"):
                    os.link(os.path.join(rootfs, numpy_dist, f), os.path.join(d, f))
            elif name in CONDA_DIST_INFO:
                dist_info(rootfs, site, CONDA_DIST_INFO[name], version, f"conda {name}")
        write(rootfs, f"{prefix}/conda-meta/history",
              "==> 2023-10-01 00:00:00 <==\n# cmd: conda install pytorch==2.1.0 pytorch-cuda=12.1\n")
        write(rootfs, f"{prefix}/bin/python{pyver}", "#!/bin/false\n", 0o755)
    repack(image, bundle, "conda environments")

    # 4. CUDA.
    write(rootfs, "usr/local/cuda-12.1/version.json", json.dumps(CUDA_VERSION_JSON, indent=3) + "\n")
    write(rootfs, "usr/local/cuda-12.1/targets/x86_64-linux/lib/libcudart.so.12.1.105", b"\x7fELF" + bytes(60))
    repack(image, bundle, "cuda 12.1.1")

    # 5. deletions: requests removed, jinja2 replaced (old dist-info whited out).
    shutil.rmtree(os.path.join(rootfs, SITE, "requests"))
    shutil.rmtree(os.path.join(rootfs, SITE, "requests-2.25.0.dist-info"))
    shutil.rmtree(os.path.join(rootfs, SITE, "jinja2"))
    shutil.rmtree(os.path.join(rootfs, SITE, "Jinja2-2.11.2.dist-info"))
    pip("--target", os.path.join(rootfs, SITE), *PIP_UPGRADE)
    shutil.rmtree(os.path.join(rootfs, CONDA, "envs", "old"))
    repack(image, bundle, "remove requests and envs/old, upgrade jinja2")

    # 6. an opaque folder, written by hand (umoci writes file whiteouts, never opaque ones).
    stage = os.path.join(out, "stage")
    pip("--target", os.path.join(stage, DIST), *PIP_OPAQUE)
    shutil.rmtree(os.path.join(stage, DIST, "bin"), ignore_errors=True)
    layer = os.path.join(out, "opaque.tar")
    with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as t:
        for d in ["usr", "usr/lib", "usr/lib/python3", DIST]:
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1696000000
            t.addfile(ti)
        ti = tarfile.TarInfo(f"{DIST}/.wh..wh..opq")
        ti.mode, ti.mtime = 0o644, 1696000000
        t.addfile(ti, io.BytesIO(b""))
        for dirpath, dirnames, filenames in sorted(os.walk(os.path.join(stage, DIST))):
            dirnames.sort()
            rel = os.path.relpath(dirpath, stage)
            for n in sorted(dirnames) + sorted(filenames):
                p = os.path.join(dirpath, n)
                ti = t.gettarinfo(p, f"{rel}/{n}")
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = "root"
                ti.mtime = 1696000000
                if ti.isfile():
                    with open(p, "rb") as f:
                        t.addfile(ti, f)
                else:
                    t.addfile(ti)
    run(UMOCI, "raw", "add-layer", "--image", image, "--history.comment", "opaque dist-packages", layer)
    run(UMOCI, "gc", "--layout", oci)

    run(SKOPEO, "--insecure-policy", "copy", "--quiet", f"oci:{oci}:{TAG}",
        f"docker-archive:{os.path.join(out, 'image.tar')}:{ARCHIVE_REF}")
    run(SKOPEO, "--insecure-policy", "copy", "--quiet", "--dest-compress-format", "zstd",
        f"oci:{oci}:{TAG}", f"oci:{os.path.join(out, 'oci-zstd')}:{TAG}")
    shutil.rmtree(bundle)
    shutil.rmtree(stage)
    os.remove(layer)
    with open(os.path.join(out, "fixture.json"), "w") as f:
        json.dump({"tag": TAG, "archive_ref": ARCHIVE_REF, "env": ENV,
                   "pip_site": PIP_SITE, "pip_dist": PIP_DIST, "pip_upgrade": PIP_UPGRADE,
                   "pip_opaque": PIP_OPAQUE, "status_d": STATUS_D, "dpkg_removed": REMOVED, "dpkg_states": STATES,
                   "conda": [p[:3] for p in CONDA_PACKAGES],
                   "conda_envs": {e: [p[:3] for p in ps] for e, ps in CONDA_ENVS.items()}}, f, indent=1)


def main():
    out = os.path.abspath(sys.argv[1])
    if os.path.exists(out):
        return
    # Several test processes may build at once: each in its own folder, the first rename wins.
    tmp = f"{out}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        build(tmp)
        os.rename(tmp, out)
    except OSError:
        if not os.path.exists(os.path.join(out, "fixture.json")):
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
