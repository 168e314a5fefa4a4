//! `tandem report`: call-center KPIs over a range of days, from the
//! 15-minute interval rows the gateway stores ([`crate::kpi_store`]).
//!
//! The rows of the intervals that start in the range are merged per
//! queue, agent or 400 number (`--by queue|agent|number`), or printed one
//! per interval (`--by interval`), and every KPI is computed from the
//! merged counts and sums with the formulas of CALLCENTER.md ("KPI
//! definitions") as `tandem_callcenter::kpi::Counters` implements them
//! (service level and abandon rate leave short abandons out of the
//! offered calls; occupancy counts after-call work as busy).
//!
//! Output is CSV with a header row (RFC 4180) or a JSON array of objects,
//! like `tandem cdr list`. A KPI whose denominator is 0 is an empty CSV
//! field and a JSON `null`. Rates are percentages with two decimals,
//! times are seconds with three (the counters' milliseconds).
//!
//! | column | meaning |
//! |---|---|
//! | `kind`, `name` | `queue`, `agent` or `number`, and its configured name |
//! | `interval_start` | (`--by interval` only) the interval's start, RFC 3339 at `--utc-offset` |
//! | `offered`, `queued`, `answered`, `answered_within_threshold` | calls |
//! | `abandoned`, `short_abandoned` | hang-ups in the queue after / within the short-abandon threshold |
//! | `spilled`, `blocked`, `handled`, `transferred`, `total_calls` | calls (total = blocked + abandoned + short abandoned + answered) |
//! | `service_level_pct` | answered within T ÷ (offered − short abandoned) |
//! | `answered_pct` | answered ÷ offered |
//! | `asa_s` | answered calls' wait ÷ answered |
//! | `abandon_rate_pct` | abandoned ÷ (offered − short abandoned) |
//! | `avg_time_to_abandon_s` | abandoned calls' wait ÷ abandoned |
//! | `aht_s`, `avg_talk_s`, `avg_hold_s`, `avg_wrap_up_s` | (talk + hold + wrap-up), talk, hold, wrap-up ÷ handled |
//! | `staffed_s` | agents' signed-in time (agents only) |
//! | `occupancy_pct` | (talk + hold + wrap-up) ÷ staffed time |
//! | `calls_per_agent_hour` | answered ÷ staffed hours |
//! | `transfer_rate_pct` | transferred ÷ answered |
//! | `blocking_rate_pct` | blocked ÷ offered (numbers only) |
//! | `queue_placement_rate_pct` | queued ÷ offered (numbers only) |
//!
//! The database is opened read-only, so a report can run while the
//! gateway writes.

use std::fmt::Write as _;
use std::io::{BufWriter, ErrorKind, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use tandem_callcenter::kpi::{EntityKind, Kpis};
use tandem_callcenter::{Date, Timestamp};

use super::CliError;
use super::cdr::Format;
use crate::cdr::json_string;
use crate::kpi_store::{By, KpiStore, ReportRow};

/// `tandem report` arguments.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The call-record database, which holds the KPI intervals.
    #[arg(long, value_name = "PATH", default_value = "tandem-cdr.sqlite")]
    db: PathBuf,
    /// The first day (YYYY-MM-DD, from midnight at --utc-offset) or
    /// instant (RFC 3339, e.g. 2027-01-15T08:00:00+08:00).
    #[arg(long, value_name = "DATE")]
    from: String,
    /// The last day, included whole (YYYY-MM-DD), or the instant the
    /// report ends, excluded (RFC 3339).
    #[arg(long, value_name = "DATE")]
    to: String,
    /// One row per queue, agent or number over the range, or one per
    /// interval and entity.
    #[arg(long, value_enum, default_value_t = ByArg::Queue)]
    by: ByArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// The UTC offset of the dates and of printed interval starts
    /// (+08:00 for China Standard Time).
    #[arg(
        long,
        value_name = "+HH:MM",
        default_value = "+00:00",
        allow_hyphen_values = true
    )]
    utc_offset: String,
}

/// `--by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ByArg {
    /// One row per queue.
    Queue,
    /// One row per agent.
    Agent,
    /// One row per 400 number.
    Number,
    /// One row per 15-minute interval and entity.
    Interval,
}

