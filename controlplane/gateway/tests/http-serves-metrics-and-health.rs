//! The HTTP server: `/metrics` in the Prometheus text format, `/health`
//! from the caller's closure (200, then 503 while draining), 404/405 for
//! the rest, and malformed or oversized requests answered with 400/431/...
//! while the server keeps serving. The client is a bare `TcpStream`, so the
//! bytes on the wire are exactly the test's.

#[allow(dead_code)]
#[path = "../src/http.rs"]
mod http;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::{Health, HttpHandle, HttpMetrics, HttpServer, Limits, Request, Response, Router};
use prometheus::{IntCounter, Registry};

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends `raw`, closes our side, reads the whole reply.
fn exchange(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server may answer (and stop reading) before we finish sending an
    // oversized request; that is the point, so a failed write is fine.
    let _ = s.write_all(raw);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {text:?}"));
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: tandem\r\n\r\n").as_bytes(),
    )
}

struct Fixture {
    server: HttpHandle,
    draining: Arc<AtomicBool>,
    scrapes_seen: IntCounter,
}

fn start(limits: Limits) -> Fixture {
    let registry = Registry::new();
    let scrapes_seen =
        IntCounter::new("tandem_test_things_total", "A counter of the test.").unwrap();
    registry.register(Box::new(scrapes_seen.clone())).unwrap();
    let metrics = HttpMetrics::register(&registry).unwrap();
    let draining = Arc::new(AtomicBool::new(false));
    let d = Arc::clone(&draining);
    let router = http::gateway_router(registry, move || {
        if d.load(Ordering::SeqCst) {
            Health::unavailable("draining").with("calls", 2)
        } else {
            Health::ok().with("calls", 7)
        }
    })
    // An extra route, as the REST API will add them: a prefix, with POST.
    .route("POST", "/api/", |r: &Request| {
        Response::json(
            201,
            format!("{{\"path\":\"{}\",\"bytes\":{}}}", r.path, r.body.len()),
        )
    })
    .get("/panic", |_: &Request| -> Response {
        panic!("handler bug")
    });
    let server =
        HttpServer::start_with("127.0.0.1:0".parse().unwrap(), router, metrics, limits).unwrap();
    Fixture {
        server,
        draining,
        scrapes_seen,
    }
}

#[test]
fn metrics_and_health_are_served() {
    let f = start(Limits::default());
    let addr = f.server.local_addr();
    f.scrapes_seen.inc_by(3);

    let h = get(addr, "/health");
    assert_eq!(h.status, 200);
    assert_eq!(h.header("content-type"), Some("application/json"));
    assert_eq!(h.header("connection"), Some("close"));
    assert_eq!(h.body, "{\"status\":\"ok\",\"calls\":7}\n");
    assert_eq!(
        h.header("content-length"),
        Some(h.body.len().to_string().as_str())
    );

    f.draining.store(true, Ordering::SeqCst);
    let h = get(addr, "/health");
    assert_eq!(h.status, 503);
    assert_eq!(h.body, "{\"status\":\"draining\",\"calls\":2}\n");

    let m = get(addr, "/metrics?x=1");
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(
        m.body
            .contains("# TYPE tandem_test_things_total counter\ntandem_test_things_total 3\n"),
        "{}",
        m.body
    );
    assert!(
        m.body
            .contains("tandem_http_requests_total{code=\"200\",path=\"/health\"} 1\n")
            && m.body
                .contains("tandem_http_requests_total{code=\"503\",path=\"/health\"} 1\n"),
        "{}",
        m.body
    );

    let head = exchange(addr, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert!(
        head.header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 0
    );

    // HTTP/1.0 needs no Host; bare LF line ends are accepted.
    assert_eq!(exchange(addr, b"GET /health HTTP/1.0\n\n").status, 503);
    f.server.shutdown();
}

#[test]
fn unknown_paths_and_methods_and_other_routes() {
    let f = start(Limits::default());
    let addr = f.server.local_addr();
    let r = get(addr, "/nope");
    assert_eq!(r.status, 404);
    let r = exchange(addr, b"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let r = exchange(
        addr,
        b"POST /api/calls HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (201, "{\"path\":\"/api/calls\",\"bytes\":5}")
    );
    let r = get(addr, "/api/calls");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    let r = get(addr, "/panic");
    assert_eq!(r.status, 500, "a panicking handler is a 500");
    assert_eq!(get(addr, "/health").status, 200, "and the server lives on");
    let m = get(addr, "/metrics").body;
    assert!(
        m.contains("tandem_http_requests_total{code=\"404\",path=\"other\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("tandem_http_requests_total{code=\"405\",path=\"/metrics\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("tandem_http_requests_total{code=\"201\",path=\"/api/\"} 1\n"),
        "{m}"
    );
}

#[test]
fn malformed_requests_get_errors_and_the_server_keeps_serving() {
    let f = start(Limits::default());
    let addr = f.server.local_addr();
    let huge_header = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let many_headers = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X-A: b\r\n".repeat(3000)
    );
    let cases: &[(&[u8], u16)] = &[
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
            400,
        ),
        (b"garbage\r\n\r\n", 400),
        (b"GET /metrics\r\n\r\n", 400),
        (b"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        (
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
            400,
        ),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
        (
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            400,
        ),
        (
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            400,
        ),
        (
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort",
            400,
        ),
        (b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1", 400),
        (b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (
            b"POST /api/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            501,
        ),
        (
            b"POST /api/x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
            413,
        ),
        (huge_header.as_bytes(), 431),
        (many_headers.as_bytes(), 431),
    ];
    for (raw, want) in cases {
        let r = exchange(addr, raw);
        assert_eq!(
            r.status,
            *want,
            "for {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(80)])
        );
        assert_eq!(
            get(addr, "/health").status,
            200,
            "still serving after {want}"
        );
    }
    let m = get(addr, "/metrics").body;
    assert!(
        m.contains("tandem_http_requests_total{code=\"400\",path=\"other\"} 14\n"),
        "{m}"
    );
    assert!(
        m.contains("tandem_http_requests_total{code=\"431\",path=\"other\"} 2\n"),
        "{m}"
    );
}

#[test]
fn idle_clients_time_out_and_connections_are_bounded() {
    let f = start(Limits {
        max_connections: 2,
        read_timeout: Duration::from_millis(300),
        ..Limits::default()
    });
    let addr = f.server.local_addr();
    // Two clients connect and say nothing: they hold both slots...
    let mut idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(100));
    // ...so a third is turned away at once, not queued.
    let t = Instant::now();
    assert_eq!(get(addr, "/health").status, 503);
    assert!(t.elapsed() < Duration::from_millis(250));
    // The idle ones are closed after the read timeout, without a reply...
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        assert!(
            buf.is_empty(),
            "nothing is sent to a client that sent nothing"
        );
    }
    // ...and the slots are free again.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(get(addr, "/health").status, 200);
    // A client that stops halfway through its head gets 408.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHo").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 408 "), "{out}");
}

#[test]
fn bind_errors_are_reported_at_start_and_shutdown_stops_accepting() {
    let f = start(Limits::default());
    let addr = f.server.local_addr();
    let registry = Registry::new();
    let e = HttpServer::start(
        addr,
        Router::new(),
        HttpMetrics::register(&registry).unwrap(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    f.server.shutdown();
    // The port is free again: a new server can take it.
    let again = HttpServer::start(
        addr,
        Router::new(),
        HttpMetrics::register(&Registry::new()).unwrap(),
    )
    .unwrap();
    assert_eq!(get(again.local_addr(), "/metrics").status, 404);
}
