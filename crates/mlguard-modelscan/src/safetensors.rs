//! safetensors files: a strict, bounded check of the header against the format's rules
//! (huggingface/safetensors, `safetensors/src/tensor.rs`, `read_metadata` and `validate`).
//!
//! Layout: 8 bytes `N` (u64 little-endian), `N` bytes of UTF-8 JSON (an object), then the data
//! section. The object maps tensor names to exactly `{dtype, shape, data_offsets}`; the optional
//! `__metadata__` maps strings to strings. `data_offsets` are relative to the data section; sorted,
//! they cover it from 0 to its end with no gap or overlap, and each tensor's byte size is
//! `product(shape) * bits(dtype) / 8`.
//!
//! A header that breaks these rules attacks loaders (out-of-bounds reads, huge allocations,
//! two tools seeing different tensors) and is never a clean pass: every violation is MS040.
//!
//! Bounded: only the header is read (at most [`MAX_HEADER_SIZE`] bytes, as the reference
//! implementation); the data section is judged by its offsets, never read. JSON nesting is
//! limited by serde_json's recursion limit (128), findings by [`MAX_FINDINGS`].

use crate::finding::FileFinding;
use crate::pickle::Severity;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// The largest header the reference implementation accepts (`MAX_HEADER_SIZE`).
pub const MAX_HEADER_SIZE: u64 = 100_000_000;

/// Findings kept per file; the rest are summarised in one MS090 note.
pub const MAX_FINDINGS: usize = 64;

/// The dtypes of the reference implementation (`Dtype`), with their size in bits.
const DTYPES: &[(&str, u64)] = &[
    ("BOOL", 8),
    ("F4", 4),
    ("F6_E2M3", 6),
    ("F6_E3M2", 6),
    ("U8", 8),
    ("I8", 8),
    ("F8_E5M2", 8),
    ("F8_E4M3", 8),
    ("F8_E8M0", 8),
    ("F8_E4M3FNUZ", 8),
    ("F8_E5M2FNUZ", 8),
    ("I16", 16),
    ("U16", 16),
    ("F16", 16),
    ("BF16", 16),
    ("I32", 32),
    ("U32", 32),
    ("F32", 32),
    ("C64", 64),
    ("F64", 64),
    ("I64", 64),
    ("U64", 64),
];

/// Size in bits of one element of `dtype`, `None` for a dtype the reference does not know.
pub fn dtype_bits(dtype: &str) -> Option<u64> {
    DTYPES.iter().find(|(n, _)| *n == dtype).map(|(_, b)| *b)
}

/// Content detection from the first bytes (at least 9): a u64 little-endian header length of at
/// least 2, then `{` (after JSON whitespace, which loaders accept), then, when the head shows it,
/// whitespace and `"` or `}` (a JSON object's first key or its end).
pub fn looks_like_safetensors(head: &[u8]) -> bool {
    let Some(len) = head.get(..8) else {
        return false;
    };
    let mut n = [0u8; 8];
    n.copy_from_slice(len);
    if u64::from_le_bytes(n) < 2 {
        return false;
    }
    let rest = &head[8..];
    let Some(brace) = rest
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    else {
        return false;
    };
    if rest[brace] != b'{' {
        return false;
    }
    match rest[brace + 1..]
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        None => true,
        Some(b) => *b == b'"' || *b == b'}',
    }
}

fn finding(reason: impl Into<String>) -> FileFinding {
    FileFinding::new("MS040", Severity::High, reason)
}

/// Check a whole safetensors file (`data` may be a memory map of many GiB: only the header is
/// touched). Empty = the header follows every rule.
pub fn scan_safetensors(data: &[u8]) -> Vec<FileFinding> {
    let mut out = Vec::new();
    scan_into(data, &mut out);
    cap(out)
}

fn cap(out: Vec<FileFinding>) -> Vec<FileFinding> {
    crate::finding::capped(out, MAX_FINDINGS, 0, "safetensors header")
}

