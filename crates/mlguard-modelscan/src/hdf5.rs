//! Keras HDF5 models (`.h5`, `.hdf5`): the Keras configuration in the root group's attributes.
//!
//! A Keras 2 (and Keras 3 legacy) `.h5` model keeps its architecture as JSON in the root group's
//! `model_config` attribute (and its compile settings in `training_config`); loading it
//! deserializes that configuration, Lambda layers and custom objects included. This module reads
//! just enough of HDF5 to find those two attributes and hands them to
//! [`crate::keras::scan_keras_config`]:
//! - the superblock, versions 0 to 3, at byte 0, 512, 1024, 2048... (after a user block);
//! - the root group's object header, version 1 and version 2 (`OHDR`), following continuation
//!   messages (`OCHK` blocks for version 2);
//! - attribute messages (versions 1 to 3) whose datatype is a fixed-length string (bytes inline,
//!   what h5py writes for `bytes`) or a variable-length string (an ID into a global heap
//!   collection `GCOL`, what h5py writes for `str`).
//!
//! Not read: dense attribute storage (a fractal heap and v2 B-tree, used for many or large
//! attributes with the latest file format) and shared (SOHM) attribute messages. When
//! `model_config` or `training_config` is not among the compact attributes and the root group has
//! dense storage or shared attributes, the result is MS003 ("not verifiably safe") rather than a
//! silent pass. A file without `model_config` holds only weights (a Keras 3 `model.weights.h5`):
//! no finding. Structural errors are MS003. Only the superblock, the root object header and the
//! attribute values are touched, so a multi-GiB memory-mapped file costs a few pages.

use crate::finding::FileFinding;
use crate::keras::scan_keras_config;
use std::borrow::Cow;

const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";
/// Object header messages read (all blocks together) before giving up (MS003).
const MAX_MESSAGES: usize = 1 << 16;
/// Continuation blocks followed before giving up (MS003).
const MAX_BLOCKS: usize = 1024;

const MSG_ATTRIBUTE: u16 = 0x000C;
const MSG_CONTINUATION: u16 = 0x0010;
const MSG_ATTRIBUTE_INFO: u16 = 0x0015;
/// Object header message flag: the message is shared (stored elsewhere).
const MSG_FLAG_SHARED: u8 = 0x02;

/// The root attributes that hold Keras configurations.
const CONFIG_ATTRIBUTES: &[&str] = &["model_config", "training_config"];

/// The HDF5 signature at byte 0, 512, 1024, 2048... (where a superblock may be).
pub fn looks_like_hdf5(data: &[u8]) -> bool {
    find_superblock(data).is_some()
}

fn find_superblock(data: &[u8]) -> Option<usize> {
    let mut pos = 0usize;
    loop {
        let end = pos.checked_add(SIGNATURE.len())?;
        if end > data.len() {
            return None;
        }
        if &data[pos..end] == SIGNATURE {
            return Some(pos);
        }
        pos = if pos == 0 { 512 } else { pos.checked_mul(2)? };
    }
}

/// Analyse a Keras HDF5 file: the root group's `model_config` and `training_config` attributes
/// through [`scan_keras_config`].
pub fn scan_keras_h5(data: &[u8]) -> Vec<FileFinding> {
    let root = match read_root(data) {
        Ok(r) => r,
        Err(Bad(why)) => {
            return vec![FileFinding::incomplete(format!(
                "the HDF5 structure could not be read: {why}"
            ))]
        }
    };
    let mut out = Vec::new();
    for name in CONFIG_ATTRIBUTES {
        match root.configs.iter().find(|(n, _, _)| n == name) {
            Some((_, Ok(text), at)) => {
                for f in scan_keras_config(text) {
                    let f = if f.offset.is_none() { f.at(*at) } else { f };
                    out.push(f);
                }
            }
            Some((_, Err(Bad(why)), at)) => out.push(
                FileFinding::incomplete(format!("the {name} attribute could not be read: {why}"))
                    .at(*at)
                    .global(*name),
            ),
            None if root.dense_attributes || root.shared_attributes => {
                let storage = if root.dense_attributes {
                    "dense attribute storage"
                } else {
                    "shared attribute messages"
                };
                out.push(
                    FileFinding::incomplete(format!(
                        "{name} may be in {storage}, which is not read"
                    ))
                    .global(*name),
                );
            }
            None => {}
        }
    }
    out
}

