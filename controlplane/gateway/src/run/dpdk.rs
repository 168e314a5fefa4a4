//! The media engine on DPDK (`--packet-io dpdk`, `media.packet_io =
//! "dpdk"`): one device, a queue pair per worker (see `tandem_dpdk`'s
//! `MediaPort`). Built with the `dpdk` feature; without it, asking for
//! DPDK is refused at start with how to get it.

use std::net::IpAddr;

use prometheus::Registry;
use tandem_dataplane::engine::{Engine, EngineConfig};

use crate::cli::CliError;
use crate::config::DpdkSettings;

/// What `tandem run` was asked for, from the flags over the config.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "dpdk"), allow(dead_code))]
pub(super) struct DpdkRequest {
    pub(super) eal: String,
    pub(super) settings: DpdkSettings,
    pub(super) rtp_address: IpAddr,
}

#[cfg(not(feature = "dpdk"))]
pub(super) fn start_engine(
    _config: &EngineConfig,
    _request: DpdkRequest,
    _pin: bool,
    _registry: &Registry,
) -> Result<Engine, CliError> {
    Err(CliError::BadInput(
        "packet_io dpdk: this tandem was built without DPDK; build it with \
         `cargo build --release -p tandem-gateway --features dpdk` (needs Debian's libdpdk-dev)"
            .into(),
    ))
}

#[cfg(feature = "dpdk")]
pub(super) fn start_engine(
    config: &EngineConfig,
    request: DpdkRequest,
    pin: bool,
    registry: &Registry,
) -> Result<Engine, CliError> {
    use std::sync::Arc;

    use tandem_dpdk::{DpdkConfig, MediaPort, MediaPortConfig, split_eal_args};

    let IpAddr::V4(ip) = request.rtp_address else {
        return Err(CliError::BadInput(format!(
            "packet_io dpdk: the media address {} must be IPv4 (the DPDK host stack has no IPv6)",
            request.rtp_address
        )));
    };
    if ip.is_loopback() || ip.is_multicast() || ip.is_broadcast() {
        return Err(CliError::BadInput(format!(
            "packet_io dpdk: the media address {ip} must be the DPDK port's own unicast \
             address (--rtp-address, media.rtp_address)"
        )));
    }
    let s = &request.settings;
    let addressing = DpdkConfig {
        ip,
        prefix_len: s.prefix_len,
        gateway: s.gateway,
        vlan: s.vlan,
    };
    let workers = config.workers.max(1);
    let mut port_config = MediaPortConfig::new(split_eal_args(&request.eal), addressing, workers);
    port_config.device.clone_from(&s.device);
    port_config.exception.clone_from(&s.exception);
    let port = MediaPort::start(&port_config)
        .map_err(|e| CliError::BadInput(format!("packet_io dpdk: {e}")))?;
    eprintln!("tandem: media port {}", port.describe());
    let port = Arc::new(port);
    registry
        .register(Box::new(metrics::DpdkCollector::new(Arc::clone(&port))))
        .map_err(|e| CliError::Output(format!("metrics: {e}")))?;
    Engine::start(config, move |i| {
        let cpu = super::pin_worker(i, pin);
        let io = port.io(i).map_err(|e| e.to_string())?;
        eprintln!("tandem: media worker {i}: {cpu}, DPDK queue pair {i} (polling)");
        Ok(io)
    })
    .map_err(|e| CliError::BadInput(format!("starting the media engine: {e}")))
}

#[cfg(feature = "dpdk")]
mod metrics {
    //! `tandem_dpdk_*`: the media port's device counters and its host
    //! stack's, for the alarms a NOC sets on a kernel-bypass port (missed
    //! receives, checksum failures, unresolved next hops).

    use std::sync::Arc;

    use prometheus::core::{Collector, Desc};
    use prometheus::proto::MetricFamily;
    use prometheus::{IntCounter, IntCounterVec, Opts};
    use tandem_dpdk::MediaPort;

    pub(super) struct DpdkCollector {
        port: Arc<MediaPort>,
        descs: Vec<Desc>,
    }

