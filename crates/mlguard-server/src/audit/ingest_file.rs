//! `mlguard audit ingest`: the API server's log backend file (`--audit-log-path`, one
//! `audit.k8s.io/v1` Event per line) appended to the store in batches, optionally following the
//! file as it grows and rotates, with the position kept in a state file so that a restart
//! neither loses nor duplicates events.
//!
//! - The state file (JSON: `path`, `dev`, `inode`, `offset`, `line`) is written, atomically
//!   (temporary file, fsync, rename, fsync of the folder), only after the batch before that
//!   offset is durable in the store. A crash between the two replays the batch, which the store
//!   skips as duplicates (appends are idempotent on (auditID, stage, time)).
//! - Rotation: when the path names another file (its inode changed: the API server's
//!   lumberjack, logrotate `create`), the old file is read to its end and the new one from its
//!   start; when the file shrank below the position (logrotate `copytruncate`), it is read from
//!   its start. On start, a state whose inode is no longer at the path is looked up among the
//!   files of the same folder (the rotated file), which is finished first.
//! - A line that is not an Event is reported (file, line number, reason) and skipped; an
//!   incomplete last line is left for later (with `--follow`) or read if it is a whole Event.

use mlguard_audit::store::{Store, StoreError};
use mlguard_audit::trail::normalize::{self, ModelMap};
use mlguard_audit::trail::record::Record;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Why ingest stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("state file {path}: {message}; remove it to read the log from its start (the store skips what it already holds)")]
    State { path: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn file_err(path: &Path, message: impl std::fmt::Display) -> IngestError {
    IngestError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// How to ingest.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keep reading as the file grows and rotates, until `stop` is set.
    pub follow: bool,
    /// Where the position is kept.
    pub state: PathBuf,
    /// Events per append.
    pub batch: usize,
    /// Longer lines are reported and skipped.
    pub max_line: usize,
    /// How often to look for new lines with `follow`.
    pub poll: Duration,
}

impl Options {
    pub fn new(state: PathBuf) -> Options {
        Options {
            follow: false,
            state,
            batch: 400,
            max_line: super::DEFAULT_MAX_BODY,
            poll: Duration::from_millis(200),
        }
    }
}

/// What ingest did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub appended: usize,
    pub duplicates: usize,
    /// Lines that are not Events (reported through the callback).
    pub rejected: usize,
    /// Rotations and truncations followed.
    pub rotations: usize,
}

/// The persisted position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub path: String,
    pub dev: u64,
    pub inode: u64,
    /// Bytes of the file consumed (up to the end of a line).
    pub offset: u64,
    /// Lines consumed, for messages.
    pub line: u64,
}

impl State {
    pub fn load(path: &Path) -> Result<Option<State>, IngestError> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(IngestError::State {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })
            }
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| IngestError::State {
                path: path.display().to_string(),
                message: e.to_string(),
            })
    }

    /// Writes the state atomically and durably.
    pub fn save(&self, path: &Path) -> Result<(), IngestError> {
        let err = |e: std::io::Error| IngestError::State {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(err)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        {
            let mut f = File::create(&tmp).map_err(err)?;
            f.write_all(&serde_json::to_vec(self).unwrap_or_default())
                .map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, path).map_err(err)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(unix)]
fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn identity(_m: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The file of the folder of `path` with this identity (a rotated log).
fn find_rotated(path: &Path, id: (u64, u64)) -> Option<PathBuf> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            std::fs::metadata(p)
                .ok()
                .is_some_and(|m| m.is_file() && identity(&m) == id)
        })
}

/// One open log file being read.
struct Reader {
    name: PathBuf,
    file: File,
    id: (u64, u64),
    /// Bytes consumed (complete lines).
    offset: u64,
    line: u64,
    /// Bytes read past `offset`: an incomplete line.
    pending: Vec<u8>,
    /// Inside a line over the limit: skip to its newline.
    skipping: bool,
    /// Bytes of that line skipped so far.
    skipped: u64,
}

impl Reader {
    fn open(name: &Path, offset: u64, line: u64) -> Result<Reader, IngestError> {
        let mut file = File::open(name).map_err(|e| file_err(name, e))?;
        let meta = file.metadata().map_err(|e| file_err(name, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| file_err(name, e))?;
        Ok(Reader {
            name: name.to_owned(),
            file,
            id: identity(&meta),
            offset,
            line,
            pending: Vec::new(),
            skipping: false,
            skipped: 0,
        })
    }
}

/// A decoded line waiting for its batch's append.
struct Batch {
    records: Vec<Record>,
}

/// The ingest loop's context.
struct Ingest<'a> {
    path: &'a Path,
    store: &'a dyn Store,
    models: &'a mut ModelMap,
    opts: &'a Options,
    stop: &'a AtomicBool,
    rejected: &'a mut dyn FnMut(&Path, u64, &str),
    report: Report,
    batch: Batch,
    /// The position last saved, to save only changes.
    saved: Option<State>,
}

