//! Top-k patches per unit: planted patterns are found exactly, receptive fields match a brute-force
//! measurement, and the grids have the expected size.

use std::path::PathBuf;

use ndstyle::extractors::{random_vgg, Pooling, VggShape};
use ndstyle::io::{read_image, write_npy};
use ndstyle::nn::{Conv, Layer, Network, Op};
use ndstyle::rng::Rng;
use ndstyle::tensor::geometry::unravel;
use ndstyle::tensor::{Padding, Tensor, Window};
use ndstyle::visualize::{
    self, receptive_field, receptive_field_at, render_grid, Parallel, RenderOptions, Scale, ScanOptions,
    Units,
};

/// One conv whose only filter is `pattern` (a matched filter), then ReLU.
fn matched_filter<const N: usize>(pattern: &Tensor<N>) -> Network<N> {
    let k = pattern.spatial();
    let conv = Conv::new(pattern.clone(), vec![0.0], Window::new(k));
    Network::new(1, vec![Layer::new("conv", Op::Conv(conv)), Layer::new("relu", Op::Relu)]).unwrap()
}

/// Plant `pattern` at `places` (file, corner) in `files` noise volumes of size `size`; write them as .npy.
fn planted<const N: usize>(
    dir: &std::path::Path,
    files: usize,
    size: [usize; N],
    pattern: &Tensor<N>,
    places: &[(usize, [usize; N])],
) -> Vec<PathBuf> {
    let k = pattern.spatial();
    (0..files)
        .map(|f| {
            let mut x = Tensor::<N>::uniform(1, 1, size, -0.01, 0.01, 100 + f as u64);
            for (_, at) in places.iter().filter(|(pf, _)| *pf == f) {
                for (i, &v) in pattern.data().iter().enumerate() {
                    let q = unravel(i, &k);
                    let p: [usize; N] = std::array::from_fn(|d| at[d] + q[d]);
                    *x.at_mut(0, 0, p) = v;
                }
            }
            let path = dir.join(format!("f{f:02}.npy"));
            write_npy(&path, &size, x.data()).unwrap();
            path
        })
        .collect()
}

fn sign_pattern<const N: usize>(k: [usize; N], seed: u64) -> Tensor<N> {
    let mut rng = Rng::new(seed);
    let n: usize = k.iter().product();
    let v = (0..n).map(|_| if rng.uniform() < 0.5 { -1.0 } else { 1.0 }).collect();
    Tensor::from_vec(1, 1, k, v).unwrap()
}

fn check_planted<const N: usize>(
    size: [usize; N],
    pattern: Tensor<N>,
    places: &[(usize, [usize; N])],
    files: usize,
) {
    let dir = tempfile::tempdir().unwrap();
    let paths = planted(dir.path(), files, size, &pattern, places);
    let net = matched_filter(&pattern);
    let rf = receptive_field(&net, "relu").unwrap();
    assert_eq!((rf.size, rf.stride, rf.start), (pattern.spatial(), [1; N], [0; N]));
    let listed = visualize::list_files(dir.path().to_str().unwrap()).unwrap();
    assert_eq!(listed, paths);
    let mut results = Vec::new();
    for (parallel, batch) in [(Parallel::Files, 3), (Parallel::Inner, 1)] {
        let opts = ScanOptions {
            k: places.len(),
            units: Units::List(vec![0]),
            min_gap: Some(1),
            batch,
            parallel,
            ..ScanOptions::default()
        };
        let top = visualize::scan(&net, "relu", &paths, &opts).unwrap();
        let mut found: Vec<(usize, [usize; N])> =
            top.records[0].iter().map(|r| (r.file, r.position)).collect();
        let mut want = places.to_vec();
        found.sort();
        want.sort();
        assert_eq!(found, want, "rank {N}, {parallel:?}");
        let peak = pattern.data().iter().map(|v| v * v).sum::<f32>();
        for r in &top.records[0] {
            assert!((r.value - peak).abs() < 0.05 * peak, "value {} vs {peak}", r.value);
            assert_eq!(r.bbox.unclipped, r.bbox.clipped);
        }
        let cut = visualize::patches(&top, None).unwrap();
        for p in &cut[0] {
            assert_eq!(p.spatial(), pattern.spatial());
            assert!(p.max_abs_diff(&pattern) <= 0.0101, "patch differs by {}", p.max_abs_diff(&pattern));
        }
        results.push(top.records);
    }
    assert_eq!(results[0], results[1], "file-parallel and sequential scans agree");

    // The whole pipeline writes a grid and a CSV with one row per record.
    let out = dir.path().join("out");
    let opts = ScanOptions { k: 3, units: Units::All, ..ScanOptions::default() };
    let w = visualize::visualize(&net, "relu", &paths, &opts, None, &out).unwrap();
    assert!(w.image.exists());
    let csv = std::fs::read_to_string(&w.csv).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3);
    assert!(csv.starts_with("unit,rank,value,file,position,box_lo,box_hi"));
}

