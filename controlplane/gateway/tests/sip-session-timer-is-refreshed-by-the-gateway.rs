//! Session timers (RFC 4028) on the caller's leg: the caller asks for 90 s
//! with the callee's side (us) refreshing. The 200 confirms
//! `Session-Expires: 90;refresher=uas`, and before half the interval has
//! passed twice over the gateway refreshes the session with a re-INVITE
//! carrying `Session-Expires: 90;refresher=uac` (SIPp checks both headers
//! and fails the call otherwise). The call then ends normally.
//!
//! This test takes about 50 s: the refresh is due at half the interval,
//! and RFC 4028 sets the smallest interval at 90 s.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn the_gateway_refreshes_a_session_it_is_the_refresher_of() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-session-timer");
    let cfg = dir.join("tandem.toml");
    std::fs::write(
        &cfg,
        r#"
[sip]
listen = "127.0.0.1:15260"
session_expires = 90
min_se = 90
[media]
rtp_ports = "24800-24899"

[[trunk]]
name = "callee"
address = "127.0.0.1:15282"
options_interval = 0

[[route]]
prefix = ""
trunks = ["callee"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", cfg.to_str().unwrap()]);
    let _uas = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 15282, 24950);
    let out = sipp_uac(
        &dir,
        &scenario("sipp/uac-session-timer.xml"),
        15270,
        24900,
        "127.0.0.1:15260",
        "4008",
        (1, 1),
    );
    assert!(
        out.status.success(),
        "the session was not refreshed as RFC 4028 asks:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert_eq!(rows[0]["disposition"], "answered", "{rows:?}");
    assert!(num(&rows[0], "duration_ms") >= 45_000, "{rows:?}");
}
