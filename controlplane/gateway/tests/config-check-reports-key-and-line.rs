//! `tandem check-config`: a valid file gives one summary line and exit 0;
//! a bad one gives every problem as `FILE:LINE: KEY: ...` on stderr and
//! exit 2, never a panic.

mod cli;

use cli::*;
use std::path::Path;

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
        stdout.contains(
            ": OK: 3 trunks (carrier-a, carrier-b, pbx), 3 routes incl. default; 1 agent, 1 queue, 1 number;"
        ),
        "{stdout}"
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn every_problem_is_reported_with_file_line_and_key() {
    let dir = scratch("config-check", "bad");
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
fn call_center_problems_are_reported_with_file_line_and_key() {
    let dir = scratch("config-check", "callcenter");
    let file = dir.join("tandem.toml");
    std::fs::write(
        &file,
        r#"[[agent]]
name = "alice"
contact = "sip:1001@192.0.2.31"

[[queue]]
name = "sales"
strategy = "round_robin"
members = ["alice", "bob"]

[[number]]
number = "4008123456"
destinations = ["queue:support"]

[number.schedule]
segments = [{ days = "mon-fri", start = "09:00", end = "25:00", route = "default" }]
"#,
    )
    .unwrap();
    let out = tandem(&["check-config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "stdout: {}", text(&out.stdout));
    let err = text(&out.stderr);
    let f = file.display();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].starts_with(&format!(
            "tandem: {f}:7: queue \"sales\".strategy: expected one of ring-all, linear, round-robin,"
        )),
        "{err}"
    );
    assert_eq!(
        lines[1],
        format!(
            "tandem: {f}:8: queue \"sales\".members: no agent named \"bob\" (defined agents: alice)"
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "tandem: {f}:12: number \"4008123456\".destinations: no queue named \"support\" (defined queues: sales)"
        )
    );

    // Once the references are fixed, the plan's own check finds the time,
    // on the line of its segment.
    let fixed = std::fs::read_to_string(&file)
        .unwrap()
        .replace("round_robin", "round-robin")
        .replace(", \"bob\"", "")
        .replace("queue:support", "queue:sales");
    std::fs::write(&file, fixed).unwrap();
    let out = tandem(&["check-config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim_end(),
        format!(
            "tandem: {f}:15: number \"4008123456\".schedule.segments[0].end: \"25:00\" is not a time HH:MM (hour 25 is above 24)"
        )
    );
}

#[test]
fn unknown_keys_and_syntax_errors_have_lines() {
    let dir = scratch("config-check", "unknown");
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
