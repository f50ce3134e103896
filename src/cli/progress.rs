//! The progress bar shared by `stylize` and `run`: one bar per optimisation, hidden when quiet.

use indicatif::{ProgressBar, ProgressStyle};
use ndstyle::runner::Progress;

/// A bar over `iters × levels` iterations showing the level, losses and seconds per iteration.
pub struct Bar(ProgressBar);

impl Bar {
    pub fn new(quiet: bool, iterations: usize, levels: usize) -> Self {
        let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new((iterations * levels) as u64) };
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix}{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}{tiles}",
            )
            .expect("a valid template")
            .with_key("tiles", |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                if let Some((at, of)) = ndstyle::tile::progress::current() {
                    let _ = write!(w, " (tile {at}/{of})");
                }
            }),
        );
        if !quiet {
            // Redraw while one long evaluation runs, so the tile count moves.
            bar.enable_steady_tick(std::time::Duration::from_millis(500));
        }
        Bar(bar)
    }

    /// Text shown before the bar (a run's name).
    pub fn prefix(&self, p: String) {
        self.0.set_prefix(p);
    }

    pub fn update(&self, p: &Progress) {
        self.0.set_position((p.level * p.iterations + p.iteration) as u64);
        let style: f64 = p.row.style.iter().sum();
        self.0.set_message(format!(
            "level {}/{} loss {:.3e} (content {:.3e}, style {:.3e}) {:.2} s/it",
            p.level + 1,
            p.levels,
            p.row.total,
            p.row.content,
            style,
            p.seconds_per_iter
        ));
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
