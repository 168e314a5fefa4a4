//! Voicemail messages: WAV files on disk, indexed in the call-record
//! database, announced to the box's owner by a webhook.
//!
//! # Files
//!
//! A box `NAME` (`[[voicemail]]`, see `docs/config.md`) keeps its messages
//! in `callcenter.voicemail_dir/NAME/`, one WAV file per message named
//! after its id: `voicemail/sales/42.wav`. The recording itself is made by
//! the media engine (`tandem_dataplane::recorder::Recorder`): a stereo WAV
//! of the caller's leg, what the leg *received* (the caller's voice) on the
//! left channel and what it sent (the greeting, then silence) on the
//! right; the index notes the caller's channel ([`CALLER_CHANNEL`]).
//!
//! The B2BUA's voicemail flow drives the store:
//!
//! ```text
//! let (token, path) = store.new_message_path("sales")?;    // box dir created
//! // Recorder::create(&path, RecorderConfig::new(rate)) → StartRecording,
//! // play the greeting, record until hang-up, '#' or max_duration,
//! // StopRecording → RecordingStopped { join } → join.join() off the worker.
//! match store.finish("sales", caller, number, &path, started_ms, duration_ms)? {
//!     Some(id) => { /* indexed, renamed to sales/<id>.wav, webhook sent */ }
//!     None => { /* shorter than min_duration: the file is deleted */ }
//! }
//! ```
//!
//! While recording, the file is `NAME/rec-PID-MS-N.wav`; [`VoicemailStore::
//! finish`] indexes it and renames it to `NAME/ID.wav` in one step (the
//! row is committed only if the rename succeeded), so a listed message
//! always has its file. Files left as `rec-*.wav` by a crash mid-recording
//! are removed by [`VoicemailStore::discard_unfinished`] at start.
//!
//! # Index
//!
//! Table `voicemail`, created by the call-record schema's migration 3 → 4
//! ([`crate::cdr::MIGRATIONS`]):
//!
//! ```sql
//! CREATE TABLE voicemail (
//!     id             INTEGER PRIMARY KEY,  -- the message id, its file's name
//!     box            TEXT    NOT NULL,     -- the box's name
//!     caller         TEXT    NOT NULL,     -- the calling number
//!     number         TEXT    NOT NULL,     -- the 400 number dialled
//!     received_ms    INTEGER NOT NULL,     -- recording start, unix ms
//!     duration_ms    INTEGER NOT NULL,     -- the message's length
//!     path           TEXT    NOT NULL,     -- the WAV file
//!     heard          INTEGER NOT NULL DEFAULT 0,  -- 1 once marked heard
//!     caller_channel TEXT    NOT NULL DEFAULT 'left'  -- the caller's channel
//! );
//! ```
//!
//! The store has its own connection to the database; calls are synchronous
//! (a message is indexed once per call, listed and deleted by hand), so it
//! is used on the control thread. Several stores on one database (the
//! B2BUA's and the API's) are fine: SQLite serialises the writes.
//!
//! # Webhook
//!
//! Once a message is indexed, its box's `webhook` (if any) gets a JSON
//! `POST` from a short-lived thread ([`crate::webhook`]: 5 s timeouts, 3
//! attempts with backoff):
//!
//! ```json
//! {"box":"sales","id":42,"caller":"13812345678","number":"4008123456",
//!  "received":"2027-01-15T16:00:05+08:00","duration_s":12.48,
//!  "url":"http://192.0.2.1:8080/api/voicemail/sales/42.wav"}
//! ```
//!
//! `received` is at the platform's `callcenter.utc_offset`; `url` is on
//! `http.listen` (null without an HTTP listener) and needs a token with
//! the `read` role, like the rest of the API.
//!
//! # Metrics
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `tandem_voicemail_webhook_failures_total` | counter | new-message notifications not delivered after every attempt (each also logged on stderr with its body) |

use std::cell::Cell;
use std::fmt;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::{IntCounter, Registry};
use rusqlite::{OptionalExtension, Row, params};
use tandem_callcenter::Timestamp;

use crate::api::json::{Value, object};
use crate::cdr::{CdrError, CdrStore, Synchronous};
use crate::config::{Config, VoicemailBox, check_box_name};
use crate::webhook::{Notifier, Policy};

