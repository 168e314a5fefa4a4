//! Interactive voice response: menu trees of any depth driven by DTMF
//! keys, multi-digit entry, retries, go back/repeat, and HTTP lookups that
//! branch on the operator's answer (CALLCENTER.md, "What a 400 platform
//! offers an enterprise": IVR, self-service, screen pop).
//!
//! # Model
//!
//! An [`IvrConfig`] (plain data, from the gateway's `[[ivr]]` and
//! `[[http_lookup]]` sections) is checked once into a [`MenuTree`], shared
//! by every call (`Arc`). Each call in the IVR has its own [`IvrSession`],
//! started at a menu; it ends with exactly one [`Output::Done`] carrying
//! the [`Outcome`] (a queue, a transfer, voicemail or a release), and
//! keeps the call's data ([`CallData`]: menus visited, keys pressed,
//! entries, HTTP answers) for the agent who takes the call.
//!
//! In a menu:
//!
//! - Entering plays the menu's prompt ([`Output::Play`]). With barge-in a
//!   key pressed during a prompt stops it ([`Output::StopPrompt`]) and is
//!   taken as input; without, keys are ignored until the prompt ends.
//! - The wait for the first key starts when the prompt ends
//!   ([`Input::PromptDone`]), or at once if a key barged in.
//! - A key bound in the digit map runs its [`Action`] at once. With a
//!   multi-digit entry (`collect`), any other first key starts the entry,
//!   which ends at the terminator, at `max` keys or after the inter-digit
//!   timeout; an entry shorter than `min` is invalid input. A complete
//!   entry runs `collect.then`.
//! - Invalid input plays the "not understood" prompt, no input (first-key
//!   timeout) the "timeout" prompt, then the menu again; each counts as a
//!   failure. The failure after `retries` replays runs `invalid_action`
//!   (after invalid input, if set) or `timeout_action`.
//! - A menu with neither keys nor entry is an announcement: after its
//!   prompt, `timeout_action` runs at once.
//! - `menu:NAME` remembers the current menu on a stack; `back` returns to
//!   it (at the first menu, `back` replays it); `repeat` replays the
//!   current menu without counting a failure. Menus may loop.
//! - `http:NAME` asks the gateway for a lookup ([`Output::HttpLookup`]),
//!   which answers with [`Input::HttpResult`]: a flat list of the JSON
//!   answer's top-level scalar fields ([`HttpAnswer`]). The first branch
//!   whose field equals its value runs, else `default`; an error or no
//!   answer within the lookup's timeout (default 3 s) runs `on_error`.
//!   With `set_priority_from`, a number in that field (0–255) becomes the
//!   call's priority for a later queue action (the higher of it and the
//!   action's own). Keys are ignored while a lookup is out.
//!
//! Prompts and lookups carry ids ([`PromptId`], [`LookupId`]) so that a
//! late `PromptDone` of a stopped prompt, or the answer of a lookup that
//! already timed out, is recognised and ignored.
//!
//! # Driving loop (STYLE.md rule 2)
//!
//! ```
//! use std::sync::Arc;
//! use tandem_callcenter::ivr::*;
//! use tandem_callcenter::Timestamp;
//!
//! let mut main = MenuConfig::new("main", "prompts/main.wav");
//! main.digits = vec![('1', Action::parse("queue:sales").unwrap())];
//! let tree = Arc::new(MenuTree::new(IvrConfig { menus: vec![main], lookups: vec![] }).unwrap());
//! let mut call = IvrSession::new(tree.clone(), tree.entry(), "13812345678");
//!
//! let mut now = Timestamp::from_secs(1_800_000_000);
//! call.handle_input(now, Input::Start).unwrap();
//! let mut playing = None;
//! while let Some(out) = call.poll_output() {
//!     if let Output::Play { id, .. } = out {
//!         playing = Some(id);
//!     }
//! }
//! let id = playing.unwrap();
//! now = now + std::time::Duration::from_secs(4);
//! call.handle_input(now, Input::PromptDone { id }).unwrap();
//! // Nothing pressed: at the deadline the engine replays the menu.
//! assert_eq!(call.poll_timeout(), Some(now + std::time::Duration::from_secs(5)));
//! call.handle_input(now, Input::Digit('1')).unwrap();
//! let mut outcome = None;
//! while let Some(out) = call.poll_output() {
//!     if let Output::Done(o) = out {
//!         outcome = Some(o);
//!     }
//! }
//! assert_eq!(outcome, Some(Outcome::Queue { name: "sales".into(), priority: 0 }));
//! assert_eq!(call.data().keys, "1");
//! ```
//!
//! # Time and I/O contract
//!
//! No I/O, no clock: `now` is a [`Timestamp`] passed in; the only timer is
//! the deadline [`IvrSession::poll_timeout`] returns (first key, next key
//! or lookup answer). The gateway plays prompts, detects keys and performs
//! HTTP requests off-thread.