#[test]
fn visualize_planted_patterns_are_found_1d() {
    // A Barker code: off-peak autocorrelation at most 1 against a peak of 7.
    let barker = Tensor::<1>::from_vec(1, 1, [7], vec![1., 1., 1., -1., -1., 1., -1.]).unwrap();
    let places = [(0, [10]), (0, [150]), (2, [3]), (3, [190]), (4, [77])];
    check_planted([200], barker, &places, 5);
}

#[test]
fn visualize_planted_patterns_are_found_2d() {
    let places = [(0, [2, 3]), (1, [20, 20]), (1, [5, 24]), (3, [0, 0]), (3, [27, 27]), (2, [14, 9])];
    check_planted([32, 32], sign_pattern([5, 5], 7), &places, 4);
}

#[test]
fn visualize_planted_patterns_are_found_3d() {
    let places = [(0, [1, 2, 3]), (1, [8, 8, 8]), (2, [0, 9, 4])];
    check_planted([12, 12, 12], sign_pattern([3, 3, 3], 11), &places, 3);
}

/// A random stack of convolutions (positive weights), ReLUs and poolings of rank `N`.
fn random_stack<const N: usize>(rng: &mut Rng, layers: usize, max_k: usize) -> Network<N> {
    let mut out = Vec::new();
    let mut c = 1;
    for i in 0..layers {
        let pick = |rng: &mut Rng, n: usize| 1 + rng.below(n);
        let arr = |rng: &mut Rng, n: usize| -> [usize; N] { std::array::from_fn(|_| pick(rng, n)) };
        let kernel = arr(rng, max_k);
        let stride = arr(rng, 2);
        let op = match rng.below(4) {
            0 | 1 => {
                let dilation = arr(rng, 2);
                let padding = if rng.below(3) == 0 {
                    Padding::Same
                } else {
                    Padding::Explicit {
                        lo: std::array::from_fn(|_| rng.below(3)),
                        hi: std::array::from_fn(|_| rng.below(3)),
                    }
                };
                let co = 1 + rng.below(2);
                let n = co * c * kernel.iter().product::<usize>();
                let w = (0..n).map(|_| rng.uniform_in(0.1, 1.0)).collect();
                let window =
                    Window { kernel, stride, padding, dilation: if i % 2 == 0 { dilation } else { [1; N] } };
                let conv = Conv::new(Tensor::from_vec(co, c, kernel, w).unwrap(), vec![0.1; co], window);
                c = co;
                Op::Conv(conv)
            }
            2 => Op::MaxPool(Window::new(kernel).stride(stride)),
            _ => {
                let lo = std::array::from_fn(|d| rng.below(kernel[d]));
                Op::AvgPool(Window::new(kernel).stride(stride).padding(Padding::Explicit { lo, hi: lo }))
            }
        };
        out.push(Layer::new(format!("l{i}"), op));
        if rng.below(2) == 0 {
            out.push(Layer::new(format!("r{i}"), Op::Relu));
        }
    }
    Network::new(1, out).unwrap()
}

