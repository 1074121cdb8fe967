//! Running the real binary from the CLI tests: in the workspace root, with stdin given or
//! closed, output captured.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scratch folder `mlguard-NAME-PID` in the system's temp folder: emptied when made,
/// removed when dropped, also when the test fails (a panic unwinds through the drop).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("mlguard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("tmpdir");
        TempDir(d)
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("root")
}

/// `mlguard ARGS` with `stdin` piped in (or closed), MLGUARD_FORMAT unset.
pub fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mlguard"));
    c.args(args)
        .current_dir(root())
        .env_remove("MLGUARD_FORMAT")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    if let Some(s) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(s.as_bytes())
            .expect("write");
    }
    child.wait_with_output().expect("wait")
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("code")
}

pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Send SIGTERM to `child` and wait (polling, at most `limit`) for it to exit; its status.
pub async fn sigterm_and_wait(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> std::process::ExitStatus {
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let start = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        assert!(start.elapsed() < limit, "no exit {limit:?} after SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The kubernetes-validate CLI next to MLGUARD_TEST_PYTHON (scripts/test installs it); `None`
/// (skip) when it is absent, unless MLGUARD_REQUIRE_TOOLS=1, which makes that a failure.
pub fn kubernetes_validate() -> Option<PathBuf> {
    let required = std::env::var("MLGUARD_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    let found = std::env::var_os("MLGUARD_TEST_PYTHON")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .and_then(|p| p.parent().map(|b| b.join("kubernetes-validate")))
        .filter(|v| {
            std::process::Command::new(v)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        assert!(
            !required,
            "MLGUARD_REQUIRE_TOOLS=1 but kubernetes-validate is not next to MLGUARD_TEST_PYTHON"
        );
        eprintln!("skipping: kubernetes-validate not available");
    }
    found
}

/// Validate the manifests in `path` strictly against the Kubernetes `versions` (`1.33.0`...)
/// with kubernetes-validate, failing the test on any error; nothing when the tool is missing
/// (and MLGUARD_REQUIRE_TOOLS is not 1).
#[allow(dead_code)]
pub fn assert_valid_for_kubernetes(path: &std::path::Path, versions: &[&str]) {
    let Some(kv) = kubernetes_validate() else {
        return;
    };
    for version in versions {
        let o = Command::new(&kv)
            .args(["--strict", "-k", version])
            .arg(path)
            .output()
            .expect("run kubernetes-validate");
        assert!(
            o.status.success(),
            "{} against {version}: {}{}",
            path.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
