//! RFC 7616 §3.3: a request whose digest is right but whose nonce has
//! expired is challenged again with stale=true, so the client retries with
//! the new nonce without asking for the password; a wrong password on the
//! same old nonce is not stale.

use std::time::{Duration, SystemTime};

use rsip::Request;
use tandem_sip::auth::{
    Algorithm, Challenge, Credentials, DigestClient, DigestServer, DigestServerConfig, Secret,
    Verdict, ha1,
};

fn t(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
}

fn register() -> Request {
    Request::try_from(
        "REGISTER sip:trunk.example.com SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
         From: <sip:alice@trunk.example.com>;tag=1\r\nTo: <sip:alice@trunk.example.com>\r\n\
         Call-ID: c\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap()
}

fn lookup(user: &str, realm: &str, alg: Algorithm) -> Option<Secret> {
    // The server stores HA1, not the password.
    (user == "alice").then(|| Secret::Ha1(ha1(alg, user, realm, "s3cret")))
}

fn answered(server: &DigestServer, at: SystemTime, password: &str) -> Request {
    let mut request = register();
    let mut client = DigestClient::new();
    client
        .handle_challenge(&server.challenge_response(at, &request, false))
        .unwrap();
    let mut cnonce = || "abcdef".to_owned();
    client
        .authorize(
            &mut request,
            |_| Some(Credentials::new("alice", password)),
            &mut cnonce,
        )
        .unwrap();
    request
}

#[test]
fn expired_nonce_with_right_digest_is_stale() {
    let mut server =
        DigestServer::new(DigestServerConfig::new("trunk.example.com", b"k".to_vec())).unwrap();
    let request = answered(&server, t(0), "s3cret");
    // Within the 300 s lifetime: accepted.
    assert_eq!(
        server.verify(t(299), &request, lookup).unwrap(),
        Verdict::Authorized {
            username: "alice".into()
        }
    );
    let request = answered(&server, t(0), "s3cret");
    assert_eq!(
        server.verify(t(301), &request, lookup).unwrap(),
        Verdict::Challenge { stale: true }
    );

    // The 401 for it says stale=TRUE, and the client takes the new nonce
    // without reporting rejected credentials.
    let unauthorized = server.challenge_response(t(301), &request, true);
    let text = unauthorized.to_string();
    assert!(text.starts_with("SIP/2.0 401"), "{text}");
    assert!(text.contains("stale=TRUE"), "{text}");
    let challenges = Challenge::of_response(&unauthorized).unwrap();
    assert!(challenges.iter().all(|(_, c)| c.stale));
}

#[test]
fn expired_nonce_with_wrong_password_is_not_stale() {
    let mut server =
        DigestServer::new(DigestServerConfig::new("trunk.example.com", b"k".to_vec())).unwrap();
    let request = answered(&server, t(0), "wrong");
    assert_eq!(
        server.verify(t(301), &request, lookup).unwrap(),
        Verdict::Challenge { stale: false }
    );
}

#[test]
fn stale_challenge_lets_the_client_retry_and_a_plain_one_means_rejected() {
    let server =
        DigestServer::new(DigestServerConfig::new("trunk.example.com", b"k".to_vec())).unwrap();
    let mut request = register();
    let mut client = DigestClient::new();
    client
        .handle_challenge(&server.challenge_response(t(0), &request, false))
        .unwrap();
    let mut cnonce = || "abcdef".to_owned();
    let creds = |_: &str| Some(Credentials::new("alice", "s3cret"));
    client.authorize(&mut request, creds, &mut cnonce).unwrap();
    // stale=true: not a rejection.
    client
        .handle_challenge(&server.challenge_response(t(400), &request, true))
        .unwrap();
    client.authorize(&mut request, creds, &mut cnonce).unwrap();
    // Only one Authorization for the realm, on the new nonce, nc restarted.
    let text = request.to_string();
    assert_eq!(text.matches("Authorization:").count(), 1, "{text}");
    assert!(text.contains("nc=00000001"), "{text}");
    // A plain challenge after we answered: the password was refused.
    let err = client
        .handle_challenge(&server.challenge_response(t(401), &request, false))
        .unwrap_err();
    assert!(
        matches!(err, tandem_sip::auth::AuthError::CredentialsRejected { .. }),
        "{err}"
    );
}

#[test]
fn forged_nonce_is_not_stale() {
    let mut server =
        DigestServer::new(DigestServerConfig::new("trunk.example.com", b"k".to_vec())).unwrap();
    let other = DigestServer::new(DigestServerConfig::new(
        "trunk.example.com",
        b"other".to_vec(),
    ))
    .unwrap();
    let request = answered(&other, t(0), "s3cret");
    assert_eq!(
        server.verify(t(1), &request, lookup).unwrap(),
        Verdict::Challenge { stale: false }
    );
}
