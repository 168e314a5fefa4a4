//! Supervisors on agents' calls: silent monitoring, whisper (coaching)
//! and barge-in, asked through the API (`/api/calls/{call}/monitor`).
//!
//! The supervisor's phone (a configured agent's) is called as a third SIP
//! leg of the call, with its own engine leg in the call's session. When it
//! answers, the caller, the agent and the supervisor are moved from the
//! call's two-party bridge into an engine conference (each member hears
//! the others, never itself), and the mode decides who hears the
//! supervisor:
//!
//! | mode | the supervisor hears | the agent hears | the caller hears |
//! |---|---|---|---|
//! | `listen` | caller, agent | caller | agent |
//! | `whisper` | caller, agent | caller, supervisor | agent |
//! | `barge` | caller, agent | caller, supervisor | agent, supervisor |
//!
//! `listen` mutes the supervisor's member; `whisper` lets it be heard by
//! the agent's member only (the engine's `SetWhisper`). The mode can be
//! changed while the supervisor is on. When the supervisor hangs up, the
//! API ends it or the call is transferred, the supervisor's leg is
//! released and the two parties go back to a plain bridge; when the call
//! ends, the supervisor is hung up with it. The INVITE carries
//! `X-Tandem-Monitor: call=N;agent=NAME;mode=MODE` for the phone's display.

use std::time::Instant;

use rsip::{Header, Method, Request, Response, SipMessage};
use tandem_callcenter::AgentId;
use tandem_dataplane::command::{Command, ConferenceId, LegConfig, MediaFormat};
use tandem_sdp::SessionDescription;
use tandem_sdp::offer_answer;
use tandem_sip::dialog::Dialog;
use tandem_sip::message;
use tandem_sip::transaction::{ClientTxId, ServerTxId};
use tandem_sip::transport::Peer;

use super::super::callcenter::{MonitorMode, Supervise};
use super::{B2bua, CallKey, ClientRole, MediaLeg, Phase, engine_format, self_via};
use crate::config::TrunkId;

/// A supervisor's leg of a call.
pub(super) struct Monitor {
    supervisor: AgentId,
    mode: MonitorMode,
    peer: Peer,
    invite: Request,
    call_id: String,
    /// The INVITE, until its final answer.
    pub(super) tx: Option<ClientTxId>,
    dialog: Option<Dialog>,
    /// The supervisor's engine leg, in the call's session.
    media: MediaLeg,
    offer: Option<SessionDescription>,
    /// The conference the three are mixed in, once the phone answered.
    conference: ConferenceId,
    joined: bool,
}

impl B2bua {
    /// Carries out what the API asked of supervisors.
    pub(super) fn run_supervise(&mut self, now: Instant) {
        let requests = match self.services.as_mut() {
            Some(s) if !s.supervise.is_empty() => std::mem::take(&mut s.supervise),
            _ => return,
        };
        for Supervise {
            call,
            supervisor,
            mode,
        } in requests
        {
            match mode {
                None => self.end_monitor(now, call, true),
                Some(mode) => {
                    let on = self.calls.get(&call).and_then(|c| c.monitor.as_ref());
                    match on {
                        Some(m) if m.supervisor == supervisor => self.set_monitor_mode(call, mode),
                        Some(_) => {}
                        None => self.start_monitor(now, call, supervisor, mode),
                    }
                }
            }
        }
    }

    fn publish_monitor(&mut self, key: CallKey) {
        let state = self
            .calls
            .get(&key)
            .and_then(|c| c.monitor.as_ref())
            .map(|m| (m.supervisor, m.mode, m.joined));
        if let Some(s) = self.services.as_mut() {
            match state {
                Some(v) => s.monitors.insert(key, v),
                None => s.monitors.remove(&key),
            };
        }
    }

