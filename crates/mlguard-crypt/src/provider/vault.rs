//! vault stanzas (being built).

use crate::format::Stanza;
use crate::{DataKey, Error};

/// Placeholder until the vault provider lands: every call is an error, never a pass.
#[derive(Debug)]
pub struct Vault;

impl Vault {
    /// Parse a key URI.
    pub fn from_uri(_uri: &str) -> Result<Self, Error> {
        Err(Error::Key("the vault provider is not built yet".into()))
    }
}

impl super::KeyProvider for Vault {
    fn kind(&self) -> &'static str {
        "vault"
    }
    fn wrap(&self, _key: &DataKey) -> Result<Stanza, Error> {
        Err(Error::Key("the vault provider is not built yet".into()))
    }
    fn unwrap(&self, _stanza: &Stanza) -> Result<Option<DataKey>, Error> {
        Err(Error::Key("the vault provider is not built yet".into()))
    }
}
