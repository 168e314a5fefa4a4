//! An in-memory UDP switchboard for deterministic tests and benchmarks.
//!
//! [`MemoryNet`] maps socket addresses to mailboxes. A [`MemoryIo`] is a
//! [`PacketIo`] whose ports are addresses on that net; a [`MemorySocket`]
//! is a plain peer (a phone, a load generator) that sends and receives
//! datagrams. Delivery is immediate and in order; a datagram to an address
//! nobody bound is silently lost, as UDP would lose it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{IoError, IoStats, PacketBuf, PacketIo, PortId, RxPacket, TxPacket};

/// Largest datagram a [`MemoryBuf`] holds (a full Ethernet MTU).
pub const MEMORY_BUF_CAPACITY: usize = 1500;

/// A delivered datagram: destination mailbox tag, source, payload.
type Datagram = (u32, SocketAddr, Vec<u8>);

#[derive(Default)]
struct Table {
    /// Address → (mailbox, tag to deliver with).
    bound: HashMap<SocketAddr, (Sender<Datagram>, u32)>,
    next_ephemeral: u16,
}

/// The switchboard. Cheap to clone; clones share the table.
#[derive(Clone, Default)]
pub struct MemoryNet {
    table: Arc<Mutex<Table>>,
}

impl MemoryNet {
    /// An empty net.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new backend on this net.
    pub fn io(&self) -> MemoryIo {
        let (tx, rx) = mpsc::channel();
        MemoryIo {
            net: self.clone(),
            mailbox_tx: tx,
            mailbox: rx,
            ports: HashMap::new(),
            next_port: 0,
            pending: Vec::new(),
            stats: IoStats::default(),
        }
    }

    /// A peer socket bound at `addr` (port 0 picks one).
    pub fn socket(&self, addr: SocketAddr) -> Result<MemorySocket, IoError> {
        let (tx, rx) = mpsc::channel();
        let addr = self.bind(addr, tx, 0)?;
        Ok(MemorySocket {
            net: self.clone(),
            addr,
            mailbox: rx,
        })
    }

    fn bind(
        &self,
        mut addr: SocketAddr,
        tx: Sender<Datagram>,
        tag: u32,
    ) -> Result<SocketAddr, IoError> {
        let mut t = self.table.lock().expect("memory net poisoned");
        if addr.port() == 0 {
            loop {
                t.next_ephemeral = t.next_ephemeral.wrapping_add(1).max(1);
                let candidate = SocketAddr::new(addr.ip(), 40000u16.wrapping_add(t.next_ephemeral));
                if !t.bound.contains_key(&candidate) {
                    addr = candidate;
                    break;
                }
            }
        }
        if t.bound.contains_key(&addr) {
            return Err(IoError::AddrInUse(addr));
        }
        t.bound.insert(addr, (tx, tag));
        Ok(addr)
    }

    fn unbind(&self, addr: SocketAddr) {
        self.table
            .lock()
            .expect("memory net poisoned")
            .bound
            .remove(&addr);
    }

    /// Delivers a datagram; `false` when nobody is bound at `to`.
    fn deliver(&self, from: SocketAddr, to: SocketAddr, payload: Vec<u8>) -> bool {
        let t = self.table.lock().expect("memory net poisoned");
        match t.bound.get(&to) {
            Some((tx, tag)) => tx.send((*tag, from, payload)).is_ok(),
            None => false,
        }
    }
}

/// Packet memory of the in-memory backend.
#[derive(Debug, Clone)]
pub struct MemoryBuf {
    bytes: Vec<u8>,
}

impl MemoryBuf {
    fn from_payload(mut bytes: Vec<u8>) -> Self {
        bytes.reserve_exact(MEMORY_BUF_CAPACITY.saturating_sub(bytes.len()));
        Self { bytes }
    }
}

impl PacketBuf for MemoryBuf {
    fn data(&self) -> &[u8] {
        &self.bytes
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
    fn capacity(&self) -> usize {
        MEMORY_BUF_CAPACITY
    }
    fn set_len(&mut self, len: usize) {
        assert!(len <= MEMORY_BUF_CAPACITY, "payload {len} beyond capacity");
        self.bytes.resize(len, 0);
    }
}

/// A [`PacketIo`] backend on a [`MemoryNet`].
pub struct MemoryIo {
    net: MemoryNet,
    mailbox_tx: Sender<Datagram>,
    mailbox: Receiver<Datagram>,
    ports: HashMap<u32, SocketAddr>,
    next_port: u32,
    /// A datagram taken by `wait` and not yet handed out.
    pending: Vec<Datagram>,
    stats: IoStats,
}

impl PacketIo for MemoryIo {
    type Buf = MemoryBuf;

    fn name(&self) -> &'static str {
        "memory"
    }

    fn open(&mut self, local: SocketAddr) -> Result<PortId, IoError> {
        let id = self.next_port;
        let addr = self.net.bind(local, self.mailbox_tx.clone(), id)?;
        self.next_port += 1;
        self.ports.insert(id, addr);
        Ok(PortId(id))
    }

    fn local_addr(&self, port: PortId) -> Result<SocketAddr, IoError> {
        self.ports
            .get(&port.0)
            .copied()
            .ok_or(IoError::UnknownPort(port))
    }

    fn close(&mut self, port: PortId) -> Result<(), IoError> {
        let addr = self
            .ports
            .remove(&port.0)
            .ok_or(IoError::UnknownPort(port))?;
        self.net.unbind(addr);
        Ok(())
    }

