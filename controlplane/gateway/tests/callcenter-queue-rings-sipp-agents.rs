//! Calls to a 400 number go through its plan into an ACD queue, are
//! answered by Tandem, and ring SIPp agents: round robin takes the agents
//! in turn, and linear, skills, longest-idle and fewest-calls pick the
//! agent their ranking says; an agent who lets the phone ring is
//! cancelled and the next one rung; a full queue spills callers to a
//! number over the routes.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::*;

fn by_setup(mut rows: Vec<HashMap<String, String>>) -> Vec<HashMap<String, String>> {
    rows.sort_by_key(|r| num(r, "setup_ms"));
    rows
}

#[test]
fn round_robin_rings_the_agents_in_turn() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-round-robin");
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:15860"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "26200-26299"
[http]
listen = "127.0.0.1:15890"

[[agent]]
name = "alice"
contact = "sip:alice@127.0.0.1:15861"
[[agent]]
name = "bob"
contact = "sip:bob@127.0.0.1:15862"
[[agent]]
name = "carol"
contact = "sip:carol@127.0.0.1:15863"

[[queue]]
name = "sales"
strategy = "round-robin"
members = ["alice", "bob", "carol"]
wrap_up = 0

[[number]]
number = "4008123456"
destinations = ["queue:sales"]
"#,
    )
    .unwrap();
    let (tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let echo = scenario("kamailio/uas-pcmu-echo.xml");
    let _alice = sipp_uas(&dir, &echo, 15861, 26400);
    let _bob = sipp_uas(&dir, &echo, 15862, 26410);
    let _carol = sipp_uas(&dir, &echo, 15863, 26420);
    // One call at a time (each lasts 1 s), so the order is the strategy's.
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-queue-caller.xml"),
        15870,
        26430,
        "127.0.0.1:15860",
        "4008123456",
        (6, 1),
        &["-d", "1000", "-l", "1", "-key", "caller", "13800000001"],
    );
    assert_sipp_ok(&out, &log);
    let rows = by_setup(wait_for_cdrs(&dir, 6, Duration::from_secs(10)));
    let agents: Vec<&str> = rows.iter().map(|r| r["trunk_out"].as_str()).collect();
    assert_eq!(
        agents,
        [
            "agent:alice",
            "agent:bob",
            "agent:carol",
            "agent:alice",
            "agent:bob",
            "agent:carol"
        ],
        "{rows:?}"
    );
    // The KPIs on /metrics count the same six calls: each answered at
    // once (well within the 20 s service-level threshold), two per agent.
    std::thread::sleep(Duration::from_millis(1500));
    let metrics = http_get("127.0.0.1:15890", "/metrics");
    for line in [
        "tandem_callcenter_calls_offered_total{queue=\"sales\"} 6",
        "tandem_callcenter_calls_answered_total{queue=\"sales\"} 6",
        "tandem_callcenter_calls_answered_within_threshold_total{queue=\"sales\"} 6",
        "tandem_callcenter_wait_seconds_bucket{queue=\"sales\",le=\"20\"} 6",
        "tandem_callcenter_agent_calls_answered_total{agent=\"alice\"} 2",
        "tandem_callcenter_agent_calls_answered_total{agent=\"carol\"} 2",
        "tandem_callcenter_number_calls_offered_total{number=\"4008123456\"} 6",
        "tandem_callcenter_queue_waiting{queue=\"sales\"} 0",
        "tandem_callcenter_agents{queue=\"sales\",state=\"available\"} 3",
    ] {
        assert!(metrics.contains(line), "no {line} in\n{metrics}");
    }
    // Stopping stores the open interval; the report reads it back.
    signal(&tandem, "TERM");
    wait_for(&log, "drained, stopping", Duration::from_secs(10));
    drop(tandem);
    let sales = queue_report_today(&dir, "sales");
    assert_eq!(sales["offered"], "6", "{sales:?}");
    assert_eq!(sales["answered"], "6", "{sales:?}");
    assert_eq!(sales["service_level_pct"], "100.00", "{sales:?}");
    for r in &rows {
        assert_eq!(r["disposition"], "answered", "{r:?}");
        assert_eq!(r["callee"], "4008123456", "{r:?}");
        // The caller's audio reached the agent and the echo came back.
        for k in [
            "in_packets_received",
            "out_packets_sent",
            "out_packets_received",
            "in_packets_sent",
        ] {
            assert!(num(r, k) > 5, "{k} in {r:?}");
        }
    }
}

