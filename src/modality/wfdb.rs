//! PhysioNet WFDB records: a `.hea` header and its `.dat` signal files (formats 16 and 212) in, format 16 out.
//!
//! The header (WFDB `header(5)`) is a record line `name nsig [fs [nsamp [time [date]]]]`, one line
//! per signal `file format[x1][+offset] gain[(baseline)][/units] [adcres [adczero [initval
//! [checksum [blocksize [description]]]]]]`, and `#` comment lines. Signals sharing a file are
//! interleaved in it, one sample of each per frame. Format 16 is 16-bit little-endian two's
//! complement; format 212 packs two 12-bit samples into three bytes (the first sample's low byte,
//! then the high nibbles — first sample's low, second sample's high — then the second's low byte).
//! A digital value `d` is `(d − baseline)/gain` in the signal's units.
//!
//! - Read: [`read_wfdb`] takes the `.hea` path and reads the files beside it; the tensor is
//!   `1 × signals × nsamp` in physical units. A checksum in the header that disagrees with the
//!   samples is an **error** (the file is damaged or the header belongs to another file), as are
//!   the invalid-sample markers (−32768 in format 16, −2048 in 212: WFDB gaps), multi-segment
//!   records, more than one sample per frame, skew, and formats other than 16 and 212.
//! - Write: [`write_wfdb`] takes the `.hea` path and writes `NAME.dat` beside it in format 16 with
//!   the signals' gains, baselines, units, resolutions, ADC zeros and descriptions, a fresh initial
//!   value and checksum, and the record's comments.
//!
//! There is no maintained Rust crate for WFDB, hence this reader (about 300 lines).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// One signal of a record.
#[derive(Clone, Debug, PartialEq)]
pub struct WfdbSignal {
    /// The signal file, relative to the header's folder.
    pub file: String,
    /// The storage format read (16 or 212); outputs are written in 16.
    pub format: u16,
    /// ADC units per physical unit.
    pub gain: f64,
    /// The digital value of physical zero.
    pub baseline: i64,
    /// Physical units, `mV` by default.
    pub units: String,
    /// ADC resolution in bits.
    pub adc_res: u32,
    pub adc_zero: i64,
    /// The signal's name (the header's description field), e.g. `MLII`.
    pub description: String,
}

/// What a record holds besides its samples; written back with the result.
#[derive(Clone, Debug, PartialEq)]
pub struct WfdbMeta {
    /// The record name (outputs take their file stem instead).
    pub record: String,
    /// Sampling frequency in Hz (per signal; all signals share it).
    pub fs: f64,
    /// The base time and date after the sample count, as written (may be empty).
    pub base_time: String,
    pub signals: Vec<WfdbSignal>,
    /// The `#` comment lines, without the `#`.
    pub comments: Vec<String>,
}

impl WfdbMeta {
    /// A format-16 record for a `1 × C × T` tensor: baseline 0 and, per signal, the largest power
    /// of two as gain that keeps the data within ±30000 ADC units.
    pub fn for_signal(fs: f64, labels: &[String], units: &str, t: &Tensor<1>) -> Result<WfdbMeta> {
        if !(fs.is_finite() && fs > 0.0) || labels.len() != t.channels() {
            return Err(Error::invalid(
                "WFDB header",
                format!("fs {fs} Hz, {} labels for tensor {}", labels.len(), t.shape_string()),
            ));
        }
        let signals = labels
            .iter()
            .enumerate()
            .map(|(c, label)| {
                let peak = t.channel(0, c).iter().fold(0.0f64, |m, &v| m.max((v as f64).abs()));
                let gain = if peak > 0.0 {
                    2f64.powi((30000.0 / peak).log2().floor().clamp(-60.0, 60.0) as i32)
                } else {
                    1.0
                };
                WfdbSignal {
                    file: String::new(),
                    format: 16,
                    gain,
                    baseline: 0,
                    units: units.to_string(),
                    adc_res: 16,
                    adc_zero: 0,
                    description: label.clone(),
                }
            })
            .collect();
        Ok(WfdbMeta { record: "record".into(), fs, base_time: String::new(), signals, comments: Vec::new() })
    }

