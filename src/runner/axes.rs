//! Which axes of a rank-N content a rank-(N−1) style is applied across: parsed, and defaulted by kind.

use crate::error::{Error, Result};

/// What a rank-N content is, for the default slice axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ContentKind {
    /// Time along axis 0 (`T × H × W` frames): the style applies to each frame only.
    Video,
    /// A volume (`D × H × W`): every orthogonal orientation (solid texture synthesis, Kopf et al. 2007).
    Volume,
    /// Anything else (say an image for a 1D style): every axis.
    #[default]
    Other,
}

/// The axes to slice across; a slice across axis `a` holds `a` fixed and spans the others.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum SliceAxes {
    /// The default of the content's kind ([`SliceAxes::resolve`]).
    #[default]
    Auto,
    /// Every axis.
    All,
    /// Axis 0 (the frames of a video).
    Time,
    /// These axes, by number (`0`, `1`, `2`) or letter (`t`/`d` for axis 0, `h`, `w`).
    List(Vec<AxisName>),
}

/// One axis named in a [`SliceAxes::List`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxisName {
    Index(usize),
    /// `t`/`d`, `h` or `w`: the last three axes, counted from the last (`w`).
    Letter(char),
}

impl std::str::FromStr for SliceAxes {
    type Err = Error;
    /// `auto`, `all`, `time`, or a comma-separated list such as `0,1,2` or `d,h,w`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "auto" => return Ok(SliceAxes::Auto),
            "all" => return Ok(SliceAxes::All),
            "time" | "frames" => return Ok(SliceAxes::Time),
            _ => {}
        }
        let bad = || {
            Error::invalid(
                "slice axes",
                format!("'{s}' (expected auto, all, time, or a list such as 0,1,2 or d,h,w)"),
            )
        };
        s.split(',')
            .map(|p| match p.trim() {
                l @ ("t" | "d" | "h" | "w") => Ok(AxisName::Letter(l.chars().next().expect("one letter"))),
                n => n.parse::<usize>().map(AxisName::Index).map_err(|_| bad()),
            })
            .collect::<Result<Vec<_>>>()
            .map(SliceAxes::List)
    }
}

impl SliceAxes {
    /// The axes of a rank-`rank` content of kind `kind`, in increasing order: `Auto` is `Time`
    /// for video and `All` otherwise. A letter or number outside the rank, or one named twice,
    /// is an error naming it.
    pub fn resolve(&self, kind: ContentKind, rank: usize) -> Result<Vec<usize>> {
        let mut axes = match self {
            SliceAxes::Auto if kind == ContentKind::Video => vec![0],
            SliceAxes::Auto | SliceAxes::All => (0..rank).collect(),
            SliceAxes::Time => vec![0],
            SliceAxes::List(names) => names.iter().map(|n| n.index(rank)).collect::<Result<Vec<_>>>()?,
        };
        if rank == 0 {
            return Err(Error::invalid("slice axes", "a rank-0 content has no axes to slice"));
        }
        let n = axes.len();
        axes.sort_unstable();
        axes.dedup();
        if axes.len() != n {
            return Err(Error::invalid("slice axes", format!("{self} names an axis twice")));
        }
        if axes.is_empty() {
            return Err(Error::invalid("slice axes", "no axis chosen"));
        }
        Ok(axes)
    }
}

impl AxisName {
    fn index(self, rank: usize) -> Result<usize> {
        let from_last = |k: usize, c: char| {
            rank.checked_sub(k + 1).ok_or_else(|| {
                Error::invalid("slice axes", format!("'{c}' names no axis of a rank-{rank} content"))
            })
        };
        match self {
            AxisName::Index(i) if i < rank => Ok(i),
            AxisName::Index(i) => Err(Error::invalid(
                "slice axes",
                format!("{i} is not an axis of a rank-{rank} content (0 to {})", rank.saturating_sub(1)),
            )),
            AxisName::Letter('w') => from_last(0, 'w'),
            AxisName::Letter('h') => from_last(1, 'h'),
            AxisName::Letter(c) => from_last(2, c),
        }
    }
}

impl std::fmt::Display for SliceAxes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SliceAxes::Auto => write!(f, "auto"),
            SliceAxes::All => write!(f, "all"),
            SliceAxes::Time => write!(f, "time"),
            SliceAxes::List(names) => {
                let parts: Vec<String> = names
                    .iter()
                    .map(|n| match n {
                        AxisName::Index(i) => i.to_string(),
                        AxisName::Letter(c) => c.to_string(),
                    })
                    .collect();
                write!(f, "{}", parts.join(","))
            }
        }
    }
}
