//! Decoded legs: the per-tick half of the worker.
//!
//! Most legs never have their audio decoded: the packet path relays or
//! transcodes each packet as it arrives. A leg is **decoded** while it needs
//! to hear or shape audio itself:
//!
//! * it plays a prompt, is recorded, or sits in a conference;
//! * it is bridged to a leg that disagrees on DTMF transport (one side has
//!   RFC 4733 telephone-event, the other only in-band tones), so digits must
//!   be translated and the in-band tone suppressed on the way.
//!
//! Both legs of a bridge are decoded together, because what one receives
//! becomes what the other sends. A decoded leg puts packets as they come
//! into an adaptive jitter buffer ([`JitterBuffer`]); every tick of the
//! media clock the worker then
//!
//! 1. takes one frame from each decoded leg's jitter buffer (concealed when
//!    its packet is missing, silence before the first packet or after a
//!    long gap) and runs in-band DTMF detection and suppression on it
//!    ([`InbandToRfc4733`]) when its peer expects telephone events;
//! 2. mixes each conference ([`Conference`]) from its members' frames;
//! 3. builds each leg's outgoing frame: the prompt if one plays, else the
//!    conference's mix for it, else its peer's (cleaned) frame, resampled to
//!    the leg's rate; plays RFC 4733 digits received from the peer as tones
//!    into it ([`Rfc4733ToInband`]) when the leg has no telephone-event;
//! 4. records the pair of frames if the leg is recorded, and encodes and
//!    sends the outgoing frame in the leg's own RTP numbering.

use tandem_dsp::resample::{Rate, Resampler};
use tandem_packet_io::{PacketBuf, PacketIo};
use tandem_wire::Ssrc;
use tandem_wire::telephone_event::TelephoneEventPacket;

use super::{Leg, Worker};
use crate::codec::Encoder;
use crate::command::{ConferenceId, DtmfSource, Event, LegId};
use crate::dtmf_relay::{
    InbandToRfc4733, ReceiverConfig, RelayEvent, Rfc4733ToInband, SenderConfig,
};
use crate::frame::AudioFrame;
use crate::jitter::{JitterBuffer, JitterConfig, PushOutcome};
use crate::metrics::{Counter, DropReason};
use crate::mixer::MemberId;
use crate::prompt::PromptPlayer;
use crate::recorder::Recorder;
use tandem_dsp::tone::{DtmfGenerator, DtmfParams, ToneError};

/// The decoding state of a leg.
pub(super) struct DecodedMedia {
    pub(super) rate: Rate,
    jitter: JitterBuffer,
    encoder: Encoder,
    /// RTP timestamp ticks per outgoing packet.
    ticks: u32,
    /// This tick's frame from the leg's peer (its input, cleaned).
    pub(super) current: AudioFrame,
    /// This tick's outgoing frame.
    out: AudioFrame,
    /// The conference's mix for this leg, this tick.
    pub(super) conf_out: Option<AudioFrame>,
    /// Resamples the peer's frames to this leg's rate.
    from_peer: Option<Resampler>,
    pub(super) prompt: Option<PromptPlayer>,
    pub(super) recorder: Option<Box<Recorder>>,
    pub(super) conference: Option<(ConferenceId, MemberId)>,
    /// A digit being played in-band into what this leg sends (`SendDtmf`
    /// on a leg without telephone-event).
    tone_out: Option<DtmfGenerator>,
    /// Detects in-band digits in what this leg receives and removes them
    /// (present when the peer wants RFC 4733).
    inband_to_events: Option<InbandToRfc4733>,
    /// Plays RFC 4733 digits from the peer as tones into what this leg
    /// sends (present when this leg has no telephone-event).
    events_to_inband: Option<Rfc4733ToInband>,
    /// Timestamp of the next outgoing audio packet.
    out_ts: u32,
    /// Input event timestamp → output event timestamp, for events relayed
    /// between two legs that both speak RFC 4733.
    event_map: Option<(u32, u32)>,
    /// Timestamp of the last RFC 4733 event reported as a digit.
    last_reported_event: Option<u32>,
}

impl DecodedMedia {
    /// Starts playing `digit` in-band for `duration_ms` (Q.23 tones).
    pub(super) fn play_tone(&mut self, digit: char, duration_ms: u32) -> Result<(), ToneError> {
        let params = DtmfParams {
            level_dbm0: -10.0,
            twist_db: 0.0,
            on_ms: duration_ms,
            off_ms: 0,
        };
        let mut g = DtmfGenerator::new(params, self.rate)?;
        g.push(&digit.to_string())?;
        self.tone_out = Some(g);
        Ok(())
    }

