//! Image reading: an OCI image layout built here (gzip and plain tar layers, a config with the
//! CUDA environment of NVIDIA's base images), whiteouts and opaque whiteouts across layers, digest
//! checks, and a root filesystem folder.

use mlguard_vuln::image::{read_oci_layout, read_rootfs};
mod common;

use common::{blob, gzip, sha256, tar};
use std::io::Write;
use std::path::Path;

fn layout(root: &Path, layers: &[(Vec<u8>, &str)], env: &[&str]) -> Vec<String> {
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion": "1.0.0"}"#,
    )
    .unwrap();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux", "config": {"Env": env}, "rootfs": {"type": "layers", "diff_ids": []}});
    let config = serde_json::to_vec(&config).unwrap();
    let cd = blob(root, &config);
    let mut digests = Vec::new();
    let descs: Vec<_> = layers
        .iter()
        .map(|(b, mt)| {
            let d = blob(root, b);
            digests.push(d.clone());
            serde_json::json!({"mediaType": mt, "digest": d, "size": b.len()})
        })
        .collect();
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()}, "layers": descs});
    let m = serde_json::to_vec(&manifest).unwrap();
    let md = blob(root, &m);
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": m.len()}]});
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    digests
}

const SP: &str = "opt/conda/lib/python3.11/site-packages";

#[test]
fn layers_whiteouts_and_cuda() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let l1 = tar(&[
        ("var/lib/dpkg/status", b"Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u1\nSource: openssl\n\nPackage: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\nSource: zlib\n"),
        (&format!("{SP}/torch-2.1.0+cu121.dist-info/METADATA"), b"Metadata-Version: 2.1\nName: torch\nVersion: 2.1.0+cu121\n"),
        (&format!("{SP}/numpy-1.26.0.dist-info/METADATA"), b"Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.0\n"),
        ("opt/conda/conda-meta/pytorch-2.1.0-py3.11.json", br#"{"name": "pytorch", "version": "2.1.0", "depends": ["python >=3.11"]}"#),
        ("usr/local/cuda-12.1/version.json", br#"{"cuda": {"name": "CUDA SDK", "version": "12.1.1"}}"#),
        ("usr/share/doc/README", b"not a record"),
    ]);
    // Layer 2: torch upgraded (whiteout of the old dist-info, new one), numpy's folder emptied.
    let l2 = tar(&[
        (&format!("{SP}/.wh.torch-2.1.0+cu121.dist-info"), b""),
        (
            &format!("{SP}/torch-2.2.0.dist-info/METADATA"),
            b"Metadata-Version: 2.1\nName: torch\nVersion: 2.2.0\n",
        ),
        ("opt/conda/conda-meta/.wh..wh..opq", b""),
    ]);
    // Layer 3: the dpkg database replaced through an opaque folder.
    let l3 = tar(&[
        ("var/lib/dpkg/.wh..wh..opq", b""),
        ("var/lib/dpkg/status", b"Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nSource: openssl\n"),
    ]);
    let d = layout(
        root,
        &[
            (gzip(&l1), "application/vnd.oci.image.layer.v1.tar+gzip"),
            (l2, "application/vnd.oci.image.layer.v1.tar"),
            (gzip(&l3), "application/vnd.oci.image.layer.v1.tar+gzip"),
        ],
        &[
            "PATH=/usr/bin",
            "CUDA_VERSION=12.1.1",
            "NV_CUDNN_VERSION=8.9.0.131",
        ],
    );
    let inv = read_oci_layout(root).unwrap();
    assert_eq!(inv.layers, 3);
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let found: Vec<(String, String, String, String)> = inv
        .packages
        .iter()
        .map(|(p, l)| {
            (
                p.ecosystem.to_string(),
                p.name.clone(),
                p.version.clone(),
                l.clone(),
            )
        })
        .collect();
    let has = |eco: &str, name: &str, ver: &str| {
        found
            .iter()
            .any(|f| f.0 == eco && f.1 == name && f.2 == ver)
    };
    assert!(has("PyPI", "torch", "2.2.0"), "{found:#?}");
    assert!(
        !has("PyPI", "torch", "2.1.0+cu121"),
        "whited out: {found:#?}"
    );
    assert!(has("PyPI", "numpy", "1.26.0"));
    assert!(
        !found.iter().any(|f| f.0 == "conda"),
        "opaque conda-meta: {found:#?}"
    );
    assert!(has("Debian", "libssl3", "3.0.11-1~deb12u2"));
    assert!(
        !has("Debian", "zlib1g", "1:1.2.13.dfsg-1"),
        "opaque dpkg folder: {found:#?}"
    );
    assert!(has("NVIDIA", "cuda", "12.1.1") && has("NVIDIA", "cudnn", "8.9.0.131"));
    // Each package names its layer.
    let torch = found.iter().find(|f| f.1 == "torch").unwrap();
    assert_eq!(torch.3, d[1]);
    let libssl = found.iter().find(|f| f.1 == "libssl3").unwrap();
    assert_eq!(libssl.3, d[2]);
}

#[test]
fn a_layer_that_does_not_match_its_digest_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let l = gzip(&tar(&[(
        "var/lib/dpkg/status",
        b"Package: a\nVersion: 1\n",
    )]));
    let d = layout(
        root,
        &[(l.clone(), "application/vnd.oci.image.layer.v1.tar+gzip")],
        &[],
    );
    let p = root
        .join("blobs/sha256")
        .join(d[0].trim_start_matches("sha256:"));
    // The same tar, compressed differently: a valid layer, but not the blob the manifest names.
    let raw = tar(&[("var/lib/dpkg/status", b"Package: a\nVersion: 1\n")]);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&raw).unwrap();
    let other = e.finish().unwrap();
    assert_ne!(other, l);
    std::fs::write(&p, &other).unwrap();
    let e = read_oci_layout(root).unwrap_err().to_string();
    assert!(e.contains("does not match"), "{e}");
    // A missing index is an error naming it.
    std::fs::remove_file(root.join("index.json")).unwrap();
    let e = read_oci_layout(root).unwrap_err().to_string();
    assert!(e.contains("index.json"), "{e}");
}

