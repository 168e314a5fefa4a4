//! `tandem report`: interval rows stored through the KPI store's API (as
//! the gateway stores them) come back out of the binary merged per queue,
//! agent, number or interval, with service level, ASA, AHT, occupancy and
//! the number rates equal to hand-computed values, as CSV and as JSON;
//! days are cut at `--utc-offset`; a missing database, a bad date or an
//! empty range is one line on stderr and exit status 2.

// The stores are part of the binary crate; the test builds the modules
// itself to write a database exactly as the gateway does.
#[allow(dead_code)]
#[path = "../src/cdr.rs"]
mod cdr;
#[allow(dead_code)]
#[path = "../src/kpi_store.rs"]
mod kpi_store;

mod cli;

use cli::*;
use std::path::{Path, PathBuf};
use std::process::Output;

use cdr::Synchronous;
use kpi_store::KpiStore;
use tandem_callcenter::kpi::{Counters, Entity, IntervalRow};
use tandem_callcenter::{AgentId, NumberId, QueueId, Timestamp};

/// 2027-01-15T08:00:00Z, which is 16:00 at +08:00.
const T0: u64 = 1_800_000_000_000;
const MIN: u64 = 60_000;

fn at(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn row(entity: Entity, start: u64, counters: Counters) -> (IntervalRow, String) {
    let name = match entity {
        Entity::Queue(_) => "sales, north",
        Entity::Agent(_) => "alice",
        Entity::Number(_) => "4001234567",
    };
    let row = IntervalRow {
        entity,
        start: at(start),
        counters,
    };
    (row, name.to_owned())
}

/// The local day 2027-01-15 at +08:00 runs from T0 − 16 h to T0 + 8 h.
/// Interval A opens it (00:00 local), interval B is at 16:00 local; two
/// more rows lie just outside it, with 999 offered calls each, so that
/// counting them would show.
fn database(test: &str) -> PathBuf {
    let path = scratch("report", test).join("tandem.sqlite");
    let mut store = KpiStore::open(&path, Synchronous::Normal).unwrap();
    let sales = Entity::Queue(QueueId(0));
    let alice = Entity::Agent(AgentId(0));
    let n400 = Entity::Number(NumberId(0));
    let a = T0 - 16 * 60 * MIN;
    let b = T0;
    let sales_a = Counters {
        offered: 10,
        queued: 10,
        answered: 8,
        answered_within_threshold: 6,
        abandoned: 1,
        abandoned_wait_ms: 30_000,
        short_abandoned: 1,
        answered_wait_ms: 8 * 10_000,
        handled: 8,
        talk_ms: 8 * 180_000,
        hold_ms: 8 * 10_000,
        wrap_up_ms: 8 * 30_000,
        ..Counters::default()
    };
    // Interval B arrives in two parts (a flush at shutdown, then the rest
    // after the restart), which the store adds up.
    let sales_b1 = Counters {
        offered: 4,
        queued: 4,
        answered: 4,
        answered_within_threshold: 4,
        answered_wait_ms: 4 * 5_000,
        handled: 4,
        talk_ms: 4 * 120_000,
        wrap_up_ms: 4 * 20_000,
        ..Counters::default()
    };
    let sales_b2 = Counters {
        offered: 6,
        queued: 6,
        answered: 5,
        answered_within_threshold: 5,
        short_abandoned: 1,
        answered_wait_ms: 5 * 5_000,
        handled: 5,
        talk_ms: 5 * 120_000,
        wrap_up_ms: 5 * 20_000,
        ..Counters::default()
    };
    let alice_a = Counters {
        answered: 5,
        answered_within_threshold: 5,
        answered_wait_ms: 20_000,
        handled: 5,
        talk_ms: 900_000,
        wrap_up_ms: 150_000,
        staffed_ms: 15 * MIN,
        state_ms: [0, 0, 0, 15 * MIN, 0, 0, 0],
        ..Counters::default()
    };
    let alice_b = Counters {
        staffed_ms: 15 * MIN,
        state_ms: [0, 15 * MIN, 0, 0, 0, 0, 0],
        ..Counters::default()
    };
    let number_a = Counters {
        offered: 22,
        blocked: 2,
        queued: 20,
        ..Counters::default()
    };
    let outside = Counters {
        offered: 999,
        ..Counters::default()
    };
    store
        .write(&[
            row(sales, a - 15 * MIN, outside),
            row(sales, a, sales_a),
            row(alice, a, alice_a),
            row(n400, a, number_a),
            row(sales, b, sales_b1),
        ])
        .unwrap();
    store
        .write(&[
            row(sales, b, sales_b2),
            row(alice, b, alice_b),
            row(sales, T0 + 8 * 60 * MIN, outside),
        ])
        .unwrap();
    path
}

/// `tandem report` over the local day 2027-01-15 at +08:00.
fn report(db: &Path, by: &str, format: &str) -> String {
    ok(&tandem(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2027-01-15",
        "--to",
        "2027-01-15",
        "--utc-offset",
        "+08:00",
        "--by",
        by,
        "--format",
        format,
    ]))
}

