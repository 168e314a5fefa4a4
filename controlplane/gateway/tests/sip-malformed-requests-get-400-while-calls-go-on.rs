//! A malformed-message battery in the spirit of RFC 4475: while SIPp runs
//! calls through `tandem run`, a hostile peer sends broken requests. Each
//! request that parses but breaks RFC 3261 gets a 400 naming the fault;
//! bytes that are not SIP at all are dropped (and counted); the process
//! never falls over, and every one of the parallel calls completes.

mod support;

use std::net::UdpSocket;
use std::time::Duration;

use support::*;

/// A valid INVITE from `port`, with one header line replaced or removed.
fn invite(branch: &str, replace: &str, with: &str) -> Vec<u8> {
    let body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9000 RTP/AVP 0\r\n";
    let msg = format!(
        "INVITE sip:4008@127.0.0.1:16260 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:16271;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:evil@127.0.0.1>;tag=x{branch}\r\n\
         To: <sip:4008@127.0.0.1>\r\n\
         Call-ID: {branch}@evil\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:evil@127.0.0.1:16271>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    msg.replacen(replace, with, 1).into_bytes()
}

#[test]
fn malformed_requests_are_refused_and_calls_in_parallel_are_unaffected() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-malformed");
    let (mut tandem, log) = start_tandem(
        &dir,
        &[
            "--sip-listen",
            "127.0.0.1:16260",
            "--rtp-ports",
            "20000-20999",
            "--http-listen",
            "127.0.0.1:16290",
            "--route",
            "=sip:127.0.0.1:16280",
        ],
    );
    let _uas = sipp_uas(&dir, &scenario("kamailio/uas-pcmu-echo.xml"), 16280, 19600);
    // The calls run while the battery is sent.
    let calls_dir = dir.clone();
    let calls = std::thread::spawn(move || {
        sipp_uac(
            &calls_dir,
            &scenario("kamailio/uac-pcma-pcap.xml"),
            16270,
            19500,
            "127.0.0.1:16260",
            "4008",
            (100, 25),
        )
    });

    let evil = UdpSocket::bind("127.0.0.1:16271").unwrap();
    evil.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let must_400: Vec<(&str, Vec<u8>)> = vec![
        ("no Call-ID", invite("a1", "Call-ID: a1@evil\r\n", "")),
        (
            "no From",
            invite("a2", "From: <sip:evil@127.0.0.1>;tag=xa2\r\n", ""),
        ),
        ("no To", invite("a3", "To: <sip:4008@127.0.0.1>\r\n", "")),
        ("no Max-Forwards", invite("a4", "Max-Forwards: 70\r\n", "")),
        (
            "CSeq method mismatch",
            invite("a5", "CSeq: 1 INVITE", "CSeq: 1 BYE"),
        ),
        (
            "CSeq not a number",
            invite("a6", "CSeq: 1 INVITE", "CSeq: one INVITE"),
        ),
        ("bad SDP", invite("a7", "v=0\r\n", "v=zero\r\n")),
        (
            "Max-Forwards not a number",
            invite("a8", "Max-Forwards: 70", "Max-Forwards: many"),
        ),
    ];
    for (what, bytes) in &must_400 {
        evil.send_to(bytes, "127.0.0.1:16260").unwrap();
        let mut buf = [0u8; 4096];
        // The final answer (a 100 Trying may come first).
        let reply = loop {
            let (n, _) = evil
                .recv_from(&mut buf)
                .unwrap_or_else(|e| panic!("{what}: no answer ({e})"));
            let reply = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !reply.starts_with("SIP/2.0 1") {
                break reply;
            }
        };
        assert!(reply.starts_with("SIP/2.0 400 "), "{what}: got {reply}");
        // A 400 to an INVITE is a final response: the client ACKs it.
    }
    let garbage: Vec<&[u8]> = vec![
        b"\x00\x01\x02\x03 not SIP",
        b"INVITE\r\n\r\n",
        b"SIP/2.0\r\n",
        b"INVITE sip:4008@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP\r\nContent-Length: -5\r\n\r\n",
        b"INVITE sip:4008@127.0.0.1 SIP/2.0\r\nContent-Length: 99999\r\n\r\nshort",
        &[0xff; 1400],
    ];
    for bytes in &garbage {
        evil.send_to(bytes, "127.0.0.1:16260").unwrap();
    }
    // Unparseable input gets no answer at all.
    let mut buf = [0u8; 4096];
    evil.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    if let Ok((n, _)) = evil.recv_from(&mut buf) {
        let reply = String::from_utf8_lossy(&buf[..n]);
        assert!(reply.starts_with("SIP/2.0 400 "), "garbage got {reply}");
    }

    let out = calls.join().unwrap();
    assert!(
        out.status.success(),
        "calls in parallel failed:\n{}\ntandem:\n{}",
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        tandem.0.try_wait().unwrap().is_none(),
        "tandem exited:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let rows = wait_for_cdrs(&dir, 100, Duration::from_secs(10));
    assert_eq!(
        rows.iter()
            .filter(|r| r["disposition"] == "answered")
            .count(),
        100
    );
    let metrics = http_get("127.0.0.1:16290", "/metrics");
    let parse_errors: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tandem_sip_parse_errors_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        parse_errors >= (must_400.len() + garbage.len() - 1) as u64,
        "parse errors counted: {parse_errors}\n{metrics}"
    );
}
