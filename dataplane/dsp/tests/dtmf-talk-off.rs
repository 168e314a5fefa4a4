//! Talk-off and music-off: speech and music must never produce a digit.
//!
//! Speech is synthesised by `espeak-ng` (English and Mandarin, several
//! voices, speeds and pitches) and brought to 8 kHz 16-bit mono by `sox`;
//! both are required (CI installs them) and a missing one fails the test.
//! Music is synthesised here: two-note chords that land near DTMF pairs,
//! with harmonic spectra, piano-like decays and inharmonicity, bowed notes
//! with vibrato, and melodies over accompaniment on notes close to the DTMF
//! frequencies. Each signal goes through Tandem (asserted: zero digits) and
//! spandsp's `dtmf_rx` (reported side by side) and the table is written to
//! `target/dtmf-talk-off-report.txt`.
//!
//! Not included, on purpose: two *pure* sines that sit within the Q.24
//! acceptance band of a DTMF pair. That is a DTMF signal by definition.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Rng, spandsp_string, tandem, to_pcm, write_section};

const REPORT: &str = "dtmf-talk-off-report";
const HEADER: &str = "DTMF talk-off: digits reported on speech and music (should be none) by \
Tandem (tandem_dsp::dtmf, defaults) and spandsp 0.0.6 dtmf_rx (library defaults), same signals.\n\
Levels in dBm0 per tone: 0 dBm0 = sine of peak 22,905.\n";

fn require(tool: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "`{tool}` is required by the DTMF talk-off test and was not found on PATH \
         (Debian: apt-get install espeak-ng sox); CI installs it"
    );
}

fn work_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dtmf-talk-off");
    std::fs::create_dir_all(&d).expect("create work dir");
    d
}

/// espeak-ng → WAV → sox → 8 kHz 16-bit mono raw, peak-normalised to
/// −1 dBFS; returns the samples.
fn speak(tag: &str, voice: &str, speed: u32, pitch: u32, text: &str) -> Vec<i16> {
    let dir = work_dir();
    let txt = dir.join(format!("{tag}.txt"));
    let wav = dir.join(format!("{tag}.wav"));
    let raw = dir.join(format!("{tag}.raw"));
    std::fs::write(&txt, text).expect("write text");
    let st = Command::new("espeak-ng")
        .args([
            "-v",
            voice,
            "-s",
            &speed.to_string(),
            "-p",
            &pitch.to_string(),
            "-w",
        ])
        .arg(&wav)
        .arg("-f")
        .arg(&txt)
        .status()
        .expect("run espeak-ng");
    assert!(st.success(), "espeak-ng failed for {tag}");
    let st = Command::new("sox")
        .arg(&wav)
        .args([
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            "-t",
            "raw",
        ])
        .arg(&raw)
        .args(["gain", "-n", "-1"])
        .status()
        .expect("run sox");
    assert!(st.success(), "sox failed for {tag}");
    let bytes = std::fs::read(&raw).expect("read raw");
    let pcm: Vec<i16> = bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(
        pcm.len() > 8000,
        "{tag}: only {} samples of speech",
        pcm.len()
    );
    pcm
}

fn gain(pcm: &[i16], db: f64) -> Vec<i16> {
    let g = 10f64.powf(db / 20.0);
    let x: Vec<f64> = pcm.iter().map(|&v| f64::from(v) * g).collect();
    to_pcm(&x)
}

/// Per-category tally.
#[derive(Default)]
struct Tally {
    rows: Vec<(String, f64, usize, usize)>,
    tandem_hits: Vec<String>,
}

impl Tally {
    /// Runs both detectors; Tandem must hear nothing.
    fn run(&mut self, category: &str, name: &str, pcm: &[i16]) {
        self.run_as(category, name, pcm, true);
    }

    /// As `run`, but `asserted = false` only reports.
    fn run_as(&mut self, category: &str, name: &str, pcm: &[i16], asserted: bool) {
        let t = tandem(pcm);
        let s = spandsp_string(pcm);
        let secs = pcm.len() as f64 / 8000.0;
        if asserted && !t.is_empty() {
            self.tandem_hits.push(format!("{category} / {name}: {t:?}"));
        }
        match self.rows.iter_mut().find(|r| r.0 == category) {
            Some(r) => {
                r.1 += secs;
                r.2 += t.len();
                r.3 += s.len();
            }
            None => self.rows.push((category.into(), secs, t.len(), s.len())),
        }
    }