#[test]
fn an_unanswered_agent_is_skipped_and_a_full_queue_spills_to_a_number() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-no-answer-and-spill");
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:15960"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "26300-26399"

[[trunk]]
name = "branch-office"
address = "127.0.0.1:15966"
options_interval = 0

[[route]]
prefix = "0755"
trunks = ["branch-office"]

[[agent]]
name = "dave"
contact = "sip:dave@127.0.0.1:15961"
[[agent]]
name = "erin"
contact = "sip:erin@127.0.0.1:15962"

[[queue]]
name = "support"
strategy = "linear"
members = ["dave", "erin"]
ring_timeout = 2
auto_pause_after = 1
wrap_up = 0

[[queue]]
name = "tiny"
strategy = "linear"
members = ["erin"]
max_length = 1
overflow = "number:075512345678"
wrap_up = 0

[[number]]
number = "4008000001"
destinations = ["queue:support"]

[[number]]
number = "4008000002"
destinations = ["queue:tiny"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    // Dave's SIPp logs its messages, to show he was rung and cancelled.
    let _dave = sipp_uas_traced(
        &dir,
        &scenario("sipp/uas-ring-until-cancel.xml"),
        15961,
        26440,
        "dave.log",
    );
    let _erin = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 15962, 26450);
    let _branch = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 15966, 26460);
    let caller = scenario("sipp/uac-queue-caller.xml");

    // Dave rings for 2 s and is cancelled (then paused); Erin answers.
    let out = sipp_uac_with(
        &dir,
        &caller,
        15970,
        26470,
        "127.0.0.1:15960",
        "4008000001",
        (1, 1),
        &["-d", "4000", "-key", "caller", "13800000002"],
    );
    let tandem_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_sipp_ok(&out, &log);
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert_eq!(
        rows[0]["trunk_out"],
        "agent:erin",
        "{rows:?}\n{}",
        tandem_log()
    );
    assert_eq!(rows[0]["disposition"], "answered");
    let dave = std::fs::read_to_string(dir.join("dave.log")).unwrap_or_default();
    assert!(
        dave.contains("INVITE sip:dave@") && dave.contains("CANCEL sip:dave@"),
        "dave was not rung and cancelled:\n{dave}"
    );

    // Three callers at once into a queue of one agent with room for one
    // waiting caller: the first talks to Erin, the second waits, the
    // third goes to the branch office.
    let out = sipp_uac_with(
        &dir,
        &caller,
        15980,
        26480,
        "127.0.0.1:15960",
        "4008000002",
        (3, 20),
        &["-d", "3000", "-key", "caller", "13800000003"],
    );
    assert_sipp_ok(&out, &log);
    let rows = by_setup(wait_for_cdrs(&dir, 4, Duration::from_secs(15)));
    let outs: Vec<&str> = rows[1..].iter().map(|r| r["trunk_out"].as_str()).collect();
    assert_eq!(
        outs.iter().filter(|t| **t == "branch-office").count(),
        1,
        "{rows:?}"
    );
    assert_eq!(rows[1]["trunk_out"], "agent:erin", "{rows:?}");
    let spilled = rows
        .iter()
        .find(|r| r["trunk_out"] == "branch-office")
        .unwrap();
    assert_eq!(spilled["disposition"], "answered", "{spilled:?}");
    assert!(num(spilled, "out_packets_received") > 5, "{spilled:?}");
}

#[test]
fn ring_all_rings_every_agent_and_cancels_the_rest_when_one_answers() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-ring-all");
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:15660"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "26500-26549"

[[agent]]
name = "gina"
contact = "sip:gina@127.0.0.1:15661"
[[agent]]
name = "hugo"
contact = "sip:hugo@127.0.0.1:15662"

[[queue]]
name = "hotline"
strategy = "ring-all"
members = ["gina", "hugo"]

