//! Calling-number normalisation: one form for every way a number arrives.

use super::prefix::check_digits;

/// How calling numbers are normalised.
///
/// The same mobile phone reaches a 400 number as `+8613812345678` (SIP,
/// international form), `008613812345678` (international prefix),
/// `013812345678` (a trunk `0` added by some fixed networks) or
/// `13812345678`. Lists and region tables are written in the national
/// form that Chinese operators read every day — mobiles as 11 digits
/// starting `1`, fixed lines with their area code and trunk `0`
/// (`01012345678`, `075512345678`) — so calling numbers are brought to it
/// before any lookup. The rules, applied in this order:
///
/// 1. **Strip** the longest of the configured prefixes that the number
///    starts with (e.g. `+86`, `0086`), once.
/// 2. With `china_national_form` (the default):
///    - after a strip, a number that is not a mobile (`1` then `3`–`9`)
///      and not a national service number (`400`, `800`, `95`, `96`) gets
///      the trunk `0` back: `+861012345678` → `01012345678`;
///    - without a strip, a 12-digit `0` + mobile (`01[3-9]…`) loses the
///      `0`: `013812345678` → `13812345678`;
///    - a remaining leading `+` (a foreign caller) becomes `00`, the
///      international prefix, so `+12125550100` → `0012125550100` and a
///      deny entry `001` catches it.
///
/// The result must then be a string of `0`–`9`, `*`, `#` of at most
/// [`MAX_PREFIX_LEN`](super::MAX_PREFIX_LEN) characters; anything else
/// (empty, `anonymous`, a SIP URI) is an *unknown caller*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberingConfig {
    /// Prefixes removed from the front of a calling number, the longest
    /// matching one first, at most once. Default `["+86", "0086"]`.
    pub strip_prefixes: Vec<String>,
    /// Apply China's national form after stripping (trunk `0` for fixed
    /// lines, none for mobiles, `+` → `00`). Default `true`.
    pub china_national_form: bool,
}

impl Default for NumberingConfig {
    fn default() -> Self {
        NumberingConfig {
            strip_prefixes: vec!["+86".into(), "0086".into()],
            china_national_form: true,
        }
    }
}

/// A validated [`NumberingConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbering {
    /// Longest first.
    strip: Vec<String>,
    national: bool,
}

impl Default for Numbering {
    fn default() -> Self {
        Numbering::new(&NumberingConfig::default())
    }
}

/// Mobile numbers: `1` then `3`–`9` (China's 13x–19x blocks).
fn is_mobile(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() >= 2 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// National service numbers dialled without an area code.
fn is_national_service(n: &str) -> bool {
    ["400", "800", "95", "96"].iter().any(|p| n.starts_with(p))
}

impl Numbering {
    /// Builds the normaliser. Empty strip prefixes are ignored.
    pub fn new(config: &NumberingConfig) -> Self {
        let mut strip: Vec<String> = config
            .strip_prefixes
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect();
        strip.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        strip.dedup();
        Numbering {
            strip,
            national: config.china_national_form,
        }
    }

    /// The normalised form of `calling`, or `None` for an unknown caller
    /// (empty, withheld, or not a keypad string after normalisation).
    /// Surrounding whitespace is ignored.
    pub fn normalise(&self, calling: &str) -> Option<String> {
        let calling = calling.trim();
        let stripped = self
            .strip
            .iter()
            .find_map(|p| calling.strip_prefix(p.as_str()));
        let rest = stripped.unwrap_or(calling);
        let out = if !self.national {
            rest.to_owned()
        } else if stripped.is_some() {
            if rest.is_empty()
                || rest.starts_with('0')
                || is_mobile(rest)
                || is_national_service(rest)
                || !rest.as_bytes()[0].is_ascii_digit()
            {
                rest.to_owned()
            } else {
                format!("0{rest}")
            }
        } else if let Some(foreign) = rest.strip_prefix('+') {
            format!("00{foreign}")
        } else if rest.len() == 12 && rest.starts_with('0') && is_mobile(&rest[1..]) {
            rest[1..].to_owned()
        } else {
            rest.to_owned()
        };
        check_digits(&out).ok()?;
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_forms_of_a_mobile_are_one() {
        let n = Numbering::default();
        for form in [
            "+8613812345678",
            "008613812345678",
            "013812345678",
            "13812345678",
            " 13812345678 ",
        ] {
            assert_eq!(n.normalise(form).as_deref(), Some("13812345678"), "{form}");
        }
    }

    #[test]
    fn fixed_lines_keep_or_regain_their_trunk_zero() {
        let n = Numbering::default();
        assert_eq!(n.normalise("+861012345678").as_deref(), Some("01012345678"));
        assert_eq!(
            n.normalise("0086755123456789").as_deref(),
            Some("0755123456789")
        );
        assert_eq!(n.normalise("01012345678").as_deref(), Some("01012345678"));
        assert_eq!(n.normalise("075512345678").as_deref(), Some("075512345678"));
        // Beijing numbers start 010 too but have 11 digits, not 12.
        assert_eq!(n.normalise("01023456789").as_deref(), Some("01023456789"));
        assert_eq!(n.normalise("+864001234567").as_deref(), Some("4001234567"));
        assert_eq!(n.normalise("+8695555").as_deref(), Some("95555"));
    }

    #[test]
    fn foreign_and_unknown_callers() {
        let n = Numbering::default();
        assert_eq!(
            n.normalise("+12125550100").as_deref(),
            Some("0012125550100")
        );
        assert_eq!(n.normalise("").as_deref(), None);
        assert_eq!(n.normalise("anonymous").as_deref(), None);
        assert_eq!(n.normalise("+86").as_deref(), None);
        assert_eq!(n.normalise("138-1234-5678").as_deref(), None);
        assert_eq!(n.normalise(&"1".repeat(40)).as_deref(), None);
    }

    #[test]
    fn plain_stripping_without_the_national_form() {
        let n = Numbering::new(&NumberingConfig {
            strip_prefixes: vec!["+".into(), "+86".into(), String::new()],
            china_national_form: false,
        });
        // "+86" is longer than "+", so it is tried first; only one strip.
        assert_eq!(n.normalise("+861012345678").as_deref(), Some("1012345678"));
        assert_eq!(n.normalise("+8686").as_deref(), Some("86"));
        assert_eq!(n.normalise("+12125550100").as_deref(), Some("12125550100"));
        assert_eq!(n.normalise("013812345678").as_deref(), Some("013812345678"));
    }
}
