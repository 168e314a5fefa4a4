//! What the `offer_answer` fuzz target checks, kept out of `exercise.rs`
//! so a replay test can include it on its own.
//!
//! One input is two SDP bodies separated by the first NUL byte (`first
//! \0 second`); without a NUL both are the whole input. Each body that
//! parses is run, for three sets of capabilities (every codec the engine
//! knows plus iLBC; the same with rtcp-mux, no ptime and no
//! telephone-event; PCMU alone), through RFC 3264 as both sides of a leg:
//! 1. answering `first` (`answer`): a failed answer leaves the leg as it
//!    was; a successful one re-parses equal, has one `m=` line per offered
//!    one with every stream but the chosen one at port 0, carries the
//!    leg's `o=` version, is itself accepted as the answer to `first`
//!    (`accept_answer`, same codec), and answering `first` again changes
//!    nothing, not even the version; a re-offer (`offer`) keeps the `m=`
//!    count; then `second` comes as a re-offer on the same leg: the
//!    version goes up by at most one, and not at all unless our answer
//!    changed;
//! 2. offering (`offer`, always possible): our offer re-parses equal;
//!    `first` and `second` as answers to it (`accept_answer`) negotiate one
//!    of our codecs with one of our payload types; `second` as the peer's
//!    re-offer after our offer is answered as in 1; our hold re-offer
//!    (`sendonly`) is one version up;
//! 3. `accept_answer(first, second)`.

use std::net::IpAddr;

use tandem_sdp::offer_answer::{
    Capabilities, EngineSupport, LocalMedia, LocalSession, NegotiatedMedia, accept_answer, answer,
    offer,
};
use tandem_sdp::{Direction, SessionDescription};

const PORT: u16 = 30000;

fn leg() -> LocalSession {
    let address: IpAddr = "203.0.113.7".parse().unwrap();
    LocalSession::new(1000, LocalMedia::new(address, PORT))
}

fn capabilities() -> [Capabilities; 3] {
    let all = Capabilities::new(
        &["PCMA", "PCMU", "G722", "L16", "L16/16000", "opus", "iLBC"],
        EngineSupport { opus: true },
    )
    .unwrap();
    let mut lean = all.clone();
    lean.rtcp_mux = true;
    lean.ptime = None;
    lean.telephone_event = false;
    let pcmu = Capabilities::new(&["PCMU"], EngineSupport::default()).unwrap();
    [all, lean, pcmu]
}

