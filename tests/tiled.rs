//! Tiled evaluation against the whole input: the same objective and gradient in every rank, with stride, pooling and dilation.

use ndstyle::extractors::{random_bank, random_vgg, BankSpec, Pooling, VggShape};
use ndstyle::losses::{Normalization, Objective, Weights};
use ndstyle::nn::{Conv, Layer, Network, Op};
use ndstyle::tensor::{Padding, Tensor, Window};
use ndstyle::tile::{activation_bytes, choose_tile, Plan};

const NORMS: [Normalization; 3] = [Normalization::Lecture, Normalization::Gatys, Normalization::Johnson];

fn conv<const N: usize>(cin: usize, cout: usize, window: Window<N>, seed: u64) -> Op<N> {
    let fan_in = (cin * window.taps()) as f32;
    let weight = Tensor::randn(cout, cin, window.kernel, (2.0 / fan_in).sqrt(), seed);
    let bias = (0..cout).map(|i| 0.05 * i as f32 - 0.1).collect();
    Op::Conv(Conv::new(weight, bias, window))
}

/// A strided "same" convolution, a dilated one, padded max pooling, average pooling and a valid
/// convolution: every way a window can misalign at a tile border.
fn awkward<const N: usize>(channels: usize) -> Network<N> {
    let layers = vec![
        Layer::new("conv1", conv(channels, 6, Window::new([3; N]).padding(Padding::Same).stride([2; N]), 1)),
        Layer::new("relu1", Op::Relu),
        Layer::new("conv2", conv(6, 8, Window::same(3).dilation([2; N]), 2)),
        Layer::new("relu2", Op::Relu),
        Layer::new(
            "pool2",
            Op::MaxPool(Window::new([3; N]).stride([2; N]).padding(Padding::symmetric([1; N]))),
        ),
        Layer::new("conv3", conv(8, 8, Window::new([3; N]), 3)),
        Layer::new("relu3", Op::Relu),
        Layer::new("pool3", Op::AvgPool(Window::new([2; N]).stride([2; N]))),
        Layer::new("conv4", conv(8, 6, Window::same(3), 4)),
        Layer::new("relu4", Op::Relu),
    ];
    Network::new(channels, layers).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-30)
}

/// Tiled and whole objectives agree in value (each term) and gradient to 1e-5 relative.
fn agree<const N: usize>(
    net: &Network<N>,
    content: &[&str],
    style: &[&str],
    size: [usize; N],
    tile: usize,
    norm: Normalization,
) {
    let ch = net.in_channels();
    let (c, s) = (Tensor::uniform(1, ch, size, 0.0, 1.0, 11), Tensor::uniform(1, ch, size, 0.0, 1.0, 12));
    let x = Tensor::uniform(1, ch, size, 0.0, 1.0, 13);
    let content: Vec<String> = content.iter().map(|l| l.to_string()).collect();
    let style: Vec<(String, f64)> =
        style.iter().enumerate().map(|(i, l)| (l.to_string(), 1.0 + i as f64)).collect();
    let w = Weights { content: 1.0, style: 1e3, tv: 0.5, norm };
    let cl = (!content.is_empty()).then_some((&c, content.as_slice()));
    let whole = Objective::new(net, w.clone(), cl, &[(&s, 1.0)], &style).unwrap();
    let tiled = Objective::tiled(net, w, cl, &[(&s, 1.0)], &style, Some(tile)).unwrap();
    let mut names: Vec<&str> = content.iter().map(|s| s.as_str()).collect();
    names.extend(style.iter().map(|(s, _)| s.as_str()));
    let plan = Plan::new(net, &names, size, tile).unwrap();
    assert!(plan.len() >= 4, "only {} tiles for {size:?} with tile {tile}", plan.len());
    let (b0, g0) = whole.eval(&x).unwrap();
    let mut seen = 0;
    let (b1, g1) = tiled.eval_with(&x, &mut |_, _| seen += 1).unwrap();
    let passes = if style.is_empty() { 1 } else { 2 };
    assert_eq!(seen, passes * plan.len());
    assert!(rel(b0.total, b1.total) < 1e-5, "total {} vs {}", b0.total, b1.total);
    assert!(rel(b0.content, b1.content) < 1e-5, "content {} vs {}", b0.content, b1.content);
    for ((l, j0), (_, j1)) in b0.style.iter().zip(&b1.style) {
        assert!(rel(*j0, *j1) < 1e-5, "style {l}: {j0} vs {j1}");
    }
    let diff: f64 =
        g0.data().iter().zip(g1.data()).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>().sqrt();
    let norm0 = g0.dot(&g0).sqrt();
    assert!(diff <= 1e-5 * norm0, "gradient differs by {diff:e} (norm {norm0:e}, {norm:?})");
    let worst = g0.max_abs_diff(&g1) as f64;
    let scale = g0.data().iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
    assert!(worst <= 1e-5 * scale, "gradient entry differs by {worst:e} (largest {scale:e})");
}

