//! NumPy `.npy` files: read (v1.0/2.0/3.0, float and integer dtypes → f32), write (v1.0 `<f4`), tensor conversion.
//!
//! A `.npy` file is the magic `\x93NUMPY`, a major and minor version byte, a little-endian header
//! length (u16 in version 1.0, u32 in 2.0 and 3.0), a header that is a Python dict literal such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, and then the raw values.

use super::atomic_write;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// An n-dimensional array read from or written to a `.npy` file: row-major (C order) f32 values.
#[derive(Clone, Debug, PartialEq)]
pub struct NdArray {
    /// The extent of each axis; empty for a scalar.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values, row-major (the last axis is contiguous).
    pub data: Vec<f32>,
}

impl NdArray {
    /// The number of axes.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
    /// A readable shape such as `(2, 3)`.
    pub fn shape_string(&self) -> String {
        shape_string(&self.shape)
    }
}

fn shape_string(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// Where the channel axis sits in an array read from or written to a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// Channels before the spatial axes: `C × S_1 × … × S_N` (PyTorch's order).
    #[default]
    ChannelsFirst,
    /// Channels after the spatial axes: `S_1 × … × S_N × C` (images `H×W×C`, video `T×H×W×C`).
    ChannelsLast,
}

impl std::str::FromStr for Layout {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "channels-first" | "first" => Ok(Layout::ChannelsFirst),
            "channels-last" | "last" => Ok(Layout::ChannelsLast),
            _ => Err(Error::invalid("layout", format!("'{s}' (expected channels-first or channels-last)"))),
        }
    }
}

/// Returns an error naming `path` if any value of `data` is NaN or infinite.
pub fn ensure_finite(path: impl AsRef<Path>, data: &[f32]) -> Result<()> {
    match data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => {
            let count = data.iter().filter(|v| !v.is_finite()).count();
            Err(Error::format(
                path.as_ref(),
                format!(
                    "{count} non-finite value(s) (NaN or infinity); the first is {} at flat index {i}",
                    data[i]
                ),
            ))
        }
    }
}

/// Reads a `.npy` file into f32 values.
///
/// Accepts format versions 1.0, 2.0 and 3.0; dtypes `f4` and `f8` and the integer types `i1`,
/// `i2`, `i4`, `i8`, `u1`, `u2`, `u4`, `u8`, little- or big-endian, all converted to f32 (`f8`
/// and 64-bit integers lose precision beyond f32's 24-bit mantissa). Fortran-ordered arrays,
/// other dtypes, a truncated file and NaN or infinite values (after conversion, so an `f8` too
/// large for f32 counts) are errors naming the file.
pub fn read_npy(path: impl AsRef<Path>) -> Result<NdArray> {
    let path = path.as_ref();
    let len = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    // The file's bytes and their f32 conversion (up to 4 bytes per stored byte, for `i1`/`u1`).
    crate::budget::check(
        &format!("{}: reading a {len}-byte array", path.display()),
        (len as u128).saturating_mul(5),
        "use a smaller array",
    )?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let arr = parse_npy(&bytes).map_err(|detail| Error::format(path, detail))?;
    ensure_finite(path, &arr.data)?;
    Ok(arr)
}