    /// Calls the supervisor's phone for call `key`.
    fn start_monitor(
        &mut self,
        now: Instant,
        key: CallKey,
        supervisor: AgentId,
        mode: MonitorMode,
    ) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        if call.phase != Phase::Answered || !call.bridged {
            eprintln!("tandem: call {key}: not bridged to an agent; nothing to monitor");
            return;
        }
        let Some((trunk, user)) = self
            .services
            .as_ref()
            .and_then(|s| s.agent_phone(supervisor))
        else {
            return;
        };
        let Some((peer, host)) = self.phone_of(trunk) else {
            eprintln!("tandem: call {key}: the supervisor's phone is not reachable");
            return;
        };
        let session = call.session;
        let format = call
            .a
            .media
            .negotiated
            .as_ref()
            .and_then(engine_format)
            .unwrap_or(MediaFormat::new(tandem_dataplane::codec::Codec::Pcma, 8));
        let agent = call
            .b
            .as_ref()
            .and_then(|b| self.services.as_ref()?.agent_of_trunk(b.trunk))
            .and_then(|a| self.services.as_ref()?.acd.agent_name(a))
            .unwrap_or_default()
            .to_string();
        // The supervisor's leg is not the call's A or B: its events (no
        // RTP from a muted phone, its figures) do not end the call.
        let Some(port) = self.hub.take_port() else {
            eprintln!("tandem: call {key}: no media port for the supervisor");
            return;
        };
        let leg = self.hub.new_leg();
        let mut media = MediaLeg {
            leg,
            port,
            local: tandem_sdp::offer_answer::LocalSession::new(
                u64::from(port) << 16 | (leg.0 & 0xffff),
                tandem_sdp::offer_answer::LocalMedia::new(self.hub.rtp_address, port),
            ),
            negotiated: None,
            report: None,
        };
        self.submit(Command::CreateLeg {
            leg,
            session,
            config: LegConfig {
                local: std::net::SocketAddr::new(self.hub.rtp_address, port),
                remote: None,
                latch: true,
                format,
                rtp_timeout_secs: 0,
            },
        });
        let caps = self.caps(Some(trunk));
        let Ok(sdp) = offer_answer::offer(&mut media.local, &caps) else {
            self.submit(Command::DestroyLeg { leg });
            self.hub.give_back_port(port);
            return;
        };
        let call_id = message::new_call_id(Some(&self.settings.advertised.ip().to_string()));
        let invite = self.originate_invite(
            peer.transport,
            &host,
            &user,
            &format!(
                "\"Monitor {agent}\" <sip:monitor@{}>",
                self.settings.advertised.ip()
            ),
            &call_id,
            &sdp,
            vec![Header::Other(
                "X-Tandem-Monitor".into(),
                format!("call={key};agent={agent};mode={}", mode.as_str()),
            )],
        );
        let tx = self.send_request(now, peer, invite.clone(), ClientRole::Monitor(key));
        let conference = ConferenceId(self.hub.new_session().0);
        self.by_monitor.insert(call_id.clone(), key);
        if let Some(call) = self.calls.get_mut(&key) {
            call.monitor = Some(Box::new(Monitor {
                supervisor,
                mode,
                peer,
                invite,
                call_id,
                tx,
                dialog: None,
                media,
                offer: Some(sdp),
                conference,
                joined: false,
            }));
        }
        self.publish_monitor(key);
        // The supervisor's phone is busy while it monitors.
        self.mark_direct(now, key, supervisor, true);
    }

    /// Where a phone's trunk is, and the host part for its Request-URI.
    pub(super) fn phone_of(&self, trunk: TrunkId) -> Option<(Peer, String)> {
        let t = self.trunks.get(trunk.0)?;
        let addr = t.resolved?;
        Some((
            Peer::new(super::transport_of(t.config.transport), addr),
            t.config.address.to_string(),
        ))
    }

    /// Who hears the supervisor, per the mode (only once mixed).
    fn apply_mode(&mut self, key: CallKey) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let Some(m) = call.monitor.as_ref().filter(|m| m.joined) else {
            return;
        };
        let (sup, agent, mode) = (m.media.leg, call.b_media.leg, m.mode);
        let (muted, to) = match mode {
            MonitorMode::Listen => (true, None),
            MonitorMode::Whisper => (false, Some(agent)),
            MonitorMode::Barge => (false, None),
        };
        self.submit(Command::SetWhisper { leg: sup, to });
        self.submit(Command::SetMute { leg: sup, muted });
    }

    fn set_monitor_mode(&mut self, key: CallKey, mode: MonitorMode) {
        if let Some(m) = self.calls.get_mut(&key).and_then(|c| c.monitor.as_mut()) {
            m.mode = mode;
        }
        self.apply_mode(key);
        self.publish_monitor(key);
    }

    /// A response to the supervisor's INVITE.
    pub(super) fn on_monitor_response(
        &mut self,
        now: Instant,
        key: CallKey,
        tx: ClientTxId,
        response: Response,
    ) {
        let code = response.status_code.code();
        if code < 200 {
            return;
        }
        let Some(m) = self
            .calls
            .get_mut(&key)
            .and_then(|c| c.monitor.as_mut())
            .filter(|m| m.tx == Some(tx) || m.dialog.is_some())
        else {
            // Monitoring ended while the phone rang: a 2xx that crossed
            // our CANCEL is acknowledged and hung up (RFC 3261 §15).
            if code >= 300 {
                self.stray_invites.remove(&tx);
                self.by_client_tx.remove(&tx);
            } else if let Some((peer, invite)) = self.stray_invites.remove(&tx) {
                self.hang_up_stray_invite(now, peer, &invite, &response);
            }
            return;
        };
        if code >= 300 {
            eprintln!("tandem: call {key}: the supervisor's phone answered {code}");
            m.tx = None;
            self.by_client_tx.remove(&tx);
            return self.end_monitor(now, key, false);
        }
        m.tx = None;
        // A 2xx (or its retransmission): acknowledge it.
        let via = self_via(&self.settings, m.peer.transport);
        if m.dialog.is_none() {
            match Dialog::uac(&m.invite, &response) {
                Ok(d) => m.dialog = Some(d),
                Err(e) => {
                    eprintln!("tandem: call {key}: the supervisor's 2xx starts no dialog: {e}");
                    return self.end_monitor(now, key, false);
                }
            }
        }
        let peer = m.peer;
        if let Some(Ok(ack)) = m.dialog.as_ref().map(|d| d.build_ack(&m.invite, via)) {
            let to = self.resolve_next_hop(&ack.next_hop, peer);
            self.send_stateless(to, SipMessage::Request(ack.request));
        }
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some(m) = call.monitor.as_mut() else {
            return;
        };
        if m.joined {
            return;
        }
        let answer = SessionDescription::parse(&response.body).ok();
        let nm = answer
            .as_ref()
            .zip(m.offer.as_ref())
            .and_then(|(answer, offer)| offer_answer::accept_answer(offer, answer).ok());
        let Some(nm) = nm else {
            eprintln!("tandem: call {key}: the supervisor's SDP is unusable");
            return self.end_monitor(now, key, true);
        };
        let (sup, remote, format) = (m.media.leg, nm.remote_rtp.socket_addr(), engine_format(&nm));
        m.media.negotiated = Some(nm);
        m.offer = None;
        m.joined = true;
        let conference = m.conference;
        let (la, lb) = (call.a.media.leg, call.b_media.leg);
        self.submit(Command::ModifyLeg {
            leg: sup,
            remote,
            format,
        });
        for leg in [la, lb, sup] {
            self.submit(Command::JoinConference { leg, conference });
        }
        self.apply_mode(key);
        self.publish_monitor(key);
        eprintln!("tandem: call {key}: supervisor on");
    }

    /// A request in the supervisor's dialog: a BYE ends the monitoring.
    /// `false` when the request is not the supervisor's.
    pub(super) fn on_monitor_request(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: &Request,
    ) -> bool {
        let Some(&key) = message::call_id(request)
            .ok()
            .and_then(|cid| self.by_monitor.get(cid))
        else {
            return false;
        };
        let status = match request.method {
            Method::Ack => return true,
            Method::Bye => 200,
            Method::Options => 200,
            _ => 488,
        };
        let r = message::response_to(request, status, None, None);
        self.respond(now, tx, r);
        if request.method == Method::Bye {
            self.end_monitor(now, key, false);
        }
        true
    }

    /// Ends call `key`'s monitoring: the supervisor's phone is hung up
    /// (`bye`) or its ring cancelled, its leg released, and the call's two
    /// parties bridged again if the call goes on.
    pub(super) fn end_monitor(&mut self, now: Instant, key: CallKey, bye: bool) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some(mut m) = call.monitor.take() else {
            return;
        };
        let (la, lb, goes_on) = (
            call.a.media.leg,
            call.b_media.leg,
            call.phase == Phase::Answered && call.bridged,
        );
        self.by_monitor.remove(&m.call_id);
        if let Some(tx) = m.tx {
            let cancel = message::build_cancel(&m.invite);
            self.send_request(now, m.peer, cancel, ClientRole::Cancel);
            self.stray_invites.insert(tx, (m.peer, m.invite.clone()));
        } else if bye && let Some(d) = m.dialog.as_mut() {
            let via = self_via(&self.settings, m.peer.transport);
            if let Ok(out) = d.build_request(Method::Bye, via) {
                let to = self.resolve_next_hop(&out.next_hop, m.peer);
                self.send_request(now, to, out.request, ClientRole::Bye);
            }
        }
        if m.joined {
            for leg in [la, lb, m.media.leg] {
                self.submit(Command::LeaveConference { leg });
            }
            if goes_on {
                self.submit(Command::Bridge { a: la, b: lb });
            }
        }
        self.submit(Command::DestroyLeg { leg: m.media.leg });
        self.hub.give_back_port(m.media.port);
        self.publish_monitor(key);
        self.mark_direct(now, key, m.supervisor, false);
        eprintln!("tandem: call {key}: supervisor off");
    }
}
