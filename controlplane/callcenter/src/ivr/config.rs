//! IVR configuration: menus, their digit maps and multi-digit entries,
//! HTTP lookups and the actions they lead to, as plain data; checked once
//! by [`IvrConfig::validate`] (and [`MenuTree::new`](super::MenuTree::new)).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use crate::plan::Destination;

/// Where a key, an entry, a timeout or an HTTP answer leads.
///
/// The config form is one string: `menu:NAME`, `queue:NAME` (or
/// `queue:NAME;priority=N`, N 0–255), `transfer:DEST` (DEST a number-plan
/// destination such as `number:13800000000`, `trunk:branch`,
/// `agent:alice`, or bare digits for a number), `voicemail:BOX`, `hangup`,
/// `http:LOOKUP`, `repeat` (play the menu again) and `back` (the menu
/// before this one). [`Action::parse`] reads it; `Display` writes it back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// Go to a menu (the current one is remembered for `back`).
    Menu(String),
    /// Put the call in an ACD queue.
    Queue {
        /// The queue's name.
        name: String,
        /// Priority given in the action, if any (higher is served first).
        priority: Option<u8>,
    },
    /// Send the call to a number-plan destination.
    Transfer(Destination),
    /// Send the call to a voicemail box.
    Voicemail(String),
    /// Release the call.
    Hangup,
    /// Ask an HTTP lookup (by name) and branch on its answer.
    Http(String),
    /// Play the current menu again.
    Repeat,
    /// Go back to the previous menu (at the first menu: play it again).
    Back,
}

/// Why an action string did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActionError {
    /// Not one of the known forms.
    UnknownKind,
    /// `kind:` with nothing after the colon.
    EmptyName,
    /// `queue:NAME;…` with something other than `priority=0..255`.
    BadPriority,
    /// `transfer:` with something that is not a destination.
    BadDestination(String),
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionError::UnknownKind => f.write_str(
                "expected menu:NAME, queue:NAME[;priority=N], transfer:DEST, voicemail:BOX, http:NAME, hangup, repeat or back",
            ),
            ActionError::EmptyName => f.write_str("has no name after the colon"),
            ActionError::BadPriority => {
                f.write_str("the only queue option is ;priority=N with N from 0 to 255")
            }
            ActionError::BadDestination(e) => write!(f, "transfer: {e}"),
        }
    }
}

impl std::error::Error for ActionError {}

impl Action {
    /// Parses the config form (kinds are case-insensitive; names are kept
    /// as written, trimmed).
    pub fn parse(s: &str) -> Result<Action, ActionError> {
        let s = s.trim();
        for (word, action) in [
            ("hangup", Action::Hangup),
            ("repeat", Action::Repeat),
            ("back", Action::Back),
        ] {
            if s.eq_ignore_ascii_case(word) {
                return Ok(action);
            }
        }
        let (kind, rest) = s.split_once(':').ok_or(ActionError::UnknownKind)?;
        let kind = kind.trim().to_ascii_lowercase();
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(ActionError::EmptyName);
        }
        match kind.as_str() {
            "menu" => Ok(Action::Menu(rest.to_owned())),
            "voicemail" => Ok(Action::Voicemail(rest.to_owned())),
            "http" => Ok(Action::Http(rest.to_owned())),
            "queue" => {
                let (name, priority) = match rest.split_once(';') {
                    None => (rest, None),
                    Some((name, opt)) => {
                        let (k, v) = opt.split_once('=').ok_or(ActionError::BadPriority)?;
                        if !k.trim().eq_ignore_ascii_case("priority") {
                            return Err(ActionError::BadPriority);
                        }
                        let p = v
                            .trim()
                            .parse::<u8>()
                            .map_err(|_| ActionError::BadPriority)?;
                        (name.trim(), Some(p))
                    }
                };
                if name.is_empty() {
                    return Err(ActionError::EmptyName);
                }
                Ok(Action::Queue {
                    name: name.to_owned(),
                    priority,
                })
            }
            "transfer" => {
                let looks_like_number = rest
                    .strip_prefix('+')
                    .unwrap_or(rest)
                    .chars()
                    .all(|c| c.is_ascii_digit());
                let dest = if looks_like_number {
                    Destination::parse(&format!("number:{rest}"))
                } else {
                    Destination::parse(rest)
                };
                match dest {
                    Ok(Destination::Hangup) => Err(ActionError::BadDestination(
                        "write hangup, not transfer:hangup".into(),
                    )),
                    Ok(d) => Ok(Action::Transfer(d)),
                    Err(e) => Err(ActionError::BadDestination(format!("{rest:?} {e}"))),
                }
            }
            _ => Err(ActionError::UnknownKind),
        }
    }

    /// Whether the action ends the IVR (hands the call on or releases it).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Action::Queue { .. } | Action::Transfer(_) | Action::Voicemail(_) | Action::Hangup
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Menu(n) => write!(f, "menu:{n}"),
            Action::Queue {
                name,
                priority: None,
            } => write!(f, "queue:{name}"),
            Action::Queue {
                name,
                priority: Some(p),
            } => write!(f, "queue:{name};priority={p}"),
            Action::Transfer(d) => write!(f, "transfer:{d}"),
            Action::Voicemail(b) => write!(f, "voicemail:{b}"),
            Action::Hangup => f.write_str("hangup"),
            Action::Http(n) => write!(f, "http:{n}"),
            Action::Repeat => f.write_str("repeat"),
            Action::Back => f.write_str("back"),
        }
    }
}

