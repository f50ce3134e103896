//! ECG and physiological signals: CSV in and out (a column per lead), and a synthetic ECG (ECGSYN).

use std::f64::consts::PI;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// What a signal file carries besides its samples; written back unchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct SignalMeta {
    /// Sampling rate in Hz.
    pub fs: f64,
    /// One name per lead (column), in file order.
    pub leads: Vec<String>,
}

/// Read a CSV signal: optional `#` comment lines (one may give the rate: `# fs=500`, `# fs = 500 Hz`,
/// `# sampling_rate_hz=360`, `# sample_rate: 360`; see [`RATE_KEYS`]), a header row of lead names,
/// then one row of numbers per sample. Returns a `1 × leads × T` tensor.
///
/// A first column named `time`, `t`, `seconds` or `time_s` (any case) holds sample times in
/// seconds: the rate is the inverse of their spacing, which must be uniform within 1% (snapped to
/// a whole number of Hz when within 0.1% of one), and the column is dropped (outputs are written
/// without it, with a `# fs=` line). The sampling rate comes from the file (comment or time
/// column; both must agree within 1%), else from `fs`; an error if neither gives it, or if both do
/// and disagree. Empty, ragged, non-numeric, NaN or infinite rows are errors naming the file and
/// the line.
pub fn read_csv(path: &Path, fs: Option<f64>) -> Result<(Tensor<1>, SignalMeta)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |line: usize, detail: String| Error::format(path, format!("line {line}: {detail}"));
    let mut file_fs: Option<f64> = None;
    let mut leads: Option<Vec<String>> = None;
    let mut columns: Vec<Vec<f32>> = Vec::new();
    let mut time: Option<(String, Vec<f64>)> = None;
    let lines: Vec<&str> = text.lines().collect();
    let last_content = lines.iter().rposition(|l| !l.trim().is_empty());
    let Some(last_content) = last_content else {
        return Err(Error::format(path, "empty file: no header row and no samples"));
    };
    for (i, raw) in lines[..=last_content].iter().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(v) = parse_fs_comment(comment) {
                let v = v.map_err(|d| bad(n, d))?;
                file_fs = Some(v);
            }
            continue;
        }
        if line.is_empty() {
            return Err(bad(n, "empty row".into()));
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let Some(names) = &leads else {
            if fields.iter().all(|f| f.parse::<f64>().is_ok()) {
                return Err(bad(n, "expected a header row of lead names, found numbers".into()));
            }
            if let Some(j) = fields.iter().position(|f| f.is_empty()) {
                return Err(bad(n, format!("empty lead name in column {}", j + 1)));
            }
            let mut names: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
            if names.len() > 1 && TIME_COLUMNS.iter().any(|t| names[0].eq_ignore_ascii_case(t)) {
                time = Some((names.remove(0), Vec::new()));
            }
            columns = vec![Vec::new(); names.len()];
            leads = Some(names);
            continue;
        };
        let skip = usize::from(time.is_some());
        if fields.len() != names.len() + skip {
            return Err(bad(
                n,
                format!("ragged row: {} values, the header has {} columns", fields.len(), names.len() + skip),
            ));
        }
        if let Some((name, times)) = &mut time {
            let f = fields[0];
            match f.parse::<f64>() {
                Ok(v) if v.is_finite() => times.push(v),
                _ => return Err(bad(n, format!("column 1 ({name}): '{f}' is not a finite time in seconds"))),
            }
        }
        for (j, f) in fields[skip..].iter().enumerate() {
            let j_file = j + skip;
            let v: f32 =
                f.parse().map_err(|_| bad(n, format!("column {}: '{f}' is not a number", j_file + 1)))?;
            if !v.is_finite() {
                return Err(bad(n, format!("column {} ({}): value {f} is not finite", j_file + 1, names[j])));
            }
            columns[j].push(v);
        }
    }
    let Some(leads) = leads else {
        return Err(Error::format(path, "no header row of lead names"));
    };
    let t = columns[0].len();
    if t == 0 {
        return Err(Error::format(path, "header row but no samples"));
    }
    if let Some((name, times)) = &time {
        let from_times =
            rate_from_times(times).map_err(|d| Error::format(path, format!("column 1 ({name}): {d}")))?;
        if let Some(c) = file_fs.filter(|c| (c - from_times).abs() > 0.01 * c) {
            return Err(Error::format(
                path,
                format!("the rate comment says {c} Hz but the {name} column spacing gives {from_times} Hz"),
            ));
        }
        file_fs = file_fs.or(Some(from_times));
    }
    let fs = match (file_fs, fs) {
        (Some(a), Some(b)) if (a - b).abs() > 1e-9 * a.abs().max(1.0) => {
            return Err(Error::format(path, format!("the file says fs={a} but fs={b} was given")));
        }
        (Some(a), _) => a,
        (None, Some(b)) if b.is_finite() && b > 0.0 => b,
        (None, Some(b)) => return Err(Error::invalid("sampling rate", format!("{b} (must be > 0)"))),
        (None, None) => {
            return Err(Error::format(
                path,
                "no sampling rate: add a '# fs=<Hz>' comment line or give the rate as an option",
            ))
        }
    };
    let data = columns.concat();
    let tensor = Tensor::from_vec(1, leads.len(), [t], data)?;
    Ok((tensor, SignalMeta { fs, leads }))
}

