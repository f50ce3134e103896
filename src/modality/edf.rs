//! EDF and EDF+ (continuous) recordings: `1 × signals × T` in physical units, written back with the header's gains.
//!
//! The European Data Format (Kemp et al. 1992; EDF+: Kemp & Olivan 2003) is a 256-byte ASCII
//! header, 256 more bytes per signal, then data records of 16-bit little-endian integers, each
//! record holding `samples_per_record` samples of every signal in turn. A digital value `d` is
//! `pmin + (d − dmin)·(pmax − pmin)/(dmax − dmin)` in the signal's physical dimension (µV, mV…).
//!
//! - Read: every header field is kept ([`EdfMeta`]); numbers keep their text, so a file read and
//!   written unchanged is byte-identical. EDF+C is read; EDF+D (discontinuous) is refused. The
//!   `EDF Annotations` signals are not part of the tensor: their bytes are kept and written back
//!   ([`EdfMeta::annotation_texts`] gives their text). BDF (24-bit) is refused.
//! - Signals of different sampling rates are **resampled** to the highest rate by linear
//!   interpolation (the tensor needs one length); writing samples each signal back at its own rate,
//!   exactly when the rates are integer multiples of each other (the original samples are on the
//!   fine grid). [`EdfMeta::is_resampled`] says whether this happened.
//! - Write: values are converted to digital with each signal's gains, rounded and clipped to its
//!   digital range (a result outside the physical range is clipped there).
//! - Validation: header size, every number, the signal count against the header size, and the
//!   declared records against the file size; nothing is allocated before the file's length has
//!   been checked against what the header declares. Every error names the file and the field.
//!
//! The reader and writer are written here rather than taken from a crate: `edf-reader` reads only
//! and pulls in `futures` 0.1 and `chrono`; `edf-rs` 0.1 describes itself as early and unstable;
//! neither keeps numeric fields' text (needed for byte-identical round trips) nor names the field
//! at fault in its errors.

use std::path::Path;

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The label of EDF+ annotation signals.
pub const ANNOTATIONS_LABEL: &str = "EDF Annotations";

/// A number of an EDF header: its value and the text it was written as (at most 8 characters).
#[derive(Clone, Debug, PartialEq)]
pub struct EdfNumber {
    pub value: f64,
    text: String,
}

impl EdfNumber {
    /// `v` in the shortest decimal form that fits the 8-character field (fewer decimals if needed).
    pub fn new(v: f64) -> Result<EdfNumber> {
        let plain = format!("{v}");
        if v.is_finite() && plain.len() <= 8 {
            return Ok(EdfNumber { value: v, text: plain });
        }
        for decimals in (0..8).rev() {
            let s = format!("{v:.decimals$}");
            let s =
                if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
            if v.is_finite() && s.len() <= 8 {
                let value = s.parse().unwrap_or(v);
                return Ok(EdfNumber { value, text: s });
            }
        }
        Err(Error::invalid("EDF number", format!("{v} does not fit an 8-character header field")))
    }

    /// The text as written in the header (without padding).
    pub fn text(&self) -> &str {
        &self.text
    }

    fn parse(text: &str) -> Option<EdfNumber> {
        let value: f64 = text.trim().parse().ok()?;
        value.is_finite().then(|| EdfNumber { value, text: text.to_string() })
    }
}

/// One signal's header fields.
#[derive(Clone, Debug, PartialEq)]
pub struct EdfSignal {
    pub label: String,
    pub transducer: String,
    /// The physical dimension (units), e.g. `uV`.
    pub units: String,
    pub physical_min: EdfNumber,
    pub physical_max: EdfNumber,
    pub digital_min: EdfNumber,
    pub digital_max: EdfNumber,
    pub prefiltering: String,
    pub samples_per_record: usize,
    pub reserved: String,
}

impl EdfSignal {
    /// Physical units per digital step.
    fn gain(&self) -> f64 {
        (self.physical_max.value - self.physical_min.value)
            / (self.digital_max.value - self.digital_min.value)
    }
    fn to_physical(&self, d: i16) -> f32 {
        ((d as f64 - self.digital_min.value) * self.gain() + self.physical_min.value) as f32
    }
    fn to_digital(&self, p: f32) -> i16 {
        let d = ((p as f64 - self.physical_min.value) / self.gain() + self.digital_min.value).round();
        d.clamp(self.digital_min.value, self.digital_max.value) as i16
    }
}

