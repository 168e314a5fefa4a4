//! Replays every committed fuzz seed and regression input through the same
//! checks the fuzz targets run, so CI exercises the corpora without a
//! fuzzer or a nightly toolchain.

#![allow(clippy::disallowed_methods)] // tests own the clock

#[allow(dead_code)]
#[path = "../fuzz/common/exercise.rs"]
mod exercise;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {dir:?}");
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{path:?} failed the {target} checks");
    }
}

#[test]
fn bencode_value_corpus() {
    replay("bencode_value", exercise::bencode_value);
}

#[test]
fn ng_message_corpus() {
    replay("ng_message", exercise::ng_message);
}
