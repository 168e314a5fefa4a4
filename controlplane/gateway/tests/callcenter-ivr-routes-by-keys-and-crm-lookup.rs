//! A caller keys through a two-level IVR with RFC 4733 digits (SIPp
//! playing Debian's captured events): 2 goes to the billing menu, 3 there
//! asks the operator's CRM over HTTP, whose answer marks the caller VIP
//! with a priority; the call lands in the VIP queue, and the agent's phone
//! gets the IVR path and keys with the INVITE.

mod support;

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

use support::*;

#[test]
fn keys_and_a_crm_answer_route_the_caller_to_the_vip_queue() {
    require("sipp", "sip-tester");
    require("sox", "sox");
    let dir = workdir("callcenter-ivr");
    for (name, hz) in [("main.wav", 400), ("billing.wav", 500), ("sorry.wav", 300)] {
        tone_wav(&dir.join(name), 1.0, hz);
    }
    // The operator's CRM: answers every lookup that the caller is a VIP.
    let crm = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let crm_port = crm.local_addr().unwrap().port();
    let (seen_tx, seen_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for stream in crm.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ = seen_tx.send(String::from_utf8_lossy(&req).to_string());
            let body = r#"{"vip": true, "priority": 5, "name": "Li Lei"}"#;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        format!(
            r##"
[sip]
listen = "127.0.0.1:14360"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "27000-27099"
[http]
listen = "127.0.0.1:14390"

[[agent]]
name = "lena"
contact = "sip:lena@127.0.0.1:14361"
[[agent]]
name = "vince"
contact = "sip:vince@127.0.0.1:14362"

[[queue]]
name = "general"
members = ["lena"]

[[queue]]
name = "vip"
members = ["vince"]

[[ivr]]
name = "main"
entry = true
prompt = "main.wav"
digits = {{ "1" = "queue:general", "2" = "menu:billing" }}
timeout_action = "queue:general"

[[ivr]]
name = "billing"
prompt = "billing.wav"
digits = {{ "3" = "http:crm", "#" = "back" }}
invalid_prompt = "sorry.wav"
timeout_action = "queue:general"

[[http_lookup]]
name = "crm"
url = "http://127.0.0.1:{crm_port}/lookup"
on = [{{ field = "vip", equals = "true", then = "queue:vip" }}]
set_priority_from = "priority"
default = "queue:general"
on_error = "queue:general"

[[number]]
number = "4009000009"
destinations = ["ivr:main"]
"##
        ),
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let echo = scenario("kamailio/uas-pcmu-echo.xml");
    let _lena = sipp_uas(&dir, &echo, 14361, 27100);
    // Vince's phone logs what it receives, to show the call's data.
    let _vince = sipp_uas_traced(&dir, &echo, 14362, 27110, "vince.log");
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-ivr-caller.xml"),
        14370,
        27120,
        "127.0.0.1:14360",
        "4009000009",
        (1, 1),
        &["-d", "2000", "-key", "caller", "13600000006"],
    );
    let tandem_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_sipp_ok(&out, &log);
    let lookup = seen_rx
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("the CRM was not asked\n{}", tandem_log()));
    assert!(
        lookup.starts_with("GET /lookup?caller=13600000006&digits=&path=main%2Cbilling HTTP/1.1"),
        "{lookup}"
    );
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert_eq!(
        rows[0]["trunk_out"],
        "agent:vince",
        "{rows:?}\n{}",
        tandem_log()
    );
    assert_eq!(rows[0]["disposition"], "answered");
    assert!(num(&rows[0], "out_packets_received") > 20, "{rows:?}");
    // The IVR's counters: one walk through both menus and one lookup.
    let metrics = http_get("127.0.0.1:14390", "/metrics");
    for line in [
        "tandem_callcenter_ivr_events_total{event=\"selected\",menu=\"main\"} 1",
        "tandem_callcenter_ivr_events_total{event=\"selected\",menu=\"billing\"} 1",
        "tandem_callcenter_ivr_events_total{event=\"lookup_answered\",menu=\"crm\"} 1",
    ] {
        assert!(metrics.contains(line), "no {line} in\n{metrics}");
    }
    let vince = std::fs::read_to_string(dir.join("vince.log")).unwrap_or_default();
    assert!(
        vince.contains("X-Tandem-IVR-Path: main,billing") && vince.contains("X-Tandem-Keys: 23"),
        "the agent's INVITE lacks the call's data:\n{vince}"
    );
}
