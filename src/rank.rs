//! The one bridge from a rank known at run time to code generic over `const N`: [`AnyTensor`] and [`with_rank!`].
//!
//! Files are read before anyone knows their rank, but every engine is written once over
//! `Tensor<N>`. Readers return an [`AnyTensor`]; callers turn a runtime rank into a generic call
//! with [`with_rank!`], which is the only `match` on 1, 2, 3 in the crate (ranks outside 1–3 are
//! an error, never a fallback to 3).

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The spatial ranks this build runs.
pub const RANKS: [usize; 3] = [1, 2, 3];

/// A tensor whose rank is known at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyTensor {
    R1(Tensor<1>),
    R2(Tensor<2>),
    R3(Tensor<3>),
}

impl AnyTensor {
    /// Wrap a tensor of any supported rank.
    pub fn new<const N: usize>(t: Tensor<N>) -> Result<AnyTensor> {
        let (b, c, s) = (t.batch(), t.channels(), t.spatial());
        Ok(match N {
            1 => AnyTensor::R1(t.reshape(b, c, [s[0]])?),
            2 => AnyTensor::R2(t.reshape(b, c, [s[0], s[1]])?),
            3 => AnyTensor::R3(t.reshape(b, c, [s[0], s[1], s[2]])?),
            _ => return Err(unsupported(N)),
        })
    }

    /// The spatial rank.
    pub fn rank(&self) -> usize {
        match self {
            AnyTensor::R1(_) => 1,
            AnyTensor::R2(_) => 2,
            AnyTensor::R3(_) => 3,
        }
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        match self {
            AnyTensor::R1(t) => t.channels(),
            AnyTensor::R2(t) => t.channels(),
            AnyTensor::R3(t) => t.channels(),
        }
    }

    /// `[batch, channels, spatial…]`.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            AnyTensor::R1(t) => t.dims(),
            AnyTensor::R2(t) => t.dims(),
            AnyTensor::R3(t) => t.dims(),
        }
    }

    /// The values, batch-major then channel-major.
    pub fn data(&self) -> &[f32] {
        match self {
            AnyTensor::R1(t) => t.data(),
            AnyTensor::R2(t) => t.data(),
            AnyTensor::R3(t) => t.data(),
        }
    }

    /// The tensor as rank `N`, or an error naming `what` (usually the file) when its rank differs.
    pub fn into_rank<const N: usize>(self, what: &str) -> Result<Tensor<N>> {
        let dims = self.dims();
        let rank = self.rank();
        if rank != N {
            return Err(Error::invalid("rank", format!("{what} holds rank-{rank} data, not rank {N}")));
        }
        let spatial: [usize; N] = dims[2..].try_into().map_err(|_| unsupported(N))?;
        let data = match self {
            AnyTensor::R1(t) => t.into_vec(),
            AnyTensor::R2(t) => t.into_vec(),
            AnyTensor::R3(t) => t.into_vec(),
        };
        Tensor::from_vec(dims[0], dims[1], spatial, data)
    }
}

/// The error for a rank this build does not run.
pub fn unsupported(rank: usize) -> Error {
    Error::invalid("rank", format!("{rank} (must be 1, 2 or 3)"))
}

/// Evaluate `$body` with the const `$n` bound to the runtime rank `$rank` (1, 2 or 3); any other
/// rank evaluates to `Err(rank::unsupported(..).into())`. `$body` must evaluate to a `Result`.
///
/// ```
/// use ndstyle::{with_rank, Tensor};
/// fn channels<const N: usize>(t: &Tensor<N>) -> ndstyle::Result<usize> { Ok(t.channels()) }
/// let c = with_rank!(2, N => channels(&Tensor::<N>::zeros(1, 3, [4; N])));
/// assert_eq!(c.unwrap(), 3);
/// ```
#[macro_export]
macro_rules! with_rank {
    ($rank:expr, $n:ident => $body:expr) => {
        match $rank {
            1 => {
                const $n: usize = 1;
                $body
            }
            2 => {
                const $n: usize = 2;
                $body
            }
            3 => {
                const $n: usize = 3;
                $body
            }
            r => Err($crate::rank::unsupported(r).into()),
        }
    };
}
