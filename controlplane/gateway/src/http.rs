//! A small HTTP/1.1 server (RFC 9110, RFC 9112) on std threads, for
//! `/metrics` (Prometheus), `/health`, and later the REST API.
//!
//! Why not a framework: the gateway serves a handful of requests a minute
//! to a scraper and a load balancer, and the workspace keeps its dependency
//! list short. What matters here is that nothing a client sends can hurt
//! the gateway, so the server is built around limits:
//!
//! * one thread per connection, at most [`Limits::max_connections`] at once;
//!   beyond that a client gets `503` at once (from one helper thread, never
//!   from the acceptor, so a flood cannot stall accepting);
//! * a read timeout per connection ([`Limits::read_timeout`]), so an idle or
//!   trickling client holds its thread for bounded time;
//! * the request head (request line and headers) is capped at
//!   [`Limits::max_head_bytes`] (16 KiB): more is `431`; a body at
//!   [`Limits::max_body_bytes`]: more is `413`;
//! * malformed requests get `400` (`505` for another HTTP version, `501` for
//!   `Transfer-Encoding`, which we do not implement); a handler that panics
//!   gives `500`. The server keeps serving in every case.
//!
//! One request per connection: every response says `Connection: close`.
//! That costs a TCP handshake per scrape and buys a server with no
//! keep-alive state to get wrong.
//!
//! Routing is a [`Router`] of (method, path) → [`Handler`]; a path ending in
//! `/` matches everything under it, so the REST API can mount a prefix
//! (the root `/` alone is exact: as a prefix it would swallow every 404).
//! `HEAD` is answered by the `GET` handler without the body. A path that
//! exists with another method is `405` with `Allow`; an unknown path `404`.
//!
//! # Event streams
//!
//! A [`StreamHandler`] route ([`Router::stream`]) answers with server-sent
//! events (HTML Living Standard §9.2, `text/event-stream`): the handler
//! either refuses with an ordinary [`Response`] (401, 404, ...) or hands
//! back an [`EventSource`], which the connection's thread then polls —
//! once at once, then every [`Limits::stream_tick`] — writing each
//! [`SseEvent`] it returns. The body has no length; it ends when the
//! source says so, when the client goes away (noticed within a tick: the
//! thread waits for the next tick by peeking at the socket, so a close
//! reads as end-of-file), when the client stops reading (a write blocked
//! for [`Limits::read_timeout`]), or when the server shuts down (within a
//! tick). A comment line (`: keep-alive`) is written whenever nothing was
//! for [`Limits::keep_alive`], so proxies and the client see the
//! connection live. At most [`Limits::max_streams`] streams are open at
//! once (each holds a connection thread, counted in
//! [`Limits::max_connections`] too); another client gets `503` with
//! `Retry-After`.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `tandem_http_requests_total` | counter | path, code | requests answered; `path` is the matched route, or `other` (unknown paths and malformed requests, so that scanners cannot grow the label set); an event stream counts once, when it opens |
//! | `tandem_http_streams` | gauge | | event streams open now |

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prometheus::{IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// A parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The method, as sent (methods are case-sensitive, RFC 9110 §9.1).
    pub(crate) method: String,
    /// The path, without the query (not percent-decoded).
    pub(crate) path: String,
    /// What followed `?`, if anything (not decoded).
    pub(crate) query: String,
    /// Header fields in order; names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub(crate) body: Vec<u8>,
    /// The client.
    pub(crate) peer: SocketAddr,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// Status code.
    pub(crate) status: u16,
    /// `Content-Type`.
    pub(crate) content_type: String,
    /// More header fields.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// A response with a body of the given type.
    pub(crate) fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            content_type: content_type.to_string(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A plain-text response.
    pub(crate) fn text(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, "text/plain; charset=utf-8", body.into())
    }

    /// A JSON response (the body must already be JSON).
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, "application/json", body.into())
    }

    /// Adds a header field.
    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// An error response whose text body is the reason phrase.
    fn error(status: u16) -> Self {
        Self::text(status, format!("{status} {}\n", reason(status)))
    }
}

/// Something that answers requests. Closures `Fn(&Request) -> Response`
/// are handlers.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: &Request) -> Response;
}

impl<F> Handler for F
where
    F: Fn(&Request) -> Response + Send + Sync + 'static,
{
    fn handle(&self, request: &Request) -> Response {
        self(request)
    }
}

