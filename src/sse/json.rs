//! Just enough JSON for the hot events of a stream (text, reasoning and argument deltas),
//! read and written without serde's typed machinery.
//!
//! Most of a streamed answer is events of a few fixed shapes, each carrying one short string.
//! Parsing every one of them into typed structs, and serializing every client event through
//! `serde_json`, was most of the cost of translating a stream. The codecs recognise those
//! shapes with [`Reader`] and write them with [`write_str`] and [`write_u64`]; anything else
//! (and any shape the reader is not sure about) goes through serde as before.
//!
//! The contract that keeps the fast paths honest:
//! - [`Reader`] accepts a strict subset of JSON (no floats, no negative numbers, no escaped
//!   keys, nested values only where the caller descends into them) and, on what it accepts,
//!   reads exactly what `serde_json` reads: a string with escapes is handed to `serde_json`
//!   itself. Anything outside the subset makes it give up (`None`), and the caller falls back
//!   to the full parse.
//! - [`write_str`] writes a string byte for byte as `serde_json` does.

use std::borrow::Cow;

/// A forward-only reader over one JSON text. Every method returns `None` when the input is
/// not the expected token (or not in the subset this reader handles).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

/// An object or array being read: whether the next member is its first.
#[derive(Debug)]
pub struct Members {
    first: bool,
    close: u8,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Reader<'a> {
        Reader { text, pos: 0 }
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes().get(self.pos..).unwrap_or_default()
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        // Compact JSON has none: one look, no loop.
        if !matches!(self.bytes().first(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            return;
        }
        let skipped = self
            .bytes()
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .count();
        self.pos += skipped;
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes().first().copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// Consumes `literal` if the input continues with it, as it is: whitespace before it is
    /// not skipped, so a shape spelled as literals matches compact JSON only.
    #[inline]
    pub fn literal(&mut self, literal: &str) -> bool {
        let found = self.bytes().starts_with(literal.as_bytes());
        if found {
            self.pos += literal.len();
        }
        found
    }

    /// Reads `{`; members follow through [`Reader::key`].
    pub fn object(&mut self) -> Option<Members> {
        self.expect(b'{')?;
        Some(Members {
            first: true,
            close: b'}',
        })
    }

    /// Reads `[`; elements follow through [`Reader::element`].
    pub fn array(&mut self) -> Option<Members> {
        self.expect(b'[')?;
        Some(Members {
            first: true,
            close: b']',
        })
    }

    /// The next member's key (its `:` consumed, the value next), or `Some(None)` at the end of
    /// the object. Keys with escapes are not handled.
    pub fn key(&mut self, members: &mut Members) -> Option<Option<&'a str>> {
        if !self.next_member(members)? {
            return Some(None);
        }
        let key = match self.string()? {
            Cow::Borrowed(key) => key,
            Cow::Owned(_) => return None,
        };
        self.expect(b':')?;
        Some(Some(key))
    }

    /// Whether another element follows (`false` at the end of the array).
    pub fn element(&mut self, members: &mut Members) -> Option<bool> {
        self.next_member(members)
    }

    fn next_member(&mut self, members: &mut Members) -> Option<bool> {
        if self.peek()? == members.close {
            self.pos += 1;
            return Some(false);
        }
        if !members.first {
            self.expect(b',')?;
        }
        members.first = false;
        Some(true)
    }

    /// A string: borrowed when it has no escapes, else decoded by `serde_json`.
    pub fn string(&mut self) -> Option<Cow<'a, str>> {
        self.expect(b'"')?;
        let start = self.pos;
        let rest = self.bytes();
        let special = find_special(rest)?;
        match rest.get(special)? {
            b'"' => {
                let text = self.text.get(start..start + special)?;
                self.pos = start + special + 1;
                Some(Cow::Borrowed(text))
            }
            b'\\' => {
                let end = start + closing_quote(rest)?;
                let quoted = self.text.get(start - 1..=end)?;
                self.pos = end + 1;
                serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
            }
            // A raw control character: not JSON.
            _ => None,
        }
    }

    /// A non-negative integer without fraction or exponent.
    pub fn u64(&mut self) -> Option<u64> {
        self.skip_whitespace();
        let bytes = self.bytes();
        // One pass: digits are added up as they are counted (`None` past `u64::MAX`).
        let mut value: Option<u64> = Some(0);
        let mut digits = 0;
        for &byte in bytes {
            if !byte.is_ascii_digit() {
                break;
            }
            value = value
                .and_then(|v| v.checked_mul(10))
                .and_then(|v| v.checked_add(u64::from(byte - b'0')));
            digits += 1;
        }
        if digits == 0 || (digits > 1 && bytes.first() == Some(&b'0')) {
            return None;
        }
        if matches!(bytes.get(digits), Some(b'.' | b'e' | b'E' | b'-' | b'+')) {
            return None;
        }
        let value = value?;
        self.pos += digits;
        Some(value)
    }

    pub fn bool(&mut self) -> Option<bool> {
        self.skip_whitespace();
        if self.literal("true") {
            Some(true)
        } else if self.literal("false") {
            Some(false)
        } else {
            None
        }
    }

    pub fn null(&mut self) -> Option<()> {
        self.skip_whitespace();
        self.literal("null").then_some(())
    }

    /// Skips a value of a member the caller does not read: a string, an integer, a boolean,
    /// `null`, `[]` or `{}`. Anything else is not handled.
    pub fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'0'..=b'9' => self.u64().map(drop),
            b'[' => {
                let mut members = self.array()?;
                (!self.element(&mut members)?).then_some(())
            }
            b'{' => {
                let mut members = self.object()?;
                self.key(&mut members)?.is_none().then_some(())
            }
            _ => {
                if self.bool().is_some() {
                    Some(())
                } else {
                    self.null()
                }
            }
        }
    }

    /// The input ends here (but for whitespace).
    pub fn end(&mut self) -> Option<()> {
        self.skip_whitespace();
        self.bytes().is_empty().then_some(())
    }
}