/// Reads the log at `path` into `store` (see the module doc). `rejected(file, line, reason)` is
/// called for each line that is not an Event. Returns when the file is read (without
/// `follow`), or when `stop` is set (the batch read so far is appended and the position saved).
pub fn ingest(
    path: &Path,
    store: &dyn Store,
    models: &mut ModelMap,
    opts: &Options,
    stop: &AtomicBool,
    rejected: &mut dyn FnMut(&Path, u64, &str),
) -> Result<Report, IngestError> {
    let mut ing = Ingest {
        path,
        store,
        models,
        opts,
        stop,
        rejected,
        report: Report::default(),
        batch: Batch {
            records: Vec::new(),
        },
        saved: None,
    };
    ing.run()?;
    Ok(ing.report)
}

impl Ingest<'_> {
    fn run(&mut self) -> Result<(), IngestError> {
        if !self.wait_for_file() {
            return Ok(());
        }
        let mut reader = self.start()?;
        loop {
            let eof = self.read_some(&mut reader)?;
            if !eof {
                if self.stop.load(Ordering::Acquire) {
                    return self.flush(&reader);
                }
                continue;
            }
            if !self.opts.follow {
                self.finish_file(&mut reader)?;
                return self.flush(&reader);
            }
            self.flush(&reader)?;
            if self.stop.load(Ordering::Acquire) {
                return Ok(());
            }
            // At the end: has the path moved on to another file, or was this one truncated?
            match std::fs::metadata(self.path) {
                Ok(m) if identity(&m) != reader.id => {
                    // Rotated: finish the old file (anything written before the rename), then
                    // start the new one.
                    self.read_to_end(&mut reader)?;
                    self.finish_file(&mut reader)?;
                    self.flush(&reader)?;
                    let next = Reader::open(self.path, 0, 0)?;
                    self.report.rotations += 1;
                    tracing::info!(file = %self.path.display(), "log rotated; reading the new file");
                    reader = next;
                    self.save(&reader)?;
                    continue;
                }
                Ok(m) if m.len() < reader.offset => {
                    tracing::warn!(file = %self.path.display(), "log truncated; reading it from its start");
                    self.report.rotations += 1;
                    reader = Reader::open(self.path, 0, 0)?;
                    self.save(&reader)?;
                    continue;
                }
                _ => {}
            }
            self.checkpoint();
            std::thread::sleep(self.opts.poll);
        }
    }

    fn checkpoint(&self) {
        if let Err(e) = self.store.checkpoint_if_due() {
            tracing::warn!(error = %e, "checkpoint not signed");
        }
    }

    /// Opens the file at the saved position, finishing a file rotated away while stopped.
    /// With `follow`, waits for a log that does not exist yet (the API server creates it on its
    /// first event), like `tail -F`; false when stopped first. Without `follow` there is nothing
    /// to wait for: `start` reports the missing file.
    fn wait_for_file(&self) -> bool {
        if !self.opts.follow {
            return true;
        }
        let missing = || {
            matches!(std::fs::metadata(self.path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        };
        if missing() {
            tracing::info!(file = %self.path.display(), "the log does not exist yet; waiting for it");
        }
        while missing() {
            if self.stop.load(Ordering::Acquire) {
                return false;
            }
            std::thread::sleep(self.opts.poll);
        }
        true
    }

    fn start(&mut self) -> Result<Reader, IngestError> {
        let state = State::load(&self.opts.state)?;
        let meta = std::fs::metadata(self.path).map_err(|e| file_err(self.path, e))?;
        if !meta.is_file() {
            return Err(file_err(self.path, "not a regular file"));
        }
        let id = identity(&meta);
        let Some(st) = state else {
            return Reader::open(self.path, 0, 0);
        };
        if (st.dev, st.inode) == id {
            if meta.len() >= st.offset {
                return Reader::open(self.path, st.offset, st.line);
            }
            tracing::warn!(file = %self.path.display(), "the log is shorter than the saved position (truncated); reading it from its start");
            self.report.rotations += 1;
            return Reader::open(self.path, 0, 0);
        }
        match find_rotated(self.path, (st.dev, st.inode)) {
            Some(old) => {
                tracing::info!(old = %old.display(), "finishing the log rotated while stopped");
                let mut r = Reader::open(&old, st.offset, st.line)?;
                self.read_to_end(&mut r)?;
                self.finish_file(&mut r)?;
                self.flush(&r)?;
                self.report.rotations += 1;
            }
            None => tracing::warn!(
                file = %self.path.display(),
                "the log was replaced while stopped and the old file is gone; events written to \
                 it after the saved position may be missing"
            ),
        }
        Reader::open(self.path, 0, 0)
    }

    fn read_to_end(&mut self, r: &mut Reader) -> Result<(), IngestError> {
        while !self.read_some(r)? {}
        Ok(())
    }

    /// Reads one chunk and processes its complete lines; whether the file's end was reached.
    fn read_some(&mut self, r: &mut Reader) -> Result<bool, IngestError> {
        let mut chunk = vec![0u8; 1 << 20];
        let n = r.file.read(&mut chunk).map_err(|e| file_err(&r.name, e))?;
        if n == 0 {
            return Ok(true);
        }
        let mut rest = &chunk[..n];
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(i);
            rest = &tail[1..];
            let consumed = (r.pending.len() + head.len() + 1) as u64 + r.skipped;
            if r.skipping {
                r.skipping = false;
                r.skipped = 0;
            } else if r.pending.is_empty() {
                self.line(r, head)?;
            } else {
                let mut line = std::mem::take(&mut r.pending);
                line.extend_from_slice(head);
                self.line(r, &line)?;
            }
            r.offset += consumed;
            r.line += 1;
            if self.batch.records.len() >= self.opts.batch {
                self.flush(r)?;
            }
        }
        if !rest.is_empty() {
            if r.skipping {
                r.skipped += rest.len() as u64;
            } else {
                r.pending.extend_from_slice(rest);
                if r.pending.len() > self.opts.max_line {
                    (self.rejected)(
                        &r.name,
                        r.line + 1,
                        &format!(
                            "the line is over the {}-byte limit; skipped",
                            self.opts.max_line
                        ),
                    );
                    self.report.rejected += 1;
                    r.skipping = true;
                    r.skipped = r.pending.len() as u64;
                    r.pending = Vec::new();
                }
            }
        }
        Ok(false)
    }

    /// At the end of a file that will not grow: an incomplete last line is read if it is a
    /// whole Event.
    fn finish_file(&mut self, r: &mut Reader) -> Result<(), IngestError> {
        if r.pending.is_empty() || r.skipping {
            return Ok(());
        }
        let line = std::mem::take(&mut r.pending);
        if line.trim_ascii().is_empty() {
            r.offset += line.len() as u64;
            return Ok(());
        }
        match normalize::k8s_event(&line) {
            Ok(rec) => {
                self.batch.records.push(rec);
                r.offset += line.len() as u64;
                r.line += 1;
            }
            Err(e) => {
                if self.opts.follow {
                    // A rotated file: its last line is all there will be.
                    (self.rejected)(&r.name, r.line + 1, &e.to_string());
                    self.report.rejected += 1;
                    r.offset += line.len() as u64;
                    r.line += 1;
                } else {
                    (self.rejected)(
                        &r.name,
                        r.line + 1,
                        &format!("incomplete last line, left for the next run: {e}"),
                    );
                    r.pending = line;
                }
            }
        }
        Ok(())
    }

    fn line(&mut self, r: &Reader, line: &[u8]) -> Result<(), IngestError> {
        if line.trim_ascii().is_empty() {
            return Ok(());
        }
        match normalize::k8s_event(line) {
            Ok(rec) => self.batch.records.push(rec),
            Err(e) => {
                (self.rejected)(&r.name, r.line + 1, &e.to_string());
                self.report.rejected += 1;
            }
        }
        Ok(())
    }

    /// Appends the batch (retrying while the store is unavailable and following), then saves
    /// the position.
    fn flush(&mut self, r: &Reader) -> Result<(), IngestError> {
        if !self.batch.records.is_empty() {
            {
                let records = &mut self.batch.records;
                for rec in records.iter_mut() {
                    if let Some(b) = self.models.resolve(rec) {
                        self.models.learn(&b);
                    }
                }
            }
            let mut wait = Duration::from_millis(500);
            let summary = loop {
                match self.store.append(&self.batch.records) {
                    Ok(s) => break s,
                    Err(e) if e.is_unavailable() && self.opts.follow => {
                        tracing::warn!(error = %e, "store unavailable; retrying");
                        let until = Instant::now() + wait;
                        while Instant::now() < until {
                            if self.stop.load(Ordering::Acquire) {
                                // Not durable: keep the old position, the next run replays.
                                return Err(e.into());
                            }
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        wait = (wait * 2).min(Duration::from_secs(30));
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            self.report.appended += summary.appended;
            self.report.duplicates += summary.duplicates;
            self.batch.records.clear();
        }
        self.save(r)
    }

    fn save(&mut self, r: &Reader) -> Result<(), IngestError> {
        let st = State {
            path: self.path.display().to_string(),
            dev: r.id.0,
            inode: r.id.1,
            offset: r.offset,
            line: r.line,
        };
        if self.saved.as_ref() == Some(&st) {
            return Ok(());
        }
        st.save(&self.opts.state)?;
        self.saved = Some(st);
        Ok(())
    }
}