/// Parses the bytes of a `.npy` file; the error is a message without the file name.
fn parse_npy(bytes: &[u8]) -> std::result::Result<NdArray, String> {
    if bytes.is_empty() {
        return Err("not a .npy file: the file is empty".into());
    }
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a .npy file: missing the magic string \\x93NUMPY".into());
    }
    if bytes.len() < 8 {
        return Err("truncated .npy file: no format version".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, header_start) = match major {
        1 => {
            let b = bytes.get(8..10).ok_or("truncated .npy file: no header length")?;
            (u16::from_le_bytes([b[0], b[1]]) as usize, 10)
        }
        2 | 3 => {
            let b = bytes.get(8..12).ok_or("truncated .npy file: no header length")?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        _ => {
            return Err(format!("unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0)"))
        }
    };
    let header_end = header_start + header_len;
    let header_bytes = bytes.get(header_start..header_end).ok_or_else(|| {
        format!(
            "truncated .npy file: the header needs {header_len} bytes, {} present",
            bytes.len() - header_start
        )
    })?;
    // Versions 1.0 and 2.0 use latin-1 headers, 3.0 UTF-8; valid headers are ASCII either way.
    let header: String = if major == 3 {
        String::from_utf8(header_bytes.to_vec())
            .map_err(|_| "the .npy header is not valid UTF-8".to_string())?
    } else {
        header_bytes.iter().map(|&b| b as char).collect()
    };
    let header = Header::parse(&header)?;
    let dtype = DType::parse(&header.descr)?;
    if header.fortran_order {
        return Err(format!(
            "Fortran-ordered arrays are not supported (shape {}); save it in C order, e.g. np.save(f, np.ascontiguousarray(a))",
            shape_string(&header.shape)
        ));
    }
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {} is too large", shape_string(&header.shape)))?;
    let need = count.checked_mul(dtype.size).ok_or_else(|| "array too large".to_string())?;
    let payload = &bytes[header_end..];
    if payload.len() < need {
        return Err(format!(
            "truncated .npy file: shape {} of '{}' needs {need} bytes of data, {} present",
            shape_string(&header.shape),
            header.descr,
            payload.len()
        ));
    }
    if payload.len() > need {
        return Err(format!(
            "{} unexpected bytes after the data of shape {} of '{}'",
            payload.len() - need,
            shape_string(&header.shape),
            header.descr
        ));
    }
    let data = payload.chunks_exact(dtype.size).map(|c| dtype.decode(c)).collect();
    Ok(NdArray { shape: header.shape, data })
}

/// The three fields of a `.npy` header.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl Header {
    fn parse(text: &str) -> std::result::Result<Header, String> {
        let bad = |what: &str| format!("malformed .npy header ({what}): {}", text.trim_end().escape_debug());
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        let dict = match p.value() {
            Some(Value::Dict(d)) => d,
            _ => return Err(bad("not a dict literal")),
        };
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        for (k, v) in dict {
            match (k.as_str(), v) {
                ("descr", Value::Str(s)) => descr = Some(s),
                ("fortran_order", Value::Bool(b)) => fortran = Some(b),
                ("shape", Value::Tuple(items)) => {
                    let dims: Option<Vec<usize>> = items
                        .into_iter()
                        .map(|v| if let Value::Int(n) = v { Some(n) } else { None })
                        .collect();
                    shape = Some(dims.ok_or_else(|| bad("'shape' must hold non-negative integers"))?);
                }
                ("descr", Value::List) => return Err("structured dtypes are not supported".into()),
                ("descr" | "fortran_order" | "shape", _) => return Err(bad(&format!("bad value for '{k}'"))),
                _ => {}
            }
        }
        Ok(Header {
            descr: descr.ok_or_else(|| bad("no 'descr'"))?,
            fortran_order: fortran.ok_or_else(|| bad("no 'fortran_order'"))?,
            shape: shape.ok_or_else(|| bad("no 'shape'"))?,
        })
    }
}

/// The subset of Python literals found in `.npy` headers.
enum Value {
    Str(String),
    Bool(bool),
    Int(usize),
    Tuple(Vec<Value>),
    /// A list (its items are not needed: only structured dtypes use one).
    List,
    Dict(Vec<(String, Value)>),
}

/// A recursive-descent parser over a header; every method returns `None` on a syntax error.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'\'' | b'"' => self.string().map(Value::Str),
            b'{' => {
                self.i += 1;
                let mut items = Vec::new();
                while !self.eat(b'}') {
                    let key = self.string()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    items.push((key, self.value()?));
                    if !self.eat(b',') && self.peek() != Some(b'}') {
                        return None;
                    }
                }
                Some(Value::Dict(items))
            }
            open @ (b'(' | b'[') => {
                self.i += 1;
                let close = if open == b'(' { b')' } else { b']' };
                let mut items = Vec::new();
                while !self.eat(close) {
                    items.push(self.value()?);
                    if !self.eat(b',') && self.peek() != Some(close) {
                        return None;
                    }
                }
                Some(if open == b'(' { Value::Tuple(items) } else { Value::List })
            }
            b'0'..=b'9' => {
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                // Python 2 era files may write long integers as `3L`.
                let n = std::str::from_utf8(&self.s[start..self.i]).ok()?.parse().ok()?;
                if self.s.get(self.i) == Some(&b'L') {
                    self.i += 1;
                }
                Some(Value::Int(n))
            }
            _ => {
                for (word, v) in [("True", true), ("False", false)] {
                    if self.s[self.i..].starts_with(word.as_bytes()) {
                        self.i += word.len();
                        return Some(Value::Bool(v));
                    }
                }
                None
            }
        }
    }
    fn string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        if quote != b'\'' && quote != b'"' {
            return None;
        }
        let start = self.i + 1;
        let len = self.s[start..].iter().position(|&c| c == quote)?;
        self.i = start + len + 1;
        Some(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }
}

