//! The REST API of `tandem run` against the real server: bearer tokens
//! (401 without one, 403 for a read-only token changing something), agent
//! login/pause/unpause/logout reflected in the API and on /metrics, a
//! route's destinations and a number's blacklist changed, every change in
//! the audit log with who and what; a voicemail message seeded in the
//! store (index row and WAV file) listed and served; then
//! tests/api/validate_openapi.py checks every documented GET answer
//! against docs/openapi.json.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;

const HTTP: &str = "127.0.0.1:14090";
const ADMIN: &str = "admin-token-0123456789abcdef";
const SUPERVISOR: &str = "supervisor-token-0123456789";
const READ: &str = "read-token-0123456789abcdef";

/// One HTTP request; the status and the body.
fn call(method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    http_request(HTTP, method, path, token, body)
}

fn ok(method: &str, path: &str, token: &str, body: &str) -> String {
    let (status, text) = call(method, path, Some(token), body);
    assert_eq!(status, 200, "{method} {path}: {text}");
    text
}

/// A WAV file of `ms` of stereo silence, 16-bit PCM at 8 kHz, as the
/// recorder writes a message.
fn silent_wav(ms: u32) -> Vec<u8> {
    let (rate, channels, bits) = (8000u32, 2u16, 16u16);
    let block = channels * bits / 8;
    let data = rate * ms / 1000 * u32::from(block);
    let mut w = Vec::with_capacity(44 + data as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&channels.to_le_bytes());
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    w.extend_from_slice(&block.to_le_bytes());
    w.extend_from_slice(&bits.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data.to_le_bytes());
    w.resize(44 + data as usize, 0);
    w
}

/// Files a voicemail message the way the store does
/// (`src/voicemail.rs`): the WAV file as `voicemail_dir/BOX/ID.wav`, then
/// its row in the `voicemail` table of the call-record database.
fn seed_voicemail(db: &Path, voicemail_dir: &Path, mailbox: &str, id: u64, wav: &[u8]) {
    let dir = voicemail_dir.join(mailbox);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{id}.wav"));
    std::fs::write(&file, wav).unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute(
        "INSERT INTO voicemail (id, box, caller, number, received_ms, duration_ms, path, heard, caller_channel)
         VALUES (?1, ?2, '13812345678', '4008123456', 1800000000000, 1000, ?3, 0, 'left')",
        rusqlite::params![id as i64, mailbox, file.to_str().unwrap()],
    )
    .unwrap();
}

