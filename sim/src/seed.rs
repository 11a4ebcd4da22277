//! Seeds and the random generator behind every simulated choice.
//!
//! Every random choice in meterlab (a fault, a house's power profile) comes from a [`SimRng`]
//! derived from the scenario's seed, so that the same seed gives the same bytes, in this version
//! and the next. To make that last promise hold we use a named, specified stream cipher
//! (ChaCha8, `rand_chacha`) and derive everything from its raw `u64` output with our own integer
//! arithmetic: no `StdRng` (whose algorithm may change), no `rand` distributions (whose sampling
//! code may change).

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A recorded seed. Sub-seeds for independent parts (each fault layer, each meter) are derived
/// by name, so adding a fault does not change the random choices of another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Seed(pub u64);

impl Seed {
    /// The seed of a named part: `Seed(42).derive("line/meter->reader")`.
    pub fn derive(self, label: &str) -> Seed {
        // FNV-1a over the label, then SplitMix64 finalisation of seed ^ hash: stable and simple.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in label.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Seed(splitmix64(self.0 ^ h))
    }

    /// The seed of the `index`-th part of a kind (`derive("fault").index(2)`).
    pub fn index(self, index: u64) -> Seed {
        Seed(splitmix64(
            self.0
                .wrapping_add(index.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        ))
    }

    /// A generator for this seed.
    pub fn rng(self) -> SimRng {
        // Our own key expansion (SplitMix64), not `seed_from_u64`, whose expansion is rand_core's
        // implementation detail.
        let mut key = [0u8; 32];
        let mut state = self.0;
        for chunk in key.chunks_exact_mut(8) {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            chunk.copy_from_slice(&splitmix64(state).to_le_bytes());
        }
        SimRng(ChaCha8Rng::from_seed(key))
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The random generator of the simulator: ChaCha8 with version-stable sampling.
#[derive(Clone, Debug)]
pub struct SimRng(ChaCha8Rng);

impl SimRng {
    /// The next raw 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform integer in `0..n` (0 when `n` is 0). Multiply-shift: exact enough for simulation
    /// (bias below 2^-64 · n) and fixed forever.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform integer in `lo..=hi`.
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        self.unit() < p
    }

    /// A uniform float in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }

    /// How many trials until the first success of probability `p` (geometric, ≥ 1); lets a
    /// bit-error rate of 1e-6 skip ahead instead of drawing once per bit. `u64::MAX` if `p` ≤ 0.
    pub fn geometric(&mut self, p: f64) -> u64 {
        if p <= 0.0 {
            return u64::MAX;
        }
        if p >= 1.0 {
            return 1;
        }
        // Inverse transform; 1 - unit() is in (0, 1] so the log is finite.
        let u = 1.0 - self.unit();
        let n = (u.ln() / (1.0 - p).ln()).floor();
        if n >= (u64::MAX - 1) as f64 {
            u64::MAX
        } else {
            n as u64 + 1
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Seed(42).derive("line").rng();
        let mut b = Seed(42).derive("line").rng();
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Seed(42).derive("line"), Seed(42).derive("meter"));
        assert_ne!(Seed(42).index(0), Seed(42).index(1));
    }

    /// Pins the generator: if this fails, every recorded seed would give different bytes.
    #[test]
    fn stream_is_stable_across_versions() {
        let mut r = Seed(42).rng();
        let first: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(first, STABLE_42.to_vec());
        assert_eq!(Seed(42).derive("line").0, STABLE_DERIVED);
    }

    const STABLE_42: [u64; 3] = [
        15545712258050882650,
        3018890721635177751,
        8229831833726682222,
    ];
    const STABLE_DERIVED: u64 = 11201409966101135755;

    #[test]
    fn sampling_bounds() {
        let mut r = Seed(7).rng();
        for _ in 0..10_000 {
            assert!(r.below(10) < 10);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            let x = r.range_inclusive(3, 5);
            assert!((3..=5).contains(&x));
            assert!(r.geometric(0.5) >= 1);
        }
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
        let hits = (0..100_000).filter(|_| r.chance(0.1)).count();
        assert!((9_000..11_000).contains(&hits), "{hits}");
    }
}
