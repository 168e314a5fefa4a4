use super::*;

const OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 198.51.100.10\r\n\
s=-\r\n\
c=IN IP4 198.51.100.10\r\n\
t=0 0\r\n\
a=ice-ufrag:F7gI\r\n\
m=audio 49170 RTP/AVP 0 8 18 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=x-unknown:keep me\r\n\
a=candidate:1 1 UDP 2130706431 198.51.100.10 49170 typ host\r\n\
a=ice-pwd:asd88fgpdd777uzjYhagZg\r\n\
a=sendrecv\r\n\
a=rtcp:49171\r\n\
m=video 0 RTP/AVP 96\r\n\
a=rtpmap:96 H264/90000\r\n";

fn parse(s: &str) -> SessionDescription {
    SessionDescription::parse(s.as_bytes()).unwrap()
}

#[test]
fn round_trip_is_byte_identical() {
    assert_eq!(parse(OFFER).to_bytes(), OFFER.as_bytes());
    assert_eq!(parse(OFFER).buffer_len(), OFFER.len());
}

#[test]
fn bare_lf_is_accepted_and_written_as_crlf() {
    let lf = OFFER.replace("\r\n", "\n");
    assert_eq!(parse(&lf).to_string(), OFFER);
}

#[test]
fn typed_accessors() {
    let sdp = parse(OFFER);
    let o = sdp.origin().unwrap();
    assert_eq!((o.username, o.session_version), ("alice", 2890844526));
    assert_eq!(
        sdp.connection().unwrap().0.ip(),
        Some("198.51.100.10".parse().unwrap())
    );
    let m = &sdp.media()[0];
    assert_eq!(m.port(), 49170);
    assert_eq!(m.proto(), "RTP/AVP");
    let names: Vec<_> = m.codecs().iter().map(|c| c.name).collect();
    assert_eq!(names, ["PCMU", "PCMA", "G729", "telephone-event"]);
    assert_eq!(
        m.fmtp("18").unwrap().pairs().collect::<Vec<_>>(),
        [("annexb", "no")]
    );
    assert_eq!(m.ptime(), Some(20));
    assert_eq!(m.direction(), Some(Direction::SendRecv));
    assert_eq!(m.rtcp().unwrap().port, 49171);
    assert_eq!(m.ice_pwd(), Some("asd88fgpdd777uzjYhagZg"));
    assert_eq!(m.candidates().next().unwrap().port, 49170);
    assert!(sdp.has_ice());
    assert_eq!(sdp.media()[1].port(), 0);
    assert_eq!(m.attribute("x-unknown").unwrap().value, Some("keep me"));
}

#[test]
fn static_payload_types_without_rtpmap() {
    let s = "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns= \r\nt=0 0\r\nm=audio 1 RTP/AVP 8 0 13\r\n";
    let sdp = parse(s);
    let c: Vec<_> = sdp.media()[0]
        .codecs()
        .iter()
        .map(|c| (c.payload_type, c.name))
        .collect();
    assert_eq!(c, [(8, "PCMA"), (0, "PCMU"), (13, "CN")]);
}