impl std::str::FromStr for Action {
    type Err = ActionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::parse(s)
    }
}

/// The DTMF keys (RFC 4733 events 0–11), in the order of a digit map.
pub const DTMF_KEYS: [char; 12] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '*', '#'];

/// Whether `c` is a DTMF key `0`–`9`, `*` or `#`.
pub fn is_dtmf(c: char) -> bool {
    matches!(c, '0'..='9' | '*' | '#')
}

/// The longest multi-digit entry (an account or order number).
pub const MAX_ENTRY_DIGITS: u8 = 32;
/// The most retries a menu may allow.
pub const MAX_RETRIES: u32 = 10;
/// Bounds of the first-digit timeout.
pub const FIRST_DIGIT_TIMEOUT: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(120));
/// Bounds of the inter-digit timeout.
pub const INTER_DIGIT_TIMEOUT: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(60));
/// Bounds of an HTTP lookup's timeout.
pub const HTTP_TIMEOUT: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(60));

/// Multi-digit entry in a menu: the caller keys `min` to `max` digits,
/// ended by the terminator, by the `max`-th digit or by the inter-digit
/// timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectConfig {
    /// Fewest digits accepted (1 or more).
    pub min: u8,
    /// Most digits; the entry ends when this many are keyed.
    pub max: u8,
    /// The key that ends the entry (`#` usually), not part of it.
    pub terminator: Option<char>,
    /// What a complete entry leads to (an HTTP lookup, usually).
    pub then: Action,
}

/// One menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuConfig {
    /// Unique name; `menu:NAME` actions and `ivr:NAME` destinations use it.
    pub name: String,
    /// This menu is the tree's entry (at most one menu says so).
    pub entry: bool,
    /// The prompt played on entering the menu (a path the gateway plays).
    pub prompt: String,
    /// Single keys and their actions; no key twice.
    pub digits: Vec<(char, Action)>,
    /// Multi-digit entry: a first key not in `digits` starts it.
    pub collect: Option<CollectConfig>,
    /// How long to wait for the first key after the prompt ends.
    pub first_digit_timeout: Duration,
    /// How long to wait for each further key of a multi-digit entry.
    pub inter_digit_timeout: Duration,
    /// Times the menu is played again after invalid input or no input;
    /// the failure after that runs the exhaust action.
    pub retries: u32,
    /// Played before the menu again after invalid input ("not understood").
    pub invalid_prompt: Option<String>,
    /// Played before the menu again after no input.
    pub timeout_prompt: Option<String>,
    /// What happens when the retries are used up (default `hangup`).
    pub timeout_action: Action,
    /// What happens when the retries are used up by invalid input (default:
    /// `timeout_action`).
    pub invalid_action: Option<Action>,
    /// Keys pressed during the prompt stop it and count as input;
    /// otherwise they are ignored until it ends.
    pub barge_in: bool,
}

