//! The B2BUA: SIP calls in, SIP calls out, media anchored in the engine.
//!
//! Each call is two SIP legs (RFC 3261 §6 "back-to-back user agent"): the
//! caller's INVITE ends here (leg A, we are its UAS) and a new INVITE
//! starts from here (leg B, we are its UAC), to the trunks the route table
//! gives for the called number, in order, failing over on 5xx, 408,
//! timeouts and transport errors. Each SIP leg has its own engine leg and negotiates its own
//! SDP (RFC 3264); the engine relays when both sides chose one codec and
//! transcodes when they did not.
//!
//! Codec choice: leg B is offered the caller's first codec we support
//! first, then the trunk's preferences, so a callee that can take the
//! caller's codec avoids transcoding. When B answers, leg A is answered
//! preferring B's codec for the same reason.
//!
//! Status codes cross the B2BUA through the call model: B's final status
//! becomes a Q.850 cause (RFC 3398 §8.2.6.1), and the cause the status for
//! A (§7.2.4.1), as they would across an ISUP trunk.
//!
//! A call's record is written when both engine legs have reported their
//! final figures; the call's ports are freed only after the record is
//! committed, so a crash never loses a finished call. INVITEs refused
//! before a call exists (no route, overload, barred source) get a record
//! too. A call whose engine legs cannot open their ports is refused (503),
//! never connected to silence.
//!
//! Each leg runs its own extensions, as its peer negotiates them:
//! session timers (RFC 4028: 422 both ways, refresh by UPDATE when the
//! peer allows it, else re-INVITE; a session nobody refreshed is hung
//! up), reliable provisionals (RFC 3262: B's reliable 18x are PRACKed; A
//! gets reliable 18x when it requires 100rel), re-INVITE/UPDATE answered
//! on the leg that sent it (hold is answered, not passed on), and SIP INFO
//! digits played on the other leg. Unknown extensions in `Require` get
//! 420 (RFC 3261 §8.2.2.3).
//!
//! Once a call is answered and acknowledged it drops what it no longer
//! needs (offers, the retransmitted 2xx, the bulk of both INVITEs), so an
//! idle call is cheap to hold.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rsip::prelude::*;
use rsip::{Header, Method, Request, Response, SipMessage};
use tandem_call::Cause;
use tandem_dataplane::codec::Codec;
use tandem_dataplane::command::{
    Command, Event, LegConfig, LegId, LegReport, MediaFormat, RequestId, SessionId,
};
use tandem_sdp::SessionDescription;
use tandem_sdp::offer_answer::{
    self, Capabilities, EngineSupport, LocalMedia, LocalSession, NegotiatedMedia,
};
use tandem_sip::auth::{self, DigestClient, DigestServer, DigestServerConfig, Verdict};
use tandem_sip::dialog::Role;
use tandem_sip::dialog::{
    AckRetransmitter, AckRetransmitterOutput, Dialog, InviteResponder, InviteResponderOutput,
    RequestVerdict,
};
use tandem_sip::message;
use tandem_sip::reliable::{
    PrackVerdict, ProvisionalReceiver, ProvisionalSender, ProvisionalVerdict, SenderOutput,
};
use tandem_sip::session_timer::{
    self, SessionTimer, TimerOutput, UacNegotiation, UasAnswer, UasDecision,
};
use tandem_sip::transaction::{
    ClientTxId, Event as TxEvent, Input as TxInput, Output as TxOutput, ServerTxId, TimerConfig,
    TransactionLayer, Transmit, TxId,
};
use tandem_sip::transport::{Peer, Transport};

mod callback;
mod monitor;
mod services;
mod transfer;

use super::callcenter::Services;
use super::hub::{Front, MediaHub};
use super::metrics::SipMetrics;
use crate::cdr::{Cdr, Disposition, LegRecord};
use crate::config::{self, Config, Inbound, Trunk, TrunkId};
use services::CallService;

/// Methods we answer (the `Allow` header, RFC 3261 §20.5).
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, PRACK, REGISTER, REFER";
/// Extensions we implement (`Supported`, and what `Require` may ask).
const SUPPORTED: [&str; 2] = ["100rel", "timer"];
/// How long a call may wait for its record to be written before its
/// resources are freed anyway (the writer reports the loss).
const ENDING_GRACE: Duration = Duration::from_secs(5);

type CallKey = u64;

/// Settings of the SIP front that do not change on reload.
#[derive(Debug, Clone)]
pub(crate) struct SipSettings {
    /// Our SIP address as peers should see it (Via, Contact).
    pub(crate) advertised: SocketAddr,
    /// Whether TCP is served.
    pub(crate) tcp: bool,
    /// Our SIP-over-TLS address as peers should see it (Via, Contact of
    /// TLS requests), when `sip.tls_listen` is set.
    pub(crate) tls: Option<SocketAddr>,
    pub(crate) user_agent: String,
    pub(crate) timers: TimerConfig,
    pub(crate) max_calls: u32,
    /// Codecs the engine can carry (built in), in the configured order.
    pub(crate) codecs: Vec<Codec>,
    pub(crate) opus: bool,
    /// Negotiate RFC 4733 telephone-event (`media.dtmf = "rfc4733"`).
    pub(crate) telephone_event: bool,
    pub(crate) accept_unknown: bool,
    /// Session timers (RFC 4028), when `sip.session_expires` is not 0.
    pub(crate) session_timer: Option<session_timer::TimerConfig>,
}

/// A trunk and what we know of it now.
struct TrunkState {
    config: Trunk,
    /// The address DNS gave at load or reload.
    resolved: Option<SocketAddr>,
    up: bool,
    calls: u32,
    next_options: Option<Instant>,
    options_pending: bool,
}

/// Where a call stands (leg A's view, RFC 3261 §13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// B's INVITE is out; nothing heard beyond 100.
    Routing,
    /// B sent a provisional response (ringing or early media).
    Early,
    /// Both legs answered; media flows.
    Answered,
    /// Torn down; waiting for the engine's final figures and the record.
    Ending,
}

fn disposition_of(status: u16) -> Disposition {
    match status {
        200..=299 => Disposition::Answered,
        486 | 600 => Disposition::Busy,
        408 | 480 => Disposition::NoAnswer,
        487 => Disposition::Cancelled,
        _ => Disposition::Failed,
    }
}

/// One engine leg of a call.
struct MediaLeg {
    leg: LegId,
    port: u16,
    local: LocalSession,
    negotiated: Option<NegotiatedMedia>,
    report: Option<LegReport>,
}

/// Which SIP leg of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// A leg's session timer (RFC 4028) and its refreshes.
struct LegTimer {
    timer: SessionTimer,
    /// Our side of the transaction that last negotiated it.
    role: Role,
    /// Whether the peer takes UPDATE (its Allow), the cheaper refresh.
    peer_allows_update: bool,
    /// The refresh re-INVITE we sent, until answered (to ACK its 2xx).
    pending: Option<Request>,
}

/// Leg A: the caller, for whom we are the UAS.
struct LegA {
    peer: Peer,
    invite: Request,
    tx: Option<ServerTxId>,
    local_tag: String,
    /// The caller's offer, until the call is answered and acknowledged.
    offer: Option<SessionDescription>,
    /// Our answer, once made (repeated in every 18x and the 200).
    answer: Option<SessionDescription>,
    dialog: Option<Dialog>,
    /// Boxed, like the other parts an idle call does not carry.
    responder: Option<Box<InviteResponder>>,
    /// The session-timer answer for our 200 (RFC 4028 §9).
    timer_answer: Option<Box<UasAnswer>>,
    /// Our provisionals, sent reliably when the caller requires 100rel
    /// (RFC 3262 §3).
    reliable: Option<Box<ProvisionalSender>>,
    timer: Option<Box<LegTimer>>,
    trunk: Option<TrunkId>,
    media: MediaLeg,
}

/// Leg B: the callee, for whom we are the UAC.
struct LegB {
    peer: Peer,
    invite: Request,
    tx: Option<ClientTxId>,
    call_id: String,
    trunk: TrunkId,
    /// Our offer, until B answers.
    offer: Option<SessionDescription>,
    got_provisional: bool,
    cancel_when_provisional: bool,
    /// Counted in its trunk's active calls.
    counted: bool,
    /// Answers the trunk's digest challenges (RFC 3261 §22.2).
    auth: DigestClient,
    /// Challenges answered so far on this attempt.
    auth_tries: u8,
    dialog: Option<Dialog>,
    acker: Option<Box<AckRetransmitter>>,
    /// Our session-timer request (RFC 4028 §7), for a 422 and the 2xx.
    timer_uac: Option<UacNegotiation>,
    /// B's reliable provisionals, to PRACK (RFC 3262 §4).
    prack: Option<ProvisionalReceiver>,
    timer: Option<Box<LegTimer>>,
    /// Cancelled by us while a newer attempt went on (a ring the ACD gave
    /// up on): its final answer only ends it.
    abandoned: bool,
}

struct Call {
    key: CallKey,
    phase: Phase,
    session: SessionId,
    caller: String,
    callee: String,
    a: LegA,
    /// The current attempt towards the callee (boxed: absent while
    /// routing, and large).
    b: Option<Box<LegB>>,
    /// The engine leg facing B (kept across failover attempts).
    b_media: MediaLeg,
    /// Trunks still to try, in order.
    routes: VecDeque<TrunkId>,
    bridged: bool,
    setup: SystemTime,
    answered: Option<SystemTime>,
    ended: Option<SystemTime>,
    cause: Cause,
    status: u16,
    disposition: Disposition,
    ending_deadline: Option<Instant>,
    codec_in: Option<String>,
    codec_out: Option<String>,
    /// Engine legs not yet confirmed open: B is called only when both are,
    /// so a call is never answered without its media.
    legs_pending: u8,
    /// The call-center side of a call to a 400 number.
    service: Option<Box<CallService>>,
    /// A supervisor listening in, coaching or barged in.
    monitor: Option<Box<monitor::Monitor>>,
    /// Agents this call keeps busy outside the ACD's own calls (told
    /// `DirectCall`), released when it ends.
    direct: Vec<tandem_callcenter::AgentId>,
}

/// What a client transaction is for.
#[derive(Debug, Clone, Copy)]
enum ClientRole {
    Invite(CallKey),
    Cancel,
    Bye,
    Options(TrunkId),
    /// A session refresh (RFC 4028 §7.4) on one leg.
    Refresh(CallKey, Side),
    /// The INVITE to a supervisor's phone.
    Monitor(CallKey),
    /// An INVITE of a callback (to an agent's phone or the customer).
    Callback(CallKey),
}

/// What the B2BUA asks of the run loop.
pub(crate) enum Effect {
    /// Send these bytes.
    Send(Peer, Vec<u8>),
    /// Store this record; call [`B2bua::record_stored`] with the key after.
    Record(u64, Box<Cdr>),
}

/// The B2BUA.
pub(crate) struct B2bua {
    settings: SipSettings,
    config: Rc<Config>,
    hub: Rc<MediaHub>,
    txl: TransactionLayer,
    metrics: SipMetrics,
    trunks: Vec<TrunkState>,
    /// Boxed: a call is a few KiB, and a map of inline calls would keep
    /// its spare capacity at that size per bucket.
    calls: HashMap<CallKey, Box<Call>>,
    by_a: HashMap<(String, String), CallKey>,
    by_b: HashMap<String, CallKey>,
    by_server_tx: HashMap<ServerTxId, CallKey>,
    by_client_tx: HashMap<ClientTxId, ClientRole>,
    by_leg: HashMap<LegId, CallKey>,
    /// Unanswered leg creations, by request: a failure ends the call.
    leg_requests: HashMap<RequestId, (CallKey, LegId)>,
    timers: BTreeSet<(Instant, CallKey)>,
    effects: VecDeque<Effect>,
    next_key: CallKey,
    /// Challenges callers on trunks with `inbound = "digest"`.
    digest: DigestServer,
    draining: bool,
    cps_window: (u64, u32),
    last_retransmissions: u64,
    last_timeouts: u64,
    /// Number plans, the ACD and KPIs, when the configuration has a call
    /// center.
    services: Option<Services>,
    /// Music on hold and announcements, loaded once per file and rate.
    prompts: tandem_dataplane::prompt::PromptCache,
    /// The IVR's HTTP lookups, run off this thread.
    lookups: super::lookup::Lookups,
    /// Agents' phones registered (RFC 3261 §10), by their trunk: where
    /// they are, until when, and the configured address to go back to.
    registrations: HashMap<TrunkId, services::Registration>,
    /// Voicemail messages being recorded, by the caller's engine leg.
    vm_recordings: HashMap<LegId, services::PendingMessage>,
    /// Supervisors' dialogs, by Call-ID.
    by_monitor: HashMap<String, CallKey>,
    /// INVITEs given up while ringing (a supervisor's, a callback's) whose
    /// leg is gone: a 2xx that crosses the CANCEL is acknowledged and hung
    /// up from here.
    stray_invites: HashMap<ClientTxId, (Peer, Request)>,
    /// Callback requests, by their ACD call id.
    callbacks: HashMap<CallKey, callback::Callback>,
    /// Callbacks' dialogs, by Call-ID.
    by_callback: HashMap<String, CallKey>,
    /// Callbacks' engine legs.
    cb_legs: HashMap<LegId, CallKey>,
    /// When each callback waiting to be tried again goes back into its
    /// queue.
    cb_retry: HashMap<CallKey, Instant>,
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn method_name(m: &Method) -> String {
    m.to_string()
}

/// The user part of a SIP URI (the dialled number).
fn user_of(uri: &rsip::Uri) -> String {
    uri.auth
        .as_ref()
        .map(|a| a.user.clone())
        .unwrap_or_default()
}

/// The number to route on: digits (and `*`, `#`) of the user part, a
/// leading `+` dropped (E.164 in, national plans in the table).
fn dialled(user: &str) -> String {
    user.trim_start_matches('+')
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '*' || *c == '#')
        .collect()
}

fn engine_format(n: &NegotiatedMedia) -> Option<MediaFormat> {
    let codec = Codec::from_rtpmap(&n.codec.name, n.codec.clock_rate)?;
    let ptime = [10, 20, 30, 40, 60]
        .into_iter()
        .find(|&p| p == n.ptime)
        .unwrap_or(20);
    Some(MediaFormat {
        codec,
        payload_type: n.codec.send_payload_type,
        telephone_event: n.telephone_event.as_ref().map(|t| t.send_payload_type),
        ptime_ms: ptime as u16,
    })
}

