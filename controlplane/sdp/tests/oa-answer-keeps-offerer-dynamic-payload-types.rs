//! RFC 3264 §6.1: the answer uses the offerer's payload type numbers, for
//! dynamic codecs and telephone-event alike, and lists the chosen codec
//! with an rtpmap.

#[path = "oa-common/mod.rs"]
mod common;
use common::*;
use tandem_sdp::offer_answer::{Capabilities, EngineSupport, answer};

#[test]
fn dynamic_l16_and_event_keep_their_numbers() {
    let offer = offer_with(
        "m=audio 4000 RTP/AVP 110 0 115\n\
         a=rtpmap:110 L16/16000\n\
         a=rtpmap:0 PCMU/8000\n\
         a=rtpmap:115 telephone-event/16000\n\
         a=fmtp:115 0-15\n",
    );
    let (ans, media) = answer(&offer, &mut leg(), &caps(&["L16/16000", "PCMU"])).unwrap();
    let body = text(&ans);
    assert!(body.contains("m=audio 30000 RTP/AVP 110 115\n"), "{body}");
    assert!(body.contains("a=rtpmap:110 L16/16000\n"));
    assert!(body.contains("a=rtpmap:115 telephone-event/16000\n"));
    assert_eq!(media.codec.send_payload_type, 110);
    assert_eq!(media.codec.recv_payload_type, 110);
    assert_eq!(media.codec.clock_rate, 16000);
    let te = media.telephone_event.unwrap();
    assert_eq!((te.send_payload_type, te.recv_payload_type), (115, 115));
}

#[test]
fn opus_is_chosen_with_its_number_and_parameters_when_the_engine_has_it() {
    let offer = offer_with(
        "m=audio 4000 RTP/AVP 111 8 126\n\
         a=rtpmap:111 opus/48000/2\n\
         a=fmtp:111 minptime=10;useinbandfec=1\n\
         a=rtpmap:126 telephone-event/48000\n",
    );
    let with_opus = Capabilities::new(&["opus", "PCMA"], EngineSupport { opus: true }).unwrap();
    let (ans, media) = answer(&offer, &mut leg(), &with_opus).unwrap();
    assert!(text(&ans).contains("m=audio 30000 RTP/AVP 111 126\n"));
    assert!(text(&ans).contains("a=rtpmap:111 opus/48000/2\n"));
    assert_eq!(media.codec.name, "opus");
    assert_eq!(media.codec.channels, 2);
    assert_eq!(
        media.codec.fmtp.as_deref(),
        Some("minptime=10;useinbandfec=1")
    );
    assert_eq!(media.telephone_event.unwrap().clock_rate, 48000);
    assert!(with_opus.engine.transcodes_codec(&media.codec));

    // The same preference on an engine built without opus: opus can only
    // be relayed, so a B2BUA must not pair it with another codec.
    let without = caps(&["opus", "PCMA"]);
    let (_, media) = answer(&offer, &mut leg(), &without).unwrap();
    assert_eq!(media.codec.name, "opus");
    assert!(!without.engine.transcodes_codec(&media.codec));
}

#[test]
fn our_preference_wins_over_the_offer_order() {
    let offer = offer_with("m=audio 4000 RTP/AVP 0 9 8\n");
    let (ans, media) = answer(&offer, &mut leg(), &caps(&["PCMA", "PCMU", "G722"])).unwrap();
    assert!(text(&ans).contains("m=audio 30000 RTP/AVP 8\n"));
    assert!(text(&ans).contains("a=rtpmap:8 PCMA/8000\n"));
    assert_eq!(media.codec.name, "PCMA");
}

#[test]
fn codec_names_match_case_insensitively() {
    let offer = offer_with("m=audio 4000 RTP/AVP 97\na=rtpmap:97 pcma/8000\n");
    let (_, media) = answer(&offer, &mut leg(), &caps(&["PCMA"])).unwrap();
    assert_eq!(media.codec.send_payload_type, 97);
    assert_eq!(media.codec.name, "pcma");
}
