//! The supervisor wallboard end to end: `tandem run` with two queues and
//! four agents (SIPp phones), calls placed so that the figures are not
//! trivial — calls answered and done, one abandoned after ringing an
//! agent, one connected, one caller whose agent's phone is ringing and one
//! waiting behind it, an agent logged out — then
//!
//! - the event stream is checked with a bare TCP client: 401 without a
//!   token, and with `?token=` a `text/event-stream` whose first event is
//!   a `snapshot` of valid JSON;
//! - `/` links the wallboard, which is served without a token;
//! - the page is loaded in headless Chromium, driven through ChromeDriver's
//!   WebDriver HTTP API (a small client below), and every figure it shows
//!   (found by `data-testid`) is compared with `GET /api/wallboard` and
//!   `GET /api/queues` fetched at the same moment, retrying for an update
//!   or two of lag.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/setup.sh).

#[allow(dead_code)]
#[path = "../src/api/json.rs"]
mod json;

/// The JSON writer's string escaping, which `json.rs` borrows from the
/// call-record module of the binary (a copy of `cdr::json_string`).
#[allow(dead_code)]
mod cdr {
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
}

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use json::Value;
use support::*;

const SIP: &str = "127.0.0.1:13060";
const HTTP: &str = "127.0.0.1:13090";
const DRIVER: &str = "127.0.0.1:13095";
const TOKEN: &str = "wallboard-read-token-0123456789";

/// One HTTP/1.1 request over a fresh connection: status, head, body.
fn http(addr: &str, method: &str, path: &str, headers: &str, body: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Read to the end of the body: ChromeDriver keeps the connection open.
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        if complete(&out) {
            break;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    // ChromeDriver answers with chunked bodies.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, head.to_string(), body)
}

/// Whether `raw` holds a whole response (by Content-Length, or the last
/// chunk); without either the server's close ends it.
fn complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let body = &raw[end + 4..];
    if let Some(n) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body.len() >= n;
    }
    head.contains("transfer-encoding: chunked") && body.ends_with(b"0\r\n\r\n")
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn api(path: &str) -> Value {
    let (status, _, body) = http(
        HTTP,
        "GET",
        path,
        &format!("Authorization: Bearer {TOKEN}\r\n"),
        "",
    );
    assert_eq!(status, 200, "GET {path}: {body}");
    Value::parse(body.as_bytes()).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| {
        v.get(k).unwrap_or_else(|| panic!("no {k} in {v:?}"))
    })
}

fn num(v: &Value, path: &[&str]) -> f64 {
    get(v, path)
        .as_f64()
        .unwrap_or_else(|| panic!("{path:?} is not a number"))
}

fn opt_num(v: &Value, path: &[&str]) -> Option<f64> {
    get(v, path).as_f64()
}

/// A tiny WebDriver (W3C) client for ChromeDriver.
struct Browser {
    session: String,
    _driver: Kill,
}

impl Browser {
    fn start(dir: &Path) -> Browser {
        let driver = Kill(
            Command::new("chromedriver")
                .arg(format!(
                    "--port={}",
                    DRIVER.rsplit(':').next().unwrap_or_default()
                ))
                .arg(format!(
                    "--log-path={}",
                    dir.join("chromedriver.log").display()
                ))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let start = Instant::now();
        while TcpStream::connect(DRIVER).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen on {DRIVER}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = dir.join("chromium-profile");
        std::fs::create_dir_all(&profile).unwrap();
        // The flags keep Chromium off the network: this machine has none.
        let args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,1800",
        ]
        .iter()
        .map(|a| format!("\"{a}\""))
        .chain([format!("\"--user-data-dir={}\"", profile.display())])
        .collect();
        let caps = format!(
            "{{\"capabilities\":{{\"alwaysMatch\":{{\"browserName\":\"chrome\",\
             \"goog:chromeOptions\":{{\"binary\":\"/usr/bin/chromium\",\"args\":[{}]}}}}}}}}",
            args.join(",")
        );
        let (status, _, body) = http(
            DRIVER,
            "POST",
            "/session",
            "Content-Type: application/json\r\n",
            &caps,
        );
        assert_eq!(status, 200, "new session: {body}");
        let v = Value::parse(body.as_bytes()).expect("session JSON");
        let session = get(&v, &["value", "sessionId"])
            .as_str()
            .expect("sessionId")
            .to_string();
        Browser {
            session,
            _driver: driver,
        }
    }

