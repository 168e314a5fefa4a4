//! HTTP lookups for the IVR (`http:NAME` actions): a GET to the
//! operator's URL with the caller's number, the digits keyed and the menus
//! visited, answered with a JSON object whose top-level scalar fields the
//! IVR branches on.
//!
//! Each lookup runs on a short-lived thread of its own, so a slow CRM
//! never stalls the control thread; the answer comes back as a
//! [`LookupDone`] on a channel the run loop waits on. At most
//! [`MAX_IN_FLIGHT`] run at once; beyond that a lookup fails at once
//! (the IVR takes its `on_error` branch). The IVR session gives up on its
//! own after the lookup's timeout; the thread's socket times out at the
//! same time, so a dead server costs one thread for that long.
//!
//! Only `http://` URLs (HTTP/1.1, RFC 9112) are fetched: the lookup server
//! sits in the operator's network next to the switch. The request is
//!
//! ```text
//! GET /path?caller=13812345678&digits=1234&path=main%2Csales HTTP/1.1
//! Host: host:port
//! Accept: application/json
//! Connection: close
//! ```
//!
//! and a 2xx answer's body must be a JSON object (at most 64 KiB).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use tandem_callcenter::ivr::{HttpAnswer, HttpError, LookupId};

use crate::api::json::Value;

/// Lookups running at once, at most.
pub(crate) const MAX_IN_FLIGHT: usize = 64;
/// The largest answer body read.
const MAX_BODY: usize = 64 * 1024;

/// A finished lookup.
pub(crate) struct LookupDone {
    /// The call (the B2BUA's key).
    pub(crate) key: u64,
    /// The lookup, as the IVR named it.
    pub(crate) id: LookupId,
    /// The answer's fields, or why there are none.
    pub(crate) result: Result<HttpAnswer, HttpError>,
}

/// What one lookup asks.
pub(crate) struct LookupRequest {
    /// The operator's URL.
    pub(crate) url: String,
    /// The calling number.
    pub(crate) caller: String,
    /// The last multi-digit entry.
    pub(crate) digits: String,
    /// The menus visited.
    pub(crate) path: Vec<String>,
    /// The socket's connect, write and read timeout.
    pub(crate) timeout: Duration,
}

/// Starts lookups and hands their answers back.
pub(crate) struct Lookups {
    tx: Sender<LookupDone>,
    rx: Receiver<LookupDone>,
    in_flight: Arc<AtomicUsize>,
}

impl Lookups {
    pub(crate) fn new() -> Self {
        let (tx, rx) = unbounded();
        Lookups {
            tx,
            rx,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Where finished lookups arrive.
    pub(crate) fn receiver(&self) -> Receiver<LookupDone> {
        self.rx.clone()
    }

    /// Runs one lookup for call `key` on its own thread.
    pub(crate) fn start(&self, key: u64, id: LookupId, request: LookupRequest) {
        let tx = self.tx.clone();
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            let _ = tx.send(LookupDone {
                key,
                id,
                result: Err(HttpError::Transport(format!(
                    "{MAX_IN_FLIGHT} lookups already running"
                ))),
            });
            return;
        }
        let in_flight = self.in_flight.clone();
        let spawned = std::thread::Builder::new()
            .name("tandem-lookup".into())
            .spawn(move || {
                let result = fetch(&request);
                in_flight.fetch_sub(1, Ordering::AcqRel);
                let _ = tx.send(LookupDone { key, id, result });
            });
        if let Err(e) = spawned {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            let _ = self.tx.send(LookupDone {
                key,
                id,
                result: Err(HttpError::Transport(format!("no thread: {e}"))),
            });
        }
    }
}

/// Percent-encodes a query value (RFC 3986 §2.3: unreserved characters
/// stay as they are).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Splits `http://host[:port][/path][?query]`.
fn split_url(url: &str) -> Result<(String, u16, String), HttpError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| HttpError::Transport(format!("{url}: only http:// URLs are supported")))?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            let port = p
                .parse::<u16>()
                .map_err(|_| HttpError::Transport(format!("{url}: bad port")))?;
            (h.to_string(), port)
        }
        _ => (authority.to_string(), 80),
    };
    if host.is_empty() {
        return Err(HttpError::Transport(format!("{url}: no host")));
    }
    Ok((host, port, path))
}

fn fetch(r: &LookupRequest) -> Result<HttpAnswer, HttpError> {
    let (host, port, path) = split_url(&r.url)?;
    let sep = if path.contains('?') { '&' } else { '?' };
    let target = format!(
        "{path}{sep}caller={}&digits={}&path={}",
        encode(&r.caller),
        encode(&r.digits),
        encode(&r.path.join(","))
    );
    let transport = |e: std::io::Error| HttpError::Transport(e.to_string());
    let addr = (host.trim_matches(|c| c == '[' || c == ']'), port)
        .to_socket_addrs()
        .map_err(transport)?
        .next()
        .ok_or_else(|| HttpError::Transport(format!("{host}: no address")))?;
    let mut stream = TcpStream::connect_timeout(&addr, r.timeout).map_err(transport)?;
    stream
        .set_read_timeout(Some(r.timeout))
        .map_err(transport)?;
    stream
        .set_write_timeout(Some(r.timeout))
        .map_err(transport)?;
    // One write: a server may answer (and close) as soon as it has the
    // header.
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\nUser-Agent: Tandem\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(transport)?;
    let mut raw = Vec::new();
    stream
        .take((MAX_BODY + 16 * 1024) as u64)
        .read_to_end(&mut raw)
        .map_err(transport)?;
    parse_response(&raw)
}

