//! One DPDK device as the media port of the engine's workers.
//!
//! [`MediaPort::start`] initialises the EAL from the operator's arguments,
//! finds the device, creates the packet pool on the device's NUMA socket
//! and starts the device with one receive and one transmit queue per
//! worker. Each worker thread then takes its queue pair with
//! [`MediaPort::io`], which builds that worker's [`DpdkIo`] on the thread
//! that will poll it.
//!
//! The workers share a [`Fabric`]: which worker owns each UDP port, an
//! inbox per worker, and the neighbours any of them learned. The engine
//! puts all legs of a call on one worker, but the device's RSS spreads
//! flows by their addresses and ports, which the engine does not choose;
//! a datagram that arrives on another worker's queue is handed to its
//! owner through the owner's inbox (the mbuf moves, nothing is copied).
//! ARP replies come in on whichever queue the device picks (usually the
//! first), so a neighbour one worker learns is published to all.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::dpdk::{DpdkError, Eal, Mbuf, Mempool, Port, PortStats, RxQueue, TxQueue};
use crate::io::IoReport;
use crate::io::{DpdkConfig, DpdkIo};
use crate::stack::{ARP_CACHE_MAX, ARP_TTL};

/// How a media port is brought up.
#[derive(Debug, Clone)]
pub struct MediaPortConfig {
    /// EAL arguments, as on DPDK's command line (`-l 0-1 -a 0000:03:00.0`,
    /// `--vdev=net_af_packet0,iface=eth1`), without the program name.
    pub eal: Vec<String>,
    /// The device to use by DPDK name (`0000:03:00.0`, `net_af_packet0`);
    /// `None`: the EAL must have found exactly one.
    pub device: Option<String>,
    /// The kernel's exception port by DPDK name (a `net_tap` vdev in the
    /// EAL arguments), if any: it gets the media port's MAC address and a
    /// queue pair per worker.
    pub exception: Option<String>,
    /// The port's addressing.
    pub addressing: DpdkConfig,
    /// Workers, hence queue pairs.
    pub workers: usize,
    /// Packet buffers in the pool (shared by all queues).
    pub mbufs: u32,
    /// Descriptors per queue (adjusted to the device's limits).
    pub descriptors: u16,
}

impl MediaPortConfig {
    /// Settings for `workers` workers with the given EAL arguments and
    /// addressing: 16 Ki buffers, 1024 descriptors per queue.
    pub fn new(eal: Vec<String>, addressing: DpdkConfig, workers: usize) -> MediaPortConfig {
        MediaPortConfig {
            eal,
            device: None,
            exception: None,
            addressing,
            workers,
            mbufs: 16 * 1024 - 1,
            descriptors: 1024,
        }
    }
}