impl MenuConfig {
    /// A menu with the usual defaults: 5 s for the first key, 3 s between
    /// keys, 3 retries, barge-in, hang up when retries run out.
    pub fn new(name: impl Into<String>, prompt: impl Into<String>) -> Self {
        MenuConfig {
            name: name.into(),
            entry: false,
            prompt: prompt.into(),
            digits: Vec::new(),
            collect: None,
            first_digit_timeout: Duration::from_secs(5),
            inter_digit_timeout: Duration::from_secs(3),
            retries: 3,
            invalid_prompt: None,
            timeout_prompt: None,
            timeout_action: Action::Hangup,
            invalid_action: None,
            barge_in: true,
        }
    }

    /// The action bound to a key.
    pub fn action_for(&self, key: char) -> Option<&Action> {
        self.digits.iter().find(|(k, _)| *k == key).map(|(_, a)| a)
    }

    /// Whether the menu takes any input (keys or an entry); a menu that
    /// takes none is an announcement: after its prompt it runs
    /// `timeout_action` at once.
    pub fn takes_input(&self) -> bool {
        !self.digits.is_empty() || self.collect.is_some()
    }
}

/// One branch of an HTTP lookup's answer: when `field` equals `equals`,
/// go to `then`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchConfig {
    /// A top-level field of the JSON answer.
    pub field: String,
    /// Its value as text (`"true"`, `"42"`, `"gold"`).
    pub equals: String,
    /// Where to go.
    pub then: Action,
}

/// An HTTP lookup (CRM, VIP flag, self-service query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLookupConfig {
    /// Unique name; `http:NAME` actions use it.
    pub name: String,
    /// The operator's URL; the gateway adds the caller, digits and path.
    pub url: String,
    /// How long to wait for the answer before `on_error`.
    pub timeout: Duration,
    /// Branches, tried in order; the first match wins.
    pub on: Vec<BranchConfig>,
    /// A field of the answer holding a priority (0–255) for a following
    /// queue action.
    pub set_priority_from: Option<String>,
    /// Where to go when no branch matches.
    pub default: Action,
    /// Where to go when the lookup fails or times out.
    pub on_error: Action,
}

impl HttpLookupConfig {
    /// A lookup with a 3 s timeout and no branches.
    pub fn new(name: impl Into<String>, url: impl Into<String>, default: Action) -> Self {
        HttpLookupConfig {
            name: name.into(),
            url: url.into(),
            timeout: Duration::from_secs(3),
            on: Vec::new(),
            set_priority_from: None,
            on_error: default.clone(),
            default,
        }
    }
}

/// The whole IVR: menus and HTTP lookups. Empty by default (no IVR).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IvrConfig {
    /// Menus; `MenuId(i)` is `menus[i]`.
    pub menus: Vec<MenuConfig>,
    /// HTTP lookups.
    pub lookups: Vec<HttpLookupConfig>,
}

/// An IVR configuration was refused: which field, and why (the operator's
/// mistake). `Display` gives `field: message`, e.g.
/// `menus[2].digits["5"]: no menu named "billing"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The path of the field, e.g. `lookups[0].on[1].then`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn err(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// Where an action sits, to word what it may not be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Key,
    Exhausted,
    Answer,
}

impl IvrConfig {
    /// The entry menu: the one with `entry`, else the one named `main`.
    pub fn entry(&self) -> Option<usize> {
        self.menus
            .iter()
            .position(|m| m.entry)
            .or_else(|| self.menus.iter().position(|m| m.name == "main"))
    }

    /// The index of the menu with this name.
    pub fn menu(&self, name: &str) -> Option<usize> {
        self.menus.iter().position(|m| m.name == name)
    }

