//! Scanning files: format detection by content, the walk into archives, and the per-file report.
//!
//! Formats are told apart by their bytes, never by their names. A file name only decides how an
//! unrecognised file is judged: a name a model would have (`.pt`, `.bin`, `.pkl`...) whose content
//! is no known format is "not verifiably safe" (MS005); any other unrecognised file (a README, a
//! tokenizer's JSON) is skipped, unless its bytes run as a pickle that imports something (then it
//! is reported like any pickle). docs/model-scan.md lists the rules.

use crate::finding::FileFinding;
use crate::pickle::{scan_pickle_with, Limits, PickleReport, Severity, Verdict};
use crate::{keras, npy, source, tar, zip};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Options of a scan.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    pub limits: Limits,
    /// Largest size a compressed member or file is inflated to before analysis.
    pub max_inflate: u64,
    /// Deepest nesting of archives inside archives.
    pub max_depth: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            max_inflate: 512 << 20,
            max_depth: 4,
        }
    }
}

/// A global a pickle in the file imports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Import {
    pub name: String,
    pub verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    pub count: u64,
}

/// What the scan found in one file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FileReport {
    pub path: PathBuf,
    /// The detected format (`pytorch-zip`, `pickle`, `safetensors`...; `unknown` when none;
    /// `error` when the file could not be read).
    pub format: &'static str,
    pub size: u64,
    pub findings: Vec<FileFinding>,
    /// Globals the file's pickles import (deduplicated per member).
    pub imports: Vec<Import>,
    /// Members of archives that were analysed, and tensor records skipped unread.
    pub members_scanned: u64,
    pub members_skipped: u64,
    /// The file could not be read (the run should exit 2).
    pub error: Option<String>,
}

impl FileReport {
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// `error`, `skipped` (not a model file), `unsafe` (critical, or a high finding that is not
    /// only "cannot analyse"), `not-verifiably-safe` (could not be analysed to its end),
    /// `suspicious` (medium or low) or `clean`.
    pub fn verdict(&self) -> &'static str {
        if self.error.is_some() {
            return "error";
        }
        match self.max_severity() {
            None if self.format == "unknown" => "skipped",
            None => "clean",
            Some(Severity::Critical) => "unsafe",
            Some(Severity::High) => {
                let unanalysable = |f: &FileFinding| matches!(f.code, "MS003" | "MS004" | "MS005");
                if self
                    .findings
                    .iter()
                    .filter(|f| f.severity == Severity::High)
                    .all(unanalysable)
                {
                    "not-verifiably-safe"
                } else {
                    "unsafe"
                }
            }
            Some(_) if self.findings.iter().all(|f| f.severity <= Severity::Low) => "clean",
            Some(_) => "suspicious",
        }
    }
}

/// File name endings that models are saved with: such a file whose content is no known format
/// is not verifiably safe, and its pickle must analyse to its end.
const MODEL_ENDINGS: &[&str] = &[
    ".pt",
    ".pth",
    ".bin",
    ".ckpt",
    ".pkl",
    ".pickle",
    ".p",
    ".dill",
    ".joblib",
    ".sav",
    ".model",
    ".npy",
    ".npz",
    ".h5",
    ".hdf5",
    ".keras",
    ".onnx",
    ".pb",
    ".safetensors",
    ".gguf",
    ".ggml",
    ".zip",
    ".tar",
    ".7z",
    ".mar",
    ".nemo",
    ".pkl.gz",
    ".gz",
    ".msgpack",
    ".tflite",
    ".llamafile",
];

/// Does the name say "model"?
pub fn has_model_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    MODEL_ENDINGS.iter().any(|e| lower.ends_with(e))
}