    fn finish(self, title: &str) {
        let mut s = format!("== {title} ==\n");
        s += &format!(
            "{:<72} {:>8} {:>14} {:>14}\n",
            "signal", "seconds", "tandem digits", "spandsp digits"
        );
        for (c, secs, t, sp) in &self.rows {
            s += &format!("{c:<72} {secs:>8.1} {t:>14} {sp:>14}\n");
        }
        for h in &self.tandem_hits {
            s += &format!("  TANDEM TALK-OFF: {h}\n");
        }
        println!("{s}");
        write_section(REPORT, HEADER, title, &s);
        assert!(
            self.tandem_hits.is_empty(),
            "Tandem produced digits from non-DTMF audio: {:#?}",
            self.tandem_hits
        );
    }
}

const ENGLISH: [&str; 3] = [
    "The gateway sits between the old telephone network and the new one. Every call \
     that crosses it is converted twice: once from the time slots of the trunk into \
     packets, and once more on the way back. Nobody should notice any of this. The \
     caller hears the person they dialled, the menu hears the digits they press, and \
     the billing system hears about both. When something goes wrong, however, the \
     first question is always the same: was it the network, the gateway, or the phone?",
    "Seven hundred and seventy people attended the meeting on Thursday afternoon, \
     although only a dozen of them asked questions. Would you please repeat the account \
     number, slowly, one digit at a time? Zero, four, nine, one, six, eight, two, star, \
     hash. Thank you. Your call is important to us; please stay on the line, and an \
     agent will be with you shortly. Music, weather, news and sport follow after the \
     break, so don't go away.",
    "She sells sea shells by the sea shore, and the shells she sells are surely sea \
     shells. Oh, really? Yes! Absolutely. Hmm, well, I wasn't sure either, to be honest. \
     Choose whichever you like: the blue one, the green one, or the yellow one with the \
     little bell that rings whenever anybody opens the door. Aaah, ooooh, eeee, mmmm, \
     nnnn; sing the scale with me: do, re, mi, fa, so, la, ti, do.",
];

const MANDARIN: [&str; 2] = [
    "欢迎致电客户服务中心。查询账户余额请按一，办理新业务请按二，人工服务请按零。\
     我们的工作时间是每天早上八点到晚上十点。感谢您的耐心等待，您的电话对我们非常重要。\
     今天天气很好，我们一起去公园散步吧。",
    "春天来了，山上的花都开了，小鸟在树上唱歌。妈妈说，明天我们要坐火车去北京看爷爷奶奶。\
     爷爷喜欢下棋，奶奶喜欢唱歌。我会带上我的小提琴，给他们演奏一首新学的曲子。\
     一二三四五六七八九十，数字念得清清楚楚。",
];

#[test]
fn speech_produces_no_digits() {
    require("espeak-ng");
    require("sox");
    let mut tally = Tally::default();
    let en_voices: [(&str, u32, u32); 5] = [
        ("en-us", 175, 50),
        ("en-gb+f3", 150, 70),
        ("en-us+m3", 220, 35),
        ("en+f5", 130, 85),
        ("en-gb-x-rp+m7", 190, 20),
    ];
    let cmn_voices: [(&str, u32, u32); 3] =
        [("cmn", 170, 50), ("cmn+f3", 140, 75), ("cmn+m5", 210, 30)];
    let mut clips = Vec::new();
    for (vi, (voice, speed, pitch)) in en_voices.iter().enumerate() {
        for (pi, text) in ENGLISH.iter().enumerate() {
            let tag = format!("en-{vi}-{pi}");
            clips.push((
                "English",
                tag.clone(),
                speak(&tag, voice, *speed, *pitch, text),
            ));
        }
    }
    for (vi, (voice, speed, pitch)) in cmn_voices.iter().enumerate() {
        for (pi, text) in MANDARIN.iter().enumerate() {
            let tag = format!("cmn-{vi}-{pi}");
            clips.push((
                "Mandarin",
                tag.clone(),
                speak(&tag, voice, *speed, *pitch, text),
            ));
        }
    }
    // Variety: espeak-ng's voice variants (male, female, child-like,
    // whispered, creaky, Klatt-synthesised...) over wide pitch and speed.
    let variants = [
        "adam", "Alicia", "Annie", "aunty", "belinda", "boris", "david", "Gene", "iven4", "linda",
        "max", "Michael", "quincy", "rob", "steph3", "Storm", "Tweaky", "anika", "f1", "f2", "f4",
        "whisperf", "grandpa", "klatt", "klatt3", "m1", "m2", "m6", "croak", "grandma", "travis",
        "victor",
    ];
    for (i, v) in variants.iter().enumerate() {
        let (lang, voice, text) = if i % 4 == 3 {
            ("Mandarin", format!("cmn+{v}"), MANDARIN[i % 2])
        } else {
            ("English", format!("en-us+{v}"), ENGLISH[i % 3])
        };
        let speed = 110 + (i as u32 * 37) % 150;
        let pitch = [15, 50, 90][i % 3];
        let tag = format!("var-{i}-{v}");
        clips.push((lang, tag.clone(), speak(&tag, &voice, speed, pitch, text)));
    }
    // Peak-normalised to -1 dBFS, then 10 and 20 dB down, and 6 dB over
    // (clipped: the hard case, harmonics everywhere).
    for (lang, tag, pcm) in &clips {
        for db in [0.0, -10.0, -20.0, 6.0] {
            let cat = format!("{lang} speech, peak {:+} dB re -1 dBFS", db);
            tally.run(&cat, tag, &gain(pcm, db));
        }
    }
    // Babble: two or three of those voices at once, where one talker's
    // harmonic can meet another's on a DTMF pair.
    for i in 0..clips.len() {
        let (a, b, c) = (
            &clips[i].2,
            &clips[(i * 7 + 3) % clips.len()].2,
            &clips[(i * 13 + 5) % clips.len()].2,
        );
        let third = i % 2 == 1;
        let x: Vec<f64> = (0..a.len())
            .map(|t| {
                0.6 * f64::from(a[t])
                    + 0.5 * f64::from(b[(t + 4000) % b.len()])
                    + if third {
                        0.4 * f64::from(c[(t + 9000) % c.len()])
                    } else {
                        0.0
                    }
            })
            .collect();
        let cat = "babble: two or three talkers mixed";
        tally.run(
            cat,
            &format!("{} + {}", clips[i].1, clips[(i * 7 + 3) % clips.len()].1),
            &to_pcm(&x),
        );
    }
    tally.finish("speech (espeak-ng, 40 voices/variants, speeds and pitches, via sox to 8 kHz)");
}

