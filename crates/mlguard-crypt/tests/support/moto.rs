//! moto's server (tests/support/moto_kms.py), one per test process, shared by its tests.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The web identity token moto_kms.py accepts.
pub const WEB_IDENTITY_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.test-service-account.sig";

/// A running moto server with IAM authentication enforced.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// What moto_kms.py printed: url, admin {id, secret}, wrap_only {id, secret}, role_arn,
    /// assumed {id, secret, token, expiration}.
    pub info: Value,
    _child: Child,
    /// Closing it (at process exit) stops the server.
    _stdin: ChildStdin,
    _log: tempfile::NamedTempFile,
}

impl Moto {
    /// An access key pair from `info` (`admin`, `wrap_only`, `assumed`).
    pub fn creds(&self, who: &str) -> (String, String) {
        let c = &self.info[who];
        (
            c["id"].as_str().unwrap().to_owned(),
            c["secret"].as_str().unwrap().to_owned(),
        )
    }
}

/// The shared server, started on first use; `None` (test skipped) without the test venv.
pub fn moto() -> Option<&'static Moto> {
    static M: OnceLock<Option<Moto>> = OnceLock::new();
    M.get_or_init(|| crate::common::python().map(|py| start(&py)))
        .as_ref()
}

fn start(py: &Path) -> Moto {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(py)
        .arg(crate::common::here("support/moto_kms.py"))
        .arg(WEB_IDENTITY_TOKEN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log.reopen().unwrap()))
        .spawn()
        .expect("start python with moto_kms.py");
    let stdin = child.stdin.take().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.trim().is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "moto_kms.py did not start: {}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
    }
    let info: Value = serde_json::from_str(&line).expect("moto_kms.py prints JSON");
    let url = info["url"].as_str().unwrap().to_owned();
    // Wait until it answers HTTP.
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        use std::io::{Read, Write};
        let ok = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            .and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(5)))?;
                s.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
                let mut buf = [0u8; 12];
                s.read_exact(&mut buf)?;
                Ok(buf.starts_with(b"HTTP/1."))
            })
            .unwrap_or(false);
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "moto does not answer at {url}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        url,
        info,
        _child: child,
        _stdin: stdin,
        _log: log,
    }
}