/// Why the file could not be read.
#[derive(Debug)]
struct Bad(String);

fn bad<T>(why: impl Into<String>) -> Result<T, Bad> {
    Err(Bad(why.into()))
}

/// A configuration attribute: its name, its text or why it could not be read, and the offset of
/// its message.
type Config<'a> = (&'static str, Result<Cow<'a, [u8]>, Bad>, u64);

/// What the root group's object header says about the configuration attributes.
struct Root<'a> {
    configs: Vec<Config<'a>>,
    dense_attributes: bool,
    shared_attributes: bool,
}

/// The file, its superblock's sizes and base address.
struct File<'a> {
    data: &'a [u8],
    base: u64,
    offset_size: usize,
    length_size: usize,
}

/// Little-endian unsigned integer of 1 to 8 bytes.
fn uint(b: &[u8]) -> u64 {
    b.iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

/// A cursor over a slice, every read checked.
struct Cur<'a> {
    d: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn new(d: &'a [u8]) -> Self {
        Cur { d, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.d.len());
        match end {
            Some(end) => {
                let s = &self.d[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => bad(format!(
                "{n} bytes wanted at {} of a {}-byte structure",
                self.pos,
                self.d.len()
            )),
        }
    }
    fn u8(&mut self) -> Result<u8, Bad> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Bad> {
        Ok(uint(self.take(2)?) as u16)
    }
    fn u32(&mut self) -> Result<u32, Bad> {
        Ok(uint(self.take(4)?) as u32)
    }
    fn uint(&mut self, n: usize) -> Result<u64, Bad> {
        Ok(uint(self.take(n)?))
    }
    fn rest(&self) -> usize {
        self.d.len() - self.pos
    }
}

fn valid_size(n: u8) -> bool {
    matches!(n, 2 | 4 | 8)
}

impl<'a> File<'a> {
    fn undefined(&self, addr: u64) -> bool {
        let bits = 8 * self.offset_size as u32;
        addr == u64::MAX >> (64 - bits)
    }

    /// `len` bytes at relative address `addr`.
    fn at(&self, addr: u64, len: u64) -> Result<&'a [u8], Bad> {
        let start = self
            .base
            .checked_add(addr)
            .filter(|&s| s <= self.data.len() as u64);
        let Some(start) = start else {
            return bad(format!("address {addr} is past the end of the file"));
        };
        let end = start
            .checked_add(len)
            .filter(|&e| e <= self.data.len() as u64);
        match end {
            Some(end) => Ok(&self.data[start as usize..end as usize]),
            None => bad(format!(
                "{len} bytes at address {addr} run past the end of the file"
            )),
        }
    }

    /// Everything from relative address `addr` to the end of the file.
    fn from(&self, addr: u64) -> Result<&'a [u8], Bad> {
        let start = self.base.checked_add(addr);
        match start.filter(|&s| s <= self.data.len() as u64) {
            Some(s) => Ok(&self.data[s as usize..]),
            None => bad(format!("address {addr} is past the end of the file")),
        }
    }

    fn abs(&self, slice: &[u8]) -> u64 {
        (slice.as_ptr() as usize).wrapping_sub(self.data.as_ptr() as usize) as u64
    }
}

