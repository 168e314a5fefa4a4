//! Call detail records in SQLite.
//!
//! Every finished call leaves one row: who called whom, over which trunks,
//! when it was set up, answered and ended, why it ended (Q.850 cause and
//! SIP status), and per leg the SIP Call-ID, codec, packet counts and MOS.
//! [`CdrStore`] is the table; [`CdrWriter`] is the thread in front of it
//! that the gateway uses, which commits records in groups.
//!
//! # Durability
//!
//! The database runs in WAL mode with `synchronous = NORMAL` by default.
//! [`CdrStore::insert`] (and a [`CdrWriter`] acknowledgement) returns only
//! after the record's transaction has committed, that is after its frames
//! were `write(2)`n to the `-wal` file. From then on the record lives in the
//! operating system's page cache, which belongs to the kernel, not to our
//! process: a crash, a panic or `kill -9` of `tandem` loses no acknowledged
//! record, and the next open replays the WAL. What NORMAL gives up is the
//! `fsync` per commit (SQLite syncs the WAL only at checkpoints), so a power
//! loss or kernel crash can lose the last commits. Carriers who need
//! power-loss safety set `[cdr] synchronous = "full"`: one `fsync` per
//! commit, which group commit amortises over the batch.
//!
//! # Throughput: group commit
//!
//! The target is 1,000 finished calls per second on a two-core machine.
//! Measured single-row commits (the ignored test `insert_rate`, run by hand)
//! keep up with NORMAL but not with FULL, where each commit waits for the
//! disk. [`CdrWriter`] therefore takes records through a bounded queue and
//! commits everything waiting in one transaction: at low load a record is
//! committed alone and at once; under load batches grow by themselves while
//! the previous commit is in flight. Each record's acknowledgement runs
//! after its batch commits, and the caller frees the call's resources only
//! then, so no record is ever acknowledged and lost.
//!
//! When the queue is full, [`CdrWriter::submit`] blocks until there is room
//! (counted in `tandem_cdr_queue_full_total`) instead of dropping the
//! record. That stalls the caller for as long as the disk is behind — a
//! deliberate trade: a slow call teardown is visible and recovers; a lost
//! record is money. If a commit fails (disk full, I/O error), each record is
//! retried alone, and one that still fails is printed on stderr as a JSON
//! line starting `tandem: cdr NOT STORED` (journald keeps it; the JSON can be
//! re-imported) and acknowledged with the error.
//!
//! # Schema and migrations
//!
//! The schema version is SQLite's `user_version`; `application_id` marks
//! the file as Tandem's. [`MIGRATIONS`]`[i]` takes version `i` to `i + 1`;
//! opening applies the missing ones, each in its own transaction, so a
//! database from any older Tandem is upgraded in place at start, and a
//! database from a newer Tandem is refused rather than misread. A new
//! column is a new migration (`ALTER TABLE cdr ADD COLUMN ...`), never an
//! edit of an old one. The same file, and so the same migrations, also
//! hold the call-center KPI intervals (`kpi_intervals`, see `kpi_store`),
//! the REST API's audit log (`audit_log`, see `api::audit`) and the
//! voicemail index (`voicemail`, see `voicemail`).
//!
//! # Metrics (of [`CdrWriter`])
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `tandem_cdr_records_written_total` | counter | records committed |
//! | `tandem_cdr_write_errors_total` | counter | records that could not be stored (printed on stderr) |
//! | `tandem_cdr_commits_total` | counter | transactions committed (records / commits = mean batch) |
//! | `tandem_cdr_queue_full_total` | counter | submissions that had to wait for room in the queue |
//! | `tandem_cdr_queue_depth` | gauge | records waiting to be committed |

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

use prometheus::{IntCounter, IntGauge, Registry};
use rusqlite::{Connection, OpenFlags, params};

/// `application_id` of a Tandem CDR database ("TAND").
pub(crate) const APPLICATION_ID: i32 = 0x5441_4E44;

