//! Every file under `tests/vectors/` parses (or fails) exactly as its
//! `# expect:` line says, and survives the fuzz targets' full exercise.

mod common;

#[allow(dead_code)]
#[path = "../fuzz/common/exercise.rs"]
mod exercise;

use tandem_wire::rtcp::CompoundPacket;
use tandem_wire::rtp::RtpPacket;
use tandem_wire::telephone_event::TelephoneEventPacket;

fn check(kind: &str, parse: impl Fn(&[u8]) -> String, exercise: fn(&[u8])) {
    let vectors = common::vectors(kind);
    assert!(vectors.len() >= 3, "too few {kind} vectors");
    for v in vectors {
        assert_eq!(parse(&v.bytes), v.expect, "{:?}", v.path);
        exercise(&v.bytes);
    }
}

#[test]
fn rtp_vectors() {
    check(
        "rtp",
        |b| common::outcome(&RtpPacket::new_checked(b)),
        exercise::rtp_packet,
    );
}

#[test]
fn rtcp_vectors() {
    check(
        "rtcp",
        |b| common::outcome(&CompoundPacket::new_checked(b)),
        exercise::rtcp_compound,
    );
}

#[test]
fn telephone_event_vectors() {
    check(
        "telephone-event",
        |b| common::outcome(&TelephoneEventPacket::new_checked(b)),
        exercise::telephone_event,
    );
}

#[test]
fn rtcp_opaque_types_come_out_as_other() {
    use tandem_wire::rtcp::{RtcpPacketType, TypedRtcpPacket};
    let v =
        common::load(&common::crate_dir().join("tests/vectors/rtcp/rr-with-app-feedback-xr.hex"));
    let types: Vec<_> = CompoundPacket::new_checked(&v.bytes)
        .unwrap()
        .iter()
        .map(|p| match p {
            TypedRtcpPacket::Other(o) => Some(o.packet_type()),
            _ => None,
        })
        .collect();
    assert_eq!(
        types,
        [
            None,
            Some(RtcpPacketType::ApplicationDefined),
            Some(RtcpPacketType::PayloadFeedback),
            Some(RtcpPacketType::TransportFeedback),
            Some(RtcpPacketType::ExtendedReport),
        ]
    );
}