/// Read the superblock and return the file description and the root object header's address.
fn superblock(data: &[u8]) -> Result<(File<'_>, u64), Bad> {
    let Some(at) = find_superblock(data) else {
        return bad("no HDF5 signature");
    };
    let mut c = Cur::new(&data[at..]);
    c.take(8)?;
    let version = c.u8()?;
    let (offset_size, length_size, root) = match version {
        0 | 1 => {
            c.take(4)?; // free-space, root symbol table, reserved, shared header versions
            let (o, l) = (c.u8()?, c.u8()?);
            if !valid_size(o) || !valid_size(l) {
                return bad(format!("sizes of offsets {o} and lengths {l}"));
            }
            c.take(1 + 2 + 2 + 4)?; // reserved, leaf K, internal K, consistency flags
            if version == 1 {
                c.take(4)?; // indexed storage K, reserved
            }
            let o = o as usize;
            c.take(4 * o)?; // base, free-space info, end of file, driver info addresses
            c.take(o)?; // root symbol table entry: link name offset
            let root = c.uint(o)?;
            (o, l as usize, root)
        }
        2 | 3 => {
            let (o, l) = (c.u8()?, c.u8()?);
            if !valid_size(o) || !valid_size(l) {
                return bad(format!("sizes of offsets {o} and lengths {l}"));
            }
            let o = o as usize;
            c.take(1)?; // consistency flags
            c.take(3 * o)?; // base, superblock extension, end of file addresses
            let root = c.uint(o)?;
            (o, l as usize, root)
        }
        v => return bad(format!("superblock version {v}")),
    };
    // Addresses count from the base address; like the HDF5 library, take the superblock's
    // position as the base (a user block before it shifts every address).
    let file = File {
        data,
        base: at as u64,
        offset_size,
        length_size,
    };
    if file.undefined(root) {
        return bad("the root group has no object header");
    }
    Ok((file, root))
}

/// One object header message.
struct Msg<'a> {
    kind: u16,
    flags: u8,
    data: &'a [u8],
}

#[derive(Clone, Copy, PartialEq)]
enum Block {
    V1,
    V2,
}

/// The messages of the object header at `addr`, continuation blocks followed.
fn object_header<'a>(f: &File<'a>, addr: u64) -> Result<Vec<Msg<'a>>, Bad> {
    let head = f.from(addr)?;
    let mut blocks: Vec<(&'a [u8], Block, bool)> = Vec::new();
    let mut c = Cur::new(head);
    if head.starts_with(b"OHDR") {
        c.take(4)?;
        let version = c.u8()?;
        if version != 2 {
            return bad(format!("object header version {version}"));
        }
        let flags = c.u8()?;
        if flags & 0x20 != 0 {
            c.take(16)?; // access, modification, change, birth times
        }
        if flags & 0x10 != 0 {
            c.take(4)?; // attribute phase change values
        }
        let size = c.uint(1 << (flags & 3))?;
        let order = flags & 0x04 != 0;
        let Ok(size) = usize::try_from(size) else {
            return bad("object header chunk too large");
        };
        blocks.push((c.take(size)?, Block::V2, order));
        return walk_blocks(f, blocks, order);
    }
    let version = c.u8()?;
    if version != 1 {
        return bad(format!("object header version {version}"));
    }
    c.take(1 + 2 + 4)?; // reserved, number of messages, reference count
    let size = c.u32()? as usize;
    c.take(4)?; // alignment of the messages to 8 bytes
    blocks.push((c.take(size)?, Block::V1, false));
    walk_blocks(f, blocks, false)
}

fn walk_blocks<'a>(
    f: &File<'a>,
    mut pending: Vec<(&'a [u8], Block, bool)>,
    order: bool,
) -> Result<Vec<Msg<'a>>, Bad> {
    let mut out = Vec::new();
    let mut seen: Vec<u64> = Vec::new();
    while let Some((block, kind, _)) = pending.pop() {
        let mut c = Cur::new(block);
        let header = match kind {
            Block::V1 => 8,
            Block::V2 if order => 6,
            Block::V2 => 4,
        };
        while c.rest() >= header {
            let (mtype, size, flags) = match kind {
                Block::V1 => {
                    let t = c.u16()?;
                    let s = c.u16()?;
                    let fl = c.u8()?;
                    c.take(3)?;
                    (t, s, fl)
                }
                Block::V2 => {
                    let t = u16::from(c.u8()?);
                    let s = c.u16()?;
                    let fl = c.u8()?;
                    if order {
                        c.take(2)?;
                    }
                    (t, s, fl)
                }
            };
            let data = c.take(size as usize)?;
            if out.len() >= MAX_MESSAGES {
                return bad(format!("more than {MAX_MESSAGES} object header messages"));
            }
            if mtype == MSG_CONTINUATION {
                let mut m = Cur::new(data);
                let off = m.uint(f.offset_size)?;
                let len = m.uint(f.length_size)?;
                if seen.contains(&off) {
                    return bad("object header continuation blocks form a loop");
                }
                if seen.len() >= MAX_BLOCKS {
                    return bad(format!("more than {MAX_BLOCKS} continuation blocks"));
                }
                seen.push(off);
                let b = f.at(off, len)?;
                match kind {
                    Block::V1 => pending.push((b, Block::V1, order)),
                    Block::V2 => {
                        if !b.starts_with(b"OCHK") || b.len() < 8 {
                            return bad("a continuation block without its OCHK signature");
                        }
                        pending.push((&b[4..b.len() - 4], Block::V2, order));
                    }
                }
            }
            out.push(Msg {
                kind: mtype,
                flags,
                data,
            });
        }
    }
    Ok(out)
}

