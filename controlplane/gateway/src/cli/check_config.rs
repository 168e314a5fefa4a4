//! `tandem check-config FILE`: validate a config without starting anything.
//!
//! Success prints one summary line on stdout (trunks, routes, listeners)
//! and exits 0. Otherwise every problem found goes to stderr, one per line
//! as `FILE:LINE: KEY: problem`, and the exit status is 2, so a deployment
//! script can gate a reload on it.

use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::config::Config;

#[derive(Debug, Args)]
pub(crate) struct CheckConfigArgs {
    /// The TOML config file.
    file: PathBuf,
}

pub(crate) fn run(args: CheckConfigArgs) -> Result<(), CliError> {
    match Config::load(&args.file) {
        Ok(config) => {
            println!("{}: OK: {}", args.file.display(), config.summary());
            Ok(())
        }
        // main prints the first line after "tandem: "; the same prefix on
        // the others keeps every line greppable alike.
        Err(e) => Err(CliError::BadInput(
            e.to_string().replace('\n', "\ntandem: "),
        )),
    }
}