/// Schema migrations: entry `i` upgrades `user_version` `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema.
    "CREATE TABLE cdr (
        id                   INTEGER PRIMARY KEY,
        call_id              TEXT    NOT NULL,
        sip_call_id_in       TEXT    NOT NULL,
        sip_call_id_out      TEXT,
        caller               TEXT    NOT NULL,
        callee               TEXT    NOT NULL,
        trunk_in             TEXT    NOT NULL,
        trunk_out            TEXT,
        setup_ms             INTEGER NOT NULL,
        answer_ms            INTEGER,
        end_ms               INTEGER NOT NULL,
        duration_ms          INTEGER NOT NULL,
        q850_cause           INTEGER NOT NULL,
        sip_status           INTEGER,
        disposition          TEXT    NOT NULL,
        codec_in             TEXT,
        codec_out            TEXT,
        in_packets_sent      INTEGER NOT NULL,
        in_packets_received  INTEGER NOT NULL,
        in_packets_lost      INTEGER NOT NULL,
        in_mos               REAL,
        out_packets_sent     INTEGER,
        out_packets_received INTEGER,
        out_packets_lost     INTEGER,
        out_mos              REAL
    );
    CREATE INDEX cdr_by_call_id ON cdr (call_id);
    CREATE INDEX cdr_by_end ON cdr (end_ms);",
    // 1 -> 2: call-center KPIs per 15-minute interval (`kpi_store`); one
    // column per `tandem_callcenter::kpi::Counters` field, added to by upsert.
    "CREATE TABLE kpi_intervals (
        start_ms                  INTEGER NOT NULL,
        kind                      TEXT    NOT NULL CHECK (kind IN ('queue', 'agent', 'number')),
        entity                    TEXT    NOT NULL,
        offered                   INTEGER NOT NULL DEFAULT 0,
        queued                    INTEGER NOT NULL DEFAULT 0,
        answered                  INTEGER NOT NULL DEFAULT 0,
        answered_within_threshold INTEGER NOT NULL DEFAULT 0,
        abandoned                 INTEGER NOT NULL DEFAULT 0,
        short_abandoned           INTEGER NOT NULL DEFAULT 0,
        spilled_queue_full        INTEGER NOT NULL DEFAULT 0,
        spilled_estimated_wait    INTEGER NOT NULL DEFAULT 0,
        spilled_max_wait          INTEGER NOT NULL DEFAULT 0,
        spilled_no_agents         INTEGER NOT NULL DEFAULT 0,
        spilled_caller_exit       INTEGER NOT NULL DEFAULT 0,
        ring_no_answer            INTEGER NOT NULL DEFAULT 0,
        handled                   INTEGER NOT NULL DEFAULT 0,
        transferred               INTEGER NOT NULL DEFAULT 0,
        blocked                   INTEGER NOT NULL DEFAULT 0,
        answered_wait_ms          INTEGER NOT NULL DEFAULT 0,
        abandoned_wait_ms         INTEGER NOT NULL DEFAULT 0,
        talk_ms                   INTEGER NOT NULL DEFAULT 0,
        hold_ms                   INTEGER NOT NULL DEFAULT 0,
        wrap_up_ms                INTEGER NOT NULL DEFAULT 0,
        staffed_ms                INTEGER NOT NULL DEFAULT 0,
        state_available_ms        INTEGER NOT NULL DEFAULT 0,
        state_ringing_ms          INTEGER NOT NULL DEFAULT 0,
        state_on_call_ms          INTEGER NOT NULL DEFAULT 0,
        state_on_hold_ms          INTEGER NOT NULL DEFAULT 0,
        state_wrap_up_ms          INTEGER NOT NULL DEFAULT 0,
        state_paused_ms           INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (start_ms, kind, entity)
    ) WITHOUT ROWID;",
    // 2 -> 3: the REST API's audit log (`crate::api::audit`): one row per
    // change made through the API, who (the token's name), what, when.
    "CREATE TABLE audit_log (
        id     INTEGER PRIMARY KEY,
        at_ms  INTEGER NOT NULL,
        who    TEXT    NOT NULL,
        action TEXT    NOT NULL,
        target TEXT    NOT NULL,
        detail TEXT    NOT NULL
    );
    CREATE INDEX audit_log_by_at ON audit_log (at_ms);",
    // 3 -> 4: the voicemail index (`crate::voicemail`): one row per message
    // kept, its WAV file at `path`; the caller is on `caller_channel`.
    "CREATE TABLE voicemail (
        id             INTEGER PRIMARY KEY,
        box            TEXT    NOT NULL,
        caller         TEXT    NOT NULL,
        number         TEXT    NOT NULL,
        received_ms    INTEGER NOT NULL,
        duration_ms    INTEGER NOT NULL,
        path           TEXT    NOT NULL,
        heard          INTEGER NOT NULL DEFAULT 0,
        caller_channel TEXT    NOT NULL DEFAULT 'left'
    );
    CREATE INDEX voicemail_by_box ON voicemail (box, received_ms);",
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// SQLite's `synchronous` setting; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Synchronous {
    /// Survives any crash of the process; a power loss may lose the last
    /// commits.
    #[default]
    Normal,
    /// Survives power loss too: one `fsync` per commit.
    Full,
}

/// How a call ended, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Disposition {
    /// Answered (then cleared by either side).
    Answered,
    /// The called party was busy (Q.850 17, SIP 486/600).
    Busy,
    /// Rang out unanswered (Q.850 18/19, SIP 408/480).
    NoAnswer,
    /// Could not be completed: no route, trunk down, rejected.
    Failed,
    /// The caller hung up before an answer (SIP CANCEL).
    Cancelled,
}

impl Disposition {
    /// Every disposition.
    pub(crate) const ALL: [Disposition; 5] = [
        Disposition::Answered,
        Disposition::Busy,
        Disposition::NoAnswer,
        Disposition::Failed,
        Disposition::Cancelled,
    ];

    /// The name stored and printed.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Disposition::Answered => "answered",
            Disposition::Busy => "busy",
            Disposition::NoAnswer => "no-answer",
            Disposition::Failed => "failed",
            Disposition::Cancelled => "cancelled",
        }
    }

    /// The disposition named `s`.
    pub(crate) fn from_name(s: &str) -> Option<Disposition> {
        Disposition::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// One leg's share of a record.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct LegRecord {
    /// The leg's SIP Call-ID.
    pub(crate) sip_call_id: String,
    /// The negotiated codec (`PCMA`, `L16/16000`), if media was set up.
    pub(crate) codec: Option<String>,
    /// RTP packets we sent on this leg.
    pub(crate) packets_sent: u64,
    /// RTP packets we received on this leg.
    pub(crate) packets_received: u64,
    /// RTP packets lost towards us (sequence gaps).
    pub(crate) packets_lost: u64,
    /// Estimated MOS (1.0–4.5), if RTCP or our own measurement gave one.
    pub(crate) mos: Option<f64>,
}

