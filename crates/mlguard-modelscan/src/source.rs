//! The bytes of a file to scan: small files are read, large ones are memory-mapped read-only so
//! that a multi-GiB checkpoint costs only the pages the scan touches (headers, central directory,
//! pickles), never its tensor data.
//!
//! The one `unsafe` of the crate is here. Mapping is sound as long as nobody truncates the file
//! while it is scanned (the kernel would then raise SIGBUS on a touched page); the scanner reads
//! model files, which are written once and then read, the same assumption `safetensors` and
//! ripgrep make.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::Path;

/// Files up to this size are read into memory instead of mapped.
const READ_LIMIT: u64 = 4 << 20;

/// A file's content.
#[derive(Debug)]
pub enum Bytes {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Read(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

/// Open `path` for scanning.
pub fn open(path: &Path) -> std::io::Result<Bytes> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    if len <= READ_LIMIT {
        let mut v = Vec::with_capacity(len as usize);
        f.read_to_end(&mut v)?;
        return Ok(Bytes::Read(v));
    }
    // SAFETY: the map is read-only and private; the only hazard is a concurrent truncation of
    // the file (see the module documentation).
    #[allow(unsafe_code)]
    let m = unsafe { memmap2::Mmap::map(&f)? };
    Ok(Bytes::Mapped(m))
}
