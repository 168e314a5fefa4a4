//! `[callcenter]`, `[[agent]]`, `[[queue]]`, `[[number]]`, `[[ivr]]`,
//! `[[http_lookup]]` and `[[voicemail]]`: the call-center services of
//! `tandem run` (400 numbers, their number plans, ACD queues and agents,
//! IVR menus, voicemail boxes).
//!
//! Validated into the plain types of `tandem-callcenter` ([`AcdConfig`],
//! [`PlanConfig`], [`IvrConfig`]) plus what only the gateway needs (the SIP contact of
//! each agent, prompts). Each agent's phone becomes an internal trunk named
//! `agent:NAME` in [`Config::trunks`](super::Config::trunks), so that calls
//! to agents use the B2BUA's outbound leg (digest, session timers, 100rel,
//! codecs) unchanged.
//!
//! Ids are indexes in file order: `AgentId(i)` is `acd.agents[i]` and
//! `agents[i]` (whose `trunk` is its phone's [`TrunkId`]), `QueueId(i)` is
//! `acd.queues[i]` and `queues[i]`; by name, `acd.agents.iter().position(|a|
//! a.name == name)` (or [`Acd::queue_id`] once the ACD is built). A
//! number's destinations stay names (`queue:sales`, `agent:alice`,
//! `trunk:carrier-a`, `ivr:main`), checked here to exist.
//!
//! IVR menus keep their names too: `[[ivr]]` sections become
//! `ivr.menus` in file order, `[[http_lookup]]` sections `ivr.lookups`;
//! prompts are resolved to paths (relative to the config file's
//! directory) that exist at load. [`MenuTree::new`] on `ivr` cannot fail
//! once the file is accepted.
//!
//! Voicemail boxes keep their names as well: `[[voicemail]]` sections
//! become [`CallCenter::voicemail`] in file order, and every `voicemail:BOX`
//! (a number's destinations and `after_hours`, a queue's `overflow` and
//! `exit_to`, an IVR action) must name one of them. The messages'
//! directory (`callcenter.voicemail_dir`) is not created here: loading a
//! file has no side effects; the store creates it when it opens.
//!
//! Each value is checked with its line like the rest of the file; then
//! [`Acd::new`] and [`NumberPlan::new`] check the whole, and their error
//! (which names a field such as `schedule.segments[0].end`) is put on the
//! line of that field, or of the `[[queue]]`/`[[number]]` when the field
//! has no line of its own.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use tandem_callcenter::acd::{
    Acd, AcdConfig, AgentConfig, Announcements, Member, Overflow, QueueConfig, Skill, Spillover,
    Strategy,
};
use tandem_callcenter::ivr::{
    self, Action, BranchConfig, CollectConfig, HttpLookupConfig, IvrConfig, MAX_ENTRY_DIGITS,
    MAX_RETRIES, MenuConfig, MenuTree,
};
use tandem_callcenter::kpi::QueueKpiConfig;
use tandem_callcenter::plan::{
    self, CHINA_UTC_OFFSET_MINUTES, Destination, ForwardingConfig, HolidayConfig, ListMode,
    NumberPlan, NumberingConfig, PinConfig, PlanConfig, RegionConfig, RegionRouteConfig,
    RestrictionConfig, RouteConfig, ScheduleConfig, SegmentConfig, TimeRangeConfig, WeightedConfig,
    WorkdayConfig,
};
use tandem_callcenter::{AgentId, QueueId};
use tandem_dataplane::codec::Codec;
use toml::Value;

use super::raw::{
    Destinations, List, RawAgent, RawCallCenter, RawHttpLookup, RawIvr, RawNumber, RawQueue,
    RawSchedule, RawVoicemail, S, Skills,
};
use super::{
    HostPort, Inbound, Secret, Transport, Trunk, TrunkId, Validator, host_port, int_in, line_of,
    non_empty, one_of, uri_transport,
};

/// The call-center part of the configuration. Empty (no numbers, queues
/// or agents) unless the file has the sections.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallCenter {
    /// UTC offset of the platform's local time, in minutes (`callcenter.
    /// utc_offset`, default `+08:00`): schedules and reports use it.
    pub(crate) utc_offset_minutes: i32,
    /// Agents and queues; `AgentId(i)` is `agents[i]`, `QueueId(i)` is
    /// `queues[i]`.
    pub(crate) acd: AcdConfig,
    /// What the gateway needs of each agent, indexed like `acd.agents`.
    pub(crate) agents: Vec<Agent>,
    /// What the gateway needs of each queue, indexed like `acd.queues`.
    pub(crate) queues: Vec<QueueExtras>,
    /// `[[number]]`: the 400 numbers, each checked to build a
    /// `NumberPlan`; destinations name existing queues, agents and trunks.
    pub(crate) numbers: Vec<PlanConfig>,
    /// Music on hold for queues without their own (`callcenter.
    /// music_on_hold`, a WAV file checked at load).
    pub(crate) music_on_hold: Option<PathBuf>,
    /// The spoken pieces of position and wait announcements
    /// (`callcenter.announcements`, a directory holding
    /// [`ANNOUNCEMENT_FILES`], checked at load).
    pub(crate) announcements: Option<PathBuf>,
    /// VIP callers: calling-number prefixes and the queue priority they get
    /// (`callcenter.vip`); the longest matching prefix wins.
    pub(crate) vip: Vec<(String, u8)>,
    /// `[[ivr]]` menus and `[[http_lookup]]`s, validated: build the shared
    /// tree with `MenuTree::new(ivr.clone())` (it cannot fail) and start
    /// a session for an `ivr:NAME` destination at `menu_id(NAME)`.
    /// Prompts are paths that existed at load; queue, transfer and
    /// `ivr:` targets name defined queues, agents, trunks and menus.
    pub(crate) ivr: IvrConfig,
    /// `[[voicemail]]` boxes, in file order, names unique; every
    /// `voicemail:BOX` in the file names one of them.
    pub(crate) voicemail: Vec<VoicemailBox>,
    /// Where messages are kept (`callcenter.voicemail_dir`, relative to
    /// the config file's directory, default `voicemail`): one
    /// subdirectory per box. Not created at load (see the module docs);
    /// empty in [`Config::default`](super::Config::default), which has no
    /// boxes.
    pub(crate) voicemail_dir: PathBuf,
}

/// `[[voicemail]]`: a voicemail box. The caller hears the greeting, then
/// is recorded until hang-up, `#` or `max_duration`; a message shorter
/// than `min_duration` is discarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VoicemailBox {
    /// Unique name, 1-64 of `A-Z a-z 0-9 . _ -` (not `.` or `..`): it is
    /// the box's directory under [`CallCenter::voicemail_dir`].
    pub(crate) name: String,
    /// The greeting played before recording (`greeting`, a WAV file that
    /// existed at load); `None`: recording starts at once.
    pub(crate) greeting: Option<PathBuf>,
    /// The longest message (`max_seconds`, 5-600, default 120).
    pub(crate) max_duration: Duration,
    /// Shorter messages are discarded (`min_seconds`, 0-60 and below
    /// `max_seconds`, default 1).
    pub(crate) min_duration: Duration,
    /// Where a new message is announced (`webhook`, an `http://` URL).
    pub(crate) webhook: Option<String>,
}

impl VoicemailBox {
    /// A box with the defaults (no greeting, 120 s, 1 s, no webhook).
    pub(crate) fn new(name: impl Into<String>) -> Self {
        VoicemailBox {
            name: name.into(),
            greeting: None,
            max_duration: Duration::from_secs(DEFAULT_VOICEMAIL_MAX_SECS),
            min_duration: Duration::from_secs(DEFAULT_VOICEMAIL_MIN_SECS),
            webhook: None,
        }
    }
}

/// The default `max_seconds` of a `[[voicemail]]`.
const DEFAULT_VOICEMAIL_MAX_SECS: u64 = 120;
/// The default `min_seconds` of a `[[voicemail]]`.
const DEFAULT_VOICEMAIL_MIN_SECS: u64 = 1;
/// The default `callcenter.voicemail_dir`.
const DEFAULT_VOICEMAIL_DIR: &str = "voicemail";

/// `[[agent]]`: a person at a SIP phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Agent {
    /// Unique name (the login id).
    pub(crate) name: String,
    /// The internal trunk of the agent's phone (`agent:NAME`).
    pub(crate) trunk: TrunkId,
    /// The contact's user part: the Request-URI user of calls to the phone.
    pub(crate) user: String,
    /// Signed in when the gateway starts (`login`, default true).
    pub(crate) login_at_start: bool,
    /// `password`: reserved for the phone's REGISTER (not used yet).
    pub(crate) password: Option<Secret>,
}

/// `[[queue]]` settings outside the ACD's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct QueueExtras {
    /// Service-level threshold and short-abandon threshold.
    pub(crate) kpi: QueueKpiConfig,
    /// The share of calls to answer within the threshold
    /// (`service_level_target`, a percentage; a fraction here, default
    /// 0.8): the Erlang C forecast aims at it, the wallboard colours by it.
    pub(crate) service_level_target: f64,
    /// Music on hold (`music_on_hold`, default `callcenter.music_on_hold`).
    pub(crate) music_on_hold: Option<PathBuf>,
    /// The periodic announcement (`periodic_announcement`).
    pub(crate) periodic_prompt: Option<PathBuf>,
    /// Callbacks of callers who left for `callback`.
    pub(crate) callback: CallbackConfig,
}

