//! JSON (RFC 8259) for the REST API: a [`Value`] tree, a strict reader
//! for request bodies and a writer for responses.
//!
//! The workspace has no JSON crate, and the API needs little: bodies are a
//! few hundred bytes from operators' scripts. The reader is written for
//! hostile input:
//!
//! - the whole input must be one value, with only whitespace after it
//!   (trailing bytes are an error, like rustls' `Reader`);
//! - nesting is limited to [`MAX_DEPTH`] arrays/objects, so a body of
//!   `[[[[...` cannot exhaust the stack;
//! - the input must be UTF-8; `\u` escapes must form valid scalar values
//!   (a lone surrogate is an error); control characters inside strings
//!   must be escaped;
//! - numbers follow the RFC grammar exactly (no `+1`, `01`, `.5`, `1.`,
//!   `NaN`) and must be finite as `f64`;
//! - an object with the same key twice is an error (RFC 8259 §4 leaves it
//!   open; refusing is the unsurprising choice for an API);
//! - every error is a [`JsonError`] with the byte offset, never a panic.
//!
//! The gateway is a binary crate, so a cargo-fuzz target (STYLE.md rule
//! 10) cannot link this module; the unit test
//! `survives_random_and_mutated_input` stands in for one: it feeds 100,000
//! random and mutated byte strings from a seeded generator and checks
//! that each is answered with a value or an error.

use std::fmt::{self, Write};

/// The deepest nesting of arrays and objects the reader accepts.
pub(crate) const MAX_DEPTH: usize = 32;

/// A JSON value. Objects keep their keys in order (writing is
/// deterministic; the reader refuses duplicate keys).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number (integers up to 2^53 are exact).
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, keys in order.
    Object(Vec<(String, Value)>),
}

/// Why a body is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    /// Byte offset in the input where the problem was found.
    pub(crate) at: usize,
    /// What is wrong.
    pub(crate) message: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.at, self.message)
    }
}

impl std::error::Error for JsonError {}

impl Value {
    /// Parses exactly one JSON value (surrounding whitespace allowed).
    pub(crate) fn parse(input: &[u8]) -> Result<Value, JsonError> {
        if let Err(e) = std::str::from_utf8(input) {
            return Err(JsonError {
                at: e.valid_up_to(),
                message: "not UTF-8",
            });
        }
        let mut r = Reader { input, pos: 0 };
        r.skip_ws();
        let v = r.value(0)?;
        r.skip_ws();
        if r.pos != input.len() {
            return Err(r.err("unexpected data after the value"));
        }
        Ok(v)
    }