/// The WAV channel holding the caller's voice: the recorder writes what
/// the leg received on the left.
pub(crate) const CALLER_CHANNEL: &str = "left";

/// Prefix of a message's file while it is being recorded.
const RECORDING_PREFIX: &str = "rec-";

/// The `min_seconds` of a box the store does not know (removed from the
/// config while a caller was recording).
const FALLBACK_MIN_DURATION: Duration = Duration::from_secs(1);

/// A message's id: its row in the index, and its file's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct MessageId(pub(crate) u64);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One indexed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// The id.
    pub(crate) id: MessageId,
    /// The box.
    pub(crate) mailbox: String,
    /// The calling number.
    pub(crate) caller: String,
    /// The 400 number dialled.
    pub(crate) number: String,
    /// When recording started, unix ms.
    pub(crate) received_ms: u64,
    /// Its length.
    pub(crate) duration_ms: u64,
    /// The WAV file.
    pub(crate) path: PathBuf,
    /// Marked heard (through the API).
    pub(crate) heard: bool,
    /// The WAV channel holding the caller ([`CALLER_CHANNEL`] for every
    /// message this build records).
    pub(crate) caller_channel: String,
}

/// A box and how many messages it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BoxSummary {
    /// The box's name.
    pub(crate) name: String,
    /// Whether the configuration has it (a box removed from the file
    /// still lists while it holds messages).
    pub(crate) configured: bool,
    /// Messages in the box.
    pub(crate) messages: u64,
    /// Of those, not marked heard.
    pub(crate) unheard: u64,
}

/// What went wrong, and whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum VoicemailError {
    /// The database could not be opened or upgraded.
    Database(CdrError),
    /// A statement failed on the open database.
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's words.
        detail: String,
    },
    /// A file or directory could not be created, renamed or removed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's words.
        detail: String,
    },
    /// Misuse: a box name that cannot be a directory (the config checks
    /// names; this guards the file system against anything else).
    BadBox(String),
    /// Misuse: [`VoicemailStore::finish`] with a file that
    /// [`VoicemailStore::new_message_path`] did not hand out for that box.
    /// Nothing is deleted or indexed.
    NotOurs(PathBuf),
}

impl fmt::Display for VoicemailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VoicemailError::Database(e) => write!(f, "voicemail index: {e}"),
            VoicemailError::Sqlite { path, detail } => {
                write!(f, "voicemail index in {}: {detail}", path.display())
            }
            VoicemailError::Io { path, detail } => write!(f, "{}: {detail}", path.display()),
            VoicemailError::BadBox(e) => write!(f, "voicemail box {e}"),
            VoicemailError::NotOurs(p) => write!(
                f,
                "{} is not a recording this voicemail store started",
                p.display()
            ),
        }
    }
}

impl std::error::Error for VoicemailError {}

impl From<CdrError> for VoicemailError {
    fn from(e: CdrError) -> Self {
        VoicemailError::Database(e)
    }
}

fn io(path: &Path, e: std::io::Error) -> VoicemailError {
    VoicemailError::Io {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Unix ms now.
fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

const SELECT: &str = "SELECT id, box, caller, number, received_ms, duration_ms, path, heard, caller_channel FROM voicemail";

fn message(r: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: MessageId(u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0)),
        mailbox: r.get(1)?,
        caller: r.get(2)?,
        number: r.get(3)?,
        received_ms: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
        duration_ms: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
        path: PathBuf::from(r.get::<_, String>(6)?),
        heard: r.get::<_, i64>(7)? != 0,
        caller_channel: r.get(8)?,
    })
}

/// The voicemail index and files; see the module docs.
pub(crate) struct VoicemailStore {
    db: CdrStore,
    dir: PathBuf,
    boxes: Vec<VoicemailBox>,
    url_base: Option<String>,
    utc_offset_minutes: i32,
    notifier: Notifier,
    next_token: Cell<u64>,
}

impl fmt::Debug for VoicemailStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VoicemailStore")
            .field("db", &self.db.path())
            .field("dir", &self.dir)
            .field("boxes", &self.boxes.len())
            .finish_non_exhaustive()
    }
}