/// A supported element type.
#[derive(Clone, Copy)]
struct DType {
    kind: u8,
    size: usize,
    big_endian: bool,
}

impl DType {
    fn parse(descr: &str) -> std::result::Result<DType, String> {
        let unsupported = || {
            format!(
                "unsupported dtype '{descr}' (supported: f4, f8, i1, i2, i4, i8, u1, u2, u4, u8; \
                 little- or big-endian)"
            )
        };
        let b = descr.as_bytes();
        if b.len() < 3 {
            return Err(unsupported());
        }
        let big_endian = match b[0] {
            b'<' | b'|' => false,
            b'>' => true,
            b'=' => cfg!(target_endian = "big"),
            _ => return Err(unsupported()),
        };
        // `get`, not `[2..]`: a mutated header may put a multi-byte character at byte 1.
        let size: usize = descr.get(2..).and_then(|s| s.parse().ok()).ok_or_else(unsupported)?;
        let ok = matches!((b[1], size), (b'f', 4 | 8) | (b'i' | b'u', 1 | 2 | 4 | 8));
        if !ok {
            return Err(unsupported());
        }
        Ok(DType { kind: b[1], size, big_endian })
    }

    /// Decodes one element from exactly `self.size` bytes.
    fn decode(&self, c: &[u8]) -> f32 {
        let mut buf = [0u8; 8];
        buf[..self.size].copy_from_slice(c);
        if self.big_endian {
            buf[..self.size].reverse();
        }
        let u = u64::from_le_bytes(buf);
        match (self.kind, self.size) {
            (b'f', 4) => f32::from_bits(u as u32),
            (b'f', _) => f64::from_bits(u) as f32,
            (b'u', _) => u as f32,
            // Sign-extend from `size` bytes.
            (_, s) => {
                let shift = 64 - 8 * s as u32;
                (((u << shift) as i64) >> shift) as f32
            }
        }
    }
}

/// Writes `data` with `shape` to `path` as a version 1.0 `.npy` file of little-endian f32 (`<f4`), C order.
///
/// The write is atomic (see [`atomic_write`](super::atomic_write)); a shape that does not match
/// the number of values is an error naming the file, and nothing is written. A header too long
/// for version 1.0 (only for absurd ranks) is written as version 2.0.
pub fn write_npy(path: impl AsRef<Path>, shape: &[usize], data: &[f32]) -> Result<()> {
    let path = path.as_ref();
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if count != Some(data.len()) {
        return Err(Error::invalid(
            format!("array for {}", path.display()),
            format!("shape {} does not hold {} values", shape_string(shape), data.len()),
        ));
    }
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {}, }}", shape_string(shape));
    // Pad with spaces so that magic + version + length + header (ending in '\n') is a multiple of 64.
    let (version, prefix) = if dict.len() + 1 + 10 <= u16::MAX as usize { (1u8, 10) } else { (2u8, 12) };
    let total = (prefix + dict.len() + 1).div_ceil(64) * 64;
    let mut header = dict.into_bytes();
    header.resize(total - prefix - 1, b' ');
    header.push(b'\n');

    atomic_write(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&[version, 0])?;
        if version == 1 {
            w.write_all(&(header.len() as u16).to_le_bytes())?;
        } else {
            w.write_all(&(header.len() as u32).to_le_bytes())?;
        }
        w.write_all(&header)?;
        let mut buf = Vec::with_capacity(4 * data.len().min(1 << 16));
        for chunk in data.chunks(1 << 16) {
            buf.clear();
            chunk.iter().for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
            w.write_all(&buf)?;
        }
        Ok(())
    })
}

