//! RFC 2617 §3.5: the "Mufasa" / "Circle Of Life" example reproduces
//! byte for byte, through the challenge parser and the credentials printer.

use tandem_sip::auth::{Challenge, Credentials, DigestCredentials, Qop};

const CHALLENGE: &str = "Digest
                 realm=\"testrealm@host.com\",
                 qop=\"auth,auth-int\",
                 nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",
                 opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";

#[test]
fn response_matches_the_rfc() {
    let challenges = Challenge::parse_all(CHALLENGE).unwrap();
    assert_eq!(challenges.len(), 1);
    let c = &challenges[0];
    assert_eq!(c.realm, "testrealm@host.com");
    assert_eq!(c.qop, [Qop::Auth, Qop::AuthInt]);

    let answer = c.answer(
        &Credentials::new("Mufasa", "Circle Of Life"),
        "GET",
        "/dir/index.html",
        b"",
        "0a4f113b",
        1,
    );
    assert_eq!(answer.response, "6629fae49393a05397450978507c4ef1");
    assert_eq!(answer.qop, Some(Qop::Auth));
    assert_eq!(answer.nc, Some(1));
    assert_eq!(
        answer.opaque.as_deref(),
        Some("5ccc069c403ebaf9f0171e9517f40e41")
    );
}

#[test]
fn the_rfc_authorization_header_parses() {
    let header = "Digest username=\"Mufasa\",
                 realm=\"testrealm@host.com\",
                 nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",
                 uri=\"/dir/index.html\",
                 qop=auth,
                 nc=00000001,
                 cnonce=\"0a4f113b\",
                 response=\"6629fae49393a05397450978507c4ef1\",
                 opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    let parsed = DigestCredentials::parse(header).unwrap();
    assert_eq!(parsed.username, "Mufasa");
    assert_eq!(parsed.nc, Some(1));
    assert_eq!(parsed.cnonce.as_deref(), Some("0a4f113b"));
    assert_eq!(parsed.algorithm, None);
    // What we print parses back to the same thing.
    assert_eq!(
        DigestCredentials::parse(&parsed.to_string()).unwrap(),
        parsed
    );
}