    fn command(&self, method: &str, what: &str, body: &str) -> Value {
        let path = format!("/session/{}{what}", self.session);
        let (status, _, text) = http(
            DRIVER,
            method,
            &path,
            "Content-Type: application/json\r\n",
            body,
        );
        assert_eq!(status, 200, "{method} {path}: {text}");
        let v = Value::parse(text.as_bytes()).expect("WebDriver JSON");
        get(&v, &["value"]).clone()
    }

    fn open(&self, url: &str) {
        let mut body = String::from("{\"url\":");
        cdr::json_string(url, &mut body);
        body.push('}');
        self.command("POST", "/url", &body);
    }

    /// Saves a PNG of the window to `path`.
    fn screenshot(&self, path: &Path) {
        let v = self.command("GET", "/screenshot", "");
        let png = base64_decode(v.as_str().unwrap_or_default());
        std::fs::write(path, png).unwrap();
    }

    /// Runs `script` (a function body) in the page; its return value.
    fn run(&self, script: &str) -> Value {
        let mut body = String::from("{\"script\":");
        cdr::json_string(script, &mut body);
        body.push_str(",\"args\":[]}");
        self.command("POST", "/execute/sync", &body)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            DRIVER,
            "DELETE",
            &format!("/session/{}", self.session),
            "",
            "",
        );
    }
}

/// RFC 4648 base64 (WebDriver's screenshots); bad characters are skipped.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// What the page shows: `data-testid` → text, plus `ID:attr` for the
/// chart's data attributes and the agents' states.
const READ_PAGE: &str = r#"
const out = {};
for (const e of document.querySelectorAll("[data-testid]")) {
  const id = e.getAttribute("data-testid");
  out[id] = e.textContent;
  for (const a of ["offered", "answered", "abandoned", "state"]) {
    const v = e.getAttribute("data-" + a);
    if (v !== null) out[id + ":" + a] = v;
  }
}
return JSON.stringify(out);
"#;

type Page = BTreeMap<String, String>;

fn read_page(browser: &Browser) -> Page {
    let text = browser.run(READ_PAGE);
    let text = text.as_str().expect("the script returns a string");
    let v = Value::parse(text.as_bytes()).expect("the page's figures as JSON");
    v.as_object()
        .expect("an object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// Seconds shown as `m:ss` or `h:mm:ss`.
fn parse_duration(s: &str) -> Option<f64> {
    s.split(':')
        .try_fold(0.0, |acc, p| p.parse::<f64>().ok().map(|n| acc * 60.0 + n))
}

/// Checks one figure; pushes a line per mismatch.
struct Compare<'a> {
    page: &'a Page,
    problems: Vec<String>,
}

impl Compare<'_> {
    fn shown(&self, id: &str) -> Option<&str> {
        self.page.get(id).map(String::as_str)
    }

    fn count(&mut self, id: &str, want: f64) {
        let shown = self.shown(id);
        if shown.and_then(|s| s.parse::<f64>().ok()) != Some(want) {
            self.problems
                .push(format!("{id}: page shows {shown:?}, API says {want}"));
        }
    }

    fn percent(&mut self, id: &str, want: Option<f64>) {
        let shown = self.shown(id);
        let ok = match (want, shown) {
            (None, Some("–")) => true,
            (Some(r), Some(s)) => s
                .strip_suffix(" %")
                .and_then(|n| n.parse::<f64>().ok())
                .is_some_and(|n| (n - r * 100.0).abs() <= 0.051),
            _ => false,
        };
        if !ok {
            self.problems
                .push(format!("{id}: page shows {shown:?}, API says {want:?}"));
        }
    }

    fn seconds(&mut self, id: &str, want: f64, slack: f64) {
        let shown = self.shown(id);
        if !shown
            .and_then(parse_duration)
            .is_some_and(|s| (s - want).abs() <= slack)
        {
            self.problems
                .push(format!("{id}: page shows {shown:?}, API says {want} s"));
        }
    }

    fn text(&mut self, id: &str, want: &str) {
        let shown = self.shown(id);
        if shown != Some(want) {
            self.problems
                .push(format!("{id}: page shows {shown:?}, API says {want:?}"));
        }
    }
}

