//! Optimisers: convergence on Rosenbrock and quadratics, bit-identical resume, stopping, bad input.

use ndstyle::optim::{
    minimize, Adam, AdamOptions, Halt, Lbfgs, LbfgsOptions, LineSearch, Objective, OptimState, Optimizer,
    StepInfo, Stop, StopReason, Summary,
};
use ndstyle::rng::Rng;
use ndstyle::{Error, Result};

/// Chained Rosenbrock `Σ 100 (x_{i+1} - x_i²)² + (1 - x_i)²`, computed in f64; minimum 0 at (1, …, 1).
fn rosenbrock(x: &[f32], g: &mut [f32]) -> Result<f32> {
    let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let mut grad = vec![0.0f64; x.len()];
    let mut f = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
        grad[i] += -400.0 * x[i] * a - 2.0 * b;
        grad[i + 1] += 200.0 * a;
    }
    for (gi, v) in g.iter_mut().zip(grad) {
        *gi = v as f32;
    }
    Ok(f as f32)
}

/// `½ xᵀAx - bᵀx + c` with a random SPD `A` (well conditioned) and its minimiser `x* = A⁻¹b` in f64.
/// `c = ½ bᵀx*` makes the minimum 0: the loss is returned as f32, and with a minimum far from 0
/// its rounding (relative 6e-8) would hide the decrease of the last digits of `x` from the line
/// search.
struct Quadratic {
    n: usize,
    a: Vec<f64>,
    b: Vec<f64>,
    c: f64,
}

impl Quadratic {
    fn random(n: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let m: Vec<f64> = (0..n * n).map(|_| rng.normal() as f64).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| m[k * n + i] * m[k * n + j]).sum::<f64>() / n as f64;
            }
            a[i * n + i] += 0.5;
        }
        let b = (0..n).map(|_| rng.normal() as f64).collect();
        let mut q = Quadratic { n, a, b, c: 0.0 };
        q.c = 0.5 * q.b.iter().zip(q.minimiser()).map(|(b, x)| b * x).sum::<f64>();
        q
    }

    /// `A⁻¹ b` by Cholesky.
    fn minimiser(&self) -> Vec<f64> {
        let n = self.n;
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let s: f64 = self.a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
                l[i * n + j] = if i == j { s.sqrt() } else { s / l[j * n + j] };
            }
        }
        let mut y = vec![0.0; n];
        for i in 0..n {
            y[i] = (self.b[i] - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            x[i] = (y[i] - (i + 1..n).map(|k| l[k * n + i] * x[k]).sum::<f64>()) / l[i * n + i];
        }
        x
    }
}

impl Objective for Quadratic {
    fn eval(&mut self, x: &[f32], g: &mut [f32]) -> Result<f32> {
        let n = self.n;
        let mut f = self.c;
        for i in 0..n {
            let ax: f64 = (0..n).map(|j| self.a[i * n + j] * x[j] as f64).sum();
            g[i] = (ax - self.b[i]) as f32;
            f += 0.5 * x[i] as f64 * ax - self.b[i] * x[i] as f64;
        }
        Ok(f as f32)
    }
}

fn run(x: &mut [f32], f: &mut dyn Objective, opt: &mut dyn Optimizer, stop: &Stop) -> Result<Summary> {
    minimize(x, f, opt, stop, &mut |_, _, _, _| Ok(()))
}

fn max_err(x: &[f32], want: &[f64]) -> f64 {
    x.iter().zip(want).map(|(&a, &b)| (a as f64 - b).abs()).fold(0.0, f64::max)
}

fn wolfe() -> Lbfgs {
    Lbfgs::default()
}

fn adam(lr: f32) -> Adam {
    Adam::new(AdamOptions { lr, ..Default::default() }).unwrap()
}

#[test]
fn lbfgs_solves_rosenbrock_2d() {
    let mut x = vec![-1.2f32, 1.0];
    let s = run(&mut x, &mut rosenbrock, &mut wolfe(), &Stop::iters(100)).unwrap();
    assert!(max_err(&x, &[1.0, 1.0]) < 1e-4, "x = {x:?}, {s:?}");
    assert!(s.iters <= 60, "{s:?}");
}

