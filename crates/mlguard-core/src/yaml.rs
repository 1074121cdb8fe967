//! YAML (and JSON, which the same parser reads) into [`Node`] trees, one per document.
//!
//! Bounded on purpose: nesting depth, and the number of nodes that aliases may materialise (an
//! "alias bomb" of nested anchors would otherwise expand exponentially).

use crate::node::{Entry, Node, Pos, Str, Value};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// Limits applied while building trees.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of mappings and sequences accepted.
    pub max_depth: usize,
    /// Most nodes aliases may add to one document, beyond the nodes written in the source.
    pub max_alias_nodes: usize,
    /// Most nodes anchors may hold in one document, counting nested anchors once per anchor
    /// (each anchored node is kept for its aliases).
    pub max_anchor_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 256,
            max_alias_nodes: 100_000,
            max_anchor_nodes: 1_000_000,
        }
    }
}

/// A document-level parse failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

/// One document of a stream: its index (0-based), where it starts, and its tree.
#[derive(Debug, Clone)]
pub struct Document {
    pub index: usize,
    pub pos: Pos,
    pub root: Node,
}

/// Result of parsing a stream: the documents read before any error, and the error if any.
/// YAML cannot resume after a syntax error, so at most one error is reported per stream.
#[derive(Debug, Default)]
pub struct Stream {
    pub documents: Vec<Document>,
    pub error: Option<YamlError>,
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        /// Key -> index into `entries`, built once a mapping is large enough that a linear
        /// duplicate check would cost more than hashing (keeps wide mappings linear).
        index: Option<HashMap<Str, usize>>,
        pos: Pos,
        anchor: usize,
        key: Option<(Str, Pos)>,
    },
}

/// Mappings with at least this many keys get a hash index.
const INDEX_AT: usize = 32;

/// Insert or replace (the last value wins, as in the API server's JSON decoding).
fn upsert(entries: &mut Vec<Entry>, index: &mut Option<HashMap<Str, usize>>, e: Entry) {
    let found = match index {
        Some(ix) => ix.get(&e.key).copied(),
        None => entries.iter().position(|x| x.key == e.key),
    };
    match found {
        Some(i) => entries[i] = e,
        None => {
            if let Some(ix) = index {
                ix.insert(e.key.clone(), entries.len());
            }
            entries.push(e);
            if index.is_none() && entries.len() >= INDEX_AT {
                *index = Some(
                    entries
                        .iter()
                        .enumerate()
                        .map(|(i, x)| (x.key.clone(), i))
                        .collect(),
                );
            }
        }
    }
}

fn contains(entries: &[Entry], index: &Option<HashMap<Str, usize>>, key: &str) -> bool {
    match index {
        Some(ix) => ix.contains_key(key),
        None => entries.iter().any(|x| x.key == key),
    }
}

struct Builder {
    limits: Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    anchor_nodes: usize,
    doc_root: Option<Node>,
}

fn count_nodes(n: &Node) -> usize {
    1 + match &n.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries.iter().map(|e| 1 + count_nodes(&e.value)).sum(),
        _ => 0,
    }
}

/// Longest text kept for a mapping or sequence used as a key (no Kubernetes object has one).
/// Without a bound, keys nested in keys grow twice per level as JSON escapes the inner text.
const MAX_COMPLEX_KEY: usize = 256;

/// Key text for a node used as a mapping key.
fn key_text(n: Node) -> Str {
    match n.value {
        Value::Str(s) => s,
        Value::Null => Str::const_new("null"),
        Value::Seq(_) | Value::Map(_) => {
            let mut t = n.to_json().to_string();
            if t.len() > MAX_COMPLEX_KEY {
                let mut cut = MAX_COMPLEX_KEY;
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                t.truncate(cut);
                t.push('…');
            }
            Str::from(t)
        }
        _ => Str::from(n.scalar_text().unwrap_or_default()),
    }
}

