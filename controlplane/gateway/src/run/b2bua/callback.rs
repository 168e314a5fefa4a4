//! Callbacks: a queued caller who leaves for `callback` (the queue's
//! `overflow` or `exit_to`) is called back when an agent is free.
//!
//! The request keeps the caller's number and goes back into the same
//! queue as a call of its own, with the caller's priority, so it waits its
//! turn like any caller and the ACD's strategy picks the agent (its KPIs
//! count it as a call offered to the queue). When the ACD rings agents for
//! it, their phones are called first (the INVITE carries the customer's
//! number as the calling number and `X-Tandem-Callback: number=...;
//! queue=...`); once an agent answers, the customer is called over the
//! routes, from the 400 number they had called, and the two are bridged
//! when the customer answers. A customer who does not answer (busy, no
//! answer, failure on every route) is tried again after the queue's
//! `callback_retry`, up to `callback_attempts` calls; then the request is
//! dropped with a log line. Each attempt that reached an agent has a call
//! record (caller: the customer's number, `trunk_in`: the agent's phone).
//!
//! Requests live in memory: a restart loses the ones still waiting (they
//! are listed on stderr at shutdown). Outcomes are counted in
//! `tandem_callcenter_callbacks_total{queue,outcome}` (`requested`,
//! `connected`, `retried`, `dropped`).

use std::collections::VecDeque;
use std::time::{Instant, SystemTime};

use rsip::{Header, Method, Request, Response, SipMessage};
use tandem_call::{CallId, Cause};
use tandem_callcenter::acd::Input;
use tandem_callcenter::{AgentId, NumberId, QueueId};
use tandem_dataplane::command::{Command, LegConfig, LegId, LegReport, MediaFormat};
use tandem_sdp::SessionDescription;
use tandem_sdp::offer_answer::{self, LocalMedia, LocalSession};
use tandem_sip::dialog::Dialog;
use tandem_sip::message;
use tandem_sip::transaction::{ClientTxId, ServerTxId};
use tandem_sip::transport::Peer;

use super::{B2bua, CallKey, ClientRole, Effect, MediaLeg, codec_label, engine_format, self_via};
use crate::cdr::{Cdr, Disposition, LegRecord};
use crate::config::TrunkId;

/// A callback request.
pub(super) struct Callback {
    /// The customer's number, called back over the routes.
    number: String,
    /// The 400 number the customer had called (our calling number).
    dialled: String,
    nid: Option<NumberId>,
    queue: QueueId,
    priority: u8,
    /// Calls to the customer made so far.
    tries: u8,
    /// In the ACD now (waiting or ringing agents, or talking).
    in_acd: bool,
    attempt: Option<Box<Attempt>>,
}

/// One try: the agents' phones rung, then the customer.
struct Attempt {
    agent_media: MediaLeg,
    customer_media: MediaLeg,
    /// Agents' phones ringing (several for ring-all).
    rings: Vec<UacLeg>,
    /// The agent who answered.
    agent: Option<(AgentId, UacLeg)>,
    customer: Option<UacLeg>,
    /// Trunks still to try for the customer.
    routes: VecDeque<TrunkId>,
    setup: SystemTime,
    answered: Option<SystemTime>,
    ended: Option<SystemTime>,
    status: u16,
    /// Waiting for the engine's figures of both legs.
    ending: bool,
}

/// A leg we called (an agent's phone or the customer).
struct UacLeg {
    peer: Peer,
    invite: Request,
    call_id: String,
    tx: Option<ClientTxId>,
    dialog: Option<Dialog>,
    offer: Option<SessionDescription>,
    trunk: TrunkId,
    agent: Option<AgentId>,
    got_provisional: bool,
    cancel_when_provisional: bool,
    codec: Option<String>,
}

/// Which of an attempt's legs a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Ring(usize),
    Agent,
    Customer,
}

impl B2bua {
    fn count_callback(&self, queue: QueueId, outcome: &str) {
        if let Some(s) = self.services.as_ref() {
            s.count_callback(queue, outcome);
        }
    }

