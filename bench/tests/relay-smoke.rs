//! Relay smoke test: 10 calls (20 streams) through `tandem run` for 2 s,
//! set up over ng; nothing may be lost and the CPU and latency figures
//! must be there.
//!
//! Needs the `tandem` binary of the same profile (`target/<profile>/tandem`);
//! it is built with `cargo build -p tandem-gateway` first if missing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tandem_bench::relay::{self, RelayConfig, Target};

fn tandem_binary() -> PathBuf {
    // target/<profile>/deps/relay_smoke-<hash> → target/<profile>/tandem
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .to_path_buf();
    let tandem = profile_dir.join("tandem");
    if !tandem.exists() {
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.args(["build", "-p", "tandem-gateway", "--bin", "tandem"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build");
        assert!(status.success(), "building tandem failed");
    }
    tandem
}

#[test]
fn twenty_streams_through_tandem_lose_nothing() {
    let tandem = tandem_binary();
    let start = Instant::now();
    let mut config = RelayConfig::new(20, 2.0, tandem);
    // Out of the way of a bench run on the default ports.
    config.ng_port = 22_299;
    config.media_ports = (24_000, 24_999);
    config.generator_ports = 26_000;
    config.drain = Duration::from_millis(300);
    let r = relay::run(Target::Tandem, &config).expect("relay run");
    assert_eq!(r.calls, 10);
    assert_eq!(r.sent(), 20 * 100, "2 s of 20 ms packets on 20 streams");
    assert_eq!(r.lost(0), 0, "caller->callee loss");
    assert_eq!(r.lost(1), 0, "callee->caller loss");
    assert!(r.cpu_seconds >= 0.0);
    assert!(r.cpu_us_per_packet().is_some());
    assert_eq!(r.traffic.latency.count(), r.relayed());
    let p99 = r
        .traffic
        .latency
        .quantile_us(0.99)
        .expect("latency figures");
    assert!(p99 > 0.0);
    assert!(r.traffic.latency.max_us().is_some());
    assert_eq!(r.delete_errors, 0);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
}

/// The floor relay moves every datagram of every stream to the other side
/// and its CPU time is read.
#[test]
fn twenty_streams_through_the_floor_relay_lose_nothing() {
    let mut config = RelayConfig::new(20, 1.0, PathBuf::from("unused"));
    config.generator_ports = 26_200;
    config.drain = Duration::from_millis(300);
    let r = relay::run(Target::Floor, &config).expect("floor run");
    assert_eq!(r.calls, 10);
    assert_eq!(r.sent(), 20 * 50);
    assert_eq!((r.lost(0), r.lost(1)), (0, 0));
    assert_eq!(r.relayed(), r.sent());
    assert_eq!(r.traffic.latency.count(), r.relayed());
    assert!(r.cpu_seconds >= 0.0 && r.generator_cpu_seconds >= 0.0);
}
