//! Every description that parses goes through answer, offer and
//! accept_answer without a panic: the fuzz seeds and seeded mutations of
//! the RFC 4317 bodies (line deletions, swaps and value changes).

#[path = "oa-common/mod.rs"]
mod common;
use common::*;
use tandem_sdp::SessionDescription;
use tandem_sdp::offer_answer::{Capabilities, EngineSupport, accept_answer, answer, offer};

const SEED: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s= 
c=IN IP4 0.0.0.0
t=0 0
a=sendonly
m=audio 49170 RTP/AVP 0 8 97 101 96
c=IN IP6 ::1
a=rtpmap:97 iLBC/8000
a=rtpmap:96 L16/16000
a=rtpmap:101 telephone-event/16000
a=fmtp:101 0-16
a=ptime:0
a=maxptime:0
a=rtcp:65535 IN IP4 233.252.0.1
a=rtcp-mux
a=inactive
m=video 51372 RTP/AVP 31 32
m=audio 65535/2 RTP/AVPF 9
m=image 0 udptl t38
";

const VALUES: &[&str] = &[
    "m=audio 0 RTP/AVP 0",
    "m=audio 1 RTP/AVP 127",
    "m=audio 2 rtp/avp 0",
    "m=audio 3 TCP/RTP/AVP 8",
    "m=text 4 RTP/AVP 8",
    "c=IN IP4 host",
    "c=IN IP4 233.252.0.1/3",
    "c=ATM NSAP 47.0005.80.ffe100",
    "a=rtpmap:0 opus/48000/2",
    "a=rtpmap:8 telephone-event/8000",
    "a=rtpmap:127 PCMA/0",
    "a=ptime:4294967295",
    "a=recvonly",
    "a=rtcp:1",
];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// Returns how many answers succeeded.
fn exercise(d: &SessionDescription) -> usize {
    let mut answered = 0;
    let all = Capabilities::new(
        &["PCMA", "PCMU", "G722", "L16", "L16/16000", "opus", "iLBC"],
        EngineSupport { opus: true },
    )
    .unwrap();
    let mut with_mux = all.clone();
    with_mux.rtcp_mux = true;
    with_mux.ptime = Some(0);
    for caps in [&all, &with_mux] {
        let mut leg = leg();
        if let Ok((ans, media)) = answer(d, &mut leg, caps) {
            answered += 1;
            // What we answer must parse and read back as an answer.
            let reparsed = SessionDescription::parse(&ans.to_bytes()).unwrap();
            let back = accept_answer(d, &reparsed);
            assert!(back.is_ok(), "{back:?}\n{d}\n{ans}");
            let _ = media.changes_from(&back.unwrap());
            let re = offer(&mut leg, caps).unwrap();
            assert_eq!(re.media().len(), d.media().len());
            SessionDescription::parse(&re.to_bytes()).unwrap();
        }
        let _ = accept_answer(d, d);
        let mine = offer(&mut leg, caps).unwrap();
        let _ = accept_answer(&mine, d);
    }
    answered
}

#[test]
fn fuzz_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/sdp_message");
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        if let Ok(d) = SessionDescription::parse(&data) {
            let _ = exercise(&d);
        }
    }
}

#[test]
fn seeded_mutations() {
    let mut rng = Lcg(0x7a6d_656d);
    let base: Vec<&str> = SEED.lines().collect();
    let (mut parsed, mut answered) = (0, 0);
    for _ in 0..3000 {
        let mut lines: Vec<String> = base.iter().map(|s| (*s).to_owned()).collect();
        for _ in 0..1 + rng.next(4) {
            let i = 1 + rng.next(lines.len() - 1);
            match rng.next(3) {
                0 if lines.len() > 2 => {
                    lines.remove(i);
                }
                1 => {
                    let j = 1 + rng.next(lines.len() - 1);
                    lines.swap(i, j);
                }
                _ => lines.insert(i, VALUES[rng.next(VALUES.len())].to_owned()),
            }
        }
        if let Ok(d) = SessionDescription::parse(lines.join("\r\n").as_bytes()) {
            parsed += 1;
            answered += exercise(&d);
        }
    }
    // The mutations must reach the interesting paths, not only errors.
    assert!(
        parsed > 1000 && answered > 500,
        "{parsed} parsed, {answered} answered"
    );
}