fn codec_label(n: &NegotiatedMedia) -> String {
    format!("{}/{}", n.codec.name, n.codec.clock_rate)
}

impl B2bua {
    pub(crate) fn new(
        settings: SipSettings,
        config: Rc<Config>,
        hub: Rc<MediaHub>,
        metrics: SipMetrics,
        services: Option<Services>,
        now: Instant,
    ) -> Self {
        let txl = TransactionLayer::new(settings.timers);
        let realm = settings.advertised.ip().to_string();
        let mut b = Self {
            settings,
            config: config.clone(),
            hub,
            txl,
            metrics,
            trunks: Vec::new(),
            calls: HashMap::new(),
            by_a: HashMap::new(),
            by_b: HashMap::new(),
            by_server_tx: HashMap::new(),
            by_client_tx: HashMap::new(),
            by_leg: HashMap::new(),
            leg_requests: HashMap::new(),
            timers: BTreeSet::new(),
            effects: VecDeque::new(),
            next_key: 1,
            digest: DigestServer::new(digest_config(realm))
                .expect("a non-empty realm and secret make a valid digest server"),
            draining: false,
            cps_window: (0, 0),
            last_retransmissions: 0,
            last_timeouts: 0,
            services,
            prompts: tandem_dataplane::prompt::PromptCache::new(),
            lookups: super::lookup::Lookups::new(),
            registrations: HashMap::new(),
            vm_recordings: HashMap::new(),
            by_monitor: HashMap::new(),
            stray_invites: HashMap::new(),
            callbacks: HashMap::new(),
            by_callback: HashMap::new(),
            cb_legs: HashMap::new(),
            cb_retry: HashMap::new(),
        };
        b.load_trunks(&config, now);
        b
    }

    /// Takes a new configuration (SIGHUP): routes and trunks change for the
    /// next call; calls in progress keep the trunks they have.
    pub(crate) fn reload(&mut self, config: Rc<Config>, now: Instant) {
        if self.services.is_some() {
            // The ACD holds callers and agents' states: its tables are not
            // swapped under them.
            eprintln!("tandem: callcenter: numbers, queues and agents change at the next restart");
        }
        self.load_trunks(&config, now);
        self.config = config;
    }

    fn load_trunks(&mut self, config: &Config, now: Instant) {
        let old: HashMap<String, (bool, u32)> = self
            .trunks
            .iter()
            .map(|t| (t.config.name.clone(), (t.up, t.calls)))
            .collect();
        self.trunks = config
            .trunks
            .iter()
            .map(|t| {
                let resolved = (t.address.host.to_string(), t.address.port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next());
                if resolved.is_none() {
                    eprintln!(
                        "tandem: trunk {}: cannot resolve {}; calls to it fail over",
                        t.name, t.address
                    );
                }
                let (up, calls) = old.get(&t.name).copied().unwrap_or((true, 0));
                self.metrics
                    .trunk_up
                    .with_label_values(&[&t.name])
                    .set(i64::from(up));
                TrunkState {
                    config: t.clone(),
                    resolved,
                    up,
                    calls,
                    next_options: t.options_interval.map(|_| now),
                    options_pending: false,
                }
            })
            .collect();
    }

    /// TLS trunks configured by DNS name, by the address the name resolved
    /// to: the transport checks their certificates against the name and
    /// sends it as SNI (RFC 5922 §7.2).
    pub(crate) fn tls_server_names(&self) -> Vec<(SocketAddr, String)> {
        self.trunks
            .iter()
            .filter(|t| t.config.transport == config::Transport::Tls)
            .filter_map(|t| match (&t.config.address.host, t.resolved) {
                (config::Host::Name(name), Some(addr)) => Some((addr, name.clone())),
                _ => None,
            })
            .collect()
    }

    /// Bytes from `from` that were not SIP.
    pub(crate) fn note_malformed(&mut self, from: Peer, error: &str) {
        self.metrics.parse_errors.inc();
        // One line per bad message is too many under a flood; one in a
        // hundred keeps the log readable and still names the source.
        if self.metrics.parse_errors.get() % 100 == 1 {
            eprintln!("tandem: sip: unparseable message from {from}: {error}");
        }
    }

