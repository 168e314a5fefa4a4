//! A call whose media cannot be anchored is refused, not connected to
//! silence. The media port range holds two ports; another process holds
//! one of them, so the call's second leg cannot open its port: the caller
//! gets 503, the record says failed, and the failure is counted.

mod support;

use std::net::UdpSocket;
use std::time::Duration;

use support::*;

#[test]
fn a_call_whose_leg_cannot_open_its_port_gets_503() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-no-media");
    // Ports 24600 (RTP) and 24601 (RTCP) are taken by "someone else".
    let _squatter = UdpSocket::bind("127.0.0.1:24600").unwrap();
    let _squatter_rtcp = UdpSocket::bind("127.0.0.1:24601").unwrap();
    let (_tandem, log) = start_tandem(
        &dir,
        &[
            "--sip-listen",
            "127.0.0.1:15160",
            "--rtp-ports",
            "24598-24601",
            "--http-listen",
            "127.0.0.1:15190",
            "--route",
            "=sip:127.0.0.1:15182",
        ],
    );
    let _uas = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 15182, 24700);
    let out = sipp_uac(
        &dir,
        &scenario("kamailio/uac-pcma-pcap.xml"),
        15170,
        24650,
        "127.0.0.1:15160",
        "4008",
        (1, 1),
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!out.status.success(), "the call must fail:\n{text}");
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert_eq!(rows.len(), 1, "{text}");
    assert_eq!(rows[0]["disposition"], "failed", "{rows:?}");
    assert_eq!(rows[0]["sip_status"], "503", "{rows:?}");
    let metrics = http_get("127.0.0.1:15190", "/metrics");
    assert!(
        metrics.contains("tandem_sip_media_failures_total 1"),
        "{metrics}"
    );
}
