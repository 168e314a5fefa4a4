//! The worker's flow table: which leg, and which of its ports, a packet
//! arrived on, looked up once per packet.
//!
//! A direct-mapped array on the low 16 bits of the backend's port id, with
//! a hash map behind it for ids that share a slot. Backends number their
//! ports from small slots (DPDK by UDP port number, io_uring by socket
//! slot, the in-memory net by count), so the array alone answers every
//! lookup in practice: one indexed load instead of hashing and probing.
//! Any id works; a collision only costs the map's lookup.

use tandem_packet_io::{IdMap, PortId};

use super::PortRoute;

/// Slots in the direct table (one per value of an id's low 16 bits).
const SLOTS: usize = 1 << 16;
/// A free slot's route (no leg slot reaches 2³¹, see [`PortRoute`]).
const FREE: u32 = u32::MAX;

pub(super) struct FlowTable {
    /// (port id, route), or a route of [`FREE`].
    direct: Box<[(u32, u32)]>,
    /// Ids whose slot was taken when they were inserted.
    spill: IdMap<PortId, PortRoute>,
}

impl FlowTable {
    pub(super) fn new() -> Self {
        Self {
            direct: vec![(0, FREE); SLOTS].into_boxed_slice(),
            spill: IdMap::default(),
        }
    }

    fn slot(port: PortId) -> usize {
        port.0 as usize % SLOTS
    }

    #[inline]
    pub(super) fn get(&self, port: PortId) -> Option<PortRoute> {
        let (id, route) = self.direct[Self::slot(port)];
        if route != FREE && id == port.0 {
            return Some(PortRoute(route));
        }
        if self.spill.is_empty() {
            return None;
        }
        self.spill.get(&port).copied()
    }

    pub(super) fn insert(&mut self, port: PortId, route: PortRoute) {
        let entry = &mut self.direct[Self::slot(port)];
        if entry.1 != FREE && entry.0 == port.0 {
            entry.1 = route.0;
        } else if let Some(r) = self.spill.get_mut(&port) {
            *r = route;
        } else if entry.1 == FREE {
            *entry = (port.0, route.0);
        } else {
            self.spill.insert(port, route);
        }
    }

    pub(super) fn remove(&mut self, port: PortId) -> Option<PortRoute> {
        let entry = &mut self.direct[Self::slot(port)];
        if entry.1 != FREE && entry.0 == port.0 {
            let route = PortRoute(entry.1);
            *entry = (0, FREE);
            return Some(route);
        }
        self.spill.remove(&port)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.direct.iter().filter(|e| e.1 != FREE).count() + self.spill.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sharing_a_slot_are_all_found_and_removed() {
        let mut t = FlowTable::new();
        // Same low 16 bits: one direct, two spilled.
        let ids = [PortId(7), PortId(7 | 1 << 16), PortId(7 | 5 << 20)];
        for (i, &id) in ids.iter().enumerate() {
            t.insert(id, PortRoute::new(i as u32, i == 1));
        }
        for (i, &id) in ids.iter().enumerate() {
            assert_eq!(t.get(id), Some(PortRoute::new(i as u32, i == 1)));
        }
        assert_eq!(t.get(PortId(7 | 2 << 16)), None);
        // Removing the direct one leaves the spilled ones found.
        assert_eq!(t.remove(ids[0]), Some(PortRoute::new(0, false)));
        assert_eq!(t.get(ids[0]), None);
        assert_eq!(t.get(ids[2]), Some(PortRoute::new(2, false)));
        // A re-insert of a spilled id updates it in place (no duplicate
        // in the freed direct slot).
        t.insert(ids[1], PortRoute::new(9, true));
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(ids[1]), Some(PortRoute::new(9, true)));
        assert_eq!(t.remove(ids[1]), Some(PortRoute::new(9, true)));
        assert_eq!(t.remove(ids[1]), None);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn any_id_works_including_the_extremes() {
        let mut t = FlowTable::new();
        for id in [0, 1, u32::MAX, u32::MAX - 1, 1 << 31] {
            t.insert(PortId(id), PortRoute::new(id % 1000, false));
        }
        for id in [0, 1, u32::MAX, u32::MAX - 1, 1 << 31] {
            assert_eq!(t.get(PortId(id)), Some(PortRoute::new(id % 1000, false)));
        }
    }
}
