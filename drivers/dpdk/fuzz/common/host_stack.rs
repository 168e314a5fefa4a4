//! The checks the `host_stack` fuzz target runs on one input, kept apart
//! so the replay test can include them.
//!
//! One input is one received Ethernet frame, handed to stacks without and
//! with a VLAN, checksums checked in software, trusted as good, or found
//! bad by the device:
//! 1. `HostStack::handle` never panics;
//! 2. a `Udp` verdict's payload lies inside the frame, after the headers;
//! 3. a `Reply(n)` fits the reply buffer, is addressed from our MAC, and
//!    (when it is IPv4) has a correct IPv4 header checksum;
//! 4. every frame is counted exactly once.

use std::net::Ipv4Addr;
use std::time::Instant;

use tandem_dpdk::stack::{DeviceCheck, HostStack, RxChecksum, Verdict, ones_sum};

const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];

pub(crate) fn host_stack(data: &[u8]) {
    #[allow(clippy::disallowed_methods)] // the harness owns its clock
    let now = Instant::now();
    let device = |c| RxChecksum { ip: c, l4: c };
    for (vlan, check) in [
        (None, DeviceCheck::Unknown),
        (Some(42), DeviceCheck::Unknown),
        (None, DeviceCheck::Good),
        (None, DeviceCheck::Bad),
    ] {
        let mut s = HostStack::new(MAC, Ipv4Addr::new(192, 0, 2, 1), vlan);
        s.tx_checksum_offload = check == DeviceCheck::Good;
        let mut reply = [0u8; 2048];
        let v = s.handle_checked(now, data, &mut reply, device(check));
        match &v {
            Verdict::Udp { payload, .. } => {
                assert!(
                    payload.start >= 14 + 28 && payload.end <= data.len(),
                    "{v:?}"
                );
                assert!(payload.start <= payload.end);
            }
            Verdict::Reply(n) => {
                assert!(*n <= reply.len() && *n >= 42, "{v:?}");
                assert_eq!(reply[6..12], MAC);
                let ip_at = if vlan.is_some() { 18 } else { 14 };
                let ethertype = u16::from_be_bytes([reply[ip_at - 2], reply[ip_at - 1]]);
                if ethertype == 0x0800 {
                    assert_eq!(
                        ones_sum(&reply[ip_at..ip_at + 20], 0),
                        0xffff,
                        "IP checksum"
                    );
                }
            }
            Verdict::Exception | Verdict::Drop(_) => {}
        }
        let c = s.counters();
        let counted = c.udp
            + c.arp_replies
            + c.echo_replies
            + c.exceptions
            + c.malformed
            + c.bad_ip_checksum
            + c.bad_udp_checksum
            + c.fragments
            + c.not_ours;
        assert_eq!(counted, 1, "{v:?}: {c:?}");
    }
}
