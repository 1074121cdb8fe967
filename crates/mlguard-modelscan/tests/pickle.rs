//! The pickle analysis against pickles CPython writes (the test venv's Python,
//! MLGUARD_TEST_PYTHON: benign containers and NumPy arrays at protocols 0 to 5, `os.system` through
//! `__reduce__`, nested pickles, unknown classes) and hand-assembled streams (STACK_GLOBAL with
//! memo strings, INST, OBJ, BUILD on a global, back-to-back pickles), checked well formed by
//! CPython's pickletools; every prefix of malicious pickles, random bytes and limit bombs.
//!
//! Without MLGUARD_TEST_PYTHON the CPython parts are skipped with a message, unless
//! MLGUARD_REQUIRE_TOOLS is set: then they fail.

mod common;
use common::{py, python};
use mlguard_modelscan::{
    classify_global, scan_pickle, scan_pickle_with, Limits, PickleReport, Severity, Verdict,
};

/// Pickle what `setup` defines as `obj` at `proto`.
fn dumps(python: &std::path::Path, setup: &str, proto: u8) -> Vec<u8> {
    let script = format!(
        "import pickle, sys\n{setup}\nsys.stdout.buffer.write(pickle.dumps(obj, protocol=int(sys.argv[1])))\n"
    );
    py(python, &script, &[&proto.to_string()], b"")
}

/// CPython's pickletools walks the whole stream without error (without executing it).
fn assert_well_formed(python: &std::path::Path, bytes: &[u8]) {
    let script = "import io, pickletools, sys\n\
                  data = sys.stdin.buffer.read()\n\
                  f = io.BytesIO(data)\n\
                  while f.tell() < len(data):\n    pickletools.dis(f, out=io.StringIO())\n";
    py(python, script, &[], bytes);
}

fn has(r: &PickleReport, sev: Severity, global: &str) -> bool {
    r.findings
        .iter()
        .any(|f| f.severity == sev && f.global.as_deref() == Some(global))
}

fn not_verifiable(r: &PickleReport) -> bool {
    r.findings
        .iter()
        .any(|f| f.severity == Severity::High && f.reason.starts_with("not verifiably safe"))
}

fn assert_clean(r: &PickleReport, what: &str) {
    assert!(r.complete, "{what}: incomplete: {r:#?}");
    assert!(
        r.findings.iter().all(|f| f.severity < Severity::Medium),
        "{what}: findings: {r:#?}"
    );
    assert!(r.is_verifiably_safe(), "{what}");
}

const BENIGN: &str = "import collections\n\
obj = collections.OrderedDict([\n\
  ('weights', [1.5, -2, 3 ** 70, None, True, False]),\n\
  ('meta', {'name': 'm\\u00e9', 'bytes': b'\\x00\\xff' * 300, 'ba': bytearray(b'xy'), 't': (1, (2, 3), ())}),\n\
  ('sets', [set([1, 2]), frozenset(['a']), complex(1, 2), slice(1, 5), range(3)]),\n\
  ('nested', [collections.OrderedDict(a=[{}, []]), 'x' * 70000]),\n\
])\n\
obj['again'] = obj['weights']\n";

#[test]
fn benign_python_objects_at_every_protocol_are_clean() {
    let Some(python) = python() else { return };
    for proto in 0..=5 {
        let bytes = dumps(&python, BENIGN, proto);
        let r = scan_pickle(&bytes);
        assert_clean(&r, &format!("protocol {proto}"));
        assert!(
            r.globals
                .iter()
                .any(|g| g.name == "collections.OrderedDict" && g.verdict == Verdict::Allowed),
            "protocol {proto}: {r:#?}"
        );
    }
}

#[test]
fn numpy_arrays_at_every_protocol_are_clean() {
    let Some(python) = python() else { return };
    let probe = py(
        &python,
        "import importlib.util, sys\nsys.stdout.write('yes' if importlib.util.find_spec('numpy') else 'no')",
        &[],
        b"",
    );
    if probe != b"yes" {
        assert!(
            std::env::var_os("MLGUARD_REQUIRE_TOOLS").is_none(),
            "numpy is not importable in the test venv (scripts/requirements-test.txt installs it)"
        );
        eprintln!("skipped: numpy is not importable in the test venv");
        return;
    }
    let setup = "import numpy as np\nobj = {'a': np.arange(12, dtype=np.float32).reshape(3, 4), 'b': np.array(['x', 'y']), 's': np.float64(2.5), 'd': np.dtype('int16')}";
    for proto in 0..=5 {
        let r = scan_pickle(&dumps(&python, setup, proto));
        assert_clean(&r, &format!("numpy protocol {proto}"));
    }
}

const EVIL: &str = "import os\n\
class Evil:\n    def __reduce__(self):\n        return (os.system, ('id',))\n\
obj = {'model': [1, 2, Evil()]}\n";