#[test]
fn lbfgs_solves_chained_rosenbrock_10d() {
    let mut x = vec![0.0f32; 10];
    let s = run(&mut x, &mut rosenbrock, &mut wolfe(), &Stop::iters(300)).unwrap();
    assert!(max_err(&x, &[1.0; 10]) < 1e-4, "x = {x:?}, {s:?}");
    assert!(s.iters <= 150, "{s:?}");
}

#[test]
fn lbfgs_fixed_step_decreases_rosenbrock() {
    let opts = LbfgsOptions { line_search: LineSearch::Fixed, ..Default::default() };
    let mut x = vec![-1.2f32, 1.0];
    let mut evals = Vec::new();
    let s = minimize(
        &mut x,
        &mut rosenbrock,
        &mut Lbfgs::new(opts).unwrap(),
        &Stop::iters(50),
        &mut |_, i, _, _| {
            evals.push(i.evals);
            Ok(())
        },
    )
    .unwrap();
    // One evaluation per iteration, plus the first at the start point.
    assert_eq!(evals[0], 2);
    assert!(evals[1..].iter().all(|&e| e == 1), "{evals:?}");
    assert!(s.loss.unwrap() < 24.2 / 4.0, "{s:?}");
}

#[test]
fn adam_reduces_rosenbrock_100_fold() {
    let mut x = vec![-1.2f32, 1.0];
    let mut f0 = 0.0;
    let s = minimize(&mut x, &mut rosenbrock, &mut adam(0.02), &Stop::iters(1500), &mut |i, info, _, _| {
        if i == 1 {
            f0 = info.prev_loss;
        }
        Ok(())
    })
    .unwrap();
    assert!((f0 - 24.2).abs() < 1e-3);
    assert!(s.loss.unwrap() < f0 / 100.0, "{s:?}");
    assert_eq!(s.evals, 1501);
}

#[test]
fn both_reach_the_minimiser_of_a_quadratic() {
    for (n, seed) in [(5, 1), (8, 2)] {
        let mut q = Quadratic::random(n, seed);
        let want = q.minimiser();
        let mut x = vec![0.0f32; n];
        let s = run(&mut x, &mut q, &mut wolfe(), &Stop::iters(100)).unwrap();
        assert!(max_err(&x, &want) < 1e-4, "lbfgs n={n}: {x:?} vs {want:?}, {s:?}");
        assert!(s.iters <= 4 * n, "lbfgs n={n}: {s:?}");

        let mut x = vec![0.0f32; n];
        let s = run(&mut x, &mut q, &mut adam(0.05), &Stop::iters(3000)).unwrap();
        assert!(max_err(&x, &want) < 1e-3, "adam n={n}: {x:?} vs {want:?}, {s:?}");
    }
}

/// Runs `total` iterations straight and as `split` + checkpoint-through-bytes + the rest.
fn assert_resume_is_bit_identical(make: &dyn Fn() -> Box<dyn Optimizer>, split: usize, total: usize) {
    let x0: Vec<f32> = (0..10).map(|i| if i % 2 == 0 { -1.2 } else { 1.0 }).collect();
    let mut straight_log = Vec::new();
    let mut x_straight = x0.clone();
    let mut opt = make();
    minimize(&mut x_straight, &mut rosenbrock, opt.as_mut(), &Stop::iters(total), &mut |i, info, _, _| {
        straight_log.push((i, *info));
        Ok(())
    })
    .unwrap();

    let mut log: Vec<(usize, StepInfo)> = Vec::new();
    let mut x = x0.clone();
    let mut opt = make();
    minimize(&mut x, &mut rosenbrock, opt.as_mut(), &Stop::iters(split), &mut |i, info, _, _| {
        log.push((i, *info));
        Ok(())
    })
    .unwrap();
    // Checkpoint: the optimiser state through bytes; the first optimiser is dropped.
    let bytes = opt.state().to_bytes();
    drop(opt);
    let mut resumed = OptimState::from_bytes(&bytes).unwrap().into_optimizer();
    let stop = Stop::iters(total).starting_at(split);
    let s = minimize(&mut x, &mut rosenbrock, resumed.as_mut(), &stop, &mut |i, info, _, _| {
        log.push((i, *info));
        Ok(())
    })
    .unwrap();
    assert_eq!(s.iters, total);
    assert_eq!(x, x_straight, "final iterate differs after resume");
    assert_eq!(log, straight_log);
    assert_ne!(x, x0);
}

