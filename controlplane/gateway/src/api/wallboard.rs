//! The supervisor wallboard: `GET /api/wallboard` (a JSON snapshot of
//! every queue and agent with today's KPIs and 15-minute intervals),
//! `GET /api/wallboard/events` (the same snapshot as server-sent events,
//! sent when it changes), and the page that shows them, `GET /wallboard`,
//! linked from the index page `GET /`.
//!
//! # The snapshot
//!
//! Answered on the control thread like every API route ([`snapshot`]):
//! per queue the callers waiting and being rung, the longest wait, the
//! members by state, and **today's** counters and KPIs (CALLCENTER.md, "KPI
//! definitions", computed by `Counters` exactly as `/metrics` and
//! `tandem report` compute them), with one entry per 15-minute interval
//! of today that had traffic. "Today" starts at midnight at
//! `callcenter.utc_offset` (the offset schedules and reports use), and is
//! the merge of
//!
//! - the intervals of today already closed and stored in the database's
//!   `kpi_intervals` table (read through a read-only connection of its
//!   own, at most once a second, so any number of wallboards cost one
//!   small query a second), and
//! - the KPI engine's open interval so far (added to a stored row of the
//!   same start, which exists when the gateway restarted within the
//!   interval: the engine flushes its open interval at shutdown).
//!
//! The totals merge the queues, except offered and spilled calls, which
//! come from the 400 numbers' counters: a caller spilled from one queue to
//! another is offered to each queue but to the center once.
//!
//! So today's figures survive a restart, unlike the totals of
//! `/api/queues` (since start). An interval the engine has just closed is
//! stored by the run loop's next once-a-second tick; for up to that second
//! its calls are in neither part. Without the database (not created yet,
//! unreadable) the snapshot says `"history": false` and counts the open
//! interval only.
//!
//! # The event stream
//!
//! `GET /api/wallboard/events` is served by the HTTP thread that holds the
//! connection (`crate::http`'s event streams): it asks the control thread
//! for the snapshot through the same [`ApiCall`] channel as every other
//! request, once when the stream opens (a refusal — 401, 403 — is the
//! answer, as for `GET /api/wallboard`) and then once a second, and sends
//! `event: snapshot` with the JSON as data when it differs from the last
//! one sent, or every [`RESEND_EVERY`] regardless. A control thread that
//! does not answer in time skips a tick; a later refusal (the token was
//! removed by a reload) is sent as `event: refused` (the error JSON as
//! data) and ends the stream.
//!
//! # Tokens in the URL
//!
//! `EventSource` cannot send an `Authorization` header, so the wallboard
//! routes — and only they — also take the token as `?token=`: the page
//! is opened as `/wallboard?token=...` and passes it on. A `read` token
//! suffices. The trade-off (the token can end up in browser history and
//! in logs of proxies in between) is documented in `docs/api.md`; the
//! pages are sent with `Referrer-Policy: no-referrer` and load nothing
//! from elsewhere, so the token does not leave in a `Referer`.
//!
//! The pages themselves ([`PAGE`], [`INDEX`]) are static files compiled
//! in from `src/wallboard/`: HTML, CSS and JavaScript in one file each,
//! no external assets, charts drawn as inline SVG by the page's own code.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, bounded};
use tandem_callcenter::acd::AgentState;
use tandem_callcenter::kpi::{Counters, Entity, EntityKind};
use tandem_callcenter::{AgentId, NumberId, QueueId, Timestamp};

use super::json::{Value, object};
use super::queues::{kpis_json, seconds, states_json};
use super::{ApiCall, Ctx, Outcome, REPLY_TIMEOUT, percent_decode, unavailable};
use crate::config::Config;
use crate::http::{EventSource, Request, Response, Router, SseEvent, StreamStep};
use crate::kpi_store::{By, KpiStore};
use crate::run::Services;

/// The wallboard page (`GET /wallboard`).
pub(crate) const PAGE: &str = include_str!("../wallboard/wallboard.html");

/// The index page (`GET /`): links to the wallboard, `/metrics`,
/// `/health` and the API.
pub(crate) const INDEX: &str = include_str!("../wallboard/index.html");

/// The length of a KPI interval.
const INTERVAL_MS: u64 = 15 * 60 * 1000;

/// A day.
const DAY_MS: u64 = 24 * 3600 * 1000;

/// How long the stored intervals read from the database are reused.
const HISTORY_MAX_AGE: Duration = Duration::from_secs(1);

/// How long to wait before opening the database again after it failed.
const REOPEN_AFTER: Duration = Duration::from_secs(10);

