//! Longest-prefix match on telephone number strings.
//!
//! A [`PrefixTable`] is a trie over the twelve characters a telephone
//! keypad can send — `0`–`9`, `*` and `#` — kept in one arena `Vec` of
//! nodes, so a lookup walks at most one node per character of the number
//! (O(length), no hashing, no allocation) whatever the number of entries.

use std::fmt;

/// The longest prefix (and the longest number) a table accepts: more than
/// the 12 digits carriers allow in allow/deny lists, and more than any
/// E.164 number (15 digits) with an international prefix in front.
pub const MAX_PREFIX_LEN: usize = 32;

/// Characters per trie node: `0`–`9`, `*`, `#`.
const FANOUT: usize = 12;
/// "No child" / "no entry" marker. The root is node 0 and never anyone's
/// child, so 0 could serve for children, but one marker for both is
/// easier to read.
const NONE: u32 = u32::MAX;

/// Why a prefix or number was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrefixError {
    /// The empty string (a table has no "match everything" entry; callers
    /// that match nothing get the caller's default instead).
    Empty,
    /// Longer than [`MAX_PREFIX_LEN`] characters.
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// A character other than `0`–`9`, `*` or `#`.
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },
    /// The prefix is already in the table (the old entry is kept).
    Duplicate,
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrefixError::Empty => f.write_str("is empty"),
            PrefixError::TooLong { len } => {
                write!(f, "has {len} characters, more than {MAX_PREFIX_LEN}")
            }
            PrefixError::InvalidChar { ch, position } => write!(
                f,
                "has {ch:?} at position {position}; only 0-9, '*' and '#' are allowed"
            ),
            PrefixError::Duplicate => f.write_str("is listed twice"),
        }
    }
}

impl std::error::Error for PrefixError {}

/// The trie edge of a keypad character, if it is one.
fn slot(b: u8) -> Option<usize> {
    match b {
        b'0'..=b'9' => Some(usize::from(b - b'0')),
        b'*' => Some(10),
        b'#' => Some(11),
        _ => None,
    }
}

