//! Agents transfer callers with REFER (RFC 3515) from SIPp phones: blind
//! to a colleague, who gets the caller's number and IVR data; attended,
//! after a consultation call, with Replaces (RFC 3891).

mod support;

use std::time::Duration;

use support::*;

fn config(dir: &std::path::Path, sip: u16, rtp: &str, http: u16, agents: &[(&str, u16)]) {
    for (name, hz) in [("main.wav", 400), ("more.wav", 500)] {
        tone_wav(&dir.join(name), 1.0, hz);
    }
    let mut text = format!(
        r#"
[sip]
listen = "127.0.0.1:{sip}"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "{rtp}"
[http]
listen = "127.0.0.1:{http}"
"#
    );
    for (name, port) in agents {
        text +=
            &format!("[[agent]]\nname = \"{name}\"\ncontact = \"sip:{name}@127.0.0.1:{port}\"\n");
    }
    text += r#"
[[queue]]
name = "desk"
members = ["alice"]
wrap_up = 0

[[ivr]]
name = "main"
entry = true
prompt = "main.wav"
digits = { "2" = "menu:more" }
timeout_action = "queue:desk"

[[ivr]]
name = "more"
prompt = "more.wav"
digits = { "3" = "queue:desk" }
timeout_action = "queue:desk"

[[number]]
number = "4005000005"
destinations = ["ivr:main"]

[[number]]
number = "4005000006"
destinations = ["queue:desk"]
"#;
    std::fs::write(dir.join("tandem.toml"), text).unwrap();
}