#[test]
fn lbfgs_resume_is_bit_identical() {
    assert_resume_is_bit_identical(&|| Box::new(Lbfgs::default()), 8, 20);
}

#[test]
fn lbfgs_fixed_resume_is_bit_identical() {
    let opts = LbfgsOptions { line_search: LineSearch::Fixed, history: 3, lr: 0.5, ..Default::default() };
    assert_resume_is_bit_identical(&|| Box::new(Lbfgs::new(opts).unwrap()), 8, 20);
}

#[test]
fn adam_resume_is_bit_identical() {
    assert_resume_is_bit_identical(&|| Box::new(adam(0.01)), 8, 20);
}

#[test]
fn restore_into_existing_optimizer_and_kind_mismatch() {
    let mut x = vec![-1.2f32, 1.0];
    let mut a = Lbfgs::default();
    run(&mut x, &mut rosenbrock, &mut a, &Stop::iters(5)).unwrap();
    let state = OptimState::from_bytes(&a.state().to_bytes()).unwrap();
    let mut b = Lbfgs::new(LbfgsOptions { history: 3, ..Default::default() }).unwrap();
    b.restore(state.clone()).unwrap();
    assert_eq!(b, a);
    let err = adam(0.1).restore(state).unwrap_err().to_string();
    assert!(err.contains("lbfgs"), "{err}");
}

#[test]
fn rel_tol_stops_early_on_a_converged_problem() {
    let mut q = Quadratic::random(6, 3);
    let mut x = vec![0.0f32; 6];
    let s = run(&mut x, &mut q, &mut adam(0.05), &Stop::iters(5000).with_rel_tol(1e-6)).unwrap();
    assert_eq!(s.reason, StopReason::RelTol, "{s:?}");
    assert!(s.iters < 5000);
    let mut x = vec![0.0f32; 6];
    let s = run(&mut x, &mut q, &mut wolfe(), &Stop::iters(500).with_rel_tol(1e-5)).unwrap();
    assert!(matches!(s.reason, StopReason::RelTol | StopReason::Halted(_)), "{s:?}");
    assert!(s.iters < 100, "{s:?}");
    let err = run(&mut x, &mut q, &mut wolfe(), &Stop::iters(5).with_rel_tol(f32::NAN)).unwrap_err();
    assert!(err.to_string().contains("rel_tol"), "{err}");
}

#[test]
fn zero_gradient_means_converged() {
    let mut flat = |_: &[f32], _: &mut [f32]| -> Result<f32> { Ok(3.0) };
    for opt in [&mut wolfe() as &mut dyn Optimizer, &mut adam(0.1)] {
        let mut x = vec![0.5f32, -2.0];
        let mut calls = 0;
        let s = minimize(&mut x, &mut flat, opt, &Stop::iters(10), &mut |_, _, _, _| {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(s.reason, StopReason::Halted(Halt::ZeroGradient));
        assert_eq!((s.iters, s.evals, s.loss, calls), (0, 1, Some(3.0), 0));
        assert_eq!(x, vec![0.5, -2.0]);
    }
}

#[test]
fn nan_from_the_objective_is_an_error() {
    for opt in [&mut wolfe() as &mut dyn Optimizer, &mut adam(0.1)] {
        let mut calls = 0;
        let mut nan_later = |x: &[f32], g: &mut [f32]| -> Result<f32> {
            calls += 1;
            if calls > 3 {
                return Ok(f32::NAN);
            }
            rosenbrock(x, g)
        };
        let mut x = vec![-1.2f32, 1.0];
        let err = run(&mut x, &mut nan_later, opt, &Stop::iters(50)).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }));
        let msg = err.to_string();
        assert!(msg.contains("NaN") && msg.contains("objective"), "{msg}");
    }
    let mut nan_grad = |_: &[f32], g: &mut [f32]| -> Result<f32> {
        g[0] = f32::NAN;
        Ok(1.0)
    };
    let err = run(&mut [1.0, 2.0], &mut nan_grad, &mut adam(0.1), &Stop::iters(5)).unwrap_err();
    assert!(err.to_string().contains("gradient"), "{err}");
    let err = run(&mut [f32::NAN], &mut rosenbrock, &mut wolfe(), &Stop::iters(5)).unwrap_err();
    assert!(err.to_string().contains("x[0]"), "{err}");
}

