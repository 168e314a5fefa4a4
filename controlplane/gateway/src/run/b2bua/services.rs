//! Calls to 400 numbers: the number plan picks bound destinations, and
//! calls routed to a queue are answered here and handed to the ACD.
//!
//! - **Direct destinations** (a trunk, a number over the routes, an
//!   agent's phone) are called like any B2BUA call. When one is busy or
//!   does not answer, the plan's forwarding picks the next target (at most
//!   `hop_limit` forwards); other failures move on to the route's next
//!   bound destination.
//! - **Queues.** The caller is answered here (music on hold needs a media
//!   path, and the caller's toll-free charge starts), then queued in the
//!   ACD. Each [`acd::Output::Ring`] rings an agent's phone as leg B —
//!   several at once for ring-all, kept as forks beside `call.b` — and the
//!   first to answer is bridged to the caller. An agent's phone that
//!   declines or fails is reported to the ACD, which moves on; a ring the
//!   ACD gives up on is cancelled here. Spillover to a number or trunk
//!   rings it the same way.
//!
//! The ACD knows the call by `CallId(key)`.

use std::time::{Instant, SystemTime};

use rsip::Request;
use rsip::prelude::*;
use tandem_call::{CallId, Cause};
use tandem_callcenter::acd::{self, Input, Overflow};
use tandem_callcenter::ivr::{
    CallData, HangupCause, Input as IvrInput, IvrSession, MenuId, Outcome, Output as IvrOutput,
    PromptId,
};
use tandem_callcenter::plan::{
    Decision, Destination, Failure, ForwardState, ForwardStep, Forwarding, PinEntry, PinResult,
    Route,
};
use tandem_callcenter::{AgentId, NumberId, QueueId, Timestamp};
use tandem_dataplane::command::{Command, LegId};
use tandem_dataplane::prompt::{PlayRequest, Repeat};
use tandem_sdp::SessionDescription;
use tandem_sdp::offer_answer;
use tandem_sip::auth::{self, Verdict};
use tandem_sip::message;
use tandem_sip::transaction::ServerTxId;
use tandem_sip::transport::Peer;

use super::super::callcenter::Target;
use super::{B2bua, CallKey, ClientRole, LegB, Phase, codec_label, engine_format};
use crate::config::{self, TrunkId};

/// The call-center side of one call.
pub(super) struct CallService {
    /// The 400 number dialled (the call's record keeps it).
    pub(super) dialled: String,
    /// The plan (index into the configured numbers).
    pub(super) number: usize,
    /// The plan's decision for this call.
    pub(super) route: Box<Route>,
    /// The next of `route.destinations` to try after the current one.
    next_destination: usize,
    forward: ForwardState,
    /// The queue the call is (to be) put in.
    pub(super) queue: Option<QueueId>,
    /// The ACD holds the call (waiting, ringing agents or talking).
    pub(super) in_acd: bool,
    /// The caller was answered here, not by leg B.
    pub(super) answered_here: bool,
    /// Rings beside `call.b`: other agents of a ring-all, and rings being
    /// cancelled.
    #[allow(clippy::vec_box)] // moved in and out of `call.b`, a Box
    pub(super) forks: Vec<Box<LegB>>,
    /// The caller hears a prompt (music on hold, an announcement, a
    /// custom ringback).
    pub(super) prompt_on_a: bool,
    /// Where the call goes once its media is open, when that is not a
    /// trunk (a queue, an IVR menu, a voicemail box: from the plan).
    pending: Option<Target>,
    /// The caller's IVR session, while in the IVR.
    pub(super) ivr: Option<Box<IvrSession>>,
    /// The IVR prompt playing, for its `PromptDone`.
    ivr_prompt: Option<PromptId>,
    /// `PromptDone` events to ignore: one per prompt we stopped.
    stopped_prompts: u8,
    /// What the caller did in the IVR, handed to the agent.
    pub(super) call_data: Option<Box<CallData>>,
    /// The priority the call is queued with.
    pub(super) priority: u8,
    /// A feature code dialled from an agent's phone, carried out once
    /// the call is answered.
    feature: Option<(AgentId, FeatureCode)>,
    /// Hang up when the current prompt ends (a feature code's beeps).
    pub(super) hang_up_after_prompt: bool,
    /// The caller is leaving a message.
    vm: Option<Voicemail>,
    /// The caller is keying the number's PIN.
    pin: Option<Box<PinCollect>>,
    /// Who transferred the caller (a `Referred-By` value, RFC 3892).
    pub(super) transferred_by: Option<String>,
    /// On an agent's consultation call: the number of the caller the
    /// agent is handling (`X-Tandem-Caller`).
    pub(super) consult_caller: Option<String>,
    /// After an attended transfer to an agent reached through a queue:
    /// the consultation call under which the ACD knows that agent's call.
    pub(super) linked_acd: Option<CallKey>,
}

/// PIN access in progress (CALLCENTER.md: "password access").
struct PinCollect {
    entry: PinEntry,
    /// Keys so far.
    digits: String,
    /// When what was keyed is taken as the attempt.
    deadline: Option<Instant>,
    prompt: Option<String>,
    retry_prompt: Option<String>,
}

/// How long the caller has to key the PIN once asked (and between keys).
const PIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A caller leaving a voicemail message.
struct Voicemail {
    /// The box.
    name: String,
    /// The greeting is playing; recording starts when it ends.
    greeting: bool,
    /// When the message is cut at the box's longest length.
    deadline: Option<Instant>,
}

/// A recording in progress, until the engine hands the finished file
/// over (`RecordingStopped`), which may come after the call is gone.
pub(super) struct PendingMessage {
    name: String,
    caller: String,
    number: String,
    path: std::path::PathBuf,
    started_ms: u64,
}

/// What an agent can do from the phone by dialling a code (`*11` ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FeatureCode {
    /// `*11`: sign in.
    Login,
    /// `*12`: sign out.
    Logout,
    /// `*13`: pause (reason `phone`).
    Pause,
    /// `*14`: end a pause.
    Unpause,
    /// `*15`: end the after-call work now.
    Ready,
}

impl FeatureCode {
    /// The code dialled for each feature.
    pub(super) const ALL: [(&'static str, FeatureCode); 5] = [
        ("*11", FeatureCode::Login),
        ("*12", FeatureCode::Logout),
        ("*13", FeatureCode::Pause),
        ("*14", FeatureCode::Unpause),
        ("*15", FeatureCode::Ready),
    ];

    pub(super) fn parse(dialled: &str) -> Option<FeatureCode> {
        Self::ALL
            .iter()
            .find(|(code, _)| *code == dialled)
            .map(|(_, f)| *f)
    }
}

/// Why a call to a 400 number or a feature code goes no further.
pub(super) enum NotPlanned {
    /// Refuse it with this status and reason phrase.
    Refuse(u16, &'static str),
    /// Answer with this digest challenge.
    Challenge(Box<rsip::Response>),
}

impl CallService {
    fn new(dialled: &str, number: usize, route: Box<Route>) -> Box<CallService> {
        Box::new(CallService {
            dialled: dialled.to_string(),
            number,
            route,
            next_destination: 0,
            forward: ForwardState::default(),
            queue: None,
            in_acd: false,
            answered_here: false,
            forks: Vec::new(),
            prompt_on_a: false,
            pending: None,
            ivr: None,
            ivr_prompt: None,
            stopped_prompts: 0,
            call_data: None,
            priority: 0,
            feature: None,
            hang_up_after_prompt: false,
            vm: None,
            pin: None,
            transferred_by: None,
            consult_caller: None,
            linked_acd: None,
        })
    }
}

/// A route that is not a number plan's decision (a PIN still to key, a
/// feature code, an agent's internal call): these destinations, this
/// caller, shown as it is, no forwarding, no schedule.
fn plain_route(destinations: Vec<Destination>, caller: Option<String>) -> Box<Route> {
    Box::new(Route {
        destinations,
        caller,
        pass_caller_id: true,
        ringback: None,
        forwarding: Forwarding::none(),
        after_hours: false,
        route: None,
        region: None,
        schedule: None,
    })
}

/// A 400-number call as the plan routed it.
pub(super) struct PlannedCall {
    pub(super) routes: Vec<TrunkId>,
    pub(super) callee: String,
    pub(super) service: Box<CallService>,
}

impl B2bua {
    /// Runs the plan of a 400 number (or a feature code dialled from an
    /// agent's phone); `None` when `callee` is neither.
    pub(super) fn plan_call(
        &mut self,
        now: Instant,
        invite: &Request,
        callee: &str,
        caller: &str,
    ) -> Option<Result<PlannedCall, NotPlanned>> {
        if let Some(code) = FeatureCode::parse(callee) {
            return self.feature_call(invite, code, callee, caller);
        }
        if let Some(planned) = self.agent_internal_call(invite, caller) {
            return Some(planned);
        }
        let svc = self.services.as_mut()?;
        let number = svc.number(callee)?;
        let route = match svc.route(now, number, caller)? {
            Decision::Connect(route) => route,
            Decision::Refuse(refusal) => {
                eprintln!("tandem: {callee}: refused {caller:?}: {}", refusal.reason);
                return Some(Err(NotPlanned::Refuse(
                    refusal.cause.to_sip_status(),
                    "Rejected",
                )));
            }
            Decision::CollectPin(entry) => {
                let config = svc.config.numbers.get(number).and_then(|n| n.pin.clone());
                let route = plain_route(Vec::new(), entry.caller().map(str::to_string));
                let mut service = CallService::new(callee, number, route);
                service.pin = Some(Box::new(PinCollect {
                    entry,
                    digits: String::new(),
                    deadline: None,
                    prompt: config.as_ref().and_then(|c| c.prompt.clone()),
                    retry_prompt: config.and_then(|c| c.retry_prompt),
                }));
                return Some(Ok(PlannedCall {
                    routes: Vec::new(),
                    callee: callee.to_string(),
                    service,
                }));
            }
        };
        let mut service = CallService::new(callee, number, route);
        let mut last = (404, "No Route");
        while let Some(dest) = service
            .route
            .destinations
            .get(service.next_destination)
            .cloned()
        {
            service.next_destination += 1;
            match self.target_of(&dest, callee) {
                Target::Trunks { trunks, callee } => {
                    return Some(Ok(PlannedCall {
                        routes: trunks,
                        callee,
                        service,
                    }));
                }
                Target::Refuse(status, why) => last = (status, why),
                other => {
                    service.pending = Some(other);
                    return Some(Ok(PlannedCall {
                        routes: Vec::new(),
                        callee: callee.to_string(),
                        service,
                    }));
                }
            }
        }
        Some(Err(NotPlanned::Refuse(last.0, last.1)))
    }