#[test]
fn an_agent_transfers_a_caller_blind_with_the_call_data() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-blind-transfer");
    config(
        &dir,
        13160,
        "28500-28599",
        13190,
        &[("alice", 13161), ("bob", 13162)],
    );
    let config = dir.join("tandem.toml");
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let mut alice = sipp_phone(
        &dir,
        &scenario("sipp/uas-agent-blind-transfer.xml"),
        13161,
        28700,
        "alice.log",
        &["-key", "target", "bob"],
    );
    let _bob = sipp_uas_traced(
        &dir,
        &scenario("kamailio/uas-pcmu-echo.xml"),
        13162,
        28710,
        "bob.log",
    );
    // Through the IVR (keys 2, 3) into the queue, to alice, then to bob;
    // the caller stays on the line for 6 s after its last key.
    let caller_dir = dir.clone();
    let caller = std::thread::spawn(move || {
        sipp_uac_with(
            &caller_dir,
            &scenario("sipp/uac-ivr-caller.xml"),
            13170,
            28720,
            "127.0.0.1:13160",
            "4005000005",
            (1, 1),
            &["-d", "6000", "-key", "caller", "13700000007"],
        )
    });
    // Bob took the caller outside the ACD: he is on a call, not offered
    // queued callers.
    let bob_busy = "tandem_callcenter_agent_state{agent=\"bob\",state=\"on_call\"} 1";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !http_get("127.0.0.1:13190", "/metrics").contains(bob_busy) {
        assert!(
            std::time::Instant::now() < deadline,
            "bob never shown on a call\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = caller.join().unwrap();
    assert_sipp_ok(&out, &log);
    phone_finished(&mut alice, &dir, "alice.log", &log);
    let tandem_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    let row = &rows[0];
    assert_eq!(row["trunk_out"], "agent:bob", "{rows:?}\n{}", tandem_log());
    assert_eq!(row["disposition"], "answered", "{row:?}");
    // Bob's echo reached the caller.
    assert!(num(row, "out_packets_received") > 50, "{row:?}");
    assert!(num(row, "in_packets_sent") > 50, "{row:?}");
    // Bob's phone was told who calls, what the caller did in the IVR and
    // who transferred the call.
    let bob = std::fs::read_to_string(dir.join("bob.log")).unwrap_or_default();
    for needle in [
        "From: <sip:13700000007@",
        "X-Tandem-IVR-Path: main,more",
        "X-Tandem-Keys: 23",
        "Referred-By: <sip:alice@",
    ] {
        assert!(bob.contains(needle), "no {needle} in bob's INVITE:\n{bob}");
    }
    std::thread::sleep(Duration::from_millis(1500));
    let metrics = http_get("127.0.0.1:13190", "/metrics");
    for line in [
        "tandem_callcenter_agent_state{agent=\"bob\",state=\"available\"} 1",
        "tandem_sip_transfers_total{kind=\"blind\",outcome=\"done\"} 1",
        "tandem_callcenter_calls_transferred_total{queue=\"desk\"} 1",
        "tandem_callcenter_agent_calls_transferred_total{agent=\"alice\"} 1",
    ] {
        assert!(metrics.contains(line), "no {line} in\n{metrics}");
    }
}

#[test]
fn an_agent_consults_a_colleague_then_transfers_with_replaces() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-attended-transfer");
    config(
        &dir,
        13175,
        "28600-28699",
        13191,
        &[("alice", 13176), ("bob", 13177)],
    );
    let config = dir.join("tandem.toml");
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let mut alice = sipp_phone(
        &dir,
        &scenario("sipp/uas-agent-attended-transfer.xml"),
        13176,
        28730,
        "alice.log",
        &["-key", "target", "bob"],
    );
    let _bob = sipp_uas_traced(
        &dir,
        &scenario("kamailio/uas-pcmu-echo.xml"),
        13177,
        28740,
        "bob.log",
    );
    // Through the IVR (keys 2, 3) into the queue, to alice; she consults
    // bob after 1 s and transfers after another; the caller stays 6 s
    // after its last key.
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-ivr-caller.xml"),
        13178,
        28750,
        "127.0.0.1:13175",
        "4005000005",
        (1, 1),
        &["-d", "6000", "-key", "caller", "13700000008"],
    );
    assert_sipp_ok(&out, &log);
    phone_finished(&mut alice, &dir, "alice.log", &log);
    let tandem_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let rows = wait_for_cdrs(&dir, 2, Duration::from_secs(10));
    let caller = rows
        .iter()
        .find(|r| r["caller"] == "13700000008")
        .unwrap_or_else(|| panic!("no record of the caller: {rows:?}\n{}", tandem_log()));
    let consult = rows
        .iter()
        .find(|r| r["caller"] == "alice")
        .unwrap_or_else(|| panic!("no record of the consultation: {rows:?}"));
    // The caller ended up with bob, on the leg bob answered alice on, and
    // bob's echo reached the caller after the transfer.
    assert_eq!(
        caller["trunk_out"],
        "agent:bob",
        "{rows:?}\n{}",
        tandem_log()
    );
    assert_eq!(caller["disposition"], "answered", "{caller:?}");
    assert!(num(caller, "out_packets_received") > 100, "{caller:?}");
    assert!(num(caller, "in_packets_sent") > 100, "{caller:?}");
    assert_eq!(consult["callee"], "bob", "{consult:?}");
    assert_eq!(consult["trunk_in"], "agent:alice", "{consult:?}");
    // Bob was called once (the consultation) and hung up once, when the
    // caller did.
    let bob = std::fs::read_to_string(dir.join("bob.log")).unwrap_or_default();
    assert_eq!(bob.matches("INVITE sip:").count(), 1, "{bob}");
    // The consultation told bob whose call it is about.
    for needle in [
        "X-Tandem-Caller: 13700000008",
        "X-Tandem-IVR-Path: main,more",
        "X-Tandem-Keys: 23",
    ] {
        assert!(bob.contains(needle), "no {needle} in bob's INVITE:\n{bob}");
    }
    assert_eq!(bob.matches("BYE sip:").count(), 1, "{bob}");
    std::thread::sleep(Duration::from_millis(1500));
    let metrics = http_get("127.0.0.1:13191", "/metrics");
    for line in [
        "tandem_sip_transfers_total{kind=\"attended\",outcome=\"done\"} 1",
        "tandem_callcenter_calls_transferred_total{queue=\"desk\"} 1",
    ] {
        assert!(metrics.contains(line), "no {line} in\n{metrics}");
    }
}

