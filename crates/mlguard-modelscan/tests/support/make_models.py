"""Write the model files tests/families.rs scans: benign real-world shapes (a PyTorch-format
state dict, NumPy arrays, a scikit-learn-like estimator through joblib, a legacy PyTorch file)
and one file per known evasion family. Usage: make_models.py OUT_DIR

Nothing here is loaded back: the files are only written. PyTorch and scikit-learn are not
installed; modules with their names are put into sys.modules so that pickle writes exactly the
globals the real libraries write (torch._utils._rebuild_tensor_v2, sklearn classes, ...)."""

import collections
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile

import h5py
import joblib
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def path(name):
    p = os.path.join(out, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def fake_module(name, **attrs):
    m = types.ModuleType(name)
    for k, v in attrs.items():
        v.__module__ = name
        v.__qualname__ = k
        setattr(m, k, v)
    sys.modules[name] = m
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, m)
    return m


# --- A PyTorch-format checkpoint, as torch.save writes it -------------------------------------
def _rebuild_tensor_v2(*a):
    pass


class FloatStorage:
    pass


fake_module("torch")
fake_module("torch._utils", _rebuild_tensor_v2=_rebuild_tensor_v2)
sys.modules["torch"].FloatStorage = FloatStorage
FloatStorage.__module__ = "torch"
FloatStorage.__qualname__ = "FloatStorage"


class Tensor:
    def __init__(self, key, n):
        self.key, self.n = key, n

    def __reduce_ex__(self, proto):
        storage = ("storage", FloatStorage, self.key, "cpu", self.n)
        return (_rebuild_tensor_v2, (Persistent(storage), 0, (self.n,), (1,), False, collections.OrderedDict()))


class Persistent:
    def __init__(self, pid):
        self.pid = pid


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, Persistent) else None


def torch_zip(name, obj, records, folder="archive", pkl="data.pkl", proto=2):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=proto).dump(obj)
    with zipfile.ZipFile(path(name), "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{folder}/{pkl}", buf.getvalue())
        z.writestr(f"{folder}/byteorder", "little")
        for key, data in records.items():
            z.writestr(f"{folder}/data/{key}", data)
        z.writestr(f"{folder}/version", "3\n")
        z.writestr(f"{folder}/.data/serialization_id", "0123456789")


state = collections.OrderedDict(
    [("layer.weight", Tensor("0", 6)), ("layer.bias", Tensor("1", 2))]
)
# Tensor records are raw float bytes; make them look like pickles to prove they are never read.
records = {"0": b"\x80\x02cos\nsystem\n" + b"\x00" * 4, "1": b"\x80\x05" + b"\xff" * 6}
torch_zip("benign/state_dict.pt", state, records)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


torch_zip("evasion/torch_other_folder.pt", {"w": Evil()}, {}, folder="my_model_v2")

# --- NumPy arrays ----------------------------------------------------------------------------
np.save(path("benign/weights.npy"), np.arange(12, dtype=np.float32).reshape(3, 4))
np.savez(path("benign/arrays.npz"), a=np.ones(3), b=np.zeros((2, 2), dtype=np.int64))
np.savez_compressed(path("benign/arrays_compressed.npz"), a=np.ones(1000))
np.save(path("benign/objects.npy"), np.array([{"lr": 0.1}, [1, 2], "text"], dtype=object), allow_pickle=True)
np.save(path("evasion/object_array.npy"), np.array([Evil(), 1], dtype=object), allow_pickle=True)


# --- A scikit-learn-like estimator through joblib --------------------------------------------
class LinearRegression:
    def __init__(self):
        self.coef_ = np.linspace(0, 1, 50)
        self.intercept_ = np.float64(0.5)
        self.n_features_in_ = 50
        self.feature_names_in_ = np.array(["f%d" % i for i in range(50)], dtype=object)
        self.fit_intercept = True


class StandardScaler:
    def __init__(self):
        self.mean_ = np.random.default_rng(0).normal(size=(50,))
        self.scale_ = np.ones((50,), dtype=np.float64)
        self.var_ = np.ones((10, 5), dtype=np.float32)


class Pipeline:
    def __init__(self):
        self.steps = [("scale", StandardScaler()), ("model", LinearRegression())]


fake_module("sklearn")
fake_module("sklearn.linear_model")
fake_module("sklearn.linear_model._base", LinearRegression=LinearRegression)
fake_module("sklearn.preprocessing")
fake_module("sklearn.preprocessing._data", StandardScaler=StandardScaler)
fake_module("sklearn.pipeline", Pipeline=Pipeline)
joblib.dump(Pipeline(), path("benign/pipeline.joblib"))
joblib.dump(Pipeline(), path("benign/pipeline_zlib.joblib"), compress=3)
joblib.dump(Pipeline(), path("benign/pipeline_gzip.joblib"), compress=("gzip", 3))
with open(path("benign/estimator.pkl"), "wb") as f:
    pickle.dump(Pipeline(), f, protocol=4)