/// The comment keys that give the sampling rate in Hz (any case; spaces or `-` read as `_`).
pub const RATE_KEYS: [&str; 8] = [
    "fs",
    "sampling_rate",
    "sampling_rate_hz",
    "sample_rate",
    "sample_rate_hz",
    "sampling_frequency",
    "sampling_frequency_hz",
    "srate",
];

/// The names of a first column of sample times in seconds (any case).
pub const TIME_COLUMNS: [&str; 4] = ["time", "t", "seconds", "time_s"];

/// `Some(Ok(fs))` when a comment reads `KEY=500` or `KEY: 500` for a key of [`RATE_KEYS`] (spaces
/// and a `Hz` suffix allowed), `Some(Err)` when it names the rate but the value is bad, `None` for
/// other comments.
fn parse_fs_comment(comment: &str) -> Option<std::result::Result<f64, String>> {
    let c = comment.trim();
    let (key, value) = c.split_once('=').or_else(|| c.split_once(':'))?;
    let key = key.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    if !RATE_KEYS.contains(&key.as_str()) {
        return None;
    }
    let value = value.trim();
    let number = value.strip_suffix("Hz").or_else(|| value.strip_suffix("hz")).unwrap_or(value).trim();
    Some(match number.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("bad sampling rate '{value}' in the {key} comment")),
    })
}

/// The sampling rate of uniformly spaced sample times: `(n − 1)/(t_last − t_first)`, every step
/// within 1% of the mean, snapped to a whole number of Hz when within 0.1% of one.
fn rate_from_times(t: &[f64]) -> std::result::Result<f64, String> {
    if t.len() < 2 {
        return Err("one sample time gives no sampling rate".into());
    }
    let step = (t[t.len() - 1] - t[0]) / (t.len() - 1) as f64;
    if !(step > 0.0 && step.is_finite()) {
        return Err(format!("times from {} to {} s do not increase", t[0], t[t.len() - 1]));
    }
    if let Some(i) = (1..t.len()).find(|&i| ((t[i] - t[i - 1]) - step).abs() > 0.01 * step) {
        return Err(format!(
            "times are not uniform: step {} s before sample {} against a mean of {step} s (1% allowed)",
            t[i] - t[i - 1],
            i + 1
        ));
    }
    let fs = 1.0 / step;
    Ok(if (fs - fs.round()).abs() <= 1e-3 * fs && fs.round() > 0.0 { fs.round() } else { fs })
}

