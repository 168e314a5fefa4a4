//! Per-worker counters, and their export to Prometheus.
//!
//! A worker counts into a plain array it owns ([`LocalCounters`]): no
//! atomics, no shared cache lines on the packet path. Every
//! [`PUBLISH_INTERVAL`] it copies the array into its own cache-line-aligned
//! block of relaxed atomics ([`WorkerShared`]), which only it writes and the
//! exporter reads. [`EngineCollector`] turns those blocks into metric
//! families at scrape time.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `tandem_dataplane_rx_packets_total` | counter | worker | datagrams received |
//! | `tandem_dataplane_rx_bytes_total` | counter | worker | UDP payload bytes received |
//! | `tandem_dataplane_tx_packets_total` | counter | worker | datagrams sent |
//! | `tandem_dataplane_tx_bytes_total` | counter | worker | UDP payload bytes sent |
//! | `tandem_dataplane_drops_total` | counter | worker, reason | packets dropped, by [`DropReason`] |
//! | `tandem_dataplane_parse_errors_total` | counter | worker | RTP/RTCP that failed to parse (also in drops) |
//! | `tandem_dataplane_commands_total` | counter | worker | control commands executed |
//! | `tandem_dataplane_events_dropped_total` | counter | worker | events lost because the event queue and its overflow were full |
//! | `tandem_dataplane_legs` | gauge | worker | legs open |
//! | `tandem_dataplane_command_queue_depth` | gauge | worker | commands waiting |
//! | `tandem_dataplane_io_syscalls_total` | counter | worker | system calls of the packet backend |
//! | `tandem_dataplane_io_rx_dropped_total` | counter | worker | datagrams lost before the worker saw them (socket overflow, no buffer, oversized) |
//! | `tandem_dataplane_io_tx_dropped_total` | counter | worker | datagrams the backend failed to send |
//! | `tandem_dataplane_jitter_events_total` | counter | worker, event | jitter-buffer events (late, duplicate, concealed, overflow, resync) |
//! | `tandem_dataplane_busy_seconds_total` | counter | worker | time spent on turns that did work; a polling (DPDK) worker's load is its rate, since its CPU time is always 100 % |
//! | `tandem_dataplane_relay_latency_seconds` | histogram | worker | from a datagram's arrival at the host (the kernel's receive timestamp) to what it became (relayed, or the first packet transcoded from it) having been sent (the backend's send call returned: on io_uring the kernel has run the send, which on loopback includes delivery); only on backends that timestamp receives (kernel UDP as `tandem run` sets it up) |

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Bucket, Histogram, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{IntCounterVec, IntGaugeVec, Opts};

/// How often a worker publishes its counters.
pub const PUBLISH_INTERVAL: Duration = Duration::from_millis(100);

/// Upper bounds of the relay latency histogram's buckets, in microseconds
/// (a last bucket takes what is longer).
pub const LATENCY_BOUNDS_US: [u64; 10] = [
    50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000,
];
const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_US.len() + 1;

