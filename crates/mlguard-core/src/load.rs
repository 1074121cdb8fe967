//! Reading manifests from files, folders and stdin into [`Object`]s.
//!
//! Every problem with an input becomes an [`InputError`] naming the file, line and field; the
//! other inputs (and the other documents of the same file, up to a YAML syntax error) are still
//! read. Nothing here panics on bad input.

use crate::node::{At, Node, PathBuf, Pos, Value};
use crate::yaml::{parse_stream, Limits};
use rayon::prelude::*;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf as FsPath};
use std::sync::Arc;

/// Options for [`load`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub limits: Limits,
    /// Files larger than this are refused with an input error.
    pub max_file_size: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            max_file_size: 64 * 1024 * 1024,
        }
    }
}

/// One input file that was read.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// As given or found (relative paths stay relative); `-` for stdin.
    pub path: String,
    /// Lower-case hex SHA-256 of the bytes read.
    pub sha256: String,
    pub size: u64,
}

/// A Kubernetes object (or any mapping with `apiVersion` and `kind`) read from an input.
#[derive(Debug, Clone)]
pub struct Object {
    /// Index into [`Loaded::files`].
    pub file: usize,
    /// Document index within the file (0-based).
    pub doc: usize,
    /// Path of the object within its document: root, or `items[i]` inside a List.
    pub base: PathBuf,
    /// The document's tree, shared: cloning an object (the admission webhook copies its
    /// context objects for every request) does not copy the tree.
    pub root: Arc<Node>,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `metadata.namespace` as written (None when absent).
    pub namespace: Option<String>,
}

