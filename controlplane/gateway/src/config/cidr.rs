//! CIDR address blocks (RFC 4632 notation, RFC 4291 §2.3 for IPv6) for the
//! inbound source ACL of a trunk.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address block such as `192.0.2.0/24` or `2001:db8::/32`. A bare
/// address is a block of one (`/32` or `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix_len: u8,
}

impl Cidr {
    /// The block's first address.
    pub(crate) fn network(&self) -> IpAddr {
        self.network
    }

    /// The number of leading bits that must match.
    pub(crate) fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Whether `ip` is in the block. An IPv4-mapped IPv6 address
    /// (`::ffff:192.0.2.7`, what a dual-stack socket reports for an IPv4
    /// peer) matches the IPv4 blocks it maps to, so the ACL means the same
    /// whichever socket the packet came in on.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask32(self.prefix_len);
                u32::from(ip) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask128(self.prefix_len);
                u128::from(ip) & mask == u128::from(net)
            }
            _ => false,
        }
    }
}

fn mask32(len: u8) -> u32 {
    // `checked_shl` because a shift by 32 overflows: /0 is "everything".
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = String;

    /// Parses `ADDR/LEN` or a bare `ADDR`. Host bits set below the prefix
    /// (`192.0.2.1/24`) are an error rather than silently cleared: such an
    /// entry is usually a typo for either the host or the network, and the
    /// message proposes the network.
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| {
            format!(
                "expected an address block such as \"192.0.2.0/24\" or \"2001:db8::/32\", got {s:?}"
            )
        })?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix_len = match len {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max && !l.starts_with('+') => n,
                _ => return Err(format!("prefix length in {s:?} must be 0 to {max}")),
            },
        };
        let cleared = match network {
            IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & mask32(prefix_len)).into()),
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & mask128(prefix_len)).into()),
        };
        if cleared != network {
            return Err(format!(
                "{s:?} has host bits set below /{prefix_len}; did you mean \"{cleared}/{prefix_len}\" (the network) or \"{network}\" (the host)?"
            ));
        }
        Ok(Cidr {
            network,
            prefix_len,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_blocks_match_their_addresses_only() {
        let c: Cidr = "192.0.2.0/24".parse().unwrap();
        assert!(c.contains(ip("192.0.2.0")));
        assert!(c.contains(ip("192.0.2.255")));
        assert!(!c.contains(ip("192.0.3.0")));
        assert!(!c.contains(ip("2001:db8::1")));
        assert!(c.contains(ip("::ffff:192.0.2.9")), "v4-mapped matches");
        assert_eq!(c.to_string(), "192.0.2.0/24");
    }

    #[test]
    fn ipv6_blocks_and_edges() {
        let c: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(c.contains(ip("2001:db8:ffff::1")));
        assert!(!c.contains(ip("2001:db9::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")));
        let all6: Cidr = "::/0".parse().unwrap();
        assert!(all6.contains(ip("2001:db8::1")));
        let host: Cidr = "198.51.100.7".parse().unwrap();
        assert_eq!(host.prefix_len(), 32);
        assert!(host.contains(ip("198.51.100.7")));
        assert!(!host.contains(ip("198.51.100.8")));
        let host6: Cidr = "2001:db8::7/128".parse().unwrap();
        assert!(host6.contains(ip("2001:db8::7")));
    }

    #[test]
    fn bad_blocks_are_rejected_with_a_hint() {
        for bad in [
            "",
            "/24",
            "192.0.2.0/",
            "192.0.2.0/33",
            "2001:db8::/129",
            "192.0.2.0/+8",
            "192.0.2/24",
            "host.example/24",
            "192.0.2.0/24/1",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
        let e = "192.0.2.1/24".parse::<Cidr>().unwrap_err();
        assert!(e.contains("did you mean \"192.0.2.0/24\""), "{e}");
    }
}
