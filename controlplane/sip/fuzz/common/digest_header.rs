//! The checks the `digest_header` fuzz target runs on one input, kept out
//! of `exercise.rs` so a replay test can include it on its own.
//!
//! One input is one header value (UTF-8; other inputs are skipped). It is
//! read as all three kinds of digest header (RFC 7616, RFC 3261 §22):
//! 1. `Challenge::parse_all` (`WWW-Authenticate`): every challenge prints
//!    to a value that parses back to it, and its answer prints to an
//!    `Authorization` that parses back to that answer;
//! 2. the same value in a 401 goes to a `DigestClient`, which must then
//!    authorize an INVITE with `Authorization` values that parse;
//! 3. `DigestCredentials::parse` (`Authorization`): credentials print to a
//!    value that parses back to them (when their `response` is a token,
//!    see the README's findings);
//! 4. `DigestServer::verify` on an INVITE with the value spliced in as an
//!    `Authorization` line (a UAS) and as a `Proxy-Authorization` line (a
//!    proxy), each twice: an error is always a 400, and what was
//!    authorized once is a replay the second time (`stale=true`);
//! 5. the credentials re-signed with the right `response` for a known
//!    user: with the nonce the server issues at the fixed clock, qop=auth,
//!    an offered algorithm and the Request-URI, verify must authorize them,
//!    then refuse the replay.
//!
//! The clock is fixed (`NOW`), so seeds can carry a nonce the server
//! accepts (the README says how they were made).

use std::time::{Duration, SystemTime};

use rsip::headers::UntypedHeader;
use rsip::{Header, SipMessage};
use tandem_sip::auth::{
    self, Algorithm, Challenge, Credentials, DigestClient, DigestCredentials, DigestServer,
    DigestServerConfig, Qop, ResponseInput, Secret, Verdict,
};
use tandem_sip::message;

/// The realm every seed names.
pub(crate) const REALM: &str = "gw.example.com";
/// The key of the servers' nonce HMAC.
pub(crate) const SECRET: &[u8] = b"fuzz-nonce-key";
/// The Request-URI of the INVITE the credentials are spliced into.
pub(crate) const REQUEST_URI: &str = "sip:bob@gw.example.com";
/// Seconds since the epoch of the servers' fixed clock.
pub(crate) const NOW_SECS: u64 = 1_700_000_000;

pub(crate) fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// alice has a password, bob a stored HA1, nobody else exists.
pub(crate) fn lookup(user: &str, realm: &str, alg: Algorithm) -> Option<Secret> {
    match user {
        "alice" => Some(Secret::Password("s3cret".into())),
        "bob" => Some(Secret::Ha1(auth::ha1(alg, "bob", realm, "hunter2"))),
        _ => None,
    }
}

pub(crate) fn server(proxy: bool) -> DigestServer {
    let mut config = DigestServerConfig::new(REALM, SECRET.to_vec());
    config.proxy = proxy;
    DigestServer::new(config).expect("fixed config is valid")
}

pub(crate) fn digest_header(data: &[u8]) {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    challenges(value);
    client(value);
    let parsed = DigestCredentials::parse(value);
    if let Ok(c) = &parsed {
        credentials_round_trip(c);
    }
    for proxy in [false, true] {
        verify_twice(proxy, value);
    }
    if let Ok(c) = parsed {
        resigned(c);
    }
}

/// What a quoted-string field becomes after printing: CR and LF dropped.
fn printed(s: &str) -> String {
    s.replace(['\r', '\n'], "")
}

fn challenges(value: &str) {
    let Ok(all) = Challenge::parse_all(value) else {
        return;
    };
    for c in all {
        let text = c.to_string();
        let again = Challenge::parse_all(&text)
            .unwrap_or_else(|e| panic!("printed challenge does not parse ({e}): {text:?}"));
        let expected = Challenge {
            realm: printed(&c.realm),
            nonce: printed(&c.nonce),
            opaque: c.opaque.as_deref().map(printed),
            ..c.clone()
        };
        assert_eq!(
            again,
            [expected],
            "challenge changed through print: {text:?}"
        );

        let creds = Credentials::new("alice", "s3cret");
        let answer = c.answer(&creds, "INVITE", REQUEST_URI, b"", "0a4f113b", 1);
        let text = answer.to_string();
        let again = DigestCredentials::parse(&text)
            .unwrap_or_else(|e| panic!("our answer does not parse ({e}): {text:?}"));
        let expected = DigestCredentials {
            realm: printed(&answer.realm),
            nonce: printed(&answer.nonce),
            opaque: answer.opaque.as_deref().map(printed),
            ..answer.clone()
        };
        assert_eq!(again, expected, "answer changed through print: {text:?}");
    }
}

fn splice(start_line: &str, header: &str, value: &str) -> Option<SipMessage> {
    let text = format!(
        "{start_line}\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfuzz\r\n\
         Max-Forwards: 70\r\nTo: <{REQUEST_URI}>\r\n\
         From: <sip:alice@example.com>;tag=ft1\r\nCall-ID: fuzz\r\n\
         CSeq: 1 INVITE\r\n{header}: {value}\r\nContent-Length: 0\r\n\r\n"
    );
    message::parse(text.as_bytes()).ok()
}