/// An EDF+ annotation signal: its header, where it stands among the signals, and its raw bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct EdfAnnotations {
    /// Index among all the file's signals (annotations included).
    pub position: usize,
    pub signal: EdfSignal,
    /// `records × samples_per_record × 2` bytes of time-stamped annotation lists.
    pub bytes: Vec<u8>,
}

/// Everything an EDF file holds besides its samples; written back unchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct EdfMeta {
    /// The version field (`0`).
    pub version: String,
    pub patient: String,
    pub recording: String,
    /// `dd.mm.yy`.
    pub start_date: String,
    /// `hh.mm.ss`.
    pub start_time: String,
    /// `EDF+C` for EDF+, empty for plain EDF.
    pub reserved: String,
    pub records: usize,
    /// Seconds per data record.
    pub record_duration: EdfNumber,
    /// The ordinary signals, in file order (the tensor's channels).
    pub signals: Vec<EdfSignal>,
    pub annotations: Vec<EdfAnnotations>,
}

impl EdfMeta {
    /// A plain EDF header for a `1 × C × T` tensor at `fs` Hz: one record of `T` samples (or 1 s
    /// records when `fs` is a whole number dividing `T`), each signal's physical range its data's.
    pub fn for_signal(fs: f64, labels: &[String], units: &str, t: &Tensor<1>) -> Result<EdfMeta> {
        let [n] = t.spatial();
        if !(fs.is_finite() && fs > 0.0) || n == 0 || labels.len() != t.channels() {
            return Err(Error::invalid(
                "EDF header",
                format!("fs {fs} Hz, {} labels for tensor {}", labels.len(), t.shape_string()),
            ));
        }
        let per_second = fs.fract() == 0.0 && (fs as usize) > 0 && n % fs as usize == 0;
        let (records, spr) = if per_second { (n / fs as usize, fs as usize) } else { (1, n) };
        let duration = EdfNumber::new(spr as f64 / fs)?;
        let mut signals = Vec::new();
        for (c, label) in labels.iter().enumerate() {
            let x = t.channel(0, c);
            let lo = x.iter().fold(f32::INFINITY, |a, &v| a.min(v)) as f64;
            let hi = x.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v)) as f64;
            let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 1.0, lo + 1.0) };
            // Widen by one digital step each way so that rounding the range to 8 characters keeps the data inside.
            let step = (hi - lo) / 65535.0;
            signals.push(EdfSignal {
                label: label.clone(),
                transducer: String::new(),
                units: units.to_string(),
                physical_min: EdfNumber::new(lo - step)?,
                physical_max: EdfNumber::new(hi + step)?,
                digital_min: EdfNumber::new(-32768.0)?,
                digital_max: EdfNumber::new(32767.0)?,
                prefiltering: String::new(),
                samples_per_record: spr,
                reserved: String::new(),
            });
        }
        Ok(EdfMeta {
            version: "0".into(),
            patient: "X X X X".into(),
            recording: "Startdate X X X X".into(),
            start_date: "01.01.85".into(),
            start_time: "00.00.00".into(),
            reserved: String::new(),
            records,
            record_duration: duration,
            signals,
            annotations: Vec::new(),
        })
    }

    /// The sampling rate of each ordinary signal, Hz.
    pub fn rates(&self) -> Vec<f64> {
        self.signals.iter().map(|s| s.samples_per_record as f64 / self.record_duration.value).collect()
    }

    /// The tensor's sampling rate: the highest of the signals'.
    pub fn fs(&self) -> f64 {
        self.rates().into_iter().fold(0.0, f64::max)
    }

    /// Whether the signals have different rates (and were resampled to the highest).
    pub fn is_resampled(&self) -> bool {
        self.signals.windows(2).any(|w| w[0].samples_per_record != w[1].samples_per_record)
    }

    /// The signal labels, in tensor channel order.
    pub fn labels(&self) -> Vec<String> {
        self.signals.iter().map(|s| s.label.clone()).collect()
    }

    /// The text of every annotation (onsets, durations and the record time stamps left out).
    pub fn annotation_texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in &self.annotations {
            for tal in a.bytes.split(|&b| b == 0).filter(|t| !t.is_empty()) {
                // A TAL is `onset[\x15duration]\x14text\x14text…\x14`; the first part is the timing.
                for text in tal.split(|&b| b == 0x14).skip(1).filter(|t| !t.is_empty()) {
                    out.push(String::from_utf8_lossy(text).into_owned());
                }
            }
        }
        out
    }

    fn samples_per_record_max(&self) -> usize {
        self.signals.iter().map(|s| s.samples_per_record).max().unwrap_or(0)
    }
}

