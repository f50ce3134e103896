//! The memory budget: every large allocation is sized from shapes first and refused above it.
//!
//! The budget is process-wide: half the machine's memory (`MemTotal` in `/proc/meminfo`; 8 GiB
//! where that cannot be read), changed by `--max-memory 8G` on the command line or `max_memory:`
//! in an experiment. Readers, the runner and the sweep expansion call [`check`] with what they are
//! about to allocate (computed from headers and shapes, never from the data itself), so a hostile
//! or careless input gets a one-line error saying how much it needs instead of an aborted process.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::nn::{Network, Op};

/// How many runs a sweep may expand to.
pub const MAX_RUNS: u128 = 100_000;

/// Bytes a run may allocate at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub bytes: u64,
}

/// 0 means "not set": the machine's default is used.
static LIMIT: AtomicU64 = AtomicU64::new(0);

impl Budget {
    /// Half the machine's memory (`MemTotal` from `/proc/meminfo`), or 8 GiB where unknown.
    pub fn machine_default() -> Budget {
        let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
        Budget { bytes: total.map_or(8 << 30, |kib| kib.saturating_mul(1024) / 2) }
    }

    /// The budget in force: the one [`Budget::install`]ed, or the machine's default.
    pub fn current() -> Budget {
        match LIMIT.load(Ordering::Relaxed) {
            0 => Budget::machine_default(),
            bytes => Budget { bytes },
        }
    }

    /// Make this the process-wide budget.
    pub fn install(self) {
        LIMIT.store(self.bytes.max(1), Ordering::Relaxed);
    }

    /// Parse a size such as `8G`, `512M`, `1.5GiB`, `100k` or a plain number of bytes (powers of
    /// 1024); `what` names the option or key in the error.
    pub fn parse(what: &str, s: &str) -> Result<Budget> {
        let t = s.trim();
        let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let shift = match unit.trim().to_ascii_lowercase().trim_end_matches("ib").trim_end_matches('b') {
            "" => 0,
            "k" => 10,
            "m" => 20,
            "g" => 30,
            "t" => 40,
            _ => {
                return Err(Error::invalid(
                    what,
                    format!("'{s}' (expected a size such as 8G, 512M or 1000000)"),
                ))
            }
        };
        let v: f64 = num.parse().map_err(|_| {
            Error::invalid(what, format!("'{s}' (expected a size such as 8G, 512M or 1000000)"))
        })?;
        let bytes = v * (1u64 << shift) as f64;
        if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
            return Err(Error::invalid(what, format!("'{s}' (must be at least 1 byte)")));
        }
        Ok(Budget { bytes: bytes as u64 })
    }

    /// Refuse `bytes` for `what` above this budget; `hint` names the option that lowers the need.
    pub fn check(&self, what: &str, bytes: u128, hint: &str) -> Result<()> {
        if bytes <= self.bytes as u128 {
            return Ok(());
        }
        Err(Error::Budget(format!(
            "{what} needs {} of memory, above the budget of {}; {hint}, or raise the budget with --max-memory (max_memory: in YAML)",
            human(bytes),
            human(self.bytes as u128)
        )))
    }
}

/// Refuse `bytes` for `what` above the process-wide budget (see [`Budget::check`]).
pub fn check(what: &str, bytes: u128, hint: &str) -> Result<()> {
    Budget::current().check(what, bytes, hint)
}

/// Bytes of `counts.product()` f32 values, without overflow.
pub fn f32_bytes(counts: &[usize]) -> u128 {
    counts.iter().fold(4u128, |acc, &c| acc.saturating_mul(c as u128))
}

/// An estimate of what one evaluation of the objective holds at once through `net`, for an input
/// of `channels × spatial` run as deep as layer index `depth`: every layer's output (channels ×
/// positions × 4 bytes) times 3, for the forward activations, the gradients flowing back and the
/// convolution buffers. A shape the network cannot take gives `None` (the run reports it).
pub fn activation_bytes<const N: usize>(
    net: &Network<N>,
    channels: usize,
    spatial: [usize; N],
    depth: usize,
) -> Option<u128> {
    let (mut c, mut s) = (channels, spatial);
    let mut total = f32_bytes(&[c]).saturating_mul(s.iter().map(|&v| v as u128).product());
    for layer in net.layers().iter().take(depth.saturating_add(1)) {
        match &layer.op {
            Op::Conv(conv) => {
                s = conv.window.resolve(s).ok()?.output;
                c = conv.out_channels();
            }
            Op::Bank(convs) => {
                s = convs.first()?.window.resolve(s).ok()?.output;
                c = convs.iter().map(|k| k.out_channels()).sum();
            }
            Op::MaxPool(w) | Op::AvgPool(w) => s = w.resolve(s).ok()?.output,
            Op::Relu | Op::ChannelAffine { .. } => {}
        }
        let positions: u128 = s.iter().map(|&v| v as u128).product();
        total = total.saturating_add(f32_bytes(&[c]).saturating_mul(positions));
    }
    Some(total.saturating_mul(3))
}

/// Refuse resizing a `channels × spatial` tensor to a longer side of `side` (`--size`,
/// `outputs.size`) above the budget: the result and its interpolation buffer.
pub fn check_resize(channels: usize, spatial: &[usize], side: u32) -> Result<()> {
    let long = spatial.iter().copied().max().unwrap_or(1).max(1) as f64;
    let mut counts = vec![channels, 2];
    counts.extend(spatial.iter().map(|&s| ((s as f64 * side as f64 / long).round() as usize).max(1)));
    check(
        &format!("resizing the result to a longer side of {side}"),
        f32_bytes(&counts),
        "lower --size (outputs.size)",
    )
}

/// `bytes` in B, KiB, MiB, GiB or TiB, one decimal.
pub fn human(bytes: u128) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(Budget::parse("m", "8G").unwrap().bytes, 8 << 30);
        assert_eq!(Budget::parse("m", "512MiB").unwrap().bytes, 512 << 20);
        assert_eq!(Budget::parse("m", "1.5g").unwrap().bytes, 3 << 29);
        assert_eq!(Budget::parse("m", "1000").unwrap().bytes, 1000);
        assert!(Budget::parse("m", "8X").is_err());
        assert!(Budget::parse("m", "").is_err());
        assert!(Budget::parse("m", "0").is_err());
    }

    #[test]
    fn check_names_need_and_hint() {
        let b = Budget { bytes: 1 << 20 };
        assert!(b.check("x", 1 << 20, "h").is_ok());
        let e = b.check("decoding a.png", 3 << 30, "lower --max-side").unwrap_err().to_string();
        assert!(e.contains("a.png") && e.contains("3.0 GiB") && e.contains("1.0 MiB"), "{e}");
        assert!(e.contains("--max-side") && e.contains("--max-memory"), "{e}");
    }
}
