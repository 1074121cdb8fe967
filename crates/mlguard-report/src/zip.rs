//! The ZIP subset of the evidence pack: stored (uncompressed) entries, fixed timestamps, no
//! extra fields or comments, UTF-8 names. [`write`] is deterministic, so a reader can check
//! that an archive is byte for byte what [`write`] makes of its entries: any change to the
//! archive's structure (not only to the contents) is then detected.

use std::fmt;

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const VERSION_NEEDED: u16 = 20;
/// Made by: Unix (3), specification 2.0.
const VERSION_MADE_BY: u16 = 0x0314;
/// Bit 11: names are UTF-8.
const FLAGS: u16 = 0x0800;
/// 1980-01-01 00:00:00 in MS-DOS format.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = 0x0021;
/// A regular file, rw-r--r--, in the high half of the external attributes.
const EXTERNAL_ATTRS: u32 = 0o100644 << 16;

/// Why bytes are not an archive of this subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipError(pub String);

impl fmt::Display for ZipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ZipError {}

fn err(msg: impl Into<String>) -> ZipError {
    ZipError(msg.into())
}

/// CRC-32 (ISO-HDLC, the one ZIP uses).
pub(crate) fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    let mut c = !0u32;
    for &b in data {
        c = table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

fn u16le(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn u32le(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// An archive of `entries` (name, contents), in order.
pub(crate) fn write<N: AsRef<str>, D: AsRef<[u8]>>(
    entries: &[(N, D)],
) -> Result<Vec<u8>, ZipError> {
    let total: usize = entries
        .iter()
        .map(|(n, d)| 30 + 46 + 2 * n.as_ref().len() + d.as_ref().len())
        .sum();
    if total + 22 > u32::MAX as usize || entries.len() > usize::from(u16::MAX) {
        return Err(err(
            "the pack would exceed 4 GiB or 65535 files (ZIP64 is not supported)",
        ));
    }
    let mut out = Vec::with_capacity(total + 22);
    let mut central = Vec::new();
    for (name, data) in entries {
        let (name, data) = (name.as_ref(), data.as_ref());
        let name_len =
            u16::try_from(name.len()).map_err(|_| err(format!("file name too long: {name}")))?;
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        u32le(&mut out, LOCAL);
        u16le(&mut out, VERSION_NEEDED);
        u16le(&mut out, FLAGS);
        u16le(&mut out, 0);
        u16le(&mut out, DOS_TIME);
        u16le(&mut out, DOS_DATE);
        u32le(&mut out, crc);
        u32le(&mut out, size);
        u32le(&mut out, size);
        u16le(&mut out, name_len);
        u16le(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);

        u32le(&mut central, CENTRAL);
        u16le(&mut central, VERSION_MADE_BY);
        u16le(&mut central, VERSION_NEEDED);
        u16le(&mut central, FLAGS);
        u16le(&mut central, 0);
        u16le(&mut central, DOS_TIME);
        u16le(&mut central, DOS_DATE);
        u32le(&mut central, crc);
        u32le(&mut central, size);
        u32le(&mut central, size);
        u16le(&mut central, name_len);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u32le(&mut central, EXTERNAL_ATTRS);
        u32le(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend_from_slice(&central);
    let n = entries.len() as u16;
    u32le(&mut out, END);
    u16le(&mut out, 0);
    u16le(&mut out, 0);
    u16le(&mut out, n);
    u16le(&mut out, n);
    u32le(&mut out, cd_size);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    Ok(out)
}

fn rd16(b: &[u8], at: usize) -> Result<u16, ZipError> {
    b.get(at..at + 2)
        .map(|x| u16::from_le_bytes([x[0], x[1]]))
        .ok_or_else(|| err("the archive is truncated"))
}

fn rd32(b: &[u8], at: usize) -> Result<u32, ZipError> {
    b.get(at..at + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
        .ok_or_else(|| err("the archive is truncated"))
}

/// The entries of an archive [`write`] made, and a check that it is exactly [`write`]'s output
/// for them (any other byte anywhere is an error, a wrong CRC-32 included).
#[cfg(test)]
pub(crate) fn read(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ZipError> {
    let entries = read_entries(bytes)?;
    check_canonical(bytes, &entries)?;
    Ok(entries.into_iter().map(|(n, d)| (n, d.to_vec())).collect())
}

/// The entries of an archive of this subset, from its central directory, without checking
/// CRCs or that the bytes are canonical (see [`check_canonical`]): a caller that hashes the
/// contents can then say which file changed.
pub(crate) fn read_entries(bytes: &[u8]) -> Result<Vec<(String, &[u8])>, ZipError> {
    if bytes.len() < 22 {
        return Err(err("not a ZIP archive (too short)"));
    }
    let end = bytes.len() - 22;
    if rd32(bytes, end)? != END {
        return Err(err(
            "not an evidence pack: no ZIP end record in the last 22 bytes (an archive comment or trailing bytes?)",
        ));
    }
    let n = usize::from(rd16(bytes, end + 10)?);
    let cd_size = rd32(bytes, end + 12)? as usize;
    let cd_offset = rd32(bytes, end + 16)? as usize;
    if cd_offset.checked_add(cd_size) != Some(end) {
        return Err(err(
            "the ZIP central directory does not end where the end record starts",
        ));
    }
    let mut entries = Vec::with_capacity(n);
    let mut at = cd_offset;
    for i in 0..n {
        if rd32(bytes, at)? != CENTRAL {
            return Err(err(format!("ZIP central directory entry {i} is damaged")));
        }
        let method = rd16(bytes, at + 10)?;
        let csize = rd32(bytes, at + 20)? as usize;
        let usize_ = rd32(bytes, at + 24)? as usize;
        let name_len = usize::from(rd16(bytes, at + 28)?);
        let extra_len = usize::from(rd16(bytes, at + 30)?);
        let comment_len = usize::from(rd16(bytes, at + 32)?);
        let offset = rd32(bytes, at + 42)? as usize;
        let name_bytes = bytes
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| err("the archive is truncated"))?;
        let name = std::str::from_utf8(name_bytes)
            .map_err(|_| err(format!("ZIP entry {i}: the name is not UTF-8")))?
            .to_owned();
        if method != 0 || csize != usize_ {
            return Err(err(format!(
                "{name}: compressed; evidence packs store files uncompressed"
            )));
        }
        at += 46 + name_len + extra_len + comment_len;
        // The data, from the local header.
        if rd32(bytes, offset)? != LOCAL {
            return Err(err(format!("{name}: the local ZIP header is damaged")));
        }
        let lname = usize::from(rd16(bytes, offset + 26)?);
        let lextra = usize::from(rd16(bytes, offset + 28)?);
        let start = offset + 30 + lname + lextra;
        let data = bytes
            .get(start..start + csize)
            .ok_or_else(|| err(format!("{name}: the archive is truncated")))?;
        if entries.iter().any(|(e, _): &(String, &[u8])| *e == name) {
            return Err(err(format!("{name}: twice in the archive")));
        }
        entries.push((name, data));
    }
    if at != end {
        return Err(err("extra bytes in the ZIP central directory"));
    }
    Ok(entries)
}

/// Is `bytes` exactly what [`write`] makes of `entries`? Names the first byte that differs.
pub(crate) fn check_canonical(bytes: &[u8], entries: &[(String, &[u8])]) -> Result<(), ZipError> {
    let canonical = write(entries)?;
    if canonical != bytes {
        let pos = canonical
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(canonical.len().min(bytes.len()));
        return Err(err(format!(
            "the archive's bytes differ from what mlguard writes for its files, first at byte {pos} (headers, checksums or trailing bytes were changed)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn round_trip_and_unzip_compatible_layout() {
        let entries = vec![
            ("a.txt".to_owned(), b"hello\n".to_vec()),
            ("dir/b.json".to_owned(), b"{}".to_vec()),
            ("empty".to_owned(), Vec::new()),
        ];
        let z = write(&entries).unwrap();
        assert_eq!(&z[..4], b"PK\x03\x04");
        assert_eq!(read(&z).unwrap(), entries);
        // Deterministic.
        assert_eq!(write(&entries).unwrap(), z);
    }

    #[test]
    fn every_changed_byte_is_refused() {
        let entries = vec![
            ("a.txt".to_owned(), b"hello\n".to_vec()),
            ("b".to_owned(), b"xyz".to_vec()),
        ];
        let z = write(&entries).unwrap();
        for i in 0..z.len() {
            let mut t = z.clone();
            t[i] ^= 0x01;
            // Either refused, or (a changed name/content that still parses) different entries.
            if let Ok(got) = read(&t) {
                assert_ne!(got, entries, "byte {i}");
            }
        }
        // Trailing bytes and truncation.
        let mut t = z.clone();
        t.push(0);
        assert!(read(&t).is_err());
        assert!(read(&z[..z.len() - 1]).is_err());
    }
}
