//! The ng protocol's view of the media engine: calls made of legs.
//!
//! An rtpengine-style relay anchors each call with two legs per audio
//! stream: one facing the offerer (the `from-tag` party), one facing the
//! answerer. The offer is rewritten to point the answerer at the second
//! leg; the answer to point the offerer at the first. Both legs are bridged
//! at offer time, so media flows as soon as both sides know where to send.
//! The answerer's address comes from the answer's SDP; until then (and
//! always, behind NAT) the leg learns it from the first packet (latching).
//!
//! Commands go to the engine through its bounded queues; this thread waits
//! for each answer, keeping the other events it sees on the way (digit
//! reports, statistics, finished recordings).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tandem_dataplane::codec::Codec;
use tandem_dataplane::command::{
    Command, CommandError, Event, LegConfig, LegId, LegReport, MediaFormat, RequestId, SessionId,
};
use tandem_dataplane::prompt::{PlayRequest, Prompt, Repeat};
use tandem_dataplane::recorder::{Recorder, RecorderConfig};
use tandem_ng::NgError;
use tandem_ng::control::{
    CallStats, MediaControl, MediaEndpoint, MediaPlan, MediaStats, PacketStats, SdpExchange,
    StreamStats, TagStats,
};
use tandem_ng::request::{
    CallRef, DeleteRequest, ListRequest, MediaSource, OfferRequest, PlayDtmfRequest,
    PlayMediaRequest, SelectRequest,
};
use tandem_sdp::{MediaDescription, SessionDescription};

use super::hub::{Front, MediaHub};

/// How long the ng thread waits for a worker to answer a command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// One leg as the ng layer knows it.
#[derive(Debug, Clone)]
struct LegInfo {
    id: LegId,
    port: u16,
    advertised: Option<SocketAddr>,
    format: MediaFormat,
}

/// One party of a call (a SIP tag) and the leg facing it.
#[derive(Debug, Clone)]
struct Party {
    tag: String,
    leg: LegInfo,
    created: u64,
}

struct Call {
    created: u64,
    last_signal: u64,
    offerer: Party,
    answerer: Party,
    recording: bool,
}

/// Settings of the ng front-end.
#[derive(Debug, Clone)]
pub(crate) struct MediaSettings {
    /// Address the legs bind and advertise.
    pub(crate) rtp_address: IpAddr,
    /// Where `start recording` writes.
    pub(crate) recording_dir: PathBuf,
    /// Seconds without RTP before a leg reports a timeout.
    pub(crate) rtp_timeout_secs: u32,
}

/// The engine behind the ng server.
pub(crate) struct EngineMedia {
    hub: Rc<MediaHub>,
    settings: MediaSettings,
    calls: HashMap<String, Call>,
    /// The newest report of each leg: from `QueryLeg`, or the final one
    /// sent when the leg was destroyed (removed once the call is reported).
    stats: HashMap<LegId, LegReport>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn engine_error(e: impl std::fmt::Display) -> NgError {
    NgError::Engine(e.to_string())
}

/// The first audio `m=` line of an SDP, its index, and the codec Tandem
/// will use on it.
fn audio_format(sdp: &SessionDescription) -> Option<(usize, MediaFormat, Option<SocketAddr>)> {
    let (index, m) = sdp
        .media()
        .iter()
        .enumerate()
        .find(|(_, m)| m.media_type() == "audio")?;
    let codecs = m.codecs();
    let te = codecs
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case("telephone-event") && c.clock_rate == 8000)
        .map(|c| c.payload_type);
    let (codec, pt) = codecs
        .iter()
        .find_map(|c| Codec::from_rtpmap(c.name, c.clock_rate).map(|k| (k, c.payload_type)))?;
    let ptime = m
        .ptime()
        .filter(|p| [10, 20, 30, 40, 60].contains(p))
        .unwrap_or(20);
    let format = MediaFormat {
        codec,
        payload_type: pt,
        telephone_event: te,
        ptime_ms: ptime as u16,
    };
    Some((index, format, media_address(sdp, m)))
}