/// Offsets and widths of the per-signal header fields, as multiples of the signal count.
const SIGNAL_FIELDS: [(&str, usize); 10] = [
    ("label", 16),
    ("transducer", 80),
    ("physical dimension", 8),
    ("physical minimum", 8),
    ("physical maximum", 8),
    ("digital minimum", 8),
    ("digital maximum", 8),
    ("prefiltering", 80),
    ("samples per record", 8),
    ("reserved", 32),
];

/// Read an EDF or EDF+C file as a `1 × signals × T` tensor in physical units (see the module doc).
pub fn read_edf(path: &Path) -> Result<(Tensor<1>, EdfMeta)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |detail: String| Error::format(path, detail);
    if bytes.len() < 256 {
        return Err(bad(format!("{} bytes, shorter than the 256-byte EDF header", bytes.len())));
    }
    if bytes[0] == 0xFF {
        return Err(bad("a BDF (24-bit) file; only 16-bit EDF is supported".into()));
    }
    let text = |off: usize, len: usize| latin1(&bytes[off..off + len]);
    let version = text(0, 8).trim_end().to_string();
    if version.trim() != "0" {
        return Err(bad(format!("version field '{}' is not '0' (not an EDF file)", version.trim())));
    }
    let int = |off: usize, len: usize, what: &str| -> Result<i64> {
        let t = text(off, len);
        t.trim().parse::<i64>().map_err(|_| bad(format!("{what} '{}' is not a whole number", t.trim())))
    };
    let header_bytes = int(184, 8, "header size")?;
    let ns = int(252, 4, "number of signals")?;
    if ns < 1 {
        return Err(bad(format!("number of signals {ns} (must be at least 1)")));
    }
    let ns = ns as usize;
    if header_bytes != 256 * (ns as i64 + 1) {
        return Err(bad(format!(
            "header size {header_bytes} is not 256 × (1 + {ns} signals) = {}",
            256 * (ns + 1)
        )));
    }
    let header_bytes = header_bytes as usize;
    if bytes.len() < header_bytes {
        return Err(bad(format!(
            "truncated header: {ns} signals need {header_bytes} bytes, the file has {}",
            bytes.len()
        )));
    }
    let reserved = text(192, 44);
    if reserved.starts_with("EDF+D") {
        return Err(bad("EDF+D (discontinuous records) is not supported; only EDF and EDF+C".into()));
    }
    let records = int(236, 8, "number of data records")?;
    if records == -1 {
        return Err(bad("number of data records is -1 (the recording was not closed)".into()));
    }
    if records < 1 {
        return Err(bad(format!("number of data records {records} (must be at least 1)")));
    }
    let records = records as usize;
    let duration_text = text(244, 8);
    let record_duration = EdfNumber::parse(duration_text.trim_end())
        .filter(|d| d.value > 0.0)
        .ok_or_else(|| bad(format!("record duration '{}' is not a number > 0 s", duration_text.trim())))?;

    let mut all = Vec::with_capacity(ns);
    for i in 0..ns {
        let mut f: Vec<String> = Vec::with_capacity(SIGNAL_FIELDS.len());
        let mut off = 256;
        for (_, width) in SIGNAL_FIELDS {
            f.push(text(off + i * width, width).trim_end().to_string());
            off += ns * width;
        }
        all.push(parse_signal(path, i, &f)?);
    }
    let record_bytes = all
        .iter()
        .try_fold(0usize, |a, s| a.checked_add(s.samples_per_record))
        .and_then(|n| n.checked_mul(2))
        .ok_or_else(|| bad("samples per record overflow".into()))?;
    let held = bytes.len() - header_bytes;
    match record_bytes.checked_mul(records) {
        Some(total) if total == held => {}
        total => {
            return Err(bad(format!(
                "the header declares {records} data records of {record_bytes} bytes ({}) but the file holds {held} bytes of data",
                total.map_or("more than the address space".to_string(), |t| format!("{t} bytes"))
            )))
        }
    }
    let mut signals = Vec::new();
    let mut annotations = Vec::new();
    let mut starts = Vec::new();
    let mut offset = 0;
    for (i, s) in all.into_iter().enumerate() {
        let start = offset;
        offset += 2 * s.samples_per_record;
        if reserved.starts_with("EDF+") && s.label.trim() == ANNOTATIONS_LABEL {
            let mut raw = Vec::with_capacity(records * 2 * s.samples_per_record);
            for r in 0..records {
                let at = header_bytes + r * record_bytes + start;
                raw.extend_from_slice(&bytes[at..at + 2 * s.samples_per_record]);
            }
            annotations.push(EdfAnnotations { position: i, signal: s, bytes: raw });
        } else {
            starts.push(start);
            signals.push(s);
        }
    }
    if signals.is_empty() {
        return Err(bad("holds only annotations, no signal".into()));
    }
    let meta = EdfMeta {
        version,
        patient: text(8, 80).trim_end().to_string(),
        recording: text(88, 80).trim_end().to_string(),
        start_date: text(168, 8).trim_end().to_string(),
        start_time: text(176, 8).trim_end().to_string(),
        reserved: reserved.trim_end().to_string(),
        records,
        record_duration,
        signals,
        annotations,
    };
    let t_len = records * meta.samples_per_record_max();
    let stored = held / 2;
    let needed = t_len.saturating_mul(meta.signals.len());
    if needed > stored.saturating_mul(16).max(1 << 20) {
        return Err(bad(format!(
            "resampling every signal to {} Hz would need {needed} values from {stored} stored; convert the signals separately",
            meta.fs()
        )));
    }
    let mut data = Vec::with_capacity(needed);
    for (s, &start) in meta.signals.iter().zip(&starts) {
        let mut x = Vec::with_capacity(records * s.samples_per_record);
        for r in 0..records {
            let at = header_bytes + r * record_bytes + start;
            for k in 0..s.samples_per_record {
                let d = i16::from_le_bytes([bytes[at + 2 * k], bytes[at + 2 * k + 1]]);
                x.push(s.to_physical(d));
            }
        }
        data.extend(resample_linear(&x, t_len));
    }
    let tensor = Tensor::from_vec(1, meta.signals.len(), [t_len], data)?;
    Ok((tensor, meta))
}

