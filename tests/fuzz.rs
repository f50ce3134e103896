//! Byte-mutation fuzzing of every loader (npy, PNG, JPEG, WAV, CSV, NIfTI, HDF5 weights, YAML,
//! checkpoints): real files mutated by proptest must give `Ok` or an error, never a panic, under a
//! 1 GiB memory budget.
//!
//! Each loader runs `NDSTYLE_FUZZ_CASES` cases (default 16: a few seconds in all), e.g.
//! `NDSTYLE_FUZZ_CASES=5000 cargo test --release --test tests fuzz` for a long run. A case that
//! panics is saved under Cargo's scratch folder (the failure names the file); copy it to
//! `tests/fixtures/fuzz/<loader>/` and it becomes a regression case, replayed on every run.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use ndstyle::budget::Budget;
use ndstyle::Tensor;

/// A loader: the extension its files need and how it reads one.
struct Loader {
    name: &'static str,
    ext: &'static str,
    seed: fn(&Path) -> Vec<u8>,
    load: fn(&Path) -> Result<(), String>,
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bytes_of(path: &Path, write: impl FnOnce(&Path)) -> Vec<u8> {
    write(path);
    std::fs::read(path).unwrap()
}

fn small_image() -> Tensor<2> {
    Tensor::from_vec(1, 3, [12, 10], (0..360).map(|i| ((i * 37) % 101) as f32 / 100.0).collect()).unwrap()
}

fn err(e: ndstyle::Error) -> String {
    e.to_string()
}

const LOADERS: &[Loader] = &[
    Loader {
        name: "npy",
        ext: "npy",
        seed: |p| bytes_of(p, |p| ndstyle::io::npy::write_npy(p, &[3, 5], &[0.25; 15]).unwrap()),
        load: |p| ndstyle::io::npy::read_npy(p).map(|_| ()).map_err(err),
    },
    Loader {
        name: "png",
        ext: "png",
        seed: |_| std::fs::read(manifest().join("datasets/images/landscape.png")).unwrap(),
        load: |p| ndstyle::io::image::read_image(p, Some(8)).map(|_| ()).map_err(err),
    },
    Loader {
        name: "jpeg",
        ext: "jpg",
        seed: |p| bytes_of(p, |p| ndstyle::io::image::write_image(p, &small_image()).unwrap()),
        load: |p| ndstyle::io::image::read_image(p, None).map(|_| ()).map_err(err),
    },
    Loader {
        name: "wav",
        ext: "wav",
        seed: |p| {
            let x: Vec<f32> = (0..2048).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
            use ndstyle::modality::audio::{write_wav, SampleFormat};
            bytes_of(p, |p| write_wav(p, &x, 8000, SampleFormat::Int(16)).unwrap())
        },
        load: |p| {
            let cfg = ndstyle::modality::audio::StftConfig { n_fft: 256, hop: 64 };
            ndstyle::modality::audio::read_wav_spectrogram(p, cfg).map(|_| ()).map_err(err)
        },
    },
    Loader {
        name: "csv",
        ext: "csv",
        seed: |_| {
            let text = std::fs::read_to_string(manifest().join("datasets/signals/ecg_60bpm.csv")).unwrap();
            text.lines().take(60).collect::<Vec<_>>().join("\n").into_bytes()
        },
        load: |p| ndstyle::modality::signal::read_csv(p, None).map(|_| ()).map_err(err),
    },
    Loader {
        name: "nifti",
        ext: "nii",
        seed: |p| bytes_of(p, write_volume),
        load: |p| ndstyle::modality::volume::read_nifti(p).map(|_| ()).map_err(err),
    },
    Loader {
        name: "nifti-gz",
        ext: "nii.gz",
        seed: |p| bytes_of(p, write_volume),
        load: |p| ndstyle::modality::volume::read_nifti(p).map(|_| ()).map_err(err),
    },
    Loader {
        name: "hdf5-weights",
        ext: "h5",
        seed: |_| std::fs::read(manifest().join("tests/fixtures/tiny_vgg16_keras2_h5py.h5")).unwrap(),
        load: |p| ndstyle::weights::load_vgg(p).map(|_| ()).map_err(err),
    },
    Loader {
        name: "yaml",
        ext: "yaml",
        seed: |_| std::fs::read(manifest().join("configs/image.yaml")).unwrap(),
        load: |p| {
            let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
            let base = manifest().join("configs");
            ndstyle::config::parse(&text, "fuzz.yaml", &base, "fuzz", &[]).map(|_| ()).map_err(err)
        },
    },
    Loader {
        name: "checkpoint",
        ext: "ckpt",
        seed: |p| {
            let x = Tensor::<1>::from_vec(1, 2, [8], (0..16).map(|i| i as f32).collect()).unwrap();
            let row = ndstyle::io::LossRow {
                iteration: 3,
                total: 1.0,
                content: 0.5,
                style: vec![0.5],
                tv: 0.0,
                seconds: 0.1,
            };
            let save = |p: &Path| {
                ndstyle::runner::Checkpoint::save(p, 7, 0, 3, &x, Some(&[1, 2, 3]), &[row]).unwrap()
            };
            bytes_of(p, save)
        },
        load: |p| ndstyle::runner::Checkpoint::<1>::load(p, 7).map(|_| ()).map_err(err),
    },
];

fn write_volume(p: &Path) {
    let t = Tensor::from_vec(1, 1, [3, 4, 5], (0..60).map(|i| i as f32 - 30.0).collect()).unwrap();
    let meta = ndstyle::modality::volume::VolumeMeta::with_spacing([1.0, 2.0, 3.0]);
    ndstyle::modality::volume::write_nifti(p, &t, &meta).unwrap();
}

/// One edit of a file's bytes.
#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    /// A 4-byte field set to an extreme value (sizes, dimensions, offsets).
    Word(usize, u32),
    Repeat(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let extreme =
        prop_oneof![Just(0u32), Just(1), Just(u32::MAX), Just(0x7fff_ffff), Just(0x8000_0000), any::<u32>()];
    prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Edit::Flip(i, b)),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, v)| Edit::Insert(i, v)),
        2 => (any::<usize>(), extreme).prop_map(|(i, w)| Edit::Word(i, w)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Repeat(i, n)),
    ]
}

