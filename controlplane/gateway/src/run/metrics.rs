//! Prometheus metrics of the SIP front (`tandem_sip_*`).
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `tandem_sip_messages_total{direction,method,code}` | counter | SIP messages received (`in`) and sent (`out`): requests by method (`code=""`), responses by method and status code |
//! | `tandem_sip_parse_errors_total` | counter | datagrams and stream frames that were not SIP, or broke RFC 3261 §8.1.1 |
//! | `tandem_sip_retransmissions_total` | counter | requests and responses the transaction layer sent again (RFC 3261 §17 timers A, E, G) |
//! | `tandem_sip_transaction_timeouts_total` | counter | client transactions that got no final response (timers B and F) |
//! | `tandem_sip_calls_total{trunk_in,trunk_out,outcome}` | counter | finished calls by trunks and outcome (`answered`, `busy`, `no_answer`, `rejected`, `failed`, `cancelled`) |
//! | `tandem_sip_call_attempts_total` | counter | INVITEs that started a call: `rate()` of it is the CPS |
//! | `tandem_sip_calls_per_second` | gauge | call attempts in the last whole second |
//! | `tandem_sip_active_calls` | gauge | calls set up and not yet torn down |
//! | `tandem_sip_trunk_up{trunk}` | gauge | 1 while the trunk answers OPTIONS keepalives (or has none), 0 when it does not |
//! | `tandem_sip_trunk_active_calls{trunk}` | gauge | calls on the trunk, either direction |
//! | `tandem_sip_draining` | gauge | 1 after SIGTERM, while calls finish |

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// The SIP front's metrics, registered once.
#[derive(Clone)]
pub(crate) struct SipMetrics {
    pub(crate) messages: IntCounterVec,
    pub(crate) parse_errors: IntCounter,
    pub(crate) retransmissions: IntCounter,
    pub(crate) timeouts: IntCounter,
    pub(crate) calls: IntCounterVec,
    pub(crate) attempts: IntCounter,
    pub(crate) cps: IntGauge,
    pub(crate) active: IntGauge,
    pub(crate) trunk_up: IntGaugeVec,
    pub(crate) trunk_calls: IntGaugeVec,
    pub(crate) draining: IntGauge,
}

impl SipMetrics {
    pub(crate) fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            messages: IntCounterVec::new(
                Opts::new(
                    "tandem_sip_messages_total",
                    "SIP messages by direction, method and status code",
                ),
                &["direction", "method", "code"],
            )?,
            parse_errors: IntCounter::new(
                "tandem_sip_parse_errors_total",
                "Datagrams and stream frames that were not valid SIP",
            )?,
            retransmissions: IntCounter::new(
                "tandem_sip_retransmissions_total",
                "SIP requests and responses retransmitted by the transaction layer",
            )?,
            timeouts: IntCounter::new(
                "tandem_sip_transaction_timeouts_total",
                "Client transactions that got no final response",
            )?,
            calls: IntCounterVec::new(
                Opts::new(
                    "tandem_sip_calls_total",
                    "Finished calls by trunks and outcome",
                ),
                &["trunk_in", "trunk_out", "outcome"],
            )?,
            attempts: IntCounter::new(
                "tandem_sip_call_attempts_total",
                "INVITEs that started a call",
            )?,
            cps: IntGauge::new(
                "tandem_sip_calls_per_second",
                "Call attempts in the last whole second",
            )?,
            active: IntGauge::new("tandem_sip_active_calls", "Calls in progress")?,
            trunk_up: IntGaugeVec::new(
                Opts::new("tandem_sip_trunk_up", "1 when the trunk answers keepalives"),
                &["trunk"],
            )?,
            trunk_calls: IntGaugeVec::new(
                Opts::new(
                    "tandem_sip_trunk_active_calls",
                    "Calls in progress per trunk",
                ),
                &["trunk"],
            )?,
            draining: IntGauge::new(
                "tandem_sip_draining",
                "1 while the gateway drains calls before stopping",
            )?,
        };
        registry.register(Box::new(m.messages.clone()))?;
        registry.register(Box::new(m.parse_errors.clone()))?;
        registry.register(Box::new(m.retransmissions.clone()))?;
        registry.register(Box::new(m.timeouts.clone()))?;
        registry.register(Box::new(m.calls.clone()))?;
        registry.register(Box::new(m.attempts.clone()))?;
        registry.register(Box::new(m.cps.clone()))?;
        registry.register(Box::new(m.active.clone()))?;
        registry.register(Box::new(m.trunk_up.clone()))?;
        registry.register(Box::new(m.trunk_calls.clone()))?;
        registry.register(Box::new(m.draining.clone()))?;
        Ok(m)
    }

    /// Counts a message; `code` is 0 for requests.
    pub(crate) fn message(&self, inbound: bool, method: &str, code: u16) {
        let dir = if inbound { "in" } else { "out" };
        if code == 0 {
            self.messages.with_label_values(&[dir, method, ""]).inc();
        } else {
            let buf = itoa3(code);
            let code = std::str::from_utf8(&buf).unwrap_or("0");
            self.messages.with_label_values(&[dir, method, code]).inc();
        }
    }
}

/// A status code as three ASCII digits without allocating.
fn itoa3(code: u16) -> [u8; 3] {
    let c = code.min(999);
    [
        b'0' + (c / 100) as u8,
        b'0' + (c / 10 % 10) as u8,
        b'0' + (c % 10) as u8,
    ]
}
