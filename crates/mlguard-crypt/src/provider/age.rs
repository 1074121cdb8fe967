//! age X25519 stanzas (being built).

use crate::format::Stanza;
use crate::{DataKey, Error};

/// Placeholder until the age provider lands: every call is an error, never a pass.
#[derive(Debug)]
pub struct Age;

impl super::KeyProvider for Age {
    fn kind(&self) -> &'static str {
        "age"
    }
    fn wrap(&self, _key: &DataKey) -> Result<Stanza, Error> {
        Err(Error::Key("the age provider is not built yet".into()))
    }
    fn unwrap(&self, _stanza: &Stanza) -> Result<Option<DataKey>, Error> {
        Err(Error::Key("the age provider is not built yet".into()))
    }
}
