//! `tandem cdr list`: records written through the store's API come back
//! out of the binary as RFC 4180 CSV (header row, quoting) and as a JSON
//! array, oldest first, `--limit` keeping the newest; a missing or corrupt
//! database is one line on stderr and exit status 2.

// The store is part of the binary crate; the test builds the module itself
// to write a database exactly as the gateway does.
#[allow(dead_code)]
#[path = "../src/cdr.rs"]
mod cdr;

mod cli;

use cli::*;
use std::path::PathBuf;

use cdr::{Cdr, CdrStore, Disposition, LegRecord, Synchronous};

fn answered() -> Cdr {
    Cdr {
        call_id: "c1".into(),
        caller: "+4930123456".into(),
        callee: "4008001234".into(),
        trunk_in: "pbx".into(),
        trunk_out: Some("carrier-a".into()),
        setup_ms: 1_700_000_000_000,
        answer_ms: Some(1_700_000_002_500),
        end_ms: 1_700_000_062_500,
        q850_cause: 16,
        sip_status: Some(200),
        disposition: Disposition::Answered,
        leg_in: LegRecord {
            sip_call_id: "in-1@pbx".into(),
            codec: Some("PCMA".into()),
            packets_sent: 3000,
            packets_received: 2998,
            packets_lost: 2,
            mos: Some(4.25),
        },
        leg_out: Some(LegRecord {
            sip_call_id: "out-1@tandem".into(),
            codec: Some("PCMU".into()),
            packets_sent: 2998,
            packets_received: 3000,
            packets_lost: 0,
            mos: None,
        }),
    }
}

fn awkward() -> Cdr {
    Cdr {
        call_id: "c2".into(),
        // Display names with commas, quotes and a line break must survive
        // both formats.
        caller: "\"Smith, J\" <sip:j@x>\nline2".into(),
        callee: "tab\tback\\slash \u{1} é".into(),
        trunk_in: "pbx".into(),
        trunk_out: None,
        setup_ms: 1_700_000_100_000,
        answer_ms: None,
        end_ms: 1_700_000_101_000,
        q850_cause: 3,
        sip_status: Some(404),
        disposition: Disposition::Failed,
        leg_in: LegRecord {
            sip_call_id: "in-2@pbx".into(),
            ..LegRecord::default()
        },
        leg_out: None,
    }
}

fn busy() -> Cdr {
    Cdr {
        call_id: "c3".into(),
        setup_ms: 1_700_000_200_000,
        answer_ms: None,
        end_ms: 1_700_000_205_000,
        q850_cause: 17,
        sip_status: Some(486),
        disposition: Disposition::Busy,
        ..answered()
    }
}

fn db_with_three(test: &str) -> PathBuf {
    let path = scratch("cdr-list", test).join("cdr.sqlite");
    let mut store = CdrStore::open(&path, Synchronous::Normal).unwrap();
    for c in [answered(), awkward(), busy()] {
        store.insert(&c).unwrap();
    }
    path
}

#[test]
fn csv_has_a_header_and_quotes_what_needs_quoting() {
    let db = db_with_three("csv");
    let out = ok(&tandem(&[
        "cdr",
        "list",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "csv",
    ]));
    let rows = parse_csv(&out);
    assert_eq!(rows.len(), 4, "{out}");
    let header = &rows[0];
    assert_eq!(header.len(), 24);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert!(rows.iter().all(|r| r.len() == 24), "{rows:?}");
    let (a, w, b) = (&rows[1], &rows[2], &rows[3]);
    assert_eq!(a[col("call_id")], "c1");
    assert_eq!(a[col("caller")], "+4930123456");
    assert_eq!(a[col("duration_ms")], "60000");
    assert_eq!(a[col("disposition")], "answered");
    assert_eq!(a[col("in_mos")], "4.25");
    assert_eq!(a[col("out_mos")], "");
    assert_eq!(a[col("sip_call_id_out")], "out-1@tandem");
    assert_eq!(w[col("caller")], "\"Smith, J\" <sip:j@x>\nline2");
    assert_eq!(w[col("callee")], "tab\tback\\slash \u{1} é");
    assert_eq!(w[col("answer_ms")], "");
    assert_eq!(w[col("trunk_out")], "");
    assert_eq!(w[col("duration_ms")], "0");
    assert_eq!(w[col("q850_cause")], "3");
    assert_eq!(b[col("disposition")], "busy");
    assert_eq!(b[col("sip_status")], "486");
}

#[test]
fn json_is_an_array_of_objects_with_escaped_strings() {
    let db = db_with_three("json");
    let out = ok(&tandem(&[
        "cdr",
        "list",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let t = out.trim_end();
    assert!(
        t.starts_with("[\n  {\"call_id\":\"c1\",") && t.ends_with("}\n]"),
        "{out}"
    );
    assert_eq!(t.matches("{\"call_id\":").count(), 3);
    for want in [
        r#""caller":"+4930123456""#,
        r#""answer_ms":1700000002500"#,
        r#""in_mos":4.25"#,
        r#""out_mos":null"#,
        r#""caller":"\"Smith, J\" <sip:j@x>\nline2""#,
        r#""callee":"tab\tback\\slash \u0001 é""#,
        r#""trunk_out":null"#,
        r#""disposition":"busy""#,
    ] {
        assert!(out.contains(want), "missing {want} in\n{out}");
    }
    // No raw control characters inside the document.
    assert!(!t.chars().any(|c| c < ' ' && c != '\n'), "{out:?}");
}

#[test]
fn limit_keeps_the_newest_and_an_empty_store_is_empty() {
    let db = db_with_three("limit");
    let db = db.to_str().unwrap();
    let out = ok(&tandem(&["cdr", "list", "--db", db, "--limit", "2"]));
    let ids: Vec<String> = parse_csv(&out)[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, ["c2", "c3"]);

    let empty = scratch("cdr-list", "empty").join("cdr.sqlite");
    drop(CdrStore::open(&empty, Synchronous::Normal).unwrap());
    let e = empty.to_str().unwrap();
    assert_eq!(
        ok(&tandem(&["cdr", "list", "--db", e, "--format", "json"])),
        "[]\n"
    );
    assert_eq!(
        parse_csv(&ok(&tandem(&["cdr", "list", "--db", e]))).len(),
        1
    );
}

#[test]
fn missing_or_corrupt_databases_are_bad_input() {
    let dir = scratch("cdr-list", "bad");
    let missing = dir.join("none.sqlite");
    let junk = dir.join("junk.sqlite");
    std::fs::write(&junk, vec![0x5a; 4096]).unwrap();
    for (path, want) in [
        (&missing, "cannot open"),
        (&junk, "not a SQLite database, or damaged"),
    ] {
        let out = tandem(&["cdr", "list", "--db", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(want) && err.contains(path.to_str().unwrap()),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    assert!(!missing.exists(), "listing never creates a database");
}
