//! GGUF files (llama.cpp, ggml): a strict, bounded walk of the header, the metadata key-value
//! pairs and the tensor table (ggml `docs/gguf.md` and the reference reader `src/gguf.cpp`), and a
//! look at the chat templates they carry.
//!
//! Layout (little-endian): magic `GGUF`, u32 version, u64 tensor_count, u64 metadata_kv_count,
//! the key-value pairs (key string, u32 value type, value), the tensor infos (name string, u32
//! n_dims, n_dims u64 dimensions, u32 ggml type, u64 offset relative to the data section), padding
//! to `general.alignment` (u32, a power of two, default 32), then the data section. Strings are a
//! u64 length then that many bytes. Version 1 (u32 counts and lengths) is reported, not read: no
//! current loader reads it.
//!
//! MS050 (high): anything out of bounds or malformed: bad magic or version, counts more than the
//! remaining bytes could hold, strings or arrays past the end, unknown value or ggml types,
//! more than 4 dimensions, element counts that overflow, rows that are not whole blocks, bad
//! alignment, misaligned or overlapping tensors, tensors past the end of the file, empty or
//! duplicate keys, duplicate tensor names. The walk stops at the first structural error (what
//! follows cannot be located).
//!
//! MS051 (critical): a chat template (`tokenizer.chat_template`, `tokenizer.chat_template.*`) is
//! Jinja that llama-cpp-python and others render; one that reaches for Python internals (dunder
//! attributes, the `attr` filter, `os`, `popen`, `subprocess`...) is server-side template
//! injection (CVE-2024-34359).
//!
//! Bounded: tensor data is never read (only offsets and sizes); counts are checked against the
//! remaining bytes before anything is sized by them; array nesting is limited to
//! [`MAX_ARRAY_DEPTH`], elements walked to [`MAX_ELEMENTS_WALKED`], tensors and keys to
//! [`MAX_ENTRIES`] (beyond: MS003, not verifiably safe); all arithmetic is checked.

use crate::finding::FileFinding;
use crate::pickle::Severity;
use crate::safetensors::shown;
use std::collections::HashSet;

/// Deepest array-of-array nesting accepted (the reference reader accepts none).
pub const MAX_ARRAY_DEPTH: usize = 4;
/// Elements of the reference reader's largest array (`GGUF_MAX_ARRAY_ELEMENTS`).
pub const MAX_ARRAY_ELEMENTS: u64 = 1 << 30;
/// Variable-size array elements (strings, nested arrays) walked per file before giving up (MS003).
pub const MAX_ELEMENTS_WALKED: u64 = 1 << 26;
/// Tensors, and metadata keys, checked per file before giving up (MS003).
pub const MAX_ENTRIES: u64 = 1 << 20;
/// Longest metadata key (spec: at most 65535 bytes).
pub const MAX_KEY_LEN: u64 = 65535;
/// Tensor names must be shorter than ggml's `GGML_MAX_NAME` (64).
pub const MAX_TENSOR_NAME_LEN: u64 = 63;
/// At most 4 dimensions (`GGML_MAX_DIMS`).
pub const MAX_DIMS: u32 = 4;
/// Findings kept per file; the rest are summarised in one MS090 note.
pub const MAX_FINDINGS: usize = 64;

const DEFAULT_ALIGNMENT: u64 = 32;
const KEY_ALIGNMENT: &str = "general.alignment";

/// ggml tensor types in GGUF files: (id, name, elements per block, bytes per block), from ggml's
/// `type_traits` (ggml.h, ggml-common.h). Ids 4, 5, 31..=33 and 36..=38 were removed.
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
    (42, "Q2_0", 64, 18),
];

/// (name, elements per block, bytes per block) of a ggml type id.
pub fn ggml_type(id: u32) -> Option<(&'static str, u64, u64)> {
    GGML_TYPES
        .iter()
        .find(|t| t.0 == id)
        .map(|&(_, n, b, s)| (n, b, s))
}

/// Metadata value types: 0..=12.
const T_UINT8: u32 = 0;
const T_INT8: u32 = 1;
const T_UINT16: u32 = 2;
const T_INT16: u32 = 3;
const T_UINT32: u32 = 4;
const T_INT32: u32 = 5;
const T_FLOAT32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;
const T_UINT64: u32 = 10;
const T_INT64: u32 = 11;
const T_FLOAT64: u32 = 12;