/// Reads the status line, finds the body (Content-Length, chunked, or up
/// to the close) and flattens its JSON object.
fn parse_response(raw: &[u8]) -> Result<HttpAnswer, HttpError> {
    let bad = |m: &str| HttpError::Transport(format!("malformed HTTP response: {m}"));
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of header"))?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| bad("header not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status code"))?;
    if !(200..300).contains(&status) {
        return Err(HttpError::Status(status));
    }
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            length = value.parse::<usize>().ok();
        } else if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        }
    }
    let rest = &raw[head_end + 4..];
    let body = if chunked {
        dechunk(rest).ok_or_else(|| bad("bad chunked body"))?
    } else {
        match length {
            Some(n) if n <= rest.len() => rest[..n].to_vec(),
            Some(_) => return Err(bad("body shorter than Content-Length")),
            None => rest.to_vec(),
        }
    };
    if body.len() > MAX_BODY {
        return Err(HttpError::BadBody(format!("over {MAX_BODY} bytes")));
    }
    flatten(&body)
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 || out.len() + size > MAX_BODY {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The top-level scalar fields of a JSON object, as text.
fn flatten(body: &[u8]) -> Result<HttpAnswer, HttpError> {
    let value = Value::parse(body).map_err(|e| HttpError::BadBody(e.to_string()))?;
    let Some(fields) = value.as_object() else {
        return Err(HttpError::BadBody(format!("a JSON {}", value.kind())));
    };
    Ok(HttpAnswer::new(fields.iter().filter_map(|(k, v)| {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => format!("{}", *n as i64),
            Value::Number(n) => n.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => return None,
        };
        Some((k.clone(), text))
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        assert_eq!(
            split_url("http://crm.example:8080/lookup?x=1").unwrap(),
            ("crm.example".into(), 8080, "/lookup?x=1".into())
        );
        assert_eq!(
            split_url("http://10.0.0.1").unwrap(),
            ("10.0.0.1".into(), 80, "/".into())
        );
        assert_eq!(
            split_url("http://[::1]:81/a").unwrap(),
            ("[::1]".into(), 81, "/a".into())
        );
        assert!(split_url("https://crm.example/").is_err());
        assert!(split_url("http://:80/").is_err());
        assert!(split_url("http://h:99999/").is_err());
    }

    #[test]
    fn answers_flatten_to_their_scalar_fields() {
        let body = r#"{"vip":true,"priority":7,"name":"Li","o":{},"n":null}"#;
        let raw = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let r = parse_response(raw.as_bytes()).unwrap();
        assert_eq!(
            r.fields,
            [
                ("vip".to_string(), "true".to_string()),
                ("priority".into(), "7".into()),
                ("name".into(), "Li".into())
            ]
        );
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{\"a\":1\r\n1\r\n}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap().get("a"), Some("1"));
        assert_eq!(
            parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n"),
            Err(HttpError::Status(404))
        );
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\n\r\n[1,2]"),
            Err(HttpError::BadBody(_))
        ));
        assert!(parse_response(b"garbage").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{}").is_err());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("main,sales"), "main%2Csales");
        assert_eq!(encode("+86 138"), "%2B86%20138");
    }

    #[test]
    fn a_lookup_against_a_local_server_comes_back_on_the_channel() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 2048];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "closed before the end of the request");
                req.extend_from_slice(&buf[..n]);
            }
            let req = String::from_utf8_lossy(&req).to_string();
            let body = "{\"vip\":\"yes\"}";
            write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            req
        });
        let lookups = Lookups::new();
        lookups.start(
            7,
            LookupId(3),
            LookupRequest {
                url: format!("http://127.0.0.1:{port}/crm"),
                caller: "13812345678".into(),
                digits: "1234".into(),
                path: vec!["main".into(), "vip".into()],
                timeout: Duration::from_secs(2),
            },
        );
        let done = lookups
            .receiver()
            .recv_timeout(Duration::from_secs(5))
            .unwrap();
        assert_eq!((done.key, done.id), (7, LookupId(3)));
        assert_eq!(done.result.unwrap().get("vip"), Some("yes"));
        let req = server.join().unwrap();
        assert!(
            req.starts_with("GET /crm?caller=13812345678&digits=1234&path=main%2Cvip HTTP/1.1\r\n"),
            "{req}"
        );
    }
}