    pub(super) fn new(leg: &Leg) -> Option<Box<Self>> {
        let f = leg.format;
        let rate = f.codec.sample_rate();
        let jitter = JitterBuffer::new(f.codec, JitterConfig::default()).ok()?;
        let encoder = Encoder::new(f.codec, u32::from(f.ptime_ms)).ok()?;
        Some(Box::new(Self {
            rate,
            jitter,
            encoder,
            ticks: f.codec.ticks_for_ms(u32::from(f.ptime_ms)),
            current: AudioFrame::silence(rate),
            out: AudioFrame::silence(rate),
            conf_out: None,
            from_peer: None,
            prompt: None,
            recorder: None,
            conference: None,
            tone_out: None,
            inband_to_events: None,
            events_to_inband: None,
            out_ts: leg.tx.last_out_ts.wrapping_add(1),
            event_map: None,
            last_reported_event: None,
        }))
    }

    /// Anything that needs this leg decoded by itself (not counting the
    /// DTMF interworking of its bridge).
    fn needed_alone(&self) -> bool {
        self.prompt.is_some()
            || self.recorder.is_some()
            || self.conference.is_some()
            || self.tone_out.as_ref().is_some_and(|t| !t.is_idle())
    }
}

/// Converts a relay event into the control plane's event for `leg`.
fn digit_event(leg: LegId, e: RelayEvent) -> Option<Event> {
    match e {
        RelayEvent::DigitEnded {
            digit,
            source,
            duration_ms,
        } => Some(Event::Dtmf {
            leg,
            digit,
            source,
            duration_ms,
        }),
        RelayEvent::DigitStarted { .. } => None,
    }
}

impl<P: PacketIo> Worker<P> {
    /// Re-evaluates whether the legs at `slot` (and its bridge peer) need
    /// decoding, and sets up or tears down their decoded state.
    pub(super) fn refresh_decoding(&mut self, slot: usize) {
        let peer = self.legs[slot].as_ref().and_then(|l| l.peer());
        let pair_needs = match peer {
            Some(p) => {
                let (a, b) = (self.leg_at(slot), self.leg_at(p));
                let dtmf_mismatch =
                    a.format.telephone_event.is_some() != b.format.telephone_event.is_some();
                let buffered_transcoding =
                    self.transcode_jitter_buffer && a.format.codec != b.format.codec;
                dtmf_mismatch
                    || buffered_transcoding
                    || [a, b]
                        .iter()
                        .any(|l| l.media.as_ref().is_some_and(|m| m.needed_alone()))
            }
            None => false,
        };
        for s in [Some(slot), peer].into_iter().flatten() {
            let alone = self
                .leg_at(s)
                .media
                .as_ref()
                .is_some_and(|m| m.needed_alone());
            // A leg bridged to nothing (a caller in an IVR or a queue) is
            // decoded, so its digits are detected, in-band or RFC 4733;
            // the relay path only looks at packets it forwards.
            let lone = self.leg_at(s).peer().is_none();
            let want = alone || pair_needs || lone;
            let leg = self.leg_at_mut(s);
            if want && leg.media.is_none() {
                leg.media = DecodedMedia::new(leg);
                if leg.media.is_none() {
                    self.counters.drop(DropReason::Unsupported);
                }
            } else if !want && leg.media.is_some() {
                leg.media = None;
                // The relay path re-anchors its numbering on its next packet.
                leg.tx.anchored_to = None;
            }
        }
        // DTMF interworking and resampling depend on both ends.
        for (s, other) in [(Some(slot), peer), (peer, Some(slot))] {
            let Some(s) = s else { continue };
            let other_format = other.map(|o| self.leg_at(o).format);
            let other_rate = other.and_then(|o| self.leg_at(o).media.as_ref().map(|m| m.rate));
            let leg = self.leg_at_mut(s);
            let has_te = leg.format.telephone_event.is_some();
            let Some(m) = leg.media.as_mut() else {
                continue;
            };
            let peer_te = other_format.is_some_and(|f| f.telephone_event.is_some());
            // In-band digits become events for a peer that takes them,
            // and are detected on a lone leg (for the IVR).
            let inband_needed = !has_te && (other_format.is_none() || peer_te);
            if inband_needed != m.inband_to_events.is_some() {
                m.inband_to_events =
                    inband_needed.then(|| InbandToRfc4733::new(SenderConfig::new(m.rate)));
            }
            let tones_needed = !has_te && other_format.is_some();
            if tones_needed != m.events_to_inband.is_some() {
                m.events_to_inband = if tones_needed {
                    Rfc4733ToInband::new(ReceiverConfig::new(m.rate)).ok()
                } else {
                    None
                };
            }
            m.from_peer = match other_rate {
                Some(r) if r != m.rate => Some(Resampler::new(r, m.rate)),
                _ => None,
            };
        }
    }

