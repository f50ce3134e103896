//! Volumes (CT, MRI): NIfTI and HDF5 in and out, intensity windowing, and a 3D Shepp–Logan phantom.
//!
//! # Axis order
//! A NIfTI volume is stored x-fastest (Fortran order): voxel `(i, j, k, t)` of a volume with
//! `dim = [nx, ny, nz, nt]` is at offset `i + nx·(j + ny·(k + nz·t))`. It becomes the tensor
//! `1 × C × D × H × W = 1 × nt × nz × ny × nx`, element `(c, z, y, x) = (t, k, j, i)`. In row-major
//! order that is the same offset, so the data keep their file order and no axis is flipped:
//! orientation stays in the header's affine (sform/qform), which is written back unchanged.
//! A 4th NIfTI dimension becomes the channels. HDF5 datasets are C-ordered and read as
//! `D × H × W` (one channel) or `C × D × H × W`, the numpy/h5py convention.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use nifti::writer::WriterOptions;
use nifti::{IntoNdArray, NiftiObject, NiftiVolume};

pub use nifti::NiftiHeader;

use crate::error::{Error, Result};
use crate::tensor::shrink::shrink_noted;
use crate::tensor::Tensor;

/// What a volume file carries besides its voxels.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeMeta {
    /// Voxel size along (x, y, z), i.e. along (W, H, D), in the header's units (usually mm).
    pub spacing: [f32; 3],
    /// The full NIfTI header of a NIfTI input (affine, pixdim, units, description, …), reused for
    /// the output; `None` for HDF5 inputs and generated volumes.
    pub nifti: Option<Box<NiftiHeader>>,
}

impl VolumeMeta {
    /// Metadata for a volume with the given voxel spacing and no header.
    pub fn with_spacing(spacing: [f32; 3]) -> Self {
        VolumeMeta { spacing, nifti: None }
    }

    /// The metadata of this volume resampled from `from` to `to` voxels (both `[D, H, W]`) with
    /// [`crate::tensor::resample::Interp::Area`]: every spacing scaled by `from/to` (so spacing × size is kept), and in a
    /// NIfTI header `pixdim`, the sform rows and the qform offset moved alike, so that the outer
    /// corners of the corner voxels map to the same world points as before.
    pub fn resized(&self, from: [usize; 3], to: [usize; 3]) -> VolumeMeta {
        // Ratios along (x, y, z) = (W, H, D); new voxel i is centred on old index (i + ½)·r − ½.
        let r: [f64; 3] = std::array::from_fn(|a| from[2 - a] as f64 / to[2 - a] as f64);
        let shift: [f64; 3] = std::array::from_fn(|a| 0.5 * r[a] - 0.5);
        let spacing = std::array::from_fn(|a| (self.spacing[a] as f64 * r[a]) as f32);
        let nifti = self.nifti.as_ref().map(|h| {
            let mut h = h.clone();
            for row in [&mut h.srow_x, &mut h.srow_y, &mut h.srow_z] {
                let moved: f64 = (0..3).map(|a| row[a] as f64 * shift[a]).sum();
                row[3] = (row[3] as f64 + moved) as f32;
                (0..3).for_each(|a| row[a] = (row[a] as f64 * r[a]) as f32);
            }
            let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
            let step = [h.pixdim[1] as f64, h.pixdim[2] as f64, qfac * h.pixdim[3] as f64];
            let rot = quaternion_matrix(h.quatern_b as f64, h.quatern_c as f64, h.quatern_d as f64);
            let moved: [f64; 3] =
                std::array::from_fn(|i| (0..3).map(|a| rot[i][a] * step[a] * shift[a]).sum());
            h.quatern_x = (h.quatern_x as f64 + moved[0]) as f32;
            h.quatern_y = (h.quatern_y as f64 + moved[1]) as f32;
            h.quatern_z = (h.quatern_z as f64 + moved[2]) as f32;
            (0..3).for_each(|a| h.pixdim[a + 1] = (h.pixdim[a + 1] as f64 * r[a]) as f32);
            h
        });
        VolumeMeta { spacing, nifti }
    }

