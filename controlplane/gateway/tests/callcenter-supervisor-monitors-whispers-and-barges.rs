//! A supervisor joins an agent's call through the API: silent monitoring,
//! whisper, barge-in, and leaving. SIPp does the signalling of the
//! caller, the agent and the supervisor; their audio is the test's own:
//! each sends a tone of its own (caller 500 Hz, agent 1100 Hz, supervisor
//! 1700 Hz) and what each hears is measured, so who hears whom is checked
//! on the real mixed media.

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::*;

const HTTP: &str = "127.0.0.1:13290";
const TOKEN: &str = "supervisor-token-for-monitoring";

const CALLER_HZ: u32 = 500;
const AGENT_HZ: u32 = 1100;
const SUPERVISOR_HZ: u32 = 1700;

/// One phone's audio: sends its tone to the gateway's port (read from the
/// SIPp message log once the SDP is there) every 20 ms and keeps what it
/// hears, decoded.
struct Audio {
    heard: Arc<Mutex<Vec<i16>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Audio {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The gateway's RTP port in a SIPp message log: the `m=audio` port that
/// is not the phone's own.
fn gateway_port(log: &Path, own: u16) -> Option<u16> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .filter_map(|l| l.strip_prefix("m=audio "))
        .filter_map(|l| l.split(' ').next()?.parse::<u16>().ok())
        .find(|&p| p != own)
}

fn audio(port: u16, log: PathBuf, hz: u32, alaw: bool) -> Audio {
    let socket = UdpSocket::bind(("127.0.0.1", port)).expect("bind the phone's RTP port");
    socket
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (h, s) = (heard.clone(), stop.clone());
    let thread = std::thread::spawn(move || {
        let mut target: Option<SocketAddr> = None;
        let (mut seq, mut ts) = (0u16, 0u32);
        let mut next = Instant::now();
        let mut buf = [0u8; 2048];
        while !s.load(Ordering::Relaxed) {
            if target.is_none() {
                target = gateway_port(&log, port).map(|p| SocketAddr::from(([127, 0, 0, 1], p)));
            }
            if let Some(to) = target
                && Instant::now() >= next
            {
                next += Duration::from_millis(20);
                let mut packet = vec![0x80, if alaw { 8 } else { 0 }];
                packet.extend_from_slice(&seq.to_be_bytes());
                packet.extend_from_slice(&ts.to_be_bytes());
                packet.extend_from_slice(&(0x5eed_0000 + u32::from(port)).to_be_bytes());
                for i in 0..160u32 {
                    let t = f64::from(ts + i) / 8000.0;
                    let x =
                        (6000.0 * (2.0 * std::f64::consts::PI * f64::from(hz) * t).sin()) as i16;
                    packet.push(if alaw {
                        tandem_dsp::g711::alaw_encode(x)
                    } else {
                        tandem_dsp::g711::ulaw_encode(x)
                    });
                }
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(160);
                let _ = socket.send_to(&packet, to);
            }
            if let Ok((n, _)) = socket.recv_from(&mut buf) {
                if n <= 12 {
                    continue;
                }
                let start = 12 + 4 * usize::from(buf[0] & 0x0f);
                let pt = buf[1] & 0x7f;
                let payload = buf.get(start..n).unwrap_or_default();
                let decode = match pt {
                    0 => tandem_dsp::g711::ulaw_decode,
                    8 => tandem_dsp::g711::alaw_decode,
                    _ => continue,
                };
                h.lock().unwrap().extend(payload.iter().map(|&c| decode(c)));
            }
        }
    });
    Audio {
        heard,
        stop,
        thread: Some(thread),
    }
}

/// The share of `samples`' energy at `hz` (Goertzel over 20 ms blocks;
/// the test tones are multiples of the 50 Hz bin width).
fn share(samples: &[i16], hz: u32) -> f64 {
    let n = 160usize;
    let w = 2.0 * std::f64::consts::PI * f64::from(hz) / 8000.0;
    let (mut at, mut total) = (0.0, 0.0);
    for block in samples.chunks_exact(n) {
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        let mut energy = 0.0;
        for &x in block {
            let x = f64::from(x);
            let s0 = x + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s0;
            energy += x * x;
        }
        at += s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
        total += energy;
    }
    if total == 0.0 {
        0.0
    } else {
        2.0 * at / (n as f64 * total)
    }
}

/// What each phone hears over the next 1.5 s.
fn listen(phones: &[&Audio]) -> Vec<Vec<i16>> {
    for p in phones {
        p.heard.lock().unwrap().clear();
    }
    std::thread::sleep(Duration::from_millis(1500));
    phones
        .iter()
        .map(|p| std::mem::take(&mut *p.heard.lock().unwrap()))
        .collect()
}

fn hears(who: &str, samples: &[i16], hz: u32, expected: bool, when: &str) {
    let s = share(samples, hz);
    assert!(
        samples.len() > 4000,
        "{when}: {who} heard almost nothing ({} samples)",
        samples.len()
    );
    if expected {
        assert!(s > 0.05, "{when}: {who} should hear {hz} Hz (share {s:.4})");
    } else {
        assert!(
            s < 0.005,
            "{when}: {who} should not hear {hz} Hz (share {s:.4})"
        );
    }
}

fn api(method: &str, path: &str, body: &str) -> String {
    let (status, text) = http_request(HTTP, method, path, Some(TOKEN), body);
    assert_eq!(status, 200, "{method} {path}: {text}");
    text
}

#[test]
fn a_supervisor_listens_whispers_barges_and_leaves() {
    require("sipp", "sip-tester");
    let dir = workdir("callcenter-supervisor");
    std::fs::write(
        dir.join("tandem.toml"),
        format!(
            r#"
[sip]
listen = "127.0.0.1:13260"
[media]
rtp_address = "127.0.0.1"
rtp_ports = "28800-28899"
[http]
listen = "{HTTP}"
[api]
tokens = [{{ name = "floor", token = "{TOKEN}", role = "supervisor" }}]

[[agent]]
name = "alice"
contact = "sip:alice@127.0.0.1:13261"
[[agent]]
name = "sam"
contact = "sip:sam@127.0.0.1:13262"
login = false

[[queue]]
name = "desk"
members = ["alice"]

[[number]]
number = "4005000007"
destinations = ["queue:desk"]
"#
        ),
    )
    .unwrap();
    let config = dir.join("tandem.toml");
    let (_tandem, log) = start_tandem(&dir, &["--config", config.to_str().unwrap()]);
    let phone = scenario("sipp/uas-phone-external-media.xml");
    let mut alice = sipp_phone(
        &dir,
        &phone,
        13261,
        28700,
        "alice.log",
        &["-key", "rtp", "28960"],
    );
    let mut sam = sipp_phone(
        &dir,
        &phone,
        13262,
        28710,
        "sam.log",
        &["-key", "rtp", "28970"],
    );
    let caller_dir = dir.clone();
    let caller_sipp = std::thread::spawn(move || {
        sipp_uac_with(
            &caller_dir,
            &scenario("sipp/uac-caller-external-media.xml"),
            13270,
            28720,
            "127.0.0.1:13260",
            "4005000007",
            (1, 1),
            &[
                "-d",
                "16000",
                "-key",
                "caller",
                "13700000009",
                "-key",
                "rtp",
                "28950",
                "-trace_msg",
                "-message_file",
                "caller.log",
            ],
        )
    });
    let caller = audio(28950, dir.join("caller.log"), CALLER_HZ, true);
    let agent = audio(28960, dir.join("alice.log"), AGENT_HZ, false);
    let supervisor = audio(28970, dir.join("sam.log"), SUPERVISOR_HZ, false);
    let tandem_log = || std::fs::read_to_string(&log).unwrap_or_default();

    // The call reaches alice; find it in the API.
    let deadline = Instant::now() + Duration::from_secs(10);
    let call = loop {
        let calls = api("GET", "/api/calls", "");
        if let Some(i) = calls.find("\"state\":\"on_call\"") {
            let before = &calls[..i];
            let id = before.rsplit("\"call\":").next().unwrap_or_default();
            let id: String = id.chars().take_while(char::is_ascii_digit).collect();
            break id;
        }
        assert!(
            Instant::now() < deadline,
            "no answered call: {calls}\n{}",
            tandem_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let heard = listen(&[&caller, &agent]);
    hears("the caller", &heard[0], AGENT_HZ, true, "before");
    hears("the agent", &heard[1], CALLER_HZ, true, "before");

    // Silent monitoring: sam hears both, nobody hears sam.
    let path = format!("/api/calls/{call}/monitor");
    let started = api("POST", &path, r#"{"supervisor": "sam", "mode": "listen"}"#);
    assert!(started.contains("\"state\":\"ringing\""), "{started}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !api("GET", "/api/calls", "").contains("\"state\":\"on\"") {
        assert!(
            Instant::now() < deadline,
            "sam never came on\n{}",
            tandem_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let sam_log = std::fs::read_to_string(dir.join("sam.log")).unwrap_or_default();
    assert!(
        sam_log.contains(&format!(
            "X-Tandem-Monitor: call={call};agent=alice;mode=listen"
        )),
        "{sam_log}"
    );
    let all = [&caller, &agent, &supervisor];
    let heard = listen(&all);
    hears("the supervisor", &heard[2], CALLER_HZ, true, "listen");
    hears("the supervisor", &heard[2], AGENT_HZ, true, "listen");
    hears("the caller", &heard[0], AGENT_HZ, true, "listen");
    hears("the caller", &heard[0], SUPERVISOR_HZ, false, "listen");
    hears("the agent", &heard[1], SUPERVISOR_HZ, false, "listen");

    // Whisper: the agent hears sam; the caller still does not.
    api("POST", &path, r#"{"supervisor": "sam", "mode": "whisper"}"#);
    let heard = listen(&all);
    hears("the agent", &heard[1], SUPERVISOR_HZ, true, "whisper");
    hears("the agent", &heard[1], CALLER_HZ, true, "whisper");
    hears("the caller", &heard[0], SUPERVISOR_HZ, false, "whisper");
    hears("the caller", &heard[0], AGENT_HZ, true, "whisper");

    // Barge-in: everyone hears everyone.
    api("POST", &path, r#"{"supervisor": "sam", "mode": "barge"}"#);
    let heard = listen(&all);
    hears("the caller", &heard[0], SUPERVISOR_HZ, true, "barge");
    hears("the agent", &heard[1], SUPERVISOR_HZ, true, "barge");

    // Sam leaves: his phone is hung up, the two talk on.
    let ended = api("DELETE", &path, "");
    assert!(ended.contains("\"state\":\"ended\""), "{ended}");
    phone_finished(&mut sam, &dir, "sam.log", &log);
    let heard = listen(&[&caller, &agent]);
    hears("the caller", &heard[0], AGENT_HZ, true, "after");
    hears("the caller", &heard[0], SUPERVISOR_HZ, false, "after");
    hears("the agent", &heard[1], CALLER_HZ, true, "after");
    let (status, _) = http_request(HTTP, "DELETE", &path, Some(TOKEN), "");
    assert_eq!(status, 404, "a second DELETE finds nothing to end");

    let out = caller_sipp.join().unwrap();
    assert_sipp_ok(&out, &log);
    phone_finished(&mut alice, &dir, "alice.log", &log);
    let audit = api("GET", "/api/audit", "");
    assert_eq!(
        audit.matches("\"action\":\"call.monitor\"").count(),
        3,
        "{audit}"
    );
    assert!(
        audit.contains("\"action\":\"call.monitor.stop\""),
        "{audit}"
    );
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert_eq!(rows[0]["trunk_out"], "agent:alice", "{rows:?}");
    assert_eq!(rows[0]["disposition"], "answered", "{rows:?}");
}
