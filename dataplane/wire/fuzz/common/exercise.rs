//! What each fuzz target does with one input, shared with the crate's
//! `tests/fuzz-corpora-replay-cleanly.rs` so that CI runs the same checks
//! over the seed corpora without a fuzzer.
//!
//! Each function touches every accessor and iterator (they must not
//! panic, whatever the input), and when the input parses it emits it again
//! through the `*Repr`s and builders, re-parses the result and asserts
//! that nothing changed.

use tandem_wire::rtcp::{
    ByePacket, ByeRepr, CompoundBuilder, CompoundPacket, ReceiverReportPacket, ReceiverReportRepr,
    RtcpPacket, SdesBuilder, SdesPacket, SenderReportPacket, SenderReportRepr, TypedRtcpPacket,
};
use tandem_wire::rtp::{RtpPacket, RtpRepr};
use tandem_wire::telephone_event::{
    TelephoneEventPacket, TelephoneEventRepr, digit_to_event, event_to_digit,
};
use tandem_wire::{Error, Ssrc};

/// RTP: view, extension elements, repr round trip, in-place setters.
pub(crate) fn rtp_packet(data: &[u8]) {
    // check_len alone must also leave every accessor safe.
    if RtpPacket::new_unchecked(data).check_len().is_ok() {
        touch_rtp(&RtpPacket::new_unchecked(data));
    }
    let packet = match RtpPacket::new_checked(data) {
        Ok(p) => p,
        Err(e) => {
            assert!(e.is_malformed_input(), "{e:?}");
            return;
        }
    };
    touch_rtp(&packet);
    assert_eq!(
        packet.header_len() + packet.payload().len() + packet.padding_len(),
        data.len()
    );

    let repr = RtpRepr::parse(&packet).expect("a checked packet parses");
    let mut out = vec![0u8; repr.buffer_len()];
    let n = repr.emit(&mut out).expect("a parsed packet emits");
    assert_eq!(n, data.len());
    let again = RtpRepr::parse(&RtpPacket::new_checked(&out[..]).expect("emitted packet checks"))
        .expect("emitted packet parses");
    assert_eq!(again, repr);
    // Everything but the padding filler is written back verbatim.
    let pad = packet.padding_len();
    assert_eq!(out[..n - pad], data[..n - pad]);
    assert_eq!(out[n - 1], data[n - 1]);

    // The media engine's in-place rewrite keeps the packet valid and
    // touches nothing else.
    let mut copy = data.to_vec();
    let mut view = RtpPacket::new_checked(&mut copy[..]).expect("same bytes");
    view.set_sequence_number(!packet.sequence_number());
    view.set_timestamp(!packet.timestamp());
    view.set_ssrc(Ssrc(!packet.ssrc().0));
    view.set_marker(!packet.marker());
    view.set_payload_type(!packet.payload_type());
    assert!(!view.set_csrc(usize::from(packet.csrc_count()), Ssrc(0)));
    let view = RtpPacket::new_checked(&copy[..]).expect("still valid after setters");
    assert_eq!(view.sequence_number(), !packet.sequence_number());
    assert_eq!(view.timestamp(), !packet.timestamp());
    assert_eq!(view.ssrc(), Ssrc(!packet.ssrc().0));
    assert_eq!(view.marker(), !packet.marker());
    assert_eq!(view.payload_type(), !packet.payload_type() & 0x7f);
    assert_eq!(view.payload(), packet.payload());
    assert_eq!(copy[12..], data[12..]);

    // The payload may be a telephone event.
    telephone_event(packet.payload());
}

