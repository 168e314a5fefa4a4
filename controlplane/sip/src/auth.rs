//! HTTP digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616).
//!
//! Trunks authenticate with digest: the server answers 401 (or 407 for a
//! proxy) with a challenge, and the client repeats the request with an
//! `Authorization` (or `Proxy-Authorization`) computed from the challenge's
//! nonce and a shared password.
//!
//! Client side:
//! - [`Challenge::parse_all`] reads a `WWW-Authenticate`/`Proxy-Authenticate`
//!   value: quoted strings with escapes, several challenges in one value
//!   (RFC 7235 §4.1), algorithms MD5, MD5-sess, SHA-256 and SHA-256-sess
//!   (RFC 7616 §3.3; others are skipped), qop `auth`/`auth-int`.
//! - [`DigestClient`] keeps the challenges of a 401/407, picks the strongest
//!   algorithm we support per realm, counts `nc` per nonce (RFC 7616 §3.4),
//!   takes each `cnonce` from a caller-provided source, and adds the header
//!   to the retried request. A fresh challenge for a realm we already
//!   answered, without `stale=true`, means the password was refused
//!   ([`AuthError::CredentialsRejected`]) rather than a loop.
//!
//! Server side:
//! - [`DigestServer`] issues challenges with stateless nonces: a timestamp
//!   and an HMAC-SHA-256 of it under a secret, so any node holding the
//!   secret can check them and nothing is stored per challenge. A nonce
//!   older than its lifetime whose digest is otherwise right gets a new
//!   challenge with `stale=true` (RFC 7616 §3.3), so the client retries
//!   without asking its user.
//! - [`DigestServer::verify`] checks an `Authorization` against a credential
//!   lookup (password or HA1) and refuses a replayed `nc` for the same nonce
//!   with a sliding window per nonce; the number of nonces tracked is
//!   bounded.
//!
//! # Time and I/O
//!
//! Nonces carry wall-clock time, so the server takes `now: SystemTime` as an
//! argument (nonces must survive restarts and be checkable by other nodes,
//! which a monotonic `Instant` cannot give). No clock is read here.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use tandem_sip::auth::{Algorithm, Credentials, DigestClient, DigestServer, DigestServerConfig, Secret, Verdict};
//!
//! # fn run(mut invite: rsip::Request) -> Result<(), tandem_sip::auth::AuthError> {
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let mut server = DigestServer::new(DigestServerConfig::new("trunk.example.com", b"k3y".to_vec()))?;
//! // No credentials yet: challenge.
//! let lookup = |user: &str, _realm: &str, _alg: Algorithm| {
//!     (user == "alice").then(|| Secret::Password("s3cret".into()))
//! };
//! assert_eq!(server.verify(now, &invite, lookup)?, Verdict::Challenge { stale: false });
//! let unauthorized = server.challenge_response(now, &invite, false);
//!
//! // The client answers the 401 and retries.
//! let mut client = DigestClient::new();
//! client.handle_challenge(&unauthorized)?;
//! let mut counter = 0u32;
//! let mut cnonce = || { counter += 1; format!("cn{counter}") };
//! let creds = |_realm: &str| Some(Credentials::new("alice", "s3cret"));
//! client.authorize(&mut invite, creds, &mut cnonce)?;
//! assert_eq!(server.verify(now, &invite, lookup)?, Verdict::Authorized { username: "alice".into() });
//! # Ok(())
//! # }
//! # let invite = rsip::Request::try_from(
//! #     "INVITE sip:bob@trunk.example.com SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
//! #      From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@trunk.example.com>\r\n\
//! #      Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").unwrap();
//! # run(invite).unwrap();
//! ```

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::time::{Duration, SystemTime};

use md5::Md5;
use rsip::headers::UntypedHeader;
use rsip::{Header, Request, Response};
use sha2::{Digest, Sha256};

use crate::message;

/// Longest header value the parser looks at; real challenges are < 1 KiB.
const MAX_VALUE_LEN: usize = 8 * 1024;
/// Most auth-params in one value; RFC 7616 defines about a dozen.
const MAX_PARAMS: usize = 64;

/// Digest algorithms we support (RFC 7616 §3.3, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// MD5 (RFC 2617), the default when a challenge names none.
    Md5,
    /// MD5-sess.
    Md5Sess,
    /// SHA-256 (RFC 7616).
    Sha256,
    /// SHA-256-sess.
    Sha256Sess,
}

impl Algorithm {
    /// The token as written in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Parses a token, case-insensitively; `None` for algorithms we lack
    /// (SHA-512-256 and unknown ones).
    pub fn parse(token: &str) -> Option<Self> {
        [Self::Md5, Self::Md5Sess, Self::Sha256, Self::Sha256Sess]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(token))
    }

    /// Whether HA1 includes the nonce and cnonce (the `-sess` variants).
    pub fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// Preference when a server offers several: SHA-256 over MD5; within a
    /// hash, the plain variant, which lets a server store HA1.
    fn strength(self) -> u8 {
        match self {
            Self::Md5Sess => 0,
            Self::Md5 => 1,
            Self::Sha256Sess => 2,
            Self::Sha256 => 3,
        }
    }

    /// `H(data)` in lower-case hex (RFC 7616 §3.4.1).
    pub fn hash_hex(self, data: &[u8]) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hex(&Md5::digest(data)),
            Self::Sha256 | Self::Sha256Sess => hex(&Sha256::digest(data)),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Quality of protection (RFC 7616 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// Authentication only.
    Auth,
    /// Authentication with integrity of the body.
    AuthInt,
}

impl Qop {
    /// The token as written in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::AuthInt => "auth-int",
        }
    }

    fn parse(token: &str) -> Option<Self> {
        if token.eq_ignore_ascii_case("auth") {
            Some(Self::Auth)
        } else if token.eq_ignore_ascii_case("auth-int") {
            Some(Self::AuthInt)
        } else {
            None
        }
    }
}