/// How often a stream sends the snapshot even when it did not change.
pub(crate) const RESEND_EVERY: Duration = Duration::from_secs(15);

/// The service-level target the page colours the totals against
/// (CALLCENTER.md: 80 % within T); each queue has its own
/// (`service_level_target`, default the same).
const SERVICE_LEVEL_TARGET: f64 = 0.8;

/// The content security policy of the pages: their own inline script and
/// style, requests only to this server.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   connect-src 'self'; img-src data:; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

/// Today's stored intervals: queue (or number) name → interval start
/// (unix ms) → counters.
type Stored = BTreeMap<String, BTreeMap<u64, Counters>>;

/// The stored intervals as last read.
struct History {
    /// When they were read (the control thread's clock).
    read_at: Instant,
    /// The day they belong to.
    day_start_ms: u64,
    /// The queues' rows.
    queues: Stored,
    /// The 400 numbers' rows (for the totals, which count each call once).
    numbers: Stored,
}

/// The wallboard's state on the control thread: where the database is,
/// a read-only connection to it, and the intervals last read.
#[derive(Default)]
pub(crate) struct Board {
    /// `cdr.database`.
    db: Option<PathBuf>,
    /// Open once the database could be read.
    store: Option<KpiStore>,
    /// When opening or reading last failed.
    failed_at: Option<Instant>,
    /// Whether that failure has been logged.
    warned: bool,
    /// The last read.
    history: Option<History>,
}

impl Board {
    /// Takes the database path of `config` (a new path drops the
    /// connection and what was read through it).
    pub(crate) fn configure(&mut self, config: &Config) {
        let path = config.cdr.database.clone();
        if self.db.as_ref() != Some(&path) {
            *self = Board {
                db: Some(path),
                ..Board::default()
            };
        }
    }

    /// Today's stored intervals, read again when older than
    /// [`HISTORY_MAX_AGE`] or of another day; `None` when the database
    /// cannot be read.
    fn stored(&mut self, now: Instant, day_start_ms: u64) -> Option<&History> {
        let fresh = self.history.as_ref().is_some_and(|h| {
            h.day_start_ms == day_start_ms
                && now.saturating_duration_since(h.read_at) < HISTORY_MAX_AGE
        });
        if !fresh {
            self.history = self
                .read(now, day_start_ms)
                .map(|(queues, numbers)| History {
                    read_at: now,
                    day_start_ms,
                    queues,
                    numbers,
                });
        }
        self.history.as_ref()
    }

    fn read(&mut self, now: Instant, day_start_ms: u64) -> Option<(Stored, Stored)> {
        if self.store.is_none() {
            if self
                .failed_at
                .is_some_and(|t| now.saturating_duration_since(t) < REOPEN_AFTER)
            {
                return None;
            }
            match KpiStore::open_read_only(self.db.as_deref()?) {
                Ok(s) => self.store = Some(s),
                Err(e) => return self.failed(now, e.to_string()),
            }
        }
        let store = self.store.as_mut()?;
        let from = Timestamp::from_millis(day_start_ms);
        let to = Timestamp::from_millis(day_start_ms.saturating_add(DAY_MS));
        match store.query(from, to, By::Interval) {
            Ok(rows) => {
                self.warned = false;
                let (mut queues, mut numbers) = (Stored::new(), Stored::new());
                for r in rows {
                    let out = match r.kind {
                        EntityKind::Queue => &mut queues,
                        EntityKind::Number => &mut numbers,
                        EntityKind::Agent => continue,
                    };
                    if let Some(start) = r.start {
                        out.entry(r.name)
                            .or_default()
                            .entry(start.as_millis())
                            .or_default()
                            .merge(&r.counters);
                    }
                }
                Some((queues, numbers))
            }
            Err(e) => {
                // Perhaps the file was replaced: open it again later.
                self.store = None;
                self.failed(now, e.to_string())
            }
        }
    }

    fn failed<T>(&mut self, now: Instant, why: String) -> Option<T> {
        self.failed_at = Some(now);
        if !self.warned {
            self.warned = true;
            eprintln!("tandem: wallboard: today's stored KPI intervals cannot be read: {why}");
        }
        None
    }
}

/// The start of the day containing `at_ms` at a UTC offset, in unix ms.
pub(crate) fn day_start_ms(at_ms: u64, utc_offset_minutes: i32) -> u64 {
    let offset = i64::from(utc_offset_minutes) * 60_000;
    let local = at_ms as i64 + offset;
    let start = local - local.rem_euclid(DAY_MS as i64) - offset;
    start.max(0) as u64
}