#[test]
fn an_agent_holds_the_caller_who_hears_music_and_the_hold_time_is_counted() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-hold");
    config(&dir, 13180, "31400-31499", 13192, &[("alice", 13181)]);
    tone_wav(&dir.join("moh.wav"), 1.0, 440);
    let text = std::fs::read_to_string(dir.join("tandem.toml")).unwrap();
    let text = text.replace(
        "wrap_up = 0\n",
        "wrap_up = 0\nmusic_on_hold = \"moh.wav\"\n",
    );
    std::fs::write(dir.join("tandem.toml"), text).unwrap();
    let config = dir.join("tandem.toml");
    let (tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    // Alice holds the caller for 2 s, then takes the call back.
    let mut alice = sipp_phone(
        &dir,
        &scenario("sipp/uas-agent-holds.xml"),
        13181,
        28760,
        "alice.log",
        &["-d", "2000"],
    );
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-queue-caller.xml"),
        13182,
        28770,
        "127.0.0.1:13180",
        "4005000006",
        (1, 1),
        &["-d", "5000", "-key", "caller", "13700000011"],
    );
    assert_sipp_ok(&out, &log);
    phone_finished(&mut alice, &dir, "alice.log", &log);
    let tandem_log = std::fs::read_to_string(&log).unwrap_or_default();
    for line in ["caller on hold", "caller off hold"] {
        assert!(tandem_log.contains(line), "no {line:?} in\n{tandem_log}");
    }
    // While held the caller heard the music (Tandem sent more than the
    // silent agent's side alone would).
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert!(num(&rows[0], "in_packets_sent") > 50, "{rows:?}");
    // The hold time is in the queue's report: about 2 s for one call.
    signal(&tandem, "TERM");
    wait_for(&log, "drained, stopping", Duration::from_secs(10));
    drop(tandem);
    let desk = queue_report_today(&dir, "desk");
    let hold: f64 = desk["avg_hold_s"].parse().unwrap_or(0.0);
    assert!((1.5..3.5).contains(&hold), "avg_hold_s {hold} in {desk:?}");
}

#[test]
fn a_transfer_to_nobody_fails_and_the_agent_keeps_the_caller() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-transfer-fails");
    config(&dir, 13185, "31500-31599", 13193, &[("alice", 13186)]);
    let config = dir.join("tandem.toml");
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let mut alice = sipp_phone(
        &dir,
        &scenario("sipp/uas-agent-transfer-fails.xml"),
        13186,
        28780,
        "alice.log",
        &["-key", "target", "nobody"],
    );
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-queue-caller.xml"),
        13187,
        28790,
        "127.0.0.1:13185",
        "4005000006",
        (1, 1),
        &["-d", "4000", "-key", "caller", "13700000012"],
    );
    assert_sipp_ok(&out, &log);
    phone_finished(&mut alice, &dir, "alice.log", &log);
    let alice_log = std::fs::read_to_string(dir.join("alice.log")).unwrap_or_default();
    assert!(alice_log.contains("SIP/2.0 404"), "{alice_log}");
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert_eq!(rows[0]["trunk_out"], "agent:alice", "{rows:?}");
    std::thread::sleep(Duration::from_millis(1500));
    let metrics = http_get("127.0.0.1:13193", "/metrics");
    for line in [
        "tandem_sip_transfers_total{kind=\"blind\",outcome=\"no_target\"} 1",
        "tandem_callcenter_calls_transferred_total{queue=\"desk\"} 0",
    ] {
        assert!(metrics.contains(line), "no {line} in\n{metrics}");
    }
}
