//! ONNX models (`.onnx`): external data that reaches outside the model's folder.
//!
//! An ONNX tensor may keep its bytes in another file: `data_location = EXTERNAL` and
//! `external_data` entries `location` (a path relative to the model's folder), `offset` and
//! `length`. Loaders (the `onnx` package, ONNX Runtime) open that path when the model is loaded,
//! so a crafted model can make them read any file the process can read (`../../etc/passwd`,
//! `/proc/self/environ`...) into a tensor, whose values then leak through the model's outputs.
//!
//! Every tensor is checked wherever the format allows one: graph initializers and sparse
//! initializers, node attributes (`t`, `tensors`, `sparse_tensor(s)`), the subgraphs of
//! `If`/`Loop`/`Scan` (attributes `g` and `graphs`) at any depth, model-local functions
//! (`FunctionProto.node` and attribute defaults) and training graphs. A `location` that is
//! absolute, has a `..` component, a drive or UNC prefix, a NUL byte, or ONNX Runtime's in-memory
//! marker is MS030; so is one that resolves (following symlinks) outside the model's folder when
//! the folder is known, and an `offset`/`length` that is negative, not a number, overflows or
//! points past the end of the file. A malformed protobuf is MS003.
//!
//! Only the protobuf framing is walked: tensor payloads (`raw_data`...) are skipped without being
//! read, so a multi-GiB memory-mapped model costs a walk over its messages.

