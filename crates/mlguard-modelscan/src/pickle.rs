//! Static analysis of pickle streams: an emulation of the pickle machine (protocols 0 to 5, every
//! opcode of CPython's `Lib/pickletools.py`) over untrusted bytes that never executes anything.
//!
//! Values are symbolic (strings, bytes, ints, `None`/bools, tuples, opaque lists/dicts/sets, a
//! resolved `global module.name`, a `call of X`, persistent ids, unknown); marks are kept the way
//! CPython 3 keeps them (a stack of stack lengths). Every global that GLOBAL, STACK_GLOBAL (module
//! and name may come from the memo), INST and OBJ import is resolved to `module.name` and judged:
//! deny list → [`Severity::Critical`], not on the allow list → [`Severity::Medium`], allow list →
//! nothing. REDUCE, NEWOBJ, NEWOBJ_EX, INST and OBJ are followed as calls of the callable on the
//! stack; bytes handed to a pickle loader (`pickle.loads`, `torch.load`, ...) are analysed as
//! nested pickles (depth-limited), and several pickles back to back in one stream (PyTorch legacy
//! files) are all analysed.
//!
//! A stream that cannot be analysed to its end (truncated, unknown opcode, malformed argument, a
//! limit hit) is a [`Severity::High`] finding "not verifiably safe" and `complete` is false: never a
//! silent pass. All work is bounded by [`Limits`]: stack, memo, value depth, nesting, findings and
//! the total number of bytes analysed; nothing recurses without a depth limit and nothing panics.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::rc::Rc;

/// How bad a finding is; ordered so that `Critical` is the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// The judgement of one imported global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// On the allow list: what real checkpoints use.
    Allowed,
    /// On neither list: imported (and maybe called) on load, not known to be harmless.
    Unknown,
    /// On the deny list: runs code, spawns processes, touches files or the network, or loads more
    /// pickles.
    Denied,
}

/// One global the stream imports (deduplicated per name and nesting; `offset` is the first use).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GlobalUse {
    /// `module.name`, after CPython's Python 2 module renames (`__builtin__` → `builtins`, ...).
    pub name: String,
    pub verdict: Verdict,
    /// Offset of the first opcode importing it, inside the (nested) stream it is in.
    pub offset: u64,
    /// The opcode that imported it first (GLOBAL, STACK_GLOBAL, INST).
    pub opcode: String,
    /// Offsets of the calls that hand the nested pickle to a loader, outermost first.
    pub nesting: Vec<u64>,
    /// How many times it is imported.
    pub count: u64,
}

/// Something the scan reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    pub severity: Severity,
    /// Offset of the opcode, inside the (nested) stream it is in.
    pub offset: u64,
    /// Name of the opcode (pickletools' spelling), or `(end)` past the end of the input.
    pub opcode: String,
    /// The global concerned, as `module.name`.
    pub global: Option<String>,
    pub reason: String,
    /// Offsets of the calls that hand the nested pickle to a loader, outermost first; empty for the
    /// outer stream.
    pub nesting: Vec<u64>,
}

/// The result of [`scan_pickle`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PickleReport {
    pub globals: Vec<GlobalUse>,
    pub findings: Vec<Finding>,
    /// Every byte of every pickle (outer and nested) was analysed to its STOP.
    pub complete: bool,
}

impl PickleReport {
    /// The worst severity among the findings.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Analysed completely and nothing worse than `Low` found.
    pub fn is_verifiably_safe(&self) -> bool {
        self.complete && self.max_severity().is_none_or(|s| s <= Severity::Low)
    }
}

/// Bounds on the work the analysis does over untrusted bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest input accepted, in bytes.
    pub max_input: u64,
    /// Largest number of stack entries plus marks.
    pub max_stack: usize,
    /// Largest number of memo entries.
    pub max_memo: usize,
    /// Deepest nesting of pickles inside pickles.
    pub max_nesting: usize,
    /// Deepest nesting of tuples and calls inside each other; deeper values become unknown.
    pub max_value_depth: u32,
    /// Most pickles back to back in one stream.
    pub max_pickles: usize,
    /// Most findings kept (one `Low` finding says that more were left out).
    pub max_findings: usize,
    /// Total bytes analysed (outer and nested streams), as a multiple of the input length
    /// (plus 1 MiB); nested payloads reused from the memo count every time.
    pub max_work_factor: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input: 8 << 30,
            max_stack: 1 << 20,
            max_memo: 1 << 20,
            max_nesting: 8,
            max_value_depth: 128,
            max_pickles: 64,
            max_findings: 1000,
            max_work_factor: 8,
        }
    }
}

/// Analyse a pickle stream (one or several pickles back to back) with the default [`Limits`].
pub fn scan_pickle(bytes: &[u8]) -> PickleReport {
    scan_pickle_with(bytes, &Limits::default())
}

/// Analyse a pickle stream with the given [`Limits`].
pub fn scan_pickle_with(bytes: &[u8], limits: &Limits) -> PickleReport {
    let budget = (bytes.len() as u64)
        .saturating_mul(limits.max_work_factor.max(1))
        .saturating_add(1 << 20);
    let mut scan = Scan {
        limits,
        report: PickleReport {
            complete: true,
            ..PickleReport::default()
        },
        global_index: HashMap::new(),
        seen: HashSet::new(),
        omitted: false,
        budget,
    };
    scan.stream(bytes, &[]);
    scan.report
}

// ---------------------------------------------------------------------------------------------
// Verdicts

