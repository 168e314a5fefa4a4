//! `media.dtmf = "info"` (DTMF towards peers as SIP INFO) is not built
//! yet: `tandem run` refuses to start with it, saying so, rather than
//! quietly sending telephone-events instead.

use std::process::Command;

#[test]
fn dtmf_info_mode_is_refused_at_start_with_a_reason() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dtmf-info-mode");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("tandem.toml");
    std::fs::write(
        &cfg,
        "[sip]\nlisten = \"127.0.0.1:15760\"\n[media]\ndtmf = \"info\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "--config"])
        .arg(&cfg)
        .arg("--cdr-db")
        .arg(dir.join("cdr.sqlite"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("media.dtmf = \"info\""), "{err}");
    assert!(err.contains("not implemented"), "{err}");
}
