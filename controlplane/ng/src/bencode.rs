//! Bencode (BEP 3): integers `i<n>e`, byte strings `<len>:<bytes>`, lists
//! `l...e` and dictionaries `d...e`.
//!
//! [`decode`] borrows from its input ([`Value<'a>`]), enforces a nesting
//! depth and a total size ([`Limits`]), and rejects trailing data, leading
//! zeros, `-0`, integers beyond `i64`, non-string keys and truncation, each
//! with the offset of the offending octet ([`BencodeError`]).
//!
//! Dictionaries are decoded in the order received: BEP 3 asks for sorted
//! keys, but the ng protocol document says rtpengine does not insist on it,
//! and Kamailio's module sends keys in insertion order. [`Value::get`]
//! returns the *last* occurrence of a repeated key, as rtpengine ends up
//! applying it. The encoders ([`Value::encode`], [`Node::encode`]) always
//! write dictionary keys sorted as raw byte strings, as BEP 3 requires.

use core::fmt;
use std::collections::BTreeMap;

/// Decoding limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of lists and dictionaries (the top-level dictionary
    /// counts as 1).
    pub max_depth: usize,
    /// Largest input accepted, in octets.
    pub max_len: usize,
}

impl Default for Limits {
    /// 32 levels, 256 KiB: an ng message is one UDP datagram (≤ 64 KiB)
    /// and nests four or five levels deep.
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_len: 256 * 1024,
        }
    }
}

/// What is wrong with a bencoded document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BencodeErrorKind {
    /// Input longer than [`Limits::max_len`].
    TooLarge,
    /// Nesting deeper than [`Limits::max_depth`].
    TooDeep,
    /// The input ended inside a value.
    Truncated,
    /// An octet that cannot start a value.
    UnexpectedByte(u8),
    /// Malformed integer: empty, leading zero, `-0`, non-digit.
    BadInteger,
    /// Integer outside `i64`.
    IntegerOverflow,
    /// Malformed string length (leading zero, non-digit, missing `:`).
    BadLength,
    /// A string length that runs past the end of the input.
    LengthPastEnd,
    /// A dictionary key that is not a byte string.
    KeyNotString,
    /// Data after the top-level value.
    TrailingData,
}

/// A decoding error: where and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BencodeError {
    /// Offset of the offending octet in the input.
    pub offset: usize,
    /// What is wrong.
    pub kind: BencodeErrorKind,
}

impl fmt::Display for BencodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use BencodeErrorKind as K;
        let what = match self.kind {
            K::TooLarge => "document too large",
            K::TooDeep => "nesting too deep",
            K::Truncated => "truncated",
            K::UnexpectedByte(_) => "unexpected byte",
            K::BadInteger => "malformed integer",
            K::IntegerOverflow => "integer out of range",
            K::BadLength => "malformed string length",
            K::LengthPastEnd => "string runs past the end",
            K::KeyNotString => "dictionary key is not a string",
            K::TrailingData => "trailing data",
        };
        write!(f, "bencode: {what} at offset {}", self.offset)
    }
}

impl std::error::Error for BencodeError {}

