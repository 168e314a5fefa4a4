//! SIP transports of `tandem run` (RFC 3261 §18): UDP, TCP and TLS
//! (§26.2, RFC 5630), TLS through `rustls` with the `ring` provider.
//!
//! Reading happens on threads, one for the UDP socket, one per stream
//! connection, so that framing and parsing (most of the cost of a SIP
//! message) and TLS decryption run beside the control thread, on the other
//! core. Each reader hands finished messages to the control thread through
//! one bounded channel; when the control thread falls behind, readers block
//! and the kernel's socket buffers absorb (then drop) the burst, which
//! SIP's retransmissions recover, rather than this process growing without
//! bound.
//!
//! Writing happens on the control thread. Stream connections (TCP and TLS,
//! inbound and outbound) live in a shared table keyed by transport and peer
//! address (§18.2.2: responses go back over the connection the request
//! came on; in-dialog requests to a peer reuse it). A write may block for
//! at most [`WRITE_TIMEOUT`]; then the connection is declared dead.
//!
//! Everything slow happens on the connection's own thread, never on the
//! control thread: the outbound connect, and the TLS handshake in both
//! directions (bounded by [`HANDSHAKE_TIMEOUT`]). Messages for a connection
//! that is still opening queue until it is up. At most [`MAX_STREAMS`]
//! stream connections exist at once (each holds a thread); an accept beyond
//! that is closed at once and counted.
//!
//! TLS peers are authenticated as RFC 5922 §7 asks of a client: the trunk's
//! certificate must chain to a trusted CA (the system's, from Debian's
//! `ca-certificates`, or `sip.tls_ca_file`) and carry the trunk's host name
//! (sent as SNI), or its IP address when the trunk is configured by
//! address. Inbound TLS clients are not asked for a certificate: callers
//! authenticate with digest or by source address, as over UDP and TCP.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use tandem_sip::message;
use tandem_sip::transport::{Frame, PONG, Peer, StreamFramer, Transport};

use crate::config::TlsListen;

/// Largest UDP datagram we read (RFC 3261 §18.1.1 allows up to 65,535).
const MAX_DATAGRAM: usize = 65_535;
/// How long a stream write may block the control thread before the
/// connection is declared dead.
const WRITE_TIMEOUT: Duration = Duration::from_millis(200);
/// How long an outbound TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a TLS handshake may take, either direction: a peer that opens
/// a connection and stalls holds a thread no longer than this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages held for a connection that is still being opened.
const MAX_QUEUED: usize = 256;
/// Stream connections (TCP and TLS, both directions, handshaking or up) at
/// once. Each has a reader thread; beyond this, accepts are closed and
/// connects refused.
pub(crate) const MAX_STREAMS: usize = 4096;
/// The CA bundle of Debian's `ca-certificates`, trusted for TLS trunks
/// unless `sip.tls_ca_file` names another.
pub(crate) const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

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
    /// A stream connection closed (by the peer, or after an error), or an
    /// outbound one could not be opened.
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
    /// Stream connections (TCP and TLS) accepted or opened.
    pub(crate) connections: AtomicU64,
    /// Stream connections refused because [`MAX_STREAMS`] were open.
    pub(crate) connections_refused: AtomicU64,
    /// TLS handshakes that failed, either direction (bad certificate, no
    /// common cipher, a plain-text peer, a timeout).
    pub(crate) tls_handshake_failures: AtomicU64,
}

/// One open stream connection's sending side.
enum Link {
    Tcp(TcpStream),
    Tls(Box<TlsLink>),
}

/// A TLS session and the socket under it. The reader thread feeds it what
/// arrives; the control thread writes through it; both under its lock.
struct TlsLink {
    session: rustls::Connection,
    socket: TcpStream,
}

impl TlsLink {
    /// Sends what rustls has ready (records, alerts, tickets).
    fn flush(&mut self) -> io::Result<()> {
        while self.session.wants_write() {
            self.session.write_tls(&mut self.socket)?;
        }
        Ok(())
    }
}

