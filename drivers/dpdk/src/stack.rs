//! The minimal host stack of a DPDK media port: what the kernel would do
//! for the port's address, done on the frames the port receives.
//!
//! Sans-IO: [`HostStack::handle`] takes one received Ethernet frame and a
//! buffer for a reply, and says what to do with the frame ([`Verdict`]):
//!
//! - **ARP** (RFC 826): a request for our address is answered (the reply
//!   is written to the buffer); the sender of any ARP packet for us is
//!   learned into the cache (RFC 826 "merge"), which
//!   [`HostStack::resolve`] reads before sending.
//! - **ICMP echo** (RFC 792) to our address: answered, same identifier,
//!   sequence and data.
//! - **IPv4** (RFC 791): the header checksum is checked; options are
//!   skipped; fragments are counted and dropped (media never needs them).
//! - **UDP** (RFC 768) to our address: delivered to the media path
//!   ([`Verdict::Udp`] with the payload's place in the frame); a non-zero
//!   checksum is verified in software, unless the device said it checked
//!   it ([`HostStack::handle_checked`]).
//! - **802.1Q** (IEEE 802.1Q §9.6): one VLAN tag is understood; with a
//!   VLAN configured, frames of other VLANs are not ours.
//! - Anything else for us (TCP, other ICMP, IPv6, LLDP, …) is
//!   [`Verdict::Exception`]: it belongs to the kernel, through the
//!   exception path, so SSH and routing keep working on the same NIC.
//!
//! Outgoing UDP is framed by [`HostStack::write_udp`], with the IPv4
//! header checksum always and the UDP checksum in software unless the
//! device offloads it. Every drop is counted in [`Counters`] by reason.
//! Parsing never panics and never reads past the frame (fuzz target
//! `host_stack`).
#![deny(unsafe_code)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::ops::Range;
use std::time::{Duration, Instant};

const ETH_HDR: usize = 14;
const VLAN_TAG: usize = 4;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_VLAN: u16 = 0x8100;
const PROTO_ICMP: u8 = 1;
const PROTO_UDP: u8 = 17;
const BROADCAST: [u8; 6] = [0xff; 6];

/// How long a learned ARP entry is trusted.
pub const ARP_TTL: Duration = Duration::from_secs(300);
/// The most addresses the ARP cache holds (a flood cannot grow it).
pub const ARP_CACHE_MAX: usize = 4096;

/// What to do with a received frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A UDP datagram for us: its source and destination port, and where
    /// its payload is in the frame.
    Udp {
        /// Who sent it.
        from: SocketAddrV4,
        /// Our port it is for.
        port: u16,
        /// The payload's bytes within the frame.
        payload: Range<usize>,
    },
    /// Send the reply written to the first `n` bytes of the buffer (ARP
    /// reply, ICMP echo reply); the frame itself is done with.
    Reply(usize),
    /// Not the media path's: hand the frame to the kernel.
    Exception,
    /// Dropped, and counted.
    Drop(DropReason),
}

/// What a device says it found when it checked a checksum on receive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeviceCheck {
    /// It did not check (or cannot): verify in software.
    #[default]
    Unknown,
    /// Correct.
    Good,
    /// Wrong: drop.
    Bad,
}

/// A device's verdicts on a received frame's IPv4 header and UDP
/// checksums (DPDK's `RTE_MBUF_F_RX_*_CKSUM_*` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxChecksum {
    /// The IPv4 header checksum.
    pub ip: DeviceCheck,
    /// The UDP checksum.
    pub l4: DeviceCheck,
}

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Shorter than its headers say, or a length field that lies.
    Malformed,
    /// An IPv4 header whose checksum is wrong.
    BadIpChecksum,
    /// A UDP datagram whose checksum is wrong.
    BadUdpChecksum,
    /// An IPv4 fragment.
    Fragment,
    /// Another VLAN, another host's address, or an ARP/ICMP packet that
    /// needs no answer.
    NotOurs,
    /// The reply buffer is too small for the reply.
    NoRoom,
}

/// Frames handled, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// UDP datagrams delivered.
    pub udp: u64,
    /// ARP requests answered.
    pub arp_replies: u64,
    /// ICMP echo requests answered.
    pub echo_replies: u64,
    /// Frames handed to the kernel.
    pub exceptions: u64,
    /// Malformed frames.
    pub malformed: u64,
    /// IPv4 header checksum failures.
    pub bad_ip_checksum: u64,
    /// UDP checksum failures.
    pub bad_udp_checksum: u64,
    /// IPv4 fragments dropped.
    pub fragments: u64,
    /// Frames for others, or needing nothing.
    pub not_ours: u64,
}