/// How a queue calls back callers who asked for it (`overflow` or
/// `exit_to` = `callback`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallbackConfig {
    /// Played to the caller before release, confirming the request
    /// (`callback_prompt`).
    pub(crate) prompt: Option<PathBuf>,
    /// Calls to the customer before the request is dropped
    /// (`callback_attempts`, 1–10, default 3).
    pub(crate) attempts: u8,
    /// Wait before calling a customer who did not answer again
    /// (`callback_retry`, seconds, default 300).
    pub(crate) retry: Duration,
}

impl Default for CallbackConfig {
    fn default() -> Self {
        CallbackConfig {
            prompt: None,
            attempts: 3,
            retry: Duration::from_secs(300),
        }
    }
}

impl CallCenter {
    /// Whether any 400 number is configured.
    pub(crate) fn is_empty(&self) -> bool {
        self.numbers.is_empty()
            && self.acd.queues.is_empty()
            && self.acd.agents.is_empty()
            && self.ivr.menus.is_empty()
    }

    /// The plan of a dialled number, if it is one of ours.
    pub(crate) fn number(&self, dialled: &str) -> Option<usize> {
        self.numbers.iter().position(|n| n.number == dialled)
    }

    /// The voicemail box named `name`.
    pub(crate) fn voicemail_box(&self, name: &str) -> Option<&VoicemailBox> {
        self.voicemail.iter().find(|b| b.name == name)
    }
}

/// The prompts a position and wait announcement is spoken from: "you
/// are caller number", the digits, "your estimated wait is about",
/// "minutes", and "less than a minute".
pub(crate) const ANNOUNCEMENT_FILES: [&str; 14] = [
    "position.wav",
    "wait.wav",
    "minutes.wav",
    "under-a-minute.wav",
    "0.wav",
    "1.wav",
    "2.wav",
    "3.wav",
    "4.wav",
    "5.wav",
    "6.wav",
    "7.wav",
    "8.wav",
    "9.wav",
];

/// The default `callcenter.max_spill_hops`.
const DEFAULT_MAX_SPILL_HOPS: u8 = 3;
/// The ACD's seed for the random strategies: fixed, so that a replay of
/// the same events picks the same agents.
const ACD_SEED: u64 = 1;
/// The longest agent name: `agent:NAME` must still be a trunk name (at
/// most 64 characters).
const MAX_AGENT_NAME: usize = 64 - "agent:".len();

/// The call-center sections of the file, as serde read them.
pub(super) struct Sections {
    /// `[callcenter]`.
    pub(super) callcenter: Option<RawCallCenter>,
    /// `[[agent]]`.
    pub(super) agents: Vec<RawAgent>,
    /// `[[queue]]`.
    pub(super) queues: Vec<RawQueue>,
    /// `[[number]]`.
    pub(super) numbers: Vec<RawNumber>,
    /// `[[ivr]]`.
    pub(super) menus: Vec<RawIvr>,
    /// `[[http_lookup]]`.
    pub(super) lookups: Vec<RawHttpLookup>,
    /// `[[voicemail]]`.
    pub(super) voicemail: Vec<RawVoicemail>,
}

/// The names destinations may refer to, each with its id.
struct Names<'a> {
    trunks: &'a HashMap<String, usize>,
    agents: &'a HashMap<String, AgentId>,
    queues: &'a HashMap<String, QueueId>,
    menus: &'a HashMap<String, usize>,
    lookups: &'a HashMap<String, usize>,
    boxes: &'a HashMap<String, usize>,
}

impl Names<'_> {
    fn check<T>(map: &HashMap<String, T>, kind: &str, name: &str) -> Result<(), String> {
        if map.contains_key(name) {
            return Ok(());
        }
        let known = if map.is_empty() {
            let plural = if kind.ends_with('x') { "es" } else { "s" };
            format!("no {kind}{plural} are defined")
        } else {
            let mut k: Vec<&str> = map.keys().map(String::as_str).collect();
            k.sort_unstable();
            let plural = if kind.ends_with('x') { "es" } else { "s" };
            format!("defined {kind}{plural}: {}", k.join(", "))
        };
        Err(format!("no {kind} named {name:?} ({known})"))
    }

    /// A number's destination (`queue:`, `agent:`, `trunk:`, `number:`,
    /// `ivr:`, `voicemail:`, `hangup`), with its name resolved where the
    /// sections exist.
    fn destination(&self, s: &str) -> Result<(), String> {
        match Destination::parse(s).map_err(|e| format!("{s:?} {e}"))? {
            Destination::Queue(n) => Self::check(self.queues, "queue", &n),
            Destination::Agent(n) => Self::check(self.agents, "agent", &n),
            Destination::Trunk(n) => Self::check(self.trunks, "trunk", &n),
            Destination::Ivr(n) => Self::check(self.menus, "IVR menu", &n),
            Destination::Voicemail(n) => Self::check(self.boxes, "voicemail box", &n),
            Destination::Number(_) | Destination::Hangup => Ok(()),
        }
    }

    /// An IVR action (`menu:`, `queue:`, `transfer:`, `voicemail:`,
    /// `http:`, `hangup`, `repeat`, `back`), its names resolved.
    fn action(&self, s: &str) -> Result<Action, String> {
        let action = Action::parse(s).map_err(|e| format!("{s:?} {e}"))?;
        match &action {
            Action::Menu(n) => Self::check(self.menus, "IVR menu", n)?,
            Action::Queue { name, .. } => Self::check(self.queues, "queue", name)?,
            Action::Http(n) => Self::check(self.lookups, "http_lookup", n)?,
            Action::Voicemail(n) => Self::check(self.boxes, "voicemail box", n)?,
            Action::Transfer(d) => self.destination(&d.to_string())?,
            _ => {}
        }
        Ok(action)
    }

    /// A queue's overflow or exit target; `own` is the queue's name.
    fn overflow(&self, s: &str, own: &str) -> Result<Overflow, String> {
        let form =
            "expected queue:NAME, voicemail:BOX, number:DIGITS, trunk:NAME, callback or hangup";
        match s {
            "hangup" => return Ok(Overflow::Hangup),
            "callback" => return Ok(Overflow::Callback),
            _ => {}
        }
        let (kind, name) = s
            .split_once(':')
            .ok_or_else(|| format!("{form}, got {s:?}"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("{s:?} has no name after the colon"));
        }
        match kind {
            "queue" if name == own => Err("a queue cannot overflow to itself".into()),
            "queue" => {
                Self::check(self.queues, "queue", name)?;
                Ok(Overflow::Queue(self.queues[name]))
            }
            "voicemail" => {
                Self::check(self.boxes, "voicemail box", name)?;
                Ok(Overflow::Voicemail(name.to_string()))
            }
            "trunk" => {
                Self::check(self.trunks, "trunk", name)?;
                Ok(Overflow::Trunk(name.to_string()))
            }
            "number" => {
                plan::check_digits(name.strip_prefix('+').unwrap_or(name)).map_err(|_| {
                    format!("{s:?} is not a telephone number (digits, * or #, optionally after +)")
                })?;
                Ok(Overflow::Number(name.to_string()))
            }
            _ => Err(format!("{form}, got {s:?}")),
        }
    }
}

/// Where each field of a [`PlanConfig`] came from: the plan's field path
/// (as [`plan::ConfigError`] names it), the key as written in the file, and
/// its span.
#[derive(Default)]
struct PlanSpans(Vec<(String, String, Range<usize>)>);

impl PlanSpans {
    fn add(&mut self, field: impl Into<String>, key: impl Into<String>, span: Range<usize>) {
        self.0.push((field.into(), key.into(), span));
    }

    /// The key and span of the most specific recorded field that `field`
    /// is, or is inside of.
    fn find(&self, field: &str) -> Option<(&str, Range<usize>)> {
        self.0
            .iter()
            .filter(|(f, _, _)| {
                field == f
                    || (field.starts_with(f.as_str())
                        && matches!(field.as_bytes()[f.len()], b'.' | b'['))
            })
            .max_by_key(|(f, _, _)| f.len())
            .map(|(_, k, s)| (k.as_str(), s.clone()))
    }
}