/// Waits until /metrics (published once a second) has `line`.
fn metrics_show(line: &str) {
    let start = Instant::now();
    loop {
        let m = http_get(HTTP, "/metrics");
        if m.contains(line) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no {line} on /metrics:\n{m}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn api_manages_agents_and_numbers() {
    let python = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        python,
        "python3 with jsonschema not found: install the Debian package python3-jsonschema (scripts/setup.sh does)"
    );
    let dir = workdir("api-manages-agents-and-numbers");
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[sip]
listen = "127.0.0.1:14060"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "26600-26699"
[http]
listen = "{HTTP}"
[api]
tokens = [
    {{ name = "ops", token = "{ADMIN}", role = "admin" }},
    {{ name = "floor", token = "{SUPERVISOR}", role = "supervisor" }},
    {{ name = "wallboard", token = "{READ}", role = "read" }},
]

[[trunk]]
name = "carrier"
address = "127.0.0.1:14061"

[[agent]]
name = "alice"
contact = "sip:alice@127.0.0.1:14062"
login = false
[[agent]]
name = "bob"
contact = "sip:bob@127.0.0.1:14063"

[[queue]]
name = "sales"
members = ["alice", "bob"]
[[queue]]
name = "support"
members = ["bob"]

[[voicemail]]
name = "sales"

[[ivr]]
name = "main"
entry = true
prompt = "main.wav"
digits = {{ "1" = "queue:sales", "2" = "http:crm", "*" = "repeat" }}
timeout_action = "queue:support"

[[http_lookup]]
name = "crm"
url = "http://crm:s3cret@127.0.0.1:9/lookup"
on = [{{ field = "vip", equals = "true", then = "queue:support" }}]
default = "queue:sales"
on_error = "queue:sales"

[[number]]
number = "4008123456"
blacklist = ["13900"]
[[number.route]]
name = "main"
destinations = ["queue:sales"]
"#
        ),
    )
    .unwrap();
    tone_wav(&dir.join("main.wav"), 0.5, 400);
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let text = wait_for(&log, "tandem: HTTP on", Duration::from_secs(10));
    assert!(text.contains("tandem: HTTP on"), "{text}");

    // Authentication and roles.
    assert_eq!(call("GET", "/api/health", None, "").0, 200);
    let (status, body) = call("GET", "/api/agents", None, "");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    assert_eq!(
        call("GET", "/api/agents", Some("wrong-token-0123456789"), "").0,
        401
    );
    let (status, body) = call("POST", "/api/agents/alice/login", Some(READ), "");
    assert_eq!(status, 403, "{body}");
    let (status, _) = call(
        "POST",
        "/api/numbers/4008123456/blacklist/1380000",
        Some(SUPERVISOR),
        "",
    );
    assert_eq!(status, 403);

    // The IVR as configured, the lookup's password hidden.
    let ivr = ok("GET", "/api/ivr", READ, "");
    for needle in [
        "\"name\":\"main\"",
        "\"digits\":{\"*\":\"repeat\",\"1\":\"queue:sales\",\"2\":\"http:crm\"}",
        "\"timeout_action\":\"queue:support\"",
        "\"url\":\"http://127.0.0.1:9/lookup\"",
    ] {
        assert!(ivr.contains(needle), "no {needle} in {ivr}");
    }
    assert!(!ivr.contains("s3cret"), "{ivr}");
    assert!(ok("GET", "/api/ivr/main", READ, "").contains("\"entry\":true"));
    assert_eq!(call("GET", "/api/ivr/nowhere", Some(READ), "").0, 404);

    // Agent states, in the API and on /metrics.
    let alice = ok("GET", "/api/agents/alice", READ, "");
    assert!(alice.contains("\"state\":\"logged_out\""), "{alice}");
    let alice = ok("POST", "/api/agents/alice/login", SUPERVISOR, "");
    assert!(alice.contains("\"state\":\"available\""), "{alice}");
    metrics_show(r#"tandem_callcenter_agent_state{agent="alice",state="available"} 1"#);
    ok(
        "POST",
        "/api/agents/alice/pause",
        SUPERVISOR,
        r#"{"reason":"lunch"}"#,
    );
    let alice = ok("GET", "/api/agents/alice", READ, "");
    assert!(alice.contains("\"state\":\"paused\""), "{alice}");
    assert!(alice.contains("\"pause_reason\":\"lunch\""), "{alice}");
    metrics_show(r#"tandem_callcenter_agent_state{agent="alice",state="paused"} 1"#);
    let (status, body) = call("POST", "/api/agents/alice/ready", Some(SUPERVISOR), "");
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("paused"), "{body}");
    ok("POST", "/api/agents/alice/unpause", SUPERVISOR, "");
    metrics_show(r#"tandem_callcenter_agent_state{agent="alice",state="available"} 1"#);
    let sales = ok("GET", "/api/queues/sales", READ, "");
    assert!(sales.contains("\"available\":2"), "{sales}");
    ok("POST", "/api/agents/alice/logout", SUPERVISOR, "");
    let alice = ok("GET", "/api/agents/alice", READ, "");
    assert!(alice.contains("\"state\":\"logged_out\""), "{alice}");
    metrics_show(r#"tandem_callcenter_agent_state{agent="alice",state="logged_out"} 1"#);

    // A route's destinations, for the next call.
    let path = "/api/numbers/4008123456/routes/main/destinations";
    let (status, body) = call("PUT", path, Some(READ), r#"[{"to":"queue:support"}]"#);
    assert_eq!(status, 403, "{body}");
    let (status, body) = call("PUT", path, Some(ADMIN), r#"[{"to":"queue:nowhere"}]"#);
    assert_eq!(status, 400, "{body}");
    ok(
        "PUT",
        path,
        ADMIN,
        r#"[{"to":"queue:support","weight":2},{"to":"trunk:carrier","weight":1}]"#,
    );
    let number = ok("GET", "/api/numbers/4008123456", READ, "");
    assert!(
        number.contains(
            r#""destinations":[{"to":"queue:support","weight":2},{"to":"trunk:carrier","weight":1}]"#
        ),
        "{number}"
    );

    // The blacklist.
    let prefix = "/api/numbers/4008123456/blacklist/1380000";
    ok("POST", prefix, ADMIN, "");
    let list = ok("GET", "/api/numbers/4008123456/blacklist", READ, "");
    assert!(list.contains(r#""prefixes":["1380000","13900"]"#), "{list}");
    ok("DELETE", prefix, ADMIN, "");
    let list = ok("GET", "/api/numbers/4008123456/blacklist", READ, "");
    assert!(list.contains(r#""prefixes":["13900"]"#), "{list}");
    assert_eq!(call("DELETE", prefix, Some(ADMIN), "").0, 404);

    // The audit log: who did what, newest first.
    let (status, _) = call("GET", "/api/audit", Some(READ), "");
    assert_eq!(status, 403);
    let audit = ok("GET", "/api/audit?limit=8", SUPERVISOR, "");
    let order: Vec<(&str, &str)> = [
        ("ops", "number.blacklist.remove"),
        ("ops", "number.blacklist.add"),
        ("ops", "number.destinations.set"),
        ("floor", "agent.logout"),
        ("floor", "agent.unpause"),
        ("floor", "agent.pause"),
        ("floor", "agent.login"),
    ]
    .to_vec();
    let mut at = 0;
    for (who, action) in &order {
        let needle = format!(r#""who":"{who}","action":"{action}""#);
        let found = audit[at..]
            .find(&needle)
            .unwrap_or_else(|| panic!("no {needle} after byte {at} in {audit}"));
        at += found + needle.len();
    }
    assert!(audit.contains(r#""target":"agent:alice""#), "{audit}");
    assert!(audit.contains(r#""target":"number:4008123456""#), "{audit}");
    assert!(audit.contains(r#""reason":"lunch""#), "{audit}");

    // A voicemail message, with the id of the spec's examples
    // (/api/voicemail/sales/1.wav). Listing the boxes opens the API's
    // store, which creates the index table if the gateway has not yet.
    let boxes = ok("GET", "/api/voicemail", READ, "");
    assert!(
        boxes.contains(r#"{"name":"sales","configured":true,"messages":0,"unheard":0}"#),
        "{boxes}"
    );
    let wav = silent_wav(1000);
    seed_voicemail(
        &dir.join("cdr.sqlite"),
        &dir.join("voicemail"),
        "sales",
        1,
        &wav,
    );
    let list = ok("GET", "/api/voicemail/sales", READ, "");
    assert!(list.contains(r#""id":1,"box":"sales""#), "{list}");
    assert!(
        list.contains(r#""audio":"/api/voicemail/sales/1.wav""#),
        "{list}"
    );
    let (status, _) = call("DELETE", "/api/voicemail/sales/1", Some(READ), "");
    assert_eq!(status, 403);

    // Every documented answer against docs/openapi.json.
    let out = Command::new("python3")
        .arg(repo().join("tests/api/validate_openapi.py"))
        .args(["--base", &format!("http://{HTTP}")])
        .args(["--token", ADMIN, "--read-token", READ])
        .output()
        .expect("run validate_openapi.py");
    assert!(
        out.status.success(),
        "validate_openapi.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("17 GET responses validated"),
        "the live checks did not all run:\n{report}"
    );
}
