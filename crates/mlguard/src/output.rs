//! Writing results: stdout or files, colour decisions, broken pipes.

use std::io::{self, IsTerminal, Write};

/// A broken pipe (`mlguard scan . | head`) is not an error.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `--color auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub fn stdout_color(self) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

/// Write `body` to `path` (or stdout for None) atomically for files: a temporary file in the
/// same folder renamed into place, so a failed run never leaves half a report.
pub fn write_to(path: Option<&std::path::Path>, body: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    match path {
        None => {
            let mut out = io::stdout().lock();
            out.write_all(body)?;
            out.flush()?;
        }
        Some(p) => {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = dir.join(format!(".{name}.mlguard-tmp"));
            std::fs::write(&tmp, body)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, p).with_context(|| format!("cannot write {}", p.display()))?;
        }
    }
    Ok(())
}