/// Where the SDP says to send media for `m` (media-level `c=` wins).
fn media_address(sdp: &SessionDescription, m: &MediaDescription) -> Option<SocketAddr> {
    let ip = m
        .connection()
        .or_else(|| sdp.connection())
        .and_then(|c| c.0.ip())?;
    if m.port() == 0 || ip.is_unspecified() {
        // Port 0 rejects the stream; 0.0.0.0 puts it on hold (RFC 3264 §8.4).
        return None;
    }
    Some(SocketAddr::new(ip, m.port()))
}

impl EngineMedia {
    pub(crate) fn new(hub: Rc<MediaHub>, settings: MediaSettings) -> Self {
        Self {
            hub,
            settings,
            calls: HashMap::new(),
            stats: HashMap::new(),
        }
    }

    /// Runs one command and waits for its answer.
    fn command(&mut self, command: Command) -> Result<(), NgError> {
        let request = self.hub.submit(Front::Ng, command).map_err(engine_error)?;
        self.wait(request).map_err(engine_error)
    }

    fn wait(&mut self, request: RequestId) -> Result<(), CommandError> {
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(event) = self.hub.recv_event_timeout(Front::Ng, left) else {
                return Err(CommandError::Capacity(
                    "no answer from the media worker in 2 s",
                ));
            };
            match event {
                Event::Done { request: r, result } if r == request => return result,
                other => self.note(other),
            }
        }
    }

    /// Takes events that arrived while nothing was waiting for them.
    pub(crate) fn poll_events(&mut self) {
        while let Some(e) = self.hub.try_event(Front::Ng) {
            self.note(e);
        }
    }

    fn note(&mut self, event: Event) {
        match event {
            Event::Stats { leg, report } => {
                self.stats.insert(leg, report);
            }
            Event::RecordingStopped { leg, join } => {
                // Flushing the file may block on the disk: not on this thread.
                std::thread::spawn(move || match join.join() {
                    Ok(s) => eprintln!(
                        "tandem: recording of leg {} closed: {} frames",
                        leg.0, s.frames
                    ),
                    Err(e) => eprintln!("tandem: recording of leg {} failed: {e}", leg.0),
                });
            }
            Event::Dtmf {
                leg,
                digit,
                source,
                duration_ms,
            } => {
                eprintln!(
                    "tandem: leg {}: DTMF {digit} ({source:?}, {duration_ms} ms)",
                    leg.0
                );
            }
            Event::RtpTimeout { leg } => eprintln!("tandem: leg {}: no RTP", leg.0),
            _ => {}
        }
    }

    fn new_leg(
        &mut self,
        session: SessionId,
        format: MediaFormat,
        remote: Option<SocketAddr>,
    ) -> Result<LegInfo, NgError> {
        // A port may be taken by another process: try a few.
        for _ in 0..16 {
            let port = self
                .hub
                .take_port()
                .ok_or_else(|| NgError::Engine("no free media port in --rtp-ports".into()))?;
            let id = self.hub.new_leg();
            let config = LegConfig {
                local: SocketAddr::new(self.settings.rtp_address, port),
                remote,
                latch: true,
                format,
                rtp_timeout_secs: self.settings.rtp_timeout_secs,
            };
            match self.command(Command::CreateLeg {
                leg: id,
                session,
                config,
            }) {
                Ok(()) => {
                    return Ok(LegInfo {
                        id,
                        port,
                        advertised: remote,
                        format,
                    });
                }
                Err(NgError::Engine(e)) if e.contains("cannot open local port") => {
                    // Leave the port marked used: someone else holds it.
                    continue;
                }
                Err(e) => {
                    self.hub.give_back_port(port);
                    return Err(e);
                }
            }
        }
        Err(NgError::Engine("could not bind a media port".into()))
    }

    fn plan(&self, sdp: &SessionDescription, audio_index: usize, port: u16) -> MediaPlan {
        let media = (0..sdp.media().len())
            .map(|i| {
                let p = if i == audio_index { port } else { 0 };
                MediaEndpoint::new(self.settings.rtp_address, p, None)
            })
            .collect();
        MediaPlan {
            media,
            ice: None,
            warning: None,
        }
    }

    fn destroy_call(&mut self, call_id: &str) -> Option<Call> {
        let call = self.calls.remove(call_id)?;
        for leg in [&call.offerer.leg, &call.answerer.leg] {
            if let Err(e) = self.command(Command::DestroyLeg { leg: leg.id }) {
                eprintln!("tandem: call {call_id}: destroying leg {}: {e}", leg.id.0);
            }
            self.hub.give_back_port(leg.port);
        }
        Some(call)
    }

    /// Asks the worker for both legs' current figures (they arrive as
    /// `Stats` events while waiting).
    fn refresh_stats(&mut self, call_id: &str) -> Option<()> {
        let call = self.calls.get(call_id)?;
        let legs = [call.offerer.leg.id, call.answerer.leg.id];
        for id in legs {
            let _ = self.command(Command::QueryLeg { leg: id });
        }
        Some(())
    }

    /// The ng statistics of `call` from the newest leg reports.
    fn call_stats(&self, call: &Call) -> CallStats {
        let (a, b) = (&call.offerer, &call.answerer);
        let report = |id| self.stats.get(&id).copied().unwrap_or_default();
        let (ra, rb) = (report(a.leg.id), report(b.leg.id));
        let (created, last_signal) = (call.created, call.last_signal);
        let mut stats = CallStats {
            created,
            last_signal,
            ..CallStats::default()
        };
        stats.rtp = PacketStats {
            bytes: ra.bytes_in + rb.bytes_in,
            packets: ra.packets_in + rb.packets_in,
            errors: ra.dropped + rb.dropped,
        };
        for (party, r, other) in [(a, ra, b), (b, rb, a)] {
            stats.tags.push(TagStats {
                tag: party.tag.clone(),
                label: None,
                created: party.created,
                in_dialogue_with: Some(other.tag.clone()),
                medias: vec![MediaStats {
                    index: 1,
                    media_type: "audio".into(),
                    protocol: "RTP/AVP".into(),
                    flags: vec!["initialized".into()],
                    streams: vec![StreamStats {
                        local_port: Some(party.leg.port),
                        endpoint: party.leg.advertised,
                        advertised_endpoint: party.leg.advertised,
                        last_packet: 0,
                        flags: vec!["RTP".into()],
                        stats: PacketStats {
                            bytes: r.bytes_in,
                            packets: r.packets_in,
                            errors: r.dropped,
                        },
                        ssrc: (r.remote_ssrc != 0).then_some(r.remote_ssrc),
                    }],
                }],
            });
        }
        stats
    }

    /// The leg facing the party a request selects (`from-tag`; the
    /// offerer when none is given).
    fn selected_leg(&self, call: &CallRef<'_>) -> Result<(LegId, MediaFormat), NgError> {
        let c = self.calls.get(call.call_id).ok_or(NgError::UnknownCall)?;
        let party = match call.from_tag {
            None => &c.offerer,
            Some(t) if t == c.offerer.tag => &c.offerer,
            Some(t) if t == c.answerer.tag => &c.answerer,
            Some(_) => return Err(NgError::UnknownTag),
        };
        Ok((party.leg.id, party.leg.format))
    }

    /// Logs a deleted call's figures: what an operator greps for.
    fn log_call(call_id: &str, a: &LegReport, b: &LegReport) {
        eprintln!(
            "tandem: call {call_id} deleted: offerer leg in {} out {} dropped {}; answerer leg in {} out {} dropped {}",
            a.packets_in, a.packets_out, a.dropped, b.packets_in, b.packets_out, b.dropped
        );
    }
}