/// Modules (and everything under them) whose import alone means code can run on load.
const DENY_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "_posixsubprocess",
    "_winapi",
    "runpy",
    "importlib",
    "imp",
    "zipimport",
    "marshal",
    "pickle",
    "_pickle",
    "cPickle",
    "shelve",
    "dill",
    "cloudpickle",
    // joblib's array wrappers are data; its loaders and process pools are not.
    "joblib.externals",
    "joblib.pool",
    "joblib.parallel",
    "joblib.numpy_pickle_compat",
    "socket",
    "_socket",
    "ssl",
    "shutil",
    "sys",
    "webbrowser",
    "code",
    "codeop",
    "pty",
    "ctypes",
    "_ctypes",
    "commands",
    "popen2",
    "pdb",
    "bdb",
    "timeit",
    "profile",
    "cProfile",
    "trace",
    "multiprocessing",
    "asyncio",
    "signal",
    "urllib",
    "urllib2",
    "http",
    "httplib",
    "requests",
    "ftplib",
    "smtplib",
    "telnetlib",
    "xmlrpc",
    "pip",
    "setuptools",
    "distutils",
    "venv",
    "ensurepip",
    "torch.hub",
    "torch.utils.cpp_extension",
    // Gadgets published in picklescan's advisories (GHSA-*): standard-library and PyTorch
    // internals that run commands, evaluate code, open pagers or load more pickles.
    "idlelib",
    "lib2to3",
    "doctest",
    "pydoc",
    "_aix_support",
    "_osx_support",
    "_pyrepl",
    "imaplib",
    "test",
    "pkgutil",
    "logging.config",
    "logging.handlers",
    "aiohttp",
    "httpx",
    "urllib3",
    "torch._inductor",
    "torch._dynamo",
    "torch.fx.experimental",
    "torch.utils.collect_env",
    "torch.utils.data.datapipes",
    "torch.utils._config_module",
    "torch.jit.unsupported_tensor_ops",
    "numpy.testing",
    "numpy.f2py",
    "numpy.distutils",
];

/// Single callables (and anything reached through them) that run code or load pickles.
const DENY_NAMES: &[&str] = &[
    "builtins.eval",
    "builtins.exec",
    "builtins.execfile",
    "builtins.compile",
    "builtins.getattr",
    "builtins.setattr",
    "builtins.delattr",
    "builtins.__import__",
    "builtins.open",
    "builtins.file",
    "builtins.breakpoint",
    "builtins.globals",
    "builtins.locals",
    "builtins.vars",
    "builtins.input",
    "builtins.raw_input",
    "builtins.help",
    "builtins.exit",
    "builtins.quit",
    "builtins.reload",
    "builtins.apply",
    "io.open",
    "io.open_code",
    "_io.open",
    "_io.open_code",
    "operator.attrgetter",
    "operator.methodcaller",
    "_operator.attrgetter",
    "_operator.methodcaller",
    "numpy.load",
    "numpy.loads",
    "numpy.lib.npyio.load",
    "numpy.core.numeric.loads",
    "numpy.ctypeslib",
    "torch.load",
    "torch.serialization.load",
    "torch.serialization._load",
    "torch.serialization._legacy_load",
    "torch.jit.load",
    "torch._C._load_for_lite_interpreter",
    "torch.package",
    "pandas.read_pickle",
    "io.FileIO",
    "_io.FileIO",
    "logging.FileHandler",
    "logging.StreamHandler",
    "types.CodeType",
    "types.FunctionType",
    "types.MethodType",
    "uuid._get_command_stdout",
    "platform.popen",
    "platform._syscmd_file",
    "pandas.io.pickle",
    "joblib.load",
    "joblib.numpy_pickle.load",
];

/// What real checkpoints (PyTorch, NumPy, plain Python containers) import.
const ALLOW_NAMES: &[&str] = &[
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_sparse_csr_tensor",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_xla_tensor",
    "torch._utils._rebuild_mps_tensor",
    "torch._tensor._rebuild_from_type",
    "torch._tensor._rebuild_from_type_v2",
    "torch.nn.parameter.Parameter",
    "torch.Tensor",
    "torch._tensor.Tensor",
    "torch.Size",
    "torch.device",
    "torch.dtype",
    "torch.storage.TypedStorage",
    "torch.storage.UntypedStorage",
    "torch.storage._TypedStorage",
    "torch.UntypedStorage",
    "torch.TypedStorage",
    "torch.FloatStorage",
    "torch.DoubleStorage",
    "torch.HalfStorage",
    "torch.BFloat16Storage",
    "torch.LongStorage",
    "torch.IntStorage",
    "torch.ShortStorage",
    "torch.CharStorage",
    "torch.ByteStorage",
    "torch.BoolStorage",
    "torch.ComplexFloatStorage",
    "torch.ComplexDoubleStorage",
    "torch.QUInt8Storage",
    "torch.QInt8Storage",
    "torch.QInt32Storage",
    "torch.QUInt4x2Storage",
    "torch.QUInt2x4Storage",
    "torch.float16",
    "torch.float32",
    "torch.float64",
    "torch.bfloat16",
    "torch.half",
    "torch.float",
    "torch.double",
    "torch.complex64",
    "torch.complex128",
    "torch.int8",
    "torch.int16",
    "torch.int32",
    "torch.int64",
    "torch.uint8",
    "torch.bool",
    "torch.long",
    "torch.int",
    "torch.short",
    "torch.float8_e4m3fn",
    "torch.float8_e5m2",
    "torch.contiguous_format",
    "torch.channels_last",
    "torch.channels_last_3d",
    "torch.preserve_format",
    "torch.per_tensor_affine",
    "torch.per_channel_affine",
    "collections.OrderedDict",
    "collections.defaultdict",
    "collections.Counter",
    "collections.deque",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    // NumPy >= 1.22 pickles arrays at protocol 5 through this (an array from a buffer).
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.ma.core._mareconstruct",
    "_codecs.encode",
    "builtins.set",
    "builtins.frozenset",
    "builtins.bytearray",
    "builtins.bytes",
    "builtins.slice",
    "builtins.complex",
    "builtins.range",
    "builtins.list",
    "builtins.dict",
    "builtins.tuple",
    "builtins.int",
    "builtins.float",
    "builtins.str",
    "builtins.bool",
    "builtins.object",
    "copyreg._reconstructor",
    "copyreg.__newobj__",
    "copyreg.__newobj_ex__",
    "argparse.Namespace",
    "datetime.datetime",
    "datetime.date",
    "datetime.time",
    "datetime.timedelta",
    "datetime.timezone",
    "decimal.Decimal",
    "fractions.Fraction",
    "uuid.UUID",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
];