#[test]
fn tiles_partition_every_layer_and_reproduce_its_activations() {
    let net = awkward::<2>(2);
    let layers = ["relu1", "pool2", "relu4"];
    let size = [45, 38];
    let x = Tensor::uniform(1, 2, size, -1.0, 1.0, 5);
    let whole = net.forward(&x, &layers).unwrap();
    let plan = Plan::new(&net, &layers, size, 9).unwrap();
    for (li, name) in layers.iter().enumerate() {
        let a = whole.get(net.index_of(name).unwrap()).unwrap();
        assert_eq!(plan.layer_spatial(li), a.spatial());
        let mut owners = vec![0usize; a.positions()];
        for t in plan.tiles() {
            let k = t.kept[li];
            let tile_x = ndstyle::tile::crop(&x, t.lo, t.size()).unwrap();
            let fwd = net.forward(&tile_x, &layers).unwrap();
            let at = fwd.get(net.index_of(name).unwrap()).unwrap();
            for p in 0..k.size.iter().product::<usize>() {
                let i = ndstyle::tensor::geometry::unravel(p, &k.size);
                let g: [usize; 2] = std::array::from_fn(|d| k.global[d] + i[d]);
                let l: [usize; 2] = std::array::from_fn(|d| k.local[d] + i[d]);
                owners[a.spatial_offset(g)] += 1;
                for c in 0..a.channels() {
                    assert_eq!(a.at(0, c, g), at.at(0, c, l), "{name} at {g:?} channel {c}");
                }
            }
        }
        assert!(owners.iter().all(|&n| n == 1), "{name}: positions owned {:?} times", owners);
    }
}

#[test]
fn tiled_equals_whole_in_1d_with_stride_pool_and_dilation() {
    for norm in NORMS {
        agree(&awkward::<1>(3), &["relu2"], &["relu1", "pool2", "relu4"], [203], 21, norm);
    }
}

#[test]
fn tiled_equals_whole_in_2d_random_vgg_all_normalisations() {
    let net =
        random_vgg::<2>(3, &VggShape { blocks: vec![(1, 4), (2, 6), (1, 8)] }, Pooling::Max, 3).unwrap();
    for norm in NORMS {
        agree(&net, &["relu2_2"], &["relu1_1", "relu2_1", "relu3_1"], [37, 29], 10, norm);
    }
    let avg = random_vgg::<2>(1, &VggShape { blocks: vec![(1, 4), (1, 6)] }, Pooling::Avg, 4).unwrap();
    agree(&avg, &[], &["relu1_1", "relu2_1"], [23, 30], 6, Normalization::Johnson);
}

#[test]
fn tiled_equals_whole_in_2d_with_awkward_windows() {
    for norm in NORMS {
        agree(&awkward::<2>(2), &["relu4"], &["relu1", "relu3", "relu4"], [51, 44], 17, norm);
    }
}

#[test]
fn tiled_equals_whole_in_3d_bank_and_pooled_network() {
    let bank = random_bank::<3>(1, &BankSpec { sizes: vec![3, 5], maps: 4 }, 7).unwrap();
    agree(&bank, &["relu1"], &["relu1"], [11, 9, 13], 4, Normalization::Lecture);
    agree(&awkward::<3>(1), &["relu2"], &["relu1", "relu4"], [27, 21, 30], 12, Normalization::Johnson);
}

#[test]
fn content_only_needs_one_pass() {
    agree(&awkward::<1>(1), &["relu4"], &[], [150], 16, Normalization::Gatys);
}