impl From<ByArg> for By {
    fn from(b: ByArg) -> By {
        match b {
            ByArg::Queue => By::Queue,
            ByArg::Agent => By::Agent,
            ByArg::Number => By::Number,
            ByArg::Interval => By::Interval,
        }
    }
}

pub(crate) fn run(args: ReportArgs) -> Result<(), CliError> {
    let offset = parse_offset(&args.utc_offset).ok_or_else(|| {
        CliError::BadInput(format!(
            "--utc-offset {:?}: expected +HH:MM or -HH:MM (or Z)",
            args.utc_offset
        ))
    })?;
    let from = parse_bound("--from", &args.from, offset, false)?;
    let to = parse_bound("--to", &args.to, offset, true)?;
    if from >= to {
        return Err(CliError::BadInput(format!(
            "--from {} is not before --to {}: the range is empty",
            args.from, args.to
        )));
    }
    let mut store =
        KpiStore::open_read_only(&args.db).map_err(|e| CliError::BadInput(e.to_string()))?;
    let by = By::from(args.by);
    let rows = store
        .query(from, to, by)
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let with_start = by == By::Interval;
    let text = match args.format {
        Format::Csv => csv(&rows, with_start, offset),
        Format::Json => json(&rows, with_start, offset),
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `tandem report | head`: the reader has seen enough.
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Output(format!("stdout: {e}"))),
    }
}

/// Parses a UTC offset: `Z`, or `+HH:MM` / `-HH:MM` up to ±23:59; in
/// minutes east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    if s.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let h = two_digits(h).filter(|h| *h < 24)?;
    let m = two_digits(m).filter(|m| *m < 60)?;
    Some(sign * (h * 60 + m))
}

/// Exactly two ASCII digits.
fn two_digits(s: &str) -> Option<i32> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Milliseconds since the epoch of local midnight starting `date` at
/// `offset` minutes east of UTC (may be negative before 1970).
fn local_midnight_ms(date: Date, offset: i32) -> Option<i64> {
    if date.year < 1970 {
        return None;
    }
    let utc = i64::try_from(Timestamp::from_date(date).as_millis()).ok()?;
    Some(utc - i64::from(offset) * 60_000)
}

/// Parses an RFC 3339 date-time (`2027-01-15T08:00:00.250+08:00`; `T`,
/// `t` or a space between date and time; `Z` or `±HH:MM`) into unix ms.
/// Fractions of a millisecond are dropped.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let date = Date::parse(s.get(..10)?)?;
    let rest = s.get(10..)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (time, mut zone) = (rest.get(..8)?, rest.get(8..)?);
    let mut parts = time.split(':');
    let h = two_digits(parts.next()?).filter(|h| *h < 24)?;
    let m = two_digits(parts.next()?).filter(|m| *m < 60)?;
    // 60 is a leap second.
    let sec = two_digits(parts.next()?).filter(|s| *s <= 60)?;
    let mut millis = 0i64;
    if let Some(frac) = zone.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, b) in frac.bytes().take(3).enumerate() {
            if b.is_ascii_digit() {
                millis += i64::from(b - b'0') * [100, 10, 1][i];
            }
        }
        zone = &frac[digits..];
    }
    let offset = parse_offset(zone)?;
    let midnight = local_midnight_ms(date, offset)?;
    Some(midnight + i64::from(h * 3600 + m * 60 + sec) * 1000 + millis)
}

/// Parses `--from` or `--to`: a date (its midnight at `offset`; for the
/// end of a range, the next midnight, so that the day is included) or an
/// RFC 3339 instant.
fn parse_bound(flag: &str, s: &str, offset: i32, end: bool) -> Result<Timestamp, CliError> {
    let bad = || {
        CliError::BadInput(format!(
            "{flag} {s:?}: expected a date (YYYY-MM-DD) or an RFC 3339 time (2027-01-15T08:00:00+08:00) from 1970 on"
        ))
    };
    let ms = if s.len() == 10 {
        let date = Date::parse(s).ok_or_else(bad)?;
        let midnight = local_midnight_ms(date, offset).ok_or_else(bad)?;
        if end { midnight + 86_400_000 } else { midnight }
    } else {
        parse_rfc3339(s).ok_or_else(bad)?
    };
    u64::try_from(ms).map(Timestamp).map_err(|_| bad())
}

