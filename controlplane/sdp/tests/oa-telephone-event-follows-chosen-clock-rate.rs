//! RFC 4733 §2.1: telephone-event runs at the audio codec's RTP clock; the
//! answer picks the offered event payload at the chosen codec's rate.

#[path = "oa-common/mod.rs"]
mod common;
use common::*;
use tandem_sdp::offer_answer::{Capabilities, answer};

const WIDEBAND_OFFER: &str = "m=audio 4000 RTP/AVP 9 96 0 101 102\n\
    a=rtpmap:96 L16/16000\n\
    a=rtpmap:101 telephone-event/8000\n\
    a=fmtp:101 0-16\n\
    a=rtpmap:102 telephone-event/16000\n\
    a=fmtp:102 0-16\n";

#[test]
fn l16_wideband_takes_the_16k_event() {
    let (ans, media) = answer(
        &offer_with(WIDEBAND_OFFER),
        &mut leg(),
        &caps(&["L16/16000", "G722"]),
    )
    .unwrap();
    let te = media.telephone_event.unwrap();
    assert_eq!((te.send_payload_type, te.clock_rate), (102, 16000));
    let body = text(&ans);
    assert!(body.contains("m=audio 30000 RTP/AVP 96 102\n"), "{body}");
    assert!(body.contains("a=rtpmap:102 telephone-event/16000\na=fmtp:102 0-16\n"));
}

#[test]
fn g722_takes_the_8k_event_because_its_rtp_clock_is_8000() {
    let (_, media) = answer(
        &offer_with(WIDEBAND_OFFER),
        &mut leg(),
        &caps(&["G722", "L16/16000"]),
    )
    .unwrap();
    assert_eq!(media.codec.clock_rate, 8000);
    assert_eq!(media.telephone_event.unwrap().send_payload_type, 101);
}

#[test]
fn another_rate_is_taken_when_the_matching_one_is_missing() {
    let offer = offer_with(
        "m=audio 4000 RTP/AVP 96 101\na=rtpmap:96 L16/16000\na=rtpmap:101 telephone-event/8000\n",
    );
    let (_, media) = answer(&offer, &mut leg(), &caps(&["L16/16000"])).unwrap();
    assert_eq!(media.telephone_event.unwrap().clock_rate, 8000);
}

#[test]
fn rates_the_engine_cannot_do_are_ignored() {
    let offer = offer_with("m=audio 4000 RTP/AVP 8 101\na=rtpmap:101 telephone-event/44100\n");
    let (ans, media) = answer(&offer, &mut leg(), &caps(&["PCMA"])).unwrap();
    assert_eq!(media.telephone_event, None);
    assert!(text(&ans).contains("m=audio 30000 RTP/AVP 8\n"));
}

#[test]
fn no_event_when_we_do_not_want_it() {
    let mut no_te: Capabilities = caps(&["PCMA"]);
    no_te.telephone_event = false;
    let offer = offer_with("m=audio 4000 RTP/AVP 8 101\na=rtpmap:101 telephone-event/8000\n");
    let (ans, media) = answer(&offer, &mut leg(), &no_te).unwrap();
    assert_eq!(media.telephone_event, None);
    assert!(!text(&ans).contains("telephone-event"));
}
