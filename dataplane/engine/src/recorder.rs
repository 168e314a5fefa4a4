//! Call recording to a stereo WAV file, one leg per channel, written off
//! the hot path.
//!
//! # What
//!
//! A [`Recorder`] takes, every 20 ms, one [`AudioFrame`] of each leg of a
//! call ([`Recorder::push`]) and a writer thread turns them into a
//! two-channel RIFF/WAVE file (leg A left, leg B right): 16-bit linear PCM
//! by default, or G.711 A-law / μ-law. The container is written with
//! [`tandem_dsp::wav::header`] (Microsoft RIFF specification, 1991, and the
//! 1994 update's `fact` chunk for G.711).
//!
//! # Design
//!
//! * **The worker never blocks.** Frame pairs travel through a bounded
//!   `crossbeam-channel` whose slots are allocated when the recorder is
//!   created; [`Recorder::push`] copies the pair into a slot with
//!   `try_send`, which never waits and never allocates. If the queue is
//!   full (the disk is slower than real time) the pair is **counted as
//!   overflow** ([`Recorder::overflow_frames`]), never dropped silently,
//!   and the recording stays on the call's timeline: the missed frames are
//!   sent as a *gap* message as soon as there is room again, and the writer
//!   writes them as silence. So the file is always as long as the call and
//!   both channels stay aligned; in normal conditions no sample is lost
//!   (the default queue holds 2 s).
//! * **Alignment.** Each message holds both legs' frames for the same tick;
//!   a leg with no frame this tick (`None`, or a frame at the wrong rate)
//!   is written as silence.
//! * **Writer thread.** One thread per recording, spawned by
//!   [`Recorder::create`]/[`Recorder::with_writer`] (control path). It
//!   writes the header first with a provisional length (the largest the
//!   format allows, so a reader of an unfinished file reads to its end),
//!   interleaves and encodes each pair into a reused buffer, writes through
//!   a `BufWriter`, and when the recorder is closed (or dropped) seeks back
//!   and patches the RIFF and `data` sizes (and the `fact` sample count for
//!   G.711). A write error stops the writing but the thread keeps draining
//!   the queue so that the worker's view does not change; the error is
//!   reported by [`RecorderJoin::join`].
//! * **Limits.** A WAV file holds at most 4 GiB of data (about 37 hours of
//!   8 kHz stereo PCM); beyond that frames are counted as
//!   [`RecordingSummary::truncated_frames`] and not written.
//!
//! # Counters
//!
//! | counter | where | suggested metric | meaning |
//! |---|---|---|---|
//! | `overflow_frames` | [`Recorder::overflow_frames`] | `tandem_recorder_overflow_frames_total` | frame pairs refused because the queue was full (written later as silence) |
//! | `rate_mismatches` | [`Recorder::counters`] | `tandem_recorder_rate_mismatch_frames_total` | frames at another rate than the recording's, written as silence |
//! | `pushed_frames` | [`Recorder::counters`] | `tandem_recorder_pushed_frames_total` | frame pairs pushed, accepted or not |
//! | `frames_written` | [`Recorder::frames_written`] | `tandem_recorder_written_frames_total` | frame pairs (including gap frames) the writer has written |
//!
//! # Driving it
//!
//! ```no_run
//! use tandem_dataplane::frame::AudioFrame;
//! use tandem_dataplane::recorder::{Recorder, RecorderConfig};
//! use tandem_dsp::resample::Rate;
//!
//! let mut rec = Recorder::create("/var/spool/tandem/call-42.wav", RecorderConfig::new(Rate::Hz8000))?;
//! // Every 20 ms on the worker:
//! let (a, b) = (AudioFrame::silence(Rate::Hz8000), AudioFrame::silence(Rate::Hz8000));
//! rec.push(Some(&a), Some(&b));
//! // Export rec.overflow_frames() as a metric. At hang-up:
//! let summary = rec.close().join()?; // join on the control plane, not the worker
//! # Ok::<(), tandem_dataplane::recorder::RecorderError>(())
//! ```
#![warn(missing_docs)]

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tandem_dsp::g711;
use tandem_dsp::resample::Rate;
use tandem_dsp::wav::{self, Format, Spec, WavError};

use crate::frame::{AudioFrame, MAX_FRAME_SAMPLES, frame_len};

