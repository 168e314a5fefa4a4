//! The TOML file as serde sees it: every value wrapped in [`Spanned`] so
//! that validation (in the parent module) can name the line of a bad value,
//! and every table `deny_unknown_fields` so that a misspelt key is an error
//! with its line rather than a silently ignored setting.
//!
//! Numbers are read as `i64` and enumerations as strings on purpose: the
//! validator range-checks them and words the error itself ("expected one of
//! udp, tcp, tls, got \"sctp\""), which reads better at 3 a.m. than serde's
//! "invalid value: integer `-5`, expected u64".

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(super) type S<T> = Spanned<T>;
pub(super) type List = S<Vec<S<String>>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) sip: Option<RawSip>,
    pub(super) media: Option<RawMedia>,
    pub(super) http: Option<RawListen>,
    pub(super) cdr: Option<RawCdr>,
    pub(super) ng: Option<RawListen>,
    pub(super) drain: Option<RawDrain>,
    pub(super) api: Option<RawApi>,
    #[serde(default)]
    pub(super) trunk: Vec<RawTrunk>,
    #[serde(default)]
    pub(super) route: Vec<RawRoute>,
    pub(super) callcenter: Option<RawCallCenter>,
    #[serde(default)]
    pub(super) agent: Vec<RawAgent>,
    #[serde(default)]
    pub(super) queue: Vec<RawQueue>,
    #[serde(default)]
    pub(super) number: Vec<RawNumber>,
    #[serde(default)]
    pub(super) ivr: Vec<RawIvr>,
    #[serde(default)]
    pub(super) http_lookup: Vec<RawHttpLookup>,
    #[serde(default)]
    pub(super) voicemail: Vec<RawVoicemail>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSip {
    pub(super) listen: Option<S<String>>,
    pub(super) transports: Option<List>,
    pub(super) tls_listen: Option<S<String>>,
    pub(super) tls_certificate: Option<S<String>>,
    pub(super) tls_private_key: Option<S<String>>,
    pub(super) tls_ca_file: Option<S<String>>,
    pub(super) user_agent: Option<S<String>>,
    pub(super) t1_ms: Option<S<i64>>,
    pub(super) t2_ms: Option<S<i64>>,
    pub(super) t4_ms: Option<S<i64>>,
    pub(super) session_expires: Option<S<i64>>,
    pub(super) min_se: Option<S<i64>>,
    pub(super) max_calls: Option<S<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMedia {
    pub(super) rtp_address: Option<S<String>>,
    pub(super) rtp_ports: Option<S<String>>,
    pub(super) workers: Option<S<i64>>,
    pub(super) rt_priority: Option<S<i64>>,
    pub(super) packet_io: Option<S<String>>,
    pub(super) rtp_timeout: Option<S<i64>>,
    pub(super) codecs: Option<List>,
    pub(super) dtmf: Option<S<String>>,
    pub(super) dpdk_eal: Option<S<String>>,
    pub(super) dpdk_device: Option<S<String>>,
    pub(super) dpdk_exception: Option<S<String>>,
    pub(super) dpdk_prefix_len: Option<S<i64>>,
    pub(super) dpdk_gateway: Option<S<String>>,
    pub(super) dpdk_vlan: Option<S<i64>>,
}

/// `[http]` and `[ng]`: a listener that is off unless configured.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawListen {
    pub(super) listen: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCdr {
    pub(super) database: Option<S<String>>,
    pub(super) synchronous: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDrain {
    pub(super) timeout: Option<S<i64>>,
}

/// `[api]`: the REST API's bearer tokens.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApi {
    pub(super) tokens: Option<S<Vec<S<RawApiToken>>>>,
}

/// One element of `[api] tokens`: `{ name, token, role }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApiToken {
    pub(super) name: S<String>,
    pub(super) token: S<String>,
    pub(super) role: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrunk {
    pub(super) name: S<String>,
    pub(super) address: S<String>,
    pub(super) transport: Option<S<String>>,
    pub(super) username: Option<S<String>>,
    pub(super) password: Option<S<String>>,
    pub(super) realm: Option<S<String>>,
    pub(super) inbound: Option<S<String>>,
    pub(super) allow: Option<List>,
    pub(super) inbound_username: Option<S<String>>,
    pub(super) inbound_password: Option<S<String>>,
    pub(super) options_interval: Option<S<i64>>,
    pub(super) max_calls: Option<S<i64>>,
    pub(super) codecs: Option<List>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub(super) prefix: S<String>,
    pub(super) trunks: List,
}

/// `[callcenter]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCallCenter {
    pub(super) utc_offset: Option<S<String>>,
    pub(super) music_on_hold: Option<S<String>>,
    pub(super) announcements: Option<S<String>>,
    pub(super) vip: Option<S<Vec<RawVip>>>,
    pub(super) max_spill_hops: Option<S<i64>>,
    pub(super) voicemail_dir: Option<S<String>>,
}