    /// The spacing before and after, for the log: `0.7→2.8 mm` (one number when isotropic).
    pub fn spacing_change(&self, after: &VolumeMeta) -> String {
        let unit = match self.nifti.as_ref().map(|h| h.xyzt_units & 7) {
            Some(1) => " m",
            Some(2) => " mm",
            Some(3) => " µm",
            _ => "",
        };
        format!("{}→{}{unit}", spacing_text(self.spacing), spacing_text(after.spacing))
    }
}

/// A note when a volume style's voxel spacing differs from the content's by more than 1% on an
/// axis: the style is used at its own voxel grid, not resampled to the content's.
pub fn spacing_note(
    path: &Path,
    style: &super::format::Source,
    content: &super::format::Source,
) -> Option<String> {
    let (s, c) = (style.meta.volume.as_ref()?, content.meta.volume.as_ref()?);
    let differ = (0..3).any(|a| (s.spacing[a] - c.spacing[a]).abs() > 0.01 * c.spacing[a].abs());
    differ.then(|| {
        format!(
            "{}: voxel spacing {} differs from the content's {}: the style is used at its own voxel grid",
            path.display(),
            spacing_text(s.spacing),
            spacing_text(c.spacing)
        )
    })
}

/// A spacing as one number when isotropic, else `x×y×z`; three significant decimals at most.
pub fn spacing_text(s: [f32; 3]) -> String {
    let short = |v: f32| {
        let t = format!("{v:.3}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if s.iter().all(|&v| (v - s[0]).abs() <= 1e-6 * s[0].abs()) {
        short(s[0])
    } else {
        s.map(short).join("×")
    }
}

/// The rotation of a NIfTI qform quaternion `(b, c, d)`, with `a = √(1 − b² − c² − d²)`.
fn quaternion_matrix(b: f64, c: f64, d: f64) -> [[f64; 3]; 3] {
    let a = (1.0 - b * b - c * c - d * d).max(0.0).sqrt();
    [
        [a * a + b * b - c * c - d * d, 2.0 * (b * c - a * d), 2.0 * (b * d + a * c)],
        [2.0 * (b * c + a * d), a * a + c * c - b * b - d * d, 2.0 * (c * d - a * b)],
        [2.0 * (b * d - a * c), 2.0 * (c * d + a * b), a * a + d * d - c * c - b * b],
    ]
}

fn nifti_error(path: &Path, e: nifti::NiftiError) -> Error {
    match e {
        nifti::NiftiError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::format(path, "truncated NIfTI file: the data end before the header says")
        }
        nifti::NiftiError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => Error::io(path, e),
        nifti::NiftiError::Io(e) => Error::format(path, format!("not a readable NIfTI file: {e}")),
        other => Error::format(path, format!("not a readable NIfTI file: {other}")),
    }
}

/// Read a `.nii` or `.nii.gz` volume (3D, or 4D with the 4th axis as channels) as a
/// `1 × C × D × H × W` tensor of f32 (the header's scl_slope/scl_inter applied), with its header.
pub fn read_nifti(path: &Path) -> Result<(Tensor<3>, VolumeMeta)> {
    if !path.exists() {
        return Err(Error::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
    }
    let bytes = nifti_bytes(path)?;
    let obj = nifti::InMemNiftiObject::from_reader(std::io::Cursor::new(bytes))
        .map_err(|e| nifti_error(path, e))?;
    let header = obj.header().clone();
    let dims: Vec<usize> = obj.volume().dim().iter().map(|&d| d as usize).collect();
    if !(3..=4).contains(&dims.len()) {
        return Err(Error::format(path, format!("{}-D volume {dims:?}: expected 3-D or 4-D", dims.len())));
    }
    let array = obj.into_volume().into_ndarray::<f32>().map_err(|e| nifti_error(path, e))?;
    // The array is indexed (x, y, z[, t]); reversing the axes gives (t, z, y, x), whose logical
    // (row-major) order is the tensor's.
    let data: Vec<f32> = array.reversed_axes().iter().copied().collect();
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(Error::format(path, format!("voxel {i} is not finite ({})", data[i])));
    }
    let c = dims.get(3).copied().unwrap_or(1);
    let t = Tensor::from_vec(1, c, [dims[2], dims[1], dims[0]], data)?;
    let p = header.pixdim;
    Ok((t, VolumeMeta { spacing: [p[1], p[2], p[3]], nifti: Some(Box::new(header)) }))
}

