//! Password access: the caller keys a 4–6 digit PIN before connecting.

use super::error::ConfigError;

/// The default number of tries a caller gets.
pub const DEFAULT_PIN_ATTEMPTS: u8 = 3;
/// The most tries a plan may allow.
pub const MAX_PIN_ATTEMPTS: u8 = 10;

/// PIN access as written in config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinConfig {
    /// The PIN: 4 to 6 digits.
    pub pin: String,
    /// Tries before the call is refused, 1 to [`MAX_PIN_ATTEMPTS`].
    /// Default 3.
    pub max_attempts: u8,
    /// The prompt asking for the PIN (a path; the gateway plays it).
    pub prompt: Option<String>,
    /// The prompt after a wrong PIN, before asking again (default: the
    /// PIN prompt again).
    pub retry_prompt: Option<String>,
}

impl Default for PinConfig {
    fn default() -> Self {
        PinConfig {
            pin: String::new(),
            max_attempts: DEFAULT_PIN_ATTEMPTS,
            prompt: None,
            retry_prompt: None,
        }
    }
}

/// A validated PIN. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin {
    digits: Vec<u8>,
    max_attempts: u8,
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pin")
            .field("len", &self.digits.len())
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl Pin {
    /// Validates a PIN config. Errors name `pin` or `max_attempts` (and
    /// never echo the PIN).
    pub fn new(config: &PinConfig) -> Result<Pin, ConfigError> {
        let p = config.pin.as_bytes();
        if !(4..=6).contains(&p.len()) || !p.iter().all(u8::is_ascii_digit) {
            return Err(ConfigError::new("pin", "must be 4 to 6 digits"));
        }
        if !(1..=MAX_PIN_ATTEMPTS).contains(&config.max_attempts) {
            return Err(ConfigError::new(
                "max_attempts",
                format!(
                    "{} is not between 1 and {MAX_PIN_ATTEMPTS}",
                    config.max_attempts
                ),
            ));
        }
        Ok(Pin {
            digits: p.to_vec(),
            max_attempts: config.max_attempts,
        })
    }

    /// The number of digits the caller keys.
    pub fn len(&self) -> usize {
        self.digits.len()
    }

    /// Always false: a PIN has at least 4 digits.
    pub fn is_empty(&self) -> bool {
        self.digits.is_empty()
    }

    /// Tries a caller gets.
    pub fn max_attempts(&self) -> u8 {
        self.max_attempts
    }

    /// Whether `entered` is the PIN; one trailing `#` (the usual "end of
    /// input" key) is ignored. See [`constant_time_eq`].
    pub fn matches(&self, entered: &str) -> bool {
        let entered = entered.strip_suffix('#').unwrap_or(entered);
        constant_time_eq(&self.digits, entered.as_bytes())
    }
}

/// Compares `expected` with `entered` without an early exit: the time
/// taken depends only on the length of `expected`, not on where the first
/// wrong digit is, so timing does not reveal a PIN digit by digit.
pub fn constant_time_eq(expected: &[u8], entered: &[u8]) -> bool {
    let mut diff = u64::from(expected.len() != entered.len());
    for (i, &e) in expected.iter().enumerate() {
        // A missing digit compares as 0xFF, which no keypad sends.
        let got = entered.get(i).copied().unwrap_or(0xFF);
        diff |= u64::from(e ^ got);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(p: &str) -> Result<Pin, ConfigError> {
        Pin::new(&PinConfig {
            prompt: None,
            retry_prompt: None,
            pin: p.into(),
            ..PinConfig::default()
        })
    }

    #[test]
    fn pins_are_four_to_six_digits() {
        for good in ["0000", "12345", "999999"] {
            assert!(pin(good).is_ok(), "{good}");
        }
        for bad in ["", "123", "1234567", "12a4", "12 34", "١٢٣٤", "123#"] {
            let e = pin(bad).unwrap_err();
            assert_eq!(e.to_string(), "pin: must be 4 to 6 digits", "{bad:?}");
        }
        let e = Pin::new(&PinConfig {
            prompt: None,
            retry_prompt: None,
            pin: "1234".into(),
            max_attempts: 0,
        })
        .unwrap_err();
        assert_eq!(e.field, "max_attempts");
        assert!(!format!("{:?}", pin("4321").unwrap()).contains("4321"));
    }

    #[test]
    fn only_the_exact_pin_matches() {
        let p = pin("2468").unwrap();
        assert!(p.matches("2468"));
        assert!(p.matches("2468#"));
        for wrong in ["", "2", "246", "24680", "2469", "1468", "2468##", "#2468"] {
            assert!(!p.matches(wrong), "{wrong:?}");
        }
        assert_eq!(p.len(), 4);
        assert_eq!(p.max_attempts(), 3);
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"12", b"12\xFF"));
    }
}
