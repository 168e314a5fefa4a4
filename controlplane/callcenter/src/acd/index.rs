//! Per-queue indexes of available members, one shape per strategy, so an
//! agent is picked in O(log n) and an agent's state change touches only
//! the queues it is a member of (never queues × agents).

use std::collections::{BTreeSet, HashMap};

use crate::ids::AgentId;
pub(super) use crate::rng::Rng;

/// An ordering key: the strategy's primary measure, then a tie-break.
pub(super) type Key = (u64, u64);

/// Available members of one queue.
#[derive(Debug)]
pub(super) enum AvailIndex {
    /// Strategies that rank members: lowest key first.
    Ordered(BTreeSet<(Key, AgentId)>),
    /// Uniform random: a dense list with positions for O(1) removal.
    Random {
        list: Vec<AgentId>,
        pos: HashMap<AgentId, u32>,
    },
    /// Weighted random: a Fenwick tree of weights by member slot (0 while
    /// the member is unavailable), plus the uniform list for fallbacks.
    Weighted {
        tree: Fenwick,
        slots: Vec<AgentId>,
        list: Vec<AgentId>,
        pos: HashMap<AgentId, u32>,
    },
}

/// How many picks a random strategy draws before it walks the list to
/// avoid the agents a call already tried.
const RANDOM_DRAWS: usize = 8;

impl AvailIndex {
    pub(super) fn ordered() -> Self {
        AvailIndex::Ordered(BTreeSet::new())
    }

    pub(super) fn random() -> Self {
        AvailIndex::Random {
            list: Vec::new(),
            pos: HashMap::new(),
        }
    }

