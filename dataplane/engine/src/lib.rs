//! Tandem's media engine: per-core RTP workers.
//!
//! One [`worker::Worker`] per core owns a packet backend
//! ([`tandem_packet_io::PacketIo`]: io_uring, sockets, later DPDK), a flow
//! table of legs, and everything the legs need: relaying with SSRC,
//! sequence and timestamp rewriting; transcoding ([`codec`]); an adaptive
//! jitter buffer with loss concealment ([`jitter`]); DTMF detection,
//! RFC 4733 generation and in-band suppression ([`dtmf_relay`]); RTCP
//! termination with loss, jitter, RTT and an E-model MOS ([`quality`]);
//! conferences ([`mixer`]); prompts ([`prompt`]); recording ([`recorder`]).
//! Workers run to completion: receive a burst, look up each packet's leg,
//! run its chain, send a burst; nothing on the packet path locks or
//! allocates. [`engine::Engine`] starts the workers and routes commands.
//!
//! # The command set (the control plane's boundary)
//!
//! The control plane talks to workers only through bounded lock-free queues
//! ([`engine::Engine::submit`]); a full queue refuses the command with
//! [`command::SubmitError::QueueFull`]. Every command is answered by exactly
//! one [`command::Event::Done`] carrying its [`command::RequestId`].
//! Legs belong to a [`command::SessionId`]; all legs of a session (both
//! sides of a call, all members of a conference) live on one worker.
//!
//! | command | effect |
//! |---|---|
//! | `CreateLeg { leg, session, config }` | open the leg's RTP port (and RTCP on port + 1); remote address, latching, codec/payload types/ptime, RTP timeout |
//! | `ModifyLeg { leg, remote, format }` | re-INVITE: new remote address and/or format |
//! | `DestroyLeg { leg }` | close the leg; its final [`command::LegReport`] comes as `Stats` |
//! | `Bridge { a, b }` / `Unbridge { leg }` | relay between two legs of a session, transcoding when their codecs differ, translating DTMF when one side has no telephone-event |
//! | `JoinConference { leg, conference }` / `LeaveConference { leg }` | N-party mixing, each member hearing the others |
//! | `SetMute`, `SetDeaf`, `SetGain { gain_db }`, `Kick` | conference member controls |
//! | `SetWhisper { leg, to }` | let a conference member be heard by one other member only (a supervisor coaching an agent), or by everyone again (`to: None`) |
//! | `PlayPrompt { leg, request }` / `StopPrompt { leg }` | play a prompt into a leg (repeat, barge-in on DTMF) |
//! | `StartRecording { leg, recorder }` / `StopRecording { leg }` | stereo WAV of what the leg hears and says, written off the worker |
//! | `SendDtmf { leg, digit, duration_ms }` | send a digit (RFC 4733 if negotiated, else in-band) |
//! | `QueryLeg { leg }` | report the leg's statistics now |
//!
//! | event | when |
//! |---|---|
//! | `Done { request, result }` | every command, once |
//! | `Dtmf { leg, digit, source, duration_ms }` | a digit ended (source: in-band, RFC 4733, TDM) |
//! | `RtpTimeout { leg }` | no RTP for the leg's timeout |
//! | `SsrcChange { leg, old, new }` | the peer's stream changed |
//! | `PromptDone { leg, barged_in }` | a prompt ended or was interrupted |
//! | `LoudestSpeaker { conference, leg }` | the conference's loudest member changed |
//! | `RecordingStopped { leg, join }` | finish the file off the worker with `join.join()` |
//! | `Stats { leg, report }` | on `QueryLeg` and when a leg is destroyed |
//!
//! # Driving a worker
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use tandem_dataplane::codec::Codec;
//! use tandem_dataplane::command::*;
//! use tandem_dataplane::metrics::WorkerShared;
//! use tandem_dataplane::worker::Worker;
//! use tandem_packet_io::MemoryNet;
//!
//! let net = MemoryNet::new();
//! let (commands, queue) = crossbeam_channel::bounded(16);
//! let (events_tx, events) = crossbeam_channel::bounded(16);
//! let mut worker = Worker::new(0, net.io(), queue, events_tx, Arc::new(WorkerShared::default()));
//! let config = LegConfig {
//!     local: "10.0.0.1:20000".parse().unwrap(),
//!     remote: None,
//!     latch: true,
//!     format: MediaFormat::new(Codec::Pcmu, 0),
//!     rtp_timeout_secs: 60,
//! };
//! commands.send((RequestId(1), Command::CreateLeg { leg: LegId(1), session: SessionId(1), config })).unwrap();
//! worker.turn(Instant::now()); // in production: worker.run() on its own thread
//! assert!(matches!(events.try_recv(), Ok(Event::Done { request: RequestId(1), result: Ok(()) })));
//! ```
//!
//! # Metrics
//!
//! Per-worker counters are plain arrays published every 100 ms to a
//! cache-line-aligned block of atomics; [`metrics::EngineCollector`]
//! exports them to Prometheus (the metric list is in [`metrics`]).
#![deny(unsafe_code)]

pub mod codec;
pub mod command;
pub mod dtmf_relay;
pub mod engine;
pub mod frame;
pub mod jitter;
pub mod metrics;
pub mod mixer;
pub mod prompt;
pub mod quality;
pub mod recorder;
pub mod worker;