fn scan_into(data: &[u8], out: &mut Vec<FileFinding>) {
    let Some(len_bytes) = data.get(..8) else {
        out.push(
            finding(format!(
                "file is {} bytes, shorter than the 8-byte header length",
                data.len()
            ))
            .at(0),
        );
        return;
    };
    let mut nb = [0u8; 8];
    nb.copy_from_slice(len_bytes);
    let n = u64::from_le_bytes(nb);
    if n > MAX_HEADER_SIZE {
        out.push(
            finding(format!(
                "header length {n} exceeds the {MAX_HEADER_SIZE}-byte limit of the reference loader"
            ))
            .at(0),
        );
        return;
    }
    let after_len = (data.len() - 8) as u64;
    if n > after_len {
        out.push(
            finding(format!(
                "header length {n} runs past the end of the file ({after_len} bytes follow the length)"
            ))
            .at(0),
        );
        return;
    }
    // n <= after_len <= usize::MAX - 8, so these fit.
    let header_end = 8 + n as usize;
    let data_len = after_len - n;
    let header = &data[8..header_end];
    let text = match std::str::from_utf8(header) {
        Ok(t) => t,
        Err(e) => {
            out.push(
                finding(format!(
                    "header is not UTF-8 (invalid byte at header offset {})",
                    e.valid_up_to()
                ))
                .at(8 + e.valid_up_to() as u64),
            );
            return;
        }
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let at = line_col_offset(text, e.line(), e.column());
            out.push(finding(format!("header is not valid JSON: {e}")).at(8 + at as u64));
            return;
        }
    };
    let Value::Object(map) = value else {
        out.push(finding(format!("header is a JSON {}, not an object", kind(&value))).at(8));
        return;
    };

    let keys = scan_keys(text, out);
    let pos = |name: &str| -> u64 { 8 + keys.get(name).copied().unwrap_or(0) as u64 };

    let mut spans: Vec<(u64, u64, &str)> = Vec::with_capacity(map.len());
    let mut all_offsets = true;
    for (name, v) in &map {
        if name == "__metadata__" {
            check_metadata(v, pos(name), out);
            continue;
        }
        match check_tensor(name, v, pos(name), out) {
            Some((s, e)) => spans.push((s, e, name.as_str())),
            None => all_offsets = false,
        }
    }
    if !all_offsets {
        return;
    }
    spans.sort_unstable();
    let mut end = 0u64;
    let mut prev: Option<&str> = None;
    for &(s, e, raw) in &spans {
        let name = shown(raw);
        if s > end {
            let after = match prev {
                Some(p) => format!("after tensor \"{}\" (ends at {end})", shown(p)),
                None => "at the start of the data section".to_string(),
            };
            out.push(
                finding(format!(
                    "tensor \"{name}\" data_offsets [{s}, {e}] leave a gap of {} bytes {after}",
                    s - end
                ))
                .at(pos(raw)),
            );
        } else if s < end {
            out.push(
                finding(format!(
                    "tensor \"{name}\" data_offsets [{s}, {e}] overlap tensor \"{}\" (ends at {end})",
                    shown(prev.unwrap_or("?"))
                ))
                .at(pos(raw)),
            );
        }
        if e >= end {
            end = e;
            prev = Some(raw);
        }
    }
    if end > data_len {
        out.push(
            finding(format!(
                "tensor \"{}\" data ends at {end}, past the end of the file (the data section holds {data_len} bytes)",
                shown(prev.unwrap_or("?"))
            ))
            .at(pos(prev.unwrap_or(""))),
        );
    } else if end < data_len {
        out.push(
            finding(format!(
                "{} trailing bytes after the last tensor's data (tensors end at {end}, the data section holds {data_len} bytes)",
                data_len - end
            ))
            .at(header_end as u64 + end),
        );
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Byte offset of serde_json's 1-based line and column in `text` (best effort).
fn line_col_offset(text: &str, line: usize, column: usize) -> usize {
    let mut off = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return off.saturating_add(column.saturating_sub(1)).min(text.len());
        }
        off = off.saturating_add(l.len());
    }
    off.min(text.len())
}

fn check_metadata(v: &Value, at: u64, out: &mut Vec<FileFinding>) {
    let Value::Object(m) = v else {
        out.push(
            finding(format!(
                "__metadata__ is a JSON {}, not a map of strings to strings",
                kind(v)
            ))
            .at(at),
        );
        return;
    };
    for (k, val) in m {
        if !val.is_string() {
            out.push(
                finding(format!(
                    "__metadata__ value of \"{}\" is a JSON {}, not a string",
                    shown(k),
                    kind(val)
                ))
                .at(at),
            );
        }
    }
}