impl Link {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Link::Tcp(s) => s.write_all(bytes),
            Link::Tls(t) => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    // rustls buffers a bounded amount of plaintext; what it
                    // takes is encrypted and flushed before the next part.
                    let n = t.session.writer().write(rest)?;
                    t.flush()?;
                    if n == 0 {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    rest = &rest[n..];
                }
                Ok(())
            }
        }
    }

    fn shutdown(&mut self) {
        let socket = match self {
            Link::Tcp(s) => s,
            Link::Tls(t) => {
                t.session.send_close_notify();
                let _ = t.flush();
                &t.socket
            }
        };
        let _ = socket.shutdown(Shutdown::Both);
    }
}

type SharedLink = Arc<Mutex<Link>>;

enum Conn {
    /// Being opened; messages wait here.
    Connecting(Vec<Vec<u8>>),
    /// Open.
    Up(SharedLink),
}

type ConnTable = Arc<Mutex<HashMap<Peer, Conn>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What every connection thread shares.
#[derive(Clone)]
struct Shared {
    conns: ConnTable,
    inbox: Sender<NetInput>,
    counters: Arc<NetCounters>,
    /// Stream connections alive (threads), for [`MAX_STREAMS`].
    streams: Arc<AtomicUsize>,
}

impl Shared {
    /// Counts a new stream connection in, or refuses it past the limit.
    fn admit(&self) -> Option<StreamSlot> {
        let admitted = self
            .streams
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_STREAMS).then_some(n + 1)
            })
            .is_ok();
        if admitted {
            Some(StreamSlot(self.streams.clone()))
        } else {
            self.counters
                .connections_refused
                .fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// One of the [`MAX_STREAMS`], given back when the connection's thread ends.
struct StreamSlot(Arc<AtomicUsize>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// TLS settings: the client side always (for trunks), the server side
/// when `sip.tls_listen` is set.
struct Tls {
    client: Arc<ClientConfig>,
    /// Names to verify trunks' certificates against (and send as SNI), by
    /// resolved address; an address not here is verified as an IP address.
    names: HashMap<SocketAddr, ServerName<'static>>,
}

/// The SIP sockets.
pub(crate) struct SipNet {
    udp: UdpSocket,
    local: SocketAddr,
    shared: Shared,
    tls: Option<Tls>,
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
        let shared = Shared {
            conns: Arc::default(),
            inbox,
            counters,
            streams: Arc::default(),
        };
        if tcp {
            // Same port as UDP, so one address is the whole contact.
            let listener = TcpListener::bind(local)?;
            let shared = shared.clone();
            thread::Builder::new()
                .name("sip-tcp-accept".into())
                .spawn(move || accept_loop(listener, None, shared))?;
        }
        let reader = udp.try_clone()?;
        let (tx, c) = (shared.inbox.clone(), shared.counters.clone());
        thread::Builder::new()
            .name("sip-udp".into())
            .spawn(move || udp_loop(reader, tx, c))?;
        Ok(Self {
            udp,
            local,
            shared,
            tls: None,
        })
    }

    /// Turns TLS on: trunks with `transport = "tls"` become reachable
    /// (their certificates checked against `ca_file`, or the system CAs),
    /// and with `listen`, SIP over TLS is served there. Returns the TLS
    /// address bound. When we have a certificate, we also present it to
    /// trunks that ask for a client certificate (mutual TLS).
    pub(crate) fn start_tls(
        &mut self,
        listen: Option<&TlsListen>,
        ca_file: Option<&Path>,
    ) -> Result<Option<SocketAddr>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let identity = listen
            .map(|l| load_identity(&l.certificate, &l.private_key))
            .transpose()?;
        let (roots, roots_from) = load_roots(ca_file)?;
        let client = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS client: {e}"))?
            .with_root_certificates(roots);
        let client = match &identity {
            Some((chain, key)) => client
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| format!("TLS client certificate: {e}"))?,
            None => client.with_no_client_auth(),
        };
        eprintln!("tandem: sip: TLS trunks are verified against {roots_from}");
        self.tls = Some(Tls {
            client: Arc::new(client),
            names: HashMap::new(),
        });
        let (Some(listen), Some((chain, key))) = (listen, identity) else {
            return Ok(None);
        };
        let server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS server: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                format!(
                    "sip.tls_certificate {} and sip.tls_private_key {}: {e}",
                    listen.certificate.display(),
                    listen.private_key.display()
                )
            })?;
        let listener = TcpListener::bind(listen.listen)
            .map_err(|e| format!("sip.tls_listen {}: {e}", listen.listen))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("sip.tls_listen {}: {e}", listen.listen))?;
        let shared = self.shared.clone();
        let server = Arc::new(server);
        thread::Builder::new()
            .name("sip-tls-accept".into())
            .spawn(move || accept_loop(listener, Some(server), shared))
            .map_err(|e| format!("starting the TLS listener: {e}"))?;
        Ok(Some(addr))
    }

    /// Sets the host names TLS trunks are verified against (RFC 5922
    /// §7.2: the name the trunk was configured with), by the address each
    /// resolved to; replaces the previous set (on reload). Addresses not
    /// named are verified against their IP address.
    pub(crate) fn set_tls_names(&mut self, names: impl IntoIterator<Item = (SocketAddr, String)>) {
        let Some(tls) = self.tls.as_mut() else { return };
        tls.names.clear();
        for (addr, name) in names {
            match ServerName::try_from(name) {
                Ok(n) => {
                    tls.names.insert(addr, n);
                }
                Err(e) => eprintln!("tandem: sip: TLS name for {addr}: {e}"),
            }
        }
    }

    /// The UDP address bound.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends `bytes` to `to`, opening a TCP or TLS connection when needed.
    pub(crate) fn send(&self, to: Peer, bytes: &[u8]) {
        let result = match to.transport {
            Transport::Udp => self.udp.send_to(bytes, to.addr).map(drop),
            Transport::Tcp | Transport::Tls => self.send_stream(to, bytes),
        };
        if let Err(e) = result {
            self.shared
                .counters
                .send_errors
                .fetch_add(1, Ordering::Relaxed);
            eprintln!("tandem: sip: sending to {to}: {e}");
        }
    }

    fn send_stream(&self, peer: Peer, bytes: &[u8]) -> io::Result<()> {
        let mut conns = lock(&self.shared.conns);
        match conns.get_mut(&peer) {
            Some(Conn::Up(link)) => {
                let link = link.clone();
                // Other connections' readers need the table meanwhile.
                drop(conns);
                let mut l = lock(&link);
                if let Err(e) = l.write_all(bytes) {
                    l.shutdown();
                    drop(l);
                    let mut conns = lock(&self.shared.conns);
                    if matches!(conns.get(&peer), Some(Conn::Up(x)) if Arc::ptr_eq(x, &link)) {
                        conns.remove(&peer);
                    }
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
                let tls = match peer.transport {
                    Transport::Tls => {
                        let Some(tls) = &self.tls else {
                            return Err(io::Error::new(
                                io::ErrorKind::Unsupported,
                                "TLS is not set up",
                            ));
                        };
                        let name = tls
                            .names
                            .get(&peer.addr)
                            .cloned()
                            .unwrap_or_else(|| ServerName::IpAddress(peer.addr.ip().into()));
                        Some((tls.client.clone(), name))
                    }
                    _ => None,
                };
                let Some(slot) = self.shared.admit() else {
                    return Err(io::Error::other(format!(
                        "{MAX_STREAMS} stream connections already open"
                    )));
                };
                conns.insert(peer, Conn::Connecting(vec![bytes.to_vec()]));
                drop(conns);
                let shared = self.shared.clone();
                let spawned = thread::Builder::new()
                    .name(format!(
                        "sip-{}-out",
                        peer.transport.as_str().to_lowercase()
                    ))
                    .spawn(move || connect(peer, tls, shared, slot));
                if let Err(e) = spawned {
                    lock(&self.shared.conns).remove(&peer);
                    return Err(e);
                }
                Ok(())
            }
        }
    }
}

