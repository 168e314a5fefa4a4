//! `tandem run --rt-priority N` runs every media worker, and only the
//! media workers, at SCHED_FIFO priority N, as the kernel reports it in
//! `/proc/PID/task/TID/stat`. Without the privilege it refuses to start
//! and says what is missing; out-of-range priorities and DPDK (whose
//! workers busy-poll) are refused.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NG: &str = "127.0.0.1:13595";
/// `SCHED_FIFO` in `linux/sched.h`.
const SCHED_FIFO: u32 = 1;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .is_some_and(|uids| uids.split_whitespace().nth(1) == Some("0"))
}

/// (thread name, policy, real-time priority) of each of `pid`'s threads:
/// fields 40 and 41 of `stat`, counted after the parenthesised name.
fn threads(pid: u32) -> Vec<(String, u32, u32)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let Ok(stat) = std::fs::read_to_string(task.unwrap().path().join("stat")) else {
            continue;
        };
        let (head, tail) = stat.rsplit_once(')').unwrap();
        let name = head.split_once('(').unwrap().1.to_string();
        let fields: Vec<&str> = tail.split_whitespace().collect();
        // `tail` starts at field 3 (state).
        let rt_priority = fields[40 - 3].parse().unwrap();
        let policy = fields[41 - 3].parse().unwrap();
        out.push((name, policy, rt_priority));
    }
    out
}

#[test]
fn media_workers_run_fifo_at_the_priority_asked_for() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "--ng-listen", NG, "--rtp-ports", "13600-13619"])
        .args(["--workers", "2", "--rt-priority", "7", "--no-pin"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let ready = loop {
        let Some(Ok(line)) = lines.next() else {
            break false;
        };
        log.push_str(&line);
        log.push('\n');
        if line.contains("ng control on") {
            break true;
        }
        assert!(Instant::now() < deadline, "{log}");
    };
    if !is_root() && !ready {
        // Unprivileged: refused, with the reason.
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(2), "{log}");
        assert!(log.contains("CAP_SYS_NICE"), "{log}");
        return;
    }
    assert!(ready, "{log}");
    let threads = threads(child.id());
    child.kill().unwrap();
    child.wait().unwrap();

    let media: Vec<_> = threads
        .iter()
        .filter(|(name, ..)| name.starts_with("tandem-media-"))
        .collect();
    assert_eq!(media.len(), 2, "{threads:?}");
    for (name, policy, priority) in &media {
        assert_eq!((*policy, *priority), (SCHED_FIFO, 7), "{name}: {threads:?}");
    }
    assert_eq!(log.matches("SCHED_FIFO priority 7").count(), 2, "{log}");
    // The control plane's threads keep ordinary scheduling.
    for (name, policy, _) in threads.iter().filter(|t| !t.0.starts_with("tandem-media-")) {
        assert_eq!(*policy, 0, "{name}: {threads:?}");
    }
}

#[test]
fn out_of_range_priorities_and_dpdk_are_refused() {
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .args(["run", "--ng-listen", NG])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--rt-priority", "100"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--rt-priority"), "{err}");

    let (code, err) = run(&[
        "--rt-priority",
        "5",
        "--packet-io",
        "dpdk",
        "--dpdk-eal",
        "--no-huge",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("DPDK workers busy-poll"), "{err}");
}
