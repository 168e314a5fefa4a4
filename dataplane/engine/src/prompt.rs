//! Announcements and IVR prompts: WAV files loaded once, played as 20 ms
//! frames.
//!
//! # What
//!
//! * [`Prompt`]: a prompt's samples in a shared `Arc<[i16]>` at the rate
//!   the legs need, loaded from a RIFF/WAVE file
//!   ([`tandem_dsp::wav`]: 16-bit PCM, A-law or μ-law, plain or
//!   `WAVE_FORMAT_EXTENSIBLE`), mono, at 8, 16 or 48 kHz. A file at another
//!   of those rates is resampled once, at load
//!   ([`tandem_dsp::resample::resample_all`], delay-compensated).
//! * [`PromptCache`]: prompts keyed by path and rate, so that a thousand
//!   callers hearing the same greeting share one copy.
//! * [`PromptPlayer`]: plays a [`PlayRequest`] (prompt, repeat count,
//!   barge-in flag) into 20 ms [`AudioFrame`]s, with stop and
//!   [`finished`](PromptPlayer::finished). Barge-in is the worker's
//!   decision: when a DTMF digit arrives on a leg whose player has
//!   [`barge_in`](PromptPlayer::barge_in) set, the worker calls
//!   [`PromptPlayer::handle_dtmf`], which stops it.
//!
//! # Design
//!
//! Loading (file I/O, decoding, resampling) is control-plane work; the
//! worker only holds a [`PromptPlayer`], which copies from the shared
//! samples into the caller's frame: no allocation, no I/O, no locking. The
//! last frame of a play is completed with the start of the next repeat, or
//! with silence after the last one. Errors name the file and say what is
//! wrong with it ([`PromptError`]).
//!
//! # Driving it
//!
//! ```no_run
//! use tandem_dataplane::frame::AudioFrame;
//! use tandem_dataplane::prompt::{PlayRequest, PromptCache, PromptPlayer, Repeat};
//! use tandem_dsp::resample::Rate;
//!
//! let mut cache = PromptCache::new();
//! let greeting = cache.get_or_load("/usr/share/tandem/welcome.wav", Rate::Hz8000)?;
//! let mut player = PromptPlayer::new(PlayRequest {
//!     prompt: greeting,
//!     repeat: Repeat::Times(2),
//!     barge_in: true,
//! });
//! let mut frame = AudioFrame::silence(Rate::Hz8000);
//! while player.next_frame(&mut frame) {
//!     // encode and send `frame` every 20 ms; on a DTMF digit:
//!     // if player.handle_dtmf() { /* stopped by barge-in */ }
//! }
//! # Ok::<(), tandem_dataplane::prompt::PromptError>(())
//! ```
#![warn(missing_docs)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tandem_dsp::resample::{Rate, resample_all};
use tandem_dsp::wav::{Wav, WavError};

use crate::frame::{AudioFrame, frame_len};

/// Why a prompt could not be loaded. Every variant names the file.
#[derive(Debug)]
#[non_exhaustive]
pub enum PromptError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a WAV file Tandem reads.
    BadWav {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        error: WavError,
    },
    /// The file has more than one channel.
    NotMono {
        /// The file.
        path: PathBuf,
        /// Its channel count.
        channels: u16,
    },
    /// The file's rate is not 8, 16 or 48 kHz.
    UnsupportedRate {
        /// The file.
        path: PathBuf,
        /// Its rate, Hz.
        hz: u32,
    },
}

impl core::fmt::Display for PromptError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PromptError::Io { path, source } => {
                write!(f, "prompt {}: cannot read: {source}", path.display())
            }
            PromptError::BadWav { path, error } => {
                write!(
                    f,
                    "prompt {}: not a usable WAV file: {error:?}",
                    path.display()
                )
            }
            PromptError::NotMono { path, channels } => write!(
                f,
                "prompt {}: has {channels} channels, prompts must be mono",
                path.display()
            ),
            PromptError::UnsupportedRate { path, hz } => write!(
                f,
                "prompt {}: sample rate {hz} Hz, prompts must be 8000, 16000 or 48000 Hz",
                path.display()
            ),
        }
    }
}

