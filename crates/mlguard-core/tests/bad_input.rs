//! Bad input never panics, never hangs, and never hides the other inputs.
//!
//! Each case writes one bad file next to a good one into a fresh temporary folder, loads the
//! folder with [`mlguard_core::load::load`], and checks that
//! - the bad file gives an [`InputError`] naming the file, a line and what is wrong,
//! - the good file's object is still loaded,
//! - the whole load finishes within a time bound (run on a worker thread, so a hang fails the
//!   test instead of stalling the suite).
//!
//! Std only: the temporary folders live under `std::env::temp_dir()` with a unique name and are
//! removed when the case ends.

use mlguard_core::load::{load, InputError, LoadOptions, Loaded};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const GOOD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n  namespace: team-a\ndata:\n  k: v\n";

/// Generous bounds: tests run unoptimised, on 2 shared cores, beside other builds.
const SMALL: Duration = Duration::from_secs(30);
const LARGE: Duration = Duration::from_secs(240);

/// A temporary folder removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "mlguard-bad-input-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).expect("write temp file");
        p.display().to_string()
    }

    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run `f` on a worker thread; fail if it panics or takes longer than `limit`.
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let handle = std::thread::Builder::new()
        .name(format!("load {what}"))
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("spawn worker");
    match rx.recv_timeout(limit) {
        Ok(v) => {
            handle.join().expect("worker finished");
            v
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(p) => std::panic::resume_unwind(p),
            Ok(()) => panic!("{what}: worker ended without a result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still loading after {:?} (hang?)", start.elapsed())
        }
    }
}

fn load_paths(paths: Vec<String>, opts: LoadOptions, limit: Duration, what: &str) -> Loaded {
    within(limit, what, move || load(&paths, &opts))
}

/// Load a folder holding `good.yaml` and the given bad file; return the load and the bad path.
fn load_with_bad(name: &str, bytes: impl AsRef<[u8]>) -> (Loaded, String, TempDir) {
    let dir = TempDir::new(name.trim_end_matches(".yaml"));
    dir.write("good.yaml", GOOD);
    let bad = dir.write(name, bytes);
    let loaded = load_paths(vec![dir.path()], LoadOptions::default(), SMALL, name);
    (loaded, bad, dir)
}

fn assert_good_loaded(l: &Loaded) {
    assert!(
        l.objects
            .iter()
            .any(|o| o.kind == "ConfigMap" && o.name == "good"),
        "the good file next to the bad one was not loaded: {:?}",
        l.objects.iter().map(|o| &o.name).collect::<Vec<_>>()
    );
}

/// The only error of the load, checked to name `file` and carry a line.
fn only_error<'a>(l: &'a Loaded, file: &str) -> &'a InputError {
    assert_eq!(
        l.errors.len(),
        1,
        "expected one input error: {:#?}",
        l.errors
    );
    let e = &l.errors[0];
    assert_eq!(e.file, file, "{e}");
    let pos = e.pos.unwrap_or_else(|| panic!("no line in: {e}"));
    assert!(pos.line >= 1 && pos.column >= 1, "{e}");
    assert!(!e.message.is_empty());
    assert!(
        e.to_string()
            .starts_with(&format!("{file}:{}:{}: ", pos.line, pos.column)),
        "rendered as {e}"
    );
    e
}

fn line_of(e: &InputError) -> u32 {
    e.pos.map_or(0, |p| p.line)
}

#[test]
fn invalid_yaml_names_file_and_line_and_keeps_earlier_documents() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n    bad: indentation\n";
    let (l, bad, _d) = load_with_bad("invalid.yaml", text);
    assert_good_loaded(&l);
    let e = only_error(&l, &bad);
    assert!(e.message.starts_with("invalid YAML"), "{e}");
    assert!((8..=9).contains(&line_of(e)), "{e}");
    // The document before the syntax error is kept.
    assert!(l.objects.iter().any(|o| o.name == "first"));
}

#[test]
fn unterminated_flow_and_quote_are_reported() {
    for (name, text) in [
        (
            "flow.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p\n",
        ),
        (
            "quote.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"p\n",
        ),
        ("tab.yaml", "apiVersion: v1\nkind: Pod\nspec:\n\t- x\n"),
        (
            "alias.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: *nothing\n",
        ),
    ] {
        let (l, bad, _d) = load_with_bad(name, text);
        assert_good_loaded(&l);
        let e = only_error(&l, &bad);
        assert!(line_of(e) >= 3, "{e}");
    }
}