/// One finished call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cdr {
    /// Our id of the call.
    pub(crate) call_id: String,
    /// Calling number or user as received.
    pub(crate) caller: String,
    /// Called number as received.
    pub(crate) callee: String,
    /// The trunk the call came in on.
    pub(crate) trunk_in: String,
    /// The trunk that carried it out, if any got that far.
    pub(crate) trunk_out: Option<String>,
    /// When the call arrived (unix ms).
    pub(crate) setup_ms: i64,
    /// When it was answered (unix ms).
    pub(crate) answer_ms: Option<i64>,
    /// When it ended (unix ms).
    pub(crate) end_ms: i64,
    /// Q.850 cause of the release.
    pub(crate) q850_cause: u8,
    /// The final SIP status sent to the caller, if the inbound side is SIP.
    pub(crate) sip_status: Option<u16>,
    /// How it ended.
    pub(crate) disposition: Disposition,
    /// The inbound leg.
    pub(crate) leg_in: LegRecord,
    /// The outbound leg, if one was attempted.
    pub(crate) leg_out: Option<LegRecord>,
}

impl Cdr {
    /// Billable time: from answer to end, 0 when unanswered (or when the
    /// clock went backwards).
    pub(crate) fn duration_ms(&self) -> i64 {
        self.answer_ms
            .map_or(0, |a| self.end_ms.saturating_sub(a).max(0))
    }

    /// Column names, in the order of [`Cdr::fields`]: the CSV header and the
    /// JSON keys.
    pub(crate) const COLUMNS: [&'static str; 24] = [
        "call_id",
        "sip_call_id_in",
        "sip_call_id_out",
        "caller",
        "callee",
        "trunk_in",
        "trunk_out",
        "setup_ms",
        "answer_ms",
        "end_ms",
        "duration_ms",
        "q850_cause",
        "sip_status",
        "disposition",
        "codec_in",
        "codec_out",
        "in_packets_sent",
        "in_packets_received",
        "in_packets_lost",
        "in_mos",
        "out_packets_sent",
        "out_packets_received",
        "out_packets_lost",
        "out_mos",
    ];

    /// The record as typed fields, in [`Cdr::COLUMNS`] order.
    pub(crate) fn fields(&self) -> [Field<'_>; 24] {
        let out = self.leg_out.as_ref();
        let n = |v: u64| Field::Int(Some(i64::try_from(v).unwrap_or(i64::MAX)));
        let on = |f: fn(&LegRecord) -> u64| {
            Field::Int(out.map(|l| i64::try_from(f(l)).unwrap_or(i64::MAX)))
        };
        [
            Field::Text(Some(&self.call_id)),
            Field::Text(Some(&self.leg_in.sip_call_id)),
            Field::Text(out.map(|l| l.sip_call_id.as_str())),
            Field::Text(Some(&self.caller)),
            Field::Text(Some(&self.callee)),
            Field::Text(Some(&self.trunk_in)),
            Field::Text(self.trunk_out.as_deref()),
            Field::Int(Some(self.setup_ms)),
            Field::Int(self.answer_ms),
            Field::Int(Some(self.end_ms)),
            Field::Int(Some(self.duration_ms())),
            Field::Int(Some(i64::from(self.q850_cause))),
            Field::Int(self.sip_status.map(i64::from)),
            Field::Text(Some(self.disposition.as_str())),
            Field::Text(self.leg_in.codec.as_deref()),
            Field::Text(out.and_then(|l| l.codec.as_deref())),
            n(self.leg_in.packets_sent),
            n(self.leg_in.packets_received),
            n(self.leg_in.packets_lost),
            Field::Real(self.leg_in.mos),
            on(|l| l.packets_sent),
            on(|l| l.packets_received),
            on(|l| l.packets_lost),
            Field::Real(out.and_then(|l| l.mos)),
        ]
    }

    /// Appends the CSV header line (RFC 4180: CRLF line ends).
    pub(crate) fn write_csv_header(out: &mut String) {
        out.push_str(&Cdr::COLUMNS.join(","));
        out.push_str("\r\n");
    }

    /// Appends the record as one CSV line (RFC 4180): NULL is an empty
    /// field; a field with a comma, quote, CR or LF is quoted, with quotes
    /// doubled.
    pub(crate) fn write_csv(&self, out: &mut String) {
        for (i, f) in self.fields().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match f {
                Field::Text(Some(s)) if s.contains([',', '"', '\r', '\n']) => {
                    out.push('"');
                    out.push_str(&s.replace('"', "\"\""));
                    out.push('"');
                }
                f => f.write_plain(out),
            }
        }
        out.push_str("\r\n");
    }

    /// Appends the record as one JSON object (RFC 8259); NULL is `null`.
    pub(crate) fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (name, f)) in Cdr::COLUMNS.iter().zip(self.fields()).enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_string(name, out);
            out.push(':');
            match f {
                Field::Text(Some(s)) => json_string(s, out),
                Field::Text(None) | Field::Int(None) | Field::Real(None) => out.push_str("null"),
                Field::Real(Some(x)) if !x.is_finite() => out.push_str("null"),
                f => f.write_plain(out),
            }
        }
        out.push('}');
    }
}

/// One column's value, for rendering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Field<'a> {
    /// TEXT or NULL.
    Text(Option<&'a str>),
    /// INTEGER or NULL.
    Int(Option<i64>),
    /// REAL or NULL.
    Real(Option<f64>),
}

impl Field<'_> {
    /// The value as is (empty for NULL).
    fn write_plain(&self, out: &mut String) {
        use std::fmt::Write;
        match *self {
            Field::Text(Some(s)) => out.push_str(s),
            Field::Int(Some(n)) => {
                let _ = write!(out, "{n}");
            }
            Field::Real(Some(x)) => {
                let _ = write!(out, "{x}");
            }
            _ => {}
        }
    }
}

