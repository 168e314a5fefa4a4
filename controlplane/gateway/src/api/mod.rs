//! The REST API of `tandem run` (`/api/...` on `http.listen`): JSON,
//! bearer tokens, an audit log. `docs/openapi.json` (OpenAPI 3.1)
//! describes every route and body; `docs/api.md` is the prose.
//!
//! # Threads
//!
//! The HTTP server's threads do not touch call state: each API request is
//! handed to the control thread as an [`ApiCall`] over a bounded channel,
//! answered there by [`handle`] against the live services (the number
//! plans, the ACD, the KPI engine), and the response handed back. A
//! control thread that does not answer within [`REPLY_TIMEOUT`] gets the
//! client a 503, never a hung connection.
//!
//! # State
//!
//! [`Api`] holds what the API needs beyond the services: the tokens, the
//! audit log's database connection, the trunk names destinations may use,
//! and the destinations set through the API (the number plans do not
//! expose their lists, so the API remembers what it set; the rest comes
//! from the configuration the plans were built from). The run loop
//! creates it with [`init`] at start (and calls [`init`] again after a
//! SIGHUP reload: tokens are replaced, the remembered destinations kept,
//! since a reload does not rebuild the plans). Until [`init`] is called
//! the API is closed: every request but `GET /api/health` is 401.
//!
//! # Requests
//!
//! [`ROUTES`] lists every (method, path) with the role it needs; a unit
//! test checks it against the paths of `docs/openapi.json`, both ways.
//! Order of checks: `GET /api/health` needs no token; anything else is
//! 401 without a known `Authorization: Bearer` token (with no `[api]
//! tokens` configured, always), then 404 for an unknown path, 405 for a
//! known path with another method, 403 when the token's role is below the
//! route's, 400 for a bad body or parameter, 404 for an unknown number,
//! route, queue or agent, 409 when the ACD refuses an agent change.
//! Errors are `{"error": "..."}`.
//!
//! Every change is recorded in the audit log ([`audit`]) before it is
//! answered; a change is refused (503) if the audit log is not open.

mod agents;
pub(crate) mod audit;
mod auth;
mod calls;
mod ivr;
pub(crate) mod json;
mod monitor;
mod numbers;
mod queues;
mod voicemail;
mod wallboard;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Sender, bounded};

use crate::config::{ApiRole, ApiToken, Config, TrunkId};
use crate::http::{Request, Response, Router};
use crate::run::Services;
use audit::{AuditEntry, AuditLog};
use auth::{AuthError, Caller};
use json::{Value, object};

/// How long an HTTP thread waits for the control thread's answer.
pub(crate) const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// One API request on its way to the control thread, with where to send
/// the answer.
pub(crate) struct ApiCall {
    /// The request as the HTTP server parsed it.
    pub(crate) request: Request,
    /// Where the response goes (the HTTP thread waits on it).
    pub(crate) reply: Sender<Response>,
}

/// Adds the `/api/` routes to `router`, forwarding to the control thread.
pub(crate) fn routes(mut router: Router, to_control: Sender<ApiCall>) -> Router {
    // The wallboard's pages and endpoints first: they take `?token=`.
    router = wallboard::routes(router, to_control.clone());
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        let tx = to_control.clone();
        router = router.route(method, "/api/", move |request: &Request| {
            let (reply, answer) = bounded(1);
            let call = ApiCall {
                request: request.clone(),
                reply,
            };
            if tx.send_timeout(call, REPLY_TIMEOUT).is_err() {
                return unavailable();
            }
            answer
                .recv_timeout(REPLY_TIMEOUT)
                .unwrap_or_else(|_| unavailable())
        });
    }
    router
}

fn unavailable() -> Response {
    error(503, "the control thread did not answer in time")
}

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `GET /api/health`.
    Health,
    /// `GET /api/numbers`.
    Numbers,
    /// `GET /api/numbers/{number}`.
    Number,
    /// `GET /api/numbers/{number}/blacklist`.
    Blacklist,
    /// `PUT /api/numbers/{number}/routes/{route}/destinations`.
    SetDestinations,
    /// `POST /api/numbers/{number}/blacklist/{prefix}`.
    BlacklistAdd,
    /// `DELETE /api/numbers/{number}/blacklist/{prefix}`.
    BlacklistRemove,
    /// `GET /api/queues`.
    Queues,
    /// `GET /api/queues/{name}`.
    Queue,
    /// `GET /api/agents`.
    Agents,
    /// `GET /api/agents/{name}`.
    Agent,
    /// `POST /api/agents/{name}/{action}`.
    AgentAction(agents::Action),
    /// `GET /api/calls`.
    Calls,
    /// `GET /api/ivr`.
    IvrMenus,
    /// `GET /api/ivr/{name}`.
    IvrMenu,
    /// `POST /api/calls/{call}/monitor`.
    Monitor,
    /// `DELETE /api/calls/{call}/monitor`.
    MonitorStop,
    /// `GET /api/audit`.
    Audit,
    /// `/api/voicemail...`.
    Voicemail(voicemail::Route),
    /// `GET /api/wallboard` (and each snapshot of `/api/wallboard/events`).
    Wallboard,
}

