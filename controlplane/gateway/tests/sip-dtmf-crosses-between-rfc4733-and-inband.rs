//! DTMF interworking through the B2BUA. The caller (SIPp) negotiates
//! telephone-event and keys the digit 1 as RFC 4733 events; the callee
//! (SIPp) has no telephone-event and echoes its audio. So:
//!
//! 1. Tandem must turn the caller's RFC 4733 digit into tones on the
//!    callee's leg: the tones come back in the echo, and Tandem's in-band
//!    detector on that leg reports the digit (no other source of tones
//!    exists in this call);
//! 2. Tandem must turn those in-band tones into RFC 4733 towards the
//!    caller; the caller's SIPp echoes its RTP too, so the events Tandem
//!    sent come back, and Tandem reports an RFC 4733 digit on the caller's
//!    leg a second time.
//!
//! With both ends echoing, the digit then circles until the call ends;
//! each lap is one digit per hop, never a digit twice.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn an_rfc4733_digit_becomes_tones_and_tones_become_rfc4733() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-dtmf");
    let (_tandem, log) = start_tandem(
        &dir,
        &[
            "--sip-listen",
            "127.0.0.1:15060",
            "--rtp-ports",
            "24100-24199",
            "--route",
            "=sip:127.0.0.1:15082",
        ],
    );
    let _uas = sipp_uas(
        &dir,
        &scenario("sipp/uas-pcmu-inband-echo.xml"),
        15082,
        24300,
    );
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-rfc4733-digit.xml"),
        15070,
        24200,
        "127.0.0.1:15060",
        "4008",
        (1, 1),
        &["-rtp_echo"],
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success(),
        "call failed:\n{}\n{text}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = wait_for(&log, "on leg B", Duration::from_secs(2));
    let digits: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(": DTMF ").map(|(_, d)| d))
        .collect();
    // With both ends echoing, the digit goes round and round; the first
    // three hops prove both conversions.
    assert!(digits.len() >= 3, "{text}");
    assert_eq!(
        digits[..3],
        [
            "1 (Rfc4733) on leg A",
            "1 (InBand) on leg B",
            "1 (Rfc4733) on leg A"
        ],
        "{text}"
    );
    // The caller never gets the tones as audio as well as the events (the
    // engine suppresses the in-band copy): no in-band digit on its leg.
    assert!(!text.contains("(InBand) on leg A"), "{text}");
}
