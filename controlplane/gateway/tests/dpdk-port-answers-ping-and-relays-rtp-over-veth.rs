//! `tandem run --packet-io dpdk` on a real link: a veth pair whose one end
//! Tandem's DPDK port drives through `net_af_packet`, and whose other end
//! lives in a network namespace of the test's own, with an address, as a
//! peer host. From that namespace the kernel pings Tandem (ARP and ICMP
//! answered by Tandem's host stack) and two RTP phones, kernel UDP sockets,
//! talk through a call set up over the ng port like Kamailio would:
//! PCMU one way, PCMA the other, transcoded sample by sample.
//!
//! Two media workers share the port, each with its own queue pair; the
//! kernel's fanout spreads the flows over the two sockets behind them, so
//! datagrams also cross between workers and ARP replies are learned by the
//! worker that did not ask. A TAP is the kernel's exception path: the host
//! keeps TCP and its own UDP services on the media address.
//!
//! A second test puts the media port itself on a TAP, whose DPDK driver
//! offloads checksums, with the kernel behind it as the peer.
//!
//! Needs root (network namespaces, raw sockets) and Debian's libdpdk-dev
//! and iputils-ping (`.ci/run` installs both); built with the gateway's
//! `dpdk` feature.

mod support;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{Kill, Ng, http_get, ng_str};
use tandem_dsp::g711;
use tandem_ng::bencode::{Limits, Node, decode};

const NG: &str = "127.0.0.1:13590";
const HTTP: &str = "127.0.0.1:13591";
const PEER: Ipv4Addr = Ipv4Addr::new(10, 199, 0, 1);
const TANDEM: Ipv4Addr = Ipv4Addr::new(10, 199, 0, 2);
/// The TAP test's ports and subnet.
const TAP_NG: &str = "127.0.0.1:13593";
const TAP_HTTP: &str = "127.0.0.1:13594";
const TAP_PEER: Ipv4Addr = Ipv4Addr::new(10, 198, 0, 1);
const TAP_TANDEM: Ipv4Addr = Ipv4Addr::new(10, 198, 0, 2);

/// The value of an unlabelled (or exactly labelled) sample in `/metrics`.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or_else(|| panic!("no {name} in /metrics:\n{text}"), |v| v as u64)
}

fn ip(args: &[&str]) -> Output {
    Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip {args:?}: {e} (Debian package iproute2)"))
}

