//! Pinning a worker thread to one CPU (Linux `sched_setaffinity(2)`).
//!
//! A media worker runs to completion on its core: pinning keeps its flow
//! table, buffers and ring in that core's caches and stops the scheduler
//! from moving it mid-burst. It lives here because it is a system call, and
//! this crate is where Tandem's system calls are.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
