//! A request retransmitted with the same cookie is answered from the cache
//! and not executed again; the cache expires and is bounded.

#![allow(clippy::disallowed_methods)] // tests own the clock

mod common;
use common::*;
use std::time::{Duration, Instant};
use tandem_ng::{NgConfig, NgServer};

#[test]
fn same_cookie_same_reply_once_executed() {
    let mut srv = server();
    let t0 = Instant::now();
    let req = kamailio_offer("77_1_1", "call-r", CALLER_SDP);
    let first = srv.handle_request(t0, &req).unwrap();
    let again = srv
        .handle_request(t0 + Duration::from_secs(1), &req)
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(srv.control().offers, 1);
    assert_eq!(srv.counters().retransmissions, 1);
    // After the TTL the cookie is forgotten; a new request is executed.
    assert_eq!(srv.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    srv.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(srv.cached_replies(), 0);
    let third = srv
        .handle_request(t0 + Duration::from_secs(31), &req)
        .unwrap();
    assert_ne!(first, third); // new ports
    assert_eq!(srv.control().offers, 2);
}

#[test]
fn cache_is_bounded() {
    let config = NgConfig {
        cache_capacity: 3,
        ..NgConfig::default()
    };
    let mut srv = NgServer::new(FakeEngine::default(), config);
    let now = Instant::now();
    for i in 0..10 {
        let _ = srv.handle_request(now, format!("c{i} d7:command4:pinge").as_bytes());
    }
    assert_eq!(srv.cached_replies(), 3);
    // The oldest went first: c0 is executed again, c9 is a retransmission.
    let _ = srv.handle_request(now, b"c9 d7:command4:pinge");
    assert_eq!(srv.counters().retransmissions, 1);
    let _ = srv.handle_request(now, b"c0 d7:command4:pinge");
    assert_eq!(srv.counters().retransmissions, 1);
    assert_eq!(
        srv.counters()
            .requests_for(tandem_ng::request::Command::Ping),
        11
    );
}

#[test]
fn cache_is_bounded_in_bytes() {
    let config = NgConfig {
        cache_max_bytes: 100,
        ..NgConfig::default()
    };
    let mut srv = NgServer::new(FakeEngine::default(), config);
    let now = Instant::now();
    for i in 0..10 {
        let _ = srv.handle_request(now, format!("cookie{i} d7:command4:pinge").as_bytes());
    }
    // Each entry is the cookie (7) and the reply `cookie0 d6:result4:ponge`
    // (24): three fit in 100.
    assert_eq!(srv.cached_replies(), 3);
    assert_eq!(srv.cached_bytes(), 93);
    // An offer's reply (hundreds of octets) does not fit at all.
    let _ = srv.handle_request(now, &kamailio_offer("big", "c", CALLER_SDP));
    assert_eq!(srv.cached_replies(), 3);
    srv.handle_timeout(now + Duration::from_secs(30));
    assert_eq!((srv.cached_replies(), srv.cached_bytes()), (0, 0));
}