/// A rate (a fraction) as JSON, `null` when undefined.
fn rate(r: Option<f64>) -> Value {
    Value::from(r)
}

/// One interval of a queue's day.
fn interval_json(start_ms: u64, c: &Counters) -> Value {
    object([
        ("start_ms", Value::from(start_ms)),
        ("offered", Value::from(c.offered)),
        ("answered", Value::from(c.answered)),
        (
            "answered_within_threshold",
            Value::from(c.answered_within_threshold),
        ),
        ("abandoned", Value::from(c.abandoned)),
        ("short_abandoned", Value::from(c.short_abandoned)),
        ("service_level", rate(c.service_level())),
    ])
}

/// A queue: live figures, today's KPIs, today's intervals; and today's
/// merged counters (for the totals).
fn queue_json(
    services: &Services,
    at_ms: u64,
    day_start_ms: u64,
    stored: Option<&Stored>,
    q: QueueId,
) -> Option<(Value, Counters, Duration)> {
    let status = services.acd.queue_status(q)?;
    let config = services.acd.queue_config(q)?;
    let longest = status.oldest_since.map_or(Duration::ZERO, |t| {
        Duration::from_millis(at_ms.saturating_sub(t.as_millis()))
    });
    let mut day: BTreeMap<u64, Counters> = stored
        .and_then(|s| s.get(&config.name))
        .cloned()
        .unwrap_or_default();
    if let (Some(start), Some(open)) = (
        services.kpi.interval_start(),
        services.kpi.current_interval(Entity::Queue(q)),
    ) && start.as_millis() >= day_start_ms
    {
        day.entry(start.as_millis()).or_default().merge(&open);
    }
    let mut today = Counters::default();
    for c in day.values() {
        today.merge(c);
    }
    let intervals: Vec<Value> = day.iter().map(|(s, c)| interval_json(*s, c)).collect();
    let value = object([
        ("name", Value::from(config.name.as_str())),
        ("waiting", Value::from(status.waiting)),
        ("ringing", Value::from(status.ringing)),
        ("longest_wait_seconds", seconds(longest)),
        ("estimated_wait_seconds", seconds(status.estimated_wait)),
        (
            "service_level_threshold_seconds",
            seconds(services.kpi.queue_config(q).service_level_threshold),
        ),
        (
            "service_level_target",
            Value::from(
                services
                    .service_level_target(q)
                    .unwrap_or(SERVICE_LEVEL_TARGET),
            ),
        ),
        ("agents", states_json(&status.agents)),
        ("today", kpis_json(&today)),
        ("intervals", Value::Array(intervals)),
    ]);
    Some((value, today, longest))
}

/// Today's counters of all 400 numbers together (stored intervals and
/// the open one), or `None` without numbers.
fn numbers_today(s: &Services, day_start_ms: u64, stored: Option<&Stored>) -> Option<Counters> {
    if s.config.numbers.is_empty() {
        return None;
    }
    let mut total = Counters::default();
    for rows in stored.into_iter().flat_map(BTreeMap::values) {
        for c in rows.values() {
            total.merge(c);
        }
    }
    if let Some(start) = s.kpi.interval_start()
        && start.as_millis() >= day_start_ms
    {
        for i in 0..s.config.numbers.len() {
            if let Some(open) = s.kpi.current_interval(Entity::Number(NumberId(i as u32))) {
                total.merge(&open);
            }
        }
    }
    Some(total)
}

