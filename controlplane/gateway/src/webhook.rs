//! Webhooks: a JSON `POST` to an operator's `http://` URL, made from a
//! short-lived thread so that the control thread never waits on the
//! network.
//!
//! Used by voicemail ([`crate::voicemail`]) to tell a box's owner that a
//! message arrived. Only `http://` URLs are posted to (HTTP/1.1, RFC 9112):
//! like the IVR's lookups, the receiver sits in the operator's network
//! next to the switch. The request is
//!
//! ```text
//! POST /path?query HTTP/1.1
//! Host: host:port
//! Content-Type: application/json
//! Content-Length: N
//! User-Agent: Tandem
//! Connection: close
//!
//! {...}
//! ```
//!
//! # Delivery
//!
//! A 2xx answer delivers the notification. A connection failure, a
//! timeout, a 5xx, 408 or 429 is retried, up to [`Policy::attempts`]
//! attempts in all, waiting [`Policy::backoff`] before the second and
//! twice as long before each further one (1 s, 2 s by default). Any other
//! answer (a 4xx: the receiver refuses this request) is not retried. A
//! notification that is not delivered is logged on stderr (`tandem:
//! webhook ... NOT DELIVERED`, with the body, so that it can be replayed)
//! and counted in the [`Notifier`]'s failure counter. Each socket
//! operation (connect, write, read) times out after [`Policy::timeout`].
//! At most [`MAX_IN_FLIGHT`] notifications are in flight at once; beyond
//! that a notification fails at once (logged and counted) rather than
//! piling up threads behind a dead receiver.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use prometheus::IntCounter;

/// Notifications in flight at once, at most.
pub(crate) const MAX_IN_FLIGHT: usize = 32;
/// The most of an answer read (the status line is all we need).
const MAX_HEAD: usize = 8 * 1024;

/// How hard to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Attempts in all, at least 1 (default 3).
    pub(crate) attempts: u32,
    /// Timeout of each connect, write and read (default 5 s).
    pub(crate) timeout: Duration,
    /// Wait before the second attempt, doubled for each further one
    /// (default 1 s).
    pub(crate) backoff: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            attempts: 3,
            timeout: Duration::from_secs(5),
            backoff: Duration::from_secs(1),
        }
    }
}

/// An `http://` URL, split for the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    /// The host as written (an IPv6 address without its brackets).
    pub(crate) host: String,
    /// The port (default 80).
    pub(crate) port: u16,
    /// The path and query (at least `/`).
    pub(crate) path: String,
    /// The `Host` header value: the authority as written.
    authority: String,
}

impl Url {
    /// Parses `http://HOST[:PORT][/PATH][?QUERY]`. The scheme is
    /// case-insensitive; user info, fragments, spaces and control
    /// characters are refused.
    pub(crate) fn parse(url: &str) -> Result<Url, String> {
        let form = "expected an http:// URL such as \"http://192.0.2.10:8080/voicemail\"";
        let rest = match url.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("http://") => &url[7..],
            _ => return Err(format!("{form}, got {url:?}")),
        };
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{url:?} has spaces or control characters"));
        }
        if url.contains('#') {
            return Err(format!("{url:?} has a fragment (#...)"));
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.contains('@') {
            return Err(format!("{url:?}: user names in the URL are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url:?}: unclosed [ in the host"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("{url:?}: expected :PORT after ]"))?,
                ),
            };
            (host, port)
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        let port = match port {
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{url:?}: the port must be 1-65535, got {p:?}"))?,
        };
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Ok(Url {
            host: host.to_string(),
            port,
            path,
            authority: authority.to_string(),
        })
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    /// A 2xx.
    Delivered(u16),
    /// Worth another try: no connection, a timeout, 5xx, 408, 429.
    Retry(String),
    /// The receiver refused this request (another 4xx, or 1xx/3xx): not
    /// retried.
    Refused(String),
}

