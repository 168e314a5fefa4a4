//! `--target floor`: the least CPU a relay on kernel UDP sockets spends
//! per packet on this machine, to put the targets' figures in proportion.
//!
//! A thread of the bench's own process holds two ports per call on the
//! packet backend `tandem run` uses (`tandem_udp::UdpIo`, io_uring unless
//! `--packet-io socket`) and sends every datagram it receives on one port
//! out of the other, to the far side's address fixed at setup. Nothing
//! else: no RTP parsing or rewriting, no RTCP, no statistics, no receive
//! timestamps, the received buffer sent as it came. What it spends is the
//! kernel's receive and send (on loopback the send includes delivering to
//! the generator's socket), the io_uring around them and one table lookup
//! per packet, measured as the thread's CPU time over the same window as
//! the targets'.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tandem_packet_io::{PacketIo, PortId, RxPacket, TxPacket};
use tandem_udp::{Backend, UdpConfig, UdpIo};

use crate::cpu;

/// The floor relay's thread name, for its CPU time.
const THREAD: &str = "floor-relay";
/// Datagrams taken per receive call and sent per send call.
const BURST: usize = 64;

/// A running floor relay.
pub struct FloorRelay {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<u64, String>>>,
    stat: PathBuf,
    ticks: f64,
    /// The relay's two addresses per call: the one the caller sends to and
    /// the one the callee sends to, in the order of the calls given.
    pub addrs: Vec<(SocketAddr, SocketAddr)>,
}

impl FloorRelay {
    /// Opens two ports per `(caller, callee)` pair and starts relaying:
    /// what reaches the first goes to the callee from the second, and back.
    pub fn start(calls: &[(SocketAddr, SocketAddr)], backend: Backend) -> Result<Self, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = crossbeam_channel::bounded(1);
        let calls = calls.to_vec();
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name(THREAD.into())
            .spawn(move || relay(&calls, backend, &flag, &tx))
            .map_err(|e| format!("floor relay thread: {e}"))?;
        let addrs = match rx.recv() {
            Ok(addrs) => addrs,
            Err(_) => {
                return Err(match handle.join() {
                    Ok(Err(e)) => e,
                    _ => "floor relay: thread ended at setup".into(),
                });
            }
        };
        let stat = cpu::own_thread_stat(THREAD).ok_or("floor relay: thread not in /proc")?;
        Ok(Self {
            stop,
            handle: Some(handle),
            stat,
            ticks: cpu::clock_ticks(),
            addrs,
        })
    }

    /// CPU seconds the relay thread has used.
    pub fn cpu_seconds(&self) -> Result<f64, String> {
        cpu::stat_cpu_seconds(&self.stat, self.ticks).map_err(|e| format!("floor relay: {e}"))
    }

    /// Stops the thread; returns the datagrams it relayed.
    pub fn stop(mut self) -> Result<u64, String> {
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            _ => Err("floor relay: thread panicked".into()),
        }
    }
}

impl Drop for FloorRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn relay(
    calls: &[(SocketAddr, SocketAddr)],
    backend: Backend,
    stop: &AtomicBool,
    ready: &crossbeam_channel::Sender<Vec<(SocketAddr, SocketAddr)>>,
) -> Result<u64, String> {
    let config = UdpConfig {
        backend,
        ..UdpConfig::default()
    };
    let mut io = UdpIo::new(&config).map_err(|e| format!("floor relay backend: {e}"))?;
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut table: HashMap<PortId, (PortId, SocketAddr)> = HashMap::new();
    let mut addrs = Vec::with_capacity(calls.len());
    let open = |io: &mut UdpIo| -> Result<(PortId, SocketAddr), String> {
        let port = io.open(any).map_err(|e| format!("floor relay port: {e}"))?;
        let addr = io.local_addr(port).map_err(|e| e.to_string())?;
        Ok((port, addr))
    };
    for &(caller, callee) in calls {
        let (a, a_addr) = open(&mut io)?;
        let (b, b_addr) = open(&mut io)?;
        table.insert(a, (b, callee));
        table.insert(b, (a, caller));
        addrs.push((a_addr, b_addr));
    }
    if ready.send(addrs).is_err() {
        return Ok(0);
    }
    let mut rx: Vec<RxPacket<_>> = Vec::with_capacity(BURST);
    let mut tx = Vec::with_capacity(BURST);
    let mut relayed = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let n = io.recv_burst(&mut rx, BURST).map_err(|e| e.to_string())?;
        if n == 0 {
            io.wait(Duration::from_millis(5))
                .map_err(|e| e.to_string())?;
            continue;
        }
        for p in rx.drain(..) {
            if let Some(&(port, to)) = table.get(&p.port) {
                tx.push(TxPacket {
                    port,
                    to,
                    buf: p.buf,
                });
            }
        }
        relayed += io.send_burst(&mut tx).map_err(|e| e.to_string())? as u64;
    }
    Ok(relayed)
}
