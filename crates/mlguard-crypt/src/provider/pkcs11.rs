//! pkcs11 stanzas (being built).

use crate::format::Stanza;
use crate::{DataKey, Error};

/// Placeholder until the pkcs11 provider lands: every call is an error, never a pass.
#[derive(Debug)]
pub struct Pkcs11;

impl Pkcs11 {
    /// Parse a key URI.
    pub fn from_uri(_uri: &str) -> Result<Self, Error> {
        Err(Error::Key("the pkcs11 provider is not built yet".into()))
    }
}

impl super::KeyProvider for Pkcs11 {
    fn kind(&self) -> &'static str {
        "pkcs11"
    }
    fn wrap(&self, _key: &DataKey) -> Result<Stanza, Error> {
        Err(Error::Key("the pkcs11 provider is not built yet".into()))
    }
    fn unwrap(&self, _stanza: &Stanza) -> Result<Option<DataKey>, Error> {
        Err(Error::Key("the pkcs11 provider is not built yet".into()))
    }
}
