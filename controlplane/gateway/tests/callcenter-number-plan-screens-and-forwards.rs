//! A 400 number's plan on real calls: a blacklisted caller is refused
//! with 403; a busy agent's calls are forwarded to a mobile over the
//! routes; on a holiday the number's after-hours destination takes the
//! call; a number with a custom ringback plays it as early media while
//! the destination rings.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn blacklist_forward_on_busy_and_after_hours() {
    require("sipp", "sip-tester");
    require("sox", "sox");
    let dir = workdir("callcenter-number-plan");
    tone_wav(&dir.join("ringback.wav"), 1.0, 425);
    // Today in China Standard Time, closed as a holiday on the second
    // number.
    let today = std::process::Command::new("date")
        .env("TZ", "Asia/Shanghai")
        .arg("+%Y-%m-%d")
        .output()
        .unwrap();
    let today = String::from_utf8(today.stdout).unwrap().trim().to_string();
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[sip]
listen = "127.0.0.1:14160"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "26700-26799"

[[trunk]]
name = "mobile"
address = "127.0.0.1:14166"
options_interval = 0

[[trunk]]
name = "slow"
address = "127.0.0.1:14167"
options_interval = 0

[[route]]
prefix = "138"
trunks = ["mobile"]

[[agent]]
name = "ivan"
contact = "sip:ivan@127.0.0.1:14161"

[[number]]
number = "4006000001"
destinations = ["agent:ivan"]
blacklist = ["1350000"]
forward_busy = ["number:13812345678"]

[[number]]
number = "4006000003"
destinations = ["trunk:slow"]
ringback = "ringback.wav"

[[number]]
number = "4006000002"
destinations = ["agent:ivan"]
after_hours = "number:13800000009"
[number.schedule]
segments = [{{ days = "mon-sun", start = "00:00", end = "24:00", route = "default" }}]
holidays = [{{ date = "{today}", segments = [] }}]
"#
        ),
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let _ivan = sipp_uas(&dir, &scenario("sipp/uas-486.xml"), 14161, 26800);
    let _mobile = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 14166, 26810);
    let _slow = sipp_uas(
        &dir,
        &scenario("sipp/uas-ring-then-answer.xml"),
        14167,
        27200,
    );
    let tandem_log = || std::fs::read_to_string(&log).unwrap_or_default();

    // Blacklisted: 403, and a record of the refusal.
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-refused.xml"),
        14170,
        26820,
        "127.0.0.1:14160",
        "4006000001",
        (1, 1),
        &["-key", "caller", "13500001234"],
    );
    assert_sipp_ok(&out, &log);

    // Ivan is busy: forwarded to the mobile, answered there.
    let caller = scenario("sipp/uac-queue-caller.xml");
    let out = sipp_uac_with(
        &dir,
        &caller,
        14172,
        26830,
        "127.0.0.1:14160",
        "4006000001",
        (1, 1),
        &["-d", "1000", "-key", "caller", "13900001111"],
    );
    assert_sipp_ok(&out, &log);

    // A holiday: straight to the after-hours number.
    let out = sipp_uac_with(
        &dir,
        &caller,
        14174,
        26840,
        "127.0.0.1:14160",
        "4006000002",
        (1, 1),
        &["-d", "1000", "-key", "caller", "13900002222"],
    );
    assert_sipp_ok(&out, &log);

    // Custom ringback: 2 s of it while the slow phone rings, then 1 s of
    // the call.
    let out = sipp_uac_with(
        &dir,
        &caller,
        14176,
        27210,
        "127.0.0.1:14160",
        "4006000003",
        (1, 1),
        &["-d", "1000", "-key", "caller", "13900003333"],
    );
    assert_sipp_ok(&out, &log);

    let mut rows = wait_for_cdrs(&dir, 4, Duration::from_secs(10));
    rows.sort_by_key(|r| num(r, "setup_ms"));
    assert_eq!(rows.len(), 4, "{rows:?}");
    let ringback = &rows[3];
    assert_eq!(ringback["trunk_out"], "slow", "{ringback:?}");
    // The echo alone gives about 50 packets; the ringback adds about 100.
    assert!(
        num(ringback, "in_packets_sent") > 110,
        "{ringback:?}\n{}",
        tandem_log()
    );
    let (refused, forwarded, after_hours) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(refused["caller"], "13500001234");
    assert_eq!(refused["sip_status"], "403", "{refused:?}");
    assert_eq!(refused["disposition"], "failed", "{refused:?}");
    assert_eq!(forwarded["callee"], "4006000001");
    assert_eq!(forwarded["trunk_out"], "mobile", "{forwarded:?}");
    assert_eq!(forwarded["disposition"], "answered");
    assert!(num(forwarded, "out_packets_received") > 10, "{forwarded:?}");
    assert_eq!(after_hours["callee"], "4006000002");
    assert_eq!(after_hours["trunk_out"], "mobile", "{after_hours:?}");
    assert_eq!(after_hours["disposition"], "answered");
}

#[test]
fn a_pin_protected_number_connects_only_after_the_right_pin() {
    require("sipp", "sip-tester");
    require("sox", "sox");
    let dir = workdir("callcenter-pin");
    tone_wav(&dir.join("pin.wav"), 2.0, 700);
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:13960"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "27800-27849"

[[agent]]
name = "quinn"
contact = "sip:quinn@127.0.0.1:13961"

[[queue]]
name = "private"
members = ["quinn"]

[[number]]
number = "4004000004"
destinations = ["queue:private"]
pin = "1234"
pin_attempts = 1
pin_prompt = "pin.wav"
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let _quinn = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 13961, 27850);
    let tandem_log = || std::fs::read_to_string(&log).unwrap_or_default();
    // The right PIN, keyed over the prompt: on to Quinn.
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-pin-1234.xml"),
        13970,
        27860,
        "127.0.0.1:13960",
        "4004000004",
        (1, 1),
        &["-d", "1500", "-key", "caller", "13900000044"],
    );
    assert_sipp_ok(&out, &log);
    // A wrong PIN with one attempt allowed: released.
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-pin-wrong.xml"),
        13972,
        27870,
        "127.0.0.1:13960",
        "4004000004",
        (1, 1),
        &["-key", "caller", "13900000045"],
    );
    assert_sipp_ok(&out, &log);
    let mut rows = wait_for_cdrs(&dir, 2, Duration::from_secs(10));
    rows.sort_by_key(|r| num(r, "setup_ms"));
    assert_eq!(
        rows[0]["trunk_out"],
        "agent:quinn",
        "{rows:?}\n{}",
        tandem_log()
    );
    assert!(num(&rows[0], "out_packets_received") > 20, "{rows:?}");
    assert_eq!(rows[1]["trunk_out"], "", "{rows:?}");
    assert_eq!(rows[1]["q850_cause"], "21", "call rejected: {rows:?}");
}
