//! The boundary to the media engine: [`MediaControl`], which the engine
//! implements, and the plain data it returns.
//!
//! The server parses and validates the request and the SDP, applies the
//! codec edits the request asks for, and then asks the engine for one
//! thing: where the media goes ([`MediaPlan`]). It then rewrites the SDP
//! itself (`c=`, `m=` port and protocol, `a=rtcp`, ICE, origin) and builds
//! the reply, so the engine never touches SDP text or bencode.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use tandem_sdp::SessionDescription;

use crate::NgError;
use crate::bencode::Node;
use crate::request::{
    CallRef, DeleteRequest, ListRequest, OfferRequest, PlayDtmfRequest, PlayMediaRequest,
    SelectRequest,
};

/// The SDP of an offer or answer as the server hands it to the engine.
#[derive(Debug, Clone, Copy)]
pub struct SdpExchange<'s> {
    /// As received from the proxy.
    pub received: &'s SessionDescription,
    /// What will be sent on, before addresses and ports are rewritten:
    /// codec edits (`codec` strip/mask/except/offer/transcode) and the
    /// transport protocol are already applied, so the engine can see which
    /// codecs each side will use.
    pub outgoing: &'s SessionDescription,
}

/// Where the engine receives one media stream (one `m=` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaEndpoint {
    /// Local address to advertise in `c=` (and `a=rtcp`, `a=candidate`).
    pub address: IpAddr,
    /// Local RTP port to advertise in `m=`; 0 rejects the stream (RFC 3264
    /// §6), for example a video stream the engine does not relay.
    pub port: u16,
    /// Local RTCP port for `a=rtcp` (RFC 3605); `None` when RTCP is muxed
    /// on the RTP port (RFC 5761) or the rtcp attribute is not wanted.
    pub rtcp_port: Option<u16>,
    /// Attributes the engine adds to this media, as `(name, value)`, after
    /// the rewritten ones: for example its own `crypto` line (RFC 4568)
    /// when the outgoing protocol is `RTP/SAVP`, or `fingerprint` and
    /// `setup` for DTLS-SRTP. Existing attributes of the same names are
    /// replaced.
    pub attributes: Vec<(String, Option<String>)>,
    /// The payload types to offer on this media, in order of preference,
    /// when the engine restricts or reorders the codecs (for example an
    /// answer limited to what it can transcode); `None` keeps the outgoing
    /// SDP's list. Payload types not in the outgoing SDP are ignored; a
    /// list that keeps none leaves the codecs unchanged.
    pub codecs: Option<Vec<u8>>,
}

impl MediaEndpoint {
    /// An endpoint with no extra attributes and the codecs left as they are.
    pub fn new(address: IpAddr, port: u16, rtcp_port: Option<u16>) -> Self {
        Self {
            address,
            port,
            rtcp_port,
            attributes: Vec::new(),
            codecs: None,
        }
    }
}

/// ICE credentials for the engine's own candidates (`ICE=force`, or the
/// default when the received SDP had ICE). The server writes
/// `a=ice-ufrag`, `a=ice-pwd` and one host candidate per component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCredentials {
    /// `ice-ufrag`, ≥ 4 ICE characters (RFC 8839 §5.4).
    pub ufrag: String,
    /// `ice-pwd`, ≥ 22 ICE characters.
    pub pwd: String,
}

/// The engine's answer to an `offer` or `answer`: one endpoint per `m=`
/// line of the SDP, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPlan {
    /// One entry per `m=` line.
    pub media: Vec<MediaEndpoint>,
    /// Credentials for the engine's own ICE candidates. They are used
    /// when ICE is wanted — `ICE` is `force`, `optional` or `force-relay`,
    /// or absent/`default` and the received SDP had ICE — and ignored
    /// otherwise; with `None`, ICE attributes are removed from the SDP (the
    /// engine relays plain RTP).
    pub ice: Option<IceCredentials>,
    /// A non-fatal warning, sent as `warning`.
    pub warning: Option<String>,
}

/// `bytes`/`packets`/`errors` counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketStats {
    /// Octets.
    pub bytes: u64,
    /// Packets.
    pub packets: u64,
    /// Errors.
    pub errors: u64,
}

/// One packet stream (RTP or RTCP) of a media.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Local port, if allocated.
    pub local_port: Option<u16>,
    /// Where packets are forwarded (the learned peer).
    pub endpoint: Option<SocketAddr>,
    /// The peer address the SDP advertised.
    pub advertised_endpoint: Option<SocketAddr>,
    /// UNIX time of the last packet received.
    pub last_packet: u64,
    /// `RTP`, `RTCP`, `confirmed`, ...
    pub flags: Vec<String>,
    /// Counters.
    pub stats: PacketStats,
    /// Last SSRC seen.
    pub ssrc: Option<u32>,
}