/// Appends `s` as a JSON string literal: quotes, backslashes and control
/// characters escaped (RFC 8259 §7); other characters as UTF-8.
pub(crate) fn json_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Which records [`CdrStore::list`] returns.
#[derive(Debug, Clone, Default)]
pub(crate) struct CdrFilter {
    /// Only calls that ended at or after this time (unix ms).
    pub(crate) since_ms: Option<i64>,
    /// Only calls that ended before this time (unix ms).
    pub(crate) until_ms: Option<i64>,
    /// Only the newest `limit` of those.
    pub(crate) limit: Option<usize>,
}

/// What went wrong with the store. Every message names the file and says
/// what the operator can do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum CdrError {
    /// The file could not be opened or created.
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The file is not a SQLite database, or is damaged.
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// SQLite's words.
        detail: String,
    },
    /// A valid SQLite database, but someone else's.
    NotCdrDatabase {
        /// The database file.
        path: PathBuf,
    },
    /// Written by a newer Tandem: we would misread it.
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Its version.
        found: i64,
    },
    /// The database cannot be written (permissions, read-only mount, no
    /// WAL support).
    Unwritable {
        /// The database file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A statement failed on an open database (disk full, I/O error).
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's words.
        detail: String,
    },
    /// A stored row that this build cannot read (e.g. an unknown
    /// disposition).
    BadRow {
        /// The row id.
        id: i64,
        /// What is wrong.
        detail: String,
    },
    /// The [`CdrWriter`] thread has stopped; the record was printed on
    /// stderr instead.
    WriterStopped,
}

impl fmt::Display for CdrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CdrError::Open { path, detail } => write!(
                f,
                "{}: cannot open the call-record database: {detail}",
                path.display()
            ),
            CdrError::Corrupt { path, detail } => write!(
                f,
                "{}: not a SQLite database, or damaged ({detail}); move it aside (keep it for recovery) and start again to create a new one",
                path.display()
            ),
            CdrError::NotCdrDatabase { path } => write!(
                f,
                "{}: a SQLite database, but not Tandem's call records; point [cdr] database (or --db) at another file",
                path.display()
            ),
            CdrError::NewerSchema { path, found } => write!(
                f,
                "{}: call-record schema version {found} is newer than this tandem understands ({SCHEMA_VERSION}); run a newer tandem or use another file",
                path.display()
            ),
            CdrError::Unwritable { path, detail } => write!(
                f,
                "{}: cannot write the call-record database: {detail}; check that the file and its directory are writable by this user and on a local filesystem",
                path.display()
            ),
            CdrError::Sqlite { path, detail } => {
                write!(f, "{}: call-record database: {detail}", path.display())
            }
            CdrError::BadRow { id, detail } => write!(f, "call record row {id}: {detail}"),
            CdrError::WriterStopped => f.write_str("the call-record writer has stopped"),
        }
    }
}

impl std::error::Error for CdrError {}

/// The call-record table. Not `Sync`: one thread owns it (the
/// [`CdrWriter`] in the gateway; the CLI for `tandem cdr list`).
pub(crate) struct CdrStore {
    conn: Connection,
    path: PathBuf,
}

impl fmt::Debug for CdrStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CdrStore")
            .field("path", &self.path)
            .finish()
    }
}

const INSERT: &str = "INSERT INTO cdr (
    call_id, sip_call_id_in, sip_call_id_out, caller, callee, trunk_in, trunk_out,
    setup_ms, answer_ms, end_ms, duration_ms, q850_cause, sip_status, disposition,
    codec_in, codec_out,
    in_packets_sent, in_packets_received, in_packets_lost, in_mos,
    out_packets_sent, out_packets_received, out_packets_lost, out_mos)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
            ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)";

const SELECT: &str = "SELECT id, call_id, sip_call_id_in, sip_call_id_out, caller, callee,
    trunk_in, trunk_out, setup_ms, answer_ms, end_ms, q850_cause, sip_status, disposition,
    codec_in, codec_out, in_packets_sent, in_packets_received, in_packets_lost, in_mos,
    out_packets_sent, out_packets_received, out_packets_lost, out_mos FROM cdr";

