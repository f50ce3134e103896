//! The second stage: one grid point of raw config → the [`Run`]s it stands for, every value checked.

use std::path::{Path, PathBuf};

use super::raw::{RawExperiment, RawStyle};
use super::tree::{ConfigError, Node};
use super::Run;
use crate::data::LoadOptions;
use crate::modality::audio::{GriffinLim, StftConfig};
use crate::modality::color::PreserveColor;
use crate::modality::volume::IntensityWindow;
use crate::modality::{registry, Kind};
use crate::runner::{Given, OptimizerKind, Settings};

type Res<T> = std::result::Result<T, ConfigError>;

/// Errors located at a key of the point's tree (or its nearest located ancestor).
struct At<'a>(&'a Node);

impl At<'_> {
    fn err(&self, key: &str, msg: impl Into<String>) -> ConfigError {
        let mut path = key;
        let loc = loop {
            if let Some(n) = self.0.get(path) {
                break n.loc.clone();
            }
            match path.rfind(['.', '[']) {
                Some(i) => path = &path[..i],
                None => break self.0.loc.clone(),
            }
        };
        ConfigError::new(&loc, key, msg)
    }

    fn non_negative(&self, key: &str, v: Option<f64>, default: f64) -> Res<f64> {
        let v = v.unwrap_or(default);
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(self.err(key, format!("must be a finite number >= 0, not {v}")))
        }
    }

    fn parse<T: std::str::FromStr<Err = crate::Error>>(&self, key: &str, v: &str) -> Res<T> {
        v.parse().map_err(|e: crate::Error| self.err(key, strip_invalid(&e.to_string())))
    }
}

/// `invalid pooling: 'x' (…)` → `'x' (…)`: the key is named by the error already.
fn strip_invalid(msg: &str) -> String {
    match msg.strip_prefix("invalid ").and_then(|m| m.split_once(": ")) {
        Some((_, rest)) => rest.to_string(),
        None => msg.to_string(),
    }
}

/// What kind of data the inputs are, fixing the rank.
fn kind_of(at: &At, kind: Option<&str>) -> Res<Option<Kind>> {
    match kind {
        None | Some("auto") => Ok(None),
        Some(k) => Kind::from_name(k).map(Some).ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
            at.err("inputs.kind", format!("'{k}' is not known ({} or auto)", names.join(", ")))
        }),
    }
}

/// How the inputs are read: every loading option of the `inputs` section, range-checked.
fn load_options(at: &At, i: &super::raw::RawInputs) -> Res<LoadOptions> {
    let d = LoadOptions::default();
    if let Some(fs) = i.fs {
        if !(fs.is_finite() && fs > 0.0) {
            return Err(at.err("inputs.fs", format!("must be a number > 0, not {fs}")));
        }
    }
    let stft = StftConfig { n_fft: i.n_fft.unwrap_or(d.stft.n_fft), hop: i.hop.unwrap_or(d.stft.hop) };
    if stft.n_fft < 4 || !stft.n_fft.is_multiple_of(2) {
        return Err(at.err("inputs.n_fft", format!("{} (must be even and >= 4)", stft.n_fft)));
    }
    if stft.hop == 0 || stft.hop > stft.n_fft / 2 {
        return Err(at.err("inputs.hop", format!("{} (must be 1 to n_fft/2 = {})", stft.hop, stft.n_fft / 2)));
    }
    let griffin_lim =
        GriffinLim { iterations: i.griffin_lim.unwrap_or(d.griffin_lim.iterations), ..d.griffin_lim };
    let window = |key: &str, w: &Option<Vec<f64>>| match w.as_deref() {
        None => Ok(None),
        Some(&[lo, hi]) => IntensityWindow::new(lo as f32, hi as f32)
            .map(Some)
            .map_err(|_| at.err(key, format!("[{lo}, {hi}]: need finite lo < hi"))),
        Some(v) => Err(at.err(key, format!("needs two numbers [lo, hi], not {}", v.len()))),
    };
    let both = window("inputs.window", &i.window)?;
    let (content_window, style_window) = (
        window("inputs.content_window", &i.content_window)?.or(both),
        window("inputs.style_window", &i.style_window)?.or(both),
    );
    let layout = match &i.layout {
        Some(l) => Some(at.parse("inputs.layout", l)?),
        None => None,
    };
    Ok(LoadOptions {
        max_side: i.max_side,
        fs: i.fs,
        stft,
        griffin_lim,
        window: content_window,
        style_window,
        working_range: true,
        rank: i.rank,
        layout,
    })
}

