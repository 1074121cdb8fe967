//! A lenient, bounded zip reader for model archives (PyTorch checkpoints, NumPy `.npz`, Keras
//! `.keras`).
//!
//! It reads archives the way the loaders that matter do, not the way a strict tool would, so that
//! tricks that make other scanners skip a member do not make this one skip it:
//! - the central directory is the truth for names, sizes and offsets (PyTorch's reader and Python's
//!   `zipfile` both use it); the local header is only used to find where the data starts, and a
//!   local name that differs from the central one is reported as a note, not a reason to skip;
//! - general-purpose flag bits (encryption 0x1, patched data 0x20, strong encryption 0x40) do not
//!   stop the reader: data that is not really encrypted is analysed as it is;
//! - CRC mismatches are not checked (PyTorch does not check them either);
//! - Zip64 end records, sizes and offsets are read;
//! - without a central directory, members are found by walking the local headers.
//!
//! All sizes and counts are checked against the input; nothing is allocated from an untrusted
//! length before that check, and inflated data is capped (zip bombs end in a finding).

use std::borrow::Cow;

/// One member of an archive.
#[derive(Debug, Clone)]
pub struct Member {
    /// Name from the central directory (lossy UTF-8).
    pub name: String,
    /// Name from the local header when it differs from the central one.
    pub local_name: Option<String>,
    pub method: u16,
    pub flags: u16,
    pub compressed_size: u64,
    pub size: u64,
    /// Offset of the local header.
    pub header_offset: u64,
    /// Offset of the member's (compressed) data, once [`locate`]d.
    pub data_offset: u64,
    /// The local header was read.
    pub located: bool,
}

impl Member {
    pub fn encrypted(&self) -> bool {
        self.flags & 0x41 != 0
    }
}

/// The members of an archive and how they were found.
#[derive(Debug, Default)]
pub struct Archive {
    pub members: Vec<Member>,
    /// Found by walking local headers because no central directory was readable.
    pub from_local_headers: bool,
    /// Problems that do not stop the reading (reported as notes).
    pub notes: Vec<String>,
}

/// Most members read from one archive.
pub const MAX_MEMBERS: usize = 1 << 20;

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        d.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}
fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        d.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

const EOCD: &[u8] = b"PK\x05\x06";
const EOCD64: &[u8] = b"PK\x06\x06";
const LOCATOR64: &[u8] = b"PK\x06\x07";
const CENTRAL: &[u8] = b"PK\x01\x02";
const LOCAL: &[u8] = b"PK\x03\x04";

/// Does the input start like a zip archive (a local header, or the end record of an empty one)?
pub fn looks_like_zip(head: &[u8]) -> bool {
    head.starts_with(LOCAL) || head.starts_with(EOCD) || head.starts_with(b"PK\x07\x08PK\x03\x04")
}

/// Read the member list. `Err` when nothing that looks like a member could be found.
pub fn read(data: &[u8]) -> Result<Archive, String> {
    match central(data) {
        Ok(a) => Ok(a),
        Err(why) => {
            let mut a = walk_local(data)?;
            a.notes.push(format!(
                "no usable central directory ({why}); members found from their local headers"
            ));
            Ok(a)
        }
    }
}

fn find_eocd(data: &[u8]) -> Option<usize> {
    // The end record is 22 bytes plus a comment of at most 65535 bytes.
    let lo = data.len().saturating_sub(22 + 65535);
    let hi = data.len().checked_sub(22)?;
    (lo..=hi).rev().find(|&i| &data[i..i + 4] == EOCD)
}