/// A decoded value borrowing the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `i<n>e`.
    Int(i64),
    /// `<len>:<bytes>`.
    Bytes(&'a [u8]),
    /// `l...e`.
    List(Vec<Value<'a>>),
    /// `d...e`, in the order received.
    Dict(Vec<(&'a [u8], Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The last value under `key`, for a dictionary.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Self::Dict(d) => d
                .iter()
                .rev()
                .find(|(k, _)| *k == key.as_bytes())
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The bytes of a string.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A string that is UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.as_bytes()?).ok()
    }

    /// An integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A list's items.
    pub fn as_list(&self) -> Option<&[Value<'a>]> {
        match self {
            Self::List(l) => Some(l),
            _ => None,
        }
    }

    /// A dictionary's entries, in the order received.
    pub fn as_dict(&self) -> Option<&[(&'a [u8], Value<'a>)]> {
        match self {
            Self::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// Encodes into `out`, dictionary keys sorted (stable: repeated keys keep
    /// their order).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Int(i) => encode_int(*i, out),
            Self::Bytes(b) => encode_bytes(b, out),
            Self::List(l) => {
                out.push(b'l');
                l.iter().for_each(|v| v.encode(out));
                out.push(b'e');
            }
            Self::Dict(d) => {
                let mut sorted: Vec<&(&[u8], Value<'_>)> = d.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                out.push(b'd');
                for (k, v) in sorted {
                    encode_bytes(k, out);
                    v.encode(out);
                }
                out.push(b'e');
            }
        }
    }

    /// An owned copy.
    pub fn to_node(&self) -> Node {
        match self {
            Self::Int(i) => Node::Int(*i),
            Self::Bytes(b) => Node::Bytes(b.to_vec()),
            Self::List(l) => Node::List(l.iter().map(Value::to_node).collect()),
            Self::Dict(d) => Node::Dict(d.iter().map(|(k, v)| (k.to_vec(), v.to_node())).collect()),
        }
    }
}

fn encode_int(i: i64, out: &mut Vec<u8>) {
    out.push(b'i');
    out.extend_from_slice(i.to_string().as_bytes());
    out.push(b'e');
}

fn encode_bytes(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(b);
}

/// An owned value, for building replies. Dictionaries are `BTreeMap`s, so
/// keys are unique and encoded sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Integer.
    Int(i64),
    /// Byte string.
    Bytes(Vec<u8>),
    /// List.
    List(Vec<Node>),
    /// Dictionary.
    Dict(BTreeMap<Vec<u8>, Node>),
}

impl Node {
    /// An empty dictionary.
    pub fn dict() -> Self {
        Self::Dict(BTreeMap::new())
    }

    /// A string.
    pub fn str(s: &str) -> Self {
        Self::Bytes(s.as_bytes().to_vec())
    }

    /// A list of strings.
    pub fn str_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Self {
        Self::List(items.into_iter().map(|s| Self::str(s.as_ref())).collect())
    }

    /// Sets `key` in a dictionary (no effect on other kinds); returns self
    /// for chaining.
    pub fn with(mut self, key: &str, value: Node) -> Self {
        self.insert(key, value);
        self
    }

    /// Sets `key` in a dictionary (no effect on other kinds).
    pub fn insert(&mut self, key: &str, value: Node) {
        if let Self::Dict(d) = self {
            d.insert(key.as_bytes().to_vec(), value);
        }
    }

    /// Looks up `key` in a dictionary.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Self::Dict(d) => d.get(key.as_bytes()),
            _ => None,
        }
    }

    /// Encodes into `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Int(i) => encode_int(*i, out),
            Self::Bytes(b) => encode_bytes(b, out),
            Self::List(l) => {
                out.push(b'l');
                l.iter().for_each(|v| v.encode(out));
                out.push(b'e');
            }
            Self::Dict(d) => {
                out.push(b'd');
                for (k, v) in d {
                    encode_bytes(k, out);
                    v.encode(out);
                }
                out.push(b'e');
            }
        }
    }
}

