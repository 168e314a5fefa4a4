//! Replays the WAV fuzz seed corpus (and anything the fuzzer added to it)
//! through the reader, so CI exercises those inputs without a fuzzer.

use std::path::Path;

use tandem_dsp::wav::{self, Wav};

#[test]
fn every_corpus_file_parses_or_fails_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/wav_file");
    let mut seen = 0;
    let mut parsed = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus folder") {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        seen += 1;
        if let Ok(w) = Wav::parse(&bytes) {
            parsed += 1;
            let pcm = w.decode();
            assert_eq!(pcm.len(), w.frames() * usize::from(w.spec().channels));
            let again = wav::to_vec(w.spec(), w.data()).unwrap();
            assert_eq!(Wav::parse(&again).unwrap().data(), w.data());
        }
    }
    assert!(seen >= 6, "seed corpus went missing ({seen} files)");
    assert!(
        parsed >= 5,
        "valid seeds stopped parsing ({parsed} of {seen})"
    );
}
