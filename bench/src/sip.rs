//! `sip`: calls per second and calls held through a SIP system under test,
//! SIPp on both ends, on loopback.
//!
//! Per step the bench starts three processes on fixed loopback ports:
//!
//! - a SIPp callee (`sipp/uas-answer.xml`): 200 with PCMU SDP at once, no
//!   180, no RTP; it keeps a proxy's `Record-Route` set;
//! - the system under test: `tandem run` as a B2BUA (`--route
//!   =sip:<callee>`), which anchors media: every call gets two engine legs,
//!   each an RTP and an RTCP socket, even when no RTP flows; or Debian's
//!   Kamailio with `kamailio-stateful.cfg` (tm + rr + sl: record-route and
//!   `t_relay()` to the callee, no media, no dialog state);
//! - a SIPp caller (`sipp/uac-call.xml`): `-m` calls at `-r` per second,
//!   INVITE, ACK, hold `-d` ms, BYE along the route set.
//!
//! The caller's final `-trace_stat` line gives created, successful and
//! failed calls; the target's CPU time is `utime + stime` from
//! `/proc/PID/stat` (summed over Kamailio's process tree) before the first
//! call and 500 ms after the caller exits. Each step starts every process
//! afresh, so a step that failed leaves nothing behind for the next.
//!
//! `--hold N` sets up N calls held for long, waits until the callee has
//! seen N ACKs (SIPp's `-trace_counts`), and reads the target's memory
//! (`VmRSS` of `tandem run`; the sum of `Pss` over Kamailio's processes)
//! before and while the calls are up.
//!
//! Kamailio is stopped with SIGTERM only (its main process then stops its
//! children; SIGKILL would orphan them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::child::ChildGuard;
use crate::cpu;

const UAS_SCENARIO: &str = include_str!("../sipp/uas-answer.xml");
const UAC_SCENARIO: &str = include_str!("../sipp/uac-call.xml");
const KAMAILIO_CFG: &str = include_str!("../kamailio-stateful.cfg");

/// The number the caller dials (tandem routes it by the default route).
const SERVICE: &str = "4008001234";

/// The system under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipTarget {
    /// `tandem run` as a B2BUA, media anchored.
    Tandem,
    /// Kamailio as a stateful relay (no media).
    Kamailio,
}

impl SipTarget {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            SipTarget::Tandem => "tandem",
            SipTarget::Kamailio => "kamailio",
        }
    }
}

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct SipConfig {
    /// The `tandem` binary.
    pub tandem: PathBuf,
    /// The `kamailio` binary.
    pub kamailio: PathBuf,
    /// The `sipp` binary.
    pub sipp: PathBuf,
    /// Offered calls per second, one step each.
    pub rates: Vec<u32>,
    /// Calls per step; `None`: `step_seconds` worth at each rate.
    pub calls: Option<usize>,
    /// Seconds of calls per step when `calls` is `None`.
    pub step_seconds: f64,
    /// SIPp `-l`: at most this many calls open at once (`None`: no cap
    /// below the step's calls).
    pub concurrent: Option<usize>,
    /// Call hold in the calls-per-second steps, ms (SIPp `-d`).
    pub hold_ms: u64,
    /// `tandem run --rtp-ports`.
    pub rtp_ports: (u16, u16),
    /// `tandem run --rtp-address`: media sockets bind here. The default,
    /// 127.0.0.2, keeps tens of thousands of bound ports off 127.0.0.1,
    /// where other programs on the machine bind theirs.
    pub rtp_address: String,
    /// `tandem run --workers`.
    pub tandem_workers: usize,
    /// Kamailio's UDP worker processes (`children`).
    pub kamailio_children: usize,
    /// Where logs, CSV files and the CDR database go.
    pub workdir: PathBuf,
    /// SIP port of the system under test (127.0.0.1).
    pub target_port: u16,
    /// SIP port of the SIPp callee.
    pub uas_port: u16,
    /// SIP port of the SIPp caller.
    pub uac_port: u16,
}

impl SipConfig {
    /// Defaults: steps of 200, 500, 1000 and 1500 calls/s, 10 s each.
    pub fn new(tandem: PathBuf) -> Self {
        Self {
            tandem,
            kamailio: PathBuf::from("kamailio"),
            sipp: PathBuf::from("sipp"),
            rates: vec![200, 500, 1000, 1500],
            calls: None,
            step_seconds: 10.0,
            concurrent: None,
            hold_ms: 0,
            rtp_ports: (16_000, 60_999),
            rtp_address: "127.0.0.2".into(),
            tandem_workers: 1,
            kamailio_children: 2,
            workdir: std::env::temp_dir().join(format!("tandem-bench-sip-{}", std::process::id())),
            target_port: 26_060,
            uas_port: 26_080,
            uac_port: 26_090,
        }
    }