/// `t` as RFC 3339 at `offset` minutes east of UTC, to the second
/// (interval starts are whole quarter hours): `2027-01-15T16:00:00+08:00`,
/// or `…Z` at offset 0.
fn rfc3339(t: Timestamp, offset: i32) -> String {
    let local = t.local(offset);
    let m = local.minute_of_day;
    let sec = t.as_millis() / 1000 % 60;
    let mut s = format!("{}T{:02}:{:02}:{sec:02}", local.date, m / 60, m % 60);
    if offset == 0 {
        s.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let a = offset.unsigned_abs();
        let _ = write!(s, "{sign}{:02}:{:02}", a / 60, a % 60);
    }
    s
}

/// One output value.
enum Cell {
    /// A string: quoted in JSON, quoted in CSV if it must be.
    Text(String),
    /// A number already formatted (valid in JSON as is), or nothing.
    Number(Option<String>),
}

fn count(n: u64) -> Cell {
    Cell::Number(Some(n.to_string()))
}

fn pct(r: Option<f64>) -> Cell {
    Cell::Number(
        r.filter(|x| x.is_finite())
            .map(|x| format!("{:.2}", x * 100.0)),
    )
}

fn secs(d: Option<Duration>) -> Cell {
    Cell::Number(d.map(|d| format!("{:.3}", d.as_secs_f64())))
}

/// The column names, in the order of [`cells`].
fn header(with_start: bool) -> Vec<&'static str> {
    let mut h = vec!["kind", "name"];
    if with_start {
        h.push("interval_start");
    }
    h.extend([
        "offered",
        "queued",
        "answered",
        "answered_within_threshold",
        "abandoned",
        "short_abandoned",
        "spilled",
        "blocked",
        "handled",
        "transferred",
        "total_calls",
        "service_level_pct",
        "answered_pct",
        "asa_s",
        "abandon_rate_pct",
        "avg_time_to_abandon_s",
        "aht_s",
        "avg_talk_s",
        "avg_hold_s",
        "avg_wrap_up_s",
        "staffed_s",
        "occupancy_pct",
        "calls_per_agent_hour",
        "transfer_rate_pct",
        "blocking_rate_pct",
        "queue_placement_rate_pct",
    ]);
    h
}

/// A row's values, in the order of [`header`].
fn cells(r: &ReportRow, with_start: bool, offset: i32) -> Vec<Cell> {
    let c = &r.counters;
    let k: &Kpis = &r.kpis;
    let mut v = vec![
        Cell::Text(r.kind.as_str().to_owned()),
        Cell::Text(r.name.clone()),
    ];
    if with_start {
        v.push(match r.start {
            Some(t) => Cell::Text(rfc3339(t, offset)),
            None => Cell::Number(None),
        });
    }
    v.extend([
        count(c.offered),
        count(c.queued),
        count(c.answered),
        count(c.answered_within_threshold),
        count(c.abandoned),
        count(c.short_abandoned),
        count(c.spilled_total()),
        count(c.blocked),
        count(c.handled),
        count(c.transferred),
        count(k.total_calls),
        pct(k.service_level),
        pct(k.answered_rate),
        secs(k.asa),
        pct(k.abandon_rate),
        secs(k.average_time_to_abandon),
        secs(k.aht),
        secs(k.average_talk),
        secs(k.average_hold),
        secs(k.average_wrap_up),
        secs((r.kind == EntityKind::Agent).then(|| c.staffed())),
        pct(k.occupancy),
        Cell::Number(
            k.calls_per_agent_hour
                .filter(|x| x.is_finite())
                .map(|x| format!("{x:.2}")),
        ),
        pct(k.transfer_rate),
        // A queue's `queued` is its `offered`, and only numbers see
        // blocked calls: these two rates are the numbers' own.
        pct(k.blocking_rate.filter(|_| r.kind == EntityKind::Number)),
        pct(k
            .queue_placement_rate
            .filter(|_| r.kind == EntityKind::Number)),
    ]);
    v
}