/// Write a `1 × leads × T` tensor as CSV with `# fs=…`, the header row of lead names, and one row
/// per sample (shortest exact decimal for each f32, so a read gives back identical values).
pub fn write_csv(path: &Path, signal: &Tensor<1>, meta: &SignalMeta) -> Result<()> {
    if signal.batch() != 1 || signal.channels() != meta.leads.len() {
        return Err(Error::shape(
            "signal::write_csv",
            format!(
                "tensor {} does not match {} lead names (batch must be 1)",
                signal.shape_string(),
                meta.leads.len()
            ),
        ));
    }
    if let Some(name) = meta.leads.iter().find(|n| n.is_empty() || n.contains([',', '\n', '\r'])) {
        return Err(Error::invalid(
            "lead name",
            format!("'{name}' (must be non-empty, without commas or newlines)"),
        ));
    }
    if !(meta.fs.is_finite() && meta.fs > 0.0) {
        return Err(Error::invalid("sampling rate", format!("{} (must be > 0)", meta.fs)));
    }
    crate::io::ensure_finite(path, signal.data())?;
    let [t] = signal.spatial();
    let mut out = format!("# fs={}\n{}\n", meta.fs, meta.leads.join(","));
    for i in 0..t {
        for c in 0..signal.channels() {
            if c > 0 {
                out.push(',');
            }
            out.push_str(&signal.channel(0, c)[i].to_string());
        }
        out.push('\n');
    }
    super::write_via_temp(path, |tmp| {
        let mut f = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        f.write_all(out.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| Error::io(tmp, e))
    })
}

/// Parameters of the ECGSYN model (McSharry, Clifford, Tarassenko & Smith 2003).
#[derive(Clone, Debug, PartialEq)]
pub struct EcgParams {
    /// Mean heart rate in beats per minute.
    pub heart_rate: f64,
    /// Length in seconds.
    pub duration: f64,
    /// Sampling rate in Hz (the RK4 step is 1/fs).
    pub fs: f64,
    /// Angles θ_i of the P, Q, R, S, T events (radians), at 60 bpm.
    pub theta: [f64; 5],
    /// Amplitudes a_i of the P, Q, R, S, T events.
    pub a: [f64; 5],
    /// Widths b_i of the P, Q, R, S, T events (radians), at 60 bpm.
    pub b: [f64; 5],
}

impl EcgParams {
    /// The paper's Table 1 values at the given heart rate, duration and sampling rate.
    pub fn new(heart_rate: f64, duration: f64, fs: f64) -> Self {
        EcgParams {
            heart_rate,
            duration,
            fs,
            theta: [-PI / 3.0, -PI / 12.0, 0.0, PI / 12.0, PI / 2.0],
            a: [1.2, -5.0, 30.0, -7.5, 0.75],
            b: [0.25, 0.1, 0.1, 0.1, 0.4],
        }
    }

    fn check(&self) -> Result<()> {
        let ok = self.heart_rate.is_finite()
            && (20.0..=300.0).contains(&self.heart_rate)
            && self.duration.is_finite()
            && self.duration > 0.0
            && self.fs.is_finite()
            && self.fs >= 50.0;
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                "ECG parameters",
                format!(
                    "heart rate {} bpm (20..300), duration {} s (> 0), fs {} Hz (>= 50)",
                    self.heart_rate, self.duration, self.fs
                ),
            ))
        }
    }
}