    /// The signal names, in tensor channel order.
    pub fn labels(&self) -> Vec<String> {
        self.signals.iter().map(|s| s.description.clone()).collect()
    }
}

/// A signal line's fields that do not survive into [`WfdbSignal`].
struct Extra {
    offset: usize,
    checksum: Option<i64>,
}

/// Read the record whose header is `hea` as a `1 × signals × nsamp` tensor in physical units.
pub fn read_wfdb(hea: &Path) -> Result<(Tensor<1>, WfdbMeta)> {
    let text = std::fs::read_to_string(hea).map_err(|e| Error::io(hea, e))?;
    let bad = |line: usize, detail: String| Error::format(hea, format!("line {line}: {detail}"));
    let mut comments = Vec::new();
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if let Some(c) = l.strip_prefix('#') {
            comments.push(c.to_string());
        } else if !l.is_empty() {
            lines.push((i + 1, l));
        }
    }
    let Some(&(n0, record_line)) = lines.first() else {
        return Err(Error::format(hea, "empty header: no record line"));
    };
    let tok: Vec<&str> = record_line.split_whitespace().collect();
    let record = tok[0];
    if record.contains('/') {
        return Err(bad(
            n0,
            format!("'{record}' is a multi-segment record; only single-segment records are supported"),
        ));
    }
    let nsig: usize = match tok.get(1).map(|s| s.parse::<usize>()) {
        Some(Ok(n)) if n >= 1 => n,
        _ => {
            return Err(bad(
                n0,
                format!("number of signals '{}' is not a whole number >= 1", tok.get(1).unwrap_or(&"")),
            ))
        }
    };
    let fs = match tok.get(2) {
        None => 250.0,
        Some(f) => {
            let head = f.split(['/', '(']).next().unwrap_or("");
            match head.parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => v,
                _ => return Err(bad(n0, format!("sampling frequency '{f}' is not a number > 0"))),
            }
        }
    };
    let nsamp: Option<usize> = match tok.get(3) {
        None => None,
        Some(s) => {
            Some(s.parse().map_err(|_| bad(n0, format!("number of samples '{s}' is not a whole number")))?)
        }
    };
    let base_time = tok.get(4..).map(|t| t.join(" ")).unwrap_or_default();
    if lines.len() - 1 < nsig {
        return Err(Error::format(
            hea,
            format!(
                "truncated header: the record line declares {nsig} signals, {} signal lines follow",
                lines.len() - 1
            ),
        ));
    }
    let mut signals = Vec::with_capacity(nsig);
    let mut extras = Vec::with_capacity(nsig);
    for &(n, line) in &lines[1..=nsig] {
        let (s, x) = parse_signal_line(line).map_err(|d| bad(n, d))?;
        signals.push(s);
        extras.push(x);
    }
    let meta = WfdbMeta { record: record.to_string(), fs, base_time, signals, comments };
    let dir = hea.parent().map(Path::to_path_buf).unwrap_or_default();
    let digital = read_signal_files(&dir, &meta, &extras, nsamp)?;
    let t = digital.first().map_or(0, Vec::len);
    if t == 0 {
        return Err(Error::format(hea, "the record holds no samples"));
    }
    let mut data = Vec::with_capacity(t * nsig);
    for (s, (d, x)) in meta.signals.iter().zip(digital.iter().zip(&extras)) {
        let dat = dir.join(&s.file);
        let invalid = if s.format == 16 { -32768 } else { -2048 };
        if let Some(i) = d.iter().position(|&v| v == invalid) {
            return Err(Error::format(
                &dat,
                format!(
                    "signal '{}': sample {i} is the invalid-sample marker {invalid} (gaps are not supported)",
                    s.description
                ),
            ));
        }
        if let Some(c) = x.checksum {
            let sum = d.iter().fold(0i64, |a, &v| a.wrapping_add(v as i64));
            if (sum as u16) != (c as u16) {
                return Err(Error::format(
                    &dat,
                    format!(
                        "signal '{}': checksum {c} in {} but the samples sum to {} (mod 65536)",
                        s.description,
                        hea.display(),
                        sum as u16
                    ),
                ));
            }
        }
        data.extend(d.iter().map(|&v| ((v as f64 - s.baseline as f64) / s.gain) as f32));
    }
    let tensor = Tensor::from_vec(1, nsig, [t], data)?;
    Ok((tensor, meta))
}