impl Object {
    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        match self.api_version.rsplit_once('/') {
            Some((g, _)) => g,
            None => "",
        }
    }

    pub fn at(&self) -> At<'_> {
        At::within(&self.root, &self.base)
    }

    pub fn metadata(&self) -> Option<&Node> {
        self.root.get("metadata")
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.root
            .at("metadata.labels")
            .and_then(|l| l.get(key))
            .and_then(Node::as_str)
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.root
            .at("metadata.annotations")
            .and_then(|l| l.get(key))
            .and_then(Node::as_str)
    }

    /// String labels (non-string values are skipped; they are reported as input errors).
    pub fn labels(&self) -> std::collections::BTreeMap<String, String> {
        self.root
            .at("metadata.labels")
            .map(|l| {
                l.entries()
                    .iter()
                    .filter_map(|e| e.value.scalar_text().map(|v| (e.key.to_string(), v)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A problem with an input. Rendered `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    pub pos: Option<Pos>,
    /// YAML path of the offending field, when one is known.
    pub field: Option<String>,
    pub message: String,
}

impl InputError {
    /// An error about the node `at` of `file` (its line, column and YAML path).
    pub fn at(file: &str, at: &At<'_>, message: impl Into<String>) -> Self {
        InputError {
            file: file.to_owned(),
            pos: Some(at.pos()),
            field: Some(at.path().to_string()),
            message: message.into(),
        }
    }
}

/// Where something is written: file, line and column, YAML path. Analyses keep one per rule so
/// their answers can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub pos: Pos,
    pub path: String,
}

impl Origin {
    pub fn of(file: &str, at: &At<'_>) -> Self {
        Origin {
            file: file.to_owned(),
            pos: at.pos(),
            path: at.path().to_string(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(p) = self.pos {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Something worth telling the user that is not an error (a skipped kustomization file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub file: String,
    pub message: String,
}

/// Everything read.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub files: Vec<SourceFile>,
    pub objects: Vec<Object>,
    pub errors: Vec<InputError>,
    pub notes: Vec<Note>,
}

fn is_manifest_name(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// `mlguard.yaml` (scan settings) found while walking a folder is read as settings, not scanned.
pub fn is_settings_name(p: &Path) -> bool {
    matches!(
        p.file_name().and_then(|e| e.to_str()),
        Some("mlguard.yaml" | "mlguard.yml")
    )
}

fn is_kustomization_name(p: &Path) -> bool {
    matches!(
        p.file_name().and_then(|e| e.to_str()),
        Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
    )
}

/// Expand the given paths into the list of files to read, in a stable order. Folders are walked
/// recursively (hidden entries and symlinked folders skipped); files named explicitly are read
/// whatever their extension. Problems (missing paths) are returned as errors.
pub fn collect_files(paths: &[String]) -> (Vec<String>, Vec<InputError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p == "-" {
            files.push("-".to_owned());
            continue;
        }
        let path = Path::new(p);
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut files, &mut errors),
            Ok(_) => files.push(p.clone()),
            Err(e) => errors.push(InputError {
                file: p.clone(),
                pos: None,
                field: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    (files, errors)
}

fn walk(dir: &Path, files: &mut Vec<String>, errors: &mut Vec<InputError>) {
    let mut entries: Vec<FsPath> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            errors.push(InputError {
                file: dir.display().to_string(),
                pos: None,
                field: None,
                message: format!("cannot read folder: {e}"),
            });
            return;
        }
    };
    entries.sort();
    for e in entries {
        let hidden = e
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&e) else {
            continue;
        };
        if meta.is_dir() {
            walk(&e, files, errors);
        } else if is_settings_name(&e) {
            // mlguard's own settings file next to the manifests: not a manifest.
        } else if is_manifest_name(&e) || is_kustomization_name(&e) {
            files.push(e.display().to_string());
        }
    }
}

/// Read every path (files, folders, `-` for stdin) into objects.
pub fn load(paths: &[String], opts: &LoadOptions) -> Loaded {
    let (files, mut errors) = collect_files(paths);
    let mut out = load_files(&files, opts);
    errors.append(&mut out.errors);
    out.errors = errors;
    out
}

/// Read an explicit list of files (no folder walking).
pub fn load_files(files: &[String], opts: &LoadOptions) -> Loaded {
    let per_file: Vec<FileResult> = files.par_iter().map(|f| read_one(f, opts)).collect();
    let mut out = Loaded::default();
    for r in per_file {
        let idx = out.files.len();
        if let Some(sf) = r.source {
            out.files.push(sf);
            for mut o in r.objects {
                o.file = idx;
                out.objects.push(o);
            }
        }
        out.errors.extend(r.errors);
        out.notes.extend(r.notes);
    }
    out
}

/// Read documents already in memory, each named as a file (a live cluster's lists): as
/// [`load_files`] does, with their SHA-256 recorded.
pub fn load_documents(docs: &[(String, String)], opts: &LoadOptions) -> Loaded {
    let mut out = Loaded::default();
    for (name, text) in docs {
        let idx = out.files.len();
        out.files.push(SourceFile {
            path: name.clone(),
            sha256: sha256_hex(text.as_bytes()),
            size: text.len() as u64,
        });
        let (objects, errors, notes) = load_text(name, text, opts);
        out.objects.extend(objects.into_iter().map(|mut o| {
            o.file = idx;
            o
        }));
        out.errors.extend(errors);
        out.notes.extend(notes);
    }
    out
}

impl Loaded {
    /// Add what `other` read after what this one did.
    pub fn append(&mut self, other: Loaded) {
        let base = self.files.len();
        self.files.extend(other.files);
        self.objects.extend(other.objects.into_iter().map(|mut o| {
            o.file += base;
            o
        }));
        self.errors.extend(other.errors);
        self.notes.extend(other.notes);
    }
}

/// Read the objects of a JSON value already parsed (an admission request's object) as
/// document `name`, as `load_documents` reads its text, without printing and parsing it
/// again. Positions are all 1:1, and the file has no digest (no bytes were read).
pub fn load_json(name: &str, value: &serde_json::Value) -> Loaded {
    load_node(
        name,
        Node::from_json(value, crate::node::Pos { line: 1, column: 1 }),
    )
}

/// As [`load_json`], from a tree already built (positions 1:1, as `Node::from_json` gives).
pub fn load_node(name: &str, root: Node) -> Loaded {
    load_shared(name, Arc::new(root))
}

/// As [`load_node`], for a tree shared with its maker: an object that is the whole tree (not
/// an item of a List) holds it without a copy.
pub fn load_shared(name: &str, root: Arc<Node>) -> Loaded {
    let mut r = FileResult::default();
    collect_objects(name, 0, PathBuf::root(), root, &mut r, 0, None);
    let mut out = Loaded::default();
    out.files.push(SourceFile {
        path: name.to_owned(),
        sha256: String::new(),
        size: 0,
    });
    out.objects = r.objects;
    out.errors = r.errors;
    out.notes = r.notes;
    out
}

/// Parse text that is already in memory (used for stdin, by tests and by fuzzing).
pub fn load_text(
    name: &str,
    text: &str,
    opts: &LoadOptions,
) -> (Vec<Object>, Vec<InputError>, Vec<Note>) {
    let mut r = FileResult::default();
    parse_into(name, text, opts, &mut r);
    (r.objects, r.errors, r.notes)
}

#[derive(Default)]
struct FileResult {
    source: Option<SourceFile>,
    objects: Vec<Object>,
    errors: Vec<InputError>,
    notes: Vec<Note>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn read_bytes(name: &str, max: u64) -> Result<Vec<u8>, String> {
    if name == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(max + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(buf);
    }
    let f = std::fs::File::open(name).map_err(|e| format!("cannot read: {e}"))?;
    let mut buf = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    Ok(buf)
}

fn read_one(name: &str, opts: &LoadOptions) -> FileResult {
    let mut r = FileResult::default();
    let err = |message: String| InputError {
        file: name.to_owned(),
        pos: None,
        field: None,
        message,
    };
    let bytes = match read_bytes(name, opts.max_file_size) {
        Ok(b) => b,
        Err(m) => {
            r.errors.push(err(m));
            return r;
        }
    };
    if bytes.len() as u64 > opts.max_file_size {
        r.errors.push(err(format!(
            "file is larger than the {} MiB limit; not read (raise it with --max-file-size)",
            opts.max_file_size / (1024 * 1024)
        )));
        return r;
    }
    r.source = Some(SourceFile {
        path: name.to_owned(),
        sha256: sha256_hex(&bytes),
        size: bytes.len() as u64,
    });
    if is_kustomization_name(Path::new(name)) {
        r.notes.push(Note {
            file: name.to_owned(),
            message: "kustomization file skipped: scan the output of `kustomize build` instead"
                .to_owned(),
        });
        return r;
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    if let Some(i) = body.iter().position(|b| *b == 0) {
        let line = body[..i].iter().filter(|b| **b == b'\n').count() + 1;
        r.errors.push(InputError {
            pos: Some(Pos {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: 1,
            }),
            ..err("binary file (contains a NUL byte); expected YAML or JSON text".to_owned())
        });
        return r;
    }
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(e) => {
            let upto = &body[..e.valid_up_to()];
            let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
            r.errors.push(InputError {
                pos: Some(Pos {
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    column: 1,
                }),
                ..err("not UTF-8 text; expected YAML or JSON".to_owned())
            });
            return r;
        }
    };
    parse_into(name, text, opts, &mut r);
    r
}

fn parse_into(name: &str, text: &str, opts: &LoadOptions, r: &mut FileResult) {
    let stream = parse_stream(text, opts.limits);
    for doc in stream.documents {
        collect_objects(
            name,
            doc.index,
            PathBuf::root(),
            Arc::new(doc.root),
            r,
            0,
            None,
        );
    }
    if let Some(e) = stream.error {
        r.errors.push(InputError {
            file: name.to_owned(),
            pos: Some(e.pos),
            field: None,
            message: e.message,
        });
    }
}

fn type_error(name: &str, node: &Node, path: &PathBuf, expected: &str) -> InputError {
    InputError {
        file: name.to_owned(),
        pos: Some(node.pos),
        field: Some(path.to_string()),
        message: format!("expected {expected}, found {}", node.type_name()),
    }
}

fn collect_objects(
    name: &str,
    doc: usize,
    base: PathBuf,
    root: Arc<Node>,
    r: &mut FileResult,
    depth: u8,
    implied: Option<(&str, &str)>,
) {
    if root.is_null() {
        return; // empty document (`---` with nothing, Helm's skipped templates)
    }
    if !root.is_map() {
        r.errors.push(InputError {
            file: name.to_owned(),
            pos: Some(root.pos),
            field: (!base.is_root()).then(|| base.to_string()),
            message: format!(
                "document {} is a {}, not a Kubernetes object (a mapping with apiVersion and kind)",
                doc + 1,
                root.type_name()
            ),
        });
        return;
    }
    // Items of a typed list (`PodList`) may leave out kind and apiVersion; the API machinery
    // takes them from the list.
    let implied =
        implied.filter(|_| root.get("kind").is_none() && root.get("apiVersion").is_none());
    let kind = match root.get("kind") {
        None if implied.is_some() => implied.map(|i| i.0.to_owned()).unwrap_or_default(),
        Some(k) => match k.as_str() {
            Some(s) => s.to_owned(),
            None => {
                r.errors
                    .push(type_error(name, k, &base.key("kind"), "a string"));
                return;
            }
        },
        None => {
            r.errors.push(InputError {
                file: name.to_owned(),
                pos: Some(root.pos),
                field: Some(base.key("kind").to_string()),
                message: format!(
                    "document {} has no `kind`; not a Kubernetes object",
                    doc + 1
                ),
            });
            return;
        }
    };
    let api_version = match root.get("apiVersion") {
        None if implied.is_some() => implied.map(|i| i.1.to_owned()).unwrap_or_default(),
        Some(v) => match v.as_str() {
            Some(s) => s.to_owned(),
            None => {
                r.errors
                    .push(type_error(name, v, &base.key("apiVersion"), "a string"));
                return;
            }
        },
        None => {
            r.errors.push(InputError {
                file: name.to_owned(),
                pos: Some(root.pos),
                field: Some(base.key("apiVersion").to_string()),
                message: format!("`{kind}` object has no `apiVersion`"),
            });
            return;
        }
    };
    if kind == "Kustomization" && api_version.starts_with("kustomize.config.k8s.io") {
        r.notes.push(Note {
            file: name.to_owned(),
            message: "kustomization file skipped: scan the output of `kustomize build` instead"
                .to_owned(),
        });
        return;
    }
    // `v1/List` and any `*List` kind holding `items`.
    if kind.ends_with("List") && root.get("items").is_some() && depth == 0 {
        let item_kind = kind.strip_suffix("List").unwrap_or_default().to_owned();
        let Node { value, .. } = Arc::unwrap_or_clone(root);
        let Value::Map(entries) = value else { return };
        for e in entries.into_vec() {
            if e.key != "items" {
                continue;
            }
            let items_path = base.key("items");
            match e.value.value {
                Value::Seq(items) => {
                    for (i, item) in items.into_vec().into_iter().enumerate() {
                        let implied = (!item_kind.is_empty())
                            .then_some((item_kind.as_str(), api_version.as_str()));
                        collect_objects(
                            name,
                            doc,
                            items_path.index(i),
                            Arc::new(item),
                            r,
                            depth + 1,
                            implied,
                        );
                    }
                }
                Value::Null => {}
                _ => r
                    .errors
                    .push(type_error(name, &e.value, &items_path, "a list")),
            }
        }
        return;
    }
    // metadata must be a mapping with string name/namespace; labels and annotations maps of strings.
    let mut nm = String::new();
    let mut ns = None;
    if let Some(meta) = root.get("metadata") {
        let mpath = base.key("metadata");
        if !meta.is_map() {
            r.errors.push(type_error(name, meta, &mpath, "a mapping"));
            return;
        }
        for f in ["name", "namespace", "generateName"] {
            if let Some(v) = meta.get(f) {
                if v.as_str().is_none() && !v.is_null() {
                    r.errors
                        .push(type_error(name, v, &mpath.key(f), "a string"));
                    return;
                }
            }
        }
        for f in ["labels", "annotations"] {
            if let Some(m) = meta.get(f) {
                let p = mpath.key(f);
                if !m.is_map() && !m.is_null() {
                    r.errors
                        .push(type_error(name, m, &p, "a mapping of strings"));
                    return;
                }
                for e in m.entries() {
                    if e.value.as_str().is_none() {
                        r.errors
                            .push(type_error(name, &e.value, &p.key(&e.key), "a string"));
                    }
                }
            }
        }
        nm = meta
            .get("name")
            .and_then(Node::as_str)
            .or_else(|| meta.get("generateName").and_then(Node::as_str))
            .unwrap_or_default()
            .to_owned();
        ns = meta
            .get("namespace")
            .and_then(Node::as_str)
            .map(str::to_owned);
    }
    r.objects.push(Object {
        file: 0,
        doc,
        base,
        root,
        api_version,
        kind,
        name: nm,
        namespace: ns,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_expanded_with_item_paths() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: b, namespace: x}\n";
        let (objs, errs, _) = load_text("f.yaml", text, &LoadOptions::default());
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[1].base.to_string(), "items[1]");
        assert_eq!(objs[1].namespace.as_deref(), Some("x"));
        let (objs, _, _) = load_text(
            "f.yaml",
            "apiVersion: v1\nkind: PodList\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n",
            &LoadOptions::default(),
        );
        assert_eq!(objs[0].kind, "Pod");
        // Items of a typed list may leave kind and apiVersion out.
        let (objs, errs, _) = load_text(
            "f.yaml",
            "apiVersion: v1\nkind: NamespaceList\nitems:\n- metadata: {name: a}\n",
            &LoadOptions::default(),
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            (objs[0].kind.as_str(), objs[0].api_version.as_str()),
            ("Namespace", "v1")
        );
    }

    #[test]
    fn unknown_kinds_are_kept_and_bad_documents_reported() {
        let text = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n- a\n---\nkind: Pod\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    a: [1]\n";
        let (objs, errs, _) = load_text("f.yaml", text, &LoadOptions::default());
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].kind, "Widget");
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0]
            .to_string()
            .starts_with("f.yaml:5:1: document 2 is a list"));
        assert!(errs[1].to_string().contains("no `apiVersion`"));
        assert_eq!(errs[2].field.as_deref(), Some("metadata.labels.a"));
        assert_eq!(errs[2].pos.map(|p| p.line), Some(14));
    }

    #[test]
    fn kustomization_is_skipped_with_a_note() {
        let (objs, errs, notes) = load_text(
            "k.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
            &LoadOptions::default(),
        );
        assert!(objs.is_empty() && errs.is_empty());
        assert_eq!(notes.len(), 1);
    }
}