    /// The index of the lookup with this name.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.lookups.iter().position(|l| l.name == name)
    }

    /// Checks the whole: unique names, an entry menu (unless there are no
    /// menus), every `menu:`/`http:`/`transfer:ivr:` reference resolved,
    /// no key bound twice, sane timeouts and entry lengths. Menus may loop
    /// back to each other. Queue and voicemail names are the gateway's to
    /// check. Returns the first problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut menus = HashMap::new();
        for (i, m) in self.menus.iter().enumerate() {
            if m.name.trim().is_empty() {
                return Err(err(format!("menus[{i}].name"), "must not be empty"));
            }
            if menus.insert(m.name.as_str(), i).is_some() {
                return Err(err(
                    format!("menus[{i}].name"),
                    format!("\"{}\" is defined twice", m.name),
                ));
            }
        }
        let mut lookups = HashSet::new();
        for (i, l) in self.lookups.iter().enumerate() {
            if l.name.trim().is_empty() {
                return Err(err(format!("lookups[{i}].name"), "must not be empty"));
            }
            if !lookups.insert(l.name.as_str()) {
                return Err(err(
                    format!("lookups[{i}].name"),
                    format!("\"{}\" is defined twice", l.name),
                ));
            }
        }
        if !self.menus.is_empty() {
            let entries: Vec<usize> = (0..self.menus.len())
                .filter(|&i| self.menus[i].entry)
                .collect();
            if let [_, second, ..] = entries[..] {
                return Err(err(
                    format!("menus[{second}].entry"),
                    format!(
                        "\"{}\" is already the entry menu; only one may be",
                        self.menus[entries[0]].name
                    ),
                ));
            }
            if self.entry().is_none() {
                return Err(err(
                    "menus",
                    "no entry menu: mark one with entry = true, or name one \"main\"",
                ));
            }
        }
        let check = |action: &Action, field: &str, place: Place| -> Result<(), ConfigError> {
            let target_menu = match action {
                Action::Menu(n) => Some(n),
                Action::Transfer(Destination::Ivr(n)) => Some(n),
                _ => None,
            };
            if let Some(n) = target_menu
                && !menus.contains_key(n.as_str())
            {
                return Err(err(field, format!("no menu named {n:?}")));
            }
            if let Action::Http(n) = action
                && !lookups.contains(n.as_str())
            {
                return Err(err(field, format!("no http_lookup named {n:?}")));
            }
            match (place, action) {
                (Place::Exhausted, Action::Repeat) => Err(err(
                    field,
                    "repeat would replay the menu for ever; use back, a menu or a final action",
                )),
                (Place::Answer, Action::Repeat | Action::Back) => Err(err(
                    field,
                    "an HTTP answer leads to a menu or a final action, not repeat or back",
                )),
                _ => Ok(()),
            }
        };
        for (i, m) in self.menus.iter().enumerate() {
            let at = |f: &str| format!("menus[{i}].{f}");
            if m.prompt.trim().is_empty() {
                return Err(err(at("prompt"), "must not be empty"));
            }
            for (f, p) in [
                ("invalid_prompt", &m.invalid_prompt),
                ("timeout_prompt", &m.timeout_prompt),
            ] {
                if p.as_ref().is_some_and(|p| p.trim().is_empty()) {
                    return Err(err(at(f), "must not be empty (leave it out instead)"));
                }
            }
            let mut seen = HashSet::new();
            for (key, action) in &m.digits {
                let f = at(&format!("digits[\"{key}\"]"));
                if !is_dtmf(*key) {
                    return Err(err(f, format!("'{key}' is not a DTMF key 0-9, * or #")));
                }
                if !seen.insert(*key) {
                    return Err(err(f, "the key is bound twice"));
                }
                check(action, &f, Place::Key)?;
            }
            if let Some(c) = &m.collect {
                if c.min == 0 || c.min > c.max {
                    return Err(err(
                        at("collect.min"),
                        format!("{} is not from 1 to max ({})", c.min, c.max),
                    ));
                }
                if c.max > MAX_ENTRY_DIGITS {
                    return Err(err(
                        at("collect.max"),
                        format!("{} is above {MAX_ENTRY_DIGITS}", c.max),
                    ));
                }
                if let Some(t) = c.terminator
                    && !is_dtmf(t)
                {
                    return Err(err(
                        at("collect.terminator"),
                        format!("'{t}' is not a DTMF key 0-9, * or #"),
                    ));
                }
                if DTMF_KEYS
                    .iter()
                    .all(|k| m.action_for(*k).is_some() || Some(*k) == c.terminator)
                {
                    return Err(err(
                        at("collect"),
                        "every key is bound in digits, so no entry can start",
                    ));
                }
                check(&c.then, &at("collect.then"), Place::Key)?;
            }
            let within = |d: Duration, (lo, hi): (Duration, Duration)| d >= lo && d <= hi;
            if !within(m.first_digit_timeout, FIRST_DIGIT_TIMEOUT) {
                return Err(err(
                    at("first_digit_timeout"),
                    format!(
                        "{:?} is not from {:?} to {:?}",
                        m.first_digit_timeout, FIRST_DIGIT_TIMEOUT.0, FIRST_DIGIT_TIMEOUT.1
                    ),
                ));
            }
            if !within(m.inter_digit_timeout, INTER_DIGIT_TIMEOUT) {
                return Err(err(
                    at("inter_digit_timeout"),
                    format!(
                        "{:?} is not from {:?} to {:?}",
                        m.inter_digit_timeout, INTER_DIGIT_TIMEOUT.0, INTER_DIGIT_TIMEOUT.1
                    ),
                ));
            }
            if m.retries > MAX_RETRIES {
                return Err(err(
                    at("retries"),
                    format!("{} is above {MAX_RETRIES}", m.retries),
                ));
            }
            // An announcement (no input) runs timeout_action after its
            // prompt; `repeat` there is a loop of announcements, allowed.
            let place = if m.takes_input() {
                Place::Exhausted
            } else {
                Place::Key
            };
            check(&m.timeout_action, &at("timeout_action"), place)?;
            if let Some(a) = &m.invalid_action {
                check(a, &at("invalid_action"), Place::Exhausted)?;
            }
        }
        for (i, l) in self.lookups.iter().enumerate() {
            let at = |f: &str| format!("lookups[{i}].{f}");
            let scheme_ok = ["http://", "https://"].iter().any(|s| {
                l.url.len() > s.len()
                    && l.url
                        .get(..s.len())
                        .is_some_and(|h| h.eq_ignore_ascii_case(s))
            });
            if !scheme_ok {
                return Err(err(
                    at("url"),
                    format!("{:?} is not an http:// or https:// URL", l.url),
                ));
            }
            if !(HTTP_TIMEOUT.0..=HTTP_TIMEOUT.1).contains(&l.timeout) {
                return Err(err(
                    at("timeout"),
                    format!(
                        "{:?} is not from {:?} to {:?}",
                        l.timeout, HTTP_TIMEOUT.0, HTTP_TIMEOUT.1
                    ),
                ));
            }
            for (j, b) in l.on.iter().enumerate() {
                if b.field.trim().is_empty() {
                    return Err(err(at(&format!("on[{j}].field")), "must not be empty"));
                }
                check(&b.then, &at(&format!("on[{j}].then")), Place::Answer)?;
            }
            if l.set_priority_from
                .as_ref()
                .is_some_and(|f| f.trim().is_empty())
            {
                return Err(err(at("set_priority_from"), "must not be empty"));
            }
            check(&l.default, &at("default"), Place::Answer)?;
            check(&l.on_error, &at("on_error"), Place::Answer)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip() {
        for s in [
            "menu:sales",
            "queue:support",
            "queue:vip;priority=5",
            "transfer:number:13800000000",
            "transfer:trunk:branch",
            "voicemail:general",
            "hangup",
            "http:crm",
            "repeat",
            "back",
        ] {
            assert_eq!(Action::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            Action::parse("transfer:+8613800000000"),
            Ok(Action::Transfer(Destination::Number(
                "+8613800000000".into()
            )))
        );
        assert_eq!(
            Action::parse(" Queue: vip ; Priority = 9 "),
            Ok(Action::Queue {
                name: "vip".into(),
                priority: Some(9)
            })
        );
    }

    #[test]
    fn malformed_actions_are_refused() {
        assert_eq!(Action::parse(""), Err(ActionError::UnknownKind));
        assert_eq!(Action::parse("sales"), Err(ActionError::UnknownKind));
        assert_eq!(Action::parse("fax:1"), Err(ActionError::UnknownKind));
        assert_eq!(Action::parse("menu:"), Err(ActionError::EmptyName));
        assert_eq!(
            Action::parse("queue:;priority=1"),
            Err(ActionError::EmptyName)
        );
        assert_eq!(
            Action::parse("queue:a;priority=256"),
            Err(ActionError::BadPriority)
        );
        assert_eq!(
            Action::parse("queue:a;weight=1"),
            Err(ActionError::BadPriority)
        );
        assert!(matches!(
            Action::parse("transfer:hangup"),
            Err(ActionError::BadDestination(_))
        ));
        assert!(matches!(
            Action::parse("transfer:fax:1"),
            Err(ActionError::BadDestination(_))
        ));
    }
}