/// Packages whose classes real estimator and dataframe pickles reconstruct (see
/// [`classify_global`]); their functions stay unknown.
const ALLOW_CLASS_PACKAGES: &[&str] = &[
    "sklearn",
    "scipy.sparse",
    "pandas.core",
    "xgboost",
    "lightgbm",
    "catboost",
    "joblib.numpy_pickle",
];

/// Callables that unpickle their (bytes) argument: their argument is analysed as a nested pickle.
const NESTED_LOADERS: &[&str] = &[
    "pickle.loads",
    "pickle._loads",
    "pickle.load",
    "pickle._load",
    "_pickle.loads",
    "_pickle.load",
    "cPickle.loads",
    "dill.loads",
    "cloudpickle.loads",
    "torch.load",
    "torch.serialization.load",
    "torch.serialization._load",
    "torch.serialization._legacy_load",
    "torch.storage._load_from_bytes",
    "numpy.loads",
    "numpy.core.numeric.loads",
];

/// Python 2 module names CPython maps to their Python 3 names (`_compat_pickle.IMPORT_MAPPING`,
/// the parts that matter here).
fn fix_module(module: &str) -> &str {
    match module {
        "__builtin__" | "exceptions" => "builtins",
        "copy_reg" => "copyreg",
        "cPickle" => "pickle",
        "cStringIO" | "StringIO" => "io",
        "urllib2" => "urllib.request",
        "httplib" => "http.client",
        "_winreg" => "winreg",
        "Tkinter" => "tkinter",
        other => other,
    }
}

/// `module.name` as CPython's unpickler imports it: Python 2 names mapped to Python 3
/// (`_compat_pickle.NAME_MAPPING` for builtins, then the module renames).
fn full_name(module: &str, name: &str) -> String {
    if matches!(module, "__builtin__" | "builtins") {
        let renamed = match name {
            "xrange" => Some("builtins.range"),
            "unicode" | "basestring" => Some("builtins.str"),
            "long" => Some("builtins.int"),
            "unichr" => Some("builtins.chr"),
            "raw_input" => Some("builtins.input"),
            "reduce" => Some("functools.reduce"),
            "intern" => Some("sys.intern"),
            "execfile" => Some("builtins.execfile"),
            _ => None,
        };
        if let Some(r) = renamed {
            return r.to_string();
        }
    }
    format!("{}.{name}", fix_module(module))
}

fn under(full: &str, prefix: &str) -> bool {
    full == prefix
        || (full.len() > prefix.len()
            && full.starts_with(prefix)
            && full.as_bytes()[prefix.len()] == b'.')
}

/// Judge the global `module.name` (as GLOBAL, STACK_GLOBAL or INST would import it; `name` may be
/// dotted). The deny list wins over the allow list; dunder attributes (`numpy.__builtins__`,
/// `x.__globals__`, `builtins.__import__`...) are denied.
pub fn classify_global(module: &str, name: &str) -> Verdict {
    let full = full_name(module, name);
    let module = fix_module(module);
    if DENY_MODULES.iter().any(|m| under(&full, m))
        || DENY_MODULES.iter().any(|m| under(module, m))
        || DENY_NAMES.iter().any(|d| under(&full, d))
    {
        return Verdict::Denied;
    }
    if ALLOW_NAMES.contains(&full.as_str()) {
        return Verdict::Allowed;
    }
    // Classes (CapWords, as PEP 8 names them) of the ML libraries whose estimators are pickled:
    // instantiating them runs only the library's own constructors and state setters.
    let last = full.rsplit('.').next().unwrap_or("");
    let class_like = last.starts_with(|c: char| c.is_ascii_uppercase()) && !last.contains("__");
    let test_code = full
        .split('.')
        .any(|c| c == "tests" || c == "_testing" || c == "testing");
    if class_like && !test_code && ALLOW_CLASS_PACKAGES.iter().any(|p| under(module, p)) {
        return Verdict::Allowed;
    }
    let dunder = full
        .split('.')
        .skip(1)
        .any(|c| c.len() > 4 && c.starts_with("__") && c.ends_with("__"));
    if dunder {
        return Verdict::Denied;
    }
    Verdict::Unknown
}

// ---------------------------------------------------------------------------------------------
// Values

#[derive(Debug, Clone)]
enum Value {
    None,
    Bool,
    /// An integer; its value when it fits an i64.
    Int(Option<i64>),
    Float,
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Rc<TupleV>),
    List,
    /// A dict; its first entries (up to [`DICT_KEPT`]) are kept, `None` past that.
    Dict(Option<Rc<Vec<(Value, Value)>>>),
    Set,
    FrozenSet,
    Global(Rc<str>),
    Call(Rc<CallV>),
    PersId,
    Unknown,
}

#[derive(Debug)]
struct TupleV {
    items: Vec<Value>,
    depth: u32,
}

#[derive(Debug)]
struct CallV {
    callable: Rc<str>,
    args: Value,
    depth: u32,
}

impl Value {
    fn depth(&self) -> u32 {
        match self {
            Value::Tuple(t) => t.depth,
            Value::Call(c) => c.depth,
            _ => 0,
        }
    }

    fn kind(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool => "a bool".into(),
            Value::Int(_) => "an int".into(),
            Value::Float => "a float".into(),
            Value::Str(_) => "a string".into(),
            Value::Bytes(_) => "bytes".into(),
            Value::Tuple(_) => "a tuple".into(),
            Value::List => "a list".into(),
            Value::Dict(_) => "a dict".into(),
            Value::Set => "a set".into(),
            Value::FrozenSet => "a frozenset".into(),
            Value::Global(g) => format!("global {g}"),
            Value::Call(c) => format!("the result of a call of {}", c.callable),
            Value::PersId => "a persistent object".into(),
            Value::Unknown => "an unknown value".into(),
        }
    }
}

/// Pickles at the start of a legacy PyTorch file.
const LEGACY_TORCH_PICKLES: usize = 5;

/// Is this pickle PyTorch's legacy magic number 0x1950a86a20f9469cfc6c (as LONG1 in protocols
/// 2 and up, as decimal text in 0 and 1)?
pub(crate) fn is_legacy_torch_magic(p: &[u8]) -> bool {
    const LONG1: &[u8] = b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
    const TEXT: &[u8] = b"119547037146038801333356";
    p.len() < 64
        && (p.windows(LONG1.len()).any(|w| w == LONG1) || p.windows(TEXT.len()).any(|w| w == TEXT))
}

