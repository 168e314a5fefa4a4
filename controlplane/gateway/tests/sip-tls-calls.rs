//! SIP over TLS (RFC 3261 §26.2) between real peers.
//!
//! Debian's SIPp (3.6.1, `sip-tester`) is built without OpenSSL: it has no
//! `-t l1`. So the TLS hop is between two Tandems, each one's certificate
//! issued by a CA made here with `openssl`:
//!
//! ```text
//! SIPp UAC --udp--> Tandem A ==TLS==> Tandem B --udp--> SIPp UAS (echo)
//! ```
//!
//! A calls trunk `transport = "tls"` (verifying B's certificate against
//! `sip.tls_ca_file`), B serves `sip.tls_listen`; both record the calls.
//! The second test talks to the TLS listener with `openssl s_client`
//! (OPTIONS → 200), sends it plain text (a failed handshake, counted), and
//! shows that a trunk whose certificate does not chain to a trusted CA
//! takes no calls.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::*;

/// A CA, and for each name a certificate it issued for that DNS name and
/// 127.0.0.1: `ca.pem`, `NAME-cert.pem`, `NAME-key.pem` in `dir`.
fn make_certificates(dir: &Path, names: &[&str]) {
    require("openssl", "openssl");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    openssl(
        &[
            &["req", "-x509", "-nodes", "-days", "2"][..],
            &ec,
            &["-keyout", "ca-key.pem", "-out", "ca.pem"],
            &["-subj", "/CN=Tandem test CA"],
        ]
        .concat(),
    );
    for name in names {
        let ext = format!("{name}.ext");
        std::fs::write(
            dir.join(&ext),
            format!(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:{name},IP:127.0.0.1\n"
            ),
        )
        .unwrap();
        let (key, csr, cert) = (
            format!("{name}-key.pem"),
            format!("{name}.csr"),
            format!("{name}-cert.pem"),
        );
        openssl(
            &[
                &["req", "-new", "-nodes"][..],
                &ec,
                &[
                    "-keyout",
                    &key,
                    "-out",
                    &csr,
                    "-subj",
                    &format!("/CN={name}"),
                ],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ]);
    }
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in:\n{text}"))
}

