//! EDF/EDF+, WFDB and CSV rate headers: byte-identical round trips, planted packings, a real record, bad files, the CLI.

use std::path::{Path, PathBuf};

use ndstyle::data;
use ndstyle::modality::edf::{self, EdfMeta};
use ndstyle::modality::signal;
use ndstyle::modality::wfdb::{self, WfdbMeta};
use ndstyle::Tensor;

use crate::util::{assert_one_line_error, ndstyle};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ndstyle-formats-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[track_caller]
fn one_line_naming<T: std::fmt::Debug>(r: ndstyle::Result<T>, file: &Path, want: &str) {
    let msg = r.expect_err("expected an error").to_string();
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(msg.contains(name.as_ref()), "error '{msg}' does not name {name}");
    assert!(!msg.contains('\n'), "error is not one line: {msg}");
    assert!(msg.contains(want), "error '{msg}' lacks '{want}'");
}

/// One signal's header fields, as text.
struct Sig<'a> {
    label: &'a str,
    units: &'a str,
    pmin: &'a str,
    pmax: &'a str,
    dmin: &'a str,
    dmax: &'a str,
    spr: usize,
}

#[track_caller]
fn assert_near(got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((*g as f64 - w).abs() <= 1e-6 * w.abs().max(1.0), "{got:?} vs {want:?}");
    }
}

fn pad(out: &mut Vec<u8>, s: &str, n: usize) {
    assert!(s.len() <= n, "{s}");
    out.extend_from_slice(s.as_bytes());
    out.resize(out.len() + n - s.len(), b' ');
}

/// Writes one header field of a signal.
type Field = dyn Fn(&Sig) -> String;

/// An EDF file written field by field as the specification lays it out; `records[r][s]` holds
/// signal `s`'s raw bytes in record `r`.
fn edf_file(reserved: &str, duration: &str, sigs: &[Sig], records: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut h = Vec::new();
    pad(&mut h, "0", 8);
    pad(&mut h, "MCH-0234567 F 02-MAY-1951 Haagse_Harry", 80);
    pad(&mut h, "Startdate 02-MAR-2002 EMG561 BK/JOP Sony. MNC R Median Nerve.", 80);
    pad(&mut h, "02.03.02", 8);
    pad(&mut h, "14.33.10", 8);
    pad(&mut h, &(256 * (sigs.len() + 1)).to_string(), 8);
    pad(&mut h, reserved, 44);
    pad(&mut h, &records.len().to_string(), 8);
    pad(&mut h, duration, 8);
    pad(&mut h, &sigs.len().to_string(), 4);
    let fields: [(usize, &Field); 10] = [
        (16, &|s| s.label.into()),
        (80, &|s| if s.label == "EDF Annotations" { String::new() } else { "AgAgCl electrode".into() }),
        (8, &|s| s.units.into()),
        (8, &|s| s.pmin.into()),
        (8, &|s| s.pmax.into()),
        (8, &|s| s.dmin.into()),
        (8, &|s| s.dmax.into()),
        (80, &|s| {
            if s.label == "EDF Annotations" {
                String::new()
            } else {
                "HP:0.1Hz LP:75Hz N:50Hz".into()
            }
        }),
        (8, &|s| s.spr.to_string()),
        (32, &|_| String::new()),
    ];
    for (width, f) in fields {
        for s in sigs {
            pad(&mut h, &f(s), width);
        }
    }
    for r in records {
        for s in r {
            h.extend_from_slice(s);
        }
    }
    h
}

fn le(v: &[i16]) -> Vec<u8> {
    v.iter().flat_map(|d| d.to_le_bytes()).collect()
}

/// An annotation signal's bytes for one record: the record's time stamp and optional text.
fn tal(onset: &str, text: &str, bytes: usize) -> Vec<u8> {
    let mut v = format!("+{onset}\x14\x14\0").into_bytes();
    if !text.is_empty() {
        v.extend(format!("+{onset}\x14{text}\x14\0").into_bytes());
    }
    v.resize(bytes, 0);
    v
}

