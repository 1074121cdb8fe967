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
    const RESERVED: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".inf", ".nan",
    ];
    if s.len() <= 5 && RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)) {
        return false;
    }
    // Anything that starts like a number (decimal, hex, octal, float, sexagesimal, `.5`,
    // `+1`) is quoted: the YAML schemas differ on what they read as numbers.
    let b = s.as_bytes();
    let numberish = b[0].is_ascii_digit()
        || (matches!(b[0], b'+' | b'-' | b'.') && b.get(1).is_some_and(u8::is_ascii_digit));
    !numberish
}

/// A YAML double-quoted scalar, with every character YAML does not allow raw escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(&mut out, s);
    out
}

fn quote_into(out: &mut String, s: &str) {
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
}

fn is_scalar(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => true,
    }
}

/// Write scalar `v` (see [`is_scalar`]).
fn scalar_into(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) if plain_ok(s) => out.push_str(s),
        Value::String(s) => quote_into(out, s),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn key_into(out: &mut String, k: &str) {
    if plain_ok(k) && !k.contains(' ') {
        out.push_str(k);
    } else {
        quote_into(out, k);
    }
}

/// The writer: `dash` is a pending `- ` (at that indent) for the first line of a list item.
struct W {
    out: String,
    dash: Option<usize>,
}

const SPACES: &str = "                                                                ";

impl W {
    fn pad(&mut self, n: usize) {
        let mut n = n;
        while n > 0 {
            let k = n.min(SPACES.len());
            self.out.push_str(&SPACES[..k]);
            n -= k;
        }
    }

    /// Start a line at `indent`, or after the pending `- `.
    fn start(&mut self, indent: usize) {
        match self.dash.take() {
            Some(i) => {
                self.pad(i);
                self.out.push_str("- ");
            }
            None => self.pad(indent),
        }
    }

    fn value(&mut self, v: &Value, indent: usize) {
        match v {
            Value::Object(o) if !o.is_empty() => {
                for (k, x) in o {
                    self.start(indent);
                    key_into(&mut self.out, k);
                    match is_scalar(x) {
                        true => {
                            self.out.push_str(": ");
                            scalar_into(&mut self.out, x);
                            self.out.push('\n');
                        }
                        false => {
                            self.out.push_str(":\n");
                            // Lists under a key are not indented further (kubectl style).
                            let inner = if x.is_array() { indent } else { indent + 2 };
                            self.value(x, inner);
                        }
                    }
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for x in a {
                    match is_scalar(x) {
                        true => {
                            self.start(indent);
                            self.out.push_str("- ");
                            scalar_into(&mut self.out, x);
                            self.out.push('\n');
                        }
                        false => {
                            // The item's first line goes after `- `.
                            if let Some(i) = self.dash.take() {
                                // A list directly in a list item: `- - ...`.
                                self.pad(i);
                                self.out.push_str("- ");
                                self.dash = Some(0);
                            } else {
                                self.dash = Some(indent);
                            }
                            self.value(x, indent + 2);
                        }
                    }
                }
            }
            _ => {
                self.start(indent);
                scalar_into(&mut self.out, v);
                self.out.push('\n');
            }
        }
    }
}

/// One YAML document (without the `---` separator) for `v`.
pub fn to_yaml(v: &Value) -> String {
    let mut w = W {
        out: String::new(),
        dash: None,
    };
    w.value(v, 0);
    w.out
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

    /// Random documents of awkward strings (YAML indicators, numbers, booleans, spaces,
    /// unicode, control characters) and nesting read back unchanged.
    #[test]
    fn random_values_read_back_unchanged() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        const PIECES: &[&str] = &[
            "a", "Z", "0", "1", "-", ":", " ", "#", "'", "\"", "\\", "\n", "\t", "*", "&", "!",
            "|", ">", "%", "@", "`", "?", ",", "[", "]", "{", "}", ".", "e", "x", "o", "_", "~",
            "é", "\u{2028}", "\u{7f}", "true", "null", "0x1F", "1e3", ".inf", "yes", "No", "=",
            "+", "/", "(", ")",
        ];
        fn value(next: &mut impl FnMut(usize) -> usize, depth: usize) -> Value {
            let s = |next: &mut dyn FnMut(usize) -> usize| -> String {
                (0..next(6)).map(|_| PIECES[next(PIECES.len())]).collect()
            };
            match if depth > 3 { next(4) } else { next(7) } {
                0 => Value::String(s(next)),
                1 => json!(next(1000) as i64 - 500),
                2 => json!(next(2) == 0),
                3 => Value::Null,
                4 => Value::Array((0..next(4)).map(|_| value(next, depth + 1)).collect()),
                _ => {
                    let mut m = serde_json::Map::new();
                    for _ in 0..next(4) {
                        m.insert(s(next), value(next, depth + 1));
                    }
                    Value::Object(m)
                }
            }
        }
        for _ in 0..2000 {
            let mut doc = serde_json::Map::new();
            doc.insert("apiVersion".into(), "v1".into());
            doc.insert("kind".into(), "ConfigMap".into());
            doc.insert("data".into(), value(&mut next, 0));
            round_trip(&Value::Object(doc));
        }
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
