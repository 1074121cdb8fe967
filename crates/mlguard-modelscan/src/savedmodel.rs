//! TensorFlow SavedModel (`saved_model.pb`): ops that read or write files or run Python.
//!
//! A SavedModel is a graph of ops that TensorFlow runs when the model is called (and, for
//! initialisers, when it is loaded). Some ops reach outside the tensors: they read or write any
//! file the process can (`ReadFile`, `WriteFile`...) or call back into Python (`PyFunc`...). The
//! analysis collects the op of every node of every meta graph's `graph_def` and of every function
//! in its `library`, and the names of functions and ops that node attributes call
//! (`PartitionedCall`'s `f`...: TensorFlow instantiates a primitive op named there too), then
//! reports those in [`FILE_OR_PYTHON_OPS`] as MS020. `PrintV2` is reported only when its
//! `output_stream` is a `file://` URL, `DecodeProtoV2`/`EncodeProto` only when their
//! `descriptor_source` is a file path. A malformed protobuf is MS003.
//!
//! Not reported: `SaveV2`, `RestoreV2`, `MergeV2Checkpoints`, `ShardedFilename` (and the legacy
//! `Save`/`Restore`/`SaveSlices`/`RestoreSlice`): every SavedModel has them to save and restore
//! its own variables, so flagging them would flag every model. Likewise
//! `InitializeTableFromTextFile(V2)`, which reads the vocabularies shipped in `assets/`.

use crate::finding::FileFinding;
use crate::pickle::Severity;
use crate::protobuf::{Error, Message, Value};

/// Findings kept per file; the rest are summarised in one MS090 note.
pub const MAX_FINDINGS: usize = 64;
/// Nesting of function-valued attributes (`NameAttrList` inside `NameAttrList`) walked.
const MAX_ATTR_DEPTH: usize = 16;

/// Ops that read or write files or run Python, with why (op names from TensorFlow's op
/// registrations, tensorflow/core/ops/*.cc).
pub const FILE_OR_PYTHON_OPS: &[(&str, &str)] = &[
    (
        "ReadFile",
        "reads any file named by its input into a tensor",
    ),
    (
        "WriteFile",
        "writes a tensor to any file named by its input",
    ),
    (
        "MatchingFiles",
        "lists the files matching a glob (explores the file system)",
    ),
    ("PyFunc", "calls a Python function of the loading process"),
    (
        "PyFuncStateless",
        "calls a Python function of the loading process",
    ),
    (
        "EagerPyFunc",
        "calls a Python function of the loading process",
    ),
    (
        "ImmutableConst",
        "memory-maps the file named in its memory_region_name attribute",
    ),
    (
        "DebugIdentity",
        "writes tensor dumps to the files or URLs in debug_urls",
    ),
    (
        "DebugIdentityV2",
        "writes tensor dumps under the dump_root directory",
    ),
    (
        "DebugIdentityV3",
        "writes tensor dumps to the files or URLs in debug_urls",
    ),
    (
        "DebugNanCount",
        "writes debug dumps to the files or URLs in debug_urls",
    ),
    (
        "DebugNumericSummary",
        "writes debug dumps to the files or URLs in debug_urls",
    ),
    ("WholeFileReader", "reads whole files named by a queue"),
    ("WholeFileReaderV2", "reads whole files named by a queue"),
    (
        "TextLineReader",
        "reads the lines of files named by a queue",
    ),
    (
        "TextLineReaderV2",
        "reads the lines of files named by a queue",
    ),
    (
        "FixedLengthRecordReader",
        "reads records of files named by a queue",
    ),
    (
        "FixedLengthRecordReaderV2",
        "reads records of files named by a queue",
    ),
    ("TFRecordReader", "reads records of files named by a queue"),
    (
        "TFRecordReaderV2",
        "reads records of files named by a queue",
    ),
    (
        "TextLineDataset",
        "reads the lines of any files named by its input",
    ),
    (
        "TFRecordDataset",
        "reads the records of any files named by its input",
    ),
    (
        "TFRecordDatasetV2",
        "reads the records of any files named by its input",
    ),
    (
        "FixedLengthRecordDataset",
        "reads any files named by its input",
    ),
    (
        "FixedLengthRecordDatasetV2",
        "reads any files named by its input",
    ),
    ("LoadDataset", "reads a dataset saved under any path"),
    ("SaveDataset", "writes a dataset under any path"),
    ("SaveDatasetV2", "writes a dataset under any path"),
    ("DatasetToTFRecord", "writes a dataset to any file"),
    (
        "ExperimentalDatasetToTFRecord",
        "writes a dataset to any file",
    ),
    (
        "CreateSummaryFileWriter",
        "creates event files in any directory",
    ),
];

