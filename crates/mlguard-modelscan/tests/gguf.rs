//! The GGUF check against files gguf-py's GGUFWriter writes (the test venv's Python,
//! MLGUARD_TEST_PYTHON, package `gguf`: metadata of every kind, nested arrays, custom alignment,
//! chat templates of popular models, F32/F16/BF16/Q8_0 tensors: no finding) and hand-built files,
//! one per rule, each giving exactly the expected finding; chat templates that reach for Python
//! internals (CVE-2024-34359) and the real templates of popular models.
//!
//! Without MLGUARD_TEST_PYTHON the Python parts are skipped with a message, unless
//! MLGUARD_REQUIRE_TOOLS is set: then they fail.

mod common;
use common::python;
use mlguard_modelscan::gguf::{looks_like_gguf, scan_gguf, template_indicators};
use mlguard_modelscan::{FileFinding, Severity};
use std::io::Write;
use std::path::{Path, PathBuf};

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mlguard-gguf-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run a Python script with the output path as argv[1] and the templates as JSON on stdin;
/// return the file it wrote.
fn written_by_gguf_py(python: &Path, script: &str, stdin: &str) -> Vec<u8> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = tempdir(&format!("py{n}"));
    let out = dir.join("model.gguf");
    common::py(
        python,
        script,
        &[out.to_str().expect("utf8 path")],
        stdin.as_bytes(),
    );
    let bytes = std::fs::read(&out).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    bytes
}

// Chat templates of popular models, in their common form.
const LLAMA3: &str = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
const MISTRAL: &str = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
const CHATML_QWEN: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
const GEMMA: &str = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";
/// Llama 3.1 style, with tools, namespace and tojson.
const LLAMA31_TOOLS: &str = "{{- bos_token }}\n{%- if custom_tools is defined %}\n    {%- set tools = custom_tools %}\n{%- endif %}\n{%- if not tools_in_user_message is defined %}\n    {%- set tools_in_user_message = true %}\n{%- endif %}\n{%- if not date_string is defined %}\n    {%- set date_string = \"26 Jul 2024\" %}\n{%- endif %}\n{%- set ns = namespace(found=false) %}\n{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content']|trim %}\n    {%- set messages = messages[1:] %}\n{%- else %}\n    {%- set system_message = \"\" %}\n{%- endif %}\n{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n{{- \"Cutting Knowledge Date: December 2023\\n\" }}\n{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n{%- if tools is not none %}\n    {%- for t in tools %}\n        {{- t | tojson(indent=4) }}\n        {{- \"\\n\\n\" }}\n    {%- endfor %}\n{%- endif %}\n{{- system_message }}\n{{- \"<|eot_id|>\" }}\n{%- for message in messages %}\n    {%- if message.role == 'ipython' or message.role == 'tool' %}\n        {{- \"<|start_header_id|>ipython<|end_header_id|>\\n\\n\" }}\n        {%- if message.content is mapping or message.content is iterable %}\n            {{- message.content | tojson }}\n        {%- else %}\n            {{- message.content }}\n        {%- endif %}\n        {{- \"<|eot_id|>\" }}\n    {%- else %}\n        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n";

const POPULAR: &[(&str, &str)] = &[
    ("llama3", LLAMA3),
    ("mistral", MISTRAL),
    ("chatml-qwen", CHATML_QWEN),
    ("gemma", GEMMA),
    ("llama3.1-tools", LLAMA31_TOOLS),
];

/// Server-side template injection payloads (CVE-2024-34359 and the usual Jinja escapes).
const MALICIOUS: &[&str] = &[
    "{% for x in ().__class__.__base__.__subclasses__() %}{% if \"warning\" in x.__name__ %}{{x()._module.__builtins__['__import__']('os').popen(\"touch /tmp/retr0reg\")}}{%endif%}{% endfor %}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ ''['__cla' ~ 'ss__'] }}",
    "{{ ''['_' ~ '_class_' ~ '_'] }}",
    "{{ lipsum['__glo' + 'bals__']['o' ~ 's'] }}",
    "{{ ''[['__cla', 'ss__']|join] }}",
    "{{ cycler|attr(request.args.a) }}",
    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ joiner.__init__ }}",
    "{{ namespace.__init__.__globals__.os.popen('id').read() }}",
    "{{ self._TemplateReference__context.cycler }}",
    "{{ x.mro() }}{{ subprocess }}",
    "{% for message in messages %}{{ message['content'] }}{% endfor %}{{ config.__class__.__init__.__globals__['os'].popen('id') }}",
];