    /// The member `key` of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub(crate) fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub(crate) fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The JSON type's name, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// Appends the compact JSON text of this value to `out`.
    pub(crate) fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => write_number(*n, out),
            Value::String(s) => crate::cdr::json_string(s, out),
            Value::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Value::Object(o) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    crate::cdr::json_string(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// The compact JSON text, with a final newline (a response body).
    pub(crate) fn to_body(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out.push('\n');
        out
    }
}

/// Integral values print without a fraction; non-finite ones (which no
/// API figure should produce) as `null`, since JSON has no NaN.
fn write_number(n: f64, out: &mut String) {
    if !n.is_finite() {
        out.push_str("null");
    } else if n.fract() == 0.0 && n.abs() < 9.0e15 {
        let _ = write!(out, "{}", n as i64);
    } else {
        // Rust prints the shortest text that reads back to the same f64,
        // without an exponent: valid JSON.
        let _ = write!(out, "{n}");
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Number(n as f64)
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Number(f64::from(n))
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n as f64)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

/// An object from `(key, value)` pairs, in order.
pub(crate) fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// A cursor over the input; every method leaves `pos` at the first byte
/// it did not consume.
struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn err(&self, message: &'static str) -> JsonError {
        JsonError {
            at: self.pos,
            message,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &'static [u8], v: Value) -> Result<Value, JsonError> {
        if self.input.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("expected a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        match self.peek() {
            None => Err(self.err("unexpected end of input, expected a value")),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => self.array(depth + 1),
            Some(b'{') => self.object(depth + 1),
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.pos += 1; // [
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                None => return Err(self.err("unexpected end of input in an array")),
                Some(_) => return Err(self.err("expected , or ] in an array")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.pos += 1; // {
        let mut members: Vec<(String, Value)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a string key in an object"));
            }
            let key_at = self.pos;
            let key = self.string()?;
            if members.iter().any(|(k, _)| *k == key) {
                return Err(JsonError {
                    at: key_at,
                    message: "duplicate key in an object",
                });
            }
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected : after an object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value(depth)?;
            members.push((key, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                None => return Err(self.err("unexpected end of input in an object")),
                Some(_) => return Err(self.err("expected , or } in an object")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .input
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("unexpected end of input in a \\u escape"))?;
        let mut n = 0u32;
        for &d in digits {
            let v = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.err("expected four hex digits after \\u"))?;
            n = n * 16 + v;
        }
        self.pos += 4;
        Ok(n)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // "
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The input was checked to be UTF-8, and the run stops only at
            // ASCII bytes, so it is whole characters.
            match std::str::from_utf8(&self.input[start..self.pos]) {
                Ok(s) => out.push_str(s),
                Err(_) => return Err(self.err("not UTF-8")),
            }
            match self.peek() {
                None => return Err(self.err("unexpected end of input in a string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.err("unexpected end of input in an escape"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => {
                            self.pos -= 1;
                            return Err(self.err("unknown escape"));
                        }
                    }
                }
                Some(_) => return Err(self.err("control character in a string (escape it)")),
            }
        }
    }

    /// After `\u`: one scalar value, from one escape or a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let hi = self.hex4()?;
        let code = match hi {
            0xD800..=0xDBFF => {
                if self.input.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return Err(self.err("lone high surrogate in a \\u escape"));
                }
                self.pos += 2;
                let lo = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(self.err("high surrogate not followed by a low one"));
                }
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.err("lone low surrogate in a \\u escape")),
            c => c,
        };
        char::from_u32(code).ok_or_else(|| self.err("invalid \\u escape"))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.err("leading zero in a number"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err("expected a digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("expected a digit in the exponent"));
            }
        }
        let text =
            std::str::from_utf8(&self.input[start..self.pos]).map_err(|_| self.err("not UTF-8"))?;
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Value::Number(n)),
            _ => Err(JsonError {
                at: start,
                message: "number out of range",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Value, JsonError> {
        Value::parse(s.as_bytes())
    }

    #[test]
    fn reads_every_kind_of_value() {
        let v = parse(
            r#" {"a": [1, -2.5e3, 0, true, false, null], "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "o": {}} "#,
        )
        .unwrap();
        let a = v.get("a").and_then(Value::as_array).unwrap();
        assert_eq!(a[0], Value::Number(1.0));
        assert_eq!(a[1], Value::Number(-2500.0));
        assert_eq!(a[3], Value::Bool(true));
        assert_eq!(a[5], Value::Null);
        assert_eq!(
            v.get("s").and_then(Value::as_str),
            Some("x\"\\/\u{8}\u{c}\n\r\té😀")
        );
        assert_eq!(v.get("o"), Some(&Value::Object(vec![])));
    }

    #[test]
    fn refuses_malformed_input_with_an_offset() {
        for (text, at) in [
            ("", 0),
            ("   ", 3),
            ("{", 1),
            ("[1,]", 3),
            ("[1 2]", 3),
            ("{\"a\" 1}", 5),
            ("{\"a\":1,}", 7),
            ("{a:1}", 1),
            ("{\"a\":1,\"a\":2}", 7),
            ("01", 1),
            ("+1", 0),
            (".5", 0),
            ("1.", 2),
            ("1e", 2),
            ("-", 1),
            ("1e999", 0),
            ("nul", 0),
            ("truex", 4),
            ("\"abc", 4),
            ("\"a\u{1}b\"", 2),
            ("\"\\x\"", 2),
            ("\"\\u12\"", 3),
            ("\"\\ud800\"", 7),
            ("\"\\udc00\"", 7),
            ("\"\\ud800\\u0041\"", 13),
            ("[] []", 3),
            ("NaN", 0),
        ] {
            let e = parse(text).expect_err(text);
            assert_eq!(e.at, at, "{text:?}: {e}");
        }
        assert_eq!(Value::parse(b"\"\xff\"").unwrap_err().message, "not UTF-8");
    }

    #[test]
    fn limits_nesting() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&deep).unwrap_err().message, "nested too deeply");
        let hostile = "{\"a\":".repeat(100_000);
        assert!(parse(&hostile).is_err());
    }

    #[test]
    fn writes_what_it_reads() {
        let v = object([
            ("n", Value::from(3u64)),
            ("f", Value::from(0.25)),
            ("neg", Value::from(-7i64)),
            ("nan", Value::from(f64::NAN)),
            ("s", Value::from("a\"b\n\u{1}")),
            ("none", Value::from(None::<u64>)),
            ("list", Value::from(vec!["x", "y"])),
        ]);
        let text = v.to_body();
        assert_eq!(
            text,
            "{\"n\":3,\"f\":0.25,\"neg\":-7,\"nan\":null,\"s\":\"a\\\"b\\n\\u0001\",\"none\":null,\"list\":[\"x\",\"y\"]}\n"
        );
        let back = Value::parse(text.as_bytes()).unwrap();
        assert_eq!(back.get("s"), v.get("s"));
        assert_eq!(back.get("f"), v.get("f"));
    }

    /// Stands in for a cargo-fuzz target (see the module docs): random
    /// bytes, then mutations of valid documents (bytes flipped, inserted,
    /// removed, truncated), from a fixed seed. Each must be answered,
    /// and whatever parses must write and read back to the same value.
    #[test]
    fn survives_random_and_mutated_input() {
        let mut state: u64 = 0x005E_ED0F_7A4D_E11A;
        let mut next = move || {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let seeds: [&[u8]; 6] = [
            br#"[{"to":"queue:sales","weight":1},{"to":"number:+8613800000000","weight":2}]"#,
            br#"{"reason":"lunch"}"#,
            br#"{"a":[1,2.5e-3,-0,true,false,null,"\u00e9\ud83d\ude00\n"],"b":{"c":{}}}"#,
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
            b"\"\\\\\\\"\\/\\b\\f\\n\\r\\t\"",
            b"-12345678901234567890.123e+45",
        ];
        let alphabet = b"{}[]\",:\\/-+.0123456789eEtrufalsn \t\n\xff\xc3\xa9u";
        let mut parsed = 0usize;
        for i in 0..100_000u32 {
            let mut input: Vec<u8> = if i % 4 == 0 {
                let len = (next() % 64) as usize;
                (0..len)
                    .map(|_| {
                        let r = next();
                        if r % 3 == 0 {
                            r as u8
                        } else {
                            alphabet[(r >> 8) as usize % alphabet.len()]
                        }
                    })
                    .collect()
            } else {
                seeds[(next() % seeds.len() as u64) as usize].to_vec()
            };
            for _ in 0..(next() % 4) {
                if input.is_empty() {
                    break;
                }
                let at = (next() % input.len() as u64) as usize;
                match next() % 4 {
                    0 => input[at] = alphabet[(next() % alphabet.len() as u64) as usize],
                    1 => input.insert(at, next() as u8),
                    2 => {
                        input.remove(at);
                    }
                    _ => input.truncate(at),
                }
            }
            if let Ok(v) = Value::parse(&input) {
                parsed += 1;
                let mut text = String::new();
                v.write(&mut text);
                let back = Value::parse(text.as_bytes()).expect("our own output parses");
                assert_eq!(back, v, "{text}");
            }
        }
        // The mutations leave a good share valid, so both paths are run.
        assert!(parsed > 1000, "only {parsed} inputs parsed");
    }
}
