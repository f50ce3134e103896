//! The raw schema: a serde mirror of the YAML file, one struct per section, unknown keys rejected.
//!
//! Nothing here is checked beyond its type; [`super::validate`] turns one point of a sweep into a
//! [`super::Run`] the runner trusts. Every field is documented in `docs/config.md`, generated
//! from [`super::schema::KEYS`]; a test checks that [`keys`] (read from these structs) and that
//! table agree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub inputs: RawInputs,
    #[serde(default)]
    pub extractor: RawExtractor,
    #[serde(default)]
    pub losses: RawLosses,
    #[serde(default)]
    pub optimizer: RawOptimizer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_color: Option<String>,
    #[serde(default)]
    pub outputs: RawOutputs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tile: Option<usize>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawInputs {
    pub content: String,
    pub styles: Vec<RawStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_side: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_fft: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub griffin_lim: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_window: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style_window: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style_axes: Option<String>,
}

/// A style input: a path (or glob), or a path with its blend weight.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RawStyle {
    Path(String),
    Weighted(RawStyleFile),
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawStyleFile {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawExtractor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooling: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_layers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style_layers: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLosses {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style_layer_weights: Option<BTreeMap<String, f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporal: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalization: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawOptimizer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel_tol: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_every: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_no_progress: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

/// Every key of the raw schema as a dotted path (`losses.beta`, `inputs.styles[].weight`),
/// read from the serde structs themselves.
pub fn keys() -> Vec<String> {
    let sections: [(&str, &[&str]); 7] = [
        ("", fields::<RawExperiment>()),
        ("inputs", fields::<RawInputs>()),
        ("inputs.styles[]", fields::<RawStyleFile>()),
        ("extractor", fields::<RawExtractor>()),
        ("losses", fields::<RawLosses>()),
        ("optimizer", fields::<RawOptimizer>()),
        ("outputs", fields::<RawOutputs>()),
    ];
    let mut out = Vec::new();
    for (prefix, fs) in sections {
        for f in fs {
            out.push(if prefix.is_empty() { f.to_string() } else { format!("{prefix}.{f}") });
        }
    }
    out
}

/// The field names serde knows for struct `T` (captured from its `deserialize_struct` call).
fn fields<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _v: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _v: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut out: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut out));
    out
}
