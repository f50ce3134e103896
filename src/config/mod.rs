//! YAML experiments: a versioned schema read in two stages, expanded into the runs of a sweep.
//!
//! 1. The file is parsed into a located tree ([`tree::Node`]): every key and value keeps its
//!    file, line and column. `--set key=value` overrides replace nodes of the tree (located in
//!    the argument), and swept keys (`beta: [1e3, 1e4]`) are expanded into one tree per grid point.
//! 2. Each point is deserialised into the raw serde mirror ([`raw::RawExperiment`], unknown keys
//!    rejected) and validated into a [`Run`]: paths resolved (relative to the config file's
//!    directory), globs expanded, the rank inferred, every value range-checked. Errors at either
//!    stage are [`ConfigError`]s: `file:line:column: key: message`.
//!
//! The runner ([`crate::experiment`]) trusts an [`Experiment`] and checks nothing again.

mod de;
pub mod raw;
pub mod schema;
mod tree;
mod validate;

pub use tree::{ConfigError, Loc, Node, Value};

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::runner::Settings;
use schema::{Sweep, KEYS};

/// The schema version this build reads.
pub const VERSION: i64 = 1;

/// A validated experiment: where it writes, and its runs sorted by name.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The config file.
    pub file: PathBuf,
    pub name: String,
    /// The experiment directory: one subdirectory per run, plus the index.
    pub out_dir: PathBuf,
    pub runs: Vec<Run>,
    /// The memory budget `max_memory:` asks for, if any.
    pub max_memory: Option<crate::budget::Budget>,
}

/// One run of an experiment, with everything resolved.
#[derive(Clone, Debug)]
pub struct Run {
    /// Unique within the experiment; also the name of its directory.
    pub name: String,
    /// Spatial rank (1, 2 or 3).
    pub rank: usize,
    pub content: PathBuf,
    /// Style files with their blend weights.
    pub styles: Vec<(PathBuf, f64)>,
    pub init_file: Option<PathBuf>,
    pub max_side: Option<u32>,
    /// How the inputs are read (`max_side`, signal `fs`, audio STFT and Griffin–Lim, volume window).
    pub load: crate::data::LoadOptions,
    /// Images: the result's longer side in pixels (resized before writing).
    pub size: Option<u32>,
    /// Colour preservation for RGB inputs.
    pub preserve_color: crate::modality::color::PreserveColor,
    /// A run without progress (see [`crate::runner::verdict`]) counts as done, not failed.
    pub allow_no_progress: bool,
    pub settings: Settings,
    /// The axes lower-rank styles are applied across (`inputs.style_axes`).
    pub style_axes: crate::runner::SliceAxes,
    /// The temporal weight of cross-rank video runs (`losses.temporal`; `None`: the default).
    pub temporal: Option<f64>,
    /// The result's format: `png`, `jpg`, `npy`, `csv`, `wav`, `nii`, `nii.gz` or `frames` (a
    /// folder of PNG frames).
    pub format: String,
    /// This run's configuration with defaults filled in and paths made absolute (YAML).
    pub resolved: String,
}

impl Run {
    /// The result file's name inside the run directory.
    pub fn result_name(&self) -> String {
        match self.format.as_str() {
            "frames" => "result".to_string(),
            f => format!("result.{f}"),
        }
    }
}

/// Read and validate the experiment in `path`, with `--set` overrides (`key=value`) and an
/// optional output directory replacing `outputs.directory`.
pub fn load(path: &Path, sets: &[String], out: Option<&Path>) -> Result<Experiment> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let stem =
        path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "experiment".into());
    let mut exp = parse(&text, &path.display().to_string(), &base, &stem, sets)?;
    exp.file = path.to_path_buf();
    if let Some(o) = out {
        exp.out_dir = o.to_path_buf();
    }
    Ok(exp)
}