/// One signal's fields (`f` in [`SIGNAL_FIELDS`] order), validated.
fn parse_signal(path: &Path, i: usize, f: &[String]) -> Result<EdfSignal> {
    let bad = |field: usize, why: &str| {
        Error::format(
            path,
            format!(
                "signal {} ('{}'): {} '{}' {why}",
                i + 1,
                f[0].trim(),
                SIGNAL_FIELDS[field].0,
                f[field].trim()
            ),
        )
    };
    let num = |field: usize| EdfNumber::parse(&f[field]).ok_or_else(|| bad(field, "is not a number"));
    let (pmin, pmax, dmin, dmax) = (num(3)?, num(4)?, num(5)?, num(6)?);
    for (field, d) in [(5, &dmin), (6, &dmax)] {
        if d.value.fract() != 0.0 || !(-32768.0..=32767.0).contains(&d.value) {
            return Err(bad(field, "is not a whole number in -32768..32767"));
        }
    }
    if dmin.value >= dmax.value {
        return Err(bad(5, &format!("is not below the digital maximum {}", dmax.value)));
    }
    if pmin.value == pmax.value {
        return Err(bad(3, "equals the physical maximum"));
    }
    let spr = f[8]
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| bad(8, "is not a whole number >= 1"))?;
    Ok(EdfSignal {
        label: f[0].clone(),
        transducer: f[1].clone(),
        units: f[2].clone(),
        physical_min: pmin,
        physical_max: pmax,
        digital_min: dmin,
        digital_max: dmax,
        prefiltering: f[7].clone(),
        samples_per_record: spr,
        reserved: f[9].clone(),
    })
}

