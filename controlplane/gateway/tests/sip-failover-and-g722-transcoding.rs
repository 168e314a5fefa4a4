//! Routing with failover, and transcoding to G.722: the route lists two
//! trunks; the first (SIPp) answers every INVITE with 503, so each call
//! fails over to the second, a SIPp callee that takes only G.722 and
//! echoes RTP. The caller offers only PCMA, so Tandem transcodes A-law
//! (8 kHz) <-> G.722 (16 kHz) both ways.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn calls_fail_over_from_a_503_trunk_and_transcode_to_g722() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-failover");
    const CALLS: usize = 20;
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:16160"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "28000-28499"
[http]
listen = "127.0.0.1:16190"

[[trunk]]
name = "out-of-service"
address = "127.0.0.1:16182"
options_interval = 0

[[trunk]]
name = "wideband"
address = "127.0.0.1:16184"
options_interval = 0
codecs = ["G722"]

[[route]]
prefix = "4008"
trunks = ["out-of-service", "wideband"]
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let _dead = sipp_uas(&dir, &scenario("sipp/uas-503.xml"), 16182, 19300);
    let _g722 = sipp_uas(&dir, &scenario("sipp/uas-g722-echo.xml"), 16184, 19400);
    let out = sipp_uac(
        &dir,
        &scenario("kamailio/uac-pcma-pcap.xml"),
        16170,
        19200,
        "127.0.0.1:16160",
        "4008765",
        (CALLS, 10),
    );
    assert!(
        out.status.success(),
        "SIPp reported failed calls:\n{}\ntandem:\n{}",
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let rows = wait_for_cdrs(&dir, CALLS, Duration::from_secs(10));
    assert_eq!(rows.len(), CALLS);
    for r in &rows {
        assert_eq!(r["disposition"], "answered", "{r:?}");
        assert_eq!(r["trunk_out"], "wideband", "{r:?}");
        assert_eq!(r["codec_in"], "PCMA/8000", "{r:?}");
        assert_eq!(r["codec_out"], "G722/8000", "{r:?}");
        for k in [
            "in_packets_received",
            "in_packets_sent",
            "out_packets_sent",
            "out_packets_received",
        ] {
            assert!(num(r, k) > 10, "{k} in {r:?}");
        }
    }
    let metrics = http_get("127.0.0.1:16190", "/metrics");
    assert!(
        metrics.contains(&format!(
            "tandem_sip_messages_total{{code=\"503\",direction=\"in\",method=\"INVITE\"}} {CALLS}"
        )),
        "every call met the 503 first:\n{metrics}"
    );
}