impl Validator<'_> {
    /// `[callcenter]`, `[[agent]]`, `[[queue]]` and `[[number]]`. Appends
    /// one internal trunk per agent to `trunks`; `trunk_names` are the
    /// file's trunks (valid or not), which destinations may name.
    pub(super) fn callcenter(
        &mut self,
        sections: Sections,
        trunk_names: &HashMap<String, usize>,
        trunks: &mut Vec<Trunk>,
        codecs: &[Codec],
    ) -> CallCenter {
        let errors_before = self.problems.len();
        let Sections {
            callcenter: raw,
            agents: raw_agents,
            queues: raw_queues,
            numbers: raw_numbers,
            menus: raw_menus,
            lookups: raw_lookups,
            voicemail: raw_boxes,
        } = sections;
        let rc = raw.unwrap_or_default();
        let utc_offset_minutes = self.value(
            rc.utc_offset,
            "callcenter.utc_offset",
            CHINA_UTC_OFFSET_MINUTES,
            |s| parse_utc_offset(&s),
        );
        let music_on_hold = self.path(rc.music_on_hold, "callcenter.music_on_hold", true);
        let announcements = self.announcements(rc.announcements);
        let vip = self.vip(rc.vip);
        let max_spill_hops = self.value(
            rc.max_spill_hops,
            "callcenter.max_spill_hops",
            DEFAULT_MAX_SPILL_HOPS,
            |n| int_in(n, 1, 10).map(|n| n as u8),
        );
        let voicemail_dir = self.voicemail_dir(rc.voicemail_dir);

        // Ids are handed out in file order to every name declared once, so
        // that a queue can overflow to a queue further down; they match
        // the validated tables whenever the file has no problems (and a
        // file with problems is refused).
        let mut agent_ids: HashMap<String, AgentId> = HashMap::new();
        for ra in &raw_agents {
            let n = agent_ids.len() as u32;
            agent_ids
                .entry(ra.name.get_ref().clone())
                .or_insert(AgentId(n));
        }
        let mut queue_ids: HashMap<String, QueueId> = HashMap::new();
        for rq in &raw_queues {
            let n = queue_ids.len() as u32;
            queue_ids
                .entry(rq.name.get_ref().clone())
                .or_insert(QueueId(n));
        }
        let first_index = |names: Vec<&String>| {
            let mut ids: HashMap<String, usize> = HashMap::new();
            for n in names {
                let i = ids.len();
                ids.entry(n.clone()).or_insert(i);
            }
            ids
        };
        let menu_ids = first_index(raw_menus.iter().map(|m| m.name.get_ref()).collect());
        let lookup_ids = first_index(raw_lookups.iter().map(|l| l.name.get_ref()).collect());
        let box_ids = first_index(raw_boxes.iter().map(|b| b.name.get_ref()).collect());
        let voicemail = self.voicemail_boxes(raw_boxes);
        let names = Names {
            trunks: trunk_names,
            agents: &agent_ids,
            queues: &queue_ids,
            menus: &menu_ids,
            lookups: &lookup_ids,
            boxes: &box_ids,
        };

        let mut acd = AcdConfig {
            max_spill_hops,
            seed: ACD_SEED,
            ..AcdConfig::default()
        };
        let mut agents = Vec::new();
        let mut agent_spans = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for ra in raw_agents {
            let name_span = ra.name.span();
            let line = line_of(self.text, name_span.start);
            let name = ra.name.get_ref().clone();
            if let Some(first) = seen.get(&name) {
                let msg = format!(
                    "agent name {name:?} is already used at line {first}; names must be unique"
                );
                self.report(name_span, "agent.name", msg);
                continue;
            }
            seen.insert(name.clone(), line);
            if let Some((config, mut agent, trunk)) = self.agent(ra, codecs) {
                agent.trunk = TrunkId(trunks.len());
                trunks.push(trunk);
                acd.agents.push(config);
                agents.push(agent);
                agent_spans.push(name_span);
            }
        }

        let mut queues = Vec::new();
        let mut queue_spans = Vec::new();
        seen.clear();
        for rq in raw_queues {
            let name_span = rq.name.span();
            let line = line_of(self.text, name_span.start);
            let name = rq.name.get_ref().clone();
            if let Some(first) = seen.get(&name) {
                let msg = format!(
                    "queue name {name:?} is already used at line {first}; names must be unique"
                );
                self.report(name_span, "queue.name", msg);
                continue;
            }
            seen.insert(name, line);
            if let Some((config, extras)) = self.queue(rq, &names, music_on_hold.as_ref()) {
                acd.queues.push(config);
                queues.push(extras);
                queue_spans.push(name_span);
            }
        }
        // Everything the ACD checks is checked above with its own line;
        // this is the backstop, in case the two ever disagree.
        if self.problems.len() == errors_before
            && let Err(e) = Acd::new(acd.clone())
        {
            let (kind, spans, list) = if e.field.starts_with("agents") {
                ("agent", &agent_spans, "agents[")
            } else {
                ("queue", &queue_spans, "queues[")
            };
            let index = e
                .field
                .strip_prefix(list)
                .and_then(|r| r.split_once(']'))
                .and_then(|(i, _)| i.parse::<usize>().ok());
            let (span, key) = match index.and_then(|i| spans.get(i).map(|s| (i, s))) {
                Some((i, span)) => {
                    let name = match kind {
                        "agent" => &acd.agents[i].name,
                        _ => &acd.queues[i].name,
                    };
                    let rest = e.field.split_once("].").map_or("", |(_, r)| r);
                    (span.clone(), format!("{kind} {name:?}.{rest}"))
                }
                None => (0..0, e.field.clone()),
            };
            self.report(span, &key, e.message);
        }

        let mut numbers = Vec::new();
        let mut number_lines: HashMap<String, usize> = HashMap::new();
        for rn in raw_numbers {
            let span = rn.number.span();
            let number = rn.number.get_ref().clone();
            let line = line_of(self.text, span.start);
            if let Some(first) = number_lines.get(&number) {
                let msg = format!("{number:?} is already defined at line {first}");
                self.report(span, &format!("number {number:?}.number"), msg);
                continue;
            }
            number_lines.insert(number, line);
            if let Some(plan) = self.number(rn, &names, utc_offset_minutes) {
                numbers.push(plan);
            }
        }

        let ivr = self.ivr(raw_menus, raw_lookups, &names);

        CallCenter {
            utc_offset_minutes,
            acd,
            agents,
            queues,
            numbers,
            music_on_hold,
            announcements,
            vip,
            ivr,
            voicemail,
            voicemail_dir,
        }
    }

    /// `callcenter.vip`: digit prefixes (as in the number plans' lists),
    /// each once, with a priority 1-255.
    fn vip(&mut self, raw: Option<S<Vec<super::raw::RawVip>>>) -> Vec<(String, u8)> {
        let Some(raw) = raw else {
            return Vec::new();
        };
        let mut out: Vec<(String, u8)> = Vec::new();
        for v in raw.into_inner() {
            let span = v.prefix.span();
            let prefix = v.prefix.into_inner();
            if let Err(e) = plan::check_digits(&prefix) {
                self.report(span, "callcenter.vip.prefix", format!("{prefix:?}: {e}"));
                continue;
            }
            if out.iter().any(|(p, _)| *p == prefix) {
                self.report(
                    span,
                    "callcenter.vip.prefix",
                    format!("{prefix:?} is listed twice"),
                );
                continue;
            }
            let pspan = v.priority.span();
            match int_in(v.priority.into_inner(), 1, 255) {
                Ok(n) => out.push((prefix, n as u8)),
                Err(e) => self.report(pspan, "callcenter.vip.priority", e),
            }
        }
        out
    }

    /// `callcenter.announcements`: a directory with every file of
    /// [`ANNOUNCEMENT_FILES`].
    fn announcements(&mut self, raw: Option<S<String>>) -> Option<PathBuf> {
        let span = raw.as_ref().map(|r| r.span())?;
        let dir = self.path(raw, "callcenter.announcements", false)?;
        let missing: Vec<&str> = ANNOUNCEMENT_FILES
            .iter()
            .copied()
            .filter(|f| !dir.join(f).is_file())
            .collect();
        if missing.is_empty() {
            return Some(dir);
        }
        self.report(
            span,
            "callcenter.announcements",
            format!(
                "{} lacks {} (it needs {})",
                dir.display(),
                missing.join(", "),
                ANNOUNCEMENT_FILES.join(", ")
            ),
        );
        None
    }

    /// `callcenter.voicemail_dir`: relative to the config file; refused if
    /// it exists and is not a directory.
    fn voicemail_dir(&mut self, raw: Option<S<String>>) -> PathBuf {
        let default = self.base_dir.join(DEFAULT_VOICEMAIL_DIR);
        let span = raw.as_ref().map(|r| r.span());
        let dir = self
            .path(raw, "callcenter.voicemail_dir", false)
            .unwrap_or(default);
        if let Ok(m) = std::fs::metadata(&dir)
            && !m.is_dir()
        {
            self.report(
                span.unwrap_or(0..0),
                "callcenter.voicemail_dir",
                format!("{} exists and is not a directory", dir.display()),
            );
        }
        dir
    }

    /// `[[voicemail]]`: each box checked with its lines, names unique.
    fn voicemail_boxes(&mut self, raw: Vec<RawVoicemail>) -> Vec<VoicemailBox> {
        let mut out = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for r in raw {
            let name_span = r.name.span();
            let name = r.name.get_ref().clone();
            let line = line_of(self.text, name_span.start);
            if let Some(first) = seen.get(&name) {
                let msg = format!(
                    "voicemail name {name:?} is already used at line {first}; names must be unique"
                );
                self.report(name_span, "voicemail.name", msg);
                continue;
            }
            seen.insert(name, line);
            if let Some(b) = self.voicemail_box(r) {
                out.push(b);
            }
        }
        out
    }

    /// One `[[voicemail]]`.
    fn voicemail_box(&mut self, r: RawVoicemail) -> Option<VoicemailBox> {
        let errors_before = self.problems.len();
        let name_span = r.name.span();
        let name = r.name.into_inner();
        if let Err(e) = check_box_name(&name) {
            self.report(name_span.clone(), "voicemail.name", e);
        }
        let key = format!("voicemail {name:?}");
        let k = |f: &str| format!("{key}.{f}");
        let d = VoicemailBox::new(name.clone());
        let greeting = self.path(r.greeting, &k("greeting"), true);
        let max_duration = self.value(
            r.max_seconds,
            &k("max_seconds"),
            d.max_duration,
            secs(5, 600),
        );
        let min_span = r.min_seconds.as_ref().map(|s| s.span());
        let min_duration = self.value(
            r.min_seconds,
            &k("min_seconds"),
            d.min_duration,
            secs(0, 60),
        );
        if min_duration >= max_duration {
            self.report(
                min_span.unwrap_or(name_span),
                &k("min_seconds"),
                format!(
                    "{} s is not below max_seconds ({} s): every message would be discarded",
                    min_duration.as_secs(),
                    max_duration.as_secs()
                ),
            );
        }
        let webhook = self.optional(r.webhook, &k("webhook"), |s| {
            crate::webhook::Url::parse(&s).map(|_| s)
        });
        if self.problems.len() > errors_before {
            return None;
        }
        Some(VoicemailBox {
            name,
            greeting,
            max_duration,
            min_duration,
            webhook,
        })
    }

    /// `[[ivr]]` and `[[http_lookup]]`, checked key by key and then by
    /// [`MenuTree::new`], whose error is put on the line of the field it
    /// names. Empty unless everything is right.
    fn ivr(
        &mut self,
        raw_menus: Vec<RawIvr>,
        raw_lookups: Vec<RawHttpLookup>,
        names: &Names<'_>,
    ) -> IvrConfig {
        let errors_before = self.problems.len();
        let mut spans = PlanSpans::default();
        let mut config = IvrConfig::default();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut entry_seen: Option<String> = None;
        for r in raw_menus {
            let name_span = r.name.span();
            let name = r.name.get_ref().clone();
            let line = line_of(self.text, name_span.start);
            if let Some(first) = seen.get(&name) {
                let msg = format!(
                    "ivr name {name:?} is already used at line {first}; names must be unique"
                );
                self.report(name_span, "ivr.name", msg);
                continue;
            }
            seen.insert(name.clone(), line);
            let i = config.menus.len();
            if let Some(menu) = self.menu(r, names, &mut spans, i, &mut entry_seen) {
                config.menus.push(menu);
            }
        }
        if let Some((_, _, span)) = spans.0.first().cloned()
            && entry_seen.is_none()
            && !seen.contains_key("main")
        {
            self.report(
                span,
                "ivr",
                "no entry menu: mark one [[ivr]] with entry = true, or name one \"main\"",
            );
        }
        seen.clear();
        for r in raw_lookups {
            let name_span = r.name.span();
            let name = r.name.get_ref().clone();
            let line = line_of(self.text, name_span.start);
            if let Some(first) = seen.get(&name) {
                let msg = format!(
                    "http_lookup name {name:?} is already used at line {first}; names must be unique"
                );
                self.report(name_span, "http_lookup.name", msg);
                continue;
            }
            seen.insert(name.clone(), line);
            let i = config.lookups.len();
            if let Some(lookup) = self.http_lookup(r, names, &mut spans, i) {
                config.lookups.push(lookup);
            }
        }
        if self.problems.len() > errors_before {
            return IvrConfig::default();
        }
        // Everything the tree checks is checked above with its own line,
        // except what only the whole can see (a repeat that would loop, an
        // entry no key can start); this is also the backstop.
        if let Err(e) = MenuTree::new(config.clone()) {
            let (key, span) = match spans.find(&e.field) {
                Some((key, span)) => (key.to_string(), span),
                None => (
                    e.field.clone(),
                    spans.0.first().map_or(0..0, |(_, _, s)| s.clone()),
                ),
            };
            self.report(span, &key, e.message);
            return IvrConfig::default();
        }
        config
    }

    /// One `[[ivr]]`; `i` is its index in `ivr.menus`.
    fn menu(
        &mut self,
        r: RawIvr,
        names: &Names<'_>,
        spans: &mut PlanSpans,
        i: usize,
        entry_seen: &mut Option<String>,
    ) -> Option<MenuConfig> {
        let errors_before = self.problems.len();
        let name_span = r.name.span();
        let name = r.name.into_inner();
        if let Err(e) = check_name(
            &name,
            "a menu name",
            "it names the menu in call records and metric labels",
        ) {
            self.report(name_span.clone(), "ivr.name", e);
        }
        let key = format!("ivr {name:?}");
        let k = |f: &str| format!("{key}.{f}");
        let field = |f: &str| format!("menus[{i}].{f}");
        spans.add(format!("menus[{i}]"), key.clone(), name_span.clone());
        spans.add(field("name"), k("name"), name_span.clone());
        let d = MenuConfig::new(name.clone(), String::new());

        let entry_span = r.entry.as_ref().map(|e| e.span());
        let entry = self.value(r.entry, &k("entry"), false, Ok);
        if let (true, Some(span)) = (entry, entry_span) {
            spans.add(field("entry"), k("entry"), span.clone());
            if let Some(first) = entry_seen {
                self.report(
                    span,
                    &k("entry"),
                    format!("{first:?} is already the entry menu; only one may be"),
                );
            } else {
                *entry_seen = Some(name.clone());
            }
        }
        spans.add(field("prompt"), k("prompt"), r.prompt.span());
        let prompt = self.prompt(Some(r.prompt), &k("prompt"));

        let mut digits = Vec::new();
        if let Some(map) = r.digits {
            spans.add(field("digits"), k("digits"), map.span());
            for (dk, action) in map.into_inner() {
                let span = action.span();
                let mut chars = dk.chars();
                let c = match (chars.next(), chars.next()) {
                    (Some(c), None) if ivr::is_dtmf(c) => c,
                    _ => {
                        self.report(
                            span,
                            &k("digits"),
                            format!("{dk:?} is not one DTMF key 0-9, * or #"),
                        );
                        continue;
                    }
                };
                let dkey = k(&format!("digits[\"{c}\"]"));
                spans.add(
                    field(&format!("digits[\"{c}\"]")),
                    dkey.clone(),
                    span.clone(),
                );
                if let Some(a) = self.optional(Some(action), &dkey, |s| names.action(&s)) {
                    digits.push((c, a));
                }
            }
        }

        let collect = match r.collect {
            None => None,
            Some(c) => {
                let c_span = c.span();
                spans.add(field("collect"), k("collect"), c_span.clone());
                let c = c.into_inner();
                let max_digits = i64::from(MAX_ENTRY_DIGITS);
                let min_span = c.min.as_ref().map(|m| m.span());
                let min = self.value(c.min, &k("collect.min"), 1, |n| {
                    int_in(n, 1, max_digits).map(|n| n as u8)
                });
                if let Some(s) = min_span.clone() {
                    spans.add(field("collect.min"), k("collect.min"), s);
                }
                spans.add(field("collect.max"), k("collect.max"), c.max.span());
                let max = self.optional(Some(c.max), &k("collect.max"), |n| {
                    int_in(n, 1, max_digits).map(|n| n as u8)
                });
                if let Some(max) = max
                    && min > max
                {
                    self.report(
                        min_span.unwrap_or(c_span.clone()),
                        &k("collect.min"),
                        format!("{min} is above max ({max})"),
                    );
                }
                let terminator = self.optional(c.terminator, &k("collect.terminator"), |s| {
                    let mut chars = s.chars();
                    match (chars.next(), chars.next()) {
                        (Some(t), None) if ivr::is_dtmf(t) => Ok(t),
                        _ => Err(format!("expected one DTMF key 0-9, * or #, got {s:?}")),
                    }
                });
                spans.add(field("collect.then"), k("collect.then"), c.then.span());
                let then = self.optional(Some(c.then), &k("collect.then"), |s| names.action(&s));
                match (max, then) {
                    (Some(max), Some(then)) => Some(CollectConfig {
                        min,
                        max,
                        terminator,
                        then,
                    }),
                    _ => None,
                }
            }
        };

        let mut timeout = |v: &mut Self, raw: Option<S<i64>>, f: &str, default, hi| {
            if let Some(s) = raw.as_ref().map(|s| s.span()) {
                spans.add(field(f), k(f), s);
            }
            v.value(raw, &k(f), default, secs(1, hi))
        };
        let first_digit_timeout = timeout(
            self,
            r.first_digit_timeout,
            "first_digit_timeout",
            d.first_digit_timeout,
            120,
        );
        let inter_digit_timeout = timeout(
            self,
            r.inter_digit_timeout,
            "inter_digit_timeout",
            d.inter_digit_timeout,
            60,
        );
        if let Some(s) = r.retries.as_ref().map(|s| s.span()) {
            spans.add(field("retries"), k("retries"), s);
        }
        let retries = self.value(r.retries, &k("retries"), d.retries, |n| {
            int_in(n, 0, i64::from(MAX_RETRIES)).map(|n| n as u32)
        });
        let invalid_prompt = self.prompt(r.invalid_prompt, &k("invalid_prompt"));
        let timeout_prompt = self.prompt(r.timeout_prompt, &k("timeout_prompt"));
        let mut action = |v: &mut Self, raw: Option<S<String>>, f: &str| {
            let s = raw.as_ref()?.span();
            spans.add(field(f), k(f), s);
            v.optional(raw, &k(f), |s| names.action(&s))
        };
        let timeout_action =
            action(self, r.timeout_action, "timeout_action").unwrap_or(Action::Hangup);
        let invalid_action = action(self, r.invalid_action, "invalid_action");
        let barge_in = self.value(r.barge_in, &k("barge_in"), true, Ok);

        if self.problems.len() > errors_before {
            return None;
        }
        Some(MenuConfig {
            name,
            entry,
            prompt: prompt?,
            digits,
            collect,
            first_digit_timeout,
            inter_digit_timeout,
            retries,
            invalid_prompt,
            timeout_prompt,
            timeout_action,
            invalid_action,
            barge_in,
        })
    }

    /// One `[[http_lookup]]`; `i` is its index in `ivr.lookups`.
    fn http_lookup(
        &mut self,
        r: RawHttpLookup,
        names: &Names<'_>,
        spans: &mut PlanSpans,
        i: usize,
    ) -> Option<HttpLookupConfig> {
        let errors_before = self.problems.len();
        let name_span = r.name.span();
        let name = r.name.into_inner();
        if let Err(e) = check_name(
            &name,
            "a lookup name",
            "it names the lookup in call records and metric labels",
        ) {
            self.report(name_span.clone(), "http_lookup.name", e);
        }
        let key = format!("http_lookup {name:?}");
        let k = |f: &str| format!("{key}.{f}");
        let field = |f: &str| format!("lookups[{i}].{f}");
        spans.add(format!("lookups[{i}]"), key.clone(), name_span.clone());
        spans.add(field("name"), k("name"), name_span);
        spans.add(field("url"), k("url"), r.url.span());
        let url = self.optional(Some(r.url), &k("url"), |s| {
            let ok = ["http://", "https://"].iter().any(|p| {
                s.len() > p.len() && s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p))
            });
            if ok && !s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Ok(s)
            } else {
                Err(format!("expected an http:// or https:// URL, got {s:?}"))
            }
        });
        if let Some(s) = r.timeout.as_ref().map(|s| s.span()) {
            spans.add(field("timeout"), k("timeout"), s);
        }
        let timeout = self.value(
            r.timeout,
            &k("timeout"),
            Duration::from_secs(3),
            secs(1, 60),
        );
        let mut on = Vec::new();
        for (j, b) in r.on.into_iter().enumerate() {
            let bkey = k(&format!("on[{j}]"));
            let b_span = b.span();
            spans.add(field(&format!("on[{j}]")), bkey.clone(), b_span.clone());
            let b = b.into_inner();
            let f = self.optional(Some(b.field), &format!("{bkey}.field"), non_empty);
            let equals_span = b.equals.span();
            let equals = match b.equals.into_inner() {
                Value::String(s) => Some(s),
                Value::Boolean(v) => Some(v.to_string()),
                Value::Integer(n) => Some(n.to_string()),
                Value::Float(x) => Some(x.to_string()),
                v => {
                    self.report(
                        equals_span,
                        &format!("{bkey}.equals"),
                        format!("expected a string, number or boolean, got {}", a_type(&v)),
                    );
                    None
                }
            };
            spans.add(
                field(&format!("on[{j}].then")),
                format!("{bkey}.then"),
                b.then.span(),
            );
            let then = self.optional(Some(b.then), &format!("{bkey}.then"), |s| names.action(&s));
            if let (Some(field), Some(equals), Some(then)) = (f, equals, then) {
                on.push(BranchConfig {
                    field,
                    equals,
                    then,
                });
            }
        }
        let set_priority_from =
            self.optional(r.set_priority_from, &k("set_priority_from"), non_empty);
        spans.add(field("default"), k("default"), r.default.span());
        let default = self.optional(Some(r.default), &k("default"), |s| names.action(&s));
        let on_error = match r.on_error {
            Some(s) => {
                spans.add(field("on_error"), k("on_error"), s.span());
                self.optional(Some(s), &k("on_error"), |s| names.action(&s))
            }
            None => default.clone(),
        };
        if self.problems.len() > errors_before {
            return None;
        }
        Some(HttpLookupConfig {
            name,
            url: url?,
            timeout,
            on,
            set_priority_from,
            default: default?,
            on_error: on_error?,
        })
    }

    /// A prompt: a file that must exist, kept as a UTF-8 path.
    fn prompt(&mut self, raw: Option<S<String>>, key: &str) -> Option<String> {
        let span = raw.as_ref()?.span();
        let p = self.path(raw, key, true)?;
        match p.to_str() {
            Some(p) => Some(p.to_string()),
            None => {
                self.report(span, key, "the path is not valid UTF-8");
                None
            }
        }
    }

    fn agent(&mut self, r: RawAgent, codecs: &[Codec]) -> Option<(AgentConfig, Agent, Trunk)> {
        let errors_before = self.problems.len();
        let name_span = r.name.span();
        let name = r.name.into_inner();
        if let Err(e) = check_agent_name(&name) {
            self.report(name_span, "agent.name", e);
        }
        let key = format!("agent {name:?}");
        let k = |f: &str| format!("{key}.{f}");
        let contact = self.optional(Some(r.contact), &k("contact"), |s| parse_contact(&s));
        let skills = match r.skills {
            Some(s) => self.skills(s, &k("skills")),
            None => Vec::new(),
        };
        let wrap_up = self.optional(r.wrap_up, &k("wrap_up"), secs(0, 3600));
        let login_at_start = self.value(r.login, &k("login"), true, Ok);
        let password = self
            .optional(r.password, &k("password"), non_empty)
            .map(Secret);
        let (user, address, transport) = contact?;
        if self.problems.len() > errors_before {
            return None;
        }
        // An agent's phone admits no calls as a trunk: an IP block would
        // also claim carriers or callers on the same host. Calls from
        // agents (feature codes, transfers) are recognised otherwise.
        let inbound = Inbound::None;
        let trunk = Trunk {
            name: format!("agent:{name}"),
            address,
            transport,
            outbound_auth: None,
            inbound,
            options_interval: None,
            max_calls: None,
            codecs: codecs.to_vec(),
        };
        let agent = Agent {
            name: name.clone(),
            trunk: TrunkId(usize::MAX), // set by the caller
            user,
            login_at_start,
            password,
        };
        let config = AgentConfig {
            name,
            skills,
            wrap_up,
        };
        Some((config, agent, trunk))
    }

    /// `{ skill = level, ... }`, levels 1-100.
    fn skills(&mut self, raw: Skills, key: &str) -> Vec<Skill> {
        let span = raw.span();
        let mut out = Vec::new();
        for (name, level) in raw.into_inner() {
            if let Err(e) = non_empty(name.clone()) {
                self.report(span.clone(), key, format!("skill name {name:?}: {e}"));
                continue;
            }
            let k = format!("{key}.{name}");
            if let Some(level) =
                self.optional(Some(level), &k, |n| int_in(n, 1, 100).map(|n| n as u8))
            {
                out.push(Skill { name, level });
            }
        }
        out
    }

    fn queue(
        &mut self,
        r: RawQueue,
        names: &Names<'_>,
        default_moh: Option<&PathBuf>,
    ) -> Option<(QueueConfig, QueueExtras)> {
        let errors_before = self.problems.len();
        let name_span = r.name.span();
        let name = r.name.into_inner();
        if let Err(e) = check_name(
            &name,
            "a queue name",
            "it names the queue in metric labels, reports and the API",
        ) {
            self.report(name_span.clone(), "queue.name", e);
        }
        let key = format!("queue {name:?}");
        let k = |f: &str| format!("{key}.{f}");
        let d = QueueConfig::new(name.clone());

        let strategy_span = r.strategy.as_ref().map(|s| s.span());
        let strategy = self.value(r.strategy, &k("strategy"), d.strategy, |s| {
            Strategy::parse(&s).ok_or_else(|| {
                let all: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
                format!("expected one of {}, got {s:?}", all.join(", "))
            })
        });

        let members_span = r.members.as_ref().map(|m| m.span());
        let mut members: Vec<Member> = Vec::new();
        for item in r.members.map(S::into_inner).unwrap_or_default() {
            let span = item.span();
            let (agent, weight) = match weighted(item.into_inner(), "agent", 0) {
                Ok(m) => m,
                Err(e) => {
                    self.report(span, &k("members"), e);
                    continue;
                }
            };
            if let Err(e) = Names::check(names.agents, "agent", &agent) {
                self.report(span, &k("members"), e);
                continue;
            }
            let id = names.agents[&agent];
            if members.iter().any(|m| m.agent == id) {
                self.report(span, &k("members"), format!("{agent:?} is listed twice"));
                continue;
            }
            members.push(Member { agent: id, weight });
        }
        let before_skills = self.problems.len();
        let required_skills = match r.required_skills {
            Some(s) => self.skills(s, &k("required_skills")),
            None => Vec::new(),
        };
        let skills_ok = self.problems.len() == before_skills;
        if members.is_empty() && required_skills.is_empty() && self.problems.len() == errors_before
        {
            self.report(
                members_span.unwrap_or(name_span.clone()),
                &k("members"),
                "no members and no required_skills: no agent would take its calls",
            );
        }
        if strategy == Strategy::Skills && required_skills.is_empty() && skills_ok {
            self.report(
                strategy_span.unwrap_or(name_span.clone()),
                &k("strategy"),
                "\"skills\" needs at least one required skill, e.g. required_skills = { billing = 30 }",
            );
        }

        let ring_timeout = self.value(
            r.ring_timeout,
            &k("ring_timeout"),
            d.ring_timeout,
            secs(1, 600),
        );
        let wrap_up = self.value(r.wrap_up, &k("wrap_up"), d.wrap_up, secs(0, 3600));
        let auto_pause_after = self.value(
            r.auto_pause_after,
            &k("auto_pause_after"),
            d.auto_pause_after,
            |n| int_in(n, 0, 1000).map(|n| (n > 0).then_some(n as u32)),
        );
        let sticky_window = self.value(
            r.sticky_window,
            &k("sticky_window"),
            d.sticky_window,
            off_or(secs(0, 86_400)),
        );
        let expected_handle_time = self.value(
            r.expected_handle_time,
            &k("expected_handle_time"),
            d.expected_handle_time,
            secs(1, 86_400),
        );
        let kd = QueueKpiConfig::default();
        let kpi = QueueKpiConfig {
            service_level_threshold: self.value(
                r.service_level_threshold,
                &k("service_level_threshold"),
                kd.service_level_threshold,
                secs(1, 3600),
            ),
            short_abandon_threshold: self.value(
                r.short_abandon,
                &k("short_abandon"),
                kd.short_abandon_threshold,
                secs(0, 3600),
            ),
        };

        let service_level_target = self.value(
            r.service_level_target,
            &k("service_level_target"),
            0.8,
            |n| int_in(n, 1, 100).map(|n| n as f64 / 100.0),
        );
        let max_length = self.value(r.max_length, &k("max_length"), None, |n| {
            int_in(n, 0, 1_000_000).map(|n| (n > 0).then_some(n as u32))
        });
        let max_estimated_wait = self.value(
            r.max_estimated_wait,
            &k("max_estimated_wait"),
            None,
            off_or(secs(0, 86_400)),
        );
        let max_wait = self.value(r.max_wait, &k("max_wait"), None, off_or(secs(0, 86_400)));
        let when_no_agents = self.value(
            r.spill_when_no_agents,
            &k("spill_when_no_agents"),
            false,
            Ok,
        );
        let overflow_span = r.overflow.as_ref().map(|s| s.span());
        let to = self.optional(r.overflow, &k("overflow"), |s| names.overflow(&s, &name));
        if let (Some(span), Some(_)) = (overflow_span, &to)
            && max_length.is_none()
            && max_estimated_wait.is_none()
            && max_wait.is_none()
            && !when_no_agents
        {
            self.report(
                span,
                &k("overflow"),
                "set, but no caller ever spills: set max_length, max_estimated_wait, max_wait or spill_when_no_agents",
            );
        }

        let position_every = self.value(
            r.announce_position_every,
            &k("announce_position_every"),
            None,
            off_or(secs(0, 3600)),
        );
        let every_span = r.periodic_announcement_every.as_ref().map(|s| s.span());
        let periodic_every = self.value(
            r.periodic_announcement_every,
            &k("periodic_announcement_every"),
            None,
            off_or(secs(0, 3600)),
        );
        let prompt_span = r.periodic_announcement.as_ref().map(|s| s.span());
        let periodic_prompt = self.path(r.periodic_announcement, &k("periodic_announcement"), true);
        match (periodic_every, prompt_span) {
            (Some(_), None) => self.report(
                every_span.unwrap_or(name_span.clone()),
                &k("periodic_announcement_every"),
                "set, but periodic_announcement (the prompt to play) is not",
            ),
            (None, Some(span)) => self.report(
                span,
                &k("periodic_announcement"),
                "set, but periodic_announcement_every is not (or is 0): it would never play",
            ),
            _ => {}
        }

        let digit_span = r.exit_digit.as_ref().map(|s| s.span());
        let digit = self.optional(r.exit_digit, &k("exit_digit"), |s| {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c @ ('0'..='9' | '*' | '#')), None) => Ok(c),
                _ => Err(format!("expected one DTMF digit 0-9, * or #, got {s:?}")),
            }
        });
        let exit_to_span = r.exit_to.as_ref().map(|s| s.span());
        let exit_to = self.optional(r.exit_to, &k("exit_to"), |s| names.overflow(&s, &name));
        let exit = match (digit, exit_to, digit_span, exit_to_span) {
            (Some(d), Some(to), _, _) => Some((d, to)),
            (_, None, Some(span), None) => {
                self.report(
                    span,
                    &k("exit_digit"),
                    "set exit_to too (where the caller goes)",
                );
                None
            }
            (None, _, None, Some(span)) => {
                self.report(
                    span,
                    &k("exit_to"),
                    "set exit_digit too (the key that leaves)",
                );
                None
            }
            _ => None,
        };
        let music_on_hold = self
            .path(r.music_on_hold, &k("music_on_hold"), true)
            .or_else(|| default_moh.cloned());
        let cd = CallbackConfig::default();
        let callback_spans = [
            r.callback_prompt
                .as_ref()
                .map(|s| (s.span(), "callback_prompt")),
            r.callback_attempts
                .as_ref()
                .map(|s| (s.span(), "callback_attempts")),
            r.callback_retry
                .as_ref()
                .map(|s| (s.span(), "callback_retry")),
        ];
        let callback = CallbackConfig {
            prompt: self.path(r.callback_prompt, &k("callback_prompt"), true),
            attempts: self.value(
                r.callback_attempts,
                &k("callback_attempts"),
                cd.attempts,
                |n| int_in(n, 1, 10).map(|n| n as u8),
            ),
            retry: self.value(
                r.callback_retry,
                &k("callback_retry"),
                cd.retry,
                secs(10, 86_400),
            ),
        };
        let calls_back =
            matches!(to, Some(Overflow::Callback)) || matches!(exit, Some((_, Overflow::Callback)));
        if !calls_back {
            for (span, key) in callback_spans.into_iter().flatten() {
                self.report(
                    span,
                    &k(key),
                    "set, but neither overflow nor exit_to is callback",
                );
            }
        }

        if self.problems.len() > errors_before {
            return None;
        }
        let config = QueueConfig {
            name,
            strategy,
            members,
            required_skills,
            ring_timeout,
            wrap_up,
            auto_pause_after,
            sticky_window,
            expected_handle_time,
            spillover: Spillover {
                max_length,
                max_estimated_wait,
                max_wait,
                when_no_agents,
                to,
            },
            announcements: Announcements {
                position_every,
                periodic_every,
            },
            exit,
        };
        let extras = QueueExtras {
            kpi,
            service_level_target,
            music_on_hold,
            periodic_prompt,
            callback,
        };
        Some((config, extras))
    }

    /// A `[[number]]`, checked here key by key and then by
    /// [`NumberPlan::new`], whose error is put on the line of the field
    /// it names.
    fn number(&mut self, r: RawNumber, names: &Names<'_>, utc_offset: i32) -> Option<PlanConfig> {
        let errors_before = self.problems.len();
        let number_span = r.number.span();
        let number = r.number.into_inner();
        let key = format!("number {number:?}");
        let k = |f: &str| format!("{key}.{f}");
        if number.is_empty()
            || number.len() > plan::MAX_PREFIX_LEN
            || !number.bytes().all(|b| b.is_ascii_digit())
        {
            self.report(
                number_span.clone(),
                &k("number"),
                format!(
                    "expected the number as dialled, 1 to {} digits 0-9 (e.g. \"4008123456\")",
                    plan::MAX_PREFIX_LEN
                ),
            );
        }
        let mut spans = PlanSpans::default();
        let d = PlanConfig::default();

        let mut routes = Vec::new();
        if let Some(list) = r.destinations {
            spans.add("routes[0]", "destinations", list.span());
            let destinations = self.destinations(
                list,
                &key,
                "destinations",
                "routes[0].destinations",
                names,
                &mut spans,
            );
            routes.push(RouteConfig {
                name: "default".into(),
                destinations,
                by_region: Vec::new(),
            });
        }
        for rr in r.route {
            let i = routes.len();
            let rname = rr.name.get_ref().clone();
            let rkey = format!("route {rname:?}");
            spans.add(format!("routes[{i}]"), rkey.clone(), rr.name.span());
            spans.add(
                format!("routes[{i}].name"),
                format!("{rkey}.name"),
                rr.name.span(),
            );
            let destinations = self.destinations(
                rr.destinations,
                &key,
                &format!("{rkey}.destinations"),
                &format!("routes[{i}].destinations"),
                names,
                &mut spans,
            );
            let mut by_region = Vec::new();
            for (j, br) in rr
                .by_region
                .map(S::into_inner)
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                let f = format!("routes[{i}].by_region[{j}]");
                let bkey = format!("{rkey}.by_region[{j}]");
                spans.add(
                    format!("{f}.region"),
                    format!("{bkey}.region"),
                    br.region.span(),
                );
                let destinations = self.destinations(
                    br.destinations,
                    &key,
                    &format!("{bkey}.destinations"),
                    &format!("{f}.destinations"),
                    names,
                    &mut spans,
                );
                by_region.push(RegionRouteConfig {
                    region: br.region.into_inner(),
                    destinations,
                });
            }
            routes.push(RouteConfig {
                name: rname,
                destinations,
                by_region,
            });
        }
        if routes.is_empty() {
            self.report(
                number_span.clone(),
                &k("destinations"),
                "the number goes nowhere: set destinations, or add [[number.route]] tables",
            );
        }

        let schedule = r
            .schedule
            .map(|s| self.schedule(s, &k("schedule"), utc_offset, &mut spans));

        let after_hours = match r.after_hours {
            Some(s) => {
                spans.add("after_hours", "after_hours", s.span());
                self.optional(Some(s), &k("after_hours"), |s| {
                    names.destination(&s).map(|()| s)
                })
                .unwrap_or_default()
            }
            None => d.after_hours,
        };
        let pass_caller_id = self.value(r.pass_caller_id, &k("pass_caller_id"), true, Ok);
        let ringback = match r.ringback {
            Some(s) => {
                spans.add("ringback", "ringback", s.span());
                let span = s.span();
                self.path(Some(s), &k("ringback"), true)
                    .and_then(|p| match p.to_str() {
                        Some(p) => Some(p.to_string()),
                        None => {
                            self.report(span, &k("ringback"), "the path is not valid UTF-8");
                            None
                        }
                    })
            }
            None => None,
        };

        let dn = NumberingConfig::default();
        let numbering = NumberingConfig {
            strip_prefixes: match r.strip_prefixes {
                Some(l) => self.strings(
                    l,
                    &k("strip_prefixes"),
                    "numbering.strip_prefixes",
                    "strip_prefixes",
                    &mut spans,
                ),
                None => dn.strip_prefixes,
            },
            china_national_form: self.value(
                r.china_national_form,
                &k("china_national_form"),
                dn.china_national_form,
                Ok,
            ),
        };
        if let Some(s) = &r.list_mode {
            spans.add("restriction.mode", "list_mode", s.span());
        }
        let restriction = RestrictionConfig {
            blacklist: r
                .blacklist
                .map(|l| {
                    self.strings(
                        l,
                        &k("blacklist"),
                        "restriction.blacklist",
                        "blacklist",
                        &mut spans,
                    )
                })
                .unwrap_or_default(),
            mode: self.value(r.list_mode, &k("list_mode"), ListMode::Deny, |s| {
                one_of(&s, &[("deny", ListMode::Deny), ("allow", ListMode::Allow)])
            }),
            allow: r
                .allow
                .map(|l| self.strings(l, &k("allow"), "restriction.allow", "allow", &mut spans))
                .unwrap_or_default(),
            deny: r
                .deny
                .map(|l| self.strings(l, &k("deny"), "restriction.deny", "deny", &mut spans))
                .unwrap_or_default(),
        };

        let attempts_span = r.pin_attempts.as_ref().map(|s| s.span());
        let max_attempts = self.value(
            r.pin_attempts,
            &k("pin_attempts"),
            plan::DEFAULT_PIN_ATTEMPTS,
            |n| int_in(n, 1, i64::from(plan::MAX_PIN_ATTEMPTS)).map(|n| n as u8),
        );
        let prompt_span = r.pin_prompt.as_ref().map(|s| s.span());
        let retry_span = r.pin_retry_prompt.as_ref().map(|s| s.span());
        let pin_prompt = self
            .path(r.pin_prompt, &k("pin_prompt"), true)
            .map(|p| p.to_string_lossy().into_owned());
        let pin_retry_prompt = self
            .path(r.pin_retry_prompt, &k("pin_retry_prompt"), true)
            .map(|p| p.to_string_lossy().into_owned());
        let pin = match r.pin {
            Some(p) => {
                let span = p.span();
                spans.add("pin", "pin", span.clone());
                if prompt_span.is_none() {
                    self.report(
                        span,
                        &k("pin"),
                        "needs pin_prompt, the WAV prompt that asks the caller for it",
                    );
                }
                Some(PinConfig {
                    pin: p.into_inner(),
                    max_attempts,
                    prompt: pin_prompt,
                    retry_prompt: pin_retry_prompt,
                })
            }
            None => {
                for (span, key) in [
                    (attempts_span.clone(), "pin_attempts"),
                    (prompt_span, "pin_prompt"),
                    (retry_span, "pin_retry_prompt"),
                ] {
                    if let Some(span) = span {
                        self.report(span, &k(key), "only used with pin");
                    }
                }
                None
            }
        };
        if let Some(span) = attempts_span {
            spans.add("pin.max_attempts", "pin_attempts", span);
        }

        let df = ForwardingConfig::default();
        let forward =
            |v: &mut Self, l: Option<List>, key: &str, field: &str, spans: &mut PlanSpans| {
                let Some(l) = l else { return Vec::new() };
                spans.add(field, key, l.span());
                let mut out = Vec::new();
                for (i, item) in l.into_inner().into_iter().enumerate() {
                    let span = item.span();
                    spans.add(format!("{field}[{i}]"), key, span.clone());
                    if let Some(s) =
                        v.optional(Some(item), &k(key), |s| names.destination(&s).map(|()| s))
                    {
                        out.push(s);
                    }
                }
                out
            };
        let busy = forward(
            self,
            r.forward_busy,
            "forward_busy",
            "forwarding.busy",
            &mut spans,
        );
        let no_answer = forward(
            self,
            r.forward_no_answer,
            "forward_no_answer",
            "forwarding.no_answer",
            &mut spans,
        );
        let forwarding = ForwardingConfig {
            busy,
            no_answer,
            no_answer_timeout_secs: self.value(
                r.no_answer_timeout,
                &k("no_answer_timeout"),
                df.no_answer_timeout_secs,
                |n| int_in(n, 1, i64::from(plan::MAX_NO_ANSWER_TIMEOUT_SECS)).map(|n| n as u32),
            ),
            hop_limit: self.value(r.hop_limit, &k("hop_limit"), df.hop_limit, |n| {
                int_in(n, 0, i64::from(plan::MAX_HOP_LIMIT)).map(|n| n as u8)
            }),
        };

        let mut regions = Vec::new();
        for (i, rg) in r
            .regions
            .map(S::into_inner)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            spans.add(
                format!("regions[{i}].prefix"),
                format!("regions[{i}].prefix"),
                rg.prefix.span(),
            );
            spans.add(
                format!("regions[{i}].region"),
                format!("regions[{i}].region"),
                rg.region.span(),
            );
            regions.push(RegionConfig {
                prefix: rg.prefix.into_inner(),
                region: rg.region.into_inner(),
            });
        }

        if self.problems.len() > errors_before {
            return None;
        }
        let plan = PlanConfig {
            number,
            numbering,
            restriction,
            pin,
            schedule,
            regions,
            routes,
            after_hours,
            forwarding,
            pass_caller_id,
            ringback,
        };
        if let Err(e) = NumberPlan::new(&plan) {
            let (field, span) = match spans.find(&e.field) {
                Some((key, span)) => (key.to_string(), span),
                None => (e.field.clone(), number_span),
            };
            self.report(span, &k(&field), e.message);
            return None;
        }
        Some(plan)
    }

    /// A list of destinations, each `"kind:name"` or `{ to, weight }`.
    fn destinations(
        &mut self,
        raw: Destinations,
        number_key: &str,
        rel_key: &str,
        field: &str,
        names: &Names<'_>,
        spans: &mut PlanSpans,
    ) -> Vec<WeightedConfig> {
        let key = &format!("{number_key}.{rel_key}");
        let list_span = raw.span();
        let mut out = Vec::new();
        for (i, item) in raw.into_inner().into_iter().enumerate() {
            let span = item.span();
            let parsed = weighted(item.into_inner(), "to", 1)
                .and_then(|(to, w)| names.destination(&to).map(|()| (to, w)));
            match parsed {
                Ok((to, weight)) => {
                    spans.add(format!("{field}[{i}]"), rel_key, span);
                    out.push(WeightedConfig { to, weight });
                }
                Err(e) => self.report(span, key, e),
            }
        }
        if out.is_empty() && self.problems.iter().all(|p| !p.message.starts_with(key)) {
            self.report(list_span, key, "expected at least one destination");
        }
        out
    }

    /// A list of strings, recorded for error lines, duplicates refused.
    fn strings(
        &mut self,
        raw: List,
        key: &str,
        field: &str,
        file_key: &str,
        spans: &mut PlanSpans,
    ) -> Vec<String> {
        spans.add(field, file_key, raw.span());
        let mut out: Vec<String> = Vec::new();
        for item in raw.into_inner() {
            let span = item.span();
            let s = item.into_inner();
            if out.contains(&s) {
                self.report(span, key, format!("{s:?} is listed twice"));
                continue;
            }
            spans.add(format!("{field}[{}]", out.len()), file_key, span);
            out.push(s);
        }
        out
    }

    /// `[number.schedule]`.
    fn schedule(
        &mut self,
        raw: S<RawSchedule>,
        key: &str,
        default_offset: i32,
        spans: &mut PlanSpans,
    ) -> ScheduleConfig {
        spans.add("schedule", "schedule", raw.span());
        let r = raw.into_inner();
        let k = |f: &str| format!("{key}.{f}");
        let utc_offset_minutes = self.value(r.utc_offset, &k("utc_offset"), default_offset, |s| {
            parse_utc_offset(&s)
        });
        let mut segments = Vec::new();
        for (i, seg) in r.segments.into_iter().enumerate() {
            let f = format!("schedule.segments[{i}]");
            spans.add(&f, format!("schedule.segments[{i}]"), seg.span());
            let seg = seg.into_inner();
            for (name, s) in [
                ("start", &seg.start),
                ("end", &seg.end),
                ("route", &seg.route),
            ] {
                spans.add(
                    format!("{f}.{name}"),
                    format!("schedule.segments[{i}].{name}"),
                    s.span(),
                );
            }
            spans.add(
                format!("{f}.days"),
                format!("schedule.segments[{i}].days"),
                seg.days.span(),
            );
            let days_span = seg.days.span();
            let days = match seg.days.into_inner() {
                Value::String(s) => vec![s],
                Value::Array(a) if a.iter().all(Value::is_str) => a
                    .into_iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                v => {
                    self.report(
                        days_span,
                        &format!("{key}.segments[{i}].days"),
                        format!(
                            "expected a day (\"mon\"), a range (\"mon-fri\") or a list of them, got {}",
                            a_type(&v)
                        ),
                    );
                    Vec::new()
                }
            };
            segments.push(SegmentConfig {
                days,
                start: seg.start.into_inner(),
                end: seg.end.into_inner(),
                route: seg.route.into_inner(),
            });
        }
        let mut holidays = Vec::new();
        for (i, h) in r.holidays.into_iter().enumerate() {
            let f = format!("schedule.holidays[{i}]");
            spans.add(&f, &f, h.span());
            let h = h.into_inner();
            spans.add(format!("{f}.date"), format!("{f}.date"), h.date.span());
            let mut list = Vec::new();
            for (j, t) in h.segments.into_iter().enumerate() {
                let g = format!("{f}.segments[{j}]");
                spans.add(&g, &g, t.span());
                let t = t.into_inner();
                for (name, s) in [("start", &t.start), ("end", &t.end), ("route", &t.route)] {
                    spans.add(format!("{g}.{name}"), format!("{g}.{name}"), s.span());
                }
                list.push(TimeRangeConfig {
                    start: t.start.into_inner(),
                    end: t.end.into_inner(),
                    route: t.route.into_inner(),
                });
            }
            holidays.push(HolidayConfig {
                date: h.date.into_inner(),
                segments: list,
            });
        }
        let mut workdays = Vec::new();
        for (i, w) in r.workdays.into_iter().enumerate() {
            let f = format!("schedule.workdays[{i}]");
            spans.add(&f, &f, w.span());
            let w = w.into_inner();
            spans.add(format!("{f}.date"), format!("{f}.date"), w.date.span());
            spans.add(
                format!("{f}.as_weekday"),
                format!("{f}.as"),
                w.as_weekday.span(),
            );
            workdays.push(WorkdayConfig {
                date: w.date.into_inner(),
                as_weekday: w.as_weekday.into_inner(),
            });
        }
        ScheduleConfig {
            utc_offset_minutes,
            segments,
            holidays,
            workdays,
        }
    }
}

