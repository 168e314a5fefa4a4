//! `tandem audio ...`: codec conversion of files.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use tandem_dsp::g722;
use tandem_dsp::resample::{self, Rate};
use tandem_dsp::wav::{self, Format, Spec};

use super::{CliError, read_mono_wav, write_file};

#[derive(Debug, Subcommand)]
pub(crate) enum AudioCommand {
    /// Convert a mono WAV file (8, 16 or 48 kHz; 16-bit linear, A-law or
    /// mu-law) to another codec. PCMA and PCMU are written as 8 kHz WAV
    /// files, L16 as a 16-bit WAV file, G.722 as the raw 64 kbit/s bit
    /// stream (one octet per two 16 kHz samples). The audio is resampled
    /// when the codec's rate differs from the input's.
    Convert {
        /// Input WAV file.
        input: PathBuf,
        /// Output file.
        output: PathBuf,
        /// Output codec.
        #[arg(long, value_enum)]
        codec: Codec,
        /// Output sample rate for `l16` (8000, 16000 or 48000; default: the
        /// input's rate).
        #[arg(long)]
        rate: Option<u32>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Codec {
    /// G.711 A-law, 8 kHz.
    Pcma,
    /// G.711 mu-law, 8 kHz.
    Pcmu,
    /// 16-bit linear PCM.
    L16,
    /// G.722 at 64 kbit/s, 16 kHz audio.
    G722,
}

pub(crate) fn run(cmd: AudioCommand) -> Result<(), CliError> {
    let AudioCommand::Convert {
        input,
        output,
        codec,
        rate,
    } = cmd;
    let audio = read_mono_wav(&input)?;
    let from = Rate::from_hz(audio.sample_rate).ok_or_else(|| {
        CliError::bad_input(
            &input,
            format_args!(
                "sample rate {} Hz, expected 8000, 16000 or 48000 Hz",
                audio.sample_rate
            ),
        )
    })?;
    let to = match (codec, rate) {
        (Codec::L16, Some(hz)) => Rate::from_hz(hz).ok_or_else(|| {
            CliError::BadInput(format!("--rate {hz}: expected 8000, 16000 or 48000"))
        })?,
        (Codec::L16, None) => from,
        (_, Some(_)) => {
            return Err(CliError::BadInput(
                "--rate applies only to --codec l16".to_string(),
            ));
        }
        (Codec::Pcma | Codec::Pcmu, None) => Rate::Hz8000,
        (Codec::G722, None) => Rate::Hz16000,
    };
    let pcm = if from == to {
        audio.pcm
    } else {
        resample::resample_all(from, to, &audio.pcm)
    };
    let bytes = match codec {
        Codec::G722 => {
            let mut out = vec![0u8; pcm.len().div_ceil(2)];
            let n = g722::Encoder::new().encode(&pcm, &mut out);
            out.truncate(n);
            out
        }
        Codec::Pcma | Codec::Pcmu | Codec::L16 => {
            let format = match codec {
                Codec::Pcma => Format::Alaw,
                Codec::Pcmu => Format::Ulaw,
                _ => Format::Pcm16,
            };
            let spec = Spec {
                format,
                channels: 1,
                sample_rate: to.hz(),
            };
            wav::to_vec(spec, &wav::encode_samples(format, &pcm))
                .map_err(|e| CliError::bad_input(&input, e))?
        }
    };
    write_file(&output, &bytes)
}
