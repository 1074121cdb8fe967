//! Writing JSON values as YAML: block style, keys in the order the map holds them, every
//! string a double-quoted scalar when a plain one could be read back as something else.
//! Used for rendered manifests, so that what mlguard writes is what it reads back.

use serde_json::Value;
use std::fmt::Write as _;

/// Whether `s` can be written as a plain scalar and read back as the same string.
fn plain_ok(s: &str) -> bool {
    if s.is_empty() || s.len() > 200 {
        return false;
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_alphanumeric() || first == b'/' || first == b'.' || first == b'_') {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') {
        return false;
    }
    if !s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'/' | b' ' | b'(' | b')' | b'=' | b'+' | b'@' | b':'
            )
    }) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") {
        return false;
    }
    // Words YAML 1.1 or 1.2 would read as booleans, nulls or numbers.
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~" | ".inf" | ".nan"
    ) {
        return false;
    }
    let numeric = s.bytes().all(|b| {
        b.is_ascii_digit()
            || matches!(
                b,
                b'.' | b'-' | b'+' | b'e' | b'E' | b'_' | b':' | b'x' | b'o'
            )
    });
    !(numeric && s.bytes().any(|b| b.is_ascii_digit()))
}

/// A YAML double-quoted scalar, with every character YAML does not allow raw escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || ('\u{7f}'..='\u{9f}').contains(&c) => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if plain_ok(s) => s.clone(),
        Value::String(s) => quote(s),
        Value::Array(a) if a.is_empty() => "[]".to_owned(),
        Value::Object(o) if o.is_empty() => "{}".to_owned(),
        _ => return None,
    })
}

fn key(k: &str) -> String {
    if plain_ok(k) && !k.contains(' ') {
        k.to_owned()
    } else {
        quote(k)
    }
}

fn write(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(o) if !o.is_empty() => {
            for (k, x) in o {
                match scalar(x) {
                    Some(s) => {
                        let _ = writeln!(out, "{pad}{}: {s}", key(k));
                    }
                    None => {
                        let _ = writeln!(out, "{pad}{}:", key(k));
                        // Lists under a key are not indented further (kubectl style).
                        let inner = if x.is_array() { indent } else { indent + 2 };
                        write(out, x, inner);
                    }
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for x in a {
                match scalar(x) {
                    Some(s) => {
                        let _ = writeln!(out, "{pad}- {s}");
                    }
                    None => {
                        // The first line of the item goes after `- `.
                        let mut inner = String::new();
                        write(&mut inner, x, indent + 2);
                        let body = &inner[indent + 2..];
                        let _ = write!(out, "{pad}- {body}");
                    }
                }
            }
        }
        _ => {
            if let Some(s) = scalar(v) {
                let _ = writeln!(out, "{pad}{s}");
            }
        }
    }
}

/// One YAML document (without the `---` separator) for `v`.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    write(&mut out, v, 0);
    out
}

/// A multi-document YAML stream, documents separated by `---`.
pub fn to_yaml_stream<'a>(docs: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, d) in docs.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(d));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(v: &Value) {
        let text = to_yaml(v);
        let (objs, errs, _) =
            crate::load::load_text("t.yaml", &text, &crate::LoadOptions::default());
        assert!(errs.is_empty(), "{errs:?}\n{text}");
        assert_eq!(objs.len(), 1, "{text}");
        assert_eq!(&objs[0].root.to_json(), v, "{text}");
    }

    #[test]
    fn values_read_back_unchanged() {
        round_trip(&json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"a.io/b": "true", "n": "0755", "e": "", "y": "yes", "c": "a: b", "h": "x #y", "u": "ünï", "nl": "a\nb", "q": "\"", "k8s": "1.33"}},
            "data": {"list": [1, "2", null, true, {"a": [], "b": {}}, [["x"], {"y": [{"z": 1}]}]], "neg": -3, "f": 1.5, "star": "*", "dash": "-x", "colon": "x:"}
        }));
    }

    #[test]
    fn shape_is_kubectl_like() {
        let v = json!({"kind": "Role", "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]});
        assert_eq!(
            to_yaml(&v),
            "kind: Role\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  verbs:\n  - get\n  - list\n"
        );
    }
}
