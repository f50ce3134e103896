//! The fast kernels against the plain definitions and finite differences: the symmetric (SYRK)
//! Gram product past one block, 1D convolution as shifted per-tap products, Winograd F(2,3)^N and F(4,3)^N.

use ndstyle::nn::{Conv, Grad, Layer, Network, Op};
use ndstyle::rng::Rng;
use ndstyle::tensor::conv::{conv_backward_input, conv_forward};
use ndstyle::tensor::geometry::unravel;
use ndstyle::tensor::gram::{
    gram, gram_backward, gram_backward_add, gram_backward_symmetric, Gram, GRAM_BLOCK, ROW_SPLIT_CHANNELS,
};
use ndstyle::tensor::kernels::{self, Kernels};
use ndstyle::tensor::winograd::WINOGRAD_MIN_CHANNELS;
use ndstyle::tensor::{Padding, Tensor, Window};
use proptest::prelude::*;

use crate::conv::naive_conv;
use crate::gradcheck::check_grad;
use crate::reference;
use crate::util::assert_close;

/// Runs `f` with the kernel settings `k`, one such test at a time (the settings are process-wide;
/// the other tests' results do not depend on them).
fn with_kernels<R>(k: Kernels, f: impl FnOnce() -> R) -> R {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    kernels::set(k);
    f()
}

/// Gram past one block (so the upper-triangle blocks and the mirror run), against the f64
/// reference, exactly symmetric; positions past one parallel chunk in the larger cases.
fn syrk_case<const N: usize>(c: usize, spatial: [usize; N], seed: u64) {
    with_kernels(Kernels::ALL, || syrk_case_with::<N>(c, spatial, seed))
}

fn syrk_case_with<const N: usize>(c: usize, spatial: [usize; N], seed: u64) {
    let x = Tensor::randn(1, c, spatial, 1.0, seed);
    let scale = 1.0 / x.positions().max(1) as f32;
    let g = gram(&x, scale);
    assert_close("syrk gram vs reference", g.data(), &reference::gram(&x, scale), 1e-4, 1e-5);
    for i in 0..c {
        for j in 0..i {
            assert_eq!(g.at(0, i, j), g.at(0, j, i), "G[{i}][{j}] vs G[{j}][{i}]");
        }
    }
}

/// Few channels over many positions take the chunks-of-positions path (one accumulator per
/// thread); a power-of-two position count is the case the chunk copy exists for. Both the
/// symmetric and the full product, against the f64 reference.
#[test]
fn gram_of_few_channels_over_many_chunks() {
    for (c, p) in [(3, 65_536), (64, 65_536), (64, 70_001), (17, 40_000)] {
        for k in [Kernels::ALL, Kernels::PLAIN] {
            with_kernels(k, || syrk_case_with::<1>(c, [p], c as u64 + p as u64));
        }
    }
}

/// `gram_backward_add` adds exactly what `gram_backward_symmetric` returns, over several
/// parallel chunks of positions.
#[test]
fn gram_backward_add_adds_the_symmetric_gradient() {
    let (c, p) = (70, 9_001);
    let x = Tensor::<1>::randn(1, c, [p], 1.0, 5);
    let mut rng = Rng::new(6);
    let half: Vec<f32> = (0..c * c).map(|_| rng.normal()).collect();
    let sym: Vec<f32> = (0..c * c).map(|k| half[k] + half[(k % c) * c + k / c]).collect();
    let dg = Gram::from_vec(1, c, sym).unwrap();
    let base = Tensor::<1>::randn(1, c, [p], 1.0, 7);
    let mut got = base.clone();
    gram_backward_add(&x, &dg, 0.5, &mut got);
    let alone = gram_backward_symmetric(&x, &dg, 0.5);
    let want: Vec<f64> = base.data().iter().zip(alone.data()).map(|(a, b)| (*a + *b) as f64).collect();
    assert_close("gram_backward_add vs base + gram_backward_symmetric", got.data(), &want, 1e-5, 1e-4);
}