// Field numbers (tensorflow/core/protobuf/saved_model.proto, meta_graph.proto,
// tensorflow/core/framework/graph.proto, function.proto, node_def.proto, op_def.proto,
// attr_value.proto).
mod field {
    pub const SAVED_MODEL_SCHEMA_VERSION: u32 = 1;
    pub const SAVED_MODEL_META_GRAPHS: u32 = 2;
    pub const META_GRAPH_DEF: u32 = 2;
    pub const GRAPH_NODE: u32 = 1;
    pub const GRAPH_LIBRARY: u32 = 2;
    pub const LIBRARY_FUNCTION: u32 = 1;
    pub const FUNCTION_SIGNATURE: u32 = 1;
    pub const FUNCTION_NODE_DEF: u32 = 3;
    pub const OPDEF_NAME: u32 = 1;
    pub const NODE_NAME: u32 = 1;
    pub const NODE_OP: u32 = 2;
    pub const NODE_ATTR: u32 = 5;
    pub const ENTRY_KEY: u32 = 1;
    pub const ENTRY_VALUE: u32 = 2;
    pub const ATTR_LIST: u32 = 1;
    pub const ATTR_S: u32 = 2;
    pub const ATTR_FUNC: u32 = 10;
    pub const LIST_FUNC: u32 = 9;
    pub const NAME_ATTR_LIST_NAME: u32 = 1;
    pub const NAME_ATTR_LIST_ATTR: u32 = 2;
}

/// Why `op` is reported, if it is on the list.
pub fn file_or_python_op(op: &str) -> Option<&'static str> {
    FILE_OR_PYTHON_OPS
        .iter()
        .find(|(name, _)| *name == op)
        .map(|(_, why)| *why)
}

/// Content detection: a `SavedModel` message with only its two fields, a
/// `saved_model_schema_version` and at least one meta graph holding a well-formed `graph_def`.
pub fn looks_like_saved_model(data: &[u8]) -> bool {
    let mut version = false;
    let mut graph = false;
    for f in Message::new(data).fields() {
        let Ok(f) = f else { return false };
        match (f.number, f.value) {
            (field::SAVED_MODEL_SCHEMA_VERSION, Value::Varint(v)) => {
                version = (1..=16).contains(&v)
            }
            (field::SAVED_MODEL_META_GRAPHS, Value::Len(m)) => {
                for g in m.fields() {
                    let Ok(g) = g else { return false };
                    if g.number == field::META_GRAPH_DEF {
                        match g.value {
                            Value::Len(d) if d.validate().is_ok() => graph = true,
                            _ => return false,
                        }
                    }
                }
            }
            _ => return false,
        }
    }
    version && graph
}

/// Analyse a `saved_model.pb`.
pub fn scan_saved_model(data: &[u8]) -> Vec<FileFinding> {
    let mut s = Scan {
        out: Vec::new(),
        left_out: 0,
    };
    if let Err(e) = s.saved_model(Message::new(data)) {
        s.push(
            FileFinding::incomplete(format!("the SavedModel protobuf is malformed: {e}"))
                .at(e.offset),
        );
    }
    crate::finding::capped(s.out, usize::MAX, s.left_out, "SavedModel")
}

struct Scan {
    out: Vec<FileFinding>,
    left_out: usize,
}

impl Scan {
    fn push(&mut self, f: FileFinding) {
        if self.out.len() < MAX_FINDINGS {
            self.out.push(f);
        } else {
            self.left_out += 1;
        }
    }