/// Which pair of headers a challenge came in (RFC 3261 §22.2, §22.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeKind {
    /// 401 `WWW-Authenticate`, answered with `Authorization`.
    Www,
    /// 407 `Proxy-Authenticate`, answered with `Proxy-Authorization`.
    Proxy,
}

/// One digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection space.
    pub realm: String,
    /// The server's nonce.
    pub nonce: String,
    /// Returned unchanged by the client.
    pub opaque: Option<String>,
    /// The hash algorithm; MD5 when the challenge names none.
    pub algorithm: Algorithm,
    /// The qop values offered; empty for an RFC 2069 challenge.
    pub qop: Vec<Qop>,
    /// The previous nonce expired but the credentials were right.
    pub stale: bool,
}

impl Challenge {
    /// Parses a `WWW-Authenticate`/`Proxy-Authenticate` value, which may
    /// hold several challenges. Challenges of other schemes (Basic, ...)
    /// and digest challenges with an algorithm we lack are left out; a
    /// syntax error fails the whole value.
    pub fn parse_all(value: &str) -> Result<Vec<Self>, AuthError> {
        let mut out = Vec::new();
        for (scheme, params) in parse_auth_value(value, "WWW-Authenticate")? {
            if !scheme.eq_ignore_ascii_case("Digest") {
                continue;
            }
            if let Some(challenge) = Self::from_params(&params)? {
                out.push(challenge);
            }
        }
        Ok(out)
    }

    fn from_params(params: &[(String, String)]) -> Result<Option<Self>, AuthError> {
        let algorithm = match param(params, "algorithm") {
            None => Algorithm::Md5,
            Some(token) => match Algorithm::parse(token) {
                Some(a) => a,
                None => return Ok(None),
            },
        };
        let qop = match param(params, "qop") {
            None => vec![],
            // Unknown qop values are ignored (RFC 7616 §3.3); a challenge
            // that offers only unknown ones is unusable.
            Some(list) => {
                let qop: Vec<Qop> = list
                    .split(',')
                    .filter_map(|t| Qop::parse(t.trim()))
                    .collect();
                if qop.is_empty() {
                    return Ok(None);
                }
                qop
            }
        };
        Ok(Some(Self {
            realm: required(params, "realm", "WWW-Authenticate")?.to_owned(),
            nonce: required(params, "nonce", "WWW-Authenticate")?.to_owned(),
            opaque: param(params, "opaque").map(str::to_owned),
            algorithm,
            qop,
            stale: param(params, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        }))
    }

    /// Every usable challenge in a 401 or 407.
    pub fn of_response(response: &Response) -> Result<Vec<(ChallengeKind, Self)>, AuthError> {
        let mut out = Vec::new();
        for header in response.headers.iter() {
            let (kind, value) = match header {
                Header::WwwAuthenticate(h) => (ChallengeKind::Www, h.value()),
                Header::ProxyAuthenticate(h) => (ChallengeKind::Proxy, h.value()),
                _ => continue,
            };
            out.extend(Self::parse_all(value)?.into_iter().map(|c| (kind, c)));
        }
        Ok(out)
    }

    /// The answer to this challenge (RFC 7616 §3.4): qop `auth` when offered,
    /// `auth-int` when only that is, none for an RFC 2069 challenge.
    /// `uri` is the Request-URI as sent; `body` matters only for auth-int.
    pub fn answer(
        &self,
        credentials: &Credentials,
        method: &str,
        uri: &str,
        body: &[u8],
        cnonce: &str,
        nc: u32,
    ) -> DigestCredentials {
        let qop = if self.qop.contains(&Qop::Auth) {
            Some(Qop::Auth)
        } else {
            self.qop.first().copied()
        };
        let response = compute_response(&ResponseInput {
            algorithm: self.algorithm,
            username: &credentials.username,
            realm: &self.realm,
            secret: &Secret::Password(credentials.password.clone()),
            nonce: &self.nonce,
            cnonce,
            nc,
            qop,
            method,
            uri,
            body,
        });
        DigestCredentials {
            username: credentials.username.clone(),
            realm: self.realm.clone(),
            nonce: self.nonce.clone(),
            uri: uri.to_owned(),
            response,
            algorithm: Some(self.algorithm),
            cnonce: qop.map(|_| cnonce.to_owned()),
            opaque: self.opaque.clone(),
            qop,
            nc: qop.map(|_| nc),
        }
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest realm=\"{}\"", escape(&self.realm))?;
        if !self.qop.is_empty() {
            let qop: Vec<&str> = self.qop.iter().map(|q| q.as_str()).collect();
            write!(f, ", qop=\"{}\"", qop.join(","))?;
        }
        write!(f, ", algorithm={}", self.algorithm)?;
        write!(f, ", nonce=\"{}\"", escape(&self.nonce))?;
        if let Some(opaque) = &self.opaque {
            write!(f, ", opaque=\"{}\"", escape(opaque))?;
        }
        if self.stale {
            f.write_str(", stale=TRUE")?;
        }
        Ok(())
    }
}

/// A username and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

impl Credentials {
    /// Username and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    // Passwords stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// What a server knows about a user: the password, or HA1 =
/// `H(username:realm:password)` for the algorithm asked ([`ha1`]).
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The clear password.
    Password(String),
    /// HA1 in hex, for the hash of the algorithm the lookup was asked for.
    Ha1(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(..)"),
            Self::Ha1(_) => f.write_str("Ha1(..)"),
        }
    }
}

/// `H(username:realm:password)`, what a server may store instead of the
/// password (RFC 7616 §3.4.2). The `-sess` variants use the same value.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash_hex(format!("{username}:{realm}:{password}").as_bytes())
}