/// The input positions whose change alters unit `o` of channel 0 at `layer`.
fn measured_support<const N: usize>(
    net: &Network<N>,
    layer: &str,
    x: &Tensor<N>,
    o: [usize; N],
) -> Vec<[usize; N]> {
    let idx = net.index_of(layer).unwrap();
    let value = |x: &Tensor<N>| net.forward(x, &[layer]).unwrap().get(idx).unwrap().at(0, 0, o);
    let base = value(x);
    let s = x.spatial();
    (0..x.positions())
        .filter_map(|f| {
            let p = unravel(f, &s);
            let mut y = x.clone();
            *y.at_mut(0, 0, p) += 1e4;
            // Every input reaches the unit through positive weights, so a change is never cancelled;
            // an input outside the field leaves the very same arithmetic, hence the exact comparison.
            (value(&y) != base).then_some(p)
        })
        .collect()
}

fn check_rf<const N: usize>(seed: u64, layers: usize, max_k: usize) -> bool {
    let mut rng = Rng::new(seed);
    let net = random_stack::<N>(&mut rng, layers, max_k);
    let layer = net.layer_names().last().unwrap().to_string();
    let rough = receptive_field(&net, &layer).unwrap();
    let size: [usize; N] = std::array::from_fn(|d| {
        rough.size[d] + rough.start[d].unsigned_abs() + 2 * rough.stride[d] + rng.below(3)
    });
    let Ok(rf) = receptive_field_at(&net, &layer, size) else { return false };
    let x = Tensor::<N>::uniform(1, 1, size, 0.5, 1.0, seed);
    let Ok(fwd) = net.forward(&x, &[layer.as_str()]) else { return false };
    let out = fwd.get(net.index_of(&layer).unwrap()).unwrap().spatial();
    // A unit whose whole field lies inside the input: the measured support spans it exactly.
    let inside = (0..out.iter().product()).map(|f| unravel(f, &out)).find(|&o| {
        let b = rf.unit_box(o, size).unclipped;
        (0..N).all(|d| b.lo[d] >= 0 && b.hi[d] <= size[d] as isize)
    });
    let Some(o) = inside else { return false };
    let b = rf.unit_box(o, size).unclipped;
    let support = measured_support(&net, &layer, &x, o);
    assert!(!support.is_empty());
    for d in 0..N {
        let lo = support.iter().map(|p| p[d] as isize).min().unwrap();
        let hi = support.iter().map(|p| p[d] as isize).max().unwrap() + 1;
        assert_eq!(
            (lo, hi),
            (b.lo[d], b.hi[d]),
            "seed {seed}, axis {d}: measured vs computed {rf:?} at {o:?}\n{net:?}"
        );
    }
    // A unit at the corner: its support lies within its clipped box.
    let corner = rf.unit_box([0; N], size).clipped;
    for p in measured_support(&net, &layer, &x, [0; N]) {
        assert!(corner.contains(p.map(|v| v as isize)), "seed {seed}: {p:?} outside {corner:?}");
    }
    true
}

#[test]
fn visualize_receptive_fields_match_brute_force() {
    let mut checked = [0; 3];
    for seed in 0..100 {
        checked[0] += check_rf::<1>(seed, 5, 3) as usize;
        if seed < 40 {
            checked[1] += check_rf::<2>(1000 + seed, 4, 3) as usize;
        }
        if seed < 12 {
            checked[2] += check_rf::<3>(2000 + seed, 3, 2) as usize;
        }
    }
    eprintln!("rf cases checked: {checked:?}");
    assert!(checked[0] >= 50 && checked[1] >= 20 && checked[2] >= 6, "cases checked: {checked:?}");
}