#[test]
fn calls_cross_a_tls_trunk_between_two_gateways() {
    require("sipp", "sip-tester");
    let dir_a = workdir("sip-tls-a");
    let dir_b = workdir("sip-tls-b");
    make_certificates(&dir_a, &["tandem-a.test", "tandem-b.test"]);
    let pem = |f: &str| dir_a.join(f).display().to_string();
    const CALLS: usize = 10;
    let config_b = dir_b.join("tandem.toml");
    std::fs::write(
        &config_b,
        format!(
            r#"
[sip]
listen = "127.0.0.1:16510"
transports = ["udp"]
tls_listen = "127.0.0.1:16511"
tls_certificate = "{cert}"
tls_private_key = "{key}"
tls_ca_file = "{ca}"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "22100-22199"
[http]
listen = "127.0.0.1:16591"

[[trunk]]
name = "callee"
address = "127.0.0.1:16520"
options_interval = 0

[[route]]
prefix = "4008"
trunks = ["callee"]
"#,
            cert = pem("tandem-b.test-cert.pem"),
            key = pem("tandem-b.test-key.pem"),
            ca = pem("ca.pem"),
        ),
    )
    .unwrap();
    let config_a = dir_a.join("tandem.toml");
    std::fs::write(
        &config_a,
        r#"
[sip]
listen = "127.0.0.1:16500"
transports = ["udp"]
tls_listen = "127.0.0.1:16501"
tls_certificate = "tandem-a.test-cert.pem"
tls_private_key = "tandem-a.test-key.pem"
tls_ca_file = "ca.pem"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "22000-22099"
[http]
listen = "127.0.0.1:16590"

# OPTIONS keepalives (the first at start) go over the TLS connection too.
[[trunk]]
name = "b-over-tls"
address = "127.0.0.1:16511"
transport = "tls"

[[route]]
prefix = "4008"
trunks = ["b-over-tls"]
"#,
    )
    .unwrap();
    let (_b, log_b) = start_tandem(&dir_b, &["--config", config_b.to_str().unwrap()]);
    let (_a, log_a) = start_tandem(&dir_a, &["--config", config_a.to_str().unwrap()]);
    let _callee = sipp_uas(
        &dir_b,
        &scenario("kamailio/uas-pcmu-echo.xml"),
        16520,
        22300,
    );
    let out = sipp_uac(
        &dir_a,
        &scenario("kamailio/uac-pcma-pcap.xml"),
        16530,
        22200,
        "127.0.0.1:16500",
        "4008765",
        (CALLS, 5),
    );
    let logs = || {
        format!(
            "tandem A:\n{}\ntandem B:\n{}",
            std::fs::read_to_string(&log_a).unwrap_or_default(),
            std::fs::read_to_string(&log_b).unwrap_or_default()
        )
    };
    assert!(
        out.status.success(),
        "SIPp reported failed calls:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        logs()
    );
    let rows_a = wait_for_cdrs(&dir_a, CALLS, Duration::from_secs(10));
    let rows_b = wait_for_cdrs(&dir_b, CALLS, Duration::from_secs(10));
    assert_eq!(rows_a.len(), CALLS, "{}", logs());
    assert_eq!(rows_b.len(), CALLS, "{}", logs());
    for r in &rows_a {
        assert_eq!(r["disposition"], "answered", "{r:?}");
        assert_eq!(r["trunk_out"], "b-over-tls", "{r:?}");
    }
    for r in &rows_b {
        assert_eq!(r["disposition"], "answered", "{r:?}");
        assert_eq!(r["trunk_out"], "callee", "{r:?}");
        // Media crossed both gateways: A-law from the caller reached B's
        // legs, and the callee's echo came back.
        for k in ["in_packets_received", "out_packets_received"] {
            assert!(num(r, k) > 10, "{k} in {r:?}");
        }
    }
    let metrics_a = http_get("127.0.0.1:16590", "/metrics");
    let metrics_b = http_get("127.0.0.1:16591", "/metrics");
    assert_eq!(
        metric(&metrics_a, "tandem_sip_tls_handshake_failures_total"),
        0
    );
    assert_eq!(
        metric(&metrics_b, "tandem_sip_tls_handshake_failures_total"),
        0
    );
    // One connection carried the keepalive and every call.
    assert_eq!(metric(&metrics_a, "tandem_sip_connections_total"), 1);
    assert_eq!(metric(&metrics_b, "tandem_sip_connections_total"), 1);
    assert_eq!(
        metric(&metrics_a, "tandem_sip_trunk_up{trunk=\"b-over-tls\"}"),
        1
    );
    assert_eq!(
        metric(
            &metrics_b,
            "tandem_sip_messages_total{code=\"\",direction=\"in\",method=\"BYE\"}"
        ),
        CALLS as u64
    );
}