/// The inputs of the digest `response` (RFC 7616 §3.4.1).
#[derive(Debug, Clone, Copy)]
pub struct ResponseInput<'a> {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The username.
    pub username: &'a str,
    /// The realm.
    pub realm: &'a str,
    /// Password or stored HA1.
    pub secret: &'a Secret,
    /// The server nonce.
    pub nonce: &'a str,
    /// The client nonce (unused without qop).
    pub cnonce: &'a str,
    /// The nonce count (unused without qop).
    pub nc: u32,
    /// The qop chosen, `None` for RFC 2069 compatibility.
    pub qop: Option<Qop>,
    /// The request method.
    pub method: &'a str,
    /// The `uri` parameter (the Request-URI).
    pub uri: &'a str,
    /// The body, hashed for auth-int.
    pub body: &'a [u8],
}

/// The `response` parameter in hex.
pub fn compute_response(input: &ResponseInput<'_>) -> String {
    let alg = input.algorithm;
    let base = match input.secret {
        Secret::Password(password) => ha1(alg, input.username, input.realm, password),
        Secret::Ha1(ha1) => ha1.to_ascii_lowercase(),
    };
    let ha1 = if alg.is_session() {
        alg.hash_hex(format!("{base}:{}:{}", input.nonce, input.cnonce).as_bytes())
    } else {
        base
    };
    let ha2 = match input.qop {
        Some(Qop::AuthInt) => {
            let body = alg.hash_hex(input.body);
            alg.hash_hex(format!("{}:{}:{body}", input.method, input.uri).as_bytes())
        }
        _ => alg.hash_hex(format!("{}:{}", input.method, input.uri).as_bytes()),
    };
    match input.qop {
        Some(qop) => alg.hash_hex(
            format!(
                "{ha1}:{}:{:08x}:{}:{}:{ha2}",
                input.nonce,
                input.nc,
                input.cnonce,
                qop.as_str()
            )
            .as_bytes(),
        ),
        None => alg.hash_hex(format!("{ha1}:{}:{ha2}", input.nonce).as_bytes()),
    }
}

/// The digest credentials of an `Authorization`/`Proxy-Authorization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    /// The username.
    pub username: String,
    /// The realm.
    pub realm: String,
    /// The server nonce being answered.
    pub nonce: String,
    /// The digest URI (the Request-URI).
    pub uri: String,
    /// The computed response, hex.
    pub response: String,
    /// The algorithm; absent means MD5.
    pub algorithm: Option<Algorithm>,
    /// Client nonce, with qop.
    pub cnonce: Option<String>,
    /// Copied from the challenge.
    pub opaque: Option<String>,
    /// The qop chosen.
    pub qop: Option<Qop>,
    /// The nonce count, with qop.
    pub nc: Option<u32>,
}

impl DigestCredentials {
    /// Parses an `Authorization`/`Proxy-Authorization` value with the
    /// Digest scheme.
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        const H: &str = "Authorization";
        let mut challenges = parse_auth_value(value, H)?.into_iter();
        let (Some((scheme, params)), None) = (challenges.next(), challenges.next()) else {
            return Err(malformed(H, "expected exactly one credentials value"));
        };
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(malformed(H, "not the Digest scheme"));
        }
        let algorithm = param(&params, "algorithm")
            .map(|a| Algorithm::parse(a).ok_or(malformed(H, "unsupported algorithm")))
            .transpose()?;
        let qop = param(&params, "qop")
            .map(|q| Qop::parse(q.trim()).ok_or(malformed(H, "unknown qop")))
            .transpose()?;
        let nc = param(&params, "nc")
            .map(|nc| {
                if nc.len() == 8 && nc.bytes().all(|b| b.is_ascii_hexdigit()) {
                    u32::from_str_radix(nc, 16).map_err(|_| malformed(H, "bad nc"))
                } else {
                    Err(malformed(H, "nc is not 8 hex digits"))
                }
            })
            .transpose()?;
        let credentials = Self {
            username: required(&params, "username", H)?.to_owned(),
            realm: required(&params, "realm", H)?.to_owned(),
            nonce: required(&params, "nonce", H)?.to_owned(),
            uri: required(&params, "uri", H)?.to_owned(),
            response: {
                // RFC 7616 §3.4: request-digest is a quoted string of hex
                // digits. Anything else is refused here, so the value can
                // be printed back unescaped.
                let r = required(&params, "response", H)?;
                if r.is_empty() || !r.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(malformed(H, "response is not hex digits"));
                }
                r.to_owned()
            },
            algorithm,
            cnonce: param(&params, "cnonce").map(str::to_owned),
            opaque: param(&params, "opaque").map(str::to_owned),
            qop,
            nc,
        };
        if qop.is_some() && (credentials.cnonce.is_none() || nc.is_none()) {
            return Err(malformed(H, "qop without cnonce and nc"));
        }
        Ok(credentials)
    }
}