mod config;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

pub use config::{
    Action, ActionError, BranchConfig, CollectConfig, ConfigError, DTMF_KEYS, FIRST_DIGIT_TIMEOUT,
    HTTP_TIMEOUT, HttpLookupConfig, INTER_DIGIT_TIMEOUT, IvrConfig, MAX_ENTRY_DIGITS, MAX_RETRIES,
    MenuConfig, is_dtmf,
};

use crate::plan::Destination;
use crate::time::Timestamp;

/// The most menus kept in [`CallData::path`] (menus may loop).
pub const MAX_PATH: usize = 64;
/// The most keys kept in [`CallData::keys`].
pub const MAX_KEYS: usize = 256;
/// The most entries and HTTP answers kept in [`CallData`].
pub const MAX_ENTRIES: usize = 32;
/// The deepest `back` stack; older menus are forgotten.
pub const MAX_STACK: usize = 32;

/// A menu of a [`MenuTree`]: `MenuId(i)` is `config.menus[i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MenuId(pub u32);

impl MenuId {
    /// The index into the config's menus.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for MenuId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "menu-{}", self.0)
    }
}

/// One prompt played by a session; its `PromptDone` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromptId(pub u32);

/// One HTTP lookup asked by a session; its result names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LookupId(pub u32);

/// A validated IVR configuration, shared by every session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuTree {
    config: IvrConfig,
    entry: MenuId,
}

