//! `ndstyle weights inspect FILE`: describe a pretrained VGG weights file.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct WeightsArgs {
    #[command(subcommand)]
    pub command: WeightsCommand,
}

#[derive(Subcommand, Debug)]
pub enum WeightsCommand {
    /// Print a VGG16/VGG19 HDF5 file's layout, architecture, layers and parameter count.
    Inspect {
        /// The HDF5 weights file (Keras 2 or Keras 3 layout).
        file: PathBuf,
    },
}

pub fn run(a: &WeightsArgs) -> anyhow::Result<()> {
    match &a.command {
        WeightsCommand::Inspect { file } => {
            println!("{}", ndstyle::weights::inspect(file)?);
            Ok(())
        }
    }
}
