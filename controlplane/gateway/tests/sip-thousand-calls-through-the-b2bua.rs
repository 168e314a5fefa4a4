//! SIPp calls through `tandem run` as a B2BUA: the caller (SIPp) offers
//! PCMA and plays a recorded A-law stream, the callee (SIPp) answers PCMU
//! and echoes RTP. 1,000 calls at 100 calls/s: every call completes, every
//! call has its record, and every record shows media in both directions on
//! both legs (transcoded A-law <-> mu-law), and all the records survive a
//! `kill -9` of the gateway.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn a_thousand_calls_complete_with_records_and_two_way_audio() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-thousand-calls");
    const CALLS: usize = 1000;
    let (mut tandem, log) = start_tandem(
        &dir,
        &[
            "--sip-listen",
            "127.0.0.1:16060",
            "--rtp-ports",
            "17000-18999",
            "--http-listen",
            "127.0.0.1:16090",
            "--route",
            "=sip:127.0.0.1:16080",
        ],
    );
    let _uas = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 16080, 19100);
    let out = sipp_uac(
        &dir,
        &scenario("kamailio/uac-pcma-pcap.xml"),
        16070,
        19000,
        "127.0.0.1:16060",
        "4008001234",
        (CALLS, 100),
    );
    let tandem_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success(),
        "SIPp reported failed calls ({:?}):\n{}\ntandem:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n"),
        tandem_log
    );
    let metrics = http_get("127.0.0.1:16090", "/metrics");
    // The callee's trunk is on the caller's host, so the calls count as
    // coming in on it too (a trunk is matched by address, then by host).
    assert!(
        metrics.lines().any(
            |l| l.starts_with("tandem_sip_calls_total{outcome=\"answered\"")
                && l.ends_with(&format!("trunk_out=\"127.0.0.1:16080\"}} {CALLS}"))
        ),
        "{metrics}"
    );
    assert!(metrics.contains("tandem_sip_active_calls 0"), "{metrics}");
    assert!(
        metrics.contains("tandem_dataplane_"),
        "engine counters are exported"
    );
    let health = http_get("127.0.0.1:16090", "/health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    // Every finished call is on disk: a kill -9 loses none of them.
    std::thread::sleep(Duration::from_secs(1));
    tandem.0.kill().unwrap();
    tandem.0.wait().unwrap();
    let rows = wait_for_cdrs(&dir, CALLS, Duration::from_secs(1));
    assert_eq!(rows.len(), CALLS, "one record per call");
    for r in &rows {
        assert_eq!(r["disposition"], "answered", "{r:?}");
        assert_eq!(r["callee"], "4008001234");
        assert_eq!(r["codec_in"], "PCMA/8000", "{r:?}");
        assert_eq!(r["codec_out"], "PCMU/8000", "{r:?}");
        for k in [
            "in_packets_received",
            "in_packets_sent",
            "out_packets_sent",
            "out_packets_received",
        ] {
            assert!(num(r, k) > 10, "{k} in {r:?}");
        }
        assert!(num(r, "duration_ms") >= 1900, "{r:?}");
        assert_eq!(r["q850_cause"], "16");
    }
}