impl MenuTree {
    /// Checks the configuration ([`IvrConfig::validate`]).
    pub fn new(config: IvrConfig) -> Result<MenuTree, ConfigError> {
        config.validate()?;
        let entry = config.entry().unwrap_or(0);
        Ok(MenuTree {
            config,
            entry: MenuId(entry as u32),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &IvrConfig {
        &self.config
    }

    /// The entry menu (`MenuId(0)` of an empty tree, which has no menus:
    /// a session there ends at once with a release).
    pub fn entry(&self) -> MenuId {
        self.entry
    }

    /// The menu with this name (for `ivr:NAME` destinations).
    pub fn menu_id(&self, name: &str) -> Option<MenuId> {
        self.config.menu(name).map(|i| MenuId(i as u32))
    }

    /// A menu's configuration.
    pub fn menu(&self, id: MenuId) -> Option<&MenuConfig> {
        self.config.menus.get(id.index())
    }
}

/// The JSON answer of an HTTP lookup, as the gateway flattens it: the
/// top-level scalar fields, each as text (`true`, `42`, `"gold"` →
/// `gold`); nested objects and arrays are left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpAnswer {
    /// `(field, value)` in the answer's order.
    pub fields: Vec<(String, String)>,
}

impl HttpAnswer {
    /// An answer from `(field, value)` pairs.
    pub fn new<K: Into<String>, V: Into<String>>(fields: impl IntoIterator<Item = (K, V)>) -> Self {
        HttpAnswer {
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of a field (the first, if repeated).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
    }
}

/// Why an HTTP lookup gave no answer (the gateway's word on it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// No connection, reset, DNS failure, or the gateway's own timeout.
    Transport(String),
    /// The server answered with a status other than 2xx.
    Status(u16),
    /// The body was not a JSON object.
    BadBody(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Transport(e) => write!(f, "transport: {e}"),
            HttpError::Status(s) => write!(f, "HTTP status {s}"),
            HttpError::BadBody(e) => write!(f, "answer is not a JSON object: {e}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Something the gateway tells a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The call is answered and in the IVR: play the first menu.
    Start,
    /// The caller pressed a key (`0`–`9`, `*`, `#`).
    Digit(char),
    /// A prompt finished playing by itself (not after [`Output::StopPrompt`]).
    PromptDone {
        /// The prompt, from [`Output::Play`].
        id: PromptId,
    },
    /// An HTTP lookup came back.
    HttpResult {
        /// The lookup, from [`Output::HttpLookup`].
        id: LookupId,
        /// The flattened JSON answer, or why there is none.
        result: Result<HttpAnswer, HttpError>,
    },
    /// The caller hung up.
    Hangup,
}

/// Why a session released the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HangupCause {
    /// A `hangup` action (a key, an entry or an HTTP answer led there).
    Action,
    /// The retries of a menu ran out and its exhaust action releases the
    /// call (`hangup`, or `back` at the first menu).
    RetriesExhausted,
    /// The caller hung up during the IVR.
    CallerHungUp,
    /// The session was started at a menu the tree does not have.
    NoSuchMenu,
}

/// Where the call goes when the IVR is done with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Into an ACD queue, at this priority.
    Queue {
        /// The queue's name.
        name: String,
        /// The higher of the action's priority and one set by an HTTP
        /// lookup (0 for ordinary callers).
        priority: u8,
    },
    /// To a number-plan destination.
    Transfer {
        /// Where.
        dest: Destination,
    },
    /// To a voicemail box.
    Voicemail {
        /// The box's name.
        mailbox: String,
    },
    /// Release the call (for [`HangupCause::CallerHungUp`] it is already
    /// gone).
    Hangup {
        /// Why.
        cause: HangupCause,
    },
}

/// Why an HTTP lookup took `on_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupFailure {
    /// No answer within the lookup's timeout.
    TimedOut,
    /// The gateway reported an error.
    Error(HttpError),
}

/// A fact for logs and KPIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The call entered a menu (also when going back to it).
    MenuEntered {
        /// The menu's name.
        menu: String,
    },
    /// Input the menu took: a bound key or a complete entry.
    Selected {
        /// The menu.
        menu: String,
        /// The key or the entry's digits.
        input: String,
        /// The action it runs (config form).
        action: String,
    },
    /// A key nobody bound, or an entry too short.
    InvalidInput {
        /// The menu.
        menu: String,
        /// What was keyed.
        input: String,
        /// Failures in this menu so far, this one included.
        attempt: u32,
    },
    /// No key within the first-digit timeout.
    NoInput {
        /// The menu.
        menu: String,
        /// Failures in this menu so far, this one included.
        attempt: u32,
    },
    /// The menu's retries ran out; its exhaust action follows.
    RetriesExhausted {
        /// The menu.
        menu: String,
    },
    /// An HTTP lookup answered.
    LookupAnswered {
        /// The lookup's name.
        lookup: String,
        /// The index of the branch taken, `None` for `default`.
        branch: Option<usize>,
    },
    /// An HTTP lookup failed or timed out; `on_error` follows.
    LookupFailed {
        /// The lookup's name.
        lookup: String,
        /// Why.
        reason: LookupFailure,
    },
}

/// What a session asks of the gateway, or reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Play a prompt to the caller; answer with [`Input::PromptDone`] when
    /// it ends by itself.
    Play {
        /// Names this prompt in `PromptDone`.
        id: PromptId,
        /// The prompt (a file path, as configured).
        prompt: String,
        /// Keys may interrupt it (the engine then sends `StopPrompt`).
        barge_in: bool,
    },
    /// Stop the prompt playing now (a key barged in).
    StopPrompt,
    /// Perform an HTTP lookup off-thread; answer with [`Input::HttpResult`]
    /// (the engine gives up on it by itself after the lookup's timeout).
    HttpLookup {
        /// Names this lookup in `HttpResult`.
        id: LookupId,
        /// The lookup's name.
        name: String,
        /// The operator's URL.
        url: String,
        /// The calling number.
        caller: String,
        /// The last multi-digit entry of the call ("" if none).
        digits: String,
        /// The menus visited so far, first to last.
        path: Vec<String>,
    },
    /// The IVR is done with the call; nothing more comes out.
    Done(Outcome),
    /// A fact for logs and KPIs.
    Event(Event),
}