impl fmt::Display for DigestCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\"",
            escape(&self.username),
            escape(&self.realm),
            escape(&self.nonce),
            escape(&self.uri),
            self.response
        )?;
        if let Some(algorithm) = self.algorithm {
            write!(f, ", algorithm={algorithm}")?;
        }
        if let Some(cnonce) = &self.cnonce {
            write!(f, ", cnonce=\"{}\"", escape(cnonce))?;
        }
        if let Some(opaque) = &self.opaque {
            write!(f, ", opaque=\"{}\"", escape(opaque))?;
        }
        if let Some(qop) = self.qop {
            write!(f, ", qop={}", qop.as_str())?;
        }
        if let Some(nc) = self.nc {
            write!(f, ", nc={nc:08x}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct ClientEntry {
    kind: ChallengeKind,
    challenge: Challenge,
    /// The last nc used with this nonce.
    nc: u32,
    /// Whether we sent credentials for this challenge.
    answered: bool,
}

/// The client side: remembers challenges, answers them on retried
/// requests, counts nc per nonce (RFC 3261 §22.2, §22.3).
#[derive(Debug, Clone, Default)]
pub struct DigestClient {
    entries: Vec<ClientEntry>,
}

/// Realms remembered per client; a server that names more is hostile.
const MAX_REALMS: usize = 8;

impl DigestClient {
    /// No challenges yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in a 401 or 407. For each realm the strongest usable challenge
    /// replaces what we had. A realm we already answered and that is
    /// challenged again without `stale=true` refused our credentials.
    pub fn handle_challenge(&mut self, response: &Response) -> Result<(), AuthError> {
        let code = response.status_code.code();
        if code != 401 && code != 407 {
            return Err(AuthError::Misuse(Misuse::NotAChallenge(code)));
        }
        let mut best: Vec<(ChallengeKind, Challenge)> = Vec::new();
        for (kind, challenge) in Challenge::of_response(response)? {
            match best
                .iter_mut()
                .find(|(k, c)| *k == kind && c.realm == challenge.realm)
            {
                Some(slot) if slot.1.algorithm.strength() < challenge.algorithm.strength() => {
                    *slot = (kind, challenge);
                }
                Some(_) => {}
                None => best.push((kind, challenge)),
            }
        }
        if best.is_empty() {
            return Err(AuthError::PeerMisbehaved(
                PeerMisbehaviour::NoUsableChallenge,
            ));
        }
        for (kind, challenge) in best {
            let full = self.entries.len() >= MAX_REALMS;
            let existing = self
                .entries
                .iter_mut()
                .find(|e| e.kind == kind && e.challenge.realm == challenge.realm);
            match existing {
                Some(entry) if entry.answered && !challenge.stale => {
                    return Err(AuthError::CredentialsRejected {
                        realm: challenge.realm,
                    });
                }
                Some(entry) => {
                    *entry = ClientEntry {
                        kind,
                        challenge,
                        nc: 0,
                        answered: false,
                    };
                }
                None if full => {
                    return Err(AuthError::PeerMisbehaved(PeerMisbehaviour::TooManyRealms));
                }
                None => self.entries.push(ClientEntry {
                    kind,
                    challenge,
                    nc: 0,
                    answered: false,
                }),
            }
        }
        Ok(())
    }

    /// Adds an `Authorization`/`Proxy-Authorization` per remembered realm to
    /// `request` (replacing earlier ones for that realm), each with the next
    /// nc for its nonce and a cnonce from `cnonce`. `credentials` maps a
    /// realm to the username and password for it.
    pub fn authorize(
        &mut self,
        request: &mut Request,
        credentials: impl Fn(&str) -> Option<Credentials>,
        cnonce: &mut dyn FnMut() -> String,
    ) -> Result<(), AuthError> {
        let method = request.method.to_string();
        let uri = request.uri.to_string();
        let mut headers = Vec::new();
        for entry in &mut self.entries {
            let realm = &entry.challenge.realm;
            let creds = credentials(realm).ok_or_else(|| {
                AuthError::Misuse(Misuse::NoCredentials {
                    realm: realm.clone(),
                })
            })?;
            entry.nc = entry
                .nc
                .checked_add(1)
                .ok_or(AuthError::Misuse(Misuse::NonceCountExhausted))?;
            let cnonce = cnonce();
            if cnonce.is_empty() {
                return Err(AuthError::Misuse(Misuse::EmptyCnonce));
            }
            let answer =
                entry
                    .challenge
                    .answer(&creds, &method, &uri, &request.body, &cnonce, entry.nc);
            entry.answered = true;
            headers.push((entry.kind, realm.clone(), answer.to_string()));
        }
        for (kind, realm, value) in headers {
            // An earlier answer for the same realm (from the previous try)
            // must not be sent twice.
            request.headers.retain(|h| match (kind, h) {
                (ChallengeKind::Www, Header::Authorization(a)) => !same_realm(a.value(), &realm),
                (ChallengeKind::Proxy, Header::ProxyAuthorization(a)) => {
                    !same_realm(a.value(), &realm)
                }
                _ => true,
            });
            let header = match kind {
                ChallengeKind::Www => {
                    Header::Authorization(rsip::headers::Authorization::new(value))
                }
                ChallengeKind::Proxy => {
                    Header::ProxyAuthorization(rsip::headers::ProxyAuthorization::new(value))
                }
            };
            // Before Content-Length, which message.rs puts last.
            let mut all: Vec<Header> = std::mem::take(&mut request.headers).into();
            let at = all
                .iter()
                .position(|h| matches!(h, Header::ContentLength(_)))
                .unwrap_or(all.len());
            all.insert(at, header);
            request.headers = all.into();
        }
        Ok(())
    }
}

fn same_realm(value: &str, realm: &str) -> bool {
    DigestCredentials::parse(value).is_ok_and(|c| c.realm == realm)
}

/// Configuration of a [`DigestServer`].
#[derive(Clone)]
pub struct DigestServerConfig {
    /// The realm we challenge for.
    pub realm: String,
    /// The key of the nonce HMAC; share it between nodes that must accept
    /// each other's nonces.
    pub secret: Vec<u8>,
    /// How long a nonce is good for; after that it is stale.
    pub nonce_lifetime: Duration,
    /// Algorithms to offer, in order of preference (RFC 7616 §3.7: one
    /// challenge each).
    pub algorithms: Vec<Algorithm>,
    /// Challenge as a proxy (407, Proxy-Authenticate, Proxy-Authorization).
    pub proxy: bool,
    /// How many nonces' nc windows to keep.
    pub max_tracked_nonces: usize,
}

impl DigestServerConfig {
    /// SHA-256 then MD5, 5-minute nonces, UAS (401), 4096 tracked nonces.
    pub fn new(realm: impl Into<String>, secret: Vec<u8>) -> Self {
        Self {
            realm: realm.into(),
            secret,
            nonce_lifetime: Duration::from_secs(300),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            proxy: false,
            max_tracked_nonces: 4096,
        }
    }
}

impl fmt::Debug for DigestServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestServerConfig")
            .field("realm", &self.realm)
            .field("nonce_lifetime", &self.nonce_lifetime)
            .field("algorithms", &self.algorithms)
            .field("proxy", &self.proxy)
            .field("max_tracked_nonces", &self.max_tracked_nonces)
            .finish_non_exhaustive()
    }
}