    /// The packet path of a decoded leg: audio into the jitter buffer,
    /// telephone events routed on.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn decoded_packet(
        &mut self,
        slot: usize,
        buf: &P::Buf,
        pt: u8,
        seq: u16,
        ts: u32,
        ssrc: u32,
        marker: bool,
    ) {
        let Ok(view) = tandem_wire::RtpPacket::new_checked(buf.data()) else {
            self.counters.drop(DropReason::Malformed);
            return;
        };
        let payload = view.payload();
        let Some(leg) = self.legs[slot].as_mut() else {
            return;
        };
        let leg_id = leg.id;
        let format = leg.format;
        let peer = leg.peer();
        let Some(m) = leg.media.as_mut() else { return };
        if pt == format.payload_type {
            let counter = match m.jitter.push(self.now, seq, ts, Ssrc(ssrc), payload) {
                Ok(PushOutcome::Buffered) => return,
                Ok(PushOutcome::Resynced) => Counter::JitterResync,
                Ok(PushOutcome::Late | PushOutcome::Stray) => Counter::JitterLate,
                Ok(PushOutcome::Duplicate) => Counter::JitterDuplicate,
                Ok(PushOutcome::Overflow) => Counter::JitterOverflow,
                Err(_) => {
                    self.counters.add(Counter::ParseErrors, 1);
                    self.counters.drop(DropReason::Malformed);
                    return;
                }
            };
            self.counters.add(counter, 1);
            return;
        }
        // A telephone event.
        let Ok(ev) = TelephoneEventPacket::new_checked(payload) else {
            self.counters.drop(DropReason::Malformed);
            return;
        };
        let mut report = None;
        if ev.end() && m.last_reported_event != Some(ts) {
            m.last_reported_event = Some(ts);
            if let Some(digit) = tandem_wire::telephone_event::event_to_digit(ev.event()) {
                let duration_ms = u32::from(ev.duration()) * 1000 / format.codec.clock_rate();
                report = Some(Event::Dtmf {
                    leg: leg_id,
                    digit,
                    source: DtmfSource::Rfc4733,
                    duration_ms,
                });
            }
        }
        if let Some(e) = report {
            self.emit(e);
            self.barge_in(slot);
        }
        let Some(peer) = peer else { return };
        let peer_te = self.leg_at(peer).format.telephone_event;
        match peer_te {
            Some(te) => {
                // Both sides speak RFC 4733: relay the event in the peer's
                // numbering, all packets of one event on one timestamp.
                let Some(to) = self.leg_at(peer).remote else {
                    return;
                };
                let Some(pm) = self.leg_at_mut(peer).media.as_mut() else {
                    return;
                };
                let out_ts = match pm.event_map {
                    Some((i, o)) if i == ts => o,
                    _ => {
                        pm.event_map = Some((ts, pm.out_ts));
                        pm.out_ts
                    }
                };
                let n = payload.len().min(self.scratch.len());
                self.scratch[..n].copy_from_slice(&payload[..n]);
                self.send_originated(self.now, peer, to, marker, te, out_ts, n);
            }
            None => {
                if let Some(m) = self.leg_at_mut(peer).media.as_mut()
                    && let Some(tones) = m.events_to_inband.as_mut()
                    && tones.handle_telephone_event(ts, marker, payload).is_err()
                {
                    self.counters.drop(DropReason::Malformed);
                }
            }
        }
    }

    /// Stops a barge-in prompt on `slot` after a digit.
    fn barge_in(&mut self, slot: usize) {
        let leg = self.leg_at_mut(slot);
        let id = leg.id;
        let stopped = leg
            .media
            .as_mut()
            .and_then(|m| m.prompt.as_mut())
            .is_some_and(PromptPlayer::handle_dtmf);
        if stopped {
            if let Some(m) = leg.media.as_mut() {
                m.prompt = None;
            }
            self.emit(Event::PromptDone {
                leg: id,
                barged_in: true,
            });
            self.refresh_after_tick.push(slot);
        }
    }

    /// One tick of the media clock for every decoded leg.
    pub(super) fn media_tick(&mut self, now: std::time::Instant) {
        // Reused between ticks: the media clock allocates nothing.
        let mut decoded = std::mem::take(&mut self.tick_slots);
        decoded.clear();
        decoded.extend(
            self.legs
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.as_ref().filter(|l| l.media.is_some()).map(|_| i)),
        );
        if decoded.is_empty() {
            self.tick_slots = decoded;
            return;
        }
        // 1. Inputs, with in-band DTMF detection and suppression.
        let mut digits = Vec::new();
        let mut concealed = 0;
        for &s in &decoded {
            let Some(leg) = self.legs[s].as_mut() else {
                continue;
            };
            let id = leg.id;
            let Some(m) = leg.media.as_mut() else {
                continue;
            };
            let rate = m.rate;
            let input = match m.jitter.pop(now) {
                Some(p) => {
                    if p.is_concealed() {
                        concealed += 1;
                    }
                    p.into_frame()
                }
                None => AudioFrame::silence(rate),
            };
            if let Some(det) = m.inband_to_events.as_mut() {
                let ts = m.out_ts;
                let mut cleaned = AudioFrame::silence(rate);
                det.handle_inband(&input, ts, &mut cleaned);
                m.current = cleaned;
                while let Some(e) = det.poll_event() {
                    if let Some(e) = digit_event(id, e) {
                        digits.push((s, e));
                    }
                }
            } else {
                m.current = input;
            }
            if let Some(tones) = m.events_to_inband.as_mut() {
                while let Some(e) = tones.poll_event() {
                    // Digits the peer sent as events, reported on the peer.
                    let _ = e;
                }
            }
        }
        self.counters.add(Counter::JitterConcealed, concealed);
        for (s, e) in digits {
            self.emit(e);
            self.barge_in(s);
        }
        // In-band digits detected on a leg go to its peer as RFC 4733.
        for &s in &decoded {
            self.send_detected_events(s);
        }
        // 2. Conferences.
        self.mix_conferences();
        // 3. and 4. Outputs.
        for &s in &decoded {
            self.output_frame(s);
        }
        let mut refresh = std::mem::take(&mut self.refresh_after_tick);
        for &s in &refresh {
            if self.legs[s].is_some() {
                self.refresh_decoding(s);
            }
        }
        refresh.clear();
        self.refresh_after_tick = refresh;
        self.tick_slots = decoded;
    }

    fn send_detected_events(&mut self, slot: usize) {
        let Some(peer) = self.leg_at(slot).peer() else {
            return;
        };
        let Some(te) = self.leg_at(peer).format.telephone_event else {
            return;
        };
        let Some(to) = self.leg_at(peer).remote else {
            return;
        };
        loop {
            let Some(ev) = self
                .leg_at_mut(slot)
                .media
                .as_mut()
                .and_then(|m| m.inband_to_events.as_mut())
                .and_then(InbandToRfc4733::poll_telephone_event)
            else {
                return;
            };
            // The detector stamps events with our leg's output clock; the
            // peer's audio runs on its own, so re-base onto the peer's.
            let (own_ts, peer_ts) = (
                self.leg_at(slot).media.as_ref().map_or(0, |m| m.out_ts),
                self.leg_at(peer).media.as_ref().map_or(0, |m| m.out_ts),
            );
            let ts = ev.timestamp.wrapping_sub(own_ts).wrapping_add(peer_ts);
            self.scratch[..4].copy_from_slice(&ev.payload);
            self.send_originated(self.now, peer, to, ev.marker, te, ts, 4);
        }
    }

    fn mix_conferences(&mut self) {
        let mut ids = std::mem::take(&mut self.tick_rooms);
        ids.clear();
        ids.extend(self.conferences.keys().copied());
        for &id in &ids {
            let Some(room) = self.conferences.get_mut(&id) else {
                continue;
            };
            for &slot in &room.members {
                if let Some(Some(leg)) = self.legs.get(slot)
                    && let Some(m) = leg.media.as_ref()
                    && let Some((_, member)) = m.conference
                {
                    let _ = room.conference.put(member, &m.current);
                }
            }
            let legs = &mut self.legs;
            let members = &room.members;
            room.conference.mix(|member, frame| {
                for &slot in members {
                    if let Some(Some(leg)) = legs.get_mut(slot)
                        && let Some(m) = leg.media.as_mut()
                        && m.conference.is_some_and(|(_, mid)| mid == member)
                    {
                        m.conf_out = Some(frame.clone());
                    }
                }
            });
            while let Some(e) = room.conference.poll_event() {
                if let crate::mixer::Event::SpeakerChanged { current, .. } = e {
                    let leg = current.and_then(|mid| {
                        room.members.iter().find_map(|&slot| {
                            self.legs[slot].as_ref().filter(|l| {
                                l.media
                                    .as_ref()
                                    .is_some_and(|m| m.conference.is_some_and(|(_, x)| x == mid))
                            })
                        })
                    });
                    let leg = leg.map(|l| l.id);
                    self.pending_events.push(Event::LoudestSpeaker {
                        conference: id,
                        leg,
                    });
                }
            }
        }
        self.tick_rooms = ids;
        for e in std::mem::take(&mut self.pending_events) {
            self.emit(e);
        }
    }

    fn output_frame(&mut self, slot: usize) {
        let peer = self.leg_at(slot).peer();
        let peer_frame =
            peer.and_then(|p| self.leg_at(p).media.as_ref().map(|m| m.current.clone()));
        let Some(leg) = self.legs[slot].as_mut() else {
            return;
        };
        let id = leg.id;
        let Some(to) = leg.remote else { return };
        let pt = leg.format.payload_type & 0x7f;
        // The media clock ticks every 20 ms.
        let frame_ticks = leg.format.codec.ticks_for_ms(20);
        let Some(m) = leg.media.as_mut() else { return };
        let rate = m.rate;
        let mut prompt_done = None;
        // A leg bridged to nothing is decoded only to hear its digits:
        // with nothing to play it sends nothing (its clock runs on, so
        // what it sends later is stamped in real time).
        let silent = peer.is_none()
            && m.prompt.is_none()
            && m.conf_out.is_none()
            && m.conference.is_none()
            && m.tone_out.is_none();
        if let Some(player) = m.prompt.as_mut() {
            let mut f = AudioFrame::silence(player.rate());
            player.next_frame(&mut f);
            m.out = if f.rate() == rate {
                f
            } else {
                AudioFrame::silence(rate)
            };
            if player.finished() {
                prompt_done = Some(player.stopped_by_dtmf());
                m.prompt = None;
            }
        } else if let Some(mix) = m.conf_out.take() {
            m.out = mix;
        } else if let Some(pf) = peer_frame {
            m.out = match m.from_peer.as_mut() {
                None if pf.rate() == rate => pf,
                Some(r) => {
                    let mut out = AudioFrame::silence(rate);
                    let mut tmp = [0i16; crate::frame::MAX_FRAME_SAMPLES];
                    let n = r.process(pf.samples(), &mut tmp);
                    let len = out.samples().len().min(n);
                    out.samples_mut()[..len].copy_from_slice(&tmp[..len]);
                    out
                }
                None => AudioFrame::silence(rate),
            };
        } else {
            m.out = AudioFrame::silence(rate);
        }
        if let Some(tones) = m.events_to_inband.as_mut() {
            tones.fill_inband(&mut m.out);
        }
        if let Some(g) = m.tone_out.as_mut() {
            if g.is_idle() {
                m.tone_out = None;
                self.refresh_after_tick.push(slot);
            } else {
                g.fill(m.out.samples_mut());
            }
        }
        if let Some(rec) = m.recorder.as_mut() {
            rec.push(Some(&m.current), Some(&m.out));
        }
        let ticks = m.ticks;
        if silent {
            m.out_ts = m.out_ts.wrapping_add(frame_ticks);
            return;
        }
        if m.encoder.push_frame(&m.out).is_err() {
            self.counters.drop(DropReason::Unsupported);
        }
        loop {
            let (n, ts) = {
                let Some(m) = self.legs[slot].as_mut().and_then(|l| l.media.as_mut()) else {
                    break;
                };
                match m.encoder.poll_payload(&mut self.scratch) {
                    Ok(Some(n)) => {
                        let ts = m.out_ts;
                        m.out_ts = m.out_ts.wrapping_add(ticks);
                        (n, ts)
                    }
                    _ => break,
                }
            };
            self.send_originated(self.now, slot, to, false, pt, ts, n);
        }
        if let Some(barged_in) = prompt_done {
            self.emit(Event::PromptDone { leg: id, barged_in });
            // Not now: other legs of this tick may still need this one's
            // decoded state.
            self.refresh_after_tick.push(slot);
        }
    }
}
