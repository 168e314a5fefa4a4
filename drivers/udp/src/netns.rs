//! Moving a thread into another network namespace (Linux `setns(2)` and
//! `unshare(2)` with `CLONE_NEWNET`), and giving a new one a loopback
//! network (`SIOCSIFFLAGS`, `SIOCSIFADDR` in netdevice(7)).
//!
//! Sockets belong to the namespace they were created in, whichever
//! thread uses them later. A thread that enters a namespace, opens its
//! sockets and ends leaves those sockets working there: this is how the
//! end-to-end tests play a peer host in a namespace of their own (`ip netns
//! add`) while Tandem runs in the original one. It lives here because
//! this crate is where Tandem's system calls are.

use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// Moves the calling thread (only it) into the network namespace at
/// `path`, e.g. `/var/run/netns/NAME` as `ip netns add NAME` made it.
/// Needs `CAP_SYS_ADMIN`.
pub fn enter_netns(path: &Path) -> io::Result<()> {
    let ns = File::open(path)?;
    // SAFETY: `ns` is an open namespace file for the whole call;
    // CLONE_NEWNET only changes the calling thread's network namespace.
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Moves the calling thread (only it) into a new, empty network namespace
/// (`unshare(2)` with `CLONE_NEWNET`) whose loopback is up and also holds
/// `addr/prefix_len`. On a loopback device the kernel makes the whole
/// prefix local, so every address in it can be bound and reached: a
/// private network of any shape, with no other host's ports in the way.
/// Threads spawned afterwards by this thread start there too. Needs
/// `CAP_SYS_ADMIN`.
pub fn enter_private_loopback(addr: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
    if prefix_len > 32 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("prefix length {prefix_len} is over 32"),
        ));
    }
    // SAFETY: unshare takes no pointers; CLONE_NEWNET alone changes only
    // the calling thread's network namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain socket(2); the result is checked before use and owned
    // by `ctl` from then on.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let ctl = unsafe { OwnedFd::from_raw_fd(fd) };

    let mut req = ifreq("lo");
    ioctl(&ctl, libc::SIOCGIFFLAGS, &mut req)?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    ioctl(&ctl, libc::SIOCSIFFLAGS, &mut req)?;

    // An alias label keeps 127.0.0.1, which SIOCSIFADDR on "lo" would
    // replace.
    let mut req = ifreq("lo:1");
    req.ifr_ifru.ifru_addr = sockaddr_v4(addr);
    ioctl(&ctl, libc::SIOCSIFADDR, &mut req)?;
    let mask = u32::MAX
        .checked_shl(32 - u32::from(prefix_len))
        .unwrap_or(0);
    req.ifr_ifru.ifru_netmask = sockaddr_v4(Ipv4Addr::from(mask));
    ioctl(&ctl, libc::SIOCSIFNETMASK, &mut req)?;
    Ok(())
}

fn ifreq(name: &str) -> libc::ifreq {
    // SAFETY: ifreq is plain old data (a name and a union of plain
    // members), for which all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, &b) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
        *dst = b as libc::c_char;
    }
    req
}

fn sockaddr_v4(ip: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr have the same size (16 bytes), and
    // a sockaddr is read by the kernel by its family, as here AF_INET.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

fn ioctl(ctl: &OwnedFd, request: libc::c_ulong, req: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: the interface requests used here read and write one ifreq,
    // which `req` is, for the duration of the call.
    if unsafe { libc::ioctl(ctl.as_raw_fd(), request, &raw mut *req) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