/// One POST: connect, send, read the status line.
fn post_once(url: &Url, body: &str, timeout: Duration) -> Attempt {
    let addrs = match (url.host.as_str(), url.port).to_socket_addrs() {
        Ok(a) => a.collect::<Vec<_>>(),
        Err(e) => return Attempt::Retry(format!("cannot resolve {}: {e}", url.host)),
    };
    let mut last = format!("{} resolves to no address", url.host);
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = format!("connect {a}: {e}"),
        }
    }
    let Some(mut s) = stream else {
        return Attempt::Retry(last);
    };
    if let Err(e) = s
        .set_read_timeout(Some(timeout))
        .and_then(|()| s.set_write_timeout(Some(timeout)))
    {
        return Attempt::Retry(format!("socket: {e}"));
    }
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nUser-Agent: Tandem\r\nConnection: close\r\n\r\n{body}",
        url.path,
        url.authority,
        body.len()
    );
    if let Err(e) = s.write_all(request.as_bytes()).and_then(|()| s.flush()) {
        return Attempt::Retry(format!("sending: {e}"));
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < MAX_HEAD {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Attempt::Retry(format!("reading the answer: {e}")),
        }
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let status = line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.split(' ').nth(1))
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|c| (100..=599).contains(c));
    match status {
        None => Attempt::Retry(format!("not an HTTP answer: {:?}", line.trim_end())),
        Some(c @ 200..=299) => Attempt::Delivered(c),
        Some(c @ (408 | 429 | 500..=599)) => Attempt::Retry(format!("answered {c}")),
        Some(c) => Attempt::Refused(format!("answered {c}")),
    }
}

/// Posts `body` with retries (blocking); the 2xx status, or why not.
fn deliver(url: &Url, body: &str, policy: Policy) -> Result<u16, String> {
    let mut wait = policy.backoff;
    let attempts = policy.attempts.max(1);
    let mut why = String::new();
    for attempt in 1..=attempts {
        if attempt > 1 {
            std::thread::sleep(wait);
            wait = wait.saturating_mul(2);
        }
        match post_once(url, body, policy.timeout) {
            Attempt::Delivered(c) => return Ok(c),
            Attempt::Refused(e) => return Err(format!("{e} (not retried)")),
            Attempt::Retry(e) => why = format!("{e} (attempt {attempt} of {attempts})"),
        }
    }
    Err(why)
}

/// Sends notifications off the calling thread; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Notifier {
    /// Retries and timeouts.
    pub(crate) policy: Policy,
    /// Counts notifications not delivered.
    failures: IntCounter,
    in_flight: Arc<AtomicUsize>,
}

