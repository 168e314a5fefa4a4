//! Replays every committed fuzz seed and regression input through the same
//! checks the fuzz targets run, so CI exercises the corpora without a
//! fuzzer or a nightly toolchain.

mod common;

#[allow(dead_code)]
#[path = "../fuzz/common/exercise.rs"]
mod exercise;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = common::crate_dir().join("fuzz/corpus").join(target);
    let files = common::files(&dir);
    assert!(!files.is_empty(), "empty corpus {dir:?}");
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{path:?} failed the {target} checks");
    }
}

#[test]
fn rtp_packet_corpus() {
    replay("rtp_packet", exercise::rtp_packet);
}

#[test]
fn rtcp_compound_corpus() {
    replay("rtcp_compound", exercise::rtcp_compound);
}

#[test]
fn telephone_event_corpus() {
    replay("telephone_event", exercise::telephone_event);
}
