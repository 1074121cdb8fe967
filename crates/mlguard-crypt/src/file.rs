//! Whole files and folder trees: encrypt, decrypt, rewrap, and random access to the plaintext.
//!
//! Files are worked on segment by segment with positioned reads and writes, every segment on
//! any core (rayon): memory stays at a few segments per thread whatever the file size. Output
//! is written under a temporary name next to the target and renamed into place only when
//! everything verified, so a failure never leaves plaintext (or a half-written file) behind.

use crate::format::{Header, Meta, ALGORITHM};
use crate::provider::{unlock, KeyProvider};
use crate::stream::{self, Body, SEGMENT};
use crate::{DataKey, Error};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Called with the number of plaintext bytes just done (for progress bars); from any thread.
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// A progress callback that ignores everything.
pub fn no_progress(_: u64) {}

/// Options of encryption.
#[derive(Debug, Clone, Default)]
pub struct EncryptOptions {
    /// Record the plaintext's SHA-256 in the header (a sequential pass before encrypting).
    pub digest: bool,
}

/// Segments handed to the pool at once when streaming (stdin/stdout).
const STREAM_BATCH: usize = 8;

/// A fresh data key wrapped by every provider (the first one generates it).
pub fn new_key(providers: &[Box<dyn KeyProvider>]) -> Result<(DataKey, Vec<crate::Stanza>), Error> {
    let Some((first, rest)) = providers.split_first() else {
        return Err(Error::Key(
            "no key given: pass --key, --recipient or --kms".into(),
        ));
    };
    let (key, stanza) = first.generate()?;
    let mut stanzas = vec![stanza];
    for p in rest {
        stanzas.push(p.wrap(&key)?);
    }
    Ok((key, stanzas))
}

fn sha256_file(path: &Path, progress: Progress<'_>) -> Result<String, Error> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        progress(0);
    }
    Ok(hex(ctx.finish().as_ref()))
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A temporary path next to `target` (same filesystem, so rename is atomic).
fn temp_next_to(target: &Path) -> PathBuf {
    let mut rnd = [0u8; 6];
    let _ = crate::key::random_fill(&mut rnd);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    target.with_file_name(format!(".{name}.mlguard-tmp-{}", hex(&rnd)))
}

/// Removes the temporary file on drop unless it was published.
struct Temp {
    path: PathBuf,
    done: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.done {
            let _ =
                std::fs::remove_file(&self.path).or_else(|_| std::fs::remove_dir_all(&self.path));
        }
    }
}

fn create_temp(target: &Path) -> Result<(File, Temp), Error> {
    let path = temp_next_to(target);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    Ok((f, Temp { path, done: false }))
}

fn publish(f: &File, mut temp: Temp, target: &Path) -> Result<(), Error> {
    f.sync_all().map_err(|e| Error::io(&temp.path, e))?;
    std::fs::rename(&temp.path, target).map_err(|e| Error::io(target, e))?;
    temp.done = true;
    Ok(())
}

/// Encrypt the file `input` to `output` for `providers`. Returns the header written.
pub fn encrypt_file(
    input: &Path,
    output: &Path,
    providers: &[Box<dyn KeyProvider>],
    opts: &EncryptOptions,
    progress: Progress<'_>,
) -> Result<Header, Error> {
    let (key, stanzas) = new_key(providers)?;
    encrypt_file_with(input, output, &key, stanzas, opts, progress)
}

/// Encrypt with a given data key and stanzas (a folder tree shares one provider call per file).
pub fn encrypt_file_with(
    input: &Path,
    output: &Path,
    key: &DataKey,
    stanzas: Vec<crate::Stanza>,
    opts: &EncryptOptions,
    progress: Progress<'_>,
) -> Result<Header, Error> {
    let inf = File::open(input).map_err(|e| Error::io(input, e))?;
    let size = inf.metadata().map_err(|e| Error::io(input, e))?.len();
    let sha256 = if opts.digest {
        Some(sha256_file(input, &no_progress)?)
    } else {
        None
    };
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta = Meta {
        algorithm: ALGORITHM.into(),
        segment_size: SEGMENT as u32,
        name,
        size: Some(size),
        sha256,
    };
    let header = Header::new(meta, stanzas, key);
    let hb = header.to_bytes();
    let (body, sh) = Body::create(key, header.aad())?;
    let (out, temp) = create_temp(output)?;
    let base = hb.len() as u64;
    let total = base + stream::ciphertext_len(size);
    out.set_len(total).map_err(|e| Error::io(&temp.path, e))?;
    out.write_all_at(&hb, 0)
        .map_err(|e| Error::io(&temp.path, e))?;
    out.write_all_at(&sh, base)
        .map_err(|e| Error::io(&temp.path, e))?;
    let n = stream::segments(size);
    (0..n).into_par_iter().try_for_each_init(
        || Vec::with_capacity(SEGMENT),
        |buf, i| -> Result<(), Error> {
            let (off, len) = stream::plain_range(i, size);
            buf.clear();
            buf.resize(len, 0);
            inf.read_exact_at(buf, off)
                .map_err(|e| Error::io(input, e))?;
            body.seal(i as u32, i + 1 == n, buf);
            out.write_all_at(buf, base + stream::cipher_offset(i))
                .map_err(|e| Error::io(&temp.path, e))?;
            progress(len as u64);
            Ok(())
        },
    )?;
    publish(&out, temp, output)?;
    Ok(header)
}