/// Skill name → level, as `{ billing = 50 }`.
pub(super) type Skills = S<BTreeMap<String, S<i64>>>;

/// `[[agent]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgent {
    pub(super) name: S<String>,
    pub(super) contact: S<String>,
    pub(super) skills: Option<Skills>,
    pub(super) wrap_up: Option<S<i64>>,
    pub(super) login: Option<S<bool>>,
    pub(super) password: Option<S<String>>,
}

/// `[[queue]]`. `members` elements are a name or `{ agent, weight }`: kept
/// as TOML values so the validator can word the error for either form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    pub(super) name: S<String>,
    pub(super) strategy: Option<S<String>>,
    pub(super) members: Option<S<Vec<S<toml::Value>>>>,
    pub(super) required_skills: Option<Skills>,
    pub(super) ring_timeout: Option<S<i64>>,
    pub(super) wrap_up: Option<S<i64>>,
    pub(super) auto_pause_after: Option<S<i64>>,
    pub(super) sticky_window: Option<S<i64>>,
    pub(super) expected_handle_time: Option<S<i64>>,
    pub(super) service_level_threshold: Option<S<i64>>,
    pub(super) service_level_target: Option<S<i64>>,
    pub(super) short_abandon: Option<S<i64>>,
    pub(super) max_length: Option<S<i64>>,
    pub(super) max_estimated_wait: Option<S<i64>>,
    pub(super) max_wait: Option<S<i64>>,
    pub(super) spill_when_no_agents: Option<S<bool>>,
    pub(super) overflow: Option<S<String>>,
    pub(super) announce_position_every: Option<S<i64>>,
    pub(super) periodic_announcement_every: Option<S<i64>>,
    pub(super) periodic_announcement: Option<S<String>>,
    pub(super) exit_digit: Option<S<String>>,
    pub(super) exit_to: Option<S<String>>,
    pub(super) music_on_hold: Option<S<String>>,
    pub(super) callback_prompt: Option<S<String>>,
    pub(super) callback_attempts: Option<S<i64>>,
    pub(super) callback_retry: Option<S<i64>>,
}

/// A list of destinations: each `"kind:name"` or `{ to, weight }`, kept as
/// TOML values (see [`RawQueue`]).
pub(super) type Destinations = S<Vec<S<toml::Value>>>;

/// `[[number]]`: a 400 number and its plan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNumber {
    pub(super) number: S<String>,
    pub(super) destinations: Option<Destinations>,
    #[serde(default)]
    pub(super) route: Vec<RawNumberRoute>,
    pub(super) schedule: Option<S<RawSchedule>>,
    pub(super) after_hours: Option<S<String>>,
    pub(super) pass_caller_id: Option<S<bool>>,
    pub(super) ringback: Option<S<String>>,
    pub(super) strip_prefixes: Option<List>,
    pub(super) china_national_form: Option<S<bool>>,
    pub(super) blacklist: Option<List>,
    pub(super) list_mode: Option<S<String>>,
    pub(super) allow: Option<List>,
    pub(super) deny: Option<List>,
    pub(super) pin: Option<S<String>>,
    pub(super) pin_attempts: Option<S<i64>>,
    pub(super) pin_prompt: Option<S<String>>,
    pub(super) pin_retry_prompt: Option<S<String>>,
    pub(super) forward_busy: Option<List>,
    pub(super) forward_no_answer: Option<List>,
    pub(super) no_answer_timeout: Option<S<i64>>,
    pub(super) hop_limit: Option<S<i64>>,
    pub(super) regions: Option<S<Vec<RawRegion>>>,
}