impl std::error::Error for PromptError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PromptError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A loaded prompt: shared, immutable samples at one rate. Cloning is
/// cheap (two `Arc`s).
#[derive(Clone)]
pub struct Prompt {
    path: Arc<Path>,
    rate: Rate,
    samples: Arc<[i16]>,
}

impl core::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Prompt")
            .field("path", &self.path)
            .field("rate", &self.rate.hz())
            .field("samples", &self.samples.len())
            .finish()
    }
}

impl Prompt {
    /// Reads and decodes a WAV file, resampling it to `rate`.
    ///
    /// # Errors
    /// [`PromptError`] naming the file.
    pub fn load(path: impl AsRef<Path>, rate: Rate) -> Result<Self, PromptError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| PromptError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_wav_bytes(path, &bytes, rate)
    }

    /// Decodes a WAV file already in memory; `path` names it in errors.
    ///
    /// # Errors
    /// [`PromptError`] naming `path`.
    pub fn from_wav_bytes(
        path: impl AsRef<Path>,
        bytes: &[u8],
        rate: Rate,
    ) -> Result<Self, PromptError> {
        let path = path.as_ref();
        let wav = Wav::parse(bytes).map_err(|error| PromptError::BadWav {
            path: path.to_path_buf(),
            error,
        })?;
        let spec = wav.spec();
        if spec.channels != 1 {
            return Err(PromptError::NotMono {
                path: path.to_path_buf(),
                channels: spec.channels,
            });
        }
        let file_rate = Rate::from_hz(spec.sample_rate).ok_or(PromptError::UnsupportedRate {
            path: path.to_path_buf(),
            hz: spec.sample_rate,
        })?;
        let pcm = wav.decode();
        let samples = if file_rate == rate {
            pcm
        } else {
            resample_all(file_rate, rate, &pcm)
        };
        Ok(Prompt {
            path: Arc::from(path),
            rate,
            samples: Arc::from(samples),
        })
    }

    /// A prompt from samples already at `rate` (generated tones, tests);
    /// `name` stands in for a path.
    pub fn from_samples(name: impl AsRef<Path>, rate: Rate, samples: &[i16]) -> Self {
        Prompt {
            path: Arc::from(name.as_ref()),
            rate,
            samples: Arc::from(samples),
        }
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its rate.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Its samples.
    pub fn samples(&self) -> &Arc<[i16]> {
        &self.samples
    }

    /// Its length in samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether it holds no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Its duration, ms (rounded down).
    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / u64::from(self.rate.hz())
    }
}

/// Prompts by path and rate, each loaded once.
#[derive(Debug, Default)]
pub struct PromptCache {
    prompts: HashMap<(PathBuf, Rate), Prompt>,
}

impl PromptCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The prompt for `path` at `rate`, loading it on first use.
    ///
    /// # Errors
    /// [`PromptError`] naming the file; a failed load is not cached, so a
    /// fixed file loads on the next call.
    pub fn get_or_load(
        &mut self,
        path: impl AsRef<Path>,
        rate: Rate,
    ) -> Result<Prompt, PromptError> {
        let path = path.as_ref();
        if let Some(p) = self.prompts.get(&(path.to_path_buf(), rate)) {
            return Ok(p.clone());
        }
        let prompt = Prompt::load(path, rate)?;
        self.prompts
            .insert((path.to_path_buf(), rate), prompt.clone());
        Ok(prompt)
    }

    /// The cached prompt, if loaded.
    pub fn get(&self, path: impl AsRef<Path>, rate: Rate) -> Option<Prompt> {
        self.prompts
            .get(&(path.as_ref().to_path_buf(), rate))
            .cloned()
    }

    /// Forgets every rate of `path` (the file changed). Players keep
    /// their copy.
    pub fn invalidate(&mut self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        self.prompts.retain(|(p, _), _| p != path);
    }

    /// Number of cached (path, rate) entries.
    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }
}