/// Settings of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderConfig {
    /// Sample encoding (default 16-bit PCM).
    pub format: Format,
    /// Rate of the legs' frames and of the file.
    pub rate: Rate,
    /// Frame pairs the queue holds (default 100: 2 s of slack for the
    /// disk). Each slot is about 3.9 KB, allocated at creation.
    pub queue_frames: usize,
    /// Bytes of the writer's `BufWriter` (default 64 KiB).
    pub write_buffer: usize,
}

impl RecorderConfig {
    /// 16-bit PCM at `rate`, default queue and buffer.
    pub fn new(rate: Rate) -> Self {
        Self {
            format: Format::Pcm16,
            rate,
            queue_frames: 100,
            write_buffer: 64 * 1024,
        }
    }
}

/// Why a recording could not be started or finished.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecorderError {
    /// Creating, writing or finalising the file failed.
    Io {
        /// The file, when the recorder was created from a path.
        path: Option<PathBuf>,
        /// The I/O error.
        source: io::Error,
    },
    /// The header could not be rendered (a bug: the spec is built here).
    Wav(WavError),
    /// The writer thread could not be started or panicked.
    Writer(String),
}

impl core::fmt::Display for RecorderError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RecorderError::Io {
                path: Some(p),
                source,
            } => write!(f, "recording {}: {source}", p.display()),
            RecorderError::Io { path: None, source } => write!(f, "recording: {source}"),
            RecorderError::Wav(e) => write!(f, "recording header: {e:?}"),
            RecorderError::Writer(e) => write!(f, "recording writer thread: {e}"),
        }
    }
}

impl std::error::Error for RecorderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RecorderError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The worker-side counters of a recording.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frame pairs pushed, accepted or not.
    pub pushed_frames: u64,
    /// Frame pairs refused because the queue was full.
    pub overflow_frames: u64,
    /// Frames at the wrong rate, written as silence.
    pub rate_mismatches: u64,
}

/// What a finished recording holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordingSummary {
    /// Frame pairs written (including gap frames).
    pub frames: u64,
    /// Of those, frames written as silence for overflow gaps.
    pub gap_frames: u64,
    /// Frames not written because the file reached the WAV size limit.
    pub truncated_frames: u64,
    /// Bytes in the `data` chunk.
    pub data_bytes: u64,
}

/// One tick of both legs, or a gap.
enum Msg {
    Frames(Box<Pair>),
    Gap(u64),
}

/// Both legs' samples for one tick.
struct Pair {
    a: [i16; MAX_FRAME_SAMPLES],
    b: [i16; MAX_FRAME_SAMPLES],
}

/// State shared by the worker side and the writer thread.
#[derive(Debug, Default)]
struct Shared {
    frames_written: AtomicU64,
    /// Gap frames still owed when the recorder was closed.
    final_gap: AtomicU64,
}

/// The worker's end of a recording (see the module docs).
pub struct Recorder {
    tx: Option<Sender<Msg>>,
    /// Spare boxes: the writer sends them back, so steady state allocates
    /// nothing.
    spare: Receiver<Box<Pair>>,
    /// A box taken from the pool whose send failed, kept for the next push.
    held: Option<Box<Pair>>,
    rate: Rate,
    pending_gap: u64,
    counters: Counters,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<RecordingSummary, RecorderError>>>,
}

