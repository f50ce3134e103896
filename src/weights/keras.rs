//! Reading Keras 2 and Keras 3 HDF5 weight files (pure Rust, hdf5-reader) into raw convolutions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hdf5_reader::group::Group;
use hdf5_reader::Hdf5File;

use super::{RawConv, RawWeights, WeightsLayout};
use crate::error::{Error, Result};

/// Deepest group nesting walked when listing a file's datasets.
const MAX_DEPTH: usize = 16;

/// Open `path` and read every backbone convolution, detecting the layout.
pub(crate) fn read(path: &Path) -> Result<RawWeights> {
    std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let file =
        Hdf5File::open(path).map_err(|e| Error::format(path, format!("not a readable HDF5 file ({e})")))?;
    let h5 = |e: hdf5_reader::error::Error| Error::format(path, format!("HDF5 structure: {e}"));
    let root = file.root_group().map_err(h5)?;
    let mut all = Vec::new();
    list_datasets(&root, "", 0, &mut all).map_err(h5)?;
    let (top_groups, _) = root.member_names().map_err(h5)?;

    let reader = Reader { path, file: &file };
    let (layout, convs, expected): (_, _, Box<dyn Fn(usize, usize) -> String>) =
        if let Some((prefix, names)) = reader.keras2_layer_names(&root, &top_groups)? {
            let convs = reader.keras2(&prefix, &names)?;
            let loc = move |b: usize, k: usize| {
                format!("the root attribute layer_names does not list {prefix}block{b}_conv{k}")
            };
            (WeightsLayout::Keras2, convs, Box::new(loc))
        } else if top_groups.iter().any(|g| g == "block1") && reader.has_group("block1/layers") {
            let convs = reader.keras3_blocks()?;
            (
                WeightsLayout::Keras3,
                convs,
                Box::new(|b: usize, k: usize| format!("no {}", keras3_block_path(b, k))),
            )
        } else if top_groups.iter().any(|g| g == "layers") && reader.has_group("layers/conv2d") {
            let (convs, positions) = reader.keras3_flat()?;
            let loc = move |b: usize, k: usize| match positions.get(&(b, k)) {
                Some(p) => format!("no layers/{}/vars/0", conv2d_name(*p)),
                None => "no such conv2d layer".to_string(),
            };
            (WeightsLayout::Keras3, convs, Box::new(loc))
        } else {
            return Err(Error::format(
                path,
                format!(
                "neither the Keras 3 layout (block1/layers/conv2d/vars/0 or layers/conv2d/vars/0) nor the \
                     Keras 2 layout (root attribute layer_names) was found; top-level groups: [{}]",
                top_groups.join(", ")
            ),
            ));
        };

    let used: BTreeSet<&str> =
        convs.values().flat_map(|c| [c.source.as_str(), c.bias_source.as_str()]).collect();
    let ignored = all
        .iter()
        .filter(|(p, _)| !used.contains(p.as_str()))
        .map(|(p, shape)| format!("{p} ({})", shape_str(shape)))
        .collect();
    Ok(RawWeights { layout, convs, ignored, expected })
}

/// Where a Keras 3 blocked file keeps convolution `k` of block `b`.
fn keras3_block_path(b: usize, k: usize) -> String {
    format!("block{b}/layers/{}/vars/0", conv2d_name(k - 1))
}

/// `conv2d` for index 0, `conv2d_{i}` after (Keras 3's per-container naming).
fn conv2d_name(i: usize) -> String {
    if i == 0 {
        "conv2d".to_string()
    } else {
        format!("conv2d_{i}")
    }
}

/// Index of a Keras 3 layer key `conv2d` (0) or `conv2d_{i}` (i); None for anything else.
fn conv2d_index(name: &str) -> Option<usize> {
    if name == "conv2d" {
        return Some(0);
    }
    let digits = name.strip_prefix("conv2d_")?;
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// (block, index) of a Keras layer name `block{b}_conv{k}` or a Caffe-style `conv{b}_{k}`.
fn parse_vgg_name(name: &str) -> Option<(usize, usize)> {
    let num = |s: &str| -> Option<usize> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    if let Some(rest) = name.strip_prefix("block") {
        let (b, k) = rest.split_once("_conv")?;
        return Some((num(b)?, num(k)?));
    }
    let rest = name.strip_prefix("conv")?;
    let (b, k) = rest.split_once('_')?;
    Some((num(b)?, num(k)?))
}

fn shape_str(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×")
}

/// Every dataset under `group`, as (path without leading slash, shape).
fn list_datasets(
    group: &Group,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, Vec<usize>)>,
) -> hdf5_reader::error::Result<()> {
    let (groups, datasets) = group.members()?;
    for d in datasets {
        out.push((format!("{prefix}{}", d.name()), d.shape().iter().map(|&s| s as usize).collect()));
    }
    if depth < MAX_DEPTH {
        for g in groups {
            let p = format!("{prefix}{}/", g.name());
            list_datasets(&g, &p, depth + 1, out)?;
        }
    }
    Ok(())
}