/// One server-sent event: an `event:` line (when named) and the data,
/// one `data:` line per line of it, then an empty line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The event's type (`EventSource.addEventListener(type)`); `None`
    /// for the default `message`.
    pub(crate) event: Option<String>,
    /// The payload; line breaks become separate `data:` lines, which the
    /// client joins back with `\n`.
    pub(crate) data: String,
}

impl SseEvent {
    /// An event of type `event`.
    pub(crate) fn new(event: &str, data: impl Into<String>) -> Self {
        SseEvent {
            event: Some(event.to_string()),
            data: data.into(),
        }
    }

    /// The event as written on the wire. A line break in the type would
    /// start another field, so it is dropped.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::with_capacity(self.data.len() + 32);
        if let Some(event) = &self.event {
            out.push_str("event: ");
            out.extend(event.chars().filter(|c| !matches!(c, '\r' | '\n')));
            out.push('\n');
        }
        let data = self.data.replace("\r\n", "\n").replace('\r', "\n");
        for line in data.split('\n') {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        out
    }
}

/// What an [`EventSource`] has at one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamStep {
    /// Write this event.
    Send(SseEvent),
    /// Nothing new this tick.
    Idle,
    /// The stream is over: close the connection.
    End,
}

/// The events of one open stream, polled by the connection's thread; see
/// the module docs.
pub(crate) trait EventSource: Send {
    /// What to send now. Called at once when the stream opens, then every
    /// [`Limits::stream_tick`]. It may block, for a bounded time: that
    /// delays the next tick and the noticing of a shutdown. A panic ends
    /// the stream.
    fn poll(&mut self) -> StreamStep;
}

/// Opens event streams: refuses with a response, or returns the source.
pub(crate) trait StreamHandler: Send + Sync + 'static {
    /// Opens a stream for `request` (a `GET` or `HEAD`).
    fn open(&self, request: &Request) -> Result<Box<dyn EventSource>, Response>;
}

impl<F> StreamHandler for F
where
    F: Fn(&Request) -> Result<Box<dyn EventSource>, Response> + Send + Sync + 'static,
{
    fn open(&self, request: &Request) -> Result<Box<dyn EventSource>, Response> {
        self(request)
    }
}

/// A route's handler: an answer, or an event stream.
#[derive(Clone)]
enum Endpoint {
    Answer(Arc<dyn Handler>),
    Stream(Arc<dyn StreamHandler>),
}

struct Route {
    method: String,
    pattern: String,
    endpoint: Endpoint,
}

impl Route {
    fn matches_path(&self, path: &str) -> bool {
        if self.pattern == "/" {
            path == "/"
        } else if self.pattern.ends_with('/') {
            path.starts_with(&self.pattern)
        } else {
            path == self.pattern
        }
    }
}

/// (method, path) → handler; see the module docs.
#[derive(Default)]
pub(crate) struct Router {
    routes: Vec<Route>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.routes
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.pattern)),
            )
            .finish()
    }
}

impl Router {
    /// A router with no routes: everything is 404.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds a route. `pattern` is an exact path, or a prefix when it ends
    /// in `/`. The first matching route wins.
    pub(crate) fn route(mut self, method: &str, pattern: &str, handler: impl Handler) -> Self {
        self.routes.push(Route {
            method: method.to_string(),
            pattern: pattern.to_string(),
            endpoint: Endpoint::Answer(Arc::new(handler)),
        });
        self
    }

    /// Adds a `GET` (and so `HEAD`) route.
    pub(crate) fn get(self, pattern: &str, handler: impl Handler) -> Self {
        self.route("GET", pattern, handler)
    }

    /// Adds a `GET` route answered with an event stream (see the module
    /// docs).
    pub(crate) fn stream(mut self, pattern: &str, handler: impl StreamHandler) -> Self {
        self.routes.push(Route {
            method: "GET".to_string(),
            pattern: pattern.to_string(),
            endpoint: Endpoint::Stream(Arc::new(handler)),
        });
        self
    }

