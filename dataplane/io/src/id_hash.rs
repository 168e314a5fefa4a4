//! A hasher for the small integer keys of the packet path.
//!
//! Every received datagram is looked up by its port in a backend's and a
//! worker's tables; the standard library's SipHash costs tens of cycles per
//! lookup, a large share of a relay hop that takes about a hundred. The
//! keys of those tables are chosen by Tandem itself (port ids it hands
//! out, UDP ports it opened): a peer can make us *look up* any key, but
//! not insert one, so SipHash's defence against crafted collisions buys
//! nothing there. [`IdHasher`] multiplies by 2^64/φ (Fibonacci hashing)
//! and folds the high half in, so that hashbrown's bucket bits (low) and
//! tag bits (high) both vary with every key bit.
//!
//! Not for tables whose keys a peer chooses (an ARP cache learns senders'
//! addresses): those keep the standard hasher.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// 2^64 / φ, odd.
const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// See the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(K);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

/// A `HashMap` keyed by ids Tandem hands out itself.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    #[test]
    fn nearby_keys_spread_over_buckets_and_tags() {
        let b = BuildHasherDefault::<IdHasher>::default();
        // Even UDP ports of a media range, as the engine opens them.
        let hashes: Vec<u64> = (30_000u16..40_000)
            .step_by(2)
            .map(|p| b.hash_one(p))
            .collect();
        let low: HashSet<u64> = hashes.iter().map(|h| h & 0xfff).collect();
        let high: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        // 5000 keys thrown at random into 4096 buckets fill 4096 (1 -
        // e^(-5000/4096)), about 2890 of them.
        assert!(
            low.len() > 2750,
            "{} distinct bucket indexes of 4096",
            low.len()
        );
        assert_eq!(high.len(), 128, "every tag value is used");
    }

    #[test]
    fn an_id_map_is_a_map() {
        let mut m: IdMap<u32, &str> = IdMap::default();
        for i in 0..1000 {
            m.insert(i, "x");
        }
        assert_eq!(m.len(), 1000);
        assert!((0..1000).all(|i| m.contains_key(&i)));
        assert!(!m.contains_key(&1000));
    }
}
