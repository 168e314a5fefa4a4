//! What the `bencode_value` and `ng_message` fuzz targets check, shared
//! with `tests/fuzz-corpora-replay-cleanly.rs` so `cargo test` replays the
//! corpora through exactly the same code.

use std::time::{Duration, Instant};

use tandem_ng::bencode::{self, Limits};
use tandem_ng::control::*;
use tandem_ng::request::*;
use tandem_ng::{NgConfig, NgError, NgServer};

/// Decode; if that succeeds, encoding is stable: decode(encode(v)) encodes
/// to the same bytes, and the owned copy agrees.
pub(crate) fn bencode_value(data: &[u8]) {
    let limits = Limits {
        max_depth: 16,
        max_len: 1 << 16,
    };
    let Ok(v) = bencode::decode(data, limits) else {
        return;
    };
    let mut once = Vec::new();
    v.encode(&mut once);
    let w = bencode::decode(&once, limits).expect("encoded value decodes");
    let mut twice = Vec::new();
    w.encode(&mut twice);
    assert_eq!(once, twice, "encoding not stable");
    let mut owned = Vec::new();
    w.to_node().encode(&mut owned);
    // The owned form drops repeated keys (last wins), so it can only be
    // shorter; when there are none it is identical.
    assert!(owned.len() <= once.len());
    if let Ok(req) = parse_request(&v) {
        let _ = req.command();
    }
}

/// A media engine that always has ports.
struct Engine(u16);

impl Engine {
    fn plan(&mut self, sdp: SdpExchange<'_>) -> MediaPlan {
        let media = sdp
            .outgoing
            .media()
            .iter()
            .map(|_| {
                self.0 = self.0.wrapping_add(2);
                MediaEndpoint::new("203.0.113.1".parse().unwrap(), self.0, Some(self.0 | 1))
            })
            .collect();
        let ice = (self.0 % 4 == 0).then(|| IceCredentials {
            ufrag: "abcd".into(),
            pwd: "0123456789012345678901".into(),
        });
        MediaPlan {
            media,
            ice,
            warning: None,
        }
    }
}

impl MediaControl for Engine {
    fn offer(
        &mut self,
        _: Instant,
        _: &OfferRequest<'_>,
        sdp: SdpExchange<'_>,
    ) -> Result<MediaPlan, NgError> {
        Ok(self.plan(sdp))
    }
    fn answer(
        &mut self,
        _: Instant,
        _: &OfferRequest<'_>,
        sdp: SdpExchange<'_>,
    ) -> Result<MediaPlan, NgError> {
        Ok(self.plan(sdp))
    }
    fn delete(&mut self, _: Instant, _: &DeleteRequest<'_>) -> Result<Option<CallStats>, NgError> {
        Ok(Some(CallStats::default()))
    }
    fn query(&mut self, _: Instant, _: &CallRef<'_>) -> Result<CallStats, NgError> {
        Err(NgError::UnknownCall)
    }
    fn list(&mut self, _: Instant, _: &ListRequest) -> Result<Vec<String>, NgError> {
        Ok(vec!["a".into(); 40])
    }
}

/// Through the whole server (and [`ng_offer_sdp`] on the same bytes): every reply is `cookie SP dict` with a
/// `result`, an offer's rewritten SDP parses, and a retransmission gets the
/// identical reply.
pub(crate) fn ng_message(data: &[u8]) {
    ng_offer_sdp(data);
    let mut srv = NgServer::new(Engine(30000), NgConfig::default());
    let t0 = Instant::now();
    let Some(reply) = srv.handle_request(t0, data) else {
        assert!(tandem_ng::server::split_message(data).is_none());
        return;
    };
    let (cookie, body) = tandem_ng::server::split_message(&reply).expect("reply has a cookie");
    assert!(data.starts_with(cookie));
    let v = bencode::decode(body, Limits::default()).expect("reply decodes");
    let result = v
        .get("result")
        .and_then(|r| r.as_str())
        .expect("reply has a result");
    assert!(matches!(result, "ok" | "pong" | "error"));
    if let Some(sdp) = v.get("sdp").and_then(|s| s.as_bytes()) {
        tandem_sdp::SessionDescription::parse(sdp).expect("rewritten SDP parses");
    }
    let again = srv
        .handle_request(t0 + Duration::from_secs(1), data)
        .expect("second reply");
    assert_eq!(again, reply);
    assert_eq!(srv.counters().retransmissions, 1);
}

fn bstr(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(s);
}

/// The same bytes as the SDP of offers and answers with the flags that
/// rewrite the most, so mutations of the SDP reach the rewriting code
/// (random datagrams rarely keep a bencode length right).
pub(crate) fn ng_offer_sdp(data: &[u8]) {
    let extras: [&[u8]; 3] = [
        b"3:ICE6:remove7:replacel6:origin18:session-connection12:zero-addresse5:flagsl19:full-rtcp-attributee",
        b"3:ICE5:force5:codecd5:stripl3:alle6:exceptl4:PCMAe9:transcodel4:opus15:telephone-eventee18:transport-protocol17:UDP/TLS/RTP/SAVPF5:ptime2:30",
        b"5:codecd5:offerl4:PCMU3:101ee18:transport-protocol7:RTP/AVP10:rtpp-flags26:replace-origin SDP-version",
    ];
    let mut srv = NgServer::new(Engine(40000), NgConfig::default());
    let t0 = Instant::now();
    for (i, extra) in extras.iter().enumerate() {
        for command in [&b"offer"[..], b"answer"] {
            let mut m = format!("c{i} d").into_bytes();
            bstr(&mut m, b"sdp");
            bstr(&mut m, data);
            m.extend_from_slice(b"7:call-id1:c8:from-tag1:f6:to-tag1:t7:command");
            bstr(&mut m, command);
            m.extend_from_slice(extra);
            m.push(b'e');
            let reply = srv.handle_request(t0, &m).expect("a reply");
            let (_, body) = tandem_ng::server::split_message(&reply).expect("cookie");
            let v = bencode::decode(body, Limits::default()).expect("reply decodes");
            if let Some(sdp) = v.get("sdp").and_then(|s| s.as_bytes()) {
                tandem_sdp::SessionDescription::parse(sdp).expect("rewritten SDP parses");
            }
            if let Some(reason) = v.get("error-reason").and_then(|r| r.as_str()) {
                assert!(!reason.starts_with("Failed to decode"), "{reason}");
            } else {
                assert!(v.get("sdp").is_some());
            }
            srv.handle_timeout(t0 + Duration::from_secs(60));
        }
    }
}
