//! The unit of decoded audio inside the engine: 20 ms of 16-bit samples.
//!
//! Every decoded chain element (jitter buffer, transcoder, DTMF detector and
//! generator, conference mixer, prompt player, recorder) exchanges
//! [`AudioFrame`]s. Packets of other durations (10, 30, 40 ms ptime) are
//! re-framed at the codec boundary. The frame is a fixed array so that it
//! lives on the stack or inline in a leg, never on the heap per packet.

use tandem_dsp::resample::Rate;

/// Duration of one frame.
pub const FRAME_MS: usize = 20;

/// Samples in the largest frame (20 ms at 48 kHz).
pub const MAX_FRAME_SAMPLES: usize = 960;

/// Samples in a 20 ms frame at `rate`.
pub const fn frame_len(rate: Rate) -> usize {
    match rate {
        Rate::Hz8000 => 160,
        Rate::Hz16000 => 320,
        Rate::Hz48000 => 960,
    }
}

/// 20 ms of mono 16-bit audio at one of the engine's rates.
#[derive(Clone, PartialEq, Eq)]
pub struct AudioFrame {
    rate: Rate,
    samples: [i16; MAX_FRAME_SAMPLES],
}

impl AudioFrame {
    /// A silent frame.
    pub const fn silence(rate: Rate) -> Self {
        Self {
            rate,
            samples: [0; MAX_FRAME_SAMPLES],
        }
    }

    /// A frame holding `samples`, which must be exactly one frame long at
    /// `rate` ([`frame_len`]).
    ///
    /// # Panics
    /// If the length is wrong: a caller bug.
    pub fn from_samples(rate: Rate, samples: &[i16]) -> Self {
        let mut f = Self::silence(rate);
        f.samples_mut().copy_from_slice(samples);
        f
    }

    /// The sample rate.
    pub const fn rate(&self) -> Rate {
        self.rate
    }

    /// The frame's samples ([`frame_len`] of them).
    pub fn samples(&self) -> &[i16] {
        &self.samples[..frame_len(self.rate)]
    }

    /// The frame's samples, writable.
    pub fn samples_mut(&mut self) -> &mut [i16] {
        let n = frame_len(self.rate);
        &mut self.samples[..n]
    }

    /// Mean power in dBov (0 dBov = a full-scale square wave); silence is
    /// −96 dBov.
    pub fn level_dbov(&self) -> f32 {
        let s = self.samples();
        let energy: f64 = s.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        let mean = energy / s.len() as f64 / (32768.0 * 32768.0);
        if mean <= 1e-10 {
            -96.0
        } else {
            (10.0 * mean.log10()) as f32
        }
    }
}

impl core::fmt::Debug for AudioFrame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AudioFrame")
            .field("rate", &self.rate.hz())
            .field("level_dbov", &self.level_dbov())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lengths_are_20_ms() {
        assert_eq!(AudioFrame::silence(Rate::Hz8000).samples().len(), 160);
        assert_eq!(AudioFrame::silence(Rate::Hz16000).samples().len(), 320);
        assert_eq!(AudioFrame::silence(Rate::Hz48000).samples().len(), 960);
    }

    #[test]
    fn level_of_full_scale_square_is_zero_dbov() {
        let mut f = AudioFrame::silence(Rate::Hz8000);
        for (i, s) in f.samples_mut().iter_mut().enumerate() {
            *s = if i % 2 == 0 { 32767 } else { -32768 };
        }
        assert!(f.level_dbov().abs() < 0.01);
        assert_eq!(AudioFrame::silence(Rate::Hz8000).level_dbov(), -96.0);
    }
}
