//! CPU time of processes and threads, read from `/proc` (`proc(5)`).
//!
//! `utime` and `stime` (fields 14 and 15 of `/proc/PID/stat`) count clock
//! ticks of `CLK_TCK` (100 Hz on Linux): a 10 ms resolution, so windows
//! of a few seconds are needed for a figure worth printing.

use std::path::Path;

/// Clock ticks per second for `/proc` times (`getconf CLK_TCK`, 100 when
/// that cannot be run).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// `utime + stime` in seconds from one `stat` file (process or task).
pub fn stat_cpu_seconds(stat_path: &Path, ticks: f64) -> std::io::Result<f64> {
    let text = std::fs::read_to_string(stat_path)?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields after the last ')'. Field 3 (state) is the first there.
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| std::io::Error::other("malformed stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> std::io::Result<f64> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| std::io::Error::other("malformed stat"))
    };
    Ok((field(14)? + field(15)?) / ticks)
}

/// CPU seconds a process (all its threads, live and exited) has used.
pub fn process_cpu_seconds(pid: u32, ticks: f64) -> std::io::Result<f64> {
    stat_cpu_seconds(Path::new(&format!("/proc/{pid}/stat")), ticks)
}

/// The `/proc/self/task/TID/stat` path of this process's thread named
/// `name` (its `comm`, at most 15 bytes).
pub fn own_thread_stat(name: &str) -> Option<std::path::PathBuf> {
    let dir = std::fs::read_dir("/proc/self/task").ok()?;
    for entry in dir.flatten() {
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            return Some(entry.path().join("stat"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_cpu_time() {
        let t = clock_ticks();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed().as_millis() < 50 {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        let s = process_cpu_seconds(std::process::id(), t).unwrap();
        assert!(s >= 0.0);
    }

    #[test]
    fn fields_are_counted_after_the_command_name() {
        let dir = std::env::temp_dir().join(format!("tandem-bench-stat-{}", std::process::id()));
        std::fs::write(
            &dir,
            "42 (a b) c) S 1 1 1 0 -1 4194304 0 0 0 0 250 50 0 0 20 0 1 0",
        )
        .unwrap();
        let s = stat_cpu_seconds(&dir, 100.0).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert!((s - 3.0).abs() < 1e-9);
    }
}