    /// A TCP connection went away.
    pub(crate) fn note_closed(&mut self, now: Instant, peer: Peer, reason: &str) {
        eprintln!("tandem: sip: connection {peer} closed: {reason}");
        if !reason.starts_with("connect failed") {
            return;
        }
        // RFC 3261 §8.1.3.1: a transport failure is a 503 for the requests
        // that were waiting for that connection: INVITEs fail over now
        // instead of at Timer B, keepalives mark the trunk down.
        let waiting: Vec<(CallKey, ClientTxId, Response)> = self
            .calls
            .iter()
            .filter_map(|(&key, call)| {
                let b = call.b.as_ref()?;
                let tx = b.tx?;
                (b.peer == peer && !b.got_provisional).then(|| {
                    (
                        key,
                        tx,
                        message::response_to(&b.invite, 503, Some("Transport Failure"), None),
                    )
                })
            })
            .collect();
        for (key, tx, response) in waiting {
            self.on_b_invite_response(now, key, tx, response);
        }
        let trunks: Vec<TrunkId> = self
            .trunks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.resolved == Some(peer.addr) && t.options_pending)
            .map(|(i, _)| TrunkId(i))
            .collect();
        for t in trunks {
            self.set_trunk_up(now, t, false);
        }
    }

    /// Hangs up every call (end of a drain).
    pub(crate) fn hang_up_all(&mut self, now: Instant) {
        let keys: Vec<CallKey> = self.calls.keys().copied().collect();
        for key in keys {
            let Some(call) = self.calls.get(&key) else {
                continue;
            };
            match call.phase {
                Phase::Ending => {}
                Phase::Answered => self.hang_up_both(now, key, Cause::NORMAL_UNSPECIFIED),
                Phase::Routing | Phase::Early => {
                    self.cancel_b(now, key);
                    self.fail_a(now, key, 503, Some("Shutting Down"));
                }
            }
        }
    }

    /// Stops taking calls (SIGTERM): new INVITEs get 503.
    pub(crate) fn drain(&mut self) {
        self.draining = true;
        self.metrics.draining.set(1);
    }

    pub(crate) fn active_calls(&self) -> usize {
        self.calls.len()
    }

    pub(crate) fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The earliest deadline of anything here.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.txl.poll_timeout();
        let mut merge = |d: Option<Instant>| {
            if let Some(d) = d {
                t = Some(t.map_or(d, |t| t.min(d)));
            }
        };
        merge(self.timers.first().map(|&(at, _)| at));
        for tr in &self.trunks {
            merge(tr.next_options);
        }
        merge(self.services.as_ref().and_then(Services::poll_timeout));
        t
    }

    // ---- input ----------------------------------------------------------

    /// A message from the network.
    pub(crate) fn handle_message(&mut self, now: Instant, from: Peer, message: SipMessage) {
        match &message {
            SipMessage::Request(r) => self.metrics.message(true, &method_name(&r.method), 0),
            SipMessage::Response(r) => {
                let method = message::cseq(r)
                    .map(|c| method_name(&c.method))
                    .unwrap_or_default();
                self.metrics.message(true, &method, r.status_code.code());
            }
        }
        if let SipMessage::Request(r) = &message
            && let Err(e) = message::check_request(r)
        {
            // §8.2: a request we cannot even match to a transaction gets
            // its 400 directly.
            self.metrics.parse_errors.inc();
            if r.method != Method::Ack {
                let resp = message::response_to(r, 400, Some(&e.to_string()), None);
                self.send_response_stateless(from, r, resp);
            }
            return;
        }
        if let Err(e) = self
            .txl
            .handle_input(now, TxInput::Receive { from, message })
        {
            self.metrics.parse_errors.inc();
            eprintln!("tandem: sip: from {from}: {e}");
        }
        self.drain_transactions(now);
    }

    /// Something the engine reported about one of our legs.
    pub(crate) fn handle_engine_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Stats { leg, report } => {
                if self.callback_leg_report(leg, report) {
                    return;
                }
                let Some(&key) = self.by_leg.get(&leg) else {
                    return;
                };
                let Some(call) = self.calls.get_mut(&key) else {
                    return;
                };
                if call.a.media.leg == leg {
                    call.a.media.report = Some(report);
                } else if call.b_media.leg == leg {
                    call.b_media.report = Some(report);
                }
                self.maybe_record(key);
            }
            Event::Dtmf {
                leg, digit, source, ..
            } => {
                let Some(&key) = self.by_leg.get(&leg) else {
                    return;
                };
                if let Some(call) = self.calls.get(&key) {
                    eprintln!(
                        "tandem: call {}: DTMF {digit} ({source:?}) on leg {}",
                        call.key,
                        if call.a.media.leg == leg { "A" } else { "B" }
                    );
                    if call.a.media.leg == leg {
                        self.service_digit(now, key, digit);
                    }
                }
            }
            Event::RecordingStopped { leg, join } => self.recording_stopped(leg, join),
            Event::PromptDone { leg, .. } => {
                if let Some(&key) = self.by_leg.get(&leg) {
                    self.service_prompt_done(now, key, leg);
                }
            }
            Event::RtpTimeout { leg } => {
                let Some(&key) = self.by_leg.get(&leg) else {
                    return;
                };
                if self
                    .calls
                    .get(&key)
                    .is_some_and(|c| c.phase == Phase::Answered)
                {
                    eprintln!("tandem: call {key}: no RTP, hanging up");
                    self.hang_up_both(now, key, Cause::RECOVERY_ON_TIMER_EXPIRY);
                }
            }
            Event::Done { request, result } => {
                let call = self.leg_requests.remove(&request);
                match (result, call) {
                    (Err(e), Some((key, leg))) => {
                        // That leg will never report figures: do not wait
                        // for them before writing the record.
                        if let Some(call) = self.calls.get_mut(&key) {
                            if call.a.media.leg == leg {
                                call.a.media.report = Some(LegReport::default());
                            } else if call.b_media.leg == leg {
                                call.b_media.report = Some(LegReport::default());
                            }
                        }
                        self.media_failed(now, key, &e.to_string());
                        self.maybe_record(key);
                    }
                    (Err(e), None) => eprintln!("tandem: sip: media command failed: {e}"),
                    (Ok(()), Some((key, _))) => {
                        let ready = self.calls.get_mut(&key).is_some_and(|c| {
                            c.legs_pending = c.legs_pending.saturating_sub(1);
                            c.legs_pending == 0 && c.phase == Phase::Routing && c.b.is_none()
                        });
                        if ready {
                            self.legs_ready(now, key);
                        }
                    }
                    (Ok(()), None) => {}
                }
            }
            _ => {}
        }
    }

    /// The record of call `key` is stored: free what it held.
    pub(crate) fn record_stored(&mut self, key: u64) {
        self.free_call(key);
    }

    /// Timers.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.txl.handle_timeout(now);
        self.drain_transactions(now);
        while let Some(&(at, key)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            self.call_timers(now, key);
        }
        for id in 0..self.trunks.len() {
            if self.trunks[id].next_options.is_some_and(|t| t <= now) {
                self.send_options(now, TrunkId(id));
            }
        }
        if self
            .services
            .as_ref()
            .and_then(Services::poll_timeout)
            .is_some_and(|t| t <= now)
        {
            if let Some(svc) = self.services.as_mut() {
                svc.handle_timeout(now);
            }
            self.run_acd_outputs(now);
        }
        self.sync_tx_stats();
    }

    /// Answers a REST API request (see `crate::api`), then carries out
    /// what the ACD asks as a result (an agent signed in takes a waiting
    /// caller, ...).
    pub(crate) fn handle_api(
        &mut self,
        now: Instant,
        request: &crate::http::Request,
    ) -> crate::http::Response {
        let response = crate::api::handle(self.services.as_mut(), now, request);
        self.run_supervise(now);
        self.run_acd_outputs(now);
        response
    }

    /// Where the IVR's HTTP lookups come back (the run loop waits on it
    /// and hands each to [`B2bua::handle_lookup_done`]).
    pub(crate) fn lookup_receiver(&self) -> crossbeam_channel::Receiver<super::lookup::LookupDone> {
        self.lookups.receiver()
    }

    /// At shutdown: what the services still hold is stored.
    pub(crate) fn shutdown(&mut self, now: Instant) {
        self.report_lost_callbacks();
        if let Some(s) = self.services.as_mut() {
            s.shutdown(now);
        }
    }

    /// Publishes the call attempt rate (and the call-center figures) once
    /// per second.
    pub(crate) fn tick_second(&mut self, now: Instant) {
        if let Some(s) = self.services.as_mut() {
            s.tick(now);
        }
        self.metrics.cps.set(i64::from(self.cps_window.1));
        self.cps_window.1 = 0;
        // Tables sized by a burst give their space back once it is over.
        fn shrink<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
            if map.capacity() > 1024 && map.len() < map.capacity() / 4 {
                map.shrink_to(map.len() * 2);
            }
        }
        shrink(&mut self.by_client_tx);
        shrink(&mut self.by_server_tx);
        shrink(&mut self.leg_requests);
        shrink(&mut self.calls);
        shrink(&mut self.by_a);
        shrink(&mut self.by_b);
        shrink(&mut self.by_leg);
    }

    fn sync_tx_stats(&mut self) {
        let s = self.txl.stats();
        let r = s.retransmitted_requests.total() + s.retransmitted_responses;
        let t = s.timeouts_b + s.timeouts_f;
        self.metrics
            .retransmissions
            .inc_by(r.saturating_sub(self.last_retransmissions));
        self.metrics
            .timeouts
            .inc_by(t.saturating_sub(self.last_timeouts));
        self.last_retransmissions = r;
        self.last_timeouts = t;
    }

    // ---- transaction layer glue -------------------------------------------

    fn drain_transactions(&mut self, now: Instant) {
        while let Some(out) = self.txl.poll_output() {
            match out {
                TxOutput::Transmit(Transmit { to, bytes }) => {
                    self.effects.push_back(Effect::Send(to, bytes));
                }
                TxOutput::Event(TxEvent::Request {
                    tx,
                    request,
                    from,
                    cancels,
                }) => {
                    if request.method == Method::Cancel {
                        self.on_cancel(now, tx, request, cancels);
                    } else {
                        self.on_request(now, tx, from, request);
                    }
                }
                TxOutput::Event(TxEvent::Ack { request, from }) => self.on_ack(now, from, request),
                TxOutput::Event(TxEvent::Response { tx, response }) => {
                    self.on_response(now, tx, response);
                }
                TxOutput::Event(TxEvent::Stray2xx { response, from }) => {
                    self.on_stray_2xx(now, from, response);
                }
                TxOutput::Event(TxEvent::ClientTimeout { tx, .. }) => {
                    self.on_client_timeout(now, tx);
                }
                TxOutput::Event(TxEvent::ServerTimeout { tx }) => {
                    self.by_server_tx.remove(&tx);
                }
                TxOutput::Event(TxEvent::Terminated(TxId::Client(tx))) => {
                    self.by_client_tx.remove(&tx);
                }
                TxOutput::Event(TxEvent::Terminated(TxId::Server(tx))) => {
                    self.by_server_tx.remove(&tx);
                }
            }
        }
    }

    fn respond(&mut self, now: Instant, tx: ServerTxId, response: Response) {
        let method = message::cseq(&response)
            .map(|c| method_name(&c.method))
            .unwrap_or_default();
        self.metrics
            .message(false, &method, response.status_code.code());
        if let Err(e) = self
            .txl
            .handle_input(now, TxInput::SendResponse { tx, response })
        {
            eprintln!("tandem: sip: responding: {e}");
        }
        self.drain_transactions(now);
    }

    fn send_request(
        &mut self,
        now: Instant,
        to: Peer,
        request: Request,
        role: ClientRole,
    ) -> Option<ClientTxId> {
        self.metrics
            .message(false, &method_name(&request.method), 0);
        match self.txl.send_request(now, to, request) {
            Ok(tx) => {
                self.by_client_tx.insert(tx, role);
                self.drain_transactions(now);
                Some(tx)
            }
            Err(e) => {
                eprintln!("tandem: sip: sending to {to}: {e}");
                None
            }
        }
    }

    fn send_stateless(&mut self, to: Peer, message: SipMessage) {
        if let SipMessage::Request(r) = &message {
            self.metrics.message(false, &method_name(&r.method), 0);
        }
        self.effects
            .push_back(Effect::Send(to, message::encode(&message)));
    }

    fn send_response_stateless(&mut self, from: Peer, request: &Request, response: Response) {
        let method = method_name(&request.method);
        self.metrics
            .message(false, &method, response.status_code.code());
        let to = message::top_via(request)
            .ok()
            .and_then(|v| message::response_target(&v, from))
            .unwrap_or(from);
        self.effects.push_back(Effect::Send(
            to,
            message::encode(&SipMessage::Response(response)),
        ));
    }

    // ---- requests -------------------------------------------------------

    fn on_request(&mut self, now: Instant, tx: ServerTxId, from: Peer, request: Request) {
        let in_dialog = message::to_tag(&request).ok().flatten().is_some();
        match (&request.method, in_dialog) {
            (Method::Invite, false) => self.on_invite(now, tx, from, request),
            (Method::Register, false) => self.on_register(now, tx, from, request),
            (Method::Options, false) => {
                let mut r = message::response_to(&request, 200, None, Some(&message::new_tag()));
                self.add_capabilities(&mut r);
                self.respond(now, tx, r);
            }
            (_, true) => self.on_in_dialog(now, tx, from, request),
            (Method::Bye, false) => {
                let r = message::response_to(&request, 481, None, None);
                self.respond(now, tx, r);
            }
            _ => {
                let mut r = message::response_to(&request, 405, None, Some(&message::new_tag()));
                r.headers
                    .push(Header::Allow(rsip::headers::Allow::new(ALLOW)));
                self.respond(now, tx, r);
            }
        }
    }

    fn add_capabilities(&self, r: &mut Response) {
        r.headers
            .push(Header::Allow(rsip::headers::Allow::new(ALLOW)));
        r.headers.push(Header::Accept(rsip::headers::Accept::new(
            "application/sdp",
        )));
        r.headers
            .push(Header::Supported(rsip::headers::Supported::new(
                SUPPORTED.join(", "),
            )));
        r.headers
            .push(Header::UserAgent(rsip::headers::UserAgent::new(
                self.settings.user_agent.clone(),
            )));
    }

    fn reject(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: &Request,
        status: u16,
        reason: &str,
    ) {
        let r = message::response_to(request, status, Some(reason), Some(&message::new_tag()));
        self.respond(now, tx, r);
    }

    /// Refuses a new INVITE before a call exists, and records the attempt:
    /// carriers bill and alarm on refused calls too (no route, overload,
    /// barred source).
    fn refuse(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        invite: &Request,
        trunk_in: Option<TrunkId>,
        status: u16,
        reason: &str,
    ) {
        self.reject(now, tx, invite, status, reason);
        self.record_refusal(invite, trunk_in, status);
    }

    /// The record of an INVITE refused before a call existed.
    fn record_refusal(&mut self, invite: &Request, trunk_in: Option<TrunkId>, status: u16) {
        let key = self.next_key;
        self.next_key += 1;
        let at = unix_ms(SystemTime::now());
        let trunk = trunk_in
            .and_then(|t| self.trunks.get(t.0))
            .map_or_else(|| "-".to_string(), |t| t.config.name.clone());
        let caller = invite
            .from_header()
            .ok()
            .and_then(|f| f.typed().ok())
            .map(|f| user_of(&f.uri))
            .unwrap_or_default();
        let disposition = disposition_of(status);
        self.metrics
            .calls
            .with_label_values(&[&trunk, "", disposition.as_str()])
            .inc();
        let cdr = Cdr {
            call_id: key.to_string(),
            caller,
            callee: dialled(&user_of(&invite.uri)),
            trunk_in: trunk,
            trunk_out: None,
            setup_ms: at,
            answer_ms: None,
            end_ms: at,
            q850_cause: Cause::from_sip_status(status).value(),
            sip_status: Some(status),
            disposition,
            leg_in: LegRecord {
                sip_call_id: message::call_id(invite).unwrap_or_default().to_string(),
                codec: None,
                packets_sent: 0,
                packets_received: 0,
                packets_lost: 0,
                mos: None,
            },
            leg_out: None,
        };
        self.effects.push_back(Effect::Record(key, Box::new(cdr)));
    }

    /// Which trunk a request comes from, and whether it may call.
    fn inbound_trunk(&self, from: Peer) -> Result<Option<TrunkId>, &'static str> {
        let ip = from.addr.ip();
        // The trunk at exactly this address first (several trunks may share
        // a host), then an ACL that holds it, then any trunk on the host.
        let exact = self
            .trunks
            .iter()
            .position(|t| t.resolved == Some(from.addr));
        let acl = || {
            self.trunks.iter().position(|t| match &t.config.inbound {
                Inbound::Acl(blocks) => blocks.iter().any(|b| b.contains(ip)),
                _ => false,
            })
        };
        // By host only for trunks that take calls: an outbound-only trunk
        // must not shadow another peer on the same machine.
        let host = || {
            self.trunks.iter().position(|t| {
                t.resolved.is_some_and(|a| a.ip() == ip)
                    && !matches!(t.config.inbound, Inbound::None)
            })
        };
        // An agent's phone calling from its own address (a feature code, a
        // consultation call) is that agent's, though its trunk takes no
        // calls from carriers.
        if let Some(i) = exact
            && self
                .services
                .as_ref()
                .is_some_and(|s| s.agent_of_trunk(TrunkId(i)).is_some())
        {
            return Ok(Some(TrunkId(i)));
        }
        if let Some(i) = exact.or_else(acl).or_else(host) {
            return match self.trunks[i].config.inbound {
                Inbound::None => Err("trunk takes no inbound calls"),
                _ => Ok(Some(TrunkId(i))),
            };
        }
        if self.settings.accept_unknown {
            Ok(None)
        } else {
            Err("source is not a configured trunk")
        }
    }

    /// Decides the caller's session timer (RFC 4028 §9): `Ok(None)` when
    /// timers are off, `Err` with the refusal to send (422 or 400).
    fn negotiate_caller_timer(
        &self,
        invite: &Request,
    ) -> Result<Option<UasAnswer>, (Response, u16)> {
        let Some(cfg) = self.settings.session_timer else {
            return Ok(None);
        };
        match session_timer::uas_negotiate(&cfg, invite) {
            Ok(UasDecision::Accept(answer)) => Ok(Some(answer)),
            Ok(UasDecision::Reject { min_se }) => Err((
                session_timer::reject_422(invite, min_se, Some(&message::new_tag())),
                422,
            )),
            Err(e) => {
                let status = e.to_sip_status().unwrap_or(400);
                Err((
                    message::response_to(
                        invite,
                        status,
                        Some(&e.to_string()),
                        Some(&message::new_tag()),
                    ),
                    status,
                ))
            }
        }
    }

    fn on_invite(&mut self, now: Instant, tx: ServerTxId, from: Peer, invite: Request) {
        self.metrics.attempts.inc();
        self.cps_window.1 += 1;
        if self.draining {
            self.note_blocked(now, &invite);
            return self.refuse(now, tx, &invite, None, 503, "Draining");
        }
        if self.calls.len() >= self.settings.max_calls as usize {
            self.note_blocked(now, &invite);
            return self.refuse(now, tx, &invite, None, 503, "Too Many Calls");
        }
        if message::max_forwards(&invite).unwrap_or(70) == 0 {
            return self.refuse(now, tx, &invite, None, 483, "Too Many Hops");
        }
        let trunk_in = match self.inbound_trunk(from) {
            Ok(t) => t,
            Err(why) => return self.refuse(now, tx, &invite, None, 403, why),
        };
        if let Some(t) = trunk_in
            && let Inbound::Digest(creds) = &self.trunks[t.0].config.inbound
        {
            let (user, password) = (creds.username.clone(), creds.password.0.clone());
            let verdict = self.digest.verify(SystemTime::now(), &invite, |u, _, _| {
                (u == user).then(|| auth::Secret::Password(password.clone()))
            });
            match verdict {
                Ok(Verdict::Authorized { .. }) => {}
                Ok(Verdict::Challenge { stale }) => {
                    let r = self
                        .digest
                        .challenge_response(SystemTime::now(), &invite, stale);
                    return self.respond(now, tx, r);
                }
                Err(e) => {
                    let status = e.to_sip_status().unwrap_or(400);
                    return self.reject(now, tx, &invite, status, &e.to_string());
                }
            }
        }
        // RFC 3261 §8.2.2.3: an extension we do not know in Require is
        // refused with 420 and named in Unsupported.
        let unsupported: Vec<&str> = message::option_tags(&invite, false)
            .into_iter()
            .filter(|t| !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(t)))
            .collect();
        if !unsupported.is_empty() {
            let mut r = message::response_to(&invite, 420, None, Some(&message::new_tag()));
            message::insert_before_body_headers(
                &mut r.headers,
                vec![Header::Unsupported(rsip::headers::Unsupported::new(
                    unsupported.join(", "),
                ))],
            );
            self.respond(now, tx, r);
            return self.record_refusal(&invite, trunk_in, 420);
        }
        let reliable = message::option_tags(&invite, false)
            .iter()
            .any(|t| t.eq_ignore_ascii_case("100rel"))
            .then(|| {
                ProvisionalSender::new(&invite, rand_u32(), self.settings.timers.t1)
                    .ok()
                    .map(Box::new)
            })
            .flatten();
        let timer_answer = match self.negotiate_caller_timer(&invite) {
            Ok(answer) => answer,
            Err((response, status)) => {
                self.respond(now, tx, response);
                return self.record_refusal(&invite, trunk_in, status);
            }
        };
        let mut callee = dialled(&user_of(&invite.uri));
        let caller = invite
            .from_header()
            .ok()
            .and_then(|f| f.typed().ok())
            .map(|f| user_of(&f.uri))
            .unwrap_or_default();
        // A 400 number goes through its plan; anything else through the
        // route table.
        let (routes, service) = match self.plan_call(now, &invite, &callee, &caller) {
            Some(Ok(planned)) => {
                callee = planned.callee;
                (planned.routes, Some(planned.service))
            }
            Some(Err(services::NotPlanned::Refuse(status, why))) => {
                return self.refuse(now, tx, &invite, trunk_in, status, why);
            }
            Some(Err(services::NotPlanned::Challenge(r))) => {
                return self.respond(now, tx, *r);
            }
            None => {
                // An agent's phone reaches colleagues, queues and 400
                // numbers; the routes out are not its to use.
                if trunk_in.is_some_and(|t| {
                    self.services
                        .as_ref()
                        .is_some_and(|s| s.agent_of_trunk(t).is_some())
                }) {
                    return self.refuse(
                        now,
                        tx,
                        &invite,
                        trunk_in,
                        403,
                        "Agents Dial Internal Numbers",
                    );
                }
                let Some(routes) = self
                    .config
                    .route_table
                    .lookup(&callee)
                    .map(<[TrunkId]>::to_vec)
                else {
                    return self.refuse(now, tx, &invite, trunk_in, 404, "No Route");
                };
                (routes, None)
            }
        };
        let offer = match message::content_type(&invite) {
            Some(ct) if ct.to_ascii_lowercase().starts_with("application/sdp") => {
                match SessionDescription::parse(&invite.body) {
                    Ok(sdp) => sdp,
                    Err(e) => return self.reject(now, tx, &invite, 400, &format!("Bad SDP: {e}")),
                }
            }
            _ => {
                // Delayed offer (an INVITE without SDP, RFC 3261 §13.2.1)
                // is not supported yet.
                return self.refuse(now, tx, &invite, trunk_in, 488, "Offer Required");
            }
        };
        let key = self.next_key;
        self.next_key += 1;
        let live = self.agent_live_call(trunk_in, &caller, from);
        let session = self.session_for(live);
        let callee_for_direct = callee.clone();
        let (Some(a_media), Some(b_media)) = (
            self.new_media_leg(key, session),
            self.new_media_leg(key, session),
        ) else {
            return self.refuse(now, tx, &invite, trunk_in, 503, "No Media Ports");
        };
        let call_id = message::call_id(&invite).unwrap_or_default().to_string();
        let from_tag = message::from_tag(&invite)
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_string();
        self.by_server_tx.insert(tx, key);
        self.by_a.insert((call_id, from_tag), key);
        // The transaction layer has already sent 100 Trying (§17.2.1).
        let call = Call {
            key,
            phase: Phase::Routing,
            session,
            caller,
            callee,
            a: LegA {
                peer: from,
                invite,
                tx: Some(tx),
                local_tag: message::new_tag(),
                offer: Some(offer),
                answer: None,
                dialog: None,
                responder: None,
                timer_answer: timer_answer.map(Box::new),
                timer: None,
                reliable,
                trunk: trunk_in,
                media: a_media,
            },
            b: None,
            b_media,
            routes: routes.into(),
            bridged: false,
            setup: SystemTime::now(),
            answered: None,
            ended: None,
            cause: Cause::NORMAL_CLEARING,
            status: 0,
            disposition: Disposition::Failed,
            ending_deadline: None,
            codec_in: None,
            codec_out: None,
            legs_pending: 2,
            service,
            monitor: None,
            direct: Vec::new(),
        };
        if let Some(t) = trunk_in {
            self.trunk_calls(t, 1);
        }
        self.metrics.active.set(self.calls.len() as i64 + 1);
        self.calls.insert(key, Box::new(call));
        if let Some(live) = live {
            self.copy_consult_data(key, live);
        }
        // An agent's phone placing a call (a consultation, a call to a
        // colleague or a queue) is busy until it ends.
        if services::FeatureCode::parse(&callee_for_direct).is_none()
            && let Some(agent) = self.calling_agent(trunk_in, from)
        {
            self.mark_direct(now, key, agent, true);
        }
        if let Err((status, why)) = self.create_engine_legs(key) {
            // 488: nothing in the offer we can carry (RFC 3261 §13.3.1.1,
            // RFC 3264 §6); 503: the engine's queue is full.
            self.fail_a(now, key, status, Some(why));
        }
        // Otherwise B is called once both legs are open (see
        // `handle_engine_event`).
    }

    fn new_media_leg(&mut self, key: CallKey, session: SessionId) -> Option<MediaLeg> {
        let port = self.hub.take_port()?;
        let leg = self.hub.new_leg();
        self.by_leg.insert(leg, key);
        let _ = session;
        Some(MediaLeg {
            leg,
            port,
            local: LocalSession::new(
                u64::from(port) << 16 | (leg.0 & 0xffff),
                LocalMedia::new(self.hub.rtp_address, port),
            ),
            negotiated: None,
            report: None,
        })
    }

    /// Creates both engine legs. Leg A's format and address come from a
    /// trial answer to the caller's offer; leg B starts with the same
    /// format and learns its peer from B's answer (or its first packet).
    /// Both are corrected when the SDP exchanges finish.
    fn create_engine_legs(&mut self, key: CallKey) -> Result<(), (u16, &'static str)> {
        let Some(call) = self.calls.get(&key) else {
            return Err((500, "no call"));
        };
        let caps = self.caps(call.a.trunk);
        let mut trial = call.a.media.local.clone();
        let offer = call.a.offer.as_ref().ok_or((500, "no offer"))?;
        let (_, n) =
            offer_answer::answer(offer, &mut trial, &caps).map_err(|_| (488, "no common codec"))?;
        let format = engine_format(&n).ok_or((488, "no common codec"))?;
        let remote = n.remote_rtp.socket_addr();
        let session = call.session;
        let legs = [
            (call.a.media.leg, call.a.media.port, remote),
            (call.b_media.leg, call.b_media.port, None),
        ];
        for (leg, port, remote) in legs {
            let command = Command::CreateLeg {
                leg,
                session,
                config: LegConfig {
                    local: SocketAddr::new(self.hub.rtp_address, port),
                    remote,
                    latch: true,
                    format,
                    rtp_timeout_secs: self.hub.rtp_timeout_secs,
                },
            };
            match self.hub.submit(Front::Sip, command) {
                // The answer comes later: a leg that cannot open its port
                // ends the call then (see `handle_engine_event`).
                Ok(request) => {
                    self.leg_requests.insert(request, (key, leg));
                }
                Err(_) => return Err((503, "media engine overloaded")),
            }
        }
        Ok(())
    }

    fn submit(&mut self, command: Command) {
        if let Err(e) = self.hub.submit(Front::Sip, command) {
            eprintln!("tandem: sip: media engine refused a command: {e}");
        }
    }

    /// A call whose media could not be set up: refused if it is not
    /// answered yet, hung up if it is. Answering it anyway would give both
    /// parties silence.
    fn media_failed(&mut self, now: Instant, key: CallKey, why: &str) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        self.metrics.media_failures.inc();
        eprintln!("tandem: call {key}: media failed ({why}); ending the call");
        match call.phase {
            Phase::Ending => {}
            Phase::Answered => self.hang_up_both(now, key, Cause::RESOURCE_UNAVAILABLE),
            Phase::Routing | Phase::Early => {
                self.cancel_b(now, key);
                self.fail_a(now, key, 503, Some("Media Unavailable"));
            }
        }
    }

    /// Codec preferences: those of `trunk` (or the media defaults),
    /// limited to what the engine has built in.
    fn caps(&self, trunk: Option<TrunkId>) -> Capabilities {
        let list = trunk
            .and_then(|t| self.trunks.get(t.0))
            .map(|t| t.config.codecs.clone())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| self.settings.codecs.clone());
        let names: Vec<String> = list.iter().map(|&c| config::codec_name(c)).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut caps = Capabilities::new(
            &refs,
            EngineSupport {
                opus: self.settings.opus,
            },
        )
        .unwrap_or_else(|_| {
            Capabilities::new(&["PCMU/8000", "PCMA/8000"], EngineSupport::default())
                .expect("static codec list")
        });
        // `media.dtmf = "inband"`: no telephone-event on any leg, so the
        // engine carries digits as tones (and turns a peer's events into
        // tones, RFC 4733 interworking).
        caps.telephone_event = self.settings.telephone_event;
        caps
    }

    fn trunk_calls(&mut self, t: TrunkId, delta: i32) {
        if let Some(tr) = self.trunks.get_mut(t.0) {
            tr.calls = tr.calls.saturating_add_signed(delta);
            self.metrics
                .trunk_calls
                .with_label_values(&[&tr.config.name])
                .set(i64::from(tr.calls));
        }
    }

    fn local_host(&self) -> String {
        self.settings.advertised.to_string()
    }

    /// Our address for `transport`: the TLS listener's for TLS.
    fn sent_by(&self, transport: Transport) -> String {
        match (transport, self.settings.tls) {
            (Transport::Tls, Some(tls)) => tls.to_string(),
            _ => self.local_host(),
        }
    }

    fn via(&self, transport: Transport) -> Header {
        Header::Via(rsip::headers::Via::new(format!(
            "SIP/2.0/{} {};branch={};rport",
            transport.as_str().to_ascii_uppercase(),
            self.sent_by(transport),
            message::new_branch()
        )))
    }

    fn contact(&self, transport: Transport) -> String {
        match transport {
            Transport::Udp => format!("<sip:tandem@{}>", self.local_host()),
            t => format!("<sip:tandem@{};transport={}>", self.sent_by(t), t.as_str()),
        }
    }

    /// Sends the call to its next trunk, or gives A the final answer when
    /// there is none left (`last_status` is what the last one said).
    fn next_attempt(&mut self, now: Instant, key: CallKey, last_status: u16) {
        loop {
            let Some(call) = self.calls.get_mut(&key) else {
                return;
            };
            let Some(trunk) = call.routes.pop_front() else {
                self.b_failed(now, key, last_status);
                return;
            };
            let Some(t) = self.trunks.get(trunk.0) else {
                continue;
            };
            if !t.up {
                continue;
            }
            if t.config.max_calls.is_some_and(|m| t.calls >= m) {
                continue;
            }
            let Some(addr) = t.resolved else { continue };
            let transport = transport_of(t.config.transport);
            if transport == Transport::Tcp && !self.settings.tcp {
                continue;
            }
            let peer = Peer::new(transport, addr);
            let host = t.config.address.to_string();
            let caps = {
                let call = &self.calls[&key];
                let base = self.caps(Some(trunk));
                // Offer the caller's codec first: if B takes it, no
                // transcoding.
                let mut trial = call.a.media.local.clone();
                let trial_answer =
                    call.a.offer.as_ref().map(|offer| {
                        offer_answer::answer(offer, &mut trial, &self.caps(call.a.trunk))
                    });
                match (&call.a.media.negotiated, trial_answer) {
                    // A answered here already: its codec is settled.
                    (Some(n), _) => base.preferring(&n.codec),
                    (None, Some(Ok((_, n)))) => base.preferring(&n.codec),
                    _ => base,
                }
            };
            let call = self.calls.get_mut(&key).expect("call checked above");
            let sdp = match offer_answer::offer(&mut call.b_media.local, &caps) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("tandem: call {key}: cannot build an offer: {e}");
                    self.fail_a(now, key, 500, None);
                    return;
                }
            };
            let call_id = message::new_call_id(Some(&self.settings.advertised.ip().to_string()));
            let request = self.build_invite(key, &host, transport, &call_id, &sdp);
            let call = self.calls.get_mut(&key).expect("call checked above");
            call.b = Some(Box::new(LegB {
                peer,
                invite: request.clone(),
                tx: None,
                call_id: call_id.clone(),
                trunk,
                offer: Some(sdp),
                got_provisional: false,
                cancel_when_provisional: false,
                counted: true,
                auth: DigestClient::new(),
                auth_tries: 0,
                dialog: None,
                acker: None,
                timer_uac: self
                    .settings
                    .session_timer
                    .map(|c| UacNegotiation::new(&c, None)),
                prack: ProvisionalReceiver::new(&request).ok(),
                timer: None,
                abandoned: false,
            }));
            self.by_b.insert(call_id, key);
            self.trunk_calls(trunk, 1);
            let tx = self.send_request(now, peer, request, ClientRole::Invite(key));
            if let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut()) {
                b.tx = tx;
            }
            return;
        }
    }

    fn build_invite(
        &self,
        key: CallKey,
        host: &str,
        transport: Transport,
        call_id: &str,
        sdp: &SessionDescription,
    ) -> Request {
        let call = &self.calls[&key];
        let a = &call.a.invite;
        let mf = message::max_forwards(a).unwrap_or(70).saturating_sub(1);
        // Caller-ID pass-through: B sees A's From (display name and user)
        // on our host.
        let from_display = a
            .from_header()
            .ok()
            .and_then(|f| f.typed().ok())
            .and_then(|f| f.display_name.clone())
            .map(|d| format!("\"{}\" ", d.trim_matches('"')))
            .unwrap_or_default();
        let uri = match transport {
            Transport::Udp => format!("sip:{}@{host}", call.callee),
            t => format!("sip:{}@{host};transport={}", call.callee, t.as_str()),
        };
        let body = sdp.to_bytes();
        let mut headers = rsip::Headers::default();
        headers.push(self.via(transport));
        headers.push(Header::MaxForwards(rsip::headers::MaxForwards::new(
            mf.to_string(),
        )));
        headers.push(Header::From(rsip::headers::From::new(format!(
            "{from_display}<sip:{}@{}>;tag={}",
            if call.caller.is_empty() {
                "anonymous"
            } else {
                &call.caller
            },
            self.settings.advertised.ip(),
            message::new_tag()
        ))));
        headers.push(Header::To(rsip::headers::To::new(format!(
            "<sip:{}@{host}>",
            call.callee
        ))));
        headers.push(Header::CallId(rsip::headers::CallId::new(call_id)));
        headers.push(Header::CSeq(rsip::headers::CSeq::new("1 INVITE")));
        headers.push(Header::Contact(rsip::headers::Contact::new(
            self.contact(transport),
        )));
        headers.push(Header::Allow(rsip::headers::Allow::new(ALLOW)));
        headers.push(Header::UserAgent(rsip::headers::UserAgent::new(
            self.settings.user_agent.clone(),
        )));
        headers.push(Header::Supported(rsip::headers::Supported::new("100rel")));
        if let Some(cfg) = self.settings.session_timer {
            headers.extend(UacNegotiation::new(&cfg, None).request_headers());
        }
        for h in a.headers.iter() {
            if let Header::Other(name, value) = h
                && name.eq_ignore_ascii_case("P-Asserted-Identity")
            {
                headers.push(Header::Other(name.clone(), value.clone()));
            }
        }
        // What the caller did in the IVR travels to the agent's phone (for
        // a screen pop): the menus visited and the keys pressed.
        if let Some(data) = call.service.as_ref().and_then(|s| s.call_data.as_ref()) {
            let token = |s: &str| {
                s.chars()
                    .filter(|c| c.is_ascii_graphic())
                    .collect::<String>()
            };
            headers.push(Header::Other(
                "X-Tandem-IVR-Path".into(),
                data.path
                    .iter()
                    .map(|m| token(m))
                    .collect::<Vec<_>>()
                    .join(","),
            ));
            if !data.keys.is_empty() {
                headers.push(Header::Other("X-Tandem-Keys".into(), token(&data.keys)));
            }
            if let Some(e) = data.entries.last() {
                headers.push(Header::Other("X-Tandem-Entry".into(), token(&e.digits)));
            }
        }
        // A consultation names the caller the agent is handling.
        if let Some(c) = call
            .service
            .as_ref()
            .and_then(|s| s.consult_caller.as_ref())
        {
            let digits: String = c.chars().filter(|c| c.is_ascii_graphic()).collect();
            headers.push(Header::Other("X-Tandem-Caller".into(), digits));
        }
        // A transferred caller's next leg names the agent who transferred
        // it (RFC 3892).
        if let Some(by) = call
            .service
            .as_ref()
            .and_then(|s| s.transferred_by.as_ref())
            .filter(|b| !b.is_empty())
        {
            headers.push(Header::Other("Referred-By".into(), by.clone()));
        }
        sdp_invite(&uri, headers, body)
    }

    /// A new INVITE of ours to `user@host` outside a caller's call (a
    /// supervisor's phone, an agent's or a customer's for a callback):
    /// From `from` (a name-addr; a tag is added), our Contact, the SDP
    /// offer, and `extra` headers before the body.
    #[allow(clippy::too_many_arguments)] // the INVITE's parts, spelled out
    fn originate_invite(
        &self,
        transport: Transport,
        host: &str,
        user: &str,
        from: &str,
        call_id: &str,
        sdp: &SessionDescription,
        extra: Vec<Header>,
    ) -> Request {
        let uri = match transport {
            Transport::Udp => format!("sip:{user}@{host}"),
            t => format!("sip:{user}@{host};transport={}", t.as_str()),
        };
        let body = sdp.to_bytes();
        let mut headers = rsip::Headers::default();
        headers.push(self.via(transport));
        headers.push(Header::MaxForwards(rsip::headers::MaxForwards::new("70")));
        headers.push(Header::From(rsip::headers::From::new(format!(
            "{from};tag={}",
            message::new_tag()
        ))));
        headers.push(Header::To(rsip::headers::To::new(format!("<{uri}>"))));
        headers.push(Header::CallId(rsip::headers::CallId::new(call_id)));
        headers.push(Header::CSeq(rsip::headers::CSeq::new("1 INVITE")));
        headers.push(Header::Contact(rsip::headers::Contact::new(
            self.contact(transport),
        )));
        headers.push(Header::Allow(rsip::headers::Allow::new(ALLOW)));
        headers.push(Header::UserAgent(rsip::headers::UserAgent::new(
            self.settings.user_agent.clone(),
        )));
        headers.extend(extra);
        sdp_invite(&uri, headers, body)
    }

    // ---- responses on leg B -----------------------------------------------

    fn on_response(&mut self, now: Instant, tx: ClientTxId, response: Response) {
        let Some(role) = self.by_client_tx.get(&tx).copied() else {
            return;
        };
        let code = response.status_code.code();
        match role {
            ClientRole::Invite(key) => self.on_b_invite_response(now, key, tx, response),
            ClientRole::Monitor(key) => self.on_monitor_response(now, key, tx, response),
            ClientRole::Callback(id) => self.on_callback_response(now, id, tx, response),
            ClientRole::Options(t) => {
                if code >= 200 {
                    self.by_client_tx.remove(&tx);
                    // Any final answer means the peer is alive (RFC 3261
                    // §11.2: it may well refuse OPTIONS); only silence and
                    // 503 mean it is not taking calls.
                    self.set_trunk_up(now, t, code != 503 && code != 408);
                }
            }
            ClientRole::Refresh(key, side) => {
                if code >= 200 {
                    self.by_client_tx.remove(&tx);
                    self.on_refresh_answer(now, key, side, response);
                }
            }
            ClientRole::Cancel | ClientRole::Bye => {
                if code >= 200 {
                    self.by_client_tx.remove(&tx);
                }
            }
        }
    }

    fn on_b_invite_response(
        &mut self,
        now: Instant,
        key: CallKey,
        tx: ClientTxId,
        response: Response,
    ) {
        let code = response.status_code.code();
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        // A parallel ring (ring-all) or an abandoned one: bring the leg
        // that answered to the front, where the code below looks.
        if call.b.as_ref().is_none_or(|b| b.tx != Some(tx))
            && let Some(svc) = call.service.as_mut()
            && let Some(i) = svc.forks.iter().position(|f| f.tx == Some(tx))
        {
            // Once a leg is answered it stays in front; rings we gave up
            // on end on their own.
            let settled = call
                .b
                .as_ref()
                .is_some_and(|b| b.tx.is_none() && b.dialog.is_some());
            if settled || svc.forks[i].abandoned {
                return self.on_fork_response(now, key, i, response);
            }
            match call.b.as_mut() {
                Some(b) => std::mem::swap(b, &mut svc.forks[i]),
                None => call.b = Some(svc.forks.remove(i)),
            }
        }
        let Some(b) = call.b.as_mut().filter(|b| b.tx == Some(tx)) else {
            return;
        };
        if code == 100 {
            return;
        }
        if code < 200 {
            b.got_provisional = true;
            // RFC 3262 §4: a reliable provisional is PRACKed (once; its
            // retransmissions are ignored).
            let verdict = b
                .prack
                .as_mut()
                .and_then(|p| p.handle_provisional(&response).ok());
            match verdict {
                Some(ProvisionalVerdict::Ignore) => return,
                Some(ProvisionalVerdict::Prack(rack)) => {
                    self.send_prack(now, key, &response, rack);
                }
                _ => {}
            }
            let Some(call) = self.calls.get_mut(&key) else {
                return;
            };
            let Some(b) = call.b.as_mut() else { return };
            if b.cancel_when_provisional {
                b.cancel_when_provisional = false;
                let cancel = message::build_cancel(&b.invite);
                let peer = b.peer;
                self.send_request(now, peer, cancel, ClientRole::Cancel);
                return;
            }
            if call.phase == Phase::Ending {
                return;
            }
            // A caller answered here (queued) hears music, not the
            // agent's ringing.
            if call.service.as_ref().is_some_and(|s| s.answered_here) {
                return;
            }
            call.phase = Phase::Early;
            // A 400 number's custom ringback replaces the ringing tone:
            // early media from here until B answers.
            if call.a.answer.is_none() && response.body.is_empty() {
                self.start_ringback(now, key);
            }
            let has_sdp = !response.body.is_empty();
            if has_sdp {
                self.negotiate_b(now, key, &response);
            }
            self.provisional_to_a(now, key, code, has_sdp);
            return;
        }
        b.tx = None;
        if (200..300).contains(&code) {
            self.on_b_answered(now, key, response);
            return;
        }
        let ending = call.phase == Phase::Ending;
        if (code == 401 || code == 407)
            && !ending
            && self.retry_with_credentials(now, key, &response)
        {
            return;
        }
        if code == 422 && !ending && self.retry_after_422(now, key, &response) {
            return;
        }
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some(b) = call.b.as_mut() else { return };
        // A final failure from this trunk. The attempt stays in the call
        // (the record shows the last trunk tried) until the next one.
        let trunk = b.trunk;
        let call_id = b.call_id.clone();
        let counted = std::mem::replace(&mut b.counted, false);
        self.by_b.remove(&call_id);
        if counted {
            self.trunk_calls(trunk, -1);
        }
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        if call.phase == Phase::Ending {
            // A cancelled; B's INVITE is over now, so the record can go.
            self.maybe_record(key);
            return;
        }
        if call.service.as_ref().is_some_and(|s| s.answered_here) {
            return self.on_answered_here_leg_failed(now, key, code);
        }
        let failover = code == 408 || (500..600).contains(&code);
        if failover && !call.routes.is_empty() {
            eprintln!(
                "tandem: call {key}: trunk {} answered {code}, trying the next",
                self.trunks
                    .get(trunk.0)
                    .map_or("?", |t| t.config.name.as_str())
            );
            self.next_attempt(now, key, code);
        } else {
            self.b_failed(now, key, code);
        }
    }

    /// Answers B's 401/407 with the trunk's credentials: the same INVITE
    /// with the next CSeq, a new branch and an Authorization (RFC 3261
    /// §22.2). Once per attempt: a second challenge means the credentials
    /// are wrong, and the call fails over like on any 4xx.
    fn retry_with_credentials(&mut self, now: Instant, key: CallKey, challenge: &Response) -> bool {
        let Some(b) = self.calls.get(&key).and_then(|c| c.b.as_ref()) else {
            return false;
        };
        let Some(creds) = self
            .trunks
            .get(b.trunk.0)
            .and_then(|t| t.config.outbound_auth.clone())
        else {
            return false;
        };
        if b.auth_tries >= 1 {
            eprintln!(
                "tandem: call {key}: trunk {} refused our credentials",
                self.trunks[b.trunk.0].config.name
            );
            return false;
        }
        let via = self.via(b.peer.transport);
        let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut()) else {
            return false;
        };
        if let Err(e) = b.auth.handle_challenge(challenge) {
            eprintln!("tandem: call {key}: unusable challenge: {e}");
            return false;
        }
        let mut invite = reissue(&b.invite, via);
        if let Err(e) = b.auth.authorize(
            &mut invite,
            trunk_credentials(&creds),
            &mut message::new_tag,
        ) {
            eprintln!("tandem: call {key}: cannot answer the challenge: {e}");
            return false;
        }
        b.auth_tries += 1;
        self.resend_invite(now, key, invite);
        true
    }

    /// Sends B's INVITE again (a new transaction) and makes it the one the
    /// call follows.
    fn resend_invite(&mut self, now: Instant, key: CallKey, invite: Request) {
        let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut()) else {
            return;
        };
        b.invite = invite.clone();
        let peer = b.peer;
        let tx = self.send_request(now, peer, invite, ClientRole::Invite(key));
        if let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut()) {
            b.tx = tx;
        }
    }

    /// B wants a longer session interval (RFC 4028 §7.1): the INVITE again
    /// with the next CSeq and its Min-SE, credentials renewed if we had
    /// answered a challenge.
    fn retry_after_422(&mut self, now: Instant, key: CallKey, response: &Response) -> bool {
        let Some(b) = self.calls.get(&key).and_then(|c| c.b.as_ref()) else {
            return false;
        };
        let via = self.via(b.peer.transport);
        let creds = self
            .trunks
            .get(b.trunk.0)
            .and_then(|t| t.config.outbound_auth.clone());
        let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut()) else {
            return false;
        };
        let Some(timer) = b.timer_uac.as_mut() else {
            return false;
        };
        if let Err(e) = timer.handle_422(response) {
            eprintln!("tandem: call {key}: 422 not followed: {e}");
            return false;
        }
        let extra = timer.request_headers();
        let mut invite = reissue(&b.invite, via);
        let mut headers: Vec<Header> = std::mem::take(&mut invite.headers).into();
        headers.retain(|h| match h {
            Header::Supported(v) => !v.value().eq_ignore_ascii_case("timer"),
            Header::Other(name, _) => {
                !name.eq_ignore_ascii_case("Session-Expires")
                    && !name.eq_ignore_ascii_case("Min-SE")
            }
            _ => true,
        });
        invite.headers = headers.into();
        message::insert_before_body_headers(&mut invite.headers, extra);
        if let Some(creds) = creds.filter(|_| b.auth_tries > 0) {
            if let Err(e) = b.auth.authorize(
                &mut invite,
                trunk_credentials(&creds),
                &mut message::new_tag,
            ) {
                eprintln!("tandem: call {key}: cannot re-answer the challenge: {e}");
                return false;
            }
        }
        self.resend_invite(now, key, invite);
        true
    }

    /// Reads B's SDP answer (in an 18x or the 2xx) and sets up media.
    fn negotiate_b(&mut self, now: Instant, key: CallKey, response: &Response) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let Some(b) = call.b.as_ref() else { return };
        if call.b_media.negotiated.is_some() {
            return;
        }
        let answer = match SessionDescription::parse(&response.body) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("tandem: call {key}: B's SDP is malformed: {e}");
                return;
            }
        };
        let Some(our_offer) = b.offer.as_ref() else {
            return;
        };
        let nb = match offer_answer::accept_answer(our_offer, &answer) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("tandem: call {key}: B's answer is unusable: {e}");
                return;
            }
        };
        let _ = now;
        if call.a.media.negotiated.is_some() {
            // A already has our answer (early media of a custom
            // ringback): keep it; the engine transcodes if B chose
            // another codec.
            return self.join_b_to_answered_a(key, nb);
        }
        // Answer A, preferring B's codec so the engine can just relay.
        let caps = self.caps(call.a.trunk).preferring(&nb.codec);
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some(offer) = call.a.offer.as_ref() else {
            return;
        };
        let (a_sdp, na) = match offer_answer::answer(offer, &mut call.a.media.local, &caps) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("tandem: call {key}: cannot answer the caller: {e}");
                return;
            }
        };
        call.codec_in = Some(codec_label(&na));
        call.codec_out = Some(codec_label(&nb));
        let (fa, fb) = (engine_format(&na), engine_format(&nb));
        let (la, lb) = (call.a.media.leg, call.b_media.leg);
        let ra = na.remote_rtp.socket_addr();
        let rb = nb.remote_rtp.socket_addr();
        call.a.answer = Some(a_sdp);
        call.a.media.negotiated = Some(na);
        call.b_media.negotiated = Some(nb);
        let bridge = !call.bridged;
        call.bridged = true;
        self.submit(Command::ModifyLeg {
            leg: la,
            remote: ra,
            format: fa,
        });
        self.submit(Command::ModifyLeg {
            leg: lb,
            remote: rb,
            format: fb,
        });
        if bridge {
            self.submit(Command::Bridge { a: la, b: lb });
        }
    }

    fn a_response(&self, call: &Call, code: u16, with_sdp: bool) -> Response {
        let mut r = message::response_to(&call.a.invite, code, None, Some(&call.a.local_tag));
        r.headers.push(Header::Contact(rsip::headers::Contact::new(
            self.contact(call.a.peer.transport),
        )));
        if with_sdp && let Some(sdp) = &call.a.answer {
            set_sdp_body(&mut r, sdp);
        }
        r
    }

    fn provisional_to_a(&mut self, now: Instant, key: CallKey, code: u16, has_sdp: bool) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let Some(tx) = call.a.tx else { return };
        // Early media: once A has our answer, every 18x repeats it (no
        // 100rel, so each provisional carries it, RFC 3261 §13.3.1.1).
        let with_sdp = call.a.answer.is_some();
        // Our own early media (a custom ringback) is announced by 183
        // (RFC 3960 §2), so the caller plays it instead of local ringing.
        let ringback = call.service.as_ref().is_some_and(|s| s.prompt_on_a);
        let code = if with_sdp && (has_sdp || code == 183 || ringback) {
            183
        } else {
            code
        };
        let r = self.a_response(call, code, with_sdp);
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        match call.a.reliable.as_mut() {
            None => self.respond(now, tx, r),
            // Reliable: sent now, or queued behind one not yet PRACKed.
            Some(sender) => match sender.send(now, r) {
                Ok(Some(r)) => {
                    self.respond(now, tx, r);
                    self.schedule(key);
                }
                Ok(None) => {}
                Err(e) => eprintln!("tandem: call {key}: reliable provisional: {e}"),
            },
        }
    }

    fn on_b_answered(&mut self, now: Instant, key: CallKey, response: Response) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some(b) = call.b.as_mut() else { return };
        // The early dialog a PRACK used (same remote tag) becomes the
        // confirmed one, so its CSeq count goes on (RFC 3261 §12.1.2).
        let early = b.dialog.take().filter(|d| {
            message::to_tag(&response)
                .ok()
                .flatten()
                .is_some_and(|t| t == d.id().remote_tag)
        });
        let dialog = match early {
            Some(mut d) => {
                let _ = d.handle_response(&response);
                Ok(d)
            }
            None => Dialog::uac(&b.invite, &response),
        };
        let dialog = match dialog {
            Ok(d) => d,
            Err(e) => {
                eprintln!("tandem: call {key}: B's 2xx cannot start a dialog: {e}");
                return;
            }
        };
        let ack = dialog.build_ack(&b.invite, self_via(&self.settings, b.peer.transport));
        let peer = b.peer;
        b.dialog = Some(dialog);
        // RFC 4028 §7.2: the 2xx says whether there is a timer and who
        // refreshes it.
        let negotiated = b
            .timer_uac
            .take()
            .and_then(|t| t.handle_2xx(&response).ok().flatten());
        b.timer = negotiated.map(|n| {
            Box::new(LegTimer {
                timer: SessionTimer::new(now, n, Role::Uac),
                role: Role::Uac,
                peer_allows_update: allows_update(&response),
                pending: None,
            })
        });
        if let Ok(ack) = ack {
            let to = self.resolve_next_hop(&ack.next_hop, peer);
            if let Ok(acker) =
                AckRetransmitter::new(now, ack.request.clone(), self.settings.timers.t1)
            {
                if let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut()) {
                    b.acker = Some(Box::new(acker));
                }
            }
            self.send_stateless(to, SipMessage::Request(ack.request));
        }
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        if call.phase != Phase::Ending && call.service.as_ref().is_some_and(|s| s.answered_here) {
            return self.on_answered_here_leg_answered(now, key, response);
        }
        if call.phase == Phase::Ending || call.a.tx.is_none() {
            // A gave up (CANCEL) while B answered: hang B up (§15).
            self.bye_b(now, key);
            self.finish(now, key);
            return;
        }
        if !response.body.is_empty() {
            self.negotiate_b(now, key, &response);
        }
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        if call.a.answer.is_none() {
            eprintln!("tandem: call {key}: B answered without usable SDP");
            self.bye_b(now, key);
            self.fail_a(now, key, 488, Some("callee's answer unusable"));
            return;
        }
        self.answer_a(now, key);
        self.mark_b_direct(now, key);
    }

    /// Sends A our 200 (with the SDP answer already made) and confirms
    /// A's dialog, with its session timer.
    fn answer_a(&mut self, now: Instant, key: CallKey) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let mut ok = self.a_response(call, 200, true);
        let timer_answer = call.a.timer_answer.as_deref().copied();
        if let Some(answer) = &timer_answer {
            message::insert_before_body_headers(&mut ok.headers, answer.headers());
        }
        let caller_allows_update = allows_update(&call.a.invite);
        let tx = call.a.tx;
        let dialog = Dialog::uas(
            &call.a.invite,
            &call.a.local_tag,
            rsip::Uri::try_from(format!("sip:tandem@{}", self.local_host()).as_str())
                .unwrap_or_default(),
        );
        let responder = InviteResponder::new(
            now,
            ok.clone(),
            self.settings.timers.t1,
            self.settings.timers.t2,
        )
        .ok();
        let call = self.calls.get_mut(&key).expect("call checked above");
        call.phase = Phase::Answered;
        call.answered = Some(SystemTime::now());
        call.status = 200;
        call.disposition = Disposition::Answered;
        call.a.tx = None;
        call.a.dialog = dialog.ok();
        // The 2xx confirms the dialog and ends the INVITE it answers.
        if let Some(d) = call.a.dialog.as_mut() {
            let _ = d.handle_response_sent(&ok);
        }
        call.a.responder = responder.map(Box::new);
        call.a.reliable = None;
        call.a.timer = timer_answer.map(|answer| {
            Box::new(LegTimer {
                timer: SessionTimer::new(now, answer.negotiated, Role::Uas),
                role: Role::Uas,
                peer_allows_update: caller_allows_update,
                pending: None,
            })
        });
        if let Some(tx) = tx {
            self.respond(now, tx, ok);
        }
        self.schedule(key);
    }

    fn on_stray_2xx(&mut self, now: Instant, from: Peer, response: Response) {
        // A retransmitted 2xx: B did not get our ACK (§13.2.2.4).
        let Ok(call_id) = message::call_id(&response) else {
            return;
        };
        let Some(&key) = self.by_b.get(call_id) else {
            return;
        };
        let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut()) else {
            return;
        };
        if let Some(acker) = b.acker.as_mut() {
            let _ = acker.handle_response(now, &response);
            while let Some(AckRetransmitterOutput::Retransmit(ack)) = acker.poll_output() {
                self.effects.push_back(Effect::Send(
                    from,
                    message::encode(&SipMessage::Request(ack)),
                ));
            }
        }
    }

    fn on_client_timeout(&mut self, now: Instant, tx: ClientTxId) {
        let Some(role) = self.by_client_tx.remove(&tx) else {
            return;
        };
        match role {
            ClientRole::Invite(key) => {
                // Timer B: as if B said 408 (RFC 3261 §8.1.3.1).
                let response = self
                    .calls
                    .get(&key)
                    .and_then(|c| c.b.as_ref())
                    .map(|b| message::response_to(&b.invite, 408, None, None));
                if let Some(r) = response {
                    self.by_client_tx.insert(tx, role);
                    self.on_b_invite_response(now, key, tx, r);
                    self.by_client_tx.remove(&tx);
                }
            }
            ClientRole::Options(t) => self.set_trunk_up(now, t, false),
            ClientRole::Callback(id) => self.callback_timeout(now, id, tx),
            ClientRole::Monitor(key) => {
                // The supervisor's phone never answered (Timer B).
                self.stray_invites.remove(&tx);
                let ours = self
                    .calls
                    .get_mut(&key)
                    .and_then(|c| c.monitor.as_mut())
                    .filter(|m| m.tx == Some(tx))
                    .map(|m| m.tx = None)
                    .is_some();
                if ours {
                    self.end_monitor(now, key, false);
                }
            }
            ClientRole::Refresh(key, side) => {
                // No answer to a refresh: as a 408 (RFC 4028 §10).
                let response = self.calls.get(&key).and_then(|c| {
                    let timer = match side {
                        Side::A => c.a.timer.as_ref(),
                        Side::B => c.b.as_ref().and_then(|b| b.timer.as_ref()),
                    };
                    timer
                        .and_then(|t| t.pending.as_ref())
                        .map(|r| message::response_to(r, 408, None, None))
                });
                if let Some(r) = response {
                    self.on_refresh_answer(now, key, side, r);
                }
            }
            _ => {}
        }
    }

    // ---- leg A ------------------------------------------------------------

    /// Gives A a final failure and ends the call.
    fn fail_a(&mut self, now: Instant, key: CallKey, b_status: u16, reason: Option<&str>) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        // Across the B2BUA the status travels as a cause (RFC 3398).
        let cause = Cause::from_sip_status(b_status);
        let status = match b_status {
            // Said by us, not by B: keep it as is.
            488 | 500 | 503 if reason.is_some() => b_status,
            _ => cause.to_sip_status(),
        };
        call.cause = cause;
        call.status = status;
        call.disposition = disposition_of(b_status);
        call.a.reliable = None;
        if let Some(tx) = call.a.tx.take() {
            let mut r =
                message::response_to(&call.a.invite, status, reason, Some(&call.a.local_tag));
            r.headers.push(Header::Other(
                "Reason".into(),
                format!("Q.850;cause={}", cause.value()),
            ));
            self.respond(now, tx, r);
        }
        self.finish(now, key);
    }

    fn on_cancel(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        cancel: Request,
        cancels: Option<ServerTxId>,
    ) {
        let key = cancels.and_then(|invite_tx| self.by_server_tx.get(&invite_tx).copied());
        let Some(key) = key.filter(|k| self.calls.get(k).is_some_and(|c| c.a.tx.is_some())) else {
            // §9.2: no matching transaction.
            let r = message::response_to(&cancel, 481, None, None);
            return self.respond(now, tx, r);
        };
        let ok = message::response_to(&cancel, 200, None, None);
        self.respond(now, tx, ok);
        let call = self.calls.get_mut(&key).expect("checked above");
        call.cause = Cause::NORMAL_CLEARING;
        call.status = 487;
        call.disposition = Disposition::Cancelled;
        if let Some(atx) = call.a.tx.take() {
            let r = message::response_to(&call.a.invite, 487, None, Some(&call.a.local_tag));
            self.respond(now, atx, r);
        }
        self.cancel_b(now, key);
        self.finish(now, key);
    }

    /// Cancels B's pending INVITE (§9.1: only after a provisional).
    fn cancel_b(&mut self, now: Instant, key: CallKey) {
        let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut()) else {
            return;
        };
        if b.tx.is_none() {
            return;
        }
        if b.got_provisional {
            let cancel = message::build_cancel(&b.invite);
            let peer = b.peer;
            self.send_request(now, peer, cancel, ClientRole::Cancel);
        } else {
            b.cancel_when_provisional = true;
        }
    }

    fn on_ack(&mut self, now: Instant, _from: Peer, ack: Request) {
        let Some(key) = self.call_of_a_request(&ack) else {
            return;
        };
        if let Some(r) = self
            .calls
            .get_mut(&key)
            .and_then(|c| c.a.responder.as_mut())
        {
            let _ = r.handle_ack(now, &ack);
            if r.is_acknowledged() {
                self.compact(key);
            }
        }
        self.schedule(key);
    }

    /// Drops what an established call no longer needs (the offers and
    /// answer exchanged, the 2xx kept for retransmission, the bulk of both
    /// INVITEs), so an idle call costs little memory. What stays: the
    /// dialogs, each leg's current session, and the INVITEs' identifying
    /// headers (Via, From, To, Call-ID, CSeq) for records and lookups.
    fn compact(&mut self, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if call.phase != Phase::Answered {
            return;
        }
        call.a.responder = None;
        call.a.offer = None;
        call.a.answer = None;
        call.a.timer_answer = None;
        // What an established call still reads of its INVITEs: A's Call-ID
        // and From tag (its key, its record), B's Call-ID.
        message::keep_headers(&mut call.a.invite, |h| {
            matches!(h, Header::CallId(_) | Header::From(_))
        });
        // A leg B still ringing (an agent, for a caller answered here)
        // needs all of its INVITE until it is answered.
        if let Some(b) = call
            .b
            .as_mut()
            .filter(|b| b.tx.is_none() && b.dialog.is_some())
        {
            b.offer = None;
            b.prack = None;
            b.auth = DigestClient::new();
            message::keep_headers(&mut b.invite, |h| matches!(h, Header::CallId(_)));
        }
    }

    fn call_of_a_request(&self, r: &Request) -> Option<CallKey> {
        let cid = message::call_id(r).ok()?;
        let tag = message::from_tag(r).ok().flatten()?;
        self.by_a.get(&(cid.to_string(), tag.to_string())).copied()
    }

    /// An in-dialog request from A or B.
    fn on_in_dialog(&mut self, now: Instant, tx: ServerTxId, from: Peer, request: Request) {
        if self.on_monitor_request(now, tx, &request) || self.on_callback_request(now, tx, &request)
        {
            return;
        }
        let (key, from_a) = if let Some(k) = self.call_of_a_request(&request) {
            (k, true)
        } else if let Some(k) = message::call_id(&request)
            .ok()
            .and_then(|cid| self.by_b.get(cid).copied())
        {
            (k, false)
        } else {
            let r = message::response_to(&request, 481, None, None);
            return self.respond(now, tx, r);
        };
        let _ = from;
        if request.method == Method::PRack && from_a {
            return self.on_prack(now, tx, key, request);
        }
        let verdict = {
            let Some(call) = self.calls.get_mut(&key) else {
                return;
            };
            let dialog = if from_a {
                call.a.dialog.as_mut()
            } else {
                call.b.as_mut().and_then(|b| b.dialog.as_mut())
            };
            match dialog {
                Some(d) => d.handle_request(&request),
                None => {
                    let r = message::response_to(&request, 481, None, None);
                    return self.respond(now, tx, r);
                }
            }
        };
        match verdict {
            Ok(RequestVerdict::Accept) => {}
            Ok(RequestVerdict::Ack) => return,
            Ok(RequestVerdict::Reject(rej)) => {
                let r = rej.to_response(&request);
                return self.respond(now, tx, r);
            }
            Err(e) => {
                let r = message::response_to(&request, 400, Some(&e.to_string()), None);
                return self.respond(now, tx, r);
            }
        }
        match request.method {
            Method::Bye => {
                let ok = message::response_to(&request, 200, None, None);
                self.respond(now, tx, ok);
                let call = self.calls.get_mut(&key).expect("call found above");
                call.cause = Cause::NORMAL_CLEARING;
                if from_a {
                    self.bye_b(now, key);
                } else {
                    self.bye_a(now, key);
                }
                self.finish(now, key);
            }
            Method::Invite | Method::Update => self.on_reoffer(now, tx, key, from_a, request),
            Method::Info => self.on_info(now, tx, key, from_a, request),
            Method::Refer => self.on_refer(now, tx, key, from_a, request),
            Method::Options => {
                let mut r = message::response_to(&request, 200, None, None);
                self.add_capabilities(&mut r);
                self.respond(now, tx, r);
            }
            _ => {
                let mut r = message::response_to(&request, 405, None, None);
                r.headers
                    .push(Header::Allow(rsip::headers::Allow::new(ALLOW)));
                self.respond(now, tx, r);
            }
        }
    }

    /// The caller acknowledges one of our reliable provisionals (RFC 3262
    /// §3): 200 when it matches the one outstanding, 481 otherwise; the
    /// next queued provisional goes out.
    fn on_prack(&mut self, now: Instant, tx: ServerTxId, key: CallKey, prack: Request) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let verdict = call
            .a
            .reliable
            .as_mut()
            .map(|s| s.handle_prack(now, &prack));
        let status = match verdict {
            Some(Ok(v)) => v.to_sip_status(),
            Some(Err(e)) => e.to_sip_status().unwrap_or(400),
            None => PrackVerdict::NoMatch.to_sip_status(),
        };
        let r = message::response_to(&prack, status, None, None);
        self.respond(now, tx, r);
        self.reliable_outputs(now, key);
    }

    /// Sends what the reliable-provisional machine asks for.
    fn reliable_outputs(&mut self, now: Instant, key: CallKey) {
        let mut sends = Vec::new();
        let mut timed_out = false;
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let tx = call.a.tx;
        if let Some(sender) = call.a.reliable.as_mut() {
            while let Some(out) = sender.poll_output() {
                match out {
                    SenderOutput::Send(r) | SenderOutput::Retransmit(r) => sends.push(r),
                    SenderOutput::Timeout { .. } => timed_out = true,
                    _ => {}
                }
            }
        }
        if let Some(tx) = tx {
            for r in sends {
                self.respond(now, tx, r);
            }
        }
        if timed_out {
            // §3: a reliable provisional never PRACKed: the INVITE fails.
            eprintln!("tandem: call {key}: no PRACK from the caller");
            self.cancel_b(now, key);
            self.fail_a(now, key, 500, Some("No PRACK"));
        }
        self.schedule(key);
    }

    /// A re-INVITE or UPDATE: answered on its own leg (the other leg's
    /// session is not disturbed: hold, resume and codec changes stay on the
    /// leg that asked; the engine absorbs the difference).
    fn on_reoffer(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        key: CallKey,
        from_a: bool,
        request: Request,
    ) {
        let caps = {
            let call = &self.calls[&key];
            let trunk = if from_a {
                call.a.trunk
            } else {
                call.b.as_ref().map(|b| b.trunk)
            };
            let current = if from_a { &call.a.media } else { &call.b_media };
            match &current.negotiated {
                Some(n) => self.caps(trunk).preferring(&n.codec),
                None => self.caps(trunk),
            }
        };
        let call = self.calls.get_mut(&key).expect("call exists");
        let media = if from_a {
            &mut call.a.media
        } else {
            &mut call.b_media
        };
        let mut hold_change = None;
        let body = if request.body.is_empty() {
            // An offerless re-INVITE asks for our offer (§14.2); offer what
            // is in force.
            media.local.last_sdp()
        } else {
            match SessionDescription::parse(&request.body) {
                Ok(offer) => match offer_answer::answer(&offer, &mut media.local, &caps) {
                    Ok((sdp, n)) => {
                        let was_held = media.negotiated.as_ref().is_some_and(|o| o.on_hold);
                        if was_held != n.on_hold {
                            hold_change = Some(n.on_hold);
                        }
                        let changed = media
                            .negotiated
                            .as_ref()
                            .is_none_or(|old| n.changes_from(old).any());
                        if changed {
                            let cmd = Command::ModifyLeg {
                                leg: media.leg,
                                remote: n.remote_rtp.socket_addr(),
                                format: engine_format(&n),
                            };
                            media.negotiated = Some(n);
                            self.submit(cmd);
                        }
                        Some(sdp)
                    }
                    Err(e) => {
                        let r = message::response_to(&request, 488, Some(&e.to_string()), None);
                        return self.reoffer_respond(now, tx, key, from_a, r);
                    }
                },
                Err(e) => {
                    let r =
                        message::response_to(&request, 400, Some(&format!("Bad SDP: {e}")), None);
                    return self.reoffer_respond(now, tx, key, from_a, r);
                }
            }
        };
        let call = &self.calls[&key];
        let transport = if from_a {
            call.a.peer.transport
        } else {
            call.b.as_ref().map_or(Transport::Udp, |b| b.peer.transport)
        };
        let mut ok = message::response_to(&request, 200, None, None);
        ok.headers.push(Header::Contact(rsip::headers::Contact::new(
            self.contact(transport),
        )));
        if let Some(sdp) = body {
            set_sdp_body(&mut ok, &sdp);
        }
        // A refresh from the peer (RFC 4028 §9): answered with the timer,
        // which restarts.
        if let Some(cfg) = self.settings.session_timer
            && let Some(call) = self.calls.get_mut(&key)
        {
            let lt = if from_a {
                call.a.timer.as_mut()
            } else {
                call.b.as_mut().and_then(|b| b.timer.as_mut())
            };
            if let Some(lt) = lt {
                match session_timer::uas_negotiate(&cfg, &request) {
                    Ok(UasDecision::Accept(answer)) => {
                        lt.timer.handle_refreshed(now, answer.negotiated, Role::Uas);
                        lt.role = Role::Uas;
                        message::insert_before_body_headers(&mut ok.headers, answer.headers());
                    }
                    Ok(UasDecision::Reject { min_se }) => {
                        let r = session_timer::reject_422(&request, min_se, None);
                        return self.reoffer_respond(now, tx, key, from_a, r);
                    }
                    Err(_) => {}
                }
            }
        }
        if request.method == Method::Invite {
            let responder = InviteResponder::new(
                now,
                ok.clone(),
                self.settings.timers.t1,
                self.settings.timers.t2,
            )
            .ok();
            if from_a && let Some(call) = self.calls.get_mut(&key) {
                call.a.responder = responder.map(Box::new);
            }
        }
        self.reoffer_respond(now, tx, key, from_a, ok);
        if !from_a && let Some(held) = hold_change {
            self.agent_hold(now, key, held);
        }
        self.schedule(key);
    }

    /// Answers an in-dialog INVITE or UPDATE, and tells the leg's dialog,
    /// so that the next re-INVITE is not taken for one still pending
    /// (RFC 3261 §14.2).
    fn reoffer_respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        key: CallKey,
        from_a: bool,
        response: Response,
    ) {
        if let Some(call) = self.calls.get_mut(&key) {
            let dialog = if from_a {
                call.a.dialog.as_mut()
            } else {
                call.b.as_mut().and_then(|b| b.dialog.as_mut())
            };
            if let Some(d) = dialog {
                let _ = d.handle_response_sent(&response);
            }
        }
        self.respond(now, tx, response);
    }

    /// SIP INFO with `application/dtmf-relay` (the de-facto format): the
    /// digit is played on the other leg.
    fn on_info(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        key: CallKey,
        from_a: bool,
        request: Request,
    ) {
        let ct = message::content_type(&request)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let mut digit = None;
        let mut duration = 100u32;
        if ct.starts_with("application/dtmf-relay") {
            for line in body.lines() {
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                match k.trim().to_ascii_lowercase().as_str() {
                    "signal" => digit = v.trim().chars().next(),
                    "duration" => duration = v.trim().parse().unwrap_or(100),
                    _ => {}
                }
            }
        } else if ct.starts_with("application/dtmf") {
            digit = body.trim().chars().next();
        }
        let status = match digit.map(|d| d.to_ascii_uppercase()) {
            Some(d) if "0123456789*#ABCD".contains(d) => {
                let call = &self.calls[&key];
                let leg = if from_a {
                    call.b_media.leg
                } else {
                    call.a.media.leg
                };
                self.submit(Command::SendDtmf {
                    leg,
                    digit: d,
                    duration_ms: duration.clamp(40, 5000),
                });
                200
            }
            // Some other INFO package: accepted and ignored.
            _ if !ct.starts_with("application/dtmf") => 200,
            _ => 400,
        };
        let r = message::response_to(&request, status, None, None);
        self.respond(now, tx, r);
    }

    /// Where a leg's peer is, when the call and leg exist.
    fn peer_of(&self, key: CallKey, side: Side) -> Option<Peer> {
        let call = self.calls.get(&key)?;
        match side {
            Side::A => Some(call.a.peer),
            Side::B => call.b.as_ref().map(|b| b.peer),
        }
    }

    /// Refreshes a leg's session (RFC 4028 §7.4): UPDATE when the peer
    /// takes it, else a re-INVITE carrying our current description.
    fn send_refresh(&mut self, now: Instant, key: CallKey, side: Side) {
        let Some(cfg) = self.settings.session_timer else {
            return;
        };
        let Some(fallback) = self.peer_of(key, side) else {
            return;
        };
        let via = self_via(&self.settings, fallback.transport);
        let call: &mut Call = self.calls.get_mut(&key).expect("peer_of found the call");
        let (dialog, lt, sdp) = match side {
            Side::A => (
                call.a.dialog.as_mut(),
                call.a.timer.as_mut(),
                call.a.media.local.last_sdp(),
            ),
            Side::B => match call.b.as_mut() {
                Some(b) => (
                    b.dialog.as_mut(),
                    b.timer.as_mut(),
                    call.b_media.local.last_sdp(),
                ),
                None => return,
            },
        };
        let (Some(dialog), Some(lt)) = (dialog, lt) else {
            return;
        };
        if lt.pending.is_some() {
            return;
        }
        let method = if lt.peer_allows_update {
            Method::Update
        } else {
            Method::Invite
        };
        let Ok(mut out) = dialog.build_request(method, via) else {
            return;
        };
        let negotiation = UacNegotiation::for_refresh(&cfg, lt.timer.negotiated(), lt.role);
        message::insert_before_body_headers(
            &mut out.request.headers,
            negotiation.request_headers(),
        );
        if method == Method::Invite
            && let Some(sdp) = sdp
        {
            out.set_body("application/sdp", sdp.to_bytes());
        }
        lt.pending = Some(out.request.clone());
        let to = self.resolve_next_hop(&out.next_hop, fallback);
        self.send_request(now, to, out.request, ClientRole::Refresh(key, side));
    }

    /// The answer to our session refresh.
    fn on_refresh_answer(&mut self, now: Instant, key: CallKey, side: Side, response: Response) {
        let code = response.status_code.code();
        let Some(cfg) = self.settings.session_timer else {
            return;
        };
        let Some(fallback) = self.peer_of(key, side) else {
            return;
        };
        let via = self_via(&self.settings, fallback.transport);
        let call: &mut Call = self.calls.get_mut(&key).expect("peer_of found the call");
        let (dialog, timer) = match side {
            Side::A => (call.a.dialog.as_mut(), &mut call.a.timer),
            Side::B => match call.b.as_mut() {
                Some(b) => (b.dialog.as_mut(), &mut b.timer),
                None => return,
            },
        };
        let (Some(dialog), Some(lt)) = (dialog, timer.as_mut()) else {
            return;
        };
        let sent = lt.pending.take();
        let _ = dialog.handle_response(&response);
        let mut ack = None;
        if (200..300).contains(&code) {
            if let Some(sent) = sent.filter(|r| r.method == Method::Invite) {
                ack = dialog.build_ack(&sent, via).ok();
            }
            let negotiation = UacNegotiation::for_refresh(&cfg, lt.timer.negotiated(), lt.role);
            match negotiation.handle_2xx(&response) {
                Ok(Some(n)) => {
                    lt.timer.handle_refreshed(now, n, Role::Uac);
                    lt.role = Role::Uac;
                }
                // The peer dropped the timer (§7.2).
                Ok(None) => *timer = None,
                Err(e) => eprintln!("tandem: call {key}: refresh answer: {e}"),
            }
        } else if code == 405 || code == 501 {
            // It does not take UPDATE after all: re-INVITE next time.
            lt.peer_allows_update = false;
        }
        if let Some(ack) = ack {
            let to = self.resolve_next_hop(&ack.next_hop, fallback);
            self.send_stateless(to, SipMessage::Request(ack.request));
        }
        if code == 481 || code == 408 {
            // §12.2.1.2: the dialog is gone.
            eprintln!("tandem: call {key}: refresh answered {code}, hanging up");
            self.hang_up_both(now, key, Cause::RECOVERY_ON_TIMER_EXPIRY);
            return;
        }
        self.schedule(key);
    }

    /// PRACKs a reliable provisional from B, in the early dialog it makes.
    fn send_prack(
        &mut self,
        now: Instant,
        key: CallKey,
        response: &Response,
        rack: tandem_sip::reliable::RAck,
    ) {
        let Some(b) = self.calls.get(&key).and_then(|c| c.b.as_ref()) else {
            return;
        };
        let via = self_via(&self.settings, b.peer.transport);
        let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut()) else {
            return;
        };
        if b.dialog.is_none() {
            b.dialog = Dialog::uac(&b.invite, response).ok();
        }
        let peer = b.peer;
        let Some(dialog) = b.dialog.as_mut() else {
            return;
        };
        let Ok(mut out) = dialog.build_request(Method::PRack, via) else {
            return;
        };
        message::insert_before_body_headers(&mut out.request.headers, vec![rack.to_header()]);
        let to = self.resolve_next_hop(&out.next_hop, peer);
        self.send_request(now, to, out.request, ClientRole::Bye);
    }

    fn bye_a(&mut self, now: Instant, key: CallKey) {
        let via = self_via(
            &self.settings,
            self.calls
                .get(&key)
                .map_or(Transport::Udp, |c| c.a.peer.transport),
        );
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let peer = call.a.peer;
        let Some(d) = call.a.dialog.as_mut() else {
            return;
        };
        if let Ok(out) = d.build_request(Method::Bye, via) {
            let to = self.resolve_next_hop(&out.next_hop, peer);
            self.send_request(now, to, out.request, ClientRole::Bye);
        }
    }

    fn bye_b(&mut self, now: Instant, key: CallKey) {
        let via = self_via(
            &self.settings,
            self.calls
                .get(&key)
                .and_then(|c| c.b.as_ref())
                .map_or(Transport::Udp, |b| b.peer.transport),
        );
        let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut()) else {
            return;
        };
        let peer = b.peer;
        let Some(d) = b.dialog.as_mut() else { return };
        if let Ok(out) = d.build_request(Method::Bye, via) {
            let to = self.resolve_next_hop(&out.next_hop, peer);
            self.send_request(now, to, out.request, ClientRole::Bye);
        }
    }

    fn hang_up_both(&mut self, now: Instant, key: CallKey, cause: Cause) {
        if let Some(c) = self.calls.get_mut(&key) {
            c.cause = cause;
        }
        self.bye_a(now, key);
        self.bye_b(now, key);
        self.finish(now, key);
    }

    /// Where an in-dialog request goes: the next hop's address when it is
    /// a literal one, else where the dialog's peer is.
    fn resolve_next_hop(&self, uri: &rsip::Uri, fallback: Peer) -> Peer {
        let transport = uri
            .params
            .iter()
            .find_map(|p| match p {
                rsip::Param::Transport(t) => Transport::from_token(&t.to_string()),
                _ => None,
            })
            .unwrap_or(fallback.transport);
        let host = uri.host_with_port.host.to_string();
        let port = uri
            .host_with_port
            .port
            .map_or(transport.default_port(), |p| *p.value());
        match host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
        {
            Ok(ip) => Peer::new(transport, SocketAddr::new(ip, port)),
            // A name: the peer we already talk to (DNS per RFC 3263 is not
            // done on the call path).
            Err(_) => fallback,
        }
    }

    // ---- the end of a call ------------------------------------------------

    /// Tears the call's media down; the record follows when the engine has
    /// reported both legs' figures.
    fn finish(&mut self, now: Instant, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if call.phase == Phase::Ending {
            return;
        }
        call.phase = Phase::Ending;
        call.ended = Some(SystemTime::now());
        call.ending_deadline = Some(now + ENDING_GRACE);
        self.end_monitor(now, key, true);
        self.release_direct(now, key);
        self.service_call_ended(now, key);
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if call.status == 0 {
            call.status = 200;
        }
        let (la, lb) = (call.a.media.leg, call.b_media.leg);
        if let Some(b) = call.b.as_mut()
            && std::mem::replace(&mut b.counted, false)
        {
            let t = b.trunk;
            self.trunk_calls(t, -1);
        }
        if let Some(t) = self.calls[&key].a.trunk {
            self.trunk_calls(t, -1);
        }
        // A leg that never opened (its report is already in) has nothing
        // to destroy.
        let call = &self.calls[&key];
        let (open_a, open_b) = (call.a.media.report.is_none(), call.b_media.report.is_none());
        if open_a {
            self.submit(Command::DestroyLeg { leg: la });
        }
        if open_b {
            self.submit(Command::DestroyLeg { leg: lb });
        }
        self.schedule(key);
    }

    fn maybe_record(&mut self, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if call.phase != Phase::Ending
            || call.a.media.report.is_none()
            || call.b_media.report.is_none()
        {
            return;
        }
        // Still waiting for B's INVITE transaction to end (a CANCEL is out).
        if call.b.as_ref().is_some_and(|b| b.tx.is_some()) {
            return;
        }
        call.ending_deadline = None;
        let cdr = self.make_cdr(key);
        self.effects.push_back(Effect::Record(key, Box::new(cdr)));
    }

    fn make_cdr(&self, key: CallKey) -> Cdr {
        let call = &self.calls[&key];
        let trunk_name = |t: Option<TrunkId>| {
            t.and_then(|t| self.trunks.get(t.0))
                .map(|t| t.config.name.clone())
        };
        let ra = call.a.media.report.unwrap_or_default();
        let rb = call.b_media.report.unwrap_or_default();
        let end = call.ended.unwrap_or_else(SystemTime::now);
        let duration = call
            .answered
            .and_then(|a| end.duration_since(a).ok())
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let _ = duration;
        let mos = |r: &LegReport| (r.mos > 0.0).then_some(f64::from(r.mos));
        let leg = |sip_call_id: String, codec: Option<String>, r: &LegReport| LegRecord {
            sip_call_id,
            codec,
            packets_sent: r.packets_out,
            packets_received: r.packets_in,
            packets_lost: r.lost,
            mos: mos(r),
        };
        Cdr {
            call_id: key.to_string(),
            caller: call.caller.clone(),
            // A 400-number call is recorded under the number dialled, not
            // the phone or number it reached (that is `trunk_out`).
            callee: call
                .service
                .as_ref()
                .map_or_else(|| call.callee.clone(), |s| s.dialled.clone()),
            trunk_in: trunk_name(call.a.trunk).unwrap_or_else(|| "-".into()),
            trunk_out: trunk_name(call.b.as_ref().map(|b| b.trunk)),
            setup_ms: unix_ms(call.setup),
            answer_ms: call.answered.map(unix_ms),
            end_ms: unix_ms(end),
            q850_cause: call.cause.value(),
            sip_status: (call.status != 0).then_some(call.status),
            disposition: call.disposition,
            leg_in: leg(
                message::call_id(&call.a.invite)
                    .unwrap_or_default()
                    .to_string(),
                call.codec_in.clone(),
                &ra,
            ),
            leg_out: call
                .b
                .as_ref()
                .map(|b| leg(b.call_id.clone(), call.codec_out.clone(), &rb)),
        }
    }

    fn free_call(&mut self, key: CallKey) {
        let Some(call) = self.calls.remove(&key) else {
            return;
        };
        let trunk_in = call
            .a
            .trunk
            .and_then(|t| self.trunks.get(t.0))
            .map_or("-", |t| t.config.name.as_str())
            .to_string();
        let trunk_out = call
            .b
            .as_ref()
            .and_then(|b| self.trunks.get(b.trunk.0))
            .map_or("", |t| t.config.name.as_str())
            .to_string();
        self.metrics
            .calls
            .with_label_values(&[&trunk_in, &trunk_out, call.disposition.as_str()])
            .inc();
        for m in [&call.a.media, &call.b_media] {
            self.hub.give_back_port(m.port);
            self.by_leg.remove(&m.leg);
        }
        let cid = message::call_id(&call.a.invite)
            .unwrap_or_default()
            .to_string();
        let tag = message::from_tag(&call.a.invite)
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_string();
        self.by_a.remove(&(cid, tag));
        if let Some(b) = &call.b {
            self.by_b.remove(&b.call_id);
        }
        self.metrics.active.set(self.calls.len() as i64);
    }

    // ---- timers -----------------------------------------------------------

    fn schedule(&mut self, key: CallKey) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let mut next: Option<Instant> = call.ending_deadline;
        let mut merge = |d: Option<Instant>| {
            if let Some(d) = d {
                next = Some(next.map_or(d, |n| n.min(d)));
            }
        };
        merge(call.a.responder.as_ref().and_then(|r| r.poll_timeout()));
        merge(
            call.b
                .as_ref()
                .and_then(|b| b.acker.as_ref())
                .and_then(|a| a.poll_timeout()),
        );
        merge(call.a.timer.as_ref().and_then(|t| t.timer.poll_timeout()));
        merge(call.a.reliable.as_ref().and_then(|r| r.poll_timeout()));
        merge(
            call.b
                .as_ref()
                .and_then(|b| b.timer.as_ref())
                .and_then(|t| t.timer.poll_timeout()),
        );
        merge(self.ivr_deadline(key));
        merge(self.voicemail_deadline(key));
        merge(self.pin_deadline(key));
        if let Some(at) = next {
            self.timers.insert((at, key));
        }
    }

    fn call_timers(&mut self, now: Instant, key: CallKey) {
        if self.callback_timer(now, key) {
            return;
        }
        self.ivr_timeout(now, key);
        self.voicemail_timeout(now, key);
        self.pin_timeout(now, key);
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let peer_a = call.a.peer;
        let mut sends = Vec::new();
        let mut ack_timed_out = false;
        if let Some(r) = call.a.responder.as_mut() {
            r.handle_timeout(now);
            while let Some(out) = r.poll_output() {
                match out {
                    InviteResponderOutput::Retransmit(resp) => sends.push(resp),
                    InviteResponderOutput::AckTimedOut => ack_timed_out = true,
                    _ => {}
                }
            }
        }
        if let Some(b) = call.b.as_mut()
            && let Some(acker) = b.acker.as_mut()
        {
            acker.handle_timeout(now);
            // 64*T1 after the 2xx no retransmission can come (§13.2.2.4).
            if acker.is_terminated() {
                b.acker = None;
            }
        }
        let reliable_due = call.a.reliable.as_mut().is_some_and(|r| {
            r.handle_timeout(now);
            true
        });
        // Session timers (RFC 4028 §10): refresh when we are the refresher,
        // hang up when the session was not refreshed in time.
        let mut refresh = Vec::new();
        let mut expired = false;
        let call: &mut Call = call;
        let timers = [
            (Side::A, call.a.timer.as_mut()),
            (Side::B, call.b.as_mut().and_then(|b| b.timer.as_mut())),
        ];
        for (side, lt) in timers {
            let Some(lt) = lt else { continue };
            lt.timer.handle_timeout(now);
            while let Some(out) = lt.timer.poll_output() {
                match out {
                    TimerOutput::Refresh => refresh.push(side),
                    TimerOutput::Expired => expired = true,
                    _ => {}
                }
            }
        }
        let overdue = call.ending_deadline.is_some_and(|d| d <= now);
        for resp in sends {
            let to = message::top_via(&call.a.invite)
                .ok()
                .and_then(|v| message::response_target(&v, peer_a))
                .unwrap_or(peer_a);
            self.metrics.retransmissions.inc();
            self.effects.push_back(Effect::Send(
                to,
                message::encode(&SipMessage::Response(resp)),
            ));
        }
        if expired
            && self
                .calls
                .get(&key)
                .is_some_and(|c| c.phase == Phase::Answered)
        {
            eprintln!("tandem: call {key}: session timer expired (RFC 4028), hanging up");
            self.hang_up_both(now, key, Cause::RECOVERY_ON_TIMER_EXPIRY);
        }
        for side in refresh {
            self.send_refresh(now, key, side);
        }
        if reliable_due {
            self.reliable_outputs(now, key);
        }
        if ack_timed_out {
            // §13.3.1.4: no ACK in 64*T1: the session is over.
            eprintln!("tandem: call {key}: no ACK from the caller, hanging up");
            self.hang_up_both(now, key, Cause::RECOVERY_ON_TIMER_EXPIRY);
        }
        if overdue {
            // The engine never reported (it is stuck or gone): record
            // what we know rather than hold the call forever.
            if let Some(call) = self.calls.get_mut(&key) {
                call.ending_deadline = None;
                call.a.media.report.get_or_insert_with(LegReport::default);
                call.b_media.report.get_or_insert_with(LegReport::default);
                if let Some(b) = call.b.as_mut() {
                    b.tx = None;
                }
            }
            self.maybe_record(key);
            return;
        }
        self.schedule(key);
    }

    fn send_options(&mut self, now: Instant, t: TrunkId) {
        let Some(tr) = self.trunks.get_mut(t.0) else {
            return;
        };
        let interval = tr
            .config
            .options_interval
            .unwrap_or(Duration::from_secs(30));
        tr.next_options = Some(now + interval);
        if tr.options_pending {
            return;
        }
        let Some(addr) = tr.resolved else { return };
        let transport = transport_of(tr.config.transport);
        tr.options_pending = true;
        let host = tr.config.address.to_string();
        let mut headers = rsip::Headers::default();
        headers.push(self.via(transport));
        headers.push(Header::MaxForwards(rsip::headers::MaxForwards::new("70")));
        headers.push(Header::From(rsip::headers::From::new(format!(
            "<sip:tandem@{}>;tag={}",
            self.local_host(),
            message::new_tag()
        ))));
        headers.push(Header::To(rsip::headers::To::new(format!("<sip:{host}>"))));
        headers.push(Header::CallId(rsip::headers::CallId::new(
            message::new_call_id(None),
        )));
        headers.push(Header::CSeq(rsip::headers::CSeq::new("1 OPTIONS")));
        headers.push(Header::Contact(rsip::headers::Contact::new(
            self.contact(transport),
        )));
        headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
            "0",
        )));
        let request = Request {
            method: Method::Options,
            uri: rsip::Uri::try_from(format!("sip:{host}").as_str()).unwrap_or_default(),
            version: rsip::Version::V2,
            headers,
            body: Vec::new(),
        };
        self.send_request(
            now,
            Peer::new(transport, addr),
            request,
            ClientRole::Options(t),
        );
    }

    fn set_trunk_up(&mut self, _now: Instant, t: TrunkId, up: bool) {
        let Some(tr) = self.trunks.get_mut(t.0) else {
            return;
        };
        tr.options_pending = false;
        if tr.up != up {
            eprintln!(
                "tandem: trunk {} is {}",
                tr.config.name,
                if up {
                    "up"
                } else {
                    "DOWN (no answer to OPTIONS)"
                }
            );
        }
        tr.up = up;
        self.metrics
            .trunk_up
            .with_label_values(&[&tr.config.name])
            .set(i64::from(up));
    }
}

