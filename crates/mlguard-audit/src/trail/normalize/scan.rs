//! Whether redaction would find anything in a JSON document, answered in one pass over its
//! bytes without building it: no member with a string value under a secret-like key
//! ([`super::is_secret_json_key`]) and no object with `"kind": "Secret"`, at any depth.
//!
//! Owns: that question, for the fast paths of the normalizers. Must not: decide what redaction
//! removes (`redact_json` does, on the built document, whenever this answers "maybe").
//!
//! It errs one way only: any document that redaction would change makes it answer `false`; so
//! does any it cannot read (bad JSON, too deep, trailing bytes), and a `kind` of `Secret` whether
//! or not the Secret holds data. A `false` sends the event down the general path, which builds
//! the document and redacts it; a `true` lets a normalizer keep the bytes as they came.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// True when redaction would remove nothing from `bytes`, a JSON document (see the module
/// doc).
pub(super) fn nothing_to_redact(text: &str) -> bool {
    let mut de = serde_json::Deserializer::from_str(text);
    Value(Parent::Other).deserialize(&mut de).is_ok() && de.end().is_ok()
}

/// What the member holding a value is called, as far as redaction cares.
#[derive(Clone, Copy)]
enum Parent {
    /// An array element, the document itself, or any other member.
    Other,
    /// A member whose key is secret-like: a string value would be removed.
    Secret,
    /// A `kind` member: `"Secret"` marks a Kubernetes Secret.
    Kind,
}

/// Why the scan stopped early: something to redact (reported as a deserialization error, so the
/// parser unwinds at once).
#[derive(Debug)]
struct Found;

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("something to redact")
    }
}

/// One value, under a member called as [`Parent`] says.
struct Value(Parent);

impl<'de> DeserializeSeed<'de> for Value {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        match self.0 {
            Parent::Secret => Err(E::custom(Found)),
            Parent::Kind if s == "Secret" => Err(E::custom(Found)),
            _ => Ok(()),
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Value(Parent::Other))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(parent) = map.next_key_seed(Key)? {
            map.next_value_seed(Value(parent))?;
        }
        Ok(())
    }
}

/// A member's key, read without keeping it.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Parent;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Parent, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Parent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Parent, E> {
        Ok(if s == "kind" {
            Parent::Kind
        } else if super::is_secret_json_key(s) {
            Parent::Secret
        } else {
            Parent::Other
        })
    }
}

#[cfg(test)]
mod tests {
    use super::nothing_to_redact;

    #[test]
    fn finds_what_redaction_removes_at_any_depth() {
        for doc in [
            r#"{"token":"x"}"#,
            r#"{"a":{"b":[{"Access_Token":"x"}]}}"#,
            r#"{"a":[1,{"kind":"Secret"}]}"#,
            r#"{"password":""}"#,
            r#"{"x":1,"cookie":"\u0061"}"#,
            r#"{"\u0074oken":"x"}"#,
        ] {
            assert!(!nothing_to_redact(doc), "{doc}");
        }
    }

    #[test]
    fn keeps_what_redaction_keeps() {
        for doc in [
            r#"{"token":1,"password":null,"secret":{"a":1},"kind":"Pod"}"#,
            r#"{"annotations":{"authorization.k8s.io/decision":"allow"}}"#,
            r#"{"tokens":["a"],"k":"token"}"#,
            r#"[1,"kind",{"kind":["Secret"]}]"#,
        ] {
            assert!(nothing_to_redact(doc), "{doc}");
        }
    }

    #[test]
    fn unreadable_documents_are_not_clean() {
        for doc in ["{", r#"{"a":1} x"#, "", r#"{"a":"\ud800"}"#] {
            assert!(!nothing_to_redact(doc), "{doc}");
        }
    }
}
