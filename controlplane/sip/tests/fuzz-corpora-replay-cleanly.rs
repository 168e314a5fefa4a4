//! Replays the committed seeds and regression inputs of every fuzz target
//! (`sip_message`, `digest_header`, `session_timer_header`,
//! `refer_to_header`) through the
//! checks the targets run (`fuzz/common/*.rs`), so CI exercises them on
//! stable, without libFuzzer.

#![allow(clippy::disallowed_methods)] // the replayed harness owns its fake clock

#[path = "../fuzz/common/digest_header.rs"]
mod digest_header;
#[path = "../fuzz/common/exercise.rs"]
mod exercise;
#[path = "../fuzz/common/refer_to_header.rs"]
mod refer_to_header;
#[path = "../fuzz/common/session_timer_header.rs"]
mod session_timer_header;

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
fn sip_message_corpus_replays_cleanly() {
    replay("sip_message", exercise::sip_message);
}

#[test]
fn digest_header_corpus_replays_cleanly() {
    replay("digest_header", digest_header::digest_header);
}

#[test]
fn session_timer_header_corpus_replays_cleanly() {
    replay(
        "session_timer_header",
        session_timer_header::session_timer_header,
    );
}

#[test]
fn refer_to_header_corpus_replays_cleanly() {
    replay("refer_to_header", refer_to_header::refer_to_header);
}
