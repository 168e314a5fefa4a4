//! RFC 4475 ("SIP Torture Test Messages") in spirit: the valid but tortuous
//! messages of §3.1.1 parse and read correctly; the invalid ones of §3.1.2
//! and §3.3 are rejected by `parse`, by `check_request`, or by the
//! transaction layer, each with a precise reason. The messages are
//! abridged from the RFC (bodies shortened, Content-Length adjusted).

use rsip::{Method, SipMessage};
use tandem_sip::message::{self, HeaderError, ParseError};

fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

fn parse_request(bytes: &[u8]) -> rsip::Request {
    match message::parse(bytes) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("not a request: {other:?}"),
    }
}

/// §3.1.1.1 wsinv: folding, whitespace everywhere, compact forms, odd case.
const WSINV: &str = "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID
    : wsinv.ndaksdj@192.0.2.1
Content-Length   : 4
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

v=0
";

#[test]
fn wsinv_tortuous_whitespace_parses_and_reads_right() {
    let req = parse_request(&crlf(WSINV));
    assert_eq!(req.method, Method::Invite);
    assert_eq!(message::to_tag(&req), Ok(Some("1918181833n")));
    assert_eq!(message::from_tag(&req), Ok(Some("98asjd8")));
    assert_eq!(message::max_forwards(&req), Ok(68));
    assert_eq!(message::call_id(&req), Ok("wsinv.ndaksdj@192.0.2.1"));
    let cseq = message::cseq(&req).unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    let via = message::top_via(&req).unwrap();
    assert_eq!(
        (via.host.as_str(), via.branch()),
        ("192.0.2.2", Some("390skdjuw"))
    );
    assert!(!via.has_magic_cookie(), "an RFC 2543 branch");
    assert_eq!(message::via_count(&req), 3);
    assert_eq!(
        message::extension_header(&req, "NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(message::content_type(&req), Some("application/sdp"));
    assert_eq!(
        message::contact_uri(&req).unwrap().to_string(),
        "sip:jdrosen@example.com"
    );
    assert_eq!(req.body, b"v=0\r");
    assert_eq!(message::check_request(&req), Ok(()));
}

#[test]
fn lwsdisp_and_noreason_and_unreason_parse() {
    // §3.1.1.6: no whitespace between display name and <.
    let req = parse_request(&crlf(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0

",
    ));
    assert_eq!(message::from_tag(&req), Ok(Some("323")));
    assert_eq!(message::check_request(&req), Ok(()));

    // §3.1.1.13 noreason and §3.1.1.12 unreason (UTF-8 reason phrase).
    for status_line in [
        "SIP/2.0 100 ",
        "SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое",
    ] {
        let text = format!(
            "{status_line}
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 0

"
        );
        let msg = message::parse(&crlf(&text)).unwrap();
        assert!(msg.is_response(), "{status_line}");
    }
}

#[test]
fn dblreq_second_message_in_the_datagram_is_ignored() {
    // §3.1.1.8: Content-Length 0 ends the first message; the rest is
    // ignored (§18.3 truncation).
    let text = "REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=43251j3j324
Max-Forwards: 8
I: dblreq.0ha0isndaksdj99sdfafnl3lk233412
Contact: sip:j.user@host.example.com
CSeq: 8 REGISTER
Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492
Content-Length: 0

INVITE sip:joe@example.com SIP/2.0
t: sip:joe@example.com

";
    let req = parse_request(&crlf(text));
    assert_eq!(req.method, Method::Register);
    assert!(req.body.is_empty());
    assert_eq!(message::check_request(&req), Ok(()));
}

#[test]
fn unknown_methods_get_501_because_rsip_has_a_closed_method_set() {
    // §3.1.1.2 intmeth and §3.1.1.5 esc02 are valid SIP, but rsip's Method
    // is a closed enum: Tandem answers 501 (§8.2.1), which a UAS that
    // implements none of these methods would do anyway.
    for line in [
        "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0",
        "RE%47IST%45R sip:registrar.example.com SIP/2.0",
        "register sip:registrar.example.com SIP/2.0",
    ] {
        let text = format!("{line}\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\n\n");
        let err = message::parse(&crlf(&text)).unwrap_err();
        assert_eq!(err, ParseError::UnsupportedMethod, "{line}");
        assert_eq!(err.to_sip_status(), 501);
    }
}

fn minimal(start: &str, headers: &str) -> Vec<u8> {
    crlf(&format!(
        "{start}
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKtorture
To: <sip:user@example.com>
From: <sip:caller@example.net>;tag=1
Call-ID: torture@192.0.2.1
CSeq: 1 OPTIONS
Max-Forwards: 70
{headers}
"
    ))
}

#[test]
fn invalid_messages_are_rejected_by_parse_with_a_reason() {
    let cases: Vec<(&str, Vec<u8>, ParseError)> = vec![
        // §3.1.2.1 badinv01: empty Via list elements.
        (
            "badinv01",
            minimal(
                "OPTIONS sip:user@example.com SIP/2.0",
                "Via: SIP/2.0/UDP 192.0.2.15;;,;,,\n",
            ),
            ParseError::HeaderValue("Via"),
        ),
        // §3.1.2.2 clerr: Content-Length beyond the datagram.
        (
            "clerr",
            minimal(
                "OPTIONS sip:user@example.com SIP/2.0",
                "Content-Length: 9999\n\nv=0\n",
            ),
            ParseError::BodyShorterThanContentLength {
                declared: 9999,
                received: 7,
            },
        ),
        // §3.1.2.3 scalar02: negative Content-Length.
        (
            "scalar02",
            minimal(
                "OPTIONS sip:user@example.com SIP/2.0",
                "Content-Length: -999\n",
            ),
            ParseError::ContentLength,
        ),
        // §3.1.2.6 ltgtruri: Request-URI in angle brackets.
        (
            "ltgtruri",
            minimal("INVITE <sip:user@example.com> SIP/2.0", ""),
            ParseError::RequestUri,
        ),
        // §3.1.2.7 lwsruri: whitespace inside the Request-URI.
        (
            "lwsruri",
            minimal("INVITE sip:user@example.com; lr SIP/2.0", ""),
            ParseError::StartLine,
        ),
        // §3.1.2.8 lwsstart: several spaces between the elements.
        (
            "lwsstart",
            minimal("INVITE  sip:user@example.com  SIP/2.0", ""),
            ParseError::StartLine,
        ),
        // §3.1.2.9 trws: trailing whitespace on the request line.
        (
            "trws",
            minimal("OPTIONS sip:remote-target@example.com SIP/2.0  ", ""),
            ParseError::StartLine,
        ),
        // §3.1.2.15 badvers: SIP/7.0 (answered 505).
        (
            "badvers",
            minimal("OPTIONS sip:t.watson@example.org SIP/7.0", ""),
            ParseError::Version,
        ),
        // §3.1.2.17 mismatch02: unknown method.
        (
            "mismatch02",
            minimal("NEWMETHOD sip:user@example.com SIP/2.0", ""),
            ParseError::UnsupportedMethod,
        ),
        // §3.1.2.18 bigcode: status code far out of range.
        (
            "bigcode",
            crlf("SIP/2.0 4294967301 better not break the receiver\nCSeq: 1 INVITE\n\n"),
            ParseError::StatusCode,
        ),
        // §3.3.9 mcl01: two Content-Length values.
        (
            "mcl01",
            minimal(
                "OPTIONS sip:user@example.com SIP/2.0",
                "Content-Length: 0\nContent-Length: 2\n",
            ),
            ParseError::ContentLength,
        ),
        // Multiple values in single-value headers (RFC 4475 §3.1.2.19 mult01).
        (
            "mult01",
            minimal(
                "OPTIONS sip:user@example.com SIP/2.0",
                "To: sip:other@example.com\n",
            ),
            ParseError::DuplicateHeader("To"),
        ),
        (
            "mult01-callid",
            minimal(
                "OPTIONS sip:user@example.com SIP/2.0",
                "i: other@192.0.2.1\n",
            ),
            ParseError::DuplicateHeader("Call-ID"),
        ),
        // Not in RFC 4475, but seen in the wild.
        (
            "bare-lf",
            b"OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n\n".to_vec(),
            ParseError::NoEndOfHeaders,
        ),
        (
            "nul-in-header",
            minimal("OPTIONS sip:user@example.com SIP/2.0", "Subject: a\0b\n"),
            ParseError::HeaderLine,
        ),
        (
            "latin1-header",
            {
                let mut m = minimal(
                    "OPTIONS sip:user@example.com SIP/2.0",
                    "Subject: caf\u{e9}\n",
                );
                let i = m.windows(2).position(|w| w == "é".as_bytes()).unwrap();
                m.splice(i..i + 2, [0xe9]);
                m
            },
            ParseError::NotUtf8,
        ),
        (
            "space-in-header-name",
            minimal("OPTIONS sip:user@example.com SIP/2.0", "Bad Name: x\n"),
            ParseError::HeaderLine,
        ),
        (
            "oversized",
            minimal(
                "OPTIONS sip:user@example.com SIP/2.0",
                &format!("Subject: {}\n", "x".repeat(70_000)),
            ),
            ParseError::TooLarge { len: 70_217 },
        ),
        (
            "too-many-headers",
            minimal(
                "OPTIONS sip:user@example.com SIP/2.0",
                &"X-A: 1\n".repeat(300),
            ),
            ParseError::TooManyHeaders,
        ),
    ];
    for (name, bytes, want) in cases {
        let got = message::parse(&bytes);
        match (&got, want) {
            (Err(ParseError::TooLarge { .. }), ParseError::TooLarge { .. }) => {}
            (Err(e), want) => assert_eq!(*e, want, "{name}"),
            (Ok(m), _) => panic!("{name} parsed: {m}"),
        }
        // Every reason is usable as a reason phrase.
        let reason = got.unwrap_err().to_string();
        assert!(
            !reason.is_empty() && !reason.contains(['\r', '\n']),
            "{name}"
        );
    }
}

#[test]
fn invalid_requests_are_caught_by_check_request() {
    // §3.1.2.4 scalarlg: CSeq beyond 32 bits, Max-Forwards beyond 255.
    let req = parse_request(&minimal("REGISTER sip:example.com SIP/2.0", ""));
    assert_eq!(
        message::check_request(&req),
        Err(HeaderError::CSeqMethodMismatch)
    );
    let text = String::from_utf8(minimal("OPTIONS sip:example.com SIP/2.0", ""))
        .unwrap()
        .replace("CSeq: 1 OPTIONS", "CSeq: 36893488147419103232 OPTIONS");
    let req = parse_request(text.as_bytes());
    assert_eq!(
        message::check_request(&req),
        Err(HeaderError::Malformed("CSeq"))
    );
    let text = String::from_utf8(minimal("OPTIONS sip:example.com SIP/2.0", ""))
        .unwrap()
        .replace("Max-Forwards: 70", "Max-Forwards: 300");
    let req = parse_request(text.as_bytes());
    assert_eq!(
        message::check_request(&req),
        Err(HeaderError::Malformed("Max-Forwards"))
    );

    // §3.1.2.5 quotbal: unbalanced quotes in the To display name.
    let text = String::from_utf8(minimal("OPTIONS sip:example.com SIP/2.0", ""))
        .unwrap()
        .replace(
            "To: <sip:user@example.com>",
            "To: \"Mr. J. User <sip:j.user@example.com>",
        );
    let req = parse_request(text.as_bytes());
    assert_eq!(
        message::check_request(&req),
        Err(HeaderError::Malformed("To"))
    );

    // §3.3.1 insuf: no Call-ID, From or To.
    let req = parse_request(&crlf(
        "INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: 0

",
    ));
    assert_eq!(
        message::check_request(&req),
        Err(HeaderError::Missing("To"))
    );

    // §3.3.7 inv2543: no branch at all; the transaction layer refuses it
    // (txn-hostile-input-is-rejected.rs), and the accessor says so.
    let req = parse_request(&crlf(
        "INVITE sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.15
From: <sip:UserA@example.com>
To: <sip:UserB@example.com>
Call-ID: 4@192.0.2.15
CSeq: 1 INVITE
Max-Forwards: 70
l: 0

",
    ));
    assert!(!message::top_via(&req).unwrap().has_magic_cookie());
}

#[test]
fn crlf_keepalives_are_empty_not_malformed() {
    assert_eq!(message::parse(b"\r\n\r\n"), Err(ParseError::Empty));
    assert_eq!(message::parse(b""), Err(ParseError::Empty));
    // §7.5: CRLFs before a start line are skipped.
    let mut bytes = b"\r\n\r\n".to_vec();
    bytes.extend(minimal("OPTIONS sip:user@example.com SIP/2.0", ""));
    assert!(message::parse(&bytes).is_ok());
}