/// Checks that `s` is a non-empty string of at most [`MAX_PREFIX_LEN`]
/// keypad characters (`0`–`9`, `*`, `#`).
pub fn check_digits(s: &str) -> Result<(), PrefixError> {
    if s.is_empty() {
        return Err(PrefixError::Empty);
    }
    for (position, ch) in s.chars().enumerate() {
        if !ch.is_ascii() || slot(ch as u8).is_none() {
            return Err(PrefixError::InvalidChar { ch, position });
        }
    }
    if s.len() > MAX_PREFIX_LEN {
        return Err(PrefixError::TooLong { len: s.len() });
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct Node {
    children: [u32; FANOUT],
    /// Index into `entries`, or [`NONE`].
    entry: u32,
}

impl Node {
    const EMPTY: Node = Node {
        children: [NONE; FANOUT],
        entry: NONE,
    };
}

#[derive(Debug, Clone)]
struct Entry<T> {
    prefix: Box<str>,
    node: u32,
    value: T,
}

/// A map from number prefixes to values with longest-prefix lookup.
///
/// ```
/// use tandem_callcenter::plan::PrefixTable;
///
/// let mut regions = PrefixTable::new();
/// regions.insert("0755", "shenzhen")?;
/// regions.insert("1381234", "beijing-mobile")?;
/// regions.insert("138", "china-mobile")?;
/// assert_eq!(regions.longest_match("075588886666"), Some(("0755", &"shenzhen")));
/// assert_eq!(regions.longest_match("13812345678"), Some(("1381234", &"beijing-mobile")));
/// assert_eq!(regions.longest_match("13899990000"), Some(("138", &"china-mobile")));
/// assert_eq!(regions.longest_match("02112345678"), None);
/// # Ok::<(), tandem_callcenter::plan::PrefixError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PrefixTable<T> {
    /// Node 0 is the root (the empty prefix, never an entry).
    nodes: Vec<Node>,
    entries: Vec<Entry<T>>,
}

impl<T> Default for PrefixTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> PrefixTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        PrefixTable {
            nodes: vec![Node::EMPTY],
            entries: Vec::new(),
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `prefix` → `value`. Fails if the prefix is empty, too long, has
    /// a character other than `0`–`9`, `*`, `#`, or is already present (the
    /// existing value is kept; use [`PrefixTable::replace`] to overwrite).
    pub fn insert(&mut self, prefix: &str, value: T) -> Result<(), PrefixError> {
        check_digits(prefix)?;
        let node = self.node_for_insert(prefix);
        if self.nodes[node].entry != NONE {
            return Err(PrefixError::Duplicate);
        }
        self.attach(node, prefix, value);
        Ok(())
    }

    /// Adds or overwrites `prefix` → `value`, returning the previous value.
    pub fn replace(&mut self, prefix: &str, value: T) -> Result<Option<T>, PrefixError> {
        check_digits(prefix)?;
        let node = self.node_for_insert(prefix);
        let entry = self.nodes[node].entry;
        if entry == NONE {
            self.attach(node, prefix, value);
            Ok(None)
        } else {
            Ok(Some(std::mem::replace(
                &mut self.entries[entry as usize].value,
                value,
            )))
        }
    }

    /// Removes the entry for exactly `prefix`, returning its value. Nodes
    /// stay in the arena (a later insert of the same prefix reuses them).
    pub fn remove(&mut self, prefix: &str) -> Option<T> {
        let node = self.find_node(prefix)?;
        let index = self.nodes[node].entry;
        if index == NONE {
            return None;
        }
        self.nodes[node].entry = NONE;
        let removed = self.entries.swap_remove(index as usize);
        if let Some(moved) = self.entries.get(index as usize) {
            self.nodes[moved.node as usize].entry = index;
        }
        Some(removed.value)
    }

    /// The value stored for exactly `prefix`.
    pub fn get(&self, prefix: &str) -> Option<&T> {
        let node = self.find_node(prefix)?;
        let index = self.nodes[node].entry;
        self.entries.get(index as usize).map(|e| &e.value)
    }

    /// The longest prefix of `number` in the table, with its value.
    ///
    /// A character outside `0`–`9`, `*`, `#` ends the walk as the end of
    /// the number would: validate numbers from the network first (the
    /// [`NumberPlan`](super::NumberPlan) does) if that matters.
    pub fn longest_match(&self, number: &str) -> Option<(&str, &T)> {
        let mut node = 0usize;
        let mut best = NONE;
        for b in number.bytes() {
            let Some(s) = slot(b) else { break };
            let child = self.nodes[node].children[s];
            if child == NONE {
                break;
            }
            node = child as usize;
            if self.nodes[node].entry != NONE {
                best = self.nodes[node].entry;
            }
        }
        self.entries
            .get(best as usize)
            .map(|e| (&*e.prefix, &e.value))
    }

    /// The entries, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> + '_ {
        self.entries.iter().map(|e| (&*e.prefix, &e.value))
    }

    /// The node of a prefix that has passed [`check_digits`], created with
    /// its ancestors if missing.
    fn node_for_insert(&mut self, prefix: &str) -> usize {
        let mut node = 0usize;
        for b in prefix.bytes() {
            let Some(s) = slot(b) else { break };
            let child = self.nodes[node].children[s];
            node = if child == NONE {
                let new = self.nodes.len();
                self.nodes.push(Node::EMPTY);
                // Arena size is bounded by entries × 32 characters, far
                // below u32::MAX for any table that fits in memory.
                self.nodes[node].children[s] = new as u32;
                new
            } else {
                child as usize
            };
        }
        node
    }

    fn attach(&mut self, node: usize, prefix: &str, value: T) {
        self.nodes[node].entry = self.entries.len() as u32;
        self.entries.push(Entry {
            prefix: prefix.into(),
            node: node as u32,
            value,
        });
    }

    fn find_node(&self, prefix: &str) -> Option<usize> {
        if prefix.is_empty() {
            return None;
        }
        let mut node = 0usize;
        for b in prefix.bytes() {
            let child = self.nodes[node].children[slot(b)?];
            if child == NONE {
                return None;
            }
            node = child as usize;
        }
        Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_matching_prefix_wins() {
        let mut t = PrefixTable::new();
        t.insert("0", 'a').unwrap();
        t.insert("010", 'b').unwrap();
        t.insert("0101", 'c').unwrap();
        t.insert("*72#", 'd').unwrap();
        assert_eq!(t.longest_match("01012345678"), Some(("0101", &'c')));
        assert_eq!(t.longest_match("01023456789"), Some(("010", &'b')));
        assert_eq!(t.longest_match("0755"), Some(("0", &'a')));
        assert_eq!(t.longest_match("01"), Some(("0", &'a')));
        assert_eq!(t.longest_match("*72#123"), Some(("*72#", &'d')));
        assert_eq!(t.longest_match("*7"), None);
        assert_eq!(t.longest_match("138"), None);
        assert_eq!(t.longest_match(""), None);
        // A foreign character ends the number.
        assert_eq!(t.longest_match("010x1"), Some(("010", &'b')));
        assert_eq!(t.longest_match("+0101"), None);
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn bad_prefixes_and_duplicates_are_refused() {
        let mut t = PrefixTable::new();
        assert_eq!(t.insert("", 1), Err(PrefixError::Empty));
        assert_eq!(
            t.insert("13a", 1),
            Err(PrefixError::InvalidChar {
                ch: 'a',
                position: 2
            })
        );
        assert_eq!(
            t.insert("+86", 1),
            Err(PrefixError::InvalidChar {
                ch: '+',
                position: 0
            })
        );
        assert_eq!(
            t.insert("１", 1),
            Err(PrefixError::InvalidChar {
                ch: '１',
                position: 0
            })
        );
        let long = "1".repeat(MAX_PREFIX_LEN + 1);
        assert_eq!(t.insert(&long, 1), Err(PrefixError::TooLong { len: 33 }));
        t.insert(&"1".repeat(MAX_PREFIX_LEN), 1).unwrap();
        t.insert("138", 2).unwrap();
        assert_eq!(t.insert("138", 3), Err(PrefixError::Duplicate));
        assert_eq!(t.get("138"), Some(&2));
        assert_eq!(t.replace("138", 4), Ok(Some(2)));
        assert_eq!(t.get("138"), Some(&4));
        assert_eq!(t.get("13"), None);
        assert_eq!(t.len(), 2);
        assert!(
            PrefixError::InvalidChar {
                ch: '-',
                position: 3
            }
            .to_string()
            .contains("'-' at position 3")
        );
    }

    #[test]
    fn removal_keeps_the_other_entries_reachable() {
        let mut t = PrefixTable::new();
        for p in ["1", "13", "138", "139", "0755"] {
            t.insert(p, p.len()).unwrap();
        }
        assert_eq!(t.remove("13"), Some(2));
        assert_eq!(t.remove("13"), None);
        assert_eq!(t.remove("+"), None);
        assert_eq!(t.remove(""), None);
        assert_eq!(t.longest_match("1370"), Some(("1", &1)));
        assert_eq!(t.longest_match("1380"), Some(("138", &3)));
        assert_eq!(t.longest_match("07551"), Some(("0755", &4)));
        assert_eq!(t.remove("1"), Some(1));
        assert_eq!(t.longest_match("1370"), None);
        let mut all: Vec<_> = t.iter().map(|(p, _)| p.to_owned()).collect();
        all.sort();
        assert_eq!(all, ["0755", "138", "139"]);
        t.insert("13", 9).unwrap();
        assert_eq!(t.longest_match("1370"), Some(("13", &9)));
    }

    /// Ten thousand mobile blocks and area codes: every lookup returns the
    /// entry a linear scan would. (Speed is a trie walk of at most 32
    /// nodes; no timing is asserted here.)
    #[test]
    fn ten_thousand_entries_match_like_a_linear_scan() {
        let mut t = PrefixTable::new();
        let mut all = Vec::new();
        // 7-digit mobile blocks 130xxxx.. spread by a multiplicative step.
        let mut x: u64 = 1;
        while all.len() < 9_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let block = 1_300_000 + (x >> 33) % 700_000;
            let p = block.to_string();
            if t.insert(&p, all.len()).is_ok() {
                all.push(p);
            }
        }
        // Area codes and some shorter blocks overlapping the long ones.
        for code in 10..1010u32 {
            let p = format!("0{code}");
            if t.insert(&p, all.len()).is_ok() {
                all.push(p);
            }
        }
        for p in ["13", "138", "1391", "0"] {
            if t.insert(p, all.len()).is_ok() {
                all.push(p.to_owned());
            }
        }
        assert!(t.len() >= 10_000, "{}", t.len());
        let mut probe: u64 = 7;
        for _ in 0..3_000 {
            probe = probe
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let n = if probe & 1 == 0 {
                format!("1{:010}", (probe >> 20) % 10_000_000_000)
            } else {
                format!("0{:010}", (probe >> 20) % 10_000_000_000)
            };
            let expected = all
                .iter()
                .enumerate()
                .filter(|(_, p)| n.starts_with(p.as_str()))
                .max_by_key(|(_, p)| p.len())
                .map(|(i, p)| (p.as_str(), i));
            let got = t.longest_match(&n).map(|(p, v)| (p, *v));
            assert_eq!(got, expected, "{n}");
        }
        // Every entry finds itself.
        for (i, p) in all.iter().enumerate() {
            assert_eq!(t.longest_match(p), Some((p.as_str(), &i)));
        }
    }
}
