//! Scanning a dataset for the top-k activations of chosen units, in bounded memory, and cropping their patches.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::data::{self, Source};
use crate::error::{Error, Result};
use crate::nn::receptive::{receptive_field_at, Bounds, UnitBox, RF};
use crate::nn::{Network, Op};
use crate::tensor::geometry::{ravel, unravel};
use crate::tensor::Tensor;

/// Which units (channels of the layer) to visualise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Units {
    /// The first `n` channels (fewer if the layer has fewer).
    First(usize),
    /// These channels.
    List(Vec<usize>),
    /// Every channel.
    All,
}

impl std::str::FromStr for Units {
    type Err = Error;
    /// `all`, `first:N`, or a comma-separated list of channel indices.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s == "all" {
            return Ok(Units::All);
        }
        if let Some(n) = s.strip_prefix("first:") {
            return n
                .parse()
                .map(Units::First)
                .map_err(|_| Error::invalid("units", format!("'{s}': '{n}' is not a count")));
        }
        s.split(',')
            .map(|u| {
                u.trim().parse::<usize>().map_err(|_| {
                    Error::invalid(
                        "units",
                        format!("'{u}' is not a channel index (use 0,1,2 or all or first:N)"),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Units::List)
    }
}

impl Units {
    /// The channel indices, checked against a layer of `channels` channels.
    pub fn resolve(&self, channels: usize) -> Result<Vec<usize>> {
        let v: Vec<usize> = match self {
            Units::First(n) => (0..(*n).min(channels)).collect(),
            Units::List(v) => v.clone(),
            Units::All => (0..channels).collect(),
        };
        if let Some(bad) = v.iter().find(|&&u| u >= channels) {
            return Err(Error::invalid(
                "units",
                format!("unit {bad}, but the layer has {channels} channels"),
            ));
        }
        if v.is_empty() {
            return Err(Error::invalid("units", "no unit chosen"));
        }
        Ok(v)
    }
}

/// How the scan uses the cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parallel {
    /// Files one after another; each forward pass parallelises inside (best for few, large inputs).
    Inner,
    /// Several files at once, `batch` at a time, over rayon's one pool (nested work shares that
    /// pool, so no threads are oversubscribed). Best for many small inputs.
    Files,
}

/// What to scan for.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// How many patches to keep per unit.
    pub k: usize,
    pub units: Units,
    /// Non-maximum suppression within a file: two kept positions of one unit in one file are at
    /// least this far apart (Chebyshev distance in the layer's positions). `None`: half the
    /// receptive field in the layer's positions; 0 or 1: none (distinct positions only).
    pub min_gap: Option<usize>,
    /// Resize images so their longer side is at most this (as `data::load`).
    pub max_side: Option<u32>,
    /// Files loaded and run per batch (memory holds at most this many activations at once).
    pub batch: usize,
    pub parallel: Parallel,
    /// Hide the progress bar.
    pub quiet: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            k: 9,
            units: Units::First(8),
            min_gap: None,
            max_side: None,
            batch: 8,
            parallel: Parallel::Inner,
            quiet: true,
        }
    }
}

/// One kept activation.
#[derive(Clone, Debug, PartialEq)]
pub struct Record<const N: usize> {
    pub unit: usize,
    pub value: f32,
    /// Index into [`TopK::files`].
    pub file: usize,
    /// Position in the layer's output.
    pub position: [usize; N],
    /// The unit's input box in that file.
    pub bbox: UnitBox<N>,
}

/// The result of a scan: per unit, its best records, best first.
#[derive(Clone, Debug)]
pub struct TopK<const N: usize> {
    pub layer: String,
    pub files: Vec<PathBuf>,
    /// The layer's receptive field (for the scanned input sizes; equal across files unless "same"
    /// padding with stride meets inputs of different sizes, in which case each record's box is its own).
    pub rf: RF<N>,
    pub units: Vec<usize>,
    /// `records[i]` belongs to `units[i]`, sorted by value, best first (ties: earlier file, then position).
    pub records: Vec<Vec<Record<N>>>,
    /// How the first file was read (images render in their own colours).
    pub source: Source,
    /// The channels every file was read with (the first file's; others adapted grey ↔ RGB).
    pub channels: usize,
}

