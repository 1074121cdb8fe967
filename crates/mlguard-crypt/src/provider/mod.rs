//! Key providers: who wraps and unwraps the data key. Each provider reads and writes stanzas
//! of one `type`; a file may carry several stanzas (for example a KMS stanza plus an offline
//! recovery key), and any one of them opens it.
//!
//! | type     | module     | key                                                            |
//! |----------|------------|----------------------------------------------------------------|
//! | `local`  | [`local`]  | a 32-byte key file, or a Kubernetes Secret mounted as a file   |
//! | `age`    | [`age`]    | age X25519 recipients (`age1...`) and identities               |
//! | `pkcs11` | [`pkcs11`] | an AES key in an HSM token (`pkcs11:token=T;object=LABEL`)     |
//! | `awskms` | [`awskms`] | an AWS KMS key (`awskms://KEY-ID?region=R[&endpoint=URL]`)     |
//! | `vault`  | [`vault`]  | a Vault/OpenBao Transit key (`vault://HOST[:PORT]/MOUNT/keys/NAME`) |

pub mod age;
pub mod awskms;
mod http;
pub mod local;
pub mod pkcs11;
pub mod vault;

use crate::format::{Header, Stanza};
use crate::{DataKey, Error};

/// Wraps and unwraps data keys for one kind of key.
pub trait KeyProvider: Send + Sync + std::fmt::Debug {
    /// The stanza `type` this provider reads and writes.
    fn kind(&self) -> &'static str;

    /// A fresh data key and its stanza. The default draws a random key and wraps it; managed
    /// providers may ask the key manager for one (KMS GenerateDataKey, Transit datakey).
    fn generate(&self) -> Result<(DataKey, Stanza), Error> {
        let key = DataKey::random()?;
        let stanza = self.wrap(&key)?;
        Ok((key, stanza))
    }

    /// Wrap an existing data key (a second stanza, or rewrap).
    fn wrap(&self, key: &DataKey) -> Result<Stanza, Error>;

    /// Unwrap `stanza`: `Ok(None)` when it is not for this provider's key (another recipient,
    /// another key id), `Err` when it is and unwrapping fails.
    fn unwrap(&self, stanza: &Stanza) -> Result<Option<DataKey>, Error>;

    /// Move `stanza` to the key manager's current key version without seeing the data key
    /// (Vault Transit rewrap). `Ok(None)`: not supported; the caller unwraps and wraps.
    fn rewrap(&self, _stanza: &Stanza) -> Result<Option<Stanza>, Error> {
        Ok(None)
    }
}

/// The managed provider a key URI names (`vault://`, `awskms://`, `pkcs11:`).
pub fn from_uri(uri: &str) -> Result<Box<dyn KeyProvider>, Error> {
    if uri.starts_with("vault://") {
        Ok(Box::new(vault::Vault::from_uri(uri)?))
    } else if uri.starts_with("awskms://") {
        Ok(Box::new(awskms::AwsKms::from_uri(uri)?))
    } else if uri.starts_with("pkcs11:") {
        Ok(Box::new(pkcs11::Pkcs11::from_uri(uri)?))
    } else {
        Err(Error::Key(format!(
            "{uri:?}: a key URI starts with vault://, awskms:// or pkcs11:"
        )))
    }
}

/// The data key of `header`, from the first stanza one of `providers` opens whose key verifies
/// the header MAC. Errors: the first provider error met (a wrong identity for a stanza meant for
/// it, an HSM or KMS refusal) or, when no provider recognised any stanza, [`Error::NoMatchingKey`].
pub fn unlock(header: &Header, providers: &[Box<dyn KeyProvider>]) -> Result<DataKey, Error> {
    let mut first_err = None;
    for stanza in &header.stanzas {
        for p in providers.iter().filter(|p| p.kind() == stanza.kind) {
            match p.unwrap(stanza) {
                Ok(Some(key)) => match header.verify(&key) {
                    Ok(()) => return Ok(key),
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                },
                Ok(None) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
    }
    Err(first_err.unwrap_or_else(|| {
        Error::NoMatchingKey(
            header
                .stanzas
                .iter()
                .map(Stanza::describe)
                .collect::<Vec<_>>()
                .join("; "),
        )
    }))
}

/// Standard base64 with padding, the encoding of stanza bodies.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decode a stanza body.
pub fn unb64(stanza: &Stanza) -> Result<Vec<u8>, Error> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(&stanza.body)
        .map_err(|e| Error::Format(format!("{} stanza body: {e}", stanza.kind)))
}