    /// Dispatches; returns the answer and the route pattern for the
    /// metric label (`None`: no route has this path). A stream route is
    /// handed back unopened, so the caller can check the stream limit
    /// first.
    fn dispatch(&self, req: &Request) -> (Dispatched, Option<&str>) {
        let method = if req.method == "HEAD" {
            "GET"
        } else {
            req.method.as_str()
        };
        let mut allowed = BTreeSet::new();
        let mut label = None;
        for r in self.routes.iter().filter(|r| r.matches_path(&req.path)) {
            label.get_or_insert(r.pattern.as_str());
            if r.method == method {
                let answer = match &r.endpoint {
                    Endpoint::Answer(h) => {
                        let h = Arc::clone(h);
                        Dispatched::Answer(
                            std::panic::catch_unwind(AssertUnwindSafe(|| h.handle(req)))
                                .unwrap_or_else(|_| Response::error(500)),
                        )
                    }
                    Endpoint::Stream(h) => Dispatched::Stream(Arc::clone(h)),
                };
                return (answer, Some(r.pattern.as_str()));
            }
            allowed.insert(r.method.as_str());
            if r.method == "GET" {
                allowed.insert("HEAD");
            }
        }
        if label.is_none() {
            return (Dispatched::Answer(Response::error(404)), None);
        }
        let allow = allowed.into_iter().collect::<Vec<_>>().join(", ");
        (
            Dispatched::Answer(Response::error(405).with_header("Allow", &allow)),
            label,
        )
    }
}

/// What [`Router::dispatch`] found.
enum Dispatched {
    /// Send this.
    Answer(Response),
    /// Open a stream with this handler.
    Stream(Arc<dyn StreamHandler>),
}

/// A value in the `/health` document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum HealthValue {
    /// A JSON string.
    Str(String),
    /// A JSON integer.
    Int(i64),
    /// A JSON boolean.
    Bool(bool),
}

impl From<&str> for HealthValue {
    fn from(s: &str) -> Self {
        HealthValue::Str(s.to_string())
    }
}

impl From<String> for HealthValue {
    fn from(s: String) -> Self {
        HealthValue::Str(s)
    }
}

impl From<i64> for HealthValue {
    fn from(n: i64) -> Self {
        HealthValue::Int(n)
    }
}

impl From<bool> for HealthValue {
    fn from(b: bool) -> Self {
        HealthValue::Bool(b)
    }
}

/// What `/health` reports: `{"status": ..., more fields}`, with `200` when
/// `serving` and `503` otherwise (a load balancer then stops sending new
/// calls, e.g. while draining).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Health {
    /// `"ok"`, `"draining"`, ...
    pub(crate) status: String,
    /// Whether to answer 200.
    pub(crate) serving: bool,
    /// More fields, in order.
    pub(crate) fields: Vec<(String, HealthValue)>,
}

impl Health {
    /// `{"status":"ok"}`, 200.
    pub(crate) fn ok() -> Self {
        Health {
            status: "ok".to_string(),
            serving: true,
            fields: Vec::new(),
        }
    }

    /// A 503 with this status word.
    pub(crate) fn unavailable(status: &str) -> Self {
        Health {
            status: status.to_string(),
            serving: false,
            fields: Vec::new(),
        }
    }

    /// Adds a field.
    pub(crate) fn with(mut self, key: &str, value: impl Into<HealthValue>) -> Self {
        self.fields.push((key.to_string(), value.into()));
        self
    }

    /// The JSON document.
    pub(crate) fn to_json(&self) -> String {
        let mut s = String::from("{\"status\":");
        json_string(&self.status, &mut s);
        for (k, v) in &self.fields {
            s.push(',');
            json_string(k, &mut s);
            s.push(':');
            match v {
                HealthValue::Str(v) => json_string(v, &mut s),
                HealthValue::Int(n) => s.push_str(&n.to_string()),
                HealthValue::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
            }
        }
        s.push('}');
        s
    }
}

