//! Reusing 2D VGG kernels at other ranks: I3D inflation to 3D and a reduction to 1D.

use crate::tensor::Tensor;

/// Inflate a 2D kernel `Co × Ci × kh × kw` to 3D `Co × Ci × depth × kh × kw` (I3D, Carreira &
/// Zisserman 2017): every depth slice is the 2D kernel divided by `depth`.
///
/// The division keeps the response to a "boring" volume (the same image repeated along depth, away
/// from the borders) equal to the 2D network's response to that image, so activation statistics and
/// the layer weights of a style loss carry over.
///
/// # Panics
/// When `depth` is 0 (validate user-supplied depths before calling).
pub fn inflate(kernel2d: &Tensor<2>, depth: usize) -> Tensor<3> {
    assert!(depth > 0, "inflate: depth must be at least 1");
    let [kh, kw] = kernel2d.spatial();
    let (co, ci) = (kernel2d.batch(), kernel2d.channels());
    let plane = kh * kw;
    let d = depth as f32;
    let mut data = Vec::with_capacity(kernel2d.len() * depth);
    for pair in kernel2d.data().chunks_exact(plane.max(1)).take(co * ci) {
        for _ in 0..depth {
            data.extend(pair.iter().map(|&v| v / d));
        }
    }
    Tensor::from_vec(co, ci, [depth, kh, kw], data).expect("inflate: length follows the shape")
}

/// How [`to_1d`] turns a `kh × kw` kernel into a width-`kw` one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce1d {
    /// Sum over the rows: exact for a signal seen as an image constant along its height (the 1D
    /// analogue of I3D's "boring video"), so responses keep their 2D magnitude. The usual choice.
    SumRows,
    /// The centre row `kh / 2`: exact for a signal seen as an image one pixel high with zero
    /// padding (the other rows only ever meet the padding).
    CentreRow,
}

/// Reduce a 2D kernel `Co × Ci × kh × kw` to 1D `Co × Ci × kw`, treating the signal's time axis
/// as the image width. Useful only where the signal has as many channels as the first layer
/// expects (3); for ECG or audio the random filter banks are the better extractors.
pub fn to_1d(kernel2d: &Tensor<2>, how: Reduce1d) -> Tensor<1> {
    let [kh, kw] = kernel2d.spatial();
    let (co, ci) = (kernel2d.batch(), kernel2d.channels());
    let mut data = Vec::with_capacity(co * ci * kw);
    for pair in kernel2d.data().chunks_exact((kh * kw).max(1)).take(co * ci) {
        match how {
            Reduce1d::SumRows => data.extend((0..kw).map(|x| (0..kh).map(|y| pair[y * kw + x]).sum::<f32>())),
            Reduce1d::CentreRow => {
                let y = kh / 2;
                data.extend_from_slice(&pair[y * kw..(y + 1) * kw]);
            }
        }
    }
    Tensor::from_vec(co, ci, [kw], data).expect("to_1d: length follows the shape")
}