fn read_root(data: &[u8]) -> Result<Root<'_>, Bad> {
    let (f, root) = superblock(data)?;
    let msgs = object_header(&f, root)?;
    let mut r = Root {
        configs: Vec::new(),
        dense_attributes: false,
        shared_attributes: false,
    };
    for m in &msgs {
        match m.kind {
            MSG_ATTRIBUTE if m.flags & MSG_FLAG_SHARED != 0 => r.shared_attributes = true,
            MSG_ATTRIBUTE => {
                let at = f.abs(m.data);
                match attribute(&f, m.data) {
                    Ok(Some((name, value))) => {
                        match r.configs.iter_mut().find(|(n, _, _)| *n == name) {
                            Some(slot) => {
                                *slot = (name, bad("it appears twice in the root group"), at)
                            }
                            None => r.configs.push((name, value, at)),
                        }
                    }
                    Ok(None) => {}
                    // An attribute whose header is unreadable might be the configuration.
                    Err(e) => return Err(e),
                }
            }
            MSG_ATTRIBUTE_INFO => {
                let mut c = Cur::new(m.data);
                let _version = c.u8()?;
                let flags = c.u8()?;
                if flags & 1 != 0 {
                    c.u16()?; // maximum creation index
                }
                let heap = c.uint(f.offset_size)?;
                if !f.undefined(heap) {
                    r.dense_attributes = true;
                }
            }
            _ => {}
        }
    }
    Ok(r)
}

fn pad8(n: usize) -> Result<usize, Bad> {
    match n.checked_add(7) {
        Some(x) => Ok(x & !7),
        None => bad("size overflow"),
    }
}

/// An attribute message: `Some((name, value))` when it is one of [`CONFIG_ATTRIBUTES`].
/// Header errors are `Err`; errors in a configuration's value are inside the `Some`.
#[allow(clippy::type_complexity)]
fn attribute<'a>(
    f: &File<'a>,
    d: &'a [u8],
) -> Result<Option<(&'static str, Result<Cow<'a, [u8]>, Bad>)>, Bad> {
    let mut c = Cur::new(d);
    let version = c.u8()?;
    let flags = c.u8()?;
    let name_size = c.u16()? as usize;
    let type_size = c.u16()? as usize;
    let space_size = c.u16()? as usize;
    let (name, dtype, space) = match version {
        1 => {
            let name = c.take(pad8(name_size)?)?;
            let dtype = c.take(pad8(type_size)?)?;
            let space = c.take(pad8(space_size)?)?;
            (
                &name[..name_size],
                &dtype[..type_size],
                &space[..space_size],
            )
        }
        2 | 3 => {
            if version == 3 {
                c.u8()?; // name character set
            }
            (c.take(name_size)?, c.take(type_size)?, c.take(space_size)?)
        }
        v => return bad(format!("attribute message version {v}")),
    };
    let name = trim_nul(name);
    let Some(&config) = CONFIG_ATTRIBUTES.iter().find(|n| n.as_bytes() == name) else {
        return Ok(None);
    };
    if version > 1 && flags & 0x03 != 0 {
        return Ok(Some((config, bad("its datatype or dataspace is shared"))));
    }
    let value = &d[c.pos..];
    Ok(Some((config, string_value(f, dtype, space, value))))
}

fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
    &b[..end]
}

