//! RFC 7616 §3.9.1: the server offers SHA-256 and MD5 for the same nonce;
//! the client picks SHA-256, and both responses reproduce the RFC's.

use rsip::Response;
use tandem_sip::auth::{Algorithm, Challenge, ChallengeKind, Credentials};

const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

fn challenge(algorithm: &str) -> String {
    format!(
        "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", \
         algorithm={algorithm}, nonce=\"{NONCE}\", opaque=\"{OPAQUE}\""
    )
}

fn answer(c: &Challenge) -> String {
    c.answer(
        &Credentials::new("Mufasa", "Circle of Life"),
        "GET",
        "/dir/index.html",
        b"",
        CNONCE,
        1,
    )
    .response
}

#[test]
fn sha256_response_matches_the_rfc() {
    let c = Challenge::parse_all(&challenge("SHA-256")).unwrap();
    assert_eq!(c[0].algorithm, Algorithm::Sha256);
    assert_eq!(
        answer(&c[0]),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
}

#[test]
fn md5_response_matches_the_rfc() {
    let c = Challenge::parse_all(&challenge("MD5")).unwrap();
    assert_eq!(c[0].algorithm, Algorithm::Md5);
    assert_eq!(answer(&c[0]), "8ca523f5e9506fed4657c9700eebdbec");
}

#[test]
fn client_prefers_sha256_when_both_are_offered() {
    // MD5 first, to show the choice is by strength, not order.
    let text = format!(
        "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
         From: <sip:a@example.org>;tag=1\r\nTo: <sip:b@example.org>;tag=2\r\n\
         Call-ID: c\r\nCSeq: 1 INVITE\r\nWWW-Authenticate: {}\r\n\
         WWW-Authenticate: {}\r\nContent-Length: 0\r\n\r\n",
        challenge("MD5"),
        challenge("SHA-256")
    );
    let response = Response::try_from(text.as_str()).unwrap();
    let all = Challenge::of_response(&response).unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|(k, _)| *k == ChallengeKind::Www));

    let mut client = tandem_sip::auth::DigestClient::new();
    client.handle_challenge(&response).unwrap();
    let mut request = rsip::Request::try_from(
        "INVITE sip:b@example.org SIP/2.0\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    let mut cnonce = || CNONCE.to_owned();
    client
        .authorize(
            &mut request,
            |_| Some(Credentials::new("Mufasa", "Circle of Life")),
            &mut cnonce,
        )
        .unwrap();
    let text = request.to_string();
    assert!(text.contains("algorithm=SHA-256"), "{text}");
    assert!(text.contains("nc=00000001"), "{text}");
    assert!(text.contains(&format!("opaque=\"{OPAQUE}\"")), "{text}");
}
