//! RFC 3264 §6 and §7: the peer's answer to our offer: m= line count and
//! types, rejected audio, codecs we offered (the answerer's first wins),
//! payload types that differ from ours, RTCP.

#[path = "oa-common/mod.rs"]
mod common;
use common::*;
use tandem_sdp::Direction;
use tandem_sdp::offer_answer::{Host, OaError, accept_answer, offer};

fn our_offer() -> tandem_sdp::SessionDescription {
    offer(&mut leg(), &caps(&["PCMA", "PCMU", "L16/16000"])).unwrap()
}

fn peer_answer(media: &str) -> tandem_sdp::SessionDescription {
    sdp(&format!(
        "v=0\no=peer 7 7 IN IP4 198.51.100.5\ns=-\nc=IN IP4 198.51.100.5\nt=0 0\n{media}"
    ))
}

#[test]
fn answered_codec_and_event_with_the_peers_numbers() {
    // Our offer: 8 0 96(L16/16000) 97(te/8000) 98(te/16000).
    let ans = peer_answer(
        "m=audio 5004 RTP/AVP 110 99\na=rtpmap:110 L16/16000\na=rtpmap:99 telephone-event/16000\n\
         a=ptime:30\n",
    );
    let media = accept_answer(&our_offer(), &ans).unwrap();
    assert_eq!(media.codec.name, "L16");
    assert_eq!(
        (media.codec.send_payload_type, media.codec.recv_payload_type),
        (110, 96)
    );
    let te = media.telephone_event.unwrap();
    assert_eq!(
        (te.send_payload_type, te.recv_payload_type, te.clock_rate),
        (99, 98, 16000)
    );
    assert_eq!(media.ptime, 30);
    assert_eq!(
        media.remote_rtp.socket_addr().unwrap().to_string(),
        "198.51.100.5:5004"
    );
    assert_eq!(media.remote_rtcp.unwrap().port, 5005);
    assert_eq!(media.direction, Direction::SendRecv);
}

#[test]
fn the_answerers_first_offered_codec_wins() {
    let ans = peer_answer("m=audio 5004 RTP/AVP 18 0 8\n");
    let media = accept_answer(&our_offer(), &ans).unwrap();
    // G729 (18) was never offered: skipped. PCMU is the answerer's first.
    assert_eq!(media.codec.name, "PCMU");
    assert_eq!(media.ptime, 20);
    assert_eq!(media.telephone_event, None);
}

#[test]
fn wrong_m_line_count() {
    let ans = peer_answer("m=audio 5004 RTP/AVP 0\nm=video 0 RTP/AVP 31\n");
    let err = accept_answer(&our_offer(), &ans).unwrap_err();
    assert_eq!(
        err,
        OaError::AnswerMediaCount {
            offered: 1,
            answered: 2
        }
    );
    assert_eq!(err.to_string(), "answer has 2 media lines for 1 offered");
}

#[test]
fn wrong_media_type() {
    let ans = peer_answer("m=video 5004 RTP/AVP 31\n");
    let err = accept_answer(&our_offer(), &ans).unwrap_err();
    assert!(
        matches!(err, OaError::AnswerMediaMismatch { index: 0, .. }),
        "{err}"
    );
}

#[test]
fn audio_rejected() {
    let ans = peer_answer("m=audio 0 RTP/AVP 0\n");
    assert_eq!(
        accept_answer(&our_offer(), &ans).unwrap_err(),
        OaError::AudioRejected
    );
}

#[test]
fn codec_we_did_not_offer() {
    let ans = peer_answer("m=audio 5004 RTP/AVP 18\n");
    let err = accept_answer(&our_offer(), &ans).unwrap_err();
    assert_eq!(
        err,
        OaError::NoCommonCodec {
            offered: "G729/8000".into()
        }
    );
}

#[test]
fn rtcp_attribute_and_mux() {
    let ans = peer_answer("m=audio 5004 RTP/AVP 8\na=rtcp:6000 IN IP4 198.51.100.9\n");
    let media = accept_answer(&our_offer(), &ans).unwrap();
    let rtcp = media.remote_rtcp.unwrap();
    assert_eq!(rtcp.host, Host::Ip("198.51.100.9".parse().unwrap()));
    assert_eq!(rtcp.port, 6000);
    assert!(!media.rtcp_mux);

    // rtcp-mux only counts when we offered it.
    let ans = peer_answer("m=audio 5004 RTP/AVP 8\na=rtcp-mux\n");
    let media = accept_answer(&our_offer(), &ans).unwrap();
    assert!(!media.rtcp_mux);
    let mut caps = caps(&["PCMA"]);
    caps.rtcp_mux = true;
    let ours = offer(&mut leg(), &caps).unwrap();
    let media = accept_answer(&ours, &ans).unwrap();
    assert!(media.rtcp_mux);
    assert_eq!(media.remote_rtcp, Some(media.remote_rtp.clone()));
}

#[test]
fn an_answer_cannot_widen_our_hold() {
    let mut leg = leg();
    leg.direction = Direction::SendOnly;
    let ours = offer(&mut leg, &caps(&["PCMA"])).unwrap();
    // A sloppy peer answers sendrecv to our sendonly: we still only send.
    let media = accept_answer(&ours, &peer_answer("m=audio 5004 RTP/AVP 8\na=sendrecv\n")).unwrap();
    assert_eq!(media.direction, Direction::SendOnly);
    let media = accept_answer(&ours, &peer_answer("m=audio 5004 RTP/AVP 8\na=recvonly\n")).unwrap();
    assert_eq!(media.direction, Direction::SendOnly);
    assert!(!media.on_hold);
}

#[test]
fn rtp_on_the_last_port_has_no_implicit_rtcp() {
    let media = accept_answer(&our_offer(), &peer_answer("m=audio 65535 RTP/AVP 8\n")).unwrap();
    assert_eq!(media.remote_rtcp, None);
}
