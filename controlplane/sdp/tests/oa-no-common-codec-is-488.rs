//! Offers we cannot accept are errors that say why, for a 488 Not
//! Acceptable Here with a Warning (RFC 3261 §21.4.26, §20.43); the leg's
//! state is left as it was (RFC 3261 §14.2).

#[path = "oa-common/mod.rs"]
mod common;
use common::*;
use tandem_sdp::offer_answer::{Capabilities, EngineSupport, OaError, answer};

#[test]
fn no_common_codec_names_what_was_offered() {
    let offer = offer_with(
        "m=audio 4000 RTP/AVP 18 97 101\na=rtpmap:97 iLBC/8000\na=rtpmap:101 telephone-event/8000\n",
    );
    let err = answer(&offer, &mut leg(), &caps(&["PCMA", "PCMU"])).unwrap_err();
    assert_eq!(
        err,
        OaError::NoCommonCodec {
            offered: "G729/8000 iLBC/8000".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "no common codec (offered G729/8000 iLBC/8000)"
    );
    assert_eq!(err.warning_code(), Some(305));
    assert!(err.is_peer_fault());
}

#[test]
fn telephone_event_alone_is_no_codec() {
    let offer = offer_with("m=audio 4000 RTP/AVP 101\na=rtpmap:101 telephone-event/8000\n");
    let err = answer(&offer, &mut leg(), &caps(&["PCMA"])).unwrap_err();
    assert_eq!(
        err,
        OaError::NoCommonCodec {
            offered: String::new()
        }
    );
}

#[test]
fn no_audio_stream() {
    let offer = offer_with("m=video 5000 RTP/AVP 31\n");
    let err = answer(&offer, &mut leg(), &caps(&["PCMA"])).unwrap_err();
    assert_eq!(err, OaError::NoAudioStream);
    assert_eq!(err.to_string(), "no usable audio stream");
    assert_eq!(err.warning_code(), Some(304));
}

#[test]
fn missing_connection_address() {
    let offer = sdp("v=0\no=peer 1 1 IN IP4 192.0.2.10\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n");
    let err = answer(&offer, &mut leg(), &caps(&["PCMU"])).unwrap_err();
    assert_eq!(err, OaError::NoConnectionAddress);
}

#[test]
fn multicast_is_refused() {
    let offer = sdp(
        "v=0\no=peer 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 233.252.0.1/127\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
    );
    let err = answer(&offer, &mut leg(), &caps(&["PCMU"])).unwrap_err();
    assert!(matches!(err, OaError::UnsupportedAddress { .. }), "{err}");
}

#[test]
fn a_refused_reoffer_leaves_the_leg_as_it_was() {
    let mut leg = leg();
    let caps = caps(&["PCMA"]);
    let (first, _) = answer(&offer_with("m=audio 4000 RTP/AVP 8\n"), &mut leg, &caps).unwrap();
    let before = leg.clone();
    assert!(answer(&offer_with("m=audio 4000 RTP/AVP 0\n"), &mut leg, &caps).is_err());
    assert_eq!(leg, before);
    assert_eq!(leg.last_sdp(), Some(first));
}

#[test]
fn configuration_errors_are_our_fault() {
    let err = Capabilities::new(&[], EngineSupport::default()).unwrap_err();
    assert_eq!(err, OaError::NoCodecs);
    assert!(!err.is_peer_fault());
    assert_eq!(err.warning_code(), None);
    let err = Capabilities::new(&["PCMA", "bad codec"], EngineSupport::default()).unwrap_err();
    assert_eq!(err, OaError::BadCodecPreference("bad codec".into()));
    assert!(Capabilities::new(&["all"], EngineSupport::default()).is_err());
    assert!(Capabilities::new(&["8"], EngineSupport::default()).is_err());
}
