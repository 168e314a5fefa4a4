//! The call-center services inside `tandem run`: each 400 number's plan,
//! the ACD and the KPI engine, on the run loop's clock.
//!
//! The `tandem-callcenter` state machines are sans-IO and count time as a
//! wall-clock [`Timestamp`] (schedules and 15-minute intervals need the
//! calendar); the run loop counts in [`Instant`]s. [`Services`] keeps one
//! pair of the two read at start and converts between them, so a
//! wall-clock step (NTP) moves neither timers nor intervals.
//!
//! Every ACD event goes to the KPI engine here; the B2BUA sees only the
//! ACD's requests (ring, cancel, spill, announce).

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tandem_callcenter::acd::{self, Acd, AcdError, Input};
use tandem_callcenter::ivr::{MenuId, MenuTree};
use tandem_callcenter::kpi::{IntervalRow, KpiEngine, NumberEvent};
use tandem_callcenter::plan::{Decision, Destination, NumberPlan};
use tandem_callcenter::{AgentId, NumberId, QueueId, Timestamp};

use super::kpi_metrics::{AgentSnapshot, KpiPublisher, KpiSnapshot, QueueLive};
use crate::config::{CallCenter, Config, TrunkId};
use crate::kpi_store::{EntityNames, KpiStore};

/// Where a plan's destination sends a call, resolved against the
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Out over these trunks (failover order) to this called number.
    Trunks {
        /// Trunks to try.
        trunks: Vec<TrunkId>,
        /// The Request-URI user.
        callee: String,
    },
    /// Into an ACD queue.
    Queue(QueueId),
    /// Into an IVR menu.
    Ivr(MenuId),
    /// Into a voicemail box (by name).
    Voicemail(String),
    /// Released with this SIP status.
    Refuse(u16, &'static str),
}

/// How a supervisor joins an agent's call (CALLCENTER.md: silent
/// monitoring, whisper/coach, barge-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MonitorMode {
    /// Hears both parties; nobody hears the supervisor.
    Listen,
    /// Hears both; only the agent hears the supervisor.
    Whisper,
    /// A three-way call: everyone hears everyone.
    Barge,
}

