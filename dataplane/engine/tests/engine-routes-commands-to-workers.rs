//! The threaded engine: commands reach the worker that owns the session,
//! every command gets exactly one answer, legs of one session share a
//! worker, and a full queue refuses instead of dropping.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use tandem_dataplane::codec::Codec;
use tandem_dataplane::command::{
    Command, CommandError, Event, LegConfig, LegId, MediaFormat, RequestId, SessionId, SubmitError,
};
use tandem_dataplane::engine::{Engine, EngineConfig};
use tandem_packet_io::MemoryNet;

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn leg(port: u16) -> LegConfig {
    LegConfig {
        local: SocketAddr::new("10.0.0.1".parse().unwrap(), port),
        remote: None,
        latch: true,
        format: MediaFormat::new(Codec::Pcma, 8),
        rtp_timeout_secs: 0,
    }
}

fn answers(engine: &Engine, want: usize) -> HashMap<RequestId, Result<(), CommandError>> {
    let mut out = HashMap::new();
    while out.len() < want {
        let event = engine.events().recv_timeout(Duration::from_secs(5));
        if let Event::Done { request, result } = event.expect("an answer in time") {
            assert!(
                out.insert(request, result).is_none(),
                "one answer per request"
            );
        }
    }
    out
}

#[test]
fn sessions_are_sharded_and_every_command_is_answered() {
    let net = MemoryNet::new();
    let n = net.clone();
    let engine = Engine::start(
        &EngineConfig {
            workers: 3,
            ..EngineConfig::default()
        },
        move |_| Ok(n.io()),
    )
    .unwrap();
    let mut ids = Vec::new();
    for s in 0..30u64 {
        for l in 0..2u64 {
            let leg_id = LegId(s * 2 + l);
            ids.push(
                engine
                    .submit(Command::CreateLeg {
                        leg: leg_id,
                        session: SessionId(s),
                        config: leg(20_000 + (s * 2 + l) as u16 * 2),
                    })
                    .unwrap(),
            );
        }
        ids.push(
            engine
                .submit(Command::Bridge {
                    a: LegId(s * 2),
                    b: LegId(s * 2 + 1),
                })
                .unwrap(),
        );
    }
    let got = answers(&engine, ids.len());
    for id in &ids {
        got[id].as_ref().expect("succeeds");
    }
    let used: std::collections::HashSet<usize> =
        (0..30).map(|s| engine.worker_of(SessionId(s))).collect();
    assert_eq!(used.len(), 3, "30 sessions spread over all workers");

    // Bridging legs of different sessions is refused by the worker (or the
    // legs are not even on the same worker).
    let cross = engine
        .submit(Command::Bridge {
            a: LegId(0),
            b: LegId(3),
        })
        .unwrap();
    let r = answers(&engine, 1).remove(&cross).unwrap();
    assert!(
        matches!(
            r,
            Err(CommandError::CrossSession | CommandError::UnknownLeg(_))
        ),
        "{r:?}"
    );

    // Relaying works through the threaded engine.
    let phone_a = net.socket(a("10.0.0.9:5000")).unwrap();
    let phone_b = net.socket(a("10.0.0.8:5000")).unwrap();
    let mut pkt = vec![0x80, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
    pkt.extend_from_slice(&[0xd5; 160]);
    // Latch B first (B's phone speaks), then A's packets reach B. The
    // worker runs on its own thread: retry until it has seen B, however
    // loaded the machine is.
    phone_b.send_to(&pkt, a("10.0.0.1:20002"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut seq = 1u16;
    let (from, got) = loop {
        seq += 1;
        pkt[2..4].copy_from_slice(&seq.to_be_bytes());
        phone_a.send_to(&pkt, a("10.0.0.1:20000"));
        if let Some(r) = phone_b.recv_timeout(Duration::from_millis(100)) {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing relayed in 10 s"
        );
    };
    assert_eq!(from, a("10.0.0.1:20002"));
    assert_eq!(&got[12..], &pkt[12..]);
    engine.shutdown();
}

#[test]
fn a_full_command_queue_refuses() {
    let net = MemoryNet::new();
    // The worker takes at most 64 commands a turn and then parks for up to
    // 5 ms; 10,000 submissions in a tight loop overrun a 4-slot queue.
    let engine = Engine::start(
        &EngineConfig {
            workers: 1,
            command_queue: 4,
            event_queue: 64,
            ..EngineConfig::default()
        },
        move |_| Ok(net.io()),
    )
    .unwrap();
    let mut refused = 0;
    for i in 0..10_000u64 {
        match engine.submit(Command::QueryLeg { leg: LegId(i) }) {
            Ok(_) => {}
            Err(SubmitError::QueueFull) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        refused > 0,
        "a 4-slot queue cannot take 10,000 commands at once"
    );
}
