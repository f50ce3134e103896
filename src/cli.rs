//! Command-line definitions (clap) and dispatch to the library.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ndstyle::runner::given::default_of_key;

mod datasets;
mod demo;
mod distance;
mod experiment;
mod progress;
mod stylize;
mod visualize;
mod weights;

/// Neural style transfer for signals, images and volumes.
#[derive(Parser, Debug)]
#[command(name = "ndstyle", version, about)]
pub struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Memory budget such as 8G or 512M (default: half the machine's memory): inputs, activations
    /// and STFTs that would need more are refused before allocating.
    #[arg(long, global = true, value_name = "SIZE")]
    pub max_memory: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Stylise a content input with one or more style inputs (any format of `ndstyle info`).
    Stylize(Box<stylize::StylizeArgs>),
    /// Make the bundled samples and stylise one of each kind (ECG, audio, image, volume, video).
    Demo(demo::DemoArgs),
    /// Content and style (Gram) distances between two inputs under an extractor.
    Distance(distance::DistanceArgs),
    /// The top-k dataset patches per unit of a layer (Zeiler & Fergus), as a PNG grid and a CSV.
    Visualize(visualize::VisualizeArgs),
    /// Pretrained weights files: `weights inspect FILE`.
    Weights(weights::WeightsArgs),
    /// Run a YAML experiment: its sweep, one directory per run, an index (see docs/experiments.md).
    Run(experiment::RunArgs),
    /// Validate a YAML experiment and list the runs it expands to.
    Check(experiment::ConfigArgs),
    /// Report the done, running, failed and pending runs of an experiment directory.
    Status(experiment::StatusArgs),
    /// The project's small samples: `datasets generate [--out datasets]`.
    Datasets(datasets::DatasetsArgs),
    /// Print the build's capabilities: ranks, extractors, file formats, threads.
    Info,
}

/// Options shared by every command that builds an extractor.
#[derive(Args, Debug, Clone)]
pub struct ExtractorArgs {
    /// Feature extractor: auto (spectral for audio, random-bank otherwise), random-bank, random-vgg,
    /// spectral, vgg16 or vgg19 (these two need --weights).
    #[arg(long, default_value = default_of_key("extractor.name"))]
    pub extractor: String,
    /// Pooling between VGG blocks: max or avg.
    #[arg(long, default_value = default_of_key("extractor.pooling"))]
    pub pooling: String,
    /// Spatial rank for .npy inputs (default: inferred from the array's shape and said).
    #[arg(long)]
    pub rank: Option<usize>,
    /// Where the channels of .npy inputs are: channels-first or channels-last (default: inferred).
    #[arg(long)]
    pub layout: Option<String>,
    /// Content layers, comma-separated (default: the extractor's).
    #[arg(long, value_delimiter = ',')]
    pub content_layers: Option<Vec<String>>,
    /// Style layers, comma-separated, each optionally NAME:WEIGHT (default: the extractor's, equal weights).
    #[arg(long, value_delimiter = ',')]
    pub style_layers: Option<Vec<String>>,
    /// Cost normalisation: lecture, gatys or johnson.
    #[arg(long, default_value = default_of_key("losses.normalization"))]
    pub norm: String,
    /// Seed of the random extractor and the initial noise.
    #[arg(long, default_value = default_of_key("extractor.seed"))]
    pub seed: u64,
    /// Size limit: images are resized so their longer side is this many pixels; volumes (spacing
    /// and affine follow), video frames and .npy arrays are shrunk to at most this per side;
    /// signals are resampled to at most this many samples (the rate follows); refused for audio.
    #[arg(long)]
    pub max_side: Option<u32>,
    /// HDF5 weights for pretrained extractors (vgg16, vgg19).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Sampling rate in Hz of CSV signals without a `# fs=` line.
    #[arg(long)]
    pub fs: Option<f64>,
    /// STFT length for audio (n_fft/2 + 1 frequency bins).
    #[arg(long, default_value_t = 2048)]
    pub n_fft: usize,
    /// STFT hop for audio.
    #[arg(long, default_value_t = 512)]
    pub hop: usize,
    /// Griffin–Lim iterations when writing audio.
    #[arg(long, default_value_t = 100)]
    pub griffin_lim: usize,
    /// Intensity window of volumes, LO,HI (e.g. -1000,400 for CT in HU): mapped to [0, 1] before
    /// stylising and back on output.
    #[arg(long, value_delimiter = ',', num_args = 1, allow_hyphen_values = true)]
    pub window: Option<Vec<f32>>,
    /// Intensity window of the content volume only, LO,HI (default: --window, else its 0.5th to
    /// 99.5th percentile). The result is written back in the content's units.
    #[arg(long, value_delimiter = ',', num_args = 1, allow_hyphen_values = true)]
    pub content_window: Option<Vec<f32>>,
    /// Intensity window of the style volumes, LO,HI (default: --window, else each style's 0.5th to
    /// 99.5th percentile): a CT style in HU for an MRI content.
    #[arg(long, value_delimiter = ',', num_args = 1, allow_hyphen_values = true)]
    pub style_window: Option<Vec<f32>>,
}

