//! Replays the committed seeds of every fuzz target (`plan_strings`,
//! `acd_inputs`, `ivr_inputs`) through the checks the targets run (`fuzz/common/*.rs`),
//! so CI exercises them on stable, without libFuzzer.

#[path = "../fuzz/common/acd_inputs.rs"]
mod acd_inputs;
#[path = "../fuzz/common/ivr_inputs.rs"]
mod ivr_inputs;
#[path = "../fuzz/common/plan_strings.rs"]
mod plan_strings;

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
fn plan_strings_corpus_replays_cleanly() {
    replay("plan_strings", plan_strings::plan_strings);
}

#[test]
fn acd_inputs_corpus_replays_cleanly() {
    replay("acd_inputs", acd_inputs::acd_inputs);
}

#[test]
fn ivr_inputs_corpus_replays_cleanly() {
    replay("ivr_inputs", ivr_inputs::ivr_inputs);
}
