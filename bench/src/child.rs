//! The system under test as a child process, stopped on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running child process. Dropping it sends SIGTERM, waits up to 3 s,
/// then SIGKILL: no relay outlives the bench, also when it fails.
pub struct ChildGuard {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl ChildGuard {
    /// Starts `cmd` with stdout and stderr going to a log file in the
    /// temporary directory.
    pub fn spawn(name: &str, mut cmd: Command) -> std::io::Result<Self> {
        let log =
            std::env::temp_dir().join(format!("tandem-bench-{}-{name}.log", std::process::id()));
        let out = std::fs::File::create(&log)?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()?;
        Ok(Self {
            name: name.to_string(),
            child: Some(child),
            log,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Where its output goes.
    pub fn log_path(&self) -> &std::path::Path {
        &self.log
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// `Some(status)` if the child has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Stops the child: SIGTERM (through kill(1), this crate has no
    /// `unsafe`), then SIGKILL after 3 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if terminate(&mut child, Duration::from_secs(3)) {
            return;
        }
        eprintln!(
            "tandem-bench: {} ignored SIGTERM for 3 s, killing",
            self.name
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Sends SIGTERM (through kill(1), this crate has no `unsafe`) unless the
/// child has already exited, and waits up to `grace` for it. Whether it
/// is gone.
pub(crate) fn terminate(child: &mut Child, grace: Duration) -> bool {
    if child.try_wait().ok().flatten().is_some() {
        return true;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}