/// One signal line, or a one-line reason it is not valid.
fn parse_signal_line(line: &str) -> std::result::Result<(WfdbSignal, Extra), String> {
    // The first eight fields are single words; the description is the rest of the line.
    let mut fields: Vec<&str> = Vec::with_capacity(8);
    let mut rest = line;
    while fields.len() < 8 {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push(&rest[..end]);
        rest = &rest[end..];
    }
    let description = rest.trim().to_string();
    let file = fields[0].to_string();
    if file == "~" {
        return Err("signal file '~' (no file) is not supported".into());
    }
    let spec = fields.get(1).ok_or("no format field")?;
    let (spec, offset) = match spec.split_once('+') {
        Some((s, o)) => {
            (s, o.parse::<usize>().map_err(|_| format!("byte offset '{o}' is not a whole number"))?)
        }
        None => (*spec, 0),
    };
    let (spec, skew) = spec.split_once(':').unwrap_or((spec, "0"));
    if skew != "0" {
        return Err(format!("skew ':{skew}' is not supported"));
    }
    let (code, spf) = spec.split_once('x').unwrap_or((spec, "1"));
    if spf != "1" {
        return Err(format!("{spf} samples per frame are not supported (only 1)"));
    }
    let format: u16 = match code {
        "16" => 16,
        "212" => 212,
        _ => return Err(format!("format '{code}' is not supported (16 and 212 are)")),
    };
    let int = |k: usize, what: &str| -> std::result::Result<Option<i64>, String> {
        match fields.get(k) {
            None => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| format!("{what} '{s}' is not a whole number")),
        }
    };
    let adc_res = match int(3, "ADC resolution")? {
        None | Some(0) => {
            if format == 212 {
                12
            } else {
                16
            }
        }
        Some(r) if (1..=16).contains(&r) => r as u32,
        Some(r) => return Err(format!("ADC resolution {r} bits (must be 1 to 16)")),
    };
    let adc_zero = int(4, "ADC zero")?.unwrap_or(0);
    let checksum = int(6, "checksum")?;
    int(7, "block size")?;
    int(5, "initial value")?;
    let (gain, baseline, units) = match fields.get(2) {
        None => (200.0, adc_zero, "mV".to_string()),
        Some(g) => parse_gain(g, adc_zero)?,
    };
    let s = WfdbSignal { file, format, gain, baseline, units, adc_res, adc_zero, description };
    Ok((s, Extra { offset, checksum }))
}

/// `gain[(baseline)][/units]`; a gain of 0 means uncalibrated and reads as 200 (WFDB's default).
fn parse_gain(g: &str, adc_zero: i64) -> std::result::Result<(f64, i64, String), String> {
    let (g, units) = g.split_once('/').unwrap_or((g, "mV"));
    let (g, baseline) = match g.split_once('(') {
        Some((v, b)) => {
            let b = b.strip_suffix(')').ok_or_else(|| format!("baseline '({b}' lacks its ')'"))?;
            (v, b.parse::<i64>().map_err(|_| format!("baseline '{b}' is not a whole number"))?)
        }
        None => (g, adc_zero),
    };
    let gain: f64 = g.parse().map_err(|_| format!("ADC gain '{g}' is not a number"))?;
    if !gain.is_finite() || gain < 0.0 {
        return Err(format!("ADC gain {gain} (must be >= 0)"));
    }
    Ok((if gain == 0.0 { 200.0 } else { gain }, baseline, units.to_string()))
}

