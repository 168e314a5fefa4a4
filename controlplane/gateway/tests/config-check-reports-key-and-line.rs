//! `tandem check-config`: a valid file gives one summary line and exit 0;
//! a bad one gives every problem as `FILE:LINE: KEY: ...` on stderr and
//! exit 2, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tandem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .output()
        .expect("run tandem")
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("config-check")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_example_config_passes_with_a_summary() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tandem.example.toml");
    let out = tandem(&["check-config", example.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains(": OK: 3 trunks (carrier-a, carrier-b, pbx), 3 routes incl. default"),
        "{stdout}"
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn every_problem_is_reported_with_file_line_and_key() {
    let dir = scratch("bad");
    let file = dir.join("tandem.toml");
    std::fs::write(
        &file,
        r#"[sip]
listen = "0.0.0.0:5060"

[[trunk]]
name = "carrier-a"
address = "sip.carrier-a.example"

[[trunk]]
name = "carrier-b"
address = "sip.carrier-b.example"
transport = "sctp"

[[route]]
prefix = "4008"
trunks = ["carrier-a", "carrier-c"]
"#,
    )
    .unwrap();
    let out = tandem(&["check-config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "stdout: {}", text(&out.stdout));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    let f = file.display();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "tandem: {f}:11: trunk \"carrier-b\".transport: expected one of udp, tcp, tls, got \"sctp\""
            ),
            format!(
                "tandem: {f}:15: route \"4008\".trunks: no trunk named \"carrier-c\" (defined trunks: carrier-a, carrier-b)"
            ),
        ],
        "{err}"
    );
}

#[test]
fn unknown_keys_and_syntax_errors_have_lines() {
    let dir = scratch("unknown");
    let file = dir.join("t.toml");
    std::fs::write(
        &file,
        "[media]\nrtp_ports = \"30000-39999\"\nrtp_port = 4\n",
    )
    .unwrap();
    let out = tandem(&["check-config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "tandem: {}:3: [media]: unknown field `rtp_port`",
            file.display()
        )),
        "{err}"
    );
    assert!(!err.contains("panicked"));

    std::fs::write(&file, "[sip\nlisten = 1\n").unwrap();
    let out = tandem(&["check-config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with(&format!("tandem: {}:1: ", file.display())));
}

#[test]
fn a_missing_file_is_bad_input() {
    let out = tandem(&["check-config", "/nonexistent/tandem.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("tandem: /nonexistent/tandem.toml: cannot read the config file:"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}
