//! Command-line definitions (clap) and dispatch to the library.

use clap::{Parser, Subcommand};

/// Neural style transfer for signals, images and volumes.
#[derive(Parser, Debug)]
#[command(name = "ndstyle", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the build's capabilities: ranks, threads.
    Info,
}

/// Parse the command line and run the chosen command.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Info => {
            println!("ndstyle {}", env!("CARGO_PKG_VERSION"));
            println!("spatial ranks: 1, 2, 3");
            println!("threads: {}", rayon::current_num_threads());
            Ok(())
        }
    }
}
