//! Call-center KPI intervals in SQLite, next to the call records.
//!
//! The KPI engine (`tandem_callcenter::kpi::KpiEngine`) closes a
//! 15-minute interval at every UTC quarter hour and hands out one
//! [`IntervalRow`] per queue, agent and 400 number that had something in
//! it. The run loop stores those rows here with [`KpiStore::write`];
//! `tandem report` reads them back with [`KpiStore::query`], merges them
//! over any range of time and prints the KPIs of CALLCENTER.md ("KPI
//! definitions": service level, ASA, abandon rate, average time to
//! abandon, AHT, occupancy, calls per agent-hour, transfer, blocking and
//! queue placement rates), computed by `Counters`' methods exactly as the
//! live engine computes them. Rows hold only counts and millisecond sums,
//! never averages, so a day, a week or a month is the
//! [`merge`](Counters::merge) of its rows and every KPI of the merge is
//! exact.
//!
//! # Schema
//!
//! One table in the call-record database (the same file, the same
//! connection settings: WAL, `synchronous` from `[cdr]`), created by the
//! call-record schema's migration 1 → 2 ([`crate::cdr::MIGRATIONS`]), so
//! it shares its version check: a file from a newer Tandem is refused, an
//! older one is upgraded when the gateway opens it.
//!
//! ```sql
//! CREATE TABLE kpi_intervals (
//!     start_ms INTEGER NOT NULL,  -- the interval's start, unix ms (a UTC quarter hour)
//!     kind     TEXT    NOT NULL,  -- 'queue', 'agent' or 'number'
//!     entity   TEXT    NOT NULL,  -- the queue's, agent's or number's name
//!     offered INTEGER NOT NULL DEFAULT 0, ...  -- one column per counter, see COLUMNS
//!     PRIMARY KEY (start_ms, kind, entity)
//! ) WITHOUT ROWID;
//! ```
//!
//! The counter columns are [`COLUMNS`], one per `Counters` field, with
//! `spilled` split by reason (`spilled_queue_full`, …) and `state_ms` by
//! agent state (`state_available_ms`, …; logged-out time is never kept).
//!
//! # Upsert adds
//!
//! The engine's `flush` (at shutdown) emits the part of the current
//! interval seen so far; after a restart, the rest of that interval comes
//! as another row with the same start and entity. [`KpiStore::write`]
//! therefore **adds** a row to an existing one (`INSERT … ON CONFLICT DO
//! UPDATE SET col = col + excluded.col`, saturating at `i64::MAX`). Every
//! batch is one transaction.
//!
//! Rows are keyed by name, not by the engine's dense ids, so that a report
//! still reads right after the configuration renumbered its queues.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::types::{Value, ValueRef};
use tandem_callcenter::Timestamp;
use tandem_callcenter::kpi::{Counters, Entity, EntityKind, IntervalRow, Kpis};

use crate::cdr::{CdrError, CdrStore, Synchronous};

/// The counter columns of `kpi_intervals`, in the order of
/// [`counter_values`] and [`counters_from_values`].
pub(crate) const COLUMNS: [&str; 27] = [
    "offered",
    "queued",
    "answered",
    "answered_within_threshold",
    "abandoned",
    "short_abandoned",
    "spilled_queue_full",
    "spilled_estimated_wait",
    "spilled_max_wait",
    "spilled_no_agents",
    "spilled_caller_exit",
    "ring_no_answer",
    "handled",
    "transferred",
    "blocked",
    "answered_wait_ms",
    "abandoned_wait_ms",
    "talk_ms",
    "hold_ms",
    "wrap_up_ms",
    "staffed_ms",
    "state_available_ms",
    "state_ringing_ms",
    "state_on_call_ms",
    "state_on_hold_ms",
    "state_wrap_up_ms",
    "state_paused_ms",
];

/// Every field of `c`, in [`COLUMNS`] order (`state_ms[0]`, logged-out
/// time, which the engine never counts, is left out).
pub(crate) fn counter_values(c: &Counters) -> [u64; 27] {
    let [s0, s1, s2, s3, s4] = c.spilled;
    let [_, a1, a2, a3, a4, a5, a6] = c.state_ms;
    [
        c.offered,
        c.queued,
        c.answered,
        c.answered_within_threshold,
        c.abandoned,
        c.short_abandoned,
        s0,
        s1,
        s2,
        s3,
        s4,
        c.ring_no_answer,
        c.handled,
        c.transferred,
        c.blocked,
        c.answered_wait_ms,
        c.abandoned_wait_ms,
        c.talk_ms,
        c.hold_ms,
        c.wrap_up_ms,
        c.staffed_ms,
        a1,
        a2,
        a3,
        a4,
        a5,
        a6,
    ]
}