/// joblib's wrappers of NumPy arrays whose bytes follow them in the stream.
const JOBLIB_ARRAY_WRAPPERS: &[&str] = &[
    "joblib.numpy_pickle.NumpyArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
];

/// Bytes per element of a NumPy dtype string without its byte order (`f8`, `U5`, `M8[ns]`, `d`).
fn dtype_size(kind: &str) -> Option<u64> {
    let mut chars = kind.chars();
    let c = chars.next()?;
    let digits: String = chars.take_while(char::is_ascii_digit).collect();
    let n: Option<u64> = if digits.is_empty() {
        None
    } else {
        digits.parse().ok()
    };
    match (c, n) {
        ('U', Some(n)) => n.checked_mul(4),
        ('M' | 'm', _) => Some(8),
        ('b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'a' | 'V', Some(n)) => Some(n),
        ('?' | 'b' | 'B', None) => Some(1),
        ('h' | 'H' | 'e', None) => Some(2),
        ('i' | 'I' | 'f', None) => Some(4),
        ('l' | 'L' | 'q' | 'Q' | 'd' | 'F', None) => Some(8),
        ('g' | 'D', None) => Some(16),
        ('G', None) => Some(32),
        _ => None,
    }
}

/// Entries kept per dict: enough for the small state dicts the scan looks into (joblib's array
/// wrapper), bounded so that big dicts cost nothing.
const DICT_KEPT: usize = 16;

/// SETITEM(S) on `d` with `items` (key, value, key, value...).
fn dict_insert(d: &mut Value, items: Vec<Value>) {
    if let Value::Dict(slot) = d {
        if let Some(entries) = slot {
            if entries.len() + items.len() / 2 > DICT_KEPT {
                *slot = None;
                return;
            }
            let entries = Rc::make_mut(entries);
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                entries.push((k, v));
            }
        }
    }
}

/// The value of a dict entry with a string key.
fn dict_get<'v>(d: &'v Value, key: &str) -> Option<&'v Value> {
    match d {
        Value::Dict(Some(entries)) => entries
            .iter()
            .rev()
            .find(|(k, _)| matches!(k, Value::Str(s) if &**s == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// LONG1/LONG4's little-endian two's complement bytes, when they fit an i64.
fn long_value(b: &[u8]) -> Option<i64> {
    if b.len() > 8 {
        return None;
    }
    if b.is_empty() {
        return Some(0);
    }
    let fill = if b[b.len() - 1] & 0x80 != 0 { 0xff } else { 0 };
    let mut buf = [fill; 8];
    buf[..b.len()].copy_from_slice(b);
    Some(i64::from_le_bytes(buf))
}

fn tuple(items: Vec<Value>, max_depth: u32) -> Value {
    let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
    if depth > max_depth {
        return Value::Unknown;
    }
    Value::Tuple(Rc::new(TupleV { items, depth }))
}

/// Bytes inside a loader's arguments (directly, in a tuple, or inside `io.BytesIO(...)`).
fn collect_bytes(v: &Value, depth: u32, out: &mut Vec<Rc<[u8]>>) {
    if depth == 0 {
        return;
    }
    match v {
        Value::Bytes(b) => out.push(b.clone()),
        Value::Tuple(t) => {
            for i in &t.items {
                collect_bytes(i, depth - 1, out);
            }
        }
        Value::Call(c) => collect_bytes(&c.args, depth - 1, out),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Input

type Res<T> = Result<T, String>;

struct Rd<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: u64) -> Res<&'a [u8]> {
        let left = self.data.len() - self.pos;
        if n > left as u64 {
            return Err(format!(
                "truncated: argument of {n} bytes but {left} bytes left"
            ));
        }
        let n = n as usize;
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn arr<const N: usize>(&mut self) -> Res<[u8; N]> {
        let s = self.take(N as u64)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self) -> Res<u8> {
        Ok(self.arr::<1>()?[0])
    }

    fn u16(&mut self) -> Res<u16> {
        Ok(u16::from_le_bytes(self.arr()?))
    }

    fn u32(&mut self) -> Res<u32> {
        Ok(u32::from_le_bytes(self.arr()?))
    }

    fn i32(&mut self) -> Res<i32> {
        Ok(i32::from_le_bytes(self.arr()?))
    }

    fn u64(&mut self) -> Res<u64> {
        Ok(u64::from_le_bytes(self.arr()?))
    }

    /// A length given as a signed 4-byte int (BINSTRING, LONG4).
    fn len_i32(&mut self) -> Res<u64> {
        let n = self.i32()?;
        u64::try_from(n).map_err(|_| format!("malformed: negative length {n}"))
    }

    /// A line without its `\n`.
    fn line(&mut self) -> Res<&'a [u8]> {
        let rest = &self.data[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.pos += i + 1;
                Ok(&rest[..i])
            }
            None => Err("truncated: line argument without its newline".into()),
        }
    }

    fn utf8_line(&mut self) -> Res<&'a str> {
        let l = self.line()?;
        std::str::from_utf8(l).map_err(|_| "malformed: line argument is not UTF-8".to_string())
    }
}

fn latin1(b: &[u8]) -> Value {
    Value::Str(b.iter().map(|&c| char::from(c)).collect::<String>().into())
}

fn utf8(b: &[u8]) -> Value {
    match std::str::from_utf8(b) {
        Ok(s) => Value::Str(s.into()),
        // CPython decodes with surrogatepass; such strings are data, never a usable global name.
        Err(_) => Value::Unknown,
    }
}

fn parse_int(line: &[u8], long: bool) -> Res<Value> {
    let s = std::str::from_utf8(line).map_err(|_| "malformed integer".to_string())?;
    let mut s = s.trim();
    if long {
        s = s.strip_suffix('L').unwrap_or(s);
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return Err(format!("malformed integer {s:?}"));
    }
    Ok(Value::Int(s.replace('_', "").parse::<i64>().ok()))
}