macro_rules! enum_with_names {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum $name { $($(#[$vm])* $v,)* }
        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
            /// Number of variants.
            pub const COUNT: usize = Self::ALL.len();
            /// The label value used in metrics.
            pub const fn label(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }
        }
    };
}

enum_with_names! {
    /// Why a packet was dropped: the `reason` label of
    /// `tandem_dataplane_drops_total`.
    DropReason {
        /// Arrived on a port no leg owns any more.
        UnknownPort = "unknown_port",
        /// Came from an address other than the leg's peer (floods, spoofing).
        WrongSource = "wrong_source",
        /// Not a valid RTP or RTCP packet.
        Malformed = "malformed",
        /// The leg is not bridged to anything.
        NoPeer = "no_peer",
        /// The peer leg has no remote address yet.
        PeerNoRemote = "peer_no_remote",
        /// A duplicate of a recently relayed packet.
        Duplicate = "duplicate",
        /// A sequence jump beyond the dropout limit (RFC 3550 A.1), until
        /// the stream proves it restarted.
        SequenceJump = "sequence_jump",
        /// A payload type the leg did not negotiate.
        UnknownPayloadType = "unknown_payload_type",
        /// RTCP terminated by the engine.
        RtcpConsumed = "rtcp_consumed",
        /// The backend refused to send.
        TxFailed = "tx_failed",
        /// No buffer to build an outgoing packet in.
        NoBuffer = "no_buffer",
        /// Media the leg cannot process (codec change not supported).
        Unsupported = "unsupported",
    }
}

enum_with_names! {
    /// The worker's plain counters.
    Counter {
        /// Datagrams received.
        RxPackets = "rx_packets",
        /// Payload bytes received.
        RxBytes = "rx_bytes",
        /// Datagrams sent.
        TxPackets = "tx_packets",
        /// Payload bytes sent.
        TxBytes = "tx_bytes",
        /// RTP/RTCP parse failures.
        ParseErrors = "parse_errors",
        /// Commands executed.
        Commands = "commands",
        /// Events lost to a full queue.
        EventsDropped = "events_dropped",
        /// Jitter buffer: late packets.
        JitterLate = "late",
        /// Jitter buffer: duplicates.
        JitterDuplicate = "duplicate",
        /// Jitter buffer: frames concealed.
        JitterConcealed = "concealed",
        /// Jitter buffer: overflows.
        JitterOverflow = "overflow",
        /// Jitter buffer: resynchronisations.
        JitterResync = "resync",
        /// Nanoseconds spent in turns that did something (received,
        /// ran a command, mixed or timed legs).
        BusyNanos = "busy_nanoseconds",
        /// Sum of the relay latencies counted in
        /// [`LocalCounters::latency`], in nanoseconds.
        LatencyNanos = "relay_latency_nanoseconds",
    }
}

enum_with_names! {
    /// The worker's gauges.
    Gauge {
        /// Legs open.
        Legs = "legs",
        /// Commands waiting in the queue.
        CommandQueueDepth = "command_queue_depth",
        /// Backend system calls so far (a counter kept as a gauge copy).
        IoSyscalls = "io_syscalls",
        /// Datagrams the backend lost on receive (kernel socket overflow,
        /// no buffer, oversized) so far.
        IoRxDropped = "io_rx_dropped",
        /// Datagrams the backend could not send so far.
        IoTxDropped = "io_tx_dropped",
    }
}

/// The worker's private counters: plain integers, no sharing.
#[derive(Debug, Clone)]
pub struct LocalCounters {
    /// By [`Counter`].
    pub counters: [u64; Counter::COUNT],
    /// By [`DropReason`].
    pub drops: [u64; DropReason::COUNT],
    /// By [`Gauge`].
    pub gauges: [u64; Gauge::COUNT],
    /// Relay latencies by bucket of [`LATENCY_BOUNDS_US`] (not
    /// cumulative; the last for longer ones). Their sum is
    /// [`Counter::LatencyNanos`].
    pub latency: [u64; LATENCY_BUCKETS],
}

impl Default for LocalCounters {
    fn default() -> Self {
        Self {
            counters: [0; Counter::COUNT],
            drops: [0; DropReason::COUNT],
            gauges: [0; Gauge::COUNT],
            latency: [0; LATENCY_BUCKETS],
        }
    }
}

impl LocalCounters {
    /// Adds to a counter.
    #[inline]
    pub fn add(&mut self, c: Counter, n: u64) {
        self.counters[c as usize] += n;
    }

    /// Counts a dropped packet.
    #[inline]
    pub fn drop(&mut self, reason: DropReason) {
        self.drops[reason as usize] += 1;
    }

    /// Sets a gauge.
    #[inline]
    pub fn set(&mut self, g: Gauge, v: u64) {
        self.gauges[g as usize] = v;
    }

    /// Counts one relay latency.
    #[inline]
    pub fn observe_latency(&mut self, d: Duration) {
        let us = d.as_micros();
        let i = LATENCY_BOUNDS_US
            .iter()
            .position(|&b| us <= u128::from(b))
            .unwrap_or(LATENCY_BOUNDS_US.len());
        self.latency[i] += 1;
        self.counters[Counter::LatencyNanos as usize] += d.as_nanos() as u64;
    }

    /// A counter's value.
    pub fn get(&self, c: Counter) -> u64 {
        self.counters[c as usize]
    }

    /// Drops counted for `reason`.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }
}

/// A worker's published counters: written only by that worker, read by
/// the exporter. Aligned so that two workers never share a cache line.
#[repr(align(128))]
#[derive(Debug)]
pub struct WorkerShared {
    counters: [AtomicU64; Counter::COUNT],
    drops: [AtomicU64; DropReason::COUNT],
    gauges: [AtomicU64; Gauge::COUNT],
    latency: [AtomicU64; LATENCY_BUCKETS],
}

impl Default for WorkerShared {
    fn default() -> Self {
        Self {
            counters: std::array::from_fn(|_| AtomicU64::new(0)),
            drops: std::array::from_fn(|_| AtomicU64::new(0)),
            gauges: std::array::from_fn(|_| AtomicU64::new(0)),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl WorkerShared {
    /// Copies the worker's counters out (called by the worker only).
    pub fn publish(&self, local: &LocalCounters) {
        for (a, v) in self.counters.iter().zip(local.counters) {
            a.store(v, Ordering::Relaxed);
        }
        for (a, v) in self.drops.iter().zip(local.drops) {
            a.store(v, Ordering::Relaxed);
        }
        for (a, v) in self.gauges.iter().zip(local.gauges) {
            a.store(v, Ordering::Relaxed);
        }
        for (a, v) in self.latency.iter().zip(local.latency) {
            a.store(v, Ordering::Relaxed);
        }
    }

    /// The last published snapshot.
    pub fn snapshot(&self) -> LocalCounters {
        LocalCounters {
            counters: std::array::from_fn(|i| self.counters[i].load(Ordering::Relaxed)),
            drops: std::array::from_fn(|i| self.drops[i].load(Ordering::Relaxed)),
            gauges: std::array::from_fn(|i| self.gauges[i].load(Ordering::Relaxed)),
            latency: std::array::from_fn(|i| self.latency[i].load(Ordering::Relaxed)),
        }
    }
}

/// Exports every worker's published counters to a Prometheus registry.
pub struct EngineCollector {
    workers: Vec<Arc<WorkerShared>>,
    descs: Vec<Desc>,
}

impl EngineCollector {
    /// A collector over these workers' blocks.
    pub fn new(workers: Vec<Arc<WorkerShared>>) -> Self {
        let descs = build(&workers, &LocalCounters::default())
            .iter()
            .flat_map(|f| f.desc().into_iter().cloned().collect::<Vec<_>>())
            .collect();
        Self { workers, descs }
    }
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("static metric definition")
}

fn gauge_vec(name: &str, help: &str) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), &["worker"]).expect("static metric definition")
}

/// Builds the metric vectors from snapshots (`template` only for `new`,
/// which needs the descriptors before any worker has published).
fn build(workers: &[Arc<WorkerShared>], template: &LocalCounters) -> Vec<Box<dyn Collector>> {
    let plain = [
        (
            Counter::RxPackets,
            "tandem_dataplane_rx_packets_total",
            "Datagrams received.",
        ),
        (
            Counter::RxBytes,
            "tandem_dataplane_rx_bytes_total",
            "UDP payload bytes received.",
        ),
        (
            Counter::TxPackets,
            "tandem_dataplane_tx_packets_total",
            "Datagrams sent.",
        ),
        (
            Counter::TxBytes,
            "tandem_dataplane_tx_bytes_total",
            "UDP payload bytes sent.",
        ),
        (
            Counter::ParseErrors,
            "tandem_dataplane_parse_errors_total",
            "RTP/RTCP packets that failed to parse.",
        ),
        (
            Counter::Commands,
            "tandem_dataplane_commands_total",
            "Control commands executed.",
        ),
        (
            Counter::EventsDropped,
            "tandem_dataplane_events_dropped_total",
            "Events lost because the event queue was full.",
        ),
    ];
    let mut out: Vec<Box<dyn Collector>> = Vec::new();
    let snaps: Vec<LocalCounters> = if workers.is_empty() {
        vec![template.clone()]
    } else {
        workers.iter().map(|w| w.snapshot()).collect()
    };
    for (c, name, help) in plain {
        let v = counter_vec(name, help, &["worker"]);
        for (i, s) in snaps.iter().enumerate() {
            v.with_label_values(&[&i.to_string()]).inc_by(s.get(c));
        }
        out.push(Box::new(v));
    }
    let drops = counter_vec(
        "tandem_dataplane_drops_total",
        "Packets dropped, by reason.",
        &["worker", "reason"],
    );
    let jitter = counter_vec(
        "tandem_dataplane_jitter_events_total",
        "Jitter-buffer events.",
        &["worker", "event"],
    );
    let legs = gauge_vec("tandem_dataplane_legs", "Legs open.");
    let depth = gauge_vec(
        "tandem_dataplane_command_queue_depth",
        "Commands waiting in the worker's queue.",
    );
    let syscalls = counter_vec(
        "tandem_dataplane_io_syscalls_total",
        "System calls made by the packet backend.",
        &["worker"],
    );
    let io_rx_dropped = counter_vec(
        "tandem_dataplane_io_rx_dropped_total",
        "Datagrams lost before the worker saw them (socket overflow, no buffer, oversized).",
        &["worker"],
    );
    let io_tx_dropped = counter_vec(
        "tandem_dataplane_io_tx_dropped_total",
        "Datagrams the packet backend failed to send.",
        &["worker"],
    );
    for (i, s) in snaps.iter().enumerate() {
        let w = i.to_string();
        for r in DropReason::ALL {
            drops
                .with_label_values(&[&w, r.label()])
                .inc_by(s.drops(*r));
        }
        for c in [
            Counter::JitterLate,
            Counter::JitterDuplicate,
            Counter::JitterConcealed,
            Counter::JitterOverflow,
            Counter::JitterResync,
        ] {
            jitter.with_label_values(&[&w, c.label()]).inc_by(s.get(c));
        }
        legs.with_label_values(&[&w])
            .set(s.gauges[Gauge::Legs as usize] as i64);
        depth
            .with_label_values(&[&w])
            .set(s.gauges[Gauge::CommandQueueDepth as usize] as i64);
        syscalls
            .with_label_values(&[&w])
            .inc_by(s.gauges[Gauge::IoSyscalls as usize]);
        io_rx_dropped
            .with_label_values(&[&w])
            .inc_by(s.gauges[Gauge::IoRxDropped as usize]);
        io_tx_dropped
            .with_label_values(&[&w])
            .inc_by(s.gauges[Gauge::IoTxDropped as usize]);
    }
    let busy = prometheus::CounterVec::new(
        Opts::new(
            "tandem_dataplane_busy_seconds_total",
            "Time the worker spent on turns that did work (its load: a polling worker's CPU time is always 100 %).",
        ),
        &["worker"],
    )
    .expect("a valid metric");
    for (i, s) in snaps.iter().enumerate() {
        busy.with_label_values(&[&i.to_string()])
            .inc_by(s.get(Counter::BusyNanos) as f64 / 1e9);
    }
    out.push(Box::new(busy));
    out.push(Box::new(LatencyFamily::new(&snaps)));
    out.push(Box::new(drops));
    out.push(Box::new(jitter));
    out.push(Box::new(legs));
    out.push(Box::new(depth));
    out.push(Box::new(syscalls));
    out.push(Box::new(io_rx_dropped));
    out.push(Box::new(io_tx_dropped));
    out
}

/// `tandem_dataplane_relay_latency_seconds`: a histogram built from the
/// workers' bucket counts (the prometheus crate's `Histogram` only takes
/// observations one at a time).
struct LatencyFamily {
    desc: Desc,
    family: MetricFamily,
}

impl LatencyFamily {
    const NAME: &'static str = "tandem_dataplane_relay_latency_seconds";
    const HELP: &'static str = "From a datagram's arrival at the host to the worker handing what it became to the backend to send.";

    fn new(snaps: &[LocalCounters]) -> Self {
        let desc = Desc::new(
            Self::NAME.to_owned(),
            Self::HELP.to_owned(),
            vec!["worker".to_owned()],
            std::collections::HashMap::new(),
        )
        .expect("a valid metric");
        let mut family = MetricFamily::default();
        family.set_name(Self::NAME.to_owned());
        family.set_help(Self::HELP.to_owned());
        family.set_field_type(MetricType::HISTOGRAM);
        let metrics = snaps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut cumulative = 0;
                let buckets = LATENCY_BOUNDS_US
                    .iter()
                    .zip(&s.latency)
                    .map(|(&le, &n)| {
                        cumulative += n;
                        let mut b = Bucket::default();
                        b.set_upper_bound(le as f64 / 1e6);
                        b.set_cumulative_count(cumulative);
                        b
                    })
                    .collect();
                let mut h = Histogram::default();
                h.set_bucket(buckets);
                h.set_sample_count(s.latency.iter().sum());
                h.set_sample_sum(s.get(Counter::LatencyNanos) as f64 / 1e9);
                let mut label = LabelPair::default();
                label.set_name("worker".to_owned());
                label.set_value(i.to_string());
                let mut m = Metric::from_label(vec![label]);
                m.set_histogram(h);
                m
            })
            .collect();
        family.set_metric(metrics);
        Self { desc, family }
    }
}

