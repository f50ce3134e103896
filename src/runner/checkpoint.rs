//! Checkpoints: the pyramid level, iteration, current point, optimiser state and loss log, written atomically.
//!
//! The file starts with a magic string and the fingerprint of the settings and inputs that wrote
//! it, and ends with a CRC-32 of everything before it: a truncated, corrupt, empty or foreign
//! file is refused on `--resume` with what is wrong and how to start over, never resumed.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::atomic_write;
use crate::io::csv::LossRow;
use crate::tensor::Tensor;

const MAGIC: &[u8; 8] = b"NDSCKPT2";

/// How to start over, for every refusal.
const START_OVER: &str = "remove it to start the run over";

/// Where a run stands: everything needed to continue it exactly.
#[derive(Clone, Debug)]
pub struct Checkpoint<const N: usize> {
    /// The level to run next (or continue).
    pub level: usize,
    /// Iterations already done at that level.
    pub iter: usize,
    /// The current point; `None` before the first level starts.
    pub x: Option<Tensor<N>>,
    /// The optimiser's state bytes (`OptimState::to_bytes`), or `None` at a level's start.
    pub optimizer: Option<Vec<u8>>,
    /// Every iteration logged so far.
    pub log: Vec<LossRow>,
}

impl<const N: usize> Checkpoint<N> {
    /// A run that has not started.
    pub fn fresh() -> Self {
        Checkpoint { level: 0, iter: 0, x: None, optimizer: None, log: Vec::new() }
    }

    /// Write a checkpoint atomically (a crash mid-write leaves the previous one intact).
    pub fn save(
        path: &Path,
        fingerprint: u64,
        level: usize,
        iter: usize,
        x: &Tensor<N>,
        optimizer: Option<&[u8]>,
        log: &[LossRow],
    ) -> Result<()> {
        let mut b = Vec::new();
        b.extend_from_slice(MAGIC);
        for v in [fingerprint, N as u64, level as u64, iter as u64] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for d in x.dims() {
            b.extend_from_slice(&(d as u64).to_le_bytes());
        }
        x.data().iter().for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
        let opt = optimizer.unwrap_or(&[]);
        b.extend_from_slice(&(opt.len() as u64).to_le_bytes());
        b.extend_from_slice(opt);
        b.extend_from_slice(&(log.len() as u64).to_le_bytes());
        for r in log {
            b.extend_from_slice(&(r.iteration as u64).to_le_bytes());
            b.extend_from_slice(&(r.style.len() as u64).to_le_bytes());
            for v in [r.total, r.content, r.tv, r.seconds].iter().chain(&r.style) {
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        atomic_write(path, |w| w.write_all(&b))
    }

    /// Read a checkpoint written by the run with this `fingerprint`.
    pub fn load(path: &Path, fingerprint: u64) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad =
            |what: &str| Error::format(path, format!("is not a usable checkpoint: {what}; {START_OVER}"));
        if bytes.is_empty() {
            return Err(bad("the file is empty"));
        }
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("it was not written by this version of ndstyle (wrong magic bytes)"));
        }
        let Some(body_len) = bytes.len().checked_sub(4).filter(|&n| n >= MAGIC.len()) else {
            return Err(bad("truncated"));
        };
        let (body, crc) = bytes.split_at(body_len);
        if crc32fast::hash(body) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
            return Err(bad("truncated or corrupt (its checksum does not match)"));
        }
        let mut r = Reader { b: body, at: MAGIC.len() };
        let mut u = || r.u64().ok_or_else(|| bad("truncated"));
        let (fp, rank, level, iter) = (u()?, u()?, u()? as usize, u()? as usize);
        if fp != fingerprint {
            return Err(Error::format(
                path,
                format!("was written by a run with other settings or inputs; {START_OVER}, or use another output name"),
            ));
        }
        if rank != N as u64 {
            return Err(bad("written for another rank"));
        }
        let mut u = || r.u64().map(|v| v as usize).ok_or_else(|| bad("truncated"));
        let (batch, channels) = (u()?, u()?);
        let mut spatial = [0usize; N];
        for s in spatial.iter_mut() {
            *s = u()?;
        }
        let len = spatial
            .iter()
            .try_fold(batch.checked_mul(channels), |n, &s| Some(n.and_then(|n| n.checked_mul(s))))
            .flatten()
            .filter(|&n| n.checked_mul(4).is_some_and(|b| b <= r.b.len()))
            .ok_or_else(|| bad("its shape does not fit the file"))?;
        let data = (0..len).map(|_| r.f32()).collect::<Option<Vec<_>>>().ok_or_else(|| bad("truncated"))?;
        let x = Tensor::from_vec(batch, channels, spatial, data)?;
        let n = r.u64().ok_or_else(|| bad("truncated"))? as usize;
        let opt = r.take(n).ok_or_else(|| bad("truncated"))?.to_vec();
        let rows = r.u64().ok_or_else(|| bad("truncated"))? as usize;
        let mut log = Vec::with_capacity(rows.min(1 << 20));
        for _ in 0..rows {
            let iteration = r.u64().ok_or_else(|| bad("truncated"))? as usize;
            let styles = r.u64().ok_or_else(|| bad("truncated"))? as usize;
            let mut f = || r.f64().ok_or_else(|| bad("truncated"));
            let (total, content, tv, seconds) = (f()?, f()?, f()?, f()?);
            let style = (0..styles).map(|_| f()).collect::<Result<Vec<_>>>()?;
            log.push(LossRow { iteration, total, content, style, tv, seconds });
        }
        if r.at != body.len() {
            return Err(bad("trailing bytes"));
        }
        Ok(Checkpoint { level, iter, x: Some(x), optimizer: (!opt.is_empty()).then_some(opt), log })
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
    }
    fn f64(&mut self) -> Option<f64> {
        self.take(8).map(|s| f64::from_le_bytes(s.try_into().expect("8 bytes")))
    }
    fn f32(&mut self) -> Option<f32> {
        self.take(4).map(|s| f32::from_le_bytes(s.try_into().expect("4 bytes")))
    }
}