/// A multi-digit entry the caller completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The menu it was keyed in.
    pub menu: String,
    /// The digits (without the terminator).
    pub digits: String,
}

/// The call's data, handed to the agent with the call: where the caller
/// went and what they keyed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallData {
    /// The calling number.
    pub caller: String,
    /// Menus entered, first to last (at most [`MAX_PATH`]).
    pub path: Vec<String>,
    /// Every key the menus took as input, valid or not, in order,
    /// terminators included (at most [`MAX_KEYS`]); keys ignored during a
    /// prompt without barge-in or during a lookup are not kept.
    pub keys: String,
    /// Complete multi-digit entries (at most [`MAX_ENTRIES`]).
    pub entries: Vec<Entry>,
    /// HTTP answers by lookup name (at most [`MAX_ENTRIES`]).
    pub answers: Vec<(String, HttpAnswer)>,
    /// The priority an HTTP lookup set, if any.
    pub priority: Option<u8>,
}

/// An input a session refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IvrError {
    /// An input other than `Start` or `Hangup` before `Start` (API misuse).
    NotStarted,
    /// `Start` twice (API misuse).
    AlreadyStarted,
    /// A key that is not `0`–`9`, `*` or `#` (malformed input).
    NotDtmf(char),
}

impl fmt::Display for IvrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IvrError::NotStarted => f.write_str("the IVR session is not started"),
            IvrError::AlreadyStarted => f.write_str("the IVR session is already started"),
            IvrError::NotDtmf(c) => write!(f, "{c:?} is not a DTMF key 0-9, * or #"),
        }
    }
}

impl std::error::Error for IvrError {}

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Before [`Input::Start`].
    Idle,
    /// A prompt of the current menu is playing.
    Prompting { id: PromptId, barge_in: bool },
    /// The prompts are over; waiting for the first key.
    AwaitingKey { deadline: Timestamp },
    /// A multi-digit entry is being keyed.
    Collecting { digits: String, deadline: Timestamp },
    /// An HTTP lookup is out.
    LookingUp {
        id: LookupId,
        lookup: usize,
        deadline: Timestamp,
    },
    /// [`Output::Done`] was given.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Invalid,
    NoInput,
}

/// One call's walk through the menus. Feed it [`Input`]s and timeouts,
/// drain [`Output`]s.
#[derive(Debug, Clone)]
pub struct IvrSession {
    tree: Arc<MenuTree>,
    state: State,
    menu: usize,
    failures: u32,
    stack: Vec<usize>,
    /// Prompts to play after the current one, before waiting for keys.
    queued: VecDeque<String>,
    last_entry: String,
    data: CallData,
    next_id: u32,
    out: VecDeque<Output>,
}

impl IvrSession {
    /// A session for one call, to start at `menu` (an unknown menu makes
    /// the session end at `Start` with [`HangupCause::NoSuchMenu`]).
    pub fn new(tree: Arc<MenuTree>, menu: MenuId, caller: &str) -> IvrSession {
        IvrSession {
            tree,
            state: State::Idle,
            menu: menu.index(),
            failures: 0,
            stack: Vec::new(),
            queued: VecDeque::new(),
            last_entry: String::new(),
            data: CallData {
                caller: caller.to_owned(),
                ..CallData::default()
            },
            next_id: 0,
            out: VecDeque::new(),
        }
    }

    /// The call's data so far (complete once [`Output::Done`] is out).
    pub fn data(&self) -> &CallData {
        &self.data
    }

    /// The menu the call is in.
    pub fn current_menu(&self) -> MenuId {
        MenuId(self.menu as u32)
    }

