//! A YAML/JSON value tree in which every node remembers where it came from.
//!
//! Kubernetes manifests are small maps, so a map is a `Vec` of entries kept in source order;
//! lookups are linear and allocation-free. Navigation goes through [`Cursor`], which carries the
//! YAML path (`spec.template.spec.containers[0].image`) alongside the node so a finding can point
//! at the exact field.

use std::fmt::{self, Write as _};
use std::sync::Arc;

/// Keys and string scalars: short ones (the vast majority in manifests) are stored inline.
pub type Str = compact_str::CompactString;

/// 1-based line and column of a node's first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A parsed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Str),
    /// Boxed slices, not vectors: no spare capacity, and with the inline string this keeps a
    /// `Value` at 24 bytes.
    Seq(Box<[Node]>),
    Map(Box<[Entry]>),
}

/// One `key: value` pair of a mapping. Non-string keys are kept in their source text form.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Str,
    pub key_pos: Pos,
    pub value: Node,
}

/// A value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

impl Node {
    pub fn new(value: Value, pos: Pos) -> Self {
        Self { value, pos }
    }

    pub fn null() -> Self {
        Self::new(Value::Null, Pos::default())
    }

    /// The value of `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    pub fn is_seq(&self) -> bool {
        matches!(self.value, Value::Seq(_))
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Scalars rendered as text (numbers and booleans included), the way Kubernetes string
    /// fields such as quantities and label values are usually written.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Follow a dotted path of map keys (no indices).
    pub fn at(&self, dotted: &str) -> Option<&Node> {
        dotted.split('.').try_fold(self, |n, k| n.get(k))
    }

    /// A short name for the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }

    /// A node from JSON already parsed (an admission request's object), every position
    /// `pos`. The same tree the YAML parser builds from that JSON's text, without the text.
    pub fn from_json(v: &serde_json::Value, pos: Pos) -> Node {
        use serde_json::Value as J;
        let value = match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => n.as_f64().map_or(Value::Null, Value::Float),
            },
            J::String(s) => Value::Str(Str::from(s.as_str())),
            J::Array(items) => Value::Seq(items.iter().map(|i| Node::from_json(i, pos)).collect()),
            J::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| Entry {
                        key: Str::from(k.as_str()),
                        key_pos: pos,
                        value: Node::from_json(v, pos),
                    })
                    .collect(),
            ),
        };
        Node { value, pos }
    }

    /// Read a node straight from JSON text (serde's data model), every position `pos`: the
    /// tree [`Node::from_json`] builds from the same JSON once parsed into a
    /// `serde_json::Value` (map keys sorted, the last of duplicate keys kept; integers that
    /// fit `i64` as `Int`, other numbers as `Float`), without building that `Value` first.
    /// The test `json_seed_builds_the_from_json_tree` holds the two to each other.
    pub fn json_seed(pos: Pos) -> JsonSeed {
        JsonSeed(pos)
    }

    /// Convert to JSON. Used for CEL evaluation and for context sections of reports.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.to_string()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.to_string(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// A YAML path; rendered `a.b[0].c`, with keys that contain dots or brackets quoted as
/// `metadata.labels["mlguard.io/tenant"]`. A shared linked list: extending a path allocates one
/// small node and cloning is a reference-count bump, so checks can build paths for every field
/// they visit cheaply.
#[derive(Clone, Default)]
pub struct PathBuf(Option<Arc<PathNode>>);

struct PathNode {
    parent: Option<Arc<PathNode>>,
    seg: Seg,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Seg {
    Key(Str),
    Index(usize),
}

impl PathBuf {
    pub fn root() -> Self {
        Self(None)
    }

    fn push(&self, seg: Seg) -> Self {
        Self(Some(Arc::new(PathNode {
            parent: self.0.clone(),
            seg,
        })))
    }

    pub fn key(&self, k: &str) -> Self {
        self.push(Seg::Key(Str::new(k)))
    }

    pub fn index(&self, i: usize) -> Self {
        self.push(Seg::Index(i))
    }

