//! Replays the seeds of the `safetensors` and `gguf` fuzz targets (fuzz/seeds-safetensors,
//! fuzz/seeds-gguf) as ordinary tests, running exactly the fuzz targets' bodies
//! (fuzz/common/safetensors_check.rs, fuzz/common/gguf_check.rs).
//!
//! Regenerate the seeds (needs the test venv, MLGUARD_TEST_PYTHON, with `safetensors` and `gguf`):
//! `cargo test -p mlguard-modelscan --test fuzz_tensors -- --ignored`,
//! then optionally grow them with `cargo fuzz run` and cut them down with fuzz/cap_corpus.py.

include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/safetensors_check.rs");
include!("../../../fuzz/common/gguf_check.rs");

// No saved corpora for these targets yet: only the seeds are replayed.
const _: usize = MIN_CORPUS_FILES;

#[test]
fn safetensors_seeds_replay() {
    replay_dir("seeds-safetensors", 10, check_safetensors_input);
}

#[test]
fn gguf_seeds_replay() {
    replay_dir("seeds-gguf", 10, check_gguf_input);
}

/// The seeds include clean files, or the fuzzer starts far from the deep checks.
#[test]
fn seeds_include_clean_files() {
    let clean = |dir: &str, scan: fn(&[u8]) -> Vec<mlguard_modelscan::FileFinding>| {
        files_in(&fuzz_dir().join(dir))
            .iter()
            .filter(|f| scan(&std::fs::read(f).unwrap()).is_empty())
            .count()
    };
    assert!(
        clean(
            "seeds-safetensors",
            mlguard_modelscan::safetensors::scan_safetensors
        ) >= 2
    );
    assert!(clean("seeds-gguf", mlguard_modelscan::gguf::scan_gguf) >= 2);
}

const SEED_SCRIPT: &str = r#"
import os, sys, json, struct, numpy as np, gguf
from safetensors.numpy import save
from gguf import GGMLQuantizationType as Q
st_dir, gg_dir = sys.argv[1], sys.argv[2]
def put(d, name, b):
    open(os.path.join(d, name), "wb").write(b)

good = save({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(3, dtype=np.float16),
             "i": np.array([1, 2], dtype=np.int64), "z": np.zeros((0, 2), dtype=np.uint8)},
            metadata={"format": "np"})
put(st_dir, "lib-good.safetensors", good)
put(st_dir, "lib-one.safetensors", save({"x": np.array([True])}))
n = struct.unpack("<Q", good[:8])[0]
hdr = json.loads(good[8:8 + n])
def mk(h, data_len, pad=b""):
    t = json.dumps(h, separators=(",", ":")).encode() + pad
    return struct.pack("<Q", len(t)) + t + b"\0" * data_len
put(st_dir, "padded.safetensors", mk(hdr, len(good) - 8 - n, b"    "))
put(st_dir, "trailing.safetensors", good + b"xx")
put(st_dir, "short.safetensors", good[:-3])
put(st_dir, "len-past-eof.safetensors", struct.pack("<Q", 1 << 20) + good[8:64])
put(st_dir, "len-huge.safetensors", struct.pack("<Q", 1 << 62) + good[8:])
put(st_dir, "array.safetensors", mk([1, 2], 0))
raw = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\\u0061":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
put(st_dir, "dup.safetensors", struct.pack("<Q", len(raw)) + raw + b"\0" * 4)
put(st_dir, "meta-bad.safetensors", mk({"__metadata__": {"k": 1, "l": [1]}}, 0))
put(st_dir, "sub-byte.safetensors", mk({"f4": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]},
                                         "f6": {"dtype": "F6_E2M3", "shape": [4], "data_offsets": [2, 5]}}, 5))
put(st_dir, "gap-overlap.safetensors", mk({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                                            "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]},
                                            "c": {"dtype": "U8", "shape": [2], "data_offsets": [8, 10]},
                                            "d": {"dtype": "C64", "shape": [0], "data_offsets": [10, 10]}}, 10))
put(st_dir, "bad-fields.safetensors", mk({"a": {"dtype": "Q4", "shape": [-1, 2.5], "data_offsets": [4, 0], "x": None},
                                         "b": {"shape": {}}, "c": [], "d": {"dtype": 1, "data_offsets": [0]}}, 4))
put(st_dir, "overflow.safetensors", mk({"a": {"dtype": "F64", "shape": [1 << 40, 1 << 40, 1 << 30], "data_offsets": [0, 0]}}, 0))
put(st_dir, "empty.safetensors", mk({}, 0))

def gg(name, build, template=None, align=None):
    path = os.path.join(gg_dir, name)
    w = gguf.GGUFWriter(path, "llama")
    if align: w.add_custom_alignment(align)
    build(w)
    if template: w.add_chat_template(template)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    return open(path, "rb").read()
