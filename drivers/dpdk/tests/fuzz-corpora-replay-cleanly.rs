//! Replays the committed seeds and regression inputs of the `host_stack`
//! fuzz target through the checks it runs (`fuzz/common/host_stack.rs`),
//! on stable, without libFuzzer.

#[path = "../fuzz/common/host_stack.rs"]
mod host_stack;

#[test]
fn host_stack_corpus_replays_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/host_stack");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {dir:?}");
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| host_stack::host_stack(&data));
        assert!(outcome.is_ok(), "{path:?} failed the host_stack checks");
    }
}
