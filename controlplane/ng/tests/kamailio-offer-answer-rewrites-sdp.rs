//! An offer and an answer as Kamailio's rtpengine module sends them: the
//! SDP comes back with the engine's address and ports, ICE removed, the
//! origin replaced, unknown attributes kept.

#![allow(clippy::disallowed_methods)] // tests own the clock

mod common;
use common::*;
use std::time::Instant;

#[test]
fn offer_then_answer() {
    let mut srv = server();
    let now = Instant::now();
    let out = srv
        .handle_request(
            now,
            &kamailio_offer("5323_1", "a84b4c76e66710@pc33", CALLER_SDP),
        )
        .unwrap();
    let (cookie, r) = reply(&out);
    assert_eq!(cookie, "5323_1");
    assert_eq!(text(r.get("result")), "ok");
    let sdp = text(r.get("sdp"));
    assert_eq!(
        sdp,
        "v=0\r\n\
o=- 3912351210 3912351210 IN IP4 203.0.113.1\r\n\
s=Polycom\r\n\
c=IN IP4 203.0.113.1\r\n\
t=0 0\r\n\
m=audio 30000 RTP/AVP 9 0 8 18 101\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n\
a=x-polycom-keep:1\r\n\
a=rtcp:30001\r\n"
    );
    let out = srv
        .handle_request(
            now,
            &kamailio_answer("5323_2", "a84b4c76e66710@pc33", CALLEE_SDP),
        )
        .unwrap();
    let (_, r) = reply(&out);
    assert_eq!(text(r.get("result")), "ok", "{r:?}");
    let sdp = text(r.get("sdp"));
    assert_eq!(
        sdp,
        "v=0\r\n\
o=callee 2890844527 2890844527 IN IP4 203.0.113.1\r\n\
s=-\r\n\
t=0 0\r\n\
m=audio 30002 RTP/AVP 8 101\r\n\
c=IN IP4 203.0.113.1\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=rtcp-mux\r\n"
    );
    assert_eq!((srv.control().offers, srv.control().answers), (1, 1));
    assert_eq!(
        srv.counters()
            .requests_for(tandem_ng::request::Command::Offer),
        1
    );
}

#[test]
fn answer_for_unknown_call_is_an_error_reply() {
    let mut srv = server();
    let out = srv
        .handle_request(Instant::now(), &kamailio_answer("c1", "nope", CALLEE_SDP))
        .unwrap();
    let (_, r) = reply(&out);
    assert_eq!(text(r.get("result")), "error");
    assert_eq!(text(r.get("error-reason")), "Unknown call-id");
    assert_eq!(srv.counters().errors, 1);
    assert_eq!(srv.counters().parse_failures, 0);
}

#[test]
fn codec_strip_transcode_offer_and_protocol_change() {
    let mut srv = server();
    let m = msg(
        "k1",
        &d(&[
            ("sdp", s(CALLER_SDP)),
            (
                "codec",
                d(&[
                    ("strip", l(&["G729", "PCMU"])),
                    ("transcode", l(&["opus", "PCMA"])),
                    ("offer", l(&["PCMA"])),
                ]),
            ),
            ("transport-protocol", s("RTP/SAVP")),
            ("call-id", s("c2")),
            ("from-tag", s("t1")),
            ("command", s("offer")),
        ]),
    );
    let (_, r) = reply(&srv.handle_request(Instant::now(), &m).unwrap());
    let sdp = text(r.get("sdp"));
    assert!(
        sdp.contains("m=audio 30000 RTP/SAVP 8 9 101 96\r\n"),
        "{sdp}"
    );
    assert!(sdp.contains("a=rtpmap:96 opus/48000/2\r\n"));
    assert!(!sdp.contains("G729") && !sdp.contains("annexb") && !sdp.contains("PCMU"));
    // The engine's own SDES key is added for the SRTP leg.
    assert!(sdp.ends_with("a=rtcp:30001\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19semD0dmgvcmNhbGxlcmtleTEyMzQ1Njc4OTA\r\n"), "{sdp}");
    // The engine saw the outgoing codecs.
    assert_eq!(
        srv.control().last_outgoing_codecs,
        ["PCMA", "G722", "telephone-event", "opus"]
    );
}