#[test]
fn wrong_types_name_the_field() {
    let cases: &[(&str, &str, &str, u32)] = &[
        (
            "meta.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: []\n",
            "metadata",
            3,
        ),
        (
            "label.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    app: [a, b]\n",
            "metadata.labels.app",
            6,
        ),
        (
            "labels.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: [a]\n",
            "metadata.labels",
            5,
        ),
        (
            "name.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {a: b}\n",
            "metadata.name",
            4,
        ),
        ("kind.yaml", "apiVersion: v1\nkind: 5\n", "kind", 2),
        (
            "apiversion.yaml",
            "apiVersion: [v1]\nkind: Pod\n",
            "apiVersion",
            1,
        ),
        (
            "items.yaml",
            "apiVersion: v1\nkind: List\nitems: {a: b}\n",
            "items",
            3,
        ),
    ];
    for (name, text, field, line) in cases {
        let (l, bad, _d) = load_with_bad(name, text);
        assert_good_loaded(&l);
        let e = only_error(&l, &bad);
        assert_eq!(e.field.as_deref(), Some(*field), "{e}");
        assert_eq!(line_of(e), *line, "{e}");
        assert!(e.message.starts_with("expected "), "{e}");
        assert!(e.to_string().contains(&format!("field `{field}`")), "{e}");
    }
}

#[test]
fn documents_that_are_not_objects_are_reported() {
    let (l, bad, _d) = load_with_bad("scalar.yaml", "just a string\n---\n- a\n- b\n");
    assert_good_loaded(&l);
    assert_eq!(l.errors.len(), 2, "{:#?}", l.errors);
    assert!(l.errors.iter().all(|e| e.file == bad && e.pos.is_some()));
    assert!(
        l.errors[0].message.contains("is a string"),
        "{}",
        l.errors[0]
    );
    assert!(l.errors[1].message.contains("is a list"), "{}", l.errors[1]);
    assert_eq!(line_of(&l.errors[1]), 3);
}

#[test]
fn binary_files_are_refused_with_a_line() {
    let mut bytes = b"apiVersion: v1\nkind: Pod\n".to_vec();
    bytes.extend_from_slice(&[0x7f, b'E', b'L', b'F', 0, 0, 1, 2, 0xff, 0xfe]);
    let (l, bad, _d) = load_with_bad("binary.yaml", &bytes);
    assert_good_loaded(&l);
    let e = only_error(&l, &bad);
    assert!(e.message.contains("binary file"), "{e}");
    assert_eq!(line_of(e), 3);

    let (l, bad, _d) = load_with_bad("latin1.yaml", b"a: 1\nname: caf\xe9\n");
    assert_good_loaded(&l);
    let e = only_error(&l, &bad);
    assert!(e.message.contains("not UTF-8"), "{e}");
    assert_eq!(line_of(e), 2);
}

#[test]
fn deep_nesting_is_refused_flow_and_block() {
    const DEPTH: usize = 10_000;
    let flow = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n",
        "[".repeat(DEPTH),
        "]".repeat(DEPTH)
    );
    let flow_map = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata: {}1{}\n",
        "{a: ".repeat(DEPTH),
        "}".repeat(DEPTH)
    );
    let mut block = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n");
    for i in 1..=DEPTH {
        let _ = writeln!(block, "{}k:", " ".repeat(i));
    }
    // Compact nested block sequences: `- - - ... - x`, one level per two bytes.
    let block_seq = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata:\n{}x\n",
        "- ".repeat(DEPTH)
    );
    for (name, text) in [
        ("flow.yaml", flow),
        ("flowmap.yaml", flow_map),
        ("block.yaml", block),
        ("blockseq.yaml", block_seq),
    ] {
        let (l, bad, _d) = load_with_bad(name, text);
        assert_good_loaded(&l);
        let e = only_error(&l, &bad);
        assert!(
            e.message.contains("nesting deeper") || e.message.contains("recursion limit"),
            "{name}: {e}"
        );
        if name.starts_with("flow") {
            assert_eq!(line_of(e), 3, "{e}");
        } else if name == "blockseq.yaml" {
            assert_eq!(line_of(e), 4, "{e}");
        } else {
            assert!(line_of(e) > 3 && line_of(e) < 1000, "{e}");
        }
    }
}