/// How many times a prompt plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// This many times in a row (0: not at all).
    Times(u32),
    /// Until stopped (music on hold).
    Forever,
}

/// What to play on a leg.
#[derive(Debug, Clone)]
pub struct PlayRequest {
    /// The prompt.
    pub prompt: Prompt,
    /// How many times.
    pub repeat: Repeat,
    /// Whether a DTMF digit from the leg stops it (the worker honours it
    /// through [`PromptPlayer::handle_dtmf`]).
    pub barge_in: bool,
}

/// Plays one [`PlayRequest`] as 20 ms frames (see the module docs).
#[derive(Debug, Clone)]
pub struct PromptPlayer {
    prompt: Prompt,
    /// Next sample.
    pos: usize,
    /// Plays left after the current one (`None`: forever).
    left: Option<u32>,
    barge_in: bool,
    finished: bool,
    stopped_by_dtmf: bool,
}

impl PromptPlayer {
    /// A player at the start of `request`.
    pub fn new(request: PlayRequest) -> Self {
        let (left, finished) = match request.repeat {
            Repeat::Times(0) => (Some(0), true),
            Repeat::Times(n) => (Some(n - 1), false),
            Repeat::Forever => (None, false),
        };
        PromptPlayer {
            finished: finished || request.prompt.is_empty(),
            prompt: request.prompt,
            pos: 0,
            left,
            barge_in: request.barge_in,
            stopped_by_dtmf: false,
        }
    }

    /// The rate of the frames it yields (the prompt's).
    pub fn rate(&self) -> Rate {
        self.prompt.rate()
    }

    /// The prompt being played.
    pub fn prompt(&self) -> &Prompt {
        &self.prompt
    }

    /// Whether DTMF stops it.
    pub fn barge_in(&self) -> bool {
        self.barge_in
    }

    /// Whether it has played everything or was stopped.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Whether a DTMF digit stopped it (barge-in).
    pub fn stopped_by_dtmf(&self) -> bool {
        self.stopped_by_dtmf
    }

    /// Stops it: the next frame is silence and it is finished.
    pub fn stop(&mut self) {
        self.finished = true;
    }

    /// A DTMF digit arrived on the leg: stops the player if barge-in is
    /// allowed. Returns whether it stopped it.
    pub fn handle_dtmf(&mut self) -> bool {
        if self.barge_in && !self.finished {
            self.finished = true;
            self.stopped_by_dtmf = true;
            true
        } else {
            false
        }
    }

    /// Writes the next 20 ms into `out` (which takes the prompt's rate).
    /// Returns `false`, with `out` silent, once finished. Hot path: copies
    /// from the shared samples, no allocation.
    pub fn next_frame(&mut self, out: &mut AudioFrame) -> bool {
        let rate = self.prompt.rate();
        if out.rate() != rate {
            *out = AudioFrame::silence(rate);
        }
        let dst = out.samples_mut();
        if self.finished {
            dst.fill(0);
            return false;
        }
        let n = frame_len(rate);
        let src = &self.prompt.samples;
        let mut done = 0;
        while done < n {
            if self.pos >= src.len() {
                match &mut self.left {
                    Some(0) => {
                        self.finished = true;
                        break;
                    }
                    Some(k) => *k -= 1,
                    None => {}
                }
                self.pos = 0;
            }
            let k = (src.len() - self.pos).min(n - done);
            dst[done..done + k].copy_from_slice(&src[self.pos..self.pos + k]);
            self.pos += k;
            done += k;
        }
        dst[done..].fill(0);
        if self.pos >= src.len() && self.left == Some(0) {
            self.finished = true;
        }
        true
    }
}
