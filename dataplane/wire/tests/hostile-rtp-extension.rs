//! RTP header extensions with hostile lengths are accepted or rejected
//! cleanly, and iterating their elements never panics.
//!
//! The main vector is the 22-octet packet from DEPENDENCIES.md on which
//! webrtc-rs `rtp` 0.17.2 panics.

mod common;

#[allow(dead_code)]
#[path = "../fuzz/common/exercise.rs"]
mod exercise;

use tandem_wire::Error;
use tandem_wire::rtp::{ExtensionElement, ExtensionElements, ExtensionFormat, RtpPacket};

fn webrtc_rs_vector() -> Vec<u8> {
    let v = common::load(
        &common::crate_dir().join("tests/vectors/rtp/webrtc-rs-one-byte-extension-overrun.hex"),
    );
    assert_eq!(v.bytes.len(), 22);
    v.bytes
}

#[test]
fn webrtc_rs_panic_vector_parses_and_its_bad_element_is_an_error() {
    let bytes = webrtc_rs_vector();
    let packet = RtpPacket::new_checked(&bytes[..]).expect("packet layout is valid");
    assert_eq!(packet.sequence_number(), 1);
    assert_eq!(packet.timestamp(), 1);
    assert_eq!(packet.ssrc().0, 1);
    assert_eq!(packet.header_len(), 20);
    assert_eq!(packet.payload(), &[0x01, 0x02]);

    let ext = packet.extension().expect("X bit is set");
    assert_eq!(ext.profile, 0xBEDE);
    assert_eq!(ext.data, &[0x10, 0x22, 0x00, 0x7f]);
    let elements: Vec<_> = ext.elements().expect("one-byte form").collect();
    assert_eq!(
        elements,
        [
            Ok(ExtensionElement {
                id: 1,
                data: &[0x22]
            }),
            Err(Error::ExtensionElementPastEnd),
        ]
    );
}

#[test]
fn every_truncation_of_the_vector_is_handled() {
    let bytes = webrtc_rs_vector();
    for n in 0..=bytes.len() {
        exercise::rtp_packet(&bytes[..n]);
        let r = RtpPacket::new_checked(&bytes[..n]);
        match n {
            0..12 => assert_eq!(r.err(), Some(Error::Truncated), "{n}"),
            12..20 => assert_eq!(r.err(), Some(Error::ExtensionPastEnd), "{n}"),
            _ => assert!(r.is_ok(), "{n}"),
        }
    }
}

#[test]
fn every_single_bit_flip_of_the_vector_is_handled() {
    let bytes = webrtc_rs_vector();
    for bit in 0..bytes.len() * 8 {
        let mut v = bytes.clone();
        v[bit / 8] ^= 1 << (bit % 8);
        exercise::rtp_packet(&v);
    }
}

#[test]
fn every_element_length_in_both_forms_is_handled() {
    // An element header at each position of a 4-octet block, claiming
    // every possible length: the iterator yields at most one error, then
    // stops, and never reads outside the block.
    for format in [ExtensionFormat::OneByte, ExtensionFormat::TwoByte] {
        for pos in 0..4 {
            for first in 0..=255u8 {
                for second in [0u8, 1, 2, 3, 0xff] {
                    let mut block = [0u8; 4];
                    block[pos] = first;
                    if pos + 1 < 4 {
                        block[pos + 1] = second;
                    }
                    let items: Vec<_> = ExtensionElements::new(format, &block).collect();
                    let errors = items.iter().filter(|i| i.is_err()).count();
                    assert!(errors <= 1);
                    if errors == 1 {
                        assert!(items.last().unwrap().is_err());
                    }
                    for e in items.iter().flatten() {
                        assert!(e.data.len() <= 4);
                    }
                }
            }
        }
    }
}

#[test]
fn extension_length_of_0xffff_words_is_rejected() {
    let mut bytes = webrtc_rs_vector();
    bytes[14..16].copy_from_slice(&[0xff, 0xff]);
    assert_eq!(
        RtpPacket::new_checked(&bytes[..]).err(),
        Some(Error::ExtensionPastEnd)
    );
}