    fn calls_at(&self, rate: u32) -> usize {
        self.calls
            .unwrap_or_else(|| (f64::from(rate) * self.step_seconds).round().max(1.0) as usize)
    }
}

/// One calls-per-second step against one target.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// The system under test.
    pub target: SipTarget,
    /// Offered calls per second.
    pub rate: u32,
    /// Calls asked for (`-m`).
    pub calls: usize,
    /// Calls SIPp created.
    pub created: u64,
    /// Calls that completed (INVITE/200/ACK/BYE/200).
    pub successful: u64,
    /// Calls SIPp counted as failed.
    pub failed: u64,
    /// SIPp retransmissions (a loaded peer shows them first).
    pub retransmissions: u64,
    /// Mean INVITE-to-200 time, ms (SIPp's 1 ms resolution).
    pub setup_ms: f64,
    /// SIPp caller's run time, spawn to exit.
    pub wall: Duration,
    /// CPU seconds of the target in the window.
    pub target_cpu: f64,
    /// CPU seconds of the SIPp caller and callee in the window.
    pub sipp_cpu: (f64, f64),
    /// SIPp caller's exit status.
    pub exit: Option<i32>,
    /// Media commands the target logged as failed (tandem).
    pub media_failures: u64,
    /// What went wrong outside SIPp's counters, if anything.
    pub note: Option<String>,
}

impl StepResult {
    /// Completed calls per second of the caller's run time.
    pub fn achieved(&self) -> f64 {
        self.successful as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Target CPU seconds per 1,000 completed calls.
    pub fn cpu_per_1000(&self) -> Option<f64> {
        (self.successful > 0).then(|| self.target_cpu * 1000.0 / self.successful as f64)
    }

    /// Every asked call completed, none failed, nothing else went wrong.
    pub fn clean(&self) -> bool {
        self.failed == 0
            && self.successful as usize == self.calls
            && self.media_failures == 0
            && self.note.is_none()
    }
}

/// The `--hold` run against one target.
#[derive(Debug, Clone)]
pub struct HoldResult {
    /// The system under test.
    pub target: SipTarget,
    /// Calls asked for.
    pub calls: usize,
    /// Setup rate, calls/s.
    pub rate: u32,
    /// ACKs the callee received by the time memory was read: calls up at
    /// both ends.
    pub established: u64,
    /// Calls completed after the hold (BYE answered).
    pub successful: u64,
    /// Calls SIPp counted as failed.
    pub failed: u64,
    /// Target memory, KiB: idle, with the calls up, after they ended.
    pub mem_kib: (u64, u64, u64),
    /// Open file descriptors of the target, idle and with the calls up.
    pub fds: (usize, usize),
    /// Media commands the target logged as failed by the time memory was
    /// read (tandem: a call whose legs could not be opened goes on without
    /// anchored media).
    pub media_failures: u64,
    /// The target's open-files limit (soft, hard) as it ran.
    pub fd_limit: (u64, u64),
    /// Time from the first INVITE until `established` ACKs were seen.
    pub setup_wall: Duration,
    /// What went wrong, if anything.
    pub note: Option<String>,
}

impl HoldResult {
    /// Established calls with both legs' sockets open: for tandem, new
    /// descriptors / 4 (RTP and RTCP of two legs); Kamailio anchors no
    /// media, so every established call counts.
    pub fn anchored(&self) -> u64 {
        match self.target {
            SipTarget::Tandem => self
                .established
                .min((self.fds.1.saturating_sub(self.fds.0) / 4) as u64),
            SipTarget::Kamailio => self.established,
        }
    }

    /// Memory growth per established call, KiB.
    pub fn kib_per_call(&self) -> Option<f64> {
        (self.established > 0)
            .then(|| self.mem_kib.1.saturating_sub(self.mem_kib.0) as f64 / self.established as f64)
    }
}

/// A Kamailio process tree, stopped with SIGTERM only.
struct Kamailio {
    child: Option<Child>,
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Kamailio's children stop with it on SIGTERM; a SIGKILL would
        // orphan them, so it is never sent.
        if crate::child::terminate(&mut child, Duration::from_secs(15)) {
            return;
        }
        eprintln!(
            "tandem-bench: kamailio (pid {}) still running 15 s after SIGTERM; left alone",
            child.id()
        );
    }
}

/// The running system under test.
enum Running {
    Tandem(ChildGuard),
    Kamailio(Kamailio, PathBuf),
}

impl Running {
    fn pid(&self) -> u32 {
        match self {
            Running::Tandem(g) => g.pid(),
            Running::Kamailio(k, _) => k.child.as_ref().map_or(0, Child::id),
        }
    }