impl core::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Recorder")
            .field("rate", &self.rate.hz())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Creates (truncates) `path` and starts recording into it. Control
    /// path: opens the file, allocates the queue, spawns the writer.
    ///
    /// # Errors
    /// [`RecorderError::Io`] naming the file if it cannot be created.
    pub fn create(path: impl AsRef<Path>, config: RecorderConfig) -> Result<Self, RecorderError> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|source| RecorderError::Io {
            path: Some(path.to_path_buf()),
            source,
        })?;
        Self::start(file, config, Some(path.to_path_buf()))
    }

    /// Starts recording into any seekable writer (tests inject slow or
    /// failing ones).
    ///
    /// # Errors
    /// [`RecorderError::Writer`] if the thread cannot be spawned.
    pub fn with_writer<W>(writer: W, config: RecorderConfig) -> Result<Self, RecorderError>
    where
        W: Write + Seek + Send + 'static,
    {
        Self::start(writer, config, None)
    }

    fn start<W>(
        writer: W,
        config: RecorderConfig,
        path: Option<PathBuf>,
    ) -> Result<Self, RecorderError>
    where
        W: Write + Seek + Send + 'static,
    {
        let cap = config.queue_frames.max(1);
        let (tx, rx) = crossbeam_channel::bounded(cap);
        // Every box the queue can hold, plus one in the writer's hands and
        // one being filled, exists from the start and circulates.
        let (spare_tx, spare_rx) = crossbeam_channel::bounded(cap + 2);
        for _ in 0..cap + 2 {
            let _ = spare_tx.try_send(Box::new(Pair {
                a: [0; MAX_FRAME_SAMPLES],
                b: [0; MAX_FRAME_SAMPLES],
            }));
        }
        let shared = Arc::new(Shared::default());
        let spec = Spec {
            format: config.format,
            channels: 2,
            sample_rate: config.rate.hz(),
        };
        let thread_shared = Arc::clone(&shared);
        let n = frame_len(config.rate);
        let buffer = config.write_buffer;
        let thread = std::thread::Builder::new()
            .name("tandem-recorder".into())
            .spawn(move || {
                write_loop(writer, spec, n, buffer, &rx, &spare_tx, &thread_shared).map_err(|e| {
                    match e {
                        RecorderError::Io { path: None, source } => {
                            RecorderError::Io { path, source }
                        }
                        other => other,
                    }
                })
            })
            .map_err(|e| RecorderError::Writer(e.to_string()))?;
        Ok(Recorder {
            tx: Some(tx),
            spare: spare_rx,
            held: None,
            rate: config.rate,
            pending_gap: 0,
            counters: Counters::default(),
            shared,
            thread: Some(thread),
        })
    }

    /// Records one 20 ms tick: leg A's and leg B's frames (`None`, or a
    /// frame at another rate, is silence). Never blocks, never allocates:
    /// returns `false` if the pair could not be queued, in which case it is
    /// counted in [`overflow_frames`](Self::overflow_frames) and will be
    /// written as silence.
    pub fn push(&mut self, a: Option<&AudioFrame>, b: Option<&AudioFrame>) -> bool {
        self.counters.pushed_frames += 1;
        let Some(tx) = &self.tx else {
            self.counters.overflow_frames += 1;
            return false;
        };
        if self.pending_gap > 0 {
            match tx.try_send(Msg::Gap(self.pending_gap)) {
                Ok(()) => self.pending_gap = 0,
                Err(_) => {
                    self.pending_gap += 1;
                    self.counters.overflow_frames += 1;
                    return false;
                }
            }
        }
        let Some(mut pair) = self.held.take().or_else(|| self.spare.try_recv().ok()) else {
            // Every box is in the queue: it is full.
            self.pending_gap += 1;
            self.counters.overflow_frames += 1;
            return false;
        };
        let n = frame_len(self.rate);
        for (dst, src) in [(&mut pair.a, a), (&mut pair.b, b)] {
            match src {
                Some(f) if f.rate() == self.rate => dst[..n].copy_from_slice(f.samples()),
                Some(_) => {
                    self.counters.rate_mismatches += 1;
                    dst[..n].fill(0);
                }
                None => dst[..n].fill(0),
            }
        }
        match tx.try_send(Msg::Frames(pair)) {
            Ok(()) => true,
            Err(TrySendError::Full(msg) | TrySendError::Disconnected(msg)) => {
                if let Msg::Frames(pair) = msg {
                    self.held = Some(pair);
                }
                self.pending_gap += 1;
                self.counters.overflow_frames += 1;
                false
            }
        }
    }

    /// Frame pairs refused because the queue was full (the metric the worker
    /// exports).
    pub fn overflow_frames(&self) -> u64 {
        self.counters.overflow_frames
    }

    /// The worker-side counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Frame pairs the writer has written so far.
    pub fn frames_written(&self) -> u64 {
        self.shared.frames_written.load(Ordering::Relaxed)
    }

    /// Ends the recording without blocking: the writer drains the queue,
    /// writes any owed gap, patches the header and exits. Join the returned
    /// handle off the worker to learn the outcome.
    pub fn close(mut self) -> RecorderJoin {
        self.shared
            .final_gap
            .store(self.pending_gap, Ordering::Release);
        self.tx = None;
        RecorderJoin {
            thread: self.thread.take(),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Dropping the sender lets the writer finish the file on its own.
        self.shared
            .final_gap
            .store(self.pending_gap, Ordering::Release);
        self.tx = None;
    }
}

