//! Moving a thread into another network namespace (Linux `setns(2)` with
//! `CLONE_NEWNET`).
//!
//! Sockets belong to the namespace they were created in, whichever
//! thread uses them later. A thread that enters a namespace, opens its
//! sockets and ends leaves those sockets working there: this is how the
//! end-to-end tests play a peer host in a namespace of their own (`ip netns
//! add`) while Tandem runs in the original one. It lives here because
//! this crate is where Tandem's system calls are.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
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