fn value_type_name(t: u32) -> &'static str {
    match t {
        T_UINT8 => "UINT8",
        T_INT8 => "INT8",
        T_UINT16 => "UINT16",
        T_INT16 => "INT16",
        T_UINT32 => "UINT32",
        T_INT32 => "INT32",
        T_FLOAT32 => "FLOAT32",
        T_BOOL => "BOOL",
        T_STRING => "STRING",
        T_ARRAY => "ARRAY",
        T_UINT64 => "UINT64",
        T_INT64 => "INT64",
        T_FLOAT64 => "FLOAT64",
        _ => "unknown",
    }
}

/// Byte size of a fixed-size value type, `None` for strings, arrays and unknown types.
fn fixed_size(t: u32) -> Option<u64> {
    match t {
        T_UINT8 | T_INT8 | T_BOOL => Some(1),
        T_UINT16 | T_INT16 => Some(2),
        T_UINT32 | T_INT32 | T_FLOAT32 => Some(4),
        T_UINT64 | T_INT64 | T_FLOAT64 => Some(8),
        _ => None,
    }
}

/// Content detection: the magic `GGUF`.
pub fn looks_like_gguf(head: &[u8]) -> bool {
    head.starts_with(b"GGUF")
}

/// Check a whole GGUF file (`data` may be a memory map of many GiB: only the header, metadata and
/// tensor table are touched). Empty = nothing found.
pub fn scan_gguf(data: &[u8]) -> Vec<FileFinding> {
    let mut s = Scan {
        r: Reader { data, pos: 0 },
        out: Vec::new(),
        walked: 0,
    };
    // A structural error ends the walk; it is already in `s.out`.
    let _ = s.run();
    crate::finding::capped(s.out, MAX_FINDINGS, 0, "GGUF")
}

fn ms050(reason: impl Into<String>) -> FileFinding {
    FileFinding::new("MS050", Severity::High, reason)
}

/// The walk stopped (the finding is recorded).
struct Stop;

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> u64 {
        (self.data.len() - self.pos) as u64
    }

    /// `n` bytes, `None` (position unchanged) when fewer remain.
    fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        if n > self.remaining() {
            return None;
        }
        let start = self.pos;
        self.pos += n as usize;
        Some(&self.data[start..self.pos])
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }
}

struct Scan<'a> {
    r: Reader<'a>,
    out: Vec<FileFinding>,
    walked: u64,
}

struct TensorInfo<'a> {
    name: String,
    at: u64,
    offset: u64,
    size: Option<u64>,
    _raw: &'a [u8],
}

impl<'a> Scan<'a> {
    fn at(&self) -> u64 {
        self.r.pos as u64
    }

    fn stop(&mut self, f: FileFinding) -> Result<(), Stop> {
        self.out.push(f);
        Err(Stop)
    }

    /// A little-endian u32 named `what`, or an "ends inside" finding.
    fn u32(&mut self, what: &str) -> Result<u32, Stop> {
        let at = self.at();
        match self.r.u32() {
            Some(v) => Ok(v),
            None => {
                self.out
                    .push(ms050(format!("file ends inside {what} (4 bytes at {at})")).at(at));
                Err(Stop)
            }
        }
    }

    fn u64(&mut self, what: &str) -> Result<u64, Stop> {
        let at = self.at();
        match self.r.u64() {
            Some(v) => Ok(v),
            None => {
                self.out
                    .push(ms050(format!("file ends inside {what} (8 bytes at {at})")).at(at));
                Err(Stop)
            }
        }
    }

