//! SDP rewriting for `offer` and `answer`, as the ng protocol document
//! describes the keys `replace`, `ICE`, `transport protocol`, `codec` and
//! the flags `no rtcp attribute`/`full rtcp attribute`.
//!
//! Two steps: [`prepare_outgoing`] applies what does not depend on the
//! engine (codecs, protocol, early ICE removal); [`apply_plan`] writes the
//! engine's addresses and ports (RFC 8866 §5.7 `c=`, §5.14 `m=`, RFC 3605
//! `a=rtcp`, RFC 8839 ICE attributes, RFC 8866 §5.2 `o=`).

use tandem_sdp::{CodecSpec, EditError, SessionDescription};

use crate::NgError;
use crate::control::MediaPlan;
use crate::request::{IceMode, OfferRequest};

fn specs<'a>(items: &[&'a str]) -> Vec<CodecSpec<'a>> {
    items.iter().map(|s| CodecSpec::parse(s)).collect()
}

/// An edit that would leave an `m=` line with no codec is skipped, as
/// rtpengine leaves the list unchanged in that case.
fn tolerate<T>(r: Result<T, EditError>) -> Result<(), NgError> {
    match r {
        Ok(_) | Err(EditError::NoFormatsLeft) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The SDP to send on, before the engine's addresses are known: codec
/// edits (`strip`, `mask`, `except`, `offer`; in an offer also
/// `transcode`), the transport protocol, and ICE removal when asked for.
pub fn prepare_outgoing(
    received: &SessionDescription,
    req: &OfferRequest<'_>,
    is_offer: bool,
) -> Result<SessionDescription, NgError> {
    let mut sdp = received.clone();
    let c = &req.codec;
    let keep: Vec<CodecSpec<'_>> = specs(&c.except)
        .into_iter()
        .chain(specs(&c.offer))
        .chain(specs(&c.transcode))
        .collect();
    let strip = specs(&c.strip);
    let mask = if is_offer { specs(&c.mask) } else { Vec::new() };
    for m in sdp.media_iter_mut() {
        if !tandem_sdp::fields::is_rtp_proto(m.proto()) {
            continue;
        }
        for list in [&strip, &mask] {
            if list.iter().any(CodecSpec::is_all) {
                tolerate(m.retain_codecs(&keep))?;
            } else if !list.is_empty() {
                let unprotected: Vec<CodecSpec<'_>> = list
                    .iter()
                    .copied()
                    .filter(|s| !keep.iter().any(|k| k.name.eq_ignore_ascii_case(s.name)))
                    .collect();
                tolerate(m.strip_codecs(&unprotected))?;
            }
        }
        if is_offer {
            for t in specs(&c.transcode) {
                if t.name.eq_ignore_ascii_case("telephone-event") {
                    m.add_telephone_event(t.clock_rate.unwrap_or(8000))?;
                } else {
                    m.add_codec(&t)?;
                }
            }
        }
        if !c.offer.is_empty() {
            m.reorder_codecs(&specs(&c.offer));
        }
        if let Some(ptime) = req.ptime.filter(|_| m.media_type() == "audio") {
            m.remove_attributes("ptime");
            m.push_attribute("ptime", Some(&ptime.to_string()))?;
        }
        if let Some(proto) = req.transport_protocol.and_then(|t| t.as_proto()) {
            m.set_proto(proto)?;
            if !proto.contains("SAVP") {
                m.remove_attributes("crypto");
            }
            if !proto.starts_with("UDP/TLS/") {
                m.remove_attributes("fingerprint");
                m.remove_attributes("setup");
                m.remove_attributes("tls-id");
            }
        }
    }
    if req.ice == Some(IceMode::Remove) || req.flags.reject_ice {
        sdp.remove_ice();
    }
    Ok(sdp)
}

/// RFC 8445 §5.1.2.1 priority of a host candidate with local preference
/// 65535.
fn host_priority(component: u32) -> u32 {
    (126 << 24) + (65535 << 8) + (256 - component)
}

/// Writes the engine's plan into `sdp`: every `m=` port, `c=` lines,
/// `a=rtcp`, ICE (removed, or replaced by the engine as the only host
/// candidate) and, with `replace`, the origin address and version.
pub fn apply_plan(
    sdp: &mut SessionDescription,
    req: &OfferRequest<'_>,
    plan: &MediaPlan,
) -> Result<(), NgError> {
    if plan.media.len() != sdp.media().len() {
        return Err(NgError::PlanMismatch {
            sdp: sdp.media().len(),
            plan: plan.media.len(),
        });
    }
    let Some(primary) = plan
        .media
        .iter()
        .find(|e| e.port != 0)
        .or(plan.media.first())
        .map(|e| e.address)
    else {
        return Ok(()); // no media at all: nothing to rewrite
    };
    let session_c = sdp.connection().is_some();
    // A zero address (RFC 2543 hold) passes through unless asked
    // (`replace: zero-address`), or unless ICE carries the real addresses
    // (WebRTC's `c=IN IP4 0.0.0.0`).
    let had_candidates: Vec<bool> = sdp
        .media()
        .iter()
        .map(|m| m.candidates().next().is_some())
        .collect();
    let session_zero = !had_candidates.iter().any(|c| *c)
        && sdp
            .connection()
            .and_then(|c| c.0.ip())
            .is_some_and(|ip| ip.is_unspecified());
    let media_rely_on_session = sdp.media().iter().any(|m| m.connection().is_none());
    if session_c
        && (media_rely_on_session || req.replace.session_connection)
        && (!session_zero || req.replace.zero_address)
    {
        sdp.set_session_connection(primary);
    }
    let ice_wanted = !req.flags.reject_ice
        && match req.ice {
            Some(IceMode::Remove) => false,
            Some(IceMode::Force | IceMode::Optional | IceMode::ForceRelay) => true,
            Some(IceMode::Default) | None => sdp.has_ice(),
        };
    let ice = plan.ice.as_ref().filter(|_| ice_wanted);
    sdp.remove_ice();
    for (i, end) in plan.media.iter().enumerate() {
        let m = sdp.media_mut(i)?;
        m.set_port(end.port);
        if end.port == 0 {
            continue;
        }
        let zero = !had_candidates[i]
            && m.connection()
                .and_then(|c| c.0.ip())
                .is_some_and(|ip| ip.is_unspecified());
        if zero && !req.replace.zero_address {
            // keep it
        } else if m.connection().is_some() || !session_c || end.address != primary {
            m.set_connection(end.address);
        }
        match end.rtcp_port {
            Some(p) if !req.flags.no_rtcp_attribute => {
                m.set_rtcp(p, req.flags.full_rtcp_attribute.then_some(end.address));
            }
            _ => {
                m.remove_attributes("rtcp");
            }
        }
        if let Some(cred) = ice {
            m.push_attribute("ice-ufrag", Some(&cred.ufrag))?;
            m.push_attribute("ice-pwd", Some(&cred.pwd))?;
            let mut components = vec![(1, end.port)];
            if let Some(p) = end.rtcp_port {
                components.push((2, p));
            }
            for (component, port) in components {
                let value = format!(
                    "1 {component} UDP {} {} {port} typ host",
                    host_priority(component),
                    end.address
                );
                m.push_attribute("candidate", Some(&value))?;
            }
        }
        if let Some(pts) = &end.codecs {
            let names: Vec<String> = pts.iter().map(u8::to_string).collect();
            let wanted: Vec<CodecSpec<'_>> = names.iter().map(|n| CodecSpec::parse(n)).collect();
            if !m.matching_payload_types(&wanted).is_empty() {
                tolerate(m.retain_codecs(&wanted))?;
                m.reorder_codecs(&wanted);
            }
        }
        for (name, _) in &end.attributes {
            m.remove_attributes(name);
        }
        for (name, value) in &end.attributes {
            m.push_attribute(name, value.as_deref())?;
        }
    }
    if req.replace.origin || req.replace.origin_full {
        sdp.set_origin_address(primary);
    }
    if req.replace.sdp_version || req.replace.force_increment_sdp_ver {
        sdp.bump_origin_version();
    }
    Ok(())
}