    /// CPU seconds of the target (every process of Kamailio's tree).
    fn cpu(&self, ticks: f64) -> f64 {
        tree_pids(self.pid())
            .iter()
            .filter_map(|p| cpu::process_cpu_seconds(*p, ticks).ok())
            .sum()
    }

    /// `None` while it runs; its log tail once it has exited.
    fn died(&mut self) -> Option<String> {
        match self {
            Running::Tandem(g) => g
                .exited()
                .map(|s| format!("tandem exited ({s}):\n{}", g.log_tail(15))),
            Running::Kamailio(k, log) => k
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
                .map(|s| format!("kamailio exited ({s}):\n{}", tail(log, 15))),
        }
    }

    fn log_tail(&self, n: usize) -> String {
        match self {
            Running::Tandem(g) => g.log_tail(n),
            Running::Kamailio(_, log) => tail(log, n),
        }
    }

    /// Memory, KiB: `VmRSS` of tandem; for Kamailio the sum of `Pss`
    /// (its processes share one big shared-memory segment, which `VmRSS`
    /// would count once per process).
    fn memory_kib(&self) -> u64 {
        match self {
            Running::Tandem(_) => status_field(self.pid(), "VmRSS:").unwrap_or(0),
            Running::Kamailio(..) => tree_pids(self.pid())
                .iter()
                .filter_map(|p| {
                    let text = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).ok()?;
                    kib_field(&text, "Pss:")
                })
                .sum(),
        }
    }

    /// Media commands tandem logged as failed ("media command failed:
    /// cannot open local port: out of sockets" when it runs out of file
    /// descriptors or ports). The B2BUA logs these and lets the call go on,
    /// so SIPp alone cannot see them.
    fn media_failures(&self) -> u64 {
        match self {
            Running::Tandem(g) => std::fs::read_to_string(g.log_path())
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains("media command failed"))
                .count() as u64,
            Running::Kamailio(..) => 0,
        }
    }

    fn open_fds(&self) -> usize {
        tree_pids(self.pid())
            .iter()
            .map(|p| {
                std::fs::read_dir(format!("/proc/{p}/fd"))
                    .map(|d| d.count())
                    .unwrap_or(0)
            })
            .sum()
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn status_field(pid: u32, key: &str) -> Option<u64> {
    kib_field(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        key,
    )
}

/// `pid` and every process descended from it.
fn tree_pids(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // Field 4 (ppid) is the second after the command name.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}

/// The open-files limit of this process (soft, hard), from
/// `/proc/self/limits`; children inherit it.
fn own_nofile_limit() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("Max open files"))
        .map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            (
                v.first().copied().unwrap_or(1024),
                v.get(1).copied().unwrap_or(1024),
            )
        })
        .unwrap_or((1024, 1024))
}

