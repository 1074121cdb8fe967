//! awskms stanzas (being built).

use crate::format::Stanza;
use crate::{DataKey, Error};

/// Placeholder until the awskms provider lands: every call is an error, never a pass.
#[derive(Debug)]
pub struct AwsKms;

impl AwsKms {
    /// Parse a key URI.
    pub fn from_uri(_uri: &str) -> Result<Self, Error> {
        Err(Error::Key("the awskms provider is not built yet".into()))
    }
}

impl super::KeyProvider for AwsKms {
    fn kind(&self) -> &'static str {
        "awskms"
    }
    fn wrap(&self, _key: &DataKey) -> Result<Stanza, Error> {
        Err(Error::Key("the awskms provider is not built yet".into()))
    }
    fn unwrap(&self, _stanza: &Stanza) -> Result<Option<DataKey>, Error> {
        Err(Error::Key("the awskms provider is not built yet".into()))
    }
}