/// The server's decision on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Verdict {
    /// The credentials are right, fresh and not replayed.
    Authorized {
        /// Who.
        username: String,
    },
    /// Answer 401/407 with [`DigestServer::challenge_response`].
    Challenge {
        /// Set when the digest was right but the nonce expired or was
        /// already used up: the client retries without its user.
        stale: bool,
    },
}

/// Which nc values of one nonce have been used: the highest, and a bitmap
/// of the 64 below it (the anti-replay window of RFC 4303 §3.4.3).
#[derive(Debug, Clone, Copy)]
struct NcWindow {
    timestamp: u64,
    highest: u32,
    seen: u64,
}

impl NcWindow {
    /// Records `nc`; false if it was used already or fell out of the window.
    fn accept(&mut self, nc: u32) -> bool {
        if nc > self.highest {
            let shift = nc - self.highest;
            self.seen = if shift >= 64 { 0 } else { self.seen << shift };
            self.seen |= 1;
            self.highest = nc;
            return true;
        }
        let back = self.highest - nc;
        if back >= 64 || self.seen & (1 << back) != 0 {
            return false;
        }
        self.seen |= 1 << back;
        true
    }
}

/// The server side: stateless nonces, verification, nc replay window.
#[derive(Debug, Clone)]
pub struct DigestServer {
    config: DigestServerConfig,
    windows: HashMap<String, NcWindow>,
    /// Nonces this old or older were evicted from `windows`; they are
    /// treated as stale so that their nc history cannot be replayed.
    evicted_up_to: Option<u64>,
}

/// Bytes of HMAC kept in a nonce: 128 bits.
const NONCE_MAC_LEN: usize = 16;

impl DigestServer {
    /// A server for `config`.
    pub fn new(config: DigestServerConfig) -> Result<Self, AuthError> {
        if config.secret.is_empty() {
            return Err(AuthError::Misuse(Misuse::EmptySecret));
        }
        if config.algorithms.is_empty() {
            return Err(AuthError::Misuse(Misuse::NoAlgorithms));
        }
        if config.realm.is_empty() || config.max_tracked_nonces == 0 {
            return Err(AuthError::Misuse(Misuse::BadConfig));
        }
        Ok(Self {
            config,
            windows: HashMap::new(),
            evicted_up_to: None,
        })
    }

    /// A fresh nonce: 16 hex digits of seconds since the epoch, then the
    /// truncated HMAC-SHA-256 of them and the realm under the secret.
    pub fn nonce(&self, now: SystemTime) -> String {
        let ts = unix_seconds(now);
        format!("{ts:016x}{}", hex(&self.nonce_mac(ts)))
    }

    fn nonce_mac(&self, ts: u64) -> [u8; NONCE_MAC_LEN] {
        let mut message = ts.to_be_bytes().to_vec();
        message.extend_from_slice(self.config.realm.as_bytes());
        let mac = hmac_sha256(&self.config.secret, &message);
        let mut out = [0; NONCE_MAC_LEN];
        out.copy_from_slice(&mac[..NONCE_MAC_LEN]);
        out
    }

    /// The timestamp of a nonce we issued; `None` if it is not ours.
    fn check_nonce(&self, nonce: &str) -> Option<u64> {
        if nonce.len() != 16 + 2 * NONCE_MAC_LEN || !nonce.is_ascii() {
            return None;
        }
        let ts = u64::from_str_radix(&nonce[..16], 16).ok()?;
        let expected = hex(&self.nonce_mac(ts));
        constant_time_eq(expected.as_bytes(), &nonce.as_bytes()[16..]).then_some(ts)
    }

    /// The challenges to send: one per configured algorithm, qop=auth.
    pub fn challenges(&self, now: SystemTime, stale: bool) -> Vec<Challenge> {
        let nonce = self.nonce(now);
        self.config
            .algorithms
            .iter()
            .map(|&algorithm| Challenge {
                realm: self.config.realm.clone(),
                nonce: nonce.clone(),
                opaque: None,
                algorithm,
                qop: vec![Qop::Auth],
                stale,
            })
            .collect()
    }

    /// The 401 (or 407) answering `request`, with the challenges.
    pub fn challenge_response(&self, now: SystemTime, request: &Request, stale: bool) -> Response {
        let status = if self.config.proxy { 407 } else { 401 };
        // A To tag is needed on a UAS's 401 to a dialog-creating request
        // only if it were to create a dialog; it does not, so none is added.
        let mut response = message::response_to(request, status, None, None);
        let mut headers: Vec<Header> = std::mem::take(&mut response.headers).into();
        let at = headers.len().saturating_sub(1);
        let challenges = self.challenges(now, stale).into_iter().map(|c| {
            if self.config.proxy {
                Header::ProxyAuthenticate(rsip::headers::ProxyAuthenticate::new(c.to_string()))
            } else {
                Header::WwwAuthenticate(rsip::headers::WwwAuthenticate::new(c.to_string()))
            }
        });
        headers.splice(at..at, challenges);
        response.headers = headers.into();
        response
    }

