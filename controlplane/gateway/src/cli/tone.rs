//! `tandem tone ...`: render DTMF and call-progress tones to WAV files.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use tandem_dsp::resample::Rate;
use tandem_dsp::tone::{self, Country, ProgressTone};
use tandem_dsp::wav::{self, Format, Spec};

use super::{CliError, write_file};

#[derive(Debug, Subcommand)]
pub(crate) enum ToneCommand {
    /// Render DTMF digits (0-9 * # A-D, ITU-T Q.23) to an 8 kHz 16-bit WAV file.
    Dtmf {
        /// The digits to send.
        digits: String,
        /// Output WAV file.
        output: PathBuf,
        /// Tone duration of each digit, in milliseconds.
        #[arg(long, default_value_t = 100)]
        on_ms: u32,
        /// Pause after each digit, in milliseconds.
        #[arg(long, default_value_t = 100)]
        off_ms: u32,
        /// Level of each of the two tones, in dBm0.
        #[arg(long, default_value_t = -10.0, allow_negative_numbers = true)]
        level: f32,
    },
    /// Render a call-progress tone with a country's frequencies and cadence
    /// to an 8 kHz 16-bit WAV file.
    Progress {
        /// Which tone.
        #[arg(value_enum)]
        tone: Tone,
        /// Output WAV file.
        output: PathBuf,
        /// Tone plan: itu (ITU-T E.180 defaults), cn, eu (ETSI), us (North
        /// America), uk, jp.
        #[arg(long, default_value = "itu")]
        country: String,
        /// Length of the file, in seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Tone {
    /// Dial tone.
    Dial,
    /// Ringing tone.
    Ringback,
    /// Busy tone.
    Busy,
    /// Congestion (reorder) tone.
    Congestion,
    /// Call-waiting tone.
    CallWaiting,
}

impl From<Tone> for ProgressTone {
    fn from(t: Tone) -> Self {
        match t {
            Tone::Dial => ProgressTone::Dial,
            Tone::Ringback => ProgressTone::Ringback,
            Tone::Busy => ProgressTone::Busy,
            Tone::Congestion => ProgressTone::Congestion,
            Tone::CallWaiting => ProgressTone::CallWaiting,
        }
    }
}

/// Longest file `tone progress` renders: an hour is plenty for a prompt.
const MAX_SECONDS: u32 = 3600;

pub(crate) fn run(cmd: ToneCommand) -> Result<(), CliError> {
    let (pcm, output) = match cmd {
        ToneCommand::Dtmf {
            digits,
            output,
            on_ms,
            off_ms,
            level,
        } => {
            if on_ms
                .saturating_add(off_ms)
                .saturating_mul(digits.chars().count() as u32)
                > MAX_SECONDS * 1000
            {
                return Err(CliError::BadInput(format!(
                    "digit sequence longer than {MAX_SECONDS} s"
                )));
            }
            let pcm = tone::dtmf_sequence(&digits, on_ms, off_ms, level)
                .map_err(|e| CliError::BadInput(format!("digits {digits:?}: {e}")))?;
            (pcm, output)
        }
        ToneCommand::Progress {
            tone,
            output,
            country,
            seconds,
        } => {
            let plan = Country::from_code(&country).ok_or_else(|| {
                CliError::BadInput(format!(
                    "--country {country}: unknown tone plan (itu, cn, eu, us, uk, jp)"
                ))
            })?;
            if seconds > MAX_SECONDS {
                return Err(CliError::BadInput(format!(
                    "--seconds {seconds}: at most {MAX_SECONDS}"
                )));
            }
            let spec = plan.tone(tone.into()).ok_or_else(|| {
                CliError::BadInput(format!(
                    "tone plan {country} defines no {tone:?} tone",
                    tone = ProgressTone::from(tone)
                ))
            })?;
            (tone::render(spec, Rate::Hz8000, seconds * 1000), output)
        }
    };
    let spec = Spec {
        format: Format::Pcm16,
        channels: 1,
        sample_rate: 8000,
    };
    let file = wav::to_vec(spec, &wav::encode_samples(Format::Pcm16, &pcm))
        .map_err(|e| CliError::Output(format!("{}: {e}", output.display())))?;
    write_file(&output, &file)
}
