//! Fuzzes the WAV reader: any byte string must parse or fail cleanly, and
//! what parses must decode within bounds and survive a write/read round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_dsp::wav::{self, Wav};

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = Wav::parse(data) else { return };
    let spec = parsed.spec();
    let pcm = parsed.decode();
    assert_eq!(pcm.len(), parsed.frames() * usize::from(spec.channels));
    if let Ok(file) = wav::to_vec(spec, parsed.data()) {
        let again = Wav::parse(&file).expect("our own output must parse");
        assert_eq!(again.spec(), spec);
        assert_eq!(again.data(), parsed.data());
    }
});