/// `+HH:MM` or `-HH:MM` → minutes east of UTC, within ±14:00.
fn parse_utc_offset(s: &str) -> Result<i32, String> {
    let bad = || format!("expected +HH:MM or -HH:MM such as \"+08:00\", got {s:?}");
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let two_digits = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 {
        return Err(bad());
    }
    let minutes = h * 60 + m;
    if minutes > 14 * 60 {
        return Err(format!("{s:?} is beyond the ±14:00 of any time zone"));
    }
    Ok(sign * minutes)
}

fn check_agent_name(name: &str) -> Result<(), String> {
    check_name(
        name,
        "an agent name",
        "it names the agent's trunk, agent:NAME, in call records and metric labels",
    )
}

/// A name of a queue, menu or lookup (`what`, e.g. "a queue name"): the
/// same characters and length as an agent's, for the same reason
/// (`why`): it appears in records, metric labels and the API.
fn check_name(name: &str, what: &str, why: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if name.is_empty() || name.len() > MAX_AGENT_NAME || !name.chars().all(ok) {
        Err(format!(
            "{name:?}: {what} is 1 to {MAX_AGENT_NAME} of A-Z a-z 0-9 . _ - ({why})"
        ))
    } else {
        Ok(())
    }
}

/// A voicemail box's name: it is a directory name and a URL segment.
pub(crate) fn check_box_name(name: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if name.is_empty() || name.len() > 64 || name == "." || name == ".." || !name.chars().all(ok) {
        Err(format!(
            "{name:?}: a voicemail box name is 1 to 64 of A-Z a-z 0-9 . _ - (not . or ..; it names the box's directory and its API path)"
        ))
    } else {
        Ok(())
    }
}