impl CdrStore {
    /// Opens (creating if needed) the database for writing, upgrades its
    /// schema, and proves it writable with one small commit, so that every
    /// problem with the file shows at start, not at the first hang-up.
    pub(crate) fn open(path: &Path, sync: Synchronous) -> Result<CdrStore, CdrError> {
        let p = path.to_path_buf();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(CdrError::Open {
                path: p,
                detail: format!("directory {} does not exist", dir.display()),
            });
        }
        let conn = Connection::open(path).map_err(|e| CdrError::Open {
            path: p.clone(),
            detail: e.to_string(),
        })?;
        let store = CdrStore { conn, path: p };
        store.check_identity(true)?;
        let unwritable = |e: rusqlite::Error| CdrError::Unwritable {
            path: store.path.clone(),
            detail: e.to_string(),
        };
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(unwritable)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CdrError::Unwritable {
                path: store.path.clone(),
                detail: format!("SQLite could not switch to WAL mode (still {mode:?})"),
            });
        }
        let sync_sql = match sync {
            Synchronous::Normal => "PRAGMA synchronous = NORMAL",
            Synchronous::Full => "PRAGMA synchronous = FULL",
        };
        store.conn.execute_batch(sync_sql).map_err(unwritable)?;
        store.migrate()?;
        // The write probe: rewriting the header commits a WAL frame, which
        // fails now, not at the first call, on a read-only file, directory
        // or mount.
        store
            .conn
            .execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(unwritable)?;
        Ok(store)
    }

    /// Opens an existing database for reading only (`tandem cdr list`,
    /// safe while the gateway writes to it). Never creates or upgrades.
    pub(crate) fn open_read_only(path: &Path) -> Result<CdrStore, CdrError> {
        let p = path.to_path_buf();
        if let Err(e) = std::fs::metadata(path) {
            return Err(CdrError::Open {
                path: p,
                detail: e.to_string(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| CdrError::Open {
            path: p.clone(),
            detail: e.to_string(),
        })?;
        let store = CdrStore { conn, path: p };
        let version = store.check_identity(false)?;
        if version == 0 {
            return Err(CdrError::NotCdrDatabase { path: store.path });
        }
        if version < SCHEMA_VERSION {
            return Err(CdrError::Open {
                path: store.path,
                detail: format!(
                    "schema version {version} is older than this tandem's ({SCHEMA_VERSION}); start the gateway once to upgrade it"
                ),
            });
        }
        Ok(store)
    }

    /// Checks that the file is SQLite, ours (or new), and not from the
    /// future; returns its schema version. The first read of the file is
    /// where SQLite notices that it is not a database at all.
    fn check_identity(&self, writing: bool) -> Result<i64, CdrError> {
        let corrupt = |e: rusqlite::Error| CdrError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        };
        self.conn
            .busy_timeout(Duration::from_secs(5))
            .map_err(corrupt)?;
        let tables: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(corrupt)?;
        let app: i32 = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(corrupt)?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(corrupt)?;
        let fresh = app == 0 && tables == 0 && version == 0;
        if app != APPLICATION_ID && !(fresh && writing) {
            return Err(CdrError::NotCdrDatabase {
                path: self.path.clone(),
            });
        }
        if version > SCHEMA_VERSION {
            return Err(CdrError::NewerSchema {
                path: self.path.clone(),
                found: version,
            });
        }
        Ok(version)
    }

    /// Applies the migrations the file lacks, one transaction each.
    fn migrate(&self) -> Result<(), CdrError> {
        let err = |e: rusqlite::Error| CdrError::Unwritable {
            path: self.path.clone(),
            detail: format!("upgrading the schema: {e}"),
        };
        loop {
            // Read inside the write transaction: two processes opening the
            // same new file must not both run a migration.
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
            let step = (|| {
                let version: i64 = self
                    .conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))?;
                let Some(sql) = usize::try_from(version)
                    .ok()
                    .and_then(|v| MIGRATIONS.get(v))
                else {
                    return Ok(false);
                };
                self.conn.execute_batch(sql)?;
                self.conn.execute_batch(&format!(
                    "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {};",
                    version + 1
                ))?;
                Ok(true)
            })();
            match step {
                Ok(true) => self.conn.execute_batch("COMMIT").map_err(err)?,
                Ok(false) => {
                    self.conn.execute_batch("COMMIT").map_err(err)?;
                    return Ok(());
                }
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(err(e));
                }
            }
        }
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The open connection, for the file's other tables (`kpi_store`).
    pub(crate) fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn sqlite(&self, e: rusqlite::Error) -> CdrError {
        CdrError::Sqlite {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    /// Stores one record in its own transaction; returns after the commit.
    pub(crate) fn insert(&mut self, cdr: &Cdr) -> Result<(), CdrError> {
        self.insert_many([cdr])
    }

    /// Stores records in one transaction: all or none.
    pub(crate) fn insert_many<'a>(
        &mut self,
        cdrs: impl IntoIterator<Item = &'a Cdr>,
    ) -> Result<(), CdrError> {
        let path = self.path.clone();
        let err = move |e: rusqlite::Error| CdrError::Sqlite {
            path: path.clone(),
            detail: e.to_string(),
        };
        let tx = self.conn.transaction().map_err(&err)?;
        {
            let mut stmt = tx.prepare_cached(INSERT).map_err(&err)?;
            for c in cdrs {
                let out = c.leg_out.as_ref();
                let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                stmt.execute(params![
                    c.call_id,
                    c.leg_in.sip_call_id,
                    out.map(|l| &l.sip_call_id),
                    c.caller,
                    c.callee,
                    c.trunk_in,
                    c.trunk_out,
                    c.setup_ms,
                    c.answer_ms,
                    c.end_ms,
                    c.duration_ms(),
                    c.q850_cause,
                    c.sip_status,
                    c.disposition.as_str(),
                    c.leg_in.codec,
                    out.and_then(|l| l.codec.as_ref()),
                    n(c.leg_in.packets_sent),
                    n(c.leg_in.packets_received),
                    n(c.leg_in.packets_lost),
                    c.leg_in.mos,
                    out.map(|l| n(l.packets_sent)),
                    out.map(|l| n(l.packets_received)),
                    out.map(|l| n(l.packets_lost)),
                    out.and_then(|l| l.mos),
                ])
                .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)
    }

    /// Records matching `filter`, oldest first (with a limit: the newest
    /// `limit`, still printed oldest first).
    pub(crate) fn list(&self, filter: &CdrFilter) -> Result<Vec<Cdr>, CdrError> {
        let mut sql = format!("SELECT * FROM ({SELECT} WHERE 1");
        if filter.since_ms.is_some() {
            sql.push_str(" AND end_ms >= :since");
        }
        if filter.until_ms.is_some() {
            sql.push_str(" AND end_ms < :until");
        }
        sql.push_str(" ORDER BY id DESC");
        if filter.limit.is_some() {
            sql.push_str(" LIMIT :limit");
        }
        sql.push_str(") ORDER BY id");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sqlite(e))?;
        let mut named: Vec<(&str, &dyn rusqlite::ToSql)> = Vec::new();
        let limit = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        if let Some(s) = &filter.since_ms {
            named.push((":since", s));
        }
        if let Some(u) = &filter.until_ms {
            named.push((":until", u));
        }
        if let Some(l) = &limit {
            named.push((":limit", l));
        }
        let rows = stmt
            .query_map(&*named, |r| {
                let leg_out = match r.get::<_, Option<String>>("sip_call_id_out")? {
                    None => None,
                    Some(sip_call_id) => Some(LegRecord {
                        sip_call_id,
                        codec: r.get("codec_out")?,
                        packets_sent: count(r.get("out_packets_sent")?),
                        packets_received: count(r.get("out_packets_received")?),
                        packets_lost: count(r.get("out_packets_lost")?),
                        mos: r.get("out_mos")?,
                    }),
                };
                Ok((
                    r.get::<_, i64>("id")?,
                    r.get::<_, String>("disposition")?,
                    r.get::<_, i64>("q850_cause")?,
                    Cdr {
                        call_id: r.get("call_id")?,
                        caller: r.get("caller")?,
                        callee: r.get("callee")?,
                        trunk_in: r.get("trunk_in")?,
                        trunk_out: r.get("trunk_out")?,
                        setup_ms: r.get("setup_ms")?,
                        answer_ms: r.get("answer_ms")?,
                        end_ms: r.get("end_ms")?,
                        q850_cause: 0,
                        sip_status: r.get("sip_status")?,
                        disposition: Disposition::Failed,
                        leg_in: LegRecord {
                            sip_call_id: r.get("sip_call_id_in")?,
                            codec: r.get("codec_in")?,
                            packets_sent: count(r.get("in_packets_sent")?),
                            packets_received: count(r.get("in_packets_received")?),
                            packets_lost: count(r.get("in_packets_lost")?),
                            mos: r.get("in_mos")?,
                        },
                        leg_out,
                    },
                ))
            })
            .map_err(|e| self.sqlite(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, disposition, cause, mut cdr) = row.map_err(|e| self.sqlite(e))?;
            cdr.disposition =
                Disposition::from_name(&disposition).ok_or_else(|| CdrError::BadRow {
                    id,
                    detail: format!("unknown disposition {disposition:?}"),
                })?;
            cdr.q850_cause = u8::try_from(cause).map_err(|_| CdrError::BadRow {
                id,
                detail: format!("Q.850 cause {cause} out of range"),
            })?;
            out.push(cdr);
        }
        Ok(out)
    }

    /// The number of records.
    pub(crate) fn count(&self) -> Result<u64, CdrError> {
        self.conn
            .query_row("SELECT count(*) FROM cdr", [], |r| r.get::<_, i64>(0))
            .map(count)
            .map_err(|e| self.sqlite(e))
    }
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// What a [`CdrWriter`] calls when a record's fate is known: `Ok` once its
/// batch has committed, `Err` if it could not be stored (it was printed on
/// stderr).
pub(crate) type Ack = Box<dyn FnOnce(Result<(), CdrError>) + Send>;

struct Job {
    cdr: Cdr,
    ack: Ack,
}

/// Sizes of a [`CdrWriter`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriterConfig {
    /// Records that may wait for a commit before `submit` blocks.
    pub(crate) queue: usize,
    /// The most records committed in one transaction.
    pub(crate) max_batch: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        // A few seconds of the 1,000 calls/s target: rides out a slow
        // checkpoint or fsync without blocking teardown.
        WriterConfig {
            queue: 4096,
            max_batch: 512,
        }
    }
}