struct Reader<'a> {
    path: &'a Path,
    file: &'a Hdf5File,
}

impl Reader<'_> {
    fn err(&self, detail: String) -> Error {
        Error::format(self.path, detail)
    }

    fn has_group(&self, p: &str) -> bool {
        self.file.group(p).is_ok()
    }

    /// Shape and values of the dataset at `p`, or None when there is no such dataset.
    fn dataset(&self, layer: &str, p: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        let Ok(ds) = self.file.dataset(p) else { return Ok(None) };
        let shape: Vec<usize> = ds.shape().iter().map(|&s| s as usize).collect();
        let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| {
            self.err(format!("layer {layer}: dataset {p} has an impossible shape {shape:?}"))
        })?;
        crate::budget::check(
            &format!("{}: layer {layer}: dataset {p} of shape {shape:?}", self.path.display()),
            crate::budget::f32_bytes(&[n, 2]),
            "use a smaller weights file",
        )?;
        let mut data = vec![0.0f32; n];
        ds.read_into(&mut data)
            .map_err(|e| self.err(format!("layer {layer}: cannot read {p} as f32 ({e})")))?;
        Ok(Some((shape, data)))
    }

    /// A kernel and bias pair; a missing dataset is a missing layer.
    fn conv(&self, layer: &str, kernel: &str, bias: &str) -> Result<RawConv> {
        let missing = |p: &str| self.err(format!("missing layer {layer}: no dataset {p}"));
        let (kernel_shape, kdata) = self.dataset(layer, kernel)?.ok_or_else(|| missing(kernel))?;
        let (bias_shape, bdata) = self.dataset(layer, bias)?.ok_or_else(|| missing(bias))?;
        Ok(RawConv {
            source: kernel.to_string(),
            kernel_shape,
            kernel: kdata,
            bias_source: bias.to_string(),
            bias_shape,
            bias: bdata,
        })
    }

    /// Keras 3, one Sequential per block: `block{b}/layers/conv2d{,_i}/vars/{0,1}`.
    fn keras3_blocks(&self) -> Result<BTreeMap<(usize, usize), RawConv>> {
        let mut convs = BTreeMap::new();
        for b in 1..=5 {
            let Ok(layers) = self.file.group(&format!("block{b}/layers")) else { continue };
            let (names, _) = layers.member_names().map_err(|e| self.err(format!("block{b}/layers: {e}")))?;
            for name in names {
                let Some(i) = conv2d_index(&name) else { continue };
                let layer = super::conv_name(b, i + 1);
                let base = format!("block{b}/layers/{name}/vars");
                self.check_keras_name(&layer, &base, (b, i + 1))?;
                let conv = self.conv(&layer, &format!("{base}/0"), &format!("{base}/1"))?;
                convs.insert((b, i + 1), conv);
            }
        }
        Ok(convs)
    }

    /// Keras 3 files may name the layer in an attribute `name` of its `vars` group
    /// (`block1_conv2`): when it does, it must agree with the position.
    fn check_keras_name(&self, layer: &str, vars: &str, want: (usize, usize)) -> Result<()> {
        let Ok(group) = self.file.group(vars) else { return Ok(()) };
        let Ok(attrs) = group.attributes() else { return Ok(()) };
        let Some(attr) = attrs.iter().find(|a| a.name == "name") else { return Ok(()) };
        let Ok(keras_name) = attr.read_string() else { return Ok(()) };
        match parse_vgg_name(&keras_name) {
            Some(found) if found != want => Err(self.err(format!(
                "layer {layer} ({vars}): the file names this layer {keras_name}, which is not its position"
            ))),
            _ => Ok(()),
        }
    }

    /// Keras 3, a functional VGG: `layers/conv2d{,_i}/vars/{0,1}` in network order.
    #[allow(clippy::type_complexity)]
    fn keras3_flat(&self) -> Result<(BTreeMap<(usize, usize), RawConv>, BTreeMap<(usize, usize), usize>)> {
        let layers = self.file.group("layers").map_err(|e| self.err(format!("layers: {e}")))?;
        let (names, _) = layers.member_names().map_err(|e| self.err(format!("layers: {e}")))?;
        let indices: BTreeMap<usize, String> =
            names.into_iter().filter_map(|n| conv2d_index(&n).map(|i| (i, n))).collect();
        let positions = indices.keys().next_back().map_or(0, |&m| m + 1);
        let arch = match positions {
            13 => super::VggArch::Vgg16,
            16 => super::VggArch::Vgg19,
            n => {
                return Err(self.err(format!(
                    "layers/conv2d..conv2d_{}: {n} convolution positions, neither 13 (VGG16) nor 16 (VGG19)",
                    n.saturating_sub(1)
                )))
            }
        };
        let mut where_ = BTreeMap::new();
        let mut p = 0;
        for (b, &n) in arch.conv_counts().iter().enumerate() {
            for k in 1..=n {
                where_.insert((b + 1, k), p);
                p += 1;
            }
        }
        let mut convs = BTreeMap::new();
        for (&key, &p) in &where_ {
            let Some(name) = indices.get(&p) else { continue };
            let layer = super::conv_name(key.0, key.1);
            let base = format!("layers/{name}/vars");
            self.check_keras_name(&layer, &base, key)?;
            convs.insert(key, self.conv(&layer, &format!("{base}/0"), &format!("{base}/1"))?);
        }
        Ok((convs, where_))
    }

    /// The Keras 2 `layer_names` attribute of the root or of `model_weights`, with the group prefix.
    fn keras2_layer_names(&self, root: &Group, top: &[String]) -> Result<Option<(String, Vec<String>)>> {
        let mut candidates = vec![(String::new(), root.clone())];
        if top.iter().any(|g| g == "model_weights") {
            if let Ok(g) = self.file.group("model_weights") {
                candidates.push(("model_weights/".to_string(), g));
            }
        }
        for (prefix, group) in candidates {
            let attrs = group.attributes().map_err(|e| self.err(format!("attributes of /{prefix}: {e}")))?;
            if let Some(a) = attrs.iter().find(|a| a.name == "layer_names") {
                let names = a
                    .read_strings()
                    .map_err(|e| self.err(format!("attribute /{prefix}layer_names is not strings ({e})")))?;
                return Ok(Some((prefix, names)));
            }
        }
        Ok(None)
    }

    /// Keras 2: `{prefix}{layer}/{weight_name}` for each name in the layer's `weight_names`.
    fn keras2(&self, prefix: &str, names: &[String]) -> Result<BTreeMap<(usize, usize), RawConv>> {
        let mut convs = BTreeMap::new();
        for keras_name in names {
            let Some(key) = parse_vgg_name(keras_name) else { continue };
            let layer = super::conv_name(key.0, key.1);
            let gpath = format!("{prefix}{keras_name}");
            let group = self.file.group(&gpath).map_err(|_| {
                self.err(format!("missing layer {layer}: group {gpath} is listed in layer_names but absent"))
            })?;
            let attrs = group.attributes().map_err(|e| self.err(format!("layer {layer} ({gpath}): {e}")))?;
            let weight_names = match attrs.iter().find(|a| a.name == "weight_names") {
                Some(a) => a.read_strings().map_err(|e| {
                    self.err(format!("layer {layer} ({gpath}): attribute weight_names is not strings ({e})"))
                })?,
                None => Vec::new(),
            };
            // Keras stores the kernel first and the bias second; tell them apart by rank anyway.
            let mut kernel = None;
            let mut bias = None;
            for w in &weight_names {
                let p = format!("{gpath}/{w}");
                let ds = self.file.dataset(&p).map_err(|_| {
                    self.err(format!(
                        "missing layer {layer}: weight {w} listed in weight_names but no dataset {p}"
                    ))
                })?;
                match ds.ndim() {
                    4 if kernel.is_none() => kernel = Some(p),
                    1 if bias.is_none() => bias = Some(p),
                    _ => {
                        return Err(self.err(format!(
                            "layer {layer} ({p}): unexpected weight of shape {:?}; expected one 4-D kernel and one 1-D bias",
                            ds.shape()
                        )))
                    }
                }
            }
            let (Some(k), Some(b)) = (kernel, bias) else {
                return Err(self.err(format!(
                    "missing layer {layer}: {gpath} has weight_names {weight_names:?}, expected a 4-D kernel and a 1-D bias"
                )));
            };
            if convs.insert(key, self.conv(&layer, &k, &b)?).is_some() {
                return Err(self.err(format!("layer {layer}: listed twice in layer_names")));
            }
        }
        Ok(convs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_parsing() {
        assert_eq!(conv2d_index("conv2d"), Some(0));
        assert_eq!(conv2d_index("conv2d_12"), Some(12));
        assert_eq!(conv2d_index("conv2d_transpose"), None);
        assert_eq!(conv2d_index("max_pooling2d"), None);
        assert_eq!(parse_vgg_name("block3_conv2"), Some((3, 2)));
        assert_eq!(parse_vgg_name("conv4_1"), Some((4, 1)));
        assert_eq!(parse_vgg_name("block1_pool"), None);
        assert_eq!(parse_vgg_name("conv2d_1"), None);
        assert_eq!(keras3_block_path(2, 1), "block2/layers/conv2d/vars/0");
        assert_eq!(keras3_block_path(5, 3), "block5/layers/conv2d_2/vars/0");
    }
}
