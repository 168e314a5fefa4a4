//! Call restriction: a caller blacklist and allow/deny lists of prefixes.

use std::fmt;

use tandem_call::Cause;

use super::error::ConfigError;
use super::prefix::{PrefixError, PrefixTable};

/// What a caller matching no allow/deny entry gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListMode {
    /// Deny-list mode (the default): unlisted callers are let through.
    #[default]
    Deny,
    /// Allow-list mode: unlisted (and unknown) callers are refused.
    Allow,
}

impl ListMode {
    /// `allow` or `deny` (case-insensitive), as written in config.
    pub fn parse(s: &str) -> Option<ListMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "allow" => Some(ListMode::Allow),
            "deny" => Some(ListMode::Deny),
            _ => None,
        }
    }
}

/// Call restriction as written in config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestrictionConfig {
    /// Calling-number prefixes always refused (normalised form).
    pub blacklist: Vec<String>,
    /// What callers matching no allow/deny entry get.
    pub mode: ListMode,
    /// Prefixes let through (the longest match of allow and deny wins).
    pub allow: Vec<String>,
    /// Prefixes refused (the longest match of allow and deny wins).
    pub deny: Vec<String>,
}

/// An allow/deny entry's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let the caller through.
    Allow,
    /// Refuse the caller.
    Deny,
}

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalReason {
    /// The caller matched this blacklist prefix.
    Blacklisted {
        /// The matching entry.
        prefix: String,
    },
    /// The caller's longest allow/deny match was this deny entry.
    Denied {
        /// The matching entry.
        prefix: String,
    },
    /// Allow-list mode and the caller matched no entry.
    NotAllowed,
    /// Allow-list mode and the calling number is withheld or unreadable.
    UnknownCaller,
    /// The caller keyed a wrong PIN as many times as allowed.
    PinAttemptsExhausted,
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefusalReason::Blacklisted { prefix } => write!(f, "caller blacklisted ({prefix})"),
            RefusalReason::Denied { prefix } => write!(f, "caller on the deny list ({prefix})"),
            RefusalReason::NotAllowed => f.write_str("caller not on the allow list"),
            RefusalReason::UnknownCaller => {
                f.write_str("calling number unknown and only listed callers are allowed")
            }
            RefusalReason::PinAttemptsExhausted => f.write_str("too many wrong PINs"),
        }
    }
}

/// A refused call: why, and the cause to release it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why (for logs and the CDR).
    pub reason: RefusalReason,
    /// The release cause suggested for the caller: 21 call rejected for
    /// every restriction (SIP 403, or 603 with location user).
    pub cause: Cause,
}

impl Refusal {
    pub(crate) fn new(reason: RefusalReason) -> Self {
        Refusal {
            reason,
            cause: Cause::CALL_REJECTED,
        }
    }
}

/// Validated call restriction.
///
/// The blacklist is checked first and always wins. Then the allow and
/// deny lists are one longest-prefix table: the longest entry matching
/// the caller decides (deny `138` with allow `1381234` lets
/// `13812345678` through and stops `13899990000`). A caller matching no
/// entry is refused in [`ListMode::Allow`] and let through in
/// [`ListMode::Deny`]. An unknown caller (withheld or unreadable number)
/// matches nothing.
#[derive(Debug, Clone)]
pub struct Restriction {
    blacklist: PrefixTable<()>,
    lists: PrefixTable<Verdict>,
    mode: ListMode,
}

impl Default for Restriction {
    fn default() -> Self {
        Restriction {
            blacklist: PrefixTable::new(),
            lists: PrefixTable::new(),
            mode: ListMode::Deny,
        }
    }
}

fn prefix_error(field: String, value: &str, e: &PrefixError) -> ConfigError {
    ConfigError::new(field, format!("{value:?} {e}"))
}

impl Restriction {
    /// Validates the lists. A prefix in both allow and deny is refused
    /// (which should win is the operator's call, not ours).
    pub fn new(config: &RestrictionConfig) -> Result<Restriction, ConfigError> {
        let mut r = Restriction {
            mode: config.mode,
            ..Restriction::default()
        };
        for (i, p) in config.blacklist.iter().enumerate() {
            r.blacklist
                .insert(p, ())
                .map_err(|e| prefix_error(format!("blacklist[{i}]"), p, &e))?;
        }
        for (name, list, verdict) in [
            ("allow", &config.allow, Verdict::Allow),
            ("deny", &config.deny, Verdict::Deny),
        ] {
            for (i, p) in list.iter().enumerate() {
                let field = format!("{name}[{i}]");
                match r.lists.insert(p, verdict) {
                    Err(PrefixError::Duplicate) if r.lists.get(p) != Some(&verdict) => {
                        return Err(ConfigError::new(
                            field,
                            format!("{p:?} is in both the allow and the deny list"),
                        ));
                    }
                    Err(e) => return Err(prefix_error(field, p, &e)),
                    Ok(()) => {}
                }
            }
        }
        Ok(r)
    }

    /// Checks a normalised calling number (`None`: unknown caller).
    pub fn check(&self, caller: Option<&str>) -> Result<(), Refusal> {
        let Some(caller) = caller else {
            return match self.mode {
                ListMode::Deny => Ok(()),
                ListMode::Allow => Err(Refusal::new(RefusalReason::UnknownCaller)),
            };
        };
        if let Some((prefix, ())) = self.blacklist.longest_match(caller) {
            return Err(Refusal::new(RefusalReason::Blacklisted {
                prefix: prefix.to_owned(),
            }));
        }
        match (self.lists.longest_match(caller), self.mode) {
            (Some((_, Verdict::Allow)), _) | (None, ListMode::Deny) => Ok(()),
            (Some((prefix, Verdict::Deny)), _) => Err(Refusal::new(RefusalReason::Denied {
                prefix: prefix.to_owned(),
            })),
            (None, ListMode::Allow) => Err(Refusal::new(RefusalReason::NotAllowed)),
        }
    }