/// The output format for `content` of `rank`: the configured one checked against the data, or
/// the content's own format (`npy` for formats with no writer of their own kind, such as HDF5).
fn output_format(
    at: &At,
    given: Option<&str>,
    content: &Path,
    kind: Option<Kind>,
    rank: usize,
) -> Res<String> {
    let own = match crate::data::format_of(content) {
        Ok(f) if f.name() != "h5" => f.name(),
        _ => "npy",
    };
    let Some(given) = given else { return Ok(own.to_string()) };
    let Some(format) = registry::by_name(given) else {
        return Err(at.err("outputs.format", format!("'{given}' is not known ({})", registry::names())));
    };
    if format.name() == "h5" {
        return Err(at.err("outputs.format", "h5 results need a dataset path; use npy or nii"));
    }
    if let Some(why) = format.refuses(kind, rank) {
        return Err(at.err(
            "outputs.format",
            format!(
                "{why}, but the inputs have rank {rank} ({}); use {}",
                describe(kind),
                if own == "npy" { "npy".to_string() } else { format!("{own} or npy") }
            ),
        ));
    }
    Ok(format.name().to_string())
}

fn describe(kind: Option<Kind>) -> String {
    match kind {
        Some(k) => format!("{} data", k.name()),
        None => "a .npy array".to_string(),
    }
}

