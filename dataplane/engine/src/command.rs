//! The boundary between the control plane and the media workers.
//!
//! The control plane (the ng control port, the SIP B2BUA, the call-center
//! services) never touches a worker's state. It sends [`Command`]s through a
//! bounded lock-free queue to the worker that owns the session, and reads
//! [`Event`]s from each worker's bounded event queue. A full queue refuses
//! the command with [`SubmitError::QueueFull`]: nothing is dropped silently.
//! Every command carries a [`RequestId`]; the worker answers each one with
//! exactly one [`Event::Done`] carrying the result.
//!
//! Sessions are the unit of sharding: both legs of a call and every member of
//! a conference must belong to one session, so that they live on one worker
//! and mixing or relaying never crosses a core.

use std::net::SocketAddr;

use core::fmt;

use crate::codec::Codec;
use crate::prompt::PlayRequest;
use crate::recorder::{Recorder, RecorderJoin};

/// A leg: one RTP stream endpoint of the engine (one side of a call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

/// A session: the legs and conferences that must share a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

/// A conference (mixing bridge) inside a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConferenceId(pub u64);

/// Correlates a command with its [`Event::Done`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// How a leg's RTP is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaFormat {
    /// The audio codec.
    pub codec: Codec,
    /// Its RTP payload type on this leg.
    pub payload_type: u8,
    /// RFC 4733 telephone-event payload type, when negotiated.
    pub telephone_event: Option<u8>,
    /// Packetization time in milliseconds (10, 20, 30, 40 or 60).
    pub ptime_ms: u16,
}

impl MediaFormat {
    /// `codec` on `payload_type`, 20 ms packets, telephone-event on 101.
    pub fn new(codec: Codec, payload_type: u8) -> Self {
        Self {
            codec,
            payload_type,
            telephone_event: Some(101),
            ptime_ms: 20,
        }
    }
}

/// Parameters of a new leg.
#[derive(Debug, Clone)]
pub struct LegConfig {
    /// Local RTP address to bind (the port comes from the control plane's
    /// port range).
    pub local: SocketAddr,
    /// The peer's RTP address from signalling, if known. When `None`, or
    /// when `latch` is set, the first packet's source is learned (symmetric
    /// RTP, for peers behind NAT).
    pub remote: Option<SocketAddr>,
    /// Learn the remote address from the first received packet.
    pub latch: bool,
    /// Encoding of the leg's RTP.
    pub format: MediaFormat,
    /// Seconds without RTP after which [`Event::RtpTimeout`] is raised
    /// (0 = never).
    pub rtp_timeout_secs: u32,
}

