//! `/api/numbers`: the 400 numbers' plans — routes and their bound
//! destinations, calendar, restriction lists, forwarding — and the
//! run-time changes operators make (destinations of a route, the caller
//! blacklist). A change takes effect for the next call.
//!
//! The plans do not expose their destination lists, so a route's
//! destinations are the configuration's until the API sets them, then
//! those the API set (kept in [`super::Api`]).

use tandem_callcenter::plan::{
    Destination, ListMode, PlanConfig, ScheduleConfig, Verdict, WeightedConfig,
};

use std::collections::HashMap;
use std::time::Instant;

use super::json::{Value, object};
use super::{ApiError, Change, Ctx, Outcome};
use crate::run::Services;

/// Destinations set through the API: (plan index, route) → list.
pub(crate) type Overlay = HashMap<(usize, String), Vec<WeightedConfig>>;

/// Most destinations in one list (a carrier's platform binds "any
/// number"; this keeps one request's work bounded).
const MAX_DESTINATIONS: usize = 100;
/// The largest weight of a destination.
const MAX_WEIGHT: f64 = 1_000_000.0;

fn weighted_json(list: &[WeightedConfig]) -> Value {
    Value::Array(
        list.iter()
            .map(|w| {
                object([
                    ("to", Value::from(w.to.as_str())),
                    ("weight", Value::from(w.weight)),
                ])
            })
            .collect(),
    )
}

fn schedule_json(s: &ScheduleConfig) -> Value {
    object([
        (
            "utc_offset_minutes",
            Value::from(i64::from(s.utc_offset_minutes)),
        ),
        (
            "segments",
            Value::Array(
                s.segments
                    .iter()
                    .map(|seg| {
                        object([
                            ("days", Value::from(seg.days.clone())),
                            ("start", Value::from(seg.start.as_str())),
                            ("end", Value::from(seg.end.as_str())),
                            ("route", Value::from(seg.route.as_str())),
                        ])
                    })
                    .collect(),
            ),
        ),
        ("holidays", Value::from(s.holidays.len() as u64)),
        ("workdays", Value::from(s.workdays.len() as u64)),
    ])
}

/// The destinations of route `route` of plan `index`: set through the
/// API, else configured.
fn destinations<'a>(
    overlay: &'a Overlay,
    index: usize,
    config: &'a PlanConfig,
    route: &str,
) -> &'a [WeightedConfig] {
    match overlay.get(&(index, route.to_string())) {
        Some(list) => list,
        None => config
            .routes
            .iter()
            .find(|r| r.name == route)
            .map_or(&[], |r| r.destinations.as_slice()),
    }
}

