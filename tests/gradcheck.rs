//! Gradient checking against central finite differences, and shared proptest strategies.

#![allow(dead_code)]

use ndstyle::rng::Rng;
use ndstyle::tensor::{Padding, Window};
use ndstyle::Tensor;
use proptest::prelude::*;

use crate::util::{assert_close, numeric_grad};

/// Check `backward` against finite differences of the scalar loss `Σ r·forward(x)` for a fixed
/// random `r` (drawn from `seed`), so that `backward` is called with `dy = r`.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn check_grad<const N: usize>(
    what: &str,
    x: &Tensor<N>,
    forward: impl Fn(&Tensor<N>) -> Vec<f32>,
    backward: impl Fn(Vec<f32>) -> Tensor<N>,
    eps: f32,
    rtol: f64,
    atol: f64,
    seed: u64,
) {
    let y = forward(x);
    let mut rng = Rng::new(seed);
    let r: Vec<f32> = (0..y.len()).map(|_| rng.normal()).collect();
    let analytic = backward(r.clone());
    assert!(
        analytic.same_shape(x),
        "{what}: gradient {} for input {}",
        analytic.shape_string(),
        x.shape_string()
    );
    let numeric = numeric_grad(x.data(), eps, |xs| {
        let xt = Tensor::from_vec(x.batch(), x.channels(), x.spatial(), xs.to_vec()).unwrap();
        forward(&xt).iter().zip(&r).map(|(&a, &b)| a as f64 * b as f64).sum()
    });
    assert_close(what, analytic.data(), &numeric, rtol, atol);
}

/// A tensor of distinct values (a shuffled ramp with step `step`, centred on 0), fixed by `seed`:
/// max pooling then has no ties, so finite differences with `eps < step / 2` are valid.
pub fn distinct<const N: usize>(
    batch: usize,
    channels: usize,
    spatial: [usize; N],
    step: f32,
    seed: u64,
) -> Tensor<N> {
    let n = batch * channels * spatial.iter().product::<usize>();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(seed);
    for i in (1..n).rev() {
        perm.swap(i, rng.below(i + 1));
    }
    let data = perm.iter().map(|&p| (p as f32 - (n / 2) as f32) * step).collect();
    Tensor::from_vec(batch, channels, spatial, data).unwrap()
}

/// One axis of a random window: (input size, kernel, stride, dilation, pad before, pad after).
pub type AxisSpec = (usize, usize, usize, usize, usize, usize);

/// Random input sizes and windows of rank `N`: sizes `1..=max_size`, kernel `1..=3`, stride
/// `1..=3`, dilation `1..=2`, explicit padding `0..=2` on each side or (one time in four) `Same`.
/// The window may not fit the input: callers filter with `prop_assume!`.
pub fn window_strategy<const N: usize>(max_size: usize) -> impl Strategy<Value = ([usize; N], Window<N>)> {
    (
        proptest::collection::vec(
            (1..=max_size, 1usize..=3, 1usize..=3, 1usize..=2, 0usize..=2, 0usize..=2),
            N,
        ),
        proptest::bool::weighted(0.25),
    )
        .prop_map(|(axes, same): (Vec<AxisSpec>, bool)| {
            let pick = |f: fn(&AxisSpec) -> usize| -> [usize; N] { std::array::from_fn(|d| f(&axes[d])) };
            let padding =
                if same { Padding::Same } else { Padding::Explicit { lo: pick(|a| a.4), hi: pick(|a| a.5) } };
            let window =
                Window::new(pick(|a| a.1)).stride(pick(|a| a.2)).dilation(pick(|a| a.3)).padding(padding);
            (pick(|a| a.0), window)
        })
}