joblib.dump({"model": Pipeline(), "hook": Evil()}, path("evasion/joblib_after_arrays.joblib"))

# --- Legacy PyTorch (torch.save without zip): five pickles, then raw storage bytes ---------
MAGIC = 0x1950A86A20F9469CFC6C
for proto in (0, 2):
    buf = io.BytesIO()
    for obj in (MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(obj, buf, protocol=proto)
    p = TorchPickler(buf, protocol=proto)
    p.dump(state)
    pickle.dump(["0", "1"], buf, protocol=proto)
    buf.write(struct.pack("<q", 6) + b"\x80\x02" + b"\x00" * 22)  # looks like PROTO 2
    buf.write(struct.pack("<q", 2) + b"\x00" * 8)
    write(f"benign/legacy_p{proto}.pt", buf.getvalue())
    # The payload in the fourth pickle: a protocol-0 stream has no PROTO to announce it.
    buf = io.BytesIO()
    for obj in (MAGIC, 1001, {"protocol_version": 1001}):
        pickle.dump(obj, buf, protocol=proto)
    pickle.dump({"w": Evil()}, buf, protocol=proto)
    pickle.dump([], buf, protocol=proto)
    write(f"evasion/legacy_p{proto}.pt", buf.getvalue())

# --- Evasion families ------------------------------------------------------------------------
# numpy.__builtins__ routes: reaching eval through a module's __builtins__.
write("evasion/numpy_builtins.pkl", b"\x80\x04\x8c\x05numpy\x8c\x11__builtins__.eval\x93\x8c\x0bprint('x')\x85R.")
# importlib and marshal routes.
write("evasion/importlib.pkl", b"cimportlib\nimport_module\n(S'os'\ntR.")
write("evasion/marshal.pkl", b"cmarshal\nloads\nC\x03abc\x85R.")
# BUILD setattr on a module, then an import of the attribute it set (sys.modules override).
write(
    "evasion/build_setattr.pkl",
    b"\x80\x04\x8c\x05torch\x8c\x06_utils\x93}\x8c\x0f_rebuild_tensor\x8c\x02ossb0"
    b"\x8c\x0ctorch._utils\x8c\x0f_rebuild_tensor\x93\x8c\x06system\x93\x8c\x02id\x85R.",
)
# A protocol-0 text pickle named .bin.
write("evasion/pytorch_model.bin", b"cposix\nsystem\n(S'id'\ntR.")
# INST and OBJ.
write("evasion/inst.pkl", b"(S'id'\nios\nsystem\n.")
write("evasion/obj.pkl", b"(cos\nsystem\nS'id'\no.")
# A pickle nested in bytes handed to pickle.loads.
inner = pickle.dumps(Evil(), protocol=2)
write("evasion/nested.pkl", b"cpickle\nloads\n(C" + bytes([len(inner)]) + inner + b"tR.")

# Zip tricks: flag bits Python's zipfile refuses, a central directory name that differs from
# the local header's, and a pickle under a name that is not data.pkl.
payload = pickle.dumps(Evil(), protocol=4)
for flag, name in ((0x1, "flag_encrypted"), (0x20, "flag_patched"), (0x40, "flag_strong")):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", payload)
    b = bytearray(buf.getvalue())
    b[6:8] = struct.pack("<H", flag)  # local header
    cd = b.find(b"PK\x01\x02")
    b[cd + 8 : cd + 10] = struct.pack("<H", flag)
    write(f"evasion/zip_{name}.pt", bytes(b))
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", payload)
b = bytearray(buf.getvalue())
b[30 : 30 + len("archive/data.pkl")] = b"archive/datap.kl"
write("evasion/zip_central_name.pt", bytes(b))
with zipfile.ZipFile(path("evasion/zip_deflated_txt.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("notes.txt", payload)

# A Keras v3 archive with a Lambda layer, and a clean one.
def keras_zip(name, layers):
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": layers},
        "registered_name": None,
    }
    with zipfile.ZipFile(path(name), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2026-11-28"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights_h5())


def weights_h5():
    """A Keras v3 weights file as h5py writes it: groups of datasets, no model_config."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        g = f.create_group("layers/dense/vars")
        g.create_dataset("0", data=np.ones((3, 4), dtype=np.float32))
        g.create_dataset("1", data=np.zeros((4,), dtype=np.float32))
    return buf.getvalue()


dense = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 4}, "registered_name": None}
keras_zip("benign/model.keras", [dense])
lam = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {"name": "lambda", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}},
    "registered_name": None,
}
keras_zip("evasion/lambda.keras", [dense, lam])
