//! RFC 3264 §5 and §8: our offers, initial and re-offers (hold, resume),
//! and the o= version that goes up exactly when our description changes.

#[path = "oa-common/mod.rs"]
mod common;
use common::*;
use tandem_sdp::Direction;
use tandem_sdp::offer_answer::{Capabilities, EngineSupport, answer, offer};

#[test]
fn initial_offer_body() {
    let mut leg = leg();
    let sdp = offer(&mut leg, &caps(&["PCMA", "PCMU", "G722", "L16/16000"])).unwrap();
    assert_eq!(
        text(&sdp),
        "v=0\n\
         o=- 1000 1000 IN IP4 203.0.113.7\n\
         s=-\n\
         c=IN IP4 203.0.113.7\n\
         t=0 0\n\
         m=audio 30000 RTP/AVP 8 0 9 96 97 98\n\
         a=rtpmap:8 PCMA/8000\n\
         a=rtpmap:0 PCMU/8000\n\
         a=rtpmap:9 G722/8000\n\
         a=rtpmap:96 L16/16000\n\
         a=rtpmap:97 telephone-event/8000\n\
         a=fmtp:97 0-16\n\
         a=rtpmap:98 telephone-event/16000\n\
         a=fmtp:98 0-16\n\
         a=ptime:20\n\
         a=sendrecv\n"
    );
    // What we write, we can read back.
    assert_eq!(
        tandem_sdp::SessionDescription::parse(&sdp.to_bytes()).unwrap(),
        sdp
    );
}

#[test]
fn opus_rtcp_mux_and_no_ptime() {
    let mut caps = Capabilities::new(&["opus", "PCMU"], EngineSupport { opus: true }).unwrap();
    caps.ptime = None;
    caps.rtcp_mux = true;
    let body = text(&offer(&mut leg(), &caps).unwrap());
    assert!(
        body.contains("m=audio 30000 RTP/AVP 96 0 97 98\n"),
        "{body}"
    );
    assert!(body.contains("a=rtpmap:96 opus/48000/2\n"));
    assert!(body.contains("a=rtpmap:97 telephone-event/48000\n"));
    assert!(body.contains("a=rtpmap:98 telephone-event/8000\n"));
    assert!(body.contains("a=rtcp-mux\n"));
    assert!(!body.contains("ptime"));
}

#[test]
fn hold_reoffer_is_sendonly_with_one_more_version_and_resume_another() {
    let mut leg = leg();
    let caps = caps(&["PCMA"]);
    let first = offer(&mut leg, &caps).unwrap();
    assert_eq!(first.origin().unwrap().session_version, 1000);

    // The same offer again (e.g. a session refresh) keeps the version.
    let again = offer(&mut leg, &caps).unwrap();
    assert_eq!(again, first);

    leg.direction = Direction::SendOnly;
    let hold = offer(&mut leg, &caps).unwrap();
    assert!(text(&hold).contains("a=sendonly\n"));
    assert_eq!(hold.origin().unwrap().session_version, 1001);
    assert_eq!(hold.origin().unwrap().session_id, "1000");

    leg.direction = Direction::SendRecv;
    let resume = offer(&mut leg, &caps).unwrap();
    assert!(text(&resume).contains("a=sendrecv\n"));
    assert_eq!(resume.origin().unwrap().session_version, 1002);
    assert_eq!(leg.version(), 1002);
}

#[test]
fn reoffer_after_answering_keeps_every_m_line_and_the_payload_types() {
    // The peer offered audio (with its own dynamic number for L16) and
    // video; we answered. Our re-offer (to hold) must keep two m= lines
    // (RFC 3264 §8) and not renumber L16 (§8.3.2).
    let mut leg = leg();
    let caps = caps(&["L16/16000", "PCMA"]);
    let peer =
        offer_with("m=video 5000 RTP/AVP 31\nm=audio 4000 RTP/AVP 118 8\na=rtpmap:118 L16/16000\n");
    answer(&peer, &mut leg, &caps).unwrap();
    leg.direction = Direction::SendOnly;
    let re = offer(&mut leg, &caps).unwrap();
    let body = text(&re);
    assert_eq!(re.media().len(), 2);
    assert!(
        body.contains("m=video 0 RTP/AVP 31\nm=audio 30000 RTP/AVP 118 8 96 97\n"),
        "{body}"
    );
    assert!(body.contains("a=rtpmap:118 L16/16000\n"));
    assert!(body.contains("a=rtpmap:96 telephone-event/16000\n"));
    assert!(body.contains("a=sendonly\n"));
}

#[test]
fn a_new_local_port_is_a_new_version() {
    let mut leg = leg();
    let caps = caps(&["PCMU"]);
    offer(&mut leg, &caps).unwrap();
    leg.media.port = 30002;
    let moved = offer(&mut leg, &caps).unwrap();
    assert!(text(&moved).contains("m=audio 30002 "));
    assert_eq!(moved.origin().unwrap().session_version, 1001);
}

#[test]
fn preferring_the_other_legs_codec_avoids_transcoding() {
    // Leg A settled on PCMU; leg B's offer puts PCMU first.
    let a = answer(
        &offer_with("m=audio 4000 RTP/AVP 0\n"),
        &mut leg(),
        &caps(&["PCMU"]),
    )
    .unwrap()
    .1;
    let b_caps = caps(&["PCMA", "G722", "PCMU"]).preferring(&a.codec);
    assert_eq!(b_caps.codecs[0].name, "PCMU");
    assert!(
        text(&offer(&mut leg(), &b_caps).unwrap()).contains("m=audio 30000 RTP/AVP 0 8 9 96\n")
    );
}