[[number]]
number = "4008800800"
destinations = ["queue:hotline"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let _gina = sipp_uas_traced(
        &dir,
        &scenario("sipp/uas-ring-until-cancel.xml"),
        15661,
        26560,
        "gina.log",
    );
    let _hugo = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 15662, 26570);
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-queue-caller.xml"),
        15670,
        26580,
        "127.0.0.1:15660",
        "4008800800",
        (1, 1),
        &["-d", "2000", "-key", "caller", "13900000009"],
    );
    let tandem_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert_sipp_ok(&out, &log);
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert_eq!(rows[0]["trunk_out"], "agent:hugo", "{rows:?}\n{tandem_log}");
    assert_eq!(rows[0]["caller"], "13900000009");
    assert!(num(&rows[0], "out_packets_received") > 20, "{rows:?}");
    let gina = std::fs::read_to_string(dir.join("gina.log")).unwrap_or_default();
    assert!(
        gina.contains("INVITE sip:gina@") && gina.contains("CANCEL sip:gina@"),
        "gina was not rung at the same time and cancelled:\n{gina}"
    );
}

#[test]
fn a_waiting_caller_hears_music_on_hold_and_an_abandon_is_counted() {
    require("sipp", "sip-tester");
    require("sox", "sox");
    let dir = workdir("callcenter-music-on-hold");
    // Three seconds of a 440 Hz tone as the music.
    tone_wav(&dir.join("moh.wav"), 3.0, 440);
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:14260"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "26850-26899"
[http]
listen = "127.0.0.1:14290"

[callcenter]
music_on_hold = "moh.wav"

[[agent]]
name = "kim"
contact = "sip:kim@127.0.0.1:14261"

[[queue]]
name = "music"
members = ["kim"]
ring_timeout = 30
short_abandon = 2

[[number]]
number = "4007000007"
destinations = ["queue:music"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    // Kim's phone rings and rings: the caller waits with music, then
    // gives up after 3 s.
    let _kim = sipp_uas(
        &dir,
        &scenario("sipp/uas-ring-until-cancel.xml"),
        14261,
        26900,
    );
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-queue-caller.xml"),
        14270,
        26910,
        "127.0.0.1:14260",
        "4007000007",
        (1, 1),
        &["-d", "3000", "-key", "caller", "13700000007"],
    );
    let tandem_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert_sipp_ok(&out, &log);
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    // About 150 packets of music in 3 s; without it the caller would hear
    // nothing at all.
    assert!(
        num(&rows[0], "in_packets_sent") > 100,
        "{rows:?}\n{tandem_log}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let metrics = http_get("127.0.0.1:14290", "/metrics");
    for line in [
        "tandem_callcenter_calls_offered_total{queue=\"music\"} 1",
        "tandem_callcenter_calls_abandoned_total{queue=\"music\"} 1",
        "tandem_callcenter_calls_short_abandoned_total{queue=\"music\"} 0",
        "tandem_callcenter_calls_answered_total{queue=\"music\"} 0",
    ] {
        assert!(metrics.contains(line), "no {line} in\n{metrics}");
    }
}

#[test]
fn agents_pause_and_sign_in_with_feature_codes_from_the_phone() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-feature-codes");
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:14460"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "27400-27449"
[http]
listen = "127.0.0.1:14490"

[[agent]]
name = "nora"
contact = "sip:8001@127.0.0.1:14461"
login = false

[[queue]]
name = "desk"
members = ["nora"]

[[number]]
number = "4001000001"
destinations = ["queue:desk"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let state = |s: &str| {
        http_get("127.0.0.1:14490", "/metrics").contains(&format!(
            "tandem_callcenter_agent_state{{agent=\"nora\",state=\"{s}\"}} 1"
        ))
    };
    std::thread::sleep(Duration::from_millis(1200));
    assert!(state("logged_out"));
    // Nora's phone (user 8001) dials *11 to sign in, then *13 to pause.
    let phone = scenario("sipp/uac-feature-code.xml");
    for (code, expect) in [
        ("*11", "available"),
        ("*13", "paused"),
        ("*14", "available"),
    ] {
        let out = sipp_uac_with(
            &dir,
            &phone,
            14470,
            27450,
            "127.0.0.1:14460",
            code,
            (1, 1),
            &["-key", "caller", "8001"],
        );
        assert!(
            out.status.success(),
            "{code}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(1200));
        assert!(state(expect), "after {code}: not {expect}");
    }
    // A phone that is no agent's is refused.
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-refused.xml"),
        14472,
        27460,
        "127.0.0.1:14460",
        "*11",
        (1, 1),
        &["-key", "caller", "9999"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_registered_phone_takes_the_agents_calls() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-register");
    let config = dir.join("tandem.toml");
    // Olga's configured contact has nothing behind it: only her
    // registration can reach her.
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:14660"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "27500-27549"

[[agent]]
name = "olga"
contact = "sip:olga@127.0.0.1:14661"
password = "olga-secret-phone"

[[queue]]
name = "front"
members = ["olga"]
ring_timeout = 5

[[number]]
number = "4002000002"
destinations = ["queue:front"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let _phone = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 14662, 27560);
    let registered = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-agent-registers.xml"),
        14663,
        27565,
        "127.0.0.1:14660",
        "olga",
        (1, 1),
        &[
            "-au",
            "olga",
            "-ap",
            "olga-secret-phone",
            "-auth_uri",
            "127.0.0.1:14660",
            "-key",
            "contact_port",
            "14662",
        ],
    );
    let tandem_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_sipp_ok(&registered, &log);
    assert!(
        tandem_log()
            .contains("agent olga's phone registered at 127.0.0.1:14662 (from 127.0.0.1:14663)"),
        "{}",
        tandem_log()
    );
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-queue-caller.xml"),
        14670,
        27570,
        "127.0.0.1:14660",
        "4002000002",
        (1, 1),
        &["-d", "1500", "-key", "caller", "13500000005"],
    );
    assert_sipp_ok(&out, &log);
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert_eq!(rows[0]["trunk_out"], "agent:olga", "{rows:?}");
    assert!(num(&rows[0], "out_packets_received") > 20, "{rows:?}");
}

#[test]
fn a_waiting_caller_hears_its_position_and_estimated_wait() {
    require("sipp", "sip-tester");
    require("sox", "sox");
    let dir = workdir("callcenter-announcements");
    // The spoken pieces, as short tones (0.2 s each).
    std::fs::create_dir_all(dir.join("announce")).unwrap();
    for (i, f) in [
        "position.wav",
        "wait.wav",
        "minutes.wav",
        "under-a-minute.wav",
        "0.wav",
        "1.wav",
        "2.wav",
        "3.wav",
        "4.wav",
        "5.wav",
        "6.wav",
        "7.wav",
        "8.wav",
        "9.wav",
    ]
    .iter()
    .enumerate()
    {
        tone_wav(&dir.join("announce").join(f), 0.2, 300 + 50 * i as u32);
    }
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:14960"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "27700-27749"

[callcenter]
announcements = "announce"

[[agent]]
name = "pam"
contact = "sip:pam@127.0.0.1:14961"
login = false

[[queue]]
name = "announced"
members = ["pam"]
ring_timeout = 30
announce_position_every = 1

[[number]]
number = "4005000005"
destinations = ["queue:announced"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    // Pam is not signed in: the caller waits 3 s with no music, hearing
    // only the announcements (0.8 s each: position, "1", wait, "under a
    // minute").
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-queue-caller.xml"),
        14970,
        27760,
        "127.0.0.1:14960",
        "4005000005",
        (1, 1),
        &["-d", "3000", "-key", "caller", "13100000001"],
    );
    let tandem_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert_sipp_ok(&out, &log);
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    let sent = num(&rows[0], "in_packets_sent");
    // Two or three announcements of 40 packets; without them, nothing.
    assert!(
        (60..=140).contains(&sent),
        "{sent} packets\n{rows:?}\n{tandem_log}"
    );
}

#[test]
fn a_vip_caller_is_served_before_an_earlier_ordinary_one() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-vip");
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:13860"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "27900-27949"

[callcenter]
vip = [{ prefix = "1380013", priority = 5 }]

[[agent]]
name = "ruth"
contact = "sip:ruth@127.0.0.1:13861"

[[queue]]
name = "one"
members = ["ruth"]
wrap_up = 0

[[number]]
number = "4003300033"
destinations = ["queue:one"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let _ruth = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 13861, 27950);
    let caller = scenario("sipp/uac-queue-caller.xml");
    let call = |port: u16, media: u16, who: &'static str, ms: &'static str| {
        let (dir, caller) = (dir.clone(), caller.clone());
        std::thread::spawn(move || {
            sipp_uac_with(
                &dir,
                &caller,
                port,
                media,
                "127.0.0.1:13860",
                "4003300033",
                (1, 1),
                &["-d", ms, "-key", "caller", who],
            )
        })
    };
    // Ruth takes the first call for 3 s; an ordinary caller queues at
    // 0.5 s, a VIP at 1 s; when Ruth is free the VIP goes first.
    let first = call(13870, 27960, "13900000001", "3000");
    std::thread::sleep(Duration::from_millis(500));
    let plain = call(13871, 27970, "13900000002", "5000");
    std::thread::sleep(Duration::from_millis(500));
    let vip = call(13872, 27980, "13800138000", "5000");
    for t in [first, plain, vip] {
        let out = t.join().unwrap();
        assert_sipp_ok(&out, &log);
    }
    let rows = wait_for_cdrs(&dir, 3, Duration::from_secs(10));
    let by_caller = |c: &str| rows.iter().find(|r| r["caller"] == c).unwrap();
    assert_eq!(
        by_caller("13800138000")["trunk_out"],
        "agent:ruth",
        "{rows:?}"
    );
    assert_eq!(by_caller("13900000002")["trunk_out"], "", "{rows:?}");
}