/// A GGUF file built by hand (version 3, little-endian).
struct G {
    version: u32,
    kvs: Vec<u8>,
    n_kv: u64,
    tensors: Vec<u8>,
    n_t: u64,
    align: u64,
}

fn gstr(v: &mut Vec<u8>, s: &[u8]) {
    v.extend_from_slice(&(s.len() as u64).to_le_bytes());
    v.extend_from_slice(s);
}

impl G {
    fn new() -> Self {
        G {
            version: 3,
            kvs: Vec::new(),
            n_kv: 0,
            tensors: Vec::new(),
            n_t: 0,
            align: 32,
        }
    }
    /// A key with a value type and raw value bytes.
    fn kv(mut self, key: &str, ty: u32, value: &[u8]) -> Self {
        gstr(&mut self.kvs, key.as_bytes());
        self.kvs.extend_from_slice(&ty.to_le_bytes());
        self.kvs.extend_from_slice(value);
        self.n_kv += 1;
        self
    }
    fn kv_str(self, key: &str, s: &str) -> Self {
        let mut v = Vec::new();
        gstr(&mut v, s.as_bytes());
        self.kv(key, 8, &v)
    }
    fn kv_u32(self, key: &str, x: u32) -> Self {
        self.kv(key, 4, &x.to_le_bytes())
    }
    fn tensor(mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> Self {
        gstr(&mut self.tensors, name.as_bytes());
        self.tensors
            .extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in dims {
            self.tensors.extend_from_slice(&d.to_le_bytes());
        }
        self.tensors.extend_from_slice(&ty.to_le_bytes());
        self.tensors.extend_from_slice(&offset.to_le_bytes());
        self.n_t += 1;
        self
    }
    /// Header, padding to the alignment, then `data` zero bytes.
    fn build(&self, data: usize) -> Vec<u8> {
        let mut v = b"GGUF".to_vec();
        v.extend_from_slice(&self.version.to_le_bytes());
        v.extend_from_slice(&self.n_t.to_le_bytes());
        v.extend_from_slice(&self.n_kv.to_le_bytes());
        v.extend_from_slice(&self.kvs);
        v.extend_from_slice(&self.tensors);
        let a = self.align as usize;
        v.resize(v.len().div_ceil(a) * a, 0);
        v.resize(v.len() + data, 0);
        v
    }
}

/// A valid file: architecture, a string array, one F32 tensor of 8 elements.
fn base() -> G {
    G::new()
        .kv_str("general.architecture", "llama")
        .kv("tokenizer.ggml.tokens", 9, &{
            let mut v = 8u32.to_le_bytes().to_vec();
            v.extend_from_slice(&2u64.to_le_bytes());
            gstr(&mut v, b"<s>");
            gstr(&mut v, b"a");
            v
        })
        .tensor("w", &[8], 0, 0)
}

/// Exactly one finding with `code` whose reason contains `needle`; returns it.
fn one(f: Vec<FileFinding>, code: &str, needle: &str) -> FileFinding {
    assert_eq!(f.len(), 1, "expected one finding, got {f:#?}");
    let f = f.into_iter().next().unwrap();
    assert_eq!(f.code, code, "{f:?}");
    assert_eq!(
        f.severity,
        if code == "MS051" {
            Severity::Critical
        } else {
            Severity::High
        }
    );
    assert!(
        f.reason.contains(needle),
        "reason {:?} lacks {needle:?}",
        f.reason
    );
    f
}

const WRITER: &str = r#"
import sys, json, numpy as np, gguf
from gguf import GGMLQuantizationType as Q
templates = json.load(sys.stdin)
w = gguf.GGUFWriter(sys.argv[1], "llama")
w.add_custom_alignment(64)
w.add_name("mlguard test")
w.add_uint32("llama.context_length", 4096)
w.add_int64("x.i64", -5)
w.add_float32("x.f32", 1.5)
w.add_float64("x.f64", 2.5)
w.add_bool("x.bool", True)
w.add_uint8("x.u8", 7)
w.add_int16("x.i16", -7)
w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "a", "\u00e9"])
w.add_array("tokenizer.ggml.scores", [0.0, 1.0, 2.0, 3.0])
w.add_array("x.nested", [[1, 2], [3]])
w.add_array("x.empty", [])
named = [{"name": k, "template": v} for k, v in templates.items() if k != "default"]
w.add_chat_template(named + [{"name": "default", "template": templates["default"]}])
w.add_tensor("token_embd.weight", np.ones((4, 8), dtype=np.float32))
w.add_tensor("output_norm.weight", np.ones((3,), dtype=np.float16))
w.add_tensor("q8.weight", gguf.quants.quantize(np.ones((2, 64), dtype=np.float32), Q.Q8_0), raw_dtype=Q.Q8_0)
w.add_tensor("bf.weight", np.ones((2, 8), dtype=np.uint16), raw_dtype=Q.BF16)
w.add_tensor("empty.weight", np.ones((0,), dtype=np.float32))
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
r = gguf.GGUFReader(sys.argv[1])
assert len(r.tensors) == 5
"#;

