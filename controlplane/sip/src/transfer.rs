//! Call transfer: what a REFER asks for and how its progress is reported.
//!
//! - **Refer-To** (RFC 3515 §2.1): a REFER carries exactly one Refer-To, a
//!   `name-addr` or `addr-spec` naming where the recipient should send the
//!   call. [`ReferTo::parse`] reads its URI: the scheme (`sip`, `sips`,
//!   `tel`), the user (percent-decoded, RFC 3261 §19.1.2) and host, and
//!   the URI's embedded headers (`?name=value&...`, RFC 3261 §19.1.1).
//! - **Replaces** (RFC 3891 §6.1): an attended transfer embeds the
//!   consultation dialog in the Refer-To URI as a `Replaces` header,
//!   `call-id;to-tag=...;from-tag=...[;early-only]`, escaped inside the
//!   URI. [`Replaces::parse`] reads the header value; both tags are
//!   mandatory (§6.1).
//! - **Progress** (RFC 3515 §2.4.4–2.4.5): the recipient of a REFER sends
//!   NOTIFYs of the `refer` event whose body is a `message/sipfrag`
//!   (RFC 3420) holding the status line of the referred call; the last one
//!   terminates the implicit subscription. [`sipfrag`] and
//!   [`notify_headers`] build them.
//!
//! Values come from the network: every parser bounds its work by the
//! input's length, never panics, and names what was wrong.

use core::fmt;

use rsip::Header;
use rsip::prelude::*;

/// Why a Refer-To or Replaces value was not understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferError {
    /// The REFER has no Refer-To (RFC 3515 §2.4.1: answer 400).
    Missing,
    /// The REFER has more than one Refer-To (§2.4.1: 400).
    Multiple,
    /// The URI is not `sip:`, `sips:` or `tel:`, or has no user/number.
    UnsupportedUri,
    /// A `<` without its `>`, or text after an `addr-spec` that cannot be
    /// there.
    Malformed,
    /// A `%` not followed by two hex digits, or an escape that does not
    /// decode to UTF-8.
    BadEscape,
    /// A Replaces value without a Call-ID, `to-tag` or `from-tag`.
    BadReplaces,
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransferError::Missing => "no Refer-To header",
            TransferError::Multiple => "more than one Refer-To header",
            TransferError::UnsupportedUri => {
                "Refer-To is not a sip:, sips: or tel: URI with a user"
            }
            TransferError::Malformed => "Refer-To is not a name-addr or addr-spec",
            TransferError::BadEscape => "bad %-escape in Refer-To",
            TransferError::BadReplaces => {
                "Replaces needs a Call-ID, a to-tag and a from-tag (RFC 3891 §6.1)"
            }
        })
    }
}

impl std::error::Error for TransferError {}

/// The dialog an attended transfer replaces (RFC 3891 §6.1), as the
/// transferor names it: `to_tag` is the tag of the party that answered
/// the consultation call, `from_tag` the one that placed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    /// The consultation dialog's Call-ID.
    pub call_id: String,
    /// Its `to-tag`.
    pub to_tag: String,
    /// Its `from-tag`.
    pub from_tag: String,
    /// `early-only`: replace the dialog only if it is not yet confirmed.
    pub early_only: bool,
}

impl Replaces {
    /// Reads a Replaces header value, `callid *(;param)` (RFC 3891 §6.1).
    /// Parameters other than `to-tag`, `from-tag` and `early-only` are
    /// ignored, as the RFC's extension rule asks.
    pub fn parse(value: &str) -> Result<Replaces, TransferError> {
        let mut parts = value.split(';');
        let call_id = parts.next().unwrap_or("").trim();
        if call_id.is_empty() || call_id.contains(char::is_whitespace) {
            return Err(TransferError::BadReplaces);
        }
        let (mut to_tag, mut from_tag, mut early_only) = (None, None, false);
        for p in parts {
            let (name, v) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (p.trim(), None),
            };
            if name.eq_ignore_ascii_case("to-tag") {
                to_tag = v.filter(|v| !v.is_empty());
            } else if name.eq_ignore_ascii_case("from-tag") {
                from_tag = v.filter(|v| !v.is_empty());
            } else if name.eq_ignore_ascii_case("early-only") {
                early_only = true;
            }
        }
        match (to_tag, from_tag) {
            (Some(t), Some(f)) => Ok(Replaces {
                call_id: call_id.to_string(),
                to_tag: t.to_string(),
                from_tag: f.to_string(),
                early_only,
            }),
            _ => Err(TransferError::BadReplaces),
        }
    }
}