#[test]
fn each_strategy_picks_its_agent_on_real_calls() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-strategies");
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:13460"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "31100-31199"
[http]
listen = "127.0.0.1:13490"

[[agent]]
name = "alice"
contact = "sip:alice@127.0.0.1:13461"
skills = { billing = 30 }
[[agent]]
name = "bob"
contact = "sip:bob@127.0.0.1:13462"
skills = { billing = 90 }
[[agent]]
name = "carol"
contact = "sip:carol@127.0.0.1:13463"
skills = { billing = 60 }

[[queue]]
name = "hunt"
strategy = "linear"
members = ["alice", "bob", "carol"]
wrap_up = 0
[[queue]]
name = "experts"
strategy = "skills"
required_skills = { billing = 1 }
wrap_up = 0
[[queue]]
name = "idle"
strategy = "longest-idle"
members = ["alice", "bob", "carol"]
wrap_up = 0
[[queue]]
name = "fair"
strategy = "fewest-calls"
members = ["alice", "bob", "carol"]
wrap_up = 0

[[number]]
number = "4001000011"
destinations = ["queue:hunt"]
[[number]]
number = "4001000012"
destinations = ["queue:experts"]
[[number]]
number = "4001000013"
destinations = ["queue:idle"]
[[number]]
number = "4001000014"
destinations = ["queue:fair"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let echo = scenario("kamailio/uas-pcmu-echo.xml");
    let _alice = sipp_uas(&dir, &echo, 13461, 31300);
    let _bob = sipp_uas(&dir, &echo, 13462, 31310);
    let _carol = sipp_uas(&dir, &echo, 13463, 31320);
    // Three calls, one at a time, per queue in turn: who took each says
    // how the strategy ranked the agents, given the calls before it.
    let expected: [(&str, [&str; 3]); 4] = [
        // Always the first member.
        ("4001000011", ["alice", "alice", "alice"]),
        // The best billing level.
        ("4001000012", ["bob", "bob", "bob"]),
        // Carol has been idle since start; then alice (free since the
        // first queue's calls), then bob.
        ("4001000013", ["carol", "alice", "bob"]),
        // Counts so far: alice 4, bob 4, carol 1: carol until she catches up.
        ("4001000014", ["carol", "carol", "carol"]),
    ];
    let mut seen = 0;
    for (number, agents) in expected {
        let out = sipp_uac_with(
            &dir,
            &scenario("sipp/uac-queue-caller.xml"),
            13470,
            31330,
            "127.0.0.1:13460",
            number,
            (3, 1),
            &["-d", "500", "-l", "1", "-key", "caller", "13800000020"],
        );
        assert_sipp_ok(&out, &log);
        seen += 3;
        let rows = by_setup(wait_for_cdrs(&dir, seen, Duration::from_secs(10)));
        let took: Vec<&str> = rows[seen - 3..]
            .iter()
            .map(|r| r["trunk_out"].trim_start_matches("agent:"))
            .collect();
        assert_eq!(took, agents, "{number}: {rows:?}");
    }
}