    const PLAIN: [(&str, &str); 12] = [
        (
            "tandem_dpdk_rx_packets_total",
            "Frames the media device received",
        ),
        (
            "tandem_dpdk_rx_bytes_total",
            "Bytes the media device received",
        ),
        (
            "tandem_dpdk_tx_packets_total",
            "Frames the media device sent",
        ),
        ("tandem_dpdk_tx_bytes_total", "Bytes the media device sent"),
        (
            "tandem_dpdk_rx_missed_total",
            "Frames the media device dropped for want of receive descriptors (workers too slow)",
        ),
        (
            "tandem_dpdk_errors_total",
            "Receive and transmit errors of the media device",
        ),
        (
            "tandem_dpdk_unresolved_drops_total",
            "Datagrams dropped because the next hop's MAC address was not known yet (ARP pending)",
        ),
        (
            "tandem_dpdk_handoffs_total",
            "Datagrams received on one worker's queue and handed to the worker owning their port",
        ),
        (
            "tandem_dpdk_handoff_drops_total",
            "Datagrams dropped because the worker owning their port had a full inbox",
        ),
        (
            "tandem_dpdk_to_kernel_frames_total",
            "Frames passed to the kernel through the exception port (SSH, routing, the host's own UDP)",
        ),
        (
            "tandem_dpdk_from_kernel_frames_total",
            "Frames the kernel sent out through the media port",
        ),
        (
            "tandem_dpdk_kernel_drops_total",
            "Frames for the kernel dropped: no exception port configured, or it was full",
        ),
    ];
    const FRAMES: (&str, &str) = (
        "tandem_dpdk_stack_frames_total",
        "Frames the host stack handled, by outcome (udp, arp_reply, echo_reply, exception)",
    );
    const DROPS: (&str, &str) = (
        "tandem_dpdk_stack_drops_total",
        "Frames the host stack dropped, by reason",
    );

    impl DpdkCollector {
        pub(super) fn new(port: Arc<MediaPort>) -> Self {
            let desc = |(name, help): (&str, &str), labels: &[&str]| {
                Desc::new(
                    name.to_string(),
                    help.to_string(),
                    labels.iter().map(|l| (*l).to_string()).collect(),
                    Default::default(),
                )
                .expect("static metric names are valid")
            };
            let mut descs: Vec<Desc> = PLAIN.iter().map(|m| desc(*m, &[])).collect();
            descs.push(desc(FRAMES, &["outcome"]));
            descs.push(desc(DROPS, &["reason"]));
            Self { port, descs }
        }
    }

    impl Collector for DpdkCollector {
        fn desc(&self) -> Vec<&Desc> {
            self.descs.iter().collect()
        }

        fn collect(&self) -> Vec<MetricFamily> {
            let dev = self.port.stats().unwrap_or_default();
            let report = self.port.report();
            let stack = report.stack;
            let (handed, inbox_full) = self.port.handoffs();
            let plain = [
                dev.rx_packets,
                dev.rx_bytes,
                dev.tx_packets,
                dev.tx_bytes,
                dev.rx_missed,
                dev.errors,
                report.unresolved,
                handed,
                inbox_full,
                report.to_kernel,
                report.from_kernel,
                report.kernel_drops,
            ];
            let mut out: Vec<MetricFamily> = PLAIN
                .iter()
                .zip(plain)
                .filter_map(|((name, help), value)| {
                    let c = IntCounter::new(*name, *help).ok()?;
                    c.inc_by(value);
                    Some(c.collect())
                })
                .flatten()
                .collect();
            let labelled = |(name, help): (&str, &str), label: &str, values: &[(&str, u64)]| {
                let Ok(v) = IntCounterVec::new(Opts::new(name, help), &[label]) else {
                    return Vec::new();
                };
                for (l, n) in values {
                    v.with_label_values(&[*l]).inc_by(*n);
                }
                v.collect()
            };
            out.extend(labelled(
                FRAMES,
                "outcome",
                &[
                    ("udp", stack.udp),
                    ("arp_reply", stack.arp_replies),
                    ("echo_reply", stack.echo_replies),
                    ("exception", stack.exceptions),
                ],
            ));
            out.extend(labelled(
                DROPS,
                "reason",
                &[
                    ("malformed", stack.malformed),
                    ("bad_ip_checksum", stack.bad_ip_checksum),
                    ("bad_udp_checksum", stack.bad_udp_checksum),
                    ("fragment", stack.fragments),
                    ("not_ours", stack.not_ours),
                ],
            ));
            out
        }
    }
}