impl MediaControl for EngineMedia {
    fn offer(
        &mut self,
        _now: Instant,
        req: &OfferRequest<'_>,
        sdp: SdpExchange<'_>,
    ) -> Result<MediaPlan, NgError> {
        let call_id = req.call.call_id.to_string();
        let from_tag = req.call.from_tag.unwrap_or_default().to_string();
        let (index, in_format, remote) = audio_format(sdp.received).ok_or(NgError::Unsupported(
            "an offer without an audio codec Tandem relays",
        ))?;
        let (_, out_format, _) = audio_format(sdp.outgoing).unwrap_or((index, in_format, None));
        if let Some(call) = self.calls.get_mut(&call_id) {
            call.last_signal = unix_now();
            // A re-offer: from the original offerer, or from the answerer
            // (a re-INVITE in the other direction).
            let (facing, other) = if call.offerer.tag == from_tag || call.answerer.tag.is_empty() {
                (call.offerer.leg.clone(), call.answerer.leg.clone())
            } else {
                (call.answerer.leg.clone(), call.offerer.leg.clone())
            };
            self.command(Command::ModifyLeg {
                leg: facing.id,
                remote,
                format: Some(in_format),
            })?;
            return Ok(self.plan(sdp.received, index, other.port));
        }
        let session = self.hub.new_session();
        let a = self.new_leg(session, in_format, remote)?;
        let b = match self.new_leg(session, out_format, None) {
            Ok(b) => b,
            Err(e) => {
                let _ = self.command(Command::DestroyLeg { leg: a.id });
                self.hub.give_back_port(a.port);
                return Err(e);
            }
        };
        self.command(Command::Bridge { a: a.id, b: b.id })?;
        let now = unix_now();
        let plan = self.plan(sdp.received, index, b.port);
        self.calls.insert(
            call_id,
            Call {
                created: now,
                last_signal: now,
                offerer: Party {
                    tag: from_tag,
                    leg: a,
                    created: now,
                },
                answerer: Party {
                    tag: String::new(),
                    leg: b,
                    created: now,
                },
                recording: false,
            },
        );
        Ok(plan)
    }