/// Integrate the ECGSYN ODEs with RK4 at `fs` for each amplitude set in `amps`, returning the raw
/// z trajectories. The angles and widths are scaled with heart rate as ECGSYN does
/// (b_i and the Q, S angles by √(hr/60), the P, T angles by (hr/60)^¼).
fn integrate(p: &EcgParams, amps: &[[f64; 5]]) -> Vec<Vec<f64>> {
    let hrfact = (p.heart_rate / 60.0).sqrt();
    let hrfact2 = hrfact.sqrt();
    let scale = [hrfact2, hrfact, 1.0, hrfact, hrfact2];
    let theta: Vec<f64> = (0..5).map(|i| p.theta[i] * scale[i]).collect();
    let b: Vec<f64> = p.b.iter().map(|b| b * hrfact).collect();
    let omega = 2.0 * PI * p.heart_rate / 60.0;
    let h = 1.0 / p.fs;
    let n = (p.duration * p.fs).round().max(1.0) as usize;
    amps.iter()
        .map(|a| {
            let deriv = |s: [f64; 3]| -> [f64; 3] {
                let [x, y, z] = s;
                let alpha = 1.0 - (x * x + y * y).sqrt();
                let th = y.atan2(x);
                let mut dz = 0.0;
                for i in 0..5 {
                    let d = (th - theta[i] + PI).rem_euclid(2.0 * PI) - PI;
                    dz -= a[i] * d * (-d * d / (2.0 * b[i] * b[i])).exp();
                }
                [alpha * x - omega * y, alpha * y + omega * x, dz - z]
            };
            // Start half a beat before the R wave so that every beat in the record is whole, and
            // run whole beats for at least 5 s first (z relaxes with a 1 s time constant) so that
            // the start-up transient is not recorded.
            let mut s = [-1.0, 0.0, 0.0];
            let beats = (5.0 * p.heart_rate / 60.0).ceil();
            let warmup = (beats * p.fs * 60.0 / p.heart_rate).round() as usize;
            let mut out = Vec::with_capacity(n);
            for step in 0..warmup + n {
                if step >= warmup {
                    out.push(s[2]);
                }
                let k1 = deriv(s);
                let k2 = deriv(add(s, k1, h / 2.0));
                let k3 = deriv(add(s, k2, h / 2.0));
                let k4 = deriv(add(s, k3, h));
                for j in 0..3 {
                    s[j] += h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j]);
                }
            }
            out
        })
        .collect()
}

fn add(s: [f64; 3], k: [f64; 3], h: f64) -> [f64; 3] {
    [s[0] + h * k[0], s[1] + h * k[1], s[2] + h * k[2]]
}

/// A clean single-lead synthetic ECG in millivolts, scaled as ECGSYN does to [-0.4, 1.2] mV.
/// The first R peak is half a beat in; R peaks follow every 60/heart_rate seconds.
pub fn synth_ecg(params: &EcgParams) -> Result<Vec<f32>> {
    params.check()?;
    let z = integrate(params, &[params.a]);
    Ok(scale_like_first(&z).remove(0))
}

/// Lead names and amplitude multipliers (P, Q, R, S, T) of the multi-lead variant: rough limb and
/// precordial morphologies (lead III with a smaller R, V1 with an rS complex and inverted T).
const LEADS: [(&str, [f64; 5]); 6] = [
    ("II", [1.0, 1.0, 1.0, 1.0, 1.0]),
    ("I", [0.6, 0.8, 0.6, 0.5, 0.7]),
    ("III", [0.5, 0.6, 0.4, 1.4, 0.4]),
    ("V1", [0.4, 0.2, 0.25, 3.0, -0.5]),
    ("V2", [0.5, 0.5, 0.55, 2.2, 1.3]),
    ("V5", [0.7, 1.2, 1.1, 0.5, 1.1]),
];

/// A multi-lead synthetic ECG: `leads` (1..=6) leads II, I, III, V1, V2, V5 made by the same
/// dynamical model with per-lead a_i, on a common millivolt scale (lead II spans [-0.4, 1.2] mV).
pub fn synth_ecg_leads(params: &EcgParams, leads: usize) -> Result<(Tensor<1>, SignalMeta)> {
    params.check()?;
    if !(1..=LEADS.len()).contains(&leads) {
        return Err(Error::invalid("number of ECG leads", format!("{leads} (1..={})", LEADS.len())));
    }
    let amps: Vec<[f64; 5]> =
        LEADS[..leads].iter().map(|(_, m)| std::array::from_fn(|i| params.a[i] * m[i])).collect();
    let z = scale_like_first(&integrate(params, &amps));
    let t = z[0].len();
    let tensor = Tensor::from_vec(1, leads, [t], z.concat())?;
    let meta =
        SignalMeta { fs: params.fs, leads: LEADS[..leads].iter().map(|(n, _)| n.to_string()).collect() };
    Ok((tensor, meta))
}