/// A Gram loss's gradient handed to the network as `Grad::Gram` (formed during the backward
/// pass, added into the gradient flowing down) gives the input gradient the dense one gives, at
/// the deepest layer (nothing flows yet) and at a shallower one (added into what flows).
#[test]
fn gram_gradients_formed_in_the_backward_pass_equal_dense_ones() {
    let conv = |ci, co, seed| {
        Op::Conv(Conv::new(Tensor::<2>::randn(co, ci, [3, 3], 0.3, seed), vec![0.1; co], Window::same(3)))
    };
    let net = Network::new(
        3,
        vec![
            Layer::new("conv1", conv(3, 8, 1)),
            Layer::new("relu1", Op::Relu),
            Layer::new("conv2", conv(8, 6, 2)),
            Layer::new("relu2", Op::Relu),
        ],
    )
    .unwrap();
    let x = Tensor::<2>::randn(1, 3, [9, 11], 1.0, 3);
    let fwd = net.forward(&x, &["relu1", "relu2"]).unwrap();
    let mut rng = Rng::new(4);
    let mut sym = |c: usize| {
        let h: Vec<f32> = (0..c * c).map(|_| rng.normal()).collect();
        Gram::from_vec(1, c, (0..c * c).map(|k| h[k] + h[(k % c) * c + k / c]).collect()).unwrap()
    };
    let (dg1, dg2) = (sym(8), sym(6));
    let (a1, a2) = (fwd.get(1).unwrap(), fwd.get(3).unwrap());
    let dense = net
        .backward_owned(
            &fwd,
            vec![
                ("relu2", gram_backward_symmetric(a2, &dg2, 0.3)),
                ("relu1", gram_backward_symmetric(a1, &dg1, 0.7)),
            ],
        )
        .unwrap();
    let formed = net
        .backward_grads(
            &fwd,
            vec![
                ("relu2", Grad::Gram { dg: dg2, scale: 0.3 }),
                ("relu1", Grad::Gram { dg: dg1, scale: 0.7 }),
            ],
        )
        .unwrap();
    let want: Vec<f64> = dense.data().iter().map(|&v| v as f64).collect();
    assert_close("Grad::Gram vs dense gradients", formed.data(), &want, 1e-5, 1e-5);
    let bad = net.backward_grads(&fwd, vec![("relu1", Grad::Gram { dg: Gram::zeros(1, 5), scale: 1.0 })]);
    assert!(bad.unwrap_err().to_string().contains("relu1"));
}