/// CSV with a header row (RFC 4180: CRLF line ends, a field with a comma,
/// quote, CR or LF quoted with quotes doubled).
fn csv(rows: &[ReportRow], with_start: bool, offset: i32) -> String {
    let mut s = String::with_capacity(256 * (rows.len() + 1));
    s.push_str(&header(with_start).join(","));
    s.push_str("\r\n");
    for r in rows {
        for (i, cell) in cells(r, with_start, offset).into_iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            match cell {
                Cell::Text(t) if t.contains([',', '"', '\r', '\n']) => {
                    s.push('"');
                    s.push_str(&t.replace('"', "\"\""));
                    s.push('"');
                }
                Cell::Text(t) => s.push_str(&t),
                Cell::Number(n) => s.push_str(n.as_deref().unwrap_or("")),
            }
        }
        s.push_str("\r\n");
    }
    s
}

/// A JSON array of objects keyed by the header's names (RFC 8259).
fn json(rows: &[ReportRow], with_start: bool, offset: i32) -> String {
    let names = header(with_start);
    let mut s = String::with_capacity(768 * rows.len() + 4);
    s.push('[');
    for (i, r) in rows.iter().enumerate() {
        s.push_str(if i == 0 { "\n  {" } else { ",\n  {" });
        for (j, (name, cell)) in names.iter().zip(cells(r, with_start, offset)).enumerate() {
            if j > 0 {
                s.push(',');
            }
            json_string(name, &mut s);
            s.push(':');
            match cell {
                Cell::Text(t) => json_string(&t, &mut s),
                Cell::Number(n) => s.push_str(n.as_deref().unwrap_or("null")),
            }
        }
        s.push('}');
    }
    s.push_str(if rows.is_empty() { "]\n" } else { "\n]\n" });
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_dates_parse_and_reject_junk() {
        assert_eq!(parse_offset("+08:00"), Some(480));
        assert_eq!(parse_offset("-05:30"), Some(-330));
        assert_eq!(parse_offset("Z"), Some(0));
        for bad in [
            "", "+8:00", "+24:00", "08:00", "+08:60", "+0800", "+08:00x", "+٠٨:00",
        ] {
            assert_eq!(parse_offset(bad), None, "{bad:?}");
        }
        // 2027-01-15 at +08:00 starts at 2027-01-14T16:00:00Z.
        let day = Timestamp::from_secs(1_800_000_000 - 8 * 3600 - 8 * 3600);
        assert_eq!(
            parse_bound("--from", "2027-01-15", 480, false).unwrap(),
            day
        );
        assert_eq!(
            parse_bound("--to", "2027-01-15", 480, true).unwrap(),
            day + Duration::from_secs(86_400)
        );
        assert_eq!(
            parse_bound("--from", "2027-01-15T08:00:00Z", 480, false).unwrap(),
            Timestamp::from_secs(1_800_000_000)
        );
        assert_eq!(
            parse_bound("--from", "2027-01-15t16:00:00.25+08:00", 0, false).unwrap(),
            Timestamp::from_millis(1_800_000_000_250)
        );
        for bad in [
            "2027-02-29",
            "2027-1-15",
            "15/01/2027",
            "1969-12-31",
            "2027-01-15T08:00:00",
            "2027-01-15T08:00Z",
            "2027-01-15T24:00:00Z",
            "2027-01-15T08:00:00.Z",
            "2027-01-15T08:00:00+08",
            "1970-01-01T00:00:00+00:01",
            "",
            "ééééééééééé",
            "2027-01-15T08:00:0é",
            "2027-01-15T08:00:00é",
        ] {
            assert!(parse_bound("--from", bad, 0, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn interval_starts_print_at_the_offset() {
        let t = Timestamp::from_secs(1_800_000_000);
        assert_eq!(rfc3339(t, 0), "2027-01-15T08:00:00Z");
        assert_eq!(rfc3339(t, 480), "2027-01-15T16:00:00+08:00");
        assert_eq!(rfc3339(t, -330), "2027-01-15T02:30:00-05:30");
    }
}