const EEG: Sig = Sig {
    label: "EEG Fpz-Cz",
    units: "uV",
    pmin: "-192.000",
    pmax: "192.000",
    dmin: "-2048",
    dmax: "2047",
    spr: 4,
};
const ECG: Sig =
    Sig { label: "ECG", units: "mV", pmin: "-3276.8", pmax: "3276.7", dmin: "-32768", dmax: "32767", spr: 4 };
const ANN: Sig = Sig {
    label: "EDF Annotations",
    units: "",
    pmin: "-1",
    pmax: "1",
    dmin: "-32768",
    dmax: "32767",
    spr: 16,
};

fn edf_plus() -> Vec<u8> {
    let records = vec![
        vec![le(&[-2048, -1, 0, 2047]), tal("0", "Lights off", 32), le(&[-32768, 32767, 5, -5])],
        vec![le(&[100, -100, 7, 1]), tal("1", "", 32), le(&[0, 1, 2, 3])],
    ];
    edf_file("EDF+C", "1", &[EEG, ANN, ECG], &records)
}

#[test]
fn formats_edf_round_trip_bit_for_bit() {
    let d = scratch("edf");
    let p = d.join("in.edf");
    let bytes = edf_plus();
    std::fs::write(&p, &bytes).unwrap();
    let (t, meta) = edf::read_edf(&p).unwrap();
    assert_eq!(t.dims(), vec![1, 2, 8]);
    assert_eq!(meta.labels(), vec!["EEG Fpz-Cz", "ECG"]);
    assert_eq!((meta.signals[0].units.as_str(), meta.signals[1].units.as_str()), ("uV", "mV"));
    assert_eq!(meta.signals[0].physical_min.text(), "-192.000");
    assert_eq!(meta.signals[1].physical_max.value, 3276.7);
    assert_eq!(meta.signals[0].prefiltering, "HP:0.1Hz LP:75Hz N:50Hz");
    assert_eq!(meta.signals[0].transducer, "AgAgCl electrode");
    assert_eq!((meta.start_date.as_str(), meta.start_time.as_str()), ("02.03.02", "14.33.10"));
    assert!(meta.patient.starts_with("MCH-0234567"));
    assert_eq!((meta.reserved.as_str(), meta.records, meta.fs()), ("EDF+C", 2, 4.0));
    assert_eq!(meta.annotations.len(), 1);
    assert_eq!(meta.annotations[0].position, 1);
    assert_eq!(meta.annotation_texts(), vec!["Lights off"]);
    // Physical values: pmin + (d − dmin)·(pmax − pmin)/(dmax − dmin).
    let eeg = |d: f64| -192.0 + (d + 2048.0) * 384.0 / 4095.0;
    assert_near(&t.channel(0, 0)[..4], &[eeg(-2048.0), eeg(-1.0), eeg(0.0), eeg(2047.0)]);
    assert_eq!(t.channel(0, 0)[..4].iter().map(|v| v.round()).collect::<Vec<_>>(), [-192.0, 0.0, 0.0, 192.0]);
    assert_near(&t.channel(0, 1)[..4], &[-3276.8, 3276.7, 0.5, -0.5]);
    let q = d.join("out.edf");
    edf::write_edf(&q, &t, &meta).unwrap();
    assert_eq!(std::fs::read(&q).unwrap(), bytes, "header fields, annotations and digital samples");
    // Through the loader (standardised per channel) and back: still the same bytes.
    let (s, source) = data::load::<1>(&p, None).unwrap();
    for c in 0..2 {
        let x = s.channel(0, c);
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / 8.0;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / 8.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5, "channel {c}: mean {mean}, variance {var}");
    }
    assert_eq!(source.format, "edf");
    assert!(matches!(source.scaling, ndstyle::modality::format::Scaling::Standardize(_)));
    let r = d.join("again.edf");
    data::save(&r, &s, &source).unwrap();
    assert_eq!(std::fs::read(&r).unwrap(), bytes);
}

