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

/// Through the whole server: every reply is `cookie SP dict` with a
/// `result`, an offer's rewritten SDP parses, and a retransmission gets the
/// identical reply.
pub(crate) fn ng_message(data: &[u8]) {
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