/// The files named by `spec`: a directory (its `.npy`, `.png`, `.jpg`, `.jpeg` files), a glob
/// pattern, or one file. Sorted, so that file indices are reproducible.
pub fn list_files(spec: &str) -> Result<Vec<PathBuf>> {
    let path = Path::new(spec);
    let readable = |p: &Path| {
        let e = p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        p.is_file() && matches!(e.as_str(), "npy" | "png" | "jpg" | "jpeg")
    };
    let mut files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| readable(p))
            .collect()
    } else if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        glob::glob(spec)
            .map_err(|e| {
                Error::invalid("data", format!("'{spec}' is not a directory, file or valid glob: {e}"))
            })?
            .filter_map(|p| p.ok())
            .filter(|p| readable(p))
            .collect()
    };
    files.sort();
    if files.is_empty() {
        return Err(Error::invalid("data", format!("'{spec}' names no .npy, .png, .jpg or .jpeg file")));
    }
    Ok(files)
}

/// Output channels of layer `idx`: the last convolution's at or before it, else the input's.
pub fn layer_channels<const N: usize>(net: &Network<N>, idx: usize) -> usize {
    net.layers()[..=idx.min(net.layers().len().saturating_sub(1))]
        .iter()
        .rev()
        .find_map(|l| match &l.op {
            Op::Conv(c) => Some(c.out_channels()),
            Op::Bank(cs) => Some(cs.iter().map(|c| c.out_channels()).sum()),
            _ => None,
        })
        .unwrap_or(net.in_channels())
}

/// A candidate ordered so that "greater" is better: higher value, then earlier file, then earlier position.
#[derive(Clone, Debug)]
struct Cand<const N: usize> {
    value: f32,
    file: usize,
    flat: usize,
    position: [usize; N],
    input: [usize; N],
}

impl<const N: usize> Ord for Cand<N> {
    fn cmp(&self, o: &Self) -> Ordering {
        self.value.total_cmp(&o.value).then(o.file.cmp(&self.file)).then(o.flat.cmp(&self.flat))
    }
}
impl<const N: usize> PartialOrd for Cand<N> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<const N: usize> PartialEq for Cand<N> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl<const N: usize> Eq for Cand<N> {}

/// A min-heap of the best `k` candidates: memory stays `O(k)` however long the dataset.
struct Bounded<const N: usize> {
    k: usize,
    heap: BinaryHeap<Reverse<Cand<N>>>,
}

impl<const N: usize> Bounded<N> {
    fn push(&mut self, c: Cand<N>) {
        if self.heap.len() < self.k {
            self.heap.push(Reverse(c));
        } else if self.heap.peek().is_some_and(|w| c > w.0) {
            self.heap.pop();
            self.heap.push(Reverse(c));
        }
    }
    fn into_sorted(self) -> Vec<Cand<N>> {
        // `into_sorted_vec` of `Reverse` is ascending in `Reverse`, i.e. best first.
        self.heap.into_sorted_vec().into_iter().map(|r| r.0).collect()
    }
}

/// Scan `files` for the top-k activations of `opts.units` at `layer`; inputs go to the network as read.
pub fn scan<const N: usize>(
    net: &Network<N>,
    layer: &str,
    files: &[PathBuf],
    opts: &ScanOptions,
) -> Result<TopK<N>> {
    scan_with(net, layer, files, opts, |x| Ok(x.clone()))
}

