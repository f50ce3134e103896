//! `ndstyle datasets generate`: write the project's samples with its own generators.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct DatasetsArgs {
    #[command(subcommand)]
    pub command: DatasetsCommand,
}

#[derive(Subcommand, Debug)]
pub enum DatasetsCommand {
    /// Write every sample (images, ECG, audio, volumes, video) deterministically; see datasets/README.md.
    Generate {
        /// The folder to write into.
        #[arg(long, default_value = "datasets")]
        out: PathBuf,
    },
}

pub fn run(a: &DatasetsArgs) -> anyhow::Result<()> {
    match &a.command {
        DatasetsCommand::Generate { out } => {
            for p in ndstyle::datasets::generate(out)? {
                println!("{}", p.display());
            }
            Ok(())
        }
    }
}
