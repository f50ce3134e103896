//! The rank-(N−1) slices of a rank-N tensor across one axis, as one batch, and their exact inverse.
//!
//! Slicing `B × C × S_0 × … × S_{N−1}` across axis `a` gives `B·S_a` items of `C × (the other
//! axes, in order)`: item `b·S_a + i` is slice `i` of batch item `b`. It is a permutation of the
//! values, so [`unslice`] (the inverse) is also its adjoint: the gradient with respect to the
//! slices scatters back into the rank-N gradient by the same call.

use super::Tensor;
use crate::error::{Error, Result};

/// The spatial shape of the slices of `spatial` across `axis` (the other axes, in order).
pub fn slice_shape<const N: usize, const M: usize>(spatial: [usize; N], axis: usize) -> Result<[usize; M]> {
    check_ranks::<N, M>(axis)?;
    Ok(std::array::from_fn(|d| if d < axis { spatial[d] } else { spatial[d + 1] }))
}

/// Every slice of `x` across `axis`, as a batch of `B·S_axis` rank-`M` items (`M = N − 1`).
pub fn slices<const N: usize, const M: usize>(x: &Tensor<N>, axis: usize) -> Result<Tensor<M>> {
    let shape = slice_shape::<N, M>(x.spatial(), axis)?;
    let (outer, len, inner) = split(x.spatial(), axis);
    let (c, p) = (x.channels(), x.positions());
    let mut out = Tensor::zeros(x.batch() * len, c, shape);
    let data = out.data_mut();
    for b in 0..x.batch() {
        for ch in 0..c {
            let src = x.channel(b, ch);
            for i in 0..len {
                let dst = ((b * len + i) * c + ch) * (p / len.max(1));
                for o in 0..outer {
                    let from = (o * len + i) * inner;
                    data[dst + o * inner..dst + (o + 1) * inner].copy_from_slice(&src[from..from + inner]);
                }
            }
        }
    }
    Ok(out)
}

/// The rank-N tensor of spatial shape `spatial` whose slices across `axis` are `s` (the inverse
/// and the adjoint of [`slices`]).
pub fn unslice<const N: usize, const M: usize>(
    s: &Tensor<M>,
    axis: usize,
    spatial: [usize; N],
) -> Result<Tensor<N>> {
    let shape = slice_shape::<N, M>(spatial, axis)?;
    let (outer, len, inner) = split(spatial, axis);
    if s.spatial() != shape || len == 0 || !s.batch().is_multiple_of(len) {
        return Err(Error::shape(
            "unslice",
            format!("slices {} do not fit spatial {spatial:?} across axis {axis}", s.shape_string()),
        ));
    }
    let (batch, c) = (s.batch() / len, s.channels());
    let mut out = Tensor::zeros(batch, c, spatial);
    for b in 0..batch {
        for ch in 0..c {
            let dst = out.channel_mut(b, ch);
            for i in 0..len {
                let src = s.channel(b * len + i, ch);
                for o in 0..outer {
                    let to = (o * len + i) * inner;
                    dst[to..to + inner].copy_from_slice(&src[o * inner..(o + 1) * inner]);
                }
            }
        }
    }
    Ok(out)
}

/// `(Π S_{<a}, S_a, Π S_{>a})`.
fn split<const N: usize>(spatial: [usize; N], axis: usize) -> (usize, usize, usize) {
    (spatial[..axis].iter().product(), spatial[axis], spatial[axis + 1..].iter().product())
}

fn check_ranks<const N: usize, const M: usize>(axis: usize) -> Result<()> {
    if M + 1 != N {
        return Err(Error::shape("slices", format!("rank-{N} tensors slice into rank {}, not {M}", N - 1)));
    }
    if axis >= N {
        return Err(Error::shape(
            "slices",
            format!("axis {axis} of a rank-{N} tensor (axes 0 to {})", N - 1),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_the_planes_and_unslice_inverts() {
        let x = Tensor::<3>::from_vec(1, 2, [2, 3, 4], (0..48).map(|v| v as f32).collect()).unwrap();
        for axis in 0..3 {
            let s: Tensor<2> = slices(&x, axis).unwrap();
            assert_eq!(s.batch(), x.spatial()[axis]);
            for i in 0..s.batch() {
                for c in 0..2 {
                    let [u, v] = s.spatial();
                    for a in 0..u {
                        for b in 0..v {
                            let idx = match axis {
                                0 => [i, a, b],
                                1 => [a, i, b],
                                _ => [a, b, i],
                            };
                            assert_eq!(s.at(i, c, [a, b]), x.at(0, c, idx));
                        }
                    }
                }
            }
            assert_eq!(unslice(&s, axis, x.spatial()).unwrap(), x);
        }
        assert!(slices::<3, 1>(&x, 0).is_err());
        assert!(slices::<3, 2>(&x, 3).is_err());
    }
}