#[test]
fn alias_bombs_are_refused() {
    // Billion laughs: ten levels of ten aliases each.
    let mut bomb = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        let _ = writeln!(
            bomb,
            "  l{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]"
        );
    }
    // The same through merge keys and mapping values.
    let mut merge = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata:\n  m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n");
    for i in 1..12 {
        let p = i - 1;
        let _ = writeln!(
            merge,
            "  m{i}: &m{i} {{a: *m{p}, b: *m{p}, c: *m{p}, d: *m{p}, e: *m{p}, f: *m{p}, g: *m{p}, h: *m{p}}}"
        );
    }
    for (name, text) in [("bomb.yaml", bomb), ("mergebomb.yaml", merge)] {
        let (l, bad, _d) = load_with_bad(name, text);
        assert_good_loaded(&l);
        let e = only_error(&l, &bad);
        assert!(e.message.contains("alias bomb"), "{e}");
        assert!((5..=16).contains(&line_of(e)), "{e}");
    }
}

#[test]
fn oversize_files_are_refused_without_reading_them_whole() {
    let dir = TempDir::new("oversize");
    dir.write("good.yaml", GOOD);
    let big = dir.write("big.yaml", "a: b\n".repeat(300_000)); // 1.5 MB
    let opts = LoadOptions {
        max_file_size: 1024 * 1024,
        ..LoadOptions::default()
    };
    let l = load_paths(vec![dir.path()], opts, SMALL, "oversize");
    assert_good_loaded(&l);
    assert_eq!(l.errors.len(), 1, "{:#?}", l.errors);
    assert_eq!(l.errors[0].file, big);
    assert!(
        l.errors[0].message.contains("larger than"),
        "{}",
        l.errors[0]
    );
}

#[test]
fn missing_paths_are_reported_and_the_rest_loaded() {
    let dir = TempDir::new("missing");
    let good = dir.write("good.yaml", GOOD);
    let missing = dir.0.join("nope.yaml").display().to_string();
    let l = load_paths(
        vec![missing.clone(), good],
        LoadOptions::default(),
        SMALL,
        "missing",
    );
    assert_good_loaded(&l);
    assert_eq!(l.errors.len(), 1);
    assert_eq!(l.errors[0].file, missing);
}

const MIB: usize = 1024 * 1024;

/// Write roughly `size` bytes of valid multi-document YAML (Pods, ConfigMaps, Services) to
/// `path`; return the number of objects written.
fn write_valid_multidoc(path: &Path, size: usize) -> usize {
    let f = std::fs::File::create(path).expect("create");
    let mut w = std::io::BufWriter::new(f);
    let mut written = 0;
    let mut n = 0;
    let mut doc = String::new();
    while written < size {
        doc.clear();
        let ns = format!("team-{}", n % 97);
        match n % 3 {
            0 => {
                let _ = write!(
                    doc,
                    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: trainer-{n}\n  namespace: {ns}\n  labels:\n    app: trainer\n    mlguard.io/tenant: {ns}\nspec:\n  serviceAccountName: trainer\n  containers:\n  - name: main\n    image: registry.example.com/ml/trainer:1.{n}\n    args: [\"--epochs\", \"10\", \"--lr\", \"0.001\"]\n    resources:\n      limits: {{cpu: \"4\", memory: 16Gi, nvidia.com/gpu: 1}}\n    securityContext:\n      runAsNonRoot: true\n      allowPrivilegeEscalation: false\n      capabilities: {{drop: [ALL]}}\n"
                );
            }
            1 => {
                let _ = write!(
                    doc,
                    "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-{n}\n  namespace: {ns}\ndata:\n  config.json: |\n    {{\"batch\": 64, \"seed\": {n}}}\n  mode: train\n"
                );
            }
            _ => {
                let _ = write!(
                    doc,
                    "---\n{{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {{\"name\": \"svc-{n}\", \"namespace\": \"{ns}\"}}, \"spec\": {{\"selector\": {{\"app\": \"trainer\"}}, \"ports\": [{{\"port\": 8080, \"targetPort\": 8080}}]}}}}\n"
                );
            }
        }
        w.write_all(doc.as_bytes()).expect("write");
        written += doc.len();
        n += 1;
    }
    w.flush().expect("flush");
    n
}

#[test]
fn a_valid_50_mib_multi_document_file_loads() {
    let dir = TempDir::new("big-valid");
    dir.write("good.yaml", GOOD);
    let big = dir.0.join("big.yaml");
    let n = write_valid_multidoc(&big, 50 * MIB);
    let start = Instant::now();
    let l = load_paths(
        vec![dir.path()],
        LoadOptions::default(),
        LARGE,
        "50 MiB valid",
    );
    let took = start.elapsed();
    assert!(
        l.errors.is_empty(),
        "{:#?}",
        &l.errors[..l.errors.len().min(5)]
    );
    assert_good_loaded(&l);
    assert_eq!(l.objects.len(), n + 1);
    eprintln!("50 MiB, {n} objects loaded in {took:?}");
}

/// A simple deterministic generator (no dependencies).
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

#[test]
fn a_50_mib_single_line_of_garbage_is_an_error_not_a_hang() {
    // Printable ASCII and YAML indicators, no newline: the parser must fail or finish fast.
    const CHARSET: &[u8] = b"abcxyzABC0123456789 :-?,[]{}#&*!|>'\"%@`~=+/\\";
    let mut seed = 0x006d_6c67_7561_7264_u64;
    let mut garbage = Vec::with_capacity(50 * MIB);
    while garbage.len() < 50 * MIB {
        let r = lcg(&mut seed) as usize;
        garbage.push(CHARSET[r % CHARSET.len()]);
    }
    // One long plain scalar: must be read as one string document, not quadratically.
    let long_scalar = "x".repeat(50 * MIB);
    // One long flow sequence on a single line.
    let mut long_flow = String::with_capacity(50 * MIB + 2);
    long_flow.push('[');
    while long_flow.len() < 50 * MIB {
        long_flow.push_str("ab, ");
    }
    long_flow.push_str("ab]");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage.yaml", garbage),
        ("scalar.yaml", long_scalar.into_bytes()),
        ("flowseq.yaml", long_flow.into_bytes()),
    ];
    for (name, bytes) in cases {
        let dir = TempDir::new("big-garbage");
        dir.write("good.yaml", GOOD);
        let bad = dir.write(name, bytes);
        let l = load_paths(vec![dir.path()], LoadOptions::default(), LARGE, name);
        assert_good_loaded(&l);
        let e = only_error(&l, &bad);
        assert_eq!(line_of(e), 1, "{e}");
        eprintln!("{name}: {e}");
    }
}