/// A JSON string literal (RFC 8259 §7). The CDR module has its twin; this
/// module stays self-contained so tests can build it alone.
fn json_string(v: &str, out: &mut String) {
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The gateway's built-in routes: `GET /metrics` (the registry in the
/// Prometheus text format) and `GET /health` (what `health` says).
pub(crate) fn gateway_router(
    registry: Registry,
    health: impl Fn() -> Health + Send + Sync + 'static,
) -> Router {
    Router::new()
        .get("/metrics", move |_: &Request| {
            let encoder = TextEncoder::new();
            match encoder.encode_to_string(&registry.gather()) {
                Ok(text) => Response::new(200, prometheus::TEXT_FORMAT, text),
                Err(e) => Response::text(500, format!("encoding metrics: {e}\n")),
            }
        })
        .get("/health", move |_: &Request| {
            let h = health();
            Response::json(if h.serving { 200 } else { 503 }, h.to_json() + "\n")
        })
}

/// `tandem_http_requests_total` and `tandem_http_streams`, registered
/// once per registry.
#[derive(Clone, Debug)]
pub(crate) struct HttpMetrics {
    requests: IntCounterVec,
    streams: IntGauge,
}

impl HttpMetrics {
    /// Creates the counters and registers them in `registry`.
    pub(crate) fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(
                "tandem_http_requests_total",
                "HTTP requests answered, by route and status code.",
            ),
            &["path", "code"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        let streams = IntGauge::new("tandem_http_streams", "Event streams open now.")?;
        registry.register(Box::new(streams.clone()))?;
        Ok(HttpMetrics { requests, streams })
    }

    fn count(&self, path: Option<&str>, status: u16) {
        self.requests
            .with_label_values(&[path.unwrap_or("other"), &status.to_string()])
            .inc();
    }
}

/// The server's limits; see the module docs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Connections served at once.
    pub(crate) max_connections: usize,
    /// Longest wait for the client's next bytes (and for it to take ours).
    pub(crate) read_timeout: Duration,
    /// Request line plus header fields.
    pub(crate) max_head_bytes: usize,
    /// Request body.
    pub(crate) max_body_bytes: usize,
    /// Event streams open at once.
    pub(crate) max_streams: usize,
    /// How often an open stream's source is polled.
    pub(crate) stream_tick: Duration,
    /// The longest a stream stays silent: then a comment line is sent.
    pub(crate) keep_alive: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 64,
            read_timeout: Duration::from_secs(5),
            max_head_bytes: 16 * 1024,
            max_body_bytes: 1024 * 1024,
            max_streams: 16,
            stream_tick: Duration::from_secs(1),
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// Starts servers; see [`HttpServer::start`].
#[derive(Debug)]
pub(crate) struct HttpServer;

/// A running server. [`HttpHandle::shutdown`] stops accepting; dropping
/// the handle does the same.
#[derive(Debug)]
pub(crate) struct HttpHandle {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    router: Router,
    metrics: HttpMetrics,
    limits: Limits,
    active: AtomicUsize,
    /// Event streams open.
    streams: AtomicUsize,
    /// Set when the server shuts down.
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    /// Binds `addr` (so "address in use" is an error here, at start) and
    /// serves `router` with the default [`Limits`].
    pub(crate) fn start(
        addr: SocketAddr,
        router: Router,
        metrics: HttpMetrics,
    ) -> io::Result<HttpHandle> {
        Self::start_with(addr, router, metrics, Limits::default())
    }

    /// [`HttpServer::start`] with other limits.
    pub(crate) fn start_with(
        addr: SocketAddr,
        router: Router,
        metrics: HttpMetrics,
        limits: Limits,
    ) -> io::Result<HttpHandle> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            router,
            metrics,
            limits,
            active: AtomicUsize::new(0),
            streams: AtomicUsize::new(0),
            stop: Arc::clone(&stop),
        });
        let stop2 = Arc::clone(&stop);
        let acceptor = std::thread::Builder::new()
            .name("http-accept".into())
            .spawn(move || accept_loop(listener, shared, stop2))?;
        Ok(HttpHandle {
            local_addr,
            stop,
            acceptor: Some(acceptor),
        })
    }
}

impl HttpHandle {
    /// The bound address (the real port when started on port 0).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections; requests in progress finish on their
    /// own threads, and event streams end within a tick.
    pub(crate) fn shutdown(mut self) {
        self.stop_accepting();
    }