/// Decodes exactly one value spanning all of `input`.
pub fn decode(input: &[u8], limits: Limits) -> Result<Value<'_>, BencodeError> {
    if input.len() > limits.max_len {
        return Err(BencodeError {
            offset: limits.max_len,
            kind: BencodeErrorKind::TooLarge,
        });
    }
    let mut d = Decoder {
        input,
        pos: 0,
        max_depth: limits.max_depth,
    };
    let v = d.value(1)?;
    if d.pos != input.len() {
        return Err(d.err(BencodeErrorKind::TrailingData));
    }
    Ok(v)
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl<'a> Decoder<'a> {
    fn err(&self, kind: BencodeErrorKind) -> BencodeError {
        BencodeError {
            offset: self.pos,
            kind,
        }
    }

    fn peek(&self) -> Result<u8, BencodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(self.err(BencodeErrorKind::Truncated))
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, BencodeError> {
        match self.peek()? {
            b'i' => {
                self.pos += 1;
                self.int().map(Value::Int)
            }
            b'0'..=b'9' => self.bytes().map(Value::Bytes),
            b'l' => {
                self.enter(depth)?;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.enter(depth)?;
                let mut entries = Vec::new();
                while self.peek()? != b'e' {
                    if !self.peek()?.is_ascii_digit() {
                        return Err(self.err(BencodeErrorKind::KeyNotString));
                    }
                    let k = self.bytes()?;
                    let v = self.value(depth + 1)?;
                    entries.push((k, v));
                }
                self.pos += 1;
                Ok(Value::Dict(entries))
            }
            b => Err(self.err(BencodeErrorKind::UnexpectedByte(b))),
        }
    }

    fn enter(&mut self, depth: usize) -> Result<(), BencodeError> {
        if depth > self.max_depth {
            return Err(self.err(BencodeErrorKind::TooDeep));
        }
        self.pos += 1;
        Ok(())
    }

    /// After `i`: `-?[1-9][0-9]*|0` then `e`.
    fn int(&mut self) -> Result<i64, BencodeError> {
        let start = self.pos;
        let neg = self.peek()? == b'-';
        if neg {
            self.pos += 1;
        }
        let digits_start = self.pos;
        let mut value: i64 = 0;
        loop {
            let b = self.peek()?;
            if b == b'e' {
                break;
            }
            if !b.is_ascii_digit() {
                return Err(self.err(BencodeErrorKind::BadInteger));
            }
            if self.pos > digits_start && self.input[digits_start] == b'0' {
                self.pos = digits_start;
                return Err(self.err(BencodeErrorKind::BadInteger));
            }
            let d = i64::from(b - b'0');
            value = value
                .checked_mul(10)
                .and_then(|v| {
                    if neg {
                        v.checked_sub(d)
                    } else {
                        v.checked_add(d)
                    }
                })
                .ok_or(BencodeError {
                    offset: start,
                    kind: BencodeErrorKind::IntegerOverflow,
                })?;
            self.pos += 1;
        }
        let n = self.pos - digits_start;
        if n == 0 || (neg && value == 0) {
            return Err(BencodeError {
                offset: start,
                kind: BencodeErrorKind::BadInteger,
            });
        }
        self.pos += 1;
        Ok(value)
    }

    fn bytes(&mut self) -> Result<&'a [u8], BencodeError> {
        let start = self.pos;
        let mut len: usize = 0;
        loop {
            let b = self.peek()?;
            if b == b':' {
                break;
            }
            if !b.is_ascii_digit() {
                return Err(self.err(BencodeErrorKind::BadLength));
            }
            if self.pos > start && self.input[start] == b'0' {
                return Err(BencodeError {
                    offset: start,
                    kind: BencodeErrorKind::BadLength,
                });
            }
            len = len
                .checked_mul(10)
                .and_then(|l| l.checked_add(usize::from(b - b'0')))
                .ok_or(BencodeError {
                    offset: start,
                    kind: BencodeErrorKind::LengthPastEnd,
                })?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err(BencodeErrorKind::BadLength));
        }
        self.pos += 1;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.input.len())
            .ok_or(BencodeError {
                offset: start,
                kind: BencodeErrorKind::LengthPastEnd,
            })?;
        let s = &self.input[self.pos..end];
        self.pos = end;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BencodeErrorKind as K;

    fn d(s: &[u8]) -> Result<Value<'_>, BencodeError> {
        decode(s, Limits::default())
    }

    #[test]
    fn decodes_each_kind() {
        assert_eq!(d(b"i42e").unwrap(), Value::Int(42));
        assert_eq!(d(b"i-9223372036854775808e").unwrap(), Value::Int(i64::MIN));
        assert_eq!(d(b"i0e").unwrap(), Value::Int(0));
        assert_eq!(d(b"4:spam").unwrap(), Value::Bytes(b"spam"));
        assert_eq!(d(b"0:").unwrap(), Value::Bytes(b""));
        assert_eq!(
            d(b"l4:spami1ee").unwrap(),
            Value::List(vec![Value::Bytes(b"spam"), Value::Int(1)])
        );
        let v = d(b"d1:bi1e1:ai2e1:bi3ee").unwrap();
        assert_eq!(v.get("b"), Some(&Value::Int(3)));
        assert_eq!(v.get("a"), Some(&Value::Int(2)));
    }

    #[test]
    fn rejects_malformed_with_offsets() {
        let cases: &[(&[u8], usize, K)] = &[
            (b"", 0, K::Truncated),
            (b"i-0e", 1, K::BadInteger),
            (b"i03e", 1, K::BadInteger),
            (b"ie", 1, K::BadInteger),
            (b"i-e", 1, K::BadInteger),
            (b"i1", 2, K::Truncated),
            (b"i1xe", 2, K::BadInteger),
            (b"i9223372036854775808e", 1, K::IntegerOverflow),
            (b"05:hello", 0, K::BadLength),
            (b"5:hi", 0, K::LengthPastEnd),
            (b"99999999999999999999999:x", 0, K::LengthPastEnd),
            (b"4spam", 1, K::BadLength),
            (b"di1ei2ee", 1, K::KeyNotString),
            (b"d1:a", 4, K::Truncated),
            (b"i1ei2e", 3, K::TrailingData),
            (b"x", 0, K::UnexpectedByte(b'x')),
            (b"l", 1, K::Truncated),
        ];
        for (input, offset, kind) in cases {
            assert_eq!(
                d(input),
                Err(BencodeError {
                    offset: *offset,
                    kind: *kind
                }),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn limits() {
        let deep = [b"l".repeat(33), b"e".repeat(33)].concat();
        assert_eq!(d(&deep).unwrap_err().kind, K::TooDeep);
        let ok = [b"l".repeat(32), b"e".repeat(32)].concat();
        assert!(d(&ok).is_ok());
        let small = Limits {
            max_depth: 4,
            max_len: 3,
        };
        assert_eq!(decode(b"4:spam", small).unwrap_err().kind, K::TooLarge);
    }

    #[test]
    fn encodes_sorted() {
        let v = d(b"d7:command4:ping1:ai1ee").unwrap();
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(out, b"d1:ai1e7:command4:pinge");
        let n = Node::dict()
            .with("result", Node::str("pong"))
            .with("a", Node::List(vec![Node::Int(-3)]));
        let mut out = Vec::new();
        n.encode(&mut out);
        assert_eq!(out, b"d1:ali-3ee6:result4:ponge");
        assert_eq!(v.to_node().get("command"), Some(&Node::str("ping")));
    }
}