    /// Checks the request's credentials for our realm. `lookup(username,
    /// realm, algorithm)` returns the user's secret (HA1 for that
    /// algorithm's hash, or the password), `None` for an unknown user.
    ///
    /// Errors are for credentials that do not parse or break the digest
    /// rules (answer 400, [`AuthError::to_sip_status`]); wrong passwords,
    /// unknown users, foreign and expired nonces are
    /// [`Verdict::Challenge`].
    pub fn verify(
        &mut self,
        now: SystemTime,
        request: &Request,
        lookup: impl Fn(&str, &str, Algorithm) -> Option<Secret>,
    ) -> Result<Verdict, AuthError> {
        let challenge = Verdict::Challenge { stale: false };
        let mut ours = None;
        for header in request.headers.iter() {
            let value = match (self.config.proxy, header) {
                (false, Header::Authorization(a)) => a.value(),
                (true, Header::ProxyAuthorization(a)) => a.value(),
                _ => continue,
            };
            let credentials = DigestCredentials::parse(value)?;
            if credentials.realm == self.config.realm {
                ours = Some(credentials);
                break;
            }
        }
        let Some(credentials) = ours else {
            return Ok(challenge);
        };
        let algorithm = credentials.algorithm.unwrap_or(Algorithm::Md5);
        if !self.config.algorithms.contains(&algorithm) {
            return Err(AuthError::PeerMisbehaved(
                PeerMisbehaviour::AlgorithmNotOffered(algorithm),
            ));
        }
        // We offer qop=auth only: RFC 2069 answers (no qop) would escape
        // the replay window, and auth-int was not offered.
        let (Some(qop), Some(nc), Some(cnonce)) =
            (credentials.qop, credentials.nc, &credentials.cnonce)
        else {
            return Err(AuthError::PeerMisbehaved(PeerMisbehaviour::QopNotOffered));
        };
        if qop != Qop::Auth {
            return Err(AuthError::PeerMisbehaved(PeerMisbehaviour::QopNotOffered));
        }
        if !same_uri(&credentials.uri, &request.uri) {
            return Err(AuthError::PeerMisbehaved(PeerMisbehaviour::UriMismatch));
        }
        let Some(issued) = self.check_nonce(&credentials.nonce) else {
            return Ok(challenge);
        };
        let Some(secret) = lookup(&credentials.username, &credentials.realm, algorithm) else {
            return Ok(challenge);
        };
        let expected = compute_response(&ResponseInput {
            algorithm,
            username: &credentials.username,
            realm: &credentials.realm,
            secret: &secret,
            nonce: &credentials.nonce,
            cnonce,
            nc,
            qop: Some(qop),
            method: &request.method.to_string(),
            uri: &credentials.uri,
            body: &request.body,
        });
        if !constant_time_eq(
            expected.as_bytes(),
            credentials.response.to_ascii_lowercase().as_bytes(),
        ) {
            return Ok(challenge);
        }
        // The digest is right: from here on only freshness is in question,
        // which the client fixes by itself on stale=true.
        let now_s = unix_seconds(now);
        let lifetime = self.config.nonce_lifetime.as_secs();
        let expired = now_s.saturating_sub(issued) > lifetime
            // A nonce from the future was minted by a node whose clock is
            // ahead; allow a little skew, no more.
            || issued > now_s.saturating_add(30);
        let evicted = self.evicted_up_to.is_some_and(|t| issued <= t)
            && !self.windows.contains_key(&credentials.nonce);
        if expired || evicted {
            return Ok(Verdict::Challenge { stale: true });
        }
        if !self.record_nc(now_s, issued, &credentials.nonce, nc) {
            return Ok(Verdict::Challenge { stale: true });
        }
        Ok(Verdict::Authorized {
            username: credentials.username,
        })
    }

    /// Records a use of (nonce, nc); false for a replay.
    fn record_nc(&mut self, now_s: u64, issued: u64, nonce: &str, nc: u32) -> bool {
        if let Some(window) = self.windows.get_mut(nonce) {
            return window.accept(nc);
        }
        if self.windows.len() >= self.config.max_tracked_nonces {
            let lifetime = self.config.nonce_lifetime.as_secs();
            self.windows
                .retain(|_, w| now_s.saturating_sub(w.timestamp) <= lifetime);
        }
        if self.windows.len() >= self.config.max_tracked_nonces {
            let oldest = self
                .windows
                .iter()
                .min_by_key(|(_, w)| w.timestamp)
                .map(|(k, w)| (k.clone(), w.timestamp));
            if let Some((key, ts)) = oldest {
                self.windows.remove(&key);
                self.evicted_up_to = Some(self.evicted_up_to.map_or(ts, |t| t.max(ts)));
            }
        }
        let mut window = NcWindow {
            timestamp: issued,
            highest: 0,
            seen: 0,
        };
        let fresh = window.accept(nc);
        self.windows.insert(nonce.to_owned(), window);
        fresh
    }
}

fn same_uri(digest_uri: &str, request_uri: &rsip::Uri) -> bool {
    let digest_uri = digest_uri.trim();
    if digest_uri == request_uri.to_string() {
        return true;
    }
    // rsip normalises some spellings (transport case); compare parsed forms.
    rsip::Uri::try_from(digest_uri).is_ok_and(|u| &u == request_uri)
}

fn unix_seconds(now: SystemTime) -> u64 {
    now.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA-256 (RFC 2104), written out because the workspace carries no
/// `hmac` crate and adding one for twenty lines is not worth a dependency.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    let mut out = [0; 32];
    out.copy_from_slice(&outer.finalize());
    out
}

