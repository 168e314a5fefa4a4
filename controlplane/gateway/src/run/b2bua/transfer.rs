//! Transfers by agents: REFER (RFC 3515) on an agent's leg of a 400-number
//! call, blind or attended with Replaces (RFC 3891).
//!
//! The caller's leg A ends here, so the transfer is carried out here: the
//! B2BUA is the REFER's recipient and acts on it itself instead of passing
//! it to the caller, whose phone may not do transfers at all.
//!
//! - **Blind.** The Refer-To names where the caller goes: another agent
//!   (by name or phone user), a queue, a voicemail box, an IVR menu, or a
//!   number over the routes. The REFER is accepted (202) and its outcome
//!   reported in one final NOTIFY (RFC 3515 §2.4.5): `200` once the caller
//!   is on its way (the caller then stays with us, not with the agent), or
//!   the failure (`404` for a target we do not know, `503` for a phone or
//!   trunk that cannot be called now; the agent keeps the caller). On
//!   success the
//!   agent's phone is hung up, the ACD told (`Transferred`: after-call work
//!   for the agent, a transfer in the KPIs), and the caller sent on like a
//!   spill: the next agent's INVITE carries the caller's number, the call
//!   data gathered in the IVR and `Referred-By` naming the agent
//!   (RFC 3892).
//! - **Attended.** The agent first calls the target from the same phone
//!   (a consultation call), then REFERs with `Replaces` naming that
//!   dialog. The consultation's far end is joined to the caller, and both
//!   of the agent's dialogs are hung up. The consultation call is placed
//!   in the engine session of the agent's call (see `session_for`), so its
//!   media can be bridged to the caller's without leaving the worker, and
//!   carries the caller's data (`X-Tandem-Caller` and the IVR headers) so
//!   the colleague knows whose call it is.
//!   The REFER must come from the phone that placed the consultation
//!   call, and the tags must match (RFC 3891 §3).
//!
//! A REFER from the caller's side, or on a call that is not a
//! call-center call, is declined (603): the caller's phone is not ours to
//! move. Outcomes are counted in `tandem_sip_transfers_total`.

use std::time::Instant;

use rsip::prelude::*;
use rsip::{Header, Method, Request};
use tandem_call::{CallId, Cause};
use tandem_callcenter::acd::Input;
use tandem_dataplane::command::{Command, SessionId};
use tandem_sip::message;
use tandem_sip::transaction::ServerTxId;
use tandem_sip::transfer::{self, ReferTo};
use tandem_sip::transport::Peer;

use super::super::callcenter::Target;
use super::{B2bua, CallKey, ClientRole, Phase, self_via};
use crate::config::TrunkId;

/// How long the implicit subscription of a REFER would last (RFC 3515
/// §2.4.4). Our NOTIFYs are final at once, so this only fills the header
/// of an interim one.
const REFER_EXPIRES: u32 = 60;

/// Why a transfer did not happen, as a sipfrag status and a metric label.
struct Failed {
    status: u16,
    reason: &'static str,
    label: &'static str,
}

impl B2bua {
    /// A REFER inside a call's dialog (after the dialog accepted it).
    pub(super) fn on_refer(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        key: CallKey,
        from_a: bool,
        request: Request,
    ) {
        let refer_to = match ReferTo::of_request(&request) {
            Ok(r) => r,
            Err(e) => {
                self.count_transfer("blind", "refused");
                let r = message::response_to(&request, 400, Some(&e.to_string()), None);
                return self.respond(now, tx, r);
            }
        };
        let kind = if refer_to.replaces.is_some() {
            "attended"
        } else {
            "blind"
        };
        let transferable = self.calls.get(&key).is_some_and(|c| {
            !from_a
                && c.phase == Phase::Answered
                && c.service.is_some()
                && c.b.as_ref().is_some_and(|b| b.dialog.is_some())
        });
        if !transferable {
            self.count_transfer(kind, "refused");
            let r = message::response_to(&request, 603, Some("Transfer Not Offered"), None);
            return self.respond(now, tx, r);
        }
        // Accepted: the outcome follows in the NOTIFY (§2.4.4).
        let r = message::response_to(&request, 202, None, None);
        self.respond(now, tx, r);
        let referrer = self.referrer(&request);
        let outcome = match &refer_to.replaces {
            None => self.blind_transfer(now, key, &refer_to, referrer),
            Some(_) => self.attended_transfer(now, key, &refer_to),
        };
        match outcome {
            Ok(()) => self.count_transfer(kind, "done"),
            Err(f) => {
                eprintln!(
                    "tandem: call {key}: transfer to {:?} failed: {} {}",
                    refer_to.user, f.status, f.reason
                );
                self.count_transfer(kind, f.label);
                self.notify_refer(now, key, f.status, f.reason);
            }
        }
    }

    fn count_transfer(&self, kind: &str, outcome: &str) {
        self.metrics
            .transfers
            .with_label_values(&[kind, outcome])
            .inc();
    }