#[test]
fn formats_edf_mixed_rates_are_resampled_and_written_back() {
    let d = scratch("edfrates");
    let slow = Sig { spr: 2, ..EEG };
    let records = vec![vec![le(&[0, 400, 800, 1200]), le(&[10, 20])], vec![le(&[1, 2, 3, 4]), le(&[30, 50])]];
    let bytes = edf_file("", "0.5", &[EEG, slow], &records);
    let p = d.join("rates.edf");
    std::fs::write(&p, &bytes).unwrap();
    let (t, meta) = edf::read_edf(&p).unwrap();
    assert!(meta.is_resampled());
    assert_eq!(meta.rates(), vec![8.0, 4.0]);
    assert_eq!(t.dims(), vec![1, 2, 8]);
    let eeg = |d: f64| -192.0 + (d + 2048.0) * 384.0 / 4095.0;
    // Original samples on the even positions, midpoints between, the last held.
    let want: Vec<f64> = [10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 50.0].iter().map(|&v| eeg(v)).collect();
    assert_near(t.channel(0, 1), &want);
    let q = d.join("out.edf");
    edf::write_edf(&q, &t, &meta).unwrap();
    assert_eq!(std::fs::read(&q).unwrap(), bytes);
}

#[test]
fn formats_edf_bad_files() {
    let d = scratch("edfbad");
    let good = edf_plus();
    let mut bad_number = good.clone();
    // Signal 1's physical minimum is at 256 + 3·(16 + 80 + 8).
    bad_number[256 + 3 * 104..256 + 3 * 104 + 8].copy_from_slice(b"12a     ");
    let mut lying = good.clone();
    lying[236..244].copy_from_slice(b"3       ");
    let mut discontinuous = good.clone();
    discontinuous[192..197].copy_from_slice(b"EDF+D");
    let mut open = good.clone();
    open[236..244].copy_from_slice(b"-1      ");
    let mut digital = good.clone();
    digital[256 + 3 * 120..256 + 3 * 120 + 8].copy_from_slice(b"2047    ");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("short.edf", good[..200].to_vec(), "256-byte"),
        ("header.edf", good[..700].to_vec(), "truncated header"),
        ("number.edf", bad_number, "physical minimum '12a' is not a number"),
        ("lying.edf", lying, "declares 3 data records"),
        ("cut.edf", good[..good.len() - 1].to_vec(), "declares 2 data records"),
        ("plusd.edf", discontinuous, "EDF+D"),
        ("open.edf", open, "-1"),
        ("digital.edf", digital, "digital minimum"),
    ];
    for (name, bytes, want) in cases {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        one_line_naming(edf::read_edf(&p), &p, want);
    }
}

fn write_record(dir: &Path, name: &str, header: &str, dat: &[u8]) -> PathBuf {
    std::fs::write(dir.join(format!("{name}.dat")), dat).unwrap();
    let p = dir.join(format!("{name}.hea"));
    std::fs::write(&p, header).unwrap();
    p
}