/// The inverse of [`counter_values`].
pub(crate) fn counters_from_values(v: [u64; 27]) -> Counters {
    let [
        offered,
        queued,
        answered,
        answered_within_threshold,
        abandoned,
        short_abandoned,
        s0,
        s1,
        s2,
        s3,
        s4,
        ring_no_answer,
        handled,
        transferred,
        blocked,
        answered_wait_ms,
        abandoned_wait_ms,
        talk_ms,
        hold_ms,
        wrap_up_ms,
        staffed_ms,
        a1,
        a2,
        a3,
        a4,
        a5,
        a6,
    ] = v;
    Counters {
        offered,
        queued,
        answered,
        answered_within_threshold,
        abandoned,
        short_abandoned,
        spilled: [s0, s1, s2, s3, s4],
        ring_no_answer,
        handled,
        transferred,
        blocked,
        answered_wait_ms,
        abandoned_wait_ms,
        talk_ms,
        hold_ms,
        wrap_up_ms,
        staffed_ms,
        state_ms: [0, a1, a2, a3, a4, a5, a6],
    }
}

/// Names of the queues, agents and numbers, indexed by their dense ids
/// (`QueueId(i)` is `queues[i]`), as the configuration hands them out.
/// An id without a name is shown as the engine's label (`queue-3`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EntityNames<'a> {
    /// Queue names by `QueueId`.
    pub(crate) queues: &'a [String],
    /// Agent names by `AgentId`.
    pub(crate) agents: &'a [String],
    /// 400 numbers by `NumberId`.
    pub(crate) numbers: &'a [String],
}

impl EntityNames<'_> {
    /// The name stored and exported for `entity`.
    pub(crate) fn name(&self, entity: Entity) -> Cow<'_, str> {
        let names = match entity.kind() {
            EntityKind::Queue => self.queues,
            EntityKind::Agent => self.agents,
            EntityKind::Number => self.numbers,
        };
        match names.get(entity.id() as usize) {
            Some(n) => Cow::Borrowed(n),
            None => Cow::Owned(entity.to_string()),
        }
    }
}

/// How [`KpiStore::query`] groups rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum By {
    /// One row per queue over the whole range.
    Queue,
    /// One row per agent over the whole range.
    Agent,
    /// One row per 400 number over the whole range.
    Number,
    /// One row per interval, kind and entity (queues, agents and numbers).
    Interval,
}

/// One line of a report: an entity's counters merged over the range (or
/// over one interval), with their KPIs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReportRow {
    /// Queue, agent or number.
    pub(crate) kind: EntityKind,
    /// Its name.
    pub(crate) name: String,
    /// The interval's start, for [`By::Interval`]; `None` otherwise.
    pub(crate) start: Option<Timestamp>,
    /// The merged counters.
    pub(crate) counters: Counters,
    /// `counters.kpis()`.
    pub(crate) kpis: Kpis,
}

/// The `kind` column's value.
fn kind_from_str(s: &str) -> Option<EntityKind> {
    [EntityKind::Queue, EntityKind::Agent, EntityKind::Number]
        .into_iter()
        .find(|k| k.as_str() == s)
}

/// The sort rank of a kind: queues, then agents, then numbers.
fn kind_rank(k: EntityKind) -> u8 {
    match k {
        EntityKind::Queue => 0,
        EntityKind::Agent => 1,
        EntityKind::Number => 2,
    }
}

/// An INTEGER column as a count: a negative or non-integer value (never
/// written by Tandem) reads as 0, a REAL as its saturated integer part.
fn stored_count(v: ValueRef<'_>) -> u64 {
    match v {
        ValueRef::Integer(i) => u64::try_from(i).unwrap_or(0),
        // `as` saturates, and NaN becomes 0.
        ValueRef::Real(x) => x as u64,
        _ => 0,
    }
}

