//! The number plan of a 400 (nationwide toll-free) number: who may call,
//! when, and where the call goes (CALLCENTER.md, "What a 400 platform
//! offers an enterprise").
//!
//! A [`NumberPlan`] is built from a plain-data [`PlanConfig`] (what the
//! gateway reads from its TOML file or the web console) by
//! [`NumberPlan::new`], which validates everything and names the field at
//! fault in a [`ConfigError`]:
//! `schedule.segments[2].start: "25:00" is not a time HH:MM (hour 25 is above 24)`.
//! After that, routing a call cannot fail: every input, however
//! malformed, gets a [`Decision`].
//!
//! # Order of evaluation
//!
//! [`NumberPlan::route`] takes `now` and the calling number and decides,
//! in this order:
//!
//! 1. **Normalise** the calling number ([`Numbering`]: `+86…`, `0086…`,
//!    `0` + mobile → national form). A withheld or unreadable number is an
//!    *unknown caller*: lists cannot match it, regions fall to the default.
//! 2. **Blacklist** ([`Restriction`]): a match refuses the call.
//! 3. **Allow/deny lists**: the longest matching prefix decides; in
//!    allow-list mode an unlisted or unknown caller is refused.
//!    Refusals are [`Decision::Refuse`] with a [`Refusal`] (reason, and
//!    the release cause: 21 call rejected).
//! 4. **PIN**, if configured: [`Decision::CollectPin`] with a per-call
//!    [`PinEntry`]. The gateway prompts, collects the digits and calls
//!    [`NumberPlan::enter_pin`], which answers [`PinResult::TryAgain`],
//!    [`PinResult::Refuse`] (attempts used up) or, on the right PIN,
//!    goes on with steps 5–7 and answers [`PinResult::Connect`].
//! 5. **Schedule** ([`Schedule`]): the segment covering the local time
//!    names a route; no segment means closed, and the call is connected
//!    to the after-hours destination alone (`Route::after_hours`, no
//!    forwarding). A plan without a schedule is open 7×24 on its first
//!    route.
//! 6. **Region**: the longest region-table prefix of the caller names a
//!    region; if the route has destinations for that region they are
//!    used, else the route's default destinations.
//! 7. **Proportional distribution** ([`Distribution`]): smooth weighted
//!    round robin picks the destination; the others follow it in config
//!    order in [`Route::destinations`].
//!
//! The gateway then rings `destinations[0]` with the ringback and
//! caller-ID setting of the [`Route`], and on busy or no answer (after
//! `forwarding.no_answer_timeout`) asks a per-call [`ForwardState`] for
//! the next target, which stops at the hop limit.
//!
//! Changes at run time ([`NumberPlan::set_destinations`],
//! [`NumberPlan::set_region_destinations`], [`NumberPlan::set_schedule`],
//! [`NumberPlan::restriction_mut`], [`NumberPlan::reconfigure`], …) take effect on the next call. The only
//! state besides the config is the round-robin scores, hence `&mut self`.
//!
//! # Time and I/O contract
//!
//! No I/O, no clock: `now` is a [`Timestamp`] passed in, and the schedule
//! reads it at its fixed UTC offset (480 minutes, China Standard Time, by
//! default).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use tandem_callcenter::plan::*;
//! use tandem_callcenter::{Date, Timestamp};
//!
//! let config = PlanConfig {
//!     number: "4008001234".into(),
//!     routes: vec![RouteConfig {
//!         name: "office".into(),
//!         destinations: vec![
//!             WeightedConfig::new("number:13800000001", 2),
//!             WeightedConfig::new("queue:sales", 1),
//!         ],
//!         by_region: vec![RegionRouteConfig {
//!             region: "shenzhen".into(),
//!             destinations: vec![WeightedConfig::new("trunk:sz-branch", 1)],
//!         }],
//!     }],
//!     regions: vec![RegionConfig { prefix: "0755".into(), region: "shenzhen".into() }],
//!     schedule: Some(ScheduleConfig {
//!         segments: vec![SegmentConfig {
//!             days: vec!["mon-fri".into()],
//!             start: "09:00".into(),
//!             end: "18:00".into(),
//!             route: "office".into(),
//!         }],
//!         ..ScheduleConfig::default()
//!     }),
//!     after_hours: "voicemail:office".into(),
//!     restriction: RestrictionConfig { blacklist: vec!["1700".into()], ..Default::default() },
//!     ..PlanConfig::default()
//! };
//! let mut plan = NumberPlan::new(&config)?;
//!
//! // Monday 2026-10-05, 10:00 in Beijing (02:00 UTC).
//! let monday_10am = Timestamp::from_date(Date::new(2026, 10, 5).unwrap())
//!     + Duration::from_secs(2 * 3600);
//! let Decision::Connect(route) = plan.route(monday_10am, "+8613912345678") else {
//!     panic!("expected a connection")
//! };
//! assert_eq!(route.destinations[0], Destination::Number("13800000001".into()));
//! assert_eq!(route.caller.as_deref(), Some("13912345678"));
//!
//! // A Shenzhen fixed line is routed to the Shenzhen branch.
//! let Decision::Connect(route) = plan.route(monday_10am, "075512345678") else { panic!() };
//! assert_eq!(route.region.as_deref(), Some("shenzhen"));
//! assert_eq!(route.destinations, [Destination::Trunk("sz-branch".into())]);
//!
//! // After hours the call goes to voicemail; blacklisted callers are refused.
//! let Decision::Connect(route) = plan.route(monday_10am + Duration::from_secs(9 * 3600), "13912345678")
//! else { panic!() };
//! assert!(route.after_hours);
//! assert_eq!(route.destinations, [Destination::Voicemail("office".into())]);
//! let Decision::Refuse(refusal) = plan.route(monday_10am, "17001234567") else { panic!() };
//! assert_eq!(refusal.cause, tandem_call::Cause::CALL_REJECTED);
//!
//! // On busy, the per-call forwarding state names the next target.
//! let mut hops = ForwardState::default();
//! assert_eq!(hops.next(&route.forwarding, Failure::Busy), ForwardStep::HopLimitReached);
//! # Ok::<(), ConfigError>(())
//! ```

