//! The outbound route table: called number → ordered list of trunks, by
//! longest matching digit prefix.
//!
//! A digit trie: one node per prefix digit, each node holding the route that
//! ends there, if any. A lookup walks the called number's digits once and
//! keeps the last route it passed, so its cost is the number's length,
//! whatever the number of routes, and it allocates nothing. The table is
//! immutable; a reload builds a new one and swaps it in whole, so a call in
//! setup never sees half a plan.

use std::fmt;

/// A trunk by its position in [`super::Config::trunks`]. Route tables are
/// built from one config and replaced with it, so the index stays valid for
/// the table's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TrunkId(pub(crate) usize);

impl fmt::Display for TrunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trunk #{}", self.0)
    }
}

/// One trie node: children by digit (`0` = none; the root is never a
/// child) and the route ending here.
#[derive(Debug, Clone, Default)]
struct Node {
    next: [u32; 10],
    route: Option<u32>,
}

/// Longest-prefix route lookup. See the module docs.
#[derive(Debug, Clone)]
pub(crate) struct RouteTable {
    nodes: Vec<Node>,
    routes: Vec<Box<[TrunkId]>>,
}

impl Default for RouteTable {
    fn default() -> Self {
        RouteTable {
            nodes: vec![Node::default()],
            routes: Vec::new(),
        }
    }
}

/// Why a route could not be added. The config validator checks both
/// beforehand with line numbers; this is the table's own guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteError {
    /// The prefix holds something other than the digits 0–9.
    NotDigits,
    /// Another route has the same prefix.
    Duplicate,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteError::NotDigits => {
                "a route prefix is digits 0-9 only (\"\" is the default route)"
            }
            RouteError::Duplicate => "a route with this prefix already exists",
        })
    }
}

impl RouteTable {
    /// An empty table: every lookup misses.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds the route for `prefix` (digits only; `""` is the default route
    /// that matches every number).
    pub(crate) fn insert(&mut self, prefix: &str, trunks: Vec<TrunkId>) -> Result<(), RouteError> {
        if !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RouteError::NotDigits);
        }
        let mut at = 0usize;
        for d in prefix.bytes() {
            let slot = usize::from(d - b'0');
            let child = self.nodes[at].next[slot];
            at = if child == 0 {
                let id = self.nodes.len();
                self.nodes.push(Node::default());
                self.nodes[at].next[slot] = id as u32;
                id
            } else {
                child as usize
            };
        }
        if self.nodes[at].route.is_some() {
            return Err(RouteError::Duplicate);
        }
        self.nodes[at].route = Some(self.routes.len() as u32);
        self.routes.push(trunks.into_boxed_slice());
        Ok(())
    }

    /// The trunks, in failover order, of the route with the longest prefix
    /// of `called`.
    ///
    /// `called` is the dialled number as digits. One leading `+` (E.164
    /// international form) is ignored, so `+4008123` and `4008123` route
    /// alike; write prefixes without it. Anything else that is not a digit
    /// (`*`, `#`, letters, visual separators) means the number is not
    /// routable and the answer is `None`, even with a default route: the
    /// caller rejects it (SIP 484 Address Incomplete / 404) rather than
    /// sending junk to a carrier.
    pub(crate) fn lookup(&self, called: &str) -> Option<&[TrunkId]> {
        let digits = called.strip_prefix('+').unwrap_or(called);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut at = 0usize;
        let mut best = self.nodes[0].route;
        for d in digits.bytes() {
            let child = self.nodes[at].next[usize::from(d - b'0')];
            if child == 0 {
                break;
            }
            at = child as usize;
            best = self.nodes[at].route.or(best);
        }
        best.map(|r| &*self.routes[r as usize])
    }

    /// The number of routes.
    pub(crate) fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the table has no routes at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ids: &[usize]) -> Vec<TrunkId> {
        ids.iter().copied().map(TrunkId).collect()
    }

    #[test]
    fn longest_prefix_wins_and_default_catches_the_rest() {
        let mut rt = RouteTable::new();
        rt.insert("4008", t(&[0, 1])).unwrap();
        rt.insert("400812", t(&[2])).unwrap();
        rt.insert("", t(&[3])).unwrap();
        assert_eq!(rt.lookup("4008123456"), Some(&t(&[2])[..]));
        assert_eq!(rt.lookup("4008134567"), Some(&t(&[0, 1])[..]));
        assert_eq!(rt.lookup("4008"), Some(&t(&[0, 1])[..]));
        assert_eq!(rt.lookup("400"), Some(&t(&[3])[..]));
        assert_eq!(rt.lookup("+4008129"), Some(&t(&[2])[..]));
        assert_eq!(rt.lookup(""), Some(&t(&[3])[..]));
        assert_eq!(rt.len(), 3);
    }

    #[test]
    fn no_default_route_means_a_miss() {
        let mut rt = RouteTable::new();
        assert!(rt.is_empty());
        assert_eq!(rt.lookup("4008"), None);
        rt.insert("86", t(&[0])).unwrap();
        assert_eq!(rt.lookup("8610"), Some(&t(&[0])[..]));
        assert_eq!(rt.lookup("8"), None);
        assert_eq!(rt.lookup("44"), None);
    }

    #[test]
    fn non_digits_never_route() {
        let mut rt = RouteTable::new();
        rt.insert("", t(&[0])).unwrap();
        for bad in ["*99", "40#", "++4008", "400-8", "alice", "4008 1"] {
            assert_eq!(rt.lookup(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bad_and_duplicate_prefixes_are_refused() {
        let mut rt = RouteTable::new();
        assert_eq!(rt.insert("+44", t(&[0])), Err(RouteError::NotDigits));
        rt.insert("44", t(&[0])).unwrap();
        assert_eq!(rt.insert("44", t(&[1])), Err(RouteError::Duplicate));
        assert_eq!(rt.lookup("441"), Some(&t(&[0])[..]));
    }
}
