//! SIP transports of `tandem run` (RFC 3261 §18): UDP and TCP.
//!
//! Reading happens on threads, one for the UDP socket, one per TCP
//! connection, so that framing and parsing (most of the cost of a SIP
//! message) run beside the control thread, on the other core. Each reader
//! hands finished messages to the control thread through one bounded
//! channel; when the control thread falls behind, UDP readers block and the
//! kernel's socket buffer absorbs (then drops) the burst, which SIP's
//! retransmissions recover, rather than this process growing without bound.
//!
//! Writing happens on the control thread. TCP connections, inbound and
//! outbound, live in a shared table keyed by the peer address (§18.2.2:
//! responses go back over the connection the request came on). An outbound
//! connection is opened by a short-lived thread so the control thread never
//! waits on a connect; messages for it queue until it is up.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use crossbeam_channel::Sender;
use tandem_sip::message;
use tandem_sip::transport::{Frame, PONG, Peer, StreamFramer, Transport};

/// Largest UDP datagram we read (RFC 3261 §18.1.1 allows up to 65,535).
const MAX_DATAGRAM: usize = 65_535;
/// How long a TCP write may block the control thread before the
/// connection is declared dead.
const WRITE_TIMEOUT: Duration = Duration::from_millis(200);
/// How long an outbound TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Messages held for a connection that is still being opened.
const MAX_QUEUED: usize = 256;

/// What the transports hand the control thread.
#[derive(Debug)]
pub(crate) enum NetInput {
    /// A parsed message.
    Message {
        /// Where it came from.
        from: Peer,
        /// The message.
        message: rsip::SipMessage,
    },
    /// Bytes that are not a SIP message (counted, and logged at a limited
    /// rate; RFC 3261 §18.3 lets us drop them).
    Malformed {
        /// Where they came from.
        from: Peer,
        /// Why they were refused.
        error: String,
    },
    /// A TCP connection closed (by the peer, or after an error).
    Closed {
        /// The peer.
        peer: Peer,
        /// Why.
        reason: String,
    },
}

/// Counters of the transports, read by the metrics exporter.
#[derive(Debug, Default)]
pub(crate) struct NetCounters {
    /// Messages that could not be framed or parsed.
    pub(crate) malformed: AtomicU64,
    /// Messages that could not be sent.
    pub(crate) send_errors: AtomicU64,
    /// TCP connections accepted or opened.
    pub(crate) connections: AtomicU64,
}

enum Conn {
    /// Being opened; messages wait here.
    Connecting(Vec<Vec<u8>>),
    /// Open; the control thread writes here.
    Up(TcpStream),
}

type ConnTable = Arc<Mutex<HashMap<SocketAddr, Conn>>>;

/// The SIP sockets.
pub(crate) struct SipNet {
    udp: UdpSocket,
    local: SocketAddr,
    conns: ConnTable,
    inbox: Sender<NetInput>,
    counters: Arc<NetCounters>,
}

impl SipNet {
    /// Binds UDP (and TCP when `tcp`) on `listen` and starts the readers.
    pub(crate) fn bind(
        listen: SocketAddr,
        tcp: bool,
        inbox: Sender<NetInput>,
        counters: Arc<NetCounters>,
    ) -> io::Result<Self> {
        let udp = UdpSocket::bind(listen)?;
        let local = udp.local_addr()?;
        let conns: ConnTable = Arc::default();
        if tcp {
            // Same port as UDP, so one address is the whole contact.
            let listener = TcpListener::bind(local)?;
            let addr = listener.local_addr()?;
            let (conns, inbox, counters) = (conns.clone(), inbox.clone(), counters.clone());
            thread::Builder::new()
                .name("sip-tcp-accept".into())
                .spawn(move || accept_loop(listener, conns, inbox, counters))?;
            let _ = addr;
        }
        let reader = udp.try_clone()?;
        let (tx, c) = (inbox.clone(), counters.clone());
        thread::Builder::new()
            .name("sip-udp".into())
            .spawn(move || udp_loop(reader, tx, c))?;
        Ok(Self {
            udp,
            local,
            conns,
            inbox,
            counters,
        })
    }

    /// The UDP address bound.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends `bytes` to `to`, opening a TCP connection when needed.
    pub(crate) fn send(&self, to: Peer, bytes: &[u8]) {
        let result = match to.transport {
            Transport::Udp => self.udp.send_to(bytes, to.addr).map(drop),
            Transport::Tcp => self.send_stream(to.addr, bytes),
            // TLS listeners are not built yet: the configuration refuses
            // TLS trunks, so nothing should ask for it.
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "TLS transport is not available",
            )),
        };
        if let Err(e) = result {
            self.counters.send_errors.fetch_add(1, Ordering::Relaxed);
            eprintln!("tandem: sip: sending to {to}: {e}");
        }
    }

    fn send_stream(&self, addr: SocketAddr, bytes: &[u8]) -> io::Result<()> {
        let mut conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        match conns.get_mut(&addr) {
            Some(Conn::Up(stream)) => {
                if let Err(e) = stream.write_all(bytes) {
                    let _ = stream.shutdown(Shutdown::Both);
                    conns.remove(&addr);
                    return Err(e);
                }
                Ok(())
            }
            Some(Conn::Connecting(queue)) => {
                if queue.len() >= MAX_QUEUED {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "connection still opening and its queue is full",
                    ));
                }
                queue.push(bytes.to_vec());
                Ok(())
            }
            None => {
                conns.insert(addr, Conn::Connecting(vec![bytes.to_vec()]));
                drop(conns);
                let (conns, inbox, counters) = (
                    self.conns.clone(),
                    self.inbox.clone(),
                    self.counters.clone(),
                );
                thread::Builder::new()
                    .name("sip-tcp-connect".into())
                    .spawn(move || connect(addr, conns, inbox, counters))
                    .map(drop)
            }
        }
    }
}