/// NIfTI-1 data types this reader converts, with the bits per voxel each must declare.
const DATATYPES: &[(i16, i16, &str)] = &[
    (2, 8, "uint8"),
    (4, 16, "int16"),
    (8, 32, "int32"),
    (16, 32, "float32"),
    (64, 64, "float64"),
    (256, 8, "int8"),
    (512, 16, "uint16"),
    (768, 32, "uint32"),
    (1024, 64, "int64"),
    (1280, 64, "uint64"),
];

/// The bytes of a NIfTI-1 file (decompressed if gzipped), after checking its header: `sizeof_hdr`
/// 348 (either byte order), the single-file magic `n+1`, 1 to 7 positive dimensions, a supported
/// `datatype` with the `bitpix` it implies, a `vox_offset` from 352 to the end of the file. A
/// gzip stream is decompressed only up to the size the header declares (more is refused: a
/// decompression bomb), and its CRC is checked; the declared size is checked against the memory
/// budget before anything is allocated.
fn nifti_bytes(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut raw = std::io::BufReader::new(file);
    let mut magic = [0u8; 2];
    let gz = {
        use std::io::BufRead;
        let head = raw.fill_buf().map_err(|e| Error::io(path, e))?;
        magic.iter_mut().zip(head).for_each(|(m, h)| *m = *h);
        magic == [0x1f, 0x8b]
    };
    let mut reader: Box<dyn Read> =
        if gz { Box::new(flate2::bufread::GzDecoder::new(raw)) } else { Box::new(raw) };
    let gz_err = |e: std::io::Error| {
        if gz && e.kind() != std::io::ErrorKind::UnexpectedEof {
            Error::format(path, format!("corrupt gzip data ({e})"))
        } else {
            Error::format(path, "truncated NIfTI file: the data end before the header says")
        }
    };
    let mut header = vec![0u8; 348];
    reader.read_exact(&mut header).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            Error::format(path, "truncated NIfTI file: shorter than its 348-byte header")
        }
        _ => gz_err(e),
    })?;
    let h = NiftiCheck::parse(&header).map_err(|e| Error::format(path, e))?;
    if !gz && h.vox_offset > file_len as u128 {
        return Err(Error::format(
            path,
            format!("vox_offset {} lies beyond the end of the file ({file_len} bytes)", h.vox_offset),
        ));
    }
    crate::budget::check(
        &format!("{}: a volume of {} voxels", path.display(), h.voxels),
        (h.declared).saturating_add(h.voxels.saturating_mul(12)),
        "use a smaller volume",
    )?;
    if !gz && h.declared > file_len as u128 {
        return Err(Error::format(
            path,
            format!(
                "truncated NIfTI file: the header declares {} bytes, the file has {file_len}",
                h.declared
            ),
        ));
    }
    let mut bytes = header;
    let rest = (h.declared - 348) as u64;
    (&mut reader).take(rest).read_to_end(&mut bytes).map_err(gz_err)?;
    if (bytes.len() as u128) < h.declared {
        return Err(Error::format(
            path,
            format!(
                "truncated NIfTI file: the header declares {} bytes of data, {} present",
                h.declared,
                bytes.len()
            ),
        ));
    }
    if gz {
        let mut one = [0u8; 1];
        match reader.read(&mut one) {
            Ok(0) => {}
            Ok(_) => {
                return Err(Error::format(
                    path,
                    format!("decompresses to more than the {} bytes its header declares", h.declared),
                ))
            }
            Err(e) => return Err(gz_err(e)),
        }
    }
    Ok(bytes)
}

/// The fields of a NIfTI-1 header that decide how much is read, checked.
struct NiftiCheck {
    voxels: u128,
    vox_offset: u128,
    /// `vox_offset` plus the voxel data, in bytes.
    declared: u128,
}