fn templates_json(default: &str, others: &[(&str, &str)]) -> String {
    let mut m = serde_json::Map::new();
    m.insert("default".into(), default.into());
    for (k, v) in others {
        m.insert((*k).to_string(), (*v).into());
    }
    serde_json::Value::Object(m).to_string()
}

#[test]
fn files_written_by_gguf_py_are_clean() {
    let Some(python) = python() else { return };
    for (name, t) in POPULAR {
        let others: Vec<(&str, &str)> = POPULAR
            .iter()
            .filter(|(n, _)| n != name)
            .map(|(n, t)| (n.replace('.', "_").leak() as &str, *t))
            .collect();
        let bytes = written_by_gguf_py(&python, WRITER, &templates_json(t, &others));
        assert!(looks_like_gguf(&bytes));
        let f = scan_gguf(&bytes);
        assert!(f.is_empty(), "{name}: {f:#?}");
    }
}

#[test]
fn a_malicious_template_in_a_gguf_py_file_is_critical() {
    let Some(python) = python() else { return };
    let bytes = written_by_gguf_py(
        &python,
        WRITER,
        &templates_json(LLAMA3, &[("tool_use", MALICIOUS[0])]),
    );
    let f = one(
        scan_gguf(&bytes),
        "MS051",
        "chat template \"tokenizer.chat_template.tool_use\" reaches for Python internals (__class__, __base__, __subclasses__",
    );
    assert_eq!(
        f.global.as_deref(),
        Some("tokenizer.chat_template.tool_use")
    );
}

#[test]
fn popular_chat_templates_give_no_indicator() {
    for (name, t) in POPULAR {
        assert!(
            template_indicators(t).is_empty(),
            "{name}: {:?}",
            template_indicators(t)
        );
        let f = scan_gguf(&base().kv_str("tokenizer.chat_template", t).build(32));
        assert!(f.is_empty(), "{name}: {f:#?}");
    }
}

#[test]
fn malicious_chat_templates_are_critical() {
    for t in MALICIOUS {
        let file = base().kv_str("tokenizer.chat_template", t).build(32);
        let f = one(scan_gguf(&file), "MS051", "reaches for Python internals");
        let at = file
            .windows(t.len())
            .position(|w| w == t.as_bytes())
            .unwrap() as u64;
        assert_eq!(f.offset, Some(at - 8), "{t}");
    }
    // Named templates too; other keys are not templates.
    one(
        scan_gguf(
            &base()
                .kv_str("tokenizer.chat_template.rag", MALICIOUS[1])
                .build(32),
        ),
        "MS051",
        "\"tokenizer.chat_template.rag\"",
    );
    assert!(scan_gguf(&base().kv_str("general.description", MALICIOUS[1]).build(32)).is_empty());
}

