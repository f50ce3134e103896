//! The style-transfer objective in 1D, 2D and 3D: gradients of the whole objective and closed forms of the losses.

use ndstyle::extractors::{random_bank, random_vgg, BankSpec, Pooling, VggShape};
use ndstyle::losses::{content_loss, style_loss, Normalization, Objective, Weights};
use ndstyle::nn::Network;
use ndstyle::tensor::gram::gram;
use ndstyle::tensor::Tensor;

/// `<∇J(x), v>` against the central difference of J along unit directions `v`: the gradient's own
/// direction and two random ones. Errors are measured against `|∇J|`, the largest slope possible,
/// so f32 rounding in nearly flat directions does not dominate.
fn check_directional<const N: usize>(obj: &Objective<N>, x: &Tensor<N>, what: &str) {
    let (_, grad) = obj.eval(x).unwrap();
    let norm = grad.dot(&grad).sqrt();
    assert!(norm > 0.0, "{what}: zero gradient");
    let unit = |t: Tensor<N>| {
        let n = t.dot(&t).sqrt() as f32;
        t.map(|v| v / n)
    };
    let mut dirs = vec![unit(grad.clone())];
    dirs.extend((0..2).map(|s| unit(Tensor::randn(x.batch(), x.channels(), x.spatial(), 1.0, 100 + s))));
    for v in dirs {
        // The objective is quartic with ReLU kinks: a small step measures the slope, not the curvature.
        let eps = 1e-3f32;
        let mut xp = x.clone();
        xp.axpy(eps, &v).unwrap();
        let mut xm = x.clone();
        xm.axpy(-eps, &v).unwrap();
        let fd = (obj.eval(&xp).unwrap().0.total - obj.eval(&xm).unwrap().0.total) / (2.0 * eps as f64);
        let an = grad.dot(&v);
        let err = (fd - an).abs() / norm;
        assert!(
            err < 1e-2,
            "{what}: directional derivative {an} vs finite difference {fd} (error {err} of |∇J| = {norm})"
        );
    }
}

fn objective_gradient<const N: usize>(
    net: &Network<N>,
    channels: usize,
    size: [usize; N],
    norm: Normalization,
) {
    let content = Tensor::uniform(1, channels, size, 0.0, 1.0, 1);
    let style = Tensor::uniform(1, channels, size, 0.0, 1.0, 2);
    let style2 = Tensor::uniform(1, channels, size, 0.0, 1.0, 3);
    let names = net.layer_names();
    let relus: Vec<String> = names.iter().filter(|n| n.starts_with("relu")).map(|s| s.to_string()).collect();
    let style_layers: Vec<(String, f64)> = relus.iter().map(|n| (n.clone(), 0.5)).collect();
    let content_layers = vec![relus.last().unwrap().clone()];
    let weights = Weights { content: 2.0, style: 1e3, tv: 0.3, norm };
    let obj = Objective::new(
        net,
        weights,
        Some((&content, &content_layers)),
        &[(&style, 1.0), (&style2, 3.0)],
        &style_layers,
    )
    .unwrap();
    let x = Tensor::uniform(1, channels, size, 0.0, 1.0, 4);
    check_directional(&obj, &x, &format!("rank {N}, {norm:?}"));
}

#[test]
fn objective_gradient_matches_finite_differences_in_every_rank() {
    let bank = BankSpec { sizes: vec![1, 3, 5], maps: 4 };
    let vgg = VggShape { blocks: vec![(1, 4), (2, 6)] };
    for norm in [Normalization::Lecture, Normalization::Gatys, Normalization::Johnson] {
        objective_gradient(&random_bank::<1>(2, &bank, 5).unwrap(), 2, [17], norm);
        objective_gradient(&random_bank::<2>(3, &bank, 5).unwrap(), 3, [9, 8], norm);
        objective_gradient(&random_bank::<3>(1, &bank, 5).unwrap(), 1, [6, 5, 7], norm);
    }
    for pooling in [Pooling::Max, Pooling::Avg] {
        objective_gradient(&random_vgg::<1>(2, &vgg, pooling, 6).unwrap(), 2, [20], Normalization::Lecture);
        objective_gradient(
            &random_vgg::<2>(3, &vgg, pooling, 6).unwrap(),
            3,
            [10, 12],
            Normalization::Lecture,
        );
        objective_gradient(
            &random_vgg::<3>(1, &vgg, pooling, 6).unwrap(),
            1,
            [6, 8, 6],
            Normalization::Lecture,
        );
    }
}