/// What the control plane asks a worker to do.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
    /// Create a leg and open its local port.
    CreateLeg {
        /// The new leg.
        leg: LegId,
        /// Its session (decides the worker).
        session: SessionId,
        /// Addresses and format.
        config: LegConfig,
    },
    /// Change a leg's remote address and/or format (re-INVITE).
    ModifyLeg {
        /// The leg.
        leg: LegId,
        /// New remote address.
        remote: Option<SocketAddr>,
        /// New format.
        format: Option<MediaFormat>,
    },
    /// Close a leg's port and forget it (unbridging it first).
    DestroyLeg {
        /// The leg.
        leg: LegId,
    },
    /// Connect two legs of one session: what one receives, the other sends,
    /// transcoded when their formats differ.
    Bridge {
        /// One leg.
        a: LegId,
        /// The other.
        b: LegId,
    },
    /// Disconnect a leg from its bridge peer.
    Unbridge {
        /// The leg.
        leg: LegId,
    },
    /// Put a leg into a conference of its session (created on first join).
    JoinConference {
        /// The leg.
        leg: LegId,
        /// The conference.
        conference: ConferenceId,
    },
    /// Take a leg out of its conference.
    LeaveConference {
        /// The leg.
        leg: LegId,
    },
    /// Mute (others do not hear it) or unmute a conference member.
    SetMute {
        /// The leg.
        leg: LegId,
        /// Muted?
        muted: bool,
    },
    /// Deafen (it hears nothing) or undeafen a conference member.
    SetDeaf {
        /// The leg.
        leg: LegId,
        /// Deaf?
        deaf: bool,
    },
    /// Let a conference member be heard by one other member only (a
    /// supervisor coaching an agent), or by everyone again. While `to` is
    /// `Some`, only that member hears `leg` (`leg` still hears everyone
    /// else); both must be members of the same conference. If `to` leaves
    /// the conference, `leg` is heard by nobody (never by everyone) until
    /// the next `SetWhisper`.
    SetWhisper {
        /// The whispering member (the supervisor).
        leg: LegId,
        /// The only member that hears it (the agent), or `None` for
        /// everyone.
        to: Option<LegId>,
    },
    /// Set a conference member's input gain.
    SetGain {
        /// The leg.
        leg: LegId,
        /// Gain in dB.
        gain_db: f32,
    },
    /// Remove a member from its conference and destroy the leg.
    Kick {
        /// The leg.
        leg: LegId,
    },
    /// Play a prompt into a leg, replacing what it would otherwise send
    /// (its bridge peer's or conference's audio) until the prompt ends.
    PlayPrompt {
        /// The leg.
        leg: LegId,
        /// The prompt (loaded by the control plane, see
        /// `prompt::PromptCache`; resampled to the leg's rate if needed),
        /// repeat count and barge-in flag.
        request: PlayRequest,
    },
    /// Stop a prompt playing into a leg.
    StopPrompt {
        /// The leg.
        leg: LegId,
    },
    /// Record a leg to a stereo WAV file: what the leg receives on the
    /// left channel, what it sends (its peer, conference or prompt) on the
    /// right. The control plane opens the file (`Recorder::create`, with
    /// the leg's codec rate) so the worker never touches the disk.
    StartRecording {
        /// The leg.
        leg: LegId,
        /// The open recording.
        recorder: Box<Recorder>,
    },
    /// Stop recording a leg; the worker answers with
    /// [`Event::RecordingStopped`] whose `join` finishes the file.
    StopRecording {
        /// The leg.
        leg: LegId,
    },
    /// Send a DTMF digit on a leg (RFC 4733 when negotiated, else in-band).
    SendDtmf {
        /// The leg.
        leg: LegId,
        /// `0-9 * # A-D`.
        digit: char,
        /// Tone duration in milliseconds.
        duration_ms: u32,
    },
    /// Report a leg's statistics now ([`Event::Stats`]).
    QueryLeg {
        /// The leg.
        leg: LegId,
    },
}

impl Command {
    /// The leg the command is about, if any.
    pub fn leg(&self) -> Option<LegId> {
        match self {
            Command::CreateLeg { leg, .. }
            | Command::ModifyLeg { leg, .. }
            | Command::DestroyLeg { leg }
            | Command::Unbridge { leg }
            | Command::JoinConference { leg, .. }
            | Command::LeaveConference { leg }
            | Command::SetMute { leg, .. }
            | Command::SetDeaf { leg, .. }
            | Command::SetWhisper { leg, .. }
            | Command::SetGain { leg, .. }
            | Command::Kick { leg }
            | Command::PlayPrompt { leg, .. }
            | Command::StopPrompt { leg }
            | Command::StartRecording { leg, .. }
            | Command::StopRecording { leg }
            | Command::SendDtmf { leg, .. }
            | Command::QueryLeg { leg } => Some(*leg),
            Command::Bridge { a, .. } => Some(*a),
        }
    }
}

/// Where a detected digit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfSource {
    /// Detected in the leg's decoded audio.
    InBand,
    /// Received as RFC 4733 telephone events.
    Rfc4733,
    /// From a TDM channel's signalling or detector.
    Tdm,
}