/// The writer thread of a closed recording.
#[derive(Debug)]
pub struct RecorderJoin {
    thread: Option<JoinHandle<Result<RecordingSummary, RecorderError>>>,
}

impl RecorderJoin {
    /// Waits for the writer to finish the file. Blocks: call it on the
    /// control plane.
    ///
    /// # Errors
    /// The writer's I/O error (naming the file), or
    /// [`RecorderError::Writer`] if it panicked.
    pub fn join(mut self) -> Result<RecordingSummary, RecorderError> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| RecorderError::Writer("panicked".into()))?,
            None => Err(RecorderError::Writer("already joined".into())),
        }
    }
}

/// Largest data length the file may declare (RIFF sizes are 32-bit).
fn max_data(format: Format) -> u64 {
    u64::from(u32::MAX) - wav::header_len(format) as u64
}

fn io_err(source: io::Error) -> RecorderError {
    RecorderError::Io { path: None, source }
}

fn write_loop<W: Write + Seek>(
    writer: W,
    spec: Spec,
    n: usize,
    buffer: usize,
    rx: &Receiver<Msg>,
    spare: &Sender<Box<Pair>>,
    shared: &Shared,
) -> Result<RecordingSummary, RecorderError> {
    let mut w = BufWriter::with_capacity(buffer, writer);
    let block = spec.block_align();
    let limit = max_data(spec.format) / block as u64 * block as u64;
    let mut head = [0u8; 64];
    let hl = wav::header(spec, limit as u32, &mut head).map_err(RecorderError::Wav)?;
    let mut failed: Option<io::Error> = w.write_all(&head[..hl]).err();
    let mut summary = RecordingSummary::default();
    let mut bytes = vec![0u8; n * block];
    let silence = Pair {
        a: [0; MAX_FRAME_SAMPLES],
        b: [0; MAX_FRAME_SAMPLES],
    };
    let mut write_pair = |pair: &Pair, gap: bool, failed: &mut Option<io::Error>| {
        if summary.data_bytes + bytes.len() as u64 > limit {
            summary.truncated_frames += 1;
            return;
        }
        interleave(spec.format, &pair.a[..n], &pair.b[..n], &mut bytes);
        if failed.is_none()
            && let Err(e) = w.write_all(&bytes)
        {
            *failed = Some(e);
        }
        summary.data_bytes += bytes.len() as u64;
        summary.frames += 1;
        if gap {
            summary.gap_frames += 1;
        }
        shared.frames_written.fetch_add(1, Ordering::Relaxed);
    };
    for msg in rx.iter() {
        match msg {
            Msg::Frames(pair) => {
                write_pair(&pair, false, &mut failed);
                let _ = spare.try_send(pair);
            }
            Msg::Gap(k) => {
                for _ in 0..k {
                    write_pair(&silence, true, &mut failed);
                }
            }
        }
    }
    for _ in 0..shared.final_gap.load(Ordering::Acquire) {
        write_pair(&silence, true, &mut failed);
    }
    if let Some(e) = failed {
        return Err(io_err(e));
    }
    // Patch the sizes now that they are known.
    let data_len = summary.data_bytes as u32;
    let hl = wav::header(spec, data_len, &mut head).map_err(RecorderError::Wav)?;
    if data_len % 2 == 1 {
        w.write_all(&[0]).map_err(io_err)?;
    }
    w.seek(SeekFrom::Start(0)).map_err(io_err)?;
    w.write_all(&head[..hl]).map_err(io_err)?;
    w.flush().map_err(io_err)?;
    Ok(summary)
}

/// Interleaves two channels (A left, B right) in `format` into `out`.
fn interleave(format: Format, a: &[i16], b: &[i16], out: &mut [u8]) {
    match format {
        Format::Pcm16 => {
            for ((o, &x), &y) in out.chunks_exact_mut(4).zip(a).zip(b) {
                o[..2].copy_from_slice(&x.to_le_bytes());
                o[2..].copy_from_slice(&y.to_le_bytes());
            }
        }
        Format::Alaw => {
            for ((o, &x), &y) in out.chunks_exact_mut(2).zip(a).zip(b) {
                o[0] = g711::alaw_encode(x);
                o[1] = g711::alaw_encode(y);
            }
        }
        Format::Ulaw => {
            for ((o, &x), &y) in out.chunks_exact_mut(2).zip(a).zip(b) {
                o[0] = g711::ulaw_encode(x);
                o[1] = g711::ulaw_encode(y);
            }
        }
    }
}
