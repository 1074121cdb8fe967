//! What a scan of one model file reports, whatever its format: findings with stable codes, the
//! member of an archive they are in, a byte offset and a reason.
//!
//! Codes are stable (scripts and exceptions match on them) and documented in docs/model-scan.md:
//!
//! | code  | severity | meaning |
//! |-------|----------|---------|
//! | MS001 | critical | a pickle imports a global on the deny list (runs code on load) |
//! | MS002 | medium   | a pickle imports a global that is on neither list |
//! | MS003 | high     | not verifiably safe: the file or a member could not be analysed to its end |
//! | MS004 | high     | not verifiably safe: an archive or compression that cannot be opened here |
//! | MS005 | high     | not verifiably safe: a model file name whose content is no known format |
//! | MS010 | critical | Keras: a Lambda layer (Python bytecode or source runs on load) |
//! | MS011 | medium   | Keras: a custom object outside Keras (imported on load) |
//! | MS012 | high     | Keras: settings that switch safe mode off or load code |
//! | MS013 | medium   | Hugging Face config whose auto_map names Python code of the repository |
//! | MS020 | high     | TensorFlow SavedModel: an op that reads or writes files or runs Python |
//! | MS030 | high     | ONNX: external data outside the model folder |
//! | MS040 | high     | safetensors: a header that breaks the format's rules |
//! | MS050 | high     | GGUF: a header, metadata or tensor table out of bounds or malformed |
//! | MS051 | critical | GGUF: a chat template that reaches for Python internals |
//! | MS090 | low      | informational: more findings were left out, or a note about the file |

use crate::pickle::Severity;

/// A finding in one model file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileFinding {
    /// Stable code (`MS001`...), see the module documentation.
    pub code: &'static str,
    pub severity: Severity,
    /// Path of the member inside an archive or folder model (`archive/data.pkl`,
    /// `model.weights.h5`...), `None` for the file itself.
    pub member: Option<String>,
    /// Byte offset inside the member (or the file), when one applies.
    pub offset: Option<u64>,
    /// The pickle opcode, TensorFlow op, Keras layer class... the finding is about.
    pub opcode: Option<String>,
    /// The imported global (`module.name`) or the named object concerned.
    pub global: Option<String>,
    /// One line: what was found and why it matters.
    pub reason: String,
}

impl FileFinding {
    /// A finding with only a code, a severity and a reason.
    pub fn new(code: &'static str, severity: Severity, reason: impl Into<String>) -> Self {
        FileFinding {
            code,
            severity,
            member: None,
            offset: None,
            opcode: None,
            global: None,
            reason: reason.into(),
        }
    }

    pub fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    pub fn member(mut self, member: impl Into<String>) -> Self {
        self.member = Some(member.into());
        self
    }

    pub fn opcode(mut self, opcode: impl Into<String>) -> Self {
        self.opcode = Some(opcode.into());
        self
    }

    pub fn global(mut self, global: impl Into<String>) -> Self {
        self.global = Some(global.into());
        self
    }

    /// Put the finding inside `member` of an archive: a finding already inside a member of a
    /// nested archive gets the joined path (`outer.npz/arr_0.npy`).
    pub fn within(mut self, member: &str) -> Self {
        self.member = Some(match self.member.take() {
            Some(inner) => format!("{member}/{inner}"),
            None => member.to_string(),
        });
        self
    }

    /// "not verifiably safe" (MS003): the content could not be analysed to its end.
    pub fn incomplete(reason: impl AsRef<str>) -> Self {
        FileFinding::new(
            "MS003",
            Severity::High,
            format!("not verifiably safe: {}", reason.as_ref()),
        )
    }
}

/// Keep at most `max` findings; those beyond (and `left_out` more that were never kept) become
/// one MS090 note "N more WHAT findings left out".
pub fn capped(
    mut out: Vec<FileFinding>,
    max: usize,
    left_out: usize,
    what: &str,
) -> Vec<FileFinding> {
    let more = out.len().saturating_sub(max) + left_out;
    out.truncate(max);
    if more > 0 {
        out.push(FileFinding::new(
            "MS090",
            Severity::Low,
            format!("{more} more {what} findings left out"),
        ));
    }
    out
}

/// Every finding code with its usual severity and a one-line description (docs, SARIF rules).
pub const CODES: &[(&str, &str, &str)] = &[
    (
        "MS001",
        "critical",
        "A pickle imports a global on the deny list: loading the file can run code",
    ),
    (
        "MS002",
        "medium",
        "A pickle imports a global that is on neither the allow nor the deny list",
    ),
    (
        "MS003",
        "high",
        "Not verifiably safe: the file or a member could not be analysed to its end",
    ),
    (
        "MS004",
        "high",
        "Not verifiably safe: an archive, compression or encryption the scanner cannot open",
    ),
    (
        "MS005",
        "high",
        "Not verifiably safe: a model's file name, but content in no format the scanner knows",
    ),
    (
        "MS010",
        "critical",
        "Keras Lambda layer: Python code stored in the model runs when it is loaded or called",
    ),
    (
        "MS011",
        "medium",
        "Keras custom object from a module outside Keras: imported when the model is loaded",
    ),
    (
        "MS012",
        "high",
        "Keras configuration that switches safe mode off, fetches files or loads another model",
    ),
    (
        "MS020",
        "high",
        "TensorFlow SavedModel op that reads or writes files or runs Python",
    ),
    (
        "MS030",
        "high",
        "ONNX external data outside the model folder",
    ),
    (
        "MS040",
        "high",
        "safetensors header that breaks the format's rules",
    ),
    (
        "MS050",
        "high",
        "GGUF header, metadata or tensor table out of bounds or malformed",
    ),
    (
        "MS051",
        "critical",
        "GGUF chat template that reaches for Python internals (template injection)",
    ),
    (
        "MS090",
        "low",
        "A note about the file (an oddity that is not a risk by itself, or findings left out)",
    ),
];