/// Encrypt a stream (stdin) of unknown length to `out`: batches of segments in parallel, written
/// in order. The header records no size and no digest.
pub fn encrypt_stream(
    input: &mut impl Read,
    out: &mut impl Write,
    name: &str,
    providers: &[Box<dyn KeyProvider>],
    progress: Progress<'_>,
) -> Result<Header, Error> {
    let (key, stanzas) = new_key(providers)?;
    let meta = Meta {
        algorithm: ALGORITHM.into(),
        segment_size: SEGMENT as u32,
        name: name.into(),
        size: None,
        sha256: None,
    };
    let header = Header::new(meta, stanzas, &key);
    let (body, sh) = Body::create(&key, header.aad())?;
    let stdout = || Error::io("<stdout>", std::io::Error::other("write failed"));
    out.write_all(&header.to_bytes())
        .map_err(|e| Error::io("<stdout>", e))?;
    out.write_all(&sh).map_err(|e| Error::io("<stdout>", e))?;
    pipeline(
        |first| {
            read_full(
                input,
                if first {
                    stream::FIRST_PLAIN
                } else {
                    stream::PLAIN
                },
            )
        },
        &|i, last, buf| {
            body.seal(i, last, buf);
            Ok(())
        },
        |b| {
            out.write_all(b).map_err(|_| stdout())?;
            progress((b.len() - stream::TAG) as u64);
            Ok(())
        },
    )?;
    out.flush().map_err(|e| Error::io("<stdout>", e))?;
    Ok(header)
}

/// What the pipeline does to segment `index` (`last`: the stream's final segment).
type SegmentWork<'a> = dyn Fn(u32, bool, &mut Vec<u8>) -> Result<(), Error> + Sync + 'a;

/// One segment's worth of `r` (fewer bytes only at its end), and whether it was full.
fn read_full(r: &mut impl Read, want: usize) -> Result<(Vec<u8>, bool), Error> {
    let mut buf = Vec::with_capacity(want + stream::TAG);
    r.take(want as u64)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("<stdin>", e))?;
    let full = buf.len() == want;
    Ok((buf, full))
}

/// A batch of segments read in order; true when the stream ended in it.
fn read_batch(
    read: &mut impl FnMut(bool) -> Result<(Vec<u8>, bool), Error>,
    first: bool,
) -> Result<(Vec<Vec<u8>>, bool), Error> {
    let mut batch = Vec::with_capacity(STREAM_BATCH);
    while batch.len() < STREAM_BATCH {
        let (seg, full) = read(first && batch.is_empty())?;
        // Only the very first segment of a stream may be empty (an empty plaintext).
        if seg.is_empty() && !(first && batch.is_empty()) {
            return Ok((batch, true));
        }
        batch.push(seg);
        if !full {
            return Ok((batch, true));
        }
    }
    Ok((batch, false))
}