    /// A feature code (`*11` ...) from an agent's phone: the agent is the
    /// one whose contact user or name is the caller; an agent with a
    /// password must answer our digest challenge (RFC 3261 §22). The call
    /// is answered, the feature applied, and a beep (or three, when the
    /// ACD refused) played before we hang up.
    fn feature_call(
        &mut self,
        invite: &Request,
        code: FeatureCode,
        callee: &str,
        caller: &str,
    ) -> Option<Result<PlannedCall, NotPlanned>> {
        let services = self.services.as_ref()?;
        let Some(agent) = services.agent_by_user(caller) else {
            return Some(Err(NotPlanned::Refuse(403, "Not An Agent")));
        };
        if let Err(refused) = self.authenticate_agent(invite, agent) {
            return Some(Err(refused));
        }
        let route = plain_route(Vec::new(), Some(caller.to_string()));
        let mut service = CallService::new(callee, usize::MAX, route);
        service.feature = Some((agent, code));
        Some(Ok(PlannedCall {
            routes: Vec::new(),
            callee: callee.to_string(),
            service,
        }))
    }

    /// An agent with a password must answer our digest challenge (RFC 3261
    /// §22) before its phone's calls are taken.
    fn authenticate_agent(&mut self, invite: &Request, agent: AgentId) -> Result<(), NotPlanned> {
        let Some(services) = self.services.as_ref() else {
            return Ok(());
        };
        let Some(password) = services.agent_password(agent) else {
            return Ok(());
        };
        let password = password.to_string();
        let name = services
            .acd
            .agent_name(agent)
            .unwrap_or_default()
            .to_string();
        let verdict = self.digest.verify(SystemTime::now(), invite, |u, _, _| {
            (u == name).then(|| auth::Secret::Password(password.clone()))
        });
        match verdict {
            Ok(Verdict::Authorized { .. }) => Ok(()),
            Ok(Verdict::Challenge { stale }) => {
                let r = self
                    .digest
                    .challenge_response(SystemTime::now(), invite, stale);
                Err(NotPlanned::Challenge(Box::new(r)))
            }
            Err(_) => Err(NotPlanned::Refuse(403, "Forbidden")),
        }
    }

    /// A call from an agent's phone to another agent (by name or phone
    /// user), a queue, a voicemail box or an IVR menu: what agents dial to
    /// consult a colleague before an attended transfer. `None` when the
    /// caller is no agent or the number is none of those.
    fn agent_internal_call(
        &mut self,
        invite: &Request,
        caller: &str,
    ) -> Option<Result<PlannedCall, NotPlanned>> {
        let services = self.services.as_ref()?;
        let agent = services.agent_by_user(caller)?;
        let dialled = super::user_of(&invite.uri);
        let dest = services.internal_destination(&dialled)?;
        if let Err(refused) = self.authenticate_agent(invite, agent) {
            return Some(Err(refused));
        }
        let route = plain_route(vec![dest.clone()], Some(caller.to_string()));
        let mut service = CallService::new(&dialled, usize::MAX, route);
        service.next_destination = 1;
        Some(Ok(match self.target_of(&dest, &dialled) {
            Target::Trunks { trunks, callee } => PlannedCall {
                routes: trunks,
                callee,
                service,
            },
            Target::Refuse(status, why) => return Some(Err(NotPlanned::Refuse(status, why))),
            other => {
                service.pending = Some(other);
                PlannedCall {
                    routes: Vec::new(),
                    callee: dialled,
                    service,
                }
            }
        }))
    }

    fn target_of(&self, dest: &Destination, dialled: &str) -> Target {
        match self.services.as_ref() {
            Some(svc) => svc.target(&self.config, dest, dialled),
            None => Target::Refuse(404, "No Route"),
        }
    }

    /// A 400-number call refused for capacity counts as blocked.
    pub(super) fn note_blocked(&mut self, now: Instant, invite: &Request) {
        let dialled = super::dialled(&super::user_of(&invite.uri));
        if let Some(svc) = self.services.as_mut()
            && let Some(n) = svc.number(&dialled)
        {
            svc.blocked(now, n);
        }
    }

    /// Both engine legs are open: call B, or answer and queue, or answer
    /// and start the IVR.
    pub(super) fn legs_ready(&mut self, now: Instant, key: CallKey) {
        let feature = self
            .calls
            .get(&key)
            .and_then(|c| c.service.as_ref())
            .and_then(|s| s.feature);
        if let Some((agent, code)) = feature {
            return self.run_feature(now, key, agent, code);
        }
        let pin = self
            .calls
            .get(&key)
            .and_then(|c| c.service.as_ref())
            .is_some_and(|s| s.pin.is_some());
        if pin {
            if self.answer_here(now, key) {
                self.ask_pin(now, key, false);
            }
            return;
        }
        let pending = self
            .calls
            .get_mut(&key)
            .and_then(|c| c.service.as_mut())
            .and_then(|s| s.pending.take());
        match pending {
            Some(target) => self.go_to(now, key, target, 503),
            None => self.next_attempt(now, key, 503),
        }
    }

    /// Sends the call to `target`: out over trunks (as leg B; a caller
    /// answered here is bridged when B answers), into a queue, an IVR menu
    /// or a voicemail box (answering the caller first if need be), or
    /// releases it. `last_status` is what the call is failed with when no
    /// trunk takes it.
    pub(super) fn go_to(&mut self, now: Instant, key: CallKey, target: Target, last_status: u16) {
        match target {
            Target::Trunks { trunks, callee } => {
                self.stop_prompt(key);
                self.park_b(key);
                let Some(call) = self.calls.get_mut(&key) else {
                    return;
                };
                call.callee = callee;
                call.routes = trunks.into();
                self.next_attempt(now, key, last_status);
            }
            Target::Queue(q) => self.answer_and_queue(now, key, q),
            Target::Ivr(m) => self.start_ivr(now, key, m),
            Target::Voicemail(name) => self.start_voicemail(now, key, &name),
            Target::Refuse(status, why) => {
                let answered = self
                    .calls
                    .get(&key)
                    .and_then(|c| c.service.as_ref())
                    .is_some_and(|s| s.answered_here);
                if answered {
                    self.hang_up_both(now, key, Cause::NO_ROUTE_DESTINATION);
                } else {
                    self.fail_a(now, key, status, Some(why));
                }
            }
        }
    }

    /// Answers the caller here (if not yet) with our own SDP answer, then
    /// queues it.
    fn answer_and_queue(&mut self, now: Instant, key: CallKey, queue: QueueId) {
        let answered = self
            .calls
            .get(&key)
            .and_then(|c| c.service.as_ref())
            .is_some_and(|s| s.answered_here);
        if !answered && !self.answer_here(now, key) {
            return;
        }
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let caller = call.caller.clone();
        let Some(svc) = call.service.as_mut() else {
            return;
        };
        svc.in_acd = true;
        svc.queue = Some(queue);
        // The higher of an IVR lookup's priority and the VIP list's.
        let who = svc.route.caller.clone().unwrap_or_else(|| caller.clone());
        let vip = self.services.as_ref().map_or(0, |s| s.vip_priority(&who));
        let priority = svc.priority.max(vip);
        // Calls placed by agents to a queue belong to no 400 number.
        let number = (svc.number != usize::MAX).then_some(NumberId(svc.number as u32));
        let Some(services) = self.services.as_mut() else {
            return;
        };
        let queued = services.input(
            now,
            Input::Enqueue {
                call: CallId(key),
                queue,
                caller: &caller,
                priority,
                number,
            },
        );
        if let Err(e) = queued {
            eprintln!("tandem: call {key}: the ACD refused it: {e}");
            self.hang_up_both(now, key, Cause::TEMPORARY_FAILURE);
            return;
        }
        self.start_music(key, queue);
        self.run_acd_outputs(now);
    }