fn invite(header: &str, value: &str) -> Option<rsip::Request> {
    match splice(&format!("INVITE {REQUEST_URI} SIP/2.0"), header, value)? {
        SipMessage::Request(r) => Some(r),
        SipMessage::Response(_) => None,
    }
}

fn client(value: &str) {
    let Some(SipMessage::Response(unauthorized)) =
        splice("SIP/2.0 401 Unauthorized", "WWW-Authenticate", value)
    else {
        return;
    };
    let mut client = DigestClient::new();
    if client.handle_challenge(&unauthorized).is_err() {
        return;
    }
    let mut request = invite("Subject", "fuzz").expect("fixed INVITE parses");
    let mut n = 0u32;
    let mut cnonce = || {
        n += 1;
        format!("cn{n}")
    };
    let creds = |_: &str| Some(Credentials::new("alice", "s3cret"));
    client
        .authorize(&mut request, creds, &mut cnonce)
        .unwrap_or_else(|e| panic!("a challenge taken in cannot be answered: {e}"));
    let mut count = 0;
    for h in request.headers.iter() {
        if let Header::Authorization(a) = h {
            count += 1;
            DigestCredentials::parse(a.value()).unwrap_or_else(|e| {
                panic!("the client wrote an Authorization that does not parse ({e}): {a}")
            });
        }
    }
    assert!(count > 0, "authorize added no Authorization");
    let wire = message::encode_request(&request);
    message::parse(&wire).unwrap_or_else(|e| panic!("authorized INVITE does not parse ({e})"));
    // What the server makes of it is not asserted (the nonce is not ours).
    let _ = server(false).verify(now(), &request, lookup);
}

fn credentials_round_trip(c: &DigestCredentials) {
    // `response` is printed as it is, unescaped: one with a quote, a
    // backslash, CR or LF does not survive (see the README's findings).
    if c.response.contains(['"', '\\', '\r', '\n']) {
        return;
    }
    let text = c.to_string();
    let again = DigestCredentials::parse(&text)
        .unwrap_or_else(|e| panic!("printed credentials do not parse ({e}): {text:?}"));
    let expected = DigestCredentials {
        username: printed(&c.username),
        realm: printed(&c.realm),
        nonce: printed(&c.nonce),
        uri: printed(&c.uri),
        cnonce: c.cnonce.as_deref().map(printed),
        opaque: c.opaque.as_deref().map(printed),
        ..c.clone()
    };
    assert_eq!(
        again, expected,
        "credentials changed through print: {text:?}"
    );
}

/// Verifies the request twice; returns the first verdict.
fn verify_twice(proxy: bool, value: &str) -> Option<Result<Verdict, auth::AuthError>> {
    let header = if proxy {
        "Proxy-Authorization"
    } else {
        "Authorization"
    };
    let request = invite(header, value)?;
    let mut server = server(proxy);
    let first = server.verify(now(), &request, lookup);
    let second = server.verify(now(), &request, lookup);
    for r in [&first, &second] {
        if let Err(e) = r {
            assert_eq!(
                e.to_sip_status(),
                Some(400),
                "{e:?} is not the peer's fault"
            );
        }
    }
    if let Ok(Verdict::Authorized { .. }) = first {
        assert_eq!(
            second,
            Ok(Verdict::Challenge { stale: true }),
            "a replayed nc was accepted"
        );
    }
    Some(first)
}

/// The credentials with the right `response` for a known user.
fn resigned(c: DigestCredentials) {
    // Print and re-read first, so the digest covers what the server reads.
    let Ok(mut c) = DigestCredentials::parse(&{
        let mut c = c;
        c.response = "0".into();
        c.to_string()
    }) else {
        return;
    };
    let algorithm = c.algorithm.unwrap_or(Algorithm::Md5);
    let Some(secret) = lookup(&c.username, &c.realm, algorithm) else {
        return;
    };
    c.response = auth::compute_response(&ResponseInput {
        algorithm,
        username: &c.username,
        realm: &c.realm,
        secret: &secret,
        nonce: &c.nonce,
        cnonce: c.cnonce.as_deref().unwrap_or(""),
        nc: c.nc.unwrap_or(0),
        qop: c.qop,
        method: "INVITE",
        uri: &c.uri,
        body: b"",
    });
    let value = c.to_string();
    let Some(first) = verify_twice(false, &value) else {
        return;
    };
    let fresh = server(false).nonce(now());
    let must_pass = c.realm == REALM
        && c.nonce == fresh
        && c.qop == Some(Qop::Auth)
        && matches!(algorithm, Algorithm::Md5 | Algorithm::Sha256)
        && c.uri.trim() == REQUEST_URI;
    if must_pass {
        assert_eq!(
            first,
            Ok(Verdict::Authorized {
                username: c.username.clone()
            }),
            "right credentials refused: {value:?}"
        );
    }
}
