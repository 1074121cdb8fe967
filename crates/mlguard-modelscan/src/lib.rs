//! mlguard-modelscan: finding code hidden in model files.
//!
//! Owns: the static analysis of model files for content that runs code when the file is loaded,
//! or that attacks the loader's parser. `scan` detects formats by content and walks archives
//! (`zip`, `tar`) into what they hold; `pickle` emulates the pickle machine over untrusted bytes
//! (never executing anything); `npy`, `keras`, `hdf5` (Keras `.h5`), `savedmodel` and `onnx`
//! (over the `protobuf` wire reader), `safetensors` and `gguf` judge the other formats;
//! `finding` holds what a scan reports, with stable codes; `results` is the JSON the CLI writes
//! and `mlguard scan --model-scan` reads. Files are memory-mapped (`source`) and tensor data is
//! never read.
//!
//! Must not touch: loading Kubernetes manifests or objects (mlguard-core and the controls crates do
//! that), terminal output and exit codes (the `mlguard` binary), and the network.

pub mod finding;
pub mod gguf;
pub mod hdf5;
pub mod keras;
pub mod npy;
pub mod onnx;
pub mod pickle;
pub mod protobuf;
pub mod results;
pub mod safetensors;
pub mod savedmodel;
pub mod scan;
mod source;
pub mod tar;
pub mod zip;

pub use finding::FileFinding;
pub use pickle::{
    classify_global, scan_pickle, scan_pickle_with, Finding, GlobalUse, Limits, PickleReport,
    Severity, Verdict,
};
pub use scan::{scan_bytes, scan_file, scan_paths, FileReport, Options};