impl fmt::Display for Replaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};to-tag={};from-tag={}",
            self.call_id, self.to_tag, self.from_tag
        )?;
        if self.early_only {
            f.write_str(";early-only")?;
        }
        Ok(())
    }
}

/// Where a REFER sends the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferTo {
    /// `sip`, `sips` or `tel` (lower case).
    pub scheme: String,
    /// The user part (`sip`/`sips`) or the number (`tel`), decoded.
    pub user: String,
    /// The host (and port) of a `sip`/`sips` URI; empty for `tel`.
    pub host: String,
    /// The consultation dialog of an attended transfer.
    pub replaces: Option<Replaces>,
}

impl ReferTo {
    /// Reads a Refer-To header value (RFC 3515 §2.1): `"Name" <uri>`,
    /// `<uri>` or a bare `addr-spec`, with header parameters after the
    /// URI ignored.
    pub fn parse(value: &str) -> Result<ReferTo, TransferError> {
        let value = value.trim();
        let uri = match value.find('<') {
            Some(open) => {
                let rest = &value[open + 1..];
                let close = rest.find('>').ok_or(TransferError::Malformed)?;
                &rest[..close]
            }
            // An addr-spec cannot carry URI headers or parameters of its
            // own: whatever follows `;` belongs to the header (§20.10).
            None => {
                if value.contains('?') || value.contains(',') {
                    return Err(TransferError::Malformed);
                }
                value.split(';').next().unwrap_or("")
            }
        };
        let uri = uri.trim();
        let (scheme, rest) = uri.split_once(':').ok_or(TransferError::UnsupportedUri)?;
        let scheme = scheme.to_ascii_lowercase();
        let (body, headers) = match rest.split_once('?') {
            Some((b, h)) => (b, Some(h)),
            None => (rest, None),
        };
        let (user, host) = match scheme.as_str() {
            "sip" | "sips" => {
                let (user, hostport) = body.split_once('@').ok_or(TransferError::UnsupportedUri)?;
                // The user part ends at its own parameters (`;phone-context`).
                let user = user.split(';').next().unwrap_or("");
                let user = user.split(':').next().unwrap_or("");
                let host = hostport.split(';').next().unwrap_or("");
                (percent_decode(user)?, host.to_string())
            }
            "tel" => {
                let number = body.split(';').next().unwrap_or("");
                (percent_decode(number)?, String::new())
            }
            _ => return Err(TransferError::UnsupportedUri),
        };
        if user.is_empty() {
            return Err(TransferError::UnsupportedUri);
        }
        let mut replaces = None;
        for h in headers.into_iter().flat_map(|h| h.split('&')) {
            let (name, v) = h.split_once('=').unwrap_or((h, ""));
            if percent_decode(name)?.eq_ignore_ascii_case("replaces") {
                replaces = Some(Replaces::parse(&percent_decode(v)?)?);
            }
        }
        Ok(ReferTo {
            scheme,
            user,
            host,
            replaces,
        })
    }

    /// The Refer-To of a REFER: exactly one header, `Refer-To` or its
    /// compact form `r` (RFC 3515 §2.1, §2.4.1).
    pub fn of_request(request: &rsip::Request) -> Result<ReferTo, TransferError> {
        let mut values = request.headers().iter().filter_map(|h| match h {
            Header::Other(name, value)
                if name.eq_ignore_ascii_case("Refer-To") || name.eq_ignore_ascii_case("r") =>
            {
                Some(value.as_str())
            }
            _ => None,
        });
        let first = values.next().ok_or(TransferError::Missing)?;
        if values.next().is_some() {
            return Err(TransferError::Multiple);
        }
        ReferTo::parse(first)
    }
}

/// Decodes `%HH` escapes (RFC 3261 §19.1.2, §25.1).
fn percent_decode(s: &str) -> Result<String, TransferError> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(TransferError::BadEscape)?;
            let hex = std::str::from_utf8(hex).map_err(|_| TransferError::BadEscape)?;
            let b = u8::from_str_radix(hex, 16).map_err(|_| TransferError::BadEscape)?;
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| TransferError::BadEscape)
}

/// A `message/sipfrag` body (RFC 3420) holding a status line, as the
/// NOTIFYs of a REFER carry it (RFC 3515 §2.4.5).
pub fn sipfrag(status: u16, reason: &str) -> Vec<u8> {
    format!("SIP/2.0 {status} {reason}\r\n").into_bytes()
}

/// The content type of [`sipfrag`] bodies.
pub const SIPFRAG: &str = "message/sipfrag;version=2.0";

