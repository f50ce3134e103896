//! Run settings as given by CLI flags or YAML keys, their one table of defaults, and the one place they become checked [`Settings`].

use std::path::PathBuf;
use std::str::FromStr;

use super::{Init, OptimizerKind, Settings};
use crate::extractors::{ExtractorSpec, Pooling, NAMES};
use crate::losses::{Normalization, Weights};
use crate::modality::Kind;

/// One setting: its name on the command line, its YAML key and its default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    pub flag: &'static str,
    pub key: &'static str,
    /// The default, as it would be written on the command line (`none`: unset).
    pub default: &'static str,
}

const fn s(flag: &'static str, key: &'static str, default: &'static str) -> Setting {
    Setting { flag, key, default }
}

/// Every run setting with its default: `stylize` and `run` both read this table (and
/// `docs/config.md` shows it), so they cannot disagree.
pub const SETTINGS: &[Setting] = &[
    s("--extractor", "extractor.name", "auto"),
    s("--pooling", "extractor.pooling", "max"),
    s("--seed", "extractor.seed", "0"),
    s("--alpha", "losses.alpha", "1"),
    s("--beta", "losses.beta", "1e3"),
    s("--tv", "losses.tv", "0"),
    s("--norm", "losses.normalization", "lecture"),
    s("--optimizer", "optimizer.name", "lbfgs"),
    s("--lr", "optimizer.lr", "0.02"),
    s("--iters", "optimizer.iterations", "100"),
    s("--levels", "optimizer.levels", "1"),
    s("--rel-tol", "optimizer.rel_tol", "none"),
    s("--checkpoint-every", "optimizer.checkpoint_every", "10"),
    s("--init", "init", "auto"),
    s("--tile", "tile", "none"),
];

/// The row of [`SETTINGS`] with YAML key `key`.
pub fn setting(key: &str) -> &'static Setting {
    SETTINGS.iter().find(|s| s.key == key).unwrap_or(&SETTINGS[0])
}

/// A bad setting: which one, and what is wrong with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bad {
    pub setting: &'static Setting,
    pub message: String,
}

/// The settings as given; `None` takes the default from [`SETTINGS`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Given {
    pub extractor: Option<String>,
    pub pooling: Option<String>,
    pub seed: Option<u64>,
    /// HDF5 weights of pretrained extractors (checked to exist by the caller).
    pub weights: Option<PathBuf>,
    pub content_layers: Option<Vec<String>>,
    pub style_layers: Option<Vec<(String, f64)>>,
    pub alpha: Option<f64>,
    pub beta: Option<f64>,
    pub tv: Option<f64>,
    pub norm: Option<String>,
    pub optimizer: Option<String>,
    pub lr: Option<f32>,
    pub iters: Option<usize>,
    pub levels: Option<usize>,
    pub rel_tol: Option<f32>,
    pub checkpoint_every: Option<usize>,
    pub init: Option<String>,
    pub tile: Option<usize>,
}