impl ExtractorArgs {
    /// The extractor these options name, `auto` resolved for the input at `path`.
    pub fn spec(&self, path: &std::path::Path) -> anyhow::Result<ndstyle::extractors::ExtractorSpec> {
        let mut given = self.given()?;
        given.content_layers = None;
        given.style_layers = None;
        let kind = ndstyle::data::kind_of(path)?;
        Ok(given.build(kind, false).map_err(flag_error)?.extractor)
    }

    /// The extractor and loss settings these options give.
    pub fn given(&self) -> anyhow::Result<ndstyle::runner::Given> {
        Ok(ndstyle::runner::Given {
            extractor: Some(self.extractor.clone()),
            pooling: Some(self.pooling.clone()),
            seed: Some(self.seed),
            weights: self.weights.clone(),
            content_layers: self.content_layers.clone(),
            style_layers: self.style_layers.as_deref().map(parse_style_layers).transpose()?,
            norm: Some(self.norm.clone()),
            ..Default::default()
        })
    }
}

/// A bad setting as a command-line error naming the flag.
pub fn flag_error(b: ndstyle::runner::Bad) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", b.setting.flag, b.message)
}

impl ExtractorArgs {
    /// How inputs are read.
    pub fn load_options(&self) -> anyhow::Result<ndstyle::data::LoadOptions> {
        use ndstyle::modality::audio::{GriffinLim, StftConfig};
        let window = |flag: &str, w: &Option<Vec<f32>>| match w.as_deref() {
            None => Ok(None),
            Some(&[lo, hi]) => {
                ndstyle::modality::volume::IntensityWindow::new(lo, hi).map(Some).map_err(|_| {
                    anyhow::anyhow!("{flag} {lo},{hi}: not an intensity window (need finite LO < HI)")
                })
            }
            Some(v) => Err(anyhow::anyhow!("{flag} takes LO,HI (two numbers), not {} values", v.len())),
        };
        let both = window("--window", &self.window)?;
        Ok(ndstyle::data::LoadOptions {
            window: window("--content-window", &self.content_window)?.or(both),
            style_window: window("--style-window", &self.style_window)?.or(both),
            working_range: true,
            max_side: self.max_side,
            fs: self.fs,
            stft: StftConfig { n_fft: self.n_fft, hop: self.hop },
            griffin_lim: GriffinLim { iterations: self.griffin_lim, ..GriffinLim::default() },
            rank: self.rank,
            layout: self.layout.as_deref().map(str::parse).transpose()?,
        })
    }
}

/// Parse `NAME[:WEIGHT]` style-layer entries.
pub fn parse_style_layers(items: &[String]) -> anyhow::Result<Vec<(String, f64)>> {
    items
        .iter()
        .map(|s| match s.split_once(':') {
            Some((n, w)) => {
                let w: f64 = w
                    .parse()
                    .map_err(|_| anyhow::anyhow!("style layer '{s}': weight '{w}' is not a number"))?;
                Ok((n.to_string(), w))
            }
            None => Ok((s.clone(), 1.0 / items.len() as f64)),
        })
        .collect()
}

/// Whether `--max-memory` was given (it takes precedence over an experiment's `max_memory:`).
pub(crate) static MAX_MEMORY_GIVEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Parse the command line and run the chosen command.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        anyhow::ensure!(n >= 1, "--threads must be at least 1");
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global()?;
    }
    if let Some(m) = &cli.max_memory {
        ndstyle::budget::Budget::parse("--max-memory", m)?.install();
        MAX_MEMORY_GIVEN.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    match cli.command {
        Command::Stylize(args) => stylize::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Distance(args) => distance::run(&args),
        Command::Visualize(args) => visualize::run(&args),
        Command::Weights(args) => weights::run(&args),
        Command::Run(args) => {
            ndstyle::modality::audio::set_quiet(args.quiet);
            experiment::run(&args)
        }
        Command::Check(args) => experiment::check(&args),
        Command::Status(args) => experiment::status(&args),
        Command::Datasets(args) => datasets::run(&args),
        Command::Info => {
            println!("ndstyle {}", env!("CARGO_PKG_VERSION"));
            println!("spatial ranks: 1, 2, 3");
            println!("extractors: {}", ndstyle::extractors::NAMES.join(", "));
            println!("formats:");
            for f in ndstyle::modality::registry::FORMATS {
                let kind = f.kind().map_or("any rank", |k| k.name());
                println!("  {:<7} {} ({kind})", f.name(), f.about().spelling.replace('`', ""));
            }
            println!("threads: {}", rayon::current_num_threads());
            Ok(())
        }
    }
}