#[test]
fn rootfs_folder() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let mk = |p: &str, b: &[u8]| {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b).unwrap();
    };
    mk(
        "var/lib/dpkg/status",
        b"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n",
    );
    mk(
        "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
        b"Name: requests\nVersion: 2.31.0\n",
    );
    mk(
        "usr/lib/python3/dist-packages/broken-1.dist-info/METADATA",
        b"Name: broken\n",
    );
    let inv = read_rootfs(root).unwrap();
    assert_eq!(inv.packages.len(), 2, "{:?}", inv.packages);
    assert_eq!(inv.errors.len(), 1);
    assert!(inv.errors[0]
        .to_string()
        .contains("broken-1.dist-info/METADATA: no Version header"));
}

#[test]
fn docker_archives_old_and_new() {
    use mlguard_vuln::image::read_docker_archive;
    let t = tempfile::tempdir().unwrap();
    let l1 = tar(&[(
        "var/lib/dpkg/status",
        b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\nSource: glibc\n",
    )]);
    let l2 = tar(&[(
        &format!("{SP}/transformers-4.35.0.dist-info/METADATA"),
        b"Name: transformers\nVersion: 4.35.0\n",
    )]);
    let d2 = sha256(&l2);
    let config = br#"{"config": {"Env": ["CUDA_VERSION=11.8.0"]}}"#;
    let manifest = format!(
        r#"[{{"Config": "cfg.json", "RepoTags": ["ml:1"], "Layers": ["0a1b/layer.tar", "blobs/sha256/{d2}"]}}]"#
    );
    let archive = tar(&[
        ("manifest.json", manifest.as_bytes()),
        ("cfg.json", config),
        ("0a1b/layer.tar", &l1),
        (&format!("blobs/sha256/{d2}"), &l2),
    ]);
    let p = t.path().join("image.tar");
    std::fs::write(&p, &archive).unwrap();
    let inv = read_docker_archive(&p).unwrap();
    let names: Vec<(&str, &str)> = inv
        .packages
        .iter()
        .map(|(p, _)| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert!(names.contains(&("libc6", "2.36-9+deb12u4")), "{names:?}");
    assert!(names.contains(&("transformers", "4.35.0")), "{names:?}");
    assert!(names.contains(&("cuda", "11.8.0")), "{names:?}");
    assert_eq!(inv.layers, 2);
    // A blob named by digest that does not match it: an error.
    let wrong = tar(&[
        ("manifest.json", manifest.as_bytes()),
        ("cfg.json", config),
        ("0a1b/layer.tar", &l1),
        (&format!("blobs/sha256/{d2}"), &l1),
    ]);
    std::fs::write(&p, &wrong).unwrap();
    assert!(read_docker_archive(&p)
        .unwrap_err()
        .to_string()
        .contains("does not match"));
    // An OCI layout inside the archive (newer `docker save`).
    let oci = t.path().join("oci");
    layout(
        &oci,
        &[(gzip(&l2), "application/vnd.oci.image.layer.v1.tar+gzip")],
        &[],
    );
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for e in walk(&oci) {
        members.push((
            e.strip_prefix(&oci).unwrap().to_string_lossy().into_owned(),
            std::fs::read(&e).unwrap(),
        ));
    }
    let refs: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    std::fs::write(&p, tar(&refs)).unwrap();
    let inv = read_docker_archive(&p).unwrap();
    assert_eq!(inv.packages.len(), 1, "{:?}", inv.packages);
    // Not an image.
    std::fs::write(&p, tar(&[("hello.txt", b"hi")])).unwrap();
    assert!(read_docker_archive(&p)
        .unwrap_err()
        .to_string()
        .contains("manifest.json"));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn zstd_layers() {
    let t = tempfile::tempdir().unwrap();
    let l = tar(&[("lib/apk/db/installed", b"P:musl\nV:1.2.4-r2\no:musl\n")]);
    let z = ruzstd::encoding::compress_to_vec(
        l.as_slice(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    assert_eq!(&z[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    layout(
        t.path(),
        &[(z, "application/vnd.oci.image.layer.v1.tar+zstd")],
        &[],
    );
    let inv = read_oci_layout(t.path()).unwrap();
    assert_eq!(inv.packages.len(), 1);
    assert_eq!(inv.packages[0].0.ecosystem, "Alpine");
}

/// A tar with raw entries: (path written into the header byte by byte, type flag, link name,
/// body). The tar crate refuses to write `..` paths, which is what these tests need.
fn raw_tar(entries: &[(&str, u8, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (path, kind, link, body) in entries {
        let mut h = [0u8; 512];
        h[..path.len()].copy_from_slice(path.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = *kind;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Bad layers: clear errors or ignored entries, never a crash, and nothing written anywhere
/// (the reader writes no file at all: the folder's listing is unchanged).
#[test]
fn bad_layers() {
    use mlguard_vuln::image::read_layer_bytes;
    let t = tempfile::tempdir().unwrap();
    let before = walk(t.path());
    // `..` paths and absolute symlinks: entries outside the image root are not records, and a
    // symlink is never followed (records are read from regular files only).
    let l = raw_tar(&[
        (
            "../../var/lib/dpkg/status",
            b'0',
            "",
            b"Package: evil\nVersion: 1\n\n",
        ),
        ("var/lib/dpkg/../../../etc/x", b'0', "", b"x"),
        ("var/lib/dpkg/status", b'2', "/etc/passwd", b""),
        (
            "usr/lib/python3/dist-packages/ok-1.0.dist-info/METADATA",
            b'0',
            "",
            b"Name: ok\nVersion: 1.0\n",
        ),
    ]);
    let inv = read_layer_bytes(&l).unwrap();
    let names: Vec<&str> = inv.packages.iter().map(|(p, _)| p.name.as_str()).collect();
    assert_eq!(names, ["ok"], "{names:?}");
    assert_eq!(walk(t.path()), before);

    // A corrupt gzip stream: an error, not a partial inventory.
    let mut g = gzip(&tar(&[(
        "var/lib/dpkg/status",
        b"Package: a\nVersion: 1\n\n",
    )]));
    let mid = g.len() / 2;
    g[mid] ^= 0xff;
    g[mid + 1] ^= 0xff;
    let e = read_layer_bytes(&g).unwrap_err().to_string();
    assert!(e.contains("layer"), "{e}");
    // Truncated gzip.
    let g2 = gzip(&tar(&[(
        "var/lib/dpkg/status",
        b"Package: a\nVersion: 1\n\n",
    )]));
    assert!(read_layer_bytes(&g2[..g2.len() / 2]).is_err());

    // A malformed METADATA version: the package is kept with its version (matching reports
    // it as not evaluated), a METADATA without a version is a per-record error.
    let l = tar(&[
        (
            "site/bad-1.dist-info/METADATA",
            b"Name: bad\nVersion: 1.0.0.not..valid\n" as &[u8],
        ),
        ("site/nov-1.dist-info/METADATA", b"Name: nov\n"),
    ]);
    let inv = read_layer_bytes(&l).unwrap();
    assert!(inv
        .packages
        .iter()
        .any(|(p, _)| p.name == "bad" && p.version == "1.0.0.not..valid"));
    assert_eq!(inv.errors.len(), 1, "{:?}", inv.errors);
    assert!(inv.errors[0].path.contains("nov-1.dist-info"));
}

/// A layer of 100,000 entries is read in bounded time and memory: only records are kept.
#[test]
fn a_layer_of_100000_entries() {
    use mlguard_vuln::image::read_layer_bytes;
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..100_000u32 {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("usr/share/doc/f{i}"), &[][..])
            .unwrap();
    }
    let body = b"Name: last\nVersion: 9\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "x/last-9.dist-info/METADATA", &body[..])
        .unwrap();
    let l = gzip(&b.into_inner().unwrap());
    let start = std::time::Instant::now();
    let inv = read_layer_bytes(&l).unwrap();
    assert_eq!(inv.packages.len(), 1);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}

/// dpkg statuses (unpacked counts, config-files and not-installed do not), status.d files with
/// dots, egg folders and zipped eggs (the gaps tests/peers.rs found against trivy and syft), and
/// a record file over the size limit: a per-record error, the rest of the image still read.
#[test]
fn dpkg_states_eggs_and_oversized_records() {
    use mlguard_vuln::image::read_layer_bytes;
    let status = b"Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: install ok unpacked\nVersion: 2\n\nPackage: c\nStatus: deinstall ok config-files\nVersion: 3\n\nPackage: d\nStatus: purge ok not-installed\nVersion: 4\n\n";
    // A zipped egg: a stored zip with EGG-INFO/PKG-INFO.
    let info = b"Metadata-Version: 1.1\nName: httplib2\nVersion: 0.18.0\n";
    let mut egg = Vec::new();
    let name = b"EGG-INFO/PKG-INFO";
    let mut h = vec![20u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    h.extend_from_slice(&(info.len() as u32).to_le_bytes());
    h.extend_from_slice(&(info.len() as u32).to_le_bytes());
    h.extend_from_slice(&(name.len() as u16).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    egg.extend_from_slice(b"PK\x03\x04");
    egg.extend_from_slice(&h);
    egg.extend_from_slice(name);
    egg.extend_from_slice(info);
    let cd_at = egg.len() as u32;
    egg.extend_from_slice(b"PK\x01\x02\x14\x00");
    egg.extend_from_slice(&h);
    egg.extend_from_slice(&[0; 10]);
    egg.extend_from_slice(&0u32.to_le_bytes());
    egg.extend_from_slice(name);
    let cd_len = egg.len() as u32 - cd_at;
    egg.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\x00\x01\x00");
    egg.extend_from_slice(&cd_len.to_le_bytes());
    egg.extend_from_slice(&cd_at.to_le_bytes());
    egg.extend_from_slice(&[0, 0]);
    let big = vec![b'x'; (64 << 20) + 1];
    let l = gzip(&tar(&[
        ("var/lib/dpkg/status", status as &[u8]),
        (
            "var/lib/dpkg/status.d/python3.11-minimal",
            b"Package: python3.11-minimal\nVersion: 3.11.2-6\n",
        ),
        (
            "var/lib/dpkg/status.d/python3.11-minimal.md5sums",
            b"abc  /usr/bin/x\n",
        ),
        (
            "usr/lib/python3/site-packages/simplejson-3.17.0-py3.11.egg/EGG-INFO/PKG-INFO",
            b"Name: simplejson\nVersion: 3.17.0\n",
        ),
        (
            "usr/lib/python3/site-packages/httplib2-0.18.0-py3.11.egg",
            &egg,
        ),
        (
            "usr/lib/python3/site-packages/huge-1.dist-info/METADATA",
            &big,
        ),
    ]));
    let inv = read_layer_bytes(&l).unwrap();
    let mut got: Vec<String> = inv
        .packages
        .iter()
        .map(|(p, _)| format!("{} {} {}", p.ecosystem, p.name, p.version))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "Debian a 1",
            "Debian b 2",
            "Debian python3.11-minimal 3.11.2-6",
            "PyPI httplib2 0.18.0",
            "PyPI simplejson 3.17.0"
        ]
    );
    assert_eq!(inv.errors.len(), 1, "{:?}", inv.errors);
    assert!(inv.errors[0].path.contains("huge-1.dist-info"));
    assert!(
        inv.errors[0].why.contains("larger than"),
        "{:?}",
        inv.errors
    );
}
