//! Command-line interface: argument definitions and dispatch.

mod audio;
mod cdr;
mod check_config;
mod dtmf;
mod report;
mod tone;

use std::fmt;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use tandem_dsp::wav::Wav;

/// Tandem: open media gateway and call-center switch.
#[derive(Debug, Parser)]
#[command(name = "tandem", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// DTMF tools.
    #[command(subcommand)]
    Dtmf(dtmf::DtmfCommand),
    /// Audio file tools.
    #[command(subcommand)]
    Audio(audio::AudioCommand),
    /// Generate DTMF and call-progress tones into WAV files.
    #[command(subcommand)]
    Tone(tone::ToneCommand),
    /// Run the media engine with its rtpengine-compatible ng control port.
    Run(Box<crate::run::RunArgs>),
    /// Check a config file: a one-line summary, or every problem with its
    /// line (exit status 2).
    CheckConfig(check_config::CheckConfigArgs),
    /// Call-record tools.
    #[command(subcommand)]
    Cdr(cdr::CdrCommand),
    /// Print call-center KPIs (service level, ASA, abandon rate, AHT,
    /// occupancy, ...) per queue, agent, number or interval over a range
    /// of days, as CSV or JSON.
    Report(report::ReportArgs),
}

pub(crate) fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Dtmf(cmd) => dtmf::run(cmd),
        Command::Audio(cmd) => audio::run(cmd),
        Command::Tone(cmd) => tone::run(cmd),
        Command::Run(args) => crate::run::run(*args),
        Command::CheckConfig(args) => check_config::run(args),
        Command::Cdr(cmd) => cdr::run(cmd),
        Command::Report(args) => report::run(args),
    }
}

/// A failure, classified by who is to blame so that the exit status tells a
/// script what happened.
#[derive(Debug)]
pub(crate) enum CliError {
    /// The input (a file or an argument) is unusable.
    BadInput(String),
    /// We could not write an output.
    Output(String),
}

impl CliError {
    pub(crate) fn exit_status(&self) -> u8 {
        match self {
            CliError::BadInput(_) => 2,
            CliError::Output(_) => 1,
        }
    }

    fn bad_input(path: &Path, what: impl fmt::Display) -> Self {
        CliError::BadInput(format!("{}: {what}", path.display()))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::BadInput(m) | CliError::Output(m) => f.write_str(m),
        }
    }
}

/// Reads a whole file; the error names the file.
fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::bad_input(path, e))
}

/// Writes a whole file; the error names the file.
fn write_file(path: &PathBuf, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|e| CliError::Output(format!("{}: {e}", path.display())))
}

/// A mono WAV file decoded to 16-bit linear.
struct MonoAudio {
    sample_rate: u32,
    pcm: Vec<i16>,
}

/// Reads and decodes a mono WAV file of any supported encoding.
fn read_mono_wav(path: &Path) -> Result<MonoAudio, CliError> {
    let bytes = read_file(path)?;
    let wav = Wav::parse(&bytes).map_err(|e| CliError::bad_input(path, e))?;
    let spec = wav.spec();
    if spec.channels != 1 {
        return Err(CliError::bad_input(
            path,
            format_args!("{} channels, expected mono", spec.channels),
        ));
    }
    Ok(MonoAudio {
        sample_rate: spec.sample_rate,
        pcm: wav.decode(),
    })
}