impl Notifier {
    /// A notifier counting its failures in `failures`.
    pub(crate) fn new(policy: Policy, failures: IntCounter) -> Self {
        Notifier {
            policy,
            failures,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    #[cfg(test)]
    /// Notifications not delivered so far.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.get()
    }

    /// The failure counter, for registering with Prometheus.
    pub(crate) fn failure_counter(&self) -> IntCounter {
        self.failures.clone()
    }

    fn fail(&self, what: &str, url: &str, why: &str, body: &str) {
        self.failures.inc();
        eprintln!("tandem: webhook {what} to {url} NOT DELIVERED ({why}): {body}");
    }

    /// Posts `body` (JSON) to `url` from a new thread and returns at once.
    /// `what` names the notification in logs. The handle's value says
    /// whether it was delivered (tests join it; the gateway drops it).
    /// `None` when no thread was started (bad URL, too many in flight):
    /// that failure is already logged and counted.
    pub(crate) fn send(&self, what: &str, url: &str, body: String) -> Option<JoinHandle<bool>> {
        let target = match Url::parse(url) {
            Ok(u) => u,
            Err(e) => {
                self.fail(what, url, &e, &body);
                return None;
            }
        };
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.fail(what, url, "too many notifications in flight", &body);
            return None;
        }
        let me = self.clone();
        let (label, to) = (what.to_string(), url.to_string());
        let spawned = std::thread::Builder::new()
            .name("tandem-webhook".into())
            .spawn(move || {
                let result = deliver(&target, &body, me.policy);
                me.in_flight.fetch_sub(1, Ordering::AcqRel);
                match result {
                    Ok(_) => true,
                    Err(why) => {
                        me.fail(&label, &to, &why, &body);
                        false
                    }
                }
            });
        match spawned {
            Ok(h) => Some(h),
            Err(e) => {
                self.in_flight.fetch_sub(1, Ordering::AcqRel);
                self.fail(what, url, &format!("no thread: {e}"), "");
                None
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::TcpListener;
    use std::sync::mpsc;

    use super::*;

    /// A local receiver answering each request with the next status of
    /// `statuses`; sends each request's body on the channel.
    pub(crate) fn receiver(statuses: Vec<u16>) -> (String, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for status in statuses {
                let Ok((mut s, _)) = listener.accept() else {
                    return;
                };
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                let body = loop {
                    let Ok(n) = s.read(&mut buf) else { break None };
                    if n == 0 {
                        break None;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            break Some(format!("{head}\r\n\r\n{body}"));
                        }
                    }
                };
                // Before the answer, so the sender sees it once answered.
                if let Some(b) = body {
                    let _ = tx.send(b);
                }
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        (format!("http://{addr}/hook?k=1"), rx)
    }

    fn quick() -> Notifier {
        let failures = IntCounter::new("t", "t").unwrap();
        Notifier::new(
            Policy {
                attempts: 3,
                timeout: Duration::from_secs(2),
                backoff: Duration::from_millis(10),
            },
            failures,
        )
    }

    #[test]
    fn urls_are_split_or_refused() {
        let u = Url::parse("HTTP://[::1]:8080/a/b?c=d").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 8080, "/a/b?c=d")
        );
        let u = Url::parse("http://crm.example").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("crm.example", 80, "/")
        );
        let u = Url::parse("http://h?x=1").unwrap();
        assert_eq!(u.path, "/?x=1");
        for bad in [
            "",
            "https://h/",
            "http://",
            "http://:80/",
            "http://h:0/",
            "http://h:99999/",
            "http://u:p@h/",
            "http://h/a b",
            "http://[::1/",
            "http://[::1]x/",
            "http://h/#f",
            "ftp://h/",
            "http\u{e9}://h",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_notification_is_posted_as_json() {
        let (url, rx) = receiver(vec![204]);
        let n = quick();
        let h = n.send("test", &url, r#"{"a":1}"#.into()).unwrap();
        assert!(h.join().unwrap());
        let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(got.starts_with("POST /hook?k=1 HTTP/1.1\r\n"), "{got}");
        assert!(got.contains("Content-Type: application/json\r\n"), "{got}");
        assert!(got.ends_with("\r\n\r\n{\"a\":1}"), "{got}");
        assert_eq!(n.failures(), 0);
    }

    #[test]
    fn server_errors_are_retried_and_refusals_are_not() {
        let (url, rx) = receiver(vec![500, 503, 200]);
        let n = quick();
        assert!(n.send("test", &url, "{}".into()).unwrap().join().unwrap());
        assert_eq!(rx.try_iter().count(), 3);
        assert_eq!(n.failures(), 0);

        let (url, rx) = receiver(vec![500, 500, 500, 200]);
        assert!(!n.send("test", &url, "{}".into()).unwrap().join().unwrap());
        assert_eq!(rx.try_iter().count(), 3);
        assert_eq!(n.failures(), 1);

        let (url, rx) = receiver(vec![404, 200]);
        assert!(!n.send("test", &url, "{}".into()).unwrap().join().unwrap());
        assert_eq!(rx.try_iter().count(), 1);
        assert_eq!(n.failures(), 2);
    }

    #[test]
    fn nobody_listening_and_bad_urls_count_as_failures() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let n = quick();
        let url = format!("http://127.0.0.1:{port}/");
        assert!(!n.send("test", &url, "{}".into()).unwrap().join().unwrap());
        assert!(n.send("test", "https://x/", "{}".into()).is_none());
        assert_eq!(n.failures(), 2);
    }
}
