//! `tandem dtmf ...`: DTMF detection on files.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use tandem_dsp::dtmf;

use super::{CliError, read_mono_wav};

#[derive(Debug, Subcommand)]
pub(crate) enum DtmfCommand {
    /// Detect DTMF digits in WAV files (8 kHz mono; 16-bit linear, A-law or
    /// mu-law). Prints one line per file, in order, with the digits found
    /// (an empty line when none).
    Detect {
        /// Also print each digit's start and end sample after the digit
        /// string, as `digit@start-end`.
        #[arg(long)]
        timestamps: bool,
        /// The WAV files to scan.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub(crate) fn run(cmd: DtmfCommand) -> Result<(), CliError> {
    let DtmfCommand::Detect { timestamps, files } = cmd;
    // Decode everything first: a bad file anywhere fails the whole command
    // before any line is printed, so stdout never holds a partial listing
    // whose lines no longer match the argument order.
    let mut inputs = Vec::with_capacity(files.len());
    for path in &files {
        let audio = read_mono_wav(path)?;
        if audio.sample_rate != 8000 {
            return Err(CliError::bad_input(
                path,
                format_args!("sample rate {} Hz, expected 8000 Hz", audio.sample_rate),
            ));
        }
        inputs.push(audio.pcm);
    }
    let mut out = std::io::stdout().lock();
    for pcm in &inputs {
        let digits = dtmf::detect(pcm);
        let mut line: String = digits.iter().map(|d| d.digit).collect();
        if timestamps {
            for d in &digits {
                line.push_str(&format!(" {}@{}-{}", d.digit, d.start, d.end));
            }
        }
        writeln!(out, "{line}").map_err(|e| CliError::Output(format!("stdout: {e}")))?;
    }
    Ok(())
}