impl Builder {
    fn push_node(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            let c = count_nodes(&node);
            self.anchor_nodes += c;
            if self.anchor_nodes > self.limits.max_anchor_nodes {
                return Err(YamlError {
                    pos: node.pos,
                    message: format!(
                        "anchors hold more than {} nodes (deeply nested anchors?); refusing to read further",
                        self.limits.max_anchor_nodes
                    ),
                });
            }
            self.anchors.insert(anchor, (node.clone(), c));
        }
        match self.stack.last_mut() {
            None => self.doc_root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                index,
                key,
                ..
            }) => match key.take() {
                None => {
                    let pos = node.pos;
                    *key = Some((key_text(node), pos));
                }
                Some((k, kpos)) => {
                    if k == "<<" {
                        merge_into(entries, index, node);
                    } else {
                        upsert(
                            entries,
                            index,
                            Entry {
                                key: k,
                                key_pos: kpos,
                                value: node,
                            },
                        );
                    }
                }
            },
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame, pos: Pos) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError {
                pos,
                message: format!(
                    "nesting deeper than {} levels; refusing to read further",
                    self.limits.max_depth
                ),
            });
        }
        self.stack.push(frame);
        Ok(())
    }
}

/// YAML merge key (`<<: *base`): entries of the merged mapping(s) that are not already present.
fn merge_into(entries: &mut Vec<Entry>, index: &mut Option<HashMap<Str, usize>>, node: Node) {
    let sources = match node.value {
        Value::Map(m) => vec![m],
        Value::Seq(items) => items
            .into_vec()
            .into_iter()
            .filter_map(|n| match n.value {
                Value::Map(m) => Some(m),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for m in sources {
        for e in m.into_vec() {
            if !contains(entries, index, &e.key) {
                upsert(entries, index, e);
            }
        }
    }
}

fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let b = text.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let unsigned = b
        .strip_prefix(b"-")
        .or_else(|| b.strip_prefix(b"+"))
        .unwrap_or(b);
    if digits(unsigned) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
    }
    if let Some(h) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(h, 16) {
            return Value::Int(i);
        }
    }
    if let Some(o) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(o, 8) {
            return Value::Int(i);
        }
    }
    let looks_float = unsigned
        .first()
        .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
        && unsigned
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
        && unsigned.iter().any(u8::is_ascii_digit);
    if looks_float {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(Str::new(text))
}

fn scalar_value(text: &str, style: ScalarStyle, tag: Option<&saphyr_parser::Tag>) -> Value {
    if let Some(t) = tag {
        if t.handle == "tag:yaml.org,2002:" || t.handle == "!!" {
            match t.suffix.as_str() {
                "str" | "binary" => return Value::Str(Str::new(text)),
                "int" | "float" | "bool" | "null" => return resolve_plain(text),
                _ => {}
            }
        }
    }
    match style {
        ScalarStyle::Plain => resolve_plain(text),
        _ => Value::Str(Str::new(text)),
    }
}

