//! Prompt behaviours: loading WAV files (formats, rates, resampling),
//! errors that name the file, the shared cache, playback with repeats,
//! stop and barge-in.

use std::path::PathBuf;
use std::sync::Arc;

use tandem_dataplane::frame::AudioFrame;
use tandem_dataplane::prompt::{
    PlayRequest, Prompt, PromptCache, PromptError, PromptPlayer, Repeat,
};
use tandem_dsp::resample::Rate;
use tandem_dsp::wav::{self, Format, Spec};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("tandem-prompt-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wav_file(format: Format, channels: u16, hz: u32, pcm: &[i16]) -> Vec<u8> {
    let spec = Spec {
        format,
        channels,
        sample_rate: hz,
    };
    wav::to_vec(spec, &wav::encode_samples(format, pcm)).unwrap()
}

fn ramp(len: usize) -> Vec<i16> {
    (0..len).map(|i| (i as i32 * 7 - 20000) as i16).collect()
}

fn play_all(player: &mut PromptPlayer) -> Vec<i16> {
    let mut out = Vec::new();
    let mut f = AudioFrame::silence(player.rate());
    let mut guard = 0;
    while player.next_frame(&mut f) {
        out.extend_from_slice(f.samples());
        guard += 1;
        assert!(guard < 100_000);
    }
    assert!(player.finished());
    out
}

#[test]
fn plays_a_pcm_file_exactly_padding_the_last_frame() {
    let dir = TempDir::new("pcm");
    let pcm = ramp(1000); // 6.25 frames at 8 kHz
    let path = dir.write("ramp.wav", &wav_file(Format::Pcm16, 1, 8000, &pcm));
    let prompt = Prompt::load(&path, Rate::Hz8000).unwrap();
    assert_eq!(prompt.len(), 1000);
    assert_eq!(prompt.duration_ms(), 125);
    let mut player = PromptPlayer::new(PlayRequest {
        prompt,
        repeat: Repeat::Times(1),
        barge_in: false,
    });
    let out = play_all(&mut player);
    assert_eq!(out.len(), 7 * 160);
    assert_eq!(&out[..1000], &pcm[..]);
    assert!(out[1000..].iter().all(|&s| s == 0));
    // After the end: silence, still finished.
    let mut f = AudioFrame::silence(Rate::Hz8000);
    assert!(!player.next_frame(&mut f));
    assert!(f.samples().iter().all(|&s| s == 0));
}

#[test]
fn repeats_run_back_to_back() {
    let pcm = ramp(300);
    let prompt = Prompt::from_samples("ramp", Rate::Hz8000, &pcm);
    let mut player = PromptPlayer::new(PlayRequest {
        prompt: prompt.clone(),
        repeat: Repeat::Times(3),
        barge_in: false,
    });
    let out = play_all(&mut player);
    assert_eq!(out.len(), 6 * 160); // 900 samples → 6 frames
    let expect: Vec<i16> = pcm.iter().chain(&pcm).chain(&pcm).copied().collect();
    assert_eq!(&out[..900], &expect[..]);
    assert!(out[900..].iter().all(|&s| s == 0));

    // Zero plays: finished at once.
    let mut none = PromptPlayer::new(PlayRequest {
        prompt: prompt.clone(),
        repeat: Repeat::Times(0),
        barge_in: false,
    });
    assert!(none.finished());
    assert!(play_all(&mut none).is_empty());

    // Forever: until stopped.
    let mut moh = PromptPlayer::new(PlayRequest {
        prompt,
        repeat: Repeat::Forever,
        barge_in: false,
    });
    let mut f = AudioFrame::silence(Rate::Hz8000);
    for _ in 0..100 {
        assert!(moh.next_frame(&mut f));
    }
    assert!(!moh.finished());
    moh.stop();
    assert!(moh.finished());
    assert!(!moh.next_frame(&mut f));
}

#[test]
fn barge_in_is_honoured_only_when_requested() {
    let prompt = Prompt::from_samples("p", Rate::Hz8000, &ramp(8000));
    let mut with = PromptPlayer::new(PlayRequest {
        prompt: prompt.clone(),
        repeat: Repeat::Times(1),
        barge_in: true,
    });
    let mut without = PromptPlayer::new(PlayRequest {
        prompt,
        repeat: Repeat::Times(1),
        barge_in: false,
    });
    let mut f = AudioFrame::silence(Rate::Hz8000);
    with.next_frame(&mut f);
    without.next_frame(&mut f);
    assert!(with.barge_in());
    assert!(with.handle_dtmf());
    assert!(with.finished() && with.stopped_by_dtmf());
    assert!(!without.handle_dtmf());
    assert!(!without.finished());
}