/// Map every trajectory by the affine map that takes the first one's range to [-0.4, 1.2] mV.
fn scale_like_first(z: &[Vec<f64>]) -> Vec<Vec<f32>> {
    let (lo, hi) = z[0].iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    let k = if hi > lo { 1.6 / (hi - lo) } else { 1.0 };
    z.iter().map(|zs| zs.iter().map(|&v| ((v - lo) * k - 0.4) as f32).collect()).collect()
}

/// Indices of R peaks: local maxima above 70% of the range (T waves reach ~45%) at least 0.2 s apart (a simple detector used
/// by the tests and for checking generated samples).
pub fn r_peaks(x: &[f32], fs: f64) -> Vec<usize> {
    let max = x.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let min = x.iter().cloned().fold(f32::INFINITY, f32::min);
    let thr = min + 0.7 * (max - min);
    let gap = (0.2 * fs) as usize;
    let mut peaks: Vec<usize> = Vec::new();
    for i in 1..x.len().saturating_sub(1) {
        if x[i] > thr && x[i] >= x[i - 1] && x[i] > x[i + 1] {
            match peaks.last() {
                Some(&p) if i - p < gap => {
                    if x[i] > x[p] {
                        *peaks.last_mut().unwrap() = i;
                    }
                }
                _ => peaks.push(i),
            }
        }
    }
    peaks
}

/// CSV signals as a format.
pub struct Csv;

impl super::format::Format for Csv {
    fn name(&self) -> &'static str {
        "csv"
    }
    fn kind(&self) -> Option<super::Kind> {
        Some(super::Kind::Signal)
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["csv"]
    }
    fn about(&self) -> super::format::About {
        super::format::About {
            spelling: "`.csv`",
            tensor: "`1 × leads × T`",
            channels: "one per column (lead); a time column is dropped",
            metadata: "sampling rate (`# fs=`, `# sampling_rate_hz=`, `# sample_rate=` or a time column), lead names",
            scaling: "none when read (a CSV round trip is exact); a run standardises each input per channel and maps the result back with the content's; `--max-side` resamples to at most that many samples",
        }
    }
    fn read(
        &self,
        path: &Path,
        o: &super::format::LoadOptions,
    ) -> Result<(crate::rank::AnyTensor, super::format::Source)> {
        let (t, mut meta) = read_csv(path, o.fs)?;
        let mut source = super::format::Source::plain(self.name(), Some(super::Kind::Signal), 2);
        let t = limit(path, t, &mut meta, o.max_side.map(|m| m as usize), &mut source)?;
        source.meta.signal = Some(meta);
        Ok((crate::rank::AnyTensor::R1(t), source))
    }
    fn write(&self, path: &Path, t: &crate::rank::AnyTensor, like: &super::format::Source) -> Result<()> {
        let t = super::format::as_rank::<1>(path, t)?;
        let (fs, leads, _) = signal_info(path, like)?;
        write_csv(path, &t, &SignalMeta { fs, leads })
    }
    fn refuses(&self, kind: Option<super::Kind>, _rank: usize) -> Option<String> {
        signal_refuses(self.name(), kind)
    }
}

/// How every signal format scales its values.
pub(crate) const SIGNAL_SCALING: &str = "standardised per channel (`(x − mean)/std`), mapped back with the content's on writing; `--max-side` resamples to at most that many samples";

/// The length a signal of `n` samples takes under `max_side`: `Some(max_side)` when it is longer.
pub(crate) fn samples_within(n: usize, max_side: Option<u32>) -> Option<usize> {
    max_side.map(|m| m as usize).filter(|&m| m < n)
}

