//! Convolution in 1D, 2D and 3D: against a direct-loop reference, its adjoints and finite differences.

use ndstyle::tensor::conv::{conv_backward, conv_backward_input, conv_forward, UNFOLD_BYTES};
use ndstyle::tensor::geometry::{ravel, unravel};
use ndstyle::tensor::{Padding, Tensor, Window};
use proptest::prelude::*;

use crate::util::{assert_close, numeric_grad};

/// Direct-loop convolution: the definition, written plainly.
pub(crate) fn naive_conv<const N: usize>(
    x: &Tensor<N>,
    w: &Tensor<N>,
    bias: Option<&[f32]>,
    win: &Window<N>,
) -> Tensor<N> {
    let g = win.resolve(x.spatial()).unwrap();
    let mut y = Tensor::zeros(x.batch(), w.batch(), g.output);
    for b in 0..x.batch() {
        for co in 0..w.batch() {
            for of in 0..g.out_positions() {
                let o = unravel(of, &g.output);
                let mut acc = bias.map_or(0.0, |bs| bs[co] as f64);
                for ci in 0..x.channels() {
                    for kf in 0..g.taps() {
                        let k = unravel(kf, &g.kernel);
                        let mut idx = [0usize; N];
                        let inside = (0..N).all(|d| {
                            let i = (o[d] * g.stride[d] + k[d] * g.dilation[d]) as isize - g.lo[d] as isize;
                            idx[d] = i.max(0) as usize;
                            i >= 0 && (i as usize) < g.input[d]
                        });
                        if inside {
                            acc += w.at(co, ci, k) as f64 * x.at(b, ci, idx) as f64;
                        }
                    }
                }
                y.channel_mut(b, co)[ravel(&o, &g.output)] = acc as f32;
            }
        }
    }
    y
}

/// A random convolution problem of rank N from the sizes proptest chose.
#[derive(Debug, Clone)]
struct Case<const N: usize> {
    batch: usize,
    ci: usize,
    co: usize,
    input: [usize; N],
    win: Window<N>,
    seed: u64,
}

fn case<const N: usize>() -> impl Strategy<Value = Case<N>> {
    let axis = (1usize..=3, 1usize..=3, 1usize..=2, 0usize..=2, 0usize..=2, 0usize..=5);
    (1usize..=2, 1usize..=3, 1usize..=3, proptest::collection::vec(axis, N), any::<bool>(), any::<u64>())
        .prop_map(|(batch, ci, co, axes, same, seed)| {
            let mut win = Window::new([1; N]);
            let (mut lo, mut hi, mut input) = ([0; N], [0; N], [0; N]);
            for (d, &(k, s, dil, l, h, extra)) in axes.iter().enumerate() {
                win.kernel[d] = k;
                win.stride[d] = s;
                win.dilation[d] = dil;
                lo[d] = l;
                hi[d] = h;
                // "Same" padding accepts any input, even one smaller than the kernel; explicit
                // padding needs the padded input to hold the kernel's span.
                let span = dil * (k - 1) + 1;
                input[d] = if same { 1 + extra } else { span.saturating_sub(l + h).max(1) + extra };
            }
            win.padding = if same { Padding::Same } else { Padding::Explicit { lo, hi } };
            Case { batch, ci, co, input, win, seed }
        })
}

fn tensors<const N: usize>(c: &Case<N>) -> (Tensor<N>, Tensor<N>, Vec<f32>) {
    let x = Tensor::randn(c.batch, c.ci, c.input, 1.0, c.seed);
    let w = Tensor::randn(c.co, c.ci, c.win.kernel, 0.5, c.seed ^ 1);
    let bias: Vec<f32> = (0..c.co).map(|i| 0.1 * i as f32 - 0.05).collect();
    (x, w, bias)
}

