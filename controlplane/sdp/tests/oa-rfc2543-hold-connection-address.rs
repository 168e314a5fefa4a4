//! RFC 3264 §8.4: c=0.0.0.0 (RFC 2543's hold) means send nothing to the
//! peer. Vectors: RFC 4317 §5.2 and §5.3 ("Hold and Unhold 2" and "3").
//! iLBC is in the capabilities as a codec the engine relays only.

#[path = "oa-common/mod.rs"]
mod common;
use common::*;
use tandem_sdp::Direction;
use tandem_sdp::offer_answer::{accept_answer, answer};

const RFC4317_5_2_OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s= 
c=IN IP4 0.0.0.0
t=0 0
m=audio 23442 RTP/AVP 97
a=rtpmap:97 iLBC/8000
";

const RFC4317_5_2_SECOND_OFFER: &str = "v=0
o=alice 2890844526 2890844527 IN IP4 host.atlanta.example.com
s= 
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 49170 RTP/AVP 97
a=rtpmap:97 iLBC/8000
";

#[test]
fn connection_address_zero_is_hold_we_only_receive() {
    let mut leg = leg();
    let caps = caps(&["PCMA", "iLBC"]);
    let (ans, held) = answer(&sdp(RFC4317_5_2_OFFER), &mut leg, &caps).unwrap();
    assert!(held.on_hold);
    assert!(!held.can_send());
    assert!(held.will_receive());
    assert_eq!(held.direction, Direction::RecvOnly);
    assert!(text(&ans).contains("m=audio 30000 RTP/AVP 97\n"));
    assert!(text(&ans).contains("a=recvonly\n"));
    assert_eq!(
        held.remote_rtp.socket_addr().unwrap().to_string(),
        "0.0.0.0:23442"
    );

    let (ans2, resumed) = answer(&sdp(RFC4317_5_2_SECOND_OFFER), &mut leg, &caps).unwrap();
    assert!(!resumed.on_hold);
    assert_eq!(resumed.direction, Direction::SendRecv);
    assert_eq!(
        resumed.remote_rtp.to_string(),
        "host.atlanta.example.com:49170"
    );
    assert_eq!(resumed.remote_rtp.socket_addr(), None);
    let changes = resumed.changes_from(&held);
    assert!(changes.remote && changes.direction && changes.engine_update_needed());
    assert!(!changes.codec);
    assert!(text(&ans2).contains("a=sendrecv\n"));
}

const RFC4317_5_3_OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s= 
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 49170 RTP/AVP 97
a=rtpmap:97 iLBC/8000
";

const RFC4317_5_3_ANSWER: &str = "v=0
o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com
s= 
c=IN IP4 0.0.0.0
t=0 0
m=audio 9322 RTP/AVP 97
a=rtpmap:97 iLBC/8000
";

#[test]
fn answer_with_connection_address_zero_blackholes_our_sending() {
    let media = accept_answer(&sdp(RFC4317_5_3_OFFER), &sdp(RFC4317_5_3_ANSWER)).unwrap();
    assert!(media.on_hold);
    assert!(!media.can_send());
    assert!(media.will_receive());
    assert_eq!(media.codec.name, "iLBC");
}

#[test]
fn ipv6_unspecified_is_treated_alike() {
    let offer =
        sdp("v=0\no=p 1 1 IN IP6 2001:db8::1\ns=-\nc=IN IP6 ::\nt=0 0\nm=audio 4000 RTP/AVP 8\n");
    let (_, media) = answer(&offer, &mut leg(), &caps(&["PCMA"])).unwrap();
    assert!(media.on_hold && !media.can_send());
}
