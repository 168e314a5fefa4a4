//! The TOML file as serde sees it: every value wrapped in [`Spanned`] so
//! that validation (in the parent module) can name the line of a bad value,
//! and every table `deny_unknown_fields` so that a misspelt key is an error
//! with its line rather than a silently ignored setting.
//!
//! Numbers are read as `i64` and enumerations as strings on purpose: the
//! validator range-checks them and words the error itself ("expected one of
//! udp, tcp, tls, got \"sctp\""), which reads better at 3 a.m. than serde's
//! "invalid value: integer `-5`, expected u64".

use serde::Deserialize;
use toml::Spanned;

pub(super) type S<T> = Spanned<T>;
pub(super) type List = S<Vec<S<String>>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) sip: Option<RawSip>,
    pub(super) media: Option<RawMedia>,
    pub(super) http: Option<RawListen>,
    pub(super) cdr: Option<RawCdr>,
    pub(super) ng: Option<RawListen>,
    pub(super) drain: Option<RawDrain>,
    #[serde(default)]
    pub(super) trunk: Vec<RawTrunk>,
    #[serde(default)]
    pub(super) route: Vec<RawRoute>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSip {
    pub(super) listen: Option<S<String>>,
    pub(super) transports: Option<List>,
    pub(super) tls_listen: Option<S<String>>,
    pub(super) tls_certificate: Option<S<String>>,
    pub(super) tls_private_key: Option<S<String>>,
    pub(super) tls_ca_file: Option<S<String>>,
    pub(super) user_agent: Option<S<String>>,
    pub(super) t1_ms: Option<S<i64>>,
    pub(super) t2_ms: Option<S<i64>>,
    pub(super) t4_ms: Option<S<i64>>,
    pub(super) session_expires: Option<S<i64>>,
    pub(super) min_se: Option<S<i64>>,
    pub(super) max_calls: Option<S<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMedia {
    pub(super) rtp_address: Option<S<String>>,
    pub(super) rtp_ports: Option<S<String>>,
    pub(super) workers: Option<S<i64>>,
    pub(super) packet_io: Option<S<String>>,
    pub(super) rtp_timeout: Option<S<i64>>,
    pub(super) codecs: Option<List>,
    pub(super) dtmf: Option<S<String>>,
}

/// `[http]` and `[ng]`: a listener that is off unless configured.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawListen {
    pub(super) listen: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCdr {
    pub(super) database: Option<S<String>>,
    pub(super) synchronous: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDrain {
    pub(super) timeout: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrunk {
    pub(super) name: S<String>,
    pub(super) address: S<String>,
    pub(super) transport: Option<S<String>>,
    pub(super) username: Option<S<String>>,
    pub(super) password: Option<S<String>>,
    pub(super) realm: Option<S<String>>,
    pub(super) inbound: Option<S<String>>,
    pub(super) allow: Option<List>,
    pub(super) inbound_username: Option<S<String>>,
    pub(super) inbound_password: Option<S<String>>,
    pub(super) options_interval: Option<S<i64>>,
    pub(super) max_calls: Option<S<i64>>,
    pub(super) codecs: Option<List>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub(super) prefix: S<String>,
    pub(super) trunks: List,
}
