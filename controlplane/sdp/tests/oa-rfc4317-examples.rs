//! The offer/answer examples of RFC 4317 that concern an audio gateway,
//! with the RFC's bodies as test vectors (s= holds a single space, as the
//! RFC notes). iLBC appears in the capabilities where the example needs
//! it, as a codec the engine relays but does not transcode.

#[path = "oa-common/mod.rs"]
mod common;
use common::*;
use tandem_sdp::Direction;
use tandem_sdp::offer_answer::{Host, OaError, accept_answer, answer};

const S2_1_OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s= 
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 49170 RTP/AVP 0 8 97
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:97 iLBC/8000
m=video 51372 RTP/AVP 31 32
a=rtpmap:31 H261/90000
a=rtpmap:32 MPV/90000
";

const S2_1_ANSWER: &str = "v=0
o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com
s= 
c=IN IP4 host.biloxi.example.com
t=0 0
m=audio 49174 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 49170 RTP/AVP 32
a=rtpmap:32 MPV/90000
";

fn host(name: &str) -> Host {
    Host::Name(name.into())
}

#[test]
fn s2_1_audio_and_video_1() {
    // As Bob: audio accepted with one codec, video rejected, not dropped.
    let (ans, media) = answer(&sdp(S2_1_OFFER), &mut leg(), &caps(&["PCMU", "PCMA"])).unwrap();
    let body = text(&ans);
    assert!(
        body.contains("m=audio 30000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n"),
        "{body}"
    );
    assert!(body.ends_with("m=video 0 RTP/AVP 31 32\n"), "{body}");
    assert_eq!(media.remote_rtp.host, host("host.atlanta.example.com"));
    assert_eq!(media.remote_rtp.port, 49170);
    // As Alice: Bob's answer gives PCMU towards host.biloxi:49174.
    let media = accept_answer(&sdp(S2_1_OFFER), &sdp(S2_1_ANSWER)).unwrap();
    assert_eq!(media.codec.name, "PCMU");
    assert_eq!(
        media.remote_rtp.to_string(),
        "host.biloxi.example.com:49174"
    );
    assert_eq!(media.remote_rtcp.unwrap().port, 49175);
}

const S2_2_ANSWER: &str = "v=0
o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com
s= 
c=IN IP4 host.biloxi.example.com
t=0 0
m=audio 49172 RTP/AVP 0 8
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
m=video 0 RTP/AVP 31
a=rtpmap:31 H261/90000
";

const S2_2_SECOND_OFFER: &str = "v=0
o=alice 2890844526 2890844527 IN IP4 host.atlanta.example.com
s= 
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 51372 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 0 RTP/AVP 31
a=rtpmap:31 H261/90000
";

const S2_2_SECOND_ANSWER: &str = "v=0
o=bob 2808844564 2808844565 IN IP4 host.biloxi.example.com
s= 
c=IN IP4 host.biloxi.example.com
t=0 0
m=audio 49172 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 0 RTP/AVP 31
a=rtpmap:31 H261/90000
";

#[test]
fn s2_2_audio_and_video_2() {
    // Two codecs answered: the answerer's first is used.
    let first = accept_answer(&sdp(S2_1_OFFER), &sdp(S2_2_ANSWER)).unwrap();
    assert_eq!(first.codec.name, "PCMU");
    let second = accept_answer(&sdp(S2_2_SECOND_OFFER), &sdp(S2_2_SECOND_ANSWER)).unwrap();
    assert_eq!(second.codec.name, "PCMU");
    assert!(!second.changes_from(&first).engine_update_needed());

    // As Bob, answering both offers: the second (rejected video kept at
    // port 0, §8.2) changes our answer, from PCMA to PCMU: version + 1.
    let mut bob = leg();
    let caps = caps(&["PCMA", "PCMU"]);
    let (a1, m1) = answer(&sdp(S2_1_OFFER), &mut bob, &caps).unwrap();
    let (a2, m2) = answer(&sdp(S2_2_SECOND_OFFER), &mut bob, &caps).unwrap();
    assert_eq!(m1.codec.name, "PCMA");
    assert_eq!(m2.codec.name, "PCMU");
    assert!(text(&a2).ends_with("m=video 0 RTP/AVP 31\n"));
    assert_eq!(
        a2.origin().unwrap().session_version,
        a1.origin().unwrap().session_version + 1
    );
    let c = m2.changes_from(&m1);
    assert!(c.codec && c.remote);
}