/// Converts an array read from `source` into a tensor of spatial rank `N`.
///
/// With [`Layout::ChannelsFirst`], an array of rank
/// - `N` (`S_1 × … × S_N`) is one single-channel item: `1 × 1 × S…`;
/// - `N + 1` (`C × S…`) is one item with `C` channels: `1 × C × S…`;
/// - `N + 2` (`B × C × S…`) is a batch: taken as is.
///
/// With [`Layout::ChannelsLast`] the channel axis is the last one instead (`S…`, `S… × C`,
/// `B × S… × C`) and the values are transposed into the tensor's channels-first order.
/// Any other rank is an error naming `source` (used only for messages), the array's shape and
/// the shapes accepted.
pub fn to_tensor<const N: usize>(
    arr: NdArray,
    layout: Layout,
    source: impl AsRef<Path>,
) -> Result<Tensor<N>> {
    let source = source.as_ref();
    let r = arr.shape.len();
    if r < N || r > N + 2 {
        let s = spatial_names(N);
        let expected = match layout {
            Layout::ChannelsFirst => format!("({s}), (C×{s}) or (B×C×{s})"),
            Layout::ChannelsLast => format!("({s}), ({s}×C) or (B×{s}×C)"),
        };
        return Err(Error::format(
            source,
            format!(
                "array of shape {} (rank {r}) cannot be a rank-{N} tensor: expected rank {N}, {} or {}: {expected}",
                arr.shape_string(),
                N + 1,
                N + 2
            ),
        ));
    }
    let (batch, channels, spatial_axes) = match (r - N, layout) {
        (0, _) => (1, 1, &arr.shape[..]),
        (1, Layout::ChannelsFirst) => (1, arr.shape[0], &arr.shape[1..]),
        (1, Layout::ChannelsLast) => (1, arr.shape[r - 1], &arr.shape[..r - 1]),
        (_, Layout::ChannelsFirst) => (arr.shape[0], arr.shape[1], &arr.shape[2..]),
        (_, Layout::ChannelsLast) => (arr.shape[0], arr.shape[r - 1], &arr.shape[1..r - 1]),
    };
    let mut spatial = [0usize; N];
    spatial.copy_from_slice(spatial_axes);
    let data = if layout == Layout::ChannelsLast && channels > 1 {
        transpose_items(&arr.data, batch, spatial.iter().product(), channels)
    } else {
        arr.data
    };
    Tensor::from_vec(batch, channels, spatial, data).map_err(|e| Error::format(source, e.to_string()))
}

/// Converts a tensor into an array of rank `N + 2`: `B × C × S…` ([`Layout::ChannelsFirst`]) or
/// `B × S… × C` ([`Layout::ChannelsLast`]); [`to_tensor`] with the same layout gives it back.
pub fn from_tensor<const N: usize>(t: &Tensor<N>, layout: Layout) -> NdArray {
    let (b, c, p) = (t.batch(), t.channels(), t.positions());
    match layout {
        Layout::ChannelsFirst => NdArray { shape: t.dims(), data: t.data().to_vec() },
        Layout::ChannelsLast => {
            let mut shape = vec![b];
            shape.extend_from_slice(&t.spatial());
            shape.push(c);
            NdArray { shape, data: transpose_items(t.data(), b, c, p) }
        }
    }
}

/// Reads a `.npy` file as a tensor of spatial rank `N` ([`read_npy`] then [`to_tensor`]).
pub fn read_npy_tensor<const N: usize>(path: impl AsRef<Path>, layout: Layout) -> Result<Tensor<N>> {
    let path = path.as_ref();
    to_tensor(read_npy(path)?, layout, path)
}

/// Writes a tensor as a `.npy` file of rank `N + 2` ([`from_tensor`] then [`write_npy`]).
pub fn write_tensor_npy<const N: usize>(path: impl AsRef<Path>, t: &Tensor<N>, layout: Layout) -> Result<()> {
    let arr = from_tensor(t, layout);
    write_npy(path, &arr.shape, &arr.data)
}

/// Transposes each of `batch` row-major `rows × cols` matrices in `data`.
fn transpose_items(data: &[f32], batch: usize, rows: usize, cols: usize) -> Vec<f32> {
    let n = rows * cols;
    let mut out = vec![0.0; data.len()];
    for b in 0..batch {
        let (src, dst) = (&data[b * n..(b + 1) * n], &mut out[b * n..(b + 1) * n]);
        for r in 0..rows {
            for c in 0..cols {
                dst[c * rows + r] = src[r * cols + c];
            }
        }
    }
    out
}

/// `S1×S2×…` for messages.
fn spatial_names(n: usize) -> String {
    (1..=n).map(|i| format!("S{i}")).collect::<Vec<_>>().join("×")
}