#[test]
fn a_hand_built_file_is_clean() {
    assert!(looks_like_gguf(b"GGUF\x03\0\0\0"));
    assert!(!looks_like_gguf(b"GGML"));
    assert!(scan_gguf(&base().build(32)).is_empty());
    // No tensors, no padding needed.
    assert!(scan_gguf(&G::new().kv_u32("a.b", 1).build(0)).is_empty());
    // Version 2, quantized types, several tensors, zero-size tensor, custom alignment.
    let mut g = base()
        .kv_u32("general.alignment", 64)
        .tensor("q4", &[64, 2], 2, 64)
        .tensor("k", &[256], 12, 192)
        .tensor("z", &[0, 4], 0, 384);
    g.version = 2;
    g.align = 64;
    assert!(
        scan_gguf(&g.build(384)).is_empty(),
        "{:#?}",
        scan_gguf(&g.build(384))
    );
}

#[test]
fn bad_magic() {
    let mut v = base().build(32);
    v[..4].copy_from_slice(b"GGML");
    assert_eq!(
        one(scan_gguf(&v), "MS050", "magic is \"GGML\", not \"GGUF\"").offset,
        Some(0)
    );
    one(scan_gguf(b""), "MS050", "magic is \"\"");
}

#[test]
fn bad_version() {
    for (ver, needle) in [
        (
            1u32,
            "version 1 (32-bit counts and lengths) is not supported",
        ),
        (0, "version 0 is not 2 or 3"),
        (4, "version 4 is not 2 or 3"),
        (0x0300_0000, "big-endian"),
    ] {
        let mut g = base();
        g.version = ver;
        assert_eq!(
            one(scan_gguf(&g.build(32)), "MS050", needle).offset,
            Some(4)
        );
    }
    one(
        scan_gguf(b"GGUF\x03\0"),
        "MS050",
        "file ends inside the version",
    );
}

#[test]
fn counts_too_big() {
    let mut g = base();
    g.n_t = u64::MAX;
    let f = one(
        scan_gguf(&g.build(32)),
        "MS050",
        "tensor_count 18446744073709551615 is more than the",
    );
    assert_eq!(f.offset, Some(8));
    let mut g = base();
    g.n_kv = 1 << 40;
    assert_eq!(
        one(
            scan_gguf(&g.build(32)),
            "MS050",
            "metadata_kv_count 1099511627776 is more than the"
        )
        .offset,
        Some(16)
    );
    // Plausible counts that still promise more entries than the file holds: the walk hits the end.
    let mut g = base();
    g.n_t = 3;
    one(scan_gguf(&g.build(0)), "MS050", "file ends inside");
}

#[test]
fn string_length_past_eof() {
    let mut v = Vec::new();
    v.extend_from_slice(&(1u64 << 40).to_le_bytes());
    v.extend_from_slice(b"short");
    let file = base().kv("general.name", 8, &v).build(32);
    let f = one(
        scan_gguf(&file),
        "MS050",
        "the value of \"general.name\" length 1099511627776 runs past the end of the file",
    );
    let at = file
        .windows(8)
        .position(|w| w == (1u64 << 40).to_le_bytes())
        .unwrap() as u64;
    assert_eq!(f.offset, Some(at));
    // A key length beyond the spec's limit, a key longer than the spec allows.
    let mut raw = b"GGUF\x03\0\0\0".to_vec();
    raw.extend_from_slice(&0u64.to_le_bytes());
    raw.extend_from_slice(&1u64.to_le_bytes());
    raw.extend_from_slice(&u64::MAX.to_le_bytes());
    raw.extend_from_slice(&[0u8; 16]);
    one(
        scan_gguf(&raw),
        "MS050",
        "metadata key 0 length 18446744073709551615 exceeds the limit of 65535",
    );
    let long = "k".repeat(70000);
    one(
        scan_gguf(&G::new().kv_u32(&long, 1).build(0)),
        "MS050",
        "metadata key 0 length 70000 exceeds",
    );
}

#[test]
fn bad_keys() {
    one(
        scan_gguf(&base().kv_u32("", 1).build(32)),
        "MS050",
        "metadata key 2 is empty",
    );
    one(
        scan_gguf(
            &base()
                .kv_u32("\u{e9}\u{e9}", 1)
                .build(32)
                .iter()
                .map(|&b| if b == 0xc3 { 0xff } else { b })
                .collect::<Vec<_>>(),
        ),
        "MS050",
        "metadata key 2 is not UTF-8",
    );
    one(
        scan_gguf(&base().kv_str("general.architecture", "x").build(32)),
        "MS050",
        "duplicate metadata key \"general.architecture\"",
    );
}

