//! RFC 3264 §6: one answer m= line per offered one, in order; streams an
//! audio gateway cannot carry are rejected with port 0, never dropped.

#[path = "oa-common/mod.rs"]
mod common;
use common::*;
use tandem_sdp::offer_answer::{OaError, answer};

#[test]
fn video_and_fax_are_kept_with_port_zero() {
    let offer = offer_with(
        "m=video 5000 RTP/AVP 31 96\na=rtpmap:96 H264/90000\n\
         m=audio 4000 RTP/AVP 0\n\
         m=image 6000 udptl t38\na=T38FaxVersion:0\n",
    );
    let (ans, media) = answer(&offer, &mut leg(), &caps(&["PCMU"])).unwrap();
    let body = text(&ans);
    assert_eq!(ans.media().len(), 3);
    assert!(
        body.contains("m=video 0 RTP/AVP 31 96\nm=audio 30000 RTP/AVP 0\n"),
        "{body}"
    );
    assert!(body.ends_with("m=image 0 udptl t38\n"), "{body}");
    assert!(!body.contains("T38FaxVersion"));
    assert!(!body.contains("H264"));
    assert_eq!(media.media_index, 1);
}

#[test]
fn a_second_audio_stream_is_rejected_too() {
    // One bearer per call: the first usable audio stream is taken.
    let offer = offer_with("m=audio 4000 RTP/AVP 0\nm=audio 4002 RTP/AVP 8\n");
    let (ans, media) = answer(&offer, &mut leg(), &caps(&["PCMA", "PCMU"])).unwrap();
    assert!(text(&ans).contains("m=audio 30000 RTP/AVP 0\n"));
    assert!(text(&ans).contains("m=audio 0 RTP/AVP 8\n"));
    assert_eq!(media.media_index, 0);
}

#[test]
fn an_unusable_audio_stream_is_rejected_and_the_next_taken() {
    let offer = offer_with(
        "m=audio 4000 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\n\
         m=audio 4002 RTP/AVP 0\n",
    );
    let (ans, media) = answer(&offer, &mut leg(), &caps(&["PCMU"])).unwrap();
    assert!(text(&ans).contains("m=audio 0 RTP/SAVP 0\nm=audio 30000 RTP/AVP 0\n"));
    assert_eq!(media.media_index, 1);
    assert_eq!(media.remote_rtp.port, 4002);
}

#[test]
fn srtp_only_is_refused_with_the_transport_named() {
    let offer = offer_with("m=audio 4000 RTP/SAVP 0\n");
    let err = answer(&offer, &mut leg(), &caps(&["PCMU"])).unwrap_err();
    assert_eq!(
        err,
        OaError::UnsupportedTransport {
            proto: "RTP/SAVP".into()
        }
    );
    assert_eq!(err.to_string(), "unsupported media transport RTP/SAVP");
    assert_eq!(err.warning_code(), Some(302));
}

#[test]
fn a_stream_the_offerer_disabled_stays_disabled() {
    let offer = offer_with("m=audio 0 RTP/AVP 0\nm=audio 4002 RTP/AVP 0\n");
    let (ans, media) = answer(&offer, &mut leg(), &caps(&["PCMU"])).unwrap();
    assert!(text(&ans).contains("m=audio 0 RTP/AVP 0\nm=audio 30000 RTP/AVP 0\n"));
    assert_eq!(media.media_index, 1);
}
