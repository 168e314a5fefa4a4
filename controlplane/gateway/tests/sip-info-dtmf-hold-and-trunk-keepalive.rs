//! Mid-call requests and trunk supervision:
//!
//! - a digit sent by SIP INFO (application/dtmf-relay) is played on the
//!   other leg; that callee has no telephone-event, so it gets tones,
//!   echoes them, and Tandem's detector (on because the caller's leg has
//!   telephone-event and the engine interworks the two) hears the digit;
//! - a re-INVITE offering `sendonly` (hold, RFC 3264 §8.4) is answered
//!   `recvonly` on the leg that asked;
//! - a trunk that never answers its OPTIONS keepalives is marked down
//!   (`tandem_sip_trunk_up` 0) and routing skips it.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn info_dtmf_is_played_hold_is_answered_and_a_silent_trunk_goes_down() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-info-hold");
    let cfg = dir.join("tandem.toml");
    std::fs::write(
        &cfg,
        r#"
[sip]
listen = "127.0.0.1:15560"
t1_ms = 50                      # keepalive timeouts (64*T1) in 3.2 s
t2_ms = 400
t4_ms = 500
[media]
rtp_ports = "25700-25799"
[http]
listen = "127.0.0.1:15590"

[[trunk]]
name = "silent"
address = "127.0.0.1:15586"     # nothing answers here
options_interval = 1

[[trunk]]
name = "callee"
address = "127.0.0.1:15582"
options_interval = 0

[[route]]
prefix = ""
trunks = ["silent", "callee"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", cfg.to_str().unwrap()]);
    let _uas = sipp_uas(
        &dir,
        &scenario("sipp/uas-pcmu-inband-echo.xml"),
        15582,
        25950,
    );
    // The silent trunk's first keepalive times out after 64*T1.
    let metrics = (0..100)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            http_get("127.0.0.1:15590", "/metrics")
        })
        .find(|m| m.contains("tandem_sip_trunk_up{trunk=\"silent\"} 0"));
    assert!(metrics.is_some(), "the silent trunk was never marked down");
    let out = sipp_uac(
        &dir,
        &scenario("sipp/uac-info-and-hold.xml"),
        15570,
        25900,
        "127.0.0.1:15560",
        "4008",
        (1, 1),
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success(),
        "call failed:\n{}\n{text}",
        String::from_utf8_lossy(&out.stdout)
    );
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert_eq!(
        rows[0]["trunk_out"], "callee",
        "down trunks are skipped: {rows:?}"
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("DTMF 5 (InBand) on leg B"), "{text}");
    assert!(text.contains("trunk silent is DOWN"), "{text}");
}