#[derive(Clone)]
struct WriterMetrics {
    written: IntCounter,
    errors: IntCounter,
    commits: IntCounter,
    queue_full: IntCounter,
    depth: IntGauge,
}

impl WriterMetrics {
    fn new() -> Self {
        // Metric names are fixed, valid literals: construction cannot fail.
        let c = |n: &str, h: &str| IntCounter::new(n, h).unwrap_or_else(|_| unreachable!());
        WriterMetrics {
            written: c(
                "tandem_cdr_records_written_total",
                "Call records committed.",
            ),
            errors: c(
                "tandem_cdr_write_errors_total",
                "Call records that could not be stored (printed on stderr).",
            ),
            commits: c(
                "tandem_cdr_commits_total",
                "Call-record transactions committed.",
            ),
            queue_full: c(
                "tandem_cdr_queue_full_total",
                "Call-record submissions that waited for room in the queue.",
            ),
            depth: IntGauge::new(
                "tandem_cdr_queue_depth",
                "Call records waiting to be committed.",
            )
            .unwrap_or_else(|_| unreachable!()),
        }
    }
}

/// The group-commit thread in front of a [`CdrStore`]; see the module docs.
/// Dropping it (or [`CdrWriter::shutdown`]) commits what is queued first.
pub(crate) struct CdrWriter {
    tx: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    metrics: WriterMetrics,
}

impl fmt::Debug for CdrWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CdrWriter").finish_non_exhaustive()
    }
}

impl CdrWriter {
    /// Starts the writer thread, which owns `store`.
    pub(crate) fn start(store: CdrStore, config: WriterConfig) -> std::io::Result<CdrWriter> {
        let (tx, rx) = mpsc::sync_channel(config.queue.max(1));
        let metrics = WriterMetrics::new();
        let m = metrics.clone();
        let max_batch = config.max_batch.max(1);
        let thread = std::thread::Builder::new()
            .name("cdr-writer".into())
            .spawn(move || writer_loop(store, rx, max_batch, m))?;
        Ok(CdrWriter {
            tx: Some(tx),
            thread: Some(thread),
            metrics,
        })
    }

