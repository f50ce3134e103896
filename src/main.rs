//! The `ndstyle` command line: parse, call the library, map errors to a one-line message and exit code.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ndstyle: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
