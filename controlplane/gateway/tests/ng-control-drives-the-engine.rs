//! `tandem run` driven over its ng port by a test acting as the proxy, with
//! real UDP phones on loopback and the io_uring backend: offer/answer
//! rewrite the SDP to Tandem's ports and media flows; `list` and `query`
//! see the call; `play DTMF`, `play media` and recording act on it;
//! `delete` ends it; bad requests get error replies.

mod support;

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Ng, ng_str};
use tandem_dsp::{dtmf, g711, tone};
use tandem_ng::bencode::{Limits, Node, Value, decode};

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sdp(port: u16, pt: &str, name: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {pt} 101\r\na=rtpmap:{pt} {name}/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    )
}

/// The media port an SDP advertises.
fn port_of(sdp: &str) -> u16 {
    let m = sdp
        .lines()
        .find(|l| l.starts_with("m=audio "))
        .expect("m=audio line");
    m.split(' ').nth(1).unwrap().parse().unwrap()
}

fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(payload);
    p
}

#[test]
fn a_proxy_sets_up_queries_and_tears_down_a_call_over_ng() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ng-control");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ng_addr = "127.0.0.1:21323";
    let log = dir.join("tandem.log");
    let _tandem = Kill(
        Command::new(env!("CARGO_BIN_EXE_tandem"))
            .args([
                "run",
                "--ng-listen",
                ng_addr,
                "--rtp-ports",
                "24000-24099",
                "--recording-dir",
            ])
            .arg(&dir)
            .stderr(std::fs::File::create(&log).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut ng = Ng::new(ng_addr);
    ng.wait_for_pong(Duration::from_secs(10), String::new);

    let caller = UdpSocket::bind("127.0.0.1:0").unwrap();
    let callee = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&caller, &callee] {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    }
    let base = |cmd: &str| {
        Node::dict()
            .with("command", Node::str(cmd))
            .with("call-id", Node::str("call-1@test"))
            .with("from-tag", Node::str("caller-tag"))
    };
    let reply = ng.call(
        base("offer")
            .with(
                "sdp",
                Node::str(&sdp(caller.local_addr().unwrap().port(), "0", "PCMU")),
            )
            .with("replace", Node::str_list(["origin", "session-connection"]))
            .with("ICE", Node::str("remove")),
    );
    let v = decode(&reply, Limits::default()).unwrap();
    assert_eq!(ng_str(&v, "result"), "ok", "{v:?}");
    let to_callee_port = port_of(ng_str(&v, "sdp"));
    let reply = ng.call(base("answer").with("to-tag", Node::str("callee-tag")).with(
        "sdp",
        Node::str(&sdp(callee.local_addr().unwrap().port(), "8", "PCMA")),
    ));
    let v = decode(&reply, Limits::default()).unwrap();
    assert_eq!(ng_str(&v, "result"), "ok", "{v:?}");
    let to_caller_port = port_of(ng_str(&v, "sdp"));
    assert_ne!(to_caller_port, to_callee_port);

    // Media both ways, transcoded PCMU <-> PCMA.
    let tone: Vec<i16> = (0..160)
        .map(|i| ((i as f64 * 0.4).sin() * 4000.0) as i16)
        .collect();
    let mut mu = [0u8; 160];
    g711::encode_ulaw(&tone, &mut mu);
    let mut a = [0u8; 160];
    g711::encode_alaw(&tone, &mut a);
    let mut buf = [0u8; 2048];
    for seq in 0..5u16 {
        caller
            .send_to(&rtp(seq, &mu), ("127.0.0.1", to_caller_port))
            .unwrap();
        let (n, from) = callee
            .recv_from(&mut buf)
            .expect("caller's audio reaches the callee");
        assert_eq!(from.port(), to_callee_port);
        assert_eq!(buf[1] & 0x7f, 8, "transcoded to PCMA");
        assert_eq!(n, 172);
        let mut pcm = [0i16; 160];
        g711::decode_alaw(&buf[12..n], &mut pcm);
        let want: Vec<i16> = tone
            .iter()
            .map(|&x| g711::alaw_decode(g711::alaw_encode(x)))
            .collect();
        let err: i32 = pcm
            .iter()
            .zip(&want)
            .map(|(x, y)| (i32::from(*x) - i32::from(*y)).abs())
            .max()
            .unwrap();
        assert!(
            err < 300,
            "μ-law → A-law keeps the waveform (max error {err})"
        );
        let mut back = rtp(seq, &a);
        back[1] = 8;
        callee
            .send_to(&back, ("127.0.0.1", to_callee_port))
            .unwrap();
        let (n, _) = caller
            .recv_from(&mut buf)
            .expect("callee's audio reaches the caller");
        assert_eq!((buf[1] & 0x7f, n), (0, 172));
    }

    let v_list = ng.call(Node::dict().with("command", Node::str("list")));
    let v = decode(&v_list, Limits::default()).unwrap();
    let calls = v.get("calls").and_then(|c| c.as_list()).expect("calls");
    assert_eq!(calls.len(), 1);
    let q = ng.call(base("query"));
    let v = decode(&q, Limits::default()).unwrap();
    assert_eq!(ng_str(&v, "result"), "ok", "{v:?}");
    let rtp_packets = v
        .get("totals")
        .and_then(|t| t.get("RTP"))
        .and_then(|r| r.get("packets"));
    assert!(rtp_packets.and_then(Value::as_int).unwrap() >= 10, "{v:?}");

    // play DTMF: the caller "presses" 5, the callee hears RFC 4733 events.
    let v = ng.call(
        base("play DTMF")
            .with("code", Node::str("5"))
            .with("duration", Node::Int(100)),
    );
    assert_eq!(
        ng_str(&decode(&v, Limits::default()).unwrap(), "result"),
        "ok"
    );
    let mut events = 0;
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && events < 4 {
        caller
            .send_to(&rtp(100, &mu), ("127.0.0.1", to_caller_port))
            .unwrap();
        if let Ok((n, _)) = callee.recv_from(&mut buf)
            && buf[1] & 0x7f == 101
        {
            assert_eq!(buf[12], 5);
            assert_eq!(n, 16);
            events += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(events >= 4, "telephone events for the digit ({events})");

    // play media: a WAV prompt of DTMF '9' to the callee.
    let prompt = dir.join("nine.wav");
    let pcm = tone::dtmf_sequence("9", 200, 100, -10.0).unwrap();
    let spec = tandem_dsp::wav::Spec {
        format: tandem_dsp::wav::Format::Pcm16,
        channels: 1,
        sample_rate: 8000,
    };
    std::fs::write(
        &prompt,
        tandem_dsp::wav::to_vec(spec, &tandem_dsp::wav::encode_samples(spec.format, &pcm)).unwrap(),
    )
    .unwrap();
    let v = ng.call(
        base("play media")
            .with("from-tag", Node::str("callee-tag"))
            .with("file", Node::str(prompt.to_str().unwrap())),
    );
    assert_eq!(
        ng_str(&decode(&v, Limits::default()).unwrap(), "result"),
        "ok"
    );
    let mut heard = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && heard.len() < 8000 {
        if let Ok((n, _)) = callee.recv_from(&mut buf)
            && buf[1] & 0x7f == 8
        {
            let mut s = vec![0i16; n - 12];
            g711::decode_alaw(&buf[12..n], &mut s);
            heard.extend(s);
        }
    }
    let digits: String = dtmf::detect(&heard).iter().map(|d| d.digit).collect();
    assert_eq!(digits, "9", "the prompt played to the callee");

    // Unknown calls and garbage get error replies, not silence.
    let v = ng.call(
        Node::dict()
            .with("command", Node::str("query"))
            .with("call-id", Node::str("nope")),
    );
    assert_eq!(
        ng_str(&decode(&v, Limits::default()).unwrap(), "result"),
        "error"
    );
    let v = ng.call(Node::dict().with("command", Node::str("frobnicate")));
    assert_eq!(
        ng_str(&decode(&v, Limits::default()).unwrap(), "result"),
        "error"
    );

    // The delete reply carries the final figures, even after a query.
    let v = ng.call(base("delete"));
    let v = decode(&v, Limits::default()).unwrap();
    assert_eq!(ng_str(&v, "result"), "ok");
    let final_packets = v
        .get("totals")
        .and_then(|t| t.get("RTP"))
        .and_then(|r| r.get("packets"))
        .and_then(Value::as_int);
    assert!(final_packets.unwrap_or(0) >= 10, "{v:?}");
    let v_list = ng.call(Node::dict().with("command", Node::str("list")));
    let v = decode(&v_list, Limits::default()).unwrap();
    assert_eq!(
        v.get("calls").and_then(|c| c.as_list()).map(<[_]>::len),
        Some(0)
    );
    // The ports are closed.
    caller
        .send_to(&rtp(200, &mu), ("127.0.0.1", to_caller_port))
        .unwrap();
    assert!(callee.recv_from(&mut buf).is_err(), "no media after delete");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("call call-1@test deleted"), "{text}");
}