/// `t` resampled to `len` samples when given (band-limited, see
/// [`crate::tensor::shrink::bandlimited`]), with the rate of `meta` scaled by the same factor and
/// the change noted in `source` (`100000 samples at 500 Hz resampled to 10000 at 50 Hz`).
pub(crate) fn limit(
    path: &Path,
    t: Tensor<1>,
    meta: &mut SignalMeta,
    len: Option<usize>,
    source: &mut super::format::Source,
) -> Result<Tensor<1>> {
    let [n] = t.spatial();
    let Some(len) = len.filter(|&m| m < n) else { return Ok(t) };
    let small = crate::tensor::shrink::bandlimited(&t, 0, len)?;
    let fs = meta.fs * len as f64 / n as f64;
    source.notes.push(format!(
        "{}: {n} samples at {} Hz resampled to {len} at {} Hz (--max-side, band-limited)",
        path.display(),
        meta.fs,
        rate_text(fs)
    ));
    source.resized_from = Some(vec![n]);
    meta.fs = fs;
    Ok(small)
}

/// A rate for the log: at most four decimals.
fn rate_text(fs: f64) -> String {
    let t = format!("{fs:.4}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A signal read by any signal format, resampled to `len` samples when given (see [`limit`]),
/// standardised per channel, with its metadata; `header` makes the format's own header from the
/// metadata as resampled.
pub(crate) fn signal_source(
    format: &'static str,
    path: &Path,
    t: Tensor<1>,
    mut meta: SignalMeta,
    len: Option<usize>,
    units: Option<String>,
    header: impl FnOnce(&SignalMeta) -> Option<super::format::Header>,
) -> Result<(crate::rank::AnyTensor, super::format::Source)> {
    let mut source = super::format::Source::plain(format, Some(super::Kind::Signal), 2);
    let t = limit(path, t, &mut meta, len, &mut source)?;
    let (t, scale) = super::standardize::Standardize::fit_apply(&t)?;
    source.meta.header = header(&meta);
    source.meta.signal = Some(meta);
    source.meta.units = units;
    source.scaling = super::format::Scaling::Standardize(scale);
    Ok((crate::rank::AnyTensor::R1(t), source))
}

/// A signal style at the content's rate: when `max_side` resampled the content and the style
/// was recorded at the content's original rate, the style is resampled by the same factor (so
/// its patterns keep their duration) and noted in `of`; otherwise it is left as read.
pub fn follow_rate<const N: usize>(
    path: &Path,
    t: Tensor<N>,
    style: &mut super::format::Source,
    content: &Tensor<N>,
    of: &mut super::format::Source,
) -> Result<Tensor<N>> {
    let rate = of.meta.signal.as_ref().map(|m| m.fs);
    let (Some(fs), Some(from), Some(s)) = (rate, of.resized_from.as_ref(), style.meta.signal.as_mut()) else {
        return Ok(t);
    };
    let original = fs * from[0] as f64 / content.spatial()[0] as f64;
    if N != 1 || (s.fs - original).abs() > 1e-6 * original || (s.fs - fs).abs() <= 1e-6 * fs {
        return Ok(t);
    }
    let n = t.spatial()[0];
    let len = ((n as f64 * fs / s.fs).round() as usize).clamp(1, n);
    let small = crate::tensor::shrink::bandlimited(&t, 0, len)?;
    let note = format!(
        "{}: {n} samples at {} Hz resampled to {len} at {} Hz, the content's rate after --max-side",
        path.display(),
        s.fs,
        rate_text(fs)
    );
    s.fs = fs;
    of.notes.push(note);
    Ok(small)
}

/// The rate, lead names and units a signal output takes from its input.
pub(crate) fn signal_info(path: &Path, like: &super::format::Source) -> Result<(f64, Vec<String>, String)> {
    match &like.meta.signal {
        Some(m) => Ok((m.fs, m.leads.clone(), like.meta.units.clone().unwrap_or_else(|| "mV".into()))),
        None => Err(super::format::needs(path, "a signal input (CSV, EDF or WFDB, for its sampling rate)")),
    }
}

/// Signal formats need a signal content (for its rate).
pub(crate) fn signal_refuses(name: &str, kind: Option<super::Kind>) -> Option<String> {
    (kind != Some(super::Kind::Signal))
        .then(|| format!("{name} holds signal inputs (CSV, EDF or WFDB: their sampling rate and leads)"))
}