    /// A GGUF string's bytes: u64 length checked against `max` and the remaining bytes.
    fn string(&mut self, what: &str, max: Option<u64>) -> Result<&'a [u8], Stop> {
        let at = self.at();
        let len = self.u64(&format!("the length of {what}"))?;
        if let Some(max) = max {
            if len > max {
                self.out.push(
                    ms050(format!(
                        "{what} length {len} exceeds the limit of {max} bytes"
                    ))
                    .at(at),
                );
                return Err(Stop);
            }
        }
        match self.r.take(len) {
            Some(b) => Ok(b),
            None => {
                let rem = self.r.remaining();
                self.out.push(
                    ms050(format!(
                        "{what} length {len} runs past the end of the file ({rem} bytes remain)"
                    ))
                    .at(at),
                );
                Err(Stop)
            }
        }
    }

    fn run(&mut self) -> Result<(), Stop> {
        let data = self.r.data;
        if !data.starts_with(b"GGUF") {
            let shown: Vec<u8> = data.iter().take(4).copied().collect();
            return self.stop(
                ms050(format!(
                    "magic is {:?}, not \"GGUF\"",
                    String::from_utf8_lossy(&shown)
                ))
                .at(0),
            );
        }
        self.r.pos = 4;
        let version = self.u32("the version")?;
        match version {
            2 | 3 => {}
            1 => {
                return self.stop(
                    ms050(
                        "version 1 (32-bit counts and lengths) is not supported: no current loader reads it",
                    )
                    .at(4),
                )
            }
            v if v & 0xFFFF == 0 => {
                return self.stop(
                    ms050(format!(
                        "version {v} is not 2 or 3 (a big-endian file, which this scanner does not read?)"
                    ))
                    .at(4),
                )
            }
            v => return self.stop(ms050(format!("version {v} is not 2 or 3")).at(4)),
        }
        let tensor_count = self.u64("tensor_count")?;
        let kv_count = self.u64("metadata_kv_count")?;
        let rem = self.r.remaining();
        // Smallest key-value pair: 8 (key length) + 1 (key) + 4 (type) + 1 (value); smallest
        // tensor info: 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset).
        const MIN_KV: u64 = 14;
        const MIN_TENSOR: u64 = 24;
        if kv_count > rem / MIN_KV {
            return self.stop(
                ms050(format!(
                    "metadata_kv_count {kv_count} is more than the {rem} remaining bytes could hold"
                ))
                .at(16),
            );
        }
        if tensor_count > rem / MIN_TENSOR {
            return self.stop(
                ms050(format!(
                    "tensor_count {tensor_count} is more than the {rem} remaining bytes could hold"
                ))
                .at(8),
            );
        }
        if kv_count * MIN_KV + tensor_count * MIN_TENSOR > rem {
            return self.stop(
                ms050(format!(
                    "metadata_kv_count {kv_count} and tensor_count {tensor_count} are more than the {rem} remaining bytes could hold"
                ))
                .at(8),
            );
        }
        if kv_count > MAX_ENTRIES || tensor_count > MAX_ENTRIES {
            return self.stop(
                FileFinding::incomplete(format!(
                    "{kv_count} metadata keys and {tensor_count} tensors: more than the {MAX_ENTRIES} this scanner checks"
                ))
                .at(8),
            );
        }

        // Metadata.
        let mut keys: HashSet<&'a [u8]> = HashSet::new();
        let mut alignment = Some(DEFAULT_ALIGNMENT);
        for i in 0..kv_count {
            let key_at = self.at();
            let key = self.string(&format!("metadata key {i}"), Some(MAX_KEY_LEN))?;
            let Ok(key_text) = std::str::from_utf8(key) else {
                return self.stop(ms050(format!("metadata key {i} is not UTF-8")).at(key_at));
            };
            let key_shown = shown(key_text);
            if key.is_empty() {
                return self.stop(ms050(format!("metadata key {i} is empty")).at(key_at));
            }
            if !keys.insert(key) {
                self.out.push(
                    ms050(format!(
                        "duplicate metadata key \"{key_shown}\": readers disagree on which value counts"
                    ))
                    .at(key_at),
                );
            }
            let type_at = self.at();
            let vtype = self.u32(&format!("the value type of \"{key_shown}\""))?;
            let value_at = self.at();
            if vtype == T_STRING {
                let s = self.string(&format!("the value of \"{key_shown}\""), None)?;
                if is_chat_template_key(key_text) {
                    self.check_template(&key_shown, s, value_at);
                }
            } else {
                self.value(&key_shown, vtype, type_at, 0)?;
            }
            if key_text == KEY_ALIGNMENT {
                alignment = None;
                if vtype != T_UINT32 {
                    self.out.push(
                        ms050(format!(
                            "general.alignment is {}, not UINT32",
                            value_type_name(vtype)
                        ))
                        .at(type_at),
                    );
                } else {
                    let a = data
                        .get(value_at as usize..)
                        .and_then(|b| b.get(..4))
                        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                    if a == 0 || !a.is_power_of_two() {
                        self.out.push(
                            ms050(format!("general.alignment {a} is not a power of two"))
                                .at(value_at),
                        );
                    } else {
                        alignment = Some(u64::from(a));
                    }
                }
            }
        }

        // Tensor infos.
        let mut tensors: Vec<TensorInfo<'a>> = Vec::new();
        let mut names: HashSet<&'a [u8]> = HashSet::new();
        for i in 0..tensor_count {
            let t_at = self.at();
            let raw = self.string(&format!("tensor {i} name"), None)?;
            let name = shown(&String::from_utf8_lossy(raw));
            if raw.len() as u64 > MAX_TENSOR_NAME_LEN {
                self.out.push(
                    ms050(format!(
                        "tensor {i} name is {} bytes, longer than ggml's {MAX_TENSOR_NAME_LEN}",
                        raw.len()
                    ))
                    .at(t_at),
                );
            }
            if !names.insert(raw) {
                self.out.push(
                    ms050(format!(
                        "duplicate tensor name \"{name}\": readers disagree on which tensor counts"
                    ))
                    .at(t_at),
                );
            }
            let dims_at = self.at();
            let n_dims = self.u32(&format!("tensor \"{name}\" n_dims"))?;
            if n_dims > MAX_DIMS {
                return self.stop(
                    ms050(format!(
                        "tensor \"{name}\" n_dims {n_dims} is more than {MAX_DIMS}"
                    ))
                    .at(dims_at),
                );
            }
            let mut dims = [1u64; 4];
            for (j, d) in dims.iter_mut().enumerate().take(n_dims as usize) {
                *d = self.u64(&format!("tensor \"{name}\" dimension {j}"))?;
            }
            let shown = &dims[..n_dims as usize];
            let type_at = self.at();
            let ty = self.u32(&format!("tensor \"{name}\" type"))?;
            let off_at = self.at();
            let offset = self.u64(&format!("tensor \"{name}\" offset"))?;

            let mut elements: Option<u64> = Some(1);
            for (j, &d) in shown.iter().enumerate() {
                if d > i64::MAX as u64 {
                    self.out.push(
                        ms050(format!(
                            "tensor \"{name}\" dimension {j} is {d}, negative as ggml's int64"
                        ))
                        .at(dims_at),
                    );
                    elements = None;
                    break;
                }
                elements = elements.and_then(|e| e.checked_mul(d));
            }
            let dims_ok = shown.iter().all(|&d| d <= i64::MAX as u64);
            let elements = match elements {
                Some(e) if e < i64::MAX as u64 => Some(e),
                _ if dims_ok => {
                    self.out.push(
                        ms050(format!(
                            "tensor \"{name}\" dimensions {shown:?} overflow the element count"
                        ))
                        .at(dims_at),
                    );
                    None
                }
                _ => None,
            };
            let size = match ggml_type(ty) {
                None => {
                    self.out.push(
                        ms050(format!("tensor \"{name}\" ggml type {ty} is unknown")).at(type_at),
                    );
                    None
                }
                Some((tname, block, bytes)) => match elements {
                    None => None,
                    Some(e) => {
                        if dims[0] % block != 0 {
                            self.out.push(
                                ms050(format!(
                                    "tensor \"{name}\" row of {} elements is not a whole number of {tname} blocks of {block}",
                                    dims[0]
                                ))
                                .at(dims_at),
                            );
                            None
                        } else {
                            let s = (e / block).checked_mul(bytes);
                            if s.is_none() {
                                self.out.push(
                                    ms050(format!(
                                        "tensor \"{name}\" dimensions {shown:?} of {tname} overflow the byte size"
                                    ))
                                    .at(dims_at),
                                );
                            }
                            s
                        }
                    }
                },
            };
            if let Some(a) = alignment {
                if offset % a != 0 {
                    self.out.push(
                        ms050(format!(
                            "tensor \"{name}\" offset {offset} is not a multiple of the alignment {a}"
                        ))
                        .at(off_at),
                    );
                }
            }
            tensors.push(TensorInfo {
                name,
                at: t_at,
                offset,
                size,
                _raw: raw,
            });
        }

        // Data section: starts at the aligned end of the tensor table.
        let end = self.at();
        let a = alignment.unwrap_or(DEFAULT_ALIGNMENT);
        let data_start = end.checked_next_multiple_of(a);
        let file_len = data.len() as u64;
        let Some(data_start) = data_start.filter(|&s| s <= file_len || tensor_count == 0) else {
            return self.stop(
                ms050(format!(
                    "the data section would start at {}, past the end of the file ({file_len} bytes)",
                    end.saturating_add(a - 1) / a * a
                ))
                .at(end),
            );
        };
        let data_len = file_len.saturating_sub(data_start);
        let mut spans: Vec<(u64, u64, usize)> = Vec::new();
        for (idx, t) in tensors.iter().enumerate() {
            let Some(size) = t.size else { continue };
            match t.offset.checked_add(size) {
                Some(e) if e <= data_len => spans.push((t.offset, e, idx)),
                _ => self.out.push(
                    ms050(format!(
                        "tensor \"{}\" data [{}, {}+{size}) runs past the end of the file (the data section holds {data_len} bytes)",
                        t.name, t.offset, t.offset
                    ))
                    .at(t.at),
                ),
            }
        }
        spans.sort_unstable();
        let mut prev: Option<(u64, usize)> = None;
        for &(s, e, idx) in &spans {
            if let Some((pend, pidx)) = prev {
                if s < pend && e > s {
                    self.out.push(
                        ms050(format!(
                            "tensor \"{}\" data at offset {s} overlaps tensor \"{}\" (ends at {pend})",
                            tensors[idx].name, tensors[pidx].name
                        ))
                        .at(tensors[idx].at),
                    );
                }
            }
            if e > s && prev.is_none_or(|(pend, _)| e > pend) {
                prev = Some((e, idx));
            }
        }
        Ok(())
    }

    /// Skip one value of type `vtype` (not a top-level string: handled by the caller), checking
    /// types, lengths and nesting.
    fn value(&mut self, key: &str, vtype: u32, type_at: u64, depth: usize) -> Result<(), Stop> {
        if let Some(size) = fixed_size(vtype) {
            let at = self.at();
            let Some(b) = self.r.take(size) else {
                return self.stop(
                    ms050(format!(
                        "file ends inside the {} value of \"{key}\"",
                        value_type_name(vtype)
                    ))
                    .at(at),
                );
            };
            if vtype == T_BOOL && b[0] > 1 && depth == 0 {
                self.out.push(
                    ms050(format!(
                        "BOOL value of \"{key}\" is {}, neither 0 nor 1",
                        b[0]
                    ))
                    .at(at),
                );
            }
            return Ok(());
        }
        match vtype {
            T_STRING => {
                self.string(&format!("a string in \"{key}\""), None)?;
                Ok(())
            }
            T_ARRAY => {
                if depth >= MAX_ARRAY_DEPTH {
                    return self.stop(
                        ms050(format!(
                            "\"{key}\" nests arrays deeper than {MAX_ARRAY_DEPTH} levels"
                        ))
                        .at(type_at),
                    );
                }
                let et_at = self.at();
                let etype = self.u32(&format!("the array element type of \"{key}\""))?;
                let count_at = self.at();
                let count = self.u64(&format!("the array length of \"{key}\""))?;
                if count > MAX_ARRAY_ELEMENTS {
                    return self.stop(
                        ms050(format!(
                            "\"{key}\" array length {count} exceeds the reference reader's limit of {MAX_ARRAY_ELEMENTS}"
                        ))
                        .at(count_at),
                    );
                }
                if let Some(size) = fixed_size(etype) {
                    let rem = self.r.remaining();
                    match count.checked_mul(size) {
                        Some(n) if n <= rem => {
                            self.r.take(n);
                            Ok(())
                        }
                        _ => self.stop(
                            ms050(format!(
                                "\"{key}\" array of {count} {} runs past the end of the file ({rem} bytes remain)",
                                value_type_name(etype)
                            ))
                            .at(count_at),
                        ),
                    }
                } else if etype == T_STRING || etype == T_ARRAY {
                    // Each element takes at least 8 bytes (a string length or an array header).
                    let rem = self.r.remaining();
                    if count > rem / 8 {
                        return self.stop(
                            ms050(format!(
                                "\"{key}\" array of {count} {} runs past the end of the file ({rem} bytes remain)",
                                value_type_name(etype)
                            ))
                            .at(count_at),
                        );
                    }
                    for _ in 0..count {
                        self.walked += 1;
                        if self.walked > MAX_ELEMENTS_WALKED {
                            let at = self.at();
                            return self.stop(
                                FileFinding::incomplete(format!(
                                    "the metadata holds more than {MAX_ELEMENTS_WALKED} strings or arrays"
                                ))
                                .at(at),
                            );
                        }
                        self.value(key, etype, et_at, depth + 1)?;
                    }
                    Ok(())
                } else {
                    self.stop(
                        ms050(format!(
                            "\"{key}\" array element type {etype} is unknown (0..=12)"
                        ))
                        .at(et_at),
                    )
                }
            }
            other => self.stop(
                ms050(format!("\"{key}\" value type {other} is unknown (0..=12)")).at(type_at),
            ),
        }
    }

    fn check_template(&mut self, key: &str, value: &[u8], at: u64) {
        let text = String::from_utf8_lossy(value);
        let hits = template_indicators(&text);
        if !hits.is_empty() {
            self.out.push(
                FileFinding::new(
                    "MS051",
                    Severity::Critical,
                    format!(
                        "chat template \"{key}\" reaches for Python internals ({}): server-side template injection when rendered (CVE-2024-34359)",
                        hits.join(", ")
                    ),
                )
                .at(at)
                .global(key),
            );
        }
    }
}