#[test]
fn formats_wfdb_16_round_trip() {
    let d = scratch("wfdb16");
    let samples: [i16; 8] = [1024, -5, 2000, 7, -32767, 32767, 0, 1];
    let sum = |xs: &[i16]| xs.iter().fold(0i16, |a, &v| a.wrapping_add(v));
    let (a, b): (Vec<i16>, Vec<i16>) =
        (samples.iter().step_by(2).copied().collect(), samples.iter().skip(1).step_by(2).copied().collect());
    let header = format!(
        "rec 2 500 4\nrec.dat 16 200(1024)/mV 12 1024 1024 {} 0 MLII\nrec.dat 16 1000(0)/uV 16 0 -5 {} 0 V5 lead\n# 69 M\n",
        sum(&a),
        sum(&b)
    );
    let p = write_record(&d, "rec", &header, &le(&samples));
    let (t, meta) = wfdb::read_wfdb(&p).unwrap();
    assert_eq!(t.dims(), vec![1, 2, 4]);
    assert_eq!(meta.labels(), vec!["MLII", "V5 lead"]);
    assert_eq!((meta.fs, meta.comments.clone()), (500.0, vec![" 69 M".to_string()]));
    assert_eq!((meta.signals[1].gain, meta.signals[1].units.as_str()), (1000.0, "uV"));
    assert_near(t.channel(0, 0), &[0.0, 4.88, -168.955, -5.12]);
    assert_near(t.channel(0, 1), &[-0.005, 0.007, 32.767, 0.001]);
    let q = d.join("out.hea");
    wfdb::write_wfdb(&q, &t, &meta).unwrap();
    assert_eq!(std::fs::read(d.join("out.dat")).unwrap(), le(&samples), "digital samples");
    assert_eq!(std::fs::read_to_string(&q).unwrap(), header.replace("rec", "out"), "header fields");
    let (t2, meta2) = wfdb::read_wfdb(&q).unwrap();
    assert_eq!(t2, t);
    assert_eq!(
        WfdbMeta {
            record: "rec".into(),
            signals: meta2
                .signals
                .iter()
                .map(|s| wfdb::WfdbSignal { file: "rec.dat".into(), ..s.clone() })
                .collect(),
            ..meta2
        },
        meta
    );
}

/// Format 212 packing by hand: two 12-bit samples in three bytes.
fn pack_212(samples: &[i32]) -> Vec<u8> {
    let mut out = Vec::new();
    for pair in samples.chunks(2) {
        let a = (pair[0] & 0xFFF) as u32;
        out.push((a & 0xFF) as u8);
        match pair.get(1) {
            Some(&b) => {
                let b = (b & 0xFFF) as u32;
                out.push(((a >> 8) | ((b >> 8) << 4)) as u8);
                out.push((b & 0xFF) as u8);
            }
            None => out.push((a >> 8) as u8),
        }
    }
    out
}

#[test]
fn formats_wfdb_212_planted_packing() {
    // 0x123 = 291, 0xFFF = −1, 0x800 = −2048 is the gap marker (not used), 0x7FF = 2047, 0x801 = −2047.
    let frames: [i32; 6] = [291, -1, 2047, -2047, 0, 1000];
    let bytes = [0x23, 0xF1, 0xFF, 0xFF, 0x87, 0x01, 0x00, 0x30, 0xE8];
    assert_eq!(pack_212(&frames), bytes, "the test's packer agrees with the layout written out");
    assert_eq!(wfdb::unpack_212(&bytes, 6), frames);
    let d = scratch("wfdb212");
    let header = "p 2 360 3\np.dat 212 200(0) 12 0 291 2338 0 A\np.dat 212 100 12 0 -1 -1048 0 B\n";
    let p = write_record(&d, "p", header, &bytes);
    let (t, _) = wfdb::read_wfdb(&p).unwrap();
    assert_near(t.channel(0, 0), &[291.0 / 200.0, 2047.0 / 200.0, 0.0]);
    assert_near(t.channel(0, 1), &[-0.01, -20.47, 10.0]);
    // An odd count: the last sample in two bytes.
    let q = write_record(&d, "odd", "odd 1 100 3\nodd.dat 212 1 12 0\n", &pack_212(&[5, -6, 7]));
    assert_eq!(wfdb::read_wfdb(&q).unwrap().0.data(), &[5.0, -6.0, 7.0]);
}

