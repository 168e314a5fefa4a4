//! Reliable provisional responses (RFC 3262) on both legs. The callee
//! (SIPp) sends early media in a reliable 183 and answers only once
//! PRACKed; the caller (SIPp) requires 100rel, so the gateway's own 183
//! must be reliable too, and the caller's PRACK must be answered. Both
//! SIPp scenarios check the RSeq/RAck headers; the call must complete.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn reliable_183s_are_pracked_and_sent_reliably() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-100rel");
    let (_tandem, log) = start_tandem(
        &dir,
        &[
            "--sip-listen",
            "127.0.0.1:15360",
            "--rtp-ports",
            "25100-25199",
            "--route",
            "=sip:127.0.0.1:15382",
        ],
    );
    let _uas = sipp_uas(&dir, &scenario("sipp/uas-reliable-183.xml"), 15382, 25300);
    let out = sipp_uac(
        &dir,
        &scenario("sipp/uac-100rel.xml"),
        15370,
        25250,
        "127.0.0.1:15360",
        "4008",
        (2, 2),
    );
    assert!(
        out.status.success(),
        "100rel call failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let rows = wait_for_cdrs(&dir, 2, Duration::from_secs(10));
    assert!(
        rows.iter().all(|r| r["disposition"] == "answered"),
        "{rows:?}"
    );
}