#[test]
fn the_tls_listener_answers_openssl_and_refuses_what_is_not_tls() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-tls-listener");
    make_certificates(&dir, &["tandem-b.test"]);
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        r#"
[sip]
listen = "127.0.0.1:16550"
tls_listen = "127.0.0.1:16551"
tls_certificate = "tandem-b.test-cert.pem"
tls_private_key = "tandem-b.test-key.pem"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "22400-22449"
[http]
listen = "127.0.0.1:16592"
"#,
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    // A client that connects and says nothing holds its thread for the
    // handshake timeout (5 s), then is dropped and counted.
    let stalled = TcpStream::connect("127.0.0.1:16551").unwrap();
    let stalled_since = std::time::Instant::now();

    // OPTIONS through openssl's client, which checks the certificate
    // against our CA and the name.
    let child = Command::new("openssl")
        .args(["s_client", "-connect", "127.0.0.1:16551"])
        .args(["-servername", "tandem-b.test", "-verify_hostname"])
        .args(["tandem-b.test", "-CAfile", "ca.pem", "-verify_return_error"])
        .arg("-quiet")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_client");
    let mut client = Kill(child);
    let request = "OPTIONS sip:tandem@127.0.0.1:16551;transport=tls SIP/2.0\r\n\
        Via: SIP/2.0/TLS 127.0.0.1:16559;branch=z9hG4bK-tls-probe-1\r\n\
        Max-Forwards: 70\r\n\
        From: <sip:probe@127.0.0.1>;tag=probe1\r\n\
        To: <sip:tandem@127.0.0.1>\r\n\
        Call-ID: tls-probe-1@127.0.0.1\r\n\
        CSeq: 1 OPTIONS\r\n\
        Content-Length: 0\r\n\r\n";
    client
        .0
        .stdin
        .as_mut()
        .unwrap()
        .write_all(request.as_bytes())
        .unwrap();
    let stdout = client.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut response = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
        let end = line.trim().is_empty() && !response.is_empty();
        response.push(line);
        if end {
            break;
        }
    }
    drop(client);
    let response = response.join("\n");
    assert!(
        response.starts_with("SIP/2.0 200"),
        "no 200 to OPTIONS over TLS: {response:?}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        response.contains("Call-ID: tls-probe-1@127.0.0.1"),
        "{response}"
    );

    // Plain-text SIP on the TLS port is not a handshake.
    let mut plain = TcpStream::connect("127.0.0.1:16551").unwrap();
    plain.write_all(request.as_bytes()).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 512];
    let _ = plain.read(&mut buf);

    // A gateway that trusts only the system CAs will not call a trunk
    // whose certificate our test CA issued: the handshake fails, the
    // keepalive gets no answer, the call is refused and recorded.
    let strict_dir = workdir("sip-tls-untrusted");
    let strict = strict_dir.join("tandem.toml");
    std::fs::write(
        &strict,
        r#"
[sip]
listen = "127.0.0.1:16540"
transports = ["udp"]
# Timer B (64·T1) ends the unanswerable INVITE in 6.4 s.
t1_ms = 100
[media]
rtp_address = "127.0.0.1"
rtp_ports = "22450-22469"
[http]
listen = "127.0.0.1:16593"

[[trunk]]
name = "untrusted"
address = "127.0.0.1:16551"
transport = "tls"
options_interval = 0

[[route]]
prefix = "4008"
trunks = ["untrusted"]
"#,
    )
    .unwrap();
    let (_strict, strict_log) = start_tandem(&strict_dir, &["--config", strict.to_str().unwrap()]);
    let out = sipp_uac(
        &strict_dir,
        &scenario("kamailio/uac-pcma-pcap.xml"),
        16545,
        22480,
        "127.0.0.1:16540",
        "4008765",
        (1, 1),
    );
    assert!(
        !out.status.success(),
        "a call over an unverified TLS trunk succeeded:\n{}",
        std::fs::read_to_string(&strict_log).unwrap_or_default()
    );
    let rows = wait_for_cdrs(&strict_dir, 1, Duration::from_secs(10));
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0]["disposition"], "answered", "{:?}", rows[0]);
    let strict_metrics = http_get("127.0.0.1:16593", "/metrics");
    assert!(
        metric(&strict_metrics, "tandem_sip_tls_handshake_failures_total") >= 1,
        "{strict_metrics}"
    );
    std::thread::sleep(Duration::from_secs(6).saturating_sub(stalled_since.elapsed()));
    let mut buf = [0u8; 16];
    let closed = (&stalled).read(&mut buf);
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    let metrics = http_get("127.0.0.1:16592", "/metrics");
    // The plain-text client, the gateway that refused our certificate and
    // the stalled client.
    assert_eq!(
        metric(&metrics, "tandem_sip_tls_handshake_failures_total"),
        3,
        "{metrics}"
    );
    assert_eq!(metric(&metrics, "tandem_sip_connections_total"), 1);
}