/// Validate experiment `text` read from `source`; relative paths are taken from `base`, and
/// `stem` names the experiment when the file does not.
pub fn parse(text: &str, source: &str, base: &Path, stem: &str, sets: &[String]) -> Result<Experiment> {
    let mut root = Node::parse(text, source, 0)?;
    if matches!(root.value, Value::Null) {
        return Err(ConfigError::new(&root.loc, "", "the file is empty").into());
    }
    for s in sets {
        apply_set(&mut root, s)?;
    }
    check_version(&root)?;
    let max_memory = match root.get("max_memory") {
        Some(n) => match &n.value {
            Value::Str(s) => Some(
                crate::budget::Budget::parse("max_memory", s)
                    .map_err(|e| ConfigError::new(&n.loc, "max_memory", e.to_string()))?,
            ),
            Value::Int(b) if *b > 0 => Some(crate::budget::Budget { bytes: *b as u64 }),
            Value::Null => None,
            _ => {
                return Err(
                    ConfigError::new(&n.loc, "max_memory", "expected a size such as 8G or 512M").into()
                )
            }
        },
        None => None,
    };
    let mut runs = Vec::new();
    for (point, parts) in expand(&root)? {
        let raw: raw::RawExperiment = de::from_node(&point, "")?;
        runs.extend(validate::runs(&point, &raw, base, &parts)?);
        if runs.len() as u128 > crate::budget::MAX_RUNS {
            let loc = root.get("inputs.content").map(|n| n.loc.clone()).unwrap_or(root.loc.clone());
            return Err(ConfigError::new(
                &loc,
                "inputs.content",
                format!("the sweep expands to more than {} runs; split it", crate::budget::MAX_RUNS),
            )
            .into());
        }
    }
    runs.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = runs.windows(2).find(|w| w[0].name == w[1].name) {
        let loc = root.get("inputs.content").map(|n| n.loc.clone()).unwrap_or(root.loc.clone());
        return Err(ConfigError::new(
            &loc,
            "inputs.content",
            format!("two runs would be named '{}'", w[0].name),
        )
        .into());
    }
    let raw_name = root.get("name").and_then(|n| match &n.value {
        Value::Str(s) => Some(s.clone()),
        _ => None,
    });
    let name = raw_name.unwrap_or_else(|| stem.to_string());
    let out_dir = match root.get("outputs.directory").map(|n| &n.value) {
        Some(Value::Str(d)) => base.join(d),
        _ => base.join("runs").join(&name),
    };
    Ok(Experiment { file: PathBuf::from(source), name, out_dir, runs, max_memory })
}

/// Apply one `--set key=value` (value read as YAML) to the tree.
fn apply_set(root: &mut Node, arg: &str) -> std::result::Result<(), ConfigError> {
    let source = format!("--set {arg}");
    let Some((key, value)) = arg.split_once('=') else {
        let loc = Loc { source: source.as_str().into(), line: 1, column: 1 };
        return Err(ConfigError::new(&loc, arg, "expected KEY=VALUE (a dotted key such as losses.beta)"));
    };
    let node = Node::parse(value, &source, key.len() as u32 + 1)?;
    let node = match node.value {
        // `--set key=` clears a key back to its default.
        Value::Null if value.trim().is_empty() => Node { value: Value::Null, ..node },
        _ => node,
    };
    // An unknown key is caught by the typed stage, located in this argument.
    root.set(key.trim(), node)
}

fn check_version(root: &Node) -> std::result::Result<(), ConfigError> {
    match root.get("version") {
        None => Err(ConfigError::new(
            &root.loc,
            "version",
            format!("missing; this build reads `version: {VERSION}`"),
        )),
        Some(Node { value: Value::Int(VERSION), .. }) => Ok(()),
        Some(n) => Err(ConfigError::new(
            &n.loc,
            "version",
            format!("unsupported version {} (this build reads version {VERSION})", n.label()),
        )),
    }
}

/// The grid points of the sweep: one tree per combination of swept values (keys in the order
/// they appear in the file, values in their listed order), with the `label=value` parts of its name.
fn expand(root: &Node) -> std::result::Result<Vec<(Node, Vec<String>)>, ConfigError> {
    let mut axes: Vec<(&str, &str, Vec<Node>)> = Vec::new();
    for d in KEYS {
        let Some(n) = root.get(d.key) else { continue };
        let Value::Seq(items) = &n.value else { continue };
        let swept = match d.sweep {
            Sweep::No => false,
            Sweep::Scalar => true,
            Sweep::List => !items.is_empty() && items.iter().all(|i| matches!(i.value, Value::Seq(_))),
        };
        if !swept {
            continue;
        }
        if items.is_empty() {
            return Err(ConfigError::new(&n.loc, d.key, "an empty list sweeps over nothing"));
        }
        axes.push((d.key, d.label, items.clone()));
    }
    // Name parts follow the file's order; keys swept by `--set` come after, in KEYS order.
    axes.sort_by_key(|(key, _, _)| {
        let loc = &root.get(key).expect("found above").loc;
        (
            loc.source != root.loc.source,
            if loc.source == root.loc.source { (loc.line, loc.column) } else { (0, 0) },
        )
    });
    // Count the grid before building it: a sweep of 10^12 points must fail here, not in malloc.
    let count = axes.iter().fold(1u128, |n, (_, _, v)| n.saturating_mul(v.len() as u128));
    if count > crate::budget::MAX_RUNS {
        let (key, _, _) = axes[0];
        let loc = &root.get(key).expect("found above").loc;
        return Err(ConfigError::new(
            loc,
            key,
            format!(
                "the sweep expands to {count} runs ({}), above the limit of {}; sweep fewer values",
                axes.iter().map(|(k, _, v)| format!("{k}: {}", v.len())).collect::<Vec<_>>().join(" × "),
                crate::budget::MAX_RUNS
            ),
        ));
    }
    let mut points = vec![(root.clone(), Vec::new())];
    for (key, label, values) in axes {
        let mut next = Vec::with_capacity(points.len() * values.len());
        for (tree, parts) in &points {
            for v in &values {
                let mut t = tree.clone();
                t.set(key, v.clone())?;
                let mut p = parts.clone();
                p.push(format!("{label}={}", v.label()));
                next.push((t, p));
            }
        }
        points = next;
    }
    Ok(points)
}