    /// Answers A from its offer with our preferences (no B yet). False
    /// when the call could not be answered (and has been failed).
    fn answer_here(&mut self, now: Instant, key: CallKey) -> bool {
        let Some(call) = self.calls.get(&key) else {
            return false;
        };
        let caps = self.caps(call.a.trunk);
        let call = self.calls.get_mut(&key).expect("checked above");
        let Some(offer) = call.a.offer.as_ref() else {
            self.fail_a(now, key, 488, Some("no offer"));
            return false;
        };
        let (sdp, na) = match offer_answer::answer(offer, &mut call.a.media.local, &caps) {
            Ok(x) => x,
            Err(_) => {
                self.fail_a(now, key, 488, Some("no common codec"));
                return false;
            }
        };
        let Some(format) = engine_format(&na) else {
            self.fail_a(now, key, 488, Some("no common codec"));
            return false;
        };
        call.codec_in = Some(codec_label(&na));
        let (leg, remote) = (call.a.media.leg, na.remote_rtp.socket_addr());
        call.a.answer = Some(sdp);
        call.a.media.negotiated = Some(na);
        if let Some(s) = call.service.as_mut() {
            s.answered_here = true;
        }
        self.submit(Command::ModifyLeg {
            leg,
            remote,
            format: Some(format),
        });
        self.answer_a(now, key);
        true
    }

    /// Leg B answered a caller who already has our SDP answer (a custom
    /// ringback played as early media): B joins with its own format, the
    /// ringback stops.
    pub(super) fn join_b_to_answered_a(&mut self, key: CallKey, nb: offer_answer::NegotiatedMedia) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        call.codec_out = Some(codec_label(&nb));
        let (la, lb) = (call.a.media.leg, call.b_media.leg);
        let (format, remote) = (engine_format(&nb), nb.remote_rtp.socket_addr());
        call.b_media.negotiated = Some(nb);
        let bridge = !call.bridged;
        call.bridged = true;
        self.submit(Command::ModifyLeg {
            leg: lb,
            remote,
            format,
        });
        self.stop_prompt(key);
        if bridge {
            self.submit(Command::Bridge { a: la, b: lb });
        }
    }

    /// B rings and the number has a custom ringback: A is given our SDP
    /// answer in a 183 and hears the prompt until B answers.
    pub(super) fn start_ringback(&mut self, _now: Instant, key: CallKey) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let Some(prompt) = call.service.as_ref().and_then(|s| s.route.ringback.clone()) else {
            return;
        };
        let caps = self.caps(call.a.trunk);
        let call = self.calls.get_mut(&key).expect("checked above");
        let Some(offer) = call.a.offer.as_ref() else {
            return;
        };
        let Ok((sdp, na)) = offer_answer::answer(offer, &mut call.a.media.local, &caps) else {
            return;
        };
        let Some(format) = engine_format(&na) else {
            return;
        };
        call.codec_in = Some(codec_label(&na));
        let (leg, remote) = (call.a.media.leg, na.remote_rtp.socket_addr());
        call.a.answer = Some(sdp);
        call.a.media.negotiated = Some(na);
        self.submit(Command::ModifyLeg {
            leg,
            remote,
            format: Some(format),
        });
        self.play(key, std::path::Path::new(&prompt), Repeat::Forever);
    }

    /// Plays a queue's music on hold to the caller, if it has any.
    fn start_music(&mut self, key: CallKey, queue: QueueId) {
        let Some(path) = self
            .services
            .as_ref()
            .and_then(|s| s.music_on_hold(queue))
            .map(std::path::Path::to_path_buf)
        else {
            return;
        };
        self.play(key, &path, Repeat::Forever);
    }