#[test]
fn formats_wfdb_real_record_matches_wfdb_python() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wfdb");
    let (t, meta) = wfdb::read_wfdb(&dir.join("208x.hea")).unwrap();
    assert_eq!(t.dims(), vec![1, 1, 3600]);
    assert_eq!(
        (meta.fs, meta.labels(), meta.signals[0].units.as_str()),
        (360.0, vec!["MLII".to_string()], "mV")
    );
    assert_eq!((meta.signals[0].format, meta.signals[0].gain, meta.signals[0].baseline), (212, 200.0, 1024));
    let reference = std::fs::read_to_string(dir.join("208x_reference.csv")).unwrap();
    let want: Vec<f64> =
        reference.lines().filter(|l| !l.starts_with('#')).skip(1).map(|l| l.parse().unwrap()).collect();
    assert_eq!(want.len(), 1000);
    for (i, w) in want.iter().enumerate() {
        let g = t.channel(0, 0)[i] as f64;
        assert!((g - w).abs() <= 1e-6, "sample {i}: {g} vs wfdb-python {w}");
    }
}

#[test]
fn formats_wfdb_bad_files() {
    let d = scratch("wfdbbad");
    let dat = le(&[1, 2, 3, 4]);
    let cases: [(&str, &str, &str); 7] = [
        ("trunc", "trunc 2 360 2\ntrunc.dat 16 200 16 0\n", "truncated header"),
        ("lying", "lying 1 360 9\nlying.dat 16 200 16 0\n", "declares 9 samples"),
        ("fmt", "fmt 1 360 4\nfmt.dat 311 200 16 0\n", "format '311'"),
        ("sum", "sum 1 360 4\nsum.dat 16 200 16 0 1 11 0 A\n", "checksum 11"),
        ("gain", "gain 1 360 4\ngain.dat 16 2x0 16 0\n", "ADC gain '2x0'"),
        ("seg", "seg/2 1 360 4\n", "multi-segment"),
        ("nsig", "nsig x 360\n", "number of signals"),
    ];
    for (name, header, want) in cases {
        let p = write_record(&d, name, header, &dat);
        let msg = wfdb::read_wfdb(&p).expect_err(name).to_string();
        assert!(!msg.contains('\n') && msg.contains(want), "{name}: {msg}");
        assert!(msg.contains(name), "{name}: {msg}");
    }
    // A missing signal file names it.
    let p = d.join("gone.hea");
    std::fs::write(&p, "gone 1 360\ngone.dat 16 200\n").unwrap();
    one_line_naming(wfdb::read_wfdb(&p), &d.join("gone.dat"), "gone.dat");
}

#[test]
fn formats_csv_rate_headers_and_time_column() {
    let d = scratch("csvrate");
    for (i, comment) in [
        "# fs=360",
        "# sampling_rate_hz=360",
        "# sample_rate = 360 Hz",
        "# Sampling rate: 360Hz",
        "#fs = 360",
    ]
    .iter()
    .enumerate()
    {
        let p = d.join(format!("c{i}.csv"));
        std::fs::write(&p, format!("{comment}\na,b\n1,2\n3,4\n")).unwrap();
        let (t, meta) = signal::read_csv(&p, None).unwrap();
        assert_eq!((meta.fs, t.data()), (360.0, &[1.0, 3.0, 2.0, 4.0][..]), "{comment}");
    }
    let mut rows = String::from("time_s,II\n");
    for i in 0..50 {
        rows.push_str(&format!("{:.6},{}\n", 1000.0 + i as f64 / 360.0, i));
    }
    let p = d.join("time.csv");
    std::fs::write(&p, &rows).unwrap();
    let (t, meta) = signal::read_csv(&p, None).unwrap();
    assert_eq!((meta.fs, meta.leads.clone(), t.dims()), (360.0, vec!["II".to_string()], vec![1, 1, 50]));
    assert_eq!(t.channel(0, 0)[49], 49.0);
    let cases = [
        ("uneven.csv", "t,a\n0,1\n0.01,2\n0.03,3\n", "not uniform"),
        ("disagree.csv", "# fs=100\ntime,a\n0,1\n0.5,2\n", "spacing gives 2 Hz"),
        ("one.csv", "seconds,a\n0,1\n", "one sample time"),
        ("badrate.csv", "# sample_rate=fast\na\n1\n", "sample_rate"),
    ];
    for (name, text, want) in cases {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        one_line_naming(signal::read_csv(&p, None), &p, want);
    }
}