impl NiftiCheck {
    fn parse(h: &[u8]) -> std::result::Result<NiftiCheck, String> {
        let le = match i32::from_le_bytes([h[0], h[1], h[2], h[3]]) {
            348 => true,
            _ if i32::from_be_bytes([h[0], h[1], h[2], h[3]]) == 348 => false,
            v => return Err(format!("sizeof_hdr is {v}, not 348: not a NIfTI-1 file")),
        };
        let i16_at = |o: usize| {
            if le {
                i16::from_le_bytes([h[o], h[o + 1]])
            } else {
                i16::from_be_bytes([h[o], h[o + 1]])
            }
        };
        let f32_at = |o: usize| {
            let b = [h[o], h[o + 1], h[o + 2], h[o + 3]];
            if le {
                f32::from_le_bytes(b)
            } else {
                f32::from_be_bytes(b)
            }
        };
        match &h[344..348] {
            b"n+1\0" => {}
            b"ni1\0" => {
                return Err("a header-only NIfTI file (.hdr/.img pair); convert it to a single .nii".into())
            }
            m => return Err(format!("magic {m:?} is not 'n+1': not a NIfTI-1 file")),
        }
        let ndim = i16_at(40);
        if !(1..=7).contains(&ndim) {
            return Err(format!("dim[0] is {ndim}: a volume has 1 to 7 dimensions"));
        }
        let mut voxels: u128 = 1;
        for k in 1..=ndim as usize {
            let d = i16_at(40 + 2 * k);
            if d < 1 {
                return Err(format!("dim[{k}] is {d}: every dimension must be at least 1"));
            }
            voxels *= d as u128;
        }
        let (datatype, bitpix) = (i16_at(70), i16_at(72));
        let Some(&(_, bits, _)) = DATATYPES.iter().find(|(t, _, _)| *t == datatype) else {
            return Err(format!(
                "datatype {datatype} is not supported (use one of {})",
                DATATYPES.iter().map(|(t, _, n)| format!("{n} ({t})")).collect::<Vec<_>>().join(", ")
            ));
        };
        if bitpix != bits {
            return Err(format!("bitpix {bitpix} disagrees with datatype {datatype}, which has {bits} bits"));
        }
        let off = f32_at(108);
        if !(off.is_finite() && off >= 352.0 && off < (1u64 << 40) as f32 && off.fract() == 0.0) {
            return Err(format!("vox_offset {off} is not a whole number of bytes from 352 on"));
        }
        let vox_offset = off as u128;
        let declared = vox_offset + voxels * (bits as u128 / 8);
        Ok(NiftiCheck { voxels, vox_offset, declared })
    }
}

/// Write a `1 × C × D × H × W` tensor as `.nii` or `.nii.gz` (from the extension), float32.
/// With a header in `meta` every field but the dimensions, data type and scaling is kept (affine,
/// pixdim, units, description); without one, a header with `meta.spacing` (mm) and a diagonal
/// scanner-space sform is made.
pub fn write_nifti(path: &Path, t: &Tensor<3>, meta: &VolumeMeta) -> Result<()> {
    if t.batch() != 1 {
        return Err(Error::shape(
            "volume::write_nifti",
            format!("batch must be 1, got {}", t.shape_string()),
        ));
    }
    crate::io::ensure_finite(path, t.data())?;
    let [d, h, w] = t.spatial();
    let c = t.channels();
    let shape: Vec<usize> = if c == 1 { vec![d, h, w] } else { vec![c, d, h, w] };
    let array = ArrayD::from_shape_vec(IxDyn(&shape), t.data().to_vec())
        .map_err(|e| Error::shape("volume::write_nifti", e.to_string()))?
        .reversed_axes();
    let header = match &meta.nifti {
        Some(h) => (**h).clone(),
        None => default_header(meta.spacing),
    };
    super::write_via_temp(path, |tmp| {
        WriterOptions::new(tmp).reference_header(&header).write_nifti(&array).map_err(|e| match e {
            nifti::NiftiError::Io(e) => Error::io(tmp, e),
            other => Error::format(tmp, format!("writing NIfTI: {other}")),
        })
    })
}

fn default_header(spacing: [f32; 3]) -> NiftiHeader {
    let [sx, sy, sz] = spacing;
    NiftiHeader {
        pixdim: [1.0, sx, sy, sz, 1.0, 1.0, 1.0, 1.0],
        xyzt_units: 2, // millimetres
        sform_code: 1, // scanner anatomical
        srow_x: [sx, 0.0, 0.0, 0.0],
        srow_y: [0.0, sy, 0.0, 0.0],
        srow_z: [0.0, 0.0, sz, 0.0],
        ..NiftiHeader::default()
    }
}