/// `GET path` from tandem's HTTP port on 127.0.0.1, the whole response
/// (empty when it cannot be reached).
pub(crate) fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Whether `prlimit` may give a child `n` open files (raising the hard
/// limit needs CAP_SYS_RESOURCE, which root in a container may lack).
fn can_raise_nofile(n: u64) -> bool {
    Command::new("prlimit")
        .arg(format!("--nofile={n}:{n}"))
        .arg("true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_for(path: &Path, needle: &str, timeout: Duration) -> bool {
    let start = Instant::now();
    loop {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `program` as found on `PATH` (as is when it holds a `/`).
fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return Some(program.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A fresh directory with the scenarios, the Kamailio configuration, and
/// SIPp under two other names, `tb-uas` and `tb-uac` (symbolic links):
/// on a shared machine a `pkill sipp` meant for someone else's SIPp
/// ended a run mid-way, and a process's name is its executable's name.
fn prepare_dir(dir: &Path, sipp: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("run")).map_err(|e| format!("{}: {e}", dir.display()))?;
    let sipp = find_program(sipp).ok_or_else(|| format!("{} not found", sipp.display()))?;
    for name in ["tb-uas", "tb-uac"] {
        std::os::unix::fs::symlink(&sipp, dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
    }
    for (name, text) in [
        ("uas-answer.xml", UAS_SCENARIO),
        ("uac-call.xml", UAC_SCENARIO),
        ("kamailio-stateful.cfg", KAMAILIO_CFG),
    ] {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn start_uas(config: &SipConfig, dir: &Path) -> Result<ChildGuard, String> {
    let mut cmd = Command::new(dir.join("tb-uas"));
    cmd.arg("-sf")
        .arg(dir.join("uas-answer.xml"))
        .args(["-i", "127.0.0.1", "-p", &config.uas_port.to_string()])
        .args(["-mp", &(config.uas_port + 200).to_string()])
        .args(["-nostdin", "-trace_counts", "-fd", "1"])
        .arg("-trace_err")
        .current_dir(dir);
    let g = ChildGuard::spawn("sipp-uas", cmd).map_err(|e| format!("starting sipp: {e}"))?;
    // SIPp binds before it reads its first message; give it a moment.
    std::thread::sleep(Duration::from_millis(300));
    Ok(g)
}

/// Starts the target; `nofile` raises its open-files limit (soft, hard)
/// through `prlimit`.
fn start_target(
    target: SipTarget,
    config: &SipConfig,
    dir: &Path,
    nofile: Option<(u64, u64)>,
) -> Result<Running, String> {
    match target {
        SipTarget::Tandem => {
            let mut cmd = match nofile {
                Some((soft, hard)) => {
                    let mut c = Command::new("prlimit");
                    c.arg(format!("--nofile={soft}:{hard}")).arg(&config.tandem);
                    c
                }
                None => Command::new(&config.tandem),
            };
            cmd.arg("run")
                .args(["--sip-listen", &format!("127.0.0.1:{}", config.target_port)])
                .arg("--rtp-ports")
                .arg(format!("{}-{}", config.rtp_ports.0, config.rtp_ports.1))
                .args(["--rtp-address", &config.rtp_address])
                .args(["--rtp-timeout", "0"])
                .args(["--workers", &config.tandem_workers.to_string()])
                .arg("--cdr-db")
                .arg(dir.join("cdr.sqlite"))
                .arg("--recording-dir")
                .arg(dir.join("recordings"))
                .args(["--route", &format!("=sip:127.0.0.1:{}", config.uas_port)])
                .args([
                    "--http-listen",
                    &format!("127.0.0.1:{}", config.target_port + 35),
                ])
                .current_dir(dir);
            let g = ChildGuard::spawn("tandem-sip", cmd)
                .map_err(|e| format!("starting {}: {e}", config.tandem.display()))?;
            if !wait_for(g.log_path(), "tandem: SIP on", Duration::from_secs(10)) {
                return Err(format!("tandem did not start:\n{}", g.log_tail(20)));
            }
            Ok(Running::Tandem(g))
        }
        SipTarget::Kamailio => {
            let log = dir.join("kamailio.log");
            let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
            let err = out.try_clone().map_err(|e| e.to_string())?;
            let child = Command::new(&config.kamailio)
                .arg("-f")
                .arg(dir.join("kamailio-stateful.cfg"))
                .args([
                    "-A",
                    &format!("LISTEN=udp:127.0.0.1:{}", config.target_port),
                ])
                .args(["-A", &format!("UAS=\"sip:127.0.0.1:{}\"", config.uas_port)])
                .args(["-n", &config.kamailio_children.to_string()])
                // Shared memory for transactions; private memory per process.
                .args(["-m", "512", "-M", "32"])
                .args(["-D", "-E", "-w"])
                .arg(dir)
                .arg("-Y")
                .arg(dir.join("run"))
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .map_err(|e| format!("starting {}: {e}", config.kamailio.display()))?;
            let k = Kamailio { child: Some(child) };
            // Its SIP socket is bound once it reports the socket's buffer
            // size ("Listening on" goes to a buffered stdout).
            if !wait_for(&log, "SO_RCVBUF is finally", Duration::from_secs(10)) {
                return Err(format!("kamailio did not start:\n{}", tail(&log, 20)));
            }
            std::thread::sleep(Duration::from_millis(300));
            Ok(Running::Kamailio(k, log))
        }
    }
}

/// The SIPp caller, running.
struct Uac {
    child: Child,
    started: Instant,
}

impl Uac {
    fn spawn(
        config: &SipConfig,
        dir: &Path,
        load: (usize, u32),
        limit: usize,
        hold_ms: u64,
        timeout_s: u64,
    ) -> Result<Self, String> {
        let (calls, rate) = load;
        let out = std::fs::File::create(dir.join("sipp-uac.log")).map_err(|e| e.to_string())?;
        let child = Command::new(dir.join("tb-uac"))
            .arg(format!("127.0.0.1:{}", config.target_port))
            .arg("-sf")
            .arg(dir.join("uac-call.xml"))
            .args(["-i", "127.0.0.1", "-p", &config.uac_port.to_string()])
            .args(["-mp", &(config.uac_port + 200).to_string()])
            .args(["-s", SERVICE, "-m", &calls.to_string()])
            .args(["-r", &rate.to_string(), "-rp", "1000"])
            .args(["-l", &limit.to_string(), "-d", &hold_ms.to_string()])
            // A call with no answer fails after 10 s rather than after
            // SIPp's 64*T1 of INVITE retransmissions.
            .args(["-recv_timeout", "10000"])
            .args(["-timeout", &format!("{timeout_s}s")])
            .args([
                "-nostdin",
                "-trace_stat",
                "-stf",
                "uac-stat.csv",
                "-fd",
                "1",
            ])
            .args(["-trace_counts", "-trace_err"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting sipp: {e}"))?;
        Ok(Self {
            child,
            started: Instant::now(),
        })
    }

    /// Waits for SIPp to exit: its run time, its CPU seconds (read while
    /// it is a zombie, before it is reaped) and its exit status.
    fn finish(mut self, ticks: f64) -> (Duration, f64, Option<i32>) {
        let stat = PathBuf::from(format!("/proc/{}/stat", self.child.id()));
        loop {
            let text = std::fs::read_to_string(&stat).unwrap_or_default();
            let state = text
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next());
            if state == Some("Z") || state.is_none() {
                let wall = self.started.elapsed();
                let cpu = cpu::stat_cpu_seconds(&stat, ticks).unwrap_or(0.0);
                let status = self.child.wait().ok().and_then(|s| s.code());
                return (wall, cpu, status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The last line of SIPp's `-trace_stat` file, by column name.
struct SippStats(Vec<(String, String)>);

impl SippStats {
    fn read(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = lines.next()?.split(';').map(str::to_string).collect();
        let last = lines.next_back()?;
        Some(Self(
            header
                .into_iter()
                .zip(last.split(';').map(str::to_string))
                .collect(),
        ))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn count(&self, name: &str) -> u64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// A `HH:MM:SS:uuuuuu` duration, in ms.
    fn ms(&self, name: &str) -> f64 {
        let Some(v) = self.get(name) else {
            return f64::NAN;
        };
        let p: Vec<f64> = v.split(':').filter_map(|x| x.parse().ok()).collect();
        match p[..] {
            [h, m, s, us] => ((h * 60.0 + m) * 60.0 + s) * 1000.0 + us / 1000.0,
            _ => f64::NAN,
        }
    }
}

/// The callee's ACK count so far, from the last line of its
/// `-trace_counts` file (`uas-answer_PID_counts.csv`).
fn uas_acks(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !(name.starts_with("uas-answer_") && name.ends_with("_counts.csv")) {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let mut lines = text.lines();
        let Some(header) = lines.next() else {
            return 0;
        };
        let Some(col) = header.split(';').position(|h| h.ends_with("_ACK_Recv")) else {
            return 0;
        };
        // The last complete line (SIPp may be writing the next).
        return lines
            .rfind(|l| l.ends_with(';'))
            .and_then(|l| l.split(';').nth(col))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
    }
    0
}

/// One calls-per-second step: fresh callee and target, `calls` calls at
/// `rate` per second.
pub fn run_step(target: SipTarget, config: &SipConfig, rate: u32) -> Result<StepResult, String> {
    let calls = config.calls_at(rate);
    let dir = config.workdir.join(format!("{}-{rate}cps", target.name()));
    prepare_dir(&dir, &config.sipp)?;
    let ticks = cpu::clock_ticks();
    let uas = start_uas(config, &dir)?;
    let mut sut = start_target(target, config, &dir, None)?;
    let limit = config.concurrent.unwrap_or(calls).max(1);
    let timeout_s =
        (calls as f64 / f64::from(rate.max(1))).ceil() as u64 + config.hold_ms.div_ceil(1000) + 60;

    let cpu0 = sut.cpu(ticks);
    let uas0 = cpu::process_cpu_seconds(uas.pid(), ticks).unwrap_or(0.0);
    let uac = Uac::spawn(
        config,
        &dir,
        (calls, rate),
        limit,
        config.hold_ms,
        timeout_s,
    )?;
    let (wall, uac_cpu, exit) = uac.finish(ticks);
    // Let the last BYE transactions and call records finish.
    std::thread::sleep(Duration::from_millis(500));
    let target_cpu = sut.cpu(ticks) - cpu0;
    let uas_cpu = cpu::process_cpu_seconds(uas.pid(), ticks).unwrap_or(0.0) - uas0;
    let mut note = sut.died();
    let stats = SippStats::read(&dir.join("uac-stat.csv"));
    if stats.is_none() && note.is_none() {
        note = Some(format!(
            "no SIPp statistics (exit {exit:?}); see {}",
            dir.join("sipp-uac.log").display()
        ));
    }
    let stats = stats.unwrap_or(SippStats(Vec::new()));
    let result = StepResult {
        target,
        rate,
        calls,
        created: stats.count("TotalCallCreated"),
        successful: stats.count("SuccessfulCall(C)"),
        failed: stats.count("FailedCall(C)"),
        retransmissions: stats.count("Retransmissions(C)"),
        setup_ms: stats.ms("ResponseTime1(C)"),
        wall,
        target_cpu,
        sipp_cpu: (uac_cpu, uas_cpu),
        exit,
        media_failures: sut.media_failures(),
        note,
    };
    if !result.clean() {
        eprintln!(
            "tandem-bench: sip: {} at {rate}/s: {} failed; files in {}\n{}",
            target.name(),
            result.failed,
            dir.display(),
            sut.log_tail(5)
        );
    }
    drop(sut);
    drop(uas);
    Ok(result)
}

/// `--hold N`: N calls set up at `rate` per second and held, memory read
/// with all of them up.
pub fn run_hold(
    target: SipTarget,
    config: &SipConfig,
    calls: usize,
    rate: u32,
) -> Result<HoldResult, String> {
    let dir = config
        .workdir
        .join(format!("{}-hold{calls}", target.name()));
    prepare_dir(&dir, &config.sipp)?;
    let mut notes = Vec::new();
    // Each tandem call holds two legs, each an RTP and an RTCP socket.
    let need_fds = calls as u64 * 4 + 4096;
    let (soft, hard) = own_nofile_limit();
    let mut nofile = None;
    if target == SipTarget::Tandem && soft < need_fds {
        if hard >= need_fds {
            nofile = Some((need_fds, hard));
        } else if can_raise_nofile(need_fds) {
            notes.push(format!(
                "open-files hard limit {hard} < {need_fds} needed: raised with prlimit"
            ));
            nofile = Some((need_fds, need_fds));
        } else {
            notes.push(format!(
                "open-files hard limit {hard} < {need_fds} needed (4 media sockets per call) and \
                 it cannot be raised here (no CAP_SYS_RESOURCE): tandem runs with {hard}, room \
                 for about {} calls",
                hard.saturating_sub(100) / 4
            ));
            nofile = (soft < hard).then_some((hard, hard));
        }
    }
    let pairs = usize::from((config.rtp_ports.1 - config.rtp_ports.0).div_ceil(2));
    if target == SipTarget::Tandem && pairs < calls * 2 {
        notes.push(format!(
            "--rtp-ports has {pairs} even/odd pairs for {} legs",
            calls * 2
        ));
    }
    let ticks = cpu::clock_ticks();
    let uas = start_uas(config, &dir)?;
    let mut sut = start_target(target, config, &dir, nofile)?;
    let fd_limit = std::fs::read_to_string(format!("/proc/{}/limits", sut.pid()))
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .map(|l| {
                    let v: Vec<u64> = l
                        .split_whitespace()
                        .filter_map(|w| w.parse().ok())
                        .collect();
                    (
                        v.first().copied().unwrap_or(0),
                        v.get(1).copied().unwrap_or(0),
                    )
                })
        })
        .unwrap_or((soft, hard));
    std::thread::sleep(Duration::from_millis(500));
    let mem_idle = sut.memory_kib();
    let fds_idle = sut.open_fds();

    let setup_s = calls as f64 / f64::from(rate.max(1));
    // Every call stays up until all are set up, then past the lifetime of
    // their INVITE transactions (64*T1 = 32 s, RFC 6026 Accepted states),
    // so the reading is of idle established calls, plus time to read.
    let hold_ms = ((setup_s + 50.0) * 1000.0) as u64;
    let timeout_s = (2.0 * setup_s) as u64 + hold_ms / 1000 + 90;
    let start = Instant::now();
    let uac = Uac::spawn(config, &dir, (calls, rate), calls + 16, hold_ms, timeout_s)?;
    // Wait for the ACKs, giving up when they stop coming.
    let mut established = 0;
    let mut last_progress = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let acks = uas_acks(&dir);
        if acks > established {
            established = acks;
            last_progress = Instant::now();
        }
        if established >= calls as u64 {
            break;
        }
        if last_progress.elapsed() > Duration::from_secs(5)
            && start.elapsed().as_secs_f64() > setup_s
        {
            notes.push(format!(
                "only {established} of {calls} calls were up (no new ACK for 5 s)"
            ));
            break;
        }
        if let Some(died) = sut.died() {
            notes.push(died);
            break;
        }
    }
    let setup_wall = start.elapsed();
    // An idle established call: its INVITE transactions have ended (64*T1
    // after the 2xx) and the ACK retransmission window with them.
    std::thread::sleep(Duration::from_secs(35));
    let mem_held = sut.memory_kib();
    let fds_held = sut.open_fds();
    let media_failures = sut.media_failures();
    let (_, _, exit) = uac.finish(ticks);
    std::thread::sleep(Duration::from_secs(1));
    let mem_after = sut.memory_kib();
    if let Some(died) = sut.died() {
        notes.push(died);
    }
    let stats = SippStats::read(&dir.join("uac-stat.csv")).unwrap_or(SippStats(Vec::new()));
    let failed = stats.count("FailedCall(C)");
    if failed > 0 || exit != Some(0) {
        notes.push(format!(
            "SIPp exit {exit:?}; files in {}; target log:\n{}",
            dir.display(),
            sut.log_tail(5)
        ));
        if target == SipTarget::Tandem {
            notes.extend(
                http_get(config.target_port + 35, "/metrics")
                    .lines()
                    .filter(|l| l.starts_with("tandem_sip_calls_total") && !l.ends_with(" 0"))
                    .map(str::to_string),
            );
        }
    }
    drop(sut);
    drop(uas);
    Ok(HoldResult {
        target,
        calls,
        rate,
        established,
        successful: stats.count("SuccessfulCall(C)"),
        failed,
        mem_kib: (mem_idle, mem_held, mem_after),
        fds: (fds_idle, fds_held),
        media_failures,
        fd_limit,
        setup_wall,
        note: (!notes.is_empty()).then(|| notes.join("\n")),
    })
}

fn opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "-".into(),
    }
}

/// The highest offered rate at which every call completed.
pub fn best_clean_rate(results: &[StepResult], target: SipTarget) -> Option<u32> {
    results
        .iter()
        .filter(|r| r.target == target && r.clean())
        .map(|r| r.rate)
        .max()
}

/// Prints each step and the side-by-side table; `true` when the targets
/// that apply were met.
pub fn print_steps(config: &SipConfig, results: &[StepResult]) -> bool {
    println!();
    println!(
        "== sip: calls per second, SIPp caller -> target -> SIPp callee (200 with SDP at once, no RTP), hold {} ms, UDP on loopback ==",
        config.hold_ms
    );
    println!(
        "{:<9} {:>6} {:>7} {:>7} {:>7} {:>7} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8}",
        "target",
        "rate",
        "calls",
        "ok",
        "failed",
        "retrans",
        "achieved",
        "setup",
        "target",
        "CPU s per",
        "SIPp",
        "SIPp",
        "exit"
    );
    println!(
        "{:<9} {:>6} {:>7} {:>7} {:>7} {:>7} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8}",
        "", "cps", "", "", "", "", "cps", "ms mean", "CPU s", "1k calls", "UAC CPU", "UAS CPU", ""
    );
    for r in results {
        println!(
            "{:<9} {:>6} {:>7} {:>7} {:>7} {:>7} {:>9.1} {:>8} {:>9.2} {:>9} {:>8.2} {:>8.2} {:>8}",
            r.target.name(),
            r.rate,
            r.calls,
            r.successful,
            r.failed,
            r.retransmissions,
            r.achieved(),
            opt(Some(r.setup_ms), 0),
            r.target_cpu,
            opt(r.cpu_per_1000(), 3),
            r.sipp_cpu.0,
            r.sipp_cpu.1,
            r.exit.map_or("-".into(), |c| c.to_string()),
        );
        if r.media_failures > 0 {
            println!(
                "  note: {} {} at {}/s: {} media commands failed (tandem's log), the calls went on without them",
                r.target.name(),
                r.calls,
                r.rate,
                r.media_failures
            );
        }
        if let Some(n) = &r.note {
            println!("  note: {}", n.lines().next().unwrap_or_default());
        }
    }

    let has = |t: SipTarget| results.iter().any(|r| r.target == t);
    let both = has(SipTarget::Tandem) && has(SipTarget::Kamailio);
    if both {
        println!();
        println!("side by side (CPU s per 1,000 calls; ratio = tandem / kamailio):");
        println!(
            "{:>6} | {:>15} {:>9} {:>9} | {:>15} {:>9} {:>9} | {:>7}",
            "rate", "kamailio ok/fail", "cps", "CPU/1k", "tandem ok/fail", "cps", "CPU/1k", "ratio"
        );
        for &rate in &config.rates {
            let find = |t| results.iter().find(|r| r.target == t && r.rate == rate);
            let (Some(k), Some(t)) = (find(SipTarget::Kamailio), find(SipTarget::Tandem)) else {
                continue;
            };
            let ratio = match (t.cpu_per_1000(), k.cpu_per_1000()) {
                (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                _ => None,
            };
            println!(
                "{:>6} | {:>15} {:>9.1} {:>9} | {:>15} {:>9.1} {:>9} | {:>7}",
                rate,
                format!("{}/{}", k.successful, k.failed),
                k.achieved(),
                opt(k.cpu_per_1000(), 3),
                format!("{}/{}", t.successful, t.failed),
                t.achieved(),
                opt(t.cpu_per_1000(), 3),
                opt(ratio, 2)
            );
        }
    }
    println!();
    for t in [SipTarget::Kamailio, SipTarget::Tandem] {
        if has(t) {
            println!(
                "highest rate with every call completed, {}: {}",
                t.name(),
                best_clean_rate(results, t).map_or("none".into(), |r| format!("{r} calls/s"))
            );
        }
    }
    let mut met = true;
    if has(SipTarget::Tandem) {
        println!("targets:");
        let best = best_clean_rate(results, SipTarget::Tandem);
        let tried = results
            .iter()
            .any(|r| r.target == SipTarget::Tandem && r.rate >= 1000);
        if tried {
            let ok = best.is_some_and(|r| r >= 1000);
            met &= ok;
            println!(
                "  >= 1,000 calls/s through the B2BUA, media anchored, no failed call: {}  {}",
                best.map_or("none clean".into(), |r| format!("clean up to {r}/s")),
                if ok { "MET" } else { "MISSED" }
            );
        } else {
            println!(
                "  >= 1,000 calls/s through the B2BUA: not applicable (no step at 1,000/s or more)"
            );
        }
    }
    met
}

/// Prints the `--hold` results; `true` when the targets that apply were met.
pub fn print_hold(results: &[HoldResult]) -> bool {
    println!();
    let Some(first) = results.first() else {
        return true;
    };
    println!(
        "== sip: {} calls set up at {}/s and held (no RTP), UDP on loopback ==",
        first.calls, first.rate
    );
    println!(
        "{:<9} {:>6} {:>6} {:>8} {:>6} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>11} {:>8} {:>12} {:>6}",
        "target",
        "calls",
        "up",
        "anchored",
        "ok",
        "failed",
        "media",
        "mem idle",
        "mem held",
        "mem end",
        "KiB/call",
        "fds",
        "fd limit",
        "",
        "setup"
    );
    println!(
        "{:<9} {:>6} {:>6} {:>8} {:>6} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>11} {:>8} {:>12} {:>6}",
        "", "", "(ACK)", "", "", "", "failures", "KiB", "KiB", "KiB", "", "idle/held", "", "", "s"
    );
    for r in results {
        println!(
            "{:<9} {:>6} {:>6} {:>8} {:>6} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>11} {:>8} {:>12} {:>6.1}",
            r.target.name(),
            r.calls,
            r.established,
            r.anchored(),
            r.successful,
            r.failed,
            r.media_failures,
            r.mem_kib.0,
            r.mem_kib.1,
            r.mem_kib.2,
            opt(r.kib_per_call(), 2),
            format!("{}/{}", r.fds.0, r.fds.1),
            format!("{}:{}", r.fd_limit.0, r.fd_limit.1),
            "",
            r.setup_wall.as_secs_f64()
        );
        if let Some(n) = &r.note {
            for l in n.lines() {
                println!("  note: {l}");
            }
        }
    }
    println!(
        "(memory: tandem VmRSS, kamailio the sum of Pss over its processes; KiB/call = \
         (held - idle) / up; anchored = tandem's new descriptors / 4)"
    );
    let mut met = true;
    if let Some(t) = results.iter().find(|r| r.target == SipTarget::Tandem) {
        println!("targets:");
        let held = t.anchored() >= 10_000 && t.failed == 0 && t.media_failures == 0;
        if t.calls >= 10_000 {
            met &= held;
            println!(
                "  >= 10,000 concurrent calls held, media anchored: {} up, {} anchored, {} failed, {} media failures  {}",
                t.established,
                t.anchored(),
                t.failed,
                t.media_failures,
                if held { "MET" } else { "MISSED" }
            );
        } else {
            println!(
                "  >= 10,000 concurrent calls held: not applicable at {}",
                t.calls
            );
        }
        let per_call = t.kib_per_call();
        if t.media_failures == 0 && t.anchored() == t.established {
            let small = per_call.is_some_and(|k| k < 16.0);
            met &= small;
            println!(
                "  memory per idle established call (both legs, media) < 16 KiB: {} KiB  {}",
                opt(per_call, 2),
                if small { "MET" } else { "MISSED" }
            );
        } else {
            met = false;
            println!(
                "  memory per idle established call < 16 KiB: not measured ({} KiB, but {} of {} calls have no media sockets)",
                opt(per_call, 2),
                t.established - t.anchored(),
                t.established
            );
        }
    }
    met
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sipp_durations_are_read_in_ms() {
        let s = SippStats(vec![("ResponseTime1(C)".into(), "00:00:01:250000".into())]);
        assert!((s.ms("ResponseTime1(C)") - 1250.0).abs() < 1e-9);
        assert!(s.ms("CallLength(C)").is_nan());
    }

    #[test]
    fn kib_fields_are_parsed() {
        let text = "Name:\ttandem\nVmRSS:\t   47836 kB\n";
        assert_eq!(kib_field(text, "VmRSS:"), Some(47836));
        assert_eq!(kib_field(text, "Pss:"), None);
    }

    #[test]
    fn own_process_is_in_its_tree() {
        assert_eq!(tree_pids(std::process::id())[0], std::process::id());
    }
}
