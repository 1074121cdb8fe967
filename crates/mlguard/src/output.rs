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

/// Write `body` to `path` (or stdout for None); see [`write_with`].
pub fn write_to(path: Option<&std::path::Path>, body: &[u8]) -> anyhow::Result<()> {
    write_with(path, |w| w.write_all(body))
}

/// Stream output from `f` to `path` (or stdout for None). Files are written atomically: a
/// temporary file in the same folder renamed into place, so a failed run never leaves half a
/// report. Streaming (rather than building the report in memory first) keeps large reports
/// cheap.
pub fn write_with(
    path: Option<&std::path::Path>,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    match path {
        None => {
            let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            f(&mut out)?;
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
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            let mut out = io::BufWriter::with_capacity(1 << 16, file);
            let written = f(&mut out).and_then(|()| out.flush());
            drop(out);
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                return Err(anyhow::Error::new(e).context(format!("cannot write {}", p.display())));
            }
            std::fs::rename(&tmp, p).with_context(|| format!("cannot write {}", p.display()))?;
        }
    }
    Ok(())
}

/// Write Kubernetes objects as a YAML stream, or with `json` as a v1 List, to `output` or
/// stdout (the `manifests` commands).
pub fn write_objects(
    objs: &[serde_json::Value],
    format: &str,
    output: Option<&str>,
) -> anyhow::Result<()> {
    let body = match format {
        "yaml" => mlguard_core::emit::to_yaml_stream(objs),
        "json" => {
            serde_json::to_string_pretty(
                &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objs}),
            )? + "\n"
        }
        _ => anyhow::bail!("unknown --format `{format}` (yaml or json)"),
    };
    write_to(output.map(std::path::Path::new), body.as_bytes())?;
    Ok(())
}

/// Refuse an image not pinned by digest.
pub fn require_pinned(image: &str) -> anyhow::Result<()> {
    if !mlguard_operator::manifests::pinned(image) {
        anyhow::bail!(
            "--image `{image}` is not pinned by digest: give REPO@sha256:<64 hex digits>"
        );
    }
    Ok(())
}
