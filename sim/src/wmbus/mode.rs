//! The radio modes of EN 13757-4 the simulated meters send in (§6 mode S, §7 mode T, §9 mode C,
//! as summarised in `wmbus.md` §1): frequency, chip rate and coding, hence the air time of a
//! frame, which decides whether two transmissions collide.
//!
//! | mode | frequency | chip rate | coding | chips per byte | preamble + sync (chips) | formats |
//! |---|---|---|---|---|---|---|
//! | T1 | 868.95 MHz | 100 kcps | 3-out-of-6 | 12 | 48 | A |
//! | C1 | 868.95 MHz | 100 kcps | NRZ | 8 | 64 | A, B |
//! | S1 | 868.30 MHz | 32.768 kcps | Manchester | 16 | 576 (long preamble) | A |
//!
//! Preamble and synchronisation word: T1 19 chip pairs + 10 chips, C1 16 chip pairs + 32 chips
//! (`54 CD`/`54 3D` included), S1 279 chip pairs + 18 chips: the minimum lengths as commonly quoted
//! from EN 13757-4 (the standard's text was not at hand); they matter only for collisions.

use crate::clock::NS_PER_S;

use super::link::FrameFormat;

/// A radio mode a meter sends in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RadioMode {
    /// Frequent transmit, 3-out-of-6 coded, format A.
    T1,
    /// Compact, NRZ, format A or B.
    C1,
    /// Stationary, Manchester, long preamble, format A.
    S1,
}

impl RadioMode {
    /// `T1`, `C1`, `S1` (as rtl_wmbus prints it).
    pub fn name(self) -> &'static str {
        match self {
            RadioMode::T1 => "T1",
            RadioMode::C1 => "C1",
            RadioMode::S1 => "S1",
        }
    }

    /// Centre frequency, kHz.
    pub fn frequency_khz(self) -> u32 {
        match self {
            RadioMode::T1 | RadioMode::C1 => 868_950,
            RadioMode::S1 => 868_300,
        }
    }

    /// Chips per second.
    pub fn chip_rate(self) -> u64 {
        match self {
            RadioMode::T1 | RadioMode::C1 => 100_000,
            RadioMode::S1 => 32_768,
        }
    }

    fn chips_per_byte(self) -> u64 {
        match self {
            RadioMode::T1 => 12,
            RadioMode::C1 => 8,
            RadioMode::S1 => 16,
        }
    }

    fn overhead_chips(self) -> u64 {
        match self {
            RadioMode::T1 => 48,
            RadioMode::C1 => 64,
            RadioMode::S1 => 576,
        }
    }

    /// Whether a meter in this mode may send frame format `format`.
    pub fn allows(self, format: FrameFormat) -> bool {
        format == FrameFormat::A || self == RadioMode::C1
    }

    /// Air time of a frame of `bytes` bytes (CRCs included), ns.
    pub fn air_time_ns(self, bytes: usize) -> u64 {
        let chips = self.overhead_chips() + bytes as u64 * self.chips_per_byte();
        (chips * NS_PER_S).div_ceil(self.chip_rate())
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_air_times() {
        // A 29-byte T1 frame (the iPerl example with CRCs): (48 + 29·12) chips at 100 kcps.
        assert_eq!(RadioMode::T1.air_time_ns(29), 3_960_000);
        assert_eq!(RadioMode::C1.air_time_ns(195), 16_240_000);
        assert!(RadioMode::S1.air_time_ns(29) > RadioMode::T1.air_time_ns(29) * 3);
        assert!(RadioMode::C1.allows(FrameFormat::B));
        assert!(!RadioMode::T1.allows(FrameFormat::B));
        assert_eq!(RadioMode::T1.frequency_khz(), RadioMode::C1.frequency_khz());
    }
}