fn is_chat_template_key(key: &str) -> bool {
    key == "tokenizer.chat_template" || key.starts_with("tokenizer.chat_template.")
}

/// What in a Jinja template reaches for Python internals; empty for ordinary chat templates.
///
/// Pragmatic, not a Jinja parser: dunder names (`__class__`...) are looked for in the template
/// with quotes, whitespace, `~`, `+`, `|` and other punctuation removed, so that names built by
/// string concatenation or joins (`'__cla' ~ 'ss__'`, `['__cla','ss__']|join`) are found too;
/// the `attr` filter (and `getattr`), escaped underscores (`\x5f`), `os.`, `popen`,
/// `subprocess`, `eval`/`exec`, `import` of Python modules and Jinja's `_TemplateReference__`
/// internals are looked for directly.
pub fn template_indicators(text: &str) -> Vec<String> {
    let mut hits: Vec<String> = Vec::new();
    let mut add = |h: String| {
        if !hits.contains(&h) && hits.len() < 8 {
            hits.push(h);
        }
    };
    // Identifier characters, '(' and '.', everything else dropped.
    let squashed: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '(' | '.'))
        .collect();
    let sb = squashed.as_bytes();
    // Dunder: "__", at least one alphanumeric, then "__", inside one identifier run.
    let mut i = 0;
    while i + 1 < sb.len() {
        if sb[i] == b'_' && sb[i + 1] == b'_' {
            let mut j = i + 2;
            while j < sb.len() && sb[j] == b'_' {
                j += 1;
            }
            let word_start = j;
            while j < sb.len() && sb[j].is_ascii_alphanumeric() {
                j += 1;
            }
            if j > word_start && j + 1 < sb.len() && sb[j] == b'_' && sb[j + 1] == b'_' {
                add(format!("__{}__", &squashed[word_start..j]));
                i = j + 2;
                continue;
            }
            i = j.max(i + 1);
            continue;
        }
        i += 1;
    }
    let lower_sq = squashed.to_ascii_lowercase();
    if lower_sq.contains("attr(") {
        add("the attr filter".to_string());
    }
    if lower_sq.contains("templatereference__") {
        add("Jinja's _TemplateReference internals".to_string());
    }
    let lower = text.to_ascii_lowercase();
    for esc in ["\\x5f", "\\u005f", "\\137", "\\u0005f"] {
        if lower.contains(esc) {
            add(format!("an escaped underscore {esc}"));
        }
    }
    for word in [
        "os.",
        "popen",
        "subprocess",
        "eval(",
        "exec(",
        "system(",
        "import(",
        "builtins",
        "globals",
        "mro",
        "subclasses",
    ] {
        if contains_word(&lower, word) {
            add(format!("\"{}\"", word.trim_end_matches(['(', '.'])));
        }
    }
    hits
}