    /// Who transferred, for the next leg's `Referred-By` (RFC 3892): the
    /// REFER's own Referred-By if it has one, else its From.
    fn referrer(&self, request: &Request) -> String {
        let own = request.headers().iter().find_map(|h| match h {
            Header::Other(n, v)
                if n.eq_ignore_ascii_case("Referred-By") || n.eq_ignore_ascii_case("b") =>
            {
                Some(v.clone())
            }
            _ => None,
        });
        own.or_else(|| {
            request
                .from_header()
                .ok()
                .and_then(|f| f.typed().ok())
                .map(|f| format!("<{}>", f.uri))
        })
        .unwrap_or_default()
    }

    /// The final NOTIFY of the REFER on the agent's leg.
    fn notify_refer(&mut self, now: Instant, key: CallKey, status: u16, reason: &str) {
        let Some(b) = self.calls.get_mut(&key).and_then(|c| c.b.as_mut()) else {
            return;
        };
        let peer = b.peer;
        let via = self_via(&self.settings, peer.transport);
        let Some(dialog) = b.dialog.as_mut() else {
            return;
        };
        let Ok(mut out) = dialog.build_request(Method::Notify, via) else {
            return;
        };
        message::insert_before_body_headers(
            &mut out.request.headers,
            transfer::notify_headers(true, REFER_EXPIRES),
        );
        out.set_body(transfer::SIPFRAG, transfer::sipfrag(status, reason));
        let to = self.resolve_next_hop(&out.next_hop, peer);
        self.send_request(now, to, out.request, ClientRole::Bye);
    }

    /// Where a Refer-To sends the caller.
    fn transfer_target(&self, user: &str) -> Target {
        let Some(svc) = self.services.as_ref() else {
            return Target::Refuse(404, "No Route");
        };
        let dest = match svc.internal_destination(user) {
            Some(d) => d,
            None => {
                let digits = super::dialled(user);
                if digits.is_empty() {
                    return Target::Refuse(404, "No Route");
                }
                tandem_callcenter::plan::Destination::Number(digits)
            }
        };
        svc.target(&self.config, &dest, user)
    }

    /// Reports success to the agent, hangs the agent's phone up and lets
    /// the ACD know the agent is done with the call.
    fn release_transferor(&mut self, now: Instant, key: CallKey) {
        // A supervisor on the call leaves with the agent.
        self.end_monitor(now, key, true);
        self.notify_refer(now, key, 200, "OK");
        self.bye_b(now, key);
        let transferor = self
            .calls
            .get(&key)
            .and_then(|c| c.b.as_ref())
            .and_then(|b| self.services.as_ref()?.agent_of_trunk(b.trunk));
        if let Some(agent) = transferor {
            self.mark_direct(now, key, agent, false);
        }
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
        let Some(s) = call.service.as_mut() else {
            return;
        };
        // From now on the caller is answered here: the next leg is joined
        // to it when it answers, like a queued caller's agent.
        s.answered_here = true;
        let acd_call = s.linked_acd.take().unwrap_or(key);
        let in_acd = std::mem::replace(&mut s.in_acd, false) || acd_call != key;
        if in_acd && let Some(services) = self.services.as_mut() {
            let r = services.input(
                now,
                Input::Transferred {
                    call: CallId(acd_call),
                },
            );
            if let Err(e) = r {
                eprintln!("tandem: call {key}: the ACD did not take the transfer: {e}");
            }
        }
    }

    fn blind_transfer(
        &mut self,
        now: Instant,
        key: CallKey,
        refer_to: &ReferTo,
        referrer: String,
    ) -> Result<(), Failed> {
        let target = self.transfer_target(&refer_to.user);
        if let Target::Refuse(status, reason) = target {
            return Err(Failed {
                status,
                reason,
                label: "no_target",
            });
        }
        // A phone or trunk that cannot be called now: the agent keeps the
        // caller and hears the transfer failed.
        if let Target::Trunks { trunks, .. } = &target
            && !trunks.iter().any(|t| self.trunk_usable(*t))
        {
            return Err(Failed {
                status: 503,
                reason: "Service Unavailable",
                label: "no_target",
            });
        }
        self.release_transferor(now, key);
        let Some(call) = self.calls.get_mut(&key) else {
            return Ok(());
        };
        let la = call.a.media.leg;
        if std::mem::replace(&mut call.bridged, false) {
            self.submit(Command::Unbridge { leg: la });
        }
        if let Some(s) = self.calls.get_mut(&key).and_then(|c| c.service.as_mut()) {
            s.transferred_by = Some(referrer);
        }
        self.go_to(now, key, target, 480);
        self.run_acd_outputs(now);
        self.schedule(key);
        Ok(())
    }

