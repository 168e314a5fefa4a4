//! `tandem cdr ...`: call-record tools.
//!
//! `tandem cdr list` reads the SQLite store read-only, so it is safe to run
//! while the gateway is writing to it (WAL readers never block the writer).

use std::io::{BufWriter, ErrorKind, Write};
use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use super::CliError;
use crate::cdr::{Cdr, CdrFilter, CdrStore};

#[derive(Debug, Subcommand)]
pub(crate) enum CdrCommand {
    /// Print call records, oldest first: CSV with a header row (RFC 4180),
    /// or a JSON array of objects. Empty values (e.g. the answer time of an
    /// unanswered call) are empty CSV fields and JSON nulls; times are unix
    /// milliseconds.
    List {
        /// The call-record database.
        #[arg(long, value_name = "PATH", default_value = "tandem-cdr.sqlite")]
        db: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Print only the newest N records (still oldest first).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Only calls that ended at or after this time (unix ms).
        #[arg(long, value_name = "UNIX_MS")]
        since: Option<i64>,
        /// Only calls that ended before this time (unix ms).
        #[arg(long, value_name = "UNIX_MS")]
        until: Option<i64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

pub(crate) fn run(cmd: CdrCommand) -> Result<(), CliError> {
    let CdrCommand::List {
        db,
        format,
        limit,
        since,
        until,
    } = cmd;
    let store = CdrStore::open_read_only(&db).map_err(|e| CliError::BadInput(e.to_string()))?;
    let records = store
        .list(&CdrFilter {
            since_ms: since,
            until_ms: until,
            limit,
        })
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let text = match format {
        Format::Csv => csv(&records),
        Format::Json => json(&records),
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `tandem cdr list | head`: the reader has seen enough.
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Output(format!("stdout: {e}"))),
    }
}

fn csv(records: &[Cdr]) -> String {
    let mut s = String::with_capacity(256 * (records.len() + 1));
    Cdr::write_csv_header(&mut s);
    for r in records {
        r.write_csv(&mut s);
    }
    s
}

fn json(records: &[Cdr]) -> String {
    let mut s = String::with_capacity(512 * records.len() + 4);
    s.push('[');
    for (i, r) in records.iter().enumerate() {
        s.push_str(if i == 0 { "\n  " } else { ",\n  " });
        r.write_json(&mut s);
    }
    s.push_str(if records.is_empty() { "]\n" } else { "\n]\n" });
    s
}
