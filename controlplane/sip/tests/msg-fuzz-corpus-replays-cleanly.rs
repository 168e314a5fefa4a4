//! Replays every committed `sip_message` fuzz seed and regression input
//! through the checks the fuzz target runs (`fuzz/common/exercise.rs`), so
//! CI exercises the corpus on stable, without libFuzzer.

#![allow(clippy::disallowed_methods)] // the replayed harness owns its fake clock

#[path = "../fuzz/common/exercise.rs"]
mod exercise;

#[test]
fn sip_message_corpus_replays_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/sip_message");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {dir:?}");
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| exercise::sip_message(&data));
        assert!(outcome.is_ok(), "{path:?} failed the sip_message checks");
    }
}
