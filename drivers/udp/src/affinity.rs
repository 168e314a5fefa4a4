//! Where and how a media worker thread is scheduled: pinned to one CPU
//! (Linux `sched_setaffinity(2)`) and, when asked, at a real-time priority
//! (`sched_setscheduler(2)`, `SCHED_FIFO`).
//!
//! A media worker runs to completion on its core: pinning keeps its flow
//! table, buffers and ring in that core's caches and stops the scheduler
//! from moving it mid-burst. A real-time priority lets it preempt ordinary
//! threads the moment a datagram wakes it, instead of waiting out their
//! time slice: on a shared core that wait, not the relay, is the latency
//! tail. This is what Asterisk's `-p` and rtpengine's `--scheduling=fifo`
//! do. These live here because they are system calls, and this crate is
//! where Tandem's system calls are.

use std::io;

/// Pins the calling thread to CPU `cpu` (counted among the CPUs this
/// process may use, wrapping around, so that `--workers` larger than the
/// machine still spreads evenly). Returns the CPU chosen.
pub fn pin_current_thread(cpu: usize) -> io::Result<usize> {
    // SAFETY: `set` is a plain bit array that sched_getaffinity fills; the
    // size passed is its size; pid 0 is the calling thread.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let rc = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let allowed: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `i` is below CPU_SETSIZE, the set's capacity.
        .filter(|&i| unsafe { libc::CPU_ISSET(i, &set) })
        .collect();
    if allowed.is_empty() {
        return Err(io::Error::other("no CPU in this process's affinity mask"));
    }
    let chosen = allowed[cpu % allowed.len()];
    // SAFETY: a zeroed cpu_set_t is the empty set.
    let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `chosen` came from the allowed set, so it is below CPU_SETSIZE.
    unsafe { libc::CPU_SET(chosen, &mut one) };
    // SAFETY: `one` is a valid set of the size passed; pid 0 is this thread.
    let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &one) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(chosen)
}

/// The highest `SCHED_FIFO` priority (Linux: 1–99).
pub const MAX_RT_PRIORITY: u8 = 99;

/// Runs the calling thread at `SCHED_FIFO` priority `priority` (1–99).
/// Needs `CAP_SYS_NICE` or an `RLIMIT_RTPRIO` of at least `priority`; the
/// error then says so. The kernel's real-time throttling
/// (`kernel.sched_rt_runtime_us`, 95 % by default) still leaves ordinary
/// threads some of each CPU.
pub fn set_current_thread_realtime(priority: u8) -> io::Result<()> {
    if !(1..=MAX_RT_PRIORITY).contains(&priority) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("real-time priority {priority} is outside 1-{MAX_RT_PRIORITY}"),
        ));
    }
    let param = libc::sched_param {
        sched_priority: i32::from(priority),
    };
    // SAFETY: `param` is a valid sched_param for the call to read; pid 0
    // is the calling thread.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EPERM) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "SCHED_FIFO priority {priority} refused ({e}): needs CAP_SYS_NICE \
                     or an RLIMIT_RTPRIO of at least {priority} (systemd: LimitRTPRIO=)"
                ),
            ));
        }
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calling thread's scheduling policy and priority.
    fn current_thread_scheduling() -> io::Result<(i32, i32)> {
        // SAFETY: sched_getscheduler takes no pointers; pid 0 is this thread.
        let policy = unsafe { libc::sched_getscheduler(0) };
        if policy < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid, writable sched_param for the kernel.
        if unsafe { libc::sched_getparam(0, &mut param) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((policy, param.sched_priority))
    }

    #[test]
    fn a_pinned_thread_runs_on_its_cpu() {
        let handle = std::thread::spawn(|| {
            let cpu = pin_current_thread(1).unwrap();
            // SAFETY: sched_getcpu has no arguments and no preconditions.
            let now = unsafe { libc::sched_getcpu() };
            (cpu, now)
        });
        let (cpu, now) = handle.join().unwrap();
        assert_eq!(now, cpu as i32);
    }

    #[test]
    fn a_realtime_thread_runs_fifo_at_its_priority() {
        let got = std::thread::spawn(|| {
            let before = current_thread_scheduling().unwrap();
            let set = set_current_thread_realtime(7);
            (before, set.map(|()| current_thread_scheduling().unwrap()))
        })
        .join()
        .unwrap();
        assert_eq!(got.0, (libc::SCHED_OTHER, 0));
        match got.1 {
            Ok(now) => assert_eq!(now, (libc::SCHED_FIFO, 7)),
            // Without the privilege the error must say what is missing.
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
                assert!(e.to_string().contains("CAP_SYS_NICE"), "{e}");
            }
        }
    }

    #[test]
    fn priorities_outside_fifo_range_are_refused() {
        for p in [0, 100, 255] {
            let e = set_current_thread_realtime(p).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{p}");
        }
        assert_eq!(current_thread_scheduling().unwrap().0, libc::SCHED_OTHER);
    }
}