impl Given {
    /// Checked settings for content of `kind` (`None`: a `.npy` array), which decides what the
    /// extractor `auto` is; `has_init_file` says whether a starting-point file was given.
    pub fn build(&self, kind: Option<Kind>, has_init_file: bool) -> Result<Settings, Bad> {
        let bad = |key: &str, message: String| Bad { setting: setting(key), message };
        let mut name = value(&self.extractor, "extractor.name")?;
        if name == "auto" {
            name = kind.map_or("random-bank", Kind::default_extractor).to_string();
        }
        if !NAMES.contains(&name.as_str()) {
            return Err(bad(
                "extractor.name",
                format!("'{name}' is not known; choose one of auto, {}", NAMES.join(", ")),
            ));
        }
        let pooling: Pooling = parsed(&self.pooling, "extractor.pooling")?;
        let seed: u64 = number(self.seed, "extractor.seed")?;
        let weight = |v: Option<f64>, key: &str| -> Result<f64, Bad> {
            let w: f64 = number(v, key)?;
            if w.is_finite() && w >= 0.0 {
                Ok(w)
            } else {
                Err(bad(key, format!("must be a finite number >= 0, not {w}")))
            }
        };
        let weights = Weights {
            content: weight(self.alpha, "losses.alpha")?,
            style: weight(self.beta, "losses.beta")?,
            tv: weight(self.tv, "losses.tv")?,
            norm: parsed::<Normalization>(&self.norm, "losses.normalization")?,
        };
        let lr: f32 = number(self.lr, "optimizer.lr")?;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(bad("optimizer.lr", format!("must be > 0, not {lr}")));
        }
        let optimizer = match value(&self.optimizer, "optimizer.name")?.as_str() {
            "lbfgs" => OptimizerKind::Lbfgs,
            "adam" => OptimizerKind::Adam { lr },
            n => return Err(bad("optimizer.name", format!("'{n}' is not known (lbfgs or adam)"))),
        };
        let iters: usize = number(self.iters, "optimizer.iterations")?;
        if iters == 0 {
            return Err(bad("optimizer.iterations", "must be at least 1".into()));
        }
        let levels: usize = number(self.levels, "optimizer.levels")?;
        if !(1..=8).contains(&levels) {
            return Err(bad("optimizer.levels", format!("{levels} (must be 1 to 8)")));
        }
        let rel_tol: Option<f32> = optional(self.rel_tol, "optimizer.rel_tol")?;
        if let Some(t) = rel_tol.filter(|t| !(t.is_finite() && *t >= 0.0)) {
            return Err(bad("optimizer.rel_tol", format!("must be a finite number >= 0, not {t}")));
        }
        let init: Init = match value(&self.init, "init")?.as_str() {
            "auto" => default_init(kind),
            _ => parsed(&self.init, "init")?,
        };
        if init == Init::File && !has_init_file {
            return Err(bad(
                "init",
                "'file' needs a starting-point file (--init-file, inputs.init_file)".into(),
            ));
        }
        let tile: Option<usize> = optional(self.tile, "tile")?;
        if tile == Some(0) {
            return Err(bad("tile", "0 (a tile must hold at least one position per axis)".into()));
        }
        if let Some((l, w)) = self.style_layers.iter().flatten().find(|(_, w)| !(w.is_finite() && *w >= 0.0))
        {
            return Err(bad("extractor.style_layers", format!("{l}: weight {w} (must be finite and >= 0)")));
        }
        for (key, empty) in [
            ("extractor.style_layers", self.style_layers.as_ref().is_some_and(Vec::is_empty)),
            ("extractor.content_layers", self.content_layers.as_ref().is_some_and(Vec::is_empty)),
        ] {
            if empty {
                return Err(bad(key, "an empty list; leave it out for the extractor's layers".into()));
            }
        }
        Ok(Settings {
            extractor: ExtractorSpec { name, pooling, seed, weights: self.weights.clone() },
            content_layers: self.content_layers.clone(),
            style_layers: self.style_layers.clone(),
            weights,
            optimizer,
            iters,
            rel_tol,
            levels,
            init,
            checkpoint_every: number(self.checkpoint_every, "optimizer.checkpoint_every")?,
            tile,
        })
    }
}

/// Where `init: auto` starts for content of `kind`: from noise for images (Gatys et al.), from the
/// content for the other kinds and for arrays, where noise leaves noisy volumes, flickering video
/// and hiss (docs/modalities.md has the measurement).
pub fn default_init(kind: Option<Kind>) -> Init {
    match kind {
        Some(Kind::Image) => Init::Noise,
        Some(Kind::Signal | Kind::Audio | Kind::Volume | Kind::Video) | None => Init::Content,
    }
}

/// The given string, or the table's default.
fn value(given: &Option<String>, key: &str) -> Result<String, Bad> {
    Ok(given.clone().unwrap_or_else(|| setting(key).default.to_string()))
}

/// The given string, or the table's default, parsed.
fn parsed<T: FromStr<Err = crate::Error>>(given: &Option<String>, key: &str) -> Result<T, Bad> {
    value(given, key)?.parse().map_err(|e: crate::Error| Bad { setting: setting(key), message: strip(&e) })
}

/// The given number, or the table's default parsed.
fn number<T: FromStr>(given: Option<T>, key: &str) -> Result<T, Bad> {
    match given {
        Some(v) => Ok(v),
        None => default_of(key),
    }
}

/// The given number, or the table's default (`none`: unset).
fn optional<T: FromStr>(given: Option<T>, key: &str) -> Result<Option<T>, Bad> {
    match (given, setting(key).default) {
        (Some(v), _) => Ok(Some(v)),
        (None, "none") => Ok(None),
        (None, _) => default_of(key).map(Some),
    }
}

fn default_of<T: FromStr>(key: &str) -> Result<T, Bad> {
    let s = setting(key);
    s.default
        .parse()
        .map_err(|_| Bad { setting: s, message: format!("the default '{}' does not parse", s.default) })
}

/// `invalid init: 'x' (…)` → `'x' (…)`: the setting is named by [`Bad`] already.
fn strip(e: &crate::Error) -> String {
    match e {
        crate::Error::Invalid { detail, .. } => detail.clone(),
        other => other.to_string(),
    }
}

/// The default of the setting with YAML key `key`, usable in constants (an unknown key fails
/// to compile there): `#[arg(default_value = given::default_of_key("losses.beta"))]`.
pub const fn default_of_key(key: &str) -> &'static str {
    let mut i = 0;
    while i < SETTINGS.len() {
        if same(SETTINGS[i].key, key) {
            return SETTINGS[i].default;
        }
        i += 1;
    }
    panic!("no such setting")
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
