//! Interworking with a real proxy: Debian's Kamailio, with its stock
//! `rtpengine` module, anchors calls from SIPp through `tandem run` exactly
//! as it would through rtpengine. The caller offers PCMA and plays a
//! recorded A-law stream; the callee answers PCMU and echoes RTP; every call
//! completes, Tandem transcodes both ways, and each call's legs carried
//! packets in both directions.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Kill, repo, require, wait_for};

#[test]
fn kamailio_anchors_sipp_calls_through_tandem() {
    require("kamailio", "kamailio");
    require("sipp", "sip-tester");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kamailio-ng");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("run")).unwrap();
    let scenarios = repo().join("tests/kamailio");
    let (ng, proxy, uas, uac) = ("127.0.0.1:21223", "127.0.0.1:25060", 25070, 25080);
    // Fixed ports below Linux's ephemeral range (32768-60999), so that no
    // other test's port-0 socket can take them.
    const CALLS: usize = 10;

    let tandem_log = dir.join("tandem.log");
    let _tandem = Kill(
        Command::new(env!("CARGO_BIN_EXE_tandem"))
            .args(["run", "--ng-listen", ng, "--rtp-ports", "23000-23999"])
            .args(["--rtp-address", "127.0.0.1", "--recording-dir"])
            .arg(&dir)
            .stderr(std::fs::File::create(&tandem_log).unwrap())
            .spawn()
            .expect("start tandem"),
    );
    let log = wait_for(&tandem_log, "ng control on", Duration::from_secs(10));
    assert!(
        log.contains("ng control on"),
        "tandem did not start:\n{log}"
    );

    let kamailio_log = dir.join("kamailio.log");
    let kamailio_out = std::fs::File::create(&kamailio_log).unwrap();
    let _kamailio = Kill(
        Command::new("kamailio")
            .arg("-f")
            .arg(scenarios.join("kamailio.cfg"))
            .args(["-A", &format!("LISTEN=udp:{proxy}")])
            .args(["-A", &format!("NG_SOCK=\"udp:{ng}\"")])
            .args(["-A", &format!("UAS=\"sip:127.0.0.1:{uas}\"")])
            .args(["-D", "-E", "-w"])
            .arg(&dir)
            .arg("-Y")
            .arg(dir.join("run"))
            .stdout(kamailio_out.try_clone().unwrap())
            .stderr(kamailio_out)
            .spawn()
            .expect("start kamailio"),
    );
    // Its SIP socket is bound once it reports the socket's buffer size
    // ("Listening on" goes to a buffered stdout).
    let ready = "SO_RCVBUF is finally";
    let klog = wait_for(&kamailio_log, ready, Duration::from_secs(10));
    assert!(klog.contains(ready), "kamailio did not start:\n{klog}");
    std::thread::sleep(Duration::from_millis(300));

    let _callee = Kill(
        Command::new("sipp")
            .arg("-sf")
            .arg(scenarios.join("uas-pcmu-echo.xml"))
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &uas.to_string(),
                "-mp",
                "46000",
                "-rtp_echo",
            ])
            .args(["-nostdin", "-timeout", "60", "-m", &CALLS.to_string()])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sipp uas"),
    );
    std::thread::sleep(Duration::from_millis(500));
    let caller = Command::new("sipp")
        .arg(proxy)
        .arg("-sf")
        .arg(scenarios.join("uac-pcma-pcap.xml"))
        .args(["-i", "127.0.0.1", "-p", &uac.to_string(), "-mp", "27000"])
        .args([
            "-m",
            &CALLS.to_string(),
            "-r",
            "5",
            "-nostdin",
            "-timeout",
            "40",
        ])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .expect("run sipp uac");
    let log = wait_for(&tandem_log, &format!("{CALLS}-"), Duration::from_secs(5));
    assert!(
        caller.success(),
        "SIPp reports failed calls ({caller}); tandem said:\n{log}"
    );

    let deleted: Vec<&str> = log.lines().filter(|l| l.contains(" deleted: ")).collect();
    assert_eq!(deleted.len(), CALLS, "one deleted call per call:\n{log}");
    for line in deleted {
        // "offerer leg in A out B dropped C; answerer leg in D out E dropped F"
        let n: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let [.., a_in, a_out, _, b_in, b_out, _] = n[..] else {
            panic!("{line}")
        };
        assert!(a_in >= 50, "caller's audio reached tandem: {line}");
        assert!(b_out >= 50, "and went on to the callee: {line}");
        assert!(b_in >= 50, "the callee's echo came back: {line}");
        assert!(a_out >= 50, "and reached the caller: {line}");
    }
}