#[test]
fn objective_errors_and_callback_errors_propagate() {
    let mut failing = |_: &[f32], _: &mut [f32]| -> Result<f32> { Err(Error::invalid("thing", "broken")) };
    let err = run(&mut [1.0], &mut failing, &mut wolfe(), &Stop::iters(5)).unwrap_err();
    assert!(err.to_string().contains("broken"));
    let err =
        minimize(&mut [-1.2, 1.0], &mut rosenbrock, &mut wolfe(), &Stop::iters(5), &mut |i, _, _, _| {
            if i == 2 {
                Err(Error::invalid("checkpoint", "disk full"))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    assert!(err.to_string().contains("disk full"));
}

#[test]
fn dimension_change_is_an_error() {
    let mut opt = adam(0.1);
    run(&mut [1.0, 2.0], &mut rosenbrock, &mut opt, &Stop::iters(2)).unwrap();
    let err = run(&mut [1.0, 2.0, 3.0], &mut rosenbrock, &mut opt, &Stop::iters(2)).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
    let mut opt = wolfe();
    run(&mut [1.0, 2.0], &mut rosenbrock, &mut opt, &Stop::iters(3)).unwrap();
    let err = run(&mut [1.0, 2.0, 3.0], &mut rosenbrock, &mut opt, &Stop::iters(2)).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
}

#[test]
fn start_iter_at_or_past_max_does_nothing() {
    let mut x = vec![-1.2f32, 1.0];
    let s = run(&mut x, &mut rosenbrock, &mut wolfe(), &Stop::iters(5).starting_at(5)).unwrap();
    assert_eq!((s.iters, s.evals, s.loss, s.reason), (5, 0, None, StopReason::MaxIters));
    assert_eq!(x, vec![-1.2, 1.0]);
}

#[test]
fn bad_state_bytes_are_errors() {
    let mut x = vec![-1.2f32, 1.0, 0.3];
    let mut l = Lbfgs::default();
    run(&mut x, &mut rosenbrock, &mut l, &Stop::iters(4)).unwrap();
    let mut a = adam(0.1);
    run(&mut x, &mut rosenbrock, &mut a, &Stop::iters(4)).unwrap();
    for state in [l.state(), a.state(), Lbfgs::default().state(), adam(0.1).state()] {
        let bytes = state.to_bytes();
        let back = OptimState::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes);
        for len in 0..bytes.len() {
            let err = OptimState::from_bytes(&bytes[..len]).unwrap_err();
            assert!(matches!(err, Error::Invalid { .. }), "prefix {len}: {err}");
        }
        for pos in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[pos] ^= 0x10;
            let err = OptimState::from_bytes(&bad).unwrap_err().to_string();
            assert!(err.contains("optimiser state"), "byte {pos}: {err}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(OptimState::from_bytes(&longer).is_err());
    }
    let bytes = l.state().to_bytes();
    let err = OptimState::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err().to_string();
    assert!(err.contains("truncated") || err.contains("corrupted"), "{err}");
    let err = OptimState::from_bytes(b"PNG\x89 not a state").unwrap_err().to_string();
    assert!(err.contains("magic"), "{err}");
    let mut future = bytes.clone();
    future[8] = 9;
    let err = OptimState::from_bytes(&future).unwrap_err().to_string();
    assert!(err.contains("version 9"), "{err}");
}

#[test]
fn a_line_search_that_cannot_decrease_says_so() {
    // A gradient of the wrong sign: every direction it suggests raises the loss.
    let mut wrong = |x: &[f32], g: &mut [f32]| -> Result<f32> {
        x.iter().zip(g.iter_mut()).for_each(|(v, gi)| *gi = -2.0 * v);
        Ok(x.iter().map(|v| v * v).sum())
    };
    let mut x = vec![0.5f32, -2.0];
    let s = minimize(&mut x, &mut wrong, &mut wolfe(), &Stop::iters(10), &mut |_, _, _, _| Ok(())).unwrap();
    assert_eq!(s.reason, StopReason::Halted(Halt::NoDecrease), "{s:?}");
    assert_eq!((s.iters, x), (0, vec![0.5, -2.0]));
    assert!(s.reason.describe().contains("line search"));
    assert_eq!(s.reason.name(), "line_search_failed");
}
