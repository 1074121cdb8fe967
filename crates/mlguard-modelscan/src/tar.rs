//! A bounded reader of tar archives (ustar, GNU long names, pax `path`/`size` records), for the
//! legacy PyTorch tar layout and tarred model folders. Members are slices of the input.

/// One regular file in the archive.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub offset: usize,
    pub size: usize,
}

/// Most entries read from one archive.
const MAX_ENTRIES: usize = 1 << 20;

/// Does the input start with a ustar header (magic at offset 257)?
pub fn looks_like_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

fn octal(field: &[u8]) -> Option<u64> {
    // GNU base-256 for sizes of 8 GiB and more.
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let s: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Pax extended header records (`len key=value\n`).
fn pax(body: &[u8], path: &mut Option<String>, size: &mut Option<u64>) {
    let mut rest = body;
    while !rest.is_empty() {
        let Some(sp) = rest.iter().position(|&b| b == b' ') else {
            return;
        };
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
        else {
            return;
        };
        if len <= sp || len > rest.len() {
            return;
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(eq) = rec.iter().position(|&b| b == b'=') {
            let (k, v) = (&rec[..eq], &rec[eq + 1..]);
            match k {
                b"path" => *path = Some(String::from_utf8_lossy(v).into_owned()),
                b"size" => *size = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()),
                _ => {}
            }
        }
        rest = &rest[len..];
    }
}

/// The regular files of the archive, or why it cannot be read.
pub fn read(data: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut at = 0usize;
    let mut long_name: Option<String> = None;
    let mut pax_path: Option<String> = None;
    let mut pax_size: Option<u64> = None;
    loop {
        let Some(h) = data.get(at..at + 512) else {
            return Err(format!("truncated tar header at offset {at}"));
        };
        if h.iter().all(|&b| b == 0) {
            return Ok(out);
        }
        if out.len() >= MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} tar entries"));
        }
        let size = octal(&h[124..136])
            .ok_or_else(|| format!("malformed size in the tar header at offset {at}"))?;
        let size = pax_size.take().unwrap_or(size);
        let body = at + 512;
        let len = usize::try_from(size)
            .ok()
            .filter(|&s| body.checked_add(s).is_some_and(|e| e <= data.len()))
            .ok_or_else(|| {
                format!("tar entry at offset {at} of {size} bytes runs past the end of the archive")
            })?;
        let typ = h[156];
        match typ {
            b'L' => long_name = Some(cstr(&data[body..body + len])),
            b'x' => pax(&data[body..body + len], &mut pax_path, &mut pax_size),
            b'g' => {}
            b'0' | 0 | b'7' => {
                let mut name = cstr(&h[0..100]);
                if &h[257..262] == b"ustar" {
                    let prefix = cstr(&h[345..500]);
                    if !prefix.is_empty() {
                        name = format!("{prefix}/{name}");
                    }
                }
                let name = pax_path.take().or(long_name.take()).unwrap_or(name);
                out.push(Entry {
                    name,
                    offset: body,
                    size: len,
                });
            }
            _ => {
                long_name = None;
                pax_path = None;
            }
        }
        // Data is padded to 512-byte blocks.
        at = body
            .checked_add(len.div_ceil(512) * 512)
            .ok_or("tar offset overflow")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, size: usize, typ: u8) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let s = format!("{size:011o}");
        h[124..135].copy_from_slice(s.as_bytes());
        h[156] = typ;
        h[257..263].copy_from_slice(b"ustar\0");
        h
    }

    #[test]
    fn reads_entries_and_long_names() {
        let mut t = header("pickle", 3, b'0');
        t.extend_from_slice(b"abc");
        t.resize(1024, 0);
        let long = "x/".repeat(80) + "data.pkl";
        t.extend(header("././@LongLink", long.len() + 1, b'L'));
        let mut body = long.clone().into_bytes();
        body.push(0);
        body.resize(512, 0);
        t.extend(body);
        t.extend(header("short", 2, b'0'));
        t.extend(b"hi");
        t.resize(t.len() + 510 + 1024, 0);
        let e = read(&t).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].name, "pickle");
        assert_eq!(&t[e[0].offset..e[0].offset + e[0].size], b"abc");
        assert_eq!(e[1].name, long);
        assert!(looks_like_tar(&t));
    }

    #[test]
    fn sizes_past_the_end_are_errors() {
        let mut t = header("big", 1 << 30, b'0');
        t.resize(2048, 0);
        assert!(read(&t).unwrap_err().contains("runs past the end"));
        assert!(read(&t[..100]).is_err());
    }
}
