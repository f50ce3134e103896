//! The library's one error type: every variant says what was wrong and where.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Errors raised by the library. The binary maps them to a one-line message and a non-zero exit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two shapes that must agree do not, or a shape is invalid for an operation.
    #[error("{op}: {detail}")]
    Shape { op: &'static str, detail: String },
    /// A value given by the user is out of range or meaningless.
    #[error("invalid {what}: {detail}")]
    Invalid { what: String, detail: String },
    /// Reading or writing a file failed at the operating-system level.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content is not what it should be.
    #[error("{}: {detail}", path.display())]
    Format { path: PathBuf, detail: String },
    /// What an input or setting needs exceeds the memory budget (see [`crate::budget`]).
    #[error("{0}")]
    Budget(String),
    /// A setting is wrong at a file (or argument), line, column and key.
    #[error(transparent)]
    Located(#[from] Box<Located>),
}

impl From<Located> for Error {
    fn from(e: Located) -> Self {
        Error::Located(Box::new(e))
    }
}

/// Where a setting came from: a config file or a command-line argument, with a 1-based line and
/// column (0 where unknown).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loc {
    pub source: Arc<str>,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.column)
    }
}

/// An error at a located key: where (file:line:column), which key (dotted path), and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{loc}: {key}: {message}")]
pub struct Located {
    pub loc: Loc,
    /// The dotted key path (`losses.beta`, `inputs.styles[1].path`), or `(document)` for the root.
    pub key: String,
    pub message: String,
}

impl Located {
    pub fn new(loc: &Loc, key: &str, message: impl Into<String>) -> Self {
        let key = if key.is_empty() { "(document)".to_string() } else { key.to_string() };
        Located { loc: loc.clone(), key, message: message.into() }
    }
}

/// Shorthand for `std::result::Result<T, ndstyle::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A shape error for operation `op`.
    pub fn shape(op: &'static str, detail: impl Into<String>) -> Self {
        Error::Shape { op, detail: detail.into() }
    }
    /// An invalid-value error naming what was invalid.
    pub fn invalid(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Invalid { what: what.into(), detail: detail.into() }
    }
    /// A format error naming the file at fault.
    pub fn format(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        Error::Format { path: path.into(), detail: detail.into() }
    }
    /// An I/O error naming the file at fault.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