mod destination;
mod distribution;
mod error;
mod forwarding;
mod numbering;
mod pin;
mod prefix;
mod restriction;
mod schedule;

use std::time::Duration;

pub use destination::{Destination, DestinationError};
pub use distribution::{Distribution, DistributionError, Weighted};
pub use error::ConfigError;
pub use forwarding::{
    DEFAULT_HOP_LIMIT, DEFAULT_NO_ANSWER_TIMEOUT, Failure, ForwardState, ForwardStep, Forwarding,
    MAX_FORWARD_TARGETS, MAX_HOP_LIMIT,
};
pub use numbering::{Numbering, NumberingConfig};
pub use pin::{DEFAULT_PIN_ATTEMPTS, MAX_PIN_ATTEMPTS, Pin, PinConfig, constant_time_eq};
pub use prefix::{MAX_PREFIX_LEN, PrefixError, PrefixTable, check_digits};
pub use restriction::{ListMode, Refusal, RefusalReason, Restriction, RestrictionConfig, Verdict};
pub use schedule::{
    CHINA_UTC_OFFSET_MINUTES, DayKind, HolidayConfig, Schedule, ScheduleConfig, ScheduleMatch,
    Segment, SegmentConfig, TimeError, TimeRangeConfig, WorkdayConfig, format_hhmm, parse_hhmm,
};

use crate::time::Timestamp;

/// The longest no-answer timeout accepted, in seconds.
pub const MAX_NO_ANSWER_TIMEOUT_SECS: u32 = 300;

/// A destination and its share, as written in config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedConfig {
    /// The destination in config form (`number:13812345678`, `queue:sales`,
    /// …; see [`Destination::parse`]).
    pub to: String,
    /// Its relative share of calls, at least 1. Default 1.
    pub weight: u32,
}

impl WeightedConfig {
    /// `to` with share `weight`.
    pub fn new(to: impl Into<String>, weight: u32) -> Self {
        WeightedConfig {
            to: to.into(),
            weight,
        }
    }
}

impl Default for WeightedConfig {
    fn default() -> Self {
        WeightedConfig::new("", 1)
    }
}

/// Destinations of one region within a route, as written in config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegionRouteConfig {
    /// A region name from [`PlanConfig::regions`].
    pub region: String,
    /// Its destinations (at least one).
    pub destinations: Vec<WeightedConfig>,
}