/// The digital samples of every signal, from the files the header names (beside it).
fn read_signal_files(
    dir: &Path,
    meta: &WfdbMeta,
    extras: &[Extra],
    nsamp: Option<usize>,
) -> Result<Vec<Vec<i32>>> {
    let mut out: Vec<Vec<i32>> = vec![Vec::new(); meta.signals.len()];
    let mut files: Vec<&str> = Vec::new();
    for s in &meta.signals {
        if !files.contains(&s.file.as_str()) {
            files.push(&s.file);
        }
    }
    let mut length: Option<usize> = nsamp;
    for file in files {
        let members: Vec<usize> = (0..meta.signals.len()).filter(|&i| meta.signals[i].file == file).collect();
        let first = &meta.signals[members[0]];
        let dat: PathBuf = dir.join(file);
        if let Some(&i) = members.iter().find(|&&i| {
            meta.signals[i].format != first.format || extras[i].offset != extras[members[0]].offset
        }) {
            return Err(Error::format(
                &dat,
                format!(
                    "signal '{}' differs in format or offset from the others in this file",
                    meta.signals[i].description
                ),
            ));
        }
        let bytes = std::fs::read(&dat).map_err(|e| Error::io(&dat, e))?;
        let offset = extras[members[0]].offset;
        let body = bytes.get(offset..).ok_or_else(|| {
            Error::format(&dat, format!("byte offset {offset} is past the end ({} bytes)", bytes.len()))
        })?;
        let k = members.len();
        let held = match first.format {
            16 => body.len() / 2,
            _ => body.len() / 3 * 2 + usize::from(body.len() % 3 == 2),
        } / k;
        let n = match length {
            Some(n) if n > held => {
                return Err(Error::format(
                    &dat,
                    format!(
                        "the header declares {n} samples of {k} signals in format {}, the file holds {held}",
                        first.format
                    ),
                ))
            }
            Some(n) => n,
            None => held,
        };
        length = Some(n);
        let samples = match first.format {
            16 => body.chunks_exact(2).take(n * k).map(|b| i16::from_le_bytes([b[0], b[1]]) as i32).collect(),
            _ => unpack_212(body, n * k),
        };
        for (j, &i) in members.iter().enumerate() {
            out[i] = samples.iter().skip(j).step_by(k).copied().collect();
        }
    }
    Ok(out)
}

/// The first `count` samples of a format-212 byte stream.
pub fn unpack_212(bytes: &[u8], count: usize) -> Vec<i32> {
    let twelve = |v: i32| if v >= 2048 { v - 4096 } else { v };
    let mut out = Vec::with_capacity(count);
    for b in bytes.chunks(3) {
        if out.len() < count && b.len() >= 2 {
            out.push(twelve(b[0] as i32 | ((b[1] as i32 & 0x0F) << 8)));
        }
        if out.len() < count && b.len() == 3 {
            out.push(twelve(b[2] as i32 | ((b[1] as i32 & 0xF0) << 4)));
        }
    }
    out
}

