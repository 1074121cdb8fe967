//! `mlguard vuln` through the real binary: importing the shared PyPA advisories (YAML) and a zip
//! of OSV JSON built here, `db info`, `check` with its exit codes, alias merging, withdrawn
//! records, local versions, and errors naming the file.

mod common;

use common::{code, err, out, root};
use std::io::Write;
use std::path::Path;

fn mlg(args: &[&str]) -> std::process::Output {
    common::run(args, None)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A stored zip of (name, body) members.
fn zip(members: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (name, body) in members {
        let off = out.len() as u32;
        let mut h = Vec::new();
        h.extend_from_slice(&[20, 0, 0, 0, 0, 0]);
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&(body.len() as u32).to_le_bytes());
        h.extend_from_slice(&(body.len() as u32).to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&h);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(body.as_bytes());
        cd.extend_from_slice(b"PK\x01\x02\x14\x00");
        cd.extend_from_slice(&h);
        cd.extend_from_slice(&[0; 10]);
        cd.extend_from_slice(&off.to_le_bytes());
        cd.extend_from_slice(name.as_bytes());
    }
    let at = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

#[test]
fn import_info_and_check() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db");
    let pypa = root().join("../shared/data/pypa-advisory-database/vulns");
    let o = mlg(&["vuln", "db", "import", s(&pypa), "--db", s(&db)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(err(&o).contains("2661 records"), "{}", err(&o));
    // Two records of one vulnerability (aliases), a withdrawn one, for a made-up package.
    let ghsa = r#"{"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2099-1"], "summary": "model loader runs code",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "ml-loader"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]}"#;
    let pysec = r#"{"id": "PYSEC-2099-1", "aliases": ["CVE-2099-1"], "affected": [{"package": {"ecosystem": "PyPI", "name": "ML_Loader"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "2.0.1"}]}]}]}"#;
    let gone = r#"{"id": "PYSEC-2099-2", "withdrawn": "2099-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "PyPI", "name": "ml-loader"}, "versions": ["1.5"]}]}"#;
    let z = t.path().join("osv.zip");
    std::fs::File::create(&z)
        .unwrap()
        .write_all(&zip(&[
            ("GHSA-aaaa-bbbb-cccc.json", ghsa),
            ("PYSEC-2099-1.json", pysec),
            ("PYSEC-2099-2.json", gone),
        ]))
        .unwrap();
    let o = mlg(&["vuln", "db", "import", s(&z), "--db", s(&db)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = mlg(&["vuln", "db", "info", "--db", s(&db), "--format", "json"]);
    let info: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(info["records"], 2664);
    assert_eq!(info["sources"].as_array().unwrap().len(), 2);

    let check = |pkg: &str, ver: &str| {
        let o = mlg(&[
            "vuln",
            "check",
            "--ecosystem",
            "PyPI",
            "--package",
            pkg,
            "--version",
            ver,
            "--db",
            s(&db),
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap_or_default();
        (code(&o), v)
    };
    // One vulnerability, all three IDs, both fixes; the withdrawn record adds nothing.
    let (c, v) = check("ml.loader", "1.5+cu121");
    assert_eq!(c, 1);
    let vulns = v["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 1, "{v:#}");
    assert_eq!(
        vulns[0]["ids"],
        serde_json::json!(["GHSA-aaaa-bbbb-cccc", "PYSEC-2099-1", "CVE-2099-1"])
    );
    assert_eq!(vulns[0]["fixed"], serde_json::json!(["2.0", "2.0.1"]));
    assert_eq!(check("ml-loader", "2.0.1").0, 0);
    // The real PyPA record for torch, with a CUDA build.
    let (c, v) = check("torch", "1.12.1+cu116");
    assert_eq!(c, 1);
    assert!(v["vulnerabilities"][0]["ids"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i == "PYSEC-2022-43015"));
    assert_eq!(check("torch", "1.13.1").0, 0);

    // Usage errors and a missing database: 2, with the reason.
    let o = mlg(&[
        "vuln",
        "check",
        "--ecosystem",
        "npm",
        "--package",
        "x",
        "--version",
        "1",
        "--db",
        s(&db),
    ]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("npm"));
    let o = mlg(&[
        "vuln",
        "check",
        "--ecosystem",
        "PyPI",
        "--package",
        "x",
        "--version",
        "1",
        "--db",
        s(&t.path().join("none")),
    ]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("vuln db import"), "{}", err(&o));
    // A broken record file: 2, naming the file and line; nothing imported.
    let bad = t.path().join("bad.yaml");
    std::fs::write(&bad, "id: X\naffected: [\n").unwrap();
    let o = mlg(&["vuln", "db", "import", s(&bad), "--db", s(&db)]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("bad.yaml:"), "{}", err(&o));
    let o = mlg(&["vuln", "db", "info", "--db", s(&db), "--format", "json"]);
    let info: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(info["records"], 2664);
}

/// `vuln db import URL`: a zip served over plain HTTP on loopback (HTTPS is tested in
/// mlguard-vuln's tests/registry.rs); a 404 is an error naming the URL.
#[test]
fn import_from_a_url() {
    use std::io::{BufRead, BufReader};
    let body = zip(&[(
        "GHSA-url-1.json",
        r#"{"id":"GHSA-url-1","affected":[{"package":{"ecosystem":"PyPI","name":"urlpkg"},"versions":["1.0"]}]}"#,
    )]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Serve every connection (a client may open one it does not use); errors are ignored.
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let Ok(c) = s.try_clone() else { continue };
            let mut r = BufReader::new(c);
            let mut first = String::new();
            if r.read_line(&mut first).unwrap_or(0) == 0 {
                continue;
            }
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
            }
            let reply = if first.contains("/all.zip") {
                let mut v = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                v.extend_from_slice(&body);
                v
            } else {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            };
            let _ = s.write_all(&reply);
        }
    });
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db");
    let url = format!("http://127.0.0.1:{port}/PyPI/all.zip");
    let o = mlg(&["vuln", "db", "import", &url, "--db", s(&db)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = mlg(&[
        "vuln",
        "check",
        "--ecosystem",
        "PyPI",
        "--package",
        "urlpkg",
        "--version",
        "1.0",
        "--db",
        s(&db),
    ]);
    assert_eq!(code(&o), 1, "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("GHSA-url-1"), "{}", out(&o));
    let missing = format!("http://127.0.0.1:{port}/nope.zip");
    let o = mlg(&["vuln", "db", "import", &missing, "--db", s(&db)]);
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("nope.zip") && err(&o).contains("404"),
        "{}",
        err(&o)
    );
}