/// Escapes `"` and `\` for a quoted-string.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        // CR/LF would end the header line; they have no place in a value.
        if c != '\r' && c != '\n' {
            out.push(c);
        }
    }
    out
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn required<'a>(
    params: &'a [(String, String)],
    name: &'static str,
    header: &'static str,
) -> Result<&'a str, AuthError> {
    param(params, name).ok_or(AuthError::Malformed {
        header,
        reason: MalformedReason::MissingParameter(name),
    })
}

fn malformed(header: &'static str, reason: &'static str) -> AuthError {
    AuthError::Malformed {
        header,
        reason: MalformedReason::Syntax(reason),
    }
}

type AuthValue = Vec<(String, Vec<(String, String)>)>;

/// Splits a challenge or credentials value into (scheme, params) pairs
/// (RFC 7235 §2.1, §4.1): `scheme 1*SP param *("," param)`, with further
/// challenges after a comma. A token68 (Basic's) becomes one nameless
/// param.
/// Parses a challenge or credentials list; `header` names it in errors.
fn parse_auth_value(value: &str, header: &'static str) -> Result<AuthValue, AuthError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(malformed(header, "value too long"));
    }
    let bytes = value.as_bytes();
    let mut pos = 0;
    let mut out: AuthValue = Vec::new();
    let mut count = 0;
    let skip_ws = |pos: &mut usize| {
        while *pos < bytes.len() && matches!(bytes[*pos], b' ' | b'\t' | b'\r' | b'\n') {
            *pos += 1;
        }
    };
    let token = |pos: &mut usize| -> &str {
        let start = *pos;
        while *pos < bytes.len() && is_token(bytes[*pos]) {
            *pos += 1;
        }
        // Token bytes are ASCII, so both ends are char boundaries.
        &value[start..*pos]
    };
    loop {
        // Between challenges (and before the first): commas and spaces.
        while pos < bytes.len() && matches!(bytes[pos], b',' | b' ' | b'\t' | b'\r' | b'\n') {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        let scheme = token(&mut pos);
        if scheme.is_empty() {
            return Err(malformed(header, "expected an auth-scheme"));
        }
        let mut params: Vec<(String, String)> = Vec::new();
        loop {
            // Empty list elements (`a=1,,b=2`) are allowed by the #rule.
            while pos < bytes.len() && matches!(bytes[pos], b',' | b' ' | b'\t' | b'\r' | b'\n') {
                pos += 1;
            }
            if pos >= bytes.len() {
                break;
            }
            let start = pos;
            let name = token(&mut pos);
            if name.is_empty() {
                return Err(malformed(header, "unexpected character"));
            }
            let after_name = pos;
            skip_ws(&mut pos);
            let next = bytes.get(pos).copied();
            if next != Some(b'=') {
                if params.is_empty() && after_name == pos && matches!(next, None | Some(b',')) {
                    // A token68 (`Basic abc`) ends its challenge.
                    params.push((String::new(), name.to_owned()));
                    break;
                }
                // A token not followed by `=` is the next challenge's scheme.
                pos = start;
                break;
            }
            pos += 1; // '='
            skip_ws(&mut pos);
            let value_start = pos;
            let v = if pos < bytes.len() && bytes[pos] == b'"' {
                parse_quoted(value, &mut pos, header)?
            } else if pos < bytes.len() && bytes[pos] == b'=' {
                // token68 padding: `Basic dGVzdA==`.
                while pos < bytes.len() && bytes[pos] == b'=' {
                    pos += 1;
                }
                value[start..pos].to_owned()
            } else {
                token(&mut pos).to_owned()
            };
            if value_start == pos {
                return Err(malformed(header, "empty parameter value"));
            }
            count += 1;
            if count > MAX_PARAMS {
                return Err(malformed(header, "too many parameters"));
            }
            if !name.is_empty() && params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Err(malformed(header, "duplicate parameter"));
            }
            params.push((name.to_owned(), v));
            skip_ws(&mut pos);
            if pos < bytes.len() {
                if bytes[pos] != b',' {
                    return Err(malformed(header, "expected a comma between parameters"));
                }
                pos += 1;
            }
        }
        out.push((scheme.to_owned(), params));
    }
    Ok(out)
}

/// A quoted-string starting at `*pos` (on the opening quote), unescaped.
fn parse_quoted(value: &str, pos: &mut usize, header: &'static str) -> Result<String, AuthError> {
    let mut out = String::new();
    let mut chars = value[*pos + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                *pos += 1 + i + 1;
                return Ok(out);
            }
            '\\' => match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(malformed(header, "unterminated quoted string"))
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~/".contains(&b)
}

/// Errors of digest authentication, by who is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// A challenge or credentials value does not parse.
    Malformed {
        /// Which header.
        header: &'static str,
        /// What is wrong.
        reason: MalformedReason,
    },
    /// The peer broke the digest rules.
    PeerMisbehaved(PeerMisbehaviour),
    /// The server challenged again the credentials we sent for this realm:
    /// the password is wrong (not a protocol error, but not retryable).
    CredentialsRejected {
        /// The realm.
        realm: String,
    },
    /// The caller used this API wrongly.
    Misuse(Misuse),
}

/// What is wrong with a header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedReason {
    /// A parameter the header needs is absent.
    MissingParameter(&'static str),
    /// The syntax is broken, as described.
    Syntax(&'static str),
}

/// Ways a peer breaks the digest rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerMisbehaviour {
    /// A 401/407 with no digest challenge we can answer.
    NoUsableChallenge,
    /// More realms than a sane server names.
    TooManyRealms,
    /// Credentials with an algorithm we did not offer.
    AlgorithmNotOffered(Algorithm),
    /// Credentials without qop=auth, which is all we offer.
    QopNotOffered,
    /// The digest `uri` is not the Request-URI (RFC 2617 §3.2.2.5).
    UriMismatch,
}

