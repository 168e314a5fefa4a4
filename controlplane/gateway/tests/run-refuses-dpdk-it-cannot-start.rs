//! `--packet-io dpdk` that cannot work is refused at start, exit code 2,
//! with what is missing: the EAL arguments, a DPDK build (the default
//! build has none), an IPv4 media address of the port's own.

use std::process::Command;

fn run(extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "--ng-listen", "127.0.0.1:13592"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dpdk_without_what_it_needs_is_refused_with_a_reason() {
    let (code, err) = run(&["--packet-io", "dpdk"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("needs the EAL arguments (--dpdk-eal or media.dpdk_eal)"),
        "{err}"
    );

    // An EAL string starting with '-' is one value, not flags.
    let (code, err) = run(&[
        "--packet-io",
        "dpdk",
        "--dpdk-eal",
        "--no-huge --no-pci",
        "--rtp-address",
        "::1",
    ]);
    assert_eq!(code, Some(2), "{err}");
    if cfg!(feature = "dpdk") {
        assert!(err.contains("must be IPv4"), "{err}");
    } else {
        assert!(err.contains("built without DPDK"), "{err}");
        assert!(err.contains("--features dpdk"), "{err}");
    }

    let (code, err) = run(&["--packet-io", "netmap"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("auto, io_uring, socket, dpdk"), "{err}");
}