/// Write a `1 × signals × T` tensor in physical units as EDF with `meta`'s header (see the module
/// doc). `T` must be a whole number of records of the fastest signal.
pub fn write_edf(path: &Path, t: &Tensor<1>, meta: &EdfMeta) -> Result<()> {
    if t.batch() != 1 || t.channels() != meta.signals.len() {
        return Err(Error::shape(
            "edf::write_edf",
            format!("tensor {} for {} EDF signals (batch must be 1)", t.shape_string(), meta.signals.len()),
        ));
    }
    crate::io::ensure_finite(path, t.data())?;
    let [n] = t.spatial();
    let spr_max = meta.samples_per_record_max();
    if spr_max == 0 || n == 0 || n % spr_max != 0 {
        return Err(Error::invalid(
            "EDF output",
            format!("{}: {n} samples are not whole records of {spr_max}", path.display()),
        ));
    }
    let records = n / spr_max;
    if records != meta.records && !meta.annotations.is_empty() {
        return Err(Error::invalid(
            "EDF output",
            format!("{}: {records} records, but the annotations cover {}", path.display(), meta.records),
        ));
    }
    let total = meta.signals.len() + meta.annotations.len();
    let mut order: Vec<Option<usize>> = vec![None; total];
    for (k, a) in meta.annotations.iter().enumerate() {
        let ok = a.position < total
            && order[a.position].is_none()
            && a.bytes.len() == meta.records * 2 * a.signal.samples_per_record;
        if !ok {
            return Err(Error::invalid(
                "EDF annotations",
                format!("signal {} is misplaced or of the wrong size", a.position + 1),
            ));
        }
        order[a.position] = Some(k);
    }
    let mut header_signals: Vec<&EdfSignal> = Vec::with_capacity(total);
    let mut ordinary = meta.signals.iter();
    for slot in &order {
        match slot {
            Some(k) => header_signals.push(&meta.annotations[*k].signal),
            None => header_signals.extend(ordinary.next()),
        }
    }
    let mut out = header_bytes(meta, &header_signals, records)?;
    let digital: Vec<Vec<i16>> = meta
        .signals
        .iter()
        .enumerate()
        .map(|(c, s)| {
            resample_linear(t.channel(0, c), records * s.samples_per_record)
                .iter()
                .map(|&p| s.to_digital(p))
                .collect()
        })
        .collect();
    let mut next = 0;
    let mut signal_of_slot = Vec::with_capacity(total);
    for slot in &order {
        signal_of_slot.push(match slot {
            Some(k) => Err(*k),
            None => {
                next += 1;
                Ok(next - 1)
            }
        });
    }
    for r in 0..records {
        for slot in &signal_of_slot {
            match *slot {
                Ok(c) => {
                    let spr = meta.signals[c].samples_per_record;
                    for d in &digital[c][r * spr..(r + 1) * spr] {
                        out.extend_from_slice(&d.to_le_bytes());
                    }
                }
                Err(k) => {
                    let a = &meta.annotations[k];
                    let w = 2 * a.signal.samples_per_record;
                    out.extend_from_slice(&a.bytes[r * w..(r + 1) * w]);
                }
            }
        }
    }
    super::write_via_temp(path, |tmp| std::fs::write(tmp, &out).map_err(|e| Error::io(tmp, e)))
}

/// The header of `meta` with these signals (annotations in place) and this many records.
fn header_bytes(meta: &EdfMeta, signals: &[&EdfSignal], records: usize) -> Result<Vec<u8>> {
    let ns = signals.len();
    let mut h = Vec::with_capacity(256 * (ns + 1));
    put(&mut h, "version", &meta.version, 8)?;
    put(&mut h, "patient", &meta.patient, 80)?;
    put(&mut h, "recording", &meta.recording, 80)?;
    put(&mut h, "start date", &meta.start_date, 8)?;
    put(&mut h, "start time", &meta.start_time, 8)?;
    put(&mut h, "header size", &(256 * (ns + 1)).to_string(), 8)?;
    put(&mut h, "reserved", &meta.reserved, 44)?;
    put(&mut h, "number of data records", &records.to_string(), 8)?;
    put(&mut h, "record duration", meta.record_duration.text(), 8)?;
    put(&mut h, "number of signals", &ns.to_string(), 4)?;
    for (k, (name, width)) in SIGNAL_FIELDS.iter().enumerate() {
        for s in signals {
            let spr = s.samples_per_record.to_string();
            let v: &str = match k {
                0 => &s.label,
                1 => &s.transducer,
                2 => &s.units,
                3 => s.physical_min.text(),
                4 => s.physical_max.text(),
                5 => s.digital_min.text(),
                6 => s.digital_max.text(),
                7 => &s.prefiltering,
                8 => &spr,
                _ => &s.reserved,
            };
            put(&mut h, name, v, *width)?;
        }
    }
    Ok(h)
}