/// Puts an SDP body in a response, with its Content-Type and Length.
fn set_sdp_body(r: &mut Response, sdp: &SessionDescription) {
    let body = sdp.to_bytes();
    r.headers.retain(|h| !matches!(h, Header::ContentLength(_)));
    r.headers
        .push(Header::ContentType(rsip::headers::ContentType::new(
            "application/sdp",
        )));
    r.headers
        .push(Header::ContentLength(rsip::headers::ContentLength::new(
            body.len().to_string(),
        )));
    r.body = body;
}

/// The same INVITE as a new transaction (RFC 3261 §8.1.3.5, §22.2): a new
/// top Via (fresh branch) and the next CSeq number.
fn reissue(invite: &Request, via: Header) -> Request {
    let mut next = invite.clone();
    let seq = message::cseq(invite).map_or(1, |c| c.seq) + 1;
    for h in next.headers.iter_mut() {
        match h {
            Header::Via(_) => *h = via.clone(),
            Header::CSeq(_) => *h = Header::CSeq(rsip::headers::CSeq::new(format!("{seq} INVITE"))),
            _ => {}
        }
    }
    next
}

/// Answers a trunk's challenge for `creds.realm` (or any realm when none
/// is configured) with the trunk's user and password.
fn trunk_credentials(
    creds: &config::Credentials,
) -> impl Fn(&str) -> Option<auth::Credentials> + '_ {
    move |realm: &str| {
        creds
            .realm
            .as_deref()
            .is_none_or(|r| r == realm)
            .then(|| auth::Credentials::new(creds.username.clone(), creds.password.0.clone()))
    }
}

