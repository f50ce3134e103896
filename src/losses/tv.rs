//! Total variation: the mean squared difference between neighbours along every spatial axis.

use crate::tensor::Tensor;

/// `TV(x) = 1/|x| · Σ_d Σ_i (x[i + e_d] − x[i])²`, summed over batch, channels and the N axes.
pub fn total_variation<const N: usize>(x: &Tensor<N>) -> f64 {
    let mut sum = 0.0f64;
    each_pair(x, |a, b| {
        let d = (x.data()[b] - x.data()[a]) as f64;
        sum += d * d;
    });
    sum / x.len().max(1) as f64
}

/// `∂TV/∂x`.
pub fn total_variation_grad<const N: usize>(x: &Tensor<N>) -> Tensor<N> {
    let mut g = Tensor::zeros(x.batch(), x.channels(), x.spatial());
    let scale = 2.0 / x.len().max(1) as f32;
    each_pair(x, |a, b| {
        let d = scale * (x.data()[b] - x.data()[a]);
        g.data_mut()[b] += d;
        g.data_mut()[a] -= d;
    });
    g
}

/// Call `f(i, j)` for every pair of flat indices that are neighbours along one spatial axis.
fn each_pair<const N: usize>(x: &Tensor<N>, mut f: impl FnMut(usize, usize)) {
    let dims = x.spatial();
    let planes = x.batch() * x.channels();
    let p = x.positions();
    for d in 0..N {
        let stride: usize = dims[d + 1..].iter().product();
        for plane in 0..planes {
            for i in 0..p {
                if (i / stride) % dims[d] + 1 < dims[d] {
                    f(plane * p + i, plane * p + i + stride);
                }
            }
        }
    }
}