/// `sip:USER@HOST[:PORT][;transport=udp|tcp|tls]` → (user, address,
/// transport).
fn parse_contact(s: &str) -> Result<(String, HostPort, Transport), String> {
    let form =
        "expected sip:USER@HOST[:PORT][;transport=udp|tcp|tls], e.g. \"sip:alice@192.0.2.20:5060\"";
    let rest = s
        .strip_prefix("sip:")
        .ok_or_else(|| format!("{form}, got {s:?}"))?;
    let mut parts = rest.split(';');
    let (user, hostport) = parts
        .next()
        .unwrap_or("")
        .split_once('@')
        .ok_or_else(|| format!("{s:?} has no user part (the phone's extension): {form}"))?;
    // RFC 3261 §25.1 user: unreserved, escaped and user-unreserved
    // characters (';' would start a parameter here).
    let user_ok = |c: char| c.is_ascii_alphanumeric() || "-_.!~*'()%&=+$,?/".contains(c);
    if user.is_empty() || !user.chars().all(user_ok) {
        return Err(format!("{s:?} has no usable user part: {form}"));
    }
    let transport = uri_transport(parts)?;
    let address = host_port(hostport, transport.default_port())?;
    Ok((user.to_string(), address, transport))
}

/// A list element that is a name, or a table with the name under
/// `name_key` and an optional `weight` (default 1, at least `min_weight`).
fn weighted(v: Value, name_key: &str, min_weight: i64) -> Result<(String, u32), String> {
    let form = format!("a name or {{ {name_key} = \"...\", weight = N }}");
    match v {
        Value::String(s) => Ok((s, 1)),
        Value::Table(t) => {
            let mut name = None;
            let mut weight = 1;
            for (k, v) in t {
                match (k.as_str(), v) {
                    (n, Value::String(s)) if n == name_key => name = Some(s),
                    ("weight", Value::Integer(n)) => {
                        weight =
                            int_in(n, min_weight, 10_000).map_err(|e| format!("weight: {e}"))?
                    }
                    (n, v) if n == name_key || n == "weight" => {
                        return Err(format!(
                            "{n}: expected a {}, got {}",
                            if n == "weight" {
                                "whole number"
                            } else {
                                "string"
                            },
                            a_type(&v)
                        ));
                    }
                    (n, _) => return Err(format!("unknown key {n:?}; expected {form}")),
                }
            }
            let name = name.ok_or_else(|| format!("missing {name_key}; expected {form}"))?;
            Ok((name, weight as u32))
        }
        v => Err(format!("expected {form}, got {}", a_type(&v))),
    }
}

/// Whole seconds from `lo` to `hi`.
fn secs(lo: i64, hi: i64) -> impl Fn(i64) -> Result<Duration, String> {
    move |n| int_in(n, lo, hi).map(|n| Duration::from_secs(n as u64))
}

/// Zero as "off".
fn off_or(
    f: impl Fn(i64) -> Result<Duration, String>,
) -> impl Fn(i64) -> Result<Option<Duration>, String> {
    move |n| f(n).map(|d| (!d.is_zero()).then_some(d))
}

/// "a string", "an integer", ... for errors about a TOML value.
fn a_type(v: &Value) -> String {
    let t = v.type_str();
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {t}")
}