    fn segments(&self) -> Vec<&Seg> {
        let mut out = Vec::new();
        let mut cur = self.0.as_deref();
        while let Some(n) = cur {
            out.push(&n.seg);
            cur = n.parent.as_deref();
        }
        out.reverse();
        out
    }

    /// The path as an RFC 6901 JSON pointer (`/spec/containers/0`; `~` and `/` in keys
    /// escaped), for JSON patches. The root is the empty string.
    pub fn json_pointer(&self) -> String {
        let mut out = String::new();
        for seg in self.segments() {
            out.push('/');
            match seg {
                Seg::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
                Seg::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }

    /// Parse a rendered path (`a.b[0]["x.y"]`). Used by tests and by exceptions files.
    pub fn parse(s: &str) -> Self {
        let mut out = PathBuf::root();
        let mut cur = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '.' => {
                    if !cur.is_empty() {
                        out = out.key(&std::mem::take(&mut cur));
                    }
                }
                '[' => {
                    if !cur.is_empty() {
                        out = out.key(&std::mem::take(&mut cur));
                    }
                    let mut inner = String::new();
                    for c2 in chars.by_ref() {
                        if c2 == ']' {
                            break;
                        }
                        inner.push(c2);
                    }
                    if let Some(q) = inner.strip_prefix('"').and_then(|i| i.strip_suffix('"')) {
                        out = out.key(q);
                    } else if let Ok(i) = inner.parse() {
                        out = out.index(i);
                    } else {
                        out = out.key(&inner);
                    }
                }
                _ => cur.push(c),
            }
        }
        if !cur.is_empty() {
            out = out.key(&cur);
        }
        out
    }

    pub fn is_root(&self) -> bool {
        self.0.is_none()
    }
}

impl PartialEq for PathBuf {
    fn eq(&self, other: &Self) -> bool {
        self.segments() == other.segments()
    }
}

impl Eq for PathBuf {}

impl fmt::Debug for PathBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathBuf({self})")
    }
}

impl fmt::Display for PathBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in self.segments() {
            match seg {
                Seg::Index(i) => write!(f, "[{i}]")?,
                Seg::Key(k) => {
                    let plain = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
                    if plain {
                        if !first {
                            f.write_char('.')?;
                        }
                        f.write_str(k)?;
                    } else {
                        write!(f, "[{:?}]", k.as_str())?;
                    }
                }
            }
            first = false;
        }
        Ok(())
    }
}

/// A cursor: a node and the tree it is in. Checks make these for every field they visit, so
/// walking allocates nothing; the node's path is found from the tree when asked for
/// ([`At::path`], for a finding or an error), by looking for the node in the tree.
#[derive(Clone)]
pub struct At<'a> {
    pub node: &'a Node,
    /// The tree `node` is in, and that tree's own path (root, or `items[i]` in a List).
    root: &'a Node,
    base: &'a PathBuf,
}

/// The path of a tree's root.
static ROOT: PathBuf = PathBuf(None);

/// A step of a path while it is looked for.
enum Step<'n> {
    Key(&'n str),
    Index(usize),
}

/// Push onto `steps` the way from `at` down to the node at `target`; false when `target` is
/// not in the tree under `at`.
fn find<'n>(at: &'n Node, target: *const Node, steps: &mut Vec<Step<'n>>) -> bool {
    if std::ptr::eq(at, target) {
        return true;
    }
    match &at.value {
        Value::Map(entries) => {
            for e in entries.iter() {
                steps.push(Step::Key(&e.key));
                if find(&e.value, target, steps) {
                    return true;
                }
                steps.pop();
            }
        }
        Value::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                steps.push(Step::Index(i));
                if find(n, target, steps) {
                    return true;
                }
                steps.pop();
            }
        }
        _ => {}
    }
    false
}

impl fmt::Debug for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "At({} @ {})", self.path(), self.node.pos)
    }
}

impl<'a> At<'a> {
    /// The root of a tree, whose path is the empty path.
    pub fn root(node: &'a Node) -> Self {
        Self::within(node, &ROOT)
    }