#[test]
fn strip_all_except_and_telephone_event() {
    let mut srv = server();
    let m = msg(
        "k2",
        &d(&[
            ("sdp", s(CALLER_SDP)),
            ("call-id", s("c3")),
            ("from-tag", s("t1")),
            ("command", s("offer")),
            (
                "flags",
                l(&[
                    "codec-strip-all",
                    "codec-except-PCMA",
                    "transcode-telephone-event",
                ]),
            ),
        ]),
    );
    let (_, r) = reply(&srv.handle_request(Instant::now(), &m).unwrap());
    let sdp = text(r.get("sdp"));
    assert!(sdp.contains("m=audio 30000 RTP/AVP 8 101\r\n"), "{sdp}");
    // ICE was in the offer and no `ICE` key: the engine gave no
    // credentials, so ICE is removed.
    assert!(!sdp.contains("candidate") && !sdp.contains("ice-"));
}

#[test]
fn ice_force_puts_the_engine_as_only_candidate() {
    let mut srv = server();
    srv.control_mut().with_ice = true;
    let m = msg(
        "k3",
        &d(&[
            ("sdp", s(CALLER_SDP)),
            ("call-id", s("c4")),
            ("from-tag", s("t1")),
            ("command", s("offer")),
            ("ICE", s("force")),
            ("flags", l(&["full-rtcp-attribute"])),
        ]),
    );
    let (_, r) = reply(&srv.handle_request(Instant::now(), &m).unwrap());
    let sdp = text(r.get("sdp"));
    assert!(sdp.contains("a=rtcp:30001 IN IP4 203.0.113.1\r\na=ice-ufrag:tnd1\r\na=ice-pwd:0123456789abcdefghijkl\r\na=candidate:1 1 UDP 2130706431 203.0.113.1 30000 typ host\r\na=candidate:1 2 UDP 2130706430 203.0.113.1 30001 typ host\r\n"), "{sdp}");
    assert!(!sdp.contains("198.51.100.10 49170"));
}

#[test]
fn rejected_video_keeps_port_zero_and_ipv6_media() {
    let mut srv = server();
    let offer = "v=0\r\no=- 1 1 IN IP6 2001:db8::5\r\ns=-\r\nc=IN IP6 2001:db8::5\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\nm=video 5006 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
    let m = msg(
        "k4",
        &d(&[
            ("sdp", s(offer)),
            ("call-id", s("c5")),
            ("from-tag", s("t")),
            ("command", s("offer")),
            ("replace", l(&["origin"])),
            ("flags", l(&["SDP-version"])),
        ]),
    );
    let (_, r) = reply(&srv.handle_request(Instant::now(), &m).unwrap());
    let sdp = text(r.get("sdp"));
    assert!(sdp.contains("c=IN IP4 203.0.113.1\r\n"), "{sdp}");
    assert!(sdp.contains("m=video 0 RTP/AVP 96\r\n"));
    assert!(sdp.contains("o=- 1 1 IN IP4 203.0.113.1\r\n"));
}

#[test]
fn rtpp_flags_string_is_understood() {
    let mut srv = server();
    let m = msg(
        "k5",
        &d(&[
            ("sdp", s(CALLER_SDP)),
            ("call-id", s("c6")),
            ("from-tag", s("t1")),
            ("command", s("offer")),
            (
                "rtpp-flags",
                s(
                    "replace-origin ICE=remove transport-protocol=RTP/AVPF codec=[strip=[G722 G729] offer=[PCMA]] label=caller SDP-version",
                ),
            ),
        ]),
    );
    let (_, r) = reply(&srv.handle_request(Instant::now(), &m).unwrap());
    let sdp = text(r.get("sdp"));
    assert!(sdp.contains("m=audio 30000 RTP/AVPF 8 0 101\r\n"), "{sdp}");
    assert!(
        sdp.contains("o=- 3912351210 3912351210 IN IP4 203.0.113.1\r\n"),
        "{sdp}"
    );
}