/// Stream segments through `work(index, last, buf)` and out through `emit`, in order: while
/// one batch is worked on by the pool, this thread reads the next (the reader and the writer
/// stay on this thread: stdin and stdout locks cannot move). A segment is known to be the last
/// once the read after it found the end.
fn pipeline(
    mut read: impl FnMut(bool) -> Result<(Vec<u8>, bool), Error>,
    work: &SegmentWork<'_>,
    mut emit: impl FnMut(&[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let (mut cur, mut eof) = read_batch(&mut read, true)?;
    let mut index: u64 = 0;
    loop {
        let n = cur.len();
        if index + n as u64 > u64::from(u32::MAX) {
            return Err(Error::Format(
                "more segments than the format allows (2^32)".into(),
            ));
        }
        let (head, tail) = cur.split_at_mut(n - 1);
        let (next, done) = std::thread::scope(|s| {
            let worker = s.spawn(|| {
                head.par_iter_mut()
                    .enumerate()
                    .try_for_each(|(j, b)| work((index + j as u64) as u32, false, b))
            });
            let next = if eof {
                Ok((Vec::new(), true))
            } else {
                read_batch(&mut read, false)
            };
            let done = worker
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (next, done)
        });
        done?;
        let (next, next_eof) = next?;
        let last = next.is_empty();
        work((index + n as u64 - 1) as u32, last, &mut tail[0])?;
        for b in &cur {
            emit(b)?;
        }
        index += n as u64;
        if last {
            return Ok(());
        }
        cur = next;
        eof = next_eof;
    }
}

/// Read the header of an encrypted file (no key needed).
pub fn read_header(path: &Path) -> Result<Header, Error> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    Header::read(&mut BufReader::new(f))
        .map_err(|e| Error::Format(format!("{}: {e}", path.display())))
}

/// An opened encrypted file: header verified, key unwrapped, any plaintext range readable.
#[derive(Debug)]
pub struct Decryptor {
    path: PathBuf,
    file: File,
    header: Header,
    body: Body,
    base: u64,
    plain: u64,
    segments: u64,
}

impl Decryptor {
    /// Open `path` with any of `providers`.
    pub fn open(path: &Path, providers: &[Box<dyn KeyProvider>]) -> Result<Self, Error> {
        let header = read_header(path)?;
        let key = unlock(&header, providers)?;
        Self::with_key(path, header, &key)
    }

    /// Open with a known data key (header already read).
    pub fn with_key(path: &Path, header: Header, key: &DataKey) -> Result<Self, Error> {
        header.verify(key)?;
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let base = header.len() as u64;
        let cipher = len.saturating_sub(base);
        let plain = stream::plaintext_len(cipher)?;
        if let Some(size) = header.meta.size {
            if size != plain {
                return Err(Error::Auth(format!(
                    "the header says {size} plaintext bytes but the body holds {plain}: truncated or extended"
                )));
            }
        }
        let mut sh = [0u8; stream::HEADER];
        file.read_exact_at(&mut sh, base)
            .map_err(|e| Error::io(path, e))?;
        let body = Body::open(key, header.aad(), &sh)?;
        Ok(Decryptor {
            path: path.to_owned(),
            file,
            header,
            body,
            base,
            plain,
            segments: stream::segments(plain),
        })
    }

    /// The verified header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Plaintext size.
    pub fn size(&self) -> u64 {
        self.plain
    }

    /// Decrypt segment `i` into `buf`.
    fn segment(&self, i: u64, buf: &mut Vec<u8>) -> Result<(), Error> {
        let (_, len) = stream::plain_range(i, self.plain);
        buf.clear();
        buf.resize(len + stream::TAG, 0);
        self.file
            .read_exact_at(buf, self.base + stream::cipher_offset(i))
            .map_err(|e| Error::io(&self.path, e))?;
        self.body
            .open_segment(i as u32, i + 1 == self.segments, buf)
    }

    /// The plaintext bytes `[offset, offset + len)` (clipped to the end), reading and
    /// authenticating only the segments that hold them.
    pub fn read_range(&self, offset: u64, len: usize) -> Result<Vec<u8>, Error> {
        let end = (offset.saturating_add(len as u64)).min(self.plain);
        let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
        if offset >= end {
            return Ok(out);
        }
        let first = segment_of(offset);
        let last = segment_of(end - 1);
        let mut buf = Vec::with_capacity(SEGMENT);
        for i in first..=last {
            self.segment(i, &mut buf)?;
            let (start, _) = stream::plain_range(i, self.plain);
            let from = offset.max(start) - start;
            let to = end.min(start + buf.len() as u64) - start;
            out.extend_from_slice(&buf[from as usize..to as usize]);
        }
        Ok(out)
    }

    /// Decrypt everything to `output` (temporary name, verified, then renamed into place).
    pub fn decrypt_to(&self, output: &Path, progress: Progress<'_>) -> Result<(), Error> {
        let (out, temp) = create_temp(output)?;
        out.set_len(self.plain)
            .map_err(|e| Error::io(&temp.path, e))?;
        (0..self.segments).into_par_iter().try_for_each_init(
            || Vec::with_capacity(SEGMENT),
            |buf, i| -> Result<(), Error> {
                self.segment(i, buf)?;
                let (start, _) = stream::plain_range(i, self.plain);
                out.write_all_at(buf, start)
                    .map_err(|e| Error::io(&temp.path, e))?;
                progress(buf.len() as u64);
                Ok(())
            },
        )?;
        if let Some(want) = &self.header.meta.sha256 {
            let got = sha256_file(&temp.path, &no_progress)?;
            if &got != want {
                return Err(Error::Auth(format!(
                    "plaintext SHA-256 {got} is not the header's {want}"
                )));
            }
        }
        publish(&out, temp, output)
    }
}

fn segment_of(offset: u64) -> u64 {
    if offset < stream::FIRST_PLAIN as u64 {
        0
    } else {
        1 + (offset - stream::FIRST_PLAIN as u64) / stream::PLAIN as u64
    }
}

/// Decrypt a stream (stdin) to `out`, in order. Every segment is authenticated before it is
/// written; a stream cut short fails at its end (the segment before the cut was not sealed as
/// the last), after the authentic prefix was written: callers writing to a pipe must check the
/// exit status. Files are safer: [`Decryptor::decrypt_to`] publishes nothing until all verified.
pub fn decrypt_stream(
    input: &mut impl Read,
    out: &mut impl Write,
    providers: &[Box<dyn KeyProvider>],
    progress: Progress<'_>,
) -> Result<Header, Error> {
    let header = Header::read(input)?;
    let key = unlock(&header, providers)?;
    let mut sh = [0u8; stream::HEADER];
    input
        .read_exact(&mut sh)
        .map_err(|_| Error::Auth("truncated before the body".into()))?;
    let body = Body::open(&key, header.aad(), &sh)?;
    let mut total: u64 = 0;
    pipeline(
        |first| {
            read_full(
                input,
                if first {
                    SEGMENT - stream::HEADER
                } else {
                    SEGMENT
                },
            )
        },
        &|i, last, buf| body.open_segment(i, last, buf),
        |b| {
            out.write_all(b).map_err(|e| Error::io("<stdout>", e))?;
            total += b.len() as u64;
            progress(b.len() as u64);
            Ok(())
        },
    )?;
    if let Some(size) = header.meta.size {
        if size != total {
            return Err(Error::Auth(format!(
                "the header says {size} plaintext bytes but the body held {total}"
            )));
        }
    }
    out.flush().map_err(|e| Error::io("<stdout>", e))?;
    Ok(header)
}

/// Replace the stanzas of `input` (written to `output`, which may be the same path): the body
/// bytes are copied unchanged. `keep_existing` keeps the old stanzas and adds those of
/// `wrap_with`; otherwise the new stanzas replace them (rotation). Providers that can rotate a
/// stanza without the data key (Vault Transit rewrap) do so for their own stanzas.
pub fn rewrap_file(
    input: &Path,
    output: &Path,
    open_with: &[Box<dyn KeyProvider>],
    wrap_with: &[Box<dyn KeyProvider>],
    keep_existing: bool,
) -> Result<Header, Error> {
    let mut header = read_header(input)?;
    let key = unlock(&header, open_with)?;
    let mut stanzas = if keep_existing {
        header.stanzas.clone()
    } else {
        Vec::new()
    };
    for p in wrap_with {
        let rotated = header
            .stanzas
            .iter()
            .filter(|s| s.kind == p.kind())
            .find_map(|s| p.rewrap(s).transpose())
            .transpose()?;
        let s = match rotated {
            Some(s) => s,
            None => p.wrap(&key)?,
        };
        if keep_existing {
            stanzas.retain(|old| !(old.kind == s.kind && old.args == s.args));
        }
        stanzas.push(s);
    }
    if stanzas.is_empty() {
        return Err(Error::Key(
            "rewrap would leave no stanza: give a key to wrap with".into(),
        ));
    }
    let old_len = header.len() as u64;
    header.set_stanzas(stanzas, &key);
    let inf = File::open(input).map_err(|e| Error::io(input, e))?;
    let (mut out, temp) = create_temp(output)?;
    out.write_all(&header.to_bytes())
        .map_err(|e| Error::io(&temp.path, e))?;
    let mut r = BufReader::new(inf);
    std::io::copy(&mut (&mut r).take(old_len), &mut std::io::sink())
        .map_err(|e| Error::io(input, e))?;
    std::io::copy(&mut r, &mut out).map_err(|e| Error::io(&temp.path, e))?;
    publish(&out, temp, output)?;
    Ok(header)
}

/// Regular files under `root` (relative paths, sorted). Symlinks that resolve inside `root` are
/// followed; one that leads out of it is an error naming it.
pub fn tree_files(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let canon_root = root.canonicalize().map_err(|e| Error::io(root, e))?;
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let path = entry.path();
            let ft = entry.file_type().map_err(|e| Error::io(&path, e))?;
            let r = rel.join(entry.file_name());
            if ft.is_symlink() {
                let target = path.canonicalize().map_err(|e| Error::io(&path, e))?;
                if !target.starts_with(&canon_root) {
                    return Err(Error::Format(format!(
                        "{}: a symlink out of the tree (to {}); copy the file in or point at the real folder",
                        path.display(),
                        target.display()
                    )));
                }
                if target.is_dir() {
                    return Err(Error::Format(format!(
                        "{}: a symlink to a folder; only symlinks to files are followed",
                        path.display()
                    )));
                }
                out.push(r);
            } else if ft.is_dir() {
                stack.push(r);
            } else if ft.is_file() {
                out.push(r);
            }
        }
    }
    out.sort();
    Ok(out)
}