fn central(data: &[u8]) -> Result<Archive, String> {
    let e = find_eocd(data).ok_or("no end of central directory record")?;
    let mut count = u64::from(u16_at(data, e + 10).ok_or("truncated end record")?);
    let mut cd_size = u64::from(u32_at(data, e + 12).ok_or("truncated end record")?);
    let mut cd_off = u64::from(u32_at(data, e + 16).ok_or("truncated end record")?);
    // Zip64: a locator right before the end record points at the Zip64 end record.
    if e >= 20 && &data[e - 20..e - 16] == LOCATOR64 {
        let at = u64_at(data, e - 12).ok_or("truncated zip64 locator")?;
        let at = usize::try_from(at).map_err(|_| "zip64 end record offset out of range")?;
        if data.get(at..at + 4) != Some(EOCD64) {
            return Err("zip64 locator does not point at a zip64 end record".into());
        }
        count = u64_at(data, at + 32).ok_or("truncated zip64 end record")?;
        cd_size = u64_at(data, at + 40).ok_or("truncated zip64 end record")?;
        cd_off = u64_at(data, at + 48).ok_or("truncated zip64 end record")?;
    }
    let cd_off = usize::try_from(cd_off).map_err(|_| "central directory offset out of range")?;
    let cd_end = usize::try_from(cd_size)
        .ok()
        .and_then(|s| cd_off.checked_add(s))
        .filter(|&end| end <= data.len())
        .ok_or("central directory extends past the end of the file")?;
    // Each entry takes at least 46 bytes: the count cannot exceed what the directory can hold.
    if count > (cd_size / 46) + 1 || count as usize > MAX_MEMBERS {
        return Err(format!(
            "the end record claims {count} members, more than the central directory can hold"
        ));
    }
    let mut a = Archive::default();
    let mut at = cd_off;
    while at + 4 <= cd_end && &data[at..at + 4] == CENTRAL {
        if a.members.len() >= MAX_MEMBERS {
            return Err(format!("more than {MAX_MEMBERS} members"));
        }
        let m = central_entry(data, at)?;
        let name_len = usize::from(u16_at(data, at + 28).unwrap_or(0));
        let extra_len = usize::from(u16_at(data, at + 30).unwrap_or(0));
        let comment_len = usize::from(u16_at(data, at + 32).unwrap_or(0));
        a.members.push(m);
        at += 46 + name_len + extra_len + comment_len;
    }
    if a.members.is_empty() && count > 0 {
        return Err("the central directory holds no readable entry".into());
    }
    if a.members.len() as u64 != count {
        a.notes.push(format!(
            "the end record says {count} members, the central directory holds {}",
            a.members.len()
        ));
    }
    Ok(a)
}