/// The runs of one grid point: one per content file.
pub fn runs(point: &Node, raw: &RawExperiment, base: &Path, parts: &[String]) -> Res<Vec<Run>> {
    let at = At(point);
    let i = &raw.inputs;
    let pattern = &i.content;
    let is_glob = has_glob(pattern);
    let contents = files(&at, "inputs.content", base, pattern)?;
    if i.styles.is_empty() {
        return Err(at.err("inputs.styles", "at least one style input is needed"));
    }
    let mut styles = Vec::new();
    for (k, s) in i.styles.iter().enumerate() {
        let (path, weight, key) = match s {
            RawStyle::Path(p) => (p, None, format!("inputs.styles[{k}]")),
            RawStyle::Weighted(w) => (&w.path, w.weight, format!("inputs.styles[{k}].path")),
        };
        let w = at.non_negative(&format!("inputs.styles[{k}].weight"), weight, 1.0)?;
        for f in files(&at, &key, base, path)? {
            styles.push((f, w));
        }
    }
    if styles.iter().all(|(_, w)| *w == 0.0) {
        return Err(at.err("inputs.styles", "every style weight is 0; at least one must be > 0"));
    }
    let given_kind = kind_of(&at, i.kind.as_deref())?;
    let kind_rank = given_kind.map(Kind::rank);
    if let (Some(r), Some(k)) = (i.rank, kind_rank) {
        if r != k {
            return Err(at.err(
                "inputs.rank",
                format!("{r} contradicts kind '{}' (rank {k})", i.kind.as_deref().unwrap_or("")),
            ));
        }
    }
    if let Some(r) = i.rank {
        if !(1..=3).contains(&r) {
            return Err(at.err("inputs.rank", format!("{r} (must be 1, 2 or 3)")));
        }
    }
    if i.max_side == Some(0) {
        return Err(at.err("inputs.max_side", "must be at least 1"));
    }
    let init_file = match &i.init_file {
        Some(p) => Some(existing(&at, "inputs.init_file", base.join(p))?),
        None => None,
    };
    let mut load = load_options(&at, i)?;
    load.rank = load.rank.or(kind_rank);
    let style_axes: crate::runner::SliceAxes = match &i.style_axes {
        Some(a) => at.parse("inputs.style_axes", a)?,
        None => crate::runner::SliceAxes::Auto,
    };
    let temporal = match raw.losses.temporal {
        Some(t) => Some(at.non_negative("losses.temporal", Some(t), 0.0)?),
        None => None,
    };
    let preserve_color: PreserveColor = match &raw.preserve_color {
        Some(p) => at.parse("preserve_color", p)?,
        None => PreserveColor::None,
    };
    let mut out = Vec::new();
    for content in contents {
        let rank = crate::data::probe_rank(&content, &load)
            .map_err(|e| at.err("inputs.content", strip_invalid(&e.to_string())))?;
        let kind = crate::data::kind_of(&content)
            .map_err(|e| at.err("inputs.content", strip_invalid(&e.to_string())))?;
        if let (Some(given), Some(found)) = (given_kind, kind) {
            if given != found {
                return Err(at.err(
                    "inputs.kind",
                    format!("'{}', but {} is {} data", given.name(), content.display(), found.name()),
                ));
            }
        }
        // The output format follows the file (a `.npy` content has no CSV/WAV metadata to write
        // back); the colour check also takes the given kind of a `.npy` content.
        let format = output_format(&at, raw.outputs.format.as_deref(), &content, kind, rank)?;
        let kind = kind.or(given_kind);
        let settings = settings(&at, raw, base, kind, init_file.is_some())?;
        match raw.outputs.size {
            Some(0) => return Err(at.err("outputs.size", "must be at least 1")),
            Some(_) if rank != 2 => {
                return Err(at.err(
                    "outputs.size",
                    format!("resizes images (rank 2), but the inputs have rank {rank}"),
                ))
            }
            _ => {}
        }
        if preserve_color != PreserveColor::None
            && kind.is_some_and(|k| matches!(k, Kind::Signal | Kind::Audio | Kind::Volume))
        {
            return Err(at.err(
                "preserve_color",
                format!(
                    "'{}' needs RGB images or video, but the content is {} data",
                    preserve_color.name(),
                    kind.map_or("", Kind::name)
                ),
            ));
        }
        let mut name_parts = Vec::new();
        if is_glob {
            name_parts
                .push(content.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
        }
        name_parts.extend(parts.iter().cloned());
        let name = if name_parts.is_empty() { "run".to_string() } else { sanitize(&name_parts.join("_")) };
        let mut resolved = raw.clone();
        fill_resolved(&mut resolved, &settings, &content, &styles, init_file.as_deref(), rank, &format);
        let resolved = serde_saphyr::to_string(&resolved)
            .map_err(|e| at.err("", format!("cannot write the resolved config: {e}")))?;
        out.push(Run {
            name,
            rank,
            content,
            styles: styles.clone(),
            init_file: init_file.clone(),
            max_side: i.max_side,
            load,
            size: raw.outputs.size,
            preserve_color,
            allow_no_progress: raw.optimizer.allow_no_progress.unwrap_or(false),
            settings: settings.clone(),
            style_axes: style_axes.clone(),
            temporal,
            format,
            resolved,
        });
    }
    Ok(out)
}

fn settings(
    at: &At,
    raw: &RawExperiment,
    base: &Path,
    kind: Option<Kind>,
    has_init_file: bool,
) -> Res<Settings> {
    let e = &raw.extractor;
    let l = &raw.losses;
    let o = &raw.optimizer;
    let weights = match &e.weights {
        Some(w) => Some(existing(at, "extractor.weights", base.join(w))?),
        None => None,
    };
    let mut style_layers = e.style_layers.clone();
    if let Some(ws) = &l.style_layer_weights {
        for (layer, w) in ws {
            let key = format!("losses.style_layer_weights.{layer}");
            at.non_negative(&key, Some(*w), 0.0)?;
            match &style_layers {
                Some(ls) if !ls.contains(layer) => {
                    return Err(
                        at.err(&key, format!("'{layer}' is not one of the style layers [{}]", ls.join(", ")))
                    )
                }
                _ => {}
            }
        }
        if style_layers.is_none() {
            style_layers = Some(ws.keys().cloned().collect());
        }
    }
    let style_layers = style_layers.map(|ls| {
        let n = ls.len() as f64;
        let given = l.style_layer_weights.clone().unwrap_or_default();
        ls.into_iter().map(|name| (name.clone(), given.get(&name).copied().unwrap_or(1.0 / n))).collect()
    });
    let given = Given {
        extractor: e.name.clone(),
        pooling: e.pooling.clone(),
        seed: e.seed,
        weights,
        content_layers: e.content_layers.clone(),
        style_layers,
        alpha: l.alpha,
        beta: l.beta,
        tv: l.tv,
        norm: l.normalization.clone(),
        optimizer: o.name.clone(),
        lr: o.lr,
        iters: o.iterations,
        levels: o.levels,
        rel_tol: o.rel_tol,
        checkpoint_every: o.checkpoint_every,
        init: raw.init.clone(),
        tile: raw.tile,
    };
    given.build(kind, has_init_file).map_err(|b| at.err(b.setting.key, b.message))
}

/// The files `pattern` names (relative to `base`): a glob's sorted matches, or the one existing file.
fn files(at: &At, key: &str, base: &Path, pattern: &str) -> Res<Vec<PathBuf>> {
    let full = base.join(pattern);
    if !has_glob(pattern) {
        // A folder is a video of PNG frames.
        if full.is_dir() {
            return Ok(vec![full]);
        }
        return Ok(vec![existing(at, key, full)?]);
    }
    let text = full.to_string_lossy();
    let paths = glob::glob(&text).map_err(|e| at.err(key, format!("bad glob '{pattern}': {e}")))?;
    let mut found: Vec<PathBuf> = paths.filter_map(|p| p.ok()).filter(|p| p.is_file()).collect();
    found.sort();
    if found.is_empty() {
        return Err(at.err(key, format!("no file matches '{}'", full.display())));
    }
    Ok(found)
}

fn existing(at: &At, key: &str, p: PathBuf) -> Res<PathBuf> {
    if p.is_file() {
        Ok(p)
    } else {
        Err(at.err(key, format!("file not found: {}", p.display())))
    }
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Keep names portable as directory names: letters, digits and `._=+-`; anything else becomes `-`.
fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || "._=+-".contains(c) { c } else { '-' }).collect()
}