/// The CSV's rows as (header, records), every record as long as the
/// header.
fn table(csv: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rows = parse_csv(csv);
    let header = rows.remove(0);
    assert!(rows.iter().all(|r| r.len() == header.len()), "{csv}");
    (header, rows)
}

fn cell<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    &row[i]
}

#[test]
fn a_queue_row_merges_the_day_into_exact_kpis() {
    let db = database("by-queue");
    let (header, rows) = table(&report(&db, "queue", "csv"));
    assert_eq!(header[..3], ["kind", "name", "offered"]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    let c = |name| cell(&header, r, name);
    assert_eq!(c("kind"), "queue");
    assert_eq!(c("name"), "sales, north");
    assert_eq!(c("offered"), "20");
    assert_eq!(c("answered"), "17");
    assert_eq!(c("abandoned"), "1");
    assert_eq!(c("short_abandoned"), "2");
    assert_eq!(c("total_calls"), "20");
    // 6 + 9 answered within T of 20 − 2 short abandons.
    assert_eq!(c("service_level_pct"), "83.33");
    // (80 + 45) s of wait over 17 answers = 7.3529… s.
    assert_eq!(c("asa_s"), "7.353");
    // 1 of 18.
    assert_eq!(c("abandon_rate_pct"), "5.56");
    assert_eq!(c("avg_time_to_abandon_s"), "30.000");
    // Talk 8·180 + 9·120 = 2520 s, hold 80 s, wrap-up 8·30 + 9·20 = 420 s,
    // over 17 calls: 3020 / 17 = 177.6470… s.
    assert_eq!(c("aht_s"), "177.647");
    assert_eq!(c("avg_talk_s"), "148.235");
    assert_eq!(c("avg_hold_s"), "4.706");
    assert_eq!(c("avg_wrap_up_s"), "24.706");
    assert_eq!(c("transfer_rate_pct"), "0.00");
    // Undefined for a queue: no staffed time, no blocking.
    assert_eq!(c("occupancy_pct"), "");
    assert_eq!(c("calls_per_agent_hour"), "");
    assert_eq!(c("staffed_s"), "");
    assert_eq!(c("blocking_rate_pct"), "");
    assert_eq!(c("queue_placement_rate_pct"), "");
}

#[test]
fn agents_get_occupancy_and_calls_per_hour_and_numbers_their_rates() {
    let db = database("by-agent");
    let (header, rows) = table(&report(&db, "agent", "csv"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    let c = |name| cell(&header, &rows[0], name);
    assert_eq!(c("kind"), "agent");
    assert_eq!(c("name"), "alice");
    assert_eq!(c("staffed_s"), "1800.000");
    // 900 s talk + 150 s wrap-up of 1800 s staffed.
    assert_eq!(c("occupancy_pct"), "58.33");
    // 5 answers in half an hour.
    assert_eq!(c("calls_per_agent_hour"), "10.00");
    assert_eq!(c("aht_s"), "210.000");
    assert_eq!(c("asa_s"), "4.000");

    let (header, rows) = table(&report(&db, "number", "csv"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    let c = |name| cell(&header, &rows[0], name);
    assert_eq!(c("name"), "4001234567");
    assert_eq!(c("blocking_rate_pct"), "9.09");
    assert_eq!(c("queue_placement_rate_pct"), "90.91");
    assert_eq!(c("asa_s"), "");
    assert_eq!(c("total_calls"), "2");
}

#[test]
fn by_interval_prints_each_quarter_hour_at_the_offset() {
    let db = database("by-interval");
    let (header, rows) = table(&report(&db, "interval", "csv"));
    assert_eq!(header[..3], ["kind", "name", "interval_start"]);
    let keys: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                cell(&header, r, "interval_start"),
                cell(&header, r, "kind"),
                cell(&header, r, "name"),
                cell(&header, r, "service_level_pct"),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            (
                "2027-01-15T00:00:00+08:00",
                "queue",
                "sales, north",
                "66.67"
            ),
            ("2027-01-15T00:00:00+08:00", "agent", "alice", ""),
            ("2027-01-15T00:00:00+08:00", "number", "4001234567", "0.00"),
            // The two parts of interval B, added up: 9 of 10 − 1.
            (
                "2027-01-15T16:00:00+08:00",
                "queue",
                "sales, north",
                "100.00"
            ),
            ("2027-01-15T16:00:00+08:00", "agent", "alice", ""),
        ]
    );
}

#[test]
fn days_are_cut_at_the_utc_offset() {
    let db = database("offset");
    // In UTC, 2027-01-15 holds interval B and the row 8 h after it, not A.
    let (header, rows) = table(&ok(&tandem(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2027-01-15",
        "--to",
        "2027-01-15",
    ])));
    assert_eq!(cell(&header, &rows[0], "offered"), "1009");
    // RFC 3339 bounds: the end is excluded.
    let (header, rows) = table(&ok(&tandem(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2027-01-15T08:00:00Z",
        "--to",
        "2027-01-15T16:00:00+00:00",
    ])));
    assert_eq!(cell(&header, &rows[0], "offered"), "10");
}

/// The value of `key` in a flat JSON object of numbers, strings and nulls
/// (the strings here hold no `,"`).
fn json_value<'a>(object: &'a str, key: &str) -> &'a str {
    let pat = format!("\"{key}\":");
    let start = object
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {object}"))
        + pat.len();
    let rest = &object[start..];
    let end = rest.find(",\"").or_else(|| rest.find('}')).unwrap();
    &rest[..end]
}