    /// The root of a tree whose own path is `base` (an item of a List).
    pub fn within(node: &'a Node, base: &'a PathBuf) -> Self {
        Self {
            node,
            root: node,
            base,
        }
    }

    /// The node's path: the tree's path, then the keys and indices down to the node.
    pub fn path(&self) -> PathBuf {
        let mut steps = Vec::new();
        // Always found: an `At` is only ever made from its tree's root, by `get`, `items`
        // and `entries`.
        find(self.root, self.node, &mut steps);
        steps.iter().fold(self.base.clone(), |p, s| match s {
            Step::Key(k) => p.key(k),
            Step::Index(i) => p.index(*i),
        })
    }

    pub fn get(&self, key: &str) -> Option<At<'a>> {
        self.node.get(key).map(|n| At { node: n, ..*self })
    }

    /// Follow several keys.
    pub fn at(&self, keys: &[&str]) -> Option<At<'a>> {
        let mut cur = self.clone();
        for k in keys {
            cur = cur.get(k)?;
        }
        Some(cur)
    }

    pub fn items(&self) -> impl Iterator<Item = At<'a>> + '_ {
        self.node.items().iter().map(|n| At { node: n, ..*self })
    }

    pub fn entries(&self) -> impl Iterator<Item = (&'a str, At<'a>)> + '_ {
        self.node.entries().iter().map(|e| {
            (
                e.key.as_str(),
                At {
                    node: &e.value,
                    ..*self
                },
            )
        })
    }

    pub fn pos(&self) -> Pos {
        self.node.pos
    }

    pub fn str(&self) -> Option<&'a str> {
        self.node.as_str()
    }

    pub fn bool(&self) -> Option<bool> {
        self.node.as_bool()
    }
}

/// Reads a [`Node`] from any serde data format (JSON in practice); see [`Node::json_seed`].
#[derive(Debug, Clone, Copy)]
pub struct JsonSeed(Pos);