    /// Plays a WAV file to the caller at its leg's rate.
    pub(super) fn play(&mut self, key: CallKey, path: &std::path::Path, repeat: Repeat) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some(format) = call.a.media.negotiated.as_ref().and_then(engine_format) else {
            return;
        };
        let leg = call.a.media.leg;
        if let Some(s) = call.service.as_mut() {
            s.prompt_on_a = true;
        }
        match self.prompts.get_or_load(path, format.codec.sample_rate()) {
            Ok(prompt) => self.submit(Command::PlayPrompt {
                leg,
                request: PlayRequest {
                    prompt,
                    repeat,
                    barge_in: false,
                },
            }),
            Err(e) => eprintln!("tandem: call {key}: prompt {}: {e}", path.display()),
        }
    }

    /// Carries out what the ACD asks.
    pub(super) fn run_acd_outputs(&mut self, now: Instant) {
        while let Some(out) = self.services.as_mut().and_then(|s| s.poll_output()) {
            match out {
                acd::Output::Ring { call, agents, .. } if self.is_callback(call.0) => {
                    self.ring_for_callback(now, call.0, &agents);
                }
                acd::Output::CancelRing { call, agent } if self.is_callback(call.0) => {
                    self.cancel_callback_ring(now, call.0, agent);
                }
                acd::Output::Spill { call, .. } if self.is_callback(call.0) => {
                    self.callback_spilled(now, call.0);
                }
                acd::Output::Ring { call, agents, .. } => self.ring_agents(now, call.0, &agents),
                acd::Output::CancelRing { call, agent } => self.cancel_agent(now, call.0, agent),
                acd::Output::Spill {
                    call, to, reason, ..
                } => {
                    eprintln!(
                        "tandem: call {}: leaves its queue ({})",
                        call.0,
                        reason.as_str()
                    );
                    self.spill(now, call.0, to);
                }
                acd::Output::PeriodicAnnouncement { call, queue } => {
                    let path = self
                        .services
                        .as_ref()
                        .and_then(|s| s.periodic_prompt(queue))
                        .map(std::path::Path::to_path_buf);
                    if let Some(path) = path {
                        self.play(call.0, &path, Repeat::Times(1));
                    }
                }
                acd::Output::Announce {
                    call,
                    position,
                    estimated_wait,
                    ..
                } => self.announce(call.0, position, estimated_wait),
                acd::Output::Event(_) => {}
            }
        }
    }

    /// Whether leg B can be sent to this trunk now (the checks
    /// `next_attempt` makes before it tries one).
    pub(super) fn trunk_usable(&self, t: TrunkId) -> bool {
        let Some(tr) = self.trunks.get(t.0) else {
            return false;
        };
        tr.up
            && tr.config.max_calls.is_none_or(|m| tr.calls < m)
            && tr.resolved.is_some()
            && (tr.config.transport != config::Transport::Tcp || self.settings.tcp)
    }

    /// Rings agents' phones for a queued call.
    fn ring_agents(&mut self, now: Instant, key: CallKey, agents: &[AgentId]) {
        self.expire_registrations(now);
        let mut unreachable = Vec::new();
        for &agent in agents {
            let Some((trunk, user)) = self.services.as_ref().and_then(|s| s.agent_phone(agent))
            else {
                continue;
            };
            if !self.trunk_usable(trunk) {
                unreachable.push(agent);
                continue;
            }
            self.park_b(key);
            let Some(call) = self.calls.get_mut(&key) else {
                return;
            };
            if call.phase == Phase::Ending {
                return;
            }
            call.callee = user;
            call.routes = [trunk].into();
            self.next_attempt(now, key, 480);
        }
        for agent in unreachable {
            eprintln!("tandem: call {key}: agent {agent}'s phone is unreachable");
            self.agent_declined(now, key, agent);
        }
        self.run_acd_outputs(now);
    }

    /// Tells the ACD an agent's phone did not take the call (it may
    /// already have given up on that ring: then nothing changes).
    pub(super) fn agent_declined(&mut self, now: Instant, key: CallKey, agent: AgentId) {
        if let Some(s) = self.services.as_mut() {
            let _ = s.input(
                now,
                Input::AgentDeclined {
                    call: CallId(key),
                    agent,
                },
            );
        }
    }

    /// Moves a ring still in progress out of `call.b` into the forks, so a
    /// new attempt can take its place.
    fn park_b(&mut self, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let live = call.b.as_ref().is_some_and(|b| b.tx.is_some());
        if live
            && let Some(b) = call.b.take()
            && let Some(s) = call.service.as_mut()
        {
            s.forks.push(b);
        }
    }

    /// Cancels the ring of one agent (the ACD gave up on it, or someone
    /// else answered).
    fn cancel_agent(&mut self, now: Instant, key: CallKey, agent: AgentId) {
        let Some(trunk) = self
            .services
            .as_ref()
            .and_then(|s| s.agent_phone(agent))
            .map(|(t, _)| t)
        else {
            return;
        };
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let in_b = call
            .b
            .as_ref()
            .is_some_and(|b| b.trunk == trunk && b.tx.is_some() && !b.abandoned);
        if in_b {
            self.park_b(key);
        }
        self.cancel_forks(now, key, |f| f.trunk == trunk);
    }

    /// Cancels the rings among the forks that `which` picks (a CANCEL
    /// once the phone has answered provisionally, RFC 3261 §9.1; else as
    /// soon as it does).
    fn cancel_forks(&mut self, now: Instant, key: CallKey, which: impl Fn(&LegB) -> bool) {
        let Some(s) = self.calls.get_mut(&key).and_then(|c| c.service.as_mut()) else {
            return;
        };
        let mut cancels = Vec::new();
        for f in s.forks.iter_mut() {
            if f.tx.is_some() && !f.abandoned && which(f) {
                f.abandoned = true;
                if f.got_provisional {
                    cancels.push((f.peer, message::build_cancel(&f.invite)));
                } else {
                    f.cancel_when_provisional = true;
                }
            }
        }
        for (peer, cancel) in cancels {
            self.send_request(now, peer, cancel, ClientRole::Cancel);
        }
    }

    /// Cancels every ring of the call still in progress (the one in front
    /// stays there, so the call's record names it).
    fn cancel_all_rings(&mut self, now: Instant, key: CallKey) {
        self.cancel_b(now, key);
        // Cancelled once: a CancelRing from the ACD finds nothing to do.
        if let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut())
            && b.tx.is_some()
        {
            b.abandoned = true;
        }
        self.cancel_forks(now, key, |_| true);
    }

    /// A queued caller leaves the ACD for a destination outside it.
    fn spill(&mut self, now: Instant, key: CallKey, to: Overflow) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let dialled = call.callee.clone();
        if let Some(s) = call.service.as_mut() {
            s.in_acd = false;
        }
        let dest = match to {
            Overflow::Number(n) => Destination::Number(n),
            Overflow::Trunk(t) => Destination::Trunk(t),
            Overflow::Voicemail(name) => return self.start_voicemail(now, key, &name),
            Overflow::Callback => return self.request_callback(now, key),
            Overflow::Hangup | Overflow::Queue(_) => {
                self.hang_up_both(now, key, Cause::USER_BUSY);
                return;
            }
        };
        let target = self.target_of(&dest, &dialled);
        self.go_to(now, key, target, 480);
    }

    pub(super) fn stop_prompt(&mut self, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let leg = call.a.media.leg;
        if let Some(s) = call.service.as_mut()
            && std::mem::replace(&mut s.prompt_on_a, false)
        {
            self.submit(Command::StopPrompt { leg });
        }
    }

    /// A leg B of a call answered here failed (after the usual trunk
    /// accounting): tell the ACD, or end a spill that found nobody.
    pub(super) fn on_answered_here_leg_failed(&mut self, now: Instant, key: CallKey, code: u16) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some(b) = call.b.as_ref() else {
            // Nothing could be rung (no trunk usable): a caller the ACD
            // does not hold would wait in silence; release it.
            let waiting = call
                .service
                .as_ref()
                .is_some_and(|s| s.in_acd || !s.forks.is_empty());
            if !waiting && call.phase != Phase::Ending {
                self.hang_up_both(now, key, Cause::from_sip_status(code));
            }
            return;
        };
        let (trunk, abandoned) = (b.trunk, b.abandoned);
        // A live ring takes the front again.
        if let Some(s) = call.service.as_mut()
            && let Some(i) = s.forks.iter().position(|f| f.tx.is_some() && !f.abandoned)
        {
            call.b = Some(s.forks.remove(i));
        }
        let in_acd = call.service.as_ref().is_some_and(|s| s.in_acd);
        let agent = self.services.as_ref().and_then(|s| s.agent_of_trunk(trunk));
        if in_acd {
            if !abandoned && let Some(agent) = agent {
                self.agent_declined(now, key, agent);
                self.run_acd_outputs(now);
            }
            return;
        }
        // A spill to a number or trunk: failover among its trunks, else
        // the caller is released.
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let failover = code == 408 || (500..600).contains(&code);
        if failover && !call.routes.is_empty() {
            self.next_attempt(now, key, code);
        } else if call.service.as_ref().is_some_and(|s| s.forks.is_empty()) {
            self.hang_up_both(now, key, Cause::from_sip_status(code));
        }
    }

    /// Leg B of a call answered here answered: bridge it to the caller
    /// (or hang up a ring we had given up on).
    pub(super) fn on_answered_here_leg_answered(
        &mut self,
        now: Instant,
        key: CallKey,
        response: rsip::Response,
    ) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some(b) = call.b.as_ref() else {
            return;
        };
        if b.abandoned {
            // Answered as we cancelled it: hang it up and put the live
            // ring (if any) back in front.
            self.bye_b(now, key);
            self.drop_b(key);
            return;
        }
        let trunk = b.trunk;
        let answer = SessionDescription::parse(&response.body).ok();
        let nb = answer
            .as_ref()
            .zip(b.offer.as_ref())
            .and_then(|(answer, offer)| offer_answer::accept_answer(offer, answer).ok());
        let Some(nb) = nb else {
            eprintln!("tandem: call {key}: the answering phone's SDP is unusable");
            self.bye_b(now, key);
            self.drop_b(key);
            return;
        };
        let format = engine_format(&nb);
        let call = self.calls.get_mut(&key).expect("checked above");
        call.codec_out = Some(codec_label(&nb));
        let (la, lb) = (call.a.media.leg, call.b_media.leg);
        let remote = nb.remote_rtp.socket_addr();
        call.b_media.negotiated = Some(nb);
        call.bridged = true;
        self.submit(Command::ModifyLeg {
            leg: lb,
            remote,
            format,
        });
        self.stop_prompt(key);
        self.submit(Command::Bridge { a: la, b: lb });
        // Everyone else stops ringing.
        self.cancel_forks(now, key, |_| true);
        let in_acd = self
            .calls
            .get(&key)
            .and_then(|c| c.service.as_ref())
            .is_some_and(|s| s.in_acd);
        let agent = self.services.as_ref().and_then(|s| s.agent_of_trunk(trunk));
        if !in_acd {
            self.mark_b_direct(now, key);
        }
        if in_acd && let Some(agent) = agent {
            let answered = self.services.as_mut().map(|s| {
                s.input(
                    now,
                    Input::AgentAnswered {
                        call: CallId(key),
                        agent,
                    },
                )
            });
            if let Some(Err(e)) = answered {
                eprintln!("tandem: call {key}: {e}; hanging the phone up");
            }
            self.run_acd_outputs(now);
        }
        self.schedule(key);
    }

    /// A response on a ring that is not in front: one we cancelled, or a
    /// ring-all ring that lost. It only ends that ring (a late 2xx is
    /// acknowledged and hung up).
    pub(super) fn on_fork_response(
        &mut self,
        now: Instant,
        key: CallKey,
        i: usize,
        response: rsip::Response,
    ) {
        let code = response.status_code.code();
        let Some(s) = self.calls.get_mut(&key).and_then(|c| c.service.as_mut()) else {
            return;
        };
        let Some(f) = s.forks.get_mut(i) else {
            return;
        };
        if code < 200 {
            f.got_provisional = true;
            if std::mem::replace(&mut f.cancel_when_provisional, false) {
                let (peer, cancel) = (f.peer, message::build_cancel(&f.invite));
                self.send_request(now, peer, cancel, ClientRole::Cancel);
            }
            return;
        }
        let f = s.forks.remove(i);
        let abandoned = f.abandoned;
        let in_acd = s.in_acd;
        self.by_b.remove(&f.call_id);
        if f.counted {
            self.trunk_calls(f.trunk, -1);
        }
        if (200..300).contains(&code) {
            self.hang_up_stray(now, &f, &response);
        } else if in_acd && !abandoned {
            let agent = self
                .services
                .as_ref()
                .and_then(|s| s.agent_of_trunk(f.trunk));
            if let Some(agent) = agent {
                self.agent_declined(now, key, agent);
            }
            self.run_acd_outputs(now);
        }
    }

    /// Acknowledges a 2xx we no longer want and hangs it up (RFC 3261
    /// §13.2.2.4, then §15).
    fn hang_up_stray(&mut self, now: Instant, leg: &LegB, response: &rsip::Response) {
        self.hang_up_stray_invite(now, leg.peer, &leg.invite, response);
    }

    /// [`hang_up_stray`](B2bua::hang_up_stray) from the INVITE and where
    /// it went, for legs that are not a [`LegB`] (or no longer exist).
    pub(super) fn hang_up_stray_invite(
        &mut self,
        now: Instant,
        peer: Peer,
        invite: &Request,
        response: &rsip::Response,
    ) {
        let Ok(mut dialog) = tandem_sip::dialog::Dialog::uac(invite, response) else {
            return;
        };
        let via = super::self_via(&self.settings, peer.transport);
        if let Ok(ack) = dialog.build_ack(invite, via.clone()) {
            let to = self.resolve_next_hop(&ack.next_hop, peer);
            self.send_stateless(to, rsip::SipMessage::Request(ack.request));
        }
        if let Ok(out) = dialog.build_request(rsip::Method::Bye, via) {
            let to = self.resolve_next_hop(&out.next_hop, peer);
            self.send_request(now, to, out.request, ClientRole::Bye);
        }
    }

    /// Forgets `call.b` (ended), putting a live ring back in front.
    fn drop_b(&mut self, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if let Some(b) = call.b.take() {
            self.by_b.remove(&b.call_id);
            if b.counted {
                self.trunk_calls(b.trunk, -1);
            }
        }
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if let Some(s) = call.service.as_mut()
            && let Some(i) = s.forks.iter().position(|f| f.tx.is_some() && !f.abandoned)
        {
            call.b = Some(s.forks.remove(i));
        }
    }

    /// Leg B failed for good (no trunk left): forward, try the route's
    /// next destination, or fail the caller.
    pub(super) fn b_failed(&mut self, now: Instant, key: CallKey, code: u16) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let dialled = call.callee.clone();
        let Some(s) = call.service.as_mut() else {
            return self.fail_a(now, key, code, None);
        };
        if s.answered_here {
            return self.on_answered_here_leg_failed(now, key, code);
        }
        let failure = match code {
            486 | 600 => Some(Failure::Busy),
            408 | 480 | 487 => Some(Failure::NoAnswer),
            _ => None,
        };
        let forwarded = failure.and_then(|f| match s.forward.next(&s.route.forwarding, f) {
            ForwardStep::To(d) => Some(d.clone()),
            ForwardStep::HopLimitReached | ForwardStep::NoTarget => None,
        });
        let next = forwarded.or_else(|| {
            // Not a busy/no-answer case for forwarding: the route's next
            // bound destination, as failover.
            if failure.is_some() {
                return None;
            }
            let d = s.route.destinations.get(s.next_destination).cloned();
            s.next_destination += 1;
            d
        });
        let Some(dest) = next else {
            return self.fail_a(now, key, code, None);
        };
        match self.target_of(&dest, &dialled) {
            Target::Refuse(..) => self.fail_a(now, key, code, None),
            target => self.go_to(now, key, target, code),
        }
    }

    /// The call ends (from `finish`): the ACD lets go of it, and rings
    /// still in progress are cancelled.
    pub(super) fn service_call_ended(&mut self, now: Instant, key: CallKey) {
        let Some(s) = self.calls.get_mut(&key).and_then(|c| c.service.as_mut()) else {
            return;
        };
        let in_acd = std::mem::replace(&mut s.in_acd, false);
        let linked = s.linked_acd.take();
        if let Some(ivr) = s.ivr.as_mut() {
            let at = self
                .services
                .as_ref()
                .map_or(Timestamp::EPOCH, |v| v.ts(now));
            let _ = ivr.handle_input(at, IvrInput::Hangup);
            s.ivr = None;
        }
        if let Some(services) = self.services.as_mut() {
            if in_acd {
                let _ = services.input(now, Input::Hangup { call: CallId(key) });
            }
            if let Some(k) = linked {
                let _ = services.input(now, Input::Hangup { call: CallId(k) });
            }
        }
        self.cancel_all_rings(now, key);
        // Forks are not waited for: their INVITE transactions end on their
        // own (a 487 is acknowledged by the transaction layer).
        if let Some(s) = self.calls.get_mut(&key).and_then(|c| c.service.as_mut()) {
            for f in std::mem::take(&mut s.forks) {
                self.by_b.remove(&f.call_id);
                if f.counted {
                    self.trunk_calls(f.trunk, -1);
                }
            }
        }
        self.run_acd_outputs(now);
    }

    /// The agent put the caller on hold (a re-INVITE with `sendonly` or
    /// `inactive`, RFC 3264 §8.4) or took it off: the caller hears the
    /// queue's music on hold meanwhile (the number's default otherwise),
    /// and the ACD counts the hold time (AHT = talk + hold + wrap-up).
    pub(super) fn agent_hold(&mut self, now: Instant, key: CallKey, held: bool) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let Some(s) = call.service.as_ref() else {
            return;
        };
        if call.phase != Phase::Answered {
            return;
        }
        let (in_acd, queue) = (s.in_acd, s.queue);
        if held {
            let music = self.services.as_ref().and_then(|sv| match queue {
                Some(q) => sv.music_on_hold(q).map(std::path::Path::to_path_buf),
                None => sv.config.music_on_hold.clone(),
            });
            if let Some(path) = music {
                self.play(key, &path, Repeat::Forever);
            }
        } else {
            self.stop_prompt(key);
        }
        if in_acd && let Some(services) = self.services.as_mut() {
            let call = CallId(key);
            let input = if held {
                Input::Hold { call }
            } else {
                Input::Resume { call }
            };
            if let Err(e) = services.input(now, input) {
                eprintln!("tandem: call {key}: the ACD did not take the hold: {e}");
            }
        }
        eprintln!(
            "tandem: call {key}: {}",
            if held {
                "caller on hold"
            } else {
                "caller off hold"
            }
        );
    }

    /// Tells the ACD that `agent`'s phone is on (or off) a call it did not
    /// route, and keeps the call's list of such agents so the end of the
    /// call releases them.
    pub(super) fn mark_direct(&mut self, now: Instant, key: CallKey, agent: AgentId, on: bool) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if on {
            if call.direct.contains(&agent) {
                return;
            }
            call.direct.push(agent);
        } else {
            let Some(i) = call.direct.iter().position(|a| *a == agent) else {
                return;
            };
            call.direct.swap_remove(i);
        }
        if let Some(s) = self.services.as_mut() {
            let _ = s.input(now, Input::DirectCall { agent, active: on });
        }
        if !on {
            self.run_acd_outputs(now);
        }
    }

    /// Leg B answered outside the ACD: an agent's phone there is busy.
    pub(super) fn mark_b_direct(&mut self, now: Instant, key: CallKey) {
        let agent = self
            .calls
            .get(&key)
            .and_then(|c| c.b.as_ref())
            .and_then(|b| self.services.as_ref()?.agent_of_trunk(b.trunk));
        if let Some(agent) = agent {
            self.mark_direct(now, key, agent, true);
        }
    }

    /// The end of a call frees the agents it kept busy.
    pub(super) fn release_direct(&mut self, now: Instant, key: CallKey) {
        let agents = self
            .calls
            .get(&key)
            .map(|c| c.direct.clone())
            .unwrap_or_default();
        for agent in agents {
            self.mark_direct(now, key, agent, false);
        }
    }

    /// The agent whose phone places a call from `from`: the agent's trunk,
    /// or the phone's registered or configured address.
    pub(super) fn calling_agent(&self, trunk_in: Option<TrunkId>, from: Peer) -> Option<AgentId> {
        let s = self.services.as_ref()?;
        if let Some(a) = trunk_in.and_then(|t| s.agent_of_trunk(t)) {
            return Some(a);
        }
        self.trunks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.resolved == Some(from.addr))
            .find_map(|(i, _)| s.agent_of_trunk(TrunkId(i)))
    }

    /// A digit from the caller: to the IVR, or while queued (the exit
    /// digit).
    pub(super) fn service_digit(&mut self, now: Instant, key: CallKey, digit: char) {
        if self.pin_digit(now, key, digit) {
            return;
        }
        let recording = self
            .calls
            .get(&key)
            .and_then(|c| c.service.as_ref())
            .and_then(|s| s.vm.as_ref())
            .is_some_and(|v| !v.greeting);
        if recording {
            if digit == '#' {
                self.end_voicemail(now, key);
            }
            return;
        }
        if self.ivr_input(now, key, IvrInput::Digit(digit)) {
            return;
        }
        let in_acd = self
            .calls
            .get(&key)
            .and_then(|c| c.service.as_ref())
            .is_some_and(|s| s.in_acd && !self.calls[&key].bridged);
        if in_acd && let Some(s) = self.services.as_mut() {
            let _ = s.input(
                now,
                Input::Digit {
                    call: CallId(key),
                    digit,
                },
            );
            self.run_acd_outputs(now);
        }
    }

    /// A prompt ended on one of the call's legs: back to music on hold
    /// while the caller still waits.
    pub(super) fn service_prompt_done(&mut self, _now: Instant, key: CallKey, leg: LegId) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if call.a.media.leg != leg || call.bridged || call.phase == Phase::Ending {
            return;
        }
        let Some(s) = call.service.as_mut() else {
            return;
        };
        s.prompt_on_a = false;
        if s.pin.is_some() {
            return;
        }
        if let Some(vm) = s.vm.as_mut() {
            if std::mem::replace(&mut vm.greeting, false) {
                self.begin_recording(_now, key);
            }
            return;
        }
        if s.hang_up_after_prompt {
            return self.hang_up_both(_now, key, Cause::NORMAL_CLEARING);
        }
        if s.ivr.is_some() {
            if s.stopped_prompts > 0 {
                // The end of a prompt we stopped, not of the current one.
                s.stopped_prompts -= 1;
            } else if let Some(id) = s.ivr_prompt.take() {
                self.ivr_input(_now, key, IvrInput::PromptDone { id });
            }
            return;
        }
        if s.in_acd
            && let Some(q) = s.queue
        {
            self.start_music(key, q);
        }
    }
}

