//! What the `sdp_message` fuzz target checks, shared with
//! `tests/fuzz-corpora-replay-cleanly.rs` so `cargo test` replays the
//! corpus through exactly the same code.

use tandem_sdp::{CodecSpec, Direction, SessionDescription};

/// Parse; if that succeeds: emit, re-parse to an equal description,
/// byte identity for CRLF input, every accessor, and every edit followed by
/// a re-parse of what the edit wrote.
pub(crate) fn sdp_message(data: &[u8]) {
    let Ok(sdp) = SessionDescription::parse(data) else {
        return;
    };
    let bytes = sdp.to_bytes();
    assert_eq!(bytes.len(), sdp.buffer_len());
    let again = SessionDescription::parse(&bytes).expect("emitted SDP re-parses");
    assert_eq!(again, sdp, "re-parse differs");
    let crlf_only = data.ends_with(b"\r\n")
        && data
            .iter()
            .enumerate()
            .all(|(i, &b)| b != b'\n' || (i > 0 && data[i - 1] == b'\r'));
    if crlf_only {
        assert_eq!(bytes, data, "well-formed CRLF input not byte-identical");
    }

    // Accessors.
    let _ = (
        sdp.origin(),
        sdp.connection(),
        sdp.session_name(),
        sdp.direction(),
        sdp.has_ice(),
    );
    for m in sdp.media() {
        let _ = (
            m.media_line(),
            m.port(),
            m.proto(),
            m.connection(),
            m.ptime(),
            m.maxptime(),
        );
        let _ = (
            m.direction(),
            m.rtcp(),
            m.rtcp_mux(),
            m.ice_ufrag(),
            m.ice_pwd(),
            m.setup(),
        );
        let _ = (m.fingerprint(), m.mid(), m.codecs());
        let _ = (
            m.bandwidths().count(),
            m.candidates().count(),
            m.cryptos().count(),
        );
        for c in m.codecs() {
            let _ = m
                .fmtp(&c.payload_type.to_string())
                .map(|f| f.pairs().count());
        }
    }

    // Edits: the result must still parse, and to the same thing.
    let mut e = sdp.clone();
    e.set_session_connection("203.0.113.9".parse().unwrap());
    e.set_origin_address("2001:db8::9".parse().unwrap());
    e.bump_origin_version();
    e.remove_ice();
    for i in 0..e.media().len() {
        let _ = e.set_media_connection(i, "192.0.2.1".parse().unwrap());
        let _ = e.set_media_port(i, 40000);
        let m = e.media_mut(i).unwrap();
        let _ = m.strip_codecs(&[CodecSpec::parse("PCMU"), CodecSpec::parse("101")]);
        let _ = m.add_codec(&CodecSpec::parse("opus"));
        let _ = m.add_codec(&CodecSpec::parse("PCMA"));
        let _ = m.add_telephone_event(8000);
        m.reorder_codecs(&[CodecSpec::parse("PCMA")]);
        let _ = m.retain_codecs(&[
            CodecSpec::parse("PCMA"),
            CodecSpec::parse("telephone-event"),
        ]);
        let _ = m.set_proto("RTP/SAVPF");
        m.set_direction(Direction::SendOnly);
        m.set_rtcp(40001, Some("192.0.2.1".parse().unwrap()));
    }
    let edited = e.to_bytes();
    let reparsed = SessionDescription::parse(&edited).expect("edited SDP re-parses");
    assert_eq!(reparsed, e, "edited re-parse differs");
}