/// `[[number.route]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNumberRoute {
    pub(super) name: S<String>,
    pub(super) destinations: Destinations,
    pub(super) by_region: Option<S<Vec<RawRegionRoute>>>,
}

/// `by_region = [{ region, destinations }]` of a `[[number.route]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegionRoute {
    pub(super) region: S<String>,
    pub(super) destinations: Destinations,
}

/// `vip = [{ prefix, priority }]` of `[callcenter]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVip {
    pub(super) prefix: S<String>,
    pub(super) priority: S<i64>,
}

/// `regions = [{ prefix, region }]` of a `[[number]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegion {
    pub(super) prefix: S<String>,
    pub(super) region: S<String>,
}

/// `[number.schedule]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub(super) utc_offset: Option<S<String>>,
    #[serde(default)]
    pub(super) segments: Vec<S<RawSegment>>,
    #[serde(default)]
    pub(super) holidays: Vec<S<RawHoliday>>,
    #[serde(default)]
    pub(super) workdays: Vec<S<RawWorkday>>,
}

/// A weekly segment. `days` is a day, a range (`"mon-fri"`) or a list of
/// them, so it is kept as a TOML value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSegment {
    pub(super) days: S<toml::Value>,
    pub(super) start: S<String>,
    pub(super) end: S<String>,
    pub(super) route: S<String>,
}

/// A holiday: closed all day, or its own segments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHoliday {
    pub(super) date: S<String>,
    #[serde(default)]
    pub(super) segments: Vec<S<RawTimeRange>>,
}

/// A segment of a holiday.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTimeRange {
    pub(super) start: S<String>,
    pub(super) end: S<String>,
    pub(super) route: S<String>,
}

/// An adjusted working day (`as` the weekday it follows).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkday {
    pub(super) date: S<String>,
    #[serde(rename = "as")]
    pub(super) as_weekday: S<String>,
}

/// `[[ivr]]`: one IVR menu. `digits` maps a key (`"1"`, `"*"`, `"#"`) to
/// an action string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIvr {
    pub(super) name: S<String>,
    pub(super) entry: Option<S<bool>>,
    pub(super) prompt: S<String>,
    pub(super) digits: Option<S<BTreeMap<String, S<String>>>>,
    pub(super) collect: Option<S<RawCollect>>,
    pub(super) first_digit_timeout: Option<S<i64>>,
    pub(super) inter_digit_timeout: Option<S<i64>>,
    pub(super) retries: Option<S<i64>>,
    pub(super) invalid_prompt: Option<S<String>>,
    pub(super) timeout_prompt: Option<S<String>>,
    pub(super) timeout_action: Option<S<String>>,
    pub(super) invalid_action: Option<S<String>>,
    pub(super) barge_in: Option<S<bool>>,
}

/// `collect = { min, max, terminator, then }` of an `[[ivr]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCollect {
    pub(super) min: Option<S<i64>>,
    pub(super) max: S<i64>,
    pub(super) terminator: Option<S<String>>,
    pub(super) then: S<String>,
}

/// `[[http_lookup]]`: an HTTP lookup IVR actions name as `http:NAME`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttpLookup {
    pub(super) name: S<String>,
    pub(super) url: S<String>,
    pub(super) timeout: Option<S<i64>>,
    #[serde(default)]
    pub(super) on: Vec<S<RawBranch>>,
    pub(super) set_priority_from: Option<S<String>>,
    pub(super) default: S<String>,
    pub(super) on_error: Option<S<String>>,
}

/// `on = [{ field, equals, then }]` of an `[[http_lookup]]`. `equals` is
/// kept as a TOML value: `true`, `3` and `"gold"` are all fine.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBranch {
    pub(super) field: S<String>,
    pub(super) equals: S<toml::Value>,
    pub(super) then: S<String>,
}

/// `[[voicemail]]`: a voicemail box, named by `voicemail:NAME`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVoicemail {
    pub(super) name: S<String>,
    pub(super) greeting: Option<S<String>>,
    pub(super) max_seconds: Option<S<i64>>,
    pub(super) min_seconds: Option<S<i64>>,
    pub(super) webhook: Option<S<String>>,
}