/// What a worker reports to the control plane.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The outcome of a command.
    Done {
        /// The request.
        request: RequestId,
        /// `Ok` or why it failed.
        result: Result<(), CommandError>,
    },
    /// A DTMF digit ended on a leg.
    Dtmf {
        /// The leg that received it.
        leg: LegId,
        /// The digit.
        digit: char,
        /// How it arrived.
        source: DtmfSource,
        /// Its duration in milliseconds.
        duration_ms: u32,
    },
    /// A leg received no RTP for its configured timeout.
    RtpTimeout {
        /// The leg.
        leg: LegId,
    },
    /// A leg's sender changed SSRC.
    SsrcChange {
        /// The leg.
        leg: LegId,
        /// The previous SSRC.
        old: u32,
        /// The new SSRC.
        new: u32,
    },
    /// A prompt finished (or was stopped or barged in).
    PromptDone {
        /// The leg.
        leg: LegId,
        /// `true` when a DTMF digit interrupted it.
        barged_in: bool,
    },
    /// The loudest speaker of a conference changed.
    LoudestSpeaker {
        /// The conference.
        conference: ConferenceId,
        /// The member now loudest, `None` when all are quiet.
        leg: Option<LegId>,
    },
    /// A recording was stopped (by command or because its leg went away).
    /// Call `join.join()` off the worker to flush and close the file.
    RecordingStopped {
        /// The leg.
        leg: LegId,
        /// Completes the file.
        join: RecorderJoin,
    },
    /// A leg's statistics (on [`Command::QueryLeg`] and when it is destroyed).
    Stats {
        /// The leg.
        leg: LegId,
        /// The figures.
        report: LegReport,
    },
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// The leg does not exist on this worker.
    UnknownLeg(LegId),
    /// A leg with this id already exists.
    LegExists(LegId),
    /// The two legs belong to different sessions (hence maybe workers).
    CrossSession,
    /// The local address could not be opened.
    Bind(String),
    /// The leg is not in a conference.
    NotInConference(LegId),
    /// The worker's tables are full.
    Capacity(&'static str),
    /// The command is valid but not supported by this engine yet.
    Unsupported(&'static str),
    /// A bad argument (digit, gain, path).
    Invalid(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::UnknownLeg(l) => write!(f, "unknown leg {}", l.0),
            CommandError::LegExists(l) => write!(f, "leg {} already exists", l.0),
            CommandError::CrossSession => f.write_str("legs belong to different sessions"),
            CommandError::Bind(e) => write!(f, "cannot open local port: {e}"),
            CommandError::NotInConference(l) => write!(f, "leg {} is not in a conference", l.0),
            CommandError::Capacity(what) => write!(f, "worker full: {what}"),
            CommandError::Unsupported(what) => write!(f, "not supported: {what}"),
            CommandError::Invalid(what) => write!(f, "invalid argument: {what}"),
        }
    }
}

impl std::error::Error for CommandError {}

/// Why a command could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitError {
    /// The worker's command queue is full: the worker is overloaded or
    /// stuck. The command was not queued.
    QueueFull,
    /// The worker has stopped.
    WorkerGone,
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubmitError::QueueFull => "worker command queue full",
            SubmitError::WorkerGone => "worker stopped",
        })
    }
}

impl std::error::Error for SubmitError {}

/// A leg's figures, as reported in [`Event::Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LegReport {
    /// RTP packets received from the peer and accepted.
    pub packets_in: u64,
    /// RTP payload bytes received.
    pub bytes_in: u64,
    /// RTP packets sent to the peer.
    pub packets_out: u64,
    /// RTP payload bytes sent.
    pub bytes_out: u64,
    /// Packets dropped on this leg (wrong source, malformed, late...).
    pub dropped: u64,
    /// Packets the peer's sequence numbers say were lost.
    pub lost: u64,
    /// Interarrival jitter in milliseconds (RFC 3550 A.8).
    pub jitter_ms: f32,
    /// Round-trip time from RTCP, milliseconds (0 when unknown).
    pub rtt_ms: f32,
    /// E-model MOS estimate (0 when unknown).
    pub mos: f32,
    /// SSRC the peer currently sends with.
    pub remote_ssrc: u32,
}