/// A count as an SQLite INTEGER, saturating at `i64::MAX`.
fn to_sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The upsert: insert the row, or add every counter to the stored one,
/// saturating at `i64::MAX` (SQLite would turn an overflowing sum into a
/// REAL).
fn upsert_sql() -> String {
    let cols = COLUMNS.join(", ");
    let params: Vec<String> = (4..4 + COLUMNS.len()).map(|i| format!("?{i}")).collect();
    let sets: Vec<String> = COLUMNS
        .iter()
        .map(|c| {
            format!(
                "{c} = CASE WHEN excluded.{c} > 9223372036854775807 - {c} \
                 THEN 9223372036854775807 ELSE {c} + excluded.{c} END"
            )
        })
        .collect();
    format!(
        "INSERT INTO kpi_intervals (start_ms, kind, entity, {cols}) VALUES (?1, ?2, ?3, {}) \
         ON CONFLICT (start_ms, kind, entity) DO UPDATE SET {}",
        params.join(", "),
        sets.join(", ")
    )
}

/// The KPI interval table of a call-record database. Not `Sync`: one
/// thread owns it (the run loop; the CLI for `tandem report`).
#[derive(Debug)]
pub(crate) struct KpiStore {
    store: CdrStore,
}

impl KpiStore {
    /// Opens (creating if needed) the database for writing, with the
    /// call-record store's checks and settings: it must be Tandem's (or
    /// new), not from a newer Tandem, writable, in WAL mode; the schema is
    /// upgraded in place. Open it on the `[cdr] database` path with the
    /// `[cdr] synchronous` setting; the call-record writer's own
    /// connection to the same file is no obstacle (WAL, busy timeout).
    pub(crate) fn open(path: &Path, sync: Synchronous) -> Result<KpiStore, CdrError> {
        Ok(KpiStore {
            store: CdrStore::open(path, sync)?,
        })
    }

    /// Opens an existing database for reading only (`tandem report`, safe
    /// while the gateway writes to it). Never creates or upgrades.
    pub(crate) fn open_read_only(path: &Path) -> Result<KpiStore, CdrError> {
        Ok(KpiStore {
            store: CdrStore::open_read_only(path)?,
        })
    }

