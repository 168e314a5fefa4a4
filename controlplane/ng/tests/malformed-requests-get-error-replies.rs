//! Bad input gets an error reply naming the problem (or nothing, when there
//! is no cookie to answer to), a counter, and never a panic.

#![allow(clippy::disallowed_methods)] // tests own the clock

mod common;
use common::*;
use std::time::Instant;

fn error_of(srv: &mut tandem_ng::NgServer<FakeEngine>, m: &[u8]) -> String {
    let (_, r) = reply(&srv.handle_request(Instant::now(), m).expect("a reply"));
    assert_eq!(text(r.get("result")), "error", "{r:?}");
    text(r.get("error-reason"))
}

#[test]
fn error_replies() {
    let mut srv = server();
    let cases: &[(&[u8], &str)] = &[
        (
            b"1 d7:command4:ping",
            "Failed to decode bencode dictionary: bencode: truncated at offset 16",
        ),
        (b"2 i3e", "Could not decode dictionary"),
        (b"3 d4:sdpsi1ee", "No command in message"),
        (b"4 d7:command5:dancee", "Unrecognized command 'dance'"),
        (b"5 d7:command5:offere", "No sdp in message"),
        (
            b"6 d7:command5:offer3:sdp3:v=07:call-id1:ce",
            "No from-tag in message",
        ),
        (
            b"7 d7:command5:offer3:sdp3:v=07:call-id1:c8:from-tag1:fe",
            "Failed to parse SDP: SDP: missing mandatory `o=` line",
        ),
        (
            b"8 d7:command5:query7:call-idi5ee",
            "Wrong type for key 'call-id': expected string",
        ),
        (
            b"9 d7:command5:offer5:flagsi1ee",
            "Wrong type for key 'flags': expected list of strings",
        ),
        (
            b"10 d7:command4:list5:limit1:xe",
            "Invalid value for key 'limit': not an integer",
        ),
        (
            b"11 d7:command14:stop recording7:call-id1:ce",
            "Command 'stop recording' not supported",
        ),
        (
            b"12 d7:command10:play media7:call-id1:ce",
            "No file, blob or db-id in message",
        ),
        (
            b"13 d7:command9:play DTMF7:call-id1:c4:code1:Xe",
            "Invalid value for key 'code': not a DTMF digit",
        ),
    ];
    for (m, want) in cases {
        assert_eq!(
            error_of(&mut srv, m),
            *want,
            "{}",
            String::from_utf8_lossy(m)
        );
    }
    assert_eq!(srv.counters().errors, cases.len() as u64);
    assert_eq!(srv.counters().parse_failures, cases.len() as u64 - 1);
}

#[test]
fn no_cookie_no_reply() {
    let mut srv = server();
    assert!(
        srv.handle_request(Instant::now(), b"d7:command4:pinge")
            .is_none()
    );
    assert!(
        srv.handle_request(Instant::now(), b" d7:command4:pinge")
            .is_none()
    );
    assert!(srv.handle_request(Instant::now(), b"").is_none());
    assert_eq!(srv.counters().parse_failures, 3);
}

#[test]
fn unknown_keys_are_ignored() {
    let mut srv = server();
    let (_, r) = reply(
        &srv.handle_request(Instant::now(), b"x d7:command4:ping5:x-fooli1eee")
            .unwrap(),
    );
    assert_eq!(text(r.get("result")), "pong");
}
