//! G.711 and G.722: Tandem side by side with spandsp.
//!
//! Criterion groups measure each codec operation for both implementations
//! on the same buffers; a summary table follows (best-of-batches via
//! `tandem_bench::compare`). G.711 runs over 64 Ki samples of synthetic
//! speech-like audio (a 20 ms frame is too short to time a table lookup
//! loop); G.722 runs 20 ms frames (320 samples, 160 octets) through one
//! long-lived codec state, as a media worker would.
//!
//! The resampler has no spandsp twin: its table sets the AVX2 compilation
//! (run where the CPU has AVX2) beside the baseline one, on 20 ms frames.
//!
//! `cargo bench -p tandem-bench --bench codecs` (under a minute: criterion
//! is set to short warm-up and measurement times).

use std::f64::consts::PI;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use tandem_bench::{Comparison, compare, print_table};
use tandem_dsp::resample::{Rate, Resampler};
use tandem_dsp::{g711, g722};
use tandem_spandsp_oracle as spandsp;

/// Samples per G.711 run.
const G711_SAMPLES: usize = 64 * 1024;
/// G.722 frame: 20 ms at 16 kHz.
const FRAME: usize = 320;
/// Frames per G.722 run (2 s of audio).
const FRAMES: usize = 100;

/// Speech-like audio: two formant-ish tones under a syllabic envelope, a
/// little noise, and pauses — the level distribution G.711 sees in service,
/// which decides how much of a lookup table is hot.
fn speechlike(rate: f64, n: usize) -> Vec<i16> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let hiss = ((seed >> 53) as f64 - 1024.0) * 0.5;
            let syllable = (2.0 * PI * 4.0 * t).sin().max(0.0);
            let pause = if (t % 1.5) > 1.2 { 0.02 } else { 1.0 };
            let voice = 6000.0 * (2.0 * PI * 180.0 * t).sin()
                + 2500.0 * (2.0 * PI * 1100.0 * t + (2.0 * PI * 3.0 * t).sin()).sin();
            (pause * (syllable * voice + hiss)).round() as i16
        })
        .collect()
}

struct G711Data {
    pcm: Vec<i16>,
    alaw: Vec<u8>,
    ulaw: Vec<u8>,
}

fn g711_data() -> G711Data {
    let pcm = speechlike(8000.0, G711_SAMPLES);
    let mut alaw = vec![0u8; pcm.len()];
    let mut ulaw = vec![0u8; pcm.len()];
    g711::encode_alaw(&pcm, &mut alaw);
    g711::encode_ulaw(&pcm, &mut ulaw);
    G711Data { pcm, alaw, ulaw }
}

struct G722Data {
    pcm: Vec<i16>,
    code: Vec<u8>,
}

fn g722_data() -> G722Data {
    let pcm = speechlike(16_000.0, FRAME * FRAMES);
    let mut code = vec![0u8; pcm.len() / 2];
    g722::Encoder::new().encode(&pcm, &mut code);
    G722Data { pcm, code }
}

/// Both sides' G.722 states and frame buffers, with one method per
/// operation, so that criterion and the summary run exactly the same code.
struct G722Runners {
    ours_enc: g722::Encoder,
    ours_dec: g722::Decoder,
    theirs_enc: spandsp::G722Encoder,
    theirs_dec: spandsp::G722Decoder,
    code: [u8; FRAME / 2 + 1],
    pcm: [i16; FRAME],
}

impl G722Runners {
    fn new() -> Self {
        Self {
            ours_enc: g722::Encoder::new(),
            ours_dec: g722::Decoder::new(),
            theirs_enc: spandsp::G722Encoder::new(),
            theirs_dec: spandsp::G722Decoder::new(),
            code: [0; FRAME / 2 + 1],
            pcm: [0; FRAME],
        }
    }

    fn encode_ours(&mut self, d: &G722Data) {
        for f in d.pcm.chunks_exact(FRAME) {
            self.ours_enc.encode(black_box(f), &mut self.code);
        }
        black_box(&self.code);
    }

    fn encode_theirs(&mut self, d: &G722Data) {
        for f in d.pcm.chunks_exact(FRAME) {
            self.theirs_enc.encode(black_box(f), &mut self.code);
        }
        black_box(&self.code);
    }