fn parse_key(line: &[u8]) -> Res<u64> {
    let s = std::str::from_utf8(line).map_err(|_| "malformed memo key".to_string())?;
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("malformed memo key {s:?}"))
}

fn hex(b: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(b).ok()?;
    u32::from_str_radix(s, 16).ok()
}

/// STRING's argument: a quoted Python 2 `repr`, decoded like `codecs.escape_decode`.
fn parse_string(line: &[u8]) -> Res<Value> {
    let inner = match line {
        [q, inner @ .., e] if q == e && (*q == b'\'' || *q == b'"') => inner,
        _ => return Err("malformed: the STRING opcode argument must be quoted".into()),
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = inner.get(i) else {
            return Err("malformed: trailing backslash in STRING".into());
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match inner.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let v = inner
                    .get(i..i + 2)
                    .and_then(hex)
                    .ok_or("malformed: invalid \\x escape in STRING")?;
                out.push(v as u8);
                i += 2;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(latin1(&out))
}

/// UNICODE's argument: raw-unicode-escape (`\uXXXX`, `\UXXXXXXXX`, other bytes as Latin-1).
fn parse_raw_unicode(line: &[u8]) -> Res<Value> {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        let width = match (c, line.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            _ => {
                out.push(char::from(c));
                i += 1;
                continue;
            }
        };
        let code = line
            .get(i + 2..i + 2 + width)
            .and_then(hex)
            .ok_or("malformed: truncated \\u escape in UNICODE")?;
        match char::from_u32(code) {
            Some(ch) => out.push(ch),
            None if code <= 0x10ffff => return Ok(Value::Unknown),
            None => return Err("malformed: \\U escape out of range in UNICODE".into()),
        }
        i += 2 + width;
    }
    Ok(Value::Str(out.into()))
}

/// pickletools' name of an opcode.
fn op_name(op: u8) -> &'static str {
    match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "(unknown)",
    }
}

// ---------------------------------------------------------------------------------------------
// The machine

#[derive(Default)]
struct Vm {
    stack: Vec<Value>,
    /// Stack lengths at each MARK (CPython 3's metastack).
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
    /// Attributes set on imported globals (modules, classes) by BUILD: a later import of
    /// `global.attr` yields the value set, as Python's getattr would.
    overrides: HashMap<String, Value>,
}

impl Vm {
    fn base(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn room(&self, limits: &Limits) -> Res<()> {
        if self.stack.len() + self.marks.len() >= limits.max_stack {
            return Err(format!("limit: stack larger than {}", limits.max_stack));
        }
        Ok(())
    }

    fn push(&mut self, v: Value, limits: &Limits) -> Res<()> {
        self.room(limits)?;
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self) -> Res<Value> {
        if self.stack.len() <= self.base() {
            return Err("malformed: unpickling stack underflow".into());
        }
        self.stack
            .pop()
            .ok_or_else(|| "malformed: unpickling stack underflow".into())
    }

    fn top(&self) -> Res<&Value> {
        if self.stack.len() <= self.base() {
            return Err("malformed: unpickling stack underflow".into());
        }
        self.stack
            .last()
            .ok_or_else(|| "malformed: unpickling stack underflow".into())
    }

    /// The value an import yields: what BUILD set on the owning global, if anything.
    fn overridden(&self, g: Value) -> Value {
        match &g {
            Value::Global(name) => self.overrides.get(&**name).cloned().unwrap_or(g),
            _ => g,
        }
    }

    fn top_mut(&mut self) -> Res<&mut Value> {
        if self.stack.len() <= self.base() {
            return Err("malformed: unpickling stack underflow".into());
        }
        self.stack
            .last_mut()
            .ok_or_else(|| "malformed: unpickling stack underflow".into())
    }

    fn pop_mark(&mut self) -> Res<Vec<Value>> {
        let m = self.marks.pop().ok_or("malformed: could not find MARK")?;
        Ok(self.stack.split_off(m.min(self.stack.len())))
    }

    fn put(&mut self, key: u64, limits: &Limits) -> Res<()> {
        let v = self.top()?.clone();
        if !self.memo.contains_key(&key) && self.memo.len() >= limits.max_memo {
            return Err(format!("limit: memo larger than {}", limits.max_memo));
        }
        self.memo.insert(key, v);
        Ok(())
    }

    fn get(&mut self, key: u64, limits: &Limits) -> Res<()> {
        let v = self
            .memo
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("malformed: memo key {key} not found"))?;
        self.push(v, limits)
    }
}

enum Flow {
    Next,
    Stop,
}

struct Scan<'l> {
    limits: &'l Limits,
    report: PickleReport,
    global_index: HashMap<(String, Vec<u64>), usize>,
    /// (global or reason, nesting) already reported.
    seen: HashSet<(String, Vec<u64>)>,
    omitted: bool,
    budget: u64,
}

