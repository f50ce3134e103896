//! Typed deserialisation from a located [`Node`] tree: serde's errors (unknown keys, wrong types,
//! missing fields) come back as [`ConfigError`]s naming the file, line, column and key.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::tree::{ConfigError, Loc, Node, Value};

/// Deserialise `T` from `node`, whose dotted path is `path`.
pub fn from_node<T: DeserializeOwned>(node: &Node, path: &str) -> Result<T, ConfigError> {
    T::deserialize(NodeDe { node, path: path.to_string() }).map_err(|e| {
        let loc = e.loc.unwrap_or_else(|| node.loc.clone());
        ConfigError::new(&loc, e.key.as_deref().unwrap_or(path), e.message)
    })
}

/// A serde error that picks up the location and key of the innermost node it passes through.
#[derive(Debug)]
pub struct DeError {
    message: String,
    loc: Option<Loc>,
    key: Option<String>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError { message: msg.to_string(), loc: None, key: None }
    }
}

impl DeError {
    fn at(mut self, loc: &Loc, key: &str) -> Self {
        if self.loc.is_none() {
            self.loc = Some(loc.clone());
            self.key = Some(key.to_string());
        }
        self
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

struct NodeDe<'a> {
    node: &'a Node,
    path: String,
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let (node, path) = (self.node, &self.path);
        let r = match &node.value {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Int(i) => v.visit_i64(*i),
            Value::Float(f) => v.visit_f64(*f),
            Value::Str(s) => v.visit_str(s),
            Value::Seq(items) => v.visit_seq(Seq { items: items.iter(), path, index: 0 }),
            Value::Map(entries) => v.visit_map(Map { entries: entries.iter(), path, value: None }),
        };
        r.map_err(|e| e.at(&node.loc, path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Null => v.visit_none(),
            _ => {
                let (loc, path) = (self.node.loc.clone(), self.path.clone());
                v.visit_some(self).map_err(|e| e.at(&loc, &path))
            }
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Str(s) => v.visit_enum(s.as_str().into_deserializer()),
            _ => Err(de::Error::custom("expected a name (a string)")),
        }
        .map_err(|e: DeError| e.at(&self.node.loc, &self.path))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _n: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct Seq<'a, 'p> {
    items: std::slice::Iter<'a, Node>,
    path: &'p str,
    index: usize,
}

impl<'de> SeqAccess<'de> for Seq<'_, '_> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.next() else { return Ok(None) };
        let path = format!("{}[{}]", self.path, self.index);
        self.index += 1;
        seed.deserialize(NodeDe { node, path: path.clone() }).map(Some).map_err(|e| e.at(&node.loc, &path))
    }
}

struct Map<'a, 'p> {
    entries: std::slice::Iter<'a, (super::tree::Key, Node)>,
    path: &'p str,
    value: Option<(&'a Node, String)>,
}

impl<'de> MapAccess<'de> for Map<'_, '_> {
    type Error = DeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        let Some((key, node)) = self.entries.next() else { return Ok(None) };
        let path = join(self.path, &key.name);
        self.value = Some((node, path.clone()));
        let k: de::value::StrDeserializer<DeError> = key.name.as_str().into_deserializer();
        seed.deserialize(k).map(Some).map_err(|e| e.at(&key.loc, &path))
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (node, path) = self.value.take().ok_or_else(|| de::Error::custom("a value without a key"))?;
        seed.deserialize(NodeDe { node, path: path.clone() }).map_err(|e| e.at(&node.loc, &path))
    }
}
