//! A trunk over TCP that refuses the connection: the INVITE fails at once
//! (a transport error counts as 503, RFC 3261 §8.1.3.1) and the call moves
//! to the next trunk, instead of waiting 32 s for Timer B.

mod support;

use std::time::{Duration, Instant};

use support::*;

#[test]
fn a_refused_tcp_connection_fails_over_without_waiting_for_timer_b() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-tcp-refused");
    let cfg = dir.join("tandem.toml");
    std::fs::write(
        &cfg,
        r#"
[sip]
listen = "127.0.0.1:15460"
[media]
rtp_ports = "25400-25499"

[[trunk]]
name = "tcp-down"
address = "127.0.0.1:15482"    # nothing listens here
transport = "tcp"
options_interval = 0

[[trunk]]
name = "udp-up"
address = "127.0.0.1:15484"
options_interval = 0

[[route]]
prefix = ""
trunks = ["tcp-down", "udp-up"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", cfg.to_str().unwrap()]);
    let _uas = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 15484, 25650);
    let start = Instant::now();
    let out = sipp_uac(
        &dir,
        &scenario("kamailio/uac-pcma-pcap.xml"),
        15470,
        25600,
        "127.0.0.1:15460",
        "4008",
        (1, 1),
    );
    let took = start.elapsed();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success(),
        "call failed:\n{}\n{text}",
        String::from_utf8_lossy(&out.stdout)
    );
    // 2 s of call plus set-up; Timer B would have added 32 s.
    assert!(took < Duration::from_secs(10), "took {took:?}:\n{text}");
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert_eq!(rows[0]["trunk_out"], "udp-up", "{rows:?}");
    assert!(text.contains("connect failed"), "{text}");
}
