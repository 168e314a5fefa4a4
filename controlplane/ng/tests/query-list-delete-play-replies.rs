//! The replies of query, list, delete and play media have the shapes
//! Kamailio's module reads.

#![allow(clippy::disallowed_methods)] // tests own the clock

mod common;
use common::*;
use std::time::Instant;
use tandem_ng::bencode::Node;

#[test]
fn query_list_delete_play() {
    let mut srv = server();
    let now = Instant::now();
    let _ = srv
        .handle_request(now, &kamailio_offer("o1", "call-q", CALLER_SDP))
        .unwrap();

    let (_, r) = reply(
        &srv.handle_request(
            now,
            &msg(
                "q1",
                &d(&[("command", s("query")), ("call-id", s("call-q"))]),
            ),
        )
        .unwrap(),
    );
    assert_eq!(text(r.get("result")), "ok");
    let rtp = r.get("totals").and_then(|t| t.get("RTP")).unwrap();
    assert_eq!(rtp.get("packets"), Some(&Node::Int(705)));
    let tag = r.get("tags").and_then(|t| t.get("as8d7f")).unwrap();
    assert_eq!(text(tag.get("label")), "caller");
    let Some(Node::List(medias)) = tag.get("medias") else {
        panic!()
    };
    let Some(Node::List(streams)) = medias[0].get("streams") else {
        panic!()
    };
    assert_eq!(streams[0].get("SSRC"), Some(&Node::Int(0x1122_3344)));
    assert_eq!(
        text(streams[0].get("endpoint").and_then(|e| e.get("family"))),
        "IPv4"
    );
    let mos = r
        .get("SSRC")
        .and_then(|s| s.get("287454020"))
        .and_then(|s| s.get("average MOS"))
        .unwrap();
    assert_eq!(mos.get("MOS"), Some(&Node::Int(0)));

    let (_, r) = reply(
        &srv.handle_request(now, &msg("l1", &d(&[("command", s("list"))])))
            .unwrap(),
    );
    assert_eq!(r.get("calls"), Some(&Node::str_list(["call-q"])));

    let (_, r) = reply(
        &srv.handle_request(
            now,
            &msg(
                "p1",
                &d(&[
                    ("command", s("play media")),
                    ("call-id", s("call-q")),
                    ("from-tag", s("as8d7f")),
                    ("file", s("/srv/moh.wav")),
                    ("repeat-times", "i3e".into()),
                ]),
            ),
        )
        .unwrap(),
    );
    assert_eq!(r.get("duration"), Some(&Node::Int(3000)));
    assert_eq!(srv.control().played, ["/srv/moh.wav"]);

    let (_, r) = reply(
        &srv.handle_request(
            now,
            &msg(
                "d1",
                &d(&[
                    ("command", s("delete")),
                    ("call-id", s("call-q")),
                    ("from-tag", s("as8d7f")),
                ]),
            ),
        )
        .unwrap(),
    );
    assert_eq!(text(r.get("result")), "ok");
    assert!(r.get("totals").is_some());

    // Deleting again: a warning, not an error, unless `fatal`.
    let (_, r) = reply(
        &srv.handle_request(
            now,
            &msg(
                "d2",
                &d(&[("command", s("delete")), ("call-id", s("call-q"))]),
            ),
        )
        .unwrap(),
    );
    assert_eq!(text(r.get("result")), "ok");
    assert_eq!(text(r.get("warning")), "Unknown call-id");
    let (_, r) = reply(
        &srv.handle_request(
            now,
            &msg(
                "d3",
                &d(&[
                    ("command", s("delete")),
                    ("call-id", s("call-q")),
                    ("flags", l(&["fatal"])),
                ]),
            ),
        )
        .unwrap(),
    );
    assert_eq!(text(r.get("result")), "error");

    // `fast`: no statistics.
    let _ = srv
        .handle_request(now, &kamailio_offer("o2", "call-f", CALLER_SDP))
        .unwrap();
    let (_, r) = reply(
        &srv.handle_request(
            now,
            &msg(
                "d4",
                &d(&[
                    ("command", s("delete")),
                    ("call-id", s("call-f")),
                    ("flags", l(&["fast"])),
                ]),
            ),
        )
        .unwrap(),
    );
    assert!(r.get("totals").is_none());
}

#[test]
fn parsed_request_fields() {
    use tandem_ng::request::*;
    let raw = kamailio_offer("x", "cid", CALLER_SDP);
    let (_, body) = tandem_ng::server::split_message(&raw).unwrap();
    let v = tandem_ng::bencode::decode(body, Default::default()).unwrap();
    let Request::Offer(o) = parse_request(&v).unwrap() else {
        panic!()
    };
    assert_eq!(o.call.call_id, "cid");
    assert_eq!(o.call.from_tag, Some("as8d7f"));
    assert_eq!(o.call.via_branch, Some("z9hG4bK776asdhds"));
    assert!(o.flags.trust_address);
    assert!(o.replace.origin && o.replace.session_connection);
    assert_eq!(o.ice, Some(IceMode::Remove));
    assert_eq!(o.transport_protocol, Some(TransportProtocol::RtpAvp));
    assert_eq!(o.received_from, Some(ip("198.51.100.10")));
    assert_eq!(o.sip_message_type, Some("sip_request"));

    let items = parse_rtpp_flags("a b=c d=[e f] codec=[strip=[G] offer=[H I]]").unwrap();
    assert_eq!(items.len(), 4);
    assert!(parse_rtpp_flags("a=[b").is_err());
    assert!(parse_rtpp_flags("a]").is_err());
    assert!(parse_rtpp_flags(&"x=[".repeat(20)).is_err());
}
