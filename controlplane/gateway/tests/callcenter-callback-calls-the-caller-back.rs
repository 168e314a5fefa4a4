//! A queued caller keys the exit digit for a callback and is released;
//! when an agent signs in, Tandem rings the agent, then calls the caller
//! back over the routes and bridges the two.

mod support;

use std::time::{Duration, Instant};

use support::*;

const HTTP: &str = "127.0.0.1:13390";
const TOKEN: &str = "supervisor-token-for-callbacks";

#[test]
fn a_caller_who_asks_for_a_callback_is_called_back_when_an_agent_is_free() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-callback");
    tone_wav(&dir.join("we-will-call.wav"), 1.0, 600);
    tone_wav(&dir.join("moh.wav"), 1.0, 440);
    std::fs::write(
        dir.join("tandem.toml"),
        format!(
            r#"
[sip]
listen = "127.0.0.1:13360"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "31000-31099"
[http]
listen = "{HTTP}"
[api]
tokens = [{{ name = "floor", token = "{TOKEN}", role = "supervisor" }}]

[[trunk]]
name = "pstn"
address = "127.0.0.1:13362"
options_interval = 0

[[route]]
prefix = "138"
trunks = ["pstn"]

[[agent]]
name = "alice"
contact = "sip:alice@127.0.0.1:13361"
login = false

[[queue]]
name = "desk"
members = ["alice"]
exit_digit = "9"
exit_to = "callback"
callback_prompt = "we-will-call.wav"
music_on_hold = "moh.wav"

[[number]]
number = "4005000008"
destinations = ["queue:desk"]
"#
        ),
    )
    .unwrap();
    let config = dir.join("tandem.toml");
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let tandem_log = || std::fs::read_to_string(&log).unwrap_or_default();
    // Nobody is signed in: the caller waits, keys 9 and is released.
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-asks-callback.xml"),
        13370,
        31220,
        "127.0.0.1:13360",
        "4005000008",
        (1, 1),
        &["-key", "caller", "13800000010"],
    );
    assert_sipp_ok(&out, &log);
    let calls = http_get(HTTP, "/metrics");
    assert!(
        calls.contains("tandem_callcenter_callbacks_total{outcome=\"requested\",queue=\"desk\"} 1"),
        "{calls}\n{}",
        tandem_log()
    );
    // The request waits in the queue like a caller.
    let (status, listed) = http_request(HTTP, "GET", "/api/calls", Some(TOKEN), "");
    assert_eq!(status, 200);
    assert!(listed.contains("\"state\":\"waiting\""), "{listed}");

    let mut alice = sipp_phone(
        &dir,
        &scenario("kamailio/uas-pcmu-echo.xml"),
        13361,
        31200,
        "alice.log",
        &["-rtp_echo"],
    );
    let mut customer = sipp_phone(
        &dir,
        &scenario("sipp/uas-answer-then-hang-up.xml"),
        13362,
        31210,
        "customer.log",
        &["-d", "3000"],
    );
    let (status, text) = http_request(HTTP, "POST", "/api/agents/alice/login", Some(TOKEN), "");
    assert_eq!(status, 200, "{text}");
    phone_finished(&mut customer, &dir, "customer.log", &log);
    phone_finished(&mut alice, &dir, "alice.log", &log);

    // Alice saw who she calls back; the customer saw the 400 number.
    let alice_log = std::fs::read_to_string(dir.join("alice.log")).unwrap_or_default();
    for needle in [
        "X-Tandem-Callback: number=13800000010;queue=desk",
        "From: <sip:13800000010@",
    ] {
        assert!(alice_log.contains(needle), "no {needle} in\n{alice_log}");
    }
    let customer_log = std::fs::read_to_string(dir.join("customer.log")).unwrap_or_default();
    assert!(
        customer_log.contains("From: <sip:4005000008@"),
        "{customer_log}"
    );
    // Two records: the caller's call, and the callback that connected.
    let deadline = Instant::now() + Duration::from_secs(10);
    let rows = loop {
        let rows = cdrs(&dir);
        if rows.len() >= 2 || Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // The caller heard the whole confirmation (1 s) after keying 9 at
    // 1.5 s, over the music on hold, before the release.
    let asked = rows
        .iter()
        .find(|r| r["trunk_in"] == "-")
        .unwrap_or_else(|| panic!("no record of the caller: {rows:?}"));
    assert!(num(asked, "duration_ms") >= 2400, "{asked:?}");
    let back = rows
        .iter()
        .find(|r| r["trunk_in"] == "agent:alice")
        .unwrap_or_else(|| panic!("no record of the callback: {rows:?}\n{}", tandem_log()));
    assert_eq!(back["caller"], "13800000010", "{back:?}");
    assert_eq!(back["callee"], "4005000008", "{back:?}");
    assert_eq!(back["trunk_out"], "pstn", "{back:?}");
    assert_eq!(back["disposition"], "answered", "{back:?}");
    // The customer's audio reached alice, and her echo came back (a
    // 3 s call: about 150 packets each way, not a storm).
    for k in ["out_packets_received", "in_packets_received"] {
        let n = num(back, k);
        assert!((50..=400).contains(&n), "{k} = {n} in {back:?}");
    }
    let metrics = http_get(HTTP, "/metrics");
    for line in [
        "tandem_callcenter_callbacks_total{outcome=\"connected\",queue=\"desk\"} 1",
        "tandem_callcenter_agent_calls_answered_total{agent=\"alice\"} 1",
    ] {
        assert!(metrics.contains(line), "no {line} in\n{metrics}");
    }
}