impl B2bua {
    /// Answers the caller here (if not yet) and starts the IVR at `menu`.
    fn start_ivr(&mut self, now: Instant, key: CallKey, menu: MenuId) {
        let answered = self
            .calls
            .get(&key)
            .and_then(|c| c.service.as_ref())
            .is_some_and(|s| s.answered_here);
        if !answered && !self.answer_here(now, key) {
            return;
        }
        let Some(tree) = self.services.as_ref().and_then(|s| s.ivr.clone()) else {
            return self.hang_up_both(now, key, Cause::TEMPORARY_FAILURE);
        };
        self.stop_prompt(key);
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let caller = call.caller.clone();
        let Some(s) = call.service.as_mut() else {
            return;
        };
        s.ivr = Some(Box::new(IvrSession::new(tree, menu, &caller)));
        self.ivr_input(now, key, IvrInput::Start);
    }

    /// Feeds the call's IVR session; false when the call is not in the
    /// IVR.
    fn ivr_input(&mut self, now: Instant, key: CallKey, input: IvrInput) -> bool {
        let at = self
            .services
            .as_ref()
            .map_or(Timestamp::EPOCH, |s| s.ts(now));
        let Some(ivr) = self
            .calls
            .get_mut(&key)
            .and_then(|c| c.service.as_mut())
            .and_then(|s| s.ivr.as_mut())
        else {
            return false;
        };
        if let Err(e) = ivr.handle_input(at, input) {
            eprintln!("tandem: call {key}: ivr: {e}");
        }
        self.run_ivr(now, key);
        true
    }