    fn recv_burst(
        &mut self,
        out: &mut Vec<RxPacket<MemoryBuf>>,
        max: usize,
    ) -> Result<usize, IoError> {
        let mut n = 0;
        while n < max {
            let Some((tag, from, payload)) =
                self.pending.pop().or_else(|| self.mailbox.try_recv().ok())
            else {
                break;
            };
            if !self.ports.contains_key(&tag) {
                continue; // arrived before the port was closed
            }
            self.stats.rx_packets += 1;
            self.stats.rx_bytes += payload.len() as u64;
            out.push(RxPacket {
                port: PortId(tag),
                from,
                buf: MemoryBuf::from_payload(payload),
            });
            n += 1;
        }
        Ok(n)
    }

    fn alloc(&mut self) -> Option<MemoryBuf> {
        Some(MemoryBuf::from_payload(Vec::new()))
    }

    fn send_burst(&mut self, pkts: &mut Vec<TxPacket<MemoryBuf>>) -> Result<usize, IoError> {
        let mut sent = 0;
        for p in pkts.drain(..) {
            let Some(&from) = self.ports.get(&p.port.0) else {
                self.stats.tx_dropped += 1;
                continue;
            };
            let len = p.buf.bytes.len() as u64;
            // Like UDP, a datagram to nobody is "sent" and then lost.
            self.net.deliver(from, p.to, p.buf.bytes);
            self.stats.tx_packets += 1;
            self.stats.tx_bytes += len;
            sent += 1;
        }
        Ok(sent)
    }

    fn flush(&mut self) -> Result<(), IoError> {
        Ok(())
    }

    fn wait(&mut self, timeout: Duration) -> Result<(), IoError> {
        if self.pending.is_empty() {
            match self.mailbox.recv_timeout(timeout) {
                Ok(d) => self.pending.push(d),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
        }
        Ok(())
    }

    fn stats(&self) -> IoStats {
        self.stats
    }
}

impl Drop for MemoryIo {
    fn drop(&mut self) {
        for addr in self.ports.values() {
            self.net.unbind(*addr);
        }
    }
}

/// A peer on a [`MemoryNet`]: sends and receives raw datagrams.
pub struct MemorySocket {
    net: MemoryNet,
    addr: SocketAddr,
    mailbox: Receiver<Datagram>,
}

impl MemorySocket {
    /// Where this socket is bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends a datagram; `false` when nobody is bound at `to` (the datagram
    /// is lost, as with UDP).
    pub fn send_to(&self, payload: &[u8], to: SocketAddr) -> bool {
        self.net.deliver(self.addr, to, payload.to_vec())
    }

    /// The next datagram, waiting up to `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<(SocketAddr, Vec<u8>)> {
        self.mailbox
            .recv_timeout(timeout)
            .ok()
            .map(|(_, from, p)| (from, p))
    }

    /// The next datagram if one is waiting.
    pub fn try_recv(&self) -> Option<(SocketAddr, Vec<u8>)> {
        self.mailbox.try_recv().ok().map(|(_, from, p)| (from, p))
    }
}

impl Drop for MemorySocket {
    fn drop(&mut self) {
        self.net.unbind(self.addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_datagram_goes_from_a_peer_through_the_backend_and_back() {
        let net = MemoryNet::new();
        let mut io = net.io();
        let port = io.open(a("10.0.0.1:20000")).unwrap();
        let phone = net.socket(a("10.0.0.9:5004")).unwrap();
        assert!(phone.send_to(b"hello", a("10.0.0.1:20000")));
        io.wait(Duration::from_secs(1)).unwrap();
        let mut rx = Vec::with_capacity(32);
        assert_eq!(io.recv_burst(&mut rx, 32).unwrap(), 1);
        let p = rx.pop().unwrap();
        assert_eq!(
            (p.port, p.from, p.buf.data()),
            (port, phone.local_addr(), &b"hello"[..])
        );
        let mut buf = p.buf;
        buf.data_mut()[0] = b'j';
        let mut tx = vec![TxPacket {
            port,
            to: p.from,
            buf,
        }];
        assert_eq!(io.send_burst(&mut tx).unwrap(), 1);
        assert!(tx.is_empty());
        let (from, got) = phone.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!((from, &got[..]), (a("10.0.0.1:20000"), &b"jello"[..]));
        assert_eq!(io.stats().rx_packets, 1);
        assert_eq!(io.stats().tx_bytes, 5);
    }

    #[test]
    fn ports_conflict_and_close() {
        let net = MemoryNet::new();
        let mut io = net.io();
        let p = io.open(a("10.0.0.1:20000")).unwrap();
        assert!(matches!(
            io.open(a("10.0.0.1:20000")),
            Err(IoError::AddrInUse(_))
        ));
        io.close(p).unwrap();
        assert!(matches!(io.close(p), Err(IoError::UnknownPort(_))));
        let any = io.open(a("10.0.0.1:0")).unwrap();
        assert_ne!(io.local_addr(any).unwrap().port(), 0);
    }

    #[test]
    fn burst_respects_max() {
        let net = MemoryNet::new();
        let mut io = net.io();
        io.open(a("10.0.0.1:20000")).unwrap();
        let phone = net.socket(a("10.0.0.9:0")).unwrap();
        for i in 0..10u8 {
            phone.send_to(&[i], a("10.0.0.1:20000"));
        }
        let mut rx = Vec::new();
        assert_eq!(io.recv_burst(&mut rx, 4).unwrap(), 4);
        assert_eq!(io.recv_burst(&mut rx, 32).unwrap(), 6);
        let order: Vec<u8> = rx.iter().map(|p| p.buf.data()[0]).collect();
        assert_eq!(order, (0..10).collect::<Vec<_>>());
    }
}