#[test]
fn unknown_value_types() {
    one(
        scan_gguf(&base().kv("x.y", 13, &[0; 8]).build(32)),
        "MS050",
        "\"x.y\" value type 13 is unknown",
    );
    let mut arr = 99u32.to_le_bytes().to_vec();
    arr.extend_from_slice(&1u64.to_le_bytes());
    one(
        scan_gguf(&base().kv("x.y", 9, &arr).build(32)),
        "MS050",
        "\"x.y\" array element type 99 is unknown",
    );
    one(
        scan_gguf(&base().kv("x.b", 7, &[2]).build(32)),
        "MS050",
        "BOOL value of \"x.b\" is 2, neither 0 nor 1",
    );
}

#[test]
fn arrays_out_of_bounds() {
    // Fixed-size elements: checked by multiplication, never walked.
    let mut arr = 6u32.to_le_bytes().to_vec();
    arr.extend_from_slice(&(1u64 << 29).to_le_bytes());
    one(
        scan_gguf(&base().kv("x.f", 9, &arr).build(32)),
        "MS050",
        "\"x.f\" array of 536870912 FLOAT32 runs past the end of the file",
    );
    let mut arr = 8u32.to_le_bytes().to_vec();
    arr.extend_from_slice(&(1u64 << 31).to_le_bytes());
    one(
        scan_gguf(&base().kv("x.s", 9, &arr).build(32)),
        "MS050",
        "\"x.s\" array length 2147483648 exceeds the reference reader's limit",
    );
    // Nesting deeper than the limit.
    let mut arr = Vec::new();
    for _ in 0..6 {
        arr.extend_from_slice(&9u32.to_le_bytes());
        arr.extend_from_slice(&1u64.to_le_bytes());
    }
    arr.extend_from_slice(&0u32.to_le_bytes());
    arr.extend_from_slice(&0u64.to_le_bytes());
    one(
        scan_gguf(&G::new().kv("x.n", 9, &arr).build(0)),
        "MS050",
        "\"x.n\" nests arrays deeper than 4 levels",
    );
}

#[test]
fn too_many_dimensions() {
    let file = base().tensor("big", &[1, 1, 1, 1, 8], 0, 32).build(64);
    let f = one(
        scan_gguf(&file),
        "MS050",
        "tensor \"big\" n_dims 5 is more than 4",
    );
    let at = file.windows(3).position(|w| w == b"big").unwrap() as u64 + 3;
    assert_eq!(f.offset, Some(at));
}

#[test]
fn unknown_ggml_type() {
    for ty in [4u32, 31, 43, 0xffff_ffff] {
        one(
            scan_gguf(&base().tensor("t", &[8], ty, 32).build(64)),
            "MS050",
            &format!("tensor \"t\" ggml type {ty} is unknown"),
        );
    }
}

#[test]
fn bad_shapes() {
    one(
        scan_gguf(&base().tensor("q", &[33], 2, 32).build(64)),
        "MS050",
        "tensor \"q\" row of 33 elements is not a whole number of Q4_0 blocks of 32",
    );
    one(
        scan_gguf(&base().tensor("o", &[1 << 40, 1 << 40], 0, 32).build(64)),
        "MS050",
        "tensor \"o\" dimensions [1099511627776, 1099511627776] overflow the element count",
    );
    one(
        scan_gguf(&base().tensor("n", &[u64::MAX], 0, 32).build(64)),
        "MS050",
        "dimension 0 is 18446744073709551615, negative as ggml's int64",
    );
    one(
        scan_gguf(&base().tensor("b", &[1 << 62], 0, 32).build(64)),
        "MS050",
        "overflow the byte size",
    );
}

#[test]
fn misaligned_offset() {
    let file = base().tensor("m", &[4], 0, 36).build(64);
    one(
        scan_gguf(&file),
        "MS050",
        "tensor \"m\" offset 36 is not a multiple of the alignment 32",
    );
    // With a custom alignment.
    let mut g = base()
        .kv_u32("general.alignment", 64)
        .tensor("m", &[4], 0, 32);
    g.align = 64;
    one(
        scan_gguf(&g.build(64)),
        "MS050",
        "offset 32 is not a multiple of the alignment 64",
    );
}