#[test]
fn files_at_other_rates_and_in_g711_are_converted_at_load() {
    let dir = TempDir::new("rates");
    // 1 kHz sine at 8 kHz, A-law.
    let sine: Vec<i16> = (0..8000)
        .map(|i| (10000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin()) as i16)
        .collect();
    let path = dir.write("sine-alaw.wav", &wav_file(Format::Alaw, 1, 8000, &sine));
    let at8 = Prompt::load(&path, Rate::Hz8000).unwrap();
    assert_eq!(at8.len(), 8000);
    let at16 = Prompt::load(&path, Rate::Hz16000).unwrap();
    assert_eq!(at16.len(), 16000);
    assert_eq!(at16.rate(), Rate::Hz16000);
    // Same sine at 16 kHz: every other sample matches the 8 kHz one, away
    // from the edges.
    for i in 100..7900 {
        let d = (i32::from(at16.samples()[2 * i]) - i32::from(at8.samples()[i])).abs();
        assert!(d < 150, "sample {i}: {d}");
    }
    let at48 = Prompt::load(&path, Rate::Hz48000).unwrap();
    assert_eq!(at48.len(), 48000);
    // μ-law at 16 kHz read at 16 kHz.
    let path = dir.write("ulaw16.wav", &wav_file(Format::Ulaw, 1, 16000, &ramp(640)));
    let p = Prompt::load(&path, Rate::Hz16000).unwrap();
    assert_eq!(p.len(), 640);
    let mut player = PromptPlayer::new(PlayRequest {
        prompt: p,
        repeat: Repeat::Times(1),
        barge_in: false,
    });
    let mut f = AudioFrame::silence(Rate::Hz8000);
    assert!(player.next_frame(&mut f));
    assert_eq!(f.rate(), Rate::Hz16000);
}

#[test]
fn errors_name_the_file() {
    let dir = TempDir::new("errors");
    let missing = dir.0.join("missing.wav");
    let err = Prompt::load(&missing, Rate::Hz8000).unwrap_err();
    assert!(matches!(err, PromptError::Io { .. }));
    assert!(err.to_string().contains("missing.wav"), "{err}");

    let bad = dir.write("bad.wav", b"RIFF\x04\x00\x00\x00WAVX");
    let err = Prompt::load(&bad, Rate::Hz8000).unwrap_err();
    assert!(matches!(err, PromptError::BadWav { .. }));
    assert!(err.to_string().contains("bad.wav"), "{err}");

    let stereo = dir.write("stereo.wav", &wav_file(Format::Pcm16, 2, 8000, &ramp(320)));
    let err = Prompt::load(&stereo, Rate::Hz8000).unwrap_err();
    assert!(matches!(err, PromptError::NotMono { channels: 2, .. }));
    assert!(err.to_string().contains("stereo.wav"), "{err}");

    let cd = dir.write("cd.wav", &wav_file(Format::Pcm16, 1, 44100, &ramp(441)));
    let err = Prompt::load(&cd, Rate::Hz8000).unwrap_err();
    assert!(matches!(
        err,
        PromptError::UnsupportedRate { hz: 44100, .. }
    ));
    assert!(err.to_string().contains("cd.wav") && err.to_string().contains("44100"));
}

#[test]
fn cache_shares_one_copy_per_path_and_rate() {
    let dir = TempDir::new("cache");
    let path = dir.write("hello.wav", &wav_file(Format::Pcm16, 1, 8000, &ramp(800)));
    let mut cache = PromptCache::new();
    let a = cache.get_or_load(&path, Rate::Hz8000).unwrap();
    let b = cache.get_or_load(&path, Rate::Hz8000).unwrap();
    assert!(Arc::ptr_eq(a.samples(), b.samples()));
    let wide = cache.get_or_load(&path, Rate::Hz16000).unwrap();
    assert_eq!(wide.len(), 1600);
    assert_eq!(cache.len(), 2);
    assert!(cache.get(&path, Rate::Hz8000).is_some());
    // Failed loads are not cached.
    let missing = dir.0.join("nope.wav");
    assert!(cache.get_or_load(&missing, Rate::Hz8000).is_err());
    assert_eq!(cache.len(), 2);
    cache.invalidate(&path);
    assert!(cache.is_empty());
    // Players keep their copy.
    let mut player = PromptPlayer::new(PlayRequest {
        prompt: a,
        repeat: Repeat::Times(1),
        barge_in: false,
    });
    assert_eq!(play_all(&mut player).len(), 5 * 160);
}

#[test]
fn hostile_files_never_panic() {
    let good = wav_file(Format::Pcm16, 1, 8000, &ramp(200));
    for cut in 0..good.len() {
        let _ = Prompt::from_wav_bytes("cut.wav", &good[..cut], Rate::Hz48000);
    }
    let mut x = 0x1234_5678u32;
    for _ in 0..2000 {
        let mut f = good.clone();
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let i = x as usize % f.len();
            f[i] = (x >> 8) as u8;
        }
        let _ = Prompt::from_wav_bytes("fuzz.wav", &f, Rate::Hz16000);
    }
}