/// Splits an EAL argument string on whitespace (`"-l 0 --vdev=net_tap0"`).
/// DPDK's own arguments hold no spaces, so no quoting is needed.
pub fn split_eal_args(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// A datagram received on one worker's queue for a port another owns:
/// the mbuf trimmed to the UDP payload, its source and its port.
pub(crate) struct Handoff {
    pub(crate) m: Mbuf,
    pub(crate) from: SocketAddrV4,
    pub(crate) udp: u16,
}

/// How deep each worker's inbox is.
const INBOX: usize = 8192;

/// What the workers of one port share.
pub(crate) struct Fabric {
    /// UDP port → owning worker + 1 (0: nobody).
    owners: Box<[AtomicU16]>,
    inboxes: Vec<(Sender<Handoff>, Receiver<Handoff>)>,
    neighbours: Mutex<HashMap<Ipv4Addr, ([u8; 6], Instant)>>,
    /// Datagrams moved between workers, and dropped because the owner's
    /// inbox was full.
    pub(crate) handed: AtomicU64,
    pub(crate) inbox_full: AtomicU64,
    /// Each worker's host-stack counters and unresolved-next-hop drops,
    /// as it last published them.
    stacks: Vec<Mutex<IoReport>>,
}

impl Fabric {
    pub(crate) fn new(workers: usize) -> Fabric {
        Fabric {
            owners: (0..=u16::MAX).map(|_| AtomicU16::new(0)).collect(),
            inboxes: (0..workers).map(|_| bounded(INBOX)).collect(),
            neighbours: Mutex::new(HashMap::new()),
            handed: AtomicU64::new(0),
            inbox_full: AtomicU64::new(0),
            stacks: (0..workers).map(|_| Mutex::default()).collect(),
        }
    }

    pub(crate) fn workers(&self) -> usize {
        self.inboxes.len()
    }

    /// Records that `worker` owns UDP port `udp`.
    pub(crate) fn claim(&self, udp: u16, worker: usize) {
        self.owners[usize::from(udp)].store(worker as u16 + 1, Ordering::Release);
    }

    /// Forgets `worker`'s ownership of `udp` (if another claimed it
    /// since, that claim stands).
    pub(crate) fn release(&self, udp: u16, worker: usize) {
        let _ = self.owners[usize::from(udp)].compare_exchange(
            worker as u16 + 1,
            0,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }

    /// The worker owning `udp`, if any.
    pub(crate) fn owner(&self, udp: u16) -> Option<usize> {
        match self.owners[usize::from(udp)].load(Ordering::Acquire) {
            0 => None,
            w => Some(usize::from(w) - 1),
        }
    }

    /// Whether any worker but `worker` owns `udp` (checked before
    /// `open` hands out a port).
    pub(crate) fn taken_by_other(&self, udp: u16, worker: usize) -> bool {
        self.owner(udp).is_some_and(|w| w != worker)
    }

    /// Hands a datagram to its owner; `false` (and the datagram freed)
    /// when the owner's inbox is full.
    pub(crate) fn hand_to(&self, worker: usize, h: Handoff) -> bool {
        let Some((tx, _)) = self.inboxes.get(worker) else {
            return false;
        };
        match tx.try_send(h) {
            Ok(()) => {
                self.handed.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.inbox_full.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// The next datagram other workers handed to `worker`.
    pub(crate) fn take(&self, worker: usize) -> Option<Handoff> {
        self.inboxes.get(worker)?.1.try_recv().ok()
    }

    /// Publishes `worker`'s host-stack counters (now and then: the
    /// worker's own copy is the live one).
    pub(crate) fn publish_counters(&self, worker: usize, report: IoReport) {
        if let Some(slot) = self.stacks.get(worker) {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = report;
        }
    }

    /// All workers' reports, summed.
    pub(crate) fn counters(&self) -> IoReport {
        let mut all = IoReport::default();
        for slot in &self.stacks {
            let r = *slot.lock().unwrap_or_else(|p| p.into_inner());
            let (sum, c) = (&mut all.stack, r.stack);
            sum.udp += c.udp;
            sum.arp_replies += c.arp_replies;
            sum.echo_replies += c.echo_replies;
            sum.exceptions += c.exceptions;
            sum.malformed += c.malformed;
            sum.bad_ip_checksum += c.bad_ip_checksum;
            sum.bad_udp_checksum += c.bad_udp_checksum;
            sum.fragments += c.fragments;
            sum.not_ours += c.not_ours;
            all.unresolved += r.unresolved;
            all.to_kernel += r.to_kernel;
            all.from_kernel += r.from_kernel;
            all.kernel_drops += r.kernel_drops;
        }
        all
    }

    /// Publishes a neighbour a worker learned.
    pub(crate) fn publish(&self, now: Instant, ip: Ipv4Addr, mac: [u8; 6]) {
        let mut n = self.neighbours.lock().unwrap_or_else(|p| p.into_inner());
        if n.len() >= ARP_CACHE_MAX && !n.contains_key(&ip) {
            n.retain(|_, (_, at)| now.saturating_duration_since(*at) < ARP_TTL);
            if n.len() >= ARP_CACHE_MAX {
                return;
            }
        }
        n.insert(ip, (mac, now));
    }

    /// A neighbour some worker learned, with when, if still fresh.
    pub(crate) fn neighbour(&self, now: Instant, ip: Ipv4Addr) -> Option<([u8; 6], Instant)> {
        let n = self.neighbours.lock().unwrap_or_else(|p| p.into_inner());
        n.get(&ip)
            .copied()
            .filter(|(_, at)| now.saturating_duration_since(*at) < ARP_TTL)
    }
}

/// A started media port: see the module docs.
pub struct MediaPort {
    eal: Eal,
    port: Port,
    device: String,
    mac: [u8; 6],
    pool: &'static Mempool,
    queues: Mutex<Vec<Option<(RxQueue, TxQueue)>>>,
    /// The exception port and its queue pairs, one per worker.
    kernel: Option<(Port, String)>,
    kernel_queues: Mutex<Vec<Option<(RxQueue, TxQueue)>>>,
    fabric: Arc<Fabric>,
    addressing: DpdkConfig,
}

impl std::fmt::Debug for MediaPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaPort")
            .field("device", &self.device)
            .field("port", &self.port.id())
            .field("addressing", &self.addressing)
            .finish_non_exhaustive()
    }
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl MediaPort {
    /// Initialises the EAL (once per process), finds the device, and
    /// starts it with a queue pair per worker. Errors say which step
    /// failed and what DPDK answered.
    pub fn start(config: &MediaPortConfig) -> Result<MediaPort, DpdkError> {
        let args: Vec<&str> = config.eal.iter().map(String::as_str).collect();
        let eal = Eal::init(&args)?;
        let (id, device) = match &config.device {
            Some(name) => (eal.port_by_name(name)?, name.clone()),
            None => match eal.port_count() {
                1 => (0, "port 0".to_owned()),
                n => {
                    return Err(DpdkError::with_text(
                        "choosing the media device",
                        libc::EINVAL,
                        format!(
                            "the EAL found {n} devices; name one (media.dpdk_device, \
                             --dpdk-device)"
                        ),
                    ));
                }
            },
        };
        let workers = config.workers.clamp(1, 64);
        let queues = workers as u16;
        let pool = Mempool::new(
            &eal,
            &format!("tandem_media_{id}"),
            config.mbufs,
            256,
            2048,
            crate::dpdk::device_socket(id),
        )?;
        let (port, rx, tx) = Port::start(&eal, id, queues, queues, config.descriptors, pool)
            .map_err(|e| {
                DpdkError::with_text(
                    "starting the media device",
                    e.code,
                    format!(
                        "{device} with {queues} queue pair(s): {e} (a device needs a \
                         receive and a transmit queue per media worker; for \
                         net_af_packet add qpairs={queues} to its --vdev)"
                    ),
                )
            })?;
        let mac = port.mac()?;
        let (kernel, kernel_queues) = match &config.exception {
            None => (None, Vec::new()),
            Some(name) => {
                let id = eal.port_by_name(name).map_err(|e| {
                    DpdkError::with_text(
                        "finding the exception device",
                        e.code,
                        format!("{name}: {e} (add it to the EAL arguments, e.g. --vdev={name},iface=tandem0)"),
                    )
                })?;
                let (kport, krx, ktx) =
                    Port::start(&eal, id, queues, queues, 512, pool).map_err(|e| {
                        DpdkError::with_text(
                            "starting the exception device",
                            e.code,
                            format!("{name} with {queues} queue pair(s): {e}"),
                        )
                    })?;
                // The kernel answers from the media port's address, so it
                // must own the same MAC.
                kport.set_mac(mac)?;
                (
                    Some((kport, name.clone())),
                    krx.into_iter().zip(ktx).map(Some).collect(),
                )
            }
        };
        Ok(MediaPort {
            eal,
            port,
            device,
            mac,
            pool,
            queues: Mutex::new(rx.into_iter().zip(tx).map(Some).collect()),
            kernel,
            kernel_queues: Mutex::new(kernel_queues),
            fabric: Arc::new(Fabric::new(workers)),
            addressing: config.addressing,
        })
    }

    /// Worker `i`'s backend, built on the calling thread (the worker's).
    /// Each queue pair is handed out once.
    pub fn io(&self, i: usize) -> Result<DpdkIo, DpdkError> {
        let taken = {
            let mut q = self.queues.lock().unwrap_or_else(|p| p.into_inner());
            q.get_mut(i).and_then(Option::take)
        };
        let (rx, tx) = taken.ok_or_else(|| {
            DpdkError::with_text(
                "taking a queue pair",
                libc::ENOENT,
                format!("no free queue pair {i} on {}", self.device),
            )
        })?;
        let mut io = DpdkIo::shared(
            rx,
            tx,
            self.pool,
            self.mac,
            self.addressing,
            i,
            Arc::clone(&self.fabric),
        );
        let kernel = {
            let mut q = self.kernel_queues.lock().unwrap_or_else(|p| p.into_inner());
            q.get_mut(i).and_then(Option::take)
        };
        if let Some((krx, ktx)) = kernel {
            io.set_kernel_path(krx, ktx);
        }
        Ok(io)
    }

    /// The EAL this port runs under.
    pub fn eal(&self) -> &Eal {
        &self.eal
    }

    /// The device's name as configured (or `port 0`).
    pub fn device(&self) -> &str {
        &self.device
    }

    /// The device's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The device's counters.
    pub fn stats(&self) -> Result<PortStats, DpdkError> {
        self.port.stats()
    }

    /// Datagrams moved between workers' queues, and dropped because the
    /// owner's inbox was full.
    pub fn handoffs(&self) -> (u64, u64) {
        (
            self.fabric.handed.load(Ordering::Relaxed),
            self.fabric.inbox_full.load(Ordering::Relaxed),
        )
    }

    /// The workers' reports, summed (published every 100 ms or so): the
    /// host stacks' frames by outcome, datagrams dropped for want of the
    /// next hop's MAC address, the kernel path's traffic.
    pub fn report(&self) -> IoReport {
        self.fabric.counters()
    }

    /// A line for the log: device, MAC, address, queues.
    pub fn describe(&self) -> String {
        let a = &self.addressing;
        let mut s = format!(
            "DPDK {} (port {}, {}) as {}/{}, {} queue pair(s)",
            self.device,
            self.port.id(),
            mac_text(self.mac),
            a.ip,
            a.prefix_len,
            self.fabric.workers(),
        );
        if let Some(g) = a.gateway {
            s.push_str(&format!(", gateway {g}"));
        }
        if let Some((_, name)) = &self.kernel {
            s.push_str(&format!(", exception path to the kernel through {name}"));
        }
        s.push_str(match self.port.checksum_offload() {
            (true, true) => ", checksums offloaded both ways",
            (true, false) => ", checksums checked by the device, filled in by software",
            (false, true) => ", checksums checked by software, filled in by the device",
            (false, false) => ", checksums in software",
        });
        if let Some(v) = a.vlan {
            s.push_str(&format!(", VLAN {v}"));
        }
        s
    }
}
