//! Thin, checked wrappers over the socket system calls both backends share,
//! and safe byte-level codecs for `sockaddr_in`/`sockaddr_in6` and the
//! `SO_RXQ_OVFL` control message.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tandem_packet_io::{IoError, PortId};

/// Bytes reserved for a peer address: `sizeof(sockaddr_in6)` is 28,
/// rounded up to keep what follows 16-byte aligned.
pub(crate) const NAME_LEN: usize = 32;

/// Bytes reserved for control messages: an `SO_RXQ_OVFL` message needs
/// `CMSG_SPACE(4)` = 24 bytes on 64-bit Linux (20 on 32-bit), and an
/// `SCM_TIMESTAMPNS` one (when asked for) `CMSG_SPACE(16)` = 32.
pub(crate) const CONTROL_LEN: usize = 64;

/// Storage for a `sockaddr_in` or `sockaddr_in6`, as the kernel reads and
/// writes it.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub(crate) struct RawAddr(pub(crate) [u8; NAME_LEN]);

impl RawAddr {
    pub(crate) const fn zeroed() -> Self {
        Self([0; NAME_LEN])
    }

    /// Encodes `addr`; returns the length to pass as `msg_namelen`.
    pub(crate) fn encode(&mut self, addr: &SocketAddr) -> libc::socklen_t {
        self.0 = [0; NAME_LEN];
        match addr {
            SocketAddr::V4(a) => {
                self.0[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
                self.0[2..4].copy_from_slice(&a.port().to_be_bytes());
                self.0[4..8].copy_from_slice(&a.ip().octets());
                size_of::<libc::sockaddr_in>() as libc::socklen_t
            }
            SocketAddr::V6(a) => {
                self.0[0..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
                self.0[2..4].copy_from_slice(&a.port().to_be_bytes());
                // std keeps flowinfo and scope id as the kernel does (no
                // byte swap), so copy them through unchanged.
                self.0[4..8].copy_from_slice(&a.flowinfo().to_ne_bytes());
                self.0[8..24].copy_from_slice(&a.ip().octets());
                self.0[24..28].copy_from_slice(&a.scope_id().to_ne_bytes());
                size_of::<libc::sockaddr_in6>() as libc::socklen_t
            }
        }
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::c_void {
        self.0.as_mut_ptr().cast()
    }
}

/// Decodes a `sockaddr_in`/`sockaddr_in6` the kernel wrote (`bytes` is
/// what it reported as the name length). `None` for other families.
pub(crate) fn decode_addr(bytes: &[u8]) -> Option<SocketAddr> {
    let family = u16::from_ne_bytes(bytes.get(0..2)?.try_into().ok()?);
    let port = u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?);
    if family == libc::AF_INET as u16 {
        let ip: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
        Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
    } else if family == libc::AF_INET6 as u16 {
        let flow = u32::from_ne_bytes(bytes.get(4..8)?.try_into().ok()?);
        let ip: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
        let scope = u32::from_ne_bytes(bytes.get(24..28)?.try_into().ok()?);
        Some(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(ip),
            port,
            flow,
            scope,
        )))
    } else {
        None
    }
}

/// Control-message buffer with `cmsghdr` alignment.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub(crate) struct RawControl(pub(crate) [u8; CONTROL_LEN]);

/// The data of the first control message of `level` and `kind` in
/// `control`, if there is one.
fn cmsg(control: &[u8], level: i32, kind: i32) -> Option<&[u8]> {
    const HDR: usize = size_of::<libc::cmsghdr>();
    const ALIGN: usize = size_of::<usize>();
    let mut off = 0;
    while off + HDR <= control.len() {
        let len = usize::from_ne_bytes(control[off..off + ALIGN].try_into().ok()?);
        let level_at = off + size_of::<libc::size_t>();
        let l = i32::from_ne_bytes(control[level_at..level_at + 4].try_into().ok()?);
        let k = i32::from_ne_bytes(control[level_at + 4..level_at + 8].try_into().ok()?);
        if len < HDR {
            return None;
        }
        if l == level && k == kind {
            return control.get(off + HDR..off + len);
        }
        off += len.div_ceil(ALIGN) * ALIGN;
    }
    None
}

