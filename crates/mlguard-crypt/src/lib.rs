//! mlguard-crypt: encrypted model artifacts and their keys.
//!
//! Owns: the encrypted-model file format (`format`: versioned header, key stanzas, header MAC;
//! docs/encrypted-model-format.md), the body cipher (`stream`: Tink's AES256_GCM_HKDF_1MB streaming
//! AEAD, byte-for-byte, parallel over segments and readable by byte range), the data key
//! (`key`: zeroized on drop, never printed) and the key providers (`provider`: local key files and
//! mounted Secrets, age X25519, PKCS#11, AWS KMS, Vault/OpenBao Transit).
//!
//! Must not touch: Kubernetes objects or scan controls (mlguard-controls judges manifests that use
//! these commands), terminal output and exit codes (the `mlguard` binary), or any logging of key
//! material: nothing here logs, and no type holding a key prints it.

pub mod error;
pub mod file;
pub mod format;
pub mod key;
pub mod provider;
pub mod sign;
pub mod stream;

pub use error::Error;
pub use format::{Header, Meta, Stanza};
pub use key::DataKey;
pub use provider::KeyProvider;
