//! The audit log: one row per change made through the REST API — who
//! (the token's name), what (an action and its target, with a JSON
//! detail), when — in the call-record database, next to the call records
//! and the KPI intervals.
//!
//! ```sql
//! CREATE TABLE audit_log (
//!     id     INTEGER PRIMARY KEY,
//!     at_ms  INTEGER NOT NULL,  -- when, unix ms
//!     who    TEXT    NOT NULL,  -- the API token's name
//!     action TEXT    NOT NULL,  -- e.g. agent.pause, number.blacklist.add
//!     target TEXT    NOT NULL,  -- e.g. agent:alice, number:4008123456
//!     detail TEXT    NOT NULL   -- a JSON object: the change's parameters
//! );
//! ```
//!
//! The table is created by the call-record schema's migration 2 → 3
//! ([`crate::cdr::MIGRATIONS`]). Rows are written on the control thread,
//! synchronously, one per change: changes are rare, and a change is
//! answered only once its row is committed.

use std::path::Path;

use rusqlite::params;

use super::json::{Value, object};
use crate::cdr::{CdrError, CdrStore, Synchronous};

/// Actions recorded, for the docs and the OpenAPI enum (a unit test
/// compares them).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const ACTIONS: &[&str] = &[
    "number.destinations.set",
    "number.blacklist.add",
    "number.blacklist.remove",
    "agent.login",
    "agent.logout",
    "agent.pause",
    "agent.unpause",
    "agent.ready",
    "voicemail.delete",
    "voicemail.heard",
    "call.monitor",
    "call.monitor.stop",
];

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuditEntry {
    /// When, in unix milliseconds.
    pub(crate) at_ms: u64,
    /// The API token's name.
    pub(crate) who: String,
    /// One of [`ACTIONS`].
    pub(crate) action: String,
    /// What was changed (`agent:NAME`, `number:DIGITS`, ...).
    pub(crate) target: String,
    /// The change's parameters, a JSON object.
    pub(crate) detail: String,
}

impl AuditEntry {
    /// The entry as the API shows it (`detail` parsed back into JSON).
    pub(crate) fn to_json(&self) -> Value {
        object([
            ("at_ms", Value::from(self.at_ms)),
            ("who", Value::from(self.who.as_str())),
            ("action", Value::from(self.action.as_str())),
            ("target", Value::from(self.target.as_str())),
            (
                "detail",
                Value::parse(self.detail.as_bytes()).unwrap_or(Value::Object(Vec::new())),
            ),
        ])
    }
}

/// The audit table, on its own connection to the call-record database.
pub(crate) struct AuditLog {
    store: CdrStore,
}

impl AuditLog {
    /// Opens (creating and upgrading as needed) the call-record database
    /// at `path`, with the call-record store's checks.
    pub(crate) fn open(path: &Path, sync: Synchronous) -> Result<AuditLog, CdrError> {
        Ok(AuditLog {
            store: CdrStore::open(path, sync)?,
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        self.store.path()
    }

    /// Stores one row (committed when this returns `Ok`).
    pub(crate) fn record(&mut self, entry: &AuditEntry) -> Result<(), String> {
        self.store
            .connection()
            .execute(
                "INSERT INTO audit_log (at_ms, who, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    i64::try_from(entry.at_ms).unwrap_or(i64::MAX),
                    entry.who,
                    entry.action,
                    entry.target,
                    entry.detail
                ],
            )
            .map(|_| ())
            .map_err(|e| format!("{}: audit_log: {e}", self.store.path().display()))
    }

    /// The newest `limit` rows, newest first.
    pub(crate) fn newest(&mut self, limit: u32) -> Result<Vec<AuditEntry>, String> {
        let path = self.store.path().display().to_string();
        let err = |e: rusqlite::Error| format!("{path}: audit_log: {e}");
        let conn = self.store.connection();
        let mut stmt = conn
            .prepare(
                "SELECT at_ms, who, action, target, detail FROM audit_log
                 ORDER BY at_ms DESC, id DESC LIMIT ?1",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![i64::from(limit)], |r| {
                Ok(AuditEntry {
                    at_ms: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    who: r.get(1)?,
                    action: r.get(2)?,
                    target: r.get(3)?,
                    detail: r.get(4)?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_newest_first() {
        let dir = std::env::temp_dir().join(format!("tandem-audit-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let db = dir.join("cdr.sqlite");
        let _ = std::fs::remove_file(&db);
        let mut log = AuditLog::open(&db, Synchronous::Normal).unwrap();
        for (at, action) in [
            (1000, "agent.login"),
            (3000, "agent.pause"),
            (2000, "agent.ready"),
        ] {
            log.record(&AuditEntry {
                at_ms: at,
                who: "ops".into(),
                action: action.into(),
                target: "agent:alice".into(),
                detail: "{\"reason\":\"lunch\"}".into(),
            })
            .unwrap();
        }
        let rows = log.newest(2).unwrap();
        let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["agent.pause", "agent.ready"]);
        assert_eq!(
            rows[0]
                .to_json()
                .get("detail")
                .and_then(|d| d.get("reason")),
            Some(&Value::from("lunch"))
        );
        drop(log);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