    /// The IVR's deadline (first key, next key, lookup answer).
    pub(super) fn ivr_deadline(&self, key: CallKey) -> Option<Instant> {
        let t = self
            .calls
            .get(&key)?
            .service
            .as_ref()?
            .ivr
            .as_ref()?
            .poll_timeout()?;
        Some(self.services.as_ref()?.instant(t))
    }

    /// Runs the IVR's timers due at `now`.
    pub(super) fn ivr_timeout(&mut self, now: Instant, key: CallKey) {
        let at = self
            .services
            .as_ref()
            .map_or(Timestamp::EPOCH, |s| s.ts(now));
        let Some(ivr) = self
            .calls
            .get_mut(&key)
            .and_then(|c| c.service.as_mut())
            .and_then(|s| s.ivr.as_mut())
        else {
            return;
        };
        if ivr.poll_timeout().is_some_and(|t| t <= at) {
            ivr.handle_timeout(at);
            self.run_ivr(now, key);
        }
    }

    /// An HTTP lookup came back (see `run::lookup`).
    pub(crate) fn handle_lookup_done(
        &mut self,
        now: Instant,
        done: super::super::lookup::LookupDone,
    ) {
        self.ivr_input(
            now,
            done.key,
            IvrInput::HttpResult {
                id: done.id,
                result: done.result,
            },
        );
        self.schedule(done.key);
    }

    /// Carries out what the IVR asks.
    fn run_ivr(&mut self, now: Instant, key: CallKey) {
        loop {
            let Some(s) = self.calls.get_mut(&key).and_then(|c| c.service.as_mut()) else {
                return;
            };
            let Some(out) = s.ivr.as_mut().and_then(|i| i.poll_output()) else {
                break;
            };
            match out {
                IvrOutput::Play { id, prompt, .. } => {
                    // Barge-in is the IVR's: it sends StopPrompt when a key
                    // interrupts, so the engine never stops prompts itself.
                    s.ivr_prompt = Some(id);
                    self.play(key, std::path::Path::new(&prompt), Repeat::Times(1));
                }
                IvrOutput::StopPrompt => {
                    if s.ivr_prompt.take().is_some() && s.prompt_on_a {
                        s.stopped_prompts = s.stopped_prompts.saturating_add(1);
                    }
                    self.stop_prompt(key);
                }
                IvrOutput::HttpLookup {
                    id,
                    name,
                    url,
                    caller,
                    digits,
                    path,
                } => {
                    let timeout = self
                        .services
                        .as_ref()
                        .and_then(|s| s.ivr.as_ref())
                        .and_then(|t| {
                            t.config()
                                .lookups
                                .iter()
                                .find(|l| l.name == name)
                                .map(|l| l.timeout)
                        })
                        .unwrap_or(std::time::Duration::from_secs(3));
                    self.lookups.start(
                        key,
                        id,
                        super::super::lookup::LookupRequest {
                            url,
                            caller,
                            digits,
                            path,
                            timeout,
                        },
                    );
                }
                IvrOutput::Event(e) => {
                    if let Some(services) = self.services.as_ref() {
                        services.count_ivr_event(&e);
                    }
                    eprintln!("tandem: call {key}: ivr: {e:?}");
                }
                IvrOutput::Done(outcome) => {
                    let data = s.ivr.take().map(|i| Box::new(i.data().clone()));
                    s.ivr_prompt = None;
                    s.call_data = data;
                    self.ivr_done(now, key, outcome);
                    return;
                }
            }
        }
        self.schedule(key);
    }

    /// Where the IVR sent the caller.
    fn ivr_done(&mut self, now: Instant, key: CallKey, outcome: Outcome) {
        self.stop_prompt(key);
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let dialled = call.callee.clone();
        match outcome {
            Outcome::Queue { name, priority } => {
                if let Some(s) = call.service.as_mut() {
                    s.priority = priority;
                }
                match self.services.as_ref().and_then(|s| s.acd.queue_id(&name)) {
                    Some(q) => self.answer_and_queue(now, key, q),
                    None => self.hang_up_both(now, key, Cause::TEMPORARY_FAILURE),
                }
            }
            Outcome::Transfer { dest } => {
                let target = self.target_of(&dest, &dialled);
                self.go_to(now, key, target, 480);
            }
            Outcome::Voicemail { mailbox } => self.start_voicemail(now, key, &mailbox),
            Outcome::Hangup { cause } => {
                if cause != HangupCause::CallerHungUp {
                    self.hang_up_both(now, key, Cause::NORMAL_CLEARING);
                }
            }
        }
    }
}

impl B2bua {
    /// Applies an agent's feature code on its answered call and beeps the
    /// result: one beep done, three refused.
    fn run_feature(&mut self, now: Instant, key: CallKey, agent: AgentId, code: FeatureCode) {
        if !self.answer_here(now, key) {
            return;
        }
        let input = match code {
            FeatureCode::Login => Input::Login { agent },
            FeatureCode::Logout => Input::Logout { agent },
            FeatureCode::Pause => Input::Pause {
                agent,
                reason: "phone",
            },
            FeatureCode::Unpause => Input::Unpause { agent },
            FeatureCode::Ready => Input::Ready { agent },
        };
        let done = self
            .services
            .as_mut()
            .map(|s| s.input(now, input))
            .unwrap_or(Ok(()));
        if let Err(e) = &done {
            eprintln!("tandem: call {key}: feature code refused: {e}");
        }
        self.run_acd_outputs(now);
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some(format) = call.a.media.negotiated.as_ref().and_then(engine_format) else {
            return self.hang_up_both(now, key, Cause::NORMAL_CLEARING);
        };
        let leg = call.a.media.leg;
        if let Some(s) = call.service.as_mut() {
            s.prompt_on_a = true;
            s.hang_up_after_prompt = true;
        }
        let rate = format.codec.sample_rate();
        let beeps = beeps(rate, if done.is_ok() { 1 } else { 3 });
        self.submit(Command::PlayPrompt {
            leg,
            request: PlayRequest {
                prompt: tandem_dataplane::prompt::Prompt::from_samples("beep", rate, &beeps),
                repeat: Repeat::Times(1),
                barge_in: false,
            },
        });
    }
}

/// `n` beeps of 1 kHz, 200 ms each with 200 ms between, after 300 ms of
/// silence (the phone's audio path opens on the answer).
fn beeps(rate: tandem_dsp::resample::Rate, n: usize) -> Vec<i16> {
    let hz = f64::from(rate.hz());
    let ms = |m: f64| (hz * m / 1000.0) as usize;
    let mut out = vec![0i16; ms(300.0)];
    for _ in 0..n {
        out.extend((0..ms(200.0)).map(|i| {
            (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / hz).sin()) as i16
        }));
        out.extend(std::iter::repeat_n(0i16, ms(200.0)));
    }
    out
}

/// An agent's phone's registration (RFC 3261 §10.3).
pub(super) struct Registration {
    /// Until when the binding holds.
    until: Instant,
    /// The trunk's address before the phone registered (its static
    /// contact, if any), restored when the binding ends.
    configured: Option<std::net::SocketAddr>,
}

/// Bindings shorter than this are refused with 423 (RFC 3261 §10.3 step 7).
const MIN_EXPIRES: u32 = 60;
/// Bindings are granted for at most this long.
const MAX_EXPIRES: u32 = 3600;

