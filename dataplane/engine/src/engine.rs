//! The engine: N workers, their queues, and the routing of commands.
//!
//! [`Engine::start`] spawns one thread per worker; each thread builds its
//! own packet backend (so that io_uring rings and DPDK queues are created on
//! the core that uses them) and runs [`Worker::run`]. The control plane
//! holds the [`Engine`] and calls [`Engine::submit`]; answers and
//! asynchronous reports come back on [`Engine::events`].
//!
//! Routing: a leg's worker is chosen from its session id when it is created,
//! so all legs of a session share a worker; later commands about a leg go to
//! the worker that holds it.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use tandem_packet_io::PacketIo;

use crate::command::{Command, Event, LegId, RequestId, SessionId, SubmitError};
use crate::metrics::{EngineCollector, WorkerShared};
use crate::worker::{QueuedCommand, Worker};

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Worker threads (one per core to use).
    pub workers: usize,
    /// Capacity of each worker's command queue.
    pub command_queue: usize,
    /// Capacity of the shared event queue.
    pub event_queue: usize,
    /// Transcode through the adaptive jitter buffer (with loss
    /// concealment) instead of packet by packet. Smooths a jittery or lossy
    /// input at the cost of the buffer's delay (20–200 ms).
    pub transcode_jitter_buffer: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            workers: 1,
            command_queue: 4096,
            event_queue: 65_536,
            transcode_jitter_buffer: false,
        }
    }
}

/// A running engine. Dropping it stops the workers after their queued
/// commands have run.
pub struct Engine {
    senders: Vec<Sender<QueuedCommand>>,
    events: Receiver<Event>,
    shared: Vec<Arc<WorkerShared>>,
    threads: Vec<JoinHandle<()>>,
    routes: Mutex<HashMap<LegId, usize>>,
    /// Each worker's doorbell address (see `Worker::open_doorbell`).
    doorbells: Vec<Option<SocketAddr>>,
    /// The socket that rings them.
    ringer: Option<UdpSocket>,
    next_request: AtomicU64,
}

impl Engine {
    /// Starts `config.workers` workers. `make_io(i)` runs on worker `i`'s
    /// thread and returns its backend (it may also pin the thread).
    pub fn start<P, F>(config: &EngineConfig, make_io: F) -> std::io::Result<Self>
    where
        P: PacketIo + 'static,
        F: Fn(usize) -> Result<P, String> + Send + Sync + 'static,
    {
        let workers = config.workers.max(1);
        let make_io = Arc::new(make_io);
        let (event_tx, events) = bounded(config.event_queue.max(1));
        let mut senders = Vec::with_capacity(workers);
        let mut shared = Vec::with_capacity(workers);
        let mut threads = Vec::with_capacity(workers);
        let (ready_tx, ready_rx) = bounded::<(usize, Result<Option<SocketAddr>, String>)>(workers);
        for i in 0..workers {
            let (tx, rx) = bounded(config.command_queue.max(1));
            let block = Arc::new(WorkerShared::default());
            let make_io = Arc::clone(&make_io);
            let event_tx = event_tx.clone();
            let ready = ready_tx.clone();
            let publish = Arc::clone(&block);
            let jitter = config.transcode_jitter_buffer;
            let handle = std::thread::Builder::new()
                .name(format!("tandem-media-{i}"))
                .spawn(move || match make_io(i) {
                    Ok(io) => {
                        let mut worker = Worker::new(i, io, rx, event_tx, publish);
                        worker.set_transcode_jitter_buffer(jitter);
                        let doorbell = worker.open_doorbell();
                        let _ = ready.send((i, Ok(doorbell)));
                        worker.run();
                    }
                    Err(e) => {
                        let _ = ready.send((i, Err(format!("worker {i}: {e}"))));
                    }
                })?;
            senders.push(tx);
            shared.push(block);
            threads.push(handle);
        }
        let mut doorbells = vec![None; workers];
        for _ in 0..workers {
            match ready_rx.recv() {
                Ok((i, Ok(bell))) => doorbells[i] = bell,
                Ok((_, Err(e))) => return Err(std::io::Error::other(e)),
                Err(_) => return Err(std::io::Error::other("worker thread died at start")),
            }
        }
        let ringer = if doorbells.iter().any(Option::is_some) {
            let s = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
            s.set_nonblocking(true)?;
            Some(s)
        } else {
            None
        };
        Ok(Self {
            senders,
            events,
            shared,
            threads,
            doorbells,
            ringer,
            routes: Mutex::new(HashMap::new()),
            next_request: AtomicU64::new(1),
        })
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.senders.len()
    }

    /// The worker that owns `session`.
    pub fn worker_of(&self, session: SessionId) -> usize {
        // Fibonacci hashing spreads consecutive ids over workers.
        ((session.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % self.senders.len() as u64) as usize
    }

    /// Queues a command for the worker that owns it and returns the id its
    /// [`Event::Done`] will carry. A full queue refuses the command.
    pub fn submit(&self, command: Command) -> Result<RequestId, SubmitError> {
        let mut routes = self.routes.lock().expect("engine routes poisoned");
        let worker = match &command {
            Command::CreateLeg { session, .. } => self.worker_of(*session),
            other => {
                let leg = other.leg().expect("every command names a leg");
                // Unknown legs go to worker 0, which answers UnknownLeg.
                routes.get(&leg).copied().unwrap_or(0)
            }
        };
        let request = RequestId(self.next_request.fetch_add(1, Ordering::Relaxed));
        let new_leg = match &command {
            Command::CreateLeg { leg, .. } => Some(*leg),
            _ => None,
        };
        let gone = match &command {
            Command::DestroyLeg { leg } | Command::Kick { leg } => Some(*leg),
            _ => None,
        };
        match self.senders[worker].try_send((request, command)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(SubmitError::QueueFull),
            Err(TrySendError::Disconnected(_)) => return Err(SubmitError::WorkerGone),
        }
        // Wake the worker if it sleeps; a lost ring only costs the
        // worker's poll timeout.
        if let (Some(ringer), Some(bell)) = (&self.ringer, self.doorbells[worker]) {
            let _ = ringer.send_to(&[0], bell);
        }
        if let Some(leg) = new_leg {
            routes.insert(leg, worker);
        }
        if let Some(leg) = gone {
            routes.remove(&leg);
        }
        Ok(request)
    }

    /// The event stream of all workers.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// A Prometheus collector over the workers' counters.
    pub fn collector(&self) -> EngineCollector {
        EngineCollector::new(self.shared.clone())
    }

    /// Each worker's last published counters.
    pub fn counters(&self) -> Vec<crate::metrics::LocalCounters> {
        self.shared.iter().map(|s| s.snapshot()).collect()
    }

    /// Stops the workers and waits for them.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.senders.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}
