//! Whether a finished run made progress, and why each of its levels stopped.
//!
//! A run has made progress when its final total loss is at most `1 − MIN_DROP` of its starting
//! loss and no level was stopped by the optimiser after fewer than two iterations. A run that
//! did not is reported as a failure (the result is still written, so it can be looked at) unless
//! the user allows it (`--allow-no-progress`, `allow_no_progress:` in YAML).

use super::{LevelStop, Outcome};
use crate::optim::StopReason;

/// The least relative fall of the total loss that counts as progress (10%).
pub const MIN_DROP: f64 = 0.1;

/// One line per level: `level 1/2: 35 iterations, stopped because …`.
pub fn stop_lines(stops: &[LevelStop], levels: usize) -> Vec<String> {
    stops
        .iter()
        .map(|s| {
            format!(
                "level {}/{levels}: {} iterations, stopped: {}",
                s.level + 1,
                s.iterations,
                s.reason.describe()
            )
        })
        .collect()
}

/// Why the run made no progress, or `None` when it did.
pub fn no_progress<const N: usize>(o: &Outcome<N>) -> Option<String> {
    if let Some(s) = o.stops.iter().find(|s| matches!(s.reason, StopReason::Halted(_)) && s.iterations < 2) {
        return Some(format!(
            "no progress: level {} stopped after {} iteration(s) because {}",
            s.level + 1,
            s.iterations,
            s.reason.describe()
        ));
    }
    let (first, last) = (o.log.first()?.total, o.log.last()?.total);
    if !last.is_finite() {
        return Some(format!("no progress: the final loss is {last}"));
    }
    if first > 0.0 && last > (1.0 - MIN_DROP) * first {
        let why = o.stops.last().map(|s| s.reason.describe()).unwrap_or("no iteration was run");
        return Some(format!(
            "no progress: the loss went from {first:.4e} to {last:.4e} (less than a {:.0}% fall); the last level stopped because {why}",
            MIN_DROP * 100.0
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::csv::LossRow;
    use crate::optim::Halt;
    use crate::tensor::Tensor;

    fn outcome(totals: &[f64], stops: Vec<LevelStop>) -> Outcome<1> {
        let log = totals
            .iter()
            .enumerate()
            .map(|(i, &t)| LossRow {
                iteration: i,
                total: t,
                content: 0.0,
                style: vec![],
                tv: 0.0,
                seconds: 0.0,
            })
            .collect();
        Outcome { result: Tensor::zeros(1, 1, [2]), log, style_layers: vec![], stops }
    }

    fn stop(iterations: usize, reason: StopReason) -> LevelStop {
        LevelStop { level: 0, iterations, reason }
    }

    #[test]
    fn a_fall_of_more_than_the_threshold_is_progress() {
        assert_eq!(no_progress(&outcome(&[10.0, 8.9], vec![stop(5, StopReason::MaxIters)])), None);
        let msg = no_progress(&outcome(&[10.0, 9.5], vec![stop(5, StopReason::RelTol)])).unwrap();
        assert!(msg.contains("1.0000e1 to 9.5000e0") && msg.contains("rel_tol"), "{msg}");
    }

    #[test]
    fn a_halt_at_iteration_zero_or_one_is_no_progress_whatever_the_loss() {
        let halted = StopReason::Halted(Halt::NoDecrease);
        let msg = no_progress(&outcome(&[10.0, 1.0], vec![stop(1, halted)])).unwrap();
        assert!(msg.contains("after 1 iteration") && msg.contains("line search"), "{msg}");
        assert_eq!(no_progress(&outcome(&[10.0, 1.0], vec![stop(2, halted)])), None);
        assert!(no_progress(&outcome(&[10.0, f64::NAN], vec![])).is_some());
    }
}