    fn attended_transfer(
        &mut self,
        now: Instant,
        key: CallKey,
        refer_to: &ReferTo,
    ) -> Result<(), Failed> {
        let no_dialog = Failed {
            status: 481,
            reason: "Call/Transaction Does Not Exist",
            label: "no_dialog",
        };
        let Some(rep) = refer_to.replaces.as_ref() else {
            return Err(no_dialog);
        };
        // The consultation call: placed by the agent's phone, so the
        // agent's tag is its From tag and ours (leg A's local tag) its
        // To tag.
        let Some(&consult) = self.by_a.get(&(rep.call_id.clone(), rep.from_tag.clone())) else {
            return Err(no_dialog);
        };
        let (agent_trunk, agent_addr, session) = {
            let c = &self.calls[&key];
            let b = c.b.as_ref().expect("transferable calls have a leg B");
            (b.trunk, b.peer.addr, c.session)
        };
        let Some(c2) = self.calls.get(&consult) else {
            return Err(no_dialog);
        };
        let same_phone = c2.a.trunk == Some(agent_trunk) || c2.a.peer.addr == agent_addr;
        let answered = c2.phase == Phase::Answered
            && c2
                .b
                .as_ref()
                .is_some_and(|b| b.dialog.is_some() && b.tx.is_none());
        if consult == key || c2.a.local_tag != rep.to_tag || !same_phone || !answered {
            return Err(no_dialog);
        }
        if c2.session != session {
            return Err(Failed {
                status: 488,
                reason: "Not Acceptable Here",
                label: "refused",
            });
        }
        self.release_transferor(now, key);
        // The agent's consultation leg is hung up; its far end moves into
        // the caller's call.
        self.bye_a(now, consult);
        let Some(mut c2) = self.calls.remove(&consult) else {
            return Ok(());
        };
        let Some(c1) = self.calls.get_mut(&key) else {
            self.calls.insert(consult, c2);
            return Ok(());
        };
        std::mem::swap(&mut c1.b_media, &mut c2.b_media);
        c1.b = c2.b.take();
        // The colleague stays busy, now on the caller's call.
        let colleague =
            c1.b.as_ref()
                .and_then(|b| self.services.as_ref()?.agent_of_trunk(b.trunk));
        if let Some(agent) = colleague
            && let Some(i) = c2.direct.iter().position(|a| *a == agent)
        {
            c2.direct.swap_remove(i);
            c1.direct.push(agent);
        }
        c1.codec_out = c2.codec_out.take();
        c1.bridged = true;
        let (la, lb) = (c1.a.media.leg, c1.b_media.leg);
        let old = c2.b_media.leg;
        if let Some(b) = c1.b.as_ref() {
            self.by_b.insert(b.call_id.clone(), key);
        }
        // An agent reached through a queue stays on the ACD's books under
        // the consultation call until the caller's call ends.
        if let Some(s2) = c2.service.as_mut()
            && std::mem::replace(&mut s2.in_acd, false)
            && let Some(s1) = c1.service.as_mut()
        {
            s1.linked_acd = Some(consult);
        }
        self.by_leg.insert(lb, key);
        self.by_leg.insert(old, consult);
        c2.cause = Cause::NORMAL_CLEARING;
        self.calls.insert(consult, c2);
        self.stop_prompt(key);
        self.submit(Command::Bridge { a: la, b: lb });
        self.finish(now, consult);
        self.schedule(key);
        Ok(())
    }

    /// The call an agent's phone is on when it places a new one (a
    /// consultation): the answered call whose leg B is that phone.
    pub(super) fn agent_live_call(
        &self,
        trunk_in: Option<TrunkId>,
        caller: &str,
        from: Peer,
    ) -> Option<CallKey> {
        let s = self.services.as_ref()?;
        let t = trunk_in
            .filter(|t| s.agent_of_trunk(*t).is_some())
            .or_else(|| {
                s.agent_by_user(caller)
                    .and_then(|a| s.agent_phone(a))
                    .map(|(t, _)| t)
            })?;
        self.calls
            .values()
            .find(|c| {
                c.phase == Phase::Answered
                    && c.b.as_ref().is_some_and(|b| {
                        b.trunk == t && b.dialog.is_some() && b.peer.addr.ip() == from.addr.ip()
                    })
            })
            .map(|c| c.key)
    }

    /// The engine session of a new call: an agent's consultation call
    /// shares the session of the call the agent is on, so an attended
    /// transfer can join the two.
    pub(super) fn session_for(&self, live: Option<CallKey>) -> SessionId {
        live.and_then(|k| self.calls.get(&k))
            .map_or_else(|| self.hub.new_session(), |c| c.session)
    }

    /// A consultation call carries the data of the caller the agent is
    /// handling, so the colleague sees who is waiting (the same
    /// `X-Tandem-*` headers a transferred call brings, and
    /// `X-Tandem-Caller`).
    pub(super) fn copy_consult_data(&mut self, key: CallKey, live: CallKey) {
        let Some(from) = self.calls.get(&live) else {
            return;
        };
        let caller = from
            .service
            .as_ref()
            .and_then(|s| s.route.caller.clone())
            .unwrap_or_else(|| from.caller.clone());
        let data = from.service.as_ref().and_then(|s| s.call_data.clone());
        if let Some(s) = self.calls.get_mut(&key).and_then(|c| c.service.as_mut()) {
            s.consult_caller = Some(caller);
            s.call_data = data;
        }
    }
}
