//! Replays every committed fuzz seed and regression input through the same
//! checks the fuzz target runs, so CI exercises the corpus without a fuzzer
//! or a nightly toolchain.

#[path = "../fuzz/common/exercise.rs"]
mod exercise;

#[test]
fn sdp_message_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/sdp_message");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {dir:?}");
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| exercise::sdp_message(&data));
        assert!(outcome.is_ok(), "{path:?} failed the sdp_message checks");
    }
}

#[path = "../fuzz/common/offer_answer.rs"]
mod offer_answer;

#[test]
fn offer_answer_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/offer_answer");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {dir:?}");
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| offer_answer::offer_answer(&data));
        assert!(outcome.is_ok(), "{path:?} failed the offer_answer checks");
    }
}