const STATES: [&str; 7] = [
    "logged_out",
    "available",
    "ringing",
    "on_call",
    "on_hold",
    "wrap_up",
    "paused",
];

/// Every figure of the page against the API's snapshot and queue list.
fn compare(page: &Page, board: &Value, queues: &Value) -> Vec<String> {
    let mut c = Compare {
        page,
        problems: Vec::new(),
    };
    c.text("status", "live");
    let totals = get(board, &["totals"]);
    c.count("total-waiting", num(totals, &["waiting"]));
    c.count("total-ringing", num(totals, &["ringing"]));
    c.seconds(
        "total-longest-wait",
        num(totals, &["longest_wait_seconds"]),
        2.0,
    );
    c.percent(
        "total-service-level",
        opt_num(totals, &["today", "service_level"]),
    );
    for k in ["offered", "answered", "abandoned"] {
        c.count(&format!("total-{k}"), num(totals, &["today", k]));
    }
    for s in STATES {
        c.count(&format!("agents-{s}"), num(board, &["agent_states", s]));
    }
    for a in get(board, &["agents"]).as_array().unwrap_or_default() {
        let name = get(a, &["name"]).as_str().unwrap_or_default();
        let state = get(a, &["state"]).as_str().unwrap_or_default();
        c.text(&format!("agent-{name}-state:state"), state);
    }
    let live: Vec<&Value> = get(queues, &["queues"])
        .as_array()
        .unwrap_or_default()
        .iter()
        .collect();
    for q in get(board, &["queues"]).as_array().unwrap_or_default() {
        let name = get(q, &["name"]).as_str().unwrap_or_default();
        let id = format!("queue-{name}");
        c.count(&format!("{id}-waiting"), num(q, &["waiting"]));
        c.count(&format!("{id}-ringing"), num(q, &["ringing"]));
        c.seconds(
            &format!("{id}-longest-wait"),
            num(q, &["longest_wait_seconds"]),
            2.0,
        );
        c.percent(
            &format!("{id}-service-level"),
            opt_num(q, &["today", "service_level"]),
        );
        for k in ["offered", "answered", "abandoned"] {
            c.count(&format!("{id}-{k}"), num(q, &["today", k]));
        }
        for s in STATES {
            c.count(&format!("{id}-agents-{s}"), num(q, &["agents", s]));
        }
        // The chart has one bar group per interval, with its counts.
        let intervals = get(q, &["intervals"]).as_array().unwrap_or_default();
        let bars = page
            .keys()
            .filter(|k| k.starts_with(&format!("{id}-interval-")) && !k.contains(':'))
            .count();
        if bars != intervals.len() {
            c.problems.push(format!(
                "{id}: {bars} interval bars, API has {} intervals",
                intervals.len()
            ));
        }
        let day = num(board, &["day_start_ms"]);
        for iv in intervals {
            let min = ((num(iv, &["start_ms"]) - day) / 60_000.0) as u64;
            let bar = format!("{id}-interval-{:02}{:02}", min / 60, min % 60);
            for k in ["offered", "answered", "abandoned"] {
                c.count(&format!("{bar}:{k}"), num(iv, &[k]));
            }
        }
        // The snapshot agrees with GET /api/queues of the same moment.
        let Some(lq) = live
            .iter()
            .find(|x| get(x, &["name"]).as_str() == Some(name))
        else {
            c.problems.push(format!("{name} is not in /api/queues"));
            continue;
        };
        for k in ["waiting", "ringing"] {
            if num(lq, &[k]) != num(q, &[k]) {
                c.problems.push(format!(
                    "{name}: {k} is {} in /api/queues but {} in /api/wallboard",
                    num(lq, &[k]),
                    num(q, &[k])
                ));
            }
        }
    }
    c.problems
}