// Equal-tempered notes near the DTMF frequencies.
const F5: f64 = 698.46; // 697 +0.2 %
const G5: f64 = 783.99; // 770 +1.8 %
const GS5: f64 = 830.61; // 852 -2.5 %
const AS5: f64 = 932.33; // 941 -0.9 %
const B5: f64 = 987.77;
const D6: f64 = 1174.66; // 1209 -2.8 %
const DS6: f64 = 1244.51; // 1209 +2.9 %
const E6: f64 = 1318.51; // 1336 -1.3 %
const FS6: f64 = 1479.98; // 1477 +0.2 %
const GS6: f64 = 1661.22; // 1633 +1.7 %

/// A note with a harmonic spectrum: partial k has amplitude `k^-rolloff`,
/// frequency `k·f·√(1 + B k²)` (string stiffness), decays with time
/// constant `tau / k` seconds (`tau` infinite for sustained), optional
/// vibrato (depth as a fraction, rate Hz), added into `out` from `at`.
struct Note {
    f: f64,
    dbm0: f64,
    rolloff: f64,
    inharm: f64,
    tau: f64,
    vibrato: (f64, f64),
}

impl Note {
    fn add(&self, out: &mut [f64], at: usize, len: usize, rng: &mut Rng) {
        let tau2 = 2.0 * std::f64::consts::PI;
        let peak = common::amp(self.dbm0);
        let mut k = 1.0;
        loop {
            let fk = k * self.f * (1.0 + self.inharm * k * k).sqrt();
            if fk >= 3900.0 {
                break;
            }
            let a = peak * k.powf(-self.rolloff);
            let ph0 = rng.phase();
            let vib_ph = rng.phase();
            let mut ph = ph0;
            for i in 0..len.min(out.len().saturating_sub(at)) {
                let t = i as f64 / 8000.0;
                let vib = 1.0 + self.vibrato.0 * (tau2 * self.vibrato.1 * t + vib_ph).sin();
                ph += tau2 * fk * vib / 8000.0;
                // 5 ms attack so that onsets are not clicks.
                let env = (t / 0.005).min(1.0) * (-t * k / self.tau).exp();
                out[at + i] += a * env * ph.sin();
            }
            k += 1.0;
        }
    }
}

