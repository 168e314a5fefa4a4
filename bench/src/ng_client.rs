//! A minimal ng client: what Kamailio's `rtpengine` module puts on the
//! wire (`COOKIE SP bencoded-dict`, rtpengine `docs/ng_control_protocol.md`).

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use tandem_ng::bencode::{self, Limits, Node};

/// A blocking ng client on one UDP socket.
pub struct NgClient {
    socket: UdpSocket,
    server: SocketAddr,
    next_cookie: u64,
    buf: Vec<u8>,
}

/// The relay's address for one side of a call, read from a reply's SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaAddr(pub SocketAddr);

impl NgClient {
    /// A client of the ng server at `server`.
    pub fn new(server: SocketAddr) -> std::io::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        Ok(Self {
            socket,
            server,
            next_cookie: 1,
            buf: vec![0; 65_536],
        })
    }

    /// Sends `request` and returns the reply dictionary (re-sending with the
    /// same cookie, as Kamailio does, after each `timeout`, three times).
    pub fn call(&mut self, request: &Node, timeout: Duration) -> Result<Node, String> {
        let cookie = format!("{}_{}", std::process::id(), self.next_cookie);
        self.next_cookie += 1;
        let mut msg = cookie.as_bytes().to_vec();
        msg.push(b' ');
        request.encode(&mut msg);
        self.socket
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        for _ in 0..3 {
            self.socket
                .send_to(&msg, self.server)
                .map_err(|e| format!("ng send: {e}"))?;
            loop {
                let n = match self.socket.recv(&mut self.buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        break;
                    }
                    Err(e) => return Err(format!("ng receive: {e}")),
                };
                let reply = &self.buf[..n];
                let Some(body) = reply
                    .strip_prefix(cookie.as_bytes())
                    .and_then(|r| r.strip_prefix(b" "))
                else {
                    continue; // a late reply to an earlier request
                };
                let value = bencode::decode(body, Limits::default())
                    .map_err(|e| format!("ng reply: {e}"))?;
                return Ok(value.to_node());
            }
        }
        Err(format!("no ng reply from {} in 3 tries", self.server))
    }

    /// `ping` until `pong` or `deadline` passes.
    pub fn wait_ready(&mut self, within: Duration) -> Result<(), String> {
        let start = std::time::Instant::now();
        let mut last = String::new();
        while start.elapsed() < within {
            match self.call(
                &Node::dict().with("command", Node::str("ping")),
                Duration::from_millis(100),
            ) {
                Ok(r) if str_of(&r, "result") == Some("pong") => return Ok(()),
                Ok(r) => last = format!("{r:?}"),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("ng server not ready: {last}"))
    }
}

/// A string value of a reply.
pub fn str_of<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    match node.get(key)? {
        Node::Bytes(b) => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

/// `Ok(reply)` when `result` is `ok`, else the error reason.
pub fn check_ok(reply: Node) -> Result<Node, String> {
    match str_of(&reply, "result") {
        Some("ok") => Ok(reply),
        other => Err(format!(
            "ng error: result {:?}, reason {:?}",
            other,
            str_of(&reply, "error-reason")
        )),
    }
}

/// The first audio stream's address in an SDP: `m=audio PORT` and the
/// media-level `c=` (else the session-level one).
pub fn audio_addr(sdp: &str) -> Option<SocketAddr> {
    let mut session_ip = None;
    let mut media_ip = None;
    let mut port = None;
    let mut in_audio = false;
    for line in sdp.lines() {
        let line = line.trim_end();
        if let Some(m) = line.strip_prefix("m=") {
            if port.is_some() {
                break;
            }
            in_audio = m.starts_with("audio ");
            if in_audio {
                port = m
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.parse::<u16>().ok());
            }
        } else if let Some(c) = line.strip_prefix("c=IN IP4 ") {
            let ip = c.trim().parse().ok();
            if in_audio {
                media_ip = ip;
            } else if port.is_none() {
                session_ip = ip;
            }
        }
    }
    Some(SocketAddr::new(media_ip.or(session_ip)?, port?))
}

/// A G.711/G.722 SDP as a SIP phone sends it, with RFC 4733 events.
pub fn phone_sdp(session: u64, port: u16, codecs: &[(u8, &str)]) -> String {
    let pts: Vec<String> = codecs.iter().map(|(pt, _)| pt.to_string()).collect();
    let mut sdp = format!(
        "v=0\r\no=- {session} 1 IN IP4 127.0.0.1\r\ns=tandem-bench\r\nc=IN IP4 127.0.0.1\r\n\
         t=0 0\r\nm=audio {port} RTP/AVP {} 101\r\n",
        pts.join(" ")
    );
    for (pt, name) in codecs {
        sdp.push_str(&format!("a=rtpmap:{pt} {name}/8000\r\n"));
    }
    sdp.push_str(
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
    );
    sdp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_address_prefers_media_level_connection() {
        let sdp = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2\r\n";
        assert_eq!(audio_addr(sdp), Some("10.0.0.2:4000".parse().unwrap()));
        let sdp = phone_sdp(1, 5000, &[(0, "PCMU")]);
        assert_eq!(audio_addr(&sdp), Some("127.0.0.1:5000".parse().unwrap()));
    }
}
