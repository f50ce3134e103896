//! A per-channel affine map with a channel permutation: the input normalisation of pretrained networks.
//!
//! `y[c] = scale[c] · x[perm[c]] + shift[c]` for every output channel `c`. With `perm = [2, 1, 0]`,
//! `scale = 255` and `shift = −mean` it is Caffe's preprocessing (RGB in [0, 1] → BGR on the 0..255
//! scale minus the mean); with `perm = [0, 0, 0]` it also replicates a greyscale channel to three.
//! An input channel may feed several outputs (or none): the backward pass sums what it fed.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Check that `perm`, `scale` and `shift` agree and that `perm` fits `in_channels` inputs.
pub(crate) fn check(perm: &[usize], scale: &[f32], shift: &[f32], in_channels: usize) -> Result<()> {
    if perm.is_empty() || scale.len() != perm.len() || shift.len() != perm.len() {
        return Err(Error::invalid(
            "channel affine",
            format!("perm, scale and shift have {}, {} and {} entries", perm.len(), scale.len(), shift.len()),
        ));
    }
    if let Some(&p) = perm.iter().find(|&&p| p >= in_channels) {
        return Err(Error::shape(
            "channel affine",
            format!("reads input channel {p}, but the input has {in_channels} channels"),
        ));
    }
    Ok(())
}

/// Forward: `B × C_in × S…` → `B × perm.len() × S…`.
pub(crate) fn forward<const N: usize>(
    x: &Tensor<N>,
    perm: &[usize],
    scale: &[f32],
    shift: &[f32],
) -> Result<Tensor<N>> {
    check(perm, scale, shift, x.channels())?;
    let mut y = Tensor::zeros(x.batch(), perm.len(), x.spatial());
    for b in 0..x.batch() {
        for (c, (&p, (&s, &t))) in perm.iter().zip(scale.iter().zip(shift)).enumerate() {
            for (o, &v) in y.channel_mut(b, c).iter_mut().zip(x.channel(b, p)) {
                *o = s * v + t;
            }
        }
    }
    Ok(y)
}

/// Input gradient: `dx[perm[c]] += scale[c] · dy[c]`.
pub(crate) fn backward<const N: usize>(
    dy: &Tensor<N>,
    perm: &[usize],
    scale: &[f32],
    in_channels: usize,
) -> Result<Tensor<N>> {
    if dy.channels() != perm.len() {
        return Err(Error::shape(
            "channel affine",
            format!("gradient {} for {} output channels", dy.shape_string(), perm.len()),
        ));
    }
    let mut dx = Tensor::zeros(dy.batch(), in_channels, dy.spatial());
    for b in 0..dy.batch() {
        for (c, (&p, &s)) in perm.iter().zip(scale).enumerate() {
            let g = dy.channel(b, c).to_vec();
            for (o, v) in dx.channel_mut(b, p).iter_mut().zip(g) {
                *o += s * v;
            }
        }
    }
    Ok(dx)
}
