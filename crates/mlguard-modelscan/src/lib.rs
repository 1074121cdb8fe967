//! mlguard-modelscan: finding code hidden in model files.
//!
//! Owns: the static analysis of model files for content that runs code when the file is loaded.
//! This version covers pickle streams only (`pickle`: an emulation of the pickle machine over
//! untrusted bytes that never executes anything, resolves every imported global, follows calls and
//! nested pickles, and judges each global against an allow list of what real checkpoints use and a
//! deny list of what runs code). Other formats (zip/PyTorch archives, safetensors, ONNX, Keras, ...)
//! are not covered yet.
//!
//! Must not touch: loading Kubernetes manifests or objects (mlguard-core and the controls crates do
//! that), terminal output and exit codes (the `mlguard` binary), and the network or file system:
//! the scanner works on bytes it is given and returns a report.

pub mod pickle;

pub use pickle::{
    classify_global, scan_pickle, scan_pickle_with, Finding, GlobalUse, Limits, PickleReport,
    Severity, Verdict,
};