    fn stop_accepting(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // `accept` blocks: wake it with a connection of our own. A
        // wildcard bind is reached through loopback.
        let mut wake = self.local_addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(if wake.is_ipv4() {
                [127, 0, 0, 1].into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let woke = TcpStream::connect_timeout(&wake, Duration::from_secs(1)).is_ok();
        if let Some(t) = self.acceptor.take()
            && woke
        {
            let _ = t.join();
        }
        // If the wake-up failed the thread is left to end at its next
        // connection rather than hang the caller.
    }
}

impl Drop for HttpHandle {
    fn drop(&mut self) {
        if self.acceptor.is_some() {
            self.stop_accepting();
        }
    }
}

/// Decrements the active-connection count however the thread ends.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    // Turning a client away also takes care: closing a socket with its
    // request unread makes the kernel send a RST, which can destroy our 503
    // before the client reads it. One thread does that politely, one client
    // at a time, so the acceptor never waits on a client; if even its queue
    // is full, the connection is simply closed.
    let (reject_tx, reject_rx) = mpsc::sync_channel::<TcpStream>(64);
    let rejector = std::thread::Builder::new()
        .name("http-reject".into())
        .spawn(move || {
            for mut stream in reject_rx {
                let busy = Response::error(503).with_header("Retry-After", "1");
                let _ = write_response(&mut stream, &busy, false);
                close_gently(stream, Duration::from_millis(100));
            }
        });
    if let Err(e) = &rejector {
        eprintln!("tandem: http: cannot start the rejection thread: {e}");
    }
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                eprintln!("tandem: http: accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let _ = stream.set_read_timeout(Some(shared.limits.read_timeout));
        let _ = stream.set_write_timeout(Some(shared.limits.read_timeout));
        if shared.active.fetch_add(1, Ordering::SeqCst) >= shared.limits.max_connections {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            shared.metrics.count(None, 503);
            let _ = reject_tx.try_send(stream);
            continue;
        }
        let slot = Slot(Arc::clone(&shared));
        let spawned = std::thread::Builder::new()
            .name("http-conn".into())
            .spawn(move || {
                let shared = Arc::clone(&slot.0);
                serve_connection(stream, peer, &shared);
                drop(slot);
            });
        if let Err(e) = spawned {
            eprintln!("tandem: http: cannot start a connection thread: {e}");
        }
    }
}

/// Ends our side, then reads (a bounded amount, for a bounded time) what
/// the client still sends, so that closing does not provoke a RST that
/// could discard the response we just wrote.
fn close_gently(mut stream: TcpStream, wait: Duration) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(wait));
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while let Ok(n) = stream.read(&mut sink) {
        drained += n;
        if n == 0 || drained > 64 * 1024 {
            break;
        }
    }
}

/// Why a request could not be read: the status to answer with, or `None`
/// when the client went away (or timed out) before sending a request.
type ReadError = Option<u16>;

fn serve_connection(mut stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    let (response, label, head_only) = match read_request(&mut stream, peer, &shared.limits) {
        Ok(req) => {
            let (answer, label) = shared.router.dispatch(&req);
            let head_only = req.method == "HEAD";
            match answer {
                Dispatched::Answer(resp) => (resp, label.map(str::to_string), head_only),
                Dispatched::Stream(handler) => {
                    let label = label.map(str::to_string);
                    match open_stream(&handler, &req, shared) {
                        Ok((source, slot)) => {
                            shared.metrics.count(label.as_deref(), 200);
                            serve_stream(stream, source, head_only, shared);
                            drop(slot);
                            return;
                        }
                        Err(resp) => (resp, label, head_only),
                    }
                }
            }
        }
        Err(None) => return,
        Err(Some(status)) => (Response::error(status), None, false),
    };
    shared.metrics.count(label.as_deref(), response.status);
    let _ = write_response(&mut stream, &response, head_only);
    close_gently(stream, Duration::from_millis(200));
}

/// Holds one of [`Limits::max_streams`] while a stream is open.
struct StreamSlot<'a>(&'a Shared);

impl Drop for StreamSlot<'_> {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::SeqCst);
        self.0.metrics.streams.dec();
    }
}

/// Takes a stream slot (503 when none is free), then opens the stream (a
/// handler that panics: 500).
fn open_stream<'a>(
    handler: &Arc<dyn StreamHandler>,
    req: &Request,
    shared: &'a Shared,
) -> Result<(Box<dyn EventSource>, StreamSlot<'a>), Response> {
    if shared.streams.fetch_add(1, Ordering::SeqCst) >= shared.limits.max_streams {
        shared.streams.fetch_sub(1, Ordering::SeqCst);
        return Err(Response::error(503).with_header("Retry-After", "5"));
    }
    shared.metrics.streams.inc();
    let slot = StreamSlot(shared);
    match std::panic::catch_unwind(AssertUnwindSafe(|| handler.open(req))) {
        Ok(Ok(source)) => Ok((source, slot)),
        Ok(Err(resp)) => Err(resp),
        Err(_) => Err(Response::error(500)),
    }
}