impl Scan<'_> {
    fn finding(
        &mut self,
        severity: Severity,
        offset: u64,
        opcode: &str,
        global: Option<String>,
        reason: String,
        nesting: &[u64],
    ) {
        if self.report.findings.len() >= self.limits.max_findings {
            if !self.omitted {
                self.omitted = true;
                self.report.findings.push(Finding {
                    severity: Severity::Low,
                    offset,
                    opcode: opcode.into(),
                    global: None,
                    reason: format!(
                        "more than {} findings: the rest are left out",
                        self.limits.max_findings
                    ),
                    nesting: nesting.to_vec(),
                });
            }
            return;
        }
        self.report.findings.push(Finding {
            severity,
            offset,
            opcode: opcode.into(),
            global,
            reason,
            nesting: nesting.to_vec(),
        });
    }

    fn unsafe_(&mut self, offset: u64, opcode: &str, reason: &str, nesting: &[u64]) {
        self.report.complete = false;
        self.finding(
            Severity::High,
            offset,
            opcode,
            None,
            format!("not verifiably safe: {reason}"),
            nesting,
        );
    }

    /// Analyse one stream: one pickle, or several back to back.
    fn stream(&mut self, data: &[u8], nesting: &[u64]) {
        let len = data.len() as u64;
        if len > self.limits.max_input {
            let r = format!(
                "limit: input of {len} bytes is larger than {}",
                self.limits.max_input
            );
            return self.unsafe_(0, "(start)", &r, nesting);
        }
        if len > self.budget {
            if self.seen.insert(("budget".into(), Vec::new())) {
                self.unsafe_(0, "(start)", "limit: analysis budget used up", nesting);
            }
            return;
        }
        self.budget -= len;
        if data.is_empty() {
            return self.unsafe_(0, "(end)", "truncated: empty stream, no pickle", nesting);
        }
        let mut pos = 0usize;
        let mut legacy = false;
        for n in 0.. {
            if n >= self.limits.max_pickles {
                let r = format!("limit: more than {} pickles in one stream", n);
                return self.unsafe_(pos as u64, op_name(data[pos]), &r, nesting);
            }
            match self.pickle(data, pos, nesting) {
                Ok(end) => {
                    if n == 0 {
                        legacy = is_legacy_torch_magic(&data[pos..end]);
                    }
                    pos = end;
                }
                Err((at, op, reason)) => return self.unsafe_(at, op, &reason, nesting),
            }
            // PyTorch's legacy format (torch.save without zip): the magic number, the protocol
            // version, sys info, the object and the storage keys, then raw storage bytes. All
            // five are read by torch.load whatever their protocol.
            if legacy {
                if n + 1 == LEGACY_TORCH_PICKLES {
                    return;
                }
                continue;
            }
            // Another pickle follows when the next bytes are a PROTO opcode (PyTorch's legacy
            // format: magic number, protocol, sys info, the data, storage keys); anything else is
            // trailing data that no unpickler reads as a pickle (legacy tensor bytes).
            match data.get(pos..pos + 2) {
                Some([0x80, p]) if *p <= 5 => {}
                _ => return,
            }
        }
    }

    /// Run one pickle from `start` to its STOP; the offset after it, or (offset, opcode, reason).
    fn pickle(
        &mut self,
        data: &[u8],
        start: usize,
        nesting: &[u64],
    ) -> Result<usize, (u64, &'static str, String)> {
        let mut vm = Vm::default();
        let mut rd = Rd { data, pos: start };
        loop {
            let at = rd.pos;
            let Some(&op) = data.get(at) else {
                return Err((
                    at as u64,
                    "(end)",
                    "truncated: input ends before STOP".into(),
                ));
            };
            rd.pos += 1;
            match self.step(&mut vm, &mut rd, op, at as u64, nesting) {
                Ok(Flow::Next) => {}
                Ok(Flow::Stop) => return Ok(rd.pos),
                Err(reason) => return Err((at as u64, op_name(op), reason)),
            }
        }
    }

    fn global(&mut self, module: &str, name: &str, at: u64, op: &str, nesting: &[u64]) -> Value {
        let verdict = classify_global(module, name);
        let full = full_name(module, name);
        let key = (full.clone(), nesting.to_vec());
        if let Some(&i) = self.global_index.get(&key) {
            self.report.globals[i].count += 1;
        } else {
            self.global_index.insert(key, self.report.globals.len());
            self.report.globals.push(GlobalUse {
                name: full.clone(),
                verdict,
                offset: at,
                opcode: op.into(),
                nesting: nesting.to_vec(),
                count: 1,
            });
            let (sev, why) = match verdict {
                Verdict::Denied => (
                    Severity::Critical,
                    "is on the deny list: loading this file can run code",
                ),
                Verdict::Unknown => (
                    Severity::Medium,
                    "is not on the allow list: it is imported, and maybe called, on load",
                ),
                Verdict::Allowed => return Value::Global(full.into()),
            };
            let reason = format!("global {full} {why}");
            self.finding(sev, at, op, Some(full.clone()), reason, nesting);
        }
        Value::Global(full.into())
    }

    /// A call of `f` with `args` (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ).
    fn call(&mut self, f: Value, args: Value, at: u64, op: &str, nesting: &[u64]) -> Res<Value> {
        let callable: Rc<str> = match &f {
            Value::Global(g) => g.clone(),
            other => {
                let what = other.kind();
                let key = (format!("call:{what}"), nesting.to_vec());
                if self.seen.insert(key) {
                    let reason =
                        format!("not verifiably safe: {op} calls {what}, not an imported global");
                    self.finding(Severity::High, at, op, None, reason, nesting);
                }
                format!("({what})").into()
            }
        };
        let first = |args: &Value| match args {
            Value::Tuple(t) => t.items.first().cloned(),
            _ => None,
        };
        match &*callable {
            // Protocols 0 to 2 pickle bytes as `_codecs.encode(str, "latin1")`.
            "_codecs.encode" => {
                if let Value::Tuple(t) = &args {
                    let enc = match t.items.get(1) {
                        None => Some("utf-8".to_string()),
                        Some(Value::Str(e)) => Some(e.to_ascii_lowercase().replace('_', "-")),
                        Some(_) => None,
                    };
                    if let (Some(Value::Str(s)), Some(enc)) = (t.items.first(), enc) {
                        match enc.as_str() {
                            "latin1" | "latin-1" | "iso-8859-1" | "l1" => {
                                if let Ok(b) = s
                                    .chars()
                                    .map(|c| u8::try_from(u32::from(c)))
                                    .collect::<Result<Vec<u8>, _>>()
                                {
                                    return Ok(Value::Bytes(b.into()));
                                }
                            }
                            "utf-8" | "utf8" => return Ok(Value::Bytes(s.as_bytes().into())),
                            _ => {}
                        }
                    }
                }
            }
            "builtins.bytes" | "builtins.bytearray" => {
                if let Some(b @ Value::Bytes(_)) = first(&args) {
                    return Ok(b);
                }
            }
            c if NESTED_LOADERS.contains(&c) => self.nested(c, &args, at, op, nesting),
            _ => {}
        }
        let depth = 1 + args.depth();
        if depth > self.limits.max_value_depth {
            return Ok(Value::Unknown);
        }
        Ok(Value::Call(Rc::new(CallV {
            callable,
            args,
            depth,
        })))
    }

    fn nested(&mut self, loader: &str, args: &Value, at: u64, op: &str, nesting: &[u64]) {
        let mut payloads = Vec::new();
        collect_bytes(args, 4, &mut payloads);
        if payloads.is_empty() {
            let r = format!("the argument of {loader} is not literal bytes: the nested pickle cannot be analysed");
            return self.unsafe_(at, op, &r, nesting);
        }
        if nesting.len() >= self.limits.max_nesting {
            let r = format!(
                "limit: pickles nested deeper than {}",
                self.limits.max_nesting
            );
            return self.unsafe_(at, op, &r, nesting);
        }
        let mut inner = nesting.to_vec();
        inner.push(at);
        for p in payloads {
            self.stream(&p, &inner);
        }
    }

    /// joblib writes the bytes of each NumPy array right after the BUILD of its
    /// `NumpyArrayWrapper` (its state says dtype, shape and alignment), and an array of objects as
    /// a whole pickle there: skip the former, analyse the latter, as joblib's unpickler reads them.
    fn joblib_array(&mut self, rd: &mut Rd<'_>, state: &Value, nesting: &[u64]) -> Res<()> {
        let descr = match dict_get(state, "dtype") {
            Some(Value::Call(c)) if &*c.callable == "numpy.dtype" => match &c.args {
                Value::Tuple(t) => match t.items.first() {
                    Some(Value::Str(d)) => Some(d.clone()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
        .ok_or(
            "joblib array wrapper without a readable dtype: its array bytes cannot be skipped",
        )?;
        let kind = descr.trim_start_matches(['<', '>', '|', '=']);
        if kind.starts_with('O') {
            let end = self
                .pickle(rd.data, rd.pos, nesting)
                .map_err(|(o, op, r)| {
                    format!("in the joblib object array pickle at offset {o} ({op}): {r}")
                })?;
            rd.pos = end;
            return Ok(());
        }
        let size = dtype_size(kind).ok_or_else(|| {
            format!("joblib array of dtype {descr:?}: its size cannot be computed")
        })?;
        let count = match dict_get(state, "shape") {
            Some(Value::Tuple(t)) => t.items.iter().try_fold(1u64, |acc, d| match d {
                Value::Int(Some(n)) if *n >= 0 => acc.checked_mul(*n as u64),
                _ => None,
            }),
            _ => None,
        }
        .ok_or(
            "joblib array wrapper without a readable shape: its array bytes cannot be skipped",
        )?;
        let bytes = count
            .checked_mul(size)
            .ok_or("joblib array size overflows")?;
        if matches!(
            dict_get(state, "numpy_array_alignment_bytes"),
            Some(Value::Int(Some(_)))
        ) {
            let pad = rd.u8()?;
            rd.take(pad.into())?;
        }
        rd.take(bytes)?;
        Ok(())
    }

    fn step(
        &mut self,
        vm: &mut Vm,
        rd: &mut Rd<'_>,
        op: u8,
        at: u64,
        nesting: &[u64],
    ) -> Res<Flow> {
        let limits = self.limits;
        let maxd = limits.max_value_depth;
        let name = op_name(op);
        let v = match op {
            b'(' => {
                vm.room(limits)?;
                vm.marks.push(vm.stack.len());
                return Ok(Flow::Next);
            }
            b'.' => {
                vm.pop()?;
                return Ok(Flow::Stop);
            }
            b'0' => {
                if vm.stack.len() > vm.base() {
                    vm.stack.pop();
                } else {
                    vm.pop_mark()?;
                }
                return Ok(Flow::Next);
            }
            b'1' => {
                vm.pop_mark()?;
                return Ok(Flow::Next);
            }
            b'2' => vm.top()?.clone(),
            b'F' => {
                rd.line()?;
                Value::Float
            }
            b'I' => match rd.line()? {
                b"00" | b"01" => Value::Bool,
                l => parse_int(l, false)?,
            },
            b'J' => Value::Int(Some(i64::from(rd.i32()?))),
            b'K' => Value::Int(Some(i64::from(rd.u8()?))),
            b'M' => Value::Int(Some(i64::from(rd.u16()?))),
            b'L' => parse_int(rd.line()?, true)?,
            b'N' => Value::None,
            b'P' => {
                rd.line()?;
                Value::PersId
            }
            b'Q' => {
                vm.pop()?;
                Value::PersId
            }
            b'R' => {
                let args = vm.pop()?;
                let f = vm.pop()?;
                self.call(f, args, at, name, nesting)?
            }
            b'S' => parse_string(rd.line()?)?,
            b'T' => {
                let n = rd.len_i32()?;
                latin1(rd.take(n)?)
            }
            b'U' => {
                let n = rd.u8()?;
                latin1(rd.take(n.into())?)
            }
            b'V' => parse_raw_unicode(rd.line()?)?,
            b'X' => {
                let n = rd.u32()?;
                utf8(rd.take(n.into())?)
            }
            0x8c => {
                let n = rd.u8()?;
                utf8(rd.take(n.into())?)
            }
            0x8d => {
                let n = rd.u64()?;
                utf8(rd.take(n)?)
            }
            b'B' => {
                let n = rd.u32()?;
                Value::Bytes(rd.take(n.into())?.into())
            }
            b'C' => {
                let n = rd.u8()?;
                Value::Bytes(rd.take(n.into())?.into())
            }
            0x8e | 0x96 => {
                let n = rd.u64()?;
                Value::Bytes(rd.take(n)?.into())
            }
            b'a' => {
                vm.pop()?;
                vm.top()?;
                return Ok(Flow::Next);
            }
            b'e' | 0x90 => {
                vm.pop_mark()?;
                vm.top()?;
                return Ok(Flow::Next);
            }
            b's' => {
                let v = vm.pop()?;
                let k = vm.pop()?;
                dict_insert(vm.top_mut()?, vec![k, v]);
                return Ok(Flow::Next);
            }
            b'u' => {
                let items = vm.pop_mark()?;
                if items.len() % 2 != 0 {
                    return Err("malformed: odd number of items for SETITEMS".into());
                }
                dict_insert(vm.top_mut()?, items);
                return Ok(Flow::Next);
            }
            b'b' => {
                let state = vm.pop()?;
                if let Value::Call(c) = vm.top()? {
                    if JOBLIB_ARRAY_WRAPPERS.contains(&&*c.callable) {
                        self.joblib_array(rd, &state, nesting)?;
                        *vm.top_mut()? = Value::Unknown;
                        return Ok(Flow::Next);
                    }
                }
                if let Value::Global(g) = vm.top()? {
                    let g = g.to_string();
                    // BUILD's state: a dict, or (dict or None, slot dict); each entry is a setattr.
                    let dicts: Vec<&Value> = match &state {
                        Value::Tuple(t) => t.items.iter().collect(),
                        d => vec![d],
                    };
                    for d in dicts {
                        if let Value::Dict(Some(entries)) = d {
                            for (k, v) in entries.iter() {
                                if let Value::Str(k) = k {
                                    if vm.overrides.len() < limits.max_memo {
                                        vm.overrides.insert(format!("{g}.{k}"), v.clone());
                                    }
                                }
                            }
                        }
                    }
                    let reason = format!(
                        "not verifiably safe: BUILD sets attributes on the global {g} itself"
                    );
                    self.finding(Severity::High, at, name, Some(g), reason, nesting);
                }
                return Ok(Flow::Next);
            }
            b'c' => {
                let module = rd.utf8_line()?;
                let gname = rd.utf8_line()?;
                let g = self.global(module, gname, at, name, nesting);
                vm.overridden(g)
            }
            b'i' => {
                let module = rd.utf8_line()?;
                let gname = rd.utf8_line()?;
                let args = vm.pop_mark()?;
                let g = self.global(module, gname, at, name, nesting);
                self.call(g, tuple(args, maxd), at, name, nesting)?
            }
            b'o' => {
                let mut items = vm.pop_mark()?;
                if items.is_empty() {
                    return Err("malformed: OBJ without a class".into());
                }
                let cls = items.remove(0);
                self.call(cls, tuple(items, maxd), at, name, nesting)?
            }
            0x93 => {
                let gname = vm.pop()?;
                let module = vm.pop()?;
                match (&module, &gname) {
                    (Value::Str(m), Value::Str(n)) => {
                        let (m, n) = (m.clone(), n.clone());
                        let g = self.global(&m, &n, at, name, nesting);
                        vm.overridden(g)
                    }
                    _ => {
                        return Err(format!(
                            "malformed: STACK_GLOBAL needs two strings, got {} and {}",
                            module.kind(),
                            gname.kind()
                        ))
                    }
                }
            }
            0x82..=0x84 => {
                let code = match op {
                    0x82 => u32::from(rd.u8()?),
                    0x83 => u32::from(rd.u16()?),
                    _ => rd.u32()?,
                };
                let reason = format!("{name} imports extension code {code} of the copyreg registry, which cannot be resolved");
                self.unsafe_(at, name, &reason, nesting);
                Value::Unknown
            }
            0x81 => {
                let args = vm.pop()?;
                let cls = vm.pop()?;
                self.call(cls, args, at, name, nesting)?
            }
            0x92 => {
                vm.pop()?;
                let args = vm.pop()?;
                let cls = vm.pop()?;
                self.call(cls, args, at, name, nesting)?
            }
            b'd' => {
                let items = vm.pop_mark()?;
                if items.len() % 2 != 0 {
                    return Err("malformed: odd number of items for DICT".into());
                }
                let mut d = Value::Dict(Some(Rc::new(Vec::new())));
                dict_insert(&mut d, items);
                d
            }
            b'}' => Value::Dict(Some(Rc::new(Vec::new()))),
            b'l' => {
                vm.pop_mark()?;
                Value::List
            }
            b']' => Value::List,
            b't' => tuple(vm.pop_mark()?, maxd),
            b')' => tuple(Vec::new(), maxd),
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if vm.stack.len() < vm.base() + n {
                    return Err("malformed: unpickling stack underflow".into());
                }
                let items = vm.stack.split_off(vm.stack.len() - n);
                tuple(items, maxd)
            }
            0x8f => Value::Set,
            0x91 => {
                vm.pop_mark()?;
                Value::FrozenSet
            }
            b'g' => {
                let key = parse_key(rd.line()?)?;
                vm.get(key, limits)?;
                return Ok(Flow::Next);
            }
            b'h' => {
                let key = rd.u8()?;
                vm.get(key.into(), limits)?;
                return Ok(Flow::Next);
            }
            b'j' => {
                let key = rd.u32()?;
                vm.get(key.into(), limits)?;
                return Ok(Flow::Next);
            }
            b'p' => {
                let key = parse_key(rd.line()?)?;
                vm.put(key, limits)?;
                return Ok(Flow::Next);
            }
            b'q' => {
                let key = rd.u8()?;
                vm.put(key.into(), limits)?;
                return Ok(Flow::Next);
            }
            b'r' => {
                let key = rd.u32()?;
                vm.put(key.into(), limits)?;
                return Ok(Flow::Next);
            }
            0x94 => {
                let key = vm.memo.len() as u64;
                vm.put(key, limits)?;
                return Ok(Flow::Next);
            }
            b'G' => {
                rd.u64()?;
                Value::Float
            }
            0x80 => {
                let p = rd.u8()?;
                if p > 5 {
                    return Err(format!("unsupported pickle protocol {p}"));
                }
                return Ok(Flow::Next);
            }
            0x88 | 0x89 => Value::Bool,
            0x8a => {
                let n = rd.u8()?;
                Value::Int(long_value(rd.take(n.into())?))
            }
            0x8b => {
                let n = rd.len_i32()?;
                Value::Int(long_value(rd.take(n)?))
            }
            0x95 => {
                let n = rd.u64()?;
                let left = (rd.data.len() - rd.pos) as u64;
                if n > left {
                    return Err(format!(
                        "truncated: frame of {n} bytes but {left} bytes left"
                    ));
                }
                return Ok(Flow::Next);
            }
            // Out-of-band buffers are not in the file.
            0x97 => Value::Unknown,
            0x98 => {
                vm.top()?;
                return Ok(Flow::Next);
            }
            other => {
                let mut r = String::new();
                let _ = write!(r, "unknown opcode 0x{other:02x}");
                return Err(r);
            }
        };
        vm.push(v, limits)?;
        Ok(Flow::Next)
    }
}