    /// Whether [`Output::Done`] was given.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The next output, if any.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The next deadline: for the first key, the next key of an entry, or
    /// a lookup's answer.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match &self.state {
            State::AwaitingKey { deadline }
            | State::Collecting { deadline, .. }
            | State::LookingUp { deadline, .. } => Some(*deadline),
            _ => None,
        }
    }

    /// Runs the deadline if it is due at `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.poll_timeout().is_none_or(|d| d > now) {
            return;
        }
        match std::mem::replace(&mut self.state, State::Idle) {
            State::AwaitingKey { .. } => self.fail(now, Failure::NoInput, String::new()),
            State::Collecting { digits, .. } => self.end_entry(now, digits),
            State::LookingUp { lookup, .. } => {
                let l = &self.tree.config.lookups[lookup];
                let (name, action) = (l.name.clone(), l.on_error.clone());
                self.event(Event::LookupFailed {
                    lookup: name,
                    reason: LookupFailure::TimedOut,
                });
                self.run(now, action, false);
            }
            other => self.state = other,
        }
    }

    /// Handles one input at `now`. After [`Output::Done`] every input is
    /// accepted and ignored.
    pub fn handle_input(&mut self, now: Timestamp, input: Input) -> Result<(), IvrError> {
        if let Input::Digit(c) = input
            && !is_dtmf(c)
        {
            return Err(IvrError::NotDtmf(c));
        }
        match (&self.state, input) {
            (State::Done, _) => Ok(()),
            (_, Input::Hangup) => {
                self.finish(Outcome::Hangup {
                    cause: HangupCause::CallerHungUp,
                });
                Ok(())
            }
            (State::Idle, Input::Start) => {
                if self.menu >= self.tree.config.menus.len() {
                    self.finish(Outcome::Hangup {
                        cause: HangupCause::NoSuchMenu,
                    });
                } else {
                    self.enter(self.menu);
                }
                Ok(())
            }
            (State::Idle, _) => Err(IvrError::NotStarted),
            (_, Input::Start) => Err(IvrError::AlreadyStarted),
            (_, Input::Digit(c)) => {
                self.digit(now, c);
                Ok(())
            }
            (State::Prompting { id, .. }, Input::PromptDone { id: done }) if *id == done => {
                self.prompt_done(now);
                Ok(())
            }
            (State::LookingUp { id, lookup, .. }, Input::HttpResult { id: got, result })
                if *id == got =>
            {
                let lookup = *lookup;
                self.http_result(now, lookup, result);
                Ok(())
            }
            // A stale prompt or lookup: ignored.
            (_, Input::PromptDone { .. } | Input::HttpResult { .. }) => Ok(()),
        }
    }

    fn menu_cfg(&self) -> &MenuConfig {
        &self.tree.config.menus[self.menu]
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    fn finish(&mut self, outcome: Outcome) {
        self.state = State::Done;
        self.queued.clear();
        self.out.push_back(Output::Done(outcome));
    }

    fn id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Enters a menu: records it and plays its prompt.
    fn enter(&mut self, menu: usize) {
        self.menu = menu;
        self.failures = 0;
        let name = self.menu_cfg().name.clone();
        if self.data.path.len() < MAX_PATH {
            self.data.path.push(name.clone());
        }
        self.event(Event::MenuEntered { menu: name });
        let prompt = self.menu_cfg().prompt.clone();
        self.play(vec![prompt]);
    }

    /// Plays prompts in turn, then waits for a key.
    fn play(&mut self, prompts: Vec<String>) {
        self.queued = prompts.into();
        self.play_next();
    }

    fn play_next(&mut self) {
        let Some(prompt) = self.queued.pop_front() else {
            return;
        };
        let id = PromptId(self.id());
        let barge_in = self.menu_cfg().barge_in;
        self.state = State::Prompting { id, barge_in };
        self.out.push_back(Output::Play {
            id,
            prompt,
            barge_in,
        });
    }

    fn prompt_done(&mut self, now: Timestamp) {
        if !self.queued.is_empty() {
            self.play_next();
            return;
        }
        let m = self.menu_cfg();
        if !m.takes_input() {
            let action = m.timeout_action.clone();
            self.run(now, action, false);
            return;
        }
        self.state = State::AwaitingKey {
            deadline: now + m.first_digit_timeout,
        };
    }

    fn record_key(&mut self, c: char) {
        if self.data.keys.len() < MAX_KEYS {
            self.data.keys.push(c);
        }
    }

    fn digit(&mut self, now: Timestamp, c: char) {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Prompting { barge_in: true, .. } => {
                self.out.push_back(Output::StopPrompt);
                self.queued.clear();
                self.first_key(now, c);
            }
            State::AwaitingKey { .. } => self.first_key(now, c),
            State::Collecting { mut digits, .. } => {
                self.record_key(c);
                let m = self.menu_cfg();
                let collect = m.collect.as_ref();
                let terminator = collect.and_then(|c| c.terminator);
                let max = usize::from(collect.map_or(1, |c| c.max));
                let inter = m.inter_digit_timeout;
                if terminator == Some(c) {
                    return self.end_entry(now, digits);
                }
                digits.push(c);
                if digits.len() >= max {
                    self.end_entry(now, digits);
                } else {
                    self.state = State::Collecting {
                        digits,
                        deadline: now + inter,
                    };
                }
            }
            // Without barge-in, and during a lookup, keys are ignored.
            other => self.state = other,
        }
    }

    /// The first key of an attempt at this menu.
    fn first_key(&mut self, now: Timestamp, c: char) {
        let m = self.menu_cfg();
        let entry = m
            .collect
            .as_ref()
            .map(|col| (col.terminator, col.max, m.inter_digit_timeout));
        if let Some(action) = m.action_for(c).cloned() {
            self.record_key(c);
            self.event(Event::Selected {
                menu: self.menu_cfg().name.clone(),
                input: c.to_string(),
                action: action.to_string(),
            });
            self.run(now, action, false);
            return;
        }
        match entry {
            Some((terminator, max, inter)) if terminator != Some(c) => {
                self.record_key(c);
                let digits = c.to_string();
                if max <= 1 {
                    self.end_entry(now, digits);
                } else {
                    self.state = State::Collecting {
                        digits,
                        deadline: now + inter,
                    };
                }
            }
            _ => {
                self.record_key(c);
                self.fail(now, Failure::Invalid, c.to_string());
            }
        }
    }

    /// An entry ended (terminator, `max` keys or inter-digit timeout).
    fn end_entry(&mut self, now: Timestamp, digits: String) {
        let Some(collect) = self.menu_cfg().collect.clone() else {
            return self.fail(now, Failure::Invalid, digits);
        };
        if digits.len() < usize::from(collect.min) {
            return self.fail(now, Failure::Invalid, digits);
        }
        let menu = self.menu_cfg().name.clone();
        self.event(Event::Selected {
            menu: menu.clone(),
            input: digits.clone(),
            action: collect.then.to_string(),
        });
        if self.data.entries.len() < MAX_ENTRIES {
            self.data.entries.push(Entry {
                menu,
                digits: digits.clone(),
            });
        }
        self.last_entry = digits;
        self.run(now, collect.then, false);
    }

    /// Invalid input or no input: the not-understood or timeout prompt and
    /// the menu again, or the exhaust action once retries are used up.
    fn fail(&mut self, now: Timestamp, failure: Failure, input: String) {
        self.failures = self.failures.saturating_add(1);
        let m = self.menu_cfg();
        let (menu, attempt) = (m.name.clone(), self.failures);
        let event = match failure {
            Failure::Invalid => Event::InvalidInput {
                menu: menu.clone(),
                input,
                attempt,
            },
            Failure::NoInput => Event::NoInput {
                menu: menu.clone(),
                attempt,
            },
        };
        self.event(event);
        let m = self.menu_cfg();
        if self.failures > m.retries {
            let action = match failure {
                Failure::Invalid => m.invalid_action.clone(),
                Failure::NoInput => None,
            }
            .unwrap_or_else(|| m.timeout_action.clone());
            self.event(Event::RetriesExhausted { menu });
            self.run(now, action, true);
            return;
        }
        let first = match failure {
            Failure::Invalid => m.invalid_prompt.clone(),
            Failure::NoInput => m.timeout_prompt.clone(),
        };
        let prompts = first.into_iter().chain([m.prompt.clone()]).collect();
        self.play(prompts);
    }

    /// Runs an action; `exhausted` when the retries of the menu ran out.
    fn run(&mut self, now: Timestamp, action: Action, exhausted: bool) {
        match action {
            Action::Menu(name) => match self.tree.config.menu(&name) {
                Some(next) => {
                    if self.stack.len() == MAX_STACK {
                        self.stack.remove(0);
                    }
                    self.stack.push(self.menu);
                    self.enter(next);
                }
                // Unreachable in a validated tree.
                None => self.finish(Outcome::Hangup {
                    cause: HangupCause::NoSuchMenu,
                }),
            },
            Action::Repeat => {
                let prompt = self.menu_cfg().prompt.clone();
                self.play(vec![prompt]);
            }
            Action::Back => match self.stack.pop() {
                Some(prev) => self.enter(prev),
                None if exhausted => self.finish(Outcome::Hangup {
                    cause: HangupCause::RetriesExhausted,
                }),
                None => {
                    let prompt = self.menu_cfg().prompt.clone();
                    self.play(vec![prompt]);
                }
            },
            Action::Http(name) => match self.tree.config.lookup(&name) {
                Some(lookup) => {
                    let id = LookupId(self.id());
                    let l = &self.tree.config.lookups[lookup];
                    let out = Output::HttpLookup {
                        id,
                        name: l.name.clone(),
                        url: l.url.clone(),
                        caller: self.data.caller.clone(),
                        digits: self.last_entry.clone(),
                        path: self.data.path.clone(),
                    };
                    self.state = State::LookingUp {
                        id,
                        lookup,
                        deadline: now + l.timeout,
                    };
                    self.out.push_back(out);
                }
                None => self.finish(Outcome::Hangup {
                    cause: HangupCause::NoSuchMenu,
                }),
            },
            Action::Queue { name, priority } => {
                let priority = priority.unwrap_or(0).max(self.data.priority.unwrap_or(0));
                self.finish(Outcome::Queue { name, priority });
            }
            Action::Transfer(dest) => self.finish(Outcome::Transfer { dest }),
            Action::Voicemail(mailbox) => self.finish(Outcome::Voicemail { mailbox }),
            Action::Hangup => self.finish(Outcome::Hangup {
                cause: if exhausted {
                    HangupCause::RetriesExhausted
                } else {
                    HangupCause::Action
                },
            }),
        }
    }

    fn http_result(
        &mut self,
        now: Timestamp,
        lookup: usize,
        result: Result<HttpAnswer, HttpError>,
    ) {
        let tree = Arc::clone(&self.tree);
        let l = &tree.config.lookups[lookup];
        let answer = match result {
            Ok(a) => a,
            Err(e) => {
                self.event(Event::LookupFailed {
                    lookup: l.name.clone(),
                    reason: LookupFailure::Error(e),
                });
                return self.run(now, l.on_error.clone(), false);
            }
        };
        if let Some(p) = l
            .set_priority_from
            .as_deref()
            .and_then(|f| answer.get(f))
            .and_then(parse_priority)
        {
            self.data.priority = Some(p);
        }
        let branch =
            l.on.iter()
                .position(|b| answer.get(&b.field) == Some(b.equals.as_str()));
        self.event(Event::LookupAnswered {
            lookup: l.name.clone(),
            branch,
        });
        let action = branch.map_or(&l.default, |i| &l.on[i].then).clone();
        if self.data.answers.len() < MAX_ENTRIES {
            self.data.answers.push((l.name.clone(), answer));
        }
        self.run(now, action, false);
    }
}

/// A priority from an answer's field: a whole number (`7`, `"7"`, `7.0`),
/// clamped to 0–255; anything else is no priority.
fn parse_priority(s: &str) -> Option<u8> {
    let s = s.trim();
    let n: f64 = s.parse().ok()?;
    if !n.is_finite() || n.fract() != 0.0 {
        return None;
    }
    Some(n.clamp(0.0, 255.0) as u8)
}