/// A random number for RSeq's start (RFC 3262 §3 wants it unpredictable
/// enough not to collide across calls; it is not a secret).
fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(message::new_tag()) as u32
}

/// Whether a message's Allow lists UPDATE (RFC 3311).
fn allows_update(m: &impl rsip::message::HasHeaders) -> bool {
    m.headers().iter().any(|h| {
        matches!(h, Header::Allow(a) if a.value().split(',').any(|x| x.trim().eq_ignore_ascii_case("UPDATE")))
    })
}

/// The digest server's settings. Nonces are signed with a per-process key:
/// a restart invalidates them, and callers simply answer a new challenge.
/// MD5 is offered first, SHA-256 second: most deployed SIP equipment (SIPp
/// among it) implements MD5 only and answers the first challenge it sees
/// (RFC 7616 §3.7 lets the server order them).
fn digest_config(realm: String) -> DigestServerConfig {
    let mut config = DigestServerConfig::new(
        realm,
        format!(
            "{}{}{}",
            message::new_tag(),
            message::new_tag(),
            message::new_call_id(None)
        )
        .into_bytes(),
    );
    config.algorithms = vec![auth::Algorithm::Md5, auth::Algorithm::Sha256];
    config
}

/// The transport of a configured trunk.
fn transport_of(t: config::Transport) -> Transport {
    match t {
        config::Transport::Tcp => Transport::Tcp,
        config::Transport::Udp => Transport::Udp,
        config::Transport::Tls => Transport::Tls,
    }
}

fn self_via(settings: &SipSettings, transport: Transport) -> rsip::typed::Via {
    tandem_sip::dialog::via(
        match transport {
            Transport::Tcp => rsip::Transport::Tcp,
            Transport::Tls => rsip::Transport::Tls,
            _ => rsip::Transport::Udp,
        },
        match (transport, settings.tls) {
            (Transport::Tls, Some(tls)) => tls.into(),
            _ => settings.advertised.into(),
        },
        &message::new_branch(),
    )
}

/// An INVITE to `uri` with `headers` and an SDP `body`: the content type
/// and length are added last.
fn sdp_invite(uri: &str, mut headers: rsip::Headers, body: Vec<u8>) -> Request {
    headers.push(Header::ContentType(rsip::headers::ContentType::new(
        "application/sdp",
    )));
    headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
        body.len().to_string(),
    )));
    Request {
        method: Method::Invite,
        uri: rsip::Uri::try_from(uri).unwrap_or_default(),
        version: rsip::Version::V2,
        headers,
        body,
    }
}