/// One route: method, path pattern (`{name}` matches one segment, or its
/// start in `{name}.wav`), the
/// least role that may use it (`None`: no token needed), and what it does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApiRoute {
    /// The HTTP method.
    pub(crate) method: &'static str,
    /// The path, as written in `docs/openapi.json`.
    pub(crate) path: &'static str,
    /// The least role allowed.
    pub(crate) role: Option<ApiRole>,
    /// The handler.
    pub(crate) op: Op,
}

const fn route(method: &'static str, path: &'static str, role: ApiRole, op: Op) -> ApiRoute {
    ApiRoute {
        method,
        path,
        role: Some(role),
        op,
    }
}

use ApiRole::{Admin, Read, Supervisor};

/// Every route the API answers (checked against `docs/openapi.json`).
pub(crate) const ROUTES: &[ApiRoute] = &[
    ApiRoute {
        method: "GET",
        path: "/api/health",
        role: None,
        op: Op::Health,
    },
    route("GET", "/api/numbers", Read, Op::Numbers),
    route("GET", "/api/numbers/{number}", Read, Op::Number),
    route(
        "GET",
        "/api/numbers/{number}/blacklist",
        Read,
        Op::Blacklist,
    ),
    route(
        "PUT",
        "/api/numbers/{number}/routes/{route}/destinations",
        Admin,
        Op::SetDestinations,
    ),
    route(
        "POST",
        "/api/numbers/{number}/blacklist/{prefix}",
        Admin,
        Op::BlacklistAdd,
    ),
    route(
        "DELETE",
        "/api/numbers/{number}/blacklist/{prefix}",
        Admin,
        Op::BlacklistRemove,
    ),
    route("GET", "/api/queues", Read, Op::Queues),
    route("GET", "/api/queues/{name}", Read, Op::Queue),
    route("GET", "/api/agents", Read, Op::Agents),
    route("GET", "/api/agents/{name}", Read, Op::Agent),
    route(
        "POST",
        "/api/agents/{name}/login",
        Supervisor,
        Op::AgentAction(agents::Action::Login),
    ),
    route(
        "POST",
        "/api/agents/{name}/logout",
        Supervisor,
        Op::AgentAction(agents::Action::Logout),
    ),
    route(
        "POST",
        "/api/agents/{name}/pause",
        Supervisor,
        Op::AgentAction(agents::Action::Pause),
    ),
    route(
        "POST",
        "/api/agents/{name}/unpause",
        Supervisor,
        Op::AgentAction(agents::Action::Unpause),
    ),
    route(
        "POST",
        "/api/agents/{name}/ready",
        Supervisor,
        Op::AgentAction(agents::Action::Ready),
    ),
    route("GET", "/api/calls", Read, Op::Calls),
    route("POST", "/api/calls/{call}/monitor", Supervisor, Op::Monitor),
    route(
        "DELETE",
        "/api/calls/{call}/monitor",
        Supervisor,
        Op::MonitorStop,
    ),
    route("GET", "/api/ivr", Read, Op::IvrMenus),
    route("GET", "/api/ivr/{name}", Read, Op::IvrMenu),
    route("GET", "/api/audit", Supervisor, Op::Audit),
    route(
        "GET",
        "/api/voicemail",
        Read,
        Op::Voicemail(voicemail::Route::Boxes),
    ),
    route(
        "GET",
        "/api/voicemail/{box}",
        Read,
        Op::Voicemail(voicemail::Route::Messages),
    ),
    route(
        "GET",
        "/api/voicemail/{box}/{id}.wav",
        Read,
        Op::Voicemail(voicemail::Route::Audio),
    ),
    route(
        "DELETE",
        "/api/voicemail/{box}/{id}",
        Supervisor,
        Op::Voicemail(voicemail::Route::Delete),
    ),
    route(
        "POST",
        "/api/voicemail/{box}/{id}/heard",
        Supervisor,
        Op::Voicemail(voicemail::Route::Heard),
    ),
    route("GET", "/api/wallboard", Read, Op::Wallboard),
    route("GET", "/api/wallboard/events", Read, Op::Wallboard),
];

