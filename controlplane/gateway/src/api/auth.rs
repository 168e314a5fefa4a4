//! Bearer-token authentication of API requests (RFC 6750 §2.1: the
//! `Authorization: Bearer TOKEN` header; tokens in the query string are
//! not accepted, so they stay out of access logs).
//!
//! Tokens come from `[api] tokens` (see `crate::config::ApiConfig`), each
//! with a name (the audit log's *who*) and a role. Every configured token
//! is compared with the presented one in constant time, so the answer's
//! timing says nothing about how much of a token was right.

use tandem_callcenter::plan::constant_time_eq;

use crate::config::{ApiRole, ApiToken};
use crate::http::Request;

/// Who made a request: the token's name and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The token's `name`.
    pub(crate) name: String,
    /// The token's `role`.
    pub(crate) role: ApiRole,
}

/// Why a request is not authenticated (each is a 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// The configuration has no tokens: the API is closed.
    NoTokens,
    /// No `Authorization` header, or not of the `Bearer` scheme.
    Missing,
    /// A bearer token that is not configured.
    Unknown,
}

impl AuthError {
    /// The error text of the 401.
    pub(crate) fn message(self) -> &'static str {
        match self {
            AuthError::NoTokens => "the API is closed: the configuration has no [api] tokens",
            AuthError::Missing => "send Authorization: Bearer TOKEN",
            AuthError::Unknown => "unknown token",
        }
    }
}

/// The token of `Authorization: Bearer TOKEN` (the scheme is
/// case-insensitive, RFC 9110 §11.1).
fn bearer(request: &Request) -> Option<&str> {
    let value = request.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Finds the caller of `request` among `tokens`.
pub(crate) fn authenticate(tokens: &[ApiToken], request: &Request) -> Result<Caller, AuthError> {
    if tokens.is_empty() {
        return Err(AuthError::NoTokens);
    }
    let presented = bearer(request).ok_or(AuthError::Missing)?;
    // Compare with every token, not stopping at a match.
    let mut found = None;
    for t in tokens {
        if constant_time_eq(t.token.0.as_bytes(), presented.as_bytes()) && found.is_none() {
            found = Some(t);
        }
    }
    found
        .map(|t| Caller {
            name: t.name.clone(),
            role: t.role,
        })
        .ok_or(AuthError::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn request(auth: Option<&str>) -> Request {
        Request {
            method: "GET".into(),
            path: "/api/queues".into(),
            query: String::new(),
            headers: auth
                .map(|a| vec![("authorization".to_string(), a.to_string())])
                .unwrap_or_default(),
            body: Vec::new(),
            peer: "127.0.0.1:1".parse().unwrap(),
        }
    }

    fn tokens() -> Vec<ApiToken> {
        vec![
            ApiToken {
                name: "ops".into(),
                token: Secret("0123456789abcdef".into()),
                role: ApiRole::Admin,
            },
            ApiToken {
                name: "board".into(),
                token: Secret("fedcba9876543210".into()),
                role: ApiRole::Read,
            },
        ]
    }

    #[test]
    fn finds_the_token_and_its_role() {
        let c = authenticate(&tokens(), &request(Some("Bearer fedcba9876543210"))).unwrap();
        assert_eq!(c.name, "board");
        assert_eq!(c.role, ApiRole::Read);
        let c = authenticate(&tokens(), &request(Some("bearer  0123456789abcdef "))).unwrap();
        assert_eq!(c.name, "ops");
    }

    #[test]
    fn refuses_missing_wrong_and_closed() {
        let t = tokens();
        assert_eq!(authenticate(&t, &request(None)), Err(AuthError::Missing));
        assert_eq!(
            authenticate(&t, &request(Some("Basic b3BzOng="))),
            Err(AuthError::Missing)
        );
        assert_eq!(
            authenticate(&t, &request(Some("Bearer"))),
            Err(AuthError::Missing)
        );
        assert_eq!(
            authenticate(&t, &request(Some("Bearer 0123456789abcdeX"))),
            Err(AuthError::Unknown)
        );
        assert_eq!(
            authenticate(&t, &request(Some("Bearer 0123456789abcdef0"))),
            Err(AuthError::Unknown)
        );
        assert_eq!(
            authenticate(&[], &request(Some("Bearer 0123456789abcdef"))),
            Err(AuthError::NoTokens)
        );
    }
}