/// A SIPp caller run in the background.
fn caller(dir: &Path, port: u16, media: u16, number: &str, calls: usize, ms: u32) -> Kill {
    Kill(
        Command::new("sipp")
            .arg("-sf")
            .arg(scenario("sipp/uac-queue-caller.xml"))
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["-mp", &media.to_string()])
            .args(["-s", number, "-m", &calls.to_string(), "-r", "10"])
            .args(["-d", &ms.to_string(), "-key", "caller", "13800000007"])
            .args(["-nostdin", "-trace_err"])
            .arg(SIP)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sipp caller"),
    )
}

/// Waits until the API's snapshot satisfies `ok`.
fn wait_for_board(what: &str, ok: impl Fn(&Value) -> bool, log: &Path) -> Value {
    let start = Instant::now();
    loop {
        let v = api("/api/wallboard");
        if ok(&v) {
            return v;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let mut text = String::new();
            v.write(&mut text);
            panic!(
                "{what}: not seen in time; last snapshot:\n{text}\ntandem:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn queue<'a>(board: &'a Value, name: &str) -> &'a Value {
    get(board, &["queues"])
        .as_array()
        .unwrap_or_default()
        .iter()
        .find(|q| get(q, &["name"]).as_str() == Some(name))
        .unwrap_or_else(|| panic!("no queue {name}"))
}

#[test]
fn wallboard_shows_what_the_api_says() {
    require("sipp", "sip-tester");
    require("chromium", "chromium");
    require("chromedriver", "chromium-driver");
    let dir = workdir("wallboard-shows-what-the-api-says");
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[sip]
listen = "{SIP}"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "27300-27329"
[http]
listen = "{HTTP}"
[api]
tokens = [{{ name = "wallboard", token = "{TOKEN}", role = "read" }}]

[[agent]]
name = "alice"
contact = "sip:alice@127.0.0.1:13061"
[[agent]]
name = "bob"
contact = "sip:bob@127.0.0.1:13062"
[[agent]]
name = "carol"
contact = "sip:carol@127.0.0.1:13063"
[[agent]]
name = "dave"
contact = "sip:dave@127.0.0.1:13064"
login = false

[[queue]]
name = "sales"
strategy = "linear"
members = ["alice", "bob", "dave"]
wrap_up = 0

[[queue]]
name = "support"
strategy = "linear"
members = ["carol"]
ring_timeout = 300
wrap_up = 0

[[number]]
number = "4008000100"
destinations = ["queue:sales"]

[[number]]
number = "4008000200"
destinations = ["queue:support"]
"#
        ),
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let echo = scenario("kamailio/uas-pcmu-echo.xml");
    let _alice = sipp_uas(&dir, &echo, 13061, 27330);
    let _bob = sipp_uas(&dir, &echo, 13062, 27340);
    // Carol's phone rings until the call is cancelled.
    let _carol = sipp_uas(
        &dir,
        &scenario("sipp/uas-ring-until-cancel.xml"),
        13063,
        27350,
    );

    // The event stream, raw: 401 without a token ...
    let (status, head, _) = http(HTTP, "GET", "/api/wallboard/events", "", "");
    assert_eq!(status, 401, "{head}");
    assert!(head.contains("WWW-Authenticate: Bearer"), "{head}");
    let (status, _, _) = http(HTTP, "GET", "/api/wallboard/events?token=wrong", "", "");
    assert_eq!(status, 401);
    // ... and with one, a snapshot at once.
    {
        let mut s = TcpStream::connect(HTTP).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /api/wallboard/events?token={TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains("\n\n\n")
            && !String::from_utf8_lossy(&got)
                .split_once("\r\n\r\n")
                .is_some_and(|(_, b)| b.contains("\n\n"))
        {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&got).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        assert!(head.contains("Content-Type: text/event-stream"), "{head}");
        let event = body.split("\n\n").next().unwrap_or_default();
        let mut lines = event.lines();
        assert_eq!(lines.next(), Some("event: snapshot"), "{body}");
        let data: Vec<&str> = lines.filter_map(|l| l.strip_prefix("data: ")).collect();
        let v = Value::parse(data.join("\n").as_bytes())
            .unwrap_or_else(|e| panic!("the snapshot is not JSON: {e}: {body}"));
        assert_eq!(
            get(&v, &["queues"]).as_array().map(<[Value]>::len),
            Some(2),
            "{body}"
        );
    }
    // The pages: the index links the wallboard, served without a token.
    let (status, _, index) = http(HTTP, "GET", "/", "", "");
    assert_eq!(status, 200);
    assert!(index.contains("href=\"/wallboard\""), "{index}");
    let (status, head, page) = http(HTTP, "GET", "/wallboard", "", "");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: text/html"), "{head}");
    assert!(head.contains("Referrer-Policy: no-referrer"), "{head}");
    assert!(page.contains("EventSource"), "the page has no script");
    assert_eq!(http(HTTP, "GET", "/nothing-here", "", "").0, 404);

    // Traffic. One caller into support rings Carol and hangs up after 7 s
    // (an abandon: longer than the 5 s short-abandon threshold); two calls
    // into sales are answered and end.
    let abandoner = caller(&dir, 13070, 27360, "4008000200", 1, 7000);
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-queue-caller.xml"),
        13071,
        27370,
        SIP,
        "4008000100",
        (2, 1),
        &["-d", "1000", "-l", "1", "-key", "caller", "13800000001"],
    );
    assert!(
        out.status.success(),
        "the sales calls failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    wait_for_board(
        "one abandoned call in support",
        |b| num(queue(b, "support"), &["today", "abandoned"]) == 1.0,
        &log,
    );
    drop(abandoner);
    // Now one sales call that stays connected, and two support callers
    // who give up after 25 s: the first rings Carol, the second waits
    // behind it.
    let _talker = caller(&dir, 13072, 27380, "4008000100", 1, 120_000);
    let _waiters = caller(&dir, 13073, 27390, "4008000200", 2, 25_000);
    let board = wait_for_board(
        "a call connected in sales, one ringing and one waiting in support",
        |b| {
            let (sales, support) = (queue(b, "sales"), queue(b, "support"));
            num(sales, &["agents", "on_call"]) == 1.0
                && num(support, &["ringing"]) == 1.0
                && num(support, &["waiting"]) == 1.0
        },
        &log,
    );
    let sales = queue(&board, "sales");
    assert_eq!(num(sales, &["today", "offered"]), 3.0);
    assert_eq!(num(sales, &["today", "answered"]), 3.0);
    assert_eq!(opt_num(sales, &["today", "service_level"]), Some(1.0));
    let support = queue(&board, "support");
    assert_eq!(num(support, &["today", "offered"]), 3.0);
    assert_eq!(num(support, &["today", "answered"]), 0.0);
    assert_eq!(opt_num(support, &["today", "service_level"]), Some(0.0));
    assert_eq!(num(&board, &["agent_states", "logged_out"]), 1.0);
    assert_eq!(get(&board, &["history"]), &Value::Bool(true));
    assert!(
        !get(sales, &["intervals"])
            .as_array()
            .unwrap_or_default()
            .is_empty()
    );

    // The page in Chromium shows the same figures.
    let browser = Browser::start(&dir);
    browser.open(&format!("http://{HTTP}/wallboard?token={TOKEN}"));
    let start = Instant::now();
    let mut tries = 0;
    loop {
        tries += 1;
        let board = api("/api/wallboard");
        let queues = api("/api/queues");
        let page = read_page(&browser);
        let problems = compare(&page, &board, &queues);
        if problems.is_empty() {
            // What was compared, for a person to look at.
            browser.screenshot(&dir.join("wallboard.png"));
            break;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let mut text = String::new();
            board.write(&mut text);
            panic!(
                "after {tries} tries the page still differs from the API:\n  {}\npage: {page:?}\napi: {text}",
                problems.join("\n  ")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // The page follows changes: the two support callers hang up.
    let start = Instant::now();
    loop {
        let page = read_page(&browser);
        let board = api("/api/wallboard");
        let queues = api("/api/queues");
        let done = page.get("queue-support-abandoned").map(String::as_str) == Some("3")
            && page.get("queue-support-waiting").map(String::as_str) == Some("0")
            && page.get("queue-support-ringing").map(String::as_str) == Some("0")
            && compare(&page, &board, &queues).is_empty();
        if done {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "the page did not follow the callers hanging up: {page:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
