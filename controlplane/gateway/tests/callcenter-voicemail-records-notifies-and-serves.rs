//! A caller reaches a voicemail box: hears the greeting and a beep, talks
//! for three seconds and hangs up. The message is on disk, indexed, its
//! webhook fires with the message's URL, and the REST API lists, serves
//! and deletes it.

mod support;

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

use support::*;

fn api(method: &str, path: &str, token: &str) -> (u16, Vec<u8>) {
    let mut s = std::net::TcpStream::connect("127.0.0.1:14890").unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let status = String::from_utf8_lossy(&out[9..12]).parse().unwrap();
    (status, out[head_end..].to_vec())
}

#[test]
fn a_message_is_recorded_indexed_announced_and_served() {
    require("sipp", "sip-tester");
    require("sox", "sox");
    let dir = workdir("callcenter-voicemail");
    tone_wav(&dir.join("greeting.wav"), 1.0, 600);
    let hook = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_port = hook.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for stream in hook.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = s.read(&mut buf).unwrap_or(0);
                req.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&req).to_string();
                if let Some(h) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if req.len() >= h + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
            let _ = tx.send(String::from_utf8_lossy(&req).to_string());
        }
    });
    let token = "supervisor-token-0123456789";
    let config = dir.join("tandem.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[sip]
listen = "127.0.0.1:14860"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "27600-27649"
[http]
listen = "127.0.0.1:14890"
[api]
tokens = [{{ name = "sup", token = "{token}", role = "supervisor" }}]

[callcenter]
voicemail_dir = "messages"

[[voicemail]]
name = "sales"
greeting = "greeting.wav"
max_seconds = 30
webhook = "http://127.0.0.1:{hook_port}/vm"

[[number]]
number = "4003000003"
destinations = ["voicemail:sales"]
"#
        ),
    )
    .unwrap();
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let tandem_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let out = sipp_uac_with(
        &dir,
        &scenario("sipp/uac-queue-caller.xml"),
        14870,
        27650,
        "127.0.0.1:14860",
        "4003000003",
        (1, 1),
        &["-d", "4000", "-key", "caller", "13300000003"],
    );
    assert_sipp_ok(&out, &log);
    let hook = rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("no webhook\n{}", tandem_log()));
    assert!(hook.starts_with("POST /vm HTTP/1.1"), "{hook}");
    for needle in [
        "\"box\":\"sales\"",
        "\"caller\":\"13300000003\"",
        "\"number\":\"4003000003\"",
        "\"url\":\"http://127.0.0.1:14890/api/voicemail/sales/",
    ] {
        assert!(hook.contains(needle), "{needle} not in {hook}");
    }
    // The API lists it, about three seconds long (4 s call, 1 s greeting).
    let (status, body) = api("GET", "/api/voicemail/sales", token);
    let listing = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, 200, "{listing}");
    let id: u64 = listing
        .split("\"id\":")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no id in {listing}"));
    let duration: f64 = listing
        .split("\"duration_s\":")
        .nth(1)
        .and_then(|r| r.split([',', '}']).next())
        .and_then(|d| d.trim().parse().ok())
        .unwrap_or_else(|| panic!("no duration in {listing}"));
    assert!((2.0..4.0).contains(&duration), "{listing}");
    // The recording: a WAV whose caller channel carries the caller's audio.
    let (status, wav) = api("GET", &format!("/api/voicemail/sales/{id}.wav"), token);
    assert_eq!(status, 200);
    assert_eq!(&wav[..4], b"RIFF");
    let data = wav
        .windows(4)
        .position(|w| w == b"data")
        .map(|i| &wav[i + 8..])
        .expect("a data chunk");
    let left_peak = data
        .chunks_exact(4)
        .map(|f| i16::from_le_bytes([f[0], f[1]]).unsigned_abs())
        .max()
        .unwrap_or(0);
    assert!(
        left_peak > 1000,
        "the caller's channel is silent ({left_peak})"
    );
    let path = dir.join("messages/sales").join(format!("{id}.wav"));
    assert!(path.exists(), "{path:?}");
    // Delete: gone from the API and from the disk.
    let (status, _) = api("DELETE", &format!("/api/voicemail/sales/{id}"), token);
    assert!(status == 200 || status == 204, "{status}");
    assert!(!path.exists());
    let (_, body) = api("GET", "/api/voicemail/sales", token);
    assert!(!String::from_utf8_lossy(&body).contains(&format!("\"id\":{id}")));
}