pub(crate) fn offer_answer(data: &[u8]) {
    let (a, b) = match data.iter().position(|&x| x == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    let first = SessionDescription::parse(a).ok();
    let second = SessionDescription::parse(b).ok();
    for caps in &capabilities() {
        if let Some(peer_offer) = &first {
            answering(peer_offer, second.as_ref(), caps);
        }
        offering(first.as_ref(), second.as_ref(), caps);
    }
    if let (Some(x), Some(y)) = (&first, &second) {
        let _ = accept_answer(x, y);
    }
}

fn reparse(sdp: &SessionDescription, what: &str) -> SessionDescription {
    let bytes = sdp.to_bytes();
    let again = SessionDescription::parse(&bytes)
        .unwrap_or_else(|e| panic!("{what} does not parse ({e:?}): {sdp}"));
    assert_eq!(&again, sdp, "{what} changed through a re-parse");
    again
}

fn version(sdp: &SessionDescription) -> u64 {
    sdp.origin().expect("we always write o=").session_version
}

/// `answer` with its checks; `None` when it failed (leg unchanged).
fn answer_checked(
    peer_offer: &SessionDescription,
    leg: &mut LocalSession,
    caps: &Capabilities,
) -> Option<(SessionDescription, NegotiatedMedia)> {
    let before = leg.clone();
    let Ok((ours, media)) = answer(peer_offer, leg, caps) else {
        assert_eq!(*leg, before, "a failed answer changed the leg");
        return None;
    };
    let reparsed = reparse(&ours, "our answer");
    let count = peer_offer.media().len();
    assert_eq!(ours.media().len(), count, "answer m= count differs");
    assert!(media.media_index < count);
    for (i, m) in ours.media().iter().enumerate() {
        let expected = if i == media.media_index { PORT } else { 0 };
        assert_eq!(m.port(), expected, "m= line {i} of our answer:\n{ours}");
    }
    assert_eq!(version(&ours), leg.version());
    assert_eq!(leg.last_sdp().as_ref(), Some(&ours));
    // The answer we wrote is one the offerer can accept, with our codec.
    let back = accept_answer(peer_offer, &reparsed)
        .unwrap_or_else(|e| panic!("our answer is refused ({e}):\n{peer_offer}\n{ours}"));
    assert!(
        back.codec.same_codec(&media.codec),
        "{:?} read back as {:?}",
        media.codec,
        back.codec
    );
    let _ = media.changes_from(&back);
    Some((ours, media))
}

fn answering(
    peer_offer: &SessionDescription,
    reoffer: Option<&SessionDescription>,
    caps: &Capabilities,
) {
    let mut leg = leg();
    let Some((ours, media)) = answer_checked(peer_offer, &mut leg, caps) else {
        return;
    };
    // The same offer again (a re-INVITE without SDP change): same answer.
    let (again, _) = answer_checked(peer_offer, &mut leg, caps)
        .unwrap_or_else(|| panic!("an offer answered once is refused the second time"));
    assert_eq!(again, ours, "answering the same offer twice differs");
    if let Some(reoffer) = reoffer {
        let mut next = leg.clone();
        if let Some((ours2, media2)) = answer_checked(reoffer, &mut next, caps) {
            version_step(&ours, &ours2);
            let _ = media2.changes_from(&media);
        }
    }
    let re = offer(&mut leg, caps).expect("capabilities are never empty");
    reparse(&re, "our re-offer");
    assert_eq!(re.media().len(), peer_offer.media().len());
}

/// `next` follows `prev` on the same leg: the same version exactly when
/// nothing else changed, else one more.
fn version_step(prev: &SessionDescription, next: &SessionDescription) {
    let (v1, v2) = (version(prev), version(next));
    if v2 == v1 {
        assert_eq!(next, prev, "same version for a different description");
    } else {
        assert_eq!(v2, v1 + 1, "version jumped:\n{prev}\n{next}");
    }
}

fn offering(
    first: Option<&SessionDescription>,
    second: Option<&SessionDescription>,
    caps: &Capabilities,
) {
    let mut leg = leg();
    let mine = offer(&mut leg, caps).expect("capabilities are never empty");
    reparse(&mine, "our offer");
    let our_types: Vec<u8> = mine.media()[0]
        .codecs()
        .iter()
        .map(|c| c.payload_type)
        .collect();
    for peer_answer in [first, second].into_iter().flatten() {
        if let Ok(n) = accept_answer(&mine, peer_answer) {
            assert!(n.media_index < mine.media().len());
            assert!(
                caps.codecs
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&n.codec.name)
                        && c.clock_rate == n.codec.clock_rate
                        && c.channels == n.codec.channels),
                "negotiated {:?}, which we did not offer",
                n.codec
            );
            assert!(
                our_types.contains(&n.codec.recv_payload_type),
                "{:?}",
                n.codec
            );
            if let Some(t) = n.telephone_event {
                assert!(our_types.contains(&t.recv_payload_type), "{t:?}");
            }
        }
    }
    // The peer re-offers after our offer/answer.
    if let Some(reoffer) = second {
        let mut next = leg.clone();
        if let Some((ours, _)) = answer_checked(reoffer, &mut next, caps) {
            version_step(&mine, &ours);
        }
    }
    // We put the peer on hold.
    leg.direction = Direction::SendOnly;
    let held = offer(&mut leg, caps).expect("capabilities are never empty");
    reparse(&held, "our hold offer");
    assert_eq!(version(&held), version(&mine) + 1, "hold did not bump o=");
    for peer_answer in [first, second].into_iter().flatten() {
        if let Ok(n) = accept_answer(&held, peer_answer) {
            // We offered sendonly: whatever the answer says, we receive nothing.
            assert!(
                !n.will_receive(),
                "{:?} after our sendonly offer",
                n.direction
            );
        }
    }
}
