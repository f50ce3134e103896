//! The `ndstyle` command line: parse, call the library, map errors to a one-line message and exit code.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ndstyle: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    };
    report_peak_memory();
    code
}

/// With `NDSTYLE_PEAK_MEMORY_FILE=F`, write this process's peak resident memory (VmHWM, KiB) to F
/// on exit: how the memory-bomb tests measure that a refused input allocated nothing.
fn report_peak_memory() {
    if let Some(path) = std::env::var_os("NDSTYLE_PEAK_MEMORY_FILE") {
        let kib = ndstyle::experiment::peak_memory_kib().map_or_else(|| "unknown".into(), |k| k.to_string());
        let _ = std::fs::write(path, format!("{kib}\n"));
    }
}

/// The error and its causes on one line, each cause once: a cause whose text the message already
/// holds (an I/O error that both names and chains its OS error) is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg.split_whitespace().collect::<Vec<_>>().join(" ")
}
