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
//! | `tandem_sip_transfers_total{kind,outcome}` | counter | REFERs from agents' phones (RFC 3515): `kind` `blind` or `attended` (with Replaces, RFC 3891); `outcome` `done`, or why it was not (`no_target`, `no_dialog`, `refused`) |
//! | `tandem_sip_media_failures_total` | counter | calls ended because their engine legs could not be set up (ports or descriptors exhausted, engine overloaded) |
//! | `tandem_sip_send_errors_total` | counter | messages the transports could not send (no route to the peer, a connection that failed or timed out) |
//! | `tandem_sip_connections_total` | counter | TCP and TLS connections accepted or opened (TLS ones after their handshake) |
//! | `tandem_sip_connections_refused_total` | counter | TCP and TLS connections refused because the limit (4096) was open |
//! | `tandem_sip_tls_handshake_failures_total` | counter | TLS handshakes that failed, inbound or outbound (untrusted or mismatched certificate, no common cipher, a plain-text peer, a 5 s timeout) |

use std::sync::Arc;
use std::sync::atomic::Ordering;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use super::net::NetCounters;

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
    pub(crate) media_failures: IntCounter,
    pub(crate) transfers: IntCounterVec,
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
            media_failures: IntCounter::new(
                "tandem_sip_media_failures_total",
                "Calls ended because their media could not be set up",
            )?,
            transfers: IntCounterVec::new(
                Opts::new(
                    "tandem_sip_transfers_total",
                    "Call transfers asked by REFER, by kind and outcome",
                ),
                &["kind", "outcome"],
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
        registry.register(Box::new(m.media_failures.clone()))?;
        registry.register(Box::new(m.transfers.clone()))?;
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

/// The transports' counters ([`NetCounters`], atomics the reader threads
/// bump), read at each scrape.
pub(crate) struct NetCollector {
    counters: Arc<NetCounters>,
    descs: Vec<Desc>,
}

impl NetCollector {
    const METRICS: [(&'static str, &'static str); 4] = [
        (
            "tandem_sip_send_errors_total",
            "SIP messages the transports could not send",
        ),
        (
            "tandem_sip_connections_total",
            "TCP and TLS connections accepted or opened",
        ),
        (
            "tandem_sip_connections_refused_total",
            "TCP and TLS connections refused at the connection limit",
        ),
        (
            "tandem_sip_tls_handshake_failures_total",
            "TLS handshakes that failed, inbound or outbound",
        ),
    ];

    pub(crate) fn new(counters: Arc<NetCounters>) -> Self {
        let descs = Self::METRICS
            .iter()
            .map(|(name, help)| {
                Desc::new(
                    name.to_string(),
                    help.to_string(),
                    Vec::new(),
                    Default::default(),
                )
                .expect("static metric names are valid")
            })
            .collect();
        Self { counters, descs }
    }

    fn values(&self) -> [u64; 4] {
        let c = &self.counters;
        [
            c.send_errors.load(Ordering::Relaxed),
            c.connections.load(Ordering::Relaxed),
            c.connections_refused.load(Ordering::Relaxed),
            c.tls_handshake_failures.load(Ordering::Relaxed),
        ]
    }
}

impl Collector for NetCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        Self::METRICS
            .iter()
            .zip(self.values())
            .filter_map(|((name, help), value)| {
                let c = IntCounter::new(*name, *help).ok()?;
                c.inc_by(value);
                Some(c.collect())
            })
            .flatten()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_counters_reach_the_text_exposition() {
        let counters = Arc::new(NetCounters::default());
        counters
            .tls_handshake_failures
            .fetch_add(3, Ordering::Relaxed);
        counters.connections.fetch_add(2, Ordering::Relaxed);
        let registry = Registry::new();
        registry
            .register(Box::new(NetCollector::new(counters.clone())))
            .unwrap();
        counters
            .tls_handshake_failures
            .fetch_add(1, Ordering::Relaxed);
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap();
        assert!(
            text.contains("tandem_sip_tls_handshake_failures_total 4"),
            "{text}"
        );
        assert!(text.contains("tandem_sip_connections_total 2"), "{text}");
        assert!(text.contains("tandem_sip_send_errors_total 0"), "{text}");
    }
}