/// As [`scan`], with `prepare` applied to each input before the network (e.g. a pretrained
/// network's mean subtraction); patches are later cropped from the input as read.
pub fn scan_with<const N: usize>(
    net: &Network<N>,
    layer: &str,
    files: &[PathBuf],
    opts: &ScanOptions,
    prepare: impl Fn(&Tensor<N>) -> Result<Tensor<N>> + Sync,
) -> Result<TopK<N>> {
    if opts.k == 0 {
        return Err(Error::invalid("top", "k must be at least 1"));
    }
    if files.is_empty() {
        return Err(Error::invalid("data", "no files to scan"));
    }
    let idx = net.index_of(layer)?;
    let units = opts.units.resolve(layer_channels(net, idx))?;
    let (first, source) = data::load::<N>(&files[0], opts.max_side)?;
    let first_input = first.spatial();
    let rf = receptive_field_at(net, layer, first_input)?;
    drop(first);
    let gap = opts
        .min_gap
        .unwrap_or_else(|| (0..N).map(|d| rf.size[d].div_ceil(2 * rf.stride[d])).max().unwrap_or(1));

    // Per file: load, run, and pick each unit's best `k` well-separated positions.
    let per_file = |fi: usize| -> Result<Vec<Vec<Cand<N>>>> {
        let path = &files[fi];
        let x = load_as(path, opts.max_side, net.in_channels(), &files[0])?;
        let input = x.spatial();
        let fwd = net.forward(&prepare(&x)?, &[layer])?;
        let a = fwd.get(idx).ok_or_else(|| Error::invalid("layer", format!("'{layer}' was not kept")))?;
        let out = a.spatial();
        Ok(units
            .iter()
            .map(|&u| {
                let plane = a.channel(0, u);
                let mut order: Vec<usize> = (0..plane.len()).filter(|&i| !plane[i].is_nan()).collect();
                order.sort_unstable_by(|&i, &j| plane[j].total_cmp(&plane[i]).then(i.cmp(&j)));
                let mut kept: Vec<Cand<N>> = Vec::with_capacity(opts.k);
                for i in order {
                    if kept.len() == opts.k {
                        break;
                    }
                    let p = unravel(i, &out);
                    let far = |c: &Cand<N>| (0..N).any(|d| c.position[d].abs_diff(p[d]) >= gap.max(1));
                    if kept.iter().all(far) {
                        kept.push(Cand { value: plane[i], file: fi, flat: i, position: p, input });
                    }
                }
                kept
            })
            .collect())
    };

    let bar = if opts.quiet { ProgressBar::hidden() } else { ProgressBar::new(files.len() as u64) };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} files [{elapsed_precise}<{eta_precise}]")
            .expect("a valid template"),
    );
    let mut heaps: Vec<Bounded<N>> =
        units.iter().map(|_| Bounded { k: opts.k, heap: BinaryHeap::with_capacity(opts.k + 1) }).collect();
    let batch = match opts.parallel {
        Parallel::Inner => 1,
        Parallel::Files => opts.batch.max(1),
    };
    for chunk in (0..files.len()).collect::<Vec<_>>().chunks(batch) {
        let results: Vec<Result<Vec<Vec<Cand<N>>>>> = match opts.parallel {
            Parallel::Files => chunk.par_iter().map(|&fi| per_file(fi)).collect(),
            Parallel::Inner => chunk.iter().map(|&fi| per_file(fi)).collect(),
        };
        // Merged in file order, so the result does not depend on scheduling.
        for r in results {
            for (h, cands) in heaps.iter_mut().zip(r?) {
                cands.into_iter().for_each(|c| h.push(c));
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();

    let records = units
        .iter()
        .zip(heaps)
        .map(|(&unit, h)| {
            h.into_sorted()
                .into_iter()
                .map(|c| {
                    // Each file's own field: "same" padding with stride may shift it with the input size.
                    let frf = if c.input == first_input {
                        rf
                    } else {
                        receptive_field_at(net, layer, c.input).unwrap_or(rf)
                    };
                    Record {
                        unit,
                        value: c.value,
                        file: c.file,
                        position: c.position,
                        bbox: frf.unit_box(c.position, c.input),
                    }
                })
                .collect()
        })
        .collect();
    Ok(TopK {
        layer: layer.to_string(),
        files: files.to_vec(),
        rf,
        units,
        records,
        source,
        channels: net.in_channels(),
    })
}

/// The box `b` of `x` (batch item 0) as a `1 × C × size` tensor, zero where it leaves `x`.
pub fn crop<const N: usize>(x: &Tensor<N>, b: &Bounds<N>) -> Tensor<N> {
    let size = b.size();
    let s = x.spatial();
    let c = x.channels();
    let mut out = Tensor::zeros(1, c, size);
    let n: usize = size.iter().product();
    for ch in 0..c {
        let src = x.channel(0, ch);
        let dst = out.channel_mut(0, ch);
        for (f, v) in dst.iter_mut().enumerate().take(n) {
            let q = unravel(f, &size);
            let mut inside = true;
            let p: [usize; N] = std::array::from_fn(|d| {
                let g = b.lo[d] + q[d] as isize;
                inside &= g >= 0 && (g as usize) < s[d];
                g.max(0) as usize
            });
            if inside {
                *v = src[ravel(&p, &s)];
            }
        }
    }
    out
}

/// Every record's patch (its unclipped box, zero-padded), `patches[i][r]` for unit `units[i]`,
/// rank `r`. Each file is read once, and only files that hold a record are read.
pub fn patches<const N: usize>(top: &TopK<N>, max_side: Option<u32>) -> Result<Vec<Vec<Tensor<N>>>> {
    let mut needed: Vec<usize> = top.records.iter().flatten().map(|r| r.file).collect();
    needed.sort_unstable();
    needed.dedup();
    let crops: Vec<Vec<(usize, usize, Tensor<N>)>> = needed
        .par_iter()
        .map(|&fi| {
            let x = load_as(&top.files[fi], max_side, top.channels, &top.files[0])?;
            Ok(top
                .records
                .iter()
                .enumerate()
                .flat_map(|(i, rs)| rs.iter().enumerate().map(move |(r, rec)| (i, r, rec)))
                .filter(|(_, _, rec)| rec.file == fi)
                .map(|(i, r, rec)| (i, r, crop(&x, &rec.bbox.unclipped)))
                .collect())
        })
        .collect::<Result<_>>()?;
    let mut out: Vec<Vec<Option<Tensor<N>>>> = top.records.iter().map(|rs| vec![None; rs.len()]).collect();
    for (i, r, t) in crops.into_iter().flatten() {
        out[i][r] = Some(t);
    }
    Ok(out
        .into_iter()
        .map(|v| v.into_iter().map(|t| t.expect("every record is cropped")).collect())
        .collect())
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")
}

/// Write the records as CSV: `unit,rank,value,file,position,box_lo,box_hi,clipped_lo,clipped_hi`,
/// coordinates space-separated per axis, boxes half-open in input coordinates.
pub fn write_csv<const N: usize>(path: &Path, top: &TopK<N>) -> Result<()> {
    crate::io::atomic_write(path, |w| {
        writeln!(w, "unit,rank,value,file,position,box_lo,box_hi,clipped_lo,clipped_hi")?;
        for rs in &top.records {
            for (rank, r) in rs.iter().enumerate() {
                let file = top.files[r.file].display().to_string();
                let file = if file.contains([',', '"', '\n']) {
                    format!("\"{}\"", file.replace('"', "\"\""))
                } else {
                    file
                };
                writeln!(
                    w,
                    "{},{},{:.6e},{},{},{},{},{},{}",
                    r.unit,
                    rank,
                    r.value,
                    file,
                    join(&r.position),
                    join(&r.bbox.unclipped.lo),
                    join(&r.bbox.unclipped.hi),
                    join(&r.bbox.clipped.lo),
                    join(&r.bbox.clipped.hi)
                )?;
            }
        }
        Ok(())
    })
}

/// File `path` with `channels` channels (the first file's): grey and colour inputs mix in one
/// dataset by [`crate::modality::color::adapt_channels`].
fn load_as<const N: usize>(
    path: &Path,
    max_side: Option<u32>,
    channels: usize,
    first: &Path,
) -> Result<Tensor<N>> {
    let (x, _) = data::load::<N>(path, max_side)?;
    crate::modality::color::adapt_channels(&x, channels).map(|(x, _)| x).map_err(|_| {
        Error::format(
            path,
            format!(
                "has {} channels; the network (built for {}) takes {channels}",
                x.channels(),
                first.display()
            ),
        )
    })
}