    /// Registers the writer's metrics (see the module docs).
    pub(crate) fn register_metrics(&self, registry: &Registry) -> prometheus::Result<()> {
        let m = &self.metrics;
        registry.register(Box::new(m.written.clone()))?;
        registry.register(Box::new(m.errors.clone()))?;
        registry.register(Box::new(m.commits.clone()))?;
        registry.register(Box::new(m.queue_full.clone()))?;
        registry.register(Box::new(m.depth.clone()))
    }

    /// Queues a record; `ack` runs on the writer thread once its fate is
    /// known. Blocks while the queue is full (never drops a record).
    pub(crate) fn submit(&self, cdr: Cdr, ack: impl FnOnce(Result<(), CdrError>) + Send + 'static) {
        let job = Job {
            cdr,
            ack: Box::new(ack),
        };
        let Some(tx) = &self.tx else {
            return fail(job, CdrError::WriterStopped, &self.metrics);
        };
        self.metrics.depth.inc();
        let sent = match tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job)) => {
                self.metrics.queue_full.inc();
                tx.send(job).map_err(|e| e.0)
            }
            Err(TrySendError::Disconnected(job)) => Err(job),
        };
        if let Err(job) = sent {
            self.metrics.depth.dec();
            fail(job, CdrError::WriterStopped, &self.metrics);
        }
    }

    /// Queues a record and waits for its commit.
    pub(crate) fn write(&self, cdr: Cdr) -> Result<(), CdrError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(cdr, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().unwrap_or(Err(CdrError::WriterStopped))
    }

    /// Commits everything queued, then stops the thread.
    pub(crate) fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CdrWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last resort for a record we could not store: one JSON line on
/// stderr, then the acknowledgement with the error.
fn fail(job: Job, e: CdrError, m: &WriterMetrics) {
    let mut line = String::new();
    job.cdr.write_json(&mut line);
    eprintln!("tandem: cdr NOT STORED ({e}): {line}");
    m.errors.inc();
    (job.ack)(Err(e));
}