#[test]
fn bad_alignment() {
    one(
        scan_gguf(&base().kv_u32("general.alignment", 48).build(32)),
        "MS050",
        "general.alignment 48 is not a power of two",
    );
    one(
        scan_gguf(&base().kv_u32("general.alignment", 0).build(32)),
        "MS050",
        "general.alignment 0 is not a power of two",
    );
    one(
        scan_gguf(
            &base()
                .kv("general.alignment", 10, &32u64.to_le_bytes())
                .build(32),
        ),
        "MS050",
        "general.alignment is UINT64, not UINT32",
    );
}

#[test]
fn tensor_past_eof() {
    let file = base().tensor("big", &[1000], 0, 32).build(64);
    let f = one(
        scan_gguf(&file),
        "MS050",
        "tensor \"big\" data [32, 32+4000) runs past the end of the file (the data section holds 64 bytes)",
    );
    let at = file.windows(3).position(|w| w == b"big").unwrap() as u64 - 8;
    assert_eq!(f.offset, Some(at));
    // The offset alone wraps.
    one(
        scan_gguf(&base().tensor("x", &[8], 0, u64::MAX - 31).build(64)),
        "MS050",
        "runs past the end of the file",
    );
    // Data section start past the end.
    let g = base();
    let end = 24 + g.kvs.len() + g.tensors.len();
    assert_ne!(end % 32, 0);
    let mut v = g.build(32);
    v.truncate(end);
    one(scan_gguf(&v), "MS050", "the data section would start at");
}

#[test]
fn overlapping_and_duplicate_tensors() {
    one(
        scan_gguf(&base().tensor("v", &[16], 0, 0).build(64)),
        "MS050",
        "tensor \"v\" data at offset 0 overlaps tensor \"w\" (ends at 32)",
    );
    one(
        scan_gguf(&base().tensor("w", &[8], 0, 32).build(64)),
        "MS050",
        "duplicate tensor name \"w\"",
    );
    one(
        scan_gguf(&base().tensor(&"n".repeat(64), &[8], 0, 32).build(64)),
        "MS050",
        "tensor 1 name is 64 bytes, longer than ggml's 63",
    );
}

/// A 10 GiB sparse file: the caller passes what it has (the first MiB); tensors claiming 10 GiB
/// are judged by offsets and sizes, never by reading the data.
#[test]
fn ten_gib_sparse_file_is_judged_by_offsets() {
    const SIZE: u64 = 10 << 30;
    let dir = tempdir("sparse");
    let path = dir.join("big.gguf");
    let g = G::new().kv_str("general.architecture", "llama").tensor(
        "huge",
        &[(SIZE - 4096) / 4],
        0,
        32,
    );
    let header = g.build(0);
    {
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&header).unwrap();
        f.set_len(SIZE).unwrap();
    }
    let mut head = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(&path).unwrap(), 1 << 20),
        &mut head,
    )
    .unwrap();
    let start = std::time::Instant::now();
    one(
        scan_gguf(&head),
        "MS050",
        "tensor \"huge\" data [32, 32+10737414144) runs past the end",
    );
    one(
        scan_gguf(&header),
        "MS050",
        "the data section holds 0 bytes",
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn many_empty_strings_are_bounded() {
    // 4 Mi empty strings: walked (each a length), within the budget and quick.
    let n = 4u64 << 20;
    let mut arr = 8u32.to_le_bytes().to_vec();
    arr.extend_from_slice(&n.to_le_bytes());
    arr.resize(arr.len() + (n as usize) * 8, 0);
    let start = std::time::Instant::now();
    assert!(scan_gguf(&G::new().kv("x.s", 9, &arr).build(0)).is_empty());
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn truncations_and_random_mutations_do_not_panic() {
    let good = base()
        .kv_str("tokenizer.chat_template", LLAMA3)
        .kv_u32("general.alignment", 32)
        .tensor("q", &[64], 8, 32)
        .build(100);
    assert!(scan_gguf(&good).is_empty(), "{:#?}", scan_gguf(&good));
    for cut in 0..good.len() {
        assert!(!scan_gguf(&good[..cut]).is_empty(), "prefix {cut} passed");
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..3000 {
        let mut v = good.clone();
        for _ in 0..3 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = (seed as usize) % v.len();
            v[i] = (seed >> 40) as u8;
        }
        let _ = scan_gguf(&v);
    }
}