/// Check one tensor entry; its `(begin, end)` when the offsets are usable for the layout check.
fn check_tensor(name: &str, v: &Value, at: u64, out: &mut Vec<FileFinding>) -> Option<(u64, u64)> {
    let Value::Object(m) = v else {
        out.push(
            finding(format!(
                "tensor \"{name}\" is a JSON {}, not an object with dtype, shape and data_offsets",
                kind(v)
            ))
            .at(at),
        );
        return None;
    };
    for k in m.keys() {
        if !matches!(k.as_str(), "dtype" | "shape" | "data_offsets") {
            out.push(
                finding(format!(
                    "tensor \"{name}\" has an unknown field \"{}\"",
                    shown(k)
                ))
                .at(at),
            );
        }
    }
    let mut missing = |field: &str| {
        out.push(finding(format!("tensor \"{name}\" has no {field}")).at(at));
    };
    let (dtype, shape, offsets) = (m.get("dtype"), m.get("shape"), m.get("data_offsets"));
    if dtype.is_none() {
        missing("dtype");
    }
    if shape.is_none() {
        missing("shape");
    }
    if offsets.is_none() {
        missing("data_offsets");
    }

    let bits = match dtype {
        Some(Value::String(d)) => match dtype_bits(d) {
            Some(b) => Some(b),
            None => {
                out.push(
                    finding(format!(
                        "tensor \"{name}\" dtype \"{}\" is unknown",
                        shown(d)
                    ))
                    .at(at),
                );
                None
            }
        },
        Some(other) => {
            out.push(
                finding(format!(
                    "tensor \"{name}\" dtype is a JSON {}, not a string",
                    kind(other)
                ))
                .at(at),
            );
            None
        }
        None => None,
    };

    // Number of elements: `None` when the shape is unusable (reported) or overflows (reported).
    let elements = match shape {
        Some(Value::Array(dims)) => {
            let mut n: Option<u64> = Some(1);
            for (i, d) in dims.iter().enumerate() {
                match d.as_u64() {
                    Some(d) => n = n.and_then(|n| n.checked_mul(d)),
                    None => {
                        out.push(
                            finding(format!(
                                "tensor \"{name}\" shape[{i}] is {}, not a non-negative integer",
                                short(d)
                            ))
                            .at(at),
                        );
                        n = None;
                        break;
                    }
                }
            }
            if n.is_none() && dims.iter().all(|d| d.as_u64().is_some()) {
                out.push(
                    finding(format!(
                        "tensor \"{name}\" shape {} overflows the element count",
                        shape_text(dims)
                    ))
                    .at(at),
                );
            }
            n
        }
        Some(other) => {
            out.push(
                finding(format!(
                    "tensor \"{name}\" shape is a JSON {}, not a list",
                    kind(other)
                ))
                .at(at),
            );
            None
        }
        None => None,
    };

    let span = match offsets {
        Some(Value::Array(o)) if o.len() == 2 => match (o[0].as_u64(), o[1].as_u64()) {
            (Some(s), Some(e)) if e < s => {
                out.push(
                    finding(format!(
                        "tensor \"{name}\" data_offsets [{s}, {e}] end before start"
                    ))
                    .at(at),
                );
                None
            }
            (Some(s), Some(e)) => Some((s, e)),
            _ => {
                out.push(
                    finding(format!(
                        "tensor \"{name}\" data_offsets [{}, {}] are not non-negative integers",
                        o[0], o[1]
                    ))
                    .at(at),
                );
                None
            }
        },
        Some(other) => {
            out.push(
                finding(format!(
                    "tensor \"{name}\" data_offsets is {}, not a list of two integers [begin, end]",
                    short(other)
                ))
                .at(at),
            );
            None
        }
        None => None,
    };

    if let (Some(bits), Some(n), Some((s, e)), Some(Value::Array(dims))) =
        (bits, elements, span, shape)
    {
        match n.checked_mul(bits) {
            None => out.push(
                finding(format!(
                    "tensor \"{name}\" shape {} overflows the byte size",
                    shape_text(dims)
                ))
                .at(at),
            ),
            Some(nbits) if nbits % 8 != 0 => out.push(
                finding(format!(
                    "tensor \"{name}\" shape {} of {} does not fill whole bytes ({nbits} bits)",
                    shape_text(dims),
                    m.get("dtype").and_then(Value::as_str).unwrap_or("?")
                ))
                .at(at),
            ),
            Some(nbits) if nbits / 8 != e - s => out.push(
                finding(format!(
                    "tensor \"{name}\" data_offsets [{s}, {e}] hold {} bytes but shape {} of {} needs {}",
                    e - s,
                    shape_text(dims),
                    m.get("dtype").and_then(Value::as_str).unwrap_or("?"),
                    nbits / 8
                ))
                .at(at),
            ),
            Some(_) => {}
        }
    }
    span
}