/// One SDP media of a party.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// 1-based index.
    pub index: u32,
    /// `audio`, `video`.
    pub media_type: String,
    /// `RTP/AVP`, ...
    pub protocol: String,
    /// `initialized`, `rtcp-mux`, `ICE`, ...
    pub flags: Vec<String>,
    /// Usually RTP then RTCP.
    pub streams: Vec<StreamStats>,
}

/// One party (SIP tag) of the call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagStats {
    /// The SIP tag (may be empty for a party that has not answered).
    pub tag: String,
    /// The label given in `offer`/`answer`.
    pub label: Option<String>,
    /// UNIX time the tag was first seen.
    pub created: u64,
    /// The other party's tag.
    pub in_dialogue_with: Option<String>,
    /// Its media.
    pub medias: Vec<MediaStats>,
}

/// Call quality for one SSRC, as Kamailio's module reads it (`MOS` is ×10).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MosStats {
    /// MOS × 10 (e.g. 43 for 4.3).
    pub mos: u32,
    /// UNIX time of the report.
    pub reported_at: u64,
    /// Packet loss, percent.
    pub packet_loss: u32,
    /// Jitter, ms.
    pub jitter: u32,
    /// Round-trip time, µs.
    pub round_trip_time: u32,
    /// Samples.
    pub samples: u32,
}

/// Per-SSRC statistics (`SSRC` dictionary, keyed by the decimal SSRC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SsrcStats {
    /// The SSRC.
    pub ssrc: u32,
    /// Average over the call.
    pub average: MosStats,
    /// Lowest.
    pub lowest: MosStats,
    /// Highest.
    pub highest: MosStats,
}

/// What `query` (and `delete`) report about a call (ng protocol document,
/// `query` Message).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallStats {
    /// UNIX time the call was created.
    pub created: u64,
    /// UNIX time of the last signalling event.
    pub last_signal: u64,
    /// Totals for RTP.
    pub rtp: PacketStats,
    /// Totals for RTCP.
    pub rtcp: PacketStats,
    /// Parties.
    pub tags: Vec<TagStats>,
    /// Per-SSRC quality.
    pub ssrc: Vec<SsrcStats>,
}