fn apply(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if b.is_empty() {
            break;
        }
        let at = |i: usize| i % b.len();
        match e {
            Edit::Flip(i, x) => {
                let i = at(*i);
                b[i] ^= x;
            }
            Edit::Truncate(i) => b.truncate(at(*i)),
            Edit::Insert(i, v) => {
                let i = at(*i);
                b.splice(i..i, v.iter().copied());
            }
            Edit::Word(i, w) => {
                let i = at(*i).min(b.len().saturating_sub(4));
                let n = 4.min(b.len() - i);
                b[i..i + n].copy_from_slice(&w.to_le_bytes()[..n]);
            }
            Edit::Repeat(i, n) => {
                let i = at(*i);
                let end = (i + n).min(b.len());
                let chunk = b[i..end].to_vec();
                b.splice(i..i, chunk);
            }
        }
    }
    b
}

/// Load `bytes` as `l` from a file in `dir`; `Err` with a description if the loader panicked.
fn survives(l: &Loader, dir: &Path, bytes: &[u8]) -> Result<(), String> {
    let path = dir.join(format!("case.{}", l.ext));
    std::fs::write(&path, bytes).unwrap();
    match catch_unwind(AssertUnwindSafe(|| (l.load)(&path))) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(msg)) if !msg.contains('\n') => Ok(()),
        Ok(Err(msg)) => Err(format!("a multi-line error: {msg}")),
        Err(_) => Err("a panic".into()),
    }
}

fn budget() {
    if Budget::current().bytes > 1 << 30 {
        Budget { bytes: 1 << 30 }.install();
    }
}

#[test]
fn mutated_files_never_panic_any_loader() {
    budget();
    let cases = std::env::var("NDSTYLE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(16);
    let found = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-found");
    for l in LOADERS {
        let dir = tempfile::tempdir().unwrap();
        let seed = (l.seed)(&dir.path().join(format!("seed.{}", l.ext)));
        assert!(survives(l, dir.path(), &seed).is_ok());
        let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
        let strategy = proptest::collection::vec(edit(), 1..6);
        let result = runner.run(&strategy, |edits| {
            let bytes = apply(seed.clone(), &edits);
            if let Err(what) = survives(l, dir.path(), &bytes) {
                std::fs::create_dir_all(&found).unwrap();
                let file = found.join(format!("{}-{:016x}.{}", l.name, fnv(&bytes), l.ext));
                std::fs::write(&file, &bytes).unwrap();
                return Err(TestCaseError::fail(format!("{}: {what} on {}", l.name, file.display())));
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}

#[test]
fn regression_cases_never_panic() {
    budget();
    let root = manifest().join("tests/fixtures/fuzz");
    let mut replayed = 0;
    for l in LOADERS {
        let Ok(entries) = std::fs::read_dir(root.join(l.name)) else { continue };
        let dir = tempfile::tempdir().unwrap();
        for e in entries {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            if let Err(what) = survives(l, dir.path(), &bytes) {
                panic!("{}: {what}", path.display());
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "tests/fixtures/fuzz holds no cases");
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| (h ^ x as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The hand-made hostile files (`tests/fixtures/fuzz/make_cases.py`) are all invalid: each must be
/// refused with a one-line error that names the file, not read.
#[test]
fn hostile_cases_are_refused() {
    budget();
    let root = manifest().join("tests/fixtures/fuzz");
    let mut refused = 0;
    for l in LOADERS {
        let Ok(entries) = std::fs::read_dir(root.join(l.name)) else { continue };
        for e in entries {
            let path = e.unwrap().path();
            match catch_unwind(AssertUnwindSafe(|| (l.load)(&path))) {
                Ok(Err(msg)) => {
                    assert!(!msg.contains('\n'), "{}: a multi-line error: {msg}", path.display());
                    let name = path.file_name().unwrap().to_string_lossy().into_owned();
                    assert!(
                        msg.contains(&name),
                        "{}: the error does not name the file: {msg}",
                        path.display()
                    );
                    refused += 1;
                }
                Ok(Ok(())) => panic!("{} was accepted", path.display()),
                Err(_) => panic!("{} panicked", path.display()),
            }
        }
    }
    assert!(refused >= 10, "only {refused} hostile cases found");
}