/// An error answer: status and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// 400, 403, 404, 409, 503...
    pub(crate) status: u16,
    /// The `error` text.
    pub(crate) message: String,
}

impl ApiError {
    /// A 400: the request's body or a parameter is wrong.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            message: message.into(),
        }
    }

    /// A 404: the named thing does not exist.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: 404,
            message: message.into(),
        }
    }

    /// A 409: the change does not apply in the current state.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        ApiError {
            status: 409,
            message: message.into(),
        }
    }
}

/// A change a handler made, to be recorded in the audit log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    /// One of [`audit::ACTIONS`].
    pub(crate) action: &'static str,
    /// What was changed (`agent:NAME`, `number:DIGITS`).
    pub(crate) target: String,
    /// The change's parameters.
    pub(crate) detail: Value,
}

/// A handler's answer: the body of a 200, and the change made, if any.
pub(crate) type Outcome = Result<(Value, Option<Change>), ApiError>;

/// The API's own state; see the module docs.
pub(crate) struct Api {
    tokens: Vec<ApiToken>,
    /// Names of the file's trunks (destinations `trunk:NAME`).
    trunks: Vec<String>,
    /// Open while tokens are configured.
    audit: Option<AuditLog>,
    /// Destinations set through the API: (plan index, route) → list.
    destinations: numbers::Overlay,
    /// The voicemail boxes and, once needed, their store.
    voicemail: voicemail::Mailboxes,
    /// The wallboard's database connection and cache.
    wallboard: wallboard::Board,
}

/// What a handler sees of the request and the gateway.
pub(crate) struct Ctx<'a> {
    /// The services (`None`: no call center configured).
    pub(crate) services: Option<&'a mut Services>,
    /// The run loop's clock.
    pub(crate) now: Instant,
    /// The path parameters, in pattern order, percent-decoded.
    pub(crate) params: Vec<String>,
    /// The request.
    pub(crate) request: &'a Request,
    /// Trunk names, for checking destinations.
    pub(crate) trunks: &'a [String],
    /// Destinations set through the API.
    pub(crate) destinations: &'a mut numbers::Overlay,
}

impl Ctx<'_> {
    /// Path parameter `i` (`""` if the pattern has fewer).
    pub(crate) fn param(&self, i: usize) -> &str {
        self.params.get(i).map_or("", String::as_str)
    }

    /// The services, or a 404 saying there is no call center.
    pub(crate) fn services(&mut self) -> Result<&mut Services, ApiError> {
        self.services
            .as_deref_mut()
            .ok_or_else(|| ApiError::not_found("no call center is configured"))
    }

    /// The wall-clock time of the request, in unix ms (the services'
    /// clock when there are services, so times agree with agents' `since`).
    pub(crate) fn now_ms(&self) -> u64 {
        match self.services.as_deref() {
            Some(s) => s.ts(self.now).as_millis(),
            None => wall_ms(),
        }
    }
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The trunk names `trunk:NAME` destinations may use: the file's trunks,
/// not the agents' phones.
fn trunk_names(config: &Config) -> Vec<String> {
    config
        .trunks
        .iter()
        .enumerate()
        .filter(|(i, _)| !config.is_agent_trunk(TrunkId(*i)))
        .map(|(_, t)| t.name.clone())
        .collect()
}

impl Api {
    /// A closed API: no tokens, no audit log.
    pub(crate) fn closed() -> Api {
        Api {
            tokens: Vec::new(),
            trunks: Vec::new(),
            audit: None,
            destinations: HashMap::new(),
            voicemail: voicemail::Mailboxes::default(),
            wallboard: wallboard::Board::default(),
        }
    }

    /// The API of `config`; with tokens, the audit log is opened in
    /// `cdr.database` (an error names the file).
    pub(crate) fn new(config: &Config) -> Result<Api, String> {
        let mut api = Api::closed();
        api.reconfigure(config)?;
        Ok(api)
    }