/// Append `value` as Latin-1, space-padded to `width` bytes.
fn put(h: &mut Vec<u8>, name: &str, value: &str, width: usize) -> Result<()> {
    let bytes: Option<Vec<u8>> = value.chars().map(|c| u8::try_from(c as u32).ok()).collect();
    match bytes {
        Some(b) if b.len() <= width => {
            h.extend_from_slice(&b);
            h.resize(h.len() + width - b.len(), b' ');
            Ok(())
        }
        Some(b) => Err(Error::invalid(
            format!("EDF field '{name}'"),
            format!("'{value}' is {} characters, more than {width}", b.len()),
        )),
        None => Err(Error::invalid(format!("EDF field '{name}'"), format!("'{value}' is not Latin-1 text"))),
    }
}

/// Bytes as Latin-1 text (every byte one character), so that any header reads and writes back.
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

/// `x` linearly interpolated to `n` samples spanning the same time: sample `i` of the result is
/// at position `i·len/n` of `x` (so integer ratios keep every original sample on the grid).
fn resample_linear(x: &[f32], n: usize) -> Vec<f32> {
    if x.len() == n || x.is_empty() {
        return x.to_vec();
    }
    let last = x.len() - 1;
    (0..n)
        .map(|i| {
            let pos = i as f64 * x.len() as f64 / n as f64;
            let j = (pos.floor() as usize).min(last);
            let frac = pos - j as f64;
            let next = x[(j + 1).min(last)];
            (x[j] as f64 * (1.0 - frac) + next as f64 * frac) as f32
        })
        .collect()
}

/// EDF / EDF+C recordings as a format.
pub struct Edf;

impl super::format::Format for Edf {
    fn name(&self) -> &'static str {
        "edf"
    }
    fn kind(&self) -> Option<super::Kind> {
        Some(super::Kind::Signal)
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["edf"]
    }
    fn about(&self) -> super::format::About {
        super::format::About {
            spelling: "`.edf`",
            tensor: "`1 × signals × T`",
            channels:
                "one per ordinary signal (annotations kept aside); different rates resampled to the highest",
            metadata: "the whole header: labels, units, physical and digital ranges, rates, annotations",
            scaling: super::signal::SIGNAL_SCALING,
        }
    }
    fn read(
        &self,
        path: &Path,
        o: &super::format::LoadOptions,
    ) -> Result<(crate::rank::AnyTensor, super::format::Source)> {
        let (t, mut meta) = read_edf(path)?;
        let signal = super::signal::SignalMeta { fs: meta.fs(), leads: meta.labels() };
        let units = meta.signals.first().map(|s| s.units.clone());
        // Shrunk, the records stay and hold fewer samples each; below one sample per record the
        // header cannot follow and outputs get a fresh one.
        let len = super::signal::samples_within(t.spatial()[0], o.max_side);
        let per_record = len.map(|m| m / meta.records);
        let (len, keep) = match per_record {
            Some(0) => (len, false),
            Some(spr) => (Some(spr * meta.records), true),
            None => (None, true),
        };
        let (t, mut source) = super::signal::signal_source(self.name(), path, t, signal, len, units, |_| {
            if let Some(spr) = per_record.filter(|_| keep) {
                meta.signals.iter_mut().for_each(|s| s.samples_per_record = s.samples_per_record.min(spr));
            }
            keep.then(|| super::format::Header::new(meta))
        })?;
        if !keep {
            source.notes.push(format!(
                "{}: fewer samples than data records: EDF outputs get a new header (annotations dropped)",
                path.display()
            ));
        }
        Ok((t, source))
    }
    fn write(&self, path: &Path, t: &crate::rank::AnyTensor, like: &super::format::Source) -> Result<()> {
        let t = super::format::as_rank::<1>(path, t)?;
        match like.meta.header.as_ref().and_then(|h| h.get::<EdfMeta>()) {
            Some(m) => write_edf(path, &t, m),
            None => {
                let (fs, leads, units) = super::signal::signal_info(path, like)?;
                write_edf(path, &t, &EdfMeta::for_signal(fs, &leads, &units, &t)?)
            }
        }
    }
    fn refuses(&self, kind: Option<super::Kind>, _rank: usize) -> Option<String> {
        super::signal::signal_refuses(self.name(), kind)
    }
}