/// The port's own addresses and what it learned.
#[derive(Debug)]
pub struct HostStack {
    mac: [u8; 6],
    ip: Ipv4Addr,
    vlan: Option<u16>,
    /// The device fills in the IPv4 and UDP checksums of what we send
    /// (frames are written for its offload: IPv4 checksum 0, UDP checksum
    /// the pseudo-header's sum).
    pub tx_checksum_offload: bool,
    arp: HashMap<Ipv4Addr, ([u8; 6], Instant)>,
    /// The last neighbour learned from a frame, for [`take_learned`](Self::take_learned).
    learned: Option<(Ipv4Addr, [u8; 6])>,
    counters: Counters,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn ip_at(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(o))
}

fn mac_at(b: &[u8], at: usize) -> Option<[u8; 6]> {
    b.get(at..at + 6)?.try_into().ok()
}

/// The Internet checksum (RFC 1071) of `data`, folded, not complemented,
/// continuing from `sum` (itself folded or not).
///
/// The ones' complement sum does not depend on byte order (RFC 1071
/// §2(B)): the words are added eight bytes at a time in the machine's
/// order, as two 32-bit halves into a 64-bit accumulator that cannot
/// overflow below 2^34 bytes, and the folded result is put in network
/// order once. Four times fewer additions than 16-bit words, and no byte
/// swaps: this runs twice per relayed datagram in software.
pub fn ones_sum(data: &[u8], sum: u32) -> u32 {
    let mut acc = 0u64;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_ne_bytes(c.try_into().unwrap_or_default());
        acc += (w & 0xffff_ffff) + (w >> 32);
    }
    // The tail, zero-padded after its last byte (RFC 1071's odd byte),
    // read in pieces: a copy into a padded array and an 8-byte load of it
    // would stall on store forwarding.
    let mut rest = chunks.remainder();
    if let Some((four, more)) = rest.split_first_chunk::<4>() {
        acc += u64::from(u32::from_ne_bytes(*four));
        rest = more;
    }
    if let Some((two, more)) = rest.split_first_chunk::<2>() {
        acc += u64::from(u16::from_ne_bytes(*two));
        rest = more;
    }
    if let [last] = rest {
        acc += u64::from(u16::from_ne_bytes([*last, 0]));
    }
    // Machine order to network order (a no-op on big-endian machines).
    let folded = u16::from_be(fold16(acc));
    u32::from(fold16(u64::from(folded) + u64::from(sum)))
}

/// Folds a 64-bit ones' complement sum to 16 bits, end-around carries
/// included, in a fixed number of steps (no loop to mispredict).
#[inline]
fn fold16(acc: u64) -> u16 {
    let (lo, carry) = (acc as u32).overflowing_add((acc >> 32) as u32);
    let x = lo + u32::from(carry); // no overflow: lo wrapped, so lo < u32::MAX
    let (lo, carry) = (x as u16).overflowing_add((x >> 16) as u16);
    lo + u16::from(carry) // likewise
}

/// Whether an IPv4 header's checksum is right: the usual 20-byte header
/// summed as five words inline, anything longer the general way.
#[inline]
fn header_checksum_ok(header: &[u8]) -> bool {
    let Ok(h) = <&[u8; 20]>::try_from(header) else {
        return checksum(header, 0) == 0;
    };
    let word = |i: usize| u64::from(u32::from_ne_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]));
    let mut acc = word(0) + word(4) + word(8) + word(12) + word(16);
    // Five 32-bit words fit in 35 bits: two folds to 17, one more to 16.
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    // All ones in either byte order.
    acc == 0xffff
}

fn checksum(data: &[u8], sum: u32) -> u16 {
    !(ones_sum(data, sum) as u16)
}

/// The sum of 16-bit words given as values (headers Tandem writes: summed
/// from registers, not read back from the bytes just stored, which would
/// stall on store forwarding).
fn words_sum(words: &[u32]) -> u32 {
    let mut sum: u32 = words.iter().sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

/// The UDP pseudo-header's sum (RFC 768).
fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, len: u16) -> u32 {
    let (s, d) = (u32::from(src), u32::from(dst));
    words_sum(&[
        s >> 16,
        s & 0xffff,
        d >> 16,
        d & 0xffff,
        u32::from(PROTO_UDP),
        u32::from(len),
    ])
}

impl HostStack {
    /// The stack of a port with this MAC address and IPv4 address, on
    /// `vlan` (802.1Q VID) if set.
    pub fn new(mac: [u8; 6], ip: Ipv4Addr, vlan: Option<u16>) -> HostStack {
        HostStack {
            mac,
            ip,
            vlan,
            tx_checksum_offload: false,
            arp: HashMap::new(),
            learned: None,
            counters: Counters::default(),
        }
    }