/// A named route, as written in config: schedule segments name it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteConfig {
    /// The name segments refer to.
    pub name: String,
    /// The bound destinations for callers of any other region (at least one).
    pub destinations: Vec<WeightedConfig>,
    /// Destinations for callers of particular regions.
    pub by_region: Vec<RegionRouteConfig>,
}

/// One entry of the region table: calling numbers starting with `prefix`
/// (normalised form: a mobile block `1381234`, an area code `0755`) come
/// from `region`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegionConfig {
    /// The calling-number prefix.
    pub prefix: String,
    /// The region's name (any label: `guangdong`, `0755`, `north`).
    pub region: String,
}

/// Forwarding as written in config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardingConfig {
    /// Targets on busy, at most 2, in config form.
    pub busy: Vec<String>,
    /// Targets on no answer, at most 2, in config form.
    pub no_answer: Vec<String>,
    /// Seconds a destination rings before "no answer", 1–300. Default 20.
    pub no_answer_timeout_secs: u32,
    /// The most forwards per call, 0–4. Default 2.
    pub hop_limit: u8,
}

impl Default for ForwardingConfig {
    fn default() -> Self {
        ForwardingConfig {
            busy: Vec::new(),
            no_answer: Vec::new(),
            no_answer_timeout_secs: DEFAULT_NO_ANSWER_TIMEOUT.as_secs() as u32,
            hop_limit: DEFAULT_HOP_LIMIT,
        }
    }
}

/// The whole plan of one number, as written in config. Field paths in
/// [`ConfigError`]s follow these names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanConfig {
    /// The 400 number, digits only (`4008001234`).
    pub number: String,
    /// How calling numbers are normalised.
    pub numbering: NumberingConfig,
    /// Blacklist and allow/deny lists.
    pub restriction: RestrictionConfig,
    /// PIN access, if any.
    pub pin: Option<PinConfig>,
    /// Time-of-day routing; `None`: open 7×24 on the first route.
    pub schedule: Option<ScheduleConfig>,
    /// The region table (calling-number prefix → region name).
    pub regions: Vec<RegionConfig>,
    /// The routes (at least one); schedule segments name them.
    pub routes: Vec<RouteConfig>,
    /// Where calls go when the schedule is closed. Default `hangup`.
    pub after_hours: String,
    /// Forward on busy / no answer.
    pub forwarding: ForwardingConfig,
    /// Show the answering phone the real calling number. Default true.
    pub pass_caller_id: bool,
    /// A custom ringback prompt (name or path) played until answer.
    pub ringback: Option<String>,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            number: String::new(),
            numbering: NumberingConfig::default(),
            restriction: RestrictionConfig::default(),
            pin: None,
            schedule: None,
            regions: Vec::new(),
            routes: Vec::new(),
            after_hours: "hangup".into(),
            forwarding: ForwardingConfig::default(),
            pass_caller_id: true,
            ringback: None,
        }
    }
}

/// What to do with a call; the answer of [`NumberPlan::route`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Decision {
    /// Release the call.
    Refuse(Refusal),
    /// Prompt for the PIN, then call [`NumberPlan::enter_pin`].
    CollectPin(PinEntry),
    /// Connect the call (boxed: a route is much larger than a refusal).
    Connect(Box<Route>),
}

/// Where and how to connect a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Candidates, the one chosen by proportional distribution first, the
    /// rest of the list in config order. Never empty. After hours: the
    /// after-hours destination alone.
    pub destinations: Vec<Destination>,
    /// The normalised calling number (`None`: unknown caller).
    pub caller: Option<String>,
    /// Whether to present the real calling number to the answering phone.
    pub pass_caller_id: bool,
    /// The custom ringback prompt, if any.
    pub ringback: Option<String>,
    /// Forwarding for this call ([`Forwarding::none`] after hours); drive
    /// it with a [`ForwardState`].
    pub forwarding: Forwarding,
    /// True when the schedule was closed.
    pub after_hours: bool,
    /// The route used (`None` after hours).
    pub route: Option<String>,
    /// The caller's region, if the region table knows the number.
    pub region: Option<String>,
    /// What the calendar said (`None` for a plan without a schedule).
    pub schedule: Option<ScheduleMatch>,
}

/// A call waiting for its PIN. Keep it with the call and hand it to
/// [`NumberPlan::enter_pin`] with each try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinEntry {
    caller: Option<String>,
    attempts: u8,
    max_attempts: u8,
    pin_len: u8,
}

