//! Configuration errors that name the field at fault.

use std::fmt;

/// A plan configuration was refused: which field, and why. Always the
/// operator's mistake (the config), never the caller's or the network's.
///
/// `Display` gives `field: message`, e.g.
/// `schedule.segments[2].start: "25:00" is not a time HH:MM (hour 25 is above 24)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The path of the field in the config, e.g. `routes[0].destinations[1].weight`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error with `parent.` in front of the field path.
    pub(crate) fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}