    /// The list mode.
    pub fn mode(&self) -> ListMode {
        self.mode
    }

    /// Changes the list mode (takes effect on the next call).
    pub fn set_mode(&mut self, mode: ListMode) {
        self.mode = mode;
    }

    /// Adds a blacklist prefix. Adding one already listed is not an error.
    pub fn block(&mut self, prefix: &str) -> Result<(), PrefixError> {
        self.blacklist.replace(prefix, ()).map(|_| ())
    }

    /// Removes a blacklist prefix; whether it was listed.
    pub fn unblock(&mut self, prefix: &str) -> bool {
        self.blacklist.remove(prefix).is_some()
    }

    /// Sets the allow/deny verdict of a prefix (replacing an earlier one),
    /// or with `None` removes the entry; returns the previous verdict.
    pub fn set_list_entry(
        &mut self,
        prefix: &str,
        verdict: Option<Verdict>,
    ) -> Result<Option<Verdict>, PrefixError> {
        match verdict {
            Some(v) => self.lists.replace(prefix, v),
            None => Ok(self.lists.remove(prefix)),
        }
    }

    /// The blacklist.
    pub fn blacklist(&self) -> &PrefixTable<()> {
        &self.blacklist
    }

    /// The allow and deny entries.
    pub fn lists(&self) -> &PrefixTable<Verdict> {
        &self.lists
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn reason(r: &Restriction, caller: Option<&str>) -> Option<RefusalReason> {
        r.check(caller).err().map(|e| {
            assert_eq!(e.cause, Cause::CALL_REJECTED);
            e.reason
        })
    }

    #[test]
    fn the_longer_of_allow_and_deny_wins() {
        let r = Restriction::new(&RestrictionConfig {
            deny: strings(&["138", "0755"]),
            allow: strings(&["1381234", "07558888"]),
            ..RestrictionConfig::default()
        })
        .unwrap();
        assert_eq!(reason(&r, Some("13812345678")), None);
        assert_eq!(
            reason(&r, Some("13899990000")),
            Some(RefusalReason::Denied {
                prefix: "138".into()
            })
        );
        assert_eq!(reason(&r, Some("075588881234")), None);
        assert!(reason(&r, Some("075512345678")).is_some());
        // Deny mode: unlisted and unknown callers pass.
        assert_eq!(reason(&r, Some("13900000000")), None);
        assert_eq!(reason(&r, None), None);
    }

    #[test]
    fn allow_list_mode_refuses_the_unlisted() {
        let mut r = Restriction::new(&RestrictionConfig {
            mode: ListMode::Allow,
            allow: strings(&["010", "021"]),
            deny: strings(&["0101234"]),
            ..RestrictionConfig::default()
        })
        .unwrap();
        assert_eq!(reason(&r, Some("01088889999")), None);
        assert!(matches!(
            reason(&r, Some("01012345678")),
            Some(RefusalReason::Denied { .. })
        ));
        assert_eq!(
            reason(&r, Some("13812345678")),
            Some(RefusalReason::NotAllowed)
        );
        assert_eq!(reason(&r, None), Some(RefusalReason::UnknownCaller));
        r.set_list_entry("138", Some(Verdict::Allow)).unwrap();
        assert_eq!(reason(&r, Some("13812345678")), None);
        assert_eq!(r.set_list_entry("0101234", None), Ok(Some(Verdict::Deny)));
        assert_eq!(reason(&r, Some("01012345678")), None);
        r.set_mode(ListMode::Deny);
        assert_eq!(reason(&r, None), None);
    }

    #[test]
    fn the_blacklist_beats_any_allow_entry() {
        let mut r = Restriction::new(&RestrictionConfig {
            blacklist: strings(&["13812345678"]),
            mode: ListMode::Allow,
            allow: strings(&["138"]),
            ..RestrictionConfig::default()
        })
        .unwrap();
        assert!(matches!(
            reason(&r, Some("13812345678")),
            Some(RefusalReason::Blacklisted { .. })
        ));
        assert_eq!(reason(&r, Some("13812345679")), None);
        r.block("1381234567").unwrap();
        r.block("1381234567").unwrap();
        assert!(reason(&r, Some("13812345679")).is_some());
        assert!(r.unblock("1381234567"));
        assert!(r.unblock("13812345678"));
        assert!(!r.unblock("13812345678"));
        assert_eq!(reason(&r, Some("13812345678")), None);
        assert!(r.block("138-1").is_err());
    }

    #[test]
    fn bad_lists_name_the_entry() {
        let e = |c: RestrictionConfig| Restriction::new(&c).unwrap_err().to_string();
        assert_eq!(
            e(RestrictionConfig {
                blacklist: strings(&["138", "13x"]),
                ..RestrictionConfig::default()
            }),
            "blacklist[1]: \"13x\" has 'x' at position 2; only 0-9, '*' and '#' are allowed"
        );
        assert_eq!(
            e(RestrictionConfig {
                allow: strings(&["010"]),
                deny: strings(&["021", "010"]),
                ..RestrictionConfig::default()
            }),
            "deny[1]: \"010\" is in both the allow and the deny list"
        );
        assert_eq!(
            e(RestrictionConfig {
                deny: strings(&["021", "021"]),
                ..RestrictionConfig::default()
            }),
            "deny[1]: \"021\" is listed twice"
        );
        assert_eq!(ListMode::parse(" Allow"), Some(ListMode::Allow));
        assert_eq!(ListMode::parse("both"), None);
    }
}