    pub(super) fn weighted(slots: Vec<AgentId>) -> Self {
        AvailIndex::Weighted {
            tree: Fenwick::new(slots.len()),
            slots,
            list: Vec::new(),
            pos: HashMap::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            AvailIndex::Ordered(set) => set.len(),
            AvailIndex::Random { list, .. } | AvailIndex::Weighted { list, .. } => list.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds an available member with its key (ordered), slot and weight
    /// (weighted).
    pub(super) fn insert(&mut self, agent: AgentId, key: Key, slot: u32, weight: u32) {
        match self {
            AvailIndex::Ordered(set) => {
                set.insert((key, agent));
            }
            AvailIndex::Random { list, pos } => list_insert(list, pos, agent),
            AvailIndex::Weighted {
                tree, list, pos, ..
            } => {
                if !pos.contains_key(&agent) {
                    tree.add(slot as usize, i64::from(weight));
                    list_insert(list, pos, agent);
                }
            }
        }
    }

    /// Removes a member inserted with `key`, `slot` and `weight`.
    pub(super) fn remove(&mut self, agent: AgentId, key: Key, slot: u32, weight: u32) {
        match self {
            AvailIndex::Ordered(set) => {
                set.remove(&(key, agent));
            }
            AvailIndex::Random { list, pos } => list_remove(list, pos, agent),
            AvailIndex::Weighted {
                tree, list, pos, ..
            } => {
                if pos.contains_key(&agent) {
                    tree.add(slot as usize, -i64::from(weight));
                    list_remove(list, pos, agent);
                }
            }
        }
    }

    /// Every available member, in key order where there is one.
    pub(super) fn all(&self) -> Vec<AgentId> {
        match self {
            AvailIndex::Ordered(set) => set.iter().map(|(_, a)| *a).collect(),
            AvailIndex::Random { list, .. } | AvailIndex::Weighted { list, .. } => list.clone(),
        }
    }

    /// The member to offer a call to: the first in order (after `cursor`
    /// for round robin, wrapping), or a draw, skipping members `skip`
    /// rejects. Returns `None` only if every available member is skipped.
    pub(super) fn pick(
        &self,
        rng: &mut Rng,
        after: Option<Key>,
        skip: impl Fn(AgentId) -> bool,
    ) -> Option<AgentId> {
        match self {
            AvailIndex::Ordered(set) => {
                let first = |it: &mut dyn Iterator<Item = &(Key, AgentId)>| {
                    it.map(|(_, a)| *a).find(|a| !skip(*a))
                };
                match after {
                    Some(k) => first(&mut set.range((k, AgentId(u32::MAX))..))
                        .or_else(|| first(&mut set.iter())),
                    None => first(&mut set.iter()),
                }
            }
            AvailIndex::Random { list, .. } => {
                if list.is_empty() {
                    return None;
                }
                for _ in 0..RANDOM_DRAWS {
                    let a = list[rng.below(list.len() as u64) as usize];
                    if !skip(a) {
                        return Some(a);
                    }
                }
                list.iter().copied().find(|a| !skip(*a))
            }
            AvailIndex::Weighted {
                tree, slots, list, ..
            } => {
                let total = tree.total();
                if total > 0 {
                    for _ in 0..RANDOM_DRAWS {
                        let slot = tree.find(rng.below(total as u64) as i64);
                        if let Some(&a) = slots.get(slot)
                            && !skip(a)
                        {
                            return Some(a);
                        }
                    }
                }
                // All weights zero, or unlucky draws: any untried member.
                list.iter().copied().find(|a| !skip(*a))
            }
        }
    }
}

fn list_insert(list: &mut Vec<AgentId>, pos: &mut HashMap<AgentId, u32>, agent: AgentId) {
    if let std::collections::hash_map::Entry::Vacant(e) = pos.entry(agent) {
        e.insert(list.len() as u32);
        list.push(agent);
    }
}

fn list_remove(list: &mut Vec<AgentId>, pos: &mut HashMap<AgentId, u32>, agent: AgentId) {
    if let Some(i) = pos.remove(&agent) {
        let i = i as usize;
        list.swap_remove(i);
        if let Some(&moved) = list.get(i) {
            pos.insert(moved, i as u32);
        }
    }
}

/// A Fenwick (binary indexed) tree of non-negative weights.
#[derive(Debug)]
pub(super) struct Fenwick {
    tree: Vec<i64>,
}

impl Fenwick {
    fn new(n: usize) -> Self {
        Fenwick {
            tree: vec![0; n + 1],
        }
    }

    fn add(&mut self, slot: usize, delta: i64) {
        let mut i = slot + 1;
        while i < self.tree.len() {
            self.tree[i] += delta;
            i += i & i.wrapping_neg();
        }
    }

    fn total(&self) -> i64 {
        let mut i = self.tree.len() - 1;
        let mut sum = 0;
        while i > 0 {
            sum += self.tree[i];
            i &= i - 1;
        }
        sum
    }

    /// The slot whose cumulative range contains `target` (0 ≤ target < total).
    fn find(&self, mut target: i64) -> usize {
        let n = self.tree.len() - 1;
        let mut pos = 0;
        let mut step = n.checked_next_power_of_two().unwrap_or(0).max(1);
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= target {
                pos = next;
                target -= self.tree[next];
            }
            step >>= 1;
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenwick_draws_follow_the_weights() {
        let slots: Vec<AgentId> = (0..4).map(AgentId).collect();
        let mut idx = AvailIndex::weighted(slots);
        for (i, w) in [1u32, 0, 3, 6].into_iter().enumerate() {
            idx.insert(AgentId(i as u32), (0, 0), i as u32, w);
        }
        let mut rng = Rng::new(7);
        let mut counts = [0u32; 4];
        for _ in 0..100_000 {
            let a = idx.pick(&mut rng, None, |_| false).unwrap();
            counts[a.index()] += 1;
        }
        assert_eq!(counts[1], 0);
        for (i, w) in [(0, 0.1), (2, 0.3), (3, 0.6)] {
            let share = f64::from(counts[i]) / 100_000.0;
            assert!((share - w).abs() < 0.01, "slot {i}: {share}");
        }
        idx.remove(AgentId(3), (0, 0), 3, 6);
        for _ in 0..1000 {
            assert_ne!(idx.pick(&mut rng, None, |_| false), Some(AgentId(3)));
        }
        assert_eq!(idx.len(), 3);
    }

    #[test]
    fn ordered_pick_wraps_after_the_cursor_and_skips() {
        let mut idx = AvailIndex::ordered();
        for i in [0u32, 2, 5] {
            idx.insert(AgentId(i), (u64::from(i), 0), i, 1);
        }
        let mut rng = Rng::new(1);
        assert_eq!(idx.pick(&mut rng, None, |_| false), Some(AgentId(0)));
        assert_eq!(
            idx.pick(&mut rng, Some((2, 0)), |_| false),
            Some(AgentId(5))
        );
        assert_eq!(
            idx.pick(&mut rng, Some((5, 0)), |_| false),
            Some(AgentId(0))
        );
        assert_eq!(idx.pick(&mut rng, None, |a| a.0 < 5), Some(AgentId(5)));
        assert_eq!(idx.pick(&mut rng, None, |_| true), None);
    }

    #[test]
    fn random_removal_keeps_positions_consistent() {
        let mut idx = AvailIndex::random();
        for i in 0..10 {
            idx.insert(AgentId(i), (0, 0), i, 1);
        }
        for i in [3, 0, 9, 4] {
            idx.remove(AgentId(i), (0, 0), i, 1);
        }
        let mut all = idx.all();
        all.sort();
        assert_eq!(all, [1, 2, 5, 6, 7, 8].map(AgentId));
        let mut rng = Rng::new(3);
        for _ in 0..100 {
            let a = idx.pick(&mut rng, None, |a| a.0 != 7).unwrap();
            assert_eq!(a, AgentId(7));
        }
    }
}