impl<'de> serde::de::DeserializeSeed<'de> for JsonSeed {
    type Value = Node;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonSeed {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Node, E> {
        Ok(Node::new(Value::Null, self.0))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Node, E> {
        self.visit_unit()
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        serde::de::DeserializeSeed::deserialize(self, d)
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Node, E> {
        Ok(Node::new(Value::Bool(b), self.0))
    }

    fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<Node, E> {
        Ok(Node::new(Value::Int(i), self.0))
    }

    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Node, E> {
        // As `serde_json::Number::as_i64`, then `as_f64`.
        let value = i64::try_from(u).map_or(Value::Float(u as f64), Value::Int);
        Ok(Node::new(value, self.0))
    }

    fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<Node, E> {
        Ok(Node::new(Value::Float(f), self.0))
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Node, E> {
        Ok(Node::new(Value::Str(Str::from(s)), self.0))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(n) = seq.next_element_seed(self)? {
            items.push(n);
        }
        Ok(Node::new(Value::Seq(items.into()), self.0))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<Entry> = Vec::new();
        while let Some(key) = map.next_key::<JsonKey>()? {
            let value = map.next_value_seed(self)?;
            entries.push(Entry {
                key: key.0,
                key_pos: self.0,
                value,
            });
        }
        Ok(Node::new(
            Value::Map(sorted_entries(entries).into()),
            self.0,
        ))
    }
}

/// `entries` in key order, the last of duplicate keys kept (as a `serde_json::Map` keeps
/// them).
pub fn sorted_entries(mut entries: Vec<Entry>) -> Vec<Entry> {
    if entries.is_sorted_by(|a, b| a.key < b.key) {
        return entries;
    }
    // Reversed, a stable sort puts the last of equal keys first, and `dedup_by` keeps the
    // first of a run.
    entries.reverse();
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    entries.dedup_by(|later, kept| later.key == kept.key);
    entries
}

/// A JSON map key read as a [`Str`] (no allocation for a short one).
#[derive(Debug)]
pub struct JsonKey(pub Str);

impl<'de> serde::Deserialize<'de> for JsonKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = JsonKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<JsonKey, E> {
                Ok(JsonKey(Str::from(s)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree read straight from JSON text is the one `from_json` builds from the parsed
    /// `serde_json::Value`: key order, duplicate keys, every kind of number, escapes, nesting.
    #[test]
    fn json_seed_builds_the_from_json_tree() {
        use serde::de::DeserializeSeed;
        let pos = Pos { line: 1, column: 1 };
        let texts = [
            r#"null"#,
            r#"{"b":1,"a":[true,false,null],"c":{"z":"é\n\u00e9","y":-0.0}}"#,
            r#"{"k":1,"a":2,"k":3,"a":{"x":1,"x":[2]},"m":[]}"#,
            r#"[18446744073709551615,9223372036854775807,9223372036854775808,-9223372036854775808,1.5e3,-2,0]"#,
            r#"{"":"", "a long key that does not fit inline in a compact string": "and a long value too, over 24 bytes"}"#,
            r#"{"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":1.5,"nvidia.com/gpu":8}}}]}}"#,
        ];
        for text in texts {
            let want = Node::from_json(&serde_json::from_str(text).expect("json"), pos);
            let mut de = serde_json::Deserializer::from_str(text);
            let got = Node::json_seed(pos).deserialize(&mut de).expect("reads");
            assert_eq!(got, want, "{text}");
        }
        let mut de = serde_json::Deserializer::from_str(r#"{"a":"#);
        assert!(Node::json_seed(pos).deserialize(&mut de).is_err());
    }

    #[test]
    fn nodes_stay_small() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Node>(), 32);
    }

    /// Every node's path, found from its tree, is the one made step by step while walking
    /// to it; equal values at different places keep their own paths; a tree with a base path
    /// (an item of a List) prefixes it.
    #[test]
    fn found_paths_are_walked_paths() {
        let v = serde_json::json!({
            "spec": {"containers": [
                {"name": "a", "args": ["a", "a", {"a": "a"}], "env": []},
                {"name": "a", "args": ["a"], "x.y": {"[0]": null}}
            ]},
            "metadata": {"labels": {"mlguard.io/tenant": "a"}},
            "a": "a"
        });
        let root = Node::from_json(&v, Pos::default());
        fn walk(at: &At<'_>, expect: PathBuf, n: &mut usize) {
            assert_eq!(at.path(), expect, "{}", expect);
            *n += 1;
            for (k, child) in at.entries() {
                walk(&child, expect.key(k), n);
            }
            for (i, child) in at.items().enumerate() {
                walk(&child, expect.index(i), n);
            }
        }
        let mut n = 0;
        walk(&At::root(&root), PathBuf::root(), &mut n);
        assert_eq!(n, 21);
        let base = PathBuf::root().key("items").index(3);
        let mut m = 0;
        walk(&At::within(&root, &base), base.clone(), &mut m);
        assert_eq!(m, n);
        let got = At::root(&root).at(&["spec", "containers"]).expect("there");
        let second = got
            .items()
            .nth(1)
            .and_then(|c| c.get("name"))
            .expect("there");
        assert_eq!(second.path().to_string(), "spec.containers[1].name");
    }

    #[test]
    fn path_renders_and_parses() {
        let p = PathBuf::root()
            .key("metadata")
            .key("labels")
            .key("mlguard.io/tenant");
        assert_eq!(p.to_string(), "metadata.labels[\"mlguard.io/tenant\"]");
        assert_eq!(PathBuf::parse(&p.to_string()), p);
        let q = PathBuf::root()
            .key("spec")
            .key("containers")
            .index(0)
            .key("image");
        assert_eq!(q.to_string(), "spec.containers[0].image");
        assert_eq!(PathBuf::parse("spec.containers[0].image"), q);
        assert_eq!(q.json_pointer(), "/spec/containers/0/image");
        assert_eq!(p.json_pointer(), "/metadata/labels/mlguard.io~1tenant");
        assert_eq!(PathBuf::root().key("a~b").json_pointer(), "/a~0b");
        assert_eq!(PathBuf::root().json_pointer(), "");
    }
}