fn route_json(overlay: &Overlay, index: usize, config: &PlanConfig, route: &str) -> Value {
    let by_region = config
        .routes
        .iter()
        .find(|r| r.name == route)
        .map(|r| {
            r.by_region
                .iter()
                .map(|b| {
                    object([
                        ("region", Value::from(b.region.as_str())),
                        ("destinations", weighted_json(&b.destinations)),
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    object([
        ("name", Value::from(route)),
        (
            "destinations",
            weighted_json(destinations(overlay, index, config, route)),
        ),
        ("by_region", Value::Array(by_region)),
    ])
}

/// The summary of plan `index`.
fn number_json(overlay: &Overlay, services: &Services, now: Instant, index: usize) -> Value {
    let (Some(plan), Some(config)) = (
        services.plans.get(index),
        services.config.numbers.get(index),
    ) else {
        return Value::Null;
    };
    let routes: Vec<Value> = plan
        .route_names()
        .map(|r| route_json(overlay, index, config, r))
        .collect();
    let at = services.ts(now);
    let open_route = match plan.schedule() {
        None => plan.route_names().next().map(str::to_string),
        Some(s) => s.at(at).segment.map(|seg| seg.route),
    };
    let r = plan.restriction();
    let (mut allow, mut deny) = (0u64, 0u64);
    for (_, v) in r.lists().iter() {
        match v {
            Verdict::Allow => allow += 1,
            Verdict::Deny => deny += 1,
        }
    }
    let f = plan.forwarding();
    let names =
        |list: &[Destination]| Value::from(list.iter().map(|d| d.to_string()).collect::<Vec<_>>());
    object([
        ("number", Value::from(plan.number())),
        ("routes", Value::Array(routes)),
        ("after_hours", Value::from(config.after_hours.as_str())),
        (
            "schedule",
            config.schedule.as_ref().map_or(Value::Null, schedule_json),
        ),
        (
            "now",
            object([
                ("open", Value::from(open_route.is_some())),
                ("route", Value::from(open_route)),
            ]),
        ),
        (
            "restriction",
            object([
                (
                    "mode",
                    Value::from(match r.mode() {
                        ListMode::Allow => "allow",
                        ListMode::Deny => "deny",
                    }),
                ),
                ("blacklist", Value::from(r.blacklist().len() as u64)),
                ("allow", Value::from(allow)),
                ("deny", Value::from(deny)),
            ]),
        ),
        (
            "forwarding",
            object([
                ("busy", names(&f.busy)),
                ("no_answer", names(&f.no_answer)),
                (
                    "no_answer_timeout_seconds",
                    Value::from(f.no_answer_timeout.as_secs()),
                ),
                ("hop_limit", Value::from(u64::from(f.hop_limit))),
            ]),
        ),
        ("pin", Value::from(config.pin.is_some())),
        ("pass_caller_id", Value::from(config.pass_caller_id)),
        ("ringback", Value::from(config.ringback.clone())),
    ])
}

/// The plan index of path parameter 0.
fn plan_index(ctx: &mut Ctx<'_>) -> Result<usize, ApiError> {
    let number = ctx.param(0).to_string();
    let services = ctx.services()?;
    services
        .number(&number)
        .filter(|&i| i < services.plans.len())
        .ok_or_else(|| ApiError::not_found(format!("no 400 number {number:?}")))
}

/// `GET /api/numbers`.
pub(super) fn list(ctx: &mut Ctx<'_>) -> Outcome {
    let items = match ctx.services.as_deref() {
        Some(s) => (0..s.plans.len())
            .map(|i| number_json(ctx.destinations, s, ctx.now, i))
            .collect(),
        None => Vec::new(),
    };
    Ok((object([("numbers", Value::Array(items))]), None))
}

/// `GET /api/numbers/{number}`.
pub(super) fn get(ctx: &mut Ctx<'_>) -> Outcome {
    let index = plan_index(ctx)?;
    let services = ctx
        .services
        .as_deref()
        .ok_or_else(|| ApiError::not_found("no call center is configured"))?;
    Ok((
        number_json(ctx.destinations, services, ctx.now, index),
        None,
    ))
}

/// `GET /api/numbers/{number}/blacklist`: every prefix, sorted.
pub(super) fn blacklist(ctx: &mut Ctx<'_>) -> Outcome {
    let index = plan_index(ctx)?;
    let services = ctx.services()?;
    let plan = &services.plans[index];
    let mut prefixes: Vec<String> = plan
        .restriction()
        .blacklist()
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    prefixes.sort_unstable();
    Ok((
        object([
            ("number", Value::from(plan.number())),
            ("prefixes", Value::from(prefixes)),
        ]),
        None,
    ))
}

/// Reads `[{"to": "queue:sales", "weight": 1}, ...]` (weight optional,
/// default 1), every destination checked to exist.
fn read_destinations(ctx: &mut Ctx<'_>) -> Result<Vec<WeightedConfig>, ApiError> {
    let body = Value::parse(&ctx.request.body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let items = body.as_array().ok_or_else(|| {
        ApiError::bad_request(format!(
            "expected an array of {{\"to\", \"weight\"}} objects, got {}",
            body.kind()
        ))
    })?;
    if items.is_empty() {
        return Err(ApiError::bad_request(
            "the list is empty; a route needs at least one destination",
        ));
    }
    if items.len() > MAX_DESTINATIONS {
        return Err(ApiError::bad_request(format!(
            "{} destinations; at most {MAX_DESTINATIONS}",
            items.len()
        )));
    }
    let trunks = ctx.trunks;
    let services = ctx.services()?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let members = item.as_object().ok_or_else(|| {
            ApiError::bad_request(format!("[{i}]: expected an object, got {}", item.kind()))
        })?;
        if let Some((k, _)) = members.iter().find(|(k, _)| k != "to" && k != "weight") {
            return Err(ApiError::bad_request(format!(
                "[{i}]: unknown key {k:?} (expected to, weight)"
            )));
        }
        let to = item
            .get("to")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request(format!("[{i}].to: expected a string")))?;
        let weight = match item.get("weight") {
            None => 1,
            Some(w) => match w.as_f64() {
                Some(n) if n.fract() == 0.0 && (1.0..=MAX_WEIGHT).contains(&n) => n as u32,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "[{i}].weight: expected a whole number from 1 to {MAX_WEIGHT}"
                    )));
                }
            },
        };
        let d = Destination::parse(to)
            .map_err(|e| ApiError::bad_request(format!("[{i}].to: {to:?} {e}")))?;
        let missing = |kind: &str, name: &str| {
            ApiError::bad_request(format!("[{i}].to: no {kind} named {name:?}"))
        };
        match &d {
            Destination::Queue(n) if services.acd.queue_id(n).is_none() => {
                return Err(missing("queue", n));
            }
            Destination::Agent(n) if services.acd.agent_id(n).is_none() => {
                return Err(missing("agent", n));
            }
            Destination::Trunk(n) if !trunks.iter().any(|t| t == n) => {
                return Err(missing("trunk", n));
            }
            Destination::Ivr(n) if services.ivr.as_ref().and_then(|t| t.menu_id(n)).is_none() => {
                return Err(missing("IVR menu", n));
            }
            Destination::Voicemail(n) if services.config.voicemail_box(n).is_none() => {
                return Err(missing("voicemail box", n));
            }
            _ => {}
        }
        out.push(WeightedConfig::new(d.to_string(), weight));
    }
    Ok(out)
}

/// `PUT /api/numbers/{number}/routes/{route}/destinations`.
pub(super) fn set_destinations(ctx: &mut Ctx<'_>) -> Outcome {
    let index = plan_index(ctx)?;
    let route = ctx.param(1).to_string();
    {
        let services = ctx.services()?;
        if !services.plans[index].route_names().any(|r| r == route) {
            return Err(ApiError::not_found(format!(
                "number {} has no route named {route:?}",
                services.plans[index].number()
            )));
        }
    }
    let list = read_destinations(ctx)?;
    let overlay = &mut *ctx.destinations;
    let services = ctx
        .services
        .as_deref_mut()
        .ok_or_else(|| ApiError::not_found("no call center is configured"))?;
    let config = &services.config.numbers[index];
    let before = weighted_json(destinations(overlay, index, config, &route));
    let number = services.plans[index].number().to_string();
    services.plans[index]
        .set_destinations(&route, &list)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    overlay.insert((index, route.clone()), list.clone());
    let body = route_json(overlay, index, &services.config.numbers[index], &route);
    let change = Change {
        action: "number.destinations.set",
        target: format!("number:{number}"),
        detail: object([
            ("route", Value::from(route)),
            ("before", before),
            ("after", weighted_json(&list)),
        ]),
    };
    Ok((body, Some(change)))
}

fn blacklist_change(ctx: &mut Ctx<'_>, add: bool) -> Outcome {
    let index = plan_index(ctx)?;
    let prefix = ctx.param(1).to_string();
    let services = ctx.services()?;
    let plan = &mut services.plans[index];
    let number = plan.number().to_string();
    let listed = plan.restriction().blacklist().get(&prefix).is_some();
    let changed = if add {
        plan.restriction_mut()
            .block(&prefix)
            .map_err(|e| ApiError::bad_request(format!("prefix {prefix:?}: {e}")))?;
        !listed
    } else {
        if !plan.restriction_mut().unblock(&prefix) {
            return Err(ApiError::not_found(format!(
                "{prefix:?} is not on the blacklist of {number}"
            )));
        }
        true
    };
    let body = object([
        ("number", Value::from(number.as_str())),
        ("prefix", Value::from(prefix.as_str())),
        ("blacklisted", Value::from(add)),
        ("changed", Value::from(changed)),
    ]);
    let change = changed.then(|| Change {
        action: if add {
            "number.blacklist.add"
        } else {
            "number.blacklist.remove"
        },
        target: format!("number:{number}"),
        detail: object([("prefix", Value::from(prefix))]),
    });
    Ok((body, change))
}

/// `POST /api/numbers/{number}/blacklist/{prefix}`.
pub(super) fn blacklist_add(ctx: &mut Ctx<'_>) -> Outcome {
    blacklist_change(ctx, true)
}

/// `DELETE /api/numbers/{number}/blacklist/{prefix}`.
pub(super) fn blacklist_remove(ctx: &mut Ctx<'_>) -> Outcome {
    blacklist_change(ctx, false)
}