/// An HDF5 dataset address: `file.h5:/group/dataset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H5Path {
    /// The HDF5 file.
    pub file: PathBuf,
    /// The dataset path inside it, without the leading `/` (e.g. `group/dataset`).
    pub dataset: String,
}

impl H5Path {
    /// Split `s` at the first `:/` that follows a `.h5` or `.hdf5` file name.
    pub(crate) fn split(s: &str) -> Option<(&str, &str)> {
        let lower = s.to_ascii_lowercase();
        lower
            .match_indices(":/")
            .map(|(i, _)| i)
            .find(|&i| {
                let head = &lower[..i];
                head.ends_with(".h5") || head.ends_with(".hdf5")
            })
            .map(|i| (&s[..i], &s[i + 1..]))
    }

    /// Parse `file.h5:/group/dataset`; an error if there is no `.h5`/`.hdf5` file followed by `:/`.
    pub fn parse(s: &str) -> Result<H5Path> {
        let Some((file, ds)) = Self::split(s) else {
            return Err(Error::invalid(
                "HDF5 dataset path",
                format!("'{s}' (expected file.h5:/group/dataset)"),
            ));
        };
        let dataset = ds.trim_start_matches('/').to_string();
        if dataset.is_empty() || dataset.split('/').any(str::is_empty) {
            return Err(Error::invalid("HDF5 dataset path", format!("'{s}': empty dataset name")));
        }
        Ok(H5Path { file: PathBuf::from(file), dataset })
    }
}

/// Read an HDF5 dataset of shape `D × H × W` or `C × D × H × W` (f32, or f64 converted) as a
/// `1 × C × D × H × W` tensor. Spacing is not stored in HDF5 here and is reported as 1.
pub fn read_hdf5(at: &H5Path) -> Result<(Tensor<3>, VolumeMeta)> {
    let path = at.file.as_path();
    if !path.exists() {
        return Err(Error::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
    }
    let file = hdf5_reader::Hdf5File::open(path)
        .map_err(|e| Error::format(path, format!("not a readable HDF5 file: {e}")))?;
    let ds = file
        .dataset(&at.dataset)
        .map_err(|e| Error::format(path, format!("dataset '/{}': {e}", at.dataset)))?;
    let values = ds.shape().iter().fold(1u128, |n, &d| n.saturating_mul(d as u128));
    // The array as read (f64 at most), its f32 copy and the tensor.
    crate::budget::check(
        &format!("{}: dataset '/{}' of shape {:?}", path.display(), at.dataset, ds.shape()),
        values.saturating_mul(16),
        "use a smaller volume",
    )?;
    let array: ArrayD<f32> = match ds.read_array::<f32>() {
        Ok(a) => a,
        Err(e32) => match ds.read_array::<f64>() {
            Ok(a) => a.mapv(|v| v as f32),
            Err(_) => return Err(Error::format(path, format!("dataset '/{}': {e32}", at.dataset))),
        },
    };
    let shape = array.shape().to_vec();
    let (c, s) = match shape.as_slice() {
        [d, h, w] => (1, [*d, *h, *w]),
        [c, d, h, w] => (*c, [*d, *h, *w]),
        _ => {
            return Err(Error::format(
                path,
                format!("dataset '/{}' has shape {shape:?}: expected D×H×W or C×D×H×W", at.dataset),
            ))
        }
    };
    let data: Vec<f32> = array.iter().copied().collect();
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(Error::format(path, format!("dataset '/{}': value {i} is not finite", at.dataset)));
    }
    Ok((Tensor::from_vec(1, c, s, data)?, VolumeMeta::with_spacing([1.0; 3])))
}

