//! The library's one error type: every variant says what was wrong and where.

use std::path::PathBuf;

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
    /// An experiment config is wrong at a file, line, column and key.
    #[error(transparent)]
    Config(#[from] Box<crate::config::ConfigError>),
}

impl From<crate::config::ConfigError> for Error {
    fn from(e: crate::config::ConfigError) -> Self {
        Error::Config(Box::new(e))
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
