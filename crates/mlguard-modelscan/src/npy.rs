//! NumPy `.npy` arrays: the header (a Python dict literal) says the dtype; an array whose dtype
//! holds objects (`O`) stores its data as a pickle, which `numpy.load(..., allow_pickle=True)`
//! runs. Arrays of plain numbers are data only.

/// The magic string every `.npy` file starts with.
pub const MAGIC: &[u8] = b"\x93NUMPY";

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The `descr` value as written (a dtype string or a list of fields).
    pub descr: String,
    /// The dtype holds Python objects: the data is a pickle.
    pub has_object: bool,
    /// Offset of the data after the header.
    pub data_offset: usize,
}

/// Parse the header of a `.npy` file.
pub fn header(data: &[u8]) -> Result<Header, String> {
    if !data.starts_with(MAGIC) {
        return Err("no .npy magic".into());
    }
    let major = *data.get(6).ok_or("truncated .npy header")?;
    let (len, start): (usize, usize) = match major {
        1 => (
            usize::from(u16::from_le_bytes([
                *data.get(8).ok_or("truncated .npy header")?,
                *data.get(9).ok_or("truncated .npy header")?,
            ])),
            10,
        ),
        2 | 3 => {
            let b = data.get(8..12).ok_or("truncated .npy header")?;
            let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (
                usize::try_from(n).map_err(|_| "header length out of range")?,
                12,
            )
        }
        v => return Err(format!(".npy format version {v} is not known")),
    };
    let end = start
        .checked_add(len)
        .filter(|&e| e <= data.len())
        .ok_or_else(|| format!(".npy header of {len} bytes runs past the end of the file"))?;
    let text = std::str::from_utf8(&data[start..end])
        .map_err(|_| ".npy header is not UTF-8 text".to_string())?;
    let descr = dict_value(text, "descr").ok_or(".npy header has no 'descr'")?;
    if dict_value(text, "shape").is_none() {
        return Err(".npy header has no 'shape'".into());
    }
    let has_object = quoted_strings(descr).iter().any(|s| {
        let t = s.trim_start_matches(['<', '>', '|', '=']);
        t.starts_with('O')
    });
    Ok(Header {
        descr: descr.to_string(),
        has_object,
        data_offset: end,
    })
}

/// The text of the value of `key` in a flat Python dict literal: a quoted string, a bracketed
/// list or tuple (balanced), or a bare word.
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let k1 = format!("'{key}'");
    let k2 = format!("\"{key}\"");
    let at = text.find(&k1).or_else(|| text.find(&k2))? + k1.len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let b = rest.as_bytes();
    let end = match b.first()? {
        q @ (b'\'' | b'"') => rest[1..].find(*q as char)? + 2,
        b'[' | b'(' => {
            let mut depth = 0i32;
            let mut quote: Option<u8> = None;
            let mut end = None;
            for (i, &c) in b.iter().enumerate() {
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None => match c {
                        b'\'' | b'"' => quote = Some(c),
                        b'[' | b'(' => depth += 1,
                        b']' | b')' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(i + 1);
                                break;
                            }
                        }
                        _ => {}
                    },
                }
            }
            end?
        }
        _ => rest.find([',', '}']).unwrap_or(rest.len()),
    };
    Some(&rest[..end])
}

fn quoted_strings(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(['\'', '"']) {
        let q = rest.as_bytes()[i] as char;
        let Some(j) = rest[i + 1..].find(q) else {
            break;
        };
        out.push(&rest[i + 1..i + 1 + j]);
        rest = &rest[i + 1 + j + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(dict: &str) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&[1, 0]);
        v.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        v.extend_from_slice(dict.as_bytes());
        v
    }

    #[test]
    fn object_dtypes_are_recognised() {
        let h = header(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
        ))
        .unwrap();
        assert!(!h.has_object);
        assert_eq!(h.descr, "'<f8'");
        let h = header(&npy(
            "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
        ))
        .unwrap();
        assert!(h.has_object);
        let h = header(&npy(
            "{'descr': [('a', '<i8'), ('b', '|O')], 'fortran_order': False, 'shape': (2,), }",
        ))
        .unwrap();
        assert!(h.has_object);
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert!(header(b"\x93NUMPY\x01\x00\xff\xff{").is_err());
        assert!(header(&npy("{'shape': (3,)}")).is_err());
        assert!(header(&npy("{'descr': '<f8'}")).is_err());
        assert!(header(b"\x93NUMPY\x09\x00").is_err());
    }
}
