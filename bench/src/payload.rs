//! Real audio payloads for the load generator: one second of speech-like
//! sound (a 2-formant vowel with pitch jitter and noise, amplitude-modulated
//! at a syllable rate) encoded once with Tandem's G.711 μ-law and G.722
//! encoders, so each 20 ms packet costs a copy.

use tandem_dsp::{g711, g722};

/// Frames per table: one second of 20 ms frames.
pub const FRAMES: usize = 50;
/// Octets of a 20 ms PCMU or G.722 (64 kbit/s) frame.
pub const FRAME_OCTETS: usize = 160;

/// A second of encoded audio, 50 frames of 160 octets.
pub struct FrameTable {
    frames: Vec<[u8; FRAME_OCTETS]>,
}

impl FrameTable {
    /// Frame `i` (wrapping).
    pub fn frame(&self, i: usize) -> &[u8; FRAME_OCTETS] {
        &self.frames[i % FRAMES]
    }

    /// PCMU frames of the speech-like signal at 8 kHz.
    pub fn pcmu() -> Self {
        let pcm = speech_like(8000, FRAMES * 160);
        let frames = pcm
            .chunks(160)
            .map(|c| {
                let mut f = [0u8; FRAME_OCTETS];
                g711::encode_ulaw(c, &mut f);
                f
            })
            .collect();
        Self { frames }
    }

    /// G.722 frames of the speech-like signal at 16 kHz (320 samples give
    /// 160 octets).
    pub fn g722() -> Self {
        let pcm = speech_like(16_000, FRAMES * 320);
        let mut enc = g722::Encoder::new();
        let frames = pcm
            .chunks(320)
            .map(|c| {
                let mut f = [0u8; FRAME_OCTETS];
                let n = enc.encode(c, &mut f);
                debug_assert_eq!(n, FRAME_OCTETS);
                f
            })
            .collect();
        Self { frames }
    }
}

/// Deterministic speech-like audio around -20 dBm0.
fn speech_like(rate: u32, samples: usize) -> Vec<i16> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f64 / (1u64 << 24) as f64 - 0.5
    };
    let rate = f64::from(rate);
    let mut phase = 0.0f64;
    (0..samples)
        .map(|n| {
            let t = n as f64 / rate;
            let pitch = 120.0 + 15.0 * (t * 3.1).sin();
            phase += pitch / rate;
            let glottal = (phase.fract() - 0.5) * 2.0;
            let f1 = (2.0 * std::f64::consts::PI * 700.0 * t).sin();
            let f2 = (2.0 * std::f64::consts::PI * 1200.0 * t).sin();
            let envelope = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * 4.0 * t).sin().abs();
            let v = envelope * (0.5 * glottal * f1 + 0.3 * glottal * f2) + 0.05 * noise();
            (v * 3000.0) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_hold_a_second_of_full_frames() {
        for t in [FrameTable::pcmu(), FrameTable::g722()] {
            assert_eq!(t.frames.len(), FRAMES);
            // Not silence: many distinct code words.
            let mut seen = [false; 256];
            t.frame(7).iter().for_each(|b| seen[*b as usize] = true);
            assert!(seen.iter().filter(|s| **s).count() > 20);
        }
    }
}
