//! RFC 3264 §6.1 and §8.4: the answer mirrors the offered direction and
//! combines it with our own hold state.

#[path = "oa-common/mod.rs"]
mod common;
use common::*;
use tandem_sdp::Direction;
use tandem_sdp::offer_answer::answer;

fn answered(
    direction_line: &str,
    ours: Direction,
) -> (String, tandem_sdp::offer_answer::NegotiatedMedia) {
    let offer = offer_with(&format!("m=audio 4000 RTP/AVP 8\n{direction_line}"));
    let mut leg = leg();
    leg.direction = ours;
    let (ans, media) = answer(&offer, &mut leg, &caps(&["PCMA"])).unwrap();
    (text(&ans), media)
}

#[test]
fn sendonly_is_answered_recvonly_and_marks_hold() {
    let (body, media) = answered("a=sendonly\n", Direction::SendRecv);
    assert!(body.contains("a=recvonly\n"), "{body}");
    assert_eq!(media.direction, Direction::RecvOnly);
    assert!(media.on_hold);
    assert!(!media.can_send());
    assert!(media.will_receive());
}

#[test]
fn each_direction_is_mirrored() {
    for (offered, expected, hold) in [
        ("a=sendrecv\n", Direction::SendRecv, false),
        ("", Direction::SendRecv, false),
        ("a=sendonly\n", Direction::RecvOnly, true),
        ("a=recvonly\n", Direction::SendOnly, false),
        ("a=inactive\n", Direction::Inactive, true),
    ] {
        let (body, media) = answered(offered, Direction::SendRecv);
        assert!(
            body.contains(&format!("a={}\n", expected.as_str())),
            "{offered}: {body}"
        );
        assert_eq!(media.direction, expected, "{offered}");
        assert_eq!(media.on_hold, hold, "{offered}");
    }
}

#[test]
fn session_level_direction_applies_to_the_stream() {
    let offer = sdp(
        "v=0\no=peer 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\na=sendonly\n\
         m=audio 4000 RTP/AVP 8\n",
    );
    let (ans, media) = answer(&offer, &mut leg(), &caps(&["PCMA"])).unwrap();
    assert!(text(&ans).contains("a=recvonly\n"));
    assert!(media.on_hold);
}

#[test]
fn our_own_hold_is_combined_with_the_peers() {
    // We hold the peer: we only send (music on hold).
    let (body, media) = answered("a=sendrecv\n", Direction::SendOnly);
    assert!(body.contains("a=sendonly\n"));
    assert!(media.can_send() && !media.will_receive());
    assert!(!media.on_hold);
    // Both hold each other: nothing flows.
    let (body, media) = answered("a=sendonly\n", Direction::SendOnly);
    assert!(body.contains("a=inactive\n"));
    assert_eq!(media.direction, Direction::Inactive);
    // We stopped media altogether.
    let (body, _) = answered("", Direction::Inactive);
    assert!(body.contains("a=inactive\n"));
}

#[test]
fn resume_after_hold_is_an_engine_update() {
    let mut leg = leg();
    let caps = caps(&["PCMA"]);
    let hold = offer_with("m=audio 4000 RTP/AVP 8\na=sendonly\n");
    let resume = offer_with("m=audio 4000 RTP/AVP 8\na=sendrecv\n");
    let (_, held) = answer(&hold, &mut leg, &caps).unwrap();
    let v1 = leg.version();
    let (_, resumed) = answer(&resume, &mut leg, &caps).unwrap();
    let changes = resumed.changes_from(&held);
    assert!(changes.direction && changes.engine_update_needed());
    assert!(!changes.remote && !changes.codec && !changes.telephone_event);
    // Our answer changed (recvonly → sendrecv): one version more.
    assert_eq!(leg.version(), v1 + 1);
}