/// A µV-scale EEG-like recording: 2 signals of 256 samples at 128 Hz, ±100 µV.
fn eeg_edf(path: &Path) -> (Tensor<1>, EdfMeta) {
    let n = 256;
    let x: Vec<f32> = (0..2 * n)
        .map(|i| {
            let (c, k) = (i / n, (i % n) as f32);
            60.0 * (k * 0.3 + c as f32).sin() + 40.0 * (k * 0.05).cos()
        })
        .collect();
    let t = Tensor::from_vec(1, 2, [n], x).unwrap();
    let meta = EdfMeta::for_signal(128.0, &["Fpz-Cz".into(), "Pz-Oz".into()], "uV", &t).unwrap();
    edf::write_edf(path, &t, &meta).unwrap();
    edf::read_edf(path).unwrap()
}

fn stylize(content: &Path, style: &Path, out: &Path) -> std::process::Output {
    let args = ["--iters", "3", "--quiet", "--threads", "2", "--checkpoint-every", "0"];
    ndstyle()
        .arg("stylize")
        .arg("--content")
        .arg(content)
        .arg("--style")
        .arg(style)
        .arg("-o")
        .arg(out)
        .args(args)
        .output()
        .unwrap()
}

fn first_loss(out: &Path) -> f64 {
    let log = std::fs::read_to_string(out.with_extension("losses.csv")).unwrap();
    log.lines().nth(1).unwrap().split(',').nth(1).unwrap().parse().unwrap()
}