fn abs(p: &Path) -> String {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string()
}

/// The raw config of one run with every default filled in and paths made absolute.
fn fill_resolved(
    r: &mut RawExperiment,
    s: &Settings,
    content: &Path,
    styles: &[(PathBuf, f64)],
    init_file: Option<&Path>,
    rank: usize,
    format: &str,
) {
    use super::raw::RawStyleFile;
    r.inputs.content = abs(content);
    r.inputs.styles = styles
        .iter()
        .map(|(p, w)| RawStyle::Weighted(RawStyleFile { path: abs(p), weight: Some(*w) }))
        .collect();
    r.inputs.rank = Some(rank);
    r.inputs.init_file = init_file.map(abs);
    let e = &mut r.extractor;
    e.name = Some(s.extractor.name.clone());
    e.pooling = Some(format!("{:?}", s.extractor.pooling).to_lowercase());
    e.seed = Some(s.extractor.seed);
    e.weights = s.extractor.weights.as_deref().map(abs);
    e.style_layers = s.style_layers.as_ref().map(|ls| ls.iter().map(|(l, _)| l.clone()).collect());
    let l = &mut r.losses;
    l.alpha = Some(s.weights.content);
    l.beta = Some(s.weights.style);
    l.tv = Some(s.weights.tv);
    l.normalization = Some(format!("{:?}", s.weights.norm).to_lowercase());
    l.style_layer_weights = s.style_layers.as_ref().map(|ls| ls.iter().cloned().collect());
    let o = &mut r.optimizer;
    let (name, lr) = match s.optimizer {
        OptimizerKind::Lbfgs => ("lbfgs", None),
        OptimizerKind::Adam { lr } => ("adam", Some(lr)),
    };
    o.name = Some(name.into());
    o.lr = lr;
    o.iterations = Some(s.iters);
    o.levels = Some(s.levels);
    o.rel_tol = s.rel_tol;
    o.checkpoint_every = Some(s.checkpoint_every);
    if r.init.is_none() {
        r.init = Some("noise".into());
    }
    r.outputs.directory = None;
    r.outputs.format = Some(format.to_string());
}
