//! The `tandem` command-line contract that other tests and scripts rely on:
//! `dtmf detect` prints one line per file in order; `audio convert` writes
//! the right container and codec; bad input is one line on stderr and exit
//! status 2, never a panic.

mod cli;

use cli::*;
use std::path::Path;
use std::process::Output;

use tandem_dsp::wav::{self, Format, Spec, Wav};
use tandem_dsp::{g711, g722, tone};

fn write_wav(path: &Path, format: Format, rate: u32, channels: u16, pcm: &[i16]) {
    let spec = Spec {
        format,
        channels,
        sample_rate: rate,
    };
    std::fs::write(
        path,
        wav::to_vec(spec, &wav::encode_samples(format, pcm)).unwrap(),
    )
    .unwrap();
}

fn digits(s: &str) -> Vec<i16> {
    tone::dtmf_sequence(s, 80, 80, -10.0).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn assert_bad_input(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "want one line, got {err:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout after an error");
}

#[test]
fn dtmf_detect_prints_one_line_per_file_in_order() {
    let dir = scratch("cli-contract", "detect");
    let a = dir.join("a.wav");
    let b = dir.join("b.wav");
    let c = dir.join("c.wav");
    write_wav(&a, Format::Pcm16, 8000, 1, &digits("4001234567"));
    write_wav(&b, Format::Pcm16, 8000, 1, &vec![0; 8000]);
    write_wav(&c, Format::Alaw, 8000, 1, &digits("*#ABCD09"));
    let u = dir.join("u.wav");
    write_wav(&u, Format::Ulaw, 8000, 1, &digits("911"));
    let out = tandem(&["dtmf", "detect", s(&a), s(&b), s(&c), s(&u)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "4001234567\n\n*#ABCD09\n911\n"
    );
}

#[test]
fn dtmf_detect_timestamps_give_sample_positions() {
    let dir = scratch("cli-contract", "timestamps");
    let mut pcm = vec![0i16; 800];
    pcm.extend(tone::dtmf_sequence("5", 100, 0, -10.0).unwrap());
    pcm.extend(vec![0i16; 800]);
    let f = dir.join("five.wav");
    write_wav(&f, Format::Pcm16, 8000, 1, &pcm);
    let out = tandem(&["dtmf", "detect", "--timestamps", s(&f)]);
    let line = String::from_utf8(out.stdout).unwrap();
    let (digits, stamp) = line.trim_end().split_once(' ').expect("digits then stamps");
    assert_eq!(digits, "5");
    let (start, end) = stamp.strip_prefix("5@").unwrap().split_once('-').unwrap();
    let (start, end): (i64, i64) = (start.parse().unwrap(), end.parse().unwrap());
    // The tone occupies samples 800..1600; allow the detector 10 ms either way.
    assert!((start - 800).abs() <= 80, "start {start}");
    assert!((end - 1600).abs() <= 80, "end {end}");
}

#[test]
fn dtmf_detect_rejects_bad_files_with_status_2() {
    let dir = scratch("cli-contract", "bad");
    let not_wav = dir.join("notes.txt");
    std::fs::write(&not_wav, b"this is not audio at all").unwrap();
    assert_bad_input(&tandem(&["dtmf", "detect", s(&not_wav)]));

    let wrong_rate = dir.join("16k.wav");
    write_wav(&wrong_rate, Format::Pcm16, 16000, 1, &[0; 160]);
    let out = tandem(&["dtmf", "detect", s(&wrong_rate)]);
    assert_bad_input(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("16000"));

    let good = dir.join("good.wav");
    write_wav(&good, Format::Pcm16, 8000, 1, &digits("1"));
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.join("truncated.wav");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = tandem(&["dtmf", "detect", s(&good), s(&truncated)]);
    assert_bad_input(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));

    let stereo = dir.join("stereo.wav");
    write_wav(&stereo, Format::Pcm16, 8000, 2, &[0; 320]);
    assert_bad_input(&tandem(&["dtmf", "detect", s(&stereo)]));

    let missing = dir.join("does-not-exist.wav");
    assert_bad_input(&tandem(&["dtmf", "detect", s(&missing)]));

    let empty = dir.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    assert_bad_input(&tandem(&["dtmf", "detect", s(&empty)]));
}

