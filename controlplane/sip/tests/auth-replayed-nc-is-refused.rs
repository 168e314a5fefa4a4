//! A captured Authorization replayed with the same nonce and nc is refused;
//! the next nc on the same nonce is accepted, and the number of nonces the
//! server tracks stays bounded without reopening replays.

use std::time::{Duration, SystemTime};

use rsip::Request;
use tandem_sip::auth::{
    Algorithm, Credentials, DigestClient, DigestServer, DigestServerConfig, Secret, Verdict,
};

fn t(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
}

fn options(cseq: u32) -> Request {
    Request::try_from(format!(
        "OPTIONS sip:gw.example.com SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK{cseq}\r\n\
         From: <sip:alice@example.com>;tag=1\r\nTo: <sip:gw.example.com>\r\n\
         Call-ID: c\r\nCSeq: {cseq} OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ))
    .unwrap()
}

fn lookup(user: &str, _: &str, _: Algorithm) -> Option<Secret> {
    (user == "alice").then(|| Secret::Password("pw".into()))
}

#[test]
fn same_nc_twice_is_refused_next_nc_is_fine() {
    let mut server =
        DigestServer::new(DigestServerConfig::new("gw.example.com", b"k".to_vec())).unwrap();
    let mut client = DigestClient::new();
    client
        .handle_challenge(&server.challenge_response(t(0), &options(1), false))
        .unwrap();
    let creds = |_: &str| Some(Credentials::new("alice", "pw"));
    let mut n = 0;
    let mut cnonce = || {
        n += 1;
        format!("c{n}")
    };

    let mut first = options(2);
    client.authorize(&mut first, creds, &mut cnonce).unwrap();
    assert!(matches!(
        server.verify(t(1), &first, lookup).unwrap(),
        Verdict::Authorized { .. }
    ));
    // The replay: same nonce, same nc.
    assert_eq!(
        server.verify(t(2), &first, lookup).unwrap(),
        Verdict::Challenge { stale: true }
    );

    let mut second = options(3);
    client.authorize(&mut second, creds, &mut cnonce).unwrap();
    assert!(second.to_string().contains("nc=00000002"));
    assert!(matches!(
        server.verify(t(3), &second, lookup).unwrap(),
        Verdict::Authorized { .. }
    ));
}

#[test]
fn evicted_nonces_become_stale_instead_of_replayable() {
    let mut config = DigestServerConfig::new("gw.example.com", b"k".to_vec());
    config.max_tracked_nonces = 2;
    let mut server = DigestServer::new(config).unwrap();
    let creds = |_: &str| Some(Credentials::new("alice", "pw"));
    let mut cnonce = || "x".to_owned();
    let mut requests = Vec::new();
    for i in 0..3 {
        let mut client = DigestClient::new();
        client
            .handle_challenge(&server.challenge_response(t(i), &options(1), false))
            .unwrap();
        let mut r = options(2);
        client.authorize(&mut r, creds, &mut cnonce).unwrap();
        assert!(matches!(
            server.verify(t(10), &r, lookup).unwrap(),
            Verdict::Authorized { .. }
        ));
        requests.push(r);
    }
    // The first nonce was evicted to make room; replaying it is stale.
    assert_eq!(
        server.verify(t(11), &requests[0], lookup).unwrap(),
        Verdict::Challenge { stale: true }
    );
    assert_eq!(
        server.verify(t(11), &requests[2], lookup).unwrap(),
        Verdict::Challenge { stale: true }
    );
}

#[test]
fn malformed_authorization_is_a_400_not_a_panic() {
    let mut server =
        DigestServer::new(DigestServerConfig::new("gw.example.com", b"k".to_vec())).unwrap();
    for value in [
        "Digest username=\"alice\"",
        "Digest username=\"alice\", realm=\"gw.example.com\", nonce=\"n\", uri=\"sip:gw.example.com\", response=\"r\", qop=auth",
        "Digest realm=\"gw.example.com\", nc=zz",
        "Digest \"",
        "Digest username=\"a\", realm=\"gw.example.com\", nonce=\"n\", uri=\"sip:x\", response=\"r\", qop=auth, nc=00000001, cnonce=\"c\"",
    ] {
        let mut r = options(1);
        r.headers.push(rsip::Header::Authorization(value.into()));
        let err = server.verify(t(0), &r, lookup).unwrap_err();
        assert_eq!(err.to_sip_status(), Some(400), "{value}: {err}");
    }
}
