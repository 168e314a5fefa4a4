//! A fake engine that hands out ports, and helpers that write ng messages
//! the way Kamailio's rtpengine module lays them out (keys in its insertion
//! order, not sorted).

#![allow(dead_code)] // each test file uses part of this

use std::net::IpAddr;
use std::time::Instant;

use tandem_ng::control::*;
use tandem_ng::request::*;
use tandem_ng::{NgConfig, NgError, NgServer};

pub(crate) const ENGINE_IP: &str = "203.0.113.1";

#[derive(Default)]
pub(crate) struct FakeEngine {
    pub(crate) next_port: u16,
    pub(crate) calls: Vec<String>,
    pub(crate) offers: usize,
    pub(crate) answers: usize,
    pub(crate) deletes: usize,
    pub(crate) with_ice: bool,
    pub(crate) last_outgoing_codecs: Vec<String>,
    pub(crate) played: Vec<String>,
    pub(crate) only_codecs: Option<Vec<u8>>,
}

impl FakeEngine {
    fn plan(&mut self, sdp: SdpExchange<'_>) -> MediaPlan {
        if self.next_port == 0 {
            self.next_port = 30000;
        }
        self.last_outgoing_codecs = sdp
            .outgoing
            .media()
            .iter()
            .flat_map(|m| {
                m.codecs()
                    .iter()
                    .map(|c| c.name.to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        let media = sdp
            .outgoing
            .media()
            .iter()
            .map(|m| {
                if m.media_type() == "video" {
                    return MediaEndpoint::new(ENGINE_IP.parse().unwrap(), 0, None);
                }
                let port = self.next_port;
                self.next_port += 2;
                let mut end = MediaEndpoint::new(
                    ENGINE_IP.parse().unwrap(),
                    port,
                    if m.rtcp_mux() { None } else { Some(port + 1) },
                );
                end.codecs = self.only_codecs.clone();
                if m.proto() == "RTP/SAVP" {
                    end.attributes.push((
                        "crypto".into(),
                        Some("1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19semD0dmgvcmNhbGxlcmtleTEyMzQ1Njc4OTA".into()),
                    ));
                }
                end
            })
            .collect();
        let ice = self.with_ice.then(|| IceCredentials {
            ufrag: "tnd1".into(),
            pwd: "0123456789abcdefghijkl".into(),
        });
        MediaPlan {
            media,
            ice,
            warning: None,
        }
    }
}

impl MediaControl for FakeEngine {
    fn offer(
        &mut self,
        _: Instant,
        req: &OfferRequest<'_>,
        sdp: SdpExchange<'_>,
    ) -> Result<MediaPlan, NgError> {
        self.offers += 1;
        if !self.calls.iter().any(|c| c == req.call.call_id) {
            self.calls.push(req.call.call_id.to_owned());
        }
        Ok(self.plan(sdp))
    }

    fn answer(
        &mut self,
        _: Instant,
        req: &OfferRequest<'_>,
        sdp: SdpExchange<'_>,
    ) -> Result<MediaPlan, NgError> {
        self.answers += 1;
        if !self.calls.iter().any(|c| c == req.call.call_id) {
            return Err(NgError::UnknownCall);
        }
        Ok(self.plan(sdp))
    }

    fn delete(
        &mut self,
        _: Instant,
        req: &DeleteRequest<'_>,
    ) -> Result<Option<CallStats>, NgError> {
        self.deletes += 1;
        let Some(i) = self.calls.iter().position(|c| c == req.call.call_id) else {
            return Err(NgError::UnknownCall);
        };
        self.calls.remove(i);
        Ok(Some(stats()))
    }

    fn query(&mut self, _: Instant, req: &CallRef<'_>) -> Result<CallStats, NgError> {
        if self.calls.iter().any(|c| c == req.call_id) {
            Ok(stats())
        } else {
            Err(NgError::UnknownCall)
        }
    }

    fn list(&mut self, _: Instant, _: &ListRequest) -> Result<Vec<String>, NgError> {
        Ok(self.calls.clone())
    }

    fn play_media(
        &mut self,
        _: Instant,
        req: &PlayMediaRequest<'_>,
    ) -> Result<Option<u64>, NgError> {
        match req.source {
            MediaSource::File(f) => self.played.push(f.to_owned()),
            _ => return Err(NgError::Engine("only files".into())),
        }
        Ok(Some(3000))
    }
}

pub(crate) fn stats() -> CallStats {
    CallStats {
        created: 1_700_000_000,
        last_signal: 1_700_000_005,
        rtp: PacketStats {
            bytes: 100287,
            packets: 705,
            errors: 0,
        },
        rtcp: PacketStats {
            bytes: 2244,
            packets: 22,
            errors: 0,
        },
        tags: vec![TagStats {
            tag: "as8d7f".into(),
            label: Some("caller".into()),
            created: 1_700_000_000,
            in_dialogue_with: Some("b9x2".into()),
            medias: vec![MediaStats {
                index: 1,
                media_type: "audio".into(),
                protocol: "RTP/AVP".into(),
                flags: vec!["initialized".into()],
                streams: vec![StreamStats {
                    local_port: Some(30000),
                    endpoint: Some("198.51.100.10:49170".parse().unwrap()),
                    advertised_endpoint: Some("198.51.100.10:49170".parse().unwrap()),
                    last_packet: 1_700_000_010,
                    flags: vec!["RTP".into(), "confirmed".into()],
                    stats: PacketStats {
                        bytes: 100287,
                        packets: 705,
                        errors: 0,
                    },
                    ssrc: Some(0x1122_3344),
                }],
            }],
        }],
        ssrc: vec![SsrcStats {
            ssrc: 0x1122_3344,
            ..Default::default()
        }],
    }
}

pub(crate) fn server() -> NgServer<FakeEngine> {
    NgServer::new(FakeEngine::default(), NgConfig::default())
}

/// A bencoded byte string.
pub(crate) fn s(v: &str) -> String {
    format!("{}:{v}", v.len())
}

/// A bencoded list of strings.
pub(crate) fn l(items: &[&str]) -> String {
    format!("l{}e", items.iter().map(|i| s(i)).collect::<String>())
}

/// A bencoded dictionary from already-encoded values, keys in the given order.
pub(crate) fn d(entries: &[(&str, String)]) -> String {
    format!(
        "d{}e",
        entries
            .iter()
            .map(|(k, v)| format!("{}{v}", s(k)))
            .collect::<String>()
    )
}

pub(crate) fn msg(cookie: &str, dict: &str) -> Vec<u8> {
    format!("{cookie} {dict}").into_bytes()
}

pub(crate) const CALLER_SDP: &str = "v=0\r\n\
o=- 3912351210 3912351210 IN IP4 198.51.100.10\r\n\
s=Polycom\r\n\
c=IN IP4 198.51.100.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 9 0 8 18 101\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ice-ufrag:8hhY\r\n\
a=ice-pwd:asd88fgpdd777uzjYhagZg\r\n\
a=candidate:1 1 UDP 2130706431 198.51.100.10 49170 typ host\r\n\
a=candidate:1 2 UDP 2130706430 198.51.100.10 49171 typ host\r\n\
a=sendrecv\r\n\
a=x-polycom-keep:1\r\n";

pub(crate) const CALLEE_SDP: &str = "v=0\r\n\
o=callee 2890844527 2890844527 IN IP4 192.0.2.20\r\n\
s=-\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 8 101\r\n\
c=IN IP4 192.0.2.20\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=rtcp-mux\r\n";

/// `rtpengine_offer("trust-address replace-origin replace-session-connection ICE=remove RTP/AVP")`
/// as Kamailio's module puts it on the wire (module-side flag parsing).
pub(crate) fn kamailio_offer(cookie: &str, call_id: &str, sdp: &str) -> Vec<u8> {
    msg(
        cookie,
        &d(&[
            ("supports", l(&["load limit"])),
            ("sdp", s(sdp)),
            ("replace", l(&["origin", "session-connection"])),
            ("transport-protocol", s("RTP/AVP")),
            ("received-from", l(&["IP4", "198.51.100.10"])),
            ("ICE", s("remove")),
            ("call-id", s(call_id)),
            ("via-branch", s("z9hG4bK776asdhds")),
            ("from-tag", s("as8d7f")),
            ("command", s("offer")),
            ("sip-message-type", s("sip_request")),
            ("flags", l(&["trust-address"])),
        ]),
    )
}

pub(crate) fn kamailio_answer(cookie: &str, call_id: &str, sdp: &str) -> Vec<u8> {
    msg(
        cookie,
        &d(&[
            ("supports", l(&["load limit"])),
            ("sdp", s(sdp)),
            ("replace", l(&["origin", "session-connection"])),
            ("received-from", l(&["IP4", "192.0.2.20"])),
            ("ICE", s("remove")),
            ("call-id", s(call_id)),
            ("from-tag", s("as8d7f")),
            ("to-tag", s("b9x2")),
            ("command", s("answer")),
            ("sip-message-type", s("sip_reply")),
            ("flags", l(&["trust-address"])),
        ]),
    )
}

/// Decodes a reply: (cookie, dictionary).
pub(crate) fn reply(bytes: &[u8]) -> (String, tandem_ng::bencode::Node) {
    let (cookie, body) = tandem_ng::server::split_message(bytes).expect("cookie");
    let v = tandem_ng::bencode::decode(body, Default::default()).expect("bencode");
    (String::from_utf8(cookie.to_vec()).unwrap(), v.to_node())
}

pub(crate) fn text(n: Option<&tandem_ng::bencode::Node>) -> String {
    match n {
        Some(tandem_ng::bencode::Node::Bytes(b)) => String::from_utf8(b.clone()).unwrap(),
        other => panic!("not a string: {other:?}"),
    }
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
