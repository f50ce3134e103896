//! The documentation of every key, which keys may be swept, and `docs/config.md` generated from it.

/// How a key is swept: a scalar key sweeps when given a list; a list key when given a list of lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep {
    No,
    Scalar,
    List,
}

/// One documented key.
pub struct KeyDoc {
    /// Dotted path; `[]` marks the entries of a list.
    pub key: &'static str,
    pub ty: &'static str,
    pub default: &'static str,
    pub sweep: Sweep,
    /// Short label used in run names when swept (`beta=1e3`).
    pub label: &'static str,
    pub doc: &'static str,
}

const fn k(
    key: &'static str,
    ty: &'static str,
    default: &'static str,
    sweep: Sweep,
    label: &'static str,
    doc: &'static str,
) -> KeyDoc {
    KeyDoc { key, ty, default, sweep, label, doc }
}

use Sweep::{List, No, Scalar};

/// Every key of schema version 1, in the order of `docs/config.md`.
pub const KEYS: &[KeyDoc] = &[
    k("version", "integer", "required", No, "", "Schema version; must be `1`."),
    k("name", "string", "the file's stem", No, "", "Experiment name, shown in the index."),
    k("inputs", "mapping", "required", No, "", "What to stylise."),
    k("inputs.content", "path or glob", "required", No, "", "The content input. A glob (`*`, `?`, `[..]`) makes a batch: one run per matching file, named after it."),
    k("inputs.styles", "list", "required", No, "", "Style inputs, each a path (or glob: every match is a style) or `{path, weight}`."),
    k("inputs.styles[].path", "path or glob", "required", No, "", "A style input in the `{path, weight}` form."),
    k("inputs.styles[].weight", "number ≥ 0", "1", No, "", "The style's blend weight."),
    k("inputs.kind", "string", "inferred", No, "", "`signal` or `audio` (rank 1), `image` (rank 2), `volume` or `video` (rank 3); checked against the content's format (a folder is a video)."),
    k("inputs.rank", "1, 2 or 3", "inferred", No, "", "Spatial rank; inferred from the content (images: 2; `.npy`: its dimensions) or `kind`."),
    k("inputs.max_side", "integer ≥ 1", "none", Scalar, "max_side", "Size limit of the inputs, per kind: images are resized so that their longer side is this many pixels (up or down); volumes are shrunk so that their longest axis is at most this (area averaging; spacing and the NIfTI affine follow, so the result sits in the same physical space); video frames are shrunk so that their longer side is at most this (time untouched); signals are resampled to at most this many samples (band-limited; the rate written with the result follows, and a signal style follows the content's rate); `.npy` arrays by their rank alike; refused for audio (raise `inputs.hop` for fewer STFT frames). Never enlarges anything but images."),
    k("inputs.init_file", "path", "none", No, "", "The starting point when `init: file`."),
    k("inputs.fs", "number > 0", "the file's `# fs=` line", No, "", "Sampling rate in Hz of CSV signals without a `# fs=` line."),
    k("inputs.n_fft", "even integer ≥ 4", "2048", Scalar, "n_fft", "Audio: STFT length; the spectrogram has `n_fft/2 + 1` frequency bins as channels."),
    k("inputs.hop", "1 to n_fft/2", "512", Scalar, "hop", "Audio: STFT hop in samples."),
    k("inputs.griffin_lim", "integer ≥ 0", "100", No, "", "Audio: Griffin–Lim iterations that find the phase of the result."),
    k("inputs.layout", "channels-first or channels-last", "inferred", No, "", "`.npy` inputs: where the channel axis is; inferred from the shape otherwise (see docs/modalities.md) and reported."),
    k("inputs.style_axes", "auto, all, time, or a list such as 0,1,2 or d,h,w", "auto", No, "", "Styles one rank below the content (a painting for a video or a volume, a 1D signal for an image): the axes across which the content's slices are compared with them; `auto` is each frame for video and all three orientations for volumes."),
    k("inputs.window", "[lo, hi]", "none", No, "", "Volumes: intensity window of the content and the styles, mapped to [0, 1] before stylising and back on output (e.g. `[-1000, 400]` for CT in HU). Without one, each volume takes its own 0.5th to 99.5th percentile."),
    k("inputs.content_window", "[lo, hi]", "inputs.window", No, "", "Volumes: the content's own window (the result is written back in the content's units)."),
    k("inputs.style_window", "[lo, hi]", "inputs.window", No, "", "Volumes: the styles' window, e.g. `[-1000, 400]` for a CT style in HU with an MRI content."),
    k("extractor", "mapping", "auto", No, "", "The feature extractor."),
    k("extractor.name", "string", "", Scalar, "extractor", "`auto` (`spectral` for audio, `random-bank` otherwise), `random-bank`, `random-vgg`, `spectral` (1D only), or a pretrained name the build knows."),
    k("extractor.weights", "path", "none", No, "", "HDF5 weights file for pretrained extractors."),
    k("extractor.pooling", "max or avg", "", Scalar, "pooling", "Pooling between VGG blocks."),
    k("extractor.seed", "integer ≥ 0", "", Scalar, "seed", "Seed of random extractors and of the initial noise."),
    k("extractor.content_layers", "list of layer names", "the extractor's", List, "content_layers", "Layers of the content loss."),
    k("extractor.style_layers", "list of layer names", "the extractor's", List, "layers", "Layers of the style loss. A list of lists sweeps over layer sets."),
    k("losses", "mapping", "defaults below", No, "", "Weights of the objective `J = α·J_content + β·J_style + tv·TV`."),
    k("losses.alpha", "number ≥ 0", "", Scalar, "alpha", "Content weight α."),
    k("losses.beta", "number ≥ 0", "", Scalar, "beta", "Style weight β."),
    k("losses.style_layer_weights", "mapping layer → number ≥ 0", "equal, summing to 1", No, "", "Per-layer style weights λ_l; layers not named get 1/(number of style layers)."),
    k("losses.tv", "number ≥ 0", "", Scalar, "tv", "Total-variation weight."),
    k("losses.temporal", "number ≥ 0", "1 for video with 2D styles, else 0", Scalar, "temporal", "Weight of the temporal term tying each result frame to the previous one where the content does not change (Ruder et al. 2016)."),
    k("losses.normalization", "lecture, gatys or johnson", "", Scalar, "norm", "Normalisation of the content and style costs."),
    k("optimizer", "mapping", "defaults below", No, "", "Optimiser and schedule."),
    k("optimizer.name", "lbfgs or adam", "", Scalar, "optimizer", "The optimiser."),
    k("optimizer.lr", "number > 0", "", Scalar, "lr", "Adam's learning rate (ignored by L-BFGS)."),
    k("optimizer.iterations", "integer ≥ 1", "", Scalar, "iters", "Iterations per pyramid level."),
    k("optimizer.levels", "1 to 8", "", Scalar, "levels", "Pyramid levels; each level below the finest halves the size."),
    k("optimizer.rel_tol", "number ≥ 0", "", Scalar, "rel_tol", "Stop a level when the relative loss change falls below this."),
    k("optimizer.allow_no_progress", "true or false", "false", No, "", "Count a run whose loss did not fall by 10%, or that the optimiser stopped at iteration 0–1, as done instead of failed."),
    k("optimizer.checkpoint_every", "integer ≥ 0", "", No, "", "Checkpoint every this many iterations (0: at the end of each level)."),
    k("init", "string", "", Scalar, "init", "`auto` (noise for images, the content for signals, audio, volumes, video and arrays), `noise`, `content`, `content+noise[:RATIO]` or `file` (with `inputs.init_file`)."),
    k("preserve_color", "none, luminance or histogram", "none", Scalar, "color", "RGB inputs: keep the content's colours by stylising the luminance (Y of YIQ) only, or by matching the styles' colour mean and covariance to the content's first (Gatys et al. 2016)."),
    k("tile", "integer ≥ 1", "", Scalar, "tile", "Evaluate over tiles of this many positions per axis: the same objective and gradient in memory bounded by the tile; unset, tiles are used only when the whole input would exceed the memory budget."),
    k("max_memory", "size such as 8G or 512M", "half the machine's memory", No, "", "Memory budget: inputs, activations and STFTs whose sizes (computed from shapes before allocating) exceed it are refused with what they need; `--max-memory` on the command line takes precedence."),
    k("outputs", "mapping", "defaults below", No, "", "Where results go."),
    k("outputs.directory", "path", "runs/<name>", No, "", "The experiment directory (one subdirectory per run); `-o DIR` overrides it."),
    k("outputs.size", "integer ≥ 1", "the content's size", Scalar, "size", "Images: resize the result so that its longer side is this many pixels (linear interpolation)."),
    k("outputs.format", "a format name of docs/modalities.md", "the content's format (npy for `.npy` and HDF5)", No, "", "The result's format: png/jpg for images, csv, edf or hea (WFDB) for signals (sampling rate, leads and units kept), wav for audio (Griffin–Lim), nii/nii.gz for volumes (header kept), frames (a folder `result/` of PNG frames) for rank 3 with 1 or 3 channels; npy for any."),
];