fn ip_ok(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespace with one end of a veth pair in it (addressed `PEER`/24),
/// the other end up in ours without an address; both removed on drop.
struct Link {
    netns: String,
    ours: String,
    /// The name Tandem's exception TAP gets (Tandem creates it).
    kernel: String,
}

impl Link {
    fn new() -> Link {
        let id = std::process::id() % 100_000;
        let link = Link {
            netns: format!("tandem-dpdk-{id}"),
            ours: format!("tdk{id}a"),
            kernel: format!("tdk{id}k"),
        };
        let theirs = format!("tdk{id}b");
        link.remove();
        ip_ok(&["netns", "add", &link.netns]);
        ip_ok(&[
            "link", "add", &link.ours, "type", "veth", "peer", "name", &theirs,
        ]);
        ip_ok(&["link", "set", &theirs, "netns", &link.netns]);
        let ns = ["netns", "exec", link.netns.as_str(), "ip"];
        let addr = format!("{PEER}/24");
        for cmd in [
            vec!["addr", "add", addr.as_str(), "dev", theirs.as_str()],
            vec!["link", "set", theirs.as_str(), "up"],
            vec!["link", "set", "lo", "up"],
        ] {
            ip_ok(&[&ns[..], &cmd[..]].concat());
        }
        ip_ok(&["link", "set", &link.ours, "up"]);
        // A veth leaves the UDP checksum of locally sent datagrams for the
        // "hardware" to fill in, which on a veth never happens: the raw
        // socket at the other end would see it unfilled, and Tandem's
        // stack drops what fails the check. A NIC on a wire has no such
        // shortcut; here the kernel is told to checksum in software.
        let off = Command::new("ip")
            .args([
                "netns",
                "exec",
                &link.netns,
                "ethtool",
                "-K",
                &theirs,
                "tx",
                "off",
            ])
            .output()
            .expect("ethtool (Debian package ethtool)");
        assert!(
            off.status.success(),
            "ethtool -K {theirs} tx off: {}",
            String::from_utf8_lossy(&off.stderr)
        );
        link
    }

    fn path(&self) -> PathBuf {
        Path::new("/var/run/netns").join(&self.netns)
    }

    fn remove(&self) {
        let _ = ip(&["link", "del", &self.ours]);
        let _ = ip(&["netns", "del", &self.netns]);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.remove();
    }
}

/// UDP sockets bound to `PEER` inside the namespace: a thread enters it,
/// binds them and ends; the sockets stay in the namespace.
fn peer_sockets(link: &Link, n: usize) -> Vec<UdpSocket> {
    let path = link.path();
    std::thread::spawn(move || {
        tandem_udp::enter_netns(&path).expect("entering the test's namespace");
        (0..n)
            .map(|_| {
                let s = UdpSocket::bind((PEER, 0)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                s
            })
            .collect()
    })
    .join()
    .unwrap()
}

fn sdp(peer: Ipv4Addr, port: u16, pt: &str, name: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {peer}\r\ns=-\r\nc=IN IP4 {peer}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {pt}\r\na=rtpmap:{pt} {name}/8000\r\n"
    )
}

/// The address an SDP sends media to.
fn media_of(sdp: &str) -> SocketAddr {
    let c = sdp
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .expect("c= line");
    let m = sdp
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .expect("m=audio line");
    let port: u16 = m.split(' ').next().unwrap().parse().unwrap();
    SocketAddr::from((c.trim().parse::<Ipv4Addr>().unwrap(), port))
}

fn rtp(pt: u8, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// The tone of packet `seq`: a different sine per packet, so a swap or a
/// repeat would show.
fn tone(seq: u16) -> Vec<i16> {
    let f = 0.2 + f64::from(seq % 7) * 0.05;
    (0..160)
        .map(|i| ((f64::from(i) * f).sin() * 6000.0) as i16)
        .collect()
}

fn max_error(got: &[i16], want: &[i16]) -> i32 {
    got.iter()
        .zip(want)
        .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
        .max()
        .unwrap_or(i32::MAX)
}

/// `tandem run --packet-io dpdk` with `eal`, answering ng on `ng`; waits
/// until it answers an ng ping.
struct Tandem {
    _process: Kill,
    log: PathBuf,
    ng: Ng,
}

impl Tandem {
    fn start(
        name: &str,
        eal: &str,
        ip: Ipv4Addr,
        workers: &str,
        (ng, http): (&str, &str),
        extra: &[&str],
    ) -> Tandem {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("tandem.log");
        let process = Kill(
            Command::new(env!("CARGO_BIN_EXE_tandem"))
                .args(["run", "--packet-io", "dpdk", "--dpdk-eal", eal])
                .args(["--rtp-address", &ip.to_string(), "--workers", workers])
                .args(["--ng-listen", ng, "--http-listen", http])
                .args(["--rtp-ports", "40000-40999"])
                .args(extra)
                .stderr(std::fs::File::create(&log).unwrap())
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let mut t = Tandem {
            _process: process,
            log,
            ng: Ng::new(ng),
        };
        let log = t.log.clone();
        t.ng.wait_for_pong(Duration::from_secs(15), || {
            format!(
                "its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        t
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The MAC address of Tandem's port, from its log.
    fn mac(&self) -> String {
        self.log()
            .split_once("(port 0, ")
            .and_then(|(_, rest)| rest.split(')').next())
            .map(str::to_owned)
            .unwrap_or_default()
    }

    /// Sets up `phones.len() / 2` calls over ng, caller PCMU and callee
    /// PCMA; each call's two Tandem addresses (to the caller, to the callee).
    fn calls(
        &mut self,
        phones: &[UdpSocket],
        peer: Ipv4Addr,
        ip: Ipv4Addr,
    ) -> Vec<(SocketAddr, SocketAddr)> {
        let mut legs = Vec::new();
        for (c, pair) in phones.chunks_exact(2).enumerate() {
            let (caller, callee) = (&pair[0], &pair[1]);
            let base = |cmd: &str| {
                Node::dict()
                    .with("command", Node::str(cmd))
                    .with("call-id", Node::str(&format!("dpdk-{c}@test")))
                    .with("from-tag", Node::str("caller-tag"))
            };
            let reply = self.ng.call(base("offer").with(
                "sdp",
                Node::str(&sdp(peer, caller.local_addr().unwrap().port(), "0", "PCMU")),
            ));
            let v = decode(&reply, Limits::default()).unwrap();
            assert_eq!(ng_str(&v, "result"), "ok", "{v:?}");
            let to_callee = media_of(ng_str(&v, "sdp"));
            let reply = self
                .ng
                .call(base("answer").with("to-tag", Node::str("callee-tag")).with(
                    "sdp",
                    Node::str(&sdp(peer, callee.local_addr().unwrap().port(), "8", "PCMA")),
                ));
            let v = decode(&reply, Limits::default()).unwrap();
            assert_eq!(ng_str(&v, "result"), "ok", "{v:?}");
            let to_caller = media_of(ng_str(&v, "sdp"));
            assert_eq!(to_caller.ip(), ip, "SDP advertises the DPDK address");
            assert_eq!(to_callee.ip(), ip);
            legs.push((to_caller, to_callee));
        }
        legs
    }

    /// Ends the calls `calls` set up.
    fn hang_up(&mut self, calls: usize) {
        for c in 0..calls {
            let reply = self.ng.call(
                Node::dict()
                    .with("command", Node::str("delete"))
                    .with("call-id", Node::str(&format!("dpdk-{c}@test")))
                    .with("from-tag", Node::str("caller-tag")),
            );
            let v = decode(&reply, Limits::default()).unwrap();
            assert_eq!(ng_str(&v, "result"), "ok", "{v:?}");
        }
    }
}

/// `packets` packets each way on every call, each checked: transcoded
/// PCMU → PCMA and back sample by sample, numbered in order, none lost.
fn talk(tandem: &Tandem, phones: &[UdpSocket], legs: &[(SocketAddr, SocketAddr)], packets: u16) {
    let mut buf = [0u8; 2048];
    let mut first = true;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seq_base: Vec<Option<u16>> = vec![None; 2 * legs.len()];
    for seq in 0..packets {
        let pcm = tone(seq);
        let mut mu = [0u8; 160];
        g711::encode_ulaw(&pcm, &mut mu);
        let mut a = [0u8; 160];
        g711::encode_alaw(&pcm, &mut a);
        for (c, (to_caller, to_callee)) in legs.iter().enumerate() {
            let (caller, callee) = (&phones[2 * c], &phones[2 * c + 1]);
            caller.send_to(&rtp(0, seq, &mu), to_caller).unwrap();
            // The very first packets wait for Tandem's ARP request and
            // reply: the datagram that found no neighbour is dropped (as
            // by a kernel), so the phone repeats it until one comes.
            let (n, from) = loop {
                match callee.recv_from(&mut buf) {
                    Ok(got) => break got,
                    Err(e) if first && Instant::now() < deadline => {
                        eprintln!("waiting for the first packet ({e}); resending");
                        caller.send_to(&rtp(0, seq, &mu), to_caller).unwrap();
                    }
                    Err(e) => panic!(
                        "call {c} packet {seq} did not reach the callee: {e}\ntandem's log:\n{}",
                        tandem.log()
                    ),
                }
            };
            first = false;
            assert_eq!(from, *to_callee, "from Tandem's port for the callee");
            assert_eq!(n, 172);
            assert_eq!(buf[1] & 0x7f, 8, "transcoded to PCMA");
            // Tandem numbers its own stream: one step per packet.
            let out_seq = u16::from_be_bytes([buf[2], buf[3]]);
            let base = *seq_base[2 * c].get_or_insert(out_seq.wrapping_sub(seq));
            assert_eq!(
                out_seq,
                base.wrapping_add(seq),
                "call {c}: in order, none lost"
            );
            let mut got = [0i16; 160];
            g711::decode_alaw(&buf[12..n], &mut got);
            let want: Vec<i16> = pcm
                .iter()
                .map(|&x| g711::alaw_decode(g711::alaw_encode(x)))
                .collect();
            let err = max_error(&got, &want);
            assert!(
                err < 400,
                "call {c} packet {seq}: μ-law → A-law error {err}"
            );

            callee.send_to(&rtp(8, seq, &a), to_callee).unwrap();
            let (n, from) = caller.recv_from(&mut buf).unwrap_or_else(|e| {
                panic!(
                    "call {c} packet {seq} did not reach the caller: {e}\ntandem's log:\n{}",
                    tandem.log()
                )
            });
            assert_eq!(from, *to_caller);
            assert_eq!(n, 172);
            assert_eq!(buf[1] & 0x7f, 0, "transcoded to PCMU");
            let out_seq = u16::from_be_bytes([buf[2], buf[3]]);
            let base = *seq_base[2 * c + 1].get_or_insert(out_seq.wrapping_sub(seq));
            assert_eq!(
                out_seq,
                base.wrapping_add(seq),
                "call {c}: in order, none lost"
            );
            let mut got = [0i16; 160];
            g711::decode_ulaw(&buf[12..n], &mut got);
            let want: Vec<i16> = pcm
                .iter()
                .map(|&x| g711::ulaw_decode(g711::ulaw_encode(x)))
                .collect();
            let err = max_error(&got, &want);
            assert!(
                err < 400,
                "call {c} packet {seq}: A-law → μ-law error {err}"
            );
        }
    }
}

/// The kernel's count of UDP datagrams it dropped for a bad checksum.
fn kernel_udp_checksum_errors() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (names, values) = (udp.next().unwrap(), udp.next().unwrap());
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "InCsumErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_dpdk_media_port_answers_ping_and_transcodes_a_call_over_veth() {
    let link = Link::new();
    let eal = format!(
        "--no-huge --no-pci --no-shconf --no-telemetry -m 256 -l 0 \
         --log-level lib.eal:error --log-level pmd.net.tap:error \
         --vdev=net_af_packet0,iface={},qpairs=2 --vdev=net_tap0,iface={}",
        link.ours, link.kernel
    );
    let mut tandem = Tandem::start(
        "dpdk-veth",
        &eal,
        TANDEM,
        "2",
        (NG, HTTP),
        &[
            "--dpdk-device",
            "net_af_packet0",
            "--dpdk-exception",
            "net_tap0",
        ],
    );
    let started = tandem.log();
    assert!(
        started.contains("2 queue pair(s)") && started.contains("DPDK queue pair 1"),
        "{started}"
    );
    assert!(started.contains("checksums in software"), "{started}");
    assert!(
        started.contains("exception path to the kernel through net_tap0"),
        "{started}"
    );
    // The kernel's side of the exception port: the host on the media
    // address, with the port's MAC address.
    let addr = format!("{TANDEM}/24");
    ip_ok(&["addr", "add", &addr, "dev", &link.kernel]);
    ip_ok(&["link", "set", &link.kernel, "up"]);

    // The kernel next door resolves Tandem's address (ARP) and pings it.
    let tandem_ip = TANDEM.to_string();
    let ping = Command::new("ip")
        .args(["netns", "exec", &link.netns, "ping", "-c", "3", "-i", "0.2"])
        .args(["-W", "2", &tandem_ip])
        .output()
        .expect("ping (Debian package iputils-ping)");
    assert!(
        ping.status.success(),
        "ping {TANDEM}: {}{}\ntandem's log:\n{}",
        String::from_utf8_lossy(&ping.stdout),
        String::from_utf8_lossy(&ping.stderr),
        tandem.log()
    );
    assert!(
        String::from_utf8_lossy(&ping.stdout).contains("3 received"),
        "{}",
        String::from_utf8_lossy(&ping.stdout)
    );
    let neigh = ip(&[
        "netns",
        "exec",
        &link.netns,
        "ip",
        "neigh",
        "show",
        &tandem_ip,
    ]);
    let neigh = String::from_utf8_lossy(&neigh.stdout).to_string();
    let mac = tandem.mac();
    assert!(
        !mac.is_empty() && neigh.contains(&mac),
        "the namespace learned {neigh:?}; tandem's port is {mac:?}"
    );

    // Several calls, so that flows land on both queues.
    let calls = 8;
    let phones = peer_sockets(&link, 2 * calls);
    let legs = tandem.calls(&phones, PEER, TANDEM);
    talk(&tandem, &phones, &legs, 50);

    // A stranger's datagrams to a call's port reach nobody.
    let mut buf = [0u8; 2048];
    let stranger = peer_sockets(&link, 1).pop().unwrap();
    let (to_caller, _) = legs[0];
    for seq in 100..110u16 {
        stranger
            .send_to(&rtp(0, seq, &[0xff; 160]), to_caller)
            .unwrap();
    }
    phones[1]
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    if let Ok((n, _)) = phones[1].recv_from(&mut buf) {
        panic!(
            "a stranger's packet reached the callee ({n} bytes, seq {})",
            u16::from_be_bytes([buf[2], buf[3]])
        );
    }

    // The host keeps its own services on the media address: TCP (as SSH
    // would) and UDP on a port no call holds reach the kernel through the
    // exception port, and its answers go out through Tandem's.
    let listener = std::net::TcpListener::bind((TANDEM, 0)).unwrap();
    let tcp_port = listener.local_addr().unwrap().port();
    let echo = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, from) = listener.accept().unwrap();
        let mut got = [0u8; 5];
        s.read_exact(&mut got).unwrap();
        s.write_all(&got).unwrap();
        (from, got)
    });
    let host_udp = UdpSocket::bind((TANDEM, 5555)).unwrap();
    host_udp
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let udp_service = std::thread::spawn(move || {
        let mut q = [0u8; 16];
        let (n, from) = host_udp.recv_from(&mut q).expect("a question for the host");
        assert_eq!(&q[..n], b"ntp?");
        host_udp.send_to(b"ntp!", from).unwrap();
        from
    });
    let path = link.path();
    let (tcp_echo, udp_echo) = std::thread::spawn(move || {
        use std::io::{Read, Write};
        tandem_udp::enter_netns(&path).unwrap();
        let mut s = std::net::TcpStream::connect_timeout(
            &SocketAddr::from((TANDEM, tcp_port)),
            Duration::from_secs(5),
        )
        .expect("TCP to the host through the exception port");
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s.write_all(b"hello").unwrap();
        let mut back = [0u8; 5];
        s.read_exact(&mut back).unwrap();
        let u = UdpSocket::bind((PEER, 0)).unwrap();
        u.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        u.send_to(b"ntp?", (TANDEM, 5555)).unwrap();
        let mut ans = [0u8; 16];
        let n = u.recv(&mut ans).expect("the host's UDP answer");
        (back, ans[..n].to_vec())
    })
    .join()
    .unwrap();
    let (from, got) = echo.join().unwrap();
    assert_eq!(from.ip(), PEER);
    assert_eq!(&got, b"hello");
    assert_eq!(&tcp_echo, b"hello");
    assert_eq!(udp_echo, b"ntp!");
    assert_eq!(udp_service.join().unwrap().ip(), PEER);

    // What a NOC would watch. Both stacks' counters are published every
    // 100 ms or so.
    std::thread::sleep(Duration::from_millis(300));
    let text = http_get(HTTP, "/metrics");
    for l in text.lines().filter(|l| l.starts_with("tandem_dpdk_")) {
        eprintln!("{l}");
    }
    assert!(
        metric(
            &text,
            "tandem_dpdk_stack_frames_total{outcome=\"echo_reply\"}"
        ) >= 3,
        "{text}"
    );
    assert!(
        metric(
            &text,
            "tandem_dpdk_stack_frames_total{outcome=\"arp_reply\"}"
        ) >= 1
    );
    let udp = metric(&text, "tandem_dpdk_stack_frames_total{outcome=\"udp\"}");
    assert!(udp >= 2 * 50 * calls as u64, "{udp} datagrams");
    assert_eq!(
        metric(
            &text,
            "tandem_dpdk_stack_drops_total{reason=\"bad_udp_checksum\"}"
        ),
        0
    );
    assert!(metric(&text, "tandem_dpdk_rx_packets_total") >= udp);
    // Sixteen flows over two queues by the kernel's hash: some arrive at
    // the worker that does not hold their call, which hands them over.
    assert!(metric(&text, "tandem_dpdk_handoffs_total") > 0, "{text}");
    assert_eq!(metric(&text, "tandem_dpdk_handoff_drops_total"), 0);
    // TCP both ways, UDP, ARP: through the exception port, none lost.
    assert!(
        metric(&text, "tandem_dpdk_to_kernel_frames_total") >= 4,
        "{text}"
    );
    assert!(
        metric(&text, "tandem_dpdk_from_kernel_frames_total") >= 4,
        "{text}"
    );
    assert_eq!(metric(&text, "tandem_dpdk_kernel_drops_total"), 0, "{text}");

    tandem.hang_up(calls);
}

/// A TAP device as the media port: DPDK's `net_tap` offloads IPv4 and UDP
/// checksums (it computes them itself, as a NIC would), so Tandem writes
/// its frames for the offload and trusts the device's receive verdicts.
/// The peer is the kernel at the TAP's other end, in this namespace; it
/// drops any datagram whose checksum is wrong, and counts it.
#[test]
fn a_tap_media_port_offloads_checksums_and_transcodes_calls() {
    let iface = format!("tdk{}t", std::process::id() % 100_000);
    let eal = format!(
        "--no-huge --no-pci --no-shconf --no-telemetry -m 256 -l 0 \
         --log-level lib.eal:error --log-level pmd.net.tap:error --vdev=net_tap0,iface={iface}"
    );
    let mut tandem = Tandem::start("dpdk-tap", &eal, TAP_TANDEM, "1", (TAP_NG, TAP_HTTP), &[]);
    let started = tandem.log();
    assert!(
        started.contains("checksums offloaded both ways"),
        "{started}"
    );
    // The kernel's end of the TAP: the peer host's address.
    let addr = format!("{TAP_PEER}/24");
    ip_ok(&["addr", "add", &addr, "dev", &iface]);
    ip_ok(&["link", "set", &iface, "up"]);

    let errors_before = kernel_udp_checksum_errors();
    let phones: Vec<UdpSocket> = (0..4)
        .map(|_| {
            let s = UdpSocket::bind((TAP_PEER, 0)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            s
        })
        .collect();
    let legs = tandem.calls(&phones, TAP_PEER, TAP_TANDEM);
    talk(&tandem, &phones, &legs, 50);
    assert_eq!(
        kernel_udp_checksum_errors(),
        errors_before,
        "the kernel found bad UDP checksums in what the TAP delivered"
    );

    std::thread::sleep(Duration::from_millis(300));
    let text = http_get(TAP_HTTP, "/metrics");
    let udp = metric(&text, "tandem_dpdk_stack_frames_total{outcome=\"udp\"}");
    assert!(udp >= 2 * 50 * 2, "{udp} datagrams");
    assert_eq!(
        metric(
            &text,
            "tandem_dpdk_stack_drops_total{reason=\"bad_udp_checksum\"}"
        ),
        0
    );
    tandem.hang_up(2);
}