/// Write a `1 × C × D × H × W` tensor as a float32 HDF5 dataset (`D × H × W` when C = 1, else
/// `C × D × H × W`). The file is created anew: hdf5-writer cannot add to an existing file.
pub fn write_hdf5(at: &H5Path, t: &Tensor<3>) -> Result<()> {
    let path = at.file.as_path();
    if t.batch() != 1 {
        return Err(Error::shape("volume::write_hdf5", format!("batch must be 1, got {}", t.shape_string())));
    }
    crate::io::ensure_finite(path, t.data())?;
    let [d, h, w] = t.spatial();
    let shape: Vec<u64> = if t.channels() == 1 {
        vec![d as u64, h as u64, w as u64]
    } else {
        vec![t.channels() as u64, d as u64, h as u64, w as u64]
    };
    let plan = hdf5_writer::DatasetBuilder::typed_data(at.dataset.clone(), shape, t.data())
        .and_then(|ds| hdf5_writer::Hdf5Builder::new().dataset(ds).into_plan())
        .map_err(|e| Error::invalid("HDF5 dataset", format!("{}:/{}: {e}", path.display(), at.dataset)))?;
    super::write_via_temp(path, |tmp| {
        let file = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        let writer =
            hdf5_writer::Hdf5Writer::new(std::io::BufWriter::new(file), hdf5_writer::WriteOptions::default());
        let sink = writer.finish(plan).map_err(|e| Error::format(tmp, format!("writing HDF5: {e}")))?;
        let file = sink.into_inner().map_err(|e| Error::io(tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(tmp, e))
    })
}

/// An intensity window `[lo, hi] → [0, 1]`, e.g. Hounsfield units `[-1000, 400]` for CT.
///
/// [`apply`](Self::apply) is affine and [`invert`](Self::invert) is its exact inverse (up to f32
/// rounding); values outside the window map outside [0, 1] rather than being clipped, so nothing
/// is lost. Clip after applying where a bounded range matters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntensityWindow {
    /// The value mapped to 0.
    pub lo: f32,
    /// The value mapped to 1.
    pub hi: f32,
}

impl IntensityWindow {
    /// The CT window `[-1000, 400]` HU (air to dense soft tissue).
    pub const CT: IntensityWindow = IntensityWindow { lo: -1000.0, hi: 400.0 };

    /// A window from `lo` to `hi` (`lo < hi`, both finite).
    pub fn new(lo: f32, hi: f32) -> Result<Self> {
        if lo.is_finite() && hi.is_finite() && lo < hi {
            Ok(IntensityWindow { lo, hi })
        } else {
            Err(Error::invalid("intensity window", format!("[{lo}, {hi}] (need lo < hi)")))
        }
    }

    /// `(v − lo) / (hi − lo)`, computed in f64.
    pub fn apply<const N: usize>(&self, t: &Tensor<N>) -> Tensor<N> {
        let (lo, span) = (self.lo as f64, self.hi as f64 - self.lo as f64);
        t.map(|v| ((v as f64 - lo) / span) as f32)
    }

    /// `lo + u · (hi − lo)`, the inverse of [`apply`](Self::apply).
    pub fn invert<const N: usize>(&self, t: &Tensor<N>) -> Tensor<N> {
        let (lo, span) = (self.lo as f64, self.hi as f64 - self.lo as f64);
        t.map(|u| (lo + u as f64 * span) as f32)
    }
}

/// Which set of 3D Shepp–Logan ellipsoids to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phantom {
    /// Kak & Slaney's 3D Shepp–Logan intensities (skull 2.0, brain 1.02 at the centre).
    SheppLogan,
    /// Toft's modified, higher-contrast intensities (skull 1.0, brain 0.2 at the centre).
    ModifiedSheppLogan,
}

/// Ellipsoids: [A (Kak–Slaney), A (Toft), a, b, c, x0, y0, z0, φ, θ, ψ (degrees)], as tabulated by
/// Kak & Slaney and used by Schabel's `phantom3d`.
#[rustfmt::skip]
const ELLIPSOIDS: [[f64; 11]; 10] = [
    [ 2.00,  1.0, 0.6900, 0.920, 0.810,  0.00,  0.0000,  0.00,   0.0, 0.0,  0.0],
    [-0.98, -0.8, 0.6624, 0.874, 0.780,  0.00, -0.0184,  0.00,   0.0, 0.0,  0.0],
    [-0.02, -0.2, 0.1100, 0.310, 0.220,  0.22,  0.0000,  0.00, -18.0, 0.0, 10.0],
    [-0.02, -0.2, 0.1600, 0.410, 0.280, -0.22,  0.0000,  0.00,  18.0, 0.0, 10.0],
    [ 0.01,  0.1, 0.2100, 0.250, 0.410,  0.00,  0.3500, -0.15,   0.0, 0.0,  0.0],
    [ 0.01,  0.1, 0.0460, 0.046, 0.050,  0.00,  0.1000,  0.25,   0.0, 0.0,  0.0],
    [ 0.01,  0.1, 0.0460, 0.046, 0.050,  0.00, -0.1000,  0.25,   0.0, 0.0,  0.0],
    [ 0.01,  0.1, 0.0460, 0.023, 0.050, -0.08, -0.6050,  0.00,   0.0, 0.0,  0.0],
    [ 0.01,  0.1, 0.0230, 0.023, 0.020,  0.00, -0.6060,  0.00,   0.0, 0.0,  0.0],
    [ 0.01,  0.1, 0.0230, 0.046, 0.020,  0.06, -0.6050,  0.00,   0.0, 0.0,  0.0],
];

