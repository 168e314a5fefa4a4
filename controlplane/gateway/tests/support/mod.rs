//! Shared harness of the SIP interworking tests: start `tandem run` and
//! SIPp as real processes on fixed loopback ports, read the call records
//! back through `tandem cdr list`.
#![allow(dead_code)] // each test file uses its own subset

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Kills a child process when dropped (SIGTERM, then SIGKILL).
pub(crate) struct Kill(pub(crate) Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{tool} not found: install the Debian package {package} (scripts/setup.sh does)"
    );
}

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn scenario(path: &str) -> PathBuf {
    repo().join("tests").join(path)
}

/// A fresh working directory for one test.
pub(crate) fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) fn wait_for(path: &Path, needle: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) || start.elapsed() > timeout {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `tandem run` with `args`, logging to `dir/tandem.log`, once its SIP
/// port is up.
pub(crate) fn start_tandem(dir: &Path, args: &[&str]) -> (Kill, PathBuf) {
    let log = dir.join("tandem.log");
    let child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("run")
        .args(args)
        .arg("--cdr-db")
        .arg(dir.join("cdr.sqlite"))
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start tandem");
    let kill = Kill(child);
    let text = wait_for(&log, "tandem: SIP on", Duration::from_secs(10));
    assert!(
        text.contains("tandem: SIP on"),
        "tandem did not start:\n{text}"
    );
    (kill, log)
}

/// A SIPp callee running `scenario` on `port`, echoing RTP on `media_port`.
pub(crate) fn sipp_uas(dir: &Path, scenario: &Path, port: u16, media_port: u16) -> Kill {
    let child = Command::new("sipp")
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-mp", &media_port.to_string(), "-rtp_echo"])
        .args(["-nostdin", "-trace_err", "-max_socket", "4096"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp uas");
    // SIPp binds before it reads its first message; give it a moment.
    std::thread::sleep(Duration::from_millis(300));
    Kill(child)
}

/// A SIPp caller: `load.0` calls at `load.1` per second to `target`,
/// dialling `service`. Returns SIPp's output once it finishes (exit status 0 when
/// every call succeeded).
pub(crate) fn sipp_uac(
    dir: &Path,
    scenario: &Path,
    port: u16,
    media_port: u16,
    target: &str,
    service: &str,
    load: (usize, usize),
) -> Output {
    sipp_uac_with(dir, scenario, port, media_port, target, service, load, &[])
}

/// [`sipp_uac`] with extra SIPp arguments.
#[allow(clippy::too_many_arguments)] // a command line, spelled out
pub(crate) fn sipp_uac_with(
    dir: &Path,
    scenario: &Path,
    port: u16,
    media_port: u16,
    target: &str,
    service: &str,
    load: (usize, usize),
    extra: &[&str],
) -> Output {
    let (calls, rate) = load;
    Command::new("timeout")
        .arg("120")
        .arg("sipp")
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-mp", &media_port.to_string()])
        .args(["-s", service, "-m", &calls.to_string()])
        .args(["-r", &rate.to_string(), "-l", "2000"])
        .args([
            "-nostdin",
            "-trace_err",
            "-trace_stat",
            "-max_socket",
            "4096",
        ])
        .args(extra)
        .arg(target)
        .current_dir(dir)
        .output()
        .expect("run sipp uac")
}

/// The call records, one map of column to value per call.
pub(crate) fn cdrs(dir: &Path) -> Vec<HashMap<String, String>> {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["cdr", "list", "--format", "csv", "--db"])
        .arg(dir.join("cdr.sqlite"))
        .output()
        .expect("tandem cdr list");
    assert!(
        out.status.success(),
        "tandem cdr list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
                .collect()
        })
        .collect()
}

/// Waits until `n` records are stored (they are written as calls end).
pub(crate) fn wait_for_cdrs(
    dir: &Path,
    n: usize,
    timeout: Duration,
) -> Vec<HashMap<String, String>> {
    let start = Instant::now();
    loop {
        let rows = cdrs(dir);
        if rows.len() >= n || start.elapsed() > timeout {
            return rows;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub(crate) fn num(row: &HashMap<String, String>, key: &str) -> u64 {
    row.get(key)
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// `GET path` on the HTTP port, the body.
pub(crate) fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the HTTP port");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Sends a signal to a child.
pub(crate) fn signal(child: &Kill, sig: &str) {
    let ok = Command::new("kill")
        .args(["-s", sig, &child.0.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -s {sig}");
}

/// [`sipp_uas`] that also logs every message it sends and receives to
/// `dir/log_name` (SIPp's `-trace_msg`), for tests that check what a phone
/// was sent.
pub(crate) fn sipp_uas_traced(
    dir: &Path,
    scenario: &Path,
    port: u16,
    media_port: u16,
    log_name: &str,
) -> Kill {
    let child = Command::new("sipp")
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-mp", &media_port.to_string(), "-rtp_echo"])
        .args(["-nostdin", "-trace_msg", "-message_file", log_name])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp uas");
    std::thread::sleep(Duration::from_millis(300));
    Kill(child)
}

/// Writes a mono 8 kHz WAV of a sine tone with sox (prompts for tests).
pub(crate) fn tone_wav(path: &Path, seconds: f64, hz: u32) {
    let made = Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(path)
        .args(["synth", &seconds.to_string(), "sine", &hz.to_string()])
        .args(["vol", "0.3"])
        .status()
        .expect("run sox");
    assert!(made.success(), "sox could not write {}", path.display());
}

/// Asserts that a SIPp run completed every call; on failure shows SIPp's
/// screen and `tandem run`'s log.
pub(crate) fn assert_sipp_ok(out: &Output, tandem_log: &Path) {
    assert!(
        out.status.success(),
        "SIPp reported failed calls:\n{}\ntandem:\n{}",
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(tandem_log).unwrap_or_default()
    );
}

/// A SIPp phone that takes one call (`-m 1`) with `extra` arguments (add
/// `-rtp_echo` for a phone that echoes), its messages traced to
/// `log_name` in `dir`; [`phone_finished`] reads how that call went.
pub(crate) fn sipp_phone(
    dir: &Path,
    scenario: &Path,
    port: u16,
    media_port: u16,
    log_name: &str,
    extra: &[&str],
) -> Kill {
    let child = Command::new("sipp")
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-mp", &media_port.to_string(), "-m", "1"])
        .args([
            "-nostdin",
            "-trace_err",
            "-trace_msg",
            "-message_file",
            log_name,
        ])
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp phone");
    std::thread::sleep(Duration::from_millis(300));
    Kill(child)
}

/// Waits up to `timeout` for a [`sipp_phone`] to end its call; panics,
/// with the phone's message log and `tandem run`'s, unless it ended and
/// its call succeeded.
pub(crate) fn phone_finished(phone: &mut Kill, dir: &Path, log_name: &str, tandem_log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Ok(Some(s)) = phone.0.try_wait() {
            break Some(s);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "the phone's call did not go as scripted ({status:?}):\n{}\ntandem:\n{}",
        std::fs::read_to_string(dir.join(log_name)).unwrap_or_default(),
        std::fs::read_to_string(tandem_log).unwrap_or_default()
    );
}

/// One HTTP/1.1 request to `addr` with an optional bearer token and a
/// JSON body; the status and the body of the answer.
pub(crate) fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the HTTP port");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Today's (UTC) row of queue `name` in `tandem report --by queue` over
/// `dir`'s database, column to value; panics with the report when the run
/// fails or has no such row.
pub(crate) fn queue_report_today(dir: &Path, name: &str) -> HashMap<String, String> {
    let today = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .expect("run date");
    let today = String::from_utf8(today.stdout).unwrap().trim().to_string();
    let report = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args([
            "report", "--by", "queue", "--format", "csv", "--from", &today, "--to", &today,
        ])
        .arg("--db")
        .arg(dir.join("cdr.sqlite"))
        .output()
        .expect("run tandem report");
    let text = String::from_utf8_lossy(&report.stdout).to_string();
    assert!(
        report.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split(',').map(str::to_string))
                .collect::<HashMap<_, _>>()
        })
        .find(|r| r.get("name").map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no row for {name} in\n{text}"))
}

/// A client of `tandem run`'s ng control port (rtpengine's protocol), as a
/// proxy's rtpengine module would be: one bencoded dictionary per
/// datagram, each behind a cookie.
pub(crate) struct Ng {
    pub(crate) socket: std::net::UdpSocket,
    pub(crate) to: std::net::SocketAddr,
    cookie: u32,
}

impl Ng {
    /// A client of the ng port at `to`; replies are awaited 3 s.
    pub(crate) fn new(to: &str) -> Ng {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        Ng {
            socket,
            to: to.parse().unwrap(),
            cookie: 0,
        }
    }

    /// Sends `dict` and returns the reply's dictionary, bencoded.
    pub(crate) fn call(&mut self, dict: tandem_ng::bencode::Node) -> Vec<u8> {
        self.cookie += 1;
        let mut msg = format!("c{} ", self.cookie).into_bytes();
        dict.encode(&mut msg);
        self.socket.send_to(&msg, self.to).unwrap();
        let mut buf = vec![0u8; 65_536];
        let (n, _) = self.socket.recv_from(&mut buf).expect("ng reply");
        let space = buf[..n].iter().position(|&b| b == b' ').unwrap();
        assert_eq!(&buf[..space], format!("c{}", self.cookie).as_bytes());
        buf[space + 1..n].to_vec()
    }

    /// Pings until the port answers `pong`, for up to `within`; the panic
    /// message carries `log()` (tandem's log, say).
    pub(crate) fn wait_for_pong(&mut self, within: Duration, log: impl Fn() -> String) {
        use tandem_ng::bencode::Node;
        self.socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let start = Instant::now();
        loop {
            let mut msg = b"p0 ".to_vec();
            Node::dict()
                .with("command", Node::str("ping"))
                .encode(&mut msg);
            self.socket.send_to(&msg, self.to).unwrap();
            let mut buf = [0u8; 256];
            if let Ok((n, _)) = self.socket.recv_from(&mut buf) {
                assert!(buf[..n].ends_with(b"d6:result4:ponge"));
                break;
            }
            assert!(
                start.elapsed() < within,
                "tandem did not answer ng ping; {}",
                log()
            );
        }
        self.socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
    }
}

/// The string at `key` of a decoded ng reply; panics naming the key.
pub(crate) fn ng_str<'a>(v: &'a tandem_ng::bencode::Value<'a>, key: &str) -> &'a str {
    v.get(key)
        .and_then(|x| x.as_str())
        .unwrap_or_else(|| panic!("no {key} in {v:?}"))
}