#[test]
fn audio_convert_writes_g711_with_the_right_format_tag() {
    let dir = scratch("cli-contract", "convert-g711");
    let input = dir.join("in.wav");
    let pcm = digits("123");
    write_wav(&input, Format::Pcm16, 8000, 1, &pcm);
    for (codec, tag, format) in [("pcma", 6u16, Format::Alaw), ("pcmu", 7, Format::Ulaw)] {
        let out_path = dir.join(format!("{codec}.wav"));
        let out = tandem(&[
            "audio",
            "convert",
            s(&input),
            s(&out_path),
            "--codec",
            codec,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&out_path).unwrap();
        assert_eq!(u16::from_le_bytes([bytes[20], bytes[21]]), tag);
        let w = Wav::parse(&bytes).unwrap();
        assert_eq!(
            w.spec(),
            Spec {
                format,
                channels: 1,
                sample_rate: 8000
            }
        );
        let expected: Vec<u8> = pcm
            .iter()
            .map(|&x| {
                if format == Format::Alaw {
                    g711::alaw_encode(x)
                } else {
                    g711::ulaw_encode(x)
                }
            })
            .collect();
        assert_eq!(w.data(), &expected[..]);
        let detected = tandem(&["dtmf", "detect", s(&out_path)]);
        assert_eq!(String::from_utf8(detected.stdout).unwrap(), "123\n");
    }
}

#[test]
fn audio_convert_l16_keeps_or_changes_the_rate() {
    let dir = scratch("cli-contract", "convert-l16");
    let input = dir.join("in.wav");
    let pcm = digits("7");
    write_wav(&input, Format::Alaw, 8000, 1, &pcm);
    let same = dir.join("same.wav");
    assert!(
        tandem(&["audio", "convert", s(&input), s(&same), "--codec", "l16"])
            .status
            .success()
    );
    let w = std::fs::read(&same).unwrap();
    let w = Wav::parse(&w).unwrap();
    assert_eq!(
        w.spec(),
        Spec {
            format: Format::Pcm16,
            channels: 1,
            sample_rate: 8000
        }
    );
    assert_eq!(
        u16::from_le_bytes([std::fs::read(&same).unwrap()[20], 0]),
        1
    );
    assert_eq!(w.frames(), pcm.len());

    let wide = dir.join("wide.wav");
    let out = tandem(&[
        "audio",
        "convert",
        s(&input),
        s(&wide),
        "--codec",
        "l16",
        "--rate",
        "48000",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&wide).unwrap();
    let w = Wav::parse(&bytes).unwrap();
    assert_eq!(w.spec().sample_rate, 48000);
    assert_eq!(w.frames(), pcm.len() * 6);

    let bad = tandem(&[
        "audio",
        "convert",
        s(&input),
        s(&wide),
        "--codec",
        "l16",
        "--rate",
        "44100",
    ]);
    assert_bad_input(&bad);
}

#[test]
fn audio_convert_g722_writes_the_raw_bit_stream() {
    let dir = scratch("cli-contract", "convert-g722");
    let input = dir.join("in16k.wav");
    let pcm: Vec<i16> = (0..3200)
        .map(|n| ((n as f64 * 0.3).sin() * 8000.0) as i16)
        .collect();
    write_wav(&input, Format::Pcm16, 16000, 1, &pcm);
    let output = dir.join("out.g722");
    let out = tandem(&["audio", "convert", s(&input), s(&output), "--codec", "g722"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&output).unwrap();
    let mut expected = vec![0u8; pcm.len() / 2];
    let n = g722::Encoder::new().encode(&pcm, &mut expected);
    assert_eq!(n, 1600);
    assert_eq!(bytes, expected, "raw G.722 octets, no container");

    // From 8 kHz the input is first resampled to 16 kHz: twice the octets.
    let narrow = dir.join("in8k.wav");
    write_wav(&narrow, Format::Ulaw, 8000, 1, &digits("2"));
    let out8 = dir.join("out8.g722");
    assert!(
        tandem(&["audio", "convert", s(&narrow), s(&out8), "--codec", "g722"])
            .status
            .success()
    );
    assert_eq!(std::fs::read(&out8).unwrap().len(), digits("2").len());
}

#[test]
fn audio_convert_rejects_bad_input_with_status_2() {
    let dir = scratch("cli-contract", "convert-bad");
    let junk = dir.join("junk.wav");
    std::fs::write(&junk, b"RIFF\x10\0\0\0WAVEfmt \x02\0\0\0").unwrap();
    let out_path = dir.join("out.wav");
    assert_bad_input(&tandem(&[
        "audio",
        "convert",
        s(&junk),
        s(&out_path),
        "--codec",
        "pcma",
    ]));
    let odd_rate = dir.join("11k.wav");
    write_wav(&odd_rate, Format::Pcm16, 11025, 1, &[0; 100]);
    assert_bad_input(&tandem(&[
        "audio",
        "convert",
        s(&odd_rate),
        s(&out_path),
        "--codec",
        "pcma",
    ]));
    assert!(!out_path.exists(), "no output written on bad input");
    let out = tandem(&["audio", "convert", s(&junk), s(&out_path), "--codec", "mp3"]);
    assert_eq!(out.status.code(), Some(2));
}
