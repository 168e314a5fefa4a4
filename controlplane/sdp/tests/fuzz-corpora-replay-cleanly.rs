//! Replays every committed fuzz seed and regression input through the same
//! checks the fuzz target runs, so CI exercises the corpus without a fuzzer
//! or a nightly toolchain.

#[path = "../fuzz/common/exercise.rs"]
mod exercise;
#[path = "../fuzz/common/offer_answer.rs"]
mod offer_answer;

/// Runs `check` on every file of `fuzz/corpus/<target>`.
fn replay(target: &str, check: fn(&[u8])) {
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
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{path:?} failed the {target} checks");
    }
}

#[test]
fn sdp_message_corpus() {
    replay("sdp_message", exercise::sdp_message);
}

#[test]
fn offer_answer_corpus() {
    replay("offer_answer", offer_answer::offer_answer);
}