#[test]
fn errors_name_the_line() {
    let cases: &[(&str, usize, SdpErrorKind)] = &[
        ("", 0, SdpErrorKind::Empty),
        ("v=1\r\n", 1, SdpErrorKind::BadVersion),
        (
            "v=0\r\no=- 1 x IN IP4 1.2.3.4\r\n",
            2,
            SdpErrorKind::BadNumber("sess-version"),
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n",
            5,
            SdpErrorKind::BadNumber("port"),
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 7 RTP/AVP\r\n",
            5,
            SdpErrorKind::MissingField("fmt"),
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 7 RTP/AVP 0\r\no=- 1 1 IN IP4 1.2.3.4\r\n",
            6,
            SdpErrorKind::Misplaced('o'),
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n",
            0,
            SdpErrorKind::MissingLine('t'),
        ),
        ("v=0\r\nX=1\r\n", 2, SdpErrorKind::NotTypeEquals),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 300.1.1.1\r\n",
            4,
            SdpErrorKind::BadField("address"),
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 7 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
            6,
            SdpErrorKind::MissingField("clock rate"),
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 7 RTP/AVP 200\r\n",
            5,
            SdpErrorKind::BadNumber("payload type"),
        ),
        ("v=0\r\ns=a\rb\r\n", 2, SdpErrorKind::ControlCharacter),
    ];
    for (text, line, kind) in cases {
        let e = SessionDescription::parse(text.as_bytes()).unwrap_err();
        assert_eq!((e.line, e.kind), (*line, *kind), "{text:?}: {e}");
    }
    let big = vec![b'a'; MAX_SDP_LEN + 1];
    assert_eq!(
        SessionDescription::parse(&big).unwrap_err().kind,
        SdpErrorKind::TooLarge
    );
    assert_eq!(
        SessionDescription::parse(b"v=0\r\ns=\xff\r\n").unwrap_err(),
        SdpError {
            line: 2,
            kind: SdpErrorKind::NotUtf8
        }
    );
}

#[test]
fn connection_origin_port_and_ice_edits() {
    let mut sdp = parse(OFFER);
    sdp.set_session_connection("2001:db8::7".parse().unwrap());
    sdp.set_origin_address("203.0.113.1".parse().unwrap());
    sdp.bump_origin_version();
    sdp.set_media_port(0, 30000).unwrap();
    sdp.set_media_connection(0, "203.0.113.1".parse().unwrap())
        .unwrap();
    assert_eq!(sdp.remove_ice(), 3);
    assert!(!sdp.has_ice());
    let out = sdp.to_string();
    assert!(
        out.contains("o=alice 2890844526 2890844527 IN IP4 203.0.113.1\r\n"),
        "{out}"
    );
    assert!(out.contains("c=IN IP6 2001:db8::7\r\n"));
    assert!(out.contains("m=audio 30000 RTP/AVP 0 8 18 101\r\nc=IN IP4 203.0.113.1\r\na=rtpmap:0"));
    assert!(sdp.set_media_port(5, 1).is_err());
    // What was written parses again.
    assert_eq!(parse(&out), sdp);
}

#[test]
fn session_connection_is_inserted_before_timing() {
    let mut sdp = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 7 RTP/AVP 0\r\n");
    sdp.set_session_connection("192.0.2.9".parse().unwrap());
    assert_eq!(
        sdp.to_string(),
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 7 RTP/AVP 0\r\n"
    );
}

#[test]
fn protocol_direction_and_rtcp() {
    let mut sdp = parse(OFFER);
    let m = sdp.media_mut(0).unwrap();
    m.set_proto("UDP/TLS/RTP/SAVPF").unwrap();
    assert!(m.set_proto("udptl").is_err());
    m.set_direction(Direction::SendOnly);
    m.set_rtcp(30001, Some("203.0.113.1".parse().unwrap()));
    assert_eq!(m.proto(), "UDP/TLS/RTP/SAVPF");
    assert_eq!(m.direction(), Some(Direction::SendOnly));
    assert_eq!(m.rtcp().unwrap().address.unwrap().address, "203.0.113.1");
    assert_eq!(parse(&sdp.to_string()), sdp);
}

#[test]
fn codec_strip_keep_add_reorder() {
    let mut sdp = parse(OFFER);
    let m = sdp.media_mut(0).unwrap();
    assert_eq!(m.strip_codecs(&[CodecSpec::parse("g729")]).unwrap(), [18]);
    assert!(m.attribute_values("fmtp").all(|v| !v.starts_with("18 ")));
    assert_eq!(m.add_codec(&CodecSpec::parse("opus")).unwrap(), 96);
    assert_eq!(m.add_codec(&CodecSpec::parse("G722")).unwrap(), 9);
    assert_eq!(m.add_codec(&CodecSpec::parse("PCMA")).unwrap(), 8);
    m.reorder_codecs(&[CodecSpec::parse("opus"), CodecSpec::parse("PCMA")]);
    assert_eq!(
        m.media_line().unwrap().formats,
        ["96", "8", "0", "101", "9"]
    );
    assert_eq!(
        m.rtpmaps()
            .find(|r| r.payload_type == 96)
            .unwrap()
            .to_string(),
        "96 opus/48000/2"
    );
    assert_eq!(
        m.retain_codecs(&[
            CodecSpec::parse("PCMA"),
            CodecSpec::parse("telephone-event")
        ])
        .unwrap(),
        [96, 0, 9]
    );
    assert_eq!(m.media_line().unwrap().formats, ["8", "101"]);
    assert_eq!(
        m.strip_codecs(&[CodecSpec::parse("all")]),
        Err(EditError::NoFormatsLeft)
    );
    assert_eq!(m.media_line().unwrap().formats, ["8", "101"]);
    assert_eq!(parse(&sdp.to_string()), sdp);
}