    /// Stores rows, each with the name of its entity (resolve them with
    /// [`EntityNames::name`]), in one transaction: all or none. A row
    /// whose interval, kind and name are already stored is added to it.
    pub(crate) fn write(&mut self, rows: &[(IntervalRow, String)]) -> Result<(), CdrError> {
        if rows.is_empty() {
            return Ok(());
        }
        let path = self.store.path().to_path_buf();
        let err = move |e: rusqlite::Error| CdrError::Sqlite {
            path: path.clone(),
            detail: format!("kpi_intervals: {e}"),
        };
        let sql = upsert_sql();
        let tx = self.store.connection().transaction().map_err(&err)?;
        {
            let mut stmt = tx.prepare_cached(&sql).map_err(&err)?;
            for (row, name) in rows {
                let mut values: Vec<Value> = Vec::with_capacity(3 + COLUMNS.len());
                values.push(Value::Integer(to_sql(row.start.as_millis())));
                values.push(Value::Text(row.entity.kind().as_str().to_owned()));
                values.push(Value::Text(name.clone()));
                values.extend(
                    counter_values(&row.counters)
                        .into_iter()
                        .map(|v| Value::Integer(to_sql(v))),
                );
                stmt.execute(rusqlite::params_from_iter(values))
                    .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)
    }

    /// The rows of the intervals that start in `[from, to)`, grouped as
    /// `by` says and merged with [`Counters::merge`], with their KPIs.
    ///
    /// Order: by entity — queues, agents, then numbers, each by name; by
    /// interval — by start, then the same.
    pub(crate) fn query(
        &mut self,
        from: Timestamp,
        to: Timestamp,
        by: By,
    ) -> Result<Vec<ReportRow>, CdrError> {
        let kind = match by {
            By::Queue => Some(EntityKind::Queue),
            By::Agent => Some(EntityKind::Agent),
            By::Number => Some(EntityKind::Number),
            By::Interval => None,
        };
        let mut sql = format!(
            "SELECT start_ms, kind, entity, {} FROM kpi_intervals \
             WHERE start_ms >= ?1 AND start_ms < ?2",
            COLUMNS.join(", ")
        );
        if kind.is_some() {
            sql.push_str(" AND kind = ?3");
        }
        let path = self.store.path().to_path_buf();
        let err = |e: rusqlite::Error| CdrError::Sqlite {
            path: path.clone(),
            detail: format!("kpi_intervals: {e}"),
        };
        // Key: (start, kind rank, name); start is 0 unless by interval.
        let mut merged: BTreeMap<(u64, u8, String), (EntityKind, Counters)> = BTreeMap::new();
        let mut bad_kind: Option<String> = None;
        let conn = self.store.connection();
        let mut stmt = conn.prepare(&sql).map_err(err)?;
        let (from, to) = (to_sql(from.as_millis()), to_sql(to.as_millis()));
        let mut rows = match kind {
            Some(k) => stmt.query(rusqlite::params![from, to, k.as_str()]),
            None => stmt.query(rusqlite::params![from, to]),
        }
        .map_err(err)?;
        while let Some(row) = rows.next().map_err(err)? {
            let count = |i: usize| row.get_ref(i).map(stored_count).unwrap_or(0);
            let text = |i: usize| match row.get_ref(i) {
                Ok(ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
                Ok(ValueRef::Integer(n)) => n.to_string(),
                _ => String::new(),
            };
            let kind_text = text(1);
            let Some(k) = kind_from_str(&kind_text) else {
                bad_kind = Some(kind_text);
                break;
            };
            let mut values = [0u64; 27];
            for (i, v) in values.iter_mut().enumerate() {
                *v = count(3 + i);
            }
            let start = if by == By::Interval { count(0) } else { 0 };
            merged
                .entry((start, kind_rank(k), text(2)))
                .or_insert((k, Counters::default()))
                .1
                .merge(&counters_from_values(values));
        }
        drop(rows);
        drop(stmt);
        if let Some(k) = bad_kind {
            return Err(CdrError::Sqlite {
                path,
                detail: format!("kpi_intervals: a row of unknown kind {k:?}"),
            });
        }
        Ok(merged
            .into_iter()
            .map(|((start, _, name), (kind, counters))| ReportRow {
                kind,
                name,
                start: (by == By::Interval).then_some(Timestamp(start)),
                kpis: counters.kpis(),
                counters,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tandem_callcenter::{AgentId, NumberId, QueueId};

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tandem-kpi-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.sqlite"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        path
    }

    /// 2027-01-15T08:00:00Z and the quarter hours after it.
    fn quarter(n: u64) -> Timestamp {
        Timestamp::from_secs(1_800_000_000 + n * 900)
    }

    fn row(entity: Entity, start: Timestamp, counters: Counters) -> IntervalRow {
        IntervalRow {
            entity,
            start,
            counters,
        }
    }

    /// A counter set with every field distinct and non-zero (but
    /// logged-out time, which is never stored).
    fn every_field(base: u64) -> Counters {
        let mut v = [0u64; 27];
        for (i, x) in v.iter_mut().enumerate() {
            *x = base + i as u64;
        }
        counters_from_values(v)
    }

    #[test]
    fn columns_match_the_table_and_counters_round_trip() {
        let path = scratch("columns");
        let mut store = KpiStore::open(&path, Synchronous::Normal).unwrap();
        let conn = store.store.connection();
        let mut stmt = conn.prepare("PRAGMA table_info(kpi_intervals)").unwrap();
        let names: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(1))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(names[..3], ["start_ms", "kind", "entity"]);
        assert_eq!(names[3..], COLUMNS);
        let c = every_field(1);
        assert_eq!(counters_from_values(counter_values(&c)), c);
        assert_eq!(c.spilled, [7, 8, 9, 10, 11]);
        assert_eq!(c.state_ms, [0, 22, 23, 24, 25, 26, 27]);
    }

    #[test]
    fn an_upsert_adds_to_the_stored_row() {
        let path = scratch("upsert");
        let mut store = KpiStore::open(&path, Synchronous::Normal).unwrap();
        let q = Entity::Queue(QueueId(0));
        // A flushed partial interval, then the rest of it, then a later one.
        let first = every_field(1);
        let rest = every_field(100);
        store
            .write(&[(row(q, quarter(0), first), "sales".into())])
            .unwrap();
        store
            .write(&[
                (row(q, quarter(0), rest), "sales".into()),
                (row(q, quarter(1), first), "sales".into()),
            ])
            .unwrap();
        let mut sum = first;
        sum.merge(&rest);
        let got = store.query(quarter(0), quarter(2), By::Interval).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].start, Some(quarter(0)));
        assert_eq!(got[0].counters, sum);
        assert_eq!(got[1].start, Some(quarter(1)));
        assert_eq!(got[1].counters, first);
        // The sum saturates instead of turning into a REAL.
        let big = counters_from_values([u64::MAX; 27]);
        store
            .write(&[(row(q, quarter(1), big), "sales".into())])
            .unwrap();
        let got = store.query(quarter(1), quarter(2), By::Queue).unwrap();
        assert_eq!(got[0].counters.offered, i64::MAX as u64);
        // An empty batch writes nothing and succeeds.
        store.write(&[]).unwrap();
    }

    #[test]
    fn a_query_merges_rows_per_entity_or_per_interval() {
        let path = scratch("merge");
        let mut store = KpiStore::open(&path, Synchronous::Normal).unwrap();
        let sales = Entity::Queue(QueueId(0));
        let support = Entity::Queue(QueueId(1));
        let alice = Entity::Agent(AgentId(0));
        let n400 = Entity::Number(NumberId(0));
        let calls = |offered, within, wait_ms| Counters {
            offered,
            answered: offered,
            answered_within_threshold: within,
            answered_wait_ms: wait_ms,
            ..Counters::default()
        };
        store
            .write(&[
                (row(sales, quarter(0), calls(10, 8, 60_000)), "sales".into()),
                (
                    row(support, quarter(0), calls(4, 4, 4_000)),
                    "support".into(),
                ),
                (row(alice, quarter(0), calls(3, 3, 3_000)), "alice".into()),
                (
                    row(n400, quarter(0), calls(14, 12, 64_000)),
                    "4001234567".into(),
                ),
                (
                    row(sales, quarter(1), calls(30, 12, 180_000)),
                    "sales".into(),
                ),
                // Outside [quarter(0), quarter(2)).
                (row(sales, quarter(2), calls(99, 0, 0)), "sales".into()),
            ])
            .unwrap();
        let queues = store.query(quarter(0), quarter(2), By::Queue).unwrap();
        let names: Vec<&str> = queues.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["sales", "support"]);
        let sales_row = &queues[0];
        assert_eq!(sales_row.kind, EntityKind::Queue);
        assert_eq!(sales_row.start, None);
        assert_eq!(sales_row.counters.offered, 40);
        // (8 + 12) within T of 40 offered; 240 s of wait over 40 answers.
        assert_eq!(sales_row.kpis.service_level, Some(0.5));
        assert_eq!(sales_row.kpis.asa, Some(std::time::Duration::from_secs(6)));
        let agents = store.query(quarter(0), quarter(2), By::Agent).unwrap();
        assert_eq!(agents.len(), 1);
        assert_eq!(agents[0].kind, EntityKind::Agent);
        let numbers = store.query(quarter(0), quarter(2), By::Number).unwrap();
        assert_eq!(numbers[0].name, "4001234567");
        let all = store.query(quarter(0), quarter(3), By::Interval).unwrap();
        let keys: Vec<(Option<Timestamp>, EntityKind, &str)> = all
            .iter()
            .map(|r| (r.start, r.kind, r.name.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                (Some(quarter(0)), EntityKind::Queue, "sales"),
                (Some(quarter(0)), EntityKind::Queue, "support"),
                (Some(quarter(0)), EntityKind::Agent, "alice"),
                (Some(quarter(0)), EntityKind::Number, "4001234567"),
                (Some(quarter(1)), EntityKind::Queue, "sales"),
                (Some(quarter(2)), EntityKind::Queue, "sales"),
            ]
        );
        assert!(
            store
                .query(quarter(3), quarter(9), By::Queue)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn the_reader_sees_the_writers_rows_and_refuses_a_missing_file() {
        let path = scratch("reader");
        let mut writer = KpiStore::open(&path, Synchronous::Full).unwrap();
        let q = Entity::Queue(QueueId(2));
        writer
            .write(&[(row(q, quarter(0), every_field(5)), "q2".into())])
            .unwrap();
        let mut reader = KpiStore::open_read_only(&path).unwrap();
        let got = reader.query(quarter(0), quarter(1), By::Queue).unwrap();
        assert_eq!(got[0].counters, every_field(5));
        let missing = scratch("missing");
        let e = KpiStore::open_read_only(&missing).unwrap_err();
        assert!(matches!(e, CdrError::Open { .. }), "{e}");
    }

    #[test]
    fn names_come_from_the_configuration_or_the_engine_label() {
        let queues = vec!["sales".to_string()];
        let names = EntityNames {
            queues: &queues,
            ..EntityNames::default()
        };
        assert_eq!(names.name(Entity::Queue(QueueId(0))), "sales");
        assert_eq!(names.name(Entity::Queue(QueueId(1))), "queue-1");
        assert_eq!(names.name(Entity::Agent(AgentId(0))), "agent-0");
    }
}