/// `GET /api/wallboard` and each tick of `GET /api/wallboard/events`.
pub(super) fn snapshot(ctx: &mut Ctx<'_>, board: &mut Board) -> Outcome {
    let now = ctx.now;
    let at_ms = ctx.now_ms();
    let services = ctx.services.as_deref();
    let offset = services.map_or(0, |s| s.config.utc_offset_minutes);
    let day_start = day_start_ms(at_ms, offset);
    let mut queues = Vec::new();
    let mut agents = Vec::new();
    let mut by_state = [0u32; 7];
    let mut today = Counters::default();
    let (mut waiting, mut ringing, mut longest) = (0u32, 0u32, Duration::ZERO);
    let mut history = false;
    let mut numbers = None;
    if let Some(s) = services {
        let stored = board.stored(now, day_start);
        history = stored.is_some();
        numbers = numbers_today(s, day_start, stored.map(|h| &h.numbers));
        let stored = stored.map(|h| &h.queues);
        for i in 0..s.acd.len().0 {
            let q = QueueId(i as u32);
            if let (Some((value, counters, wait)), Some(status)) = (
                queue_json(s, at_ms, day_start, stored, q),
                s.acd.queue_status(q),
            ) {
                queues.push(value);
                today.merge(&counters);
                waiting = waiting.saturating_add(status.waiting);
                ringing = ringing.saturating_add(status.ringing);
                longest = longest.max(wait);
            }
        }
        for i in 0..s.acd.len().1 {
            let a = AgentId(i as u32);
            let (Some(status), Some(name)) = (s.acd.agent_status(a), s.acd.agent_name(a)) else {
                continue;
            };
            if let Some(k) = AgentState::ALL.iter().position(|x| *x == status.state) {
                by_state[k] += 1;
            }
            agents.push(object([
                ("name", Value::from(name)),
                ("state", Value::from(status.state.as_str())),
                ("since_ms", Value::from(status.since.as_millis())),
                ("pause_reason", Value::from(status.pause_reason)),
            ]));
        }
    }
    // A caller spilled from one queue to another is offered to both;
    // the center as a whole was offered it once. The 400 numbers count
    // each call once (`queued`: entered a first queue; `spilled`: left
    // the center's queues), so the totals take those two from them.
    if let Some(n) = numbers {
        today.offered = n.queued;
        today.spilled = n.spilled;
    }
    let interval_start = services
        .and_then(|s| s.kpi.interval_start())
        .map(|t| t.as_millis());
    let body = object([
        ("day_start_ms", Value::from(day_start)),
        ("interval_start_ms", Value::from(interval_start)),
        ("interval_seconds", Value::from(INTERVAL_MS / 1000)),
        ("utc_offset_minutes", Value::from(i64::from(offset))),
        ("history", Value::from(history)),
        ("service_level_target", Value::from(SERVICE_LEVEL_TARGET)),
        (
            "totals",
            object([
                ("waiting", Value::from(waiting)),
                ("ringing", Value::from(ringing)),
                ("longest_wait_seconds", seconds(longest)),
                ("today", kpis_json(&today)),
            ]),
        ),
        ("queues", Value::Array(queues)),
        ("agent_states", states_json(&by_state)),
        ("agents", Value::Array(agents)),
    ]);
    Ok((body, None))
}

/// An HTML page with the headers both pages share.
fn html(page: &'static str) -> Response {
    Response::new(200, "text/html; charset=utf-8", page)
        .with_header("Cache-Control", "no-store")
        .with_header("Referrer-Policy", "no-referrer")
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Content-Security-Policy", CSP)
}

/// `request` with `Authorization: Bearer T` added from its `?token=T`,
/// unless it has an `Authorization` header already.
fn with_query_token(request: &Request) -> Request {
    let mut r = request.clone();
    if r.header("authorization").is_some() {
        return r;
    }
    let token = r
        .query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "token")
        .and_then(|(_, v)| percent_decode(&v.replace('+', " ")));
    if let Some(t) = token.filter(|t| !t.trim().is_empty()) {
        r.headers
            .push(("authorization".to_string(), format!("Bearer {t}")));
    }
    r
}

/// Hands `request` to the control thread and waits for the answer (503
/// when it does not come in time).
fn ask(to_control: &Sender<ApiCall>, request: &Request) -> Response {
    let (reply, answer) = bounded(1);
    let call = ApiCall {
        request: request.clone(),
        reply,
    };
    if to_control.send_timeout(call, REPLY_TIMEOUT).is_err() {
        return unavailable();
    }
    answer
        .recv_timeout(REPLY_TIMEOUT)
        .unwrap_or_else(|_| unavailable())
}

/// The snapshots of one open `GET /api/wallboard/events`.
struct Snapshots {
    to_control: Sender<ApiCall>,
    /// The request to repeat (with the token as a header).
    request: Request,
    /// The answer to the opening request, to send first.
    first: Option<String>,
    /// The last snapshot sent, and when.
    last: Option<(String, Instant)>,
    /// An error was sent: end.
    ended: bool,
}

impl EventSource for Snapshots {
    fn poll(&mut self) -> StreamStep {
        if self.ended {
            return StreamStep::End;
        }
        let body = match self.first.take() {
            Some(b) => b,
            None => {
                let r = ask(&self.to_control, &self.request);
                let text = String::from_utf8_lossy(&r.body).trim_end().to_string();
                match r.status {
                    200 => text,
                    503 => return StreamStep::Idle,
                    _ => {
                        self.ended = true;
                        return StreamStep::Send(SseEvent::new("refused", text));
                    }
                }
            }
        };
        let due = self
            .last
            .as_ref()
            .is_none_or(|(b, at)| *b != body || at.elapsed() >= RESEND_EVERY);
        if !due {
            return StreamStep::Idle;
        }
        self.last = Some((body.clone(), Instant::now()));
        StreamStep::Send(SseEvent::new("snapshot", body))
    }
}