fn name_of(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

fn central_entry(data: &[u8], at: usize) -> Result<Member, String> {
    let bad = || format!("truncated central directory entry at offset {at}");
    let flags = u16_at(data, at + 8).ok_or_else(bad)?;
    let method = u16_at(data, at + 10).ok_or_else(bad)?;
    let mut csize = u64::from(u32_at(data, at + 20).ok_or_else(bad)?);
    let mut size = u64::from(u32_at(data, at + 24).ok_or_else(bad)?);
    let name_len = usize::from(u16_at(data, at + 28).ok_or_else(bad)?);
    let extra_len = usize::from(u16_at(data, at + 30).ok_or_else(bad)?);
    let mut offset = u64::from(u32_at(data, at + 42).ok_or_else(bad)?);
    let name = data.get(at + 46..at + 46 + name_len).ok_or_else(bad)?;
    let extra = data
        .get(at + 46 + name_len..at + 46 + name_len + extra_len)
        .ok_or_else(bad)?;
    // Zip64 extended information: the fields that are 0xFFFFFFFF in the entry, in order.
    let mut e = 0usize;
    while e + 4 <= extra.len() {
        let id = u16_at(extra, e).unwrap_or(0);
        let len = usize::from(u16_at(extra, e + 2).unwrap_or(0));
        let body = extra.get(e + 4..e + 4 + len).unwrap_or(&[]);
        if id == 1 {
            let mut p = 0;
            for field in [&mut size, &mut csize, &mut offset] {
                if *field == 0xFFFF_FFFF {
                    if let Some(v) = u64_at(body, p) {
                        *field = v;
                        p += 8;
                    }
                }
            }
        }
        e += 4 + len;
    }
    // The local header is read only for members that are read ([`locate`]): a checkpoint's
    // tensor records are never touched.
    Ok(Member {
        name: name_of(name),
        local_name: None,
        method,
        flags,
        compressed_size: csize,
        size,
        header_offset: offset,
        data_offset: 0,
        located: false,
    })
}

/// Read a member's local header: where its data starts, and its local name when that differs
/// from the central one.
pub fn locate(data: &[u8], m: &mut Member) -> Result<(), String> {
    if m.located {
        return Ok(());
    }
    let (data_offset, local_name) = local_data(data, m.header_offset)?;
    m.data_offset = data_offset;
    m.local_name = local_name.filter(|l| *l != m.name);
    m.located = true;
    Ok(())
}

/// The data offset and name of the local header at `offset`.
fn local_data(data: &[u8], offset: u64) -> Result<(u64, Option<String>), String> {
    let at = usize::try_from(offset).map_err(|_| "local header offset out of range")?;
    if data.get(at..at + 4) != Some(LOCAL) {
        return Err(format!("no local header at offset {offset}"));
    }
    let name_len = usize::from(u16_at(data, at + 26).ok_or("truncated local header")?);
    let extra_len = usize::from(u16_at(data, at + 28).ok_or("truncated local header")?);
    let name = data
        .get(at + 30..at + 30 + name_len)
        .ok_or("truncated local header")?;
    Ok(((at + 30 + name_len + extra_len) as u64, Some(name_of(name))))
}

fn walk_local(data: &[u8]) -> Result<Archive, String> {
    let mut a = Archive {
        from_local_headers: true,
        ..Archive::default()
    };
    let mut at = 0usize;
    while data.get(at..at + 4) == Some(LOCAL) {
        if a.members.len() >= MAX_MEMBERS {
            break;
        }
        let bad = || format!("truncated local header at offset {at}");
        let flags = u16_at(data, at + 6).ok_or_else(bad)?;
        let method = u16_at(data, at + 8).ok_or_else(bad)?;
        let csize = u64::from(u32_at(data, at + 18).ok_or_else(bad)?);
        let size = u64::from(u32_at(data, at + 22).ok_or_else(bad)?);
        let (data_offset, name) = local_data(data, at as u64)?;
        if flags & 0x8 != 0 {
            // Sizes follow the data in a descriptor: nothing tells where the data ends.
            a.notes.push(format!(
                "member {:?} stores its size after its data; members after it are not found",
                name.clone().unwrap_or_default()
            ));
            a.members.push(Member {
                name: name.unwrap_or_default(),
                local_name: None,
                method,
                flags,
                compressed_size: (data.len() as u64).saturating_sub(data_offset),
                size,
                header_offset: at as u64,
                data_offset,
                located: true,
            });
            break;
        }
        a.members.push(Member {
            name: name.unwrap_or_default(),
            local_name: None,
            method,
            flags,
            compressed_size: csize,
            size,
            header_offset: at as u64,
            data_offset,
            located: true,
        });
        let next = data_offset.saturating_add(csize);
        at = match usize::try_from(next) {
            Ok(n) if n < data.len() => n,
            _ => break,
        };
    }
    if a.members.is_empty() {
        return Err("no zip member found".into());
    }
    Ok(a)
}

/// Why a member's content cannot be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// The member's data runs past the end of the archive.
    Truncated,
    /// A compression method this reader does not implement.
    Method(u16),
    /// Deflate data that does not decode (or really encrypted data).
    Corrupt(String),
    /// Inflates beyond the limit.
    TooLarge(u64),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::Truncated => write!(f, "its data runs past the end of the archive"),
            Unreadable::Method(m) => write!(f, "compression method {m} is not supported"),
            Unreadable::Corrupt(e) => write!(f, "its deflate data does not decode ({e})"),
            Unreadable::TooLarge(l) => {
                write!(f, "it inflates to more than {l} bytes (a zip bomb?)")
            }
        }
    }
}

/// The raw (still compressed) bytes of a member.
pub fn raw<'a>(data: &'a [u8], m: &Member) -> Result<&'a [u8], Unreadable> {
    if !m.located {
        return Err(Unreadable::Truncated);
    }
    let start = usize::try_from(m.data_offset).map_err(|_| Unreadable::Truncated)?;
    let len = usize::try_from(m.compressed_size).map_err(|_| Unreadable::Truncated)?;
    let end = start.checked_add(len).ok_or(Unreadable::Truncated)?;
    data.get(start..end).ok_or(Unreadable::Truncated)
}

