//! `tandem`: Tandem's one binary.
//!
//! `tandem run` is the gateway (SIP B2BUA, media engine, ng port, HTTP);
//! the other subcommands are tools. Every subcommand follows one error
//! contract, which scripts and tests rely on:
//!
//! * success: exit status 0, results on stdout;
//! * bad input (unreadable or malformed file, wrong sample rate, bad
//!   argument): one line on stderr naming the file and the problem, exit
//!   status 2;
//! * failure to write an output: one line on stderr, exit status 1.
//!
//! No input makes the binary panic: every parser it uses returns errors.
#![forbid(unsafe_code)]

// Parts of these are API for what comes next (the REST API of the
// call-center issue reads requests' queries and bodies; TLS listeners use
// the certificate paths); tests use the rest.
mod api;
#[allow(dead_code)]
mod cdr;
mod cli;
#[allow(dead_code)]
mod config;
#[allow(dead_code)]
mod http;
mod kpi_store;
mod run;
mod voicemail;
mod webhook;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // clap prints help/version on stdout with status 0, and usage
            // errors on stderr with status 2: our contract exactly.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem: {e}");
            ExitCode::from(e.exit_status())
        }
    }
}
