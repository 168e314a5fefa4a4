//! `/api/ivr`: the IVR menus and HTTP lookups as configured, with what
//! callers did in each since the gateway started (the counters of
//! `tandem_callcenter_ivr_events_total`).
//!
//! Menus are read-only here: they are the file's `[[ivr]]` and
//! `[[http_lookup]]` tables, and change with it. A lookup's URL is shown
//! without any `user:password@` it carries.

use tandem_callcenter::ivr::{HttpLookupConfig, MenuConfig};

use super::json::{Value, object};
use super::{ApiError, Ctx, Outcome};
use crate::run::Services;

/// The events counted per menu, as `tandem_callcenter_ivr_events_total`
/// names them.
const MENU_EVENTS: [&str; 5] = [
    "entered",
    "selected",
    "invalid_input",
    "no_input",
    "retries_exhausted",
];

/// The events counted per lookup.
const LOOKUP_EVENTS: [&str; 2] = ["lookup_answered", "lookup_failed"];

fn events(s: &Services, name: &str, kinds: &[&str]) -> Value {
    Value::Object(
        kinds
            .iter()
            .map(|k| (k.to_string(), Value::from(s.ivr_event_count(name, k))))
            .collect(),
    )
}

fn menu_json(s: &Services, m: &MenuConfig) -> Value {
    let digits = Value::Object(
        m.digits
            .iter()
            .map(|(k, a)| (k.to_string(), Value::from(a.to_string())))
            .collect(),
    );
    let collect = m.collect.as_ref().map_or(Value::Null, |c| {
        object([
            ("min", Value::from(u32::from(c.min))),
            ("max", Value::from(u32::from(c.max))),
            ("terminator", Value::from(c.terminator.map(String::from))),
            ("then", Value::from(c.then.to_string())),
        ])
    });
    object([
        ("name", Value::from(m.name.as_str())),
        ("entry", Value::from(m.entry)),
        ("prompt", Value::from(m.prompt.as_str())),
        ("digits", digits),
        ("collect", collect),
        (
            "first_digit_timeout_s",
            Value::from(m.first_digit_timeout.as_secs_f64()),
        ),
        (
            "inter_digit_timeout_s",
            Value::from(m.inter_digit_timeout.as_secs_f64()),
        ),
        ("retries", Value::from(m.retries)),
        ("invalid_prompt", Value::from(m.invalid_prompt.clone())),
        ("timeout_prompt", Value::from(m.timeout_prompt.clone())),
        ("timeout_action", Value::from(m.timeout_action.to_string())),
        (
            "invalid_action",
            Value::from(m.invalid_action.as_ref().map(ToString::to_string)),
        ),
        ("barge_in", Value::from(m.barge_in)),
        ("events", events(s, &m.name, &MENU_EVENTS)),
    ])
}

/// `scheme://user:password@host/...` without the credentials.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

fn lookup_json(s: &Services, l: &HttpLookupConfig) -> Value {
    let on: Vec<Value> =
        l.on.iter()
            .map(|b| {
                object([
                    ("field", Value::from(b.field.as_str())),
                    ("equals", Value::from(b.equals.as_str())),
                    ("then", Value::from(b.then.to_string())),
                ])
            })
            .collect();
    let events = events(s, &l.name, &LOOKUP_EVENTS);
    object([
        ("name", Value::from(l.name.as_str())),
        ("url", Value::from(redacted(&l.url))),
        ("timeout_s", Value::from(l.timeout.as_secs_f64())),
        ("on", Value::Array(on)),
        (
            "set_priority_from",
            Value::from(l.set_priority_from.clone()),
        ),
        ("default", Value::from(l.default.to_string())),
        ("on_error", Value::from(l.on_error.to_string())),
        ("events", events),
    ])
}

/// `GET /api/ivr`.
pub(super) fn list(ctx: &mut Ctx<'_>) -> Outcome {
    let s = ctx.services()?;
    let config = &s.config.ivr;
    let menus: Vec<Value> = config.menus.iter().map(|m| menu_json(s, m)).collect();
    let lookups: Vec<Value> = config.lookups.iter().map(|l| lookup_json(s, l)).collect();
    Ok((
        object([
            ("menus", Value::Array(menus)),
            ("lookups", Value::Array(lookups)),
        ]),
        None,
    ))
}

/// `GET /api/ivr/{name}`.
pub(super) fn get(ctx: &mut Ctx<'_>) -> Outcome {
    let name = ctx.param(0).to_string();
    let s = ctx.services()?;
    let menu = s
        .config
        .ivr
        .menus
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| ApiError::not_found(format!("no IVR menu named {name:?}")))?;
    Ok((menu_json(s, menu), None))
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn credentials_are_not_shown() {
        assert_eq!(
            redacted("https://crm:s3cret@crm.example/lookup?x=1"),
            "https://crm.example/lookup?x=1"
        );
        assert_eq!(redacted("http://crm.example/a@b"), "http://crm.example/a@b");
        assert_eq!(redacted("not a url"), "not a url");
    }
}
