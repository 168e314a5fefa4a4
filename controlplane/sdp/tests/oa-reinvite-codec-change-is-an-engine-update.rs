//! RFC 3264 §8: re-offers on an established leg. A codec change, a new
//! address or new telephone-event must reach the engine; an identical
//! re-offer changes nothing, not even our o= version.

#[path = "oa-common/mod.rs"]
mod common;
use common::*;
use tandem_sdp::offer_answer::answer;

#[test]
fn codec_change() {
    let mut leg = leg();
    let caps = caps(&["PCMA", "PCMU"]);
    let (first_sdp, first) =
        answer(&offer_with("m=audio 4000 RTP/AVP 8 0\n"), &mut leg, &caps).unwrap();
    let (second_sdp, second) =
        answer(&offer_with("m=audio 4000 RTP/AVP 0\n"), &mut leg, &caps).unwrap();
    assert_eq!(
        (first.codec.name.as_str(), second.codec.name.as_str()),
        ("PCMA", "PCMU")
    );
    let c = second.changes_from(&first);
    assert!(c.codec && c.engine_update_needed());
    assert!(!c.remote && !c.direction && !c.telephone_event);
    assert_eq!(
        second_sdp.origin().unwrap().session_version,
        first_sdp.origin().unwrap().session_version + 1
    );
}

#[test]
fn identical_reoffer_changes_nothing() {
    let mut leg = leg();
    let caps = caps(&["PCMA"]);
    let offer = offer_with("m=audio 4000 RTP/AVP 8 101\na=rtpmap:101 telephone-event/8000\n");
    let (a1, m1) = answer(&offer, &mut leg, &caps).unwrap();
    let (a2, m2) = answer(&offer, &mut leg, &caps).unwrap();
    assert_eq!(a1, a2);
    assert!(!m2.changes_from(&m1).any());
}

#[test]
fn new_remote_port_and_telephone_event() {
    let mut leg = leg();
    let caps = caps(&["PCMA"]);
    let (_, m1) = answer(&offer_with("m=audio 4000 RTP/AVP 8\n"), &mut leg, &caps).unwrap();
    let (a2, m2) = answer(
        &offer_with("m=audio 4010 RTP/AVP 8 101\na=rtpmap:101 telephone-event/8000\n"),
        &mut leg,
        &caps,
    )
    .unwrap();
    let c = m2.changes_from(&m1);
    assert!(c.remote && c.rtcp && c.telephone_event && c.engine_update_needed());
    assert!(!c.codec);
    assert!(text(&a2).contains("m=audio 30000 RTP/AVP 8 101\n"));
}

#[test]
fn ptime_alone_is_not_an_engine_update() {
    let mut leg = leg();
    let caps = caps(&["PCMA"]);
    let (_, m1) = answer(&offer_with("m=audio 4000 RTP/AVP 8\n"), &mut leg, &caps).unwrap();
    let (_, m2) = answer(
        &offer_with("m=audio 4000 RTP/AVP 8\na=ptime:30\n"),
        &mut leg,
        &caps,
    )
    .unwrap();
    assert_eq!(m2.ptime, 30);
    let c = m2.changes_from(&m1);
    assert!(c.ptime && c.any() && !c.engine_update_needed());
}

#[test]
fn ptime_respects_maxptime_and_is_echoed_when_we_have_none() {
    let mut caps = caps(&["PCMA"]);
    caps.ptime = None;
    let (ans, media) = answer(
        &offer_with("m=audio 4000 RTP/AVP 8\na=ptime:40\na=maxptime:30\n"),
        &mut leg(),
        &caps,
    )
    .unwrap();
    assert_eq!(media.ptime, 30);
    assert!(text(&ans).contains("a=ptime:40\n"));
}