/// Writes the stream's head, then its events until it ends; see the
/// module docs.
fn serve_stream(
    mut stream: TcpStream,
    mut source: Box<dyn EventSource>,
    head_only: bool,
    shared: &Shared,
) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                Cache-Control: no-store\r\nConnection: close\r\n\
                X-Accel-Buffering: no\r\n\r\n";
    if stream.write_all(head.as_bytes()).is_err() || head_only {
        close_gently(stream, Duration::from_millis(100));
        return;
    }
    let limits = &shared.limits;
    let mut last_write = Instant::now();
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let step =
            std::panic::catch_unwind(AssertUnwindSafe(|| source.poll())).unwrap_or(StreamStep::End);
        let out = match step {
            StreamStep::Send(event) => Some(event.encode()),
            StreamStep::Idle if last_write.elapsed() >= limits.keep_alive => {
                Some(": keep-alive\n\n".to_string())
            }
            StreamStep::Idle => None,
            StreamStep::End => break,
        };
        if let Some(out) = out {
            if stream.write_all(out.as_bytes()).is_err() || stream.flush().is_err() {
                break;
            }
            last_write = Instant::now();
        }
        if !wait_for_tick(&mut stream, limits.stream_tick) {
            break;
        }
    }
    close_gently(stream, Duration::from_millis(100));
}

/// Waits `tick` for the next poll by peeking at the socket: `false` when
/// the client closed its side or failed, or sent more than a stream's
/// client has reason to (it should send nothing; a little is discarded).
fn wait_for_tick(stream: &mut TcpStream, tick: Duration) -> bool {
    let deadline = Instant::now() + tick;
    let mut discarded = 0usize;
    let mut sink = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // A zero timeout is an error for set_read_timeout.
        if left < Duration::from_millis(1) || stream.set_read_timeout(Some(left)).is_err() {
            return true;
        }
        match stream.peek(&mut sink) {
            Ok(0) => return false,
            Ok(_) => match stream.read(&mut sink) {
                Ok(0) => return false,
                Ok(n) => {
                    discarded += n;
                    if discarded > 64 * 1024 {
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            },
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return true;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

fn read_request(
    stream: &mut TcpStream,
    peer: SocketAddr,
    limits: &Limits,
) -> Result<Request, ReadError> {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if buf.len() > limits.max_head_bytes {
            return Err(Some(431));
        }
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Err(if buf.is_empty() { None } else { Some(400) }),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A timeout mid-request: RFC 9110 §15.5.9 408.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(if buf.is_empty() { None } else { Some(408) });
            }
            Err(_) => return Err(None),
        };
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end.0 > limits.max_head_bytes {
        return Err(Some(431));
    }
    let head = std::str::from_utf8(&buf[..head_end.0]).map_err(|_| Some(400))?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().ok_or(Some(400))?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Some(400));
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(Some(400));
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        v if v.starts_with("HTTP/") && v.len() > 5 => return Err(Some(505)),
        _ => return Err(Some(400)),
    };
    if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(Some(400));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        // No obs-fold, no whitespace before the colon (RFC 9112 §5.1, §5.2).
        let (name, value) = line.split_once(':').ok_or(Some(400))?;
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(Some(400));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| b < b' ' && b != b'\t') {
            return Err(Some(400));
        }
        headers.push((name.to_ascii_lowercase(), value.to_string()));
    }
    fn get<'h>(headers: &'h [(String, String)], n: &'h str) -> impl Iterator<Item = &'h str> {
        headers
            .iter()
            .filter(move |(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    }
    if http11 && get(&headers, "host").count() != 1 {
        return Err(Some(400)); // RFC 9112 §3.2: exactly one Host.
    }
    if get(&headers, "transfer-encoding").next().is_some() {
        return Err(Some(501));
    }
    let lengths: BTreeSet<&str> = get(&headers, "content-length").collect();
    let length = match lengths.len() {
        0 => 0,
        1 => {
            let v = lengths.first().copied().unwrap_or("");
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Some(400));
            }
            v.parse::<usize>().unwrap_or(usize::MAX)
        }
        _ => return Err(Some(400)),
    };
    if length > limits.max_body_bytes {
        return Err(Some(413));
    }
    let mut body = buf[head_end.1..].to_vec();
    body.truncate(length);
    while body.len() < length {
        let want = (length - body.len()).min(chunk.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Err(Some(400)),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Some(408));
            }
            Err(_) => return Err(None),
        }
    }
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body,
        peer,
    })
}