#[test]
fn visualize_receptive_fields_of_known_networks() {
    let vgg = random_vgg::<2>(3, &VggShape::small(), Pooling::Max, 0).unwrap();
    let rf = receptive_field(&vgg, "relu3_1").unwrap();
    assert_eq!((rf.size, rf.stride, rf.start), ([24, 24], [4, 4], [-10, -10]));
    assert_eq!(receptive_field_at(&vgg, "relu3_1", [64, 48]).unwrap(), rf);
    let b = rf.unit_box([0, 3], [64, 48]);
    assert_eq!((b.unclipped.lo, b.unclipped.hi), ([-10, 2], [14, 26]));
    assert_eq!((b.clipped.lo, b.clipped.hi), ([0, 2], [14, 26]));
    // A bank's field is its largest branch's.
    let bank = ndstyle::extractors::random_bank::<1>(
        1,
        &ndstyle::extractors::BankSpec { sizes: vec![3, 9, 5], maps: 2 },
        0,
    )
    .unwrap();
    let rf = receptive_field(&bank, "relu1").unwrap();
    assert_eq!((rf.size, rf.stride, rf.start), ([9], [1], [-4]));
    assert!(receptive_field(&bank, "nope").is_err());
}

#[test]
fn visualize_crops_pad_with_zeros() {
    let x = Tensor::<2>::from_vec(1, 1, [2, 3], vec![1., 2., 3., 4., 5., 6.]).unwrap();
    let b = visualize::Bounds { lo: [-1, 1], hi: [1, 4] };
    let p = visualize::crop(&x, &b);
    assert_eq!(p.spatial(), [2, 3]);
    assert_eq!(p.data(), &[0., 0., 0., 2., 3., 0.]);
}

#[test]
fn visualize_units_parse() {
    assert_eq!("all".parse::<Units>().unwrap(), Units::All);
    assert_eq!("0, 2,5".parse::<Units>().unwrap(), Units::List(vec![0, 2, 5]));
    assert_eq!("first:3".parse::<Units>().unwrap(), Units::First(3));
    assert!("a,b".parse::<Units>().is_err());
    assert_eq!(Units::First(8).resolve(4).unwrap(), vec![0, 1, 2, 3]);
    assert!(Units::List(vec![4]).resolve(4).is_err());
}

fn rendered_size<const N: usize>(patch: [usize; N], channels: usize, rows: usize, cols: usize) -> [usize; 2] {
    let dir = tempfile::tempdir().unwrap();
    let grid: Vec<Vec<Tensor<N>>> = (0..rows)
        .map(|r| (0..cols).map(|c| Tensor::randn(1, channels, patch, 1.0, (r * 10 + c) as u64)).collect())
        .collect();
    let opts = RenderOptions { cell: 48, scale: Scale::PerPatch };
    let path = dir.path().join("g.png");
    visualize::write_grid(&path, &grid, &opts).unwrap();
    let img = read_image(&path, None).unwrap();
    assert_eq!(img.spatial(), render_grid(&grid, &opts).unwrap().spatial());
    img.spatial()
}

#[test]
fn visualize_renders_grids_of_the_expected_size() {
    // 2D: 5×5 patches upscaled ×9 to 45×45 cells, 1-px separators.
    assert_eq!(rendered_size([5, 5], 3, 2, 3), [2 * 46 + 1, 3 * 46 + 1]);
    // 2D, larger than a cell: shrunk to 48.
    assert_eq!(rendered_size([96, 64], 1, 1, 2), [48 + 2, 2 * 33 + 1]);
    // 1D: 48-px-high plots, at least 48 wide.
    assert_eq!(rendered_size([7], 2, 3, 4), [3 * 49 + 1, 4 * 49 + 1]);
    assert_eq!(rendered_size([50], 1, 1, 1), [49 + 1, 100 + 2]);
    // 3D: three 48×48 mid-slices per cell.
    assert_eq!(rendered_size([3, 3, 3], 1, 2, 2), [2 * 49 + 1, 2 * (146 + 1) + 1]);
    assert!(render_grid::<2>(&[], &RenderOptions::default()).is_err());
}