const S2_3_ANSWER: &str = "v=0
o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com
s= 
c=IN IP4 host.biloxi.example.com
t=0 0
m=audio 49172 RTP/AVP 99
a=rtpmap:99 iLBC/8000
m=video 51374 RTP/AVP 31
a=rtpmap:31 H261/90000
";

#[test]
fn s2_3_answerer_renumbers_a_dynamic_payload_type() {
    let media = accept_answer(&sdp(S2_1_OFFER), &sdp(S2_3_ANSWER)).unwrap();
    assert_eq!(media.codec.name, "iLBC");
    // We send with Bob's 99 and receive Alice's (our) 97.
    assert_eq!(media.codec.send_payload_type, 99);
    assert_eq!(media.codec.recv_payload_type, 97);
}

const S2_4_OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s= 
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 49170 RTP/AVP 0 97
a=rtpmap:0 PCMU/8000
a=rtpmap:97 iLBC/8000
m=audio 49172 RTP/AVP 98
a=rtpmap:98 telephone-event/8000
a=sendonly
";

const S2_4_ANSWER: &str = "v=0
o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com
s= 
c=IN IP4 host.biloxi.example.com
t=0 0
m=audio 49172 RTP/AVP 97
a=rtpmap:97 iLBC/8000
m=audio 49174 RTP/AVP 98
a=rtpmap:98 telephone-event/8000
a=recvonly
";

#[test]
fn s2_4_two_audio_streams() {
    // One bearer: the voice stream is accepted, the events-only stream
    // rejected (a gateway takes telephone-event inside the voice stream).
    let (ans, media) = answer(&sdp(S2_4_OFFER), &mut leg(), &caps(&["PCMU", "iLBC"])).unwrap();
    assert!(text(&ans).contains("m=audio 30000 RTP/AVP 0\n"));
    assert!(text(&ans).ends_with("m=audio 0 RTP/AVP 98\n"));
    assert_eq!(media.media_index, 0);
    let media = accept_answer(&sdp(S2_4_OFFER), &sdp(S2_4_ANSWER)).unwrap();
    assert_eq!(media.codec.name, "iLBC");
    assert_eq!(media.media_index, 0);
    assert_eq!(media.remote_rtp.port, 49172);
}

const S2_5_OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s= 
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 49170 RTP/AVP 97
a=rtpmap:97 iLBC/8000
m=video 51372 RTP/AVP 31
a=rtpmap:31 H261/90000
";

const S2_5_SECOND_OFFER: &str = "v=0
o=bob 2808844564 2808844565 IN IP4 host.biloxi.example.com
s= 
c=IN IP4 newhost.biloxi.example.com
t=0 0
m=audio 49178 RTP/AVP 97
a=rtpmap:97 iLBC/8000
m=video 49188 RTP/AVP 31
a=rtpmap:31 H261/90000
";

#[test]
fn s2_5_peer_moves_and_our_unchanged_answer_keeps_its_version() {
    let mut leg = leg();
    let caps = caps(&["iLBC"]);
    let (a1, m1) = answer(&sdp(S2_5_OFFER), &mut leg, &caps).unwrap();
    let (a2, m2) = answer(&sdp(S2_5_SECOND_OFFER), &mut leg, &caps).unwrap();
    assert_eq!(a1, a2, "same SDP, same version (RFC 3264 §8)");
    let c = m2.changes_from(&m1);
    assert!(c.remote && c.engine_update_needed());
    assert_eq!(
        m2.remote_rtp.to_string(),
        "newhost.biloxi.example.com:49178"
    );
}

const S2_6_OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s= 
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 49170 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=audio 51372 RTP/AVP 97 101
a=rtpmap:97 iLBC/8000
a=rtpmap:101 telephone-event/8000
";