/// The listener's certificate chain and key, from PEM files.
fn load_identity(
    certificate: &Path,
    private_key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let chain = CertificateDer::pem_file_iter(certificate)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("sip.tls_certificate {}: {e}", certificate.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "sip.tls_certificate {}: no PEM certificate in it",
            certificate.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(private_key)
        .map_err(|e| format!("sip.tls_private_key {}: {e}", private_key.display()))?;
    Ok((chain, key))
}

/// The CAs trunks' certificates must chain to, and where they came from.
fn load_roots(ca_file: Option<&Path>) -> Result<(RootCertStore, String), String> {
    let mut roots = RootCertStore::empty();
    let path = ca_file.unwrap_or(Path::new(SYSTEM_CA_FILE));
    let certs = match CertificateDer::pem_file_iter(path) {
        Ok(certs) => certs.filter_map(Result::ok).collect::<Vec<_>>(),
        // Without the system bundle TLS trunks fail their handshakes
        // (counted, logged); the gateway still serves everything else.
        Err(e) if ca_file.is_none() => {
            eprintln!(
                "tandem: sip: no system CA certificates ({path}: {e}; install ca-certificates or set sip.tls_ca_file)",
                path = path.display()
            );
            Vec::new()
        }
        Err(e) => return Err(format!("sip.tls_ca_file {}: {e}", path.display())),
    };
    let (added, ignored) = roots.add_parsable_certificates(certs);
    if ca_file.is_some() && added == 0 {
        return Err(format!(
            "sip.tls_ca_file {}: no usable CA certificate in it ({ignored} unparseable)",
            path.display()
        ));
    }
    Ok((
        roots,
        format!("{added} CA certificates from {}", path.display()),
    ))
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

/// Accepts TCP connections (TLS ones when `tls` is set), each on its own
/// thread.
fn accept_loop(listener: TcpListener, tls: Option<Arc<ServerConfig>>, shared: Shared) {
    let what = if tls.is_some() { "TLS" } else { "TCP" };
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("tandem: sip: {what} accept: {e}");
                // Out of descriptors: back off rather than spin.
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let Some(slot) = shared.admit() else {
            // Closed at once: a flood of connections costs a descriptor
            // for an instant, not a thread.
            let _ = stream.shutdown(Shutdown::Both);
            let refused = shared.counters.connections_refused.load(Ordering::Relaxed);
            if refused % 100 == 1 {
                eprintln!(
                    "tandem: sip: {what} connection refused: {MAX_STREAMS} open ({refused} refused so far)"
                );
            }
            continue;
        };
        let peer = match stream.peer_addr() {
            Ok(a) if tls.is_some() => Peer::new(Transport::Tls, a),
            Ok(a) => Peer::tcp(a),
            Err(_) => continue,
        };
        let tls = tls.clone();
        let shared = shared.clone();
        let spawned = thread::Builder::new()
            .name(format!("sip-{}", what.to_lowercase()))
            .spawn(move || accepted(stream, peer, tls, shared, slot));
        if let Err(e) = spawned {
            eprintln!("tandem: sip: {what} connection thread: {e}");
        }
    }
}

/// An accepted connection's thread: handshake (TLS), then read.
fn accepted(
    mut stream: TcpStream,
    peer: Peer,
    tls: Option<Arc<ServerConfig>>,
    shared: Shared,
    _slot: StreamSlot,
) {
    let session = match tls {
        None => None,
        Some(config) => {
            let outcome = ServerConnection::new(config)
                .map_err(|e| io::Error::other(e.to_string()))
                .map(rustls::Connection::Server)
                .and_then(|mut s| handshake(&mut s, &mut stream).map(|()| s));
            match outcome {
                Ok(s) => Some(s),
                Err(e) => {
                    let failures = shared
                        .counters
                        .tls_handshake_failures
                        .fetch_add(1, Ordering::Relaxed);
                    // Scanners and plain-text clients fail here all day:
                    // one line in a hundred.
                    if failures % 100 == 0 {
                        eprintln!(
                            "tandem: sip: TLS handshake with {} failed: {e} ({} failures so far)",
                            peer.addr,
                            failures + 1
                        );
                    }
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
    };
    if let Err(e) = serve(stream, peer, session, &shared) {
        eprintln!("tandem: sip: {peer}: {e}");
    }
}

/// An outbound connection's thread: connect, handshake (TLS), send what
/// queued meanwhile, then read.
fn connect(
    peer: Peer,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    shared: Shared,
    _slot: StreamSlot,
) {
    let result = TcpStream::connect_timeout(&peer.addr, CONNECT_TIMEOUT).and_then(|mut stream| {
        let session = match tls {
            None => None,
            Some((config, name)) => match ClientConnection::new(config, name)
                .map(rustls::Connection::Client)
                .map_err(|e| io::Error::other(e.to_string()))
                .and_then(|mut s| handshake(&mut s, &mut stream).map(|()| s))
            {
                Ok(s) => Some(s),
                Err(e) => {
                    shared
                        .counters
                        .tls_handshake_failures
                        .fetch_add(1, Ordering::Relaxed);
                    let _ = stream.shutdown(Shutdown::Both);
                    return Err(io::Error::new(e.kind(), format!("TLS handshake: {e}")));
                }
            },
        };
        Ok((stream, session))
    });
    match result {
        Ok((stream, session)) => {
            if let Err(e) = serve(stream, peer, session, &shared) {
                eprintln!("tandem: sip: {peer}: {e}");
            }
        }
        Err(e) => {
            let queued = match lock(&shared.conns).remove(&peer) {
                Some(Conn::Connecting(q)) => q.len(),
                _ => 0,
            };
            shared
                .counters
                .send_errors
                .fetch_add(queued.max(1) as u64, Ordering::Relaxed);
            let _ = shared.inbox.send(NetInput::Closed {
                peer,
                reason: format!("connect failed: {e}"),
            });
        }
    }
}

/// Runs the handshake on the connection's thread, within
/// [`HANDSHAKE_TIMEOUT`].
fn handshake(session: &mut rustls::Connection, stream: &mut TcpStream) -> io::Result<()> {
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    stream.set_nodelay(true)?;
    while session.is_handshaking() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        stream.set_write_timeout(Some(left))?;
        if let Err(e) = session.complete_io(stream) {
            return Err(match e.kind() {
                // What a socket timeout looks like on Linux.
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no handshake within {} s", HANDSHAKE_TIMEOUT.as_secs()),
                ),
                _ => e,
            });
        }
    }
    // TLS 1.3 servers send session tickets just after the handshake.
    while session.wants_write() {
        session.write_tls(stream)?;
    }
    stream.set_read_timeout(None)?;
    Ok(())
}

/// Puts an open connection in the table, sends what waited for it, and
/// reads it until it closes.
fn serve(
    stream: TcpStream,
    peer: Peer,
    session: Option<rustls::Connection>,
    shared: &Shared,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let raw = stream.try_clone()?;
    let link = Arc::new(Mutex::new(match session {
        None => Link::Tcp(stream.try_clone()?),
        Some(session) => Link::Tls(Box::new(TlsLink {
            session,
            socket: stream.try_clone()?,
        })),
    }));
    {
        // The link is locked before it is published, so the control
        // thread's next message goes out after the queued ones.
        let mut l = lock(&link);
        let queued = {
            let mut conns = lock(&shared.conns);
            let queued = match conns.remove(&peer) {
                Some(Conn::Connecting(q)) => q,
                _ => Vec::new(),
            };
            conns.insert(peer, Conn::Up(link.clone()));
            queued
        };
        for m in &queued {
            if let Err(e) = l.write_all(m) {
                l.shutdown();
                drop(l);
                unpublish(shared, peer, &link);
                let _ = shared.inbox.send(NetInput::Closed {
                    peer,
                    reason: format!("sending queued messages: {e}"),
                });
                return Ok(());
            }
        }
    }
    shared.counters.connections.fetch_add(1, Ordering::Relaxed);
    let reason = match peer.transport {
        Transport::Tls => {
            let mut reader = TlsReader {
                socket: raw,
                link: link.clone(),
                raw: vec![0; 16 * 1024],
                start: 0,
                end: 0,
            };
            read_stream(&mut reader, peer, &link, shared)
        }
        _ => {
            let mut reader = raw;
            read_stream(&mut reader, peer, &link, shared)
        }
    };
    let Some(reason) = reason else { return Ok(()) };
    lock(&link).shutdown();
    unpublish(shared, peer, &link);
    let _ = shared.inbox.send(NetInput::Closed { peer, reason });
    Ok(())
}

/// Takes `link` out of the table, unless another connection to the same
/// peer replaced it there.
fn unpublish(shared: &Shared, peer: Peer, link: &SharedLink) {
    let mut conns = lock(&shared.conns);
    if matches!(conns.get(&peer), Some(Conn::Up(x)) if Arc::ptr_eq(x, link)) {
        conns.remove(&peer);
    }
}

/// The plaintext of a TLS connection. Socket reads happen without the
/// link's lock, so the control thread can write meanwhile; decryption
/// happens under it.
struct TlsReader {
    socket: TcpStream,
    link: SharedLink,
    /// Bytes read from the socket that rustls has not taken yet.
    raw: Vec<u8>,
    start: usize,
    end: usize,
}

impl Read for TlsReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            {
                let mut l = lock(&self.link);
                let Link::Tls(t) = &mut *l else {
                    return Err(io::Error::other("not a TLS link"));
                };
                match t.session.reader().read(out) {
                    // 0: the peer sent close_notify.
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                if self.start < self.end {
                    let mut pending = &self.raw[self.start..self.end];
                    let taken = t.session.read_tls(&mut pending)?;
                    self.start += taken;
                    let state = t.session.process_new_packets();
                    // Alerts, and answers to key updates.
                    let flushed = t.flush();
                    state.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                    flushed?;
                    if taken == 0 {
                        // rustls takes bytes whenever its plaintext buffer
                        // has room, and the read above emptied it.
                        return Err(io::Error::other("TLS session refused input"));
                    }
                    continue;
                }
            }
            let n = self.socket.read(&mut self.raw)?;
            if n == 0 {
                // Closed without close_notify: harmless for SIP, whose
                // messages carry their own length.
                return Ok(0);
            }
            (self.start, self.end) = (0, n);
        }
    }
}