/// The Gram backward pass past one transpose tile: `scale·(dG + dGᵀ)·F` for any `dG` against the
/// definition, and the symmetric variant equal to it wherever `dG` is symmetric.
fn gram_backward_case(c: usize, p: usize, seed: u64) {
    let x = Tensor::randn(1, c, [p], 1.0, seed);
    let mut rng = Rng::new(seed ^ 9);
    let dg: Vec<f32> = (0..c * c).map(|_| rng.normal()).collect();
    let scale = 0.25;
    let want: Vec<f64> = (0..c * p)
        .map(|k| {
            let (i, q) = (k / p, k % p);
            let sum: f64 =
                (0..c).map(|j| (dg[i * c + j] + dg[j * c + i]) as f64 * x.item(0)[j * p + q] as f64).sum();
            sum * scale as f64
        })
        .collect();
    let got = gram_backward(&x, &Gram::from_vec(1, c, dg.clone()).unwrap(), scale);
    assert_close("gram_backward vs definition", got.data(), &want, 1e-4, 1e-4);
    let sym: Vec<f32> = (0..c * c).map(|k| 0.5 * (dg[k] + dg[(k % c) * c + k / c])).collect();
    let fast = gram_backward_symmetric(&x, &Gram::from_vec(1, c, sym).unwrap(), scale);
    assert_close("gram_backward_symmetric vs gram_backward", fast.data(), &want, 1e-4, 1e-4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn gram_backward_past_a_tile(c in 1usize..=75, p in 1usize..=40, seed in any::<u64>()) {
        gram_backward_case(c, p, seed);
    }

    #[test]
    fn syrk_gram_1d(c in GRAM_BLOCK + 1..=2 * GRAM_BLOCK + 9, s in 1usize..=4500, seed in any::<u64>()) {
        syrk_case(c, [s], seed);
    }

    #[test]
    fn syrk_gram_2d(c in GRAM_BLOCK + 1..=GRAM_BLOCK + 40, s in proptest::array::uniform2(1usize..=45), seed in any::<u64>()) {
        syrk_case(c, s, seed);
    }

    #[test]
    fn syrk_gram_bands_in_parallel(c in ROW_SPLIT_CHANNELS..=ROW_SPLIT_CHANNELS + 70, s in 1usize..=300, seed in any::<u64>()) {
        syrk_case(c, [s], seed);
    }

    #[test]
    fn syrk_gram_3d(c in GRAM_BLOCK + 1..=GRAM_BLOCK + 40, s in proptest::array::uniform3(1usize..=13), seed in any::<u64>()) {
        syrk_case(c, s, seed);
    }
}

/// The Gram gradient past one block against central differences (exact for a quadratic).
#[test]
fn syrk_gram_gradient_matches_finite_differences() {
    let c = GRAM_BLOCK + 3;
    let x = Tensor::<2>::randn(1, c, [2, 3], 1.0, 9);
    check_grad(
        "syrk gram_backward",
        &x,
        |x| gram(x, 0.5).into_vec(),
        |r| gram_backward(&x, &Gram::from_vec(1, c, r).unwrap(), 0.5),
        0.05,
        2e-3,
        1e-3,
        10,
    );
}

/// `dx[ci, i] = Σ_{co, k} w[co, ci, k] · dy[co, o]` over the `o` with `o·s + k·d − lo = i` on every
/// axis: the transposed definition, written plainly.
fn naive_backward_input<const N: usize>(
    dy: &Tensor<N>,
    w: &Tensor<N>,
    win: &Window<N>,
    input: [usize; N],
) -> Tensor<N> {
    let g = win.resolve(input).unwrap();
    let mut dx = Tensor::zeros(dy.batch(), w.channels(), input);
    for b in 0..dy.batch() {
        for co in 0..w.batch() {
            for of in 0..g.out_positions() {
                let o = unravel(of, &g.output);
                for ci in 0..w.channels() {
                    for kf in 0..g.taps() {
                        let k = unravel(kf, &g.kernel);
                        let mut idx = [0usize; N];
                        let inside = (0..N).all(|d| {
                            let i = (o[d] * g.stride[d] + k[d] * g.dilation[d]) as isize - g.lo[d] as isize;
                            idx[d] = i.max(0) as usize;
                            i >= 0 && (i as usize) < input[d]
                        });
                        if inside {
                            *dx.at_mut(b, ci, idx) += w.at(co, ci, k) * dy.at(b, co, o);
                        }
                    }
                }
            }
        }
    }
    dx
}

/// Forward and input gradient of a fast path against the definitions, and the input gradient
/// against central differences of `L = Σ r·conv(x)` at a few points (exact: L is linear in x).
fn fast_conv_case<const N: usize>(k: Kernels, x: &Tensor<N>, w: &Tensor<N>, win: &Window<N>, seed: u64) {
    with_kernels(k, || fast_conv_case_with(x, w, win, seed))
}

fn fast_conv_case_with<const N: usize>(x: &Tensor<N>, w: &Tensor<N>, win: &Window<N>, seed: u64) {
    let bias: Vec<f32> = (0..w.batch()).map(|i| 0.01 * i as f32).collect();
    let y = conv_forward(x, w, Some(&bias), win).unwrap();
    let want = naive_conv(x, w, Some(&bias), win);
    assert!(
        y.same_shape(&want) && y.max_abs_diff(&want) < 1e-3,
        "forward differs by {}",
        y.max_abs_diff(&want)
    );
    let r = Tensor::randn(x.batch(), w.batch(), y.spatial(), 1.0, seed ^ 2);
    let dx = conv_backward_input(&r, w, win, x.spatial()).unwrap();
    let want = naive_backward_input(&r, w, win, x.spatial());
    assert!(dx.max_abs_diff(&want) < 1e-3, "input gradient differs by {}", dx.max_abs_diff(&want));
    let mut rng = Rng::new(seed ^ 3);
    for _ in 0..3 {
        let at = (rng.uniform() * x.len() as f32) as usize % x.len();
        let loss = |v: f32| {
            let mut xs = x.clone();
            xs.data_mut()[at] += v;
            naive_conv(&xs, w, Some(&bias), win).dot(&r)
        };
        let fd = loss(0.5) - loss(-0.5);
        let got = dx.data()[at] as f64;
        assert!((fd - got).abs() < 1e-2 * fd.abs().max(1.0), "dL/dx[{at}]: {got} vs finite difference {fd}");
    }
}

/// 1D stride-1 convolution wide enough for the shifted products.
#[allow(clippy::too_many_arguments)]
fn shifted_case(
    batch: usize,
    ci: usize,
    co: usize,
    k: usize,
    dil: usize,
    pad: Option<(usize, usize)>,
    n: usize,
    seed: u64,
) {
    let win = Window::new([k]).dilation([dil]);
    let (win, n) = match pad {
        None => (win.padding(Padding::Same), n),
        Some((lo, hi)) => {
            let span = dil * (k - 1) + 1;
            (win.padding(Padding::Explicit { lo: [lo], hi: [hi] }), n.max(span.saturating_sub(lo + hi)))
        }
    };
    let x = Tensor::<1>::randn(batch, ci, [n], 1.0, seed);
    let w = Tensor::<1>::randn(co, ci, [k], 0.2, seed ^ 1);
    fast_conv_case(Kernels::ALL, &x, &w, &win, seed);
}

/// Every fast kernel on, with Winograd F(4,3)^N (on layers of any size) and then F(2,3)^N tiles.
const WINOGRAD_TILES: [Kernels; 2] =
    [Kernels { f4_min_tiles: 0, ..Kernels::ALL }, Kernels { winograd4: false, ..Kernels::ALL }];

/// 3-tap, stride-1, undilated layers with enough channels for Winograd, any padding up to 2 and
/// sizes that are not multiples of the 2-wide tile.
fn winograd_case<const N: usize>(
    batch: usize,
    ci: usize,
    co: usize,
    axes: &[(usize, usize, usize)],
    same: bool,
    seed: u64,
) {
    let (mut lo, mut hi, mut input) = ([0; N], [0; N], [0; N]);
    for (d, &(l, h, n)) in axes.iter().enumerate() {
        lo[d] = l;
        hi[d] = h;
        input[d] = if same { n } else { n.max(3usize.saturating_sub(l + h)) };
    }
    let padding = if same { Padding::Same } else { Padding::Explicit { lo, hi } };
    let win = Window::new([3; N]).padding(padding);
    let x = Tensor::<N>::randn(batch, ci, input, 1.0, seed);
    let w = Tensor::<N>::randn(co, ci, [3; N], 0.2, seed ^ 1);
    for k in WINOGRAD_TILES {
        fast_conv_case(k, &x, &w, &win, seed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn winograd_conv2d_matches_definition_and_gradients(
        batch in 1usize..=2,
        ci in WINOGRAD_MIN_CHANNELS..=WINOGRAD_MIN_CHANNELS + 3,
        co in WINOGRAD_MIN_CHANNELS..=WINOGRAD_MIN_CHANNELS + 2,
        axes in proptest::collection::vec((0usize..=2, 0usize..=2, 1usize..=9), 2),
        same in any::<bool>(),
        seed in any::<u64>(),
    ) {
        winograd_case::<2>(batch, ci, co, &axes, same, seed);
    }

    #[test]
    fn winograd_conv3d_matches_definition_and_gradients(
        ci in WINOGRAD_MIN_CHANNELS..=WINOGRAD_MIN_CHANNELS + 1,
        co in WINOGRAD_MIN_CHANNELS..=WINOGRAD_MIN_CHANNELS + 1,
        axes in proptest::collection::vec((0usize..=2, 0usize..=2, 1usize..=5), 3),
        same in any::<bool>(),
        seed in any::<u64>(),
    ) {
        winograd_case::<3>(1, ci, co, &axes, same, seed);
    }
}

/// Winograd in 1D (shifted products off, so that it runs): F(4,3) and F(2,3) on kernels of 3 to
/// 12 taps cut into groups of 3 (widths that are not multiples of 3 included), any padding below
/// the width, sizes that are not multiples of the tile.
const WINOGRAD_TILES_1D: [Kernels; 2] = [
    Kernels { shift: false, f4_min_tiles: 0, ..Kernels::ALL },
    Kernels { shift: false, winograd4: false, ..Kernels::ALL },
];

fn winograd_1d_case(
    batch: usize,
    ci: usize,
    co: usize,
    k: usize,
    pad: Option<(usize, usize)>,
    n: usize,
    seed: u64,
) {
    let (win, n) = match pad {
        None => (Window::same(k), n),
        Some((lo, hi)) => {
            let (lo, hi) = (lo % k, hi % k);
            (
                Window::new([k]).padding(Padding::Explicit { lo: [lo], hi: [hi] }),
                n.max(k.saturating_sub(lo + hi)),
            )
        }
    };
    let x = Tensor::<1>::randn(batch, ci, [n], 1.0, seed);
    let w = Tensor::<1>::randn(co, ci, [k], 0.2, seed ^ 1);
    for kernels in WINOGRAD_TILES_1D {
        fast_conv_case(kernels, &x, &w, &win, seed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    #[test]
    fn winograd_conv1d_grouped_taps_match_definition_and_gradients(
        batch in 1usize..=2,
        ci in WINOGRAD_MIN_CHANNELS..=WINOGRAD_MIN_CHANNELS + 3,
        co in WINOGRAD_MIN_CHANNELS..=WINOGRAD_MIN_CHANNELS + 2,
        k in 3usize..=12,
        explicit in any::<bool>(),
        lo in 0usize..12,
        hi in 0usize..12,
        n in 1usize..=41,
        seed in any::<u64>(),
    ) {
        winograd_1d_case(batch, ci, co, k, explicit.then_some((lo, hi)), n, seed);
    }
}

/// Several blocks of tiles in 1D (run in parallel), with a width of 11 (the audio extractor's).
#[test]
fn winograd_1d_many_blocks_agree_with_definition() {
    winograd_1d_case(1, 16, 17, 11, None, 50_001, 11);
}

/// Enough tiles for several blocks of tiles (run in parallel) in 2D, against the definition.
#[test]
fn winograd_many_blocks_agree_with_definition() {
    let x = Tensor::<2>::randn(1, 16, [181, 183], 1.0, 3);
    let w = Tensor::<2>::randn(16, 16, [3, 3], 0.2, 4);
    for k in WINOGRAD_TILES {
        fast_conv_case(k, &x, &w, &Window::same(3), 5);
    }
}

/// Several blocks of tiles in 3D, cut in the middle of rows of tiles, with odd sizes.
#[test]
fn winograd_many_blocks_agree_with_definition_3d() {
    let x = Tensor::<3>::randn(1, 16, [7, 9, 45], 1.0, 6);
    let w = Tensor::<3>::randn(16, 16, [3, 3, 3], 0.2, 7);
    for k in WINOGRAD_TILES {
        fast_conv_case(k, &x, &w, &Window::same(3), 8);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn shifted_conv1d_matches_definition_and_gradients(
        batch in 1usize..=2,
        ci in 64usize..=67,
        co in 64usize..=66,
        k in 1usize..=6,
        dil in 1usize..=2,
        explicit in any::<bool>(),
        lo in 0usize..=4,
        hi in 0usize..=4,
        n in 1usize..=23,
        seed in any::<u64>(),
    ) {
        shifted_case(batch, ci, co, k, dil, explicit.then_some((lo, hi)), n, seed);
    }
}

/// A bank with a wide branch (shifted products) and a narrow one (im2col) sums both gradients.
#[test]
fn shifted_and_unfolded_branches_mix_in_a_bank() {
    with_kernels(Kernels::ALL, shifted_and_unfolded_branches_mix_in_a_bank_with);
}

fn shifted_and_unfolded_branches_mix_in_a_bank_with() {
    use ndstyle::tensor::conv::{conv_bank_backward_input, conv_bank_forward};
    let x = Tensor::<1>::randn(1, 64, [31], 1.0, 1);
    let ws = [Tensor::<1>::randn(64, 64, [5], 0.2, 2), Tensor::<1>::randn(3, 64, [3], 0.2, 3)];
    let wins = [Window::same(5), Window::same(3)];
    let biases = [vec![0.1; 64], vec![-0.2; 3]];
    let bank: Vec<_> = (0..2).map(|i| (&ws[i], biases[i].as_slice(), &wins[i])).collect();
    let y = conv_bank_forward(&x, &bank).unwrap();
    let r = Tensor::<1>::randn(1, 67, [31], 1.0, 4);
    let dx = conv_bank_backward_input(&r, &[(&ws[0], &wins[0]), (&ws[1], &wins[1])], [31]).unwrap();
    let mut want = Tensor::<1>::zeros(1, 64, [31]);
    let mut off = 0;
    for i in 0..2 {
        let co = ws[i].batch();
        let part = naive_conv(&x, &ws[i], Some(&biases[i]), &wins[i]);
        for c in 0..co {
            let want_c: Vec<f64> = part.channel(0, c).iter().map(|&v| v as f64).collect();
            assert_close("bank branch", y.channel(0, off + c), &want_c, 1e-4, 1e-4);
        }
        let ri = Tensor::<1>::from_vec(1, co, [31], r.data()[off * 31..(off + co) * 31].to_vec()).unwrap();
        want.axpy(1.0, &naive_backward_input(&ri, &ws[i], &wins[i], [31])).unwrap();
        off += co;
    }
    assert!(dx.max_abs_diff(&want) < 1e-3, "bank gradient differs by {}", dx.max_abs_diff(&want));
}

/// The kernel settings parse as documented and reject anything else.
#[test]
fn kernel_settings_parse() {
    assert_eq!(Kernels::parse("all"), Some(Kernels::ALL));
    assert_eq!(Kernels::parse("plain"), Some(Kernels::PLAIN));
    assert_eq!(Kernels::parse("all,-winograd"), Some(Kernels { winograd: false, ..Kernels::ALL }));
    assert_eq!(Kernels::parse("plain,syrk"), Some(Kernels { syrk: true, ..Kernels::PLAIN }));
    assert_eq!(Kernels::parse("all,-winograd4"), Some(Kernels { winograd4: false, ..Kernels::ALL }));
    assert_eq!(Kernels::parse("default"), Some(Kernels::DEFAULT));
    assert_eq!(Kernels::parse("fast"), None);
    assert_eq!(Kernels::parse("all,winogard"), None);
}
