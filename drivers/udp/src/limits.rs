//! Process limits that bound how many legs the engine can hold, and the
//! return of freed memory to the kernel.
//!
//! Every leg holds two descriptors (RTP and RTCP), so a call anchored on
//! two legs holds four: the default soft limit of 1,024 open files caps a
//! gateway at about 250 calls. The hard limit is usually far higher, and an
//! unprivileged process may raise its soft limit up to it.

use std::io;

fn open_files_limit() -> io::Result<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit)
}

/// The soft limit on open files, which also caps an io_uring's table of
/// registered files.
pub(crate) fn open_files_soft_limit() -> io::Result<u64> {
    Ok(open_files_limit()?.rlim_cur)
}

/// Raises the soft limit on open files to the hard limit. Returns
/// `(before, after)`.
pub fn raise_open_files_limit() -> io::Result<(u64, u64)> {
    let mut limit = open_files_limit()?;
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid rlimit whose soft value does not
        // exceed its hard value, which setrlimit allows without privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((before, limit.rlim_cur))
}

/// Returns the allocator's free pages to the kernel (glibc `malloc_trim`).
///
/// After a burst (a second of 1,000 call setups keeps 32 s of SIP
/// transactions alive, RFC 6026) the heap holds freed memory that glibc
/// keeps for reuse; the process's resident size then shows the burst, not
/// the calls up now. Calling this once in a while, off the packet path,
/// makes the resident size follow the load. Returns whether anything was
/// released.
pub fn release_free_memory() -> bool {
    // SAFETY: malloc_trim takes no pointers; it only walks glibc's own
    // arenas under their locks.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_reaches_the_hard_limit() {
        let (before, after) = raise_open_files_limit().unwrap();
        assert!(after >= before);
        let (again, same) = raise_open_files_limit().unwrap();
        assert_eq!((again, same), (after, after));
    }
}