impl B2bua {
    /// REGISTER from an agent's phone: the address of record's user names
    /// the agent (its contact user or name); the phone must answer our
    /// digest challenge with the agent's password (an agent without one
    /// cannot register). The binding is where the request came from, so
    /// phones behind NAT are reached; calls to the agent go there until
    /// it expires or is removed, then back to the static contact.
    pub(super) fn on_register(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        from: Peer,
        request: Request,
    ) {
        self.expire_registrations(now);
        let user = request
            .to_header()
            .ok()
            .and_then(|t| t.typed().ok())
            .map(|t| super::user_of(&t.uri))
            .unwrap_or_default();
        let Some(services) = self.services.as_ref() else {
            let r = message::response_to(&request, 404, None, Some(&message::new_tag()));
            return self.respond(now, tx, r);
        };
        let Some(agent) = services.agent_by_user(&user) else {
            let r = message::response_to(&request, 404, None, Some(&message::new_tag()));
            return self.respond(now, tx, r);
        };
        let Some(password) = services.agent_password(agent).map(str::to_string) else {
            let r = message::response_to(
                &request,
                403,
                Some("No Password Configured"),
                Some(&message::new_tag()),
            );
            return self.respond(now, tx, r);
        };
        let name = services
            .acd
            .agent_name(agent)
            .unwrap_or_default()
            .to_string();
        let Some((trunk, _)) = services.agent_phone(agent) else {
            return;
        };
        let verdict = self.digest.verify(SystemTime::now(), &request, |u, _, _| {
            (u == name || u == user).then(|| auth::Secret::Password(password.clone()))
        });
        match verdict {
            Ok(Verdict::Authorized { .. }) => {}
            Ok(Verdict::Challenge { stale }) => {
                let r = self
                    .digest
                    .challenge_response(SystemTime::now(), &request, stale);
                return self.respond(now, tx, r);
            }
            Err(e) => {
                let status = e.to_sip_status().unwrap_or(403);
                let r = message::response_to(&request, status, None, Some(&message::new_tag()));
                return self.respond(now, tx, r);
            }
        }
        // Expires: the Contact's parameter, else the header, else 3600.
        let contact = request.headers.iter().find_map(|h| match h {
            rsip::Header::Contact(c) => Some(c.value().to_string()),
            _ => None,
        });
        let header_expires = request.headers.iter().find_map(|h| match h {
            rsip::Header::Expires(e) => e.value().trim().parse::<u32>().ok(),
            _ => None,
        });
        let param_expires = contact.as_deref().and_then(|c| {
            c.split(';')
                .find_map(|p| p.trim().strip_prefix("expires="))
                .and_then(|v| v.trim().parse::<u32>().ok())
        });
        let expires = param_expires.or(header_expires).unwrap_or(MAX_EXPIRES);
        let removing = expires == 0 || contact.as_deref().is_some_and(|c| c.trim() == "*");
        let mut r = message::response_to(&request, 200, None, Some(&message::new_tag()));
        if removing {
            self.unregister(trunk);
            eprintln!("tandem: agent {name}'s phone unregistered");
        } else if contact.is_none() {
            // A query: the current binding, if any.
            if let Some(reg) = self.registrations.get(&trunk) {
                let left = reg.until.saturating_duration_since(now).as_secs();
                r.headers
                    .push(rsip::Header::Contact(rsip::headers::Contact::new(format!(
                        "<sip:{user}@{}>;expires={left}",
                        from.addr
                    ))));
            }
        } else if expires < MIN_EXPIRES {
            let mut r = message::response_to(&request, 423, None, Some(&message::new_tag()));
            r.headers.push(rsip::Header::Other(
                "Min-Expires".into(),
                MIN_EXPIRES.to_string(),
            ));
            return self.respond(now, tx, r);
        } else {
            let expires = expires.min(MAX_EXPIRES);
            let Some(t) = self.trunks.get_mut(trunk.0) else {
                return;
            };
            let configured = match self.registrations.get(&trunk) {
                Some(reg) => reg.configured,
                None => t.resolved,
            };
            // The Contact when it names the host the request came from; the
            // source address when it does not (a phone behind NAT writes its
            // private address, which we could not reach).
            let target = contact
                .as_deref()
                .and_then(contact_addr)
                .filter(|a| a.ip() == from.addr.ip())
                .unwrap_or(from.addr);
            t.resolved = Some(target);
            t.up = true;
            self.registrations.insert(
                trunk,
                Registration {
                    until: now + std::time::Duration::from_secs(u64::from(expires)),
                    configured,
                },
            );
            eprintln!(
                "tandem: agent {name}'s phone registered at {target} (from {}) for {expires} s",
                from.addr
            );
            r.headers
                .push(rsip::Header::Contact(rsip::headers::Contact::new(format!(
                    "{};expires={expires}",
                    contact
                        .as_deref()
                        .unwrap_or_default()
                        .split(';')
                        .next()
                        .unwrap_or_default()
                ))));
        }
        self.respond(now, tx, r);
    }

    fn unregister(&mut self, trunk: TrunkId) {
        if let Some(reg) = self.registrations.remove(&trunk)
            && let Some(t) = self.trunks.get_mut(trunk.0)
        {
            t.resolved = reg.configured;
        }
    }

    /// Ends the bindings that ran out.
    pub(super) fn expire_registrations(&mut self, now: Instant) {
        let ended: Vec<TrunkId> = self
            .registrations
            .iter()
            .filter(|(_, r)| r.until <= now)
            .map(|(t, _)| *t)
            .collect();
        for t in ended {
            self.unregister(t);
        }
    }
}

/// The host:port of a Contact header value when the host is an IP
/// literal (`<sip:user@192.0.2.1:5062;transport=udp>;expires=60`).
fn contact_addr(contact: &str) -> Option<std::net::SocketAddr> {
    let uri = contact.trim();
    let uri = uri
        .strip_prefix('<')
        .and_then(|u| u.split('>').next())
        .unwrap_or_else(|| uri.split(';').next().unwrap_or(uri));
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    let host_port = rest.rsplit('@').next()?.split(';').next()?;
    if let Ok(a) = host_port.parse::<std::net::SocketAddr>() {
        return Some(a);
    }
    let ip: std::net::IpAddr = host_port
        .trim_matches(|c| c == '[' || c == ']')
        .parse()
        .ok()?;
    Some(std::net::SocketAddr::new(ip, 5060))
}

impl B2bua {
    /// Answers the caller here (if not yet) and takes a message for box
    /// `name`: its greeting, a beep, then the recording until the caller
    /// hangs up, keys `#`, or the box's longest message is reached.
    pub(super) fn start_voicemail(&mut self, now: Instant, key: CallKey, name: &str) {
        let Some(greeting) = self
            .services
            .as_ref()
            .and_then(|s| s.config.voicemail_box(name))
            .map(|b| b.greeting.clone())
        else {
            return self.hang_up_both(now, key, Cause::TEMPORARY_FAILURE);
        };
        let answered = self
            .calls
            .get(&key)
            .and_then(|c| c.service.as_ref())
            .is_some_and(|s| s.answered_here);
        if !answered && !self.answer_here(now, key) {
            return;
        }
        self.stop_prompt(key);
        self.park_b(key);
        let Some(s) = self.calls.get_mut(&key).and_then(|c| c.service.as_mut()) else {
            return;
        };
        s.in_acd = false;
        s.vm = Some(Voicemail {
            name: name.to_string(),
            greeting: greeting.is_some(),
            deadline: None,
        });
        eprintln!("tandem: call {key}: to voicemail box {name}");
        match greeting {
            Some(path) => self.play(key, &path, Repeat::Times(1)),
            None => self.begin_recording(now, key),
        }
    }

    /// The beep, and the recording of what the caller says (the left
    /// channel of the file: what the caller's leg receives).
    fn begin_recording(&mut self, now: Instant, key: CallKey) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let Some(name) = call
            .service
            .as_ref()
            .and_then(|s| s.vm.as_ref())
            .map(|v| v.name.clone())
        else {
            return;
        };
        let Some(format) = call.a.media.negotiated.as_ref().and_then(engine_format) else {
            return self.hang_up_both(now, key, Cause::TEMPORARY_FAILURE);
        };
        let (leg, caller) = (call.a.media.leg, call.caller.clone());
        let number = call
            .service
            .as_ref()
            .map(|s| s.dialled.clone())
            .unwrap_or_default();
        let Some(services) = self.services.as_ref() else {
            return;
        };
        let max = services
            .config
            .voicemail_box(&name)
            .map_or(std::time::Duration::from_secs(120), |b| b.max_duration);
        let Some(store) = services.voicemail.as_ref() else {
            return self.hang_up_both(now, key, Cause::TEMPORARY_FAILURE);
        };
        let path = match store.new_message_path(&name) {
            Ok((_, path)) => path,
            Err(e) => {
                eprintln!("tandem: call {key}: voicemail {name}: {e}");
                return self.hang_up_both(now, key, Cause::TEMPORARY_FAILURE);
            }
        };
        let rate = format.codec.sample_rate();
        let recorder = match tandem_dataplane::recorder::Recorder::create(
            &path,
            tandem_dataplane::recorder::RecorderConfig::new(rate),
        ) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("tandem: call {key}: voicemail {name}: {e}");
                return self.hang_up_both(now, key, Cause::TEMPORARY_FAILURE);
            }
        };
        let started_ms = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.vm_recordings.insert(
            leg,
            PendingMessage {
                name,
                caller,
                number,
                path,
                started_ms,
            },
        );
        self.submit(Command::PlayPrompt {
            leg,
            request: PlayRequest {
                prompt: tandem_dataplane::prompt::Prompt::from_samples(
                    "beep",
                    rate,
                    &beeps(rate, 1),
                ),
                repeat: Repeat::Times(1),
                barge_in: false,
            },
        });
        self.submit(Command::StartRecording {
            leg,
            recorder: Box::new(recorder),
        });
        if let Some(v) = self
            .calls
            .get_mut(&key)
            .and_then(|c| c.service.as_mut())
            .and_then(|s| s.vm.as_mut())
        {
            v.deadline = Some(now + max);
        }
        self.schedule(key);
    }

    /// The message is complete (`#` or its longest length): stop
    /// recording and release the caller.
    fn end_voicemail(&mut self, now: Instant, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let leg = call.a.media.leg;
        if let Some(s) = call.service.as_mut() {
            s.vm = None;
        }
        self.submit(Command::StopRecording { leg });
        self.hang_up_both(now, key, Cause::NORMAL_CLEARING);
    }

    /// When a message in progress is cut at the box's longest length.
    pub(super) fn voicemail_deadline(&self, key: CallKey) -> Option<Instant> {
        self.calls
            .get(&key)?
            .service
            .as_ref()?
            .vm
            .as_ref()?
            .deadline
    }

    /// Cuts a message that reached the box's longest length.
    pub(super) fn voicemail_timeout(&mut self, now: Instant, key: CallKey) {
        if self.voicemail_deadline(key).is_some_and(|d| d <= now) {
            self.end_voicemail(now, key);
        }
    }

    /// The engine closed a recording: finish the file off this thread's
    /// hot path (a short flush), index it and notify the box's webhook.
    pub(super) fn recording_stopped(
        &mut self,
        leg: LegId,
        join: tandem_dataplane::recorder::RecorderJoin,
    ) {
        let Some(m) = self.vm_recordings.remove(&leg) else {
            // Not a voicemail message (or its call is long gone): the
            // file is finished all the same.
            let _ = join.join();
            return;
        };
        let duration_ms = match join.join() {
            Ok(summary) => summary.frames * 20,
            Err(e) => {
                eprintln!("tandem: voicemail {}: {e}", m.name);
                return;
            }
        };
        let Some(store) = self.services.as_mut().and_then(|s| s.voicemail.as_mut()) else {
            return;
        };
        match store.finish(
            &m.name,
            &m.caller,
            &m.number,
            &m.path,
            m.started_ms,
            duration_ms,
        ) {
            Ok(Some(id)) => eprintln!(
                "tandem: voicemail {}: message {id} from {} ({} ms)",
                m.name, m.caller, duration_ms
            ),
            Ok(None) => eprintln!(
                "tandem: voicemail {}: {duration_ms} ms from {} is too short, discarded",
                m.name, m.caller
            ),
            Err(e) => eprintln!("tandem: voicemail {}: {e}", m.name),
        }
    }
}

