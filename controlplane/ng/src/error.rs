//! Errors by blame: a malformed request (the SIP proxy's fault), a request
//! about state we do not have (unknown call), or the engine refusing.
//! [`NgError::error_reason`] is the one mapping to the on-wire
//! `error-reason` string.

use core::fmt;

use tandem_sdp::{EditError, SdpError};

use crate::bencode::BencodeError;

/// Why a request failed; becomes `{"result": "error", "error-reason": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NgError {
    // ---- malformed request -------------------------------------------
    /// The dictionary does not decode.
    Bencode(BencodeError),
    /// The document is not a dictionary.
    NotADictionary,
    /// A mandatory key is missing.
    MissingKey(&'static str),
    /// A known key has the wrong type.
    WrongType {
        /// The key as received.
        key: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A known key has a value outside its range.
    BadValue {
        /// The key as received.
        key: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The `command` is not one we implement.
    UnknownCommand(String),
    /// The `sdp` does not parse.
    Sdp(SdpError),
    /// The `rtpp-flags` string is malformed (unbalanced brackets).
    BadRtppFlags,
    // ---- state -------------------------------------------------------
    /// No call with this call-id.
    UnknownCall,
    /// The call exists but not the tag.
    UnknownTag,
    // ---- the engine refuses --------------------------------------------
    /// The engine does not implement this command.
    Unsupported(&'static str),
    /// The engine ran out of something or failed; the text is sent as is.
    Engine(String),
    /// The engine's plan could not be applied to the SDP (a plan with the
    /// wrong number of media, for example): our own bug.
    Rewrite(EditError),
    /// The engine's plan lists a different number of media than the SDP.
    PlanMismatch {
        /// m= lines in the SDP.
        sdp: usize,
        /// Entries in the plan.
        plan: usize,
    },
}

impl NgError {
    /// The request was malformed (the proxy's fault).
    pub fn is_malformed_request(&self) -> bool {
        matches!(
            self,
            Self::Bencode(_)
                | Self::NotADictionary
                | Self::MissingKey(_)
                | Self::WrongType { .. }
                | Self::BadValue { .. }
                | Self::UnknownCommand(_)
                | Self::Sdp(_)
                | Self::BadRtppFlags
        )
    }

    /// The `error-reason` text sent to the proxy.
    pub fn error_reason(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for NgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bencode(e) => write!(f, "Failed to decode bencode dictionary: {e}"),
            Self::NotADictionary => f.write_str("Could not decode dictionary"),
            Self::MissingKey(k) => write!(f, "No {k} in message"),
            Self::WrongType { key, expected } => {
                write!(f, "Wrong type for key '{key}': expected {expected}")
            }
            Self::BadValue { key, reason } => write!(f, "Invalid value for key '{key}': {reason}"),
            Self::UnknownCommand(c) => write!(f, "Unrecognized command '{c}'"),
            Self::Sdp(e) => write!(f, "Failed to parse SDP: {e}"),
            Self::BadRtppFlags => f.write_str("Failed to parse rtpp-flags"),
            Self::UnknownCall => f.write_str("Unknown call-id"),
            Self::UnknownTag => f.write_str("Unknown tag"),
            Self::Unsupported(c) => write!(f, "Command '{c}' not supported"),
            Self::Engine(s) => f.write_str(s),
            Self::Rewrite(e) => write!(f, "Failed to rewrite SDP: {e}"),
            Self::PlanMismatch { sdp, plan } => {
                write!(f, "Internal error: {plan} media planned for {sdp} m= lines")
            }
        }
    }
}

impl std::error::Error for NgError {}

impl From<BencodeError> for NgError {
    fn from(e: BencodeError) -> Self {
        Self::Bencode(e)
    }
}

impl From<SdpError> for NgError {
    fn from(e: SdpError) -> Self {
        Self::Sdp(e)
    }
}

impl From<EditError> for NgError {
    fn from(e: EditError) -> Self {
        Self::Rewrite(e)
    }
}