impl PinEntry {
    /// Tries left before the call is refused.
    pub fn attempts_left(&self) -> u8 {
        self.max_attempts.saturating_sub(self.attempts)
    }

    /// Tries allowed in all.
    pub fn max_attempts(&self) -> u8 {
        self.max_attempts
    }

    /// The number of digits to collect (the caller may end with `#`).
    pub fn pin_len(&self) -> u8 {
        self.pin_len
    }

    /// The normalised calling number.
    pub fn caller(&self) -> Option<&str> {
        self.caller.as_deref()
    }
}

/// The answer of [`NumberPlan::enter_pin`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum PinResult {
    /// Right PIN: connect the call.
    Connect(Box<Route>),
    /// Wrong PIN: prompt again.
    TryAgain {
        /// Tries left.
        attempts_left: u8,
    },
    /// Wrong PIN and no tries left: release the call.
    Refuse(Refusal),
}

#[derive(Debug, Clone)]
struct RouteState {
    name: String,
    default: Distribution,
    /// (index into `region_names`, destinations).
    by_region: Vec<(u32, Distribution)>,
}

/// The number plan of one 400 number; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct NumberPlan {
    number: String,
    numbering: Numbering,
    restriction: Restriction,
    pin: Option<Pin>,
    schedule: Option<Schedule>,
    regions: PrefixTable<u32>,
    region_names: Vec<String>,
    routes: Vec<RouteState>,
    after_hours: Destination,
    forwarding: Forwarding,
    pass_caller_id: bool,
    ringback: Option<String>,
}

fn destination(field: String, s: &str) -> Result<Destination, ConfigError> {
    Destination::parse(s).map_err(|e| ConfigError::new(field, format!("{s:?} {e}")))
}

/// Validates a weighted list; `field` is the list's path.
fn distribution(field: &str, list: &[WeightedConfig]) -> Result<Distribution, ConfigError> {
    let mut entries = Vec::with_capacity(list.len());
    for (i, w) in list.iter().enumerate() {
        let d = destination(format!("{field}[{i}].to"), &w.to)?;
        if w.weight == 0 {
            return Err(ConfigError::new(
                format!("{field}[{i}].weight"),
                "is 0; weights are at least 1 (remove the destination to stop its calls)",
            ));
        }
        entries.push(Weighted {
            destination: d,
            weight: w.weight,
        });
    }
    Distribution::new(entries).map_err(|_| ConfigError::new(field, "lists no destination"))
}

fn forwarding(config: &ForwardingConfig) -> Result<Forwarding, ConfigError> {
    let list = |name: &str, v: &[String]| -> Result<Vec<Destination>, ConfigError> {
        if v.len() > MAX_FORWARD_TARGETS {
            return Err(ConfigError::new(
                name,
                format!("has {} targets; at most {MAX_FORWARD_TARGETS}", v.len()),
            ));
        }
        v.iter()
            .enumerate()
            .map(|(i, s)| destination(format!("{name}[{i}]"), s))
            .collect()
    };
    let busy = list("busy", &config.busy)?;
    let no_answer = list("no_answer", &config.no_answer)?;
    if !(1..=MAX_NO_ANSWER_TIMEOUT_SECS).contains(&config.no_answer_timeout_secs) {
        return Err(ConfigError::new(
            "no_answer_timeout_secs",
            format!(
                "{} is not between 1 and {MAX_NO_ANSWER_TIMEOUT_SECS}",
                config.no_answer_timeout_secs
            ),
        ));
    }
    if config.hop_limit > MAX_HOP_LIMIT {
        return Err(ConfigError::new(
            "hop_limit",
            format!("{} is above {MAX_HOP_LIMIT}", config.hop_limit),
        ));
    }
    Ok(Forwarding {
        busy,
        no_answer,
        no_answer_timeout: Duration::from_secs(u64::from(config.no_answer_timeout_secs)),
        hop_limit: config.hop_limit,
    })
}