/// A 3D Shepp–Logan phantom of `[D, H, W]` voxels as a `1 × 1 × D × H × W` tensor.
///
/// Coordinates span [-1, 1] on every axis through voxel centres: x along W (left to right),
/// y along H with y = +1 at row 0 (image convention, up is up), z along D. With odd sizes the
/// middle voxel is the origin. Intensities of overlapping ellipsoids add.
pub fn shepp_logan_3d(size: [usize; 3], kind: Phantom) -> Result<Tensor<3>> {
    if size.contains(&0) {
        return Err(Error::invalid("phantom size", format!("{size:?} (all > 0)")));
    }
    let [d, h, w] = size;
    let coord = |i: usize, n: usize| if n == 1 { 0.0 } else { -1.0 + 2.0 * i as f64 / (n - 1) as f64 };
    let rotations: Vec<[[f64; 3]; 3]> = ELLIPSOIDS.iter().map(|e| euler(e[8], e[9], e[10])).collect();
    let col = if kind == Phantom::SheppLogan { 0 } else { 1 };
    let mut t = Tensor::zeros(1, 1, size);
    let out = t.data_mut();
    for k in 0..d {
        let z = coord(k, d);
        for j in 0..h {
            let y = -coord(j, h);
            for i in 0..w {
                let x = coord(i, w);
                let mut v = 0.0;
                for (e, r) in ELLIPSOIDS.iter().zip(&rotations) {
                    let p = [
                        r[0][0] * x + r[0][1] * y + r[0][2] * z - e[5],
                        r[1][0] * x + r[1][1] * y + r[1][2] * z - e[6],
                        r[2][0] * x + r[2][1] * y + r[2][2] * z - e[7],
                    ];
                    if (p[0] / e[2]).powi(2) + (p[1] / e[3]).powi(2) + (p[2] / e[4]).powi(2) <= 1.0 {
                        v += e[col];
                    }
                }
                out[(k * h + j) * w + i] = v as f32;
            }
        }
    }
    Ok(t)
}

/// The z-x-z Euler rotation of `phantom3d` (angles in degrees).
fn euler(phi: f64, theta: f64, psi: f64) -> [[f64; 3]; 3] {
    let (sp, cp) = phi.to_radians().sin_cos();
    let (st, ct) = theta.to_radians().sin_cos();
    let (ss, cs) = psi.to_radians().sin_cos();
    [
        [cs * cp - ct * sp * ss, cs * sp + ct * cp * ss, ss * st],
        [-ss * cp - ct * sp * cs, -ss * sp + ct * cp * cs, cs * st],
        [st * sp, -st * cp, ct],
    ]
}

/// NIfTI-1 volumes (`.nii` or gzipped `.nii.gz`) as a format.
pub struct Nifti {
    gzip: bool,
}

/// Uncompressed NIfTI.
pub const NII: Nifti = Nifti { gzip: false };
/// Gzipped NIfTI.
pub const NII_GZ: Nifti = Nifti { gzip: true };