/// The `Event` and `Subscription-State` headers of a NOTIFY for a REFER
/// (RFC 3515 §2.4.4, RFC 6665 §4.1.3): the last one (`final`) terminates
/// the implicit subscription; the others keep it active for `expires`
/// seconds.
pub fn notify_headers(last: bool, expires: u32) -> Vec<Header> {
    let state = if last {
        "terminated;reason=noresource".to_string()
    } else {
        format!("active;expires={expires}")
    };
    vec![
        Header::Other("Event".into(), "refer".into()),
        Header::Other("Subscription-State".into(), state),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blind_refer_to_forms() {
        for v in [
            "<sip:bob@192.0.2.4>",
            "\"Bob\" <sip:bob@192.0.2.4:5060;transport=udp>;x=y",
            "sip:bob@192.0.2.4",
            "sip:bob@192.0.2.4;method=INVITE",
        ] {
            let r = ReferTo::parse(v).unwrap();
            assert_eq!(r.user, "bob", "{v}");
            assert_eq!(r.scheme, "sip");
            assert!(r.host.starts_with("192.0.2.4"), "{v}");
            assert_eq!(r.replaces, None);
        }
        let t = ReferTo::parse("<tel:+8613812345678;phone-context=+86>").unwrap();
        assert_eq!(
            (t.scheme.as_str(), t.user.as_str()),
            ("tel", "+8613812345678")
        );
        let esc = ReferTo::parse("<sip:%32%30%30%31@h>").unwrap();
        assert_eq!(esc.user, "2001");
    }

    #[test]
    fn attended_refer_to_carries_replaces() {
        // RFC 5589 §7.1's shape: the consultation dialog, escaped.
        let v = "<sips:Transfer-Target@target.example?Replaces=090459243588173445%40a.example\
                 %3Bto-tag%3D7553452%3Bfrom-tag%3D31431>";
        let r = ReferTo::parse(v).unwrap();
        assert_eq!(r.user, "Transfer-Target");
        let rep = r.replaces.unwrap();
        assert_eq!(rep.call_id, "090459243588173445@a.example");
        assert_eq!(rep.to_tag, "7553452");
        assert_eq!(rep.from_tag, "31431");
        assert!(!rep.early_only);
        assert_eq!(Replaces::parse(&rep.to_string()), Ok(rep));
    }

    #[test]
    fn bad_values_are_named() {
        assert_eq!(ReferTo::parse("<sip:bob@h"), Err(TransferError::Malformed));
        assert_eq!(
            ReferTo::parse("http://x/"),
            Err(TransferError::UnsupportedUri)
        );
        assert_eq!(
            ReferTo::parse("<sip:h>"),
            Err(TransferError::UnsupportedUri)
        );
        assert_eq!(ReferTo::parse("<sip:b%4@h>"), Err(TransferError::BadEscape));
        assert_eq!(
            ReferTo::parse("<sip:b%ff@h>"),
            Err(TransferError::BadEscape)
        );
        assert_eq!(
            ReferTo::parse("<sip:b@h?Replaces=abc%3Bto-tag%3D1>"),
            Err(TransferError::BadReplaces)
        );
        assert_eq!(Replaces::parse(""), Err(TransferError::BadReplaces));
        assert_eq!(
            ReferTo::parse("sip:b@h?Replaces=x"),
            Err(TransferError::Malformed)
        );
    }

    #[test]
    fn one_refer_to_only() {
        let parse = |extra: &str| {
            let text = format!(
                "REFER sip:gw@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK1\r\n\
                 Max-Forwards: 70\r\nTo: <sip:gw@192.0.2.1>;tag=a\r\nFrom: <sip:x@192.0.2.2>;tag=b\r\n\
                 Call-ID: c\r\nCSeq: 2 REFER\r\n{extra}Content-Length: 0\r\n\r\n"
            );
            match crate::message::parse(text.as_bytes()).unwrap() {
                rsip::SipMessage::Request(r) => ReferTo::of_request(&r),
                rsip::SipMessage::Response(_) => unreachable!(),
            }
        };
        assert_eq!(parse(""), Err(TransferError::Missing));
        assert_eq!(parse("r: <sip:bob@h>\r\n").unwrap().user, "bob");
        assert_eq!(
            parse("Refer-To: <sip:a@h>\r\nRefer-To: <sip:b@h>\r\n"),
            Err(TransferError::Multiple)
        );
    }

    #[test]
    fn notify_pieces() {
        assert_eq!(sipfrag(200, "OK"), b"SIP/2.0 200 OK\r\n");
        let h = notify_headers(true, 60);
        assert!(matches!(&h[1], Header::Other(_, v) if v.starts_with("terminated")));
        let h = notify_headers(false, 60);
        assert!(matches!(&h[1], Header::Other(_, v) if v == "active;expires=60"));
    }
}
