//! A YAML document as a tree of located nodes: every value and key knows its source, line and column.
//!
//! The config is parsed into this tree first (with serde-saphyr's `Spanned`), so that `--set`
//! overrides and sweeps are applied to the tree, and every error found later (by the typed
//! deserialisation in [`super::de`] or by semantic validation) can still name a file, line and column.

use std::fmt;
use std::sync::Arc;

pub use crate::error::{Loc, Located as ConfigError};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A mapping key with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub loc: Loc,
}

/// A value with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub loc: Loc,
}

/// The YAML data model, with located children.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Node {
    /// Parse YAML `text` from `source` (a file name or a `--set` argument); `column_offset` is
    /// added to first-line columns (a `--set key=value` value starts after `key=`).
    pub fn parse(text: &str, source: &str, column_offset: u32) -> Result<Node, ConfigError> {
        let source: Arc<str> = Arc::from(source);
        let parsed: Result<Spanned<Node>, _> = serde_saphyr::from_str(text);
        match parsed {
            Ok(s) => {
                let mut n = s.value;
                n.loc = loc_of(&s.referenced);
                n.relocate(&source, column_offset);
                Ok(n)
            }
            Err(e) => {
                let (line, column) =
                    e.location().map(|l| (l.line() as u32, l.column() as u32)).unwrap_or((0, 0));
                let column = if line == 1 { column + column_offset } else { column };
                let message = plain_message(&e);
                Err(ConfigError::new(&Loc { source, line, column }, "", message))
            }
        }
    }

    /// Set the source of this node and all below it, shifting first-line columns by `offset`.
    fn relocate(&mut self, source: &Arc<str>, offset: u32) {
        let fix = |l: &mut Loc| {
            l.source = source.clone();
            if l.line == 1 {
                l.column += offset;
            }
        };
        fix(&mut self.loc);
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.relocate(source, offset)),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, n)| {
                fix(&mut k.loc);
                n.relocate(source, offset);
            }),
            _ => {}
        }
    }

    /// The node at a dotted `path` (`losses.beta`), if present.
    pub fn get(&self, path: &str) -> Option<&Node> {
        if path.is_empty() {
            return Some(self);
        }
        path.split('.').try_fold(self, |n, part| match part.split_once('[') {
            // `styles[1]`: entry 1 of the list under `styles`.
            Some((name, idx)) => {
                let i: usize = idx.trim_end_matches(']').parse().ok()?;
                match &n.child(name)?.value {
                    Value::Seq(items) => items.get(i),
                    _ => None,
                }
            }
            None => n.child(part),
        })
    }

    /// The entry `name` of a mapping.
    pub fn child(&self, name: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == name).map(|(_, n)| n),
            _ => None,
        }
    }

    /// Replace (or insert) the node at dotted `path`, creating mappings on the way. Fails with the
    /// located error when a step of the path is not a mapping.
    pub fn set(&mut self, path: &str, node: Node) -> Result<(), ConfigError> {
        let (head, rest) = match path.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (path, None),
        };
        if head.is_empty() {
            return Err(ConfigError::new(&node.loc, path, "empty key in a dotted path"));
        }
        if matches!(self.value, Value::Null) {
            self.value = Value::Map(Vec::new());
        }
        let here = self.loc.clone();
        let Value::Map(entries) = &mut self.value else {
            return Err(ConfigError::new(&here, head, "is not a mapping, so it has no keys to set"));
        };
        let pos = match entries.iter().position(|(k, _)| k.name == head) {
            Some(i) => i,
            None => {
                // A new key from `--set KEY=VALUE` is located at the start of the argument.
                let key_loc = Loc { column: 1, line: 1, ..node.loc.clone() };
                let empty = Node { value: Value::Null, loc: key_loc.clone() };
                entries.push((Key { name: head.to_string(), loc: key_loc }, empty));
                entries.len() - 1
            }
        };
        match rest {
            None => {
                entries[pos].1 = node;
                Ok(())
            }
            Some(r) => entries[pos].1.set(r, node).map_err(|mut e| {
                e.key = format!("{head}.{}", e.key);
                e
            }),
        }
    }

    /// A scalar as it would be written in a run name (`1e3`, `relu1`, `true`).
    pub fn label(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => short_float(*f),
            Value::Str(s) => s.clone(),
            Value::Seq(items) => items.iter().map(Node::label).collect::<Vec<_>>().join("+"),
            Value::Map(entries) => {
                entries.iter().map(|(k, v)| format!("{}:{}", k.name, v.label())).collect::<Vec<_>>().join("+")
            }
        }
    }
}

/// The shorter of `{}` and `{:e}`: 1000 → `1e3`, 0.5 → `0.5`, 1500 → `1500`.
pub fn short_float(f: f64) -> String {
    let (a, b) = (format!("{f}"), format!("{f:e}"));
    if b.len() < a.len() {
        b
    } else {
        a
    }
}

fn loc_of(l: &serde_saphyr::Location) -> Loc {
    Loc { source: Arc::from(""), line: l.line() as u32, column: l.column() as u32 }
}

/// serde-saphyr's message without its own location prefix or source snippet (we print ours).
fn plain_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim().to_string();
    // Messages may end with " at line L, column C"; drop it, as ours leads with file:line:column.
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first,
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

fn node(value: Value) -> Node {
    Node { value, loc: Loc::default() }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(node(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(node(Value::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(node(i64::try_from(v).map(Value::Int).unwrap_or(Value::Float(v as f64))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(node(Value::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(node(Value::Str(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(node(Value::Str(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(node(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(node(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(s) = seq.next_element::<Spanned<Node>>()? {
            let mut n = s.value;
            n.loc = loc_of(&s.referenced);
            items.push(n);
        }
        Ok(node(Value::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        while let Some(k) = map.next_key::<Spanned<String>>()? {
            let v = map.next_value::<Spanned<Node>>()?;
            let key = Key { name: k.value, loc: loc_of(&k.referenced) };
            if entries.iter().any(|(e, _)| e.name == key.name) {
                return Err(de::Error::custom(format!("duplicate key `{}`", key.name)));
            }
            let mut n = v.value;
            n.loc = loc_of(&v.referenced);
            entries.push((key, n));
        }
        Ok(node(Value::Map(entries)))
    }
}