#[test]
fn music_produces_no_digits() {
    let mut tally = Tally::default();
    let mut rng = Rng::new(77);
    let pairs = [
        ("F5+F#6 ~ '3'", F5, FS6),
        ("G5+E6 ~ '5'", G5, E6),
        ("A#5+E6 ~ '0'", AS5, E6),
        ("F5+E6 ~ '2'", F5, E6),
        ("F5+G#6 ~ 'A'", F5, GS6),
        ("A#5+D#6 ~ '*'", AS5, DS6),
        ("G#5+D6", GS5, D6),
        ("B5+F#6", B5, FS6),
    ];
    // Instruments: (name, rolloff, inharmonicity, decay tau s, vibrato).
    let instruments = [
        (
            "piano-like (k^-1.5, stiff strings, decaying)",
            1.5,
            4e-4,
            0.8,
            (0.0, 0.0),
        ),
        (
            "organ-like (k^-1, sustained)",
            1.0,
            0.0,
            f64::INFINITY,
            (0.0, 0.0),
        ),
        (
            "flute-like (k^-2, sustained, vibrato 0.4 %)",
            2.0,
            0.0,
            f64::INFINITY,
            (0.004, 5.0),
        ),
        (
            "bowed (k^-1, vibrato 0.6 % at 5.5 Hz)",
            1.0,
            0.0,
            f64::INFINITY,
            (0.006, 5.5),
        ),
        ("bright piano (k^-1, decaying)", 1.0, 3e-4, 0.5, (0.0, 0.0)),
    ];
    for (iname, rolloff, inharm, tau, vibrato) in instruments {
        let decaying = tau.is_finite();
        for (pname, f1, f2) in pairs {
            for (level, twist) in [(-8.0, 0.0), (-20.0, 3.0), (-12.0, -3.0)] {
                // Sustained instruments hold the chord for a second; struck
                // ones strike it four times, 250 ms apart.
                let strikes: &[(usize, usize)] = if decaying {
                    &[(400, 2000), (2400, 2000), (4400, 2000), (6400, 2000)]
                } else {
                    &[(400, 8000)]
                };
                let mut x = vec![0.0; 8800];
                for &(at, len) in strikes {
                    for (f, db) in [(f1, level), (f2, level - twist)] {
                        Note {
                            f,
                            dbm0: db,
                            rolloff,
                            inharm,
                            tau,
                            vibrato,
                        }
                        .add(&mut x, at, len, &mut rng);
                    }
                }
                let cat = format!("chords: {iname}");
                tally.run(&cat, &format!("{pname} {level} dBm0"), &to_pcm(&x));
                if decaying {
                    // Held for a second, the upper partials die away (they
                    // decay k times faster) and what is left is two nearly
                    // pure tones within 0.2-1.7 % of a DTMF pair: a DTMF
                    // signal as far as Q.24 can tell. Reported, not asserted.
                    let mut x = vec![0.0; 8800];
                    for (f, db) in [(f1, level), (f2, level - twist)] {
                        Note {
                            f,
                            dbm0: db,
                            rolloff,
                            inharm,
                            tau,
                            vibrato,
                        }
                        .add(&mut x, 400, 8000, &mut rng);
                    }
                    let cat = format!("(report only) held 1 s: {iname}");
                    tally.run_as(&cat, &format!("{pname} {level} dBm0"), &to_pcm(&x), false);
                }
            }
        }
    }
    // Melodies: a tune in the high group's register over a slower
    // accompaniment in the low group's, both instruments as above.
    let tune = [
        E6, FS6, GS6, FS6, E6, DS6, E6, FS6, D6, E6, FS6, GS6, FS6, E6, D6, E6,
    ];
    let bass = [F5, AS5, G5, F5, GS5, AS5, G5, F5];
    for (iname, rolloff, inharm, tau, vibrato) in instruments {
        for tempo_ms in [90usize, 160, 250] {
            let step = tempo_ms * 8;
            let len = tune.len() * step + 800;
            let mut x = vec![0.0; len];
            for (i, &f) in tune.iter().enumerate() {
                Note {
                    f,
                    dbm0: -12.0,
                    rolloff,
                    inharm,
                    tau,
                    vibrato,
                }
                .add(&mut x, i * step, step, &mut rng);
            }
            for (i, &f) in bass.iter().enumerate() {
                Note {
                    f,
                    dbm0: -12.0,
                    rolloff,
                    inharm,
                    tau,
                    vibrato,
                }
                .add(&mut x, i * 2 * step, 2 * step, &mut rng);
            }
            tally.run(
                "melodies over accompaniment",
                &format!("{iname} {tempo_ms} ms"),
                &to_pcm(&x),
            );
        }
    }
    // Single-voice melodies of pure tones on the notes above: one group at
    // a time, with vibrato and glides.
    let mut x = Vec::new();
    for (i, f) in [F5, FS6, G5, E6, AS5, GS6, GS5, DS6, B5, D6]
        .iter()
        .enumerate()
    {
        let start = x.len();
        x.resize(start + 1600, 0.0);
        Note {
            f: *f,
            dbm0: -10.0,
            rolloff: 20.0,
            inharm: 0.0,
            tau: f64::INFINITY,
            vibrato: (0.01 * (i % 2) as f64, 6.0),
        }
        .add(&mut x, start, 1600, &mut rng);
    }
    tally.run("single-voice pure-tone melody", "ten notes", &to_pcm(&x));
    tally.finish("music (synthesised chords, melodies, decays, vibrato)");
}