/// Write `t` (`1 × signals × T`, physical units) as the record `hea` (its stem names the record)
/// with `NAME.dat` beside it in format 16.
pub fn write_wfdb(hea: &Path, t: &Tensor<1>, meta: &WfdbMeta) -> Result<()> {
    if t.batch() != 1 || t.channels() != meta.signals.len() {
        return Err(Error::shape(
            "wfdb::write_wfdb",
            format!("tensor {} for {} WFDB signals (batch must be 1)", t.shape_string(), meta.signals.len()),
        ));
    }
    crate::io::ensure_finite(hea, t.data())?;
    let name = hea.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::invalid(
            "WFDB record name",
            format!("'{name}' of {} (letters, digits, '_', '-')", hea.display()),
        ));
    }
    if !(meta.fs.is_finite() && meta.fs > 0.0) {
        return Err(Error::invalid("sampling frequency", format!("{} (must be > 0)", meta.fs)));
    }
    if let Some(s) = meta.signals.iter().find(|s| {
        !(s.gain.is_finite() && s.gain > 0.0)
            || s.units.contains(char::is_whitespace)
            || s.description.contains(['\n', '\r'])
    }) {
        return Err(Error::invalid(
            "WFDB signal",
            format!("'{}': gain {} (> 0), units '{}' (one word)", s.description, s.gain, s.units),
        ));
    }
    let [n] = t.spatial();
    let dat_name = format!("{name}.dat");
    let digital: Vec<Vec<i16>> = meta
        .signals
        .iter()
        .enumerate()
        .map(|(c, s)| {
            t.channel(0, c)
                .iter()
                .map(|&p| (p as f64 * s.gain + s.baseline as f64).round().clamp(-32767.0, 32767.0) as i16)
                .collect()
        })
        .collect();
    let mut dat = Vec::with_capacity(n * meta.signals.len() * 2);
    for i in 0..n {
        for d in &digital {
            dat.extend_from_slice(&d[i].to_le_bytes());
        }
    }
    let mut head = format!("{name} {} {} {n}", meta.signals.len(), meta.fs);
    if !meta.base_time.is_empty() {
        head.push(' ');
        head.push_str(&meta.base_time);
    }
    head.push('\n');
    for (s, d) in meta.signals.iter().zip(&digital) {
        let checksum = d.iter().fold(0i16, |a, &v| a.wrapping_add(v));
        let init = d.first().copied().unwrap_or(0);
        head.push_str(&format!(
            "{dat_name} 16 {}({})/{} {} {} {init} {checksum} 0 {}\n",
            s.gain, s.baseline, s.units, s.adc_res, s.adc_zero, s.description
        ));
    }
    for c in &meta.comments {
        head.push_str(&format!("#{c}\n"));
    }
    let dat_path = hea.with_file_name(&dat_name);
    super::write_via_temp(&dat_path, |tmp| std::fs::write(tmp, &dat).map_err(|e| Error::io(tmp, e)))?;
    super::write_via_temp(hea, |tmp| std::fs::write(tmp, head.as_bytes()).map_err(|e| Error::io(tmp, e)))
}

/// WFDB records (`.hea` header beside its `.dat`) as a format.
pub struct Wfdb;

impl super::format::Format for Wfdb {
    fn name(&self) -> &'static str {
        "hea"
    }
    fn kind(&self) -> Option<super::Kind> {
        Some(super::Kind::Signal)
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["hea"]
    }
    fn about(&self) -> super::format::About {
        super::format::About {
            spelling: "`.hea` (+ `.dat`)",
            tensor: "`1 × signals × T`",
            channels: "one per signal; formats 16 and 212 read, 16 written",
            metadata: "the header: record, rate, gains, baselines, units, descriptions, comments",
            scaling: super::signal::SIGNAL_SCALING,
        }
    }
    fn read(
        &self,
        path: &Path,
        o: &super::format::LoadOptions,
    ) -> Result<(crate::rank::AnyTensor, super::format::Source)> {
        let (t, mut meta) = read_wfdb(path)?;
        let signal = super::signal::SignalMeta { fs: meta.fs, leads: meta.labels() };
        let units = meta.signals.first().map(|s| s.units.clone());
        let len = super::signal::samples_within(t.spatial()[0], o.max_side);
        super::signal::signal_source(self.name(), path, t, signal, len, units, |s| {
            meta.fs = s.fs;
            Some(super::format::Header::new(meta))
        })
    }
    fn write(&self, path: &Path, t: &crate::rank::AnyTensor, like: &super::format::Source) -> Result<()> {
        let t = super::format::as_rank::<1>(path, t)?;
        match like.meta.header.as_ref().and_then(|h| h.get::<WfdbMeta>()) {
            Some(m) => write_wfdb(path, &t, m),
            None => {
                let (fs, leads, units) = super::signal::signal_info(path, like)?;
                write_wfdb(path, &t, &WfdbMeta::for_signal(fs, &leads, &units, &t)?)
            }
        }
    }
    fn refuses(&self, kind: Option<super::Kind>, _rank: usize) -> Option<String> {
        super::signal::signal_refuses(self.name(), kind)
    }
}