/// (end of the head, start of the body): after the first empty line,
/// `\r\n\r\n` or a bare `\n\n` (RFC 9112 §2.2 lets recipients accept LF).
fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(off) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + off;
        let rest = &buf[nl + 1..];
        if rest.starts_with(b"\r\n") {
            return Some((nl + 1, nl + 3));
        }
        if rest.starts_with(b"\n") {
            return Some((nl + 1, nl + 2));
        }
        i = nl + 1;
    }
    None
}

/// RFC 9110 §5.6.2 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn write_response(stream: &mut TcpStream, r: &Response, head_only: bool) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    for (n, v) in &r.headers {
        // Handlers are ours, but a CR/LF in a value would split the
        // response: drop such a field rather than send it.
        if !n.contains(['\r', '\n', ':']) && !v.contains(['\r', '\n']) {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if !head_only {
        out.extend_from_slice(&r.body);
    }
    stream.write_all(&out)?;
    stream.flush()
}

/// RFC 9110 §15 reason phrases of the codes we send.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_accepts_crlf_and_lf() {
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"),
            Some((25, 27))
        );
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\nHost: x\n\nbody"),
            Some((23, 24))
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn health_renders_json() {
        let h = Health::unavailable("draining")
            .with("calls", 3)
            .with("note", "a\"b")
            .with("tls", false);
        assert_eq!(
            h.to_json(),
            r#"{"status":"draining","calls":3,"note":"a\"b","tls":false}"#
        );
    }

    #[test]
    fn sse_events_encode_each_line_as_data() {
        assert_eq!(
            SseEvent::new("snapshot", "{\"a\":1}").encode(),
            "event: snapshot\ndata: {\"a\":1}\n\n"
        );
        let e = SseEvent {
            event: Some("x\r\ny".into()),
            data: "one\r\ntwo\rthree\nfour".into(),
        };
        assert_eq!(
            e.encode(),
            "event: xy\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
        );
        let plain = SseEvent {
            event: None,
            data: String::new(),
        };
        assert_eq!(plain.encode(), "data: \n\n");
    }

    /// Counts up, one event per tick, ending after `last`.
    struct Counter {
        n: u32,
        last: u32,
        idle_every: u32,
    }

    impl EventSource for Counter {
        fn poll(&mut self) -> StreamStep {
            self.n += 1;
            if self.n > self.last {
                StreamStep::End
            } else if self.idle_every > 0 && self.n % self.idle_every == 0 {
                StreamStep::Idle
            } else {
                StreamStep::Send(SseEvent::new("count", self.n.to_string()))
            }
        }
    }

    fn stream_server(limits: Limits) -> (HttpHandle, Registry) {
        let registry = Registry::new();
        let metrics = HttpMetrics::register(&registry).unwrap();
        let router = Router::new()
            .stream("/events", |req: &Request| {
                if req.query == "token=ok" {
                    Ok(Box::new(Counter {
                        n: 0,
                        last: 1_000_000,
                        idle_every: 0,
                    }) as Box<dyn EventSource>)
                } else {
                    Err(Response::text(401, "no\n"))
                }
            })
            .stream("/short", |_: &Request| {
                Ok(Box::new(Counter {
                    n: 0,
                    last: 3,
                    idle_every: 0,
                }) as Box<dyn EventSource>)
            })
            .stream("/quiet", |_: &Request| {
                Ok(Box::new(Counter {
                    n: 0,
                    last: 1_000_000,
                    idle_every: 1,
                }) as Box<dyn EventSource>)
            })
            .stream(
                "/panics",
                |_: &Request| -> Result<Box<dyn EventSource>, Response> {
                    panic!("a broken handler")
                },
            );
        let server =
            HttpServer::start_with("127.0.0.1:0".parse().unwrap(), router, metrics, limits)
                .unwrap();
        (server, registry)
    }

    fn open(addr: SocketAddr, path: &str) -> TcpStream {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        s
    }

    /// Reads until `needle` has been seen (or the stream ends); the text.
    fn read_until(s: &mut TcpStream, needle: &str) -> String {
        let mut text = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&text).contains(needle) {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => text.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&text).into_owned()
    }

    fn gauge(registry: &Registry) -> i64 {
        registry
            .gather()
            .iter()
            .find(|f| f.name() == "tandem_http_streams")
            .map_or(-1, |f| f.get_metric()[0].get_gauge().get_value() as i64)
    }

    fn wait_gauge(registry: &Registry, want: i64) {
        let start = Instant::now();
        while gauge(registry) != want && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(gauge(registry), want);
    }

    fn fast() -> Limits {
        Limits {
            max_streams: 1,
            stream_tick: Duration::from_millis(20),
            keep_alive: Duration::from_millis(60),
            ..Limits::default()
        }
    }

    #[test]
    fn a_stream_sends_events_until_the_client_goes_and_is_capped() {
        let (server, registry) = stream_server(fast());
        let addr = server.local_addr();
        let mut s = open(addr, "/events?token=ok");
        let text = read_until(&mut s, "data: 3\n\n");
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"),
            "{text}"
        );
        assert!(!text.contains("Content-Length"), "{text}");
        assert!(
            text.contains("\r\n\r\nevent: count\ndata: 1\n\nevent: count\ndata: 2\n\n"),
            "{text}"
        );
        wait_gauge(&registry, 1);
        // The one stream allowed is taken: the next client gets a 503.
        let mut other = open(addr, "/events?token=ok");
        let busy = read_until(&mut other, "\r\n\r\n");
        assert!(busy.starts_with("HTTP/1.1 503 "), "{busy}");
        assert!(busy.contains("Retry-After: "), "{busy}");
        // A refused stream is an ordinary response.
        drop(s);
        wait_gauge(&registry, 0);
        let mut refused = open(addr, "/events?token=bad");
        let text = read_until(&mut refused, "no\n");
        assert!(text.starts_with("HTTP/1.1 401 "), "{text}");
        assert!(text.contains("Content-Length: 3\r\n"), "{text}");
        let mut broken = open(addr, "/panics");
        let text = read_until(&mut broken, "\r\n\r\n");
        assert!(text.starts_with("HTTP/1.1 500 "), "{text}");
        wait_gauge(&registry, 0);
        let metrics = TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap();
        for line in [
            "tandem_http_requests_total{code=\"200\",path=\"/events\"} 1",
            "tandem_http_requests_total{code=\"503\",path=\"/events\"} 1",
            "tandem_http_requests_total{code=\"401\",path=\"/events\"} 1",
            "tandem_http_requests_total{code=\"500\",path=\"/panics\"} 1",
        ] {
            assert!(metrics.contains(line), "no {line} in\n{metrics}");
        }
        server.shutdown();
    }

    #[test]
    fn a_source_ends_its_stream_and_a_quiet_one_sends_keep_alives() {
        let (server, _registry) = stream_server(Limits {
            max_streams: 4,
            ..fast()
        });
        let addr = server.local_addr();
        let mut s = open(addr, "/short");
        let text = read_until(&mut s, "\u{0}");
        assert!(text.ends_with("data: 3\n\n"), "{text}");
        let mut q = open(addr, "/quiet");
        let text = read_until(&mut q, ": keep-alive\n\n");
        assert!(text.ends_with("\r\n\r\n: keep-alive\n\n"), "{text}");
        // HEAD: the head alone.
        let mut h = TcpStream::connect(addr).unwrap();
        h.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(h, "HEAD /quiet HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let text = read_until(&mut h, "\u{0}");
        assert!(text.ends_with("X-Accel-Buffering: no\r\n\r\n"), "{text}");
        server.shutdown();
    }

    #[test]
    fn shutdown_ends_open_streams() {
        let (server, registry) = stream_server(fast());
        let mut s = open(server.local_addr(), "/events?token=ok");
        read_until(&mut s, "data: 2\n\n");
        let started = Instant::now();
        server.shutdown();
        // The stream ends: the client reads to the end within a tick or so.
        let _ = read_until(&mut s, "\u{0}");
        assert!(started.elapsed() < Duration::from_secs(2));
        wait_gauge(&registry, 0);
    }
}
