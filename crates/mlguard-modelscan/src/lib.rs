//! mlguard-modelscan: finding code hidden in model files.
//!
//! Owns: the static analysis of model files for content that runs code when the file is loaded,
//! or that attacks the loader's parser. `pickle` emulates the pickle machine over untrusted bytes
//! (never executing anything); `keras` judges Keras configurations; `finding` holds what a scan
//! reports for one file, with stable codes.
//!
//! Must not touch: loading Kubernetes manifests or objects (mlguard-core and the controls crates do
//! that), terminal output and exit codes (the `mlguard` binary), and the network.

pub mod finding;
pub mod gguf;
pub mod keras;
pub mod npy;
pub mod pickle;
pub mod results;
pub mod safetensors;
pub mod scan;
mod source;
pub mod tar;
pub mod zip;

#[cfg(feature = "wip-graphs")]
pub mod hdf5;
#[cfg(feature = "wip-graphs")]
pub mod onnx;
#[cfg(feature = "wip-graphs")]
pub mod protobuf;
#[cfg(feature = "wip-graphs")]
pub mod savedmodel;

pub use finding::FileFinding;
pub use pickle::{
    classify_global, scan_pickle, scan_pickle_with, Finding, GlobalUse, Limits, PickleReport,
    Severity, Verdict,
};
pub use scan::{scan_bytes, scan_file, scan_paths, FileReport, Options};