#[test]
fn engine_ice_credentials_are_used_only_when_ice_is_wanted() {
    let plain = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    for (sdp_in, ice, want) in [
        (plain, None, false),
        (plain, Some("default"), false),
        (plain, Some("force"), true),
        (CALLER_SDP, None, true),
        (CALLER_SDP, Some("remove"), false),
    ] {
        let mut srv = server();
        srv.control_mut().with_ice = true;
        let mut entries = vec![
            ("sdp", s(sdp_in)),
            ("call-id", s("c")),
            ("from-tag", s("f")),
            ("command", s("offer")),
        ];
        if let Some(i) = ice {
            entries.push(("ICE", s(i)));
        }
        let (_, r) = reply(
            &srv.handle_request(Instant::now(), &msg("i", &d(&entries)))
                .unwrap(),
        );
        let out = text(r.get("sdp"));
        assert_eq!(out.contains("a=ice-ufrag:tnd1\r\n"), want, "{ice:?}: {out}");
        assert!(
            !out.contains("8hhY"),
            "the offerer's ICE never passes: {out}"
        );
    }
}

#[test]
fn zero_address_hold_passes_through_and_ptime_is_set() {
    let hold = "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:30\r\n";
    for (replace, want) in [
        (None, "c=IN IP4 0.0.0.0\r\n"),
        (Some("zero-address"), "c=IN IP4 203.0.113.1\r\n"),
    ] {
        let mut srv = server();
        let mut entries = vec![
            ("sdp", s(hold)),
            ("call-id", s("c")),
            ("from-tag", s("f")),
            ("command", s("offer")),
            ("ptime", s("20")),
        ];
        if let Some(r) = replace {
            entries.push(("replace", l(&[r])));
        }
        let (_, r) = reply(
            &srv.handle_request(Instant::now(), &msg("z", &d(&entries)))
                .unwrap(),
        );
        let out = text(r.get("sdp"));
        assert!(out.contains(want), "{out}");
        assert!(
            out.contains("m=audio 30000 RTP/AVP 0\r\na=rtcp:30001\r\na=ptime:20\r\n")
                || out.contains("a=ptime:20\r\n"),
            "{out}"
        );
        assert!(!out.contains("ptime:30"));
    }
}

#[test]
fn engine_can_restrict_and_reorder_codecs() {
    let mut srv = server();
    srv.control_mut().only_codecs = Some(vec![101, 8, 77]);
    let out = srv
        .handle_request(Instant::now(), &kamailio_offer("r", "c", CALLER_SDP))
        .unwrap();
    let sdp = text(reply(&out).1.get("sdp"));
    assert!(sdp.contains("m=audio 30000 RTP/AVP 101 8\r\n"), "{sdp}");
    assert!(!sdp.contains("G722") && !sdp.contains("PCMU") && !sdp.contains("G729"));
    // A list that keeps nothing leaves the codecs alone.
    srv.control_mut().only_codecs = Some(vec![77]);
    let out = srv
        .handle_request(Instant::now(), &kamailio_offer("r2", "c", CALLER_SDP))
        .unwrap();
    assert!(text(reply(&out).1.get("sdp")).contains("RTP/AVP 9 0 8 18 101\r\n"));
}

#[test]
fn hand_written_captures_replay() {
    // The seed files are datagrams laid out byte for byte as the module
    // sends them (cookie `<server id>_<random>_<seq>`, keys unsorted).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/ng_message");
    let offer = std::fs::read(dir.join("kamailio-offer")).unwrap();
    let answer = std::fs::read(dir.join("kamailio-answer")).unwrap();
    let mut srv = server();
    let now = Instant::now();
    let (cookie, r) = reply(&srv.handle_request(now, &offer).unwrap());
    assert_eq!(cookie, "3_1804289383_1");
    assert!(text(r.get("sdp")).contains("c=IN IP4 203.0.113.1\r\n"));
    let (cookie, r) = reply(&srv.handle_request(now, &answer).unwrap());
    assert_eq!(cookie, "3_846930886_2");
    let sdp = text(r.get("sdp"));
    // The answer's codec dictionary stripped nothing offered (PCMU absent)
    // and added opus and telephone-event only in offers, so it is unchanged.
    assert!(sdp.contains("m=audio 30002 RTP/AVP 8 101\r\n"), "{sdp}");
}
