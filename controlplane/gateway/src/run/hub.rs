//! The media engine shared by the control fronts of `tandem run`.
//!
//! The SIP B2BUA and the rtpengine-compatible ng port both drive one
//! [`Engine`]. They share its leg and session numbering and its RTP port
//! range here, and its single event queue: whichever front reads an event
//! that belongs to the other leaves it in [`MediaHub::defer`] for the other
//! to collect, so neither steals the other's answers.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use tandem_dataplane::command::{Command, Event, LegId, RequestId, SessionId, SubmitError};
use tandem_dataplane::engine::Engine;

/// Hands out RTP ports from the configured range, even ports only (the odd
/// one above is RTCP's by RFC 3550 §11 convention).
#[derive(Debug)]
pub(crate) struct PortPool {
    lo: u16,
    hi: u16,
    next: u16,
    used: HashSet<u16>,
}

impl PortPool {
    pub(crate) fn new(lo: u16, hi: u16) -> Self {
        let lo = lo + (lo & 1);
        Self {
            lo,
            hi,
            next: lo,
            used: HashSet::new(),
        }
    }

    /// A free even port, or `None` when the range is exhausted.
    pub(crate) fn take(&mut self) -> Option<u16> {
        if self.hi < self.lo {
            return None;
        }
        let span = usize::from((self.hi - self.lo) / 2 + 1);
        for _ in 0..span {
            let p = self.next;
            self.next = if p.saturating_add(2) > self.hi {
                self.lo
            } else {
                p + 2
            };
            if self.used.insert(p) {
                return Some(p);
            }
        }
        None
    }

    pub(crate) fn give_back(&mut self, p: u16) {
        self.used.remove(&p);
    }
}

/// The engine, its numbering, its ports, and events set aside for the
/// front that owns them.
pub(crate) struct MediaHub {
    engine: Engine,
    /// Address the legs bind and advertise.
    pub(crate) rtp_address: IpAddr,
    /// Seconds without RTP before a leg reports a timeout.
    pub(crate) rtp_timeout_secs: u32,
    ports: RefCell<PortPool>,
    next_id: Cell<u64>,
    /// Which front created each leg, and whether it is being destroyed.
    owners: RefCell<HashMap<LegId, (Front, bool)>>,
    /// Which front sent each command still unanswered.
    requests: RefCell<HashMap<RequestId, Front>>,
    /// Events set aside for each front, indexed by [`Front`].
    deferred: [RefCell<VecDeque<Event>>; 2],
}

/// The two control fronts sharing the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Front {
    /// The rtpengine-compatible ng port.
    Ng = 0,
    /// The SIP B2BUA.
    Sip = 1,
}

impl MediaHub {
    pub(crate) fn new(
        engine: Engine,
        rtp_address: IpAddr,
        rtp_ports: (u16, u16),
        rtp_timeout_secs: u32,
    ) -> Self {
        Self {
            engine,
            rtp_address,
            rtp_timeout_secs,
            ports: RefCell::new(PortPool::new(rtp_ports.0, rtp_ports.1)),
            next_id: Cell::new(1),
            owners: RefCell::new(HashMap::new()),
            requests: RefCell::new(HashMap::new()),
            deferred: [RefCell::new(VecDeque::new()), RefCell::new(VecDeque::new())],
        }
    }

    /// Queues a command for `front`, remembering who owns its answer and
    /// the leg it creates.
    pub(crate) fn submit(&self, front: Front, command: Command) -> Result<RequestId, SubmitError> {
        match &command {
            Command::CreateLeg { leg, .. } => {
                self.owners.borrow_mut().insert(*leg, (front, false));
            }
            Command::DestroyLeg { leg } | Command::Kick { leg } => {
                // The final `Stats` comes after this; forget the owner then.
                if let Some(o) = self.owners.borrow_mut().get_mut(leg) {
                    o.1 = true;
                }
            }
            _ => {}
        }
        let request = self.engine.submit(command)?;
        self.requests.borrow_mut().insert(request, front);
        Ok(request)
    }

    /// Which front an engine event belongs to.
    pub(crate) fn route_event(&self, event: &Event) -> Front {
        let leg = match event {
            Event::Done { request, .. } => {
                return self
                    .requests
                    .borrow_mut()
                    .remove(request)
                    .unwrap_or(Front::Ng);
            }
            Event::Dtmf { leg, .. }
            | Event::RtpTimeout { leg }
            | Event::SsrcChange { leg, .. }
            | Event::PromptDone { leg, .. }
            | Event::RecordingStopped { leg, .. } => *leg,
            Event::Stats { leg, .. } => {
                let mut owners = self.owners.borrow_mut();
                return match owners.get(leg).copied() {
                    Some((front, true)) => {
                        owners.remove(leg);
                        front
                    }
                    Some((front, false)) => front,
                    None => Front::Ng,
                };
            }
            // Conferences are the ng front's for now.
            _ => return Front::Ng,
        };
        self.owners
            .borrow()
            .get(&leg)
            .map_or(Front::Ng, |&(front, _)| front)
    }

    /// A fresh leg number (unique across fronts).
    pub(crate) fn new_leg(&self) -> LegId {
        LegId(self.next())
    }

    /// A fresh session number (unique across fronts).
    pub(crate) fn new_session(&self) -> SessionId {
        SessionId(self.next())
    }

    fn next(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    pub(crate) fn take_port(&self) -> Option<u16> {
        self.ports.borrow_mut().take()
    }

    pub(crate) fn give_back_port(&self, port: u16) {
        self.ports.borrow_mut().give_back(port);
    }

    /// Keeps an event one front read for the front that owns it.
    pub(crate) fn defer(&self, to: Front, event: Event) {
        self.deferred[to as usize].borrow_mut().push_back(event);
    }

    /// The next event for `front`: one set aside for it earlier, else the
    /// next of the engine's that is `front`'s (setting the other front's
    /// aside).
    pub(crate) fn try_event(&self, front: Front) -> Option<Event> {
        if let Some(e) = self.deferred[front as usize].borrow_mut().pop_front() {
            return Some(e);
        }
        while let Ok(e) = self.engine.events().try_recv() {
            let owner = self.route_event(&e);
            if owner == front {
                return Some(e);
            }
            self.defer(owner, e);
        }
        None
    }

    /// Like [`try_event`](Self::try_event), waiting up to `timeout` for the
    /// engine.
    pub(crate) fn recv_event_timeout(&self, front: Front, timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.try_event(front) {
                return Some(e);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let e = self.engine.events().recv_timeout(left).ok()?;
            let owner = self.route_event(&e);
            if owner == front {
                return Some(e);
            }
            self.defer(owner, e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_pool_hands_out_even_ports_and_wraps() {
        let mut p = PortPool::new(30_001, 30_006);
        assert_eq!(p.take(), Some(30_002));
        assert_eq!(p.take(), Some(30_004));
        assert_eq!(p.take(), Some(30_006));
        assert_eq!(p.take(), None);
        p.give_back(30_004);
        assert_eq!(p.take(), Some(30_004));
    }
}