fn uint(v: u64) -> Node {
    Node::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

fn packet_stats(s: &PacketStats) -> Node {
    Node::dict()
        .with("bytes", uint(s.bytes))
        .with("packets", uint(s.packets))
        .with("errors", uint(s.errors))
}

fn endpoint(a: &SocketAddr) -> Node {
    Node::dict()
        .with(
            "family",
            Node::str(if a.is_ipv4() { "IPv4" } else { "IPv6" }),
        )
        .with("address", Node::str(&a.ip().to_string()))
        .with("port", Node::Int(a.port().into()))
}

fn mos(m: &MosStats) -> Node {
    Node::dict()
        .with("MOS", Node::Int(m.mos.into()))
        .with("reported at", uint(m.reported_at))
        .with("packet loss", Node::Int(m.packet_loss.into()))
        .with("jitter", Node::Int(m.jitter.into()))
        .with("round-trip time", Node::Int(m.round_trip_time.into()))
        .with("samples", Node::Int(m.samples.into()))
}

impl CallStats {
    /// Adds `created`, `last signal`, `totals`, `tags` and `SSRC` to a reply
    /// dictionary, with the key names of the ng protocol document.
    pub fn write_into(&self, reply: &mut Node) {
        reply.insert("created", uint(self.created));
        reply.insert("last signal", uint(self.last_signal));
        reply.insert(
            "totals",
            Node::dict()
                .with("RTP", packet_stats(&self.rtp))
                .with("RTCP", packet_stats(&self.rtcp)),
        );
        let mut tags = Node::dict();
        for t in &self.tags {
            let mut d = Node::dict()
                .with("tag", Node::str(&t.tag))
                .with("created", uint(t.created));
            if let Some(l) = &t.label {
                d.insert("label", Node::str(l));
            }
            if let Some(o) = &t.in_dialogue_with {
                d.insert("in dialogue with", Node::str(o));
            }
            let medias = t
                .medias
                .iter()
                .map(|m| {
                    let streams = m
                        .streams
                        .iter()
                        .map(|s| {
                            let mut d = Node::dict()
                                .with("last packet", uint(s.last_packet))
                                .with("flags", Node::str_list(&s.flags))
                                .with("stats", packet_stats(&s.stats));
                            if let Some(p) = s.local_port {
                                d.insert("local port", Node::Int(p.into()));
                            }
                            if let Some(e) = &s.endpoint {
                                d.insert("endpoint", endpoint(e));
                            }
                            if let Some(e) = &s.advertised_endpoint {
                                d.insert("advertised endpoint", endpoint(e));
                            }
                            if let Some(x) = s.ssrc {
                                d.insert("SSRC", Node::Int(x.into()));
                            }
                            d
                        })
                        .collect();
                    Node::dict()
                        .with("index", Node::Int(m.index.into()))
                        .with("type", Node::str(&m.media_type))
                        .with("protocol", Node::str(&m.protocol))
                        .with("flags", Node::str_list(&m.flags))
                        .with("streams", Node::List(streams))
                })
                .collect();
            d.insert("medias", Node::List(medias));
            tags.insert(&t.tag, d);
        }
        reply.insert("tags", tags);
        let mut ssrc = Node::dict();
        for s in &self.ssrc {
            ssrc.insert(
                &s.ssrc.to_string(),
                Node::dict()
                    .with("average MOS", mos(&s.average))
                    .with("lowest MOS", mos(&s.lowest))
                    .with("highest MOS", mos(&s.highest)),
            );
        }
        reply.insert("SSRC", ssrc);
    }
}

/// What the media engine implements. Every method gets the parsed request;
/// `offer`/`answer` also get the SDP. Errors become `error` replies
/// (`delete` with the `fatal` flag absent turns errors into `warning`s, as
/// rtpengine does). Commands the engine does not implement keep the
/// default bodies, which answer [`NgError::Unsupported`].
pub trait MediaControl {
    /// `offer`: allocate (or reuse, for a re-offer) local media for the
    /// offerer's streams and say where the answerer must send.
    fn offer(
        &mut self,
        now: Instant,
        req: &OfferRequest<'_>,
        sdp: SdpExchange<'_>,
    ) -> Result<MediaPlan, NgError>;

    /// `answer`: complete the call with the answerer's streams.
    fn answer(
        &mut self,
        now: Instant,
        req: &OfferRequest<'_>,
        sdp: SdpExchange<'_>,
    ) -> Result<MediaPlan, NgError>;

    /// `delete`: tear down the call (or one branch/party); the statistics
    /// go into the reply unless the `fast` flag was given.
    fn delete(
        &mut self,
        now: Instant,
        req: &DeleteRequest<'_>,
    ) -> Result<Option<CallStats>, NgError>;

    /// `query`: statistics of a call.
    fn query(&mut self, now: Instant, req: &CallRef<'_>) -> Result<CallStats, NgError>;

    /// `list`: call-ids of active calls, at most `req.limit`.
    fn list(&mut self, now: Instant, req: &ListRequest) -> Result<Vec<String>, NgError>;

    /// `play media`: returns the duration in ms when known.
    fn play_media(
        &mut self,
        _now: Instant,
        _req: &PlayMediaRequest<'_>,
    ) -> Result<Option<u64>, NgError> {
        Err(NgError::Unsupported("play media"))
    }

    /// `stop media`: returns the last frame position played when known.
    fn stop_media(
        &mut self,
        _now: Instant,
        _req: &SelectRequest<'_>,
    ) -> Result<Option<u64>, NgError> {
        Err(NgError::Unsupported("stop media"))
    }

    /// `start recording`.
    fn start_recording(&mut self, _now: Instant, _req: &SelectRequest<'_>) -> Result<(), NgError> {
        Err(NgError::Unsupported("start recording"))
    }

    /// `stop recording`.
    fn stop_recording(&mut self, _now: Instant, _req: &SelectRequest<'_>) -> Result<(), NgError> {
        Err(NgError::Unsupported("stop recording"))
    }

    /// `block DTMF`.
    fn block_dtmf(&mut self, _now: Instant, _req: &SelectRequest<'_>) -> Result<(), NgError> {
        Err(NgError::Unsupported("block DTMF"))
    }

    /// `unblock DTMF`.
    fn unblock_dtmf(&mut self, _now: Instant, _req: &SelectRequest<'_>) -> Result<(), NgError> {
        Err(NgError::Unsupported("unblock DTMF"))
    }

    /// `play DTMF`.
    fn play_dtmf(&mut self, _now: Instant, _req: &PlayDtmfRequest<'_>) -> Result<(), NgError> {
        Err(NgError::Unsupported("play DTMF"))
    }
}