// Two cost bugs found while writing these tests, fixed in yaml.rs: a hash index for wide
// mappings, and a budget on the nodes anchors hold. The time bounds are loose enough for an
// unoptimised build.

/// Duplicate-key detection scans the entries already read, so one mapping with n keys costs
/// O(n^2): 40,000 keys take ~1.7 s optimised, and a 50 MiB ConfigMap (~3 million keys) hours.
#[test]
fn a_mapping_with_many_keys_loads_in_linear_time() {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wide}\ndata:\n");
    for i in 0..200_000 {
        let _ = writeln!(text, "  key-{i}: value-{i}");
    }
    let dir = TempDir::new("wide");
    dir.write("good.yaml", GOOD);
    dir.write("wide.yaml", &text);
    let l = load_paths(
        vec![dir.path()],
        LoadOptions::default(),
        SMALL,
        "wide mapping",
    );
    assert!(l.errors.is_empty(), "{:#?}", l.errors);
    assert_good_loaded(&l);
    let wide = l.objects.iter().find(|o| o.name == "wide").expect("wide");
    assert_eq!(
        wide.root.get("data").map(|d| d.entries().len()),
        Some(200_000)
    );
}

/// Every anchored node is cloned into the anchor table when it closes, so anchors nested n deep
/// around content of size s copy n * s nodes without a single alias: 200 levels around 100,000
/// scalars (200 KB) take 3 s and 800 MB unoptimised; the same around 25 MiB of scalars exhausts
/// memory. Compared with the same content under one anchor, which must cost about the same.
#[test]
fn nested_anchors_without_aliases_are_bounded() {
    fn nested(depth: usize) -> String {
        let mut text = String::from(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: anchors}\ndata:\n  x: ",
        );
        for i in 0..depth {
            let _ = write!(text, "&a{i} [");
        }
        text.push_str(&"a, ".repeat(100_000));
        text.push('a');
        text.push_str(&"]".repeat(depth));
        text.push('\n');
        text
    }
    let mut took = Vec::new();
    for depth in [1, 200] {
        let dir = TempDir::new("anchors");
        dir.write("good.yaml", GOOD);
        dir.write("anchors.yaml", nested(depth));
        let start = Instant::now();
        let l = load_paths(
            vec![dir.path()],
            LoadOptions::default(),
            SMALL,
            "nested anchors",
        );
        took.push(start.elapsed());
        assert_good_loaded(&l);
        // Either loaded or refused with a clear error; what matters is the cost.
        assert!(
            l.objects.len() == 2 || l.errors.len() == 1,
            "{:#?}",
            l.errors
        );
    }
    eprintln!(
        "one anchor: {:?}; 200 nested anchors: {:?}",
        took[0], took[1]
    );
    assert!(
        took[1] < took[0] * 10 + Duration::from_millis(500),
        "200 nested anchors cost {:?}, one anchor {:?}",
        took[1],
        took[0]
    );
}