#[test]
fn formats_cli_stylizes_edf_and_wfdb() {
    let d = scratch("cli");
    let (content, meta) = eeg_edf(&d.join("eeg.edf"));
    let style = d.join("style.edf");
    let shifted =
        Tensor::from_vec(1, 2, [256], content.data().iter().rev().map(|v| v * 0.5).collect()).unwrap();
    edf::write_edf(&style, &shifted, &EdfMeta::for_signal(128.0, &meta.labels(), "uV", &shifted).unwrap())
        .unwrap();
    let out = d.join("out.edf");
    let o = stylize(&d.join("eeg.edf"), &style, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (result, meta_out) = edf::read_edf(&out).unwrap();
    assert_eq!(result.dims(), content.dims());
    assert_eq!(meta_out, meta, "the content's header, unchanged");
    // Standardised, µV EEG starts at a loss of order one, as mV ECG does; the same values
    // through CSV are standardised by the run as well, and start at the same loss.
    let standardised = first_loss(&out);
    let csv = d.join("eeg.csv");
    signal::write_csv(&csv, &content, &signal::SignalMeta { fs: 128.0, leads: meta.labels() }).unwrap();
    let style_csv = d.join("style.csv");
    signal::write_csv(&style_csv, &shifted, &signal::SignalMeta { fs: 128.0, leads: meta.labels() }).unwrap();
    let raw_out = d.join("raw.csv");
    assert!(stylize(&csv, &style_csv, &raw_out).status.success());
    let raw = first_loss(&raw_out);
    assert!(
        standardised < 1e3 && (raw - standardised).abs() < 1e-3 * standardised,
        "EDF {standardised}, CSV {raw}"
    );

    // WFDB: the real record as style for a short record as content; written back as WFDB.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wfdb/208x.hea");
    let (real, _) = wfdb::read_wfdb(&fixture).unwrap();
    let short = Tensor::from_vec(1, 1, [720], real.data()[..720].to_vec()).unwrap();
    let short_hea = d.join("short.hea");
    let short_meta = WfdbMeta { record: "short".into(), ..wfdb::read_wfdb(&fixture).unwrap().1 };
    wfdb::write_wfdb(&short_hea, &short, &short_meta).unwrap();
    let out = d.join("ecg_out.hea");
    let o = stylize(&short_hea, &fixture, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (result, m) = wfdb::read_wfdb(&out).unwrap();
    assert_eq!((result.dims(), m.fs, m.labels()), (vec![1, 1, 720], 360.0, vec!["MLII".to_string()]));
    assert!(d.join("ecg_out.dat").exists() && result.all_finite());
    // And as CSV from the same content (its own name: the sidecars of `ecg_out.hea` are not replaced).
    let o = stylize(&short_hea, &fixture, &d.join("ecg_csv.csv"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(signal::read_csv(&d.join("ecg_csv.csv"), None).unwrap().1.fs, 360.0);
}

#[test]
fn formats_cli_bad_record_is_one_line() {
    let d = scratch("clibad");
    let p = write_record(&d, "bad", "bad 1 360 100\nbad.dat 16 200\n", &le(&[1, 2]));
    let o = stylize(&p, &p, &d.join("out.hea"));
    assert_one_line_error(&o, &["bad.dat", "declares 100 samples"]);
}

/// Each layout rule of `.npy` inference, and that `--rank`/`--layout` override it.
#[test]
fn npy_layouts_are_inferred_and_said() {
    use ndstyle::io::npy::Layout::{ChannelsFirst as First, ChannelsLast as Last};
    use ndstyle::modality::npy::infer;
    let rule = |shape: &[usize]| {
        let (r, l, note) = infer(shape, None, None).unwrap();
        assert!(note.is_some(), "{shape:?}: an inferred layout is said");
        (r, l)
    };
    assert_eq!(rule(&[5000]), (1, First));
    assert_eq!(rule(&[5000, 12]), (1, Last), "samples × leads, the usual ECG array");
    assert_eq!(rule(&[12, 5000]), (1, First));
    assert_eq!(rule(&[64, 48]), (2, First), "a grey image");
    assert_eq!(rule(&[3, 32, 32]), (2, First), "C × H × W");
    assert_eq!(rule(&[32, 32, 3]), (2, Last), "H × W × C");
    assert_eq!(rule(&[16, 32, 32]), (3, First), "a volume");
    assert_eq!(rule(&[2, 16, 16, 16]), (3, First));
    assert!(infer(&[1, 2, 3, 4, 5, 6], None, None).is_err());
    assert_eq!(infer(&[3, 32, 32], Some(3), None).unwrap(), (3, First, None), "--rank overrides");
    assert_eq!(infer(&[5000, 12], Some(1), Some(Last)).unwrap().1, Last);
    // Read through the registry: a (T, leads) array becomes a 12-lead signal, and the note says so.
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ecg.npy");
    let data: Vec<f32> = (0..1200).map(|i| i as f32).collect();
    ndstyle::io::npy::write_npy(&p, &[100, 12], &data).unwrap();
    let (t, src) = data::load_any(&p, &data::LoadOptions::default()).unwrap();
    assert_eq!(t.dims(), vec![1, 12, 100]);
    assert_eq!(t.data()[1], 12.0, "lead 0, sample 1");
    assert!(src.notes[0].contains("rank-1 signal with 12 channels last"), "{:?}", src.notes);
}

/// A style at another sampling rate than the content is refused with both rates, never assumed equal.
#[test]
fn a_style_at_another_rate_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let write = |name: &str, fs: u32| {
        let p = d.path().join(name);
        let rows: Vec<String> = (0..400).map(|i| format!("{}", (i as f32 * 0.1).sin())).collect();
        std::fs::write(&p, format!("# fs={fs}\nII\n{}\n", rows.join("\n"))).unwrap();
        p
    };
    let (content, style) = (write("c.csv", 1000), write("s.csv", 360));
    let out = d.path().join("out.csv");
    let o = stylize(&content, &style, &out);
    assert_one_line_error(&o, &["s.csv", "360 Hz", "1000 Hz", "resample"]);
    assert!(!out.exists());
}