impl NumberPlan {
    /// Validates `config` into a plan with fresh round-robin scores.
    pub fn new(config: &PlanConfig) -> Result<NumberPlan, ConfigError> {
        if config.number.is_empty()
            || config.number.len() > MAX_PREFIX_LEN
            || !config.number.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ConfigError::new(
                "number",
                format!(
                    "{:?} is not a telephone number (digits only)",
                    config.number
                ),
            ));
        }
        let numbering = Numbering::new(&config.numbering);
        let restriction =
            Restriction::new(&config.restriction).map_err(|e| e.within("restriction"))?;
        let pin = match &config.pin {
            Some(p) => Some(Pin::new(p).map_err(|e| e.within("pin"))?),
            None => None,
        };

        let mut regions = PrefixTable::new();
        let mut region_names: Vec<String> = Vec::new();
        for (i, r) in config.regions.iter().enumerate() {
            let name = r.region.trim();
            if name.is_empty() {
                return Err(ConfigError::new(format!("regions[{i}].region"), "is empty"));
            }
            let index = match region_names.iter().position(|n| n == name) {
                Some(index) => index,
                None => {
                    region_names.push(name.to_owned());
                    region_names.len() - 1
                }
            };
            regions.insert(&r.prefix, index as u32).map_err(|e| {
                ConfigError::new(
                    format!("regions[{i}].prefix"),
                    format!("{:?} {e}", r.prefix),
                )
            })?;
        }

        if config.routes.is_empty() {
            return Err(ConfigError::new("routes", "lists no route"));
        }
        let mut routes: Vec<RouteState> = Vec::with_capacity(config.routes.len());
        for (i, rc) in config.routes.iter().enumerate() {
            let field = format!("routes[{i}]");
            let name = rc.name.as_str();
            if name.trim().is_empty() {
                return Err(ConfigError::new(format!("{field}.name"), "is empty"));
            }
            if routes.iter().any(|r| r.name == name) {
                return Err(ConfigError::new(
                    format!("{field}.name"),
                    format!("{name:?} names two routes"),
                ));
            }
            let default = distribution(&format!("{field}.destinations"), &rc.destinations)?;
            let mut by_region: Vec<(u32, Distribution)> = Vec::new();
            for (j, rr) in rc.by_region.iter().enumerate() {
                let f = format!("{field}.by_region[{j}]");
                let region = region_names
                    .iter()
                    .position(|n| n == rr.region.trim())
                    .ok_or_else(|| {
                        ConfigError::new(
                            format!("{f}.region"),
                            format!("{:?} is not a region of the region table", rr.region),
                        )
                    })? as u32;
                if by_region.iter().any(|(r, _)| *r == region) {
                    return Err(ConfigError::new(
                        format!("{f}.region"),
                        format!("{:?} is listed twice in this route", rr.region),
                    ));
                }
                by_region.push((
                    region,
                    distribution(&format!("{f}.destinations"), &rr.destinations)?,
                ));
            }
            routes.push(RouteState {
                name: name.to_owned(),
                default,
                by_region,
            });
        }

        let schedule = match &config.schedule {
            Some(sc) => {
                let s = Schedule::new(sc).map_err(|e| e.within("schedule"))?;
                check_route_names(sc, &routes)?;
                Some(s)
            }
            None => None,
        };
        let after_hours = destination("after_hours".into(), &config.after_hours)?;
        let forwarding = forwarding(&config.forwarding).map_err(|e| e.within("forwarding"))?;
        let ringback = match &config.ringback {
            Some(r) if r.trim().is_empty() => {
                return Err(ConfigError::new(
                    "ringback",
                    "is empty (leave it out for the network's ringback)",
                ));
            }
            r => r.clone(),
        };

        Ok(NumberPlan {
            number: config.number.clone(),
            numbering,
            restriction,
            pin,
            schedule,
            regions,
            region_names,
            routes,
            after_hours,
            forwarding,
            pass_caller_id: config.pass_caller_id,
            ringback,
        })
    }

    /// Replaces the whole configuration (validated as by
    /// [`NumberPlan::new`]; on error the plan is unchanged). Round-robin
    /// scores carry over for every destination list that is unchanged,
    /// so re-saving a config does not disturb the ratios.
    pub fn reconfigure(&mut self, config: &PlanConfig) -> Result<(), ConfigError> {
        let mut new = NumberPlan::new(config)?;
        for route in &mut new.routes {
            let Some(old) = self.routes.iter().find(|r| r.name == route.name) else {
                continue;
            };
            if old.default.entries() == route.default.entries() {
                route.default = old.default.clone();
            }
            for (region, dist) in &mut route.by_region {
                let name = &new.region_names[*region as usize];
                let old_dist = old
                    .by_region
                    .iter()
                    .find(|(r, _)| self.region_names.get(*r as usize) == Some(name));
                if let Some((_, od)) = old_dist.filter(|(_, od)| od.entries() == dist.entries()) {
                    *dist = od.clone();
                }
            }
        }
        *self = new;
        Ok(())
    }

    /// The 400 number.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// Decides what to do with a call arriving at `now` from `calling`
    /// (as signalled, any form); see the [module docs](self) for the order
    /// of evaluation.
    pub fn route(&mut self, now: Timestamp, calling: &str) -> Decision {
        let caller = self.numbering.normalise(calling);
        if let Err(refusal) = self.restriction.check(caller.as_deref()) {
            return Decision::Refuse(refusal);
        }
        if let Some(pin) = &self.pin {
            return Decision::CollectPin(PinEntry {
                caller,
                attempts: 0,
                max_attempts: pin.max_attempts(),
                pin_len: pin.len() as u8,
            });
        }
        Decision::Connect(Box::new(self.connect(now, caller)))
    }

    /// The caller of `entry` keyed `entered` (one trailing `#` ignored) at
    /// `now`. The PIN is compared in constant time. A right PIN routes the
    /// call (schedule, region, distribution at `now`).
    ///
    /// If the PIN has been removed from the plan since the call was
    /// challenged, any entry is accepted.
    pub fn enter_pin(&mut self, now: Timestamp, entry: &mut PinEntry, entered: &str) -> PinResult {
        if entry.attempts >= entry.max_attempts {
            return PinResult::Refuse(Refusal::new(RefusalReason::PinAttemptsExhausted));
        }
        entry.attempts += 1;
        let right = self.pin.as_ref().is_none_or(|p| p.matches(entered));
        if right {
            return PinResult::Connect(Box::new(self.connect(now, entry.caller.clone())));
        }
        match entry.attempts_left() {
            0 => PinResult::Refuse(Refusal::new(RefusalReason::PinAttemptsExhausted)),
            attempts_left => PinResult::TryAgain { attempts_left },
        }
    }

    /// Steps 5–7: schedule, region, distribution.
    fn connect(&mut self, now: Timestamp, caller: Option<String>) -> Route {
        let region = caller
            .as_deref()
            .and_then(|c| self.regions.longest_match(c))
            .map(|(_, &r)| r);
        let region_name = region
            .and_then(|r| self.region_names.get(r as usize))
            .cloned();
        let (schedule, route_index) = match &self.schedule {
            None => (None, Some(0)),
            Some(s) => {
                let m = s.at(now);
                let index = m
                    .segment
                    .as_ref()
                    .and_then(|seg| self.routes.iter().position(|r| r.name == seg.route));
                (Some(m), index)
            }
        };
        let mut out = Route {
            destinations: vec![self.after_hours.clone()],
            caller,
            pass_caller_id: self.pass_caller_id,
            ringback: self.ringback.clone(),
            forwarding: Forwarding::none(),
            after_hours: true,
            route: None,
            region: region_name,
            schedule,
        };
        // A segment naming a missing route cannot happen (checked at
        // construction and on every change); treat it as closed anyway.
        if let Some(route) = route_index.and_then(|i| self.routes.get_mut(i)) {
            let dist = match route.by_region.iter_mut().find(|(r, _)| Some(*r) == region) {
                Some((_, d)) => d,
                None => &mut route.default,
            };
            out.destinations = dist.next_candidates();
            out.forwarding = self.forwarding.clone();
            out.after_hours = false;
            out.route = Some(route.name.clone());
        }
        out
    }

    fn route_mut(&mut self, route: &str) -> Result<&mut RouteState, ConfigError> {
        self.routes
            .iter_mut()
            .find(|r| r.name == route)
            .ok_or_else(|| ConfigError::new("route", format!("no route named {route:?}")))
    }

    /// Replaces the default destinations of route `route` (its bound
    /// destinations, and so those of every segment naming it). The
    /// round-robin scores of that list restart. Errors name
    /// `destinations[i]`.
    pub fn set_destinations(
        &mut self,
        route: &str,
        destinations: &[WeightedConfig],
    ) -> Result<(), ConfigError> {
        let dist = distribution("destinations", destinations)?;
        self.route_mut(route)?.default = dist;
        Ok(())
    }

    /// Sets the destinations of route `route` for callers of `region`
    /// (a region of the region table), adding or replacing them.
    pub fn set_region_destinations(
        &mut self,
        route: &str,
        region: &str,
        destinations: &[WeightedConfig],
    ) -> Result<(), ConfigError> {
        let dist = distribution("destinations", destinations)?;
        let region = self
            .region_names
            .iter()
            .position(|n| n == region)
            .ok_or_else(|| {
                ConfigError::new(
                    "region",
                    format!("{region:?} is not a region of the region table"),
                )
            })? as u32;
        let r = self.route_mut(route)?;
        match r.by_region.iter_mut().find(|(x, _)| *x == region) {
            Some((_, d)) => *d = dist,
            None => r.by_region.push((region, dist)),
        }
        Ok(())
    }

    /// Removes the region-specific destinations of a route (its callers
    /// then get the default list); whether there were any.
    pub fn clear_region_destinations(&mut self, route: &str, region: &str) -> bool {
        let Some(index) = self.region_names.iter().position(|n| n == region) else {
            return false;
        };
        let Some(r) = self.routes.iter_mut().find(|r| r.name == route) else {
            return false;
        };
        let before = r.by_region.len();
        r.by_region.retain(|(x, _)| *x as usize != index);
        r.by_region.len() != before
    }

    /// Replaces the calendar (`None`: open 7×24 on the first route).
    /// Errors name `schedule.…` fields as [`NumberPlan::new`] does; on
    /// error the plan is unchanged.
    pub fn set_schedule(&mut self, config: Option<&ScheduleConfig>) -> Result<(), ConfigError> {
        self.schedule = match config {
            Some(sc) => {
                let s = Schedule::new(sc).map_err(|e| e.within("schedule"))?;
                check_route_names(sc, &self.routes)?;
                Some(s)
            }
            None => None,
        };
        Ok(())
    }

    /// Sets where calls go when the schedule is closed.
    pub fn set_after_hours(&mut self, destination: Destination) {
        self.after_hours = destination;
    }

    /// Replaces the forwarding settings (errors name the config field).
    pub fn set_forwarding(&mut self, config: &ForwardingConfig) -> Result<(), ConfigError> {
        self.forwarding = forwarding(config)?;
        Ok(())
    }

    /// The blacklist and allow/deny lists, to change at run time.
    pub fn restriction_mut(&mut self) -> &mut Restriction {
        &mut self.restriction
    }

    /// The blacklist and allow/deny lists.
    pub fn restriction(&self) -> &Restriction {
        &self.restriction
    }

    /// The forwarding settings.
    pub fn forwarding(&self) -> &Forwarding {
        &self.forwarding
    }

    /// The calendar, if the plan has one.
    pub fn schedule(&self) -> Option<&Schedule> {
        self.schedule.as_ref()
    }

    /// The route names, in config order.
    pub fn route_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.routes.iter().map(|r| r.name.as_str())
    }

    /// The normalised form of a calling number (`None`: unknown caller).
    pub fn normalise(&self, calling: &str) -> Option<String> {
        self.numbering.normalise(calling)
    }

    /// The caller's region from the region table.
    pub fn region_of(&self, calling: &str) -> Option<&str> {
        let caller = self.numbering.normalise(calling)?;
        let (_, &r) = self.regions.longest_match(&caller)?;
        self.region_names.get(r as usize).map(String::as_str)
    }
}

/// Every schedule segment must name a route of the plan.
fn check_route_names(sc: &ScheduleConfig, routes: &[RouteState]) -> Result<(), ConfigError> {
    let known = |name: &str| routes.iter().any(|r| r.name == name);
    let unknown = |field: String, name: &str| {
        ConfigError::new(field, format!("{name:?} is not the name of a route"))
    };
    for (i, s) in sc.segments.iter().enumerate() {
        if !known(&s.route) {
            return Err(unknown(format!("schedule.segments[{i}].route"), &s.route));
        }
    }
    for (i, h) in sc.holidays.iter().enumerate() {
        for (j, s) in h.segments.iter().enumerate() {
            if !known(&s.route) {
                return Err(unknown(
                    format!("schedule.holidays[{i}].segments[{j}].route"),
                    &s.route,
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