/// Number of elements of a dataspace message.
fn elements(f: &File<'_>, space: &[u8]) -> Result<u64, Bad> {
    let mut c = Cur::new(space);
    let version = c.u8()?;
    let rank = c.u8()? as usize;
    let _flags = c.u8()?;
    match version {
        1 => {
            c.take(5)?;
        }
        2 => {
            if c.u8()? == 2 {
                return Ok(0); // null dataspace
            }
        }
        v => return bad(format!("dataspace version {v}")),
    }
    let mut n: u64 = 1;
    for _ in 0..rank {
        let d = c.uint(f.length_size)?;
        n = match n.checked_mul(d) {
            Some(n) => n,
            None => return bad("dataspace size overflows"),
        };
    }
    Ok(n)
}

/// The text of a scalar string attribute (fixed or variable length).
fn string_value<'a>(
    f: &File<'a>,
    dtype: &[u8],
    space: &[u8],
    value: &'a [u8],
) -> Result<Cow<'a, [u8]>, Bad> {
    let n = elements(f, space)?;
    if n != 1 {
        return bad(format!("{n} elements where Keras writes one string"));
    }
    let mut c = Cur::new(dtype);
    let class_version = c.u8()?;
    let bits = c.take(3)?;
    let size = c.u32()? as usize;
    match class_version & 0x0f {
        // Fixed-length string: the bytes inline, padded.
        3 => {
            let mut v = Cur::new(value);
            let s = v.take(size)?;
            let s = match bits[0] & 0x0f {
                0 => &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())],
                1 => trim_nul(s),
                _ => {
                    let end = s.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
                    &s[..end]
                }
            };
            Ok(Cow::Borrowed(s))
        }
        // Variable-length string: length, global heap collection address, object index.
        9 if bits[0] & 0x0f == 1 => {
            let mut v = Cur::new(value);
            let len = v.u32()? as u64;
            let collection = v.uint(f.offset_size)?;
            let index = v.u32()?;
            let object = global_heap_object(f, collection, index)?;
            if len > object.len() as u64 {
                return bad("a variable-length string longer than its heap object");
            }
            Ok(Cow::Borrowed(&object[..len as usize]))
        }
        9 => bad("a variable-length sequence, not a string"),
        class => bad(format!("datatype class {class}, not a string")),
    }
}

/// Object `index` of the global heap collection at `addr`.
fn global_heap_object<'a>(f: &File<'a>, addr: u64, index: u32) -> Result<&'a [u8], Bad> {
    let head = f.at(addr, 8 + f.length_size as u64)?;
    if !head.starts_with(b"GCOL") {
        return bad("a global heap collection without its GCOL signature");
    }
    let size = uint(&head[8..]);
    let collection = f.at(addr, size)?;
    let mut c = Cur::new(collection);
    c.take(head.len())?;
    while c.rest() >= 8 + f.length_size {
        let i = c.u16()?;
        c.take(2 + 4)?; // reference count, reserved
        let osize = c.uint(f.length_size)?;
        if i == 0 {
            break; // free space: the rest of the collection
        }
        let Ok(osize) = usize::try_from(osize) else {
            return bad("a global heap object too large");
        };
        let data = c.take(osize)?;
        if u32::from(i) == index {
            return Ok(data);
        }
        let skip = pad8(osize)? - osize;
        c.take(skip.min(c.rest()))?;
    }
    bad(format!(
        "object {index} is not in the global heap collection at {addr}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_positions() {
        let mut d = vec![0u8; 4096];
        assert!(!looks_like_hdf5(&d));
        d[2048..2056].copy_from_slice(SIGNATURE);
        assert!(looks_like_hdf5(&d));
        assert_eq!(find_superblock(&d), Some(2048));
        assert!(looks_like_hdf5(SIGNATURE));
        assert!(!looks_like_hdf5(&SIGNATURE[..7]));
        let mut e = vec![0u8; 700];
        e[100..108].copy_from_slice(SIGNATURE);
        assert!(!looks_like_hdf5(&e));
    }

    #[test]
    fn truncated_superblocks_are_errors() {
        let mut d = SIGNATURE.to_vec();
        for v in 0..4u8 {
            d.truncate(8);
            d.push(v);
            d.extend_from_slice(&[8; 20]);
            let r = scan_keras_h5(&d);
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].code, "MS003");
        }
    }
}
