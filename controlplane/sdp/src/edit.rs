//! The edits a media proxy makes (what rtpengine's ng `offer`/`answer`
//! flags ask for). Every edit leaves the description valid: lines it
//! writes go through the same typed forms the parser checks, and lines it
//! does not touch stay byte for byte as they were.

use std::net::IpAddr;

use crate::codec::{self, CodecSpec};
use crate::fields::{self, Direction, MediaLine, Origin, Rtcp, in_address, is_token};
use crate::{EditError, Line, MediaDescription, SessionDescription};

/// Session-level line types that follow `c=` (RFC 8866 §5 order).
const AFTER_SESSION_C: &str = "btrzka";

impl SessionDescription {
    /// Sets (or inserts) the session-level `c=` line to `IN IP4|IP6 ip`
    /// (RFC 8866 §5.7).
    pub fn set_session_connection(&mut self, ip: IpAddr) {
        let value = in_address(ip);
        if let Some(l) = self.session.iter_mut().find(|l| l.kind == 'c') {
            l.value = value;
        } else {
            let at = self
                .session
                .iter()
                .position(|l| AFTER_SESSION_C.contains(l.kind))
                .unwrap_or(self.session.len());
            self.session.insert(at, Line::new('c', value));
        }
    }

    /// Sets (or inserts) the `c=` line of media description `index`.
    pub fn set_media_connection(&mut self, index: usize, ip: IpAddr) -> Result<(), EditError> {
        self.media_mut(index)?.set_connection(ip);
        Ok(())
    }

    /// Replaces the address in `o=` (ng `replace: ["origin"]`).
    pub fn set_origin_address(&mut self, ip: IpAddr) {
        self.edit_origin(|o| {
            format!(
                "{} {} {} {}",
                o.username,
                o.session_id,
                o.session_version,
                in_address(ip)
            )
        });
    }

    /// Sets the origin's session version.
    pub fn set_origin_version(&mut self, version: u64) {
        self.edit_origin(|o| {
            Origin {
                session_version: version,
                ..*o
            }
            .to_string()
        });
    }

    /// Increments the origin's session version (RFC 3264 §8: a changed
    /// description carries a higher version); saturates at `u64::MAX`.
    pub fn bump_origin_version(&mut self) {
        self.edit_origin(|o| {
            Origin {
                session_version: o.session_version.saturating_add(1),
                ..*o
            }
            .to_string()
        });
    }

    fn edit_origin(&mut self, f: impl FnOnce(&Origin<'_>) -> String) {
        let Some(line) = self.session.iter_mut().find(|l| l.kind == 'o') else {
            return;
        };
        let new = match Origin::parse(&line.value) {
            Ok(o) => f(&o),
            Err(_) => return,
        };
        line.value = new;
    }

    /// Sets the port of media description `index` (0 rejects it, RFC 3264
    /// §6).
    pub fn set_media_port(&mut self, index: usize, port: u16) -> Result<(), EditError> {
        self.media_mut(index)?.set_port(port);
        Ok(())
    }

    /// Removes every ICE attribute (RFC 8839 §5) at session and media level.
    /// Returns how many lines were removed.
    pub fn remove_ice(&mut self) -> usize {
        let before = self.session.len();
        self.session.retain(|l| {
            !l.attribute()
                .is_some_and(|a| fields::ICE_ATTRIBUTES.contains(&a.name))
        });
        let mut n = before - self.session.len();
        for m in &mut self.media {
            n += m.remove_ice();
        }
        n
    }

    /// Removes session-level attributes named `name`; returns how many.
    pub fn remove_session_attributes(&mut self, name: &str) -> usize {
        let before = self.session.len();
        self.session.retain(|l| !l.is_attribute(name));
        before - self.session.len()
    }

    /// Appends a session-level attribute (after the existing lines).
    pub fn push_session_attribute(
        &mut self,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), EditError> {
        self.session.push(attribute_line(name, value)?);
        Ok(())
    }
}

fn attribute_line(name: &str, value: Option<&str>) -> Result<Line, EditError> {
    if !is_token(name) {
        return Err(EditError::InvalidValue("attribute name"));
    }
    let text = match value {
        Some(v) => format!("{name}:{v}"),
        None => name.to_owned(),
    };
    if text.contains(['\r', '\n', '\0']) {
        return Err(EditError::InvalidValue("attribute value"));
    }
    // Well-known attributes must still parse after the edit.
    let a = crate::Attribute::parse(&text).map_err(|_| EditError::InvalidValue("attribute"))?;
    fields::check_attribute(&a).map_err(|_| EditError::InvalidValue("attribute value"))?;
    Ok(Line::new('a', text))
}

impl MediaDescription {
    fn replace_m(&mut self, port: Option<u16>, proto: Option<&str>, formats: Option<&[String]>) {
        let Ok(m) = MediaLine::parse(&self.m.value) else {
            return;
        };
        let new = MediaLine {
            port: port.unwrap_or(m.port),
            proto: proto.unwrap_or(m.proto),
            formats: formats.map_or(m.formats.clone(), |f| {
                f.iter().map(String::as_str).collect()
            }),
            ..m
        }
        .to_string();
        self.m.value = new;
    }