    fn answer(
        &mut self,
        _now: Instant,
        req: &OfferRequest<'_>,
        sdp: SdpExchange<'_>,
    ) -> Result<MediaPlan, NgError> {
        let call = self
            .calls
            .get_mut(req.call.call_id)
            .ok_or(NgError::UnknownCall)?;
        call.last_signal = unix_now();
        if let Some(t) = req.call.to_tag
            && call.answerer.tag.is_empty()
        {
            call.answerer.tag = t.to_string();
        }
        let (index, format, remote) = audio_format(sdp.received).ok_or(NgError::Unsupported(
            "an answer without an audio codec Tandem relays",
        ))?;
        call.answerer.leg.advertised = remote;
        call.answerer.leg.format = format;
        let (b, a_port) = (call.answerer.leg.id, call.offerer.leg.port);
        self.command(Command::ModifyLeg {
            leg: b,
            remote,
            format: Some(format),
        })?;
        Ok(self.plan(sdp.received, index, a_port))
    }

    fn delete(
        &mut self,
        _now: Instant,
        req: &DeleteRequest<'_>,
    ) -> Result<Option<CallStats>, NgError> {
        let call_id = req.call.call_id;
        let Some(call) = self.destroy_call(call_id) else {
            return Err(NgError::UnknownCall);
        };
        let ids = [call.offerer.leg.id, call.answerer.leg.id];
        let report = |id| self.stats.get(&id).copied().unwrap_or_default();
        Self::log_call(call_id, &report(ids[0]), &report(ids[1]));
        let stats = self.call_stats(&call);
        for id in ids {
            self.stats.remove(&id);
        }
        Ok(Some(stats))
    }

    fn query(&mut self, _now: Instant, req: &CallRef<'_>) -> Result<CallStats, NgError> {
        self.refresh_stats(req.call_id)
            .ok_or(NgError::UnknownCall)?;
        let call = self.calls.get(req.call_id).ok_or(NgError::UnknownCall)?;
        Ok(self.call_stats(call))
    }

