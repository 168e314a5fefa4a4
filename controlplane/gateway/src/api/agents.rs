//! `/api/agents`: each agent's state (logged out, available, ringing, on
//! call, on hold, wrap-up, paused with a reason) and the supervisor's
//! actions on it — login, logout, pause with a reason, unpause, and ready
//! (end wrap-up early) — fed to the ACD as inputs. An action the ACD
//! refuses in the agent's state is a 409 naming the state. Logout and
//! pause during a call take effect when the call ends (the ACD's rule);
//! the answer shows the state as it is now.

use tandem_callcenter::AgentId;
use tandem_callcenter::acd::{AcdError, Input};

use super::json::{Value, object};
use super::{ApiError, Change, Ctx, Outcome};
use crate::run::Services;

/// The longest pause reason accepted.
const MAX_REASON_LEN: usize = 64;

/// A supervisor's action on an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Sign in.
    Login,
    /// Sign out (after the current call).
    Logout,
    /// Not ready, with `{"reason": "..."}`.
    Pause,
    /// Ready again after a pause.
    Unpause,
    /// End wrap-up now.
    Ready,
}

impl Action {
    /// The path's last segment.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::Logout => "logout",
            Action::Pause => "pause",
            Action::Unpause => "unpause",
            Action::Ready => "ready",
        }
    }

    /// The audit log's action.
    fn audit_action(self) -> &'static str {
        match self {
            Action::Login => "agent.login",
            Action::Logout => "agent.logout",
            Action::Pause => "agent.pause",
            Action::Unpause => "agent.unpause",
            Action::Ready => "agent.ready",
        }
    }
}

fn agent_json(services: &Services, at_ms: u64, a: AgentId) -> Option<Value> {
    let status = services.acd.agent_status(a)?;
    let name = services.acd.agent_name(a)?;
    let queues: Vec<String> = services
        .acd
        .agent_queues(a)
        .into_iter()
        .filter_map(|q| services.acd.queue_config(q).map(|c| c.name.clone()))
        .collect();
    let since = status.since.as_millis();
    Some(object([
        ("name", Value::from(name)),
        ("state", Value::from(status.state.as_str())),
        ("since_ms", Value::from(since)),
        (
            "seconds_in_state",
            Value::from(at_ms.saturating_sub(since) as f64 / 1000.0),
        ),
        ("pause_reason", Value::from(status.pause_reason)),
        ("calls_answered", Value::from(status.calls_answered)),
        ("no_answers", Value::from(status.no_answers)),
        ("call", Value::from(status.call.map(|c| c.0))),
        ("queues", Value::from(queues)),
    ]))
}

/// `GET /api/agents`.
pub(super) fn list(ctx: &mut Ctx<'_>) -> Outcome {
    let at_ms = ctx.now_ms();
    let items = match ctx.services.as_deref() {
        Some(s) => (0..s.acd.len().1)
            .filter_map(|i| agent_json(s, at_ms, AgentId(i as u32)))
            .collect(),
        None => Vec::new(),
    };
    Ok((object([("agents", Value::Array(items))]), None))
}

fn agent_id(ctx: &mut Ctx<'_>) -> Result<AgentId, ApiError> {
    let name = ctx.param(0).to_string();
    ctx.services()?
        .acd
        .agent_id(&name)
        .ok_or_else(|| ApiError::not_found(format!("no agent named {name:?}")))
}

/// `GET /api/agents/{name}`.
pub(super) fn get(ctx: &mut Ctx<'_>) -> Outcome {
    let at_ms = ctx.now_ms();
    let a = agent_id(ctx)?;
    let services = ctx.services()?;
    agent_json(services, at_ms, a)
        .map(|v| (v, None))
        .ok_or_else(|| ApiError::not_found("no such agent"))
}

/// The pause reason of the body (`{"reason": "lunch"}`); other actions
/// take no body, or an empty object.
fn read_reason(ctx: &Ctx<'_>, action: Action) -> Result<Option<String>, ApiError> {
    let body = &ctx.request.body;
    let blank = body.iter().all(u8::is_ascii_whitespace);
    let value = if blank {
        Value::Object(Vec::new())
    } else {
        Value::parse(body).map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    let members = value.as_object().ok_or_else(|| {
        ApiError::bad_request(format!("expected a JSON object, got {}", value.kind()))
    })?;
    let allowed: &[&str] = if action == Action::Pause {
        &["reason"]
    } else {
        &[]
    };
    if let Some((k, _)) = members.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown key {k:?} for {}",
            action.as_str()
        )));
    }
    if action != Action::Pause {
        return Ok(None);
    }
    let reason = value.get("reason").and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad_request("reason: expected a string, e.g. {\"reason\":\"lunch\"}")
    })?;
    if reason.trim().is_empty()
        || reason.chars().count() > MAX_REASON_LEN
        || reason.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(format!(
            "reason: expected 1 to {MAX_REASON_LEN} characters without control characters"
        )));
    }
    Ok(Some(reason.trim().to_string()))
}

/// `POST /api/agents/{name}/{action}`.
pub(super) fn act(ctx: &mut Ctx<'_>, action: Action) -> Outcome {
    let a = agent_id(ctx)?;
    let reason = read_reason(ctx, action)?;
    let now = ctx.now;
    let at_ms = ctx.now_ms();
    let services = ctx.services()?;
    let name = services.acd.agent_name(a).unwrap_or_default().to_string();
    let before = services
        .acd
        .agent_status(a)
        .map(|s| s.state.as_str())
        .unwrap_or("logged_out");
    let input = match action {
        Action::Login => Input::Login { agent: a },
        Action::Logout => Input::Logout { agent: a },
        Action::Pause => Input::Pause {
            agent: a,
            reason: reason.as_deref().unwrap_or_default(),
        },
        Action::Unpause => Input::Unpause { agent: a },
        Action::Ready => Input::Ready { agent: a },
    };
    services.input(now, input).map_err(|e| match e {
        AcdError::AgentState { state, .. } => ApiError::conflict(format!(
            "agent {name:?} cannot {} while {}",
            action.as_str(),
            state.as_str()
        )),
        other => ApiError::conflict(other.to_string()),
    })?;
    let body = agent_json(services, at_ms, a).unwrap_or(Value::Null);
    let after = services
        .acd
        .agent_status(a)
        .map(|s| s.state.as_str())
        .unwrap_or("logged_out");
    let mut detail = vec![
        ("from".to_string(), Value::from(before)),
        ("to".to_string(), Value::from(after)),
    ];
    if let Some(r) = reason {
        detail.push(("reason".to_string(), Value::from(r)));
    }
    let change = Change {
        action: action.audit_action(),
        target: format!("agent:{name}"),
        detail: Value::Object(detail),
    };
    Ok((body, Some(change)))
}
