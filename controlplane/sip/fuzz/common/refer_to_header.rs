//! The checks the `refer_to_header` fuzz target runs on one input, kept
//! out of the target so the replay test can include it on its own.
//!
//! One input is one header value (UTF-8; other inputs are skipped):
//! 1. `ReferTo::parse` never panics; what it accepts has a non-empty user
//!    and a known scheme, and its Replaces (if any) prints to a value
//!    that parses back equal;
//! 2. `Replaces::parse` of the raw value obeys the same round trip;
//! 3. a REFER carrying the value as Refer-To (when it still parses as SIP)
//!    gives `ReferTo::of_request` the same answer as the value alone.

use rsip::SipMessage;
use tandem_sip::message;
use tandem_sip::transfer::{ReferTo, Replaces};

pub(crate) fn refer_to_header(data: &[u8]) {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = ReferTo::parse(value);
    if let Ok(r) = &parsed {
        assert!(!r.user.is_empty(), "{value:?}");
        assert!(matches!(r.scheme.as_str(), "sip" | "sips" | "tel"));
        if let Some(rep) = &r.replaces {
            assert_eq!(Replaces::parse(&rep.to_string()).as_ref(), Ok(rep));
        }
    }
    if let Ok(rep) = Replaces::parse(value) {
        assert_eq!(Replaces::parse(&rep.to_string()), Ok(rep));
    }
    if value.contains(['\r', '\n']) {
        return;
    }
    let text = format!(
        "REFER sip:gw@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKf\r\n\
         Max-Forwards: 70\r\nTo: <sip:gw@192.0.2.1>;tag=a\r\nFrom: <sip:x@192.0.2.2>;tag=b\r\n\
         Call-ID: fuzz\r\nCSeq: 2 REFER\r\nRefer-To: {value}\r\nContent-Length: 0\r\n\r\n"
    );
    if let Ok(SipMessage::Request(refer)) = message::parse(text.as_bytes()) {
        // The parser may trim the value; compare against the trimmed text.
        assert_eq!(ReferTo::of_request(&refer), ReferTo::parse(value.trim()));
    }
}