impl MonitorMode {
    /// The API's name for the mode.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MonitorMode::Listen => "listen",
            MonitorMode::Whisper => "whisper",
            MonitorMode::Barge => "barge",
        }
    }

    /// The mode named `s` (as [`MonitorMode::as_str`] spells it).
    pub(crate) fn parse(s: &str) -> Option<MonitorMode> {
        [
            MonitorMode::Listen,
            MonitorMode::Whisper,
            MonitorMode::Barge,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// A supervisor's request on a call, taken by the API and carried out by
/// the B2BUA (which owns the call's legs) right after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Supervise {
    /// The call (the ACD's call id, the B2BUA's key).
    pub(crate) call: u64,
    /// The supervisor, an agent whose phone is rung.
    pub(crate) supervisor: AgentId,
    /// Join or change to this mode; `None` ends the monitoring.
    pub(crate) mode: Option<MonitorMode>,
}

/// The services and their clock.
pub(crate) struct Services {
    /// Each 400 number's plan, indexed like `config.numbers`.
    pub(crate) plans: Vec<NumberPlan>,
    pub(crate) acd: Acd,
    pub(crate) kpi: KpiEngine,
    /// The call-center configuration the services were built from.
    pub(crate) config: CallCenter,
    base: (Instant, Timestamp),
    outputs: Vec<acd::Output>,
    /// The IVR menus, shared by every call in the IVR.
    pub(crate) ivr: Option<Arc<MenuTree>>,
    /// `callcenter.vip`, for lookups.
    vip: tandem_callcenter::plan::PrefixTable<u8>,
    /// Names by id, for KPI rows and metrics.
    queue_names: Vec<String>,
    agent_names: Vec<String>,
    numbers: Vec<String>,
    publisher: Option<KpiPublisher>,
    store: Option<KpiStore>,
    /// Where voicemail messages are kept and indexed.
    pub(crate) voicemail: Option<crate::voicemail::VoicemailStore>,
    /// `tandem_callcenter_ivr_events_total{menu,event}`: what callers do
    /// in the IVR (entered, selected, invalid_input, no_input,
    /// retries_exhausted, lookup_answered, lookup_failed).
    ivr_events: Option<prometheus::IntCounterVec>,
    /// `tandem_callcenter_callbacks_total{queue,outcome}`.
    callbacks: Option<prometheus::IntCounterVec>,
    /// Supervisor requests the API took, for the B2BUA to carry out.
    pub(crate) supervise: Vec<Supervise>,
    /// Calls being monitored: by whom, how, and whether the supervisor's
    /// phone answered yet (kept by the B2BUA, read by the API).
    pub(crate) monitors: std::collections::HashMap<u64, (AgentId, MonitorMode, bool)>,
}

impl Services {
    /// The services of `config`, or `None` when it has no call center.
    /// Errors name what cannot run (a plan or ACD that does not build, or
    /// a feature this build does not have yet).
    pub(crate) fn new(config: &Config, now: Instant) -> Result<Option<Services>, String> {
        let cc = &config.callcenter;
        if cc.is_empty() {
            return Ok(None);
        }
        let mut plans = Vec::with_capacity(cc.numbers.len());
        for p in &cc.numbers {
            let plan = NumberPlan::new(p).map_err(|e| format!("number {}: {e}", p.number))?;
            plans.push(plan);
        }
        let acd = Acd::new(cc.acd.clone()).map_err(|e| format!("callcenter: {e}"))?;
        let mut kpi = KpiEngine::new();
        for (i, q) in cc.queues.iter().enumerate() {
            kpi.configure_queue(QueueId(i as u32), q.kpi);
        }
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut s = Services {
            plans,
            acd,
            kpi,
            config: cc.clone(),
            base: (now, Timestamp::from_millis(wall.as_millis() as u64)),
            outputs: Vec::new(),
            queue_names: cc.acd.queues.iter().map(|q| q.name.clone()).collect(),
            agent_names: cc.acd.agents.iter().map(|a| a.name.clone()).collect(),
            numbers: cc.numbers.iter().map(|n| n.number.clone()).collect(),
            publisher: None,
            store: None,
            voicemail: None,
            ivr_events: None,
            supervise: Vec::new(),
            callbacks: None,
            monitors: std::collections::HashMap::new(),
            vip: {
                let mut t = tandem_callcenter::plan::PrefixTable::new();
                for (prefix, priority) in &cc.vip {
                    // Checked at load (digits, once each).
                    let _ = t.insert(prefix, *priority);
                }
                t
            },
            ivr: if cc.ivr.menus.is_empty() {
                None
            } else {
                Some(Arc::new(
                    MenuTree::new(cc.ivr.clone()).map_err(|e| format!("ivr: {e}"))?,
                ))
            },
        };
        for (i, a) in cc.agents.iter().enumerate() {
            if a.login_at_start {
                let _ = s.input(
                    now,
                    Input::Login {
                        agent: AgentId(i as u32),
                    },
                );
            }
        }
        // Nothing is waiting yet: the logins only produce state events.
        s.outputs.clear();
        Ok(Some(s))
    }

    /// The wall-clock time of `now`.
    pub(crate) fn ts(&self, now: Instant) -> Timestamp {
        let (i0, t0) = self.base;
        t0 + now.saturating_duration_since(i0)
    }

    /// The run-loop instant of `t`.
    pub(crate) fn instant(&self, t: Timestamp) -> Instant {
        let (i0, t0) = self.base;
        i0 + t.saturating_since(t0)
    }

    /// The plan index of a dialled number, if it is a 400 number of ours.
    pub(crate) fn number(&self, dialled: &str) -> Option<usize> {
        self.config.number(dialled)
    }

    /// Runs a number's plan for a new call, and counts the offer.
    pub(crate) fn route(&mut self, now: Instant, number: usize, caller: &str) -> Option<Decision> {
        let at = self.ts(now);
        self.kpi.handle_number_event(NumberEvent::Offered {
            at,
            number: NumberId(number as u32),
        });
        Some(self.plans.get_mut(number)?.route(at, caller))
    }

    /// Counts a call to a number refused for lack of capacity (offered
    /// and blocked; the plan is not run, so its distribution is not
    /// moved on by a call that never went anywhere).
    pub(crate) fn blocked(&mut self, now: Instant, number: usize) {
        let at = self.ts(now);
        self.kpi.handle_number_event(NumberEvent::Offered {
            at,
            number: NumberId(number as u32),
        });
        self.kpi.handle_number_event(NumberEvent::Blocked {
            at,
            number: NumberId(number as u32),
        });
    }

    /// Resolves a plan destination against the configuration and routes.
    pub(crate) fn target(&self, config: &Config, dest: &Destination, dialled: &str) -> Target {
        match dest {
            Destination::Trunk(name) => match config.trunks.iter().position(|t| &t.name == name) {
                Some(i) => Target::Trunks {
                    trunks: vec![TrunkId(i)],
                    callee: dialled.to_string(),
                },
                None => Target::Refuse(404, "No Route"),
            },
            Destination::Number(n) => {
                let digits = n.trim_start_matches('+');
                match config.route_table.lookup(digits) {
                    Some(trunks) => Target::Trunks {
                        trunks: trunks.to_vec(),
                        callee: digits.to_string(),
                    },
                    None => Target::Refuse(404, "No Route"),
                }
            }
            Destination::Agent(name) => match self.agent_by_name(name) {
                Some(a) => {
                    let agent = &self.config.agents[a.index()];
                    Target::Trunks {
                        trunks: vec![agent.trunk],
                        callee: agent.user.clone(),
                    }
                }
                None => Target::Refuse(404, "No Route"),
            },
            Destination::Queue(name) => match self.acd.queue_id(name) {
                Some(q) => Target::Queue(q),
                None => Target::Refuse(404, "No Route"),
            },
            Destination::Ivr(name) => match self.ivr.as_ref().and_then(|t| t.menu_id(name)) {
                Some(m) => Target::Ivr(m),
                None => Target::Refuse(404, "No Route"),
            },
            Destination::Voicemail(name) => match self.config.voicemail_box(name) {
                Some(_) => Target::Voicemail(name.clone()),
                None => Target::Refuse(404, "No Route"),
            },
            Destination::Hangup => Target::Refuse(480, "Temporarily Unavailable"),
        }
    }

    /// What an agent means by dialling or transferring to `name`: another
    /// agent (by name or phone user), a queue, a voicemail box or an IVR
    /// menu, in that order; `None` for anything else (a number).
    pub(crate) fn internal_destination(&self, name: &str) -> Option<Destination> {
        if let Some(a) = self.agent_by_user(name) {
            return Some(Destination::Agent(
                self.config.agents[a.index()].name.clone(),
            ));
        }
        if self.acd.queue_id(name).is_some() {
            return Some(Destination::Queue(name.to_string()));
        }
        if self.config.voicemail_box(name).is_some() {
            return Some(Destination::Voicemail(name.to_string()));
        }
        if self.ivr.as_ref().and_then(|t| t.menu_id(name)).is_some() {
            return Some(Destination::Ivr(name.to_string()));
        }
        None
    }

    /// The queue priority of a caller on the VIP list (0 for others).
    pub(crate) fn vip_priority(&self, caller: &str) -> u8 {
        self.vip.longest_match(caller).map_or(0, |(_, p)| *p)
    }

    fn agent_by_name(&self, name: &str) -> Option<AgentId> {
        self.acd.agent_id(name)
    }

    /// The agent whose phone calls as `user` (its contact's user part, or
    /// its name).
    pub(crate) fn agent_by_user(&self, user: &str) -> Option<AgentId> {
        self.config
            .agents
            .iter()
            .position(|a| a.user == user || a.name == user)
            .map(|i| AgentId(i as u32))
    }

    /// The agent's phone password, if it has one.
    pub(crate) fn agent_password(&self, agent: AgentId) -> Option<&str> {
        self.config
            .agents
            .get(agent.index())
            .and_then(|a| a.password.as_ref())
            .map(|p| p.0.as_str())
    }

    /// The trunk and Request-URI user of an agent's phone.
    pub(crate) fn agent_phone(&self, agent: AgentId) -> Option<(TrunkId, String)> {
        self.config
            .agents
            .get(agent.index())
            .map(|a| (a.trunk, a.user.clone()))
    }

    /// The agent whose phone is behind this trunk.
    pub(crate) fn agent_of_trunk(&self, trunk: TrunkId) -> Option<AgentId> {
        self.config
            .agents
            .iter()
            .position(|a| a.trunk == trunk)
            .map(|i| AgentId(i as u32))
    }

    /// Music on hold of a queue, if configured.
    pub(crate) fn music_on_hold(&self, queue: QueueId) -> Option<&std::path::Path> {
        self.config
            .queues
            .get(queue.index())
            .and_then(|q| q.music_on_hold.as_deref())
            .or(self.config.music_on_hold.as_deref())
    }

    /// The periodic announcement of a queue.
    pub(crate) fn periodic_prompt(&self, queue: QueueId) -> Option<&std::path::Path> {
        self.config
            .queues
            .get(queue.index())
            .and_then(|q| q.periodic_prompt.as_deref())
    }

    /// Feeds the ACD; its events go to the KPI engine, its requests wait
    /// in [`Services::poll_output`].
    pub(crate) fn input(&mut self, now: Instant, input: Input<'_>) -> Result<(), AcdError> {
        let at = self.ts(now);
        let r = self.acd.handle_input(at, input);
        self.collect();
        r
    }

    fn collect(&mut self) {
        while let Some(o) = self.acd.poll_output() {
            match o {
                acd::Output::Event(e) => self.kpi.handle_event(&e),
                other => self.outputs.push(other),
            }
        }
    }

    /// The ACD's next request to the B2BUA.
    pub(crate) fn poll_output(&mut self) -> Option<acd::Output> {
        if self.outputs.is_empty() {
            None
        } else {
            Some(self.outputs.remove(0))
        }
    }

    /// The next ACD or KPI deadline.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        [self.acd.poll_timeout(), self.kpi.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .map(|t| self.instant(t))
    }

    /// Runs the ACD's and KPI engine's timers.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        let at = self.ts(now);
        self.acd.handle_timeout(at);
        self.collect();
        self.kpi.handle_timeout(at);
    }

    /// Where KPIs go (`/metrics` and the interval table) and voicemail
    /// is kept; registers the IVR's counters.
    pub(crate) fn attach(
        &mut self,
        registry: &prometheus::Registry,
        publisher: KpiPublisher,
        store: KpiStore,
        voicemail: crate::voicemail::VoicemailStore,
    ) -> prometheus::Result<()> {
        let events = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "tandem_callcenter_ivr_events_total",
                "What callers did in the IVR, by menu (the lookup's name for lookups) and event.",
            ),
            &["menu", "event"],
        )?;
        registry.register(Box::new(events.clone()))?;
        self.ivr_events = Some(events);
        let callbacks = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "tandem_callcenter_callbacks_total",
                "Callback requests by queue and outcome (requested, connected, retried, dropped).",
            ),
            &["queue", "outcome"],
        )?;
        registry.register(Box::new(callbacks.clone()))?;
        self.callbacks = Some(callbacks);
        self.publisher = Some(publisher);
        self.store = Some(store);
        self.voicemail = Some(voicemail);
        Ok(())
    }

    /// Counts an IVR event.
    /// The share of `queue`'s calls to answer within its threshold.
    pub(crate) fn service_level_target(&self, queue: QueueId) -> Option<f64> {
        self.config
            .queues
            .get(queue.index())
            .map(|q| q.service_level_target)
    }

    /// How `queue` calls callers back.
    pub(crate) fn callback_config(&self, queue: QueueId) -> Option<&crate::config::CallbackConfig> {
        self.config.queues.get(queue.index()).map(|q| &q.callback)
    }

    /// Counts a callback outcome.
    pub(crate) fn count_callback(&self, queue: QueueId, outcome: &str) {
        if let (Some(c), Some(name)) =
            (self.callbacks.as_ref(), self.queue_names.get(queue.index()))
        {
            c.with_label_values(&[name.as_str(), outcome]).inc();
        }
    }

    /// How many times `event` happened in the menu or lookup `name`.
    /// Read from the collected series, so asking does not create a zero
    /// series on `/metrics`.
    pub(crate) fn ivr_event_count(&self, name: &str, event: &str) -> u64 {
        use prometheus::core::Collector;
        let Some(c) = self.ivr_events.as_ref() else {
            return 0;
        };
        let has = |m: &prometheus::proto::Metric, k: &str, v: &str| {
            m.get_label()
                .iter()
                .any(|l| l.name() == k && l.value() == v)
        };
        c.collect()
            .iter()
            .flat_map(|f| f.get_metric())
            .find(|m| has(m, "menu", name) && has(m, "event", event))
            .map_or(0, |m| m.get_counter().get_value() as u64)
    }

    pub(crate) fn count_ivr_event(&self, event: &tandem_callcenter::ivr::Event) {
        use tandem_callcenter::ivr::Event as E;
        let Some(c) = self.ivr_events.as_ref() else {
            return;
        };
        let (menu, name) = match event {
            E::MenuEntered { menu } => (menu, "entered"),
            E::Selected { menu, .. } => (menu, "selected"),
            E::InvalidInput { menu, .. } => (menu, "invalid_input"),
            E::NoInput { menu, .. } => (menu, "no_input"),
            E::RetriesExhausted { menu } => (menu, "retries_exhausted"),
            E::LookupAnswered { lookup, .. } => (lookup, "lookup_answered"),
            E::LookupFailed { lookup, .. } => (lookup, "lookup_failed"),
        };
        c.with_label_values(&[menu.as_str(), name]).inc();
    }

    /// Once a second: closes due intervals, stores their rows and
    /// publishes the live figures.
    pub(crate) fn tick(&mut self, now: Instant) {
        let at = self.ts(now);
        self.kpi.handle_timeout(at);
        self.store_rows();
        let Some(publisher) = self.publisher.as_mut() else {
            return;
        };
        let names = EntityNames {
            queues: &self.queue_names,
            agents: &self.agent_names,
            numbers: &self.numbers,
        };
        let mut snap = KpiSnapshot::from_engine(&self.kpi, &names, at);
        for q in 0..self.queue_names.len() {
            let q = QueueId(q as u32);
            if let Some(status) = self.acd.queue_status(q) {
                snap.set_live(q, QueueLive::from_status(&status, at));
            }
            if let Some(c) = self.config.queues.get(q.index()) {
                snap.set_service_level_target(q, c.service_level_target);
            }
        }
        // Every configured agent has a state, also before its first event
        // (the KPI engine learns agents from their events).
        for (i, name) in self.agent_names.iter().enumerate() {
            if !snap.agents.iter().any(|a| &a.name == name)
                && let Some(status) = self.acd.agent_status(AgentId(i as u32))
            {
                snap.agents.push(AgentSnapshot {
                    name: name.clone(),
                    state: status.state,
                    totals: Default::default(),
                });
            }
        }
        publisher.publish(snap);
    }

    /// At shutdown: the open interval is stored as it stands (a restart
    /// adds to the same row).
    pub(crate) fn shutdown(&mut self, now: Instant) {
        let at = self.ts(now);
        self.kpi.flush(at);
        self.store_rows();
    }

    fn store_rows(&mut self) {
        let names = EntityNames {
            queues: &self.queue_names,
            agents: &self.agent_names,
            numbers: &self.numbers,
        };
        let mut rows: Vec<(IntervalRow, String)> = Vec::new();
        while let Some(row) = self.kpi.poll_output() {
            let name = names.name(row.entity).into_owned();
            rows.push((row, name));
        }
        if rows.is_empty() {
            return;
        }
        match self.store.as_mut() {
            Some(store) => {
                if let Err(e) = store.write(&rows) {
                    eprintln!(
                        "tandem: callcenter: {} KPI rows not stored: {e}",
                        rows.len()
                    );
                }
            }
            None => eprintln!(
                "tandem: callcenter: {} KPI rows dropped: no store",
                rows.len()
            ),
        }
    }
}