/// Parse a whole stream of documents.
pub fn parse_stream(text: &str, limits: Limits) -> Stream {
    let mut out = Stream::default();
    let mut b = Builder {
        limits,
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        anchor_nodes: 0,
        doc_root: None,
    };
    let mut doc_pos = Pos::default();
    let parser = Parser::new_from_str(text).keep_tags(true);
    for ev in parser {
        let (event, span) = match ev {
            Ok(x) => x,
            Err(e) => {
                let m = e.marker();
                out.error = Some(YamlError {
                    pos: Pos {
                        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
                        column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
                    },
                    message: format!("invalid YAML: {}", e.info()),
                });
                return out;
            }
        };
        let pos = pos_of(&span);
        let step = match event {
            Event::DocumentStart(_) => {
                doc_pos = pos;
                b.anchors.clear();
                b.alias_nodes = 0;
                b.anchor_nodes = 0;
                b.doc_root = None;
                Ok(())
            }
            Event::DocumentEnd => {
                let root = b
                    .doc_root
                    .take()
                    .unwrap_or_else(|| Node::new(Value::Null, doc_pos));
                let index = out.documents.len();
                out.documents.push(Document {
                    index,
                    pos: doc_pos,
                    root,
                });
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                let v = scalar_value(&text, style, tag.as_deref());
                b.push_node(Node::new(v, pos), anchor)
            }
            Event::SequenceStart(anchor, _) => b.open(
                Frame::Seq {
                    items: Vec::new(),
                    pos,
                    anchor,
                },
                pos,
            ),
            Event::MappingStart(anchor, _) => b.open(
                Frame::Map {
                    entries: Vec::new(),
                    index: None,
                    pos,
                    anchor,
                    key: None,
                },
                pos,
            ),
            Event::SequenceEnd | Event::MappingEnd => match b.stack.pop() {
                Some(Frame::Seq { items, pos, anchor }) => {
                    b.push_node(Node::new(Value::Seq(items.into_boxed_slice()), pos), anchor)
                }
                Some(Frame::Map {
                    entries,
                    pos,
                    anchor,
                    ..
                }) => b.push_node(
                    Node::new(Value::Map(entries.into_boxed_slice()), pos),
                    anchor,
                ),
                None => Ok(()),
            },
            Event::Alias(id) => match b.anchors.get(&id) {
                Some((node, count)) => {
                    b.alias_nodes += count;
                    if b.alias_nodes > b.limits.max_alias_nodes {
                        Err(YamlError {
                            pos,
                            message: format!(
                                "aliases expand to more than {} nodes (an alias bomb?); refusing to expand",
                                b.limits.max_alias_nodes
                            ),
                        })
                    } else {
                        let mut n = node.clone();
                        n.pos = pos;
                        b.push_node(n, 0)
                    }
                }
                None => Err(YamlError {
                    pos,
                    message: "alias to an unknown anchor".to_owned(),
                }),
            },
            Event::StreamStart | Event::StreamEnd | Event::Nothing => Ok(()),
        };
        if let Err(e) = step {
            out.error = Some(e);
            return out;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_nested_in_keys_stay_small() {
        // Found by the `intents` fuzz target: each level used to double the key text.
        let text = format!("{}a{}", "{".repeat(40), "}".repeat(40));
        let t = std::time::Instant::now();
        let root = one(&text);
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        assert!(root.entries()[0].key.len() <= MAX_COMPLEX_KEY + '…'.len_utf8());
    }

    fn one(text: &str) -> Node {
        let s = parse_stream(text, Limits::default());
        assert!(s.error.is_none(), "{:?}", s.error);
        s.documents.into_iter().next().expect("one document").root
    }

    #[test]
    fn positions_are_one_based() {
        let n = one("a:\n  b: [1, x]\n");
        let b = n.get("a").and_then(|a| a.get("b")).expect("a.b");
        assert_eq!(b.pos, Pos { line: 2, column: 6 });
        assert_eq!(
            b.items()[1].pos,
            Pos {
                line: 2,
                column: 10
            }
        );
        assert_eq!(b.items()[1].as_str(), Some("x"));
    }

    #[test]
    fn scalars_resolve_like_yaml_1_2_core() {
        let n = one("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: 0x10\ng: 1.2.3\nh: !!str 5\n");
        assert_eq!(n.get("a").and_then(Node::as_i64), Some(1));
        assert_eq!(n.get("b").and_then(Node::as_str), Some("1"));
        assert_eq!(n.get("c").and_then(Node::as_bool), Some(true));
        assert!(n.get("d").is_some_and(Node::is_null));
        assert_eq!(n.get("e").map(|x| x.value.clone()), Some(Value::Float(1.5)));
        assert_eq!(n.get("f").and_then(Node::as_i64), Some(16));
        assert_eq!(n.get("g").and_then(Node::as_str), Some("1.2.3"));
        assert_eq!(n.get("h").and_then(Node::as_str), Some("5"));
    }

    #[test]
    fn multi_document_and_merge_keys() {
        let s = parse_stream("base: &b {x: 1, y: 2}\n---\n---\nk: v\n", Limits::default());
        assert_eq!(s.documents.len(), 3);
        assert!(s.documents[1].root.is_null());
        assert_eq!(s.documents[2].pos.line, 3);
        let m = one("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n");
        let d = m.get("d").expect("d");
        assert_eq!(d.get("x").and_then(Node::as_i64), Some(1));
        assert_eq!(d.get("y").and_then(Node::as_i64), Some(3));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let s = parse_stream(&text, Limits::default());
        let e = s.error.expect("refused");
        assert!(e.message.contains("alias bomb"), "{}", e.message);
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let flow = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let mut block = String::new();
        for i in 0..10_000 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        for text in [flow, block] {
            let s = parse_stream(&text, Limits::default());
            let e = s.error.expect("refused");
            assert!(
                e.message.contains("nesting deeper") || e.message.contains("recursion limit"),
                "{}",
                e.message
            );
        }
        assert!(parse_stream("a:\n b:\n  c: 1\n", Limits::default())
            .error
            .is_none());
    }

    #[test]
    fn syntax_error_keeps_earlier_documents() {
        let s = parse_stream("a: 1\n---\nb: {c\n", Limits::default());
        assert_eq!(s.documents.len(), 1);
        let e = s.error.expect("error");
        assert!(e.pos.line >= 3, "{e:?}");
    }
}