fn udp_loop(socket: UdpSocket, inbox: Sender<NetInput>, counters: Arc<NetCounters>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // ICMP port-unreachable from an earlier send surfaces here on
            // Linux; it says nothing about this socket.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
            Err(e) => {
                eprintln!("tandem: sip: UDP receive failed, stopping the reader: {e}");
                return;
            }
        };
        let from = Peer::udp(from);
        let bytes = &buf[..n];
        // Keep-alives (RFC 5626 §4.4.1 uses CRLF on UDP too) are not messages.
        if bytes.iter().all(|b| matches!(b, b'\r' | b'\n' | 0)) {
            continue;
        }
        let input = match message::parse(bytes) {
            Ok(message) => NetInput::Message { from, message },
            Err(e) => {
                counters.malformed.fetch_add(1, Ordering::Relaxed);
                NetInput::Malformed {
                    from,
                    error: e.to_string(),
                }
            }
        };
        if inbox.send(input).is_err() {
            return;
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    conns: ConnTable,
    inbox: Sender<NetInput>,
    counters: Arc<NetCounters>,
) {
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("tandem: sip: TCP accept: {e}");
                // Out of descriptors: back off rather than spin.
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if let Err(e) = register(stream, &conns, &inbox, &counters, Vec::new()) {
            eprintln!("tandem: sip: TCP connection: {e}");
        }
    }
}

fn connect(
    addr: SocketAddr,
    conns: ConnTable,
    inbox: Sender<NetInput>,
    counters: Arc<NetCounters>,
) {
    let result = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT);
    let queued = match conns
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&addr)
    {
        Some(Conn::Connecting(q)) => q,
        _ => Vec::new(),
    };
    let outcome = result.and_then(|stream| register(stream, &conns, &inbox, &counters, queued));
    if let Err(e) = outcome {
        counters.send_errors.fetch_add(1, Ordering::Relaxed);
        let _ = inbox.send(NetInput::Closed {
            peer: Peer::tcp(addr),
            reason: format!("connect failed: {e}"),
        });
    }
}

/// Puts an open stream in the table (sending what waited for it) and starts
/// its reader.
fn register(
    stream: TcpStream,
    conns: &ConnTable,
    inbox: &Sender<NetInput>,
    counters: &Arc<NetCounters>,
    queued: Vec<Vec<u8>>,
) -> io::Result<()> {
    let peer = stream.peer_addr()?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    for m in &queued {
        writer.write_all(m)?;
    }
    conns
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(peer, Conn::Up(writer));
    counters.connections.fetch_add(1, Ordering::Relaxed);
    let (conns, inbox, counters) = (conns.clone(), inbox.clone(), counters.clone());
    thread::Builder::new()
        .name("sip-tcp".into())
        .spawn(move || stream_loop(stream, peer, conns, inbox, counters))?;
    Ok(())
}

fn stream_loop(
    mut stream: TcpStream,
    addr: SocketAddr,
    conns: ConnTable,
    inbox: Sender<NetInput>,
    counters: Arc<NetCounters>,
) {
    let peer = Peer::tcp(addr);
    let mut framer = StreamFramer::new();
    let mut buf = vec![0u8; 16 * 1024];
    let reason = 'conn: loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break 'conn "closed by the peer".to_string(),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break 'conn e.to_string(),
        };
        if let Err(e) = framer.handle_bytes(&buf[..n]) {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            break 'conn format!("unframeable stream: {e}");
        }
        loop {
            match framer.poll_frame() {
                Ok(None) => break,
                Ok(Some(Frame::Message(bytes))) => {
                    let input = match message::parse(&bytes) {
                        Ok(message) => NetInput::Message {
                            from: peer,
                            message,
                        },
                        Err(e) => {
                            counters.malformed.fetch_add(1, Ordering::Relaxed);
                            NetInput::Malformed {
                                from: peer,
                                error: e.to_string(),
                            }
                        }
                    };
                    if inbox.send(input).is_err() {
                        return;
                    }
                }
                Ok(Some(Frame::Ping)) => {
                    if let Some(Conn::Up(w)) = conns
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_mut(&addr)
                    {
                        let _ = w.write_all(PONG);
                    }
                }
                Ok(Some(Frame::Pong)) => {}
                Err(e) => {
                    counters.malformed.fetch_add(1, Ordering::Relaxed);
                    break 'conn format!("unframeable stream: {e}");
                }
            }
        }
    };
    conns
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&addr);
    let _ = stream.shutdown(Shutdown::Both);
    let _ = inbox.send(NetInput::Closed { peer, reason });
}