impl Collector for LatencyFamily {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        vec![self.family.clone()]
    }
}

impl Collector for EngineCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        build(&self.workers, &LocalCounters::default())
            .iter()
            .flat_map(|c| c.collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_counters_reach_the_text_exposition() {
        let w = Arc::new(WorkerShared::default());
        let mut local = LocalCounters::default();
        local.add(Counter::RxPackets, 42);
        local.add(Counter::BusyNanos, 1_500_000_000);
        local.drop(DropReason::WrongSource);
        local.drop(DropReason::WrongSource);
        local.set(Gauge::Legs, 7);
        local.set(Gauge::IoRxDropped, 3);
        local.observe_latency(Duration::from_micros(40));
        local.observe_latency(Duration::from_micros(150));
        local.observe_latency(Duration::from_millis(80));
        w.publish(&local);
        let registry = prometheus::Registry::new();
        registry
            .register(Box::new(EngineCollector::new(vec![w])))
            .unwrap();
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap();
        assert!(
            text.contains("tandem_dataplane_rx_packets_total{worker=\"0\"} 42"),
            "{text}"
        );
        assert!(
            text.contains("tandem_dataplane_drops_total{reason=\"wrong_source\",worker=\"0\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("tandem_dataplane_legs{worker=\"0\"} 7"),
            "{text}"
        );
        assert!(
            text.contains("tandem_dataplane_busy_seconds_total{worker=\"0\"} 1.5"),
            "{text}"
        );
        assert!(
            text.contains("tandem_dataplane_io_rx_dropped_total{worker=\"0\"} 3"),
            "{text}"
        );
        for line in [
            "tandem_dataplane_relay_latency_seconds_bucket{worker=\"0\",le=\"0.00005\"} 1",
            "tandem_dataplane_relay_latency_seconds_bucket{worker=\"0\",le=\"0.0002\"} 2",
            "tandem_dataplane_relay_latency_seconds_bucket{worker=\"0\",le=\"0.05\"} 2",
            "tandem_dataplane_relay_latency_seconds_bucket{worker=\"0\",le=\"+Inf\"} 3",
            "tandem_dataplane_relay_latency_seconds_sum{worker=\"0\"} 0.08019",
            "tandem_dataplane_relay_latency_seconds_count{worker=\"0\"} 3",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }

    #[test]
    fn labels_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in DropReason::ALL {
            assert!(seen.insert(r.label()));
        }
    }
}