use crate::finding::FileFinding;
use crate::pickle::Severity;
use crate::protobuf::{printable, Error, Field, Message, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Subgraphs nested deeper than this (If inside Loop inside ...) are MS003. ONNX Runtime's
/// protobuf parser stops at 100 nested messages; three messages make one graph level.
pub const MAX_GRAPH_DEPTH: usize = 32;
/// Findings kept per file; the rest are summarised in one MS090 note.
pub const MAX_FINDINGS: usize = 64;
/// Highest `ir_version` accepted by [`looks_like_onnx`] (ONNX 1.17 writes 10, 1.18 writes 11).
const MAX_IR_VERSION: u64 = 64;

/// ONNX Runtime reads the `offset` of a tensor with this location as a memory address.
const ORT_MEM_ADDR: &str = "*/_ORT_MEM_ADDR_/*";

// Field numbers (onnx/onnx.proto3, checked against the onnx package's descriptors).
mod field {
    pub const MODEL_IR_VERSION: u32 = 1;
    pub const MODEL_GRAPH: u32 = 7;
    pub const MODEL_TRAINING_INFO: u32 = 20;
    pub const MODEL_FUNCTIONS: u32 = 25;
    pub const TRAINING_INITIALIZATION: u32 = 1;
    pub const TRAINING_ALGORITHM: u32 = 2;
    pub const GRAPH_NODE: u32 = 1;
    pub const GRAPH_NAME: u32 = 2;
    pub const GRAPH_INITIALIZER: u32 = 5;
    pub const GRAPH_SPARSE_INITIALIZER: u32 = 15;
    pub const NODE_NAME: u32 = 3;
    pub const NODE_OP_TYPE: u32 = 4;
    pub const NODE_ATTRIBUTE: u32 = 5;
    pub const ATTR_NAME: u32 = 1;
    pub const ATTR_T: u32 = 5;
    pub const ATTR_G: u32 = 6;
    pub const ATTR_TENSORS: u32 = 10;
    pub const ATTR_GRAPHS: u32 = 11;
    pub const ATTR_SPARSE_TENSOR: u32 = 22;
    pub const ATTR_SPARSE_TENSORS: u32 = 23;
    pub const SPARSE_VALUES: u32 = 1;
    pub const SPARSE_INDICES: u32 = 2;
    pub const FUNCTION_NAME: u32 = 1;
    pub const FUNCTION_NODE: u32 = 7;
    pub const FUNCTION_ATTRIBUTE_PROTO: u32 = 11;
    pub const TENSOR_NAME: u32 = 8;
    pub const TENSOR_EXTERNAL_DATA: u32 = 13;
    pub const TENSOR_DATA_LOCATION: u32 = 14;
    pub const ENTRY_KEY: u32 = 1;
    pub const ENTRY_VALUE: u32 = 2;
}

/// `TensorProto.DataLocation.EXTERNAL`.
const EXTERNAL: u64 = 1;

/// Content detection: the bytes parse as a `ModelProto` (top level) with an `ir_version` and a
/// `graph` whose own fields are well formed. Text files never pass (an `ir_version` tag is the
/// control byte 0x08).
pub fn looks_like_onnx(data: &[u8]) -> bool {
    let mut ir = false;
    let mut graph = false;
    for f in Message::new(data).fields() {
        let Ok(f) = f else { return false };
        match (f.number, f.value) {
            (field::MODEL_IR_VERSION, Value::Varint(v)) => ir = (1..=MAX_IR_VERSION).contains(&v),
            (field::MODEL_IR_VERSION, _) => return false,
            (field::MODEL_GRAPH, Value::Len(g)) => {
                if g.validate().is_err() {
                    return false;
                }
                graph = true;
            }
            // producer_name, producer_version, domain, doc_string, opset_import,
            // metadata_props, training_info, functions, configuration: all length-delimited.
            (2..=4 | 6..=8 | 14 | 20 | 25 | 26, Value::Len(_)) => {}
            (5, Value::Varint(_)) => {}
            (2..=8 | 14 | 20 | 25 | 26, _) => return false,
            _ => {}
        }
    }
    ir && graph
}

/// Analyse an ONNX model. `model_dir`: the folder the model file is in, to resolve external data
/// paths (None = lexical checks only).
pub fn scan_onnx(data: &[u8], model_dir: Option<&Path>) -> Vec<FileFinding> {
    let mut s = Scan {
        dir: model_dir.map(|d| Dir {
            given: d.to_path_buf(),
            canonical: d.canonicalize().ok(),
        }),
        out: Vec::new(),
        left_out: 0,
        resolved: HashMap::new(),
    };
    if let Err(e) = s.model(Message::new(data)) {
        s.push(FileFinding::incomplete(format!("the ONNX model is malformed: {e}")).at(e.offset));
    }
    crate::finding::capped(s.out, usize::MAX, s.left_out, "ONNX")
}

struct Dir {
    given: PathBuf,
    canonical: Option<PathBuf>,
}

/// Where a location resolves, cached per distinct location.
#[derive(Clone)]
enum Resolved {
    /// Inside the model folder: the file's size when it exists.
    Inside(Option<u64>),
    /// Outside: the canonical path reached.
    Outside(PathBuf),
    /// Could not be checked (the folder itself does not resolve).
    Unknown,
}

struct Scan {
    dir: Option<Dir>,
    out: Vec<FileFinding>,
    left_out: usize,
    resolved: HashMap<Vec<u8>, Resolved>,
}

/// The walk stops at the first malformed field (or a depth limit: already reported).
enum Stop {
    Malformed(Error),
    Reported,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Malformed(e)
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Malformed(e) => e.fmt(f),
            Stop::Reported => f.write_str("stopped"),
        }
    }
}

type Walk = Result<(), Stop>;

impl Scan {
    fn push(&mut self, f: FileFinding) {
        if self.out.len() < MAX_FINDINGS {
            self.out.push(f);
        } else {
            self.left_out += 1;
        }
    }

    fn model(&mut self, m: Message<'_>) -> Result<(), Error> {
        let r = self.model_fields(m);
        match r {
            Ok(()) | Err(Stop::Reported) => Ok(()),
            Err(Stop::Malformed(e)) => Err(e),
        }
    }