    fn list(&mut self, _now: Instant, req: &ListRequest) -> Result<Vec<String>, NgError> {
        let mut ids: Vec<String> = self.calls.keys().cloned().collect();
        ids.sort();
        ids.truncate(req.limit);
        Ok(ids)
    }

    fn play_media(
        &mut self,
        _now: Instant,
        req: &PlayMediaRequest<'_>,
    ) -> Result<Option<u64>, NgError> {
        let (leg, format) = self.selected_leg(&req.call)?;
        let rate = format.codec.sample_rate();
        let prompt = match req.source {
            MediaSource::File(path) => Prompt::load(path, rate),
            MediaSource::Blob(bytes) => Prompt::from_wav_bytes("blob", bytes, rate),
            MediaSource::DbId(_) => return Err(NgError::Unsupported("play media from db-id")),
        }
        .map_err(engine_error)?;
        let duration = prompt.duration_ms();
        let repeat = Repeat::Times(req.repeat_times.max(1));
        self.command(Command::PlayPrompt {
            leg,
            request: PlayRequest {
                prompt,
                repeat,
                barge_in: false,
            },
        })?;
        Ok(Some(duration))
    }

    fn stop_media(
        &mut self,
        _now: Instant,
        req: &SelectRequest<'_>,
    ) -> Result<Option<u64>, NgError> {
        let (leg, _) = self.selected_leg(&req.call)?;
        self.command(Command::StopPrompt { leg })?;
        Ok(None)
    }

    fn start_recording(&mut self, _now: Instant, req: &SelectRequest<'_>) -> Result<(), NgError> {
        let call_id = req.call.call_id;
        let (leg, format) = self.selected_leg(&req.call)?;
        let safe: String = call_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self.settings.recording_dir.join(format!("{safe}.wav"));
        let recorder = Recorder::create(&path, RecorderConfig::new(format.codec.sample_rate()))
            .map_err(|e| NgError::Engine(format!("{}: {e}", path.display())))?;
        self.command(Command::StartRecording {
            leg,
            recorder: Box::new(recorder),
        })?;
        if let Some(c) = self.calls.get_mut(call_id) {
            c.recording = true;
        }
        Ok(())
    }

    fn play_dtmf(&mut self, _now: Instant, req: &PlayDtmfRequest<'_>) -> Result<(), NgError> {
        // rtpengine injects the digit into the stream *towards* the other
        // party: the from-tag names who "pressed" it.
        let (from_leg, _) = self.selected_leg(&req.call)?;
        let call = self
            .calls
            .get(req.call.call_id)
            .ok_or(NgError::UnknownCall)?;
        let leg = if call.offerer.leg.id == from_leg {
            call.answerer.leg.id
        } else {
            call.offerer.leg.id
        };
        let digit = tandem_wire::telephone_event::event_to_digit(req.code)
            .ok_or(NgError::Unsupported("DTMF event codes above 15"))?;
        self.command(Command::SendDtmf {
            leg,
            digit,
            duration_ms: req.duration_ms,
        })
    }

    fn stop_recording(&mut self, _now: Instant, req: &SelectRequest<'_>) -> Result<(), NgError> {
        let (leg, _) = self.selected_leg(&req.call)?;
        self.command(Command::StopRecording { leg })?;
        if let Some(c) = self.calls.get_mut(req.call.call_id) {
            c.recording = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_format_reads_codec_event_and_address() {
        let sdp = SessionDescription::parse(
            b"v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n\
              m=audio 4000 RTP/AVP 9 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n",
        )
        .unwrap();
        let (i, f, addr) = audio_format(&sdp).unwrap();
        assert_eq!(i, 0);
        assert_eq!(f.codec, Codec::G722);
        assert_eq!(f.payload_type, 9);
        assert_eq!(f.telephone_event, Some(101));
        assert_eq!(addr, Some("10.1.1.1:4000".parse().unwrap()));
    }
}