    /// Takes new tokens and trunk names from `config`, keeping the
    /// destinations set through the API; opens the audit log if tokens
    /// are configured and it is not open on `cdr.database` yet. On error
    /// nothing changes.
    pub(crate) fn reconfigure(&mut self, config: &Config) -> Result<(), String> {
        let tokens = config.api.tokens.clone();
        let path: PathBuf = config.cdr.database.clone();
        let reopen = !tokens.is_empty()
            && self
                .audit
                .as_ref()
                .is_none_or(|a| a.path() != path.as_path());
        if reopen {
            let log = AuditLog::open(&path, config.cdr.synchronous)
                .map_err(|e| format!("the API's audit log: {e}"))?;
            self.audit = Some(log);
        }
        self.tokens = tokens;
        self.trunks = trunk_names(config);
        self.voicemail.configure(config);
        self.wallboard.configure(config);
        Ok(())
    }

    /// Answers one request; see the module docs for the order of checks.
    pub(crate) fn handle(
        &mut self,
        services: Option<&mut Services>,
        now: Instant,
        request: &Request,
    ) -> Response {
        let method = if request.method == "HEAD" {
            "GET"
        } else {
            request.method.as_str()
        };
        let Some(segments) = path_segments(&request.path) else {
            return error(400, "the path is not valid percent-encoded UTF-8");
        };
        let found = find_route(method, &segments);
        if let Found::Route(r, _) = &found
            && r.role.is_none()
        {
            return self.run(r.op, services, now, request, Vec::new(), None);
        }
        let caller = match auth::authenticate(&self.tokens, request) {
            Ok(c) => c,
            Err(e) => return unauthorized(e),
        };
        match found {
            Found::None => error(404, format!("no such resource: {}", request.path)),
            Found::OtherMethods(allow) => {
                error(405, format!("{method} is not allowed here")).with_header("Allow", &allow)
            }
            Found::Route(r, params) => {
                let needed = r.role.unwrap_or(ApiRole::Read);
                if caller.role < needed {
                    return error(
                        403,
                        format!(
                            "token {:?} has role {}; this needs {}",
                            caller.name,
                            caller.role.as_str(),
                            needed.as_str()
                        ),
                    );
                }
                self.run(r.op, services, now, request, params, Some(&caller))
            }
        }
    }

    fn run(
        &mut self,
        op: Op,
        services: Option<&mut Services>,
        now: Instant,
        request: &Request,
        params: Vec<String>,
        caller: Option<&Caller>,
    ) -> Response {
        let changes = matches!(
            op,
            Op::SetDestinations
                | Op::BlacklistAdd
                | Op::BlacklistRemove
                | Op::AgentAction(_)
                | Op::Monitor
                | Op::MonitorStop
        ) || matches!(op, Op::Voicemail(r) if r.changes());
        if changes && self.audit.is_none() {
            return error(503, "the audit log is not open; changes are refused");
        }
        let mut ctx = Ctx {
            services,
            now,
            params,
            request,
            trunks: &self.trunks,
            destinations: &mut self.destinations,
        };
        let outcome = match op {
            Op::Health => Ok((
                object([
                    ("status", Value::from("ok")),
                    ("callcenter", Value::from(ctx.services.is_some())),
                ]),
                None,
            )),
            Op::Numbers => numbers::list(&mut ctx),
            Op::Number => numbers::get(&mut ctx),
            Op::Blacklist => numbers::blacklist(&mut ctx),
            Op::SetDestinations => numbers::set_destinations(&mut ctx),
            Op::BlacklistAdd => numbers::blacklist_add(&mut ctx),
            Op::BlacklistRemove => numbers::blacklist_remove(&mut ctx),
            Op::Queues => queues::list(&mut ctx),
            Op::Queue => queues::get(&mut ctx),
            Op::Agents => agents::list(&mut ctx),
            Op::Agent => agents::get(&mut ctx),
            Op::AgentAction(action) => agents::act(&mut ctx, action),
            Op::Calls => calls::list(&mut ctx),
            Op::IvrMenus => ivr::list(&mut ctx),
            Op::IvrMenu => ivr::get(&mut ctx),
            Op::Monitor => monitor::start(&mut ctx),
            Op::MonitorStop => monitor::stop(&mut ctx),
            Op::Voicemail(r) => match voicemail::handle(&mut self.voicemail, r, &mut ctx) {
                voicemail::Answer::Json(outcome) => outcome,
                voicemail::Answer::Raw(response) => return response,
            },
            Op::Wallboard => wallboard::snapshot(&mut ctx, &mut self.wallboard),
            Op::Audit => match self.audit.as_mut() {
                Some(log) => audit_list(log, &request.query),
                None => Ok((object([("entries", Value::Array(Vec::new()))]), None)),
            },
        };
        let at_ms = ctx.now_ms();
        match outcome {
            Err(e) => error(e.status, e.message),
            Ok((body, change)) => {
                if let (Some(change), Some(caller), Some(log)) =
                    (change, caller, self.audit.as_mut())
                {
                    let mut detail = String::new();
                    change.detail.write(&mut detail);
                    let entry = AuditEntry {
                        at_ms,
                        who: caller.name.clone(),
                        action: change.action.to_string(),
                        target: change.target,
                        detail,
                    };
                    if let Err(e) = log.record(&entry) {
                        // The change is made; say loudly that its row is
                        // missing, with everything needed to add it.
                        let mut line = String::new();
                        entry.to_json().write(&mut line);
                        eprintln!("tandem: api: audit row NOT STORED ({e}): {line}");
                    }
                }
                Response::json(200, body.to_body())
            }
        }
    }
}