impl super::format::Format for Nifti {
    fn name(&self) -> &'static str {
        if self.gzip {
            "nii.gz"
        } else {
            "nii"
        }
    }
    fn kind(&self) -> Option<super::Kind> {
        Some(super::Kind::Volume)
    }
    fn extensions(&self) -> &'static [&'static str] {
        if self.gzip {
            &["nii.gz"]
        } else {
            &["nii"]
        }
    }
    fn about(&self) -> super::format::About {
        super::format::About {
            spelling: if self.gzip { "`.nii.gz`" } else { "`.nii`" },
            tensor: "`1 × C × D × H × W` (z, y, x)",
            channels: "1, or the 4th axis",
            metadata: "the whole header: affine, spacing, units, description",
            scaling: "scl_slope/scl_inter applied; a run maps each volume by its own window (its 0.5th–99.5th percentile, or `--window`, `--content-window`, `--style-window`) onto [0, 1] and back; `--max-side` shrinks (spacing and affine follow)",
        }
    }
    fn read(
        &self,
        path: &Path,
        o: &super::format::LoadOptions,
    ) -> Result<(crate::rank::AnyTensor, super::format::Source)> {
        let (t, meta) = read_nifti(path)?;
        volume_source(self.name(), path, t, meta, o)
    }
    fn write(&self, path: &Path, t: &crate::rank::AnyTensor, like: &super::format::Source) -> Result<()> {
        let meta = like.meta.volume.clone().unwrap_or_else(|| VolumeMeta::with_spacing([1.0; 3]));
        write_nifti(path, &super::format::as_rank::<3>(path, t)?, &meta)
    }
}

/// An HDF5 dataset `file.h5:/group/dataset` as a format.
pub struct Hdf5;

impl super::format::Format for Hdf5 {
    fn name(&self) -> &'static str {
        "h5"
    }
    fn kind(&self) -> Option<super::Kind> {
        Some(super::Kind::Volume)
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["h5", "hdf5"]
    }
    fn matches(&self, path: &Path) -> bool {
        let name = path.to_string_lossy().to_ascii_lowercase();
        let file = H5Path::split(&name).map_or(name.as_str(), |(f, _)| f);
        file.ends_with(".h5") || file.ends_with(".hdf5")
    }
    fn about(&self) -> super::format::About {
        super::format::About {
            spelling: "`FILE.h5:/group/dataset`",
            tensor: "`1 × C × D × H × W`",
            channels: "1, or the first of 4 axes",
            metadata: "none (spacing 1 on writing NIfTI)",
            scaling: "a run maps each volume by its own window (its 0.5th–99.5th percentile, or `--window`, `--content-window`, `--style-window`) onto [0, 1] and back; `--max-side` shrinks",
        }
    }
    fn read(
        &self,
        path: &Path,
        o: &super::format::LoadOptions,
    ) -> Result<(crate::rank::AnyTensor, super::format::Source)> {
        let (t, meta) = read_hdf5(&h5_path(path)?)?;
        volume_source(self.name(), path, t, meta, o)
    }
    fn write(&self, path: &Path, t: &crate::rank::AnyTensor, _like: &super::format::Source) -> Result<()> {
        write_hdf5(&h5_path(path)?, &super::format::as_rank::<3>(path, t)?)
    }
}

/// `path` as `file.h5:/dataset`, or an error saying how to name the dataset.
fn h5_path(path: &Path) -> Result<H5Path> {
    let s = path.to_string_lossy();
    if !s.contains(":/") {
        return Err(Error::invalid(
            "HDF5 path",
            format!("{}: name the dataset as FILE.h5:/group/dataset", path.display()),
        ));
    }
    H5Path::parse(&s)
}

fn volume_source(
    format: &'static str,
    path: &Path,
    t: Tensor<3>,
    meta: VolumeMeta,
    o: &super::format::LoadOptions,
) -> Result<(crate::rank::AnyTensor, super::format::Source)> {
    let mut source = super::format::Source::plain(format, Some(super::Kind::Volume), 4);
    let shrunk = match o.max_side {
        Some(m) => shrink_noted(&t, [true; 3], m as usize)?,
        None => None,
    };
    let (t, meta) = match shrunk {
        Some((small, note)) => {
            let after = meta.resized(t.spatial(), small.spatial());
            source.notes.push(format!("{}: {note}, spacing {}", path.display(), meta.spacing_change(&after)));
            source.resized_from = Some(t.spatial().to_vec());
            (small, after)
        }
        None => (t, meta),
    };
    source.meta.volume = Some(meta);
    let t = match o.window {
        Some(w) => {
            source.scaling = super::format::Scaling::Window(w);
            w.apply(&t)
        }
        None => t,
    };
    Ok((crate::rank::AnyTensor::R3(t), source))
}
