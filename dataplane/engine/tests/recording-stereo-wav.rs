//! Recording behaviours: sample-exact stereo files, G.711 formats, a slow
//! disk that overflows the queue without blocking the worker, a failing
//! disk, files on disk.

use std::io::{self, Cursor, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tandem_dataplane::frame::{AudioFrame, frame_len};
use tandem_dataplane::recorder::{Recorder, RecorderConfig, RecorderError};
use tandem_dsp::g711;
use tandem_dsp::resample::Rate;
use tandem_dsp::wav::{Format, Wav};

/// A `Write + Seek` into shared memory, optionally sleeping on each write
/// (a slow disk) or failing after some bytes (a full disk).
#[derive(Clone)]
struct TestDisk {
    buf: Arc<Mutex<Cursor<Vec<u8>>>>,
    delay: Duration,
    fail_after: Option<u64>,
}

impl TestDisk {
    fn new(delay: Duration) -> Self {
        Self {
            buf: Arc::new(Mutex::new(Cursor::new(Vec::new()))),
            delay,
            fail_after: None,
        }
    }
    fn bytes(&self) -> Vec<u8> {
        self.buf.lock().unwrap().get_ref().clone()
    }
}

impl Write for TestDisk {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        std::thread::sleep(self.delay);
        let mut c = self.buf.lock().unwrap();
        if let Some(limit) = self.fail_after
            && c.position() + data.len() as u64 > limit
        {
            return Err(io::Error::other("disk full"));
        }
        c.write(data)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for TestDisk {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.buf.lock().unwrap().seek(pos)
    }
}

fn leg_a(rate: Rate, k: usize) -> AudioFrame {
    let n = frame_len(rate);
    let v: Vec<i16> = (0..n)
        .map(|i| ((k * n + i) as i32 * 37 % 60000 - 30000) as i16)
        .collect();
    AudioFrame::from_samples(rate, &v)
}

fn leg_b(rate: Rate, k: usize) -> AudioFrame {
    let n = frame_len(rate);
    let v: Vec<i16> = (0..n)
        .map(|i| (12000.0 * ((k * n + i) as f64 * 0.05).sin()) as i16)
        .collect();
    AudioFrame::from_samples(rate, &v)
}

#[test]
fn recording_of_known_input_matches_sample_by_sample() {
    for rate in [Rate::Hz8000, Rate::Hz16000] {
        let disk = TestDisk::new(Duration::ZERO);
        // The pushes come in one burst, far faster than real time, so the
        // queue holds all of them: no frame may overflow here.
        let config = RecorderConfig {
            queue_frames: 160,
            ..RecorderConfig::new(rate)
        };
        let mut rec = Recorder::with_writer(disk.clone(), config).unwrap();
        let ticks = 150;
        let mut expect = Vec::new();
        let n = frame_len(rate);
        for k in 0..ticks {
            // Leg B is missing on every 7th tick, leg A on every 11th.
            let a = (k % 11 != 0).then(|| leg_a(rate, k));
            let b = (k % 7 != 0).then(|| leg_b(rate, k));
            assert!(rec.push(a.as_ref(), b.as_ref()));
            for i in 0..n {
                expect.push(a.as_ref().map_or(0, |f| f.samples()[i]));
                expect.push(b.as_ref().map_or(0, |f| f.samples()[i]));
            }
        }
        assert_eq!(rec.overflow_frames(), 0);
        let summary = rec.close().join().unwrap();
        assert_eq!(summary.frames, ticks as u64);
        assert_eq!(summary.gap_frames, 0);
        let file = disk.bytes();
        let wav = Wav::parse(&file).unwrap();
        assert_eq!(wav.spec().channels, 2);
        assert_eq!(wav.spec().sample_rate, rate.hz());
        assert_eq!(wav.spec().format, Format::Pcm16);
        assert_eq!(wav.frames(), ticks * n);
        assert_eq!(wav.decode(), expect);
        // The header's sizes were patched: RIFF size = file − 8.
        let riff = u32::from_le_bytes(file[4..8].try_into().unwrap());
        assert_eq!(riff as usize, file.len() - 8);
    }
}

#[test]
fn g711_recordings_decode_to_the_companded_input() {
    for format in [Format::Alaw, Format::Ulaw] {
        let disk = TestDisk::new(Duration::ZERO);
        let config = RecorderConfig {
            format,
            ..RecorderConfig::new(Rate::Hz8000)
        };
        let mut rec = Recorder::with_writer(disk.clone(), config).unwrap();
        let mut expect = Vec::new();
        for k in 0..40 {
            let (a, b) = (leg_a(Rate::Hz8000, k), leg_b(Rate::Hz8000, k));
            rec.push(Some(&a), Some(&b));
            for (&x, &y) in a.samples().iter().zip(b.samples()) {
                let q = |s: i16| match format {
                    Format::Alaw => g711::alaw_decode(g711::alaw_encode(s)),
                    _ => g711::ulaw_decode(g711::ulaw_encode(s)),
                };
                expect.push(q(x));
                expect.push(q(y));
            }
        }
        rec.close().join().unwrap();
        let file = disk.bytes();
        let wav = Wav::parse(&file).unwrap();
        assert_eq!(wav.spec().format, format);
        assert_eq!(wav.spec().channels, 2);
        assert_eq!(wav.decode(), expect);
    }
}

#[test]
fn slow_disk_never_blocks_the_worker_and_overflow_is_counted() {
    // 5 ms per write of one frame pair (no buffering): at most 200 frames/s
    // against a worker pushing as fast as it can.
    let disk = TestDisk::new(Duration::from_millis(5));
    let config = RecorderConfig {
        queue_frames: 8,
        write_buffer: 0,
        ..RecorderConfig::new(Rate::Hz8000)
    };
    let mut rec = Recorder::with_writer(disk.clone(), config).unwrap();
    let ticks = 300;
    let mut worst = Duration::ZERO;
    let mut accepted = 0;
    for k in 0..ticks {
        let (a, b) = (leg_a(Rate::Hz8000, k), leg_b(Rate::Hz8000, k));
        let t = Instant::now();
        accepted += usize::from(rec.push(Some(&a), Some(&b)));
        worst = worst.max(t.elapsed());
    }
    let overflow = rec.overflow_frames();
    println!("accepted {accepted}, overflow {overflow}, worst push {worst:?}");
    assert!(overflow > 0, "the slow disk must overflow");
    assert_eq!(overflow + accepted as u64, ticks as u64);
    assert!(
        worst < Duration::from_millis(2),
        "push blocked for {worst:?}"
    );
    let summary = rec.close().join().unwrap();
    // Overflowed frames were written as silence: the file spans the call.
    assert_eq!(summary.frames, ticks as u64);
    assert_eq!(summary.gap_frames, overflow);
    let file = disk.bytes();
    let wav = Wav::parse(&file).unwrap();
    assert_eq!(wav.frames(), ticks * 160);
    // Both channels still aligned: every accepted frame sits at its tick.
    let pcm = wav.decode();
    for k in 0..ticks {
        let at = k * 160 * 2;
        let a0 = pcm[at];
        let b0 = pcm[at + 1];
        let silent = a0 == 0 && b0 == 0 && pcm[at + 2] == 0;
        if !silent {
            assert_eq!(a0, leg_a(Rate::Hz8000, k).samples()[0], "tick {k}");
            assert_eq!(b0, leg_b(Rate::Hz8000, k).samples()[0], "tick {k}");
        }
    }
}

#[test]
fn failing_disk_reports_the_error_and_the_worker_carries_on() {
    let mut disk = TestDisk::new(Duration::ZERO);
    disk.fail_after = Some(10_000);
    let config = RecorderConfig {
        write_buffer: 0,
        ..RecorderConfig::new(Rate::Hz8000)
    };
    let mut rec = Recorder::with_writer(disk, config).unwrap();
    for k in 0..100 {
        rec.push(Some(&leg_a(Rate::Hz8000, k)), None);
        std::thread::sleep(Duration::from_micros(200));
    }
    let err = rec.close().join().unwrap_err();
    assert!(matches!(err, RecorderError::Io { .. }));
    assert!(err.to_string().contains("disk full"), "{err}");
}

#[test]
fn recording_to_a_file_on_disk() {
    let dir = std::env::temp_dir().join(format!("tandem-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("call.wav");
    let mut rec = Recorder::create(&path, RecorderConfig::new(Rate::Hz8000)).unwrap();
    for k in 0..50 {
        rec.push(Some(&leg_a(Rate::Hz8000, k)), Some(&leg_b(Rate::Hz8000, k)));
    }
    // A frame at the wrong rate is silence, counted.
    rec.push(Some(&AudioFrame::silence(Rate::Hz16000)), None);
    assert_eq!(rec.counters().rate_mismatches, 1);
    rec.close().join().unwrap();
    let file = std::fs::read(&path).unwrap();
    let wav = Wav::parse(&file).unwrap();
    assert_eq!(wav.frames(), 51 * 160);
    std::fs::remove_dir_all(&dir).unwrap();

    // A file that cannot be created names itself.
    let bad = dir.join("no/such/dir/call.wav");
    let err = Recorder::create(&bad, RecorderConfig::new(Rate::Hz8000)).unwrap_err();
    assert!(err.to_string().contains("no/such/dir/call.wav"), "{err}");
}

#[test]
fn dropping_the_recorder_still_finishes_the_file() {
    let disk = TestDisk::new(Duration::ZERO);
    let mut rec = Recorder::with_writer(disk.clone(), RecorderConfig::new(Rate::Hz8000)).unwrap();
    for k in 0..10 {
        rec.push(Some(&leg_a(Rate::Hz8000, k)), Some(&leg_b(Rate::Hz8000, k)));
    }
    drop(rec);
    // The writer finishes on its own; wait for it.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let file = disk.bytes();
        if let Ok(wav) = Wav::parse(&file)
            && wav.frames() == 1600
        {
            break;
        }
        assert!(Instant::now() < deadline, "file never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_disk_that_keeps_up_loses_nothing_despite_stalls() {
    // Writes take 1 ms each, with a 60 ms stall every 50 writes; the worker
    // pushes one pair every 2 ms (10x real time). The 100-frame queue rides
    // out the stalls: no overflow, every sample in place.
    #[derive(Clone)]
    struct Stalling(TestDisk, Arc<Mutex<u32>>);
    impl Write for Stalling {
        fn write(&mut self, d: &[u8]) -> io::Result<usize> {
            let mut c = self.1.lock().unwrap();
            *c += 1;
            if *c % 50 == 0 {
                std::thread::sleep(Duration::from_millis(60));
            }
            self.0.write(d)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Seek for Stalling {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.0.seek(pos)
        }
    }
    let disk = TestDisk::new(Duration::from_millis(1));
    let config = RecorderConfig {
        write_buffer: 0,
        ..RecorderConfig::new(Rate::Hz8000)
    };
    let mut rec = Recorder::with_writer(Stalling(disk.clone(), Arc::default()), config).unwrap();
    let ticks = 200;
    for k in 0..ticks {
        assert!(rec.push(Some(&leg_a(Rate::Hz8000, k)), Some(&leg_b(Rate::Hz8000, k))));
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(rec.overflow_frames(), 0);
    let summary = rec.close().join().unwrap();
    assert_eq!(summary.gap_frames, 0);
    let wav = Wav::parse(&disk.bytes()).unwrap().decode();
    for k in 0..ticks {
        let a = leg_a(Rate::Hz8000, k);
        let b = leg_b(Rate::Hz8000, k);
        for i in 0..160 {
            assert_eq!(wav[(k * 160 + i) * 2], a.samples()[i]);
            assert_eq!(wav[(k * 160 + i) * 2 + 1], b.samples()[i]);
        }
    }
}