/// The content of a member, inflated when deflated, at most `limit` bytes. Stored members are
/// borrowed from the archive.
pub fn content<'a>(data: &'a [u8], m: &Member, limit: u64) -> Result<Cow<'a, [u8]>, Unreadable> {
    let raw = raw(data, m)?;
    match m.method {
        0 => Ok(Cow::Borrowed(raw)),
        8 => {
            let cap = usize::try_from(limit).unwrap_or(usize::MAX);
            miniz_oxide::inflate::decompress_to_vec_with_limit(raw, cap)
                .map(Cow::Owned)
                .map_err(|e| match e.status {
                    miniz_oxide::inflate::TINFLStatus::HasMoreOutput => Unreadable::TooLarge(limit),
                    s => Unreadable::Corrupt(format!("{s:?}")),
                })
        }
        other => Err(Unreadable::Method(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored zip with the given members, written by hand (central directory included).
    pub(crate) fn build(members: &[(&str, &[u8])], flags: u16) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cd = Vec::new();
        for (name, body) in members {
            let off = out.len() as u32;
            out.extend_from_slice(LOCAL);
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(body);
            cd.extend_from_slice(CENTRAL);
            cd.extend_from_slice(&[20, 0, 20, 0]);
            cd.extend_from_slice(&flags.to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&[0; 8]);
            cd.extend_from_slice(&(body.len() as u32).to_le_bytes());
            cd.extend_from_slice(&(body.len() as u32).to_le_bytes());
            cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
            cd.extend_from_slice(&[0; 12]);
            cd.extend_from_slice(&off.to_le_bytes());
            cd.extend_from_slice(name.as_bytes());
        }
        let cd_off = out.len() as u32;
        out.extend_from_slice(&cd);
        out.extend_from_slice(EOCD);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_off.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn reads_members_and_ignores_flag_bits() {
        for flags in [0u16, 1, 0x20, 0x40] {
            let z = build(
                &[("a/data.pkl", b"\x80\x02N."), ("a/data/0", b"xyz")],
                flags,
            );
            let mut a = read(&z).unwrap();
            locate(&z, &mut a.members[0]).unwrap();
            assert_eq!(a.members.len(), 2);
            assert_eq!(a.members[0].name, "a/data.pkl");
            assert_eq!(&*content(&z, &a.members[0], 100).unwrap(), b"\x80\x02N.");
            assert!(!a.from_local_headers);
        }
    }

    #[test]
    fn falls_back_to_local_headers_without_central_directory() {
        let z = build(&[("x.pkl", b"\x80\x02N.")], 0);
        let cut = z.windows(4).position(|w| w == CENTRAL).unwrap();
        let a = read(&z[..cut]).unwrap();
        assert!(a.from_local_headers);
        assert_eq!(a.members[0].name, "x.pkl");
    }

    #[test]
    fn lying_counts_and_offsets_are_errors_not_allocations() {
        let mut z = build(&[("x.pkl", b"\x80\x02N.")], 0);
        let e = find_eocd(&z).unwrap();
        z[e + 10..e + 12].copy_from_slice(&0xFFFFu16.to_le_bytes());
        // The central directory cannot hold 65535 entries: fall back to the local headers.
        let a = read(&z).unwrap();
        assert!(a.from_local_headers);
        assert!(read(b"PK\x03\x04").is_err());
        assert!(read(b"").is_err());
    }

    #[test]
    fn inflate_is_capped() {
        let big = vec![0u8; 1 << 20];
        let packed = miniz_oxide::deflate::compress_to_vec(&big, 6);
        let mut z = build(&[("bomb.pkl", &packed)], 0);
        // Mark the member deflated, in the local header and the central directory.
        z[8] = 8;
        let c = z.windows(4).position(|w| w == CENTRAL).unwrap();
        z[c + 10] = 8;
        let mut a = read(&z).unwrap();
        locate(&z, &mut a.members[0]).unwrap();
        assert_eq!(
            content(&z, &a.members[0], 1000).unwrap_err(),
            Unreadable::TooLarge(1000)
        );
        assert_eq!(content(&z, &a.members[0], 2 << 20).unwrap().len(), 1 << 20);
    }
}