#[test]
fn activation_bytes_of_a_bank_follow_the_closed_form() {
    let net = random_bank::<2>(3, &BankSpec { sizes: vec![3, 5], maps: 4 }, 0).unwrap();
    let p = 20 * 30;
    // relu1 kept (8·P) + its gradient (8·P) + three working tensors of the largest layer (8·P).
    assert_eq!(activation_bytes(&net, &["relu1"], [20, 30]).unwrap(), 4 * (8 + 8 + 3 * 8) * p as u64);
}

#[test]
fn the_tile_is_chosen_by_the_budget() {
    let net = awkward::<2>(1);
    let layers = ["relu1", "relu4"];
    let size = [300, 200];
    let whole = activation_bytes(&net, &layers, size).unwrap();
    assert_eq!(choose_tile(&net, &layers, size, whole, None).unwrap(), None);
    let t = choose_tile(&net, &layers, size, whole / 5, None).unwrap().expect("a tile");
    let plan = Plan::new(&net, &layers, size, t).unwrap();
    assert!(plan.len() > 1);
    assert!(activation_bytes(&net, &layers, plan.max_tile()).unwrap() <= whole / 5);
    assert_eq!(choose_tile(&net, &layers, size, u64::MAX, Some(32)).unwrap(), Some(32));
    let err = choose_tile(&net, &layers, size, 1000, None).unwrap_err().to_string();
    assert!(err.contains("budget") && err.contains("--max-memory"), "{err}");
    assert!(choose_tile(&net, &layers, size, whole, Some(0)).is_err());
}

/// Runs `stylize` on `c.npy` and `s.npy` of `dir` (rank 2) for 3 iterations, with the global
/// options `global` and stylize options `local`; its stderr and result.
fn stylize_npy(dir: &std::path::Path, name: &str, global: &[&str], local: &[&str]) -> (String, Vec<f32>) {
    let out = dir.join(format!("{name}.npy"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ndstyle"))
        .args(global)
        .args(["stylize", "--rank", "2", "--iters", "3", "--allow-no-progress", "--content"])
        .arg(dir.join("c.npy"))
        .arg("--style")
        .arg(dir.join("s.npy"))
        .arg("-o")
        .arg(&out)
        .args(local)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{name}: {err}");
    (err, ndstyle::io::npy::read_npy(&out).unwrap().data)
}

#[test]
fn a_run_over_the_budget_tiles_itself_and_reaches_the_untiled_result() {
    let dir = tempfile::tempdir().unwrap();
    let size = [40, 36];
    let (c, s) = (Tensor::uniform(1, 1, size, 0.0, 1.0, 1), Tensor::uniform(1, 1, size, 0.0, 1.0, 2));
    ndstyle::io::npy::write_npy(dir.path().join("c.npy"), &size, c.data()).unwrap();
    ndstyle::io::npy::write_npy(dir.path().join("s.npy"), &size, s.data()).unwrap();
    let ext = ndstyle::extractors::build::<2>(&Default::default(), 1).unwrap();
    let layers: Vec<&str> = ext.content_layers.iter().chain(&ext.style_layers).map(|l| l.as_str()).collect();
    // What the run holds beside the activations (40 input-sized vectors for L-BFGS, and the
    // content target) fits; the whole input's activations do not, half of them do.
    let held = 4 * 40 * (40 * 36) + ndstyle::tile::output_bytes(&ext.net, &layers[..1], size).unwrap();
    let budget = (held + activation_bytes(&ext.net, &layers, size).unwrap() / 2).to_string();
    let (whole_log, whole) = stylize_npy(dir.path(), "whole", &[], &[]);
    assert!(!whole_log.contains("tiles"), "{whole_log}");
    let (auto_log, auto) = stylize_npy(dir.path(), "auto", &["--max-memory", &budget], &[]);
    assert!(auto_log.contains("3 iterations over "), "{auto_log}");
    let (asked_log, asked) = stylize_npy(dir.path(), "asked", &[], &["--tile", "8"]);
    assert!(asked_log.contains("3 iterations over 25 tiles"), "{asked_log}");
    for (name, r) in [("auto", &auto), ("asked", &asked)] {
        let worst = whole.iter().zip(r.iter()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "{name}: differs from the whole run by {worst}");
    }
}