    /// Sets the port of the `m=` line.
    pub fn set_port(&mut self, port: u16) {
        self.replace_m(Some(port), None, None);
    }

    /// Sets the transport protocol of the `m=` line (ng `transport
    /// protocol`: `RTP/AVP`, `RTP/SAVP`, `RTP/AVPF`, `RTP/SAVPF`,
    /// `UDP/TLS/RTP/SAVP(F)`). Crypto attributes are left to the caller.
    pub fn set_proto(&mut self, proto: &str) -> Result<(), EditError> {
        if proto.is_empty() || !proto.split('/').all(is_token) {
            return Err(EditError::InvalidValue("transport protocol"));
        }
        let was_rtp = fields::is_rtp_proto(self.proto());
        if was_rtp != fields::is_rtp_proto(proto) {
            // Formats would no longer match their protocol's grammar.
            return Err(EditError::InvalidValue(
                "transport protocol (RTP and non-RTP)",
            ));
        }
        self.replace_m(None, Some(proto), None);
        Ok(())
    }

    /// Sets (or inserts, after `i=`) this media's `c=` line; any further
    /// `c=` lines (multicast layers) are removed.
    pub fn set_connection(&mut self, ip: IpAddr) {
        let value = in_address(ip);
        match self.lines.iter().position(|l| l.kind == 'c') {
            Some(i) => {
                self.lines[i].value = value;
                let mut seen = 0;
                self.lines.retain(|l| {
                    if l.kind == 'c' {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
            None => {
                let at = usize::from(self.lines.first().is_some_and(|l| l.kind == 'i'));
                self.lines.insert(at, Line::new('c', value));
            }
        }
    }

    /// Removes the media-level `c=` lines (so the session-level one applies).
    pub fn remove_connection(&mut self) {
        self.lines.retain(|l| l.kind != 'c');
    }

    /// Removes every ICE attribute; returns how many lines.
    pub fn remove_ice(&mut self) -> usize {
        let before = self.lines.len();
        self.lines.retain(|l| {
            !l.attribute()
                .is_some_and(|a| fields::ICE_ATTRIBUTES.contains(&a.name))
        });
        before - self.lines.len()
    }

    /// Removes attributes named `name`; returns how many.
    pub fn remove_attributes(&mut self, name: &str) -> usize {
        let before = self.lines.len();
        self.lines.retain(|l| !l.is_attribute(name));
        before - self.lines.len()
    }

    /// Appends an attribute at the end of this media description.
    pub fn push_attribute(&mut self, name: &str, value: Option<&str>) -> Result<(), EditError> {
        self.lines.push(attribute_line(name, value)?);
        Ok(())
    }

    /// Replaces the direction attribute (or adds one).
    pub fn set_direction(&mut self, direction: Direction) {
        let at = self.lines.iter().position(|l| {
            l.attribute()
                .is_some_and(|a| a.value.is_none() && Direction::from_name(a.name).is_some())
        });
        self.lines.retain(|l| {
            !l.attribute()
                .is_some_and(|a| a.value.is_none() && Direction::from_name(a.name).is_some())
        });
        let line = Line::new('a', direction.as_str().to_owned());
        match at {
            Some(i) => self.lines.insert(i.min(self.lines.len()), line),
            None => self.lines.push(line),
        }
    }

    /// Sets the port (and, with `address`, the address) of `a=rtcp`
    /// (RFC 3605), adding the attribute if it is missing.
    pub fn set_rtcp(&mut self, port: u16, address: Option<IpAddr>) {
        let addr = address.map(in_address);
        let value = match &addr {
            Some(a) => format!("{port} {a}"),
            None => Rtcp {
                port,
                address: None,
            }
            .to_string(),
        };
        let text = format!("rtcp:{value}");
        match self.lines.iter_mut().find(|l| l.is_attribute("rtcp")) {
            Some(l) => l.value = text,
            None => self.lines.push(Line::new('a', text)),
        }
    }

    // ---- codecs -------------------------------------------------------

    fn formats(&self) -> Vec<String> {
        self.media_line()
            .map(|m| m.formats.iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default()
    }

    fn set_formats(&mut self, formats: &[String]) {
        self.replace_m(None, None, Some(formats));
    }

    fn is_rtp(&self) -> bool {
        fields::is_rtp_proto(self.proto())
    }

    /// Payload types whose codec matches any of `specs`, in `m=` order.
    /// Each payload type appears once, even if the `m=` line repeats it.
    pub fn matching_payload_types(&self, specs: &[CodecSpec<'_>]) -> Vec<u8> {
        let mut seen = [false; 128];
        self.codecs()
            .iter()
            .filter(|c| specs.iter().any(|s| s.matches(c)))
            .map(|c| c.payload_type)
            .filter(|&pt| !std::mem::replace(&mut seen[usize::from(pt & 0x7f)], true))
            .collect()
    }

    fn drop_payload_types(&mut self, pts: &[u8]) -> Result<(), EditError> {
        if pts.is_empty() {
            return Ok(());
        }
        // Payload types are < 128 (checked by the parser): a mask keeps
        // this linear however long the lists are.
        let mut drop = [false; 256];
        pts.iter().for_each(|&pt| drop[usize::from(pt)] = true);
        let pts = |pt: u8| drop[usize::from(pt)];
        let formats = self.formats();
        let keep: Vec<String> = formats
            .into_iter()
            .filter(|f| !f.parse::<u8>().is_ok_and(pts))
            .collect();
        if keep.is_empty() {
            return Err(EditError::NoFormatsLeft);
        }
        self.set_formats(&keep);
        self.lines.retain(|l| {
            let Some(a) = l.attribute() else { return true };
            if !matches!(a.name, "rtpmap" | "fmtp" | "rtcp-fb") {
                return true;
            }
            let pt = a
                .value
                .unwrap_or("")
                .split(' ')
                .next()
                .and_then(|p| p.parse::<u8>().ok());
            !pt.is_some_and(pts)
        });
        Ok(())
    }

    /// Removes the codecs matching `specs` (ng `codec: {strip: [...]}`,
    /// also used for `mask`) from the `m=` line with their `rtpmap`,
    /// `fmtp` and `rtcp-fb` lines. Returns the removed payload types. An
    /// edit that would remove every format fails and changes nothing.
    pub fn strip_codecs(&mut self, specs: &[CodecSpec<'_>]) -> Result<Vec<u8>, EditError> {
        if !self.is_rtp() {
            return Ok(Vec::new());
        }
        let pts = self.matching_payload_types(specs);
        self.drop_payload_types(&pts)?;
        Ok(pts)
    }

    /// Keeps only the codecs matching `specs` (ng `codec: {except: [...]}`
    /// after `strip: all`). Returns the removed payload types.
    pub fn retain_codecs(&mut self, specs: &[CodecSpec<'_>]) -> Result<Vec<u8>, EditError> {
        if !self.is_rtp() {
            return Ok(Vec::new());
        }
        let keep = self.matching_payload_types(specs);
        let mut seen = [false; 256];
        let drop: Vec<u8> = self
            .media_line()
            .map(|m| {
                m.payload_types()
                    .filter(|pt| !keep.contains(pt))
                    .filter(|&pt| !std::mem::replace(&mut seen[usize::from(pt)], true))
                    .collect()
            })
            .unwrap_or_default();
        self.drop_payload_types(&drop)?;
        Ok(drop)
    }

    /// Moves the codecs matching `specs` to the front of the `m=` line, in
    /// the order of `specs` (ng `codec: {offer: [...]}`); the others keep
    /// their relative order.
    pub fn reorder_codecs(&mut self, specs: &[CodecSpec<'_>]) {
        if !self.is_rtp() {
            return;
        }
        let codecs = self.codecs();
        let mut front: Vec<String> = Vec::new();
        for s in specs {
            for c in codecs.iter().filter(|c| s.matches(c)) {
                let f = c.payload_type.to_string();
                if !front.contains(&f) {
                    front.push(f);
                }
            }
        }
        let mut formats = front.clone();
        formats.extend(self.formats().into_iter().filter(|f| !front.contains(f)));
        self.set_formats(&formats);
    }

    /// Adds a codec if none matches `spec` (ng `codec: {transcode: [...]}`):
    /// the RFC 3551 static payload type when there is one and it is free,
    /// else the lowest free dynamic one (96–127, RFC 3551 §3), with an
    /// `rtpmap` line. Returns the payload type (the existing one when the
    /// codec is already there).
    pub fn add_codec(&mut self, spec: &CodecSpec<'_>) -> Result<u8, EditError> {
        if !self.is_rtp() {
            return Err(EditError::InvalidValue(
                "codec on a non-RTP media description",
            ));
        }
        if spec.is_all() || spec.name.parse::<u8>().is_ok() || !is_token(spec.name) {
            return Err(EditError::InvalidValue("codec name"));
        }
        if let Some(pt) = self
            .matching_payload_types(core::slice::from_ref(spec))
            .first()
        {
            return Ok(*pt);
        }
        let clock = spec.default_clock_rate();
        let channels = spec.default_channels();
        let used: Vec<u8> = self
            .media_line()
            .map(|m| m.payload_types().collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain(self.rtpmaps().map(|r| r.payload_type))
            .collect();
        let pt = codec::static_payload_type(spec.name, clock, channels.unwrap_or(1))
            .filter(|pt| !used.contains(pt))
            .or_else(|| (96..=127).find(|pt| !used.contains(pt)))
            .ok_or(EditError::NoFreePayloadType)?;
        let mut formats = self.formats();
        formats.push(pt.to_string());
        self.set_formats(&formats);
        let map = fields::Rtpmap {
            payload_type: pt,
            encoding: spec.name,
            clock_rate: clock,
            channels,
        };
        self.insert_codec_attribute(format!("rtpmap:{map}"));
        Ok(pt)
    }

    /// Adds `telephone-event` (RFC 4733 §7.1.1) at `clock_rate` with
    /// `fmtp:<pt> 0-16`, unless it is already offered at that rate.
    pub fn add_telephone_event(&mut self, clock_rate: u32) -> Result<u8, EditError> {
        let spec = CodecSpec {
            name: "telephone-event",
            clock_rate: Some(clock_rate),
            channels: None,
        };
        let existed = !self.matching_payload_types(&[spec]).is_empty();
        let pt = self.add_codec(&spec)?;
        if !existed {
            self.insert_codec_attribute(format!("fmtp:{pt} 0-16"));
        }
        Ok(pt)
    }

    fn insert_codec_attribute(&mut self, text: String) {
        let at = self
            .lines
            .iter()
            .rposition(|l| l.is_attribute("rtpmap") || l.is_attribute("fmtp"))
            .map_or(self.lines.len(), |i| i + 1);
        self.lines.insert(at, Line::new('a', text));
    }
}
