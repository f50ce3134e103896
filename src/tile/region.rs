//! Copying axis-aligned boxes between tensors: crop a tile, paste or add it back.

use crate::error::{Error, Result};
use crate::tensor::geometry::unravel;
use crate::tensor::Tensor;

/// The box `lo .. lo + size` of every batch item and channel of `t`, as a new tensor.
///
/// # Shapes
/// `t: B × C × S…` → `B × C × size…`.
pub fn crop<const N: usize>(t: &Tensor<N>, lo: [usize; N], size: [usize; N]) -> Result<Tensor<N>> {
    let mut out = Tensor::zeros(t.batch(), t.channels(), size);
    copy_box(t, lo, &mut out, [0; N], size, false)?;
    Ok(out)
}

/// Copy (or, with `add`, add) the box `src_lo .. src_lo + size` of `src` into the box at `dst_lo`
/// of `dst`, for every batch item and channel; both boxes must lie inside their tensors.
pub fn copy_box<const N: usize>(
    src: &Tensor<N>,
    src_lo: [usize; N],
    dst: &mut Tensor<N>,
    dst_lo: [usize; N],
    size: [usize; N],
    add: bool,
) -> Result<()> {
    let (ss, ds) = (src.spatial(), dst.spatial());
    let fits = (0..N).all(|d| src_lo[d] + size[d] <= ss[d] && dst_lo[d] + size[d] <= ds[d]);
    if !fits || src.batch() != dst.batch() || src.channels() != dst.channels() {
        return Err(Error::shape(
            "tile box",
            format!(
                "box {size:?} from {src_lo:?} of {} to {dst_lo:?} of {}",
                src.shape_string(),
                dst.shape_string()
            ),
        ));
    }
    if N == 0 || size.contains(&0) {
        return Ok(());
    }
    let row = size[N - 1];
    let mut outer = size;
    outer[N - 1] = 1;
    let rows: usize = outer.iter().product();
    for b in 0..src.batch() {
        for c in 0..src.channels() {
            let (s_plane, d_plane) = (src.channel(b, c), dst.channel_mut(b, c));
            for r in 0..rows {
                let idx = unravel(r, &outer);
                let s_off = offset(std::array::from_fn(|d| src_lo[d] + idx[d]), &ss);
                let d_off = offset(std::array::from_fn(|d| dst_lo[d] + idx[d]), &ds);
                let (s, d) = (&s_plane[s_off..s_off + row], &mut d_plane[d_off..d_off + row]);
                if add {
                    d.iter_mut().zip(s).for_each(|(a, v)| *a += v);
                } else {
                    d.copy_from_slice(s);
                }
            }
        }
    }
    Ok(())
}

fn offset<const N: usize>(idx: [usize; N], dims: &[usize; N]) -> usize {
    crate::tensor::geometry::ravel(&idx, dims)
}