#[test]
fn telephone_event_is_added_once() {
    let mut sdp = parse(
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 7 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n",
    );
    let m = sdp.media_mut(0).unwrap();
    assert_eq!(m.add_telephone_event(8000).unwrap(), 96);
    assert_eq!(m.add_telephone_event(8000).unwrap(), 96);
    assert_eq!(
        sdp.to_string(),
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 7 RTP/AVP 8 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\na=sendrecv\r\n"
    );
}

#[test]
fn typed_attribute_parsers() {
    let c = Crypto::parse(
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32",
    )
    .unwrap();
    assert_eq!((c.tag, c.suite), (1, "AES_CM_128_HMAC_SHA1_80"));
    assert_eq!(Setup::parse("actpass").unwrap(), Setup::ActPass);
    assert_eq!(Fingerprint::parse("sha-256 AB:CD").unwrap().hash, "sha-256");
    let cand =
        Candidate::parse("2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998")
            .unwrap();
    assert_eq!(
        (cand.typ, cand.rest),
        ("srflx", "raddr 10.0.1.1 rport 8998")
    );
    assert_eq!(
        cand.to_string(),
        "2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998"
    );
    assert!(Candidate::parse("1 1 UDP").is_err());
    assert!(Rtcp::parse("x").is_err());
    assert_eq!(
        Rtcp::parse("53020 IN IP6 2001:2345:6789:ABCD:EF01:2345:6789:ABCD")
            .unwrap()
            .port,
        53020
    );
}

#[test]
fn trailing_spaces_are_tolerated_and_kept() {
    let s = "v=0\r\no=- 1 1 IN IP4 192.0.2.1 \r\ns=-\r\nc=IN IP4 192.0.2.1 \r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 \r\na=rtpmap:8 PCMA/8000 \r\na=ptime:20 \r\na=rtcp:4001 \r\na=sendrecv \r\n";
    let sdp = parse(s);
    assert_eq!(sdp.to_string(), s);
    let m = &sdp.media()[0];
    assert_eq!(
        (m.ptime(), m.rtcp().unwrap().port, m.direction()),
        (Some(20), 4001, Some(Direction::SendRecv))
    );
    assert_eq!(sdp.connection().unwrap().0.address, "192.0.2.1");
}

#[test]
fn hostile_format_lists_stay_cheap() {
    // Near the size limit: 12 000 repeated formats and 1 500 rtpmap lines.
    let mut s = String::from("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP");
    for i in 0..12_000 {
        s.push_str(if i % 2 == 0 { " 0" } else { " 96" });
    }
    s.push_str("\r\n");
    for _ in 0..1_500 {
        s.push_str("a=rtpmap:96 X/8000\r\n");
    }
    assert!(s.len() <= MAX_SDP_LEN, "{}", s.len());
    let mut sdp = parse(&s);
    let m = sdp.media_mut(0).unwrap();
    assert_eq!(
        m.matching_payload_types(&[CodecSpec::parse("all")]),
        [0, 96]
    );
    assert_eq!(m.retain_codecs(&[CodecSpec::parse("PCMU")]).unwrap(), [96]);
    assert_eq!(m.media_line().unwrap().formats.len(), 6_000);
    assert_eq!(m.rtpmaps().count(), 0);
}