    fn saved_model(&mut self, m: Message<'_>) -> Result<(), Error> {
        let mut index = 0usize;
        for f in m.fields() {
            let f = f?;
            match f.number {
                field::SAVED_MODEL_SCHEMA_VERSION => {
                    f.varint()?;
                }
                field::SAVED_MODEL_META_GRAPHS => {
                    for g in f.bytes()?.fields() {
                        let g = g?;
                        if g.number == field::META_GRAPH_DEF {
                            self.graph_def(g.bytes()?, index)?;
                        }
                    }
                    index += 1;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn graph_def(&mut self, g: Message<'_>, index: usize) -> Result<(), Error> {
        let place = format!("meta graph {index}");
        for f in g.fields() {
            let f = f?;
            match f.number {
                field::GRAPH_NODE => self.node(f.bytes()?, &place)?,
                field::GRAPH_LIBRARY => {
                    for l in f.bytes()?.fields() {
                        let l = l?;
                        if l.number == field::LIBRARY_FUNCTION {
                            self.function(l.bytes()?, &place)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn function(&mut self, func: Message<'_>, place: &str) -> Result<(), Error> {
        let mut name = String::new();
        for f in func.fields() {
            let f = f?;
            if f.number == field::FUNCTION_SIGNATURE {
                for s in f.bytes()?.fields() {
                    let s = s?;
                    if s.number == field::OPDEF_NAME {
                        name = s.bytes()?.lossy();
                    }
                }
            }
        }
        let place = format!("function '{name}' of {place}");
        for f in func.fields() {
            let f = f?;
            if f.number == field::FUNCTION_NODE_DEF {
                self.node(f.bytes()?, &place)?;
            }
        }
        Ok(())
    }

    fn node(&mut self, n: Message<'_>, place: &str) -> Result<(), Error> {
        let mut name = String::new();
        let mut op = String::new();
        for f in n.fields() {
            let f = f?;
            match f.number {
                field::NODE_NAME => name = f.bytes()?.lossy(),
                field::NODE_OP => op = f.bytes()?.lossy(),
                _ => {}
            }
        }
        let at = n.base;
        if let Some(why) = file_or_python_op(&op) {
            self.report(&op, &name, place, why, at);
        }
        for f in n.fields() {
            let f = f?;
            if f.number != field::NODE_ATTR {
                continue;
            }
            let mut key: &[u8] = b"";
            let mut value = None;
            for e in f.bytes()?.fields() {
                let e = e?;
                match e.number {
                    field::ENTRY_KEY => key = e.bytes()?.data,
                    field::ENTRY_VALUE => value = Some(e.bytes()?),
                    _ => {}
                }
            }
            let Some(value) = value else { continue };
            let s = attr_string(value)?;
            match (op.as_str(), key, s) {
                ("PrintV2", b"output_stream", Some(s)) if s.starts_with(b"file://") => {
                    let why = "prints to the file named by its output_stream attribute";
                    self.report(&op, &name, place, why, at)
                }
                ("DecodeProtoV2" | "EncodeProto", b"descriptor_source", Some(s))
                    if !s.is_empty()
                        && !s.starts_with(b"local://")
                        && !s.starts_with(b"bytes://") =>
                {
                    let why = "reads the file named by its descriptor_source attribute";
                    self.report(&op, &name, place, why, at)
                }
                _ => {}
            }
            self.called(value, &name, place, at, 0)?;
        }
        Ok(())
    }

    /// Functions or primitive ops an attribute value names (`func`, `list.func`).
    fn called(
        &mut self,
        value: Message<'_>,
        node: &str,
        place: &str,
        at: u64,
        depth: usize,
    ) -> Result<(), Error> {
        if depth > MAX_ATTR_DEPTH {
            self.push(
                FileFinding::incomplete(format!(
                    "function attributes nest deeper than {MAX_ATTR_DEPTH} levels"
                ))
                .at(value.base),
            );
            return Ok(());
        }
        for f in value.fields() {
            let f = f?;
            match f.number {
                field::ATTR_FUNC => self.name_attr_list(f.bytes()?, node, place, at, depth)?,
                field::ATTR_LIST => {
                    for l in f.bytes()?.fields() {
                        let l = l?;
                        if l.number == field::LIST_FUNC {
                            self.name_attr_list(l.bytes()?, node, place, at, depth)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn name_attr_list(
        &mut self,
        list: Message<'_>,
        node: &str,
        place: &str,
        at: u64,
        depth: usize,
    ) -> Result<(), Error> {
        for f in list.fields() {
            let f = f?;
            match f.number {
                field::NAME_ATTR_LIST_NAME => {
                    let called = f.bytes()?.lossy();
                    if let Some(why) = file_or_python_op(&called) {
                        let why = format!("called through a function attribute: {why}");
                        self.report(&called, node, place, &why, at);
                    }
                }
                field::NAME_ATTR_LIST_ATTR => {
                    for e in f.bytes()?.fields() {
                        let e = e?;
                        if e.number == field::ENTRY_VALUE {
                            self.called(e.bytes()?, node, place, at, depth + 1)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn report(&mut self, op: &str, node: &str, place: &str, why: &str, at: u64) {
        self.push(
            FileFinding::new(
                "MS020",
                Severity::High,
                format!("TensorFlow op {op} (node '{node}' in {place}) {why}"),
            )
            .at(at)
            .opcode(op)
            .global(node),
        );
    }
}

/// The `s` of an `AttrValue`, if it has one.
fn attr_string(value: Message<'_>) -> Result<Option<&[u8]>, Error> {
    let mut s = None;
    for f in value.fields() {
        let f = f?;
        if f.number == field::ATTR_S {
            s = Some(f.bytes()?.data);
        }
    }
    Ok(s)
}