/// Forward equals the reference; the three gradients of L = Σ r·y equal finite differences of L.
fn check_case<const N: usize>(c: &Case<N>) {
    let (x, w, bias) = tensors(c);
    let y = conv_forward(&x, &w, Some(&bias), &c.win).unwrap();
    let want = naive_conv(&x, &w, Some(&bias), &c.win);
    assert!(y.same_shape(&want), "{:?}: shape {} vs {}", c, y.shape_string(), want.shape_string());
    assert!(y.max_abs_diff(&want) < 1e-4, "{c:?}: forward differs by {}", y.max_abs_diff(&want));

    let r = Tensor::randn(y.batch(), y.channels(), y.spatial(), 1.0, c.seed ^ 2);
    let grads = conv_backward(&x, &w, &r, &c.win).unwrap();
    let loss = |x: &Tensor<N>, w: &Tensor<N>, b: &[f32]| naive_conv(x, w, Some(b), &c.win).dot(&r);
    // The loss is linear in each argument, so a central difference is exact up to rounding.
    let gx = numeric_grad(x.data(), 0.5, |v| {
        loss(&Tensor::from_vec(x.batch(), x.channels(), x.spatial(), v.to_vec()).unwrap(), &w, &bias)
    });
    assert_close("dL/dx", grads.input.data(), &gx, 1e-4, 1e-4);
    let gw = numeric_grad(w.data(), 0.5, |v| {
        loss(&x, &Tensor::from_vec(w.batch(), w.channels(), w.spatial(), v.to_vec()).unwrap(), &bias)
    });
    assert_close("dL/dw", grads.weight.data(), &gw, 1e-4, 1e-4);
    let gb = numeric_grad(&bias, 0.5, |v| loss(&x, &w, v));
    assert_close("dL/db", &grads.bias, &gb, 1e-4, 1e-4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn conv1d_matches_reference_and_gradients(c in case::<1>()) { check_case(&c) }
    #[test]
    fn conv2d_matches_reference_and_gradients(c in case::<2>()) { check_case(&c) }
    #[test]
    fn conv3d_matches_reference_and_gradients(c in case::<3>()) { check_case(&c) }
}

#[test]
fn fixed_edge_cases_in_every_rank() {
    // Stride 2 with dilation 2 and asymmetric padding; a kernel as large as the padded input.
    check_case(&Case::<1> {
        batch: 1,
        ci: 2,
        co: 3,
        input: [9],
        win: Window::new([3]).stride([2]).dilation([2]).padding(Padding::Explicit { lo: [2], hi: [0] }),
        seed: 11,
    });
    check_case(&Case::<2> {
        batch: 2,
        ci: 1,
        co: 2,
        input: [5, 4],
        win: Window::new([3, 5]).padding(Padding::symmetric([1, 1])),
        seed: 12,
    });
    check_case(&Case::<3> {
        batch: 1,
        ci: 2,
        co: 2,
        input: [4, 5, 3],
        win: Window::same(3).stride([2, 1, 3]),
        seed: 13,
    });
}

/// Many tiles (parallel across tiles) and few tiles (parallel inside the product) give the reference.
#[test]
fn tiled_paths_agree_with_reference() {
    let ci = 64;
    let rows = ci * 9;
    let tile = UNFOLD_BYTES / 4 / rows;
    let side = ((2 * tile + 100) as f64).sqrt().ceil() as usize; // at least three tiles per item
    for batch in [1, 3] {
        let x = Tensor::<2>::randn(batch, ci, [side, side], 1.0, 5);
        let w = Tensor::<2>::randn(2, ci, [3, 3], 0.1, 6);
        let win = Window::same(3);
        let y = conv_forward(&x, &w, None, &win).unwrap();
        assert!(y.max_abs_diff(&naive_conv(&x, &w, None, &win)) < 1e-3);
        // The input gradient's adjoint identity: <conv(x), r> = <x, conv_backward_input(r)>.
        let r = Tensor::randn(batch, 2, [side, side], 1.0, 7);
        let dx = conv_backward_input(&r, &w, &win, x.spatial()).unwrap();
        let (lhs, rhs) = (y.dot(&r), x.dot(&dx));
        assert!((lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0), "adjoint: {lhs} vs {rhs}");
    }
}

#[test]
fn shape_errors_name_the_mismatch() {
    let x = Tensor::<2>::zeros(1, 3, [8, 8]);
    let w = Tensor::<2>::zeros(4, 2, [3, 3]);
    let err = conv_forward(&x, &w, None, &Window::same(3)).unwrap_err().to_string();
    assert!(err.contains("3 channels") && err.contains("expects 2"), "{err}");
    let w = Tensor::<2>::zeros(4, 3, [3, 3]);
    let err = conv_forward(&x, &w, Some(&[0.0; 2]), &Window::same(3)).unwrap_err().to_string();
    assert!(err.contains("bias has 2 values"), "{err}");
    let err = conv_forward(&x, &w, None, &Window::same(5)).unwrap_err().to_string();
    assert!(err.contains("kernel"), "{err}");
    let err = conv_forward(&x, &w, None, &Window::new([3, 3]).dilation([5, 1])).unwrap_err().to_string();
    assert!(err.contains("smaller than the kernel span"), "{err}");
    let dy = Tensor::<2>::zeros(1, 4, [7, 8]);
    assert!(conv_backward_input(&dy, &w, &Window::same(3), [8, 8]).is_err());
}

/// A bank writes each branch into its channels, and its input gradient is the sum of the branches'.
#[test]
fn bank_equals_stacked_branches_and_summed_gradients() {
    use ndstyle::tensor::conv::{conv_bank_backward_input, conv_bank_forward};
    let x = Tensor::<2>::randn(2, 3, [9, 7], 1.0, 1);
    let ws = [
        Tensor::<2>::randn(2, 3, [1, 1], 0.5, 2),
        Tensor::randn(4, 3, [3, 3], 0.5, 3),
        Tensor::randn(1, 3, [5, 5], 0.5, 4),
    ];
    let wins = [Window::same(1), Window::same(3), Window::same(5)];
    let biases = [vec![0.1; 2], vec![-0.2; 4], vec![0.3; 1]];
    let bank: Vec<_> = (0..3).map(|i| (&ws[i], biases[i].as_slice(), &wins[i])).collect();
    let y = conv_bank_forward(&x, &bank).unwrap();
    assert_eq!(y.channels(), 7);
    let mut c0 = 0;
    for i in 0..3 {
        let yi = conv_forward(&x, &ws[i], Some(&biases[i]), &wins[i]).unwrap();
        for b in 0..2 {
            for c in 0..ws[i].batch() {
                assert_eq!(y.channel(b, c0 + c), yi.channel(b, c));
            }
        }
        c0 += ws[i].batch();
    }
    let dy = Tensor::<2>::randn(2, 7, [9, 7], 1.0, 5);
    let bank: Vec<_> = (0..3).map(|i| (&ws[i], &wins[i])).collect();
    let dx = conv_bank_backward_input(&dy, &bank, [9, 7]).unwrap();
    // <bank(x), dy> = <x, bank_backward(dy)> (the bank is linear in x apart from the bias).
    let y0 = conv_bank_forward(
        &x,
        &(0..3).map(|i| (&ws[i], &[0.0; 4][..ws[i].batch()], &wins[i])).collect::<Vec<_>>(),
    )
    .unwrap();
    assert!((y0.dot(&dy) - x.dot(&dx)).abs() < 1e-3 * y0.dot(&dy).abs().max(1.0));
    assert!(conv_bank_forward(&x, &[(&ws[0], &biases[0][..], &Window::new([1, 1]).stride([2, 2]))]).is_ok());
    let mixed =
        [(&ws[0], &biases[0][..], &Window::new([1, 1]).stride([2, 2])), (&ws[1], &biases[1][..], &wins[1])];
    assert!(conv_bank_forward(&x, &mixed).unwrap_err().to_string().contains("differ"));
}
