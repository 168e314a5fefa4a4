//! Shared helpers of the offer/answer tests.
#![allow(dead_code)]

use tandem_sdp::SessionDescription;
use tandem_sdp::offer_answer::{Capabilities, EngineSupport, LocalMedia, LocalSession};

/// Parses a body written with `\n` line ends (tests read better that way).
pub(crate) fn sdp(text: &str) -> SessionDescription {
    SessionDescription::parse(text.as_bytes()).expect("test vector parses")
}

/// Capabilities from codec names, engine without opus.
pub(crate) fn caps(codecs: &[&str]) -> Capabilities {
    Capabilities::new(codecs, EngineSupport::default()).expect("valid capabilities")
}

/// Our leg at 203.0.113.7:30000 with session id 1000.
pub(crate) fn leg() -> LocalSession {
    LocalSession::new(1000, LocalMedia::new("203.0.113.7".parse().unwrap(), 30000))
}

/// The body as text with `\n` line ends, for comparisons.
pub(crate) fn text(sdp: &SessionDescription) -> String {
    sdp.to_string().replace("\r\n", "\n")
}

/// An offer from 192.0.2.10:4000 with the given `m=` line and attributes.
pub(crate) fn offer_with(media: &str) -> SessionDescription {
    sdp(&format!(
        "v=0\no=peer 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\n{media}"
    ))
}