fn touch_rtp(p: &RtpPacket<&[u8]>) {
    let _ = (p.version(), p.has_padding(), p.has_extension(), p.marker());
    let _ = (
        p.payload_type(),
        p.sequence_number(),
        p.timestamp(),
        p.ssrc(),
    );
    let csrcs = p.csrcs();
    assert_eq!(csrcs.len(), usize::from(p.csrc_count()));
    assert_eq!(csrcs.iter().count(), csrcs.len());
    if let Some(ext) = p.extension() {
        assert_eq!(ext.data.len() % 4, 0);
        if let Some(elements) = ext.elements() {
            let mut errors = 0;
            for e in elements {
                match e {
                    Ok(e) => assert!(e.id != 0),
                    Err(e) => {
                        assert_eq!(e, Error::ExtensionElementPastEnd);
                        errors += 1;
                    }
                }
            }
            assert!(errors <= 1);
        }
    }
    let _ = (p.header_len(), p.padding_len(), p.payload());
}

/// RTCP: single-packet views on the raw input, then the compound packet,
/// rebuilt through the reprs and builders and compared packet by packet.
pub(crate) fn rtcp_compound(data: &[u8]) {
    if let Ok(p) = RtcpPacket::new_checked(data) {
        let _ = (p.version(), p.has_padding(), p.count(), p.packet_type());
        let _ = (p.length(), p.padding_len(), p.as_bytes(), p.body());
        assert!(p.total_len() <= data.len());
        if let Ok(sr) = SenderReportPacket::new_checked(data) {
            touch_sr(&sr);
        }
        if let Ok(rr) = ReceiverReportPacket::new_checked(data) {
            touch_rr(&rr);
        }
        if let Ok(sdes) = SdesPacket::new_checked(data) {
            touch_sdes(&sdes);
        }
        if let Ok(bye) = ByePacket::new_checked(data) {
            let _ = (bye.sources().iter().count(), bye.reason());
        }
    }

    let compound = match CompoundPacket::new_checked(data) {
        Ok(c) => c,
        Err(e) => {
            assert!(e.is_malformed_input(), "{e:?}");
            return;
        }
    };
    let _ = compound.starts_with_report();
    let total: usize = compound.iter().map(|p| p.as_rtcp().total_len()).sum();
    assert_eq!(total, data.len());

    // Padding is dropped and pad octets are re-written as zero, so the
    // rebuilt packet is at most as long as the input.
    let mut out = vec![0u8; data.len()];
    let mut b = CompoundBuilder::new(&mut out);
    for p in compound.iter() {
        match p {
            TypedRtcpPacket::SenderReport(sr) => {
                touch_sr(&sr);
                let repr = SenderReportRepr::parse(&sr).expect("checked SR parses");
                b.push_sender_report(&repr).expect("SR re-emits");
            }
            TypedRtcpPacket::ReceiverReport(rr) => {
                touch_rr(&rr);
                let repr = ReceiverReportRepr::parse(&rr).expect("checked RR parses");
                b.push_receiver_report(&repr).expect("RR re-emits");
            }
            TypedRtcpPacket::SourceDescription(sdes) => {
                touch_sdes(&sdes);
                b.push_with(|buf| {
                    let mut w = SdesBuilder::new(buf);
                    for chunk in sdes.chunks() {
                        w.chunk(chunk.ssrc)?;
                        for item in chunk.items() {
                            w.item(item.kind, item.value)?;
                        }
                    }
                    w.finish()
                })
                .expect("SDES re-emits");
            }
            TypedRtcpPacket::Goodbye(bye) => {
                let repr = ByeRepr::parse(&bye).expect("checked BYE parses");
                b.push_bye(&repr).expect("BYE re-emits");
            }
            TypedRtcpPacket::Other(other) => {
                let bytes = other.as_bytes();
                b.push_with(|buf| {
                    buf[..bytes.len()].copy_from_slice(bytes);
                    Ok(bytes.len())
                })
                .expect("opaque packet copies");
            }
        }
    }
    let n = b.finish();
    let rebuilt = CompoundPacket::new_checked(&out[..n]).expect("rebuilt compound checks");
    assert_eq!(rebuilt.iter().count(), compound.iter().count());
    for (a, b) in compound.iter().zip(rebuilt.iter()) {
        match (a, b) {
            (TypedRtcpPacket::SenderReport(a), TypedRtcpPacket::SenderReport(b)) => {
                assert_eq!(SenderReportRepr::parse(&a), SenderReportRepr::parse(&b));
            }
            (TypedRtcpPacket::ReceiverReport(a), TypedRtcpPacket::ReceiverReport(b)) => {
                assert_eq!(ReceiverReportRepr::parse(&a), ReceiverReportRepr::parse(&b));
            }
            (TypedRtcpPacket::SourceDescription(a), TypedRtcpPacket::SourceDescription(b)) => {
                assert_eq!(a.source_count(), b.source_count());
                for (ca, cb) in a.chunks().zip(b.chunks()) {
                    assert_eq!(ca.ssrc, cb.ssrc);
                    assert!(ca.items().eq(cb.items()));
                }
            }
            (TypedRtcpPacket::Goodbye(a), TypedRtcpPacket::Goodbye(b)) => {
                assert_eq!(ByeRepr::parse(&a), ByeRepr::parse(&b));
            }
            (TypedRtcpPacket::Other(a), TypedRtcpPacket::Other(b)) => {
                assert_eq!(a.as_bytes(), b.as_bytes());
            }
            (a, b) => panic!("packet type changed: {a:?} -> {b:?}"),
        }
    }
}