/// Frames and parses what `reader` yields until the connection ends;
/// returns why, or `None` when the control thread is gone.
fn read_stream(
    reader: &mut impl Read,
    peer: Peer,
    link: &SharedLink,
    shared: &Shared,
) -> Option<String> {
    let mut framer = StreamFramer::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Some("closed by the peer".to_string()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Some(e.to_string()),
        };
        if let Err(e) = framer.handle_bytes(&buf[..n]) {
            shared.counters.malformed.fetch_add(1, Ordering::Relaxed);
            return Some(format!("unframeable stream: {e}"));
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
                            shared.counters.malformed.fetch_add(1, Ordering::Relaxed);
                            NetInput::Malformed {
                                from: peer,
                                error: e.to_string(),
                            }
                        }
                    };
                    if shared.inbox.send(input).is_err() {
                        return None;
                    }
                }
                // RFC 5626 §4.4.1 keep-alive: answer the double CRLF.
                Ok(Some(Frame::Ping)) => {
                    let _ = lock(link).write_all(PONG);
                }
                Ok(Some(Frame::Pong)) => {}
                Err(e) => {
                    shared.counters.malformed.fetch_add(1, Ordering::Relaxed);
                    return Some(format!("unframeable stream: {e}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    use crossbeam_channel::{Receiver, bounded};

    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:tandem-b.test SIP/2.0\r\n\
        Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-net-test\r\n\
        Max-Forwards: 70\r\n\
        From: <sip:a@127.0.0.1>;tag=1\r\n\
        To: <sip:tandem-b.test>\r\n\
        Call-ID: net-test@127.0.0.1\r\n\
        CSeq: 1 OPTIONS\r\n\
        Content-Length: 0\r\n\r\n";
    const OK: &[u8] = b"SIP/2.0 200 OK\r\n\
        Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-net-test\r\n\
        From: <sip:a@127.0.0.1>;tag=1\r\n\
        To: <sip:tandem-b.test>;tag=2\r\n\
        Call-ID: net-test@127.0.0.1\r\n\
        CSeq: 1 OPTIONS\r\n\
        Content-Length: 0\r\n\r\n";

    /// A CA and a certificate it issued for `tandem-b.test` and
    /// 127.0.0.1, made with the `openssl` command.
    fn certificates() -> (PathBuf, TlsListen) {
        let dir = std::env::temp_dir().join(format!("tandem-net-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("leaf.ext"),
            "basicConstraints=CA:FALSE\nsubjectAltName=DNS:tandem-b.test,IP:127.0.0.1\n",
        )
        .unwrap();
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        for cmd in [
            format!("req -x509 {ec} -days 1 -subj /CN=ca -keyout ca.key -out ca.pem"),
            format!("req -new {ec} -subj /CN=tandem-b.test -keyout key.pem -out leaf.csr"),
            "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -days 1 -extfile leaf.ext -out cert.pem".into(),
        ] {
            let out = Command::new("openssl")
                .args(cmd.split(' '))
                .current_dir(&dir)
                .output()
                .expect("openssl (Debian package openssl)");
            assert!(out.status.success(), "openssl {cmd}: {out:?}");
        }
        let listen = TlsListen {
            listen: "127.0.0.1:0".parse().unwrap(),
            certificate: dir.join("cert.pem"),
            private_key: dir.join("key.pem"),
        };
        (dir.join("ca.pem"), listen)
    }

    fn net(
        ca: &Path,
        listen: Option<&TlsListen>,
    ) -> (SipNet, Receiver<NetInput>, Option<SocketAddr>) {
        let (tx, rx) = bounded(64);
        let mut net =
            SipNet::bind("127.0.0.1:0".parse().unwrap(), false, tx, Arc::default()).unwrap();
        let addr = net.start_tls(listen, Some(ca)).unwrap();
        (net, rx, addr)
    }

    fn next(rx: &Receiver<NetInput>) -> NetInput {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the transport reported nothing")
    }

    #[test]
    fn a_tls_trunk_is_verified_by_name_and_answers_over_the_same_connection() {
        let (ca, listen) = certificates();
        let (server, server_rx, tls) = net(&ca, Some(&listen));
        let tls = tls.unwrap();
        let (mut client, client_rx, _) = net(&ca, None);
        client.set_tls_names([(tls, "tandem-b.test".to_string())]);
        let trunk = Peer::new(Transport::Tls, tls);
        // Two messages before the handshake is done: both wait for it.
        client.send(trunk, OPTIONS);
        client.send(trunk, OPTIONS);
        for _ in 0..2 {
            let NetInput::Message { from, message } = next(&server_rx) else {
                panic!("expected the OPTIONS")
            };
            assert_eq!(from.transport, Transport::Tls);
            assert!(matches!(message, rsip::SipMessage::Request(_)));
            server.send(from, OK);
            let NetInput::Message { from, message } = next(&client_rx) else {
                panic!("expected the 200")
            };
            assert_eq!(from, trunk);
            assert!(matches!(message, rsip::SipMessage::Response(_)));
        }
        assert_eq!(
            client.shared.counters.connections.load(Ordering::Relaxed),
            1
        );

        // The same certificate under another name is refused.
        let (mut other, other_rx, _) = net(&ca, None);
        other.set_tls_names([(tls, "carrier.example".to_string())]);
        other.send(trunk, OPTIONS);
        let NetInput::Closed { peer, reason } = next(&other_rx) else {
            panic!("expected a failed connection")
        };
        assert_eq!(peer, trunk);
        assert!(reason.contains("TLS handshake"), "{reason}");
        let c = &other.shared.counters;
        assert_eq!(c.tls_handshake_failures.load(Ordering::Relaxed), 1);
        assert_eq!(c.send_errors.load(Ordering::Relaxed), 1);
        // The server saw the client's alert: a failure on its side too.
        let deadline = Instant::now() + Duration::from_secs(5);
        while server
            .shared
            .counters
            .tls_handshake_failures
            .load(Ordering::Relaxed)
            == 0
        {
            assert!(
                Instant::now() < deadline,
                "server did not count the failure"
            );
            thread::sleep(Duration::from_millis(10));
        }
        let _ = std::fs::remove_dir_all(ca.parent().unwrap());
    }
}