#[test]
fn os_system_reduce_at_every_protocol_is_critical() {
    let Some(python) = python() else { return };
    for proto in 0..=5 {
        let bytes = dumps(&python, EVIL, proto);
        let r = scan_pickle(&bytes);
        assert!(r.complete, "protocol {proto}: {r:#?}");
        assert_eq!(
            r.max_severity(),
            Some(Severity::Critical),
            "protocol {proto}"
        );
        assert!(
            has(&r, Severity::Critical, "posix.system") || has(&r, Severity::Critical, "os.system"),
            "protocol {proto}: {r:#?}"
        );
    }
}

#[test]
fn os_and_posix_system_are_both_denied() {
    for (m, n) in [
        ("os", "system"),
        ("posix", "system"),
        ("nt", "system"),
        ("subprocess", "Popen"),
        ("os.path", "join"),
        ("builtins", "eval"),
        ("__builtin__", "eval"),
        ("builtins", "getattr"),
        ("builtins", "eval.__call__"),
        ("numpy", "__builtins__"),
        ("numpy.testing._private.utils", "runstring"),
        ("torch.serialization", "load"),
        ("torch", "load"),
        ("_pickle", "loads"),
        ("collections", "OrderedDict.__init__.__globals__"),
    ] {
        assert_eq!(classify_global(m, n), Verdict::Denied, "{m}.{n}");
    }
    for (m, n) in [
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._tensor", "_rebuild_from_type_v2"),
        ("torch", "FloatStorage"),
        ("collections", "OrderedDict"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("__builtin__", "set"),
        ("copy_reg", "_reconstructor"),
    ] {
        assert_eq!(classify_global(m, n), Verdict::Allowed, "{m}.{n}");
    }
    assert_eq!(classify_global("mypkg", "Thing"), Verdict::Unknown);
    assert_eq!(classify_global("osx", "system"), Verdict::Unknown);

    // Hand-assembled protocol 0: GLOBAL 'os system', reported under the name it is imported by.
    let r = scan_pickle(b"cos\nsystem\n(S'id'\ntR.");
    assert!(r.complete, "{r:#?}");
    assert!(has(&r, Severity::Critical, "os.system"), "{r:#?}");
}

/// PROTO 4, "builtins" and "eval" memoized, popped, fetched back with BINGET, STACK_GLOBAL,
/// called with "print(1)".
fn eval_via_memo() -> Vec<u8> {
    let mut b = vec![0x80, 4];
    b.extend([0x8c, 8]);
    b.extend(b"builtins");
    b.extend([b'q', 0, b'0']); // BINPUT 0, POP
    b.extend([0x8c, 4]);
    b.extend(b"eval");
    b.extend([b'q', 1, b'0']); // BINPUT 1, POP
    b.extend([b'h', 0, b'h', 1, 0x93]); // BINGET 0, BINGET 1, STACK_GLOBAL
    b.extend([0x8c, 8]);
    b.extend(b"print(1)");
    b.extend([0x85, b'R', b'.']); // TUPLE1, REDUCE, STOP
    b
}

#[test]
fn stack_global_with_names_from_the_memo_is_resolved() {
    let bytes = eval_via_memo();
    let r = scan_pickle(&bytes);
    assert!(r.complete, "{r:#?}");
    assert!(has(&r, Severity::Critical, "builtins.eval"), "{r:#?}");
    let f = r
        .findings
        .iter()
        .find(|f| f.global.as_deref() == Some("builtins.eval"))
        .expect("finding");
    assert_eq!(f.opcode, "STACK_GLOBAL");
    assert_eq!(f.offset, 28);
    if let Some(python) = python() {
        assert_well_formed(&python, &bytes);
    }
}

const INST: &[u8] = b"(S'id'\nios\nsystem\n.";
const OBJ: &[u8] = b"(cposix\nsystem\nX\x02\x00\x00\x00ido.";

#[test]
fn inst_and_obj_forms_are_resolved() {
    let r = scan_pickle(INST);
    assert!(r.complete, "{r:#?}");
    assert!(has(&r, Severity::Critical, "os.system"), "{r:#?}");
    assert_eq!(r.findings[0].opcode, "INST");
    let r = scan_pickle(OBJ);
    assert!(r.complete, "{r:#?}");
    assert!(has(&r, Severity::Critical, "posix.system"), "{r:#?}");
    // OBJ whose class is not an imported global.
    let r = scan_pickle(b"(NS'x'\no.");
    assert!(not_verifiable(&r), "{r:#?}");
    if let Some(python) = python() {
        assert_well_formed(&python, INST);
        assert_well_formed(&python, OBJ);
    }
}

#[test]
fn nested_pickle_passed_to_pickle_loads_is_analysed() {
    let Some(python) = python() else { return };
    let setup = format!(
        "{EVIL}\nclass Nested:\n    def __init__(self, p):\n        self.p = p\n    def __reduce__(self):\n        return (pickle.loads, (pickle.dumps(evil, protocol=self.p),))\nevil = obj\n"
    );
    for proto in 0..=5 {
        let setup = format!("{setup}\nobj = {{'x': Nested({proto})}}\n");
        let bytes = dumps(&python, &setup, proto);
        let r = scan_pickle(&bytes);
        assert!(r.complete, "protocol {proto}: {r:#?}");
        let is_loads = |g: Option<&str>| matches!(g, Some("pickle.loads" | "_pickle.loads"));
        assert!(
            r.findings
                .iter()
                .any(|f| f.severity == Severity::Critical && is_loads(f.global.as_deref())),
            "protocol {proto}: {r:#?}"
        );
        let inner = r
            .findings
            .iter()
            .find(|f| f.global.as_deref() == Some("posix.system"))
            .unwrap_or_else(|| panic!("protocol {proto}: no nested finding: {r:#?}"));
        assert_eq!(inner.severity, Severity::Critical);
        assert_eq!(inner.nesting.len(), 1, "protocol {proto}");
        let loads = r
            .findings
            .iter()
            .find(|f| is_loads(f.global.as_deref()))
            .expect("loads");
        assert!(inner.nesting[0] > loads.offset, "protocol {proto}");
        assert!(loads.nesting.is_empty());
    }
}

#[test]
fn unknown_global_is_medium() {
    let Some(python) = python() else { return };
    let setup = "import sys, types\nm = types.ModuleType('mypkg')\nsys.modules['mypkg'] = m\n\
class Thing:\n    pass\nThing.__module__ = 'mypkg'\nm.Thing = Thing\nobj = [Thing()]\n";
    for proto in 0..=5 {
        let r = scan_pickle(&dumps(&python, setup, proto));
        assert!(r.complete, "protocol {proto}: {r:#?}");
        assert_eq!(
            r.max_severity(),
            Some(Severity::Medium),
            "protocol {proto}: {r:#?}"
        );
        assert!(
            has(&r, Severity::Medium, "mypkg.Thing"),
            "protocol {proto}: {r:#?}"
        );
        assert!(!r.is_verifiably_safe());
    }
}

/// Every proper prefix is incomplete and never clean; the full stream is Critical.
fn check_prefixes(bytes: &[u8], what: &str) {
    for n in 0..=bytes.len() {
        let r = scan_pickle(&bytes[..n]);
        if n < bytes.len() {
            assert!(!r.complete, "{what}: prefix {n} complete: {r:#?}");
            assert!(not_verifiable(&r), "{what}: prefix {n}: {r:#?}");
        }
        let critical = r.max_severity() == Some(Severity::Critical);
        assert!(critical || not_verifiable(&r), "{what}: prefix {n}: {r:#?}");
        assert!(!r.is_verifiably_safe(), "{what}: prefix {n}");
    }
    assert_eq!(scan_pickle(bytes).max_severity(), Some(Severity::Critical));
}

#[test]
fn every_prefix_of_a_malicious_pickle_is_flagged() {
    check_prefixes(&eval_via_memo(), "eval via memo");
    check_prefixes(INST, "INST");
    check_prefixes(OBJ, "OBJ");
    if let Some(python) = python() {
        for proto in 0..=5 {
            check_prefixes(&dumps(&python, EVIL, proto), &format!("protocol {proto}"));
        }
    }
}

#[test]
fn back_to_back_pickles_are_all_analysed() {
    // PyTorch legacy layout: several protocol-2 pickles, then raw bytes.
    let benign = b"\x80\x02K\x01.";
    let evil = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.";
    let mut s = Vec::new();
    s.extend_from_slice(benign);
    s.extend_from_slice(benign);
    s.extend_from_slice(evil);
    s.extend_from_slice(b"\x00\x01raw storage bytes");
    let r = scan_pickle(&s);
    assert!(r.complete, "{r:#?}");
    let f = r
        .findings
        .iter()
        .find(|f| f.global.as_deref() == Some("posix.system"))
        .expect("second pickle analysed");
    assert_eq!(f.offset, 2 * benign.len() as u64 + 2);
    // Only benign pickles: clean.
    let mut s = benign.repeat(3);
    s.extend_from_slice(b"trailing");
    assert_clean(&scan_pickle(&s), "back to back benign");
    // A truncated second pickle is not a silent pass.
    let mut s = benign.to_vec();
    s.extend_from_slice(&evil[..10]);
    assert!(not_verifiable(&scan_pickle(&s)));
    if let Some(python) = python() {
        let mut s = benign.to_vec();
        s.extend_from_slice(evil);
        assert_well_formed(&python, &s);
    }
}

#[test]
fn build_on_a_global_and_unresolvable_forms_are_flagged() {
    // GLOBAL collections.OrderedDict, BUILD (None, {'x': 1}): setattr on the class itself.
    let r = scan_pickle(b"\x80\x02ccollections\nOrderedDict\nN}U\x01xK\x01s\x86b.");
    assert!(
        r.findings
            .iter()
            .any(|f| f.severity == Severity::High && f.opcode == "BUILD"),
        "{r:#?}"
    );
    // EXT1: a global from the extension registry.
    let r = scan_pickle(b"\x80\x02\x82\x01)R.");
    assert!(not_verifiable(&r) && !r.complete, "{r:#?}");
    // STACK_GLOBAL with a computed name.
    let r = scan_pickle(b"\x80\x04\x8c\x02osK\x01\x93.");
    assert!(not_verifiable(&r), "{r:#?}");
    // Unknown opcode, unsupported protocol, empty input, GET of a missing key.
    for bad in [&b"\x80\x02\xff."[..], b"\x80\x06N.", b"", b"\x80\x02h\x05."] {
        let r = scan_pickle(bad);
        assert!(not_verifiable(&r) && !r.complete, "{bad:?}: {r:#?}");
    }
    // pickle.loads of something that is not literal bytes.
    let r = scan_pickle(b"\x80\x02cpickle\nloads\nN\x85R.");
    assert!(not_verifiable(&r), "{r:#?}");
    assert!(has(&r, Severity::Critical, "pickle.loads"));
}

#[test]
fn limits_are_findings_not_crashes() {
    // A million nested TUPLE1: values deeper than the limit become unknown, no stack overflow.
    let mut b = vec![0x80, 2, b')'];
    b.extend(std::iter::repeat_n(0x85u8, 1_000_000));
    b.push(b'.');
    assert_clean(&scan_pickle(&b), "deep tuples");
    // MARK flood past a small stack limit.
    let mut limits = Limits::default();
    limits.max_stack = 1000;
    let b = [b'('; 5000];
    let r = scan_pickle_with(&b, &limits);
    assert!(
        not_verifiable(&r) && r.findings[0].reason.contains("limit"),
        "{r:#?}"
    );
    // Memo limit.
    limits.max_memo = 10;
    let mut b = vec![0x80, 4, b'N'];
    b.extend([0x94; 20]);
    b.push(b'.');
    let r = scan_pickle_with(&b, &limits);
    assert!(not_verifiable(&r), "{r:#?}");
    // Nesting limit: pickle.loads of pickle.loads of ... of posix.system.
    let mut inner = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.".to_vec();
    for _ in 0..12 {
        let mut outer = b"\x80\x02c_pickle\nloads\nB".to_vec();
        outer.extend((inner.len() as u32).to_le_bytes());
        outer.extend(&inner);
        outer.extend(b"\x85R.");
        inner = outer;
    }
    let r = scan_pickle(&inner);
    assert!(not_verifiable(&r), "{r:#?}");
    assert!(r.findings.iter().all(|f| f.nesting.len() <= 8));
    // Work bomb: the same nested payload fetched from the memo many times.
    let payload = [b'N'; 1 << 16]
        .iter()
        .copied()
        .chain([b'.'])
        .collect::<Vec<u8>>();
    let mut b = b"\x80\x04c_pickle\nloads\n\x94\x30\x8e".to_vec();
    b.extend((payload.len() as u64).to_le_bytes());
    b.extend(&payload);
    b.extend(b"\x94\x30");
    for _ in 0..2000 {
        b.extend(b"h\x00h\x01\x85R0");
    }
    b.extend(b"N.");
    let r = scan_pickle(&b);
    assert!(
        not_verifiable(&r) && r.findings.len() < 10,
        "{:#?}",
        r.findings
    );
    // Many distinct unknown globals: findings are capped.
    let mut b = Vec::new();
    for i in 0..3000 {
        b.extend(format!("cmypkg\nT{i}\n0").as_bytes());
    }
    b.extend(b"N.");
    let r = scan_pickle(&b);
    assert_eq!(r.globals.len(), 3000);
    assert_eq!(r.findings.len(), 1001);
    assert_eq!(r.findings[1000].severity, Severity::Low);
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let seeds = [eval_via_memo(), INST.to_vec(), OBJ.to_vec()];
    for i in 0..20_000 {
        let bytes: Vec<u8> = if i % 2 == 0 {
            let len = (next() % 200) as usize;
            (0..len).map(|_| next() as u8).collect()
        } else {
            let mut b = seeds[i % 3].clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % b.len();
                b[at] = next() as u8;
            }
            b
        };
        let r = scan_pickle(&bytes);
        if !r.complete {
            assert!(not_verifiable(&r) || r.findings.len() > 1000, "{bytes:?}");
        }
    }
}