    fn model_fields(&mut self, m: Message<'_>) -> Walk {
        for f in m.fields() {
            let f = f?;
            match f.number {
                field::MODEL_IR_VERSION => {
                    f.varint()?;
                }
                field::MODEL_GRAPH => self.graph(f.bytes()?, "graph", 0)?,
                field::MODEL_TRAINING_INFO => {
                    for g in f.bytes()?.fields() {
                        let g = g?;
                        match g.number {
                            field::TRAINING_INITIALIZATION => {
                                self.graph(g.bytes()?, "training initialization graph", 0)?
                            }
                            field::TRAINING_ALGORITHM => {
                                self.graph(g.bytes()?, "training algorithm graph", 0)?
                            }
                            _ => {}
                        }
                    }
                }
                field::MODEL_FUNCTIONS => self.function(f.bytes()?)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn graph(&mut self, g: Message<'_>, path: &str, depth: usize) -> Walk {
        if depth > MAX_GRAPH_DEPTH {
            self.push(
                FileFinding::incomplete(format!(
                    "ONNX subgraphs nest deeper than {MAX_GRAPH_DEPTH} levels"
                ))
                .at(g.base),
            );
            return Err(Stop::Reported);
        }
        // The graph's name, for reports (a field may come in any order).
        let mut name = None;
        for f in g.fields() {
            let f = f?;
            if f.number == field::GRAPH_NAME {
                name = Some(f.bytes()?.lossy());
            }
        }
        let path = match name {
            Some(n) if !n.is_empty() => format!("{path} '{n}'"),
            _ => path.to_string(),
        };
        for f in g.fields() {
            let f = f?;
            match f.number {
                field::GRAPH_NODE => self.node(f.bytes()?, &path, depth)?,
                field::GRAPH_INITIALIZER => {
                    self.tensor(f.bytes()?, &format!("initializer of {path}"))?
                }
                field::GRAPH_SPARSE_INITIALIZER => {
                    self.sparse(f.bytes()?, &format!("sparse initializer of {path}"))?
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn node(&mut self, n: Message<'_>, path: &str, depth: usize) -> Walk {
        let mut name = String::new();
        let mut op = String::new();
        let mut has_attr = false;
        for f in n.fields() {
            let f = f?;
            match f.number {
                field::NODE_NAME => name = f.bytes()?.lossy(),
                field::NODE_OP_TYPE => op = f.bytes()?.lossy(),
                field::NODE_ATTRIBUTE => has_attr = true,
                _ => {}
            }
        }
        if !has_attr {
            return Ok(());
        }
        let path = format!("node '{name}' ({op}) in {path}");
        for f in n.fields() {
            let f = f?;
            if f.number == field::NODE_ATTRIBUTE {
                self.attribute(f.bytes()?, &path, depth)?;
            }
        }
        Ok(())
    }

    fn attribute(&mut self, a: Message<'_>, path: &str, depth: usize) -> Walk {
        let mut name = String::new();
        for f in a.fields() {
            let f = f?;
            if f.number == field::ATTR_NAME {
                name = f.bytes()?.lossy();
            }
        }
        let path = format!("attribute '{name}' of {path}");
        for f in a.fields() {
            let f = f?;
            match f.number {
                field::ATTR_T | field::ATTR_TENSORS => self.tensor(f.bytes()?, &path)?,
                field::ATTR_SPARSE_TENSOR | field::ATTR_SPARSE_TENSORS => {
                    self.sparse(f.bytes()?, &path)?
                }
                field::ATTR_G | field::ATTR_GRAPHS => {
                    self.graph(f.bytes()?, &format!("subgraph in {path}"), depth + 1)?
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn function(&mut self, func: Message<'_>) -> Walk {
        let mut name = String::new();
        for f in func.fields() {
            let f = f?;
            if f.number == field::FUNCTION_NAME {
                name = f.bytes()?.lossy();
            }
        }
        let path = format!("function '{name}'");
        for f in func.fields() {
            let f = f?;
            match f.number {
                field::FUNCTION_NODE => self.node(f.bytes()?, &path, 0)?,
                field::FUNCTION_ATTRIBUTE_PROTO => self.attribute(f.bytes()?, &path, 0)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn sparse(&mut self, s: Message<'_>, path: &str) -> Walk {
        for f in s.fields() {
            let f = f?;
            match f.number {
                field::SPARSE_VALUES => self.tensor(f.bytes()?, &format!("values of {path}"))?,
                field::SPARSE_INDICES => self.tensor(f.bytes()?, &format!("indices of {path}"))?,
                _ => {}
            }
        }
        Ok(())
    }

    fn tensor(&mut self, t: Message<'_>, path: &str) -> Walk {
        let mut name = String::new();
        let mut external = false;
        let mut entries: Vec<Field<'_>> = Vec::new();
        for f in t.fields() {
            let f = f?;
            match f.number {
                field::TENSOR_NAME => name = f.bytes()?.lossy(),
                field::TENSOR_DATA_LOCATION => external = f.varint()? == EXTERNAL,
                // Entries are kept as their fields (no copies); parsed below.
                field::TENSOR_EXTERNAL_DATA => {
                    f.bytes()?;
                    entries.push(f);
                }
                _ => {}
            }
        }
        if entries.is_empty() && !external {
            return Ok(());
        }
        let mut locations = Vec::new();
        let mut offset = None;
        let mut length = None;
        for e in &entries {
            let mut key: &[u8] = b"";
            let mut value: &[u8] = b"";
            for f in e.bytes()?.fields() {
                let f = f?;
                match f.number {
                    field::ENTRY_KEY => key = f.bytes()?.data,
                    field::ENTRY_VALUE => value = f.bytes()?.data,
                    _ => {}
                }
            }
            match key {
                b"location" => locations.push((value, e.offset)),
                b"offset" => offset = Some((value, e.offset)),
                b"length" => length = Some((value, e.offset)),
                _ => {}
            }
        }
        let what = format!("tensor '{name}' ({path})");
        let finding = |reason: String, at: u64| {
            FileFinding::new("MS030", Severity::High, reason)
                .at(at)
                .opcode("external_data")
                .global(name.clone())
        };
        if locations.iter().all(|(l, _)| l.is_empty()) {
            if external {
                self.push(
                    FileFinding::incomplete(format!(
                        "{what} keeps its data in an external file but names none"
                    ))
                    .at(t.base)
                    .global(name.clone()),
                );
            }
            return Ok(());
        }
        let mut numbers = [None, None];
        for (i, (key, entry)) in [("offset", offset), ("length", length)].iter().enumerate() {
            let Some((v, at)) = entry else { continue };
            match parse_size(v) {
                Ok(n) => numbers[i] = Some(n),
                Err(why) => self.push(finding(
                    format!("{what}: external data {key} '{}' {why}", printable(v)),
                    *at,
                )),
            }
        }
        let end = match numbers {
            [Some(o), Some(l)] => match o.checked_add(l) {
                Some(e) if e <= i64::MAX as u64 => Some(e),
                _ => {
                    self.push(finding(
                        format!("{what}: external data offset + length overflows"),
                        t.base,
                    ));
                    None
                }
            },
            [Some(o), None] => Some(o),
            _ => None,
        };
        for (loc, at) in locations {
            if loc.is_empty() {
                continue;
            }
            let shown = printable(loc);
            if let Some(why) = lexical_problem(loc) {
                self.push(finding(
                    format!("{what}: external data location '{shown}' {why}"),
                    at,
                ));
                continue;
            }
            match self.resolve(loc) {
                Resolved::Outside(p) => self.push(finding(
                    format!(
                        "{what}: external data location '{shown}' resolves outside the model's folder, to {}",
                        printable(p.as_os_str().as_encoded_bytes())
                    ),
                    at,
                )),
                Resolved::Inside(Some(size)) => {
                    if let Some(end) = end {
                        if end > size {
                            self.push(finding(
                                format!(
                                    "{what}: external data in '{shown}' ends at byte {end}, past the end of the file ({size} bytes)"
                                ),
                                at,
                            ));
                        }
                    }
                }
                Resolved::Inside(None) | Resolved::Unknown => {}
            }
        }
        Ok(())
    }

    /// Resolve a (lexically relative, `..`-free) location against the model's folder, following
    /// symlinks: the deepest existing ancestor is canonicalized.
    fn resolve(&mut self, loc: &[u8]) -> Resolved {
        let Some(dir) = &self.dir else {
            return Resolved::Unknown;
        };
        if let Some(r) = self.resolved.get(loc) {
            return r.clone();
        }
        let r = match &dir.canonical {
            None => Resolved::Unknown,
            Some(canon) => {
                let mut p = dir.given.join(bytes_to_path(loc));
                let mut exact = true;
                loop {
                    match p.canonicalize() {
                        Ok(c) => {
                            break if !c.starts_with(canon) {
                                Resolved::Outside(c)
                            } else if exact {
                                Resolved::Inside(
                                    std::fs::metadata(&c)
                                        .ok()
                                        .filter(|m| m.is_file())
                                        .map(|m| m.len()),
                                )
                            } else {
                                Resolved::Inside(None)
                            };
                        }
                        Err(_) => {
                            exact = false;
                            if !p.pop() {
                                break Resolved::Unknown;
                            }
                        }
                    }
                }
            }
        };
        self.resolved.insert(loc.to_vec(), r.clone());
        r
    }
}

#[cfg(unix)]
fn bytes_to_path(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
fn bytes_to_path(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

/// Why a location is unsafe whatever the folder, if it is.
fn lexical_problem(loc: &[u8]) -> Option<&'static str> {
    if loc == ORT_MEM_ADDR.as_bytes() {
        return Some("is ONNX Runtime's in-memory marker: its offset is read as a memory address");
    }
    if loc.contains(&0) {
        return Some("contains a NUL byte");
    }
    if loc.starts_with(b"\\\\") || loc.starts_with(b"//") {
        return Some("is a UNC or network path");
    }
    if loc[0] == b'/' || loc[0] == b'\\' {
        return Some("is an absolute path");
    }
    if loc.len() >= 2 && loc[0].is_ascii_alphabetic() && loc[1] == b':' {
        return Some("has a drive prefix");
    }
    if loc.split(|&b| b == b'/' || b == b'\\').any(|c| c == b"..") {
        return Some("has a '..' component (leaves the model's folder)");
    }
    None
}

/// An `offset` or `length` value: decimal digits fitting an i64 (loaders parse them as int64).
fn parse_size(v: &[u8]) -> Result<u64, &'static str> {
    let t = v.trim_ascii();
    if t.first() == Some(&b'-') {
        return Err("is negative");
    }
    if t.is_empty() || !t.iter().all(u8::is_ascii_digit) {
        return Err("is not a non-negative integer");
    }
    let mut n: u64 = 0;
    for &d in t {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or("overflows a 64-bit integer")?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical() {
        assert!(lexical_problem(b"/etc/passwd").is_some());
        assert!(lexical_problem(b"../x").is_some());
        assert!(lexical_problem(b"a/../../x").is_some());
        assert!(lexical_problem(b"a\\..\\x").is_some());
        assert!(lexical_problem(b"C:\\x").is_some());
        assert!(lexical_problem(b"c:x").is_some());
        assert!(lexical_problem(b"\\\\server\\share").is_some());
        assert!(lexical_problem(b"x\0.bin").is_some());
        assert!(lexical_problem(ORT_MEM_ADDR.as_bytes()).is_some());
        assert!(lexical_problem(b"weights.bin").is_none());
        assert!(lexical_problem(b"sub/w..bin").is_none());
        assert!(lexical_problem(b"./w.bin").is_none());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size(b"0"), Ok(0));
        assert_eq!(parse_size(b"4096"), Ok(4096));
        assert!(parse_size(b"-1").is_err());
        assert!(parse_size(b"").is_err());
        assert!(parse_size(b"0x10").is_err());
        assert!(parse_size(b"9223372036854775808").is_err());
        assert_eq!(parse_size(b"9223372036854775807"), Ok(i64::MAX as u64));
        assert!(parse_size(b"99999999999999999999999").is_err());
    }
}