/// PyTorch's tensor records (`<archive>/data/<n>`, `.data/...`): raw storage bytes that
/// `torch.load` never unpickles. They are skipped without being read.
fn is_tensor_record(name: &str) -> bool {
    let mut parts = name.rsplit('/');
    let last = parts.next().unwrap_or("");
    let parent = parts.next();
    (parent == Some("data") && !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
        || name.starts_with(".data/")
        || name.contains("/.data/")
}

/// Scan the files and folders (recursively, in name order; symlinks to files are followed,
/// symlinks to folders are not) on all cores. `progress` is called once per file, in any
/// order. Reports come back in the order the files were found.
pub fn scan_paths(
    paths: &[PathBuf],
    opts: &Options,
    progress: &(dyn Fn(&FileReport) + Sync),
) -> Result<Vec<FileReport>, (PathBuf, std::io::Error)> {
    Ok(scan_files(&collect(paths)?, opts, progress))
}

/// Scan the files on all cores; reports come back in the order given.
pub fn scan_files(
    files: &[PathBuf],
    opts: &Options,
    progress: &(dyn Fn(&FileReport) + Sync),
) -> Vec<FileReport> {
    // One file: no thread pool to start.
    if let [one] = files {
        let r = scan_file(one, opts);
        progress(&r);
        return vec![r];
    }
    files
        .par_iter()
        .map(|f| {
            let r = scan_file(f, opts);
            progress(&r);
            r
        })
        .collect()
}

/// The files under `paths`, sorted within each folder.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, (PathBuf, std::io::Error)> {
    let mut out = Vec::new();
    for p in paths {
        let md = std::fs::metadata(p).map_err(|e| (p.clone(), e))?;
        if md.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), (PathBuf, std::io::Error)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| (dir.to_path_buf(), e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (dir.to_path_buf(), e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let ft = e.file_type().map_err(|e| (p.clone(), e))?;
        if ft.is_dir() {
            walk(&p, out)?;
        } else if ft.is_file()
            || (ft.is_symlink() && std::fs::metadata(&p).is_ok_and(|m| m.is_file()))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Scan one file.
pub fn scan_file(path: &Path, opts: &Options) -> FileReport {
    let mut r = FileReport {
        path: path.to_path_buf(),
        format: "error",
        size: 0,
        findings: Vec::new(),
        imports: Vec::new(),
        members_scanned: 0,
        members_skipped: 0,
        error: None,
    };
    let bytes = match source::open(path) {
        Ok(b) => b,
        Err(e) => {
            r.error = Some(format!("cannot read {}: {e}", path.display()));
            return r;
        }
    };
    r.size = bytes.len() as u64;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cx = Cx {
        opts,
        dir: path.parent(),
        report: &mut r,
    };
    let (format, findings) = cx.bytes(&name, &bytes, has_model_name(&name), 0);
    r.format = format;
    r.findings = findings;
    r
}

/// Scan bytes that are not in a file (a stream, a test), named `name`.
pub fn scan_bytes(name: &str, data: &[u8], opts: &Options) -> FileReport {
    let mut r = FileReport {
        path: PathBuf::from(name),
        format: "unknown",
        size: data.len() as u64,
        findings: Vec::new(),
        imports: Vec::new(),
        members_scanned: 0,
        members_skipped: 0,
        error: None,
    };
    let mut cx = Cx {
        opts,
        dir: None,
        report: &mut r,
    };
    let (format, findings) = cx.bytes(name, data, has_model_name(name), 0);
    r.format = format;
    r.findings = findings;
    r
}

struct Cx<'a> {
    opts: &'a Options,
    /// The folder the file is in (ONNX external data is resolved against it).
    dir: Option<&'a Path>,
    report: &'a mut FileReport,
}

const SEVEN_ZIP: &[u8] = b"7z\xbc\xaf\x27\x1c";

/// Formats that cannot be opened here: (magic, name).
const UNSUPPORTED: &[(&[u8], &str)] = &[
    (SEVEN_ZIP, "7z archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"BZh", "bzip2 data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"\x28\xb5\x2f\xfd", "zstd data"),
    (b"\x04\x22\x4d\x18", "lz4 data"),
];

impl Cx<'_> {
    /// Detect the format of `data` (called `name`) and analyse it. `declared`: the name is a
    /// model's, so unknown content is MS005 and a pickle must analyse to its end.
    fn bytes(
        &mut self,
        name: &str,
        data: &[u8],
        declared: bool,
        depth: u32,
    ) -> (&'static str, Vec<FileFinding>) {
        if data.is_empty() {
            return if declared {
                (
                    "empty",
                    vec![FileFinding::new(
                        "MS005",
                        Severity::High,
                        "not verifiably safe: an empty file with a model's name",
                    )],
                )
            } else {
                ("unknown", Vec::new())
            };
        }
        if zip::looks_like_zip(data) {
            return self.zip(data, depth);
        }
        for (magic, what) in UNSUPPORTED {
            if data.starts_with(magic) {
                let f = FileFinding::new(
                    "MS004",
                    Severity::High,
                    format!("not verifiably safe: {what} cannot be opened by the scanner; unpack it and scan the content"),
                );
                return ("unsupported-archive", vec![f]);
            }
        }
        if data.starts_with(b"\x1f\x8b") {
            return self.gzip(name, data, declared, depth);
        }
        if data.starts_with(npy::MAGIC) {
            return ("numpy-npy", self.npy(data));
        }
        if crate::hdf5::looks_like_hdf5(data) {
            return ("hdf5", crate::hdf5::scan_keras_h5(data));
        }
        if crate::gguf::looks_like_gguf(data) {
            return ("gguf", crate::gguf::scan_gguf(data));
        }
        if data.len() >= 2 && data[0] == 0x80 && data[1] <= 5 {
            return self.pickle(name, data, true);
        }
        if tar::looks_like_tar(data) {
            return self.tar(data, depth);
        }
        if crate::safetensors::looks_like_safetensors(data) {
            return ("safetensors", crate::safetensors::scan_safetensors(data));
        }
        if crate::savedmodel::looks_like_saved_model(data) {
            return ("tf-savedmodel", crate::savedmodel::scan_saved_model(data));
        }
        if crate::onnx::looks_like_onnx(data) {
            return ("onnx", crate::onnx::scan_onnx(data, self.dir));
        }
        if data.len() >= 2
            && data[0] == 0x78
            && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0
        {
            let cap = usize::try_from(self.opts.max_inflate).unwrap_or(usize::MAX);
            if let Ok(inner) = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(data, cap) {
                return self.inflated("zlib", name, &inner, declared, depth);
            }
        }
        if let Some(f) = remote_code(data) {
            return ("hf-config", f);
        }
        // Protocol 0 and 1 pickles have no magic: try to run the file as a pickle.
        let (format, findings) = self.pickle(name, data, declared);
        if format != "unknown" {
            return (format, findings);
        }
        if declared {
            let f = FileFinding::new(
                "MS005",
                Severity::High,
                "not verifiably safe: a model's file name, but the content is no format the scanner knows",
            );
            return ("unknown", vec![f]);
        }
        ("unknown", Vec::new())
    }

    fn inflated(
        &mut self,
        outer: &'static str,
        name: &str,
        inner: &[u8],
        declared: bool,
        depth: u32,
    ) -> (&'static str, Vec<FileFinding>) {
        if depth >= self.opts.max_depth {
            return (
                outer,
                vec![FileFinding::incomplete(format!(
                    "compressed data nested deeper than {} levels",
                    self.opts.max_depth
                ))],
            );
        }
        let inner_name = name.strip_suffix(".gz").unwrap_or(name).to_string();
        let (_, findings) = self.bytes(&inner_name, inner, declared || outer == "gzip", depth + 1);
        (outer, findings)
    }

    fn gzip(
        &mut self,
        name: &str,
        data: &[u8],
        declared: bool,
        depth: u32,
    ) -> (&'static str, Vec<FileFinding>) {
        match gunzip(data, self.opts.max_inflate) {
            Ok(inner) => self.inflated("gzip", name, &inner, declared, depth),
            Err(why) => (
                "gzip",
                vec![FileFinding::incomplete(format!(
                    "gzip data cannot be decompressed: {why}"
                ))],
            ),
        }
    }

    /// Run `data` as a pickle stream. Not declared and not starting with PROTO: only reported
    /// when it runs to its STOP and imports something, or reaches a denied global (a stray text
    /// file is not a pickle).
    fn pickle(
        &mut self,
        member: &str,
        data: &[u8],
        declared: bool,
    ) -> (&'static str, Vec<FileFinding>) {
        let rep = scan_pickle_with(data, &self.opts.limits);
        let proto = data.first() == Some(&0x80);
        if declared && !proto && !rep.complete && rep.globals.is_empty() {
            // Not a pickle at all (a PNG named .pt): the caller reports an unknown format.
            return ("unknown", Vec::new());
        }
        if !declared {
            let denied = rep.globals.iter().any(|g| g.verdict == Verdict::Denied);
            if !(denied || (rep.complete && !rep.globals.is_empty())) {
                return ("unknown", Vec::new());
            }
        }
        let format = pickle_format(&rep, data);
        (format, self.pickle_findings(member, rep))
    }

    fn pickle_findings(&mut self, member: &str, rep: PickleReport) -> Vec<FileFinding> {
        for g in &rep.globals {
            self.report.imports.push(Import {
                name: g.name.clone(),
                verdict: match g.verdict {
                    Verdict::Allowed => "allowed",
                    Verdict::Denied => "denied",
                    _ => "unknown",
                },
                member: Some(member.to_string()).filter(|m| !m.is_empty()),
                count: g.count,
            });
        }
        rep.findings
            .into_iter()
            .map(|f| {
                let code = match f.severity {
                    Severity::Critical => "MS001",
                    Severity::Medium if f.global.is_some() => "MS002",
                    Severity::Low => "MS090",
                    _ => "MS003",
                };
                let mut reason = f.reason;
                if let Some(outer) = f.nesting.last() {
                    reason.push_str(&format!(
                        " (in a pickle nested in the call at offset {outer})"
                    ));
                }
                let mut out = FileFinding::new(code, f.severity, reason)
                    .at(f.offset)
                    .opcode(f.opcode);
                out.global = f.global;
                out
            })
            .collect()
    }

    fn npy(&mut self, data: &[u8]) -> Vec<FileFinding> {
        match npy::header(data) {
            Err(why) => vec![FileFinding::incomplete(why)],
            Ok(h) if h.has_object => {
                // numpy.load(allow_pickle=True) unpickles everything after the header.
                let body = &data[h.data_offset..];
                let rep = scan_pickle_with(body, &self.opts.limits);
                let mut f = self.pickle_findings("", rep);
                for x in &mut f {
                    x.offset = x.offset.map(|o| o + h.data_offset as u64);
                    x.reason.push_str(" (in the pickle of an object array)");
                }
                f
            }
            Ok(_) => Vec::new(),
        }
    }

    fn zip(&mut self, data: &[u8], depth: u32) -> (&'static str, Vec<FileFinding>) {
        let mut archive = match zip::read(data) {
            Ok(a) => a,
            Err(why) => {
                return (
                    "zip",
                    vec![FileFinding::incomplete(format!(
                        "the zip archive cannot be read: {why}"
                    ))],
                )
            }
        };
        let mut out = Vec::new();
        if archive.from_local_headers {
            out.push(FileFinding::incomplete(
                "the zip archive has no readable central directory; members were found from their local headers and some may be missed",
            ));
        }
        for n in &archive.notes {
            out.push(FileFinding::new("MS090", Severity::Low, n.clone()));
        }
        let names: Vec<&str> = archive.members.iter().map(|m| m.name.as_str()).collect();
        let keras = names.contains(&"config.json") && names.contains(&"metadata.json");
        let torch = names
            .iter()
            .any(|n| *n == "data.pkl" || n.ends_with("/data.pkl"));
        let npz = !names.is_empty() && names.iter().all(|n| n.ends_with(".npy"));
        let format = if keras {
            "keras"
        } else if torch {
            "pytorch-zip"
        } else if npz {
            "numpy-npz"
        } else {
            "zip"
        };
        if depth >= self.opts.max_depth {
            out.push(FileFinding::incomplete(format!(
                "archives nested deeper than {} levels",
                self.opts.max_depth
            )));
            return (format, out);
        }
        for m in archive.members.iter_mut() {
            if m.name.ends_with('/') && m.size == 0 {
                continue;
            }
            if is_tensor_record(&m.name) {
                self.report.members_skipped += 1;
                continue;
            }
            self.report.members_scanned += 1;
            if let Err(why) = zip::locate(data, m) {
                out.push(
                    FileFinding::incomplete(format!("member cannot be read: {why}"))
                        .member(m.name.clone())
                        .at(m.header_offset),
                );
                continue;
            }
            if let Some(l) = &m.local_name {
                out.push(FileFinding::new(
                    "MS090",
                    Severity::Low,
                    format!(
                        "member {:?} has the local name {l:?}; loaders use the central directory's name",
                        m.name
                    ),
                ));
            }
            let declared =
                has_model_name(&m.name) || m.local_name.as_deref().is_some_and(has_model_name);
            let content = match zip::content(data, m, self.opts.max_inflate) {
                Ok(c) => c,
                Err(e) => {
                    let code = if m.encrypted() || matches!(e, zip::Unreadable::Method(_)) {
                        "MS004"
                    } else {
                        "MS003"
                    };
                    let what = if m.encrypted() {
                        " (the member is encrypted)"
                    } else {
                        ""
                    };
                    out.push(
                        FileFinding::new(
                            code,
                            Severity::High,
                            format!("not verifiably safe: member cannot be read: {e}{what}"),
                        )
                        .member(m.name.clone())
                        .at(m.data_offset),
                    );
                    continue;
                }
            };
            let (inner, found) = if keras && m.name == "config.json" {
                ("keras-config", keras::scan_keras_config(&content))
            } else {
                self.bytes(&m.name, &content, declared, depth + 1)
            };
            // A member flagged encrypted whose bytes did not analyse as anything (really
            // encrypted data): it cannot be judged. Data that only carries the flag but is
            // readable is judged like any other.
            let unreadable = if found.is_empty() {
                inner == "unknown"
            } else {
                found
                    .iter()
                    .all(|f| matches!(f.code, "MS003" | "MS005" | "MS090"))
            };
            if m.encrypted() && unreadable {
                out.push(
                    FileFinding::new(
                        "MS004",
                        Severity::High,
                        "not verifiably safe: the member is encrypted and cannot be analysed",
                    )
                    .member(m.name.clone()),
                );
                continue;
            }
            out.extend(found.into_iter().map(|f| f.within(&m.name)));
        }
        (format, out)
    }

    fn tar(&mut self, data: &[u8], depth: u32) -> (&'static str, Vec<FileFinding>) {
        let entries = match tar::read(data) {
            Ok(e) => e,
            Err(why) => {
                return (
                    "tar",
                    vec![FileFinding::incomplete(format!(
                        "the tar archive cannot be read: {why}"
                    ))],
                )
            }
        };
        let legacy = ["sys_info", "pickle", "storages"]
            .iter()
            .all(|n| entries.iter().any(|e| e.name == *n));
        let format = if legacy { "pytorch-legacy-tar" } else { "tar" };
        let mut out = Vec::new();
        if depth >= self.opts.max_depth {
            out.push(FileFinding::incomplete(format!(
                "archives nested deeper than {} levels",
                self.opts.max_depth
            )));
            return (format, out);
        }
        for e in &entries {
            self.report.members_scanned += 1;
            let body = &data[e.offset..e.offset + e.size];
            if legacy && (e.name == "storages" || e.name == "tensors") {
                // torch.load interleaves pickles with raw bytes in these members; their layout
                // is not followed here, so pickles after the first are not seen.
                out.push(
                    FileFinding::incomplete("legacy PyTorch tar member interleaves pickles with raw tensor bytes, which the scanner does not follow")
                        .member(e.name.clone()),
                );
                continue;
            }
            let declared = legacy || has_model_name(&e.name);
            let (_, f) = self.bytes(&e.name, body, declared, depth + 1);
            out.extend(f.into_iter().map(|x| x.within(&e.name)));
        }
        (format, out)
    }
}

/// Largest JSON file looked at for Hugging Face `auto_map` (configs are a few KiB; a
/// tokenizer's vocabulary is not a config).
const MAX_CONFIG: usize = 1 << 20;

/// A Hugging Face configuration (`config.json`, `tokenizer_config.json`...) whose `auto_map`
/// names classes in Python files of the model repository: `from_pretrained(...,
/// trust_remote_code=True)` imports and runs them (MS013). `None` when the bytes are not such
/// a JSON object.
fn remote_code(data: &[u8]) -> Option<Vec<FileFinding>> {
    if data.len() > MAX_CONFIG || data.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(data).ok()?;
    let map = v.get("auto_map")?.as_object()?;
    let mut refs: Vec<String> = map
        .values()
        .flat_map(|x| match x {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|y| y.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    refs.sort();
    refs.dedup();
    if refs.is_empty() {
        return None;
    }
    // "modeling_x.MyModel" is module modeling_x.py of this repository; "org/repo--mod.Class"
    // another repository's.
    let modules: Vec<String> = refs
        .iter()
        .map(|r| match r.rsplit_once('.') {
            Some((m, _)) => format!("{m}.py"),
            None => r.clone(),
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Some(vec![FileFinding::new(
        "MS013",
        Severity::Medium,
        format!(
            "auto_map names code in the model repository ({}): from_pretrained(trust_remote_code=True) imports and runs it; review those files",
            modules.join(", ")
        ),
    )
    .global(refs.join(", "))])
}

/// What kind of pickle file this is, from what it imports.
fn pickle_format(rep: &PickleReport, data: &[u8]) -> &'static str {
    if rep.globals.iter().any(|g| g.name.starts_with("joblib.")) {
        "joblib"
    } else if crate::pickle::is_legacy_torch_magic(&data[..data.len().min(40)]) {
        "pytorch-legacy"
    } else {
        "pickle"
    }
}

/// Decompress a gzip member (RFC 1952), at most `limit` bytes.
fn gunzip(data: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let flags = *data.get(3).ok_or("truncated gzip header")?;
    if data.get(2) != Some(&8) {
        return Err("unknown gzip compression method".into());
    }
    let mut at = 10usize;
    if flags & 4 != 0 {
        let b = data.get(at..at + 2).ok_or("truncated gzip header")?;
        at += 2 + usize::from(u16::from_le_bytes([b[0], b[1]]));
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            let rest = data.get(at..).ok_or("truncated gzip header")?;
            at += rest
                .iter()
                .position(|&b| b == 0)
                .ok_or("truncated gzip header")?
                + 1;
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    let body = data.get(at..).ok_or("truncated gzip header")?;
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    miniz_oxide::inflate::decompress_to_vec_with_limit(body, cap).map_err(|e| match e.status {
        miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
            format!("it inflates to more than {limit} bytes")
        }
        s => format!("{s:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hugging_face_remote_code_is_reported() {
        let cfg = br#"{"architectures": ["PhiForCausalLM"], "auto_map": {
            "AutoConfig": "configuration_phi.PhiConfig",
            "AutoModelForCausalLM": "modeling_phi.PhiForCausalLM",
            "AutoTokenizer": ["tokenization_x.XTokenizer", null]}, "model_type": "phi"}"#;
        let f = remote_code(cfg).unwrap();
        assert_eq!(f[0].code, "MS013");
        assert!(
            f[0].reason
                .contains("configuration_phi.py, modeling_phi.py, tokenization_x.py"),
            "{}",
            f[0].reason
        );
        let r = scan_bytes("config.json", cfg, &Options::default());
        assert_eq!((r.format, r.verdict()), ("hf-config", "suspicious"));
        // Plain configs, other JSON and text are not reported.
        assert!(
            remote_code(br#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}"#)
                .is_none()
        );
        assert!(remote_code(br#"{"auto_map": {}}"#).is_none());
        assert!(remote_code(b"[1, 2]").is_none() && remote_code(b"hello").is_none());
        assert_eq!(
            scan_bytes(
                "config.json",
                br#"{"model_type": "bert"}"#,
                &Options::default()
            )
            .verdict(),
            "skipped"
        );
    }

    #[test]
    fn tensor_records_are_recognised() {
        assert!(is_tensor_record("archive/data/0"));
        assert!(is_tensor_record("model/data/123"));
        assert!(is_tensor_record(".data/serialization_id"));
        assert!(!is_tensor_record("archive/data.pkl"));
        assert!(!is_tensor_record("archive/data/x.pkl"));
        assert!(!is_tensor_record("data/"));
    }
}