/// Index of the quote that closes a string whose body starts `bytes` (escapes skipped).
fn closing_quote(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        at += memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
        match bytes.get(at)? {
            b'"' => return Some(at),
            _ => at += 2,
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether some byte of `word` is `"`, `\\` or a control character (exact as to whether
/// some byte is; which one is left to a byte-wise look).
#[inline]
fn word_is_special(word: u64) -> bool {
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    (below_space | quote | backslash) & HIGHS != 0
}

#[inline]
fn is_special(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Index of the first byte that a JSON string must escape, eight bytes at a time.
#[inline]
fn find_special(bytes: &[u8]) -> Option<usize> {
    let mut offset = 0;
    let mut words = bytes.chunks_exact(8);
    for chunk in words.by_ref() {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).ok()?);
        if word_is_special(word) {
            return chunk
                .iter()
                .position(|&b| is_special(b))
                .map(|i| offset + i);
        }
        offset += 8;
    }
    let tail = words.remainder();
    // Fewer than eight bytes left: after a whole word, the last eight bytes are looked at in
    // one go (those before the tail are known to be plain), so the usual plain text needs no
    // byte-wise look at all.
    if !tail.is_empty()
        && let Some(last) = bytes
            .len()
            .checked_sub(8)
            .and_then(|start| bytes.get(start..))
        && let Ok(last) = <[u8; 8]>::try_from(last)
        && !word_is_special(u64::from_le_bytes(last))
    {
        return None;
    }
    tail.iter().position(|&b| is_special(b)).map(|i| offset + i)
}

/// Writes `text` as a JSON string, quotes included, exactly as `serde_json` writes it.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    write_str_body(out, text);
    out.push(b'"');
}

/// Writes `text` escaped as in a JSON string, without the quotes.
pub fn write_str_body(out: &mut Vec<u8>, text: &str) {
    let mut rest = text.as_bytes();
    while let Some(at) = find_special(rest) {
        let (plain, tail) = rest.split_at(at);
        out.extend_from_slice(plain);
        let Some((&byte, tail)) = tail.split_first() else {
            break;
        };
        write_escape(out, byte);
        rest = tail;
    }
    out.extend_from_slice(rest);
}

fn write_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0C => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            let high = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
            let low = HEX.get(usize::from(byte & 0xF)).copied().unwrap_or(b'0');
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', high, low]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// Writes `value` in decimal, as `serde_json` writes integers.
pub fn write_u64(out: &mut Vec<u8>, value: u64) {
    // Indexes are nearly always one digit, sequence numbers a few: no buffer, no copy.
    let digit = |value: u64| b'0' + (value % 10) as u8;
    if value < 10 {
        out.push(digit(value));
        return;
    }
    if value < 100 {
        out.push(digit(value / 10));
        out.push(digit(value));
        return;
    }
    if value < 10_000 {
        if value >= 1_000 {
            out.push(digit(value / 1_000));
        }
        out.push(digit(value / 100));
        out.push(digit(value / 10));
        out.push(digit(value));
        return;
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        if let Some(digit) = digits.get_mut(at) {
            *digit = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

/// Strings that test a JSON string reader or writer: escapes, control characters, multi-byte
/// and astral characters, runs at the edges of an eight-byte word.
#[cfg(test)]
pub(crate) const TRICKY_STRINGS: &[&str] = &[
    "",
    "plain words",
    "quote \" and backslash \\ and slash /",
    "line\nbreak\rreturn\ttab\u{8}\u{c}",
    "\u{0}\u{1}\u{1f}\u{7f}",
    "h\u{e9}llo \u{1f600} \u{4e16}\u{754c}",
    "exactly8",
    "0123456789abcdef\"",
    "\\\\\\\\\\\\\\\\\\",
];

#[cfg(test)]
mod tests {
    use super::*;

    const TRICKY: &[&str] = TRICKY_STRINGS;

    #[test]
    fn writes_strings_as_serde_json_does() {
        for text in TRICKY {
            let mut out = Vec::new();
            write_str(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
        let every_byte: String = (0u8..=127).map(char::from).collect();
        let mut out = Vec::new();
        write_str(&mut out, &every_byte);
        assert_eq!(out, serde_json::to_vec(&every_byte).unwrap());
    }

    /// Every length up to five words, with each special byte at each place (and none).
    #[test]
    fn finds_the_first_special_byte_as_a_byte_wise_look_does() {
        for len in 0..40 {
            for special in [None, Some(b'"'), Some(b'\\'), Some(0x1F), Some(b'\n')] {
                for at in 0..len.max(1) {
                    let mut bytes = vec![b'a'; len];
                    if let (Some(byte), Some(slot)) = (special, bytes.get_mut(at)) {
                        *slot = byte;
                    }
                    // A second one later changes nothing.
                    if let (Some(byte), Some(slot)) = (special, bytes.get_mut(at + 9)) {
                        *slot = byte;
                    }
                    let expected = bytes.iter().position(|&b| is_special(b));
                    assert_eq!(find_special(&bytes), expected, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn writes_integers_as_serde_json_does() {
        for value in (0..=20_000).chain([1_730_000_000, u64::MAX - 1, u64::MAX]) {
            let mut out = Vec::new();
            write_u64(&mut out, value);
            assert_eq!(out, serde_json::to_vec(&value).unwrap());
        }
    }

    #[test]
    fn reads_strings_as_serde_json_does() {
        let mut inputs: Vec<String> = TRICKY
            .iter()
            .map(|text| serde_json::to_string(text).unwrap())
            .collect();
        inputs.extend(
            [
                r#""\u00e9\ud83d\ude00""#,
                r#""\/ \b \f \n \r \t""#,
                r#""ends with \\""#,
                r#""\"""#,
            ]
            .map(str::to_owned),
        );
        for input in &inputs {
            let expected: String = serde_json::from_str(input).unwrap();
            let mut reader = Reader::new(input);
            assert_eq!(
                reader.string().as_deref(),
                Some(expected.as_str()),
                "{input}"
            );
            assert_eq!(reader.end(), Some(()));
        }
        // Not JSON, or not a complete string: no answer rather than a wrong one.
        for input in [
            "\"raw\ncontrol\"",
            "\"unterminated",
            "\"bad \\x escape\"",
            "\"lone \\ud800 surrogate\"",
            "\"ends in backslash\\",
            "'single'",
        ] {
            assert_eq!(Reader::new(input).string(), None, "{input:?}");
        }
    }

    #[test]
    fn reads_integers_strictly() {
        for (input, expected) in [
            ("0", Some(0)),
            ("42", Some(42)),
            (" 7 ", Some(7)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("99999999999999999999", None),
            ("184467440737095516150", None),
            ("12,", Some(12)),
            ("3}", Some(3)),
            ("00", None),
            ("01", None),
            ("1.0", None),
            ("1e3", None),
            ("-1", None),
            ("", None),
        ] {
            assert_eq!(Reader::new(input).u64(), expected, "{input:?}");
        }
    }

    #[test]
    fn reads_objects_and_arrays_with_whitespace() {
        let input = " { \"a\" : \"x\" , \"b\":[ ] ,\"c\":{},\"d\":null,\"e\":true, \"f\":12 } ";
        let mut reader = Reader::new(input);
        let mut members = reader.object().unwrap();
        let mut keys = Vec::new();
        while let Some(key) = reader.key(&mut members).unwrap() {
            keys.push(key);
            reader.skip_scalar().unwrap();
        }
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(reader.end(), Some(()));
    }

    #[test]
    fn gives_up_on_what_it_does_not_handle() {
        for input in [
            "{\"a\":1,}",
            "{\"a\":1 \"b\":2}",
            "{\"a\":1.5}",
            "{\"a\":-1}",
            "{\"a\":[1]}",
            "{\"a\":{\"b\":1}}",
            "{\"\\u0061\":1}",
            "{\"a\":nul}",
        ] {
            let mut reader = Reader::new(input);
            let mut members = reader.object().unwrap();
            let mut result = Some(());
            loop {
                match reader.key(&mut members) {
                    Some(Some(_)) => {
                        if reader.skip_scalar().is_none() {
                            result = None;
                            break;
                        }
                    }
                    Some(None) => break,
                    None => {
                        result = None;
                        break;
                    }
                }
            }
            assert_eq!(result, None, "{input}");
        }
    }
}