/// The socket's cumulative drop counter carried by an `SO_RXQ_OVFL`
/// control message, if `control` holds one.
pub(crate) fn rxq_ovfl(control: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(
        cmsg(control, libc::SOL_SOCKET, libc::SO_RXQ_OVFL)?
            .get(..4)?
            .try_into()
            .ok()?,
    ))
}

/// When the kernel received the datagram (`SCM_TIMESTAMPNS`: the system
/// clock, in nanoseconds since the Unix epoch), if `control` says.
pub(crate) fn rx_timestamp(control: &[u8]) -> Option<u64> {
    let ts = cmsg(control, libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS)?;
    let word = size_of::<libc::time_t>();
    let secs = i64::from_ne_bytes(ts.get(..8)?.try_into().ok()?);
    let nanos = i64::from_ne_bytes(ts.get(word..word + 8)?.try_into().ok()?);
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(u64::try_from(nanos).ok()?)
}

/// Adds the drops a fresh `SO_RXQ_OVFL` reading reveals to `total`.
pub(crate) fn account_drops(control: &[u8], seen: &mut u32, total: &mut u64) {
    if let Some(now) = rxq_ovfl(control) {
        let delta = now.wrapping_sub(*seen);
        // Readings can arrive out of order across a queue; only count
        // forward movement.
        if delta != 0 && delta < (1 << 31) {
            *total += u64::from(delta);
            *seen = now;
        }
    }
}

/// The control length the kernel reported in `msg` (`size_t` on glibc,
/// `socklen_t` on musl), capped at our buffer.
pub(crate) fn control_len(msg: &libc::msghdr) -> usize {
    #[allow(clippy::unnecessary_cast)] // not the same type on every libc
    (msg.msg_controllen as usize).min(CONTROL_LEN)
}

/// `-1` → the thread's `errno`.
pub(crate) fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setsockopt_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `fd` is an open socket; the option value is a live `c_int`
    // whose exact size is passed.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// What every socket a backend opens is set up with, from its
/// [`UdpConfig`](crate::UdpConfig).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SocketOptions {
    /// `SO_RCVBUF` in bytes, if raised.
    pub(crate) rcvbuf: Option<usize>,
    /// `SO_TIMESTAMPNS`: the kernel stamps each datagram's arrival.
    pub(crate) timestamps: bool,
}

impl SocketOptions {
    pub(crate) fn of(config: &crate::UdpConfig) -> Self {
        Self {
            rcvbuf: config.socket_rcvbuf,
            timestamps: config.rx_timestamps,
        }
    }
}

/// Creates a non-blocking UDP socket bound at `local`, with `SO_RXQ_OVFL`
/// on (so drops in the socket queue are reported), the receive buffer
/// raised and receive timestamps on as `options` say. Returns the socket
/// and the address it is bound to. Every system call is added to
/// `syscalls`.
pub(crate) fn udp_socket(
    local: SocketAddr,
    options: SocketOptions,
    syscalls: &mut u64,
) -> Result<(OwnedFd, SocketAddr), IoError> {
    let domain = match local {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    *syscalls += 1;
    // SAFETY: plain socket(2) call with constant arguments.
    let raw = unsafe {
        libc::socket(
            domain,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    let raw = cvt(raw).map_err(|e| match e.raw_os_error() {
        Some(libc::EAFNOSUPPORT) => IoError::AddrNotAvailable(local),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
            IoError::Exhausted("sockets")
        }
        _ => IoError::Os(e),
    })?;
    // SAFETY: `raw` is a descriptor socket(2) just returned and nothing
    // else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };

    *syscalls += 1;
    setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1)?;
    if options.timestamps {
        *syscalls += 1;
        setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
    }
    if let Some(bytes) = options.rcvbuf {
        let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        *syscalls += 1;
        // SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN;
        // without it, take what SO_RCVBUF allows.
        if setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes).is_err() {
            *syscalls += 1;
            setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, bytes)?;
        }
    }

    let mut name = RawAddr::zeroed();
    let len = name.encode(&local);
    *syscalls += 1;
    // SAFETY: `name` holds a valid sockaddr of `len` bytes for the
    // socket's family.
    let r = unsafe { libc::bind(fd.as_raw_fd(), name.as_mut_ptr().cast(), len) };
    cvt(r).map_err(|e| match e.raw_os_error() {
        Some(libc::EADDRINUSE) => IoError::AddrInUse(local),
        Some(libc::EADDRNOTAVAIL | libc::EAFNOSUPPORT | libc::EINVAL) => {
            IoError::AddrNotAvailable(local)
        }
        _ => IoError::Os(e),
    })?;

    let bound = if local.port() == 0 {
        let mut out = RawAddr::zeroed();
        let mut out_len = NAME_LEN as libc::socklen_t;
        *syscalls += 1;
        // SAFETY: `out` has room for `out_len` bytes, which the kernel
        // updates to the length it wrote.
        let r =
            unsafe { libc::getsockname(fd.as_raw_fd(), out.as_mut_ptr().cast(), &raw mut out_len) };
        cvt(r)?;
        decode_addr(&out.0[..(out_len as usize).min(NAME_LEN)])
            .ok_or(IoError::AddrNotAvailable(local))?
    } else {
        local
    };
    Ok((fd, bound))
}

