//! Shared by the DTMF conformance and talk-off tests: f64 signal
//! generation, a seeded noise source, the level convention, both detectors
//! behind one call each, and the side-by-side report.
//!
//! Signals are built here from first principles (sines in f64, rounded
//! once) so that the tests do not depend on Tandem's own tone generator.
// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

use tandem_dsp::dtmf::{Digit, detect};
use tandem_spandsp_oracle::DtmfRx;

/// Sample rate, Hz.
pub(crate) const FS: f64 = 8000.0;

/// Peak of a 0 dBm0 sine on the 16-bit scale (Tandem's convention: G.711
/// puts the A-law overload point at +3.14 dBm0, which on this scale makes a
/// 0 dBm0 sine about 22,905 peak, RMS ≈ 16,196).
pub(crate) const ZERO_DBM0_PEAK: f64 = 22905.0;

/// Q.23 keypad, row-major, and its frequencies (written out here rather
/// than taken from the detector under test).
pub(crate) const KEYS: [char; 16] = [
    '1', '2', '3', 'A', '4', '5', '6', 'B', '7', '8', '9', 'C', '*', '0', '#', 'D',
];
const LOW: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const HIGH: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// Nominal (low, high) frequencies of `key`.
pub(crate) fn freqs(key: char) -> (f64, f64) {
    let i = KEYS.iter().position(|&k| k == key).expect("keypad key");
    (LOW[i / 4], HIGH[i % 4])
}

/// Peak amplitude of a sine at `dbm0`.
pub(crate) fn amp(dbm0: f64) -> f64 {
    ZERO_DBM0_PEAK * 10f64.powf(dbm0 / 20.0)
}

/// splitmix64: small, seeded, good enough for test noise and phases.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    pub(crate) fn gauss(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    pub(crate) fn phase(&mut self) -> f64 {
        2.0 * std::f64::consts::PI * self.uniform()
    }
}

/// A signal under construction, in f64 samples.
#[derive(Default, Clone)]
pub(crate) struct Signal {
    pub(crate) x: Vec<f64>,
}

impl Signal {
    pub(crate) fn new() -> Self {
        Self::default()
    }
    pub(crate) fn len(&self) -> usize {
        self.x.len()
    }
    pub(crate) fn silence_samples(&mut self, n: usize) -> &mut Self {
        self.x.extend(std::iter::repeat_n(0.0, n));
        self
    }
    pub(crate) fn silence(&mut self, ms: f64) -> &mut Self {
        self.silence_samples((ms * 8.0).round() as usize)
    }
    /// Two sines: `(hz, dbm0)` each, for `n` samples, random phases.
    pub(crate) fn pair_samples(
        &mut self,
        lo: (f64, f64),
        hi: (f64, f64),
        n: usize,
        rng: &mut Rng,
    ) -> &mut Self {
        let (p1, p2) = (rng.phase(), rng.phase());
        let (a1, a2) = (amp(lo.1), amp(hi.1));
        let tau = 2.0 * std::f64::consts::PI;
        for i in 0..n {
            let t = i as f64 / FS;
            self.x
                .push(a1 * (tau * lo.0 * t + p1).sin() + a2 * (tau * hi.0 * t + p2).sin());
        }
        self
    }
    /// `key` at its nominal frequencies, `dbm0` per tone.
    pub(crate) fn key(&mut self, key: char, dbm0: f64, ms: f64, rng: &mut Rng) -> &mut Self {
        let (lo, hi) = freqs(key);
        self.pair_samples((lo, dbm0), (hi, dbm0), (ms * 8.0).round() as usize, rng)
    }
    /// Adds white Gaussian noise of RMS `rms` over the whole signal.
    pub(crate) fn add_noise(&mut self, rms: f64, rng: &mut Rng) -> &mut Self {
        for v in &mut self.x {
            *v += rms * rng.gauss();
        }
        self
    }
    /// Rounded and saturated to 16 bits.
    pub(crate) fn pcm(&self) -> Vec<i16> {
        to_pcm(&self.x)
    }
}