fn writer_loop(mut store: CdrStore, rx: Receiver<Job>, max_batch: usize, m: WriterMetrics) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    // `recv` fails only when the sender is gone and the queue is empty, so
    // shutdown commits every queued record before the thread ends.
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        m.depth.sub(batch.len() as i64);
        match store.insert_many(batch.iter().map(|j| &j.cdr)) {
            Ok(()) => {
                m.commits.inc();
                m.written.inc_by(batch.len() as u64);
                for job in batch.drain(..) {
                    (job.ack)(Ok(()));
                }
            }
            Err(_) => {
                // One bad record must not sink its batch: retry alone.
                for job in batch.drain(..) {
                    match store.insert(&job.cdr) {
                        Ok(()) => {
                            m.commits.inc();
                            m.written.inc();
                            (job.ack)(Ok(()));
                        }
                        Err(e) => fail(job, e, &m),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tandem-cdr-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
        p
    }

    pub(super) fn sample(n: u32) -> Cdr {
        Cdr {
            call_id: format!("call-{n}"),
            caller: "+4930123456".into(),
            callee: "4008001234".into(),
            trunk_in: "pbx".into(),
            trunk_out: Some("carrier-a".into()),
            setup_ms: 1_700_000_000_000 + i64::from(n) * 1000,
            answer_ms: Some(1_700_000_000_000 + i64::from(n) * 1000 + 3000),
            end_ms: 1_700_000_000_000 + i64::from(n) * 1000 + 63_000,
            q850_cause: 16,
            sip_status: Some(200),
            disposition: Disposition::Answered,
            leg_in: LegRecord {
                sip_call_id: format!("a{n}@pbx"),
                codec: Some("PCMA".into()),
                packets_sent: 3000,
                packets_received: 2990,
                packets_lost: 10,
                mos: Some(4.1),
            },
            leg_out: Some(LegRecord {
                sip_call_id: format!("b{n}@tandem"),
                codec: Some("PCMU".into()),
                packets_sent: 2990,
                packets_received: 3000,
                packets_lost: 0,
                mos: None,
            }),
        }
    }

    #[test]
    fn records_round_trip_and_limit_takes_the_newest() {
        let path = scratch("roundtrip.sqlite");
        let mut store = CdrStore::open(&path, Synchronous::Normal).unwrap();
        let mut unanswered = sample(2);
        unanswered.answer_ms = None;
        unanswered.disposition = Disposition::Busy;
        unanswered.q850_cause = 17;
        unanswered.sip_status = Some(486);
        unanswered.leg_out = None;
        unanswered.trunk_out = None;
        let all = [sample(1), unanswered, sample(3)];
        for c in &all {
            store.insert(c).unwrap();
        }
        assert_eq!(store.count().unwrap(), 3);
        assert_eq!(store.list(&CdrFilter::default()).unwrap(), all);
        let last2 = store
            .list(&CdrFilter {
                limit: Some(2),
                ..CdrFilter::default()
            })
            .unwrap();
        assert_eq!(last2, all[1..]);
        let ended_late = store
            .list(&CdrFilter {
                since_ms: Some(all[2].end_ms),
                ..CdrFilter::default()
            })
            .unwrap();
        assert_eq!(ended_late, all[2..]);
        assert_eq!(all[0].duration_ms(), 60_000);
        assert_eq!(all[1].duration_ms(), 0);
    }

    #[test]
    fn an_unclosed_store_keeps_its_commits() {
        // What kill -9 leaves: no close, the WAL not checkpointed.
        let path = scratch("unclosed.sqlite");
        let mut store = CdrStore::open(&path, Synchronous::Normal).unwrap();
        store.insert(&sample(1)).unwrap();
        std::mem::forget(store);
        let again = CdrStore::open_read_only(&path).unwrap();
        assert_eq!(again.count().unwrap(), 1);
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let junk = scratch("junk.sqlite");
        std::fs::write(&junk, vec![0x42u8; 8192]).unwrap();
        let e = CdrStore::open(&junk, Synchronous::Normal).unwrap_err();
        assert!(matches!(e, CdrError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("move it aside"), "{e}");

        let other = scratch("other.sqlite");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let e = CdrStore::open(&other, Synchronous::Normal).unwrap_err();
        assert!(matches!(e, CdrError::NotCdrDatabase { .. }), "{e}");

        let newer = scratch("newer.sqlite");
        drop(CdrStore::open(&newer, Synchronous::Full).unwrap());
        Connection::open(&newer)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        let e = CdrStore::open(&newer, Synchronous::Normal).unwrap_err();
        assert!(matches!(e, CdrError::NewerSchema { found: 99, .. }), "{e}");

        let missing = scratch("no-such-dir").join("x.sqlite");
        let e = CdrStore::open(&missing, Synchronous::Normal).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        let e = CdrStore::open_read_only(&scratch("absent.sqlite")).unwrap_err();
        assert!(matches!(e, CdrError::Open { .. }), "{e}");
    }

    #[test]
    fn csv_and_json_escape_what_they_must() {
        let mut c = sample(1);
        c.caller = "\"Bob, Jr.\"\r\n<sip:bob@x>".into();
        c.callee = "tab\there\u{1}\\é".into();
        let mut csv = String::new();
        c.write_csv(&mut csv);
        assert!(
            csv.starts_with(
                "call-1,a1@pbx,b1@tandem,\"\"\"Bob, Jr.\"\"\r\n<sip:bob@x>\",tab\there\u{1}\\é,pbx,"
            ),
            "{csv}"
        );
        assert!(csv.ends_with(",4.1,2990,3000,0,\r\n"), "{csv}");
        let mut json = String::new();
        c.write_json(&mut json);
        assert!(
            json.contains(r#""caller":"\"Bob, Jr.\"\r\n<sip:bob@x>""#),
            "{json}"
        );
        assert!(json.contains(r#""callee":"tab\there\u0001\\é""#), "{json}");
        assert!(json.contains(r#""in_mos":4.1,"#), "{json}");
        assert!(json.ends_with(r#""out_mos":null}"#), "{json}");
        let mut header = String::new();
        Cdr::write_csv_header(&mut header);
        assert_eq!(header.matches(',').count(), 23);
    }

    #[test]
    fn the_writer_acknowledges_after_commit_and_drains_on_shutdown() {
        let path = scratch("writer.sqlite");
        let store = CdrStore::open(&path, Synchronous::Normal).unwrap();
        let writer = CdrWriter::start(
            store,
            WriterConfig {
                queue: 4,
                max_batch: 3,
            },
        )
        .unwrap();
        let registry = Registry::new();
        writer.register_metrics(&registry).unwrap();
        writer.write(sample(0)).unwrap();
        let (tx, rx) = mpsc::channel();
        for n in 1..50 {
            let tx = tx.clone();
            writer.submit(sample(n), move |r| tx.send((n, r)).unwrap());
        }
        writer.shutdown();
        let acks: Vec<_> = rx.try_iter().collect();
        assert_eq!(acks.len(), 49);
        assert!(acks.iter().all(|(_, r)| r.is_ok()));
        let store = CdrStore::open_read_only(&path).unwrap();
        let ids: Vec<String> = store
            .list(&CdrFilter::default())
            .unwrap()
            .into_iter()
            .map(|c| c.call_id)
            .collect();
        let want: Vec<String> = (0..50).map(|n| format!("call-{n}")).collect();
        assert_eq!(ids, want, "every record, in submission order");
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap();
        assert!(
            text.contains("tandem_cdr_records_written_total 50"),
            "{text}"
        );
        assert!(text.contains("tandem_cdr_queue_depth 0"), "{text}");
    }

    /// The throughput figure quoted in the docs. Run by hand:
    /// `cargo nextest run -p tandem-gateway --run-ignored only -E 'test(insert_rate)' --no-capture`
    #[test]
    #[ignore = "a measurement, not a test"]
    fn insert_rate() {
        use std::time::Instant;
        let n = 5000u32;
        for sync in [Synchronous::Normal, Synchronous::Full] {
            let path = scratch(&format!("rate-{sync:?}.sqlite"));
            let mut store = CdrStore::open(&path, sync).unwrap();
            let t = Instant::now();
            let single = if sync == Synchronous::Full { n / 10 } else { n };
            for i in 0..single {
                store.insert(&sample(i)).unwrap();
            }
            let one = f64::from(single) / t.elapsed().as_secs_f64();
            let writer = CdrWriter::start(store, WriterConfig::default()).unwrap();
            let t = Instant::now();
            let (tx, rx) = mpsc::channel();
            for i in 0..n {
                let tx = tx.clone();
                writer.submit(sample(i), move |r| tx.send(r.is_ok()).unwrap());
            }
            writer.shutdown();
            let grouped = f64::from(n) / t.elapsed().as_secs_f64();
            assert!(rx.try_iter().all(|ok| ok));
            eprintln!(
                "synchronous={sync:?}: single-row commits {one:.0}/s, CdrWriter {grouped:.0}/s"
            );
        }
    }
}