def full(w):
    w.add_uint32("llama.context_length", 8); w.add_int8("x.i8", -1); w.add_uint16("x.u16", 2)
    w.add_int32("x.i32", -3); w.add_float32("x.f32", 0.5); w.add_bool("x.b", True); w.add_uint64("x.u64", 9)
    w.add_int64("x.i64", -9); w.add_float64("x.f64", 1.25); w.add_string("general.name", "seed")
    w.add_array("tokenizer.ggml.tokens", ["<s>", "a"]); w.add_array("x.nested", [[1, 2], ["s"]])
    w.add_tensor("t.f32", np.ones((2, 4), dtype=np.float32))
    w.add_tensor("t.q8", gguf.quants.quantize(np.ones((1, 32), dtype=np.float32), Q.Q8_0), raw_dtype=Q.Q8_0)
g1 = gg("lib-full.gguf", full, "{% for m in messages %}{{ m['content'] }}{% endfor %}")
gg("lib-align64.gguf", lambda w: w.add_tensor("x", np.ones((3,), dtype=np.float16)), None, 64)
gg("lib-empty.gguf", lambda w: None)
gg("lib-ssti.gguf", lambda w: None, "{{ ''['__cla' ~ 'ss__'].__base__.__subclasses__() }}")
gg("lib-named-tpl.gguf", lambda w: None, [{"name": "default", "template": "{{ x }}"},
                                           {"name": "tool_use", "template": "{{ x|attr('__class__') }}"}])
put(gg_dir, "short.gguf", g1[:-5])
put(gg_dir, "header-cut.gguf", g1[:100])
b = bytearray(g1); b[4:8] = struct.pack("<I", 1); put(gg_dir, "v1.gguf", bytes(b))
b = bytearray(g1); b[8:16] = struct.pack("<Q", 1 << 60); put(gg_dir, "count-huge.gguf", bytes(b))
b = bytearray(g1); b[16:24] = struct.pack("<Q", 1000); put(gg_dir, "kv-too-many.gguf", bytes(b))
def hand(kvs, tensors, data, version=3, align=32):
    def s(x): return struct.pack("<Q", len(x)) + x
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for k, t, v in kvs: out += s(k) + struct.pack("<I", t) + v
    for name, dims, ty, off in tensors:
        out += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", ty, off)
    out += b"\0" * ((-len(out)) % align)
    return out + b"\0" * data
arch = (b"general.architecture", 8, struct.pack("<Q", 5) + b"llama")
put(gg_dir, "hand-ok.gguf", hand([arch], [(b"w", [8], 0, 0), (b"q", [64, 2], 2, 32)], 112))
put(gg_dir, "hand-dims5.gguf", hand([arch], [(b"w", [1, 1, 1, 1, 8], 0, 0)], 32))
put(gg_dir, "hand-type.gguf", hand([arch], [(b"w", [8], 31, 0)], 32))
put(gg_dir, "hand-misaligned.gguf", hand([arch], [(b"w", [8], 0, 4)], 64))
put(gg_dir, "hand-past-eof.gguf", hand([arch], [(b"w", [1 << 40], 0, 0)], 32))
put(gg_dir, "hand-dup.gguf", hand([arch, arch], [(b"w", [8], 0, 0), (b"w", [8], 0, 0)], 32))
put(gg_dir, "hand-valtype.gguf", hand([arch, (b"x", 13, b"\0" * 8)], [], 0))
put(gg_dir, "hand-strlen.gguf", hand([(b"x", 8, struct.pack("<Q", 1 << 50))], [], 0))
put(gg_dir, "hand-align.gguf", hand([(b"general.alignment", 4, struct.pack("<I", 48))], [(b"w", [8], 0, 0)], 32))
put(gg_dir, "hand-nested.gguf", hand([(b"x", 9, (struct.pack("<IQ", 9, 1)) * 6 + struct.pack("<IQ", 0, 0))], [], 0))
put(gg_dir, "hand-k-quant.gguf", hand([arch], [(b"k", [256, 2], 12, 0), (b"x", [255], 12, 320)], 320))
put(gg_dir, "hand-v2.gguf", hand([arch], [(b"w", [8], 1, 0)], 16, version=2))
"#;

/// Regenerate fuzz/seeds-safetensors and fuzz/seeds-gguf (ignored: needs the test venv).
#[test]
#[ignore]
fn write_tensor_seeds() {
    let python = std::env::var_os("MLGUARD_TEST_PYTHON").expect("MLGUARD_TEST_PYTHON");
    let st = fuzz_dir().join("seeds-safetensors");
    let gg = fuzz_dir().join("seeds-gguf");
    std::fs::create_dir_all(&st).unwrap();
    std::fs::create_dir_all(&gg).unwrap();
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(SEED_SCRIPT)
        .arg(&st)
        .arg(&gg)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
