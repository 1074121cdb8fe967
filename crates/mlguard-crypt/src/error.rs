//! Errors of mlguard-crypt. The binary maps [`Error::is_auth`] to exit code 1 (authentication
//! failed: wrong key, modified or truncated data) and everything else to 2 (usage or input).

use std::path::PathBuf;

/// What went wrong; nothing in here carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The input is malformed: not a well-formed encrypted model (bad magic, version, header
    /// field...), stanza, key file or signature bundle. The message says which.
    #[error("{0}")]
    Format(String),
    /// Authentication failed: the header MAC or a body segment does not verify, or the data
    /// was truncated or reordered. Nothing of the plaintext was released.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// None of the given keys opens any stanza of the file.
    #[error("no key given opens this file; its stanzas: {0}")]
    NoMatchingKey(String),
    /// A key file, recipient, identity or key URI is malformed.
    #[error("key: {0}")]
    Key(String),
    /// A key manager (HSM, KMS, Vault) refused or failed.
    #[error("{provider}: {message}")]
    Provider {
        provider: &'static str,
        message: String,
    },
}

impl Error {
    /// True when the failure means "this key or this data is not authentic" (exit code 1).
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Auth(_) | Error::NoMatchingKey(_))
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
