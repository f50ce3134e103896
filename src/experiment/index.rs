//! The state of each run from the files in its directory, and the experiment's index:
//! `index.md`, `summary.csv` and `contact_sheet.png`.

use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{contact_sheet, is_stale, Metrics, CONFIG, ERROR, LOCK, METRICS};
use crate::config::Experiment;
use crate::error::{Error, Result};
use crate::io::atomic_write;

/// Where a run stands, read from its directory.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    Done(Box<Metrics>),
    /// Locked by `host pid`; `stale` when that process is known to be gone.
    Running {
        owner: String,
        stale: bool,
    },
    Failed(String),
    /// Not started, or interrupted without a lock (a checkpoint may be there).
    Pending {
        checkpoint: bool,
    },
}

impl RunState {
    pub fn word(&self) -> &'static str {
        match self {
            RunState::Done(_) => "done",
            RunState::Running { stale: false, .. } => "running",
            RunState::Running { stale: true, .. } => "interrupted",
            RunState::Failed(_) => "failed",
            RunState::Pending { checkpoint: true } => "interrupted",
            RunState::Pending { checkpoint: false } => "pending",
        }
    }
}

/// The state of the run in `dir`.
pub fn state_of(dir: &Path) -> Result<RunState> {
    let metrics = dir.join(METRICS);
    if metrics.exists() {
        let text = fs::read_to_string(&metrics).map_err(|e| Error::io(&metrics, e))?;
        let m: Metrics = serde_json::from_str(&text).map_err(|e| Error::format(&metrics, e.to_string()))?;
        return Ok(RunState::Done(Box::new(m)));
    }
    let lock = dir.join(LOCK);
    if lock.exists() {
        let owner = fs::read_to_string(&lock).unwrap_or_default().trim().to_string();
        return Ok(RunState::Running { owner, stale: is_stale(&lock) });
    }
    let err = dir.join(ERROR);
    if err.exists() {
        let text = fs::read_to_string(&err).map_err(|e| Error::io(&err, e))?;
        return Ok(RunState::Failed(text.trim().to_string()));
    }
    let ckpt = fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().ends_with(".ckpt")))
        .unwrap_or(false);
    Ok(RunState::Pending { checkpoint: ckpt })
}

/// The runs found in an experiment directory (subdirectories with a config.yaml), by name.
pub fn scan(dir: &Path) -> Result<Vec<(String, RunState)>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let p = e.path();
        if p.is_dir() && p.join(CONFIG).exists() {
            out.push((e.file_name().to_string_lossy().into_owned(), state_of(&p)?));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Rewrite `index.md`, `summary.csv` and `contact_sheet.png` in the experiment directory from
/// the state of every run of `exp` (shards sharing a directory each rewrite it; the last wins).
pub fn write_index(exp: &Experiment) -> Result<()> {
    let mut rows = Vec::new();
    for r in &exp.runs {
        let dir = exp.out_dir.join(&r.name);
        let state = if dir.is_dir() { state_of(&dir)? } else { RunState::Pending { checkpoint: false } };
        rows.push((r, state));
    }
    let mut md = format!(
        "# {}\n\nConfig: `{}`. {} runs, {} done.\n\n![contact sheet](contact_sheet.png)\n\n\
         | # | run | status | total loss | content | style | iterations | seconds | result |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        exp.name,
        exp.file.display(),
        rows.len(),
        rows.iter().filter(|(_, s)| matches!(s, RunState::Done(_))).count()
    );
    let mut csv =
        String::from("run,status,total,content,style,tv,iterations,seconds,peak_memory_kib,result\n");
    let mut sheet: Vec<(PathBuf, usize)> = Vec::new();
    for (k, (r, s)) in rows.iter().enumerate() {
        let word = s.word();
        match s {
            RunState::Done(m) => {
                let f = &m.final_loss;
                let res = format!("{}/{}", r.name, m.result);
                let _ = writeln!(
                    md,
                    "| {} | {} | {word} | {:.4e} | {:.4e} | {:.4e} | {} | {:.1} | [{}]({res}) |",
                    k + 1,
                    r.name,
                    f.total,
                    f.content,
                    f.style,
                    m.iterations,
                    m.seconds,
                    m.result
                );
                let mem = m.peak_memory_kib.map(|v| v.to_string()).unwrap_or_default();
                let _ = writeln!(
                    csv,
                    "{},{word},{:e},{:e},{:e},{:e},{},{:.3},{mem},{res}",
                    r.name, f.total, f.content, f.style, f.tv, m.iterations, m.seconds
                );
                sheet.push((exp.out_dir.join(&r.name).join(&m.result), r.rank));
            }
            _ => {
                let _ = writeln!(md, "| {} | {} | {word} | | | | | | |", k + 1, r.name);
                let _ = writeln!(csv, "{},{word},,,,,,,,", r.name);
            }
        }
    }
    md.push_str("\nThumbnails in the contact sheet follow the order of the finished runs above.\n");
    atomic_write(exp.out_dir.join("index.md"), |w| w.write_all(md.as_bytes()))?;
    atomic_write(exp.out_dir.join("summary.csv"), |w| w.write_all(csv.as_bytes()))?;
    if !sheet.is_empty() {
        contact_sheet(&sheet, &exp.out_dir.join("contact_sheet.png"))?;
    }
    Ok(())
}