/// `GET /api/audit?limit=N` (default 100, at most 1000).
fn audit_list(log: &mut AuditLog, query: &str) -> Outcome {
    let mut limit = 100u32;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "limit" => {
                limit = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "limit: expected a whole number from 1 to 1000, got {v:?}"
                        ))
                    })?;
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {k:?} (expected limit)"
                )));
            }
        }
    }
    let rows = log.newest(limit).map_err(|e| ApiError {
        status: 500,
        message: e,
    })?;
    Ok((
        object([(
            "entries",
            Value::Array(rows.iter().map(AuditEntry::to_json).collect()),
        )]),
        None,
    ))
}

/// A JSON error response.
fn error(status: u16, message: impl Into<String>) -> Response {
    Response::json(
        status,
        object([("error", Value::from(message.into()))]).to_body(),
    )
}

fn unauthorized(e: AuthError) -> Response {
    let challenge = match e {
        AuthError::Unknown => "Bearer realm=\"tandem\", error=\"invalid_token\"",
        _ => "Bearer realm=\"tandem\"",
    };
    error(401, e.message()).with_header("WWW-Authenticate", challenge)
}

/// The path's segments, percent-decoded (`None`: bad escape or not UTF-8).
fn path_segments(path: &str) -> Option<Vec<String>> {
    path.trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

enum Found {
    None,
    /// The path exists with these methods (the `Allow` value).
    OtherMethods(String),
    Route(&'static ApiRoute, Vec<String>),
}

/// Matches decoded segments against [`ROUTES`].
fn find_route(method: &str, segments: &[String]) -> Found {
    let mut allow: Vec<&str> = Vec::new();
    for r in ROUTES {
        let pattern: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
        if pattern.len() != segments.len() {
            continue;
        }
        let mut params = Vec::new();
        let matched = pattern.iter().zip(segments).all(|(p, s)| {
            if let Some(rest) = p.strip_prefix('{') {
                // `{id}.wav`: a parameter, then a fixed suffix.
                let suffix = rest.split_once('}').map_or("", |(_, x)| x);
                let value = s.strip_suffix(suffix).unwrap_or("");
                params.push(value.to_string());
                !value.is_empty()
            } else {
                p == s
            }
        });
        if !matched {
            continue;
        }
        if r.method == method {
            return Found::Route(r, params);
        }
        if !allow.contains(&r.method) {
            allow.push(r.method);
        }
    }
    if allow.is_empty() {
        Found::None
    } else {
        if allow.contains(&"GET") {
            allow.push("HEAD");
        }
        Found::OtherMethods(allow.join(", "))
    }
}

static API: Mutex<Option<Api>> = Mutex::new(None);

fn lock() -> MutexGuard<'static, Option<Api>> {
    // Only the control thread takes the lock; a panic while holding it
    // leaves a usable value (every change is one assignment).
    API.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets up the API from `config`: at start, and again after a reload.
/// Errors (the audit log cannot be opened) should stop the start.
pub(crate) fn init(config: &Config) -> Result<(), String> {
    let mut guard = lock();
    match guard.as_mut() {
        Some(api) => api.reconfigure(config),
        None => {
            *guard = Some(Api::new(config)?);
            Ok(())
        }
    }
}

/// Answers one API request on the control thread. `services` is `None`
/// when the configuration has no call center. Before [`init`] the API is
/// closed.
pub(crate) fn handle(services: Option<&mut Services>, now: Instant, request: &Request) -> Response {
    lock()
        .get_or_insert_with(Api::closed)
        .handle(services, now, request)
}

#[cfg(test)]
mod tests;
