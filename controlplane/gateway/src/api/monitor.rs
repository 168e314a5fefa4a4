//! `/api/calls/{call}/monitor`: a supervisor listens to, coaches or
//! joins an agent's call.
//!
//! `POST` with `{"supervisor": "NAME", "mode": "listen"|"whisper"|"barge"}`
//! rings the supervisor's phone (the supervisor is a configured agent);
//! when it answers, the call's two parties and the supervisor are mixed
//! in the engine: `listen` (silent monitoring) lets the supervisor hear
//! both and be heard by nobody, `whisper` (coaching) lets the agent alone
//! hear the supervisor, `barge` makes it a three-way call. A `POST` with
//! another mode while the same supervisor is on changes the mode at once.
//! `DELETE` ends the monitoring (the supervisor's phone is hung up); so
//! does the supervisor hanging up, or the call ending.
//!
//! The call must be one the ACD holds as answered (see `GET /api/calls`);
//! the request is checked here and carried out by the B2BUA right after
//! the answer is made, so the answer says `ringing` (or the new mode) and
//! the call's listing shows the monitor once the phone answers.

use tandem_callcenter::AgentId;
use tandem_callcenter::acd::CallState;

use super::json::{Value, object};
use super::{ApiError, Change, Ctx, Outcome};
use crate::run::{MonitorMode, Supervise};

/// The call's id from the path.
fn call_id(ctx: &Ctx<'_>) -> Result<u64, ApiError> {
    let raw = ctx.param(0);
    raw.parse()
        .map_err(|_| ApiError::bad_request(format!("call: expected a call id, got {raw:?}")))
}

/// The call's id from the path, and its agent: the call must be answered.
fn answered_call(ctx: &mut Ctx<'_>) -> Result<(u64, AgentId), ApiError> {
    let call = call_id(ctx)?;
    let services = ctx.services()?;
    let state = services
        .acd
        .call_list()
        .into_iter()
        .find(|c| c.call.0 == call)
        .map(|c| c.state)
        .ok_or_else(|| ApiError::not_found(format!("no call {call} in the ACD")))?;
    match state {
        CallState::Answered { agent, .. } => Ok((call, agent)),
        _ => Err(ApiError::conflict(format!(
            "call {call} is not answered by an agent yet"
        ))),
    }
}

/// `POST /api/calls/{call}/monitor`.
pub(super) fn start(ctx: &mut Ctx<'_>) -> Outcome {
    let (call, agent) = answered_call(ctx)?;
    let body = &ctx.request.body;
    let value = Value::parse(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let members = value.as_object().ok_or_else(|| {
        ApiError::bad_request(format!("expected a JSON object, got {}", value.kind()))
    })?;
    if let Some((k, _)) = members
        .iter()
        .find(|(k, _)| k != "supervisor" && k != "mode")
    {
        return Err(ApiError::bad_request(format!("unknown key {k:?}")));
    }
    let name = value
        .get("supervisor")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("supervisor: expected an agent's name"))?
        .to_string();
    let mode_text = value
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or("listen");
    let mode = MonitorMode::parse(mode_text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "mode: expected listen, whisper or barge, got {mode_text:?}"
        ))
    })?;
    let services = ctx.services()?;
    let supervisor = services
        .acd
        .agent_id(&name)
        .ok_or_else(|| ApiError::not_found(format!("no agent named {name:?}")))?;
    if supervisor == agent {
        return Err(ApiError::conflict(format!(
            "{name:?} is the agent on call {call}"
        )));
    }
    let state = match services.monitors.get(&call) {
        Some((s, _, _)) if *s != supervisor => {
            let other = services.acd.agent_name(*s).unwrap_or_default();
            return Err(ApiError::conflict(format!(
                "call {call} is already monitored by {other:?}"
            )));
        }
        Some(_) => mode.as_str(),
        None => "ringing",
    };
    services.supervise.push(Supervise {
        call,
        supervisor,
        mode: Some(mode),
    });
    let agent_name = services.acd.agent_name(agent).unwrap_or_default();
    let body = object([
        ("call", Value::from(call)),
        ("agent", Value::from(agent_name)),
        ("supervisor", Value::from(name.as_str())),
        ("mode", Value::from(mode.as_str())),
        ("state", Value::from(state)),
    ]);
    let change = Change {
        action: "call.monitor",
        target: format!("call:{call}"),
        detail: object([
            ("supervisor", Value::from(name.as_str())),
            ("agent", Value::from(agent_name)),
            ("mode", Value::from(mode.as_str())),
        ]),
    };
    Ok((body, Some(change)))
}

/// `DELETE /api/calls/{call}/monitor`.
pub(super) fn stop(ctx: &mut Ctx<'_>) -> Outcome {
    let call = call_id(ctx)?;
    let services = ctx.services()?;
    let Some(&(supervisor, mode, _)) = services.monitors.get(&call) else {
        return Err(ApiError::not_found(format!("call {call} is not monitored")));
    };
    services.supervise.push(Supervise {
        call,
        supervisor,
        mode: None,
    });
    let name = services.acd.agent_name(supervisor).unwrap_or_default();
    let body = object([
        ("call", Value::from(call)),
        ("supervisor", Value::from(name)),
        ("state", Value::from("ended")),
    ]);
    let change = Change {
        action: "call.monitor.stop",
        target: format!("call:{call}"),
        detail: object([
            ("supervisor", Value::from(name)),
            ("mode", Value::from(mode.as_str())),
        ]),
    };
    Ok((body, Some(change)))
}