/// Opens a stream: the first snapshot, or the refusal.
fn open(to_control: &Sender<ApiCall>, request: &Request) -> Result<Box<dyn EventSource>, Response> {
    let request = with_query_token(request);
    let first = ask(to_control, &request);
    if first.status != 200 {
        return Err(first);
    }
    Ok(Box::new(Snapshots {
        to_control: to_control.clone(),
        first: Some(String::from_utf8_lossy(&first.body).trim_end().to_string()),
        request,
        last: None,
        ended: false,
    }))
}

/// Adds `/`, `/wallboard`, `/api/wallboard` and `/api/wallboard/events`
/// to `router`; they must come before the API's `/api/` prefix.
pub(crate) fn routes(router: Router, to_control: Sender<ApiCall>) -> Router {
    let tx = to_control.clone();
    router
        .get("/", |_: &Request| html(INDEX))
        .get("/wallboard", |_: &Request| html(PAGE))
        .get("/api/wallboard", move |request: &Request| {
            ask(&tx, &with_query_token(request))
        })
        .stream("/api/wallboard/events", move |request: &Request| {
            open(&to_control, request)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_start_at_midnight_at_the_offset() {
        // 2024-03-01T01:30Z is 09:30 at +08:00: the day began at 16:00Z.
        let t = 1_709_256_600_000;
        assert_eq!(day_start_ms(t, 480), 1_709_222_400_000);
        assert_eq!(day_start_ms(t, 0), 1_709_251_200_000);
        // At -05:00 it is still the 29th of February.
        assert_eq!(day_start_ms(t, -300), 1_709_182_800_000);
        assert_eq!(day_start_ms(0, 480), 0);
        assert_eq!(day_start_ms(1_709_222_400_000, 480), 1_709_222_400_000);
    }

    fn request(query: &str, auth: Option<&str>) -> Request {
        Request {
            method: "GET".into(),
            path: "/api/wallboard/events".into(),
            query: query.into(),
            headers: auth
                .map(|a| vec![("authorization".to_string(), a.to_string())])
                .unwrap_or_default(),
            body: Vec::new(),
            peer: "127.0.0.1:1".parse().unwrap(),
        }
    }

    #[test]
    fn the_query_token_becomes_a_bearer_header() {
        let r = with_query_token(&request("x=1&token=ab%2Fc", None));
        assert_eq!(r.header("authorization"), Some("Bearer ab/c"));
        let r = with_query_token(&request("token=q", Some("Bearer h")));
        assert_eq!(r.header("authorization"), Some("Bearer h"));
        for q in ["", "token=", "token=%zz", "tokens=a", "token"] {
            let r = with_query_token(&request(q, None));
            assert_eq!(r.header("authorization"), None, "{q}");
        }
    }

    #[test]
    fn a_stream_sends_changes_and_ends_on_a_refusal() {
        let (tx, rx) = crossbeam_channel::bounded::<ApiCall>(4);
        let answers = std::thread::spawn(move || {
            let bodies = [
                (200, "{\"a\":1}\n"),
                (200, "{\"a\":1}\n"),
                (200, "{\"a\":2}\n"),
            ];
            for (status, body) in bodies {
                let call = rx.recv().unwrap();
                assert_eq!(call.request.header("authorization"), Some("Bearer t"));
                call.reply.send(Response::json(status, body)).unwrap();
            }
            let call = rx.recv().unwrap();
            call.reply
                .send(Response::json(401, "{\"error\":\"unknown token\"}"))
                .unwrap();
        });
        let mut s = open(&tx, &request("token=t", None)).unwrap_or_else(|_| panic!("refused"));
        let snap = |d: &str| StreamStep::Send(SseEvent::new("snapshot", d));
        assert_eq!(s.poll(), snap("{\"a\":1}"));
        assert_eq!(s.poll(), StreamStep::Idle);
        assert_eq!(s.poll(), snap("{\"a\":2}"));
        assert_eq!(
            s.poll(),
            StreamStep::Send(SseEvent::new("refused", "{\"error\":\"unknown token\"}"))
        );
        assert_eq!(s.poll(), StreamStep::End);
        answers.join().unwrap();
    }
}