/// `word` occurs in `text` not preceded by an identifier character (and, when it ends with a
/// letter, not followed by one).
fn contains_word(text: &str, word: &str) -> bool {
    let b = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut from = 0;
    while let Some(p) = text.get(from..).and_then(|t| t.find(word)) {
        let s = from + p;
        let e = s + word.len();
        let before_ok = s == 0 || !ident(b[s - 1]);
        let after_ok = !word.as_bytes()[word.len() - 1].is_ascii_alphanumeric()
            || e >= b.len()
            || !ident(b[e]);
        if before_ok && after_ok {
            return true;
        }
        from = e;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dunder_detection() {
        assert_eq!(template_indicators("{{ x.__class__ }}"), vec!["__class__"]);
        assert!(template_indicators("{{ 'a' ~ '__cla' ~ 'ss__' }}").contains(&"__class__".into()));
        assert!(!template_indicators("{{ x|attr('__globals__') }}").is_empty());
        assert!(
            !template_indicators("{{ cycler.__init__.__globals__.os.popen('id').read() }}")
                .is_empty()
        );
        assert!(template_indicators("{{ bos_token }}{{ message['content'] | trim }}").is_empty());
    }

    #[test]
    fn type_table_is_sorted_and_unique() {
        for w in GGML_TYPES.windows(2) {
            assert!(w[0].0 < w[1].0);
        }
    }
}