fn touch_sr(sr: &SenderReportPacket<&[u8]>) {
    let _ = (sr.ssrc(), sr.sender_info(), sr.profile_extension());
    touch_blocks(sr.report_blocks(), sr.report_count());
    let _ = sr.report_block(usize::from(sr.report_count()));
}

fn touch_rr(rr: &ReceiverReportPacket<&[u8]>) {
    let _ = (rr.ssrc(), rr.profile_extension());
    touch_blocks(rr.report_blocks(), rr.report_count());
    let _ = rr.report_block(usize::from(rr.report_count()));
}

fn touch_blocks(blocks: tandem_wire::rtcp::ReportBlocks<'_>, count: u8) {
    assert_eq!(blocks.len(), usize::from(count));
    for b in blocks {
        let lost = b.cumulative_lost();
        assert!((-0x80_0000..=0x7f_ffff).contains(&lost));
        let _ = (
            b.ssrc(),
            b.fraction_lost(),
            b.extended_highest_seq(),
            b.jitter(),
        );
        let _ = (b.last_sr(), b.delay_since_last_sr());
    }
}

fn touch_sdes(sdes: &SdesPacket<&[u8]>) {
    assert_eq!(sdes.chunks().count(), usize::from(sdes.source_count()));
    for chunk in sdes.chunks() {
        let _ = chunk.cname();
        for item in chunk.items() {
            assert_ne!(u8::from(item.kind), 0);
        }
    }
}

/// RFC 4733: view, digit helpers, repr round trip.
pub(crate) fn telephone_event(data: &[u8]) {
    let packet = match TelephoneEventPacket::new_checked(data) {
        Ok(p) => p,
        Err(e) => {
            assert_eq!(e, Error::Truncated);
            assert!(data.len() < 4);
            return;
        }
    };
    let _ = (
        packet.end(),
        packet.reserved(),
        packet.volume(),
        packet.duration(),
    );
    if let Some(d) = packet.digit() {
        assert_eq!(digit_to_event(d), Some(packet.event()));
    }
    assert_eq!(event_to_digit(packet.event()), packet.digit());
    let repr = TelephoneEventRepr::parse(&packet).expect("checked payload parses");
    let mut out = [0u8; 4];
    assert_eq!(repr.emit(&mut out), Ok(4));
    let again = TelephoneEventRepr::parse(&TelephoneEventPacket::new_checked(&out[..]).unwrap())
        .expect("emitted payload parses");
    assert_eq!(again, repr);
    // Only the reserved bit may differ.
    assert_eq!(out[0], data[0]);
    assert_eq!(out[1], data[1] & !0x40);
    assert_eq!(out[2..4], data[2..4]);
}