impl B2bua {
    /// Tells a waiting caller its position and estimated wait, spoken from
    /// `callcenter.announcements` ("you are caller number" 3, "your
    /// estimated wait is about" 4 "minutes"; numbers digit by digit), then
    /// back to music on hold. Without the prompts configured, nothing is
    /// said.
    fn announce(&mut self, key: CallKey, position: u32, wait: std::time::Duration) {
        let Some(dir) = self
            .services
            .as_ref()
            .and_then(|s| s.config.announcements.clone())
        else {
            return;
        };
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        if call.bridged {
            return;
        }
        let Some(format) = call.a.media.negotiated.as_ref().and_then(engine_format) else {
            return;
        };
        let rate = format.codec.sample_rate();
        let mut parts = vec!["position.wav".to_string()];
        parts.extend(position.to_string().chars().map(|d| format!("{d}.wav")));
        let minutes = wait.as_secs().div_ceil(60);
        parts.push("wait.wav".to_string());
        if wait < std::time::Duration::from_secs(60) {
            parts.push("under-a-minute.wav".to_string());
        } else {
            parts.extend(minutes.to_string().chars().map(|d| format!("{d}.wav")));
            parts.push("minutes.wav".to_string());
        }
        let mut samples: Vec<i16> = Vec::new();
        for part in &parts {
            match self.prompts.get_or_load(dir.join(part), rate) {
                Ok(p) => samples.extend_from_slice(p.samples()),
                Err(e) => {
                    eprintln!("tandem: call {key}: announcement {part}: {e}");
                    return;
                }
            }
        }
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let leg = call.a.media.leg;
        if let Some(s) = call.service.as_mut() {
            s.prompt_on_a = true;
        }
        self.submit(Command::PlayPrompt {
            leg,
            request: PlayRequest {
                prompt: tandem_dataplane::prompt::Prompt::from_samples(
                    "announcement",
                    rate,
                    &samples,
                ),
                repeat: Repeat::Times(1),
                barge_in: false,
            },
        });
    }
}

impl B2bua {
    /// Asks for the PIN (again, after a wrong one): the prompt plays and
    /// keys may interrupt it; the caller then has [`PIN_TIMEOUT`].
    fn ask_pin(&mut self, now: Instant, key: CallKey, retry: bool) {
        let Some(pin) = self
            .calls
            .get_mut(&key)
            .and_then(|c| c.service.as_mut())
            .and_then(|s| s.pin.as_mut())
        else {
            return;
        };
        pin.digits.clear();
        pin.deadline = Some(now + PIN_TIMEOUT);
        let prompt = if retry {
            pin.retry_prompt.clone().or_else(|| pin.prompt.clone())
        } else {
            pin.prompt.clone()
        };
        if let Some(prompt) = prompt {
            self.play(key, std::path::Path::new(&prompt), Repeat::Times(1));
        }
        self.schedule(key);
    }

    /// A key while the PIN is asked for; false when it is not.
    fn pin_digit(&mut self, now: Instant, key: CallKey, digit: char) -> bool {
        let Some(pin) = self
            .calls
            .get_mut(&key)
            .and_then(|c| c.service.as_mut())
            .and_then(|s| s.pin.as_mut())
        else {
            return false;
        };
        let complete = if digit == '#' {
            true
        } else {
            pin.digits.push(digit);
            pin.digits.len() >= usize::from(pin.entry.pin_len())
        };
        pin.deadline = Some(now + PIN_TIMEOUT);
        self.stop_prompt(key);
        if complete {
            self.check_pin(now, key);
        } else {
            self.schedule(key);
        }
        true
    }

    /// The PIN's deadline.
    pub(super) fn pin_deadline(&self, key: CallKey) -> Option<Instant> {
        self.calls
            .get(&key)?
            .service
            .as_ref()?
            .pin
            .as_ref()?
            .deadline
    }

    /// No key for [`PIN_TIMEOUT`]: what was keyed is the attempt.
    pub(super) fn pin_timeout(&mut self, now: Instant, key: CallKey) {
        if self.pin_deadline(key).is_some_and(|d| d <= now) {
            self.check_pin(now, key);
        }
    }

    /// Checks what the caller keyed against the number's PIN: the call
    /// goes on to the plan's destinations, is asked again, or is released.
    fn check_pin(&mut self, now: Instant, key: CallKey) {
        let Some(s) = self.calls.get_mut(&key).and_then(|c| c.service.as_mut()) else {
            return;
        };
        let number = s.number;
        let Some(pin) = s.pin.as_mut() else {
            return;
        };
        let digits = std::mem::take(&mut pin.digits);
        let Some(services) = self.services.as_mut() else {
            return;
        };
        let at = services.ts(now);
        let Some(plan) = services.plans.get_mut(number) else {
            return;
        };
        let result = plan.enter_pin(at, &mut pin.entry, &digits);
        match result {
            PinResult::Connect(route) => {
                s.pin = None;
                s.route = route;
                s.next_destination = 0;
                self.stop_prompt(key);
                self.route_answered(now, key);
            }
            PinResult::TryAgain { attempts_left } => {
                eprintln!("tandem: call {key}: wrong PIN, {attempts_left} tries left");
                self.ask_pin(now, key, true);
            }
            PinResult::Refuse(refusal) => {
                eprintln!("tandem: call {key}: {}", refusal.reason);
                s.pin = None;
                self.hang_up_both(now, key, refusal.cause);
            }
        }
    }

    /// Sends a caller answered here (after the PIN) to the route's first
    /// usable destination.
    fn route_answered(&mut self, now: Instant, key: CallKey) {
        loop {
            let Some(call) = self.calls.get_mut(&key) else {
                return;
            };
            let dialled = call
                .service
                .as_ref()
                .map(|s| s.dialled.clone())
                .unwrap_or_default();
            let Some(s) = call.service.as_mut() else {
                return;
            };
            let Some(dest) = s.route.destinations.get(s.next_destination).cloned() else {
                return self.hang_up_both(now, key, Cause::NO_ROUTE_DESTINATION);
            };
            s.next_destination += 1;
            match self.target_of(&dest, &dialled) {
                Target::Refuse(..) => continue,
                target => return self.go_to(now, key, target, 480),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::contact_addr;

    #[test]
    fn contact_addresses_are_read_from_literal_uris() {
        let a = |s: &str| contact_addr(s).map(|a| a.to_string());
        assert_eq!(
            a("<sip:olga@127.0.0.1:14662>"),
            Some("127.0.0.1:14662".into())
        );
        assert_eq!(
            a("<sip:8001@192.0.2.7:5062;transport=tcp>;expires=60"),
            Some("192.0.2.7:5062".into())
        );
        assert_eq!(a("sip:8001@192.0.2.7"), Some("192.0.2.7:5060".into()));
        assert_eq!(
            a("<sip:8001@[2001:db8::1]:5070>"),
            Some("[2001:db8::1]:5070".into())
        );
        assert_eq!(a("<sip:8001@phone.example>"), None);
        assert_eq!(a("*"), None);
        assert_eq!(a(""), None);
    }
}