pub(crate) fn to_pcm(x: &[f64]) -> Vec<i16> {
    x.iter()
        .map(|&v| v.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// Tandem's digits for a whole signal.
pub(crate) fn tandem(pcm: &[i16]) -> Vec<Digit> {
    detect(pcm)
}

pub(crate) fn tandem_string(pcm: &[i16]) -> String {
    tandem(pcm).iter().map(|d| d.digit).collect()
}

/// spandsp's digits for a whole signal (library defaults), fed in 20 ms
/// frames as a media engine would, then 100 ms of silence to flush.
pub(crate) fn spandsp_string(pcm: &[i16]) -> String {
    let mut rx = DtmfRx::new();
    for frame in pcm.chunks(160) {
        rx.process(frame);
    }
    rx.process(&[0; 800]);
    rx.take_digits()
}

/// One sweep's tally, Tandem and spandsp side by side.
pub(crate) struct Sweep {
    pub(crate) name: String,
    rows: Vec<Row>,
    /// Tandem's failures, for the assertion message.
    pub(crate) failures: Vec<String>,
    /// Cases where spandsp failed, a few for the report.
    spandsp_misses: Vec<String>,
}

struct Row {
    class: String,
    cases: usize,
    tandem: usize,
    spandsp: usize,
}

impl Sweep {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            rows: Vec::new(),
            failures: Vec::new(),
            spandsp_misses: Vec::new(),
        }
    }

    /// Records one case of `class` (e.g. "detect |dev| <= 1.5%").
    /// `asserted` cases count as Tandem failures when `tandem_ok` is false.
    pub(crate) fn record(
        &mut self,
        class: &str,
        what: impl FnOnce() -> String,
        tandem_ok: bool,
        spandsp_ok: bool,
        asserted: bool,
    ) {
        let row = match self.rows.iter().position(|r| r.class == class) {
            Some(i) => &mut self.rows[i],
            None => {
                self.rows.push(Row {
                    class: class.into(),
                    cases: 0,
                    tandem: 0,
                    spandsp: 0,
                });
                self.rows.last_mut().expect("just pushed")
            }
        };
        row.cases += 1;
        row.tandem += usize::from(tandem_ok);
        row.spandsp += usize::from(spandsp_ok);
        if !tandem_ok || !spandsp_ok {
            let w = what();
            if asserted && !tandem_ok {
                self.failures.push(format!("{class}: {w}"));
            }
            if !spandsp_ok && self.spandsp_misses.len() < 8 {
                self.spandsp_misses.push(format!("{class}: {w}"));
            }
        }
    }

    /// Prints the table, writes this sweep's section and rebuilds
    /// `target/dtmf-conformance-report.txt` from every section written so
    /// far, then asserts that Tandem passed every asserted case.
    pub(crate) fn finish(self, report: &str) {
        let mut s = String::new();
        let _ = writeln!(s, "== {} ==", self.name);
        let _ = writeln!(
            s,
            "{:<58} {:>6} {:>14} {:>14}",
            "class", "cases", "tandem pass", "spandsp pass"
        );
        for r in &self.rows {
            let _ = writeln!(
                s,
                "{:<58} {:>6} {:>14} {:>14}",
                r.class, r.cases, r.tandem, r.spandsp
            );
        }
        if !self.spandsp_misses.is_empty() {
            let _ = writeln!(s, "  some spandsp misses:");
            for m in &self.spandsp_misses {
                let _ = writeln!(s, "    {m}");
            }
        }
        if !self.failures.is_empty() {
            let _ = writeln!(s, "  TANDEM FAILURES ({}):", self.failures.len());
            for f in self.failures.iter().take(20) {
                let _ = writeln!(s, "    {f}");
            }
        }
        println!("{s}");
        write_section(report, CONFORMANCE_HEADER, &self.name, &s);
        assert!(
            self.failures.is_empty(),
            "{}: Tandem failed {} case(s), first: {:#?}",
            self.name,
            self.failures.len(),
            &self.failures[..self.failures.len().min(10)]
        );
    }
}

static REPORT_LOCK: Mutex<()> = Mutex::new(());

/// The conformance report's preamble.
pub(crate) const CONFORMANCE_HEADER: &str = "Q.24 conformance: Tandem (tandem_dsp::dtmf, defaults) vs \
spandsp 0.0.6 dtmf_rx (library defaults)\non identical signals; each sweep's classes count \
cases and passes.\nLevel: dBm0 per tone, 0 dBm0 = sine of peak 22,905 (G.711: A-law overload \
at +3.14 dBm0).\nS/N: white Gaussian noise power over 0-4 kHz relative to the total power of \
both tones.\n";

/// Writes `body` as section `name` of report `report` and rebuilds
/// `target/<report>.txt` (`header`, then all sections in name order).
pub(crate) fn write_section(report: &str, header: &str, name: &str, body: &str) {
    let _guard = REPORT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join(report);
    std::fs::create_dir_all(&dir).expect("create report section directory");
    let file: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    std::fs::write(dir.join(format!("{file}.txt")), body).expect("write report section");
    let mut sections: Vec<_> = std::fs::read_dir(&dir)
        .expect("read report sections")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    sections.sort();
    let mut all = format!("{header}\n");
    for p in sections {
        all.push_str(&std::fs::read_to_string(p).unwrap_or_default());
        all.push('\n');
    }
    let target = tmp.parent().expect("target dir above CARGO_TARGET_TMPDIR");
    std::fs::write(target.join(format!("{report}.txt")), all).expect("write combined report");
}
