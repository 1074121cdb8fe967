//! Pretty JSON with object keys sorted, whatever `serde_json::Map` is built with: the
//! `preserve_order` feature, if any crate of a build enables it, would otherwise change the
//! key order of `json!` output. Same layout as `serde_json::to_writer_pretty`.

use serde_json::Value;
use std::io::{self, Write};

pub(crate) fn write_pretty_sorted(v: &Value, out: &mut dyn Write) -> io::Result<()> {
    let mut s = String::new();
    write_value(v, 0, &mut s);
    s.push('\n');
    out.write_all(s.as_bytes())
}

fn indent(n: usize, s: &mut String) {
    for _ in 0..n {
        s.push_str("  ");
    }
}

fn write_value(v: &Value, depth: usize, s: &mut String) {
    match v {
        Value::Array(items) if !items.is_empty() => {
            s.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    s.push_str(",\n");
                }
                indent(depth + 1, s);
                write_value(item, depth + 1, s);
            }
            s.push('\n');
            indent(depth, s);
            s.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            s.push_str("{\n");
            for (i, (k, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    s.push_str(",\n");
                }
                indent(depth + 1, s);
                s.push_str(&Value::String(k.clone()).to_string());
                s.push_str(": ");
                write_value(val, depth + 1, s);
            }
            s.push('\n');
            indent(depth, s);
            s.push('}');
        }
        Value::Array(_) => s.push_str("[]"),
        Value::Object(_) => s.push_str("{}"),
        scalar => s.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::write_pretty_sorted;
    use serde_json::json;

    #[test]
    fn same_layout_as_serde_json_with_sorted_keys() {
        let v = json!({"b": [1, {"y": "\u{1b}\"", "x": []}], "a": {}, "c": null, "d": [] });
        let mut out = Vec::new();
        write_pretty_sorted(&v, &mut out).unwrap();
        let sorted: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(sorted, v);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"x\": [],\n      \"y\": \"\\u001b\\\"\"\n    }\n  ],\n  \"c\": null,\n  \"d\": []\n}\n"
        );
    }
}