    /// What happened so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The MAC address of `ip`, if learned within [`ARP_TTL`].
    pub fn resolve(&self, now: Instant, ip: Ipv4Addr) -> Option<[u8; 6]> {
        self.arp
            .get(&ip)
            .filter(|(_, at)| now.saturating_duration_since(*at) < ARP_TTL)
            .map(|(mac, _)| *mac)
    }

    /// Takes the neighbour the last [`handle`](Self::handle)d frame taught
    /// the cache, if any: a port shared by several workers publishes it to
    /// the others, whose queues may never see that peer's ARP.
    pub fn take_learned(&mut self) -> Option<(Ipv4Addr, [u8; 6])> {
        self.learned.take()
    }

    /// Puts `ip` at `mac` into the ARP cache (learned at `now`), as an
    /// ARP frame for us would. Broadcast and multicast addresses are
    /// refused; a full cache first sheds expired entries, then refuses.
    pub fn learn(&mut self, now: Instant, ip: Ipv4Addr, mac: [u8; 6]) {
        if ip.is_unspecified() || ip.is_broadcast() || mac == BROADCAST || mac[0] & 1 == 1 {
            return;
        }
        if self.arp.len() >= ARP_CACHE_MAX && !self.arp.contains_key(&ip) {
            self.arp
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < ARP_TTL);
            if self.arp.len() >= ARP_CACHE_MAX {
                return;
            }
        }
        let before = self.arp.insert(ip, (mac, now));
        // Published when new, moved, or half-way to expiry, so that a
        // shared table stays fresh without a write per ARP frame.
        let stale = before
            .is_none_or(|(old, at)| old != mac || now.saturating_duration_since(at) >= ARP_TTL / 2);
        if stale {
            self.learned = Some((ip, mac));
        }
    }

    fn drop(&mut self, why: DropReason) -> Verdict {
        let c = &mut self.counters;
        match why {
            DropReason::Malformed => c.malformed += 1,
            DropReason::BadIpChecksum => c.bad_ip_checksum += 1,
            DropReason::BadUdpChecksum => c.bad_udp_checksum += 1,
            DropReason::Fragment => c.fragments += 1,
            DropReason::NotOurs | DropReason::NoRoom => c.not_ours += 1,
        }
        Verdict::Drop(why)
    }

    fn exception(&mut self) -> Verdict {
        self.counters.exceptions += 1;
        Verdict::Exception
    }

    /// Writes the Ethernet header (and our VLAN tag) of a frame to `dst`
    /// into `out`; returns the header length, or `None` without room.
    fn write_eth(&self, out: &mut [u8], dst: [u8; 6], ethertype: u16) -> Option<usize> {
        let len = ETH_HDR + if self.vlan.is_some() { VLAN_TAG } else { 0 };
        let h = out.get_mut(..len)?;
        h[..6].copy_from_slice(&dst);
        h[6..12].copy_from_slice(&self.mac);
        match self.vlan {
            Some(vid) => {
                h[12..14].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
                h[14..16].copy_from_slice(&(vid & 0x0fff).to_be_bytes());
                h[16..18].copy_from_slice(&ethertype.to_be_bytes());
            }
            None => h[12..14].copy_from_slice(&ethertype.to_be_bytes()),
        }
        Some(len)
    }

    /// Handles one received frame; a reply, if any, goes into `reply`.
    /// Every checksum is verified in software.
    pub fn handle(&mut self, now: Instant, frame: &[u8], reply: &mut [u8]) -> Verdict {
        self.handle_checked(now, frame, reply, RxChecksum::default())
    }

    /// [`handle`](Self::handle) for a frame whose checksums the device
    /// checked: what it found good is not verified again, what it found
    /// bad is dropped and counted as if we had found it.
    // The device's verdicts travel down as an argument, not in `self`: a
    // store next to the MAC address read right after stalled every frame
    // (store forwarding).
    pub fn handle_checked(
        &mut self,
        now: Instant,
        frame: &[u8],
        reply: &mut [u8],
        device: RxChecksum,
    ) -> Verdict {
        let (Some(dst), Some(src), Some(mut ethertype)) =
            (mac_at(frame, 0), mac_at(frame, 6), be16(frame, 12))
        else {
            return self.drop(DropReason::Malformed);
        };
        let mut at = ETH_HDR;
        let mut vid = None;
        if ethertype == ETHERTYPE_VLAN {
            let (Some(tci), Some(inner)) = (be16(frame, 14), be16(frame, 16)) else {
                return self.drop(DropReason::Malformed);
            };
            vid = Some(tci & 0x0fff);
            ethertype = inner;
            at += VLAN_TAG;
        }
        if vid != self.vlan {
            return self.drop(DropReason::NotOurs);
        }
        if dst != self.mac && dst != BROADCAST {
            // Multicast and other hosts' unicast (promiscuous mode).
            return if dst[0] & 1 == 1 {
                self.exception()
            } else {
                self.drop(DropReason::NotOurs)
            };
        }
        match ethertype {
            ETHERTYPE_ARP => self.arp_in(now, frame, at, reply),
            ETHERTYPE_IPV4 => self.ipv4_in(now, frame, at, src, reply, device),
            _ => self.exception(),
        }
    }

    fn arp_in(&mut self, now: Instant, frame: &[u8], at: usize, reply: &mut [u8]) -> Verdict {
        let Some(arp) = frame.get(at..at + 28) else {
            return self.drop(DropReason::Malformed);
        };
        // Ethernet / IPv4 only (RFC 826's hrd 1, pro 0x0800, 6 and 4).
        if arp[..6] != [0, 1, 8, 0, 6, 4] {
            return self.exception();
        }
        let op = u16::from_be_bytes([arp[6], arp[7]]);
        let (Some(sha), Some(spa), Some(tpa)) = (mac_at(arp, 8), ip_at(arp, 14), ip_at(arp, 24))
        else {
            return self.drop(DropReason::Malformed);
        };
        if tpa != self.ip {
            return self.drop(DropReason::NotOurs);
        }
        self.learn(now, spa, sha);
        if op != 1 {
            // A reply (or an announcement) for us: learned, nothing to send.
            self.counters.not_ours += 1;
            return Verdict::Drop(DropReason::NotOurs);
        }
        let Some(h) = self.write_eth(reply, sha, ETHERTYPE_ARP) else {
            return self.drop(DropReason::NoRoom);
        };
        let Some(body) = reply.get_mut(h..h + 28) else {
            return self.drop(DropReason::NoRoom);
        };
        body[..6].copy_from_slice(&[0, 1, 8, 0, 6, 4]);
        body[6..8].copy_from_slice(&2u16.to_be_bytes());
        body[8..14].copy_from_slice(&self.mac);
        body[14..18].copy_from_slice(&self.ip.octets());
        body[18..24].copy_from_slice(&sha);
        body[24..28].copy_from_slice(&spa.octets());
        self.counters.arp_replies += 1;
        // Padded to Ethernet's 60-byte minimum.
        let len = (h + 28).max(60);
        if let Some(pad) = reply.get_mut(h + 28..len) {
            pad.fill(0);
        }
        Verdict::Reply(len.min(reply.len()))
    }

    fn ipv4_in(
        &mut self,
        now: Instant,
        frame: &[u8],
        at: usize,
        src_mac: [u8; 6],
        reply: &mut [u8],
        device: RxChecksum,
    ) -> Verdict {
        let Some(&vihl) = frame.get(at) else {
            return self.drop(DropReason::Malformed);
        };
        let ihl = usize::from(vihl & 0x0f) * 4;
        let Some(total) = be16(frame, at + 2).map(usize::from) else {
            return self.drop(DropReason::Malformed);
        };
        if vihl >> 4 != 4 || ihl < 20 || total < ihl || frame.len() < at + total {
            return self.drop(DropReason::Malformed);
        }
        let header = &frame[at..at + ihl];
        let ip_ok = match device.ip {
            DeviceCheck::Good => true,
            DeviceCheck::Bad => false,
            DeviceCheck::Unknown => header_checksum_ok(header),
        };
        if !ip_ok {
            return self.drop(DropReason::BadIpChecksum);
        }
        let (Some(src), Some(dst)) = (ip_at(header, 12), ip_at(header, 16)) else {
            return self.drop(DropReason::Malformed);
        };
        if dst != self.ip {
            return if dst.is_broadcast() || dst.is_multicast() {
                self.exception()
            } else {
                self.drop(DropReason::NotOurs)
            };
        }
        let flags_frag = u16::from_be_bytes([header[6], header[7]]);
        if flags_frag & 0x3fff != 0 {
            // MF set or a non-zero offset.
            return self.drop(DropReason::Fragment);
        }
        let body = at + ihl..at + total;
        match header[9] {
            PROTO_UDP => self.udp_in(frame, body, src, dst, device),
            PROTO_ICMP => self.icmp_in(now, frame, body, header, src, src_mac, reply),
            _ => self.exception(),
        }
    }

    fn udp_in(
        &mut self,
        frame: &[u8],
        body: Range<usize>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        device: RxChecksum,
    ) -> Verdict {
        let udp = &frame[body.clone()];
        let (Some(sport), Some(dport), Some(len), Some(sum)) =
            (be16(udp, 0), be16(udp, 2), be16(udp, 4), be16(udp, 6))
        else {
            return self.drop(DropReason::Malformed);
        };
        let len = usize::from(len);
        if len < 8 || len > udp.len() {
            return self.drop(DropReason::Malformed);
        }
        // A zero checksum is "none" (RFC 768).
        let udp_ok = match device.l4 {
            DeviceCheck::Good => true,
            DeviceCheck::Bad => sum == 0,
            DeviceCheck::Unknown => {
                sum == 0 || checksum(&udp[..len], pseudo_header(src, dst, len as u16)) == 0
            }
        };
        if !udp_ok {
            return self.drop(DropReason::BadUdpChecksum);
        }
        self.counters.udp += 1;
        Verdict::Udp {
            from: SocketAddrV4::new(src, sport),
            port: dport,
            payload: body.start + 8..body.start + len,
        }
    }

    #[allow(clippy::too_many_arguments)] // the parsed layers, passed down
    fn icmp_in(
        &mut self,
        now: Instant,
        frame: &[u8],
        body: Range<usize>,
        ip_header: &[u8],
        src: Ipv4Addr,
        src_mac: [u8; 6],
        reply: &mut [u8],
    ) -> Verdict {
        let icmp = &frame[body];
        if icmp.len() < 8 || checksum(icmp, 0) != 0 {
            return self.drop(DropReason::Malformed);
        }
        if icmp[0] != 8 || icmp[1] != 0 {
            // Not an echo request: the kernel's (unreachables, ...).
            return self.exception();
        }
        self.learn(now, src, src_mac);
        let Some(h) = self.write_eth(reply, src_mac, ETHERTYPE_IPV4) else {
            return self.drop(DropReason::NoRoom);
        };
        let total = 20 + icmp.len();
        let Some(out) = reply.get_mut(h..h + total) else {
            return self.drop(DropReason::NoRoom);
        };
        // A fresh 20-byte header (options are not echoed), TTL 64.
        out[..20].fill(0);
        out[0] = 0x45;
        out[1] = ip_header[1];
        out[8] = 64;
        out[9] = PROTO_ICMP;
        out[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        out[4..6].copy_from_slice(&ip_header[4..6]);
        out[12..16].copy_from_slice(&self.ip.octets());
        out[16..20].copy_from_slice(&src.octets());
        let ip_sum = checksum(&out[..20], 0);
        out[10..12].copy_from_slice(&ip_sum.to_be_bytes());
        out[20..].copy_from_slice(icmp);
        out[20] = 0; // echo reply
        out[22..24].fill(0);
        let sum = checksum(&out[20..], 0);
        out[22..24].copy_from_slice(&sum.to_be_bytes());
        self.counters.echo_replies += 1;
        Verdict::Reply(h + total)
    }

    /// The length of the headers [`write_udp_headers`](HostStack::write_udp_headers)
    /// writes in front of a UDP payload: Ethernet (with our VLAN tag),
    /// IPv4 without options, UDP.
    pub fn header_len(&self) -> usize {
        ETH_HDR + if self.vlan.is_some() { VLAN_TAG } else { 0 } + 28
    }

    /// Writes the headers of a UDP datagram from our `port` to `to` (whose
    /// MAC is `mac`, from [`resolve`](HostStack::resolve)) into `hdr`,
    /// exactly [`header_len`](HostStack::header_len) bytes in front of
    /// `payload`. `None` when `hdr` has the wrong length or the datagram is
    /// too long for one IPv4 packet.
    pub fn write_udp_headers(
        &self,
        hdr: &mut [u8],
        port: u16,
        to: SocketAddrV4,
        mac: [u8; 6],
        payload: &[u8],
        id: u16,
    ) -> Option<()> {
        if hdr.len() != self.header_len() {
            return None;
        }
        let h = self.write_eth(hdr, mac, ETHERTYPE_IPV4)?;
        let udp_len = u16::try_from(8 + payload.len()).ok()?;
        let total = u16::try_from(28 + payload.len()).ok()?;
        let (ip, udp) = hdr[h..].split_at_mut(20);
        let (src, dst) = (u32::from(self.ip), u32::from(*to.ip()));
        // Version 4, 20 bytes, DSCP EF (46, voice), don't fragment, TTL 64.
        let (ver_tos, frag, ttl_proto) = (0x45b8u32, 0x4000u32, (64u32 << 8) | 17);
        let ip_sum = !(words_sum(&[
            ver_tos,
            u32::from(total),
            u32::from(id),
            frag,
            ttl_proto,
            src >> 16,
            src & 0xffff,
            dst >> 16,
            dst & 0xffff,
        ]) as u16);
        ip.copy_from_slice(&[
            0x45, 0xb8, 0, 0, 0, 0, 0x40, 0, 64, PROTO_UDP, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip[4..6].copy_from_slice(&id.to_be_bytes());
        ip[10..12].copy_from_slice(&ip_sum.to_be_bytes());
        ip[12..16].copy_from_slice(&self.ip.octets());
        ip[16..20].copy_from_slice(&to.ip().octets());
        udp[..2].copy_from_slice(&port.to_be_bytes());
        udp[2..4].copy_from_slice(&to.port().to_be_bytes());
        udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
        udp[6..8].fill(0);
        if self.tx_checksum_offload {
            // The device's offload starts from the pseudo-header's sum
            // (not complemented) in the UDP checksum and a zero IPv4 one.
            ip[10..12].fill(0);
            let p = pseudo_header(self.ip, *to.ip(), udp_len) as u16;
            udp[6..8].copy_from_slice(&p.to_be_bytes());
        } else {
            let head = words_sum(&[
                pseudo_header(self.ip, *to.ip(), udp_len),
                u32::from(port),
                u32::from(to.port()),
                u32::from(udp_len),
            ]);
            let s = ones_sum(payload, head);
            // RFC 768: a computed 0 is sent as all ones.
            let sum = match !(s as u16) {
                0 => 0xffff,
                v => v,
            };
            udp[6..8].copy_from_slice(&sum.to_be_bytes());
        }
        Some(())
    }

    /// Frames a UDP datagram into `out` (headers, then a copy of
    /// `payload`); returns the frame length, or `None` when `out` is too
    /// small or the datagram too long.
    pub fn write_udp(
        &self,
        out: &mut [u8],
        port: u16,
        to: SocketAddrV4,
        mac: [u8; 6],
        payload: &[u8],
        id: u16,
    ) -> Option<usize> {
        let h = self.header_len();
        let frame = out.get_mut(..h + payload.len())?;
        let (hdr, body) = frame.split_at_mut(h);
        body.copy_from_slice(payload);
        self.write_udp_headers(hdr, port, to, mac, payload, id)?;
        Some(h + payload.len())
    }

    /// An ARP request for `ip` (who has it?), broadcast, into `out`;
    /// returns the frame length (padded to 60 bytes).
    pub fn write_arp_request(&self, out: &mut [u8], ip: Ipv4Addr) -> Option<usize> {
        let h = self.write_eth(out, BROADCAST, ETHERTYPE_ARP)?;
        let len = (h + 28).max(60);
        let frame = out.get_mut(..len)?;
        let body = &mut frame[h..];
        body.fill(0);
        body[..8].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        body[8..14].copy_from_slice(&self.mac);
        body[14..18].copy_from_slice(&self.ip.octets());
        body[24..28].copy_from_slice(&ip.octets());
        Some(len)
    }

    /// Our IPv4 address.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// Our MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
    const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
    const OUR_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 9);

    fn arp_request(tpa: Ipv4Addr) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&BROADCAST);
        f.extend_from_slice(&PEER_MAC);
        f.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&PEER_MAC);
        f.extend_from_slice(&PEER_IP.octets());
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&tpa.octets());
        f
    }

    #[test]
    fn a_device_s_checksum_verdicts_replace_the_software_check() {
        let now = Instant::now();
        let frame_from = |stack: &HostStack, frame: &mut [u8]| {
            stack
                .write_udp(
                    frame,
                    30000,
                    SocketAddrV4::new(OUR_IP, 40000),
                    OUR_MAC,
                    b"rtp",
                    7,
                )
                .unwrap()
        };
        let mut frame = [0u8; 256];
        let n = frame_from(&HostStack::new(PEER_MAC, PEER_IP, None), &mut frame);
        let good = frame[..n].to_vec();
        let mut bad_udp = good.clone();
        *bad_udp.last_mut().unwrap() ^= 1;
        let mut out = [0u8; 128];
        let device = |ip, l4| RxChecksum { ip, l4 };
        let mut us = HostStack::new(OUR_MAC, OUR_IP, None);
        // Unknown: verified here.
        assert!(matches!(
            us.handle(now, &good, &mut out),
            Verdict::Udp { .. }
        ));
        assert_eq!(
            us.handle(now, &bad_udp, &mut out),
            Verdict::Drop(DropReason::BadUdpChecksum)
        );
        // Good: trusted without a look (the device read the bytes on the wire).
        let trusted = device(DeviceCheck::Good, DeviceCheck::Good);
        assert!(matches!(
            us.handle_checked(now, &bad_udp, &mut out, trusted),
            Verdict::Udp { .. }
        ));
        // Bad: dropped and counted, however the bytes look now.
        for (d, why) in [
            (
                device(DeviceCheck::Bad, DeviceCheck::Good),
                DropReason::BadIpChecksum,
            ),
            (
                device(DeviceCheck::Good, DeviceCheck::Bad),
                DropReason::BadUdpChecksum,
            ),
        ] {
            assert_eq!(
                us.handle_checked(now, &good, &mut out, d),
                Verdict::Drop(why)
            );
        }
        assert_eq!(us.counters().bad_ip_checksum, 1);
        assert_eq!(us.counters().bad_udp_checksum, 2);
        // The verdict applies to one frame only.
        assert!(matches!(
            us.handle(now, &good, &mut out),
            Verdict::Udp { .. }
        ));

        // Sending for a device that fills the checksums in: a zero IPv4
        // checksum and the pseudo-header's sum in UDP's.
        let mut offloaded = HostStack::new(PEER_MAC, PEER_IP, None);
        offloaded.tx_checksum_offload = true;
        let n = frame_from(&offloaded, &mut frame);
        assert_eq!(frame[24..26], [0, 0], "IPv4 checksum left to the device");
        let pseudo = pseudo_header(PEER_IP, OUR_IP, 11) as u16;
        assert_eq!(frame[40..42], pseudo.to_be_bytes());
        assert_eq!(n, 14 + 20 + 8 + 3);
    }

    #[test]
    fn arp_requests_for_us_are_answered_and_the_asker_learned() {
        let now = Instant::now();
        let mut s = HostStack::new(OUR_MAC, OUR_IP, None);
        let mut out = [0u8; 128];
        let Verdict::Reply(n) = s.handle(now, &arp_request(OUR_IP), &mut out) else {
            panic!("no reply");
        };
        assert_eq!(n, 60);
        assert_eq!(out[..6], PEER_MAC);
        assert_eq!(out[6..12], OUR_MAC);
        assert_eq!(out[20..22], [0, 2], "an ARP reply");
        assert_eq!(out[22..28], OUR_MAC);
        assert_eq!(out[28..32], OUR_IP.octets());
        assert_eq!(out[38..42], PEER_IP.octets());
        assert_eq!(s.resolve(now, PEER_IP), Some(PEER_MAC));
        assert_eq!(s.resolve(now + ARP_TTL, PEER_IP), None, "stale");
        // For someone else: dropped, not learned twice, not answered.
        let other = s.handle(now, &arp_request(Ipv4Addr::new(192, 0, 2, 77)), &mut out);
        assert_eq!(other, Verdict::Drop(DropReason::NotOurs));
        assert_eq!(s.counters().arp_replies, 1);
    }

    fn ipv4(proto: u8, src: Ipv4Addr, dst: Ipv4Addr, body: &[u8], flags_frag: u16) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&OUR_MAC);
        f.extend_from_slice(&PEER_MAC);
        f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let total = (20 + body.len()) as u16;
        let mut ip = vec![0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, proto, 0, 0];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip[6..8].copy_from_slice(&flags_frag.to_be_bytes());
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        let sum = checksum(&ip, 0);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(body);
        f
    }

    #[test]
    fn udp_sent_by_the_stack_is_received_by_it_with_checksums() {
        let now = Instant::now();
        let peer = HostStack::new(PEER_MAC, PEER_IP, Some(42));
        let mut us = HostStack::new(OUR_MAC, OUR_IP, Some(42));
        let mut frame = [0u8; 256];
        let payload = b"\x80\x08 RTP-ish payload";
        let n = peer
            .write_udp(
                &mut frame,
                30000,
                SocketAddrV4::new(OUR_IP, 40000),
                OUR_MAC,
                payload,
                7,
            )
            .unwrap();
        assert_eq!(n, 18 + 28 + payload.len());
        let v = us.handle(now, &frame[..n], &mut [0u8; 64]);
        let Verdict::Udp {
            from,
            port,
            payload: at,
        } = v
        else {
            panic!("{v:?}");
        };
        assert_eq!(from, SocketAddrV4::new(PEER_IP, 30000));
        assert_eq!(port, 40000);
        assert_eq!(&frame[at], payload);
        // A flipped payload bit fails the UDP checksum; one in the IP
        // header fails the header checksum; another VLAN is not ours.
        let mut bad = frame;
        bad[n - 1] ^= 1;
        assert_eq!(
            us.handle(now, &bad[..n], &mut []),
            Verdict::Drop(DropReason::BadUdpChecksum)
        );
        let mut bad = frame;
        bad[18 + 8] ^= 1;
        assert_eq!(
            us.handle(now, &bad[..n], &mut []),
            Verdict::Drop(DropReason::BadIpChecksum)
        );
        let mut other = frame;
        other[15] = 43;
        assert_eq!(
            us.handle(now, &other[..n], &mut []),
            Verdict::Drop(DropReason::NotOurs)
        );
        let c = us.counters();
        assert_eq!((c.udp, c.bad_udp_checksum, c.bad_ip_checksum), (1, 1, 1));
    }

    #[test]
    fn pings_are_answered_fragments_dropped_and_tcp_goes_to_the_kernel() {
        let now = Instant::now();
        let mut s = HostStack::new(OUR_MAC, OUR_IP, None);
        let mut echo = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1];
        echo.extend_from_slice(b"abcdefgh");
        let sum = checksum(&echo, 0);
        echo[2..4].copy_from_slice(&sum.to_be_bytes());
        let mut out = [0u8; 128];
        let Verdict::Reply(n) =
            s.handle(now, &ipv4(PROTO_ICMP, PEER_IP, OUR_IP, &echo, 0), &mut out)
        else {
            panic!("no echo reply");
        };
        assert_eq!(n, 14 + 20 + echo.len());
        assert_eq!(out[..6], PEER_MAC);
        assert_eq!(checksum(&out[14..34], 0), 0, "IP header checksum");
        assert_eq!(checksum(&out[34..n], 0), 0, "ICMP checksum");
        assert_eq!(out[34], 0, "echo reply");
        assert_eq!(out[38..n], echo[4..], "same id, sequence and data");
        let frag = ipv4(PROTO_UDP, PEER_IP, OUR_IP, &[0; 16], 0x2000);
        assert_eq!(
            s.handle(now, &frag, &mut out),
            Verdict::Drop(DropReason::Fragment)
        );
        let tcp = ipv4(6, PEER_IP, OUR_IP, &[0; 20], 0);
        assert_eq!(s.handle(now, &tcp, &mut out), Verdict::Exception);
        let ipv6 = [&OUR_MAC[..], &PEER_MAC[..], &[0x86, 0xdd], &[0; 40]].concat();
        assert_eq!(s.handle(now, &ipv6, &mut out), Verdict::Exception);
        assert_eq!(
            s.handle(now, &[0; 13], &mut out),
            Verdict::Drop(DropReason::Malformed)
        );
    }

    #[test]
    fn the_fast_ones_sum_equals_rfc_1071_word_by_word() {
        fn reference(data: &[u8], mut sum: u32) -> u32 {
            let mut chunks = data.chunks_exact(2);
            for c in &mut chunks {
                sum = sum.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
            }
            if let [last] = chunks.remainder() {
                sum = sum.wrapping_add(u32::from(*last) << 8);
            }
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            sum
        }
        // RFC 1071 §3's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            ones_sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0),
            0xddf2
        );
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut data = vec![0u8; 1600];
        for b in &mut data {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        for len in (0..=64).chain([171, 172, 180, 1471, 1500, 1600]) {
            for start in [0, 1, 3] {
                let d = &data[start..(start + len).min(data.len())];
                for sum in [0, 1, 0xffff, 0x1_2345, u32::MAX >> 1] {
                    assert_eq!(
                        ones_sum(d, sum),
                        reference(d, sum),
                        "len {len}, start {start}, sum {sum:#x}"
                    );
                }
            }
        }
        // All ones stay all ones (no carry lost at the top).
        assert_eq!(ones_sum(&[0xff; 1500], 0), 0xffff);
    }

    #[test]
    fn the_inline_header_check_agrees_with_the_general_one() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..20_000 {
            let mut h = [0u8; 20];
            for b in &mut h {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            if round % 2 == 0 {
                // Half of them made right.
                h[10..12].fill(0);
                let c = checksum(&h, 0);
                h[10..12].copy_from_slice(&c.to_be_bytes());
                assert!(header_checksum_ok(&h));
            }
            assert_eq!(header_checksum_ok(&h), checksum(&h, 0) == 0, "{h:02x?}");
        }
        // Longer headers (options) go the general way.
        let mut h = [0x11u8; 24];
        h[10..12].fill(0);
        let c = checksum(&h, 0);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        assert!(header_checksum_ok(&h));
        h[0] ^= 1;
        assert!(!header_checksum_ok(&h));
    }

    #[test]
    fn the_arp_cache_is_bounded() {
        let now = Instant::now();
        let mut s = HostStack::new(OUR_MAC, OUR_IP, None);
        for i in 0..(ARP_CACHE_MAX as u32 + 100) {
            s.learn(now, Ipv4Addr::from(0x0a00_0000 + i), PEER_MAC);
        }
        assert_eq!(s.arp.len(), ARP_CACHE_MAX);
    }
}