/// A name from the file in a one-line reason: control characters and quotes escaped, cut to
/// 120 characters.
pub(crate) fn shown(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == 120 {
            out.push_str("...");
            break;
        }
        out.extend(c.escape_debug());
    }
    out
}

fn shape_text(dims: &[Value]) -> String {
    let parts: Vec<String> = dims.iter().take(16).map(|d| d.to_string()).collect();
    if dims.len() > 16 {
        format!("[{}, ...]", parts.join(", "))
    } else {
        format!("[{}]", parts.join(", "))
    }
}

/// A JSON value in a reason, cut to a readable length.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        let mut end = 80;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}

enum Frame {
    Object {
        keys: HashSet<String>,
        want_key: bool,
    },
    Array,
}

/// Walk the (already valid) JSON text: report every key that appears twice in one object
/// (serde_json keeps only the last silently, other loaders may keep the first), and return the
/// byte offset in the header of each top-level key's first occurrence.
fn scan_keys(text: &str, out: &mut Vec<FileFinding>) -> HashMap<String, usize> {
    let b = text.as_bytes();
    let mut top: HashMap<String, usize> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut current_top: Option<String> = None;
    let mut i = 0usize;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let end = (i + 1).min(b.len());
                let depth = stack.len();
                if let Some(Frame::Object { keys, want_key }) = stack.last_mut() {
                    if *want_key {
                        *want_key = false;
                        let raw_key: String = text
                            .get(start..end)
                            .and_then(|raw| serde_json::from_str(raw).ok())
                            .unwrap_or_default();
                        let key = shown(&raw_key);
                        if depth == 1 {
                            current_top = Some(key.clone());
                            top.entry(raw_key.clone()).or_insert(start);
                        }
                        if !keys.insert(raw_key) {
                            let reason = match (&current_top, depth) {
                                (_, 1) => format!(
                                    "duplicate key \"{key}\" in the header: loaders disagree on which entry counts"
                                ),
                                (Some(t), _) => format!(
                                    "duplicate key \"{key}\" inside \"{t}\": loaders disagree on which entry counts"
                                ),
                                (None, _) => format!("duplicate key \"{key}\" in the header"),
                            };
                            out.push(finding(reason).at(8 + start as u64));
                        }
                    }
                }
            }
            b'{' => stack.push(Frame::Object {
                keys: HashSet::new(),
                want_key: true,
            }),
            b'[' => stack.push(Frame::Array),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => {
                if let Some(Frame::Object { want_key, .. }) = stack.last_mut() {
                    *want_key = true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: usize) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.resize(v.len() + data, 0);
        v
    }

    #[test]
    fn minimal_files_are_clean() {
        assert!(scan_safetensors(&file("{}", 0)).is_empty());
        let h = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F4","shape":[2,1],"data_offsets":[8,9]}}"#;
        assert!(scan_safetensors(&file(h, 9)).is_empty());
    }

    #[test]
    fn detection() {
        assert!(looks_like_safetensors(&file("{\"a\":1}", 0)));
        assert!(looks_like_safetensors(&file("  {}", 0)));
        assert!(!looks_like_safetensors(&file("[1]", 0)));
        assert!(!looks_like_safetensors(b"\x02\0\0\0\0\0\0\0"));
        assert!(!looks_like_safetensors(b"\0\0\0\0\0\0\0\0{}"));
    }

    #[test]
    fn nested_duplicates_are_found() {
        let h = r#"{"a":{"dtype":"F32","dtype":"F32","shape":[],"data_offsets":[0,4]}}"#;
        let f = scan_safetensors(&file(h, 4));
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].reason.contains("inside \"a\""), "{f:?}");
    }
}