#[test]
fn s2_6_audio_only_1() {
    // Bob's choice in the RFC: decline PCMU, take iLBC with events.
    let (ans, media) = answer(&sdp(S2_6_OFFER), &mut leg(), &caps(&["iLBC"])).unwrap();
    let body = text(&ans);
    assert!(
        body.contains("m=audio 0 RTP/AVP 0\nm=audio 30000 RTP/AVP 97 101\n"),
        "{body}"
    );
    assert_eq!(media.media_index, 1);
    assert_eq!(media.telephone_event.unwrap().send_payload_type, 101);
    // With PCMU acceptable, the first stream is taken and the second
    // declined.
    let (ans, media) = answer(&sdp(S2_6_OFFER), &mut leg(), &caps(&["PCMU", "iLBC"])).unwrap();
    assert!(text(&ans).contains("m=audio 30000 RTP/AVP 0\n"));
    assert!(text(&ans).ends_with("m=audio 0 RTP/AVP 97 101\n"));
    assert_eq!(media.media_index, 0);
}

const S3_1_OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s= 
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 49170 RTP/AVP 0 97
a=rtpmap:0 PCMU/8000
a=rtpmap:97 iLBC/8000
";

const S3_1_ANSWER: &str = "v=0
o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com
s= 
c=IN IP4 placeholder.biloxi.example.com
t=0 0
m=audio 49172 RTP/AVP 97
a=rtpmap:97 iLBC/8000
a=sendonly
";

const S3_1_SECOND_OFFER: &str = "v=0
o=bob 2808844564 2808844565 IN IP4 host.biloxi.example.com
s= 
c=IN IP4 host.biloxi.example.com
t=0 0
m=audio 49170 RTP/AVP 97
a=rtpmap:97 iLBC/8000
";

#[test]
fn s3_1_hold_and_unhold_1() {
    // Bob answers on hold (sendonly): we only receive.
    let held = accept_answer(&sdp(S3_1_OFFER), &sdp(S3_1_ANSWER)).unwrap();
    assert!(held.on_hold);
    assert_eq!(held.direction, Direction::RecvOnly);
    assert_eq!(held.remote_rtp.host, host("placeholder.biloxi.example.com"));
    // Bob's re-offer takes us off hold; we answer sendrecv.
    let mut alice = leg();
    let (ans, resumed) = answer(&sdp(S3_1_SECOND_OFFER), &mut alice, &caps(&["iLBC"])).unwrap();
    assert!(text(&ans).contains("a=sendrecv\n"));
    assert!(!resumed.on_hold);
    let c = resumed.changes_from(&held);
    assert!(c.direction && c.remote && c.engine_update_needed());
}

const S4_3_OFFER: &str = S2_5_OFFER;

const S4_3_SECOND_OFFER: &str = "v=0
o=bob 2808844564 2808844565 IN IP4 host.biloxi.example.com
s= 
c=IN IP4 host.biloxi.example.com
t=0 0
m=audio 49174 RTP/AVP 97
a=rtpmap:97 iLBC/8000
m=video 0 RTP/AVP 31
a=rtpmap:31 H261/90000
";

#[test]
fn s4_3_video_deleted_keeps_its_m_line() {
    let mut leg = leg();
    let caps = caps(&["iLBC"]);
    let (a1, _) = answer(&sdp(S4_3_OFFER), &mut leg, &caps).unwrap();
    let (a2, _) = answer(&sdp(S4_3_SECOND_OFFER), &mut leg, &caps).unwrap();
    assert_eq!(a2.media().len(), 2);
    assert!(text(&a2).ends_with("m=video 0 RTP/AVP 31\n"));
    // We had rejected video already: our description is unchanged.
    assert_eq!(a1, a2);
}

const S5_1_OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s= 
c=IN IP4 host.atlanta.example.com
t=0 0
";

#[test]
fn s5_1_no_media_is_refused_by_an_audio_gateway() {
    let err = answer(&sdp(S5_1_OFFER), &mut leg(), &caps(&["iLBC"])).unwrap_err();
    assert_eq!(err, OaError::NoAudioStream);
}