/// The running kernel's `(major, minor)` version, `(0, 0)` if unknown.
pub(crate) fn kernel_version() -> (u32, u32) {
    let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return (0, 0);
    };
    let mut it = s.trim().split(['.', '-']);
    let major = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let minor = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// The local addresses a backend's ports are bound to, without their
/// port numbers. A port keeps a [`LocalAddr`] (4 bytes: an index here and
/// its port number) instead of a 32-byte `SocketAddr`: a media gateway
/// binds its ports on one address or a few, so this table stays tiny and
/// the linear search at `open` costs nothing next to the system calls.
pub(crate) struct LocalAddrs(Vec<SocketAddr>);

/// A port's local address in a [`LocalAddrs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalAddr {
    index: u16,
    port: u16,
}

impl LocalAddrs {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    /// `addr` as an index into the table (added if new) and its port.
    pub(crate) fn intern(&mut self, addr: SocketAddr) -> Result<LocalAddr, IoError> {
        let mut base = addr;
        base.set_port(0);
        let index = match self.0.iter().position(|a| *a == base) {
            Some(i) => i,
            None if self.0.len() <= usize::from(u16::MAX) => {
                self.0.push(base);
                self.0.len() - 1
            }
            None => return Err(IoError::Exhausted("local addresses")),
        };
        Ok(LocalAddr {
            index: index as u16,
            port: addr.port(),
        })
    }

    /// The address `local` stands for.
    pub(crate) fn get(&self, local: LocalAddr) -> SocketAddr {
        let mut addr = self.0[usize::from(local.index)];
        addr.set_port(local.port);
        addr
    }
}

/// A table of open ports indexed by [`PortId`]: the low 20 bits are a
/// slot, the high 12 a generation, so a stale id (or a late completion for
/// a closed port) never reaches a port opened later in the same slot.
pub(crate) struct Ports<T> {
    slots: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
}

const SLOT_BITS: u32 = 20;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;