/// The lecture's closed forms, computed here by plain loops over the definitions.
#[test]
fn losses_match_the_lecture_closed_forms() {
    let (c, p) = (3usize, 10usize);
    let a = Tensor::<1>::randn(1, c, [p], 1.0, 9);
    let t = Tensor::<1>::randn(1, c, [p], 1.0, 10);
    let (j, g) = content_loss(&a, &t, Normalization::Lecture).unwrap();
    let want: f64 = a.data().iter().zip(t.data()).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>()
        / (4.0 * (c * p) as f64);
    assert!((j - want).abs() < 1e-9 * want.max(1.0));
    for (i, gv) in g.data().iter().enumerate() {
        let closed = 2.0 * (a.data()[i] - t.data()[i]) as f64 / (4.0 * (c * p) as f64);
        assert!((*gv as f64 - closed).abs() < 1e-6);
    }
    // Style: J = 1/(2·n_C·P)² Σ (G(S) − G(G))², ∂J/∂a = 4/(2·n_C·P)² (G(G) − G(S))·a.
    let gs = gram(&t, 1.0);
    let (j, g) = style_loss(&a, &gs, Normalization::Lecture).unwrap();
    let ga = gram(&a, 1.0);
    let k = 1.0 / (2.0 * (c * p) as f64).powi(2);
    let diff: Vec<f64> = ga.data().iter().zip(gs.data()).map(|(x, y)| (*x - *y) as f64).collect();
    let want = k * diff.iter().map(|d| d * d).sum::<f64>();
    assert!((j - want).abs() < 1e-6 * want);
    for ch in 0..c {
        for i in 0..p {
            let closed: f64 =
                4.0 * k * (0..c).map(|m| diff[ch * c + m] * a.at(0, m, [i]) as f64).sum::<f64>();
            let got = g.at(0, ch, [i]) as f64;
            assert!(
                (got - closed).abs() < 1e-4 * closed.abs().max(1e-3),
                "style gradient at ({ch},{i}): {got} vs {closed}"
            );
        }
    }
}

#[test]
fn style_blend_is_the_weighted_mean_of_grams() {
    let net = random_bank::<2>(1, &BankSpec { sizes: vec![3], maps: 3 }, 1).unwrap();
    let s1 = Tensor::<2>::uniform(1, 1, [6, 6], 0.0, 1.0, 1);
    let s2 = Tensor::<2>::uniform(1, 1, [6, 6], 0.0, 1.0, 2);
    let w = Weights { content: 0.0, style: 1.0, tv: 0.0, norm: Normalization::Lecture };
    let layers = vec![("relu1".to_string(), 1.0)];
    let blend = Objective::new(&net, w.clone(), None, &[(&s1, 1.0), (&s2, 3.0)], &layers).unwrap();
    let one = Objective::new(&net, w.clone(), None, &[(&s1, 1.0)], &layers).unwrap();
    let two = Objective::new(&net, w, None, &[(&s2, 1.0)], &layers).unwrap();
    let (g, g1, g2) =
        (&blend.style_targets()[0].gram, &one.style_targets()[0].gram, &two.style_targets()[0].gram);
    for i in 0..g.data().len() {
        assert!((g.data()[i] - (0.25 * g1.data()[i] + 0.75 * g2.data()[i])).abs() < 1e-4);
    }
}