    fn decode_ours(&mut self, d: &G722Data) {
        for f in d.code.chunks_exact(FRAME / 2) {
            self.ours_dec.decode(black_box(f), &mut self.pcm);
        }
        black_box(&self.pcm);
    }

    fn decode_theirs(&mut self, d: &G722Data) {
        for f in d.code.chunks_exact(FRAME / 2) {
            self.theirs_dec.decode(black_box(f), &mut self.pcm);
        }
        black_box(&self.pcm);
    }

    fn both_ours(&mut self, d: &G722Data) {
        for f in d.pcm.chunks_exact(FRAME) {
            let n = self.ours_enc.encode(black_box(f), &mut self.code);
            self.ours_dec.decode(&self.code[..n], &mut self.pcm);
        }
        black_box(&self.pcm);
    }

    fn both_theirs(&mut self, d: &G722Data) {
        for f in d.pcm.chunks_exact(FRAME) {
            let n = self.theirs_enc.encode(black_box(f), &mut self.code);
            self.theirs_dec.decode(&self.code[..n], &mut self.pcm);
        }
        black_box(&self.pcm);
    }
}

fn bench_g711(c: &mut Criterion, d: &G711Data) {
    let mut code = vec![0u8; G711_SAMPLES];
    let mut pcm = vec![0i16; G711_SAMPLES];
    let mut group = c.benchmark_group("g711");
    group.throughput(Throughput::Elements(G711_SAMPLES as u64));
    group.bench_function("alaw_encode/tandem", |b| {
        b.iter(|| g711::encode_alaw(black_box(&d.pcm), &mut code))
    });
    group.bench_function("alaw_encode/spandsp", |b| {
        b.iter(|| spandsp::linear_to_alaw(black_box(&d.pcm), &mut code))
    });
    group.bench_function("alaw_decode/tandem", |b| {
        b.iter(|| g711::decode_alaw(black_box(&d.alaw), &mut pcm))
    });
    group.bench_function("alaw_decode/spandsp", |b| {
        b.iter(|| spandsp::alaw_to_linear(black_box(&d.alaw), &mut pcm))
    });
    group.bench_function("ulaw_encode/tandem", |b| {
        b.iter(|| g711::encode_ulaw(black_box(&d.pcm), &mut code))
    });
    group.bench_function("ulaw_encode/spandsp", |b| {
        b.iter(|| spandsp::linear_to_ulaw(black_box(&d.pcm), &mut code))
    });
    group.bench_function("ulaw_decode/tandem", |b| {
        b.iter(|| g711::decode_ulaw(black_box(&d.ulaw), &mut pcm))
    });
    group.bench_function("ulaw_decode/spandsp", |b| {
        b.iter(|| spandsp::ulaw_to_linear(black_box(&d.ulaw), &mut pcm))
    });
    group.finish();
}

fn bench_g722(c: &mut Criterion, d: &G722Data) {
    let mut r = G722Runners::new();
    let mut group = c.benchmark_group("g722_20ms_frames");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("encode/tandem", |b| b.iter(|| r.encode_ours(d)));
    group.bench_function("encode/spandsp", |b| b.iter(|| r.encode_theirs(d)));
    group.bench_function("decode/tandem", |b| b.iter(|| r.decode_ours(d)));
    group.bench_function("decode/spandsp", |b| b.iter(|| r.decode_theirs(d)));
    group.bench_function("encode_decode/tandem", |b| b.iter(|| r.both_ours(d)));
    group.bench_function("encode_decode/spandsp", |b| b.iter(|| r.both_theirs(d)));
    group.finish();
}

/// The same G.711 row in samples/s and in bytes/s of 16-bit samples.
fn g711_rows(rows: &mut Vec<Comparison>, name: &str, tandem: impl FnMut(), peer: impl FnMut()) {
    let n = G711_SAMPLES as f64;
    let samples = compare(name, "samples/s", n, tandem, peer);
    // Bytes rather than MB so that the table's SI prefixes read naturally
    // ("2.00 G" B/s is 2000 MB/s).
    let bytes = Comparison {
        name: name.to_owned(),
        unit: "B/s of i16",
        tandem: samples.tandem * 2.0,
        peer: samples.peer * 2.0,
    };
    rows.push(samples);
    rows.push(bytes);
}

