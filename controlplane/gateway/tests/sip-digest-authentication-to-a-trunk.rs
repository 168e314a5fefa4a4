//! Outbound digest authentication (RFC 3261 §22.2): the trunk (SIPp, with
//! its own `verifyauth` check of the digest) challenges every INVITE with
//! 401; Tandem answers once with the trunk's configured credentials and
//! the call goes through. With a wrong password the trunk refuses and the
//! caller gets a failure, never a loop of challenges.

mod support;

use std::time::Duration;

use support::*;

fn config(
    dir: &std::path::Path,
    sip: u16,
    http: u16,
    trunk: u16,
    rtp: &str,
    password: &str,
) -> std::path::PathBuf {
    let path = dir.join("tandem.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[sip]
listen = "127.0.0.1:{sip}"
[media]
rtp_ports = "{rtp}"
[http]
listen = "127.0.0.1:{http}"

[[trunk]]
name = "secure"
address = "127.0.0.1:{trunk}"
username = "tandem"
password = "{password}"
options_interval = 0

[[route]]
prefix = ""
trunks = ["secure"]
"#
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_trunks_challenge_is_answered_with_its_credentials() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-digest-out");
    let cfg = config(&dir, 16360, 16390, 16382, "21000-21499", "s3cret");
    let (_tandem, log) = start_tandem(&dir, &["--config", cfg.to_str().unwrap()]);
    let _uas = sipp_uas(&dir, &scenario("sipp/uas-digest-echo.xml"), 16382, 19800);
    let out = sipp_uac(
        &dir,
        &scenario("kamailio/uac-pcma-pcap.xml"),
        16370,
        19700,
        "127.0.0.1:16360",
        "4008",
        (5, 5),
    );
    assert!(
        out.status.success(),
        "calls failed:\n{}\ntandem:\n{}",
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let rows = wait_for_cdrs(&dir, 5, Duration::from_secs(10));
    assert!(
        rows.iter().all(|r| r["disposition"] == "answered"),
        "{rows:?}"
    );
}

#[test]
fn wrong_credentials_fail_the_call_after_one_try() {
    require("sipp", "sip-tester");
    let dir = workdir("sip-digest-wrong");
    let cfg = config(&dir, 16460, 16490, 16482, "21500-21999", "wrong");
    let (_tandem, _log) = start_tandem(&dir, &["--config", cfg.to_str().unwrap()]);
    let _uas = sipp_uas(&dir, &scenario("sipp/uas-digest-echo.xml"), 16482, 19900);
    let out = sipp_uac(
        &dir,
        &scenario("kamailio/uac-pcma-pcap.xml"),
        16470,
        19950,
        "127.0.0.1:16460",
        "4008",
        (1, 1),
    );
    assert!(
        !out.status.success(),
        "a call with a wrong password must fail"
    );
    let rows = wait_for_cdrs(&dir, 1, Duration::from_secs(10));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["disposition"], "failed", "{rows:?}");
    assert_eq!(rows[0]["sip_status"], "403", "{rows:?}");
}