/// Ways a caller misuses this module.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// `handle_challenge` takes a 401 or 407.
    NotAChallenge(u16),
    /// No credentials for a realm that challenged us.
    NoCredentials {
        /// The realm.
        realm: String,
    },
    /// The cnonce source returned an empty string.
    EmptyCnonce,
    /// 2^32 requests on one nonce.
    NonceCountExhausted,
    /// The server needs a secret for its nonces.
    EmptySecret,
    /// The server must offer at least one algorithm.
    NoAlgorithms,
    /// An empty realm or no room for nonce windows.
    BadConfig,
}

impl AuthError {
    /// The status a server answers a request with when this error came from
    /// it; `None` for errors on the client side or of the caller.
    pub fn to_sip_status(&self) -> Option<u16> {
        match self {
            Self::Malformed { .. } | Self::PeerMisbehaved(_) => Some(400),
            Self::CredentialsRejected { .. } | Self::Misuse(_) => None,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed {
                header,
                reason: MalformedReason::MissingParameter(name),
            } => write!(f, "malformed {header}: no {name} parameter"),
            Self::Malformed {
                header,
                reason: MalformedReason::Syntax(what),
            } => write!(f, "malformed {header}: {what}"),
            Self::PeerMisbehaved(p) => match p {
                PeerMisbehaviour::NoUsableChallenge => {
                    f.write_str("no digest challenge with an algorithm we support")
                }
                PeerMisbehaviour::TooManyRealms => f.write_str("challenged for too many realms"),
                PeerMisbehaviour::AlgorithmNotOffered(a) => {
                    write!(f, "credentials use {a}, which was not offered")
                }
                PeerMisbehaviour::QopNotOffered => {
                    f.write_str("credentials without qop=auth, the only qop offered")
                }
                PeerMisbehaviour::UriMismatch => {
                    f.write_str("digest uri differs from the Request-URI")
                }
            },
            Self::CredentialsRejected { realm } => {
                write!(f, "credentials for realm {realm:?} were rejected")
            }
            Self::Misuse(m) => match m {
                Misuse::NotAChallenge(code) => write!(f, "a {code} is not a 401/407 challenge"),
                Misuse::NoCredentials { realm } => write!(f, "no credentials for realm {realm:?}"),
                Misuse::EmptyCnonce => f.write_str("the cnonce source gave an empty cnonce"),
                Misuse::NonceCountExhausted => f.write_str("nonce count exhausted"),
                Misuse::EmptySecret => f.write_str("the nonce secret is empty"),
                Misuse::NoAlgorithms => f.write_str("no digest algorithm configured"),
                Misuse::BadConfig => f.write_str("empty realm or no nonce tracking room"),
            },
        }
    }
}

impl std::error::Error for AuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_header_they_come_from() {
        let header = |e: AuthError| match e {
            AuthError::Malformed { header, .. } => header,
            other => panic!("{other:?}"),
        };
        let bad = "Digest username=\"unterminated";
        assert_eq!(
            header(DigestCredentials::parse(bad).unwrap_err()),
            "Authorization"
        );
        assert_eq!(
            header(Challenge::parse_all(bad).unwrap_err()),
            "WWW-Authenticate"
        );
    }

    #[test]
    fn rfc2617_section_3_5() {
        let c = Challenge::parse_all(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        let creds = Credentials::new("Mufasa", "Circle Of Life");
        let a = c[0].answer(&creds, "GET", "/dir/index.html", b"", "0a4f113b", 1);
        assert_eq!(a.response, "6629fae49393a05397450978507c4ef1");
        let text = a.to_string();
        assert!(text.contains("nc=00000001"), "{text}");
        assert!(
            text.contains("qop=auth,") || text.ends_with("qop=auth, nc=00000001"),
            "{text}"
        );
        assert_eq!(DigestCredentials::parse(&text).unwrap(), a);
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn nc_window_refuses_replays() {
        let mut w = NcWindow {
            timestamp: 0,
            highest: 0,
            seen: 0,
        };
        assert!(w.accept(1));
        assert!(!w.accept(1));
        assert!(w.accept(3));
        assert!(w.accept(2));
        assert!(!w.accept(2));
        assert!(w.accept(100));
        assert!(!w.accept(30));
        assert!(w.accept(90));
        assert!(!w.accept(0));
    }

    #[test]
    fn parser_handles_lists_token68_and_garbage() {
        let c = Challenge::parse_all(
            "Basic realm=\"x\", Digest realm=\"a,b\", nonce=\"n\\\"1\", algorithm=SHA-256, \
             Digest realm=\"r\", nonce=\"m\", algorithm=SHA-512-256, Newauth realm=\"q\"",
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].realm, "a,b");
        assert_eq!(c[0].nonce, "n\"1");
        assert_eq!(c[0].algorithm, Algorithm::Sha256);
        assert!(
            Challenge::parse_all("Basic dGVzdA==, Digest realm=\"r\", nonce=\"n\"")
                .unwrap()
                .len()
                == 1
        );
        for bad in [
            "Digest realm=\"unterminated",
            "Digest realm=\"a\" nonce=\"b\"",
            "Digest realm=",
            "Digest realm=\"a\", realm=\"b\", nonce=\"c\"",
            "Digest nonce=\"n\"",
            "=",
            "Digest ;",
            "Digest realm=\"a\", nonce=\"\\",
        ] {
            assert!(Challenge::parse_all(bad).is_err(), "{bad:?}");
        }
        for weird in [
            "",
            ",,,",
            "Digest",
            "Digest ,",
            "\u{e9}\u{e9}=\"\u{e9}\"",
            "Digest realm=\"\u{1F600}\", nonce=x",
        ] {
            let _ = Challenge::parse_all(weird);
            let _ = DigestCredentials::parse(weird);
        }
        let long = "Digest ".to_owned() + &"a=b, ".repeat(5000);
        assert!(Challenge::parse_all(&long).is_err());
    }
}
