//! What a capture looks like without decoding it: where frames of the known protocols seem to
//! start and how long they are, byte statistics, and the byte-pattern fingerprint that
//! [`super::reference`] compares with the line model's output.

use serde::Serialize;

/// Frame starts of one kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FrameStarts {
    /// What starts there (`DSMR "/XXX5"`, `M-Bus long frame 68 L L 68`, …).
    pub kind: &'static str,
    /// How many.
    pub count: usize,
    /// The first few offsets.
    pub offsets: Vec<usize>,
    /// Distances between consecutive starts (the first few): frame lengths if back to back.
    pub spacing: Vec<usize>,
}

/// What was seen in a capture.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Seen {
    /// Bytes in the capture.
    pub bytes: usize,
    /// Different byte values.
    pub distinct: usize,
    /// Shannon entropy, bits per byte (8 for noise or ciphertext, 4–5 for text).
    pub entropy: f64,
    /// Share of printable ASCII, CR and LF.
    pub printable: f64,
    /// Share of bytes with bit 7 set.
    pub high_bit: f64,
    /// Share of `00` bytes (breaks read with `INPCK` off) and `FF` bytes.
    pub zero: f64,
    /// Share of `FF` bytes.
    pub ff: f64,
    /// The most common bytes, with their counts.
    pub most_common: Vec<(String, usize)>,
    /// Frame starts of the known protocols.
    pub frame_starts: Vec<FrameStarts>,
}

const KINDS: [&str; 7] = [
    "DSMR/IEC identification /XXX",
    "M-Bus long frame 68 L L 68",
    "HDLC frame 7E A_",
    "general-glo-ciphering DB 08",
    "M-Bus short frame 10 C A CS 16",
    "IEC request /?…!",
    "IEC data block CR LF STX",
];

fn start_kind(d: &[u8]) -> Option<usize> {
    match *d {
        [b'/', b'?', ..] => Some(5),
        [b'/', a, b, c, ..] if [a, b, c].iter().all(u8::is_ascii_alphabetic) => Some(0),
        [0x68, l1, l2, 0x68, ..] if l1 == l2 => Some(1),
        [0x7E, f, ..] if f & 0xF0 == 0xA0 => Some(2),
        [0xDB, 0x08, ..] => Some(3),
        [0x10, c, a, cs, 0x16, ..] if c.wrapping_add(a) == cs => Some(4),
        [b'\r', b'\n', 0x02, ..] => Some(6),
        _ => None,
    }
}

impl Seen {
    /// Looks at `bytes`.
    pub fn of(bytes: &[u8]) -> Seen {
        let mut counts = [0usize; 256];
        for &b in bytes {
            counts[b as usize] += 1;
        }
        let n = bytes.len().max(1) as f64;
        let entropy = counts
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f64 / n;
                -p * p.log2()
            })
            .sum::<f64>();
        let printable = bytes
            .iter()
            .filter(|&&b| (0x20..0x7F).contains(&b) || b == b'\r' || b == b'\n')
            .count() as f64
            / n;
        let mut order: Vec<usize> = (0..256).filter(|&i| counts[i] > 0).collect();
        order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        let mut starts: Vec<Vec<usize>> = vec![Vec::new(); KINDS.len()];
        for i in 0..bytes.len() {
            if let Some(k) = start_kind(&bytes[i..]) {
                starts[k].push(i);
            }
        }
        let frame_starts = starts
            .into_iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(k, s)| FrameStarts {
                kind: KINDS[k],
                count: s.len(),
                offsets: s.iter().take(8).copied().collect(),
                spacing: s.windows(2).take(8).map(|w| w[1] - w[0]).collect(),
            })
            .collect();
        Seen {
            bytes: bytes.len(),
            distinct: order.len(),
            entropy: (entropy * 100.0).round() / 100.0,
            printable: share(printable),
            high_bit: share(bytes.iter().filter(|&&b| b & 0x80 != 0).count() as f64 / n),
            zero: share(counts[0] as f64 / n),
            ff: share(counts[0xFF] as f64 / n),
            most_common: order
                .iter()
                .take(5)
                .map(|&b| (format!("{b:02X}"), counts[b]))
                .collect(),
            frame_starts,
        }
    }

    /// One line for a person.
    pub fn describe(&self) -> String {
        let starts = if self.frame_starts.is_empty() {
            "no frame start of a known protocol".to_string()
        } else {
            self.frame_starts
                .iter()
                .map(|f| {
                    format!(
                        "{} × {} (first at {:?}, spacing {:?})",
                        f.count,
                        f.kind,
                        f.offsets.first().unwrap_or(&0),
                        f.spacing
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let common = self
            .most_common
            .iter()
            .map(|(b, c)| format!("{b}×{c}"))
            .collect::<Vec<_>>()
            .join(" ");
        format!(
            "{} bytes, {} distinct, entropy {:.2} bit/byte, {:.0}% printable, {:.0}% with bit 7 set, {:.0}% 00, {:.0}% FF; most common {}; {}",
            self.bytes,
            self.distinct,
            self.entropy,
            self.printable * 100.0,
            self.high_bit * 100.0,
            self.zero * 100.0,
            self.ff * 100.0,
            common,
            starts
        )
    }
}

fn share(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Bytes looked at for a fingerprint: enough for a stable distribution, bounded for speed.
pub const FINGERPRINT_BYTES: usize = 256 * 1024;

/// The byte-pattern fingerprint of a capture: the distribution of single bytes and of pairs
/// of consecutive bytes (pairs reduced to their top 6 bits each, 4096 cells), both normalised.
#[derive(Clone, Debug, PartialEq)]
pub struct Fingerprint {
    unigram: Vec<f64>,
    bigram: Vec<f64>,
}

impl Fingerprint {
    /// The fingerprint of `bytes` (the first 256 KiB).
    pub fn of(bytes: &[u8]) -> Fingerprint {
        let bytes = &bytes[..bytes.len().min(FINGERPRINT_BYTES)];
        let mut unigram = vec![0.0; 256];
        let mut bigram = vec![0.0; 4096];
        for &b in bytes {
            unigram[b as usize] += 1.0;
        }
        for w in bytes.windows(2) {
            bigram[(usize::from(w[0] >> 2) << 6) | usize::from(w[1] >> 2)] += 1.0;
        }
        normalise(&mut unigram);
        normalise(&mut bigram);
        Fingerprint { unigram, bigram }
    }

    /// Similarity in [0, 1]: the mean of the Bhattacharyya coefficients of the two
    /// distributions (1 for identical distributions, 0 for disjoint ones).
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        let bc = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x * y).sqrt()).sum::<f64>();
        0.5 * bc(&self.unigram, &other.unigram) + 0.5 * bc(&self.bigram, &other.bigram)
    }
}

fn normalise(v: &mut [f64]) {
    let sum: f64 = v.iter().sum();
    if sum > 0.0 {
        v.iter_mut().for_each(|x| *x /= sum);
    }
}