#[test]
fn json_is_an_array_of_objects_with_numbers_and_nulls() {
    let db = database("json");
    let out = report(&db, "queue", "json");
    assert!(
        out.starts_with("[\n  {") && out.ends_with("}\n]\n"),
        "{out}"
    );
    let objects: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .collect();
    assert_eq!(objects.len(), 1, "{out}");
    let o = objects[0];
    assert_eq!(json_value(o, "kind"), "\"queue\"");
    assert_eq!(json_value(o, "name"), "\"sales, north\"");
    assert_eq!(json_value(o, "offered"), "20");
    assert_eq!(json_value(o, "service_level_pct"), "83.33");
    assert_eq!(json_value(o, "asa_s"), "7.353");
    assert_eq!(json_value(o, "aht_s"), "177.647");
    assert_eq!(json_value(o, "occupancy_pct"), "null");

    let out = report(&db, "interval", "json");
    let objects: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .collect();
    assert_eq!(objects.len(), 5, "{out}");
    assert_eq!(
        json_value(objects[0], "interval_start"),
        "\"2027-01-15T00:00:00+08:00\""
    );

    // Nothing in the range: an empty array, and a CSV header alone.
    let empty = |format| {
        ok(&tandem(&[
            "report",
            "--db",
            db.to_str().unwrap(),
            "--from",
            "2030-01-01",
            "--to",
            "2030-01-31",
            "--format",
            format,
        ]))
    };
    assert_eq!(empty("json"), "[]\n");
    assert_eq!(table(&empty("csv")).1.len(), 0);
}

fn assert_bad_input(out: &Output, mentions: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "want one line, got {err:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(mentions),
        "{err:?} should mention {mentions:?}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout after an error");
}

#[test]
fn bad_databases_dates_and_ranges_are_refused_with_status_2() {
    let db = database("errors");
    let db = db.to_str().unwrap();
    let missing = scratch("report", "errors-missing").join("nope.sqlite");
    let missing = missing.to_str().unwrap();
    let run = |db: &str, from: &str, to: &str, extra: &[&str]| {
        let mut args = vec!["report", "--db", db, "--from", from, "--to", to];
        args.extend(extra);
        tandem(&args)
    };
    assert_bad_input(
        &run(missing, "2027-01-15", "2027-01-15", &[]),
        "nope.sqlite",
    );
    assert_bad_input(&run(db, "2027-02-30", "2027-03-01", &[]), "--from");
    assert_bad_input(&run(db, "2027-01-15", "15.01.2027", &[]), "--to");
    assert_bad_input(&run(db, "2027-01-16", "2027-01-15", &[]), "empty");
    assert_bad_input(
        &run(db, "2027-01-15", "2027-01-15", &["--utc-offset", "+8"]),
        "--utc-offset",
    );
    // A file that is not a database at all.
    let junk = scratch("report", "errors-junk").join("junk.sqlite");
    std::fs::write(
        &junk,
        b"not a database, not even close, but long enough to look",
    )
    .unwrap();
    assert_bad_input(
        &run(junk.to_str().unwrap(), "2027-01-15", "2027-01-15", &[]),
        "junk.sqlite",
    );
}