impl VoicemailStore {
    /// Opens the index in the call-record database `db_path` (creating
    /// and upgrading it as the call-record store does) and creates the
    /// messages' directory `dir` if missing. The store knows no boxes
    /// until [`VoicemailStore::configure`]: messages of unknown boxes are
    /// kept if at least 1 s long, and announced to nobody.
    pub(crate) fn open(
        db_path: &Path,
        dir: &Path,
        sync: Synchronous,
    ) -> Result<VoicemailStore, VoicemailError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let db = CdrStore::open(db_path, sync)?;
        let failures = IntCounter::new(
            "tandem_voicemail_webhook_failures_total",
            "New-message notifications not delivered after every attempt.",
        )
        .unwrap_or_else(|_| unreachable!());
        Ok(VoicemailStore {
            db,
            dir: dir.to_path_buf(),
            boxes: Vec::new(),
            url_base: None,
            utc_offset_minutes: 0,
            notifier: Notifier::new(Policy::default(), failures),
            next_token: Cell::new(0),
        })
    }

    /// The store of `config`: the index in `cdr.database`, the files in
    /// `callcenter.voicemail_dir`, its boxes, messages' URLs on
    /// `http.listen`.
    pub(crate) fn from_config(config: &Config) -> Result<VoicemailStore, VoicemailError> {
        let cc = &config.callcenter;
        let mut store = VoicemailStore::open(
            &config.cdr.database,
            &cc.voicemail_dir,
            config.cdr.synchronous,
        )?;
        store.configure(
            cc.voicemail.clone(),
            config.http.listen.map(|a| format!("http://{a}")),
            cc.utc_offset_minutes,
        );
        Ok(store)
    }

    /// Takes the boxes (their minimum lengths and webhooks), the base of
    /// messages' URLs (`http://HOST:PORT`, `None`: no HTTP listener) and
    /// the platform's UTC offset (minutes east) for the webhook's times.
    /// At start and after a reload; the directory and database stay.
    pub(crate) fn configure(
        &mut self,
        boxes: Vec<VoicemailBox>,
        url_base: Option<String>,
        utc_offset_minutes: i32,
    ) {
        self.boxes = boxes;
        self.url_base = url_base;
        self.utc_offset_minutes = utc_offset_minutes;
    }

    /// Publishes `tandem_voicemail_webhook_failures_total` in `registry`.
    pub(crate) fn register_metrics(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.notifier.failure_counter()))
    }

    /// Replaces the webhook's retry policy (tests make it fast).
    #[cfg(test)]
    pub(crate) fn set_webhook_policy(&mut self, policy: Policy) {
        self.notifier.policy = policy;
    }

    #[cfg(test)]
    /// Notifications not delivered so far.
    pub(crate) fn webhook_failures(&self) -> u64 {
        self.notifier.failures()
    }

    /// The boxes of the configuration.
    pub(crate) fn configured_boxes(&self) -> &[VoicemailBox] {
        &self.boxes
    }

    /// The messages' directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn box_dir(&self, mailbox: &str) -> Result<PathBuf, VoicemailError> {
        check_box_name(mailbox).map_err(VoicemailError::BadBox)?;
        Ok(self.dir.join(mailbox))
    }

    fn sqlite(&self, e: rusqlite::Error) -> VoicemailError {
        VoicemailError::Sqlite {
            path: self.db.path().to_path_buf(),
            detail: e.to_string(),
        }
    }

    /// Where to record a new message for `mailbox`: a fresh file name in
    /// the box's directory (created if missing), with a token unique in
    /// this store. Hand the path to `Recorder::create`, and to
    /// [`VoicemailStore::finish`] once the recording is joined.
    pub(crate) fn new_message_path(&self, mailbox: &str) -> Result<(u64, PathBuf), VoicemailError> {
        let dir = self.box_dir(mailbox)?;
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let token = self.next_token.get();
        self.next_token.set(token.wrapping_add(1));
        let name = format!(
            "{RECORDING_PREFIX}{}-{}-{token}.wav",
            std::process::id(),
            wall_ms()
        );
        Ok((token, dir.join(name)))
    }

    /// Whether `path` is a recording file of `mailbox` (from
    /// [`VoicemailStore::new_message_path`]).
    fn is_recording_of(&self, mailbox: &str, path: &Path) -> bool {
        let Ok(dir) = self.box_dir(mailbox) else {
            return false;
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        path.parent() == Some(dir.as_path())
            && name.starts_with(RECORDING_PREFIX)
            && name.ends_with(".wav")
    }

    /// Files the recording of a message into `mailbox`: a message shorter
    /// than the box's `min_duration` is discarded (its file deleted,
    /// `Ok(None)`); any other is indexed, its file renamed to `ID.wav`,
    /// and the box's webhook notified. `path` must come from
    /// [`VoicemailStore::new_message_path`] for the same box; `caller` is
    /// the calling number, `number` the 400 number dialled, `started_ms`
    /// when recording started (unix ms).
    ///
    /// On an error the file is left where it is (and nothing indexed).
    pub(crate) fn finish(
        &mut self,
        mailbox: &str,
        caller: &str,
        number: &str,
        path: &Path,
        started_ms: u64,
        duration_ms: u64,
    ) -> Result<Option<MessageId>, VoicemailError> {
        if !self.is_recording_of(mailbox, path) {
            return Err(VoicemailError::NotOurs(path.to_path_buf()));
        }
        let min = self
            .boxes
            .iter()
            .find(|b| b.name == mailbox)
            .map_or(FALLBACK_MIN_DURATION, |b| b.min_duration);
        if u128::from(duration_ms) < min.as_millis() {
            return match std::fs::remove_file(path) {
                Ok(()) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io(path, e)),
            };
        }
        std::fs::metadata(path).map_err(|e| io(path, e))?;
        let dir = self.box_dir(mailbox)?;
        let db_path = self.db.path().to_path_buf();
        let sqlite = |e: rusqlite::Error| VoicemailError::Sqlite {
            path: db_path.clone(),
            detail: e.to_string(),
        };
        let tx = self.db.connection().transaction().map_err(sqlite)?;
        tx.execute(
            "INSERT INTO voicemail (box, caller, number, received_ms, duration_ms, path, caller_channel)
             VALUES (?1, ?2, ?3, ?4, ?5, '', ?6)",
            params![
                mailbox,
                caller,
                number,
                to_i64(started_ms),
                to_i64(duration_ms),
                CALLER_CHANNEL
            ],
        )
        .map_err(sqlite)?;
        let id = MessageId(u64::try_from(tx.last_insert_rowid()).unwrap_or(0));
        let target = dir.join(format!("{id}.wav"));
        let Some(target_text) = target.to_str() else {
            return Err(VoicemailError::Io {
                path: target,
                detail: "the path is not valid UTF-8".into(),
            });
        };
        tx.execute(
            "UPDATE voicemail SET path = ?1 WHERE id = ?2",
            params![target_text, to_i64(id.0)],
        )
        .map_err(sqlite)?;
        // Rename inside the transaction: if it fails, the row goes too.
        std::fs::rename(path, &target).map_err(|e| io(path, e))?;
        if let Err(e) = tx.commit() {
            let _ = std::fs::rename(&target, path);
            return Err(sqlite(e));
        }
        if let Ok(Some(m)) = self.get(id) {
            self.notify(&m);
        }
        Ok(Some(id))
    }

    /// The message's URL on the API (`None` without an HTTP listener).
    pub(crate) fn url(&self, m: &Message) -> Option<String> {
        self.url_base
            .as_ref()
            .map(|b| format!("{b}/api/voicemail/{}/{}.wav", m.mailbox, m.id))
    }

    /// The webhook's body for `m`.
    pub(crate) fn notification(&self, m: &Message) -> Value {
        object([
            ("box", Value::from(m.mailbox.as_str())),
            ("id", Value::from(m.id.0)),
            ("caller", Value::from(m.caller.as_str())),
            ("number", Value::from(m.number.as_str())),
            (
                "received",
                Value::from(rfc3339(m.received_ms, self.utc_offset_minutes)),
            ),
            ("duration_s", Value::from(m.duration_ms as f64 / 1000.0)),
            ("url", self.url(m).map_or(Value::Null, Value::from)),
        ])
    }

    /// Posts the notification of `m` to its box's webhook, if it has one,
    /// from a new thread; the handle says whether it was delivered.
    pub(crate) fn notify(&self, m: &Message) -> Option<JoinHandle<bool>> {
        let url = self
            .boxes
            .iter()
            .find(|b| b.name == m.mailbox)?
            .webhook
            .as_deref()?;
        let what = format!("voicemail {}/{}", m.mailbox, m.id);
        self.notifier
            .send(&what, url, json_text(&self.notification(m)))
    }

    /// The messages of `mailbox`, newest first.
    pub(crate) fn list(&mut self, mailbox: &str) -> Result<Vec<Message>, VoicemailError> {
        let conn = self.db.connection();
        let rows = conn
            .prepare(&format!(
                "{SELECT} WHERE box = ?1 ORDER BY received_ms DESC, id DESC"
            ))
            .and_then(|mut s| {
                s.query_map(params![mailbox], message)?
                    .collect::<Result<Vec<_>, _>>()
            });
        rows.map_err(|e| self.sqlite(e))
    }

    /// One message.
    pub(crate) fn get(&mut self, id: MessageId) -> Result<Option<Message>, VoicemailError> {
        let conn = self.db.connection();
        let row = conn
            .query_row(
                &format!("{SELECT} WHERE id = ?1"),
                params![to_i64(id.0)],
                message,
            )
            .optional();
        row.map_err(|e| self.sqlite(e))
    }

    /// Removes a message: its row and its file (a file already gone is
    /// fine). `Ok(None)` if there is no such message.
    pub(crate) fn delete(&mut self, id: MessageId) -> Result<Option<Message>, VoicemailError> {
        let Some(m) = self.get(id)? else {
            return Ok(None);
        };
        let db_path = self.db.path().to_path_buf();
        let sqlite = |e: rusqlite::Error| VoicemailError::Sqlite {
            path: db_path.clone(),
            detail: e.to_string(),
        };
        let tx = self.db.connection().transaction().map_err(sqlite)?;
        tx.execute("DELETE FROM voicemail WHERE id = ?1", params![to_i64(id.0)])
            .map_err(sqlite)?;
        match std::fs::remove_file(&m.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&m.path, e)),
        }
        tx.commit().map_err(sqlite)?;
        Ok(Some(m))
    }

    /// Marks a message heard; the message after the change, `Ok(None)` if
    /// there is no such message.
    pub(crate) fn mark_heard(&mut self, id: MessageId) -> Result<Option<Message>, VoicemailError> {
        let n = self
            .db
            .connection()
            .execute(
                "UPDATE voicemail SET heard = 1 WHERE id = ?1",
                params![to_i64(id.0)],
            )
            .map_err(|e| self.sqlite(e))?;
        if n == 0 {
            return Ok(None);
        }
        self.get(id)
    }

    /// Every configured box, then any other box that still holds
    /// messages, with their counts; by name.
    pub(crate) fn boxes(&mut self) -> Result<Vec<BoxSummary>, VoicemailError> {
        let conn = self.db.connection();
        let counts = conn
            .prepare("SELECT box, count(*), sum(heard = 0) FROM voicemail GROUP BY box")
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| self.sqlite(e))?;
        let mut out: Vec<BoxSummary> = self
            .boxes
            .iter()
            .map(|b| BoxSummary {
                name: b.name.clone(),
                configured: true,
                messages: 0,
                unheard: 0,
            })
            .collect();
        for (name, messages, unheard) in counts {
            let messages = u64::try_from(messages).unwrap_or(0);
            let unheard = u64::try_from(unheard).unwrap_or(0);
            match out.iter_mut().find(|b| b.name == name) {
                Some(b) => (b.messages, b.unheard) = (messages, unheard),
                None => out.push(BoxSummary {
                    name,
                    configured: false,
                    messages,
                    unheard,
                }),
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Removes recordings left unfinished (`rec-*.wav`, from a crash
    /// mid-call) in every box's directory; call once at start, before any
    /// recording. Returns how many were removed; problems are skipped.
    pub(crate) fn discard_unfinished(&self) -> usize {
        let Ok(boxes) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = 0;
        for b in boxes.flatten() {
            let Ok(files) = std::fs::read_dir(b.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name();
                let name = name.to_str().unwrap_or("");
                if name.starts_with(RECORDING_PREFIX)
                    && name.ends_with(".wav")
                    && std::fs::remove_file(f.path()).is_ok()
                {
                    removed += 1;
                }
            }
        }
        removed
    }
}

/// `v` as compact JSON (no trailing newline).
pub(crate) fn json_text(v: &Value) -> String {
    let mut s = String::new();
    v.write(&mut s);
    s
}

/// `ms` (unix) as RFC 3339 at `offset` minutes east of UTC, to the
/// second: `2027-01-15T16:00:05+08:00`, or `...Z` at offset 0.
pub(crate) fn rfc3339(ms: u64, offset: i32) -> String {
    let t = Timestamp(ms);
    let local = t.local(offset);
    let m = local.minute_of_day;
    let sec = ms / 1000 % 60;
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

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::webhook::tests::receiver;

    /// A scratch directory, fresh for each test.
    pub(crate) fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tandem-vm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A store in `dir` with boxes `sales` (min 2 s, webhook `hook`) and
    /// `support`.
    pub(crate) fn store(dir: &Path, hook: Option<String>) -> VoicemailStore {
        let mut s = VoicemailStore::open(
            &dir.join("cdr.sqlite"),
            &dir.join("vm"),
            Synchronous::Normal,
        )
        .unwrap();
        let mut sales = VoicemailBox::new("sales");
        sales.min_duration = Duration::from_secs(2);
        sales.webhook = hook;
        s.configure(
            vec![sales, VoicemailBox::new("support")],
            Some("http://192.0.2.1:8080".into()),
            480,
        );
        s.set_webhook_policy(Policy {
            attempts: 3,
            timeout: Duration::from_secs(2),
            backoff: Duration::from_millis(10),
        });
        s
    }

    /// Records a fake message into `mailbox`.
    pub(crate) fn record(
        s: &mut VoicemailStore,
        mailbox: &str,
        caller: &str,
        at_ms: u64,
        duration_ms: u64,
    ) -> Option<MessageId> {
        let (_, path) = s.new_message_path(mailbox).unwrap();
        std::fs::write(&path, b"RIFF....WAVE").unwrap();
        s.finish(mailbox, caller, "4008123456", &path, at_ms, duration_ms)
            .unwrap()
    }

    #[test]
    fn messages_are_indexed_listed_and_deleted_with_their_files() {
        let dir = scratch("store");
        let mut s = store(&dir, None);
        let a = record(&mut s, "sales", "13800000001", 1_000, 5_000).unwrap();
        let b = record(&mut s, "sales", "13800000002", 2_000, 2_000).unwrap();
        record(&mut s, "support", "13800000003", 3_000, 1_500).unwrap();
        let list = s.list("sales").unwrap();
        let ids: Vec<MessageId> = list.iter().map(|m| m.id).collect();
        assert_eq!(ids, [b, a], "newest first");
        let m = &list[1];
        assert_eq!(m.path, dir.join("vm/sales").join(format!("{a}.wav")));
        assert!(m.path.is_file());
        assert_eq!(
            (
                m.caller.as_str(),
                m.number.as_str(),
                m.received_ms,
                m.duration_ms
            ),
            ("13800000001", "4008123456", 1_000, 5_000)
        );
        assert_eq!(m.caller_channel, "left");
        assert!(!m.heard);
        // Only the renamed files remain.
        let names: Vec<String> = std::fs::read_dir(dir.join("vm/sales"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| !n.starts_with("rec-")));

        assert!(s.mark_heard(a).unwrap().unwrap().heard);
        assert_eq!(s.mark_heard(MessageId(999)).unwrap(), None);
        let boxes = s.boxes().unwrap();
        assert_eq!(
            boxes
                .iter()
                .map(|b| (b.name.as_str(), b.messages, b.unheard))
                .collect::<Vec<_>>(),
            [("sales", 2, 1), ("support", 1, 1)]
        );

        let gone = s.delete(a).unwrap().unwrap();
        assert!(!gone.path.exists());
        assert_eq!(s.get(a).unwrap(), None);
        assert_eq!(s.delete(a).unwrap(), None);
        assert_eq!(s.list("sales").unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn short_messages_are_discarded_with_their_files() {
        let dir = scratch("short");
        let mut s = store(&dir, None);
        let (_, path) = s.new_message_path("sales").unwrap();
        std::fs::write(&path, b"RIFF").unwrap();
        // sales keeps messages of 2 s and more.
        let got = s.finish("sales", "1380", "400", &path, 0, 1_999).unwrap();
        assert_eq!(got, None);
        assert!(!path.exists());
        assert!(s.list("sales").unwrap().is_empty());
        // A box the store does not know keeps 1 s and more.
        assert!(record(&mut s, "other", "1380", 0, 1_000).is_some());
        assert_eq!(
            s.boxes()
                .unwrap()
                .last()
                .map(|b| (b.name.as_str(), b.configured)),
            Some(("support", true))
        );
        assert!(
            s.boxes()
                .unwrap()
                .iter()
                .any(|b| b.name == "other" && !b.configured)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn finish_refuses_files_it_did_not_hand_out() {
        let dir = scratch("misuse");
        let mut s = store(&dir, None);
        let precious = dir.join("precious.wav");
        std::fs::write(&precious, b"x").unwrap();
        for (mailbox, path) in [
            ("sales", precious.clone()),
            ("sales", dir.join("vm/sales/3.wav")),
            ("../x", dir.join("vm/../x/rec-1.wav")),
        ] {
            let e = s.finish(mailbox, "1", "2", &path, 0, 0).unwrap_err();
            assert!(
                matches!(e, VoicemailError::NotOurs(_) | VoicemailError::BadBox(_)),
                "{e}"
            );
        }
        assert!(precious.exists(), "nothing is deleted on misuse");
        let (_, support) = s.new_message_path("support").unwrap();
        assert!(matches!(
            s.finish("sales", "1", "2", &support, 0, 0),
            Err(VoicemailError::NotOurs(_))
        ));
        assert!(matches!(
            s.new_message_path(".."),
            Err(VoicemailError::BadBox(_))
        ));
        // A recording whose file vanished is an error, not a row.
        let e = s
            .finish("support", "1", "2", &support, 0, 5_000)
            .unwrap_err();
        assert!(matches!(e, VoicemailError::Io { .. }), "{e}");
        assert!(s.list("support").unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unfinished_recordings_are_discarded_at_start() {
        let dir = scratch("unfinished");
        let mut s = store(&dir, None);
        let (_, left) = s.new_message_path("sales").unwrap();
        std::fs::write(&left, b"RIFF").unwrap();
        let kept = record(&mut s, "sales", "1", 0, 5_000).unwrap();
        assert_eq!(s.discard_unfinished(), 1);
        assert!(!left.exists());
        assert!(s.get(kept).unwrap().unwrap().path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_new_message_is_announced_to_the_webhook() {
        let dir = scratch("webhook");
        let (url, rx) = receiver(vec![500, 200]);
        let mut s = store(&dir, Some(url));
        let id = record(&mut s, "sales", "13812345678", 1_800_000_005_250, 12_480).unwrap();
        let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let second = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(first, second, "the 500 is retried with the same body");
        let body = second.split_once("\r\n\r\n").unwrap().1;
        let v = Value::parse(body.as_bytes()).unwrap();
        let want = format!(
            r#"{{"box":"sales","id":{id},"caller":"13812345678","number":"4008123456","received":"2027-01-15T16:00:05+08:00","duration_s":12.48,"url":"http://192.0.2.1:8080/api/voicemail/sales/{id}.wav"}}"#
        );
        assert_eq!(json_text(&v), want);
        // The support box has no webhook.
        let other = record(&mut s, "support", "1", 0, 5_000).unwrap();
        let other = s.get(other).unwrap().unwrap();
        assert!(s.notify(&other).is_none());
        assert_eq!(s.webhook_failures(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn times_are_rfc3339_at_the_platform_offset() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_800_000_005_250, 480), "2027-01-15T16:00:05+08:00");
        assert_eq!(
            rfc3339(1_800_000_005_250, -330),
            "2027-01-15T02:30:05-05:30"
        );
    }
}
