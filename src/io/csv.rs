//! The losses log: a CSV `iteration,total,content,style_<layer>…,tv,seconds`, appended and flushed row by row.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// One row of the losses log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LossRow {
    /// Optimisation step (0 for the starting point).
    pub iteration: usize,
    /// The weighted objective `J`.
    pub total: f64,
    /// The content term (as it enters `J`, or unweighted: the caller decides and documents).
    pub content: f64,
    /// One style term per layer, in the order of the log's style columns.
    pub style: Vec<f64>,
    /// The total-variation term (0 when unused).
    pub tv: f64,
    /// Wall-clock seconds since the optimisation started.
    pub seconds: f64,
}

/// The header of a log with these style layers: `iteration,total,content,style_<layer>…,tv,seconds`.
pub fn header_columns(style_layers: &[impl AsRef<str>]) -> Vec<String> {
    let mut cols: Vec<String> = ["iteration", "total", "content"].map(String::from).to_vec();
    cols.extend(style_layers.iter().map(|l| format!("style_{}", l.as_ref())));
    cols.extend(["tv", "seconds"].map(String::from));
    cols
}

/// Writes the losses log: the header on creation, then one line per [`write_row`](Self::write_row),
/// flushed at once so that the file can be read (or plotted) while the optimisation runs.
///
/// Numbers are written in Rust's shortest round-trip form, so [`read_loss_log`] reads back the
/// exact f64 values (`NaN` and `inf` included).
#[derive(Debug)]
pub struct LossLogWriter {
    path: PathBuf,
    file: File,
    style_layers: usize,
}

impl LossLogWriter {
    /// Creates (or truncates) `path` and writes the header for `style_layers`.
    ///
    /// A layer name that is empty or holds a comma, quote or line break is an error naming the
    /// file, and nothing is written.
    pub fn create(path: impl AsRef<Path>, style_layers: &[impl AsRef<str>]) -> Result<Self> {
        let path = path.as_ref();
        check_layers(path, style_layers)?;
        let mut file = File::create(path).map_err(|e| Error::io(path, e))?;
        let line = header_columns(style_layers).join(",") + "\n";
        file.write_all(line.as_bytes()).map_err(|e| Error::io(path, e))?;
        Ok(LossLogWriter { path: path.to_path_buf(), file, style_layers: style_layers.len() })
    }

    /// Opens an existing log to append rows (to resume a run), checking that its header is the
    /// one for `style_layers`; a missing file is created as by [`create`](Self::create).
    pub fn append(path: impl AsRef<Path>, style_layers: &[impl AsRef<str>]) -> Result<Self> {
        let path = path.as_ref();
        check_layers(path, style_layers)?;
        if !path.exists() {
            return Self::create(path, style_layers);
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let want = header_columns(style_layers).join(",");
        let got = text.lines().next().unwrap_or("");
        if got != want {
            return Err(Error::format(
                path,
                format!("cannot append: the log's header is '{got}', expected '{want}'"),
            ));
        }
        let mut file = OpenOptions::new().append(true).open(path).map_err(|e| Error::io(path, e))?;
        if !text.ends_with('\n') {
            // A row cut short by a crash: end it so that the next row starts on its own line.
            file.write_all(b"\n").map_err(|e| Error::io(path, e))?;
        }
        Ok(LossLogWriter { path: path.to_path_buf(), file, style_layers: style_layers.len() })
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one row and flushes it; a row whose number of style terms differs from the
    /// header's is an error naming the file, and nothing is written.
    pub fn write_row(&mut self, row: &LossRow) -> Result<()> {
        if row.style.len() != self.style_layers {
            return Err(Error::invalid(
                format!("loss row for {}", self.path.display()),
                format!("{} style terms for {} style columns", row.style.len(), self.style_layers),
            ));
        }
        let mut line = format!("{},{},{}", row.iteration, row.total, row.content);
        for s in &row.style {
            line.push_str(&format!(",{s}"));
        }
        line.push_str(&format!(",{},{}\n", row.tv, row.seconds));
        // One write call per row (the file is unbuffered), so a row is never interleaved.
        self.file.write_all(line.as_bytes()).map_err(|e| Error::io(&self.path, e))?;
        self.file.flush().map_err(|e| Error::io(&self.path, e))
    }
}

fn check_layers(path: &Path, style_layers: &[impl AsRef<str>]) -> Result<()> {
    for l in style_layers {
        let l = l.as_ref();
        if l.is_empty() || l.contains([',', '"', '\n', '\r']) {
            return Err(Error::invalid(
                format!("style layer name for {}", path.display()),
                format!("{l:?} must be non-empty and hold no comma, quote or line break"),
            ));
        }
    }
    Ok(())
}

/// A losses log read back: the column names and the rows of numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct LossLog {
    /// The header's column names.
    pub columns: Vec<String>,
    /// One vector per row, one value per column.
    pub rows: Vec<Vec<f64>>,
}

impl LossLog {
    /// The values of column `name`, or `None` if there is no such column.
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| r[i]).collect())
    }

    /// The style layers named by the `style_<layer>` columns, in order.
    pub fn style_layers(&self) -> Vec<String> {
        self.columns.iter().filter_map(|c| c.strip_prefix("style_").map(String::from)).collect()
    }

    /// `(iteration, value)` points of every column but `iteration` and `seconds`, ready for
    /// [`plot_losses`](super::plot_losses).
    pub fn series(&self) -> Vec<(String, Vec<(f64, f64)>)> {
        let it = self.columns.iter().position(|c| c == "iteration");
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| *c != "iteration" && *c != "seconds")
            .map(|(i, c)| {
                let pts = self
                    .rows
                    .iter()
                    .enumerate()
                    .map(|(k, r)| (it.map_or(k as f64, |j| r[j]), r[i]))
                    .collect();
                (c.clone(), pts)
            })
            .collect()
    }
}

/// Reads a losses log (or any CSV of numbers with a header line). A blank last line is allowed;
/// a row with the wrong number of fields or a field that is not a number is an error naming the
/// file and the line.
pub fn read_loss_log(path: impl AsRef<Path>) -> Result<LossLog> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut lines = BufReader::new(file).lines();
    let header = match lines.next() {
        Some(l) => l.map_err(|e| Error::io(path, e))?,
        None => return Err(Error::format(path, "the file is empty: no header line")),
    };
    let columns: Vec<String> = header.split(',').map(|c| c.trim().to_string()).collect();
    let mut rows = Vec::new();
    for (k, line) in lines.enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let lineno = k + 2;
        let row: Vec<f64> = line
            .split(',')
            .map(|f| {
                f.trim()
                    .parse::<f64>()
                    .map_err(|_| Error::format(path, format!("line {lineno}: '{f}' is not a number")))
            })
            .collect::<Result<_>>()?;
        if row.len() != columns.len() {
            return Err(Error::format(
                path,
                format!("line {lineno}: {} fields for {} columns", row.len(), columns.len()),
            ));
        }
        rows.push(row);
    }
    Ok(LossLog { columns, rows })
}
