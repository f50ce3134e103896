//! The settings of one run, independent of rank and file formats, with their defaults and checks.

use super::Inputs;
use crate::error::{Error, Result};
use crate::extractors::ExtractorSpec;
use crate::losses::Weights;

/// Where the optimisation starts.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Init {
    /// Gaussian noise with the content's mean and standard deviation (the lecture's default).
    #[default]
    Noise,
    /// The content itself.
    Content,
    /// The content plus noise of this many content standard deviations.
    ContentNoise(f32),
    /// A given input of the content's shape ([`Inputs::init`]), resampled at coarser pyramid levels.
    File,
}

impl std::str::FromStr for Init {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "noise" | "random" => Ok(Init::Noise),
            "content" => Ok(Init::Content),
            "file" => Ok(Init::File),
            _ => match s.strip_prefix("content+noise") {
                Some("") => Ok(Init::ContentNoise(0.1)),
                Some(r) => r
                    .strip_prefix(':')
                    .and_then(|v| v.parse::<f32>().ok())
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .map(Init::ContentNoise)
                    .ok_or_else(|| {
                        Error::invalid(
                            "init",
                            format!("'{s}' (expected content+noise or content+noise:RATIO)"),
                        )
                    }),
                None => Err(Error::invalid(
                    "init",
                    format!("'{s}' (expected noise, content, content+noise[:RATIO] or file)"),
                )),
            },
        }
    }
}

/// The optimiser and its step size where it has one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// L-BFGS with a strong-Wolfe line search (the default).
    Lbfgs,
    /// Adam with learning rate `lr`.
    Adam { lr: f32 },
}

/// Everything that decides a run's result, apart from the inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The extractor; its seed also seeds the initial noise.
    pub extractor: ExtractorSpec,
    /// Content layers; `None` takes the extractor's defaults.
    pub content_layers: Option<Vec<String>>,
    /// Style layers with their weights λ_l; `None` takes the extractor's defaults, weighted equally.
    pub style_layers: Option<Vec<(String, f64)>>,
    pub weights: Weights,
    pub optimizer: OptimizerKind,
    /// Iterations per pyramid level.
    pub iters: usize,
    /// Stop a level early when the relative loss change falls below this.
    pub rel_tol: Option<f32>,
    /// Pyramid levels; 1 runs at full size only, each further level halves the size below it.
    pub levels: usize,
    pub init: Init,
    /// Save a checkpoint every this many iterations (0: only at the end of each level).
    pub checkpoint_every: usize,
    /// Evaluate over tiles of this many input positions per axis (the same result in bounded
    /// memory); `None` tiles only when the whole input would exceed the memory budget
    /// ([`crate::budget`]).
    pub tile: Option<usize>,
}

impl Default for Settings {
    /// The defaults of [`super::given::SETTINGS`] for a `.npy` content.
    fn default() -> Self {
        super::Given::default().build(None, false).expect("the settings table's defaults are valid")
    }
}

impl Settings {
    /// Reject settings no run can use, naming the setting.
    pub fn validate(&self) -> Result<()> {
        let w = &self.weights;
        for (name, v) in [("content weight", w.content), ("style weight", w.style), ("tv weight", w.tv)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(name, format!("{v} (must be finite and >= 0)")));
            }
        }
        if self.levels == 0 || self.levels > 8 {
            return Err(Error::invalid("levels", format!("{} (must be 1 to 8)", self.levels)));
        }
        if self.tile == Some(0) {
            return Err(Error::invalid("tile", "0 (a tile must hold at least one position per axis)"));
        }
        if self.iters == 0 {
            return Err(Error::invalid("iterations", "0 (must be at least 1)"));
        }
        if let OptimizerKind::Adam { lr } = self.optimizer {
            if !(lr.is_finite() && lr > 0.0) {
                return Err(Error::invalid("learning rate", format!("{lr} (must be > 0)")));
            }
        }
        if let Some(layers) = &self.style_layers {
            if let Some((l, v)) = layers.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
                return Err(Error::invalid(
                    "style layer weight",
                    format!("{l}: {v} (must be finite and >= 0)"),
                ));
            }
        }
        Ok(())
    }

    /// A hash of everything that decides the result (settings and inputs, not checkpoint cadence),
    /// so that a checkpoint is only resumed by the run that wrote it.
    pub fn fingerprint<const N: usize>(&self, inputs: &Inputs<N>) -> u64 {
        let mut h = Fnv::default();
        let mut s = self.clone();
        s.checkpoint_every = 0;
        h.write(format!("{s:?}").as_bytes());
        let tensor = |h: &mut Fnv, t: &crate::tensor::Tensor<N>| {
            h.write(t.shape_string().as_bytes());
            t.data().iter().for_each(|v| h.write(&v.to_le_bytes()));
        };
        tensor(&mut h, &inputs.content);
        for (st, w) in &inputs.styles {
            tensor(&mut h, st);
            h.write(&w.to_le_bytes());
        }
        if let Some(t) = &inputs.init {
            tensor(&mut h, t);
        }
        h.0
    }
}

/// FNV-1a, 64 bits: a stable hash (the standard library's is not stable across releases).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