fn summary(g711d: &G711Data, g722d: &G722Data) {
    let mut code = vec![0u8; G711_SAMPLES];
    let mut code2 = vec![0u8; G711_SAMPLES];
    let mut pcm = vec![0i16; G711_SAMPLES];
    let mut pcm2 = vec![0i16; G711_SAMPLES];
    let d = g711d;
    let mut rows = Vec::new();
    g711_rows(
        &mut rows,
        "G.711 A-law encode",
        || g711::encode_alaw(black_box(&d.pcm), &mut code),
        || spandsp::linear_to_alaw(black_box(&d.pcm), &mut code2),
    );
    g711_rows(
        &mut rows,
        "G.711 A-law decode",
        || g711::decode_alaw(black_box(&d.alaw), &mut pcm),
        || spandsp::alaw_to_linear(black_box(&d.alaw), &mut pcm2),
    );
    g711_rows(
        &mut rows,
        "G.711 μ-law encode",
        || g711::encode_ulaw(black_box(&d.pcm), &mut code),
        || spandsp::linear_to_ulaw(black_box(&d.pcm), &mut code2),
    );
    g711_rows(
        &mut rows,
        "G.711 μ-law decode",
        || g711::decode_ulaw(black_box(&d.ulaw), &mut pcm),
        || spandsp::ulaw_to_linear(black_box(&d.ulaw), &mut pcm2),
    );
    print_table("G.711 (64 Ki samples per run)", "spandsp", &rows);

    let frames = FRAMES as f64;
    // Separate states for each side so the closures do not share borrows.
    let mut a = G722Runners::new();
    let mut b = G722Runners::new();
    let rows = vec![
        compare(
            "G.722 encode",
            "frames/s",
            frames,
            || a.encode_ours(g722d),
            || b.encode_theirs(g722d),
        ),
        compare(
            "G.722 decode",
            "frames/s",
            frames,
            || a.decode_ours(g722d),
            || b.decode_theirs(g722d),
        ),
        compare(
            "G.722 encode+decode",
            "frames/s",
            frames,
            || a.both_ours(g722d),
            || b.both_theirs(g722d),
        ),
    ];
    print_table("G.722 64 kbit/s (20 ms frames)", "spandsp", &rows);
    resample_summary();
}

/// Each conversion the media engine makes, 20 ms frames of speech-like
/// audio: the AVX2 compilation (where the CPU has it) against the
/// baseline twin.
fn resample_summary() {
    let mut rows = Vec::new();
    for (from, to) in [
        (Rate::Hz8000, Rate::Hz16000),
        (Rate::Hz16000, Rate::Hz8000),
        (Rate::Hz8000, Rate::Hz48000),
        (Rate::Hz48000, Rate::Hz8000),
        (Rate::Hz16000, Rate::Hz48000),
        (Rate::Hz48000, Rate::Hz16000),
    ] {
        let n = from.hz() as usize / 50;
        let audio = speechlike(f64::from(from.hz()), n * FRAMES);
        let mut out = vec![0i16; n * 6];
        let mut out2 = out.clone();
        let mut fast = Resampler::new(from, to);
        let mut slow = Resampler::new(from, to).baseline();
        rows.push(compare(
            format!("{} -> {} kHz", from.hz() / 1000, to.hz() / 1000),
            "frames/s",
            FRAMES as f64,
            || {
                for f in audio.chunks_exact(n) {
                    fast.process(black_box(f), &mut out);
                }
            },
            || {
                for f in audio.chunks_exact(n) {
                    slow.process(black_box(f), &mut out2);
                }
            },
        ));
    }
    print_table(
        "Resampler (20 ms frames; Tandem = AVX2 where present)",
        "baseline",
        &rows,
    );
}

fn main() {
    let g711d = g711_data();
    let g722d = g722_data();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
        .configure_from_args();
    bench_g711(&mut c, &g711d);
    bench_g722(&mut c, &g722d);
    c.final_summary();
    // `cargo test --benches` runs each benchmark once to check it works;
    // only a real `cargo bench` (which passes `--bench`) gets the tables.
    if std::env::args().any(|a| a == "--bench") {
        summary(&g711d, &g722d);
    }
}