/// The documentation of `key`, if it is documented.
pub fn doc(key: &str) -> Option<&'static KeyDoc> {
    KEYS.iter().find(|d| d.key == key)
}

/// `docs/config.md`: the key table, sweep rules and an example.
pub fn markdown() -> String {
    let mut s = String::from(
        "# Experiment configuration (schema version 1)\n\n\
         <!-- Generated from src/config/schema.rs; the config tests check it. Regenerate with\n\
         `NDSTYLE_BLESS=1 cargo test --test tests config::docs`. -->\n\n\
         An experiment is a YAML file run with `ndstyle run FILE` (see `docs/experiments.md`).\n\
         Unknown keys are errors, and every error names the file, line, column and key.\n\
         Relative paths are relative to the directory of the config file.\n\n\
         ## Keys\n\n\
         | key | type | default | sweep | meaning |\n|---|---|---|---|---|\n",
    );
    for d in KEYS {
        let default = match d.default {
            "" => crate::runner::given::SETTINGS.iter().find(|s| s.key == d.key).map_or("", |s| s.default),
            other => other,
        };
        let sweep = match d.sweep {
            Sweep::No => String::new(),
            Sweep::Scalar => format!("list (`{}=`)", d.label),
            Sweep::List => format!("list of lists (`{}=`)", d.label),
        };
        s.push_str(&format!("| `{}` | {} | {} | {} | {} |\n", d.key, d.ty, default, sweep, d.doc));
    }
    s.push_str(
        "\n## Sweeps\n\n\
         A key marked in the sweep column may list several values: `beta: [1e3, 1e4]`, or for layer\n\
         lists `style_layers: [[relu1_1], [relu1_1, relu2_1]]`. The experiment expands the cartesian\n\
         product of all swept keys (and of the files a content glob matches) into one run each. A\n\
         run is named by its swept values, `beta=1e3_layers=relu1_1+relu2_1` (numbers in their\n\
         shortest form, layer sets joined by `+`), prefixed by the content file's stem for a glob.\n\
         Runs are sorted by name; `--shard i/n` takes the runs whose position k has k mod n = i.\n\n\
         ## Overrides\n\n\
         `--set KEY=VALUE` sets a dotted key before validation, with VALUE read as YAML\n\
         (`--set losses.beta=1e4`, `--set 'losses.beta=[1e3, 1e4]'`). Errors in it name the argument.\n\n\
         ## Example\n\n```yaml\n",
    );
    s.push_str(EXAMPLE);
    s.push_str("```\n");
    s
}

/// A small complete experiment, also parsed by the tests.
pub const EXAMPLE: &str = "version: 1
inputs:
  content: ../datasets/images/landscape.png
  styles:
    - ../datasets/images/waves.png
    - {path: ../datasets/images/stripes.png, weight: 0.5}
  max_side: 32
extractor:
  name: random-bank
  seed: 0
losses:
  alpha: 1
  beta: [1e3, 1e4]
optimizer:
  name: lbfgs
  iterations: 10
outputs:
  directory: ../runs/image_sweep
";