impl<T> Ports<T> {
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    pub(crate) fn insert(&mut self, value: T) -> Result<PortId, IoError> {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                let s = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                if s > SLOT_MASK {
                    return Err(IoError::Exhausted("port slots"));
                }
                self.slots.push((0, None));
                s
            }
        };
        let entry = &mut self.slots[slot as usize];
        entry.1 = Some(value);
        Ok(PortId(entry.0 << SLOT_BITS | slot))
    }

    /// The slot `id` names: stable while the port is open, reused after.
    pub(crate) fn slot(id: PortId) -> usize {
        (id.0 & SLOT_MASK) as usize
    }

    pub(crate) fn get(&self, id: PortId) -> Option<&T> {
        match self.slots.get(Self::slot(id)) {
            Some((generation, Some(v))) if *generation == id.0 >> SLOT_BITS => Some(v),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, id: PortId) -> Option<&mut T> {
        match self.slots.get_mut(Self::slot(id)) {
            Some((generation, Some(v))) if *generation == id.0 >> SLOT_BITS => Some(v),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, id: PortId) -> Option<T> {
        self.get(id)?;
        let slot = Self::slot(id);
        let entry = &mut self.slots[slot];
        entry.0 = (entry.0 + 1) & ((1 << (32 - SLOT_BITS)) - 1);
        self.free.push(slot as u32);
        entry.1.take()
    }

    pub(crate) fn ids(&self) -> impl Iterator<Item = PortId> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, (_, v))| v.is_some())
            .map(|(slot, (generation, _))| PortId(generation << SLOT_BITS | slot as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_the_kernel_encoding() {
        for s in [
            "127.0.0.1:5004",
            "[::1]:40000",
            "[fe80::1%3]:1",
            "0.0.0.0:0",
        ] {
            let a: SocketAddr = s.parse().unwrap();
            let mut raw = RawAddr::zeroed();
            let len = raw.encode(&a) as usize;
            assert_eq!(decode_addr(&raw.0[..len]), Some(a));
        }
        assert_eq!(decode_addr(&[0; 16]), None);
        assert_eq!(decode_addr(&[2, 0, 1]), None);
    }

    #[test]
    fn rxq_ovfl_is_found_and_garbage_is_not() {
        let mut c = [0u8; CONTROL_LEN];
        let hdr = size_of::<libc::cmsghdr>();
        c[..8].copy_from_slice(&((hdr + 4) as u64).to_ne_bytes());
        c[8..12].copy_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
        c[12..16].copy_from_slice(&libc::SO_RXQ_OVFL.to_ne_bytes());
        c[16..20].copy_from_slice(&7u32.to_ne_bytes());
        assert_eq!(rxq_ovfl(&c[..hdr + 4]), Some(7));
        assert_eq!(rxq_ovfl(&[]), None);
        assert_eq!(rxq_ovfl(&[0xff; 3]), None);
        assert_eq!(rxq_ovfl(&[0; CONTROL_LEN]), None);
        // After it, a receive timestamp: both are found.
        let at = (hdr + 4).div_ceil(8) * 8;
        c[at..at + 8].copy_from_slice(&((hdr + 16) as u64).to_ne_bytes());
        c[at + 8..at + 12].copy_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
        c[at + 12..at + 16].copy_from_slice(&libc::SCM_TIMESTAMPNS.to_ne_bytes());
        c[at + 16..at + 24].copy_from_slice(&1_700_000_000i64.to_ne_bytes());
        c[at + 24..at + 32].copy_from_slice(&123_456_789i64.to_ne_bytes());
        assert_eq!(rxq_ovfl(&c[..at + 32]), Some(7));
        assert_eq!(rx_timestamp(&c[..at + 32]), Some(1_700_000_000_123_456_789));
        assert_eq!(rx_timestamp(&c[..hdr + 4]), None);
        assert_eq!(rx_timestamp(&c[..at + 20]), None, "cut short");
        let (mut seen, mut total) = (0, 0);
        account_drops(&c[..hdr + 4], &mut seen, &mut total);
        account_drops(&c[..hdr + 4], &mut seen, &mut total);
        assert_eq!((seen, total), (7, 7));
    }

    #[test]
    fn local_addresses_are_shared_and_keep_every_field() {
        let mut t = LocalAddrs::new();
        let addrs: Vec<SocketAddr> = [
            "127.0.0.2:16000",
            "127.0.0.2:16001",
            "127.0.0.1:16000",
            "[fe80::1%3]:5004",
            "[fe80::1%4]:5004",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let locals: Vec<LocalAddr> = addrs.iter().map(|&a| t.intern(a).unwrap()).collect();
        for (a, l) in addrs.iter().zip(&locals) {
            assert_eq!(t.get(*l), *a);
        }
        assert_eq!(locals[0].index, locals[1].index);
        assert_eq!(t.0.len(), 4, "one entry per address, whatever the port");
    }

    #[test]
    fn stale_port_ids_miss() {
        let mut p = Ports::new();
        let a = p.insert("a").unwrap();
        assert_eq!(p.remove(a), Some("a"));
        let b = p.insert("b").unwrap();
        assert_ne!(a, b);
        assert!(p.get(a).is_none());
        assert_eq!(p.get(b), Some(&"b"));
        assert_eq!(p.ids().collect::<Vec<_>>(), vec![b]);
    }
}