    /// A queued caller asked to be called back: the request is queued in
    /// the caller's place, and the caller hears the confirmation (if the
    /// queue has one) and is released.
    pub(super) fn request_callback(&mut self, now: Instant, key: CallKey) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let Some(s) = call.service.as_ref() else {
            return;
        };
        let who = s
            .route
            .caller
            .clone()
            .unwrap_or_else(|| call.caller.clone());
        let number = super::dialled(&who);
        let queue = s.queue;
        let dialled = s.dialled.clone();
        let nid = (s.number != usize::MAX).then_some(NumberId(s.number as u32));
        let priority = s.priority;
        let routable = !number.is_empty() && self.config.route_table.lookup(&number).is_some();
        let (Some(queue), true) = (queue, routable) else {
            eprintln!(
                "tandem: call {key}: cannot call {number:?} back (no number or no route to it)"
            );
            if let Some(q) = queue {
                self.count_callback(q, "dropped");
            }
            self.hang_up_both(now, key, Cause::NORMAL_CLEARING);
            return;
        };
        let id = self.next_key;
        self.next_key += 1;
        self.callbacks.insert(
            id,
            Callback {
                number: number.clone(),
                dialled,
                nid,
                queue,
                priority,
                tries: 0,
                in_acd: false,
                attempt: None,
            },
        );
        eprintln!("tandem: call {key}: callback {id} to {number} requested");
        self.count_callback(queue, "requested");
        self.enqueue_callback(now, id);
        let prompt = self
            .services
            .as_ref()
            .and_then(|s| s.callback_config(queue))
            .and_then(|c| c.prompt.clone());
        match prompt {
            Some(path) => {
                // Replaces the music on hold without a PromptDone for it
                // (stopping it first would end the call at that event).
                self.play(key, &path, tandem_dataplane::prompt::Repeat::Times(1));
                if let Some(s) = self.calls.get_mut(&key).and_then(|c| c.service.as_mut()) {
                    s.hang_up_after_prompt = true;
                }
            }
            None => self.hang_up_both(now, key, Cause::NORMAL_CLEARING),
        }
    }

    fn enqueue_callback(&mut self, now: Instant, id: CallKey) {
        let Some(cb) = self.callbacks.get_mut(&id) else {
            return;
        };
        cb.in_acd = true;
        let (queue, priority, nid, number) = (cb.queue, cb.priority, cb.nid, cb.number.clone());
        let Some(services) = self.services.as_mut() else {
            return;
        };
        let r = services.input(
            now,
            Input::Enqueue {
                call: CallId(id),
                queue,
                caller: &number,
                priority,
                number: nid,
            },
        );
        if let Err(e) = r {
            eprintln!("tandem: callback {id}: the ACD refused it: {e}");
            self.callbacks.remove(&id);
            self.count_callback(queue, "dropped");
        }
    }

    /// Whether `id` is a callback (the ACD's outputs are routed here).
    pub(super) fn is_callback(&self, id: CallKey) -> bool {
        self.callbacks.contains_key(&id)
    }

    fn new_cb_media(&mut self) -> Option<MediaLeg> {
        let port = self.hub.take_port()?;
        let leg = self.hub.new_leg();
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

    /// Opens the attempt's two engine legs (once per attempt).
    fn open_attempt(&mut self, id: CallKey) -> bool {
        if self.callbacks.get(&id).is_some_and(|c| c.attempt.is_some()) {
            return true;
        }
        let Some(a) = self.new_cb_media() else {
            return false;
        };
        let Some(c) = self.new_cb_media() else {
            self.hub.give_back_port(a.port);
            return false;
        };
        let session = self.hub.new_session();
        for m in [&a, &c] {
            self.submit(Command::CreateLeg {
                leg: m.leg,
                session,
                config: LegConfig {
                    local: std::net::SocketAddr::new(self.hub.rtp_address, m.port),
                    remote: None,
                    latch: true,
                    format: MediaFormat::new(tandem_dataplane::codec::Codec::Pcma, 8),
                    rtp_timeout_secs: self.hub.rtp_timeout_secs,
                },
            });
            self.cb_legs.insert(m.leg, id);
        }
        if let Some(cb) = self.callbacks.get_mut(&id) {
            cb.attempt = Some(Box::new(Attempt {
                agent_media: a,
                customer_media: c,
                rings: Vec::new(),
                agent: None,
                customer: None,
                routes: VecDeque::new(),
                setup: SystemTime::now(),
                answered: None,
                ended: None,
                status: 0,
                ending: false,
            }));
        }
        true
    }

    /// The ACD rings agents for a callback: their phones are called.
    pub(super) fn ring_for_callback(&mut self, now: Instant, id: CallKey, agents: &[AgentId]) {
        if !self.open_attempt(id) {
            eprintln!("tandem: callback {id}: no media ports; agents not rung");
            for &agent in agents {
                self.agent_declined(now, id, agent);
            }
            return;
        }
        for &agent in agents {
            let phone = self
                .services
                .as_ref()
                .and_then(|s| s.agent_phone(agent))
                .filter(|(t, _)| self.trunk_usable(*t));
            let Some((trunk, user)) = phone else {
                self.agent_declined(now, id, agent);
                continue;
            };
            let Some(invite) = self.cb_invite(id, trunk, &user, true) else {
                self.agent_declined(now, id, agent);
                continue;
            };
            self.send_cb_leg(now, id, invite, Some(agent));
        }
    }

    /// Builds the INVITE of a callback leg: to an agent's phone (`to_agent`,
    /// from the customer's number) or to the customer (from the 400
    /// number). `None` when the trunk or the offer is not there.
    fn cb_invite(
        &mut self,
        id: CallKey,
        trunk: TrunkId,
        user: &str,
        to_agent: bool,
    ) -> Option<(Peer, Request, SessionDescription, TrunkId)> {
        let (peer, host) = self.phone_of(trunk)?;
        let caps = self.caps(Some(trunk));
        let cb = self.callbacks.get_mut(&id)?;
        let queue_name = self
            .services
            .as_ref()
            .and_then(|s| s.acd.queue_config(cb.queue))
            .map(|q| q.name.clone())
            .unwrap_or_default();
        let attempt = cb.attempt.as_mut()?;
        let media = if to_agent {
            &mut attempt.agent_media
        } else {
            &mut attempt.customer_media
        };
        let sdp = offer_answer::offer(&mut media.local, &caps).ok()?;
        let number = cb.number.clone();
        let from_user = if to_agent {
            cb.number.clone()
        } else {
            cb.dialled.clone()
        };
        let call_id = message::new_call_id(Some(&self.settings.advertised.ip().to_string()));
        let extra = if to_agent {
            vec![Header::Other(
                "X-Tandem-Callback".into(),
                format!("number={number};queue={queue_name}"),
            )]
        } else {
            Vec::new()
        };
        let request = self.originate_invite(
            peer.transport,
            &host,
            user,
            &format!("<sip:{from_user}@{}>", self.settings.advertised.ip()),
            &call_id,
            &sdp,
            extra,
        );
        Some((peer, request, sdp, trunk))
    }

    fn send_cb_leg(
        &mut self,
        now: Instant,
        id: CallKey,
        (peer, invite, sdp, trunk): (Peer, Request, SessionDescription, TrunkId),
        agent: Option<AgentId>,
    ) {
        let call_id = message::call_id(&invite).unwrap_or_default().to_string();
        let tx = self.send_request(now, peer, invite.clone(), ClientRole::Callback(id));
        self.by_callback.insert(call_id.clone(), id);
        self.trunk_calls(trunk, 1);
        let leg = UacLeg {
            peer,
            invite,
            call_id,
            tx,
            dialog: None,
            offer: Some(sdp),
            trunk,
            agent,
            got_provisional: false,
            cancel_when_provisional: false,
            codec: None,
        };
        let Some(attempt) = self.callbacks.get_mut(&id).and_then(|c| c.attempt.as_mut()) else {
            return;
        };
        if agent.is_some() {
            attempt.rings.push(leg);
        } else {
            attempt.customer = Some(leg);
        }
    }

    /// Stops ringing an agent for a callback (the ACD gave up on it).
    pub(super) fn cancel_callback_ring(&mut self, now: Instant, id: CallKey, agent: AgentId) {
        let Some(attempt) = self.callbacks.get_mut(&id).and_then(|c| c.attempt.as_mut()) else {
            return;
        };
        let mut cancels = Vec::new();
        for r in attempt.rings.iter_mut().filter(|r| r.agent == Some(agent)) {
            r.agent = None;
            if r.got_provisional {
                cancels.push((r.peer, message::build_cancel(&r.invite)));
            } else {
                r.cancel_when_provisional = true;
            }
        }
        for (peer, cancel) in cancels {
            self.send_request(now, peer, cancel, ClientRole::Cancel);
        }
    }

    /// The ACD let go of a callback (it spilled, or the queue emptied).
    pub(super) fn callback_spilled(&mut self, now: Instant, id: CallKey) {
        if let Some(cb) = self.callbacks.get_mut(&id) {
            cb.in_acd = false;
            let queue = cb.queue;
            eprintln!("tandem: callback {id} left its queue; dropped");
            self.count_callback(queue, "dropped");
        }
        self.end_attempt(now, id, 487, true);
    }

    fn which_leg(&self, id: CallKey, call_id: &str) -> Option<Which> {
        let a = self.callbacks.get(&id)?.attempt.as_ref()?;
        if let Some(i) = a.rings.iter().position(|r| r.call_id == call_id) {
            return Some(Which::Ring(i));
        }
        if a.agent.as_ref().is_some_and(|(_, l)| l.call_id == call_id) {
            return Some(Which::Agent);
        }
        if a.customer.as_ref().is_some_and(|l| l.call_id == call_id) {
            return Some(Which::Customer);
        }
        None
    }

    /// A response to one of a callback's INVITEs.
    pub(super) fn on_callback_response(
        &mut self,
        now: Instant,
        id: CallKey,
        tx: ClientTxId,
        response: Response,
    ) {
        let code = response.status_code.code();
        let call_id = message::call_id(&response).unwrap_or_default().to_string();
        let Some(which) = self.which_leg(id, &call_id) else {
            // An attempt already over: a 2xx is acknowledged and hung up.
            if code >= 200
                && let Some((peer, invite)) = self.stray_invites.remove(&tx)
                && code < 300
            {
                self.hang_up_stray_invite(now, peer, &invite, &response);
            }
            return;
        };
        if code < 200 {
            let attempt = self
                .callbacks
                .get_mut(&id)
                .and_then(|c| c.attempt.as_mut())
                .expect("which_leg found it");
            if let Which::Ring(i) = which {
                let r = &mut attempt.rings[i];
                r.got_provisional = true;
                if std::mem::replace(&mut r.cancel_when_provisional, false) {
                    let (peer, cancel) = (r.peer, message::build_cancel(&r.invite));
                    self.send_request(now, peer, cancel, ClientRole::Cancel);
                }
            }
            return;
        }
        match which {
            Which::Ring(i) => self.on_ring_final(now, id, i, tx, response),
            Which::Agent => {
                // A retransmitted 2xx of the agent's answer: ACK again.
                if (200..300).contains(&code) {
                    self.ack_cb_leg(id, Which::Agent);
                }
            }
            Which::Customer => self.on_customer_final(now, id, response),
        }
    }

    fn ack_cb_leg(&mut self, id: CallKey, which: Which) {
        let Some(attempt) = self.callbacks.get_mut(&id).and_then(|c| c.attempt.as_mut()) else {
            return;
        };
        let leg = match which {
            Which::Agent => attempt.agent.as_ref().map(|(_, l)| l),
            Which::Customer => attempt.customer.as_ref(),
            Which::Ring(i) => attempt.rings.get(i),
        };
        let Some(leg) = leg else { return };
        let via = self_via(&self.settings, leg.peer.transport);
        let peer = leg.peer;
        if let Some(Ok(ack)) = leg.dialog.as_ref().map(|d| d.build_ack(&leg.invite, via)) {
            let to = self.resolve_next_hop(&ack.next_hop, peer);
            self.send_stateless(to, SipMessage::Request(ack.request));
        }
    }

    /// Accepts a 2xx's SDP on a leg: its dialog, the engine leg's peer and
    /// format. False when the answer is unusable.
    fn accept_cb_answer(
        &mut self,
        id: CallKey,
        leg: &mut UacLeg,
        response: &Response,
        agent_side: bool,
    ) -> bool {
        let Ok(d) = Dialog::uac(&leg.invite, response) else {
            return false;
        };
        leg.dialog = Some(d);
        leg.tx = None;
        let answer = SessionDescription::parse(&response.body).ok();
        let nm = answer
            .as_ref()
            .zip(leg.offer.as_ref())
            .and_then(|(answer, offer)| offer_answer::accept_answer(offer, answer).ok());
        let Some(nm) = nm else {
            return false;
        };
        leg.codec = Some(codec_label(&nm));
        let Some(attempt) = self.callbacks.get_mut(&id).and_then(|c| c.attempt.as_mut()) else {
            return false;
        };
        let media = if agent_side {
            &mut attempt.agent_media
        } else {
            &mut attempt.customer_media
        };
        let (leg_id, remote, format) = (media.leg, nm.remote_rtp.socket_addr(), engine_format(&nm));
        media.negotiated = Some(nm);
        self.submit(Command::ModifyLeg {
            leg: leg_id,
            remote,
            format,
        });
        true
    }

    fn on_ring_final(
        &mut self,
        now: Instant,
        id: CallKey,
        i: usize,
        tx: ClientTxId,
        response: Response,
    ) {
        let code = response.status_code.code();
        let Some(attempt) = self.callbacks.get_mut(&id).and_then(|c| c.attempt.as_mut()) else {
            return;
        };
        let mut ring = attempt.rings.remove(i);
        // Answered by another agent, or the attempt is being torn down.
        let taken = attempt.agent.is_some() || attempt.ending;
        self.trunk_calls(ring.trunk, -1);
        if code >= 300 {
            self.by_callback.remove(&ring.call_id);
            self.by_client_tx.remove(&tx);
            if let Some(agent) = ring.agent {
                self.agent_declined(now, id, agent);
                self.run_acd_outputs(now);
            }
            return;
        }
        // A 2xx. Someone else took it, or the ACD gave up on this ring.
        let Some(agent) = ring.agent.filter(|_| !taken) else {
            self.hang_up_stray_invite(now, ring.peer, &ring.invite, &response);
            self.by_callback.remove(&ring.call_id);
            return;
        };
        self.trunk_calls(ring.trunk, 1);
        if !self.accept_cb_answer(id, &mut ring, &response, true) {
            eprintln!("tandem: callback {id}: the agent's answer is unusable");
            self.hang_up_stray_invite(now, ring.peer, &ring.invite, &response);
            self.trunk_calls(ring.trunk, -1);
            self.by_callback.remove(&ring.call_id);
            self.agent_declined(now, id, agent);
            self.run_acd_outputs(now);
            return;
        }
        let Some(attempt) = self.callbacks.get_mut(&id).and_then(|c| c.attempt.as_mut()) else {
            return;
        };
        attempt.agent = Some((agent, ring));
        self.ack_cb_leg(id, Which::Agent);
        // The other phones stop ringing.
        let others: Vec<AgentId> = self
            .callbacks
            .get(&id)
            .and_then(|c| c.attempt.as_ref())
            .map(|a| a.rings.iter().filter_map(|r| r.agent).collect())
            .unwrap_or_default();
        for other in others {
            self.cancel_callback_ring(now, id, other);
        }
        if let Some(s) = self.services.as_mut() {
            let r = s.input(
                now,
                Input::AgentAnswered {
                    call: CallId(id),
                    agent,
                },
            );
            if let Err(e) = r {
                eprintln!("tandem: callback {id}: {e}");
            }
        }
        self.run_acd_outputs(now);
        // Now the customer.
        let Some(cb) = self.callbacks.get_mut(&id) else {
            return;
        };
        let routes = self
            .config
            .route_table
            .lookup(&cb.number)
            .map(<[TrunkId]>::to_vec)
            .unwrap_or_default();
        cb.tries += 1;
        if let Some(a) = cb.attempt.as_mut() {
            a.routes = routes.into();
        }
        eprintln!(
            "tandem: callback {id}: agent answered; calling {}",
            cb.number
        );
        self.call_customer(now, id, 503);
    }

    /// Calls the customer on the next route, or fails the attempt.
    fn call_customer(&mut self, now: Instant, id: CallKey, last: u16) {
        loop {
            let Some(cb) = self.callbacks.get_mut(&id) else {
                return;
            };
            let number = cb.number.clone();
            let Some(trunk) = cb.attempt.as_mut().and_then(|a| a.routes.pop_front()) else {
                return self.end_attempt(now, id, last, false);
            };
            if !self.trunk_usable(trunk) {
                continue;
            }
            if let Some(invite) = self.cb_invite(id, trunk, &number, false) {
                self.send_cb_leg(now, id, invite, None);
                return;
            }
        }
    }

    fn on_customer_final(&mut self, now: Instant, id: CallKey, response: Response) {
        let code = response.status_code.code();
        let Some(attempt) = self.callbacks.get_mut(&id).and_then(|c| c.attempt.as_mut()) else {
            return;
        };
        let ending = attempt.ending;
        let Some(mut leg) = attempt.customer.take() else {
            return;
        };
        if ending {
            // Cancelled as the attempt ended: a 2xx is hung up.
            self.by_callback.remove(&leg.call_id);
            self.trunk_calls(leg.trunk, -1);
            if (200..300).contains(&code) {
                self.hang_up_stray_invite(now, leg.peer, &leg.invite, &response);
            }
            return;
        }
        if code >= 300 {
            self.by_callback.remove(&leg.call_id);
            self.trunk_calls(leg.trunk, -1);
            if code == 408 || (500..600).contains(&code) {
                return self.call_customer(now, id, code);
            }
            return self.end_attempt(now, id, code, false);
        }
        if !self.accept_cb_answer(id, &mut leg, &response, false) {
            eprintln!("tandem: callback {id}: the customer's answer is unusable");
            if let Some(a) = self.callbacks.get_mut(&id).and_then(|c| c.attempt.as_mut()) {
                a.customer = Some(leg);
            }
            self.ack_cb_leg(id, Which::Customer);
            return self.end_attempt(now, id, 488, false);
        }
        let Some(cb) = self.callbacks.get_mut(&id) else {
            return;
        };
        let queue = cb.queue;
        let Some(a) = cb.attempt.as_mut() else {
            return;
        };
        a.customer = Some(leg);
        a.answered = Some(SystemTime::now());
        a.status = code;
        let (la, lc) = (a.agent_media.leg, a.customer_media.leg);
        self.ack_cb_leg(id, Which::Customer);
        self.submit(Command::Bridge { a: la, b: lc });
        self.count_callback(queue, "connected");
        eprintln!("tandem: callback {id}: connected");
    }

    /// A request in one of a callback's dialogs; `false` when it is not
    /// one of theirs.
    pub(super) fn on_callback_request(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: &Request,
    ) -> bool {
        let Some(&id) = message::call_id(request)
            .ok()
            .and_then(|cid| self.by_callback.get(cid))
        else {
            return false;
        };
        let status = match request.method {
            Method::Ack => return true,
            Method::Bye | Method::Options => 200,
            _ => 488,
        };
        let r = message::response_to(request, status, None, None);
        self.respond(now, tx, r);
        if request.method != Method::Bye {
            return true;
        }
        let which = self.which_leg(id, message::call_id(request).unwrap_or_default());
        // The side that hung up needs no BYE.
        if let Some(a) = self.callbacks.get_mut(&id).and_then(|c| c.attempt.as_mut()) {
            match which {
                Some(Which::Agent) => {
                    if let Some((_, l)) = a.agent.as_mut() {
                        l.dialog = None;
                    }
                }
                Some(Which::Customer) => {
                    if let Some(l) = a.customer.as_mut() {
                        l.dialog = None;
                    }
                }
                _ => {}
            }
        }
        let connected = self
            .callbacks
            .get(&id)
            .and_then(|c| c.attempt.as_ref())
            .is_some_and(|a| a.answered.is_some());
        // Hung up before the customer answered (the agent gave up): the
        // attempt failed.
        self.end_attempt(now, id, if connected { 200 } else { 487 }, false);
        true
    }

    /// No answer at all to a callback INVITE (Timer B): as a 408.
    pub(super) fn callback_timeout(&mut self, now: Instant, id: CallKey, tx: ClientTxId) {
        self.stray_invites.remove(&tx);
        let invite = self
            .callbacks
            .get(&id)
            .and_then(|c| c.attempt.as_ref())
            .and_then(|a| {
                a.rings
                    .iter()
                    .chain(a.customer.iter())
                    .find(|l| l.tx == Some(tx))
                    .map(|l| l.invite.clone())
            });
        if let Some(invite) = invite {
            let r = message::response_to(&invite, 408, None, Some(&message::new_tag()));
            self.on_callback_response(now, id, tx, r);
        }
    }

    /// Ends the attempt: hangs up or cancels what is still up, tells the
    /// ACD, tears the media down (the record follows the engine's
    /// figures), and calls again later or drops the request (`drop`).
    fn end_attempt(&mut self, now: Instant, id: CallKey, status: u16, drop: bool) {
        let Some(cb) = self.callbacks.get_mut(&id) else {
            return;
        };
        if cb.attempt.as_ref().is_some_and(|a| a.ending) {
            return;
        }
        let in_acd = std::mem::replace(&mut cb.in_acd, false);
        let (queue, tries, number) = (cb.queue, cb.tries, cb.number.clone());
        let connected = cb.attempt.as_ref().is_some_and(|a| a.answered.is_some());
        if let Some(a) = cb.attempt.as_mut().filter(|a| !a.ending) {
            a.ending = true;
            a.ended = Some(SystemTime::now());
            if a.status == 0 || !connected {
                a.status = status;
            }
            let mut byes = Vec::new();
            let mut cancels = Vec::new();
            for l in a
                .rings
                .iter_mut()
                .chain(a.customer.iter_mut())
                .chain(a.agent.iter_mut().map(|(_, l)| l))
            {
                if let Some(d) = l.dialog.as_mut() {
                    let via = self_via(&self.settings, l.peer.transport);
                    if let Ok(out) = d.build_request(Method::Bye, via) {
                        byes.push((l.peer, out));
                    }
                } else if l.tx.is_some() {
                    cancels.push((l.peer, message::build_cancel(&l.invite)));
                }
            }
            let legs = [a.agent_media.leg, a.customer_media.leg];
            for (peer, out) in byes {
                let to = self.resolve_next_hop(&out.next_hop, peer);
                self.send_request(now, to, out.request, ClientRole::Bye);
            }
            for (peer, cancel) in cancels {
                self.send_request(now, peer, cancel, ClientRole::Cancel);
            }
            for leg in legs {
                self.submit(Command::DestroyLeg { leg });
            }
            self.timers.insert((now + super::ENDING_GRACE, id));
        }
        if in_acd && let Some(s) = self.services.as_mut() {
            let _ = s.input(now, Input::Hangup { call: CallId(id) });
        }
        let limit = self
            .services
            .as_ref()
            .and_then(|s| s.callback_config(queue))
            .map_or((3, std::time::Duration::from_secs(300)), |c| {
                (c.attempts, c.retry)
            });
        let done = connected || drop || tries >= limit.0;
        if !connected && !drop && tries >= limit.0 {
            eprintln!("tandem: callback {id}: {number} not reached in {tries} calls; dropped");
            self.count_callback(queue, "dropped");
        }
        if done {
            // Removed once its record is out (at once with no attempt).
            if let Some(cb) = self.callbacks.get_mut(&id) {
                cb.tries = u8::MAX;
                if cb.attempt.is_none() {
                    self.callbacks.remove(&id);
                }
            }
        } else {
            // Not reached (or no agent took it): again after the retry wait.
            self.count_callback(queue, "retried");
            self.cb_retry.insert(id, now + limit.1);
            self.timers.insert((now + limit.1, id));
        }
        self.run_acd_outputs(now);
    }

    /// A leg's figures from the engine; the record goes out once both are
    /// in.
    pub(super) fn callback_leg_report(&mut self, leg: LegId, report: LegReport) -> bool {
        let Some(&id) = self.cb_legs.get(&leg) else {
            return false;
        };
        if let Some(a) = self.callbacks.get_mut(&id).and_then(|c| c.attempt.as_mut()) {
            if a.agent_media.leg == leg {
                a.agent_media.report = Some(report);
            } else if a.customer_media.leg == leg {
                a.customer_media.report = Some(report);
            }
            if a.ending && a.agent_media.report.is_some() && a.customer_media.report.is_some() {
                self.finish_attempt(id);
            }
        }
        true
    }

    /// A callback's timer: a retry is due, or an attempt's record cannot
    /// wait longer for the engine's figures. `false` when `id` is no
    /// callback.
    pub(super) fn callback_timer(&mut self, now: Instant, id: CallKey) -> bool {
        if !self.callbacks.contains_key(&id) {
            return false;
        }
        let ending = self
            .callbacks
            .get(&id)
            .and_then(|c| c.attempt.as_ref())
            .is_some_and(|a| a.ending);
        if ending {
            self.finish_attempt(id);
        }
        if self.cb_retry.get(&id).is_some_and(|&at| at <= now)
            && self.callbacks.get(&id).is_some_and(|c| c.attempt.is_none())
        {
            self.cb_retry.remove(&id);
            self.enqueue_callback(now, id);
            self.run_acd_outputs(now);
        }
        true
    }

    /// Writes the attempt's record (if an agent took it), frees its ports,
    /// and forgets the request once it is done.
    fn finish_attempt(&mut self, id: CallKey) {
        let Some(cb) = self.callbacks.get_mut(&id) else {
            return;
        };
        let Some(a) = cb.attempt.take() else {
            return;
        };
        let done = cb.tries == u8::MAX;
        let (number, dialled) = (cb.number.clone(), cb.dialled.clone());
        for m in [&a.agent_media, &a.customer_media] {
            self.hub.give_back_port(m.port);
            self.cb_legs.remove(&m.leg);
        }
        for l in a
            .rings
            .iter()
            .chain(a.customer.iter())
            .chain(a.agent.iter().map(|(_, l)| l))
        {
            self.by_callback.remove(&l.call_id);
            // A ring cancelled too late may still answer.
            if let (Some(tx), None) = (l.tx, l.dialog.as_ref()) {
                self.stray_invites.insert(tx, (l.peer, l.invite.clone()));
            }
        }
        // Every leg still held counts on its trunk until now (a leg that
        // failed earlier was let go then).
        for l in a
            .rings
            .iter()
            .chain(a.customer.iter())
            .chain(a.agent.iter().map(|(_, l)| l))
        {
            self.trunk_calls(l.trunk, -1);
        }
        if done {
            self.callbacks.remove(&id);
            self.cb_retry.remove(&id);
        }
        let Some((_, agent_leg)) = a.agent.as_ref() else {
            return;
        };
        let trunk_name = |t: TrunkId| self.trunks.get(t.0).map(|t| t.config.name.clone());
        let mos = |r: &LegReport| (r.mos > 0.0).then_some(f64::from(r.mos));
        let record = |call_id: String, codec: Option<String>, r: &LegReport| LegRecord {
            sip_call_id: call_id,
            codec,
            packets_sent: r.packets_out,
            packets_received: r.packets_in,
            packets_lost: r.lost,
            mos: mos(r),
        };
        let ra = a.agent_media.report.unwrap_or_default();
        let rc = a.customer_media.report.unwrap_or_default();
        let end = a.ended.unwrap_or_else(SystemTime::now);
        let cause = if a.answered.is_some() {
            Cause::NORMAL_CLEARING
        } else {
            Cause::from_sip_status(a.status)
        };
        let cdr = Cdr {
            call_id: id.to_string(),
            caller: number,
            callee: dialled,
            trunk_in: trunk_name(agent_leg.trunk).unwrap_or_else(|| "-".into()),
            trunk_out: a.customer.as_ref().and_then(|l| trunk_name(l.trunk)),
            setup_ms: super::unix_ms(a.setup),
            answer_ms: a.answered.map(super::unix_ms),
            end_ms: super::unix_ms(end),
            q850_cause: cause.value(),
            sip_status: (a.status != 0).then_some(a.status),
            disposition: if a.answered.is_some() {
                Disposition::Answered
            } else {
                super::disposition_of(a.status)
            },
            leg_in: record(agent_leg.call_id.clone(), agent_leg.codec.clone(), &ra),
            leg_out: a
                .customer
                .as_ref()
                .map(|l| record(l.call_id.clone(), l.codec.clone(), &rc)),
        };
        self.effects.push_back(Effect::Record(id, Box::new(cdr)));
    }

    /// At shutdown: the requests still waiting are lost; say which.
    pub(super) fn report_lost_callbacks(&self) {
        if self.callbacks.is_empty() {
            return;
        }
        let numbers: Vec<&str> = self.callbacks.values().map(|c| c.number.as_str()).collect();
        eprintln!(
            "tandem: {} callback requests not carried out: {}",
            numbers.len(),
            numbers.join(", ")
        );
    }
}
