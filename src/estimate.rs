//! Token estimates before any tokenizer has run: [`text_tokens`] is an upper bound of the number
//! of tokens that real LLM tokenizers give a text, for ordinary text in any script.
//!
//! # Method
//!
//! One pass over the characters, with a few words of state and no allocation, adds up costs in
//! sixteenths of a token; the result is rounded up once.
//!
//! - ASCII letter runs, split at camelCase humps as tokenizers split them: a run that is one of
//!   the 19,393 words that every recorded tokenizer encodes as ONE token after a space (`the`,
//!   `The`, `return`, `because`...; a 24 KB Bloom filter, about 0.9% false positives) costs 1.
//!   Any other run costs 1.125, plus 0.5 per letter up to the 8th and 0.375 per letter after it
//!   (0.5 for capitals and repeated letters), plus 0.5 per rare letter pair: random strings are
//!   full of pairs that byte-pair merges never cross, words nearly free of them.
//! - Digits cost 1 each (Gemma and Qwen give every digit its own token).
//! - Whitespace: the last space of a run goes with a following word or punctuation or costs 1,
//!   the rest of the run 1 plus 1/16 per space; newlines 1 then 1/4 each, tabs 1 then 1/2.
//! - ASCII punctuation runs: 1, then 5/8 per change of character; repeats are cheap only for
//!   the characters of rules and markup (`=====`, `----`, `####`).
//! - Non-ASCII: for general punctuation, symbols, CJK, kana, Hangul and fullwidth forms, a
//!   2-bit table (9 KB) gives the most tokens any recorded tokenizer spends on the character
//!   alone; other scripts have a cost per block measured on text in those scripts (Cyrillic
//!   15/16, Greek 1.375, Hebrew, Arabic and Devanagari 1.5, Thai 2...), and the UTF-8 length
//!   where some tokenizer falls back to bytes (Armenian, Gujarati, Sinhala, Khmer, Ethiopic,
//!   emoji...).
//! - Byte-level BPE never gives more tokens than the text has UTF-8 bytes, so the estimate is
//!   capped at that; the legacy Claude tokenizer applies NFKC first (and Qwen NFC), which
//!   lengthens a few characters (`½` becomes `1⁄2`, Thai `ำ` two characters), so their extra
//!   bytes are added to both the cap and the estimate.
//!
//! The tables come from scripts/generate-estimate-tables.py. The costs were fitted (a linear
//! program over these features, then rounded up) against tests/fixtures/tokenizer/samples.json
//! (128 samples, 10 tokenizers, recorded by scripts/record-token-counts.py) and about 1,300
//! more 2 KB chunks of Rust, Python and JavaScript sources, Markdown, JSON and translated UI
//! strings in 120 languages (gettext catalogs); another 1,200 chunks, never used for fitting,
//! stayed under the estimate too.
//!
//! # Measured ratios
//!
//! Estimate / largest count among the recorded tokenizers, per kind of sample:
//!
//! | fixture kind (samples) | min | median | max |
//! |---|---|---|---|
//! | english (7) | 1.00 | 1.11 | 1.58 |
//! | code (16) | 1.11 | 1.19 | 1.34 |
//! | json (7) | 1.12 | 1.19 | 1.40 |
//! | markdown (2) | 1.10 | 1.16 | 1.23 |
//! | latin: French, German, Polish, Vietnamese, Finnish... (16) | 1.08 | 1.34 | 1.68 |
//! | cyrillic (3) | 1.19 | 1.53 | 1.68 |
//! | greek (1) | 1.16 | 1.16 | 1.16 |
//! | arabic (3) | 1.08 | 1.50 | 1.55 |
//! | hebrew (2) | 1.27 | 1.38 | 1.48 |
//! | indic (5) | 1.00 | 1.12 | 1.27 |
//! | thai (1) | 1.15 | 1.15 | 1.15 |
//! | other scripts: Armenian, Georgian, Khmer, Amharic (5) | 1.00 | 1.00 | 1.12 |
//! | cjk (5) | 1.00 | 1.04 | 1.30 |
//! | japanese (3) | 1.05 | 1.13 | 1.18 |
//! | korean (1) | 1.14 | 1.14 | 1.14 |
//! | mixed scripts (2) | 1.16 | 1.29 | 1.41 |
//! | emoji (5) | 1.00 | 1.02 | 1.27 |
//! | symbols (1) | 1.43 | 1.43 | 1.43 |
//! | numbers (4) | 1.00 | 1.02 | 1.02 |
//! | whitespace (7) | 1.01 | 1.10 | 1.27 |
//! | url (1), hex (1), uuid (1) | 1.04 | 1.06 | 1.12 |
//! | base64 (3) | 1.14 | 1.15 | 1.15 |
//! | random identifiers (4) | 1.13 | 1.14 | 1.26 |
//! | repetition (6) | 1.00 | 1.00 | 1.06 |
//! | short strings (15) | 1.00 | 1.00 | 1.43 |
//!
//! On the validation chunks: English Markdown 1.07 / 1.20 / 1.38, Rust, Python and JavaScript
//! 1.06 / 1.22 / 1.61, JSON 1.00 / 1.27 / 1.41, languages written in ASCII letters 1.04 / 1.33
//! / 1.96, other scripts 1.00 / 1.22 / 1.96. A ratio of 1.00 is where a tokenizer spends a token
//! per byte (the legacy Claude tokenizer on Gujarati) or counts exactly as the model does
//! (digits, repeated words).
//!
//! # Limits
//!
//! The bound is for text people write. Strings built to defeat it can exceed it: runs of one
//! capital letter (Tekken spends a token per `U` in `UUUU`, 2x), long runs of letters with no
//! space and a short period (`ababab`, 1.3x), random letters of alphabets other than ASCII
//! (random Devanagari consonants 1.2x, random Vietnamese or accented letters 1.15x, while real
//! words in those scripts stay well under), random punctuation soup (1.1x). The UTF-8 cap holds
//! for byte-level BPE only: SentencePiece tokenizers with 32k vocabularies (Llama 2, Mistral 7B
//! v0.1 to v0.3) add a leading `▁` token and fall back to bytes for most non-Latin text; they
//! are not recorded and not bounded. The tokenizer of current Claude models is not published:
//! the legacy one stands in for it.

#[cfg(test)]
mod reference;
mod tables;

use std::cell::Cell;

use tables::{
    BLOOM_BYTES, BLOOM_PROBES, CHAR_RANGES, CHAR_TABLE_BYTES, EXPANSIONS, MAX_KNOWN_WORD_LEN,
    RARE_PAIRS,
};

/// Words that every recorded tokenizer encodes as one token after a space (a Bloom filter of
/// FNV-1a hashes; see scripts/generate-estimate-tables.py).
static KNOWN_WORDS: &[u8; BLOOM_BYTES] = include_bytes!("estimate/known_words.bin");
/// 2 bits per code point of [`CHAR_RANGES`] (punctuation, symbols, CJK, kana, Hangul): the
/// most tokens a recorded tokenizer spends on that character alone.
static CHAR_TOKENS: &[u8; CHAR_TABLE_BYTES] = include_bytes!("estimate/char_tokens.bin");

/// Costs are added in sixteenths of a token and rounded up once at the end.
const UNIT: u64 = 16;

/// A letter run found among the known words: one token.
const KNOWN_WORD: u64 = UNIT;
/// The first letter of an unknown run, each of its next letters up to [`UNKNOWN_TIER`], each
/// later one (byte-pair merges cover long words better than short ones), a later letter that
/// repeats the one before it or is a capital ("aaaa" and "QWERTY" still cost half a token per
/// letter), and a rare letter pair (random strings have many, words few).
const UNKNOWN_FIRST: u64 = 18;
const UNKNOWN_NEXT: u64 = 8;
const UNKNOWN_TIER: u32 = 8;
const UNKNOWN_LATE: u64 = 6;
const UNKNOWN_REPEAT: u64 = 8;
const RARE_PAIR: u64 = 8;
/// Gemma and Qwen give every digit its own token.
const DIGIT: u64 = UNIT;
/// Spaces: the last of a run is taken in by a following word or punctuation, or costs a
/// token; the others cost a token plus a sixteenth per space after the first of them.
const SPACE_RUN: u64 = UNIT;
const SPACE_EXTRA: u64 = 1;
/// A run of newlines: a token, then a quarter per newline (Tekken merges four at most).
const NEWLINE: u64 = UNIT;
const NEWLINE_EXTRA: u64 = 4;
const TAB: u64 = UNIT;
const TAB_EXTRA: u64 = 8;
/// Other ASCII controls, `\r` included (Gemma never merges it with `\n`).
const CONTROL: u64 = UNIT;
/// A run of ASCII punctuation: a token, then 5/8 per character that differs from the one
/// before it. Repeats are cheap only for the characters of rules and markup (`=====`, `----`,
/// `****`, `////`, `____`, `####`, `....`); others (`}}}}`, `!!!!`) merge two at a time at best.
const PUNCT: u64 = UNIT;
const PUNCT_CHANGE: u64 = 10;
const PUNCT_REPEAT_EARLY: u64 = 11;
const PUNCT_REPEAT_LATE: u64 = 8;
const RULE_REPEAT_EARLY: u64 = 6;
const RULE_REPEAT_LATE: u64 = 1;
const UNDERSCORE_REPEAT_LATE: u64 = 2;
/// Repeats up to this length of run are "early".
const PUNCT_EARLY_RUN: u32 = 4;

/// Upper bound of the tokens of `text` for every tokenizer recorded in
/// tests/fixtures/tokenizer/samples.json. One pass over the characters, no allocation.
pub fn text_tokens(text: &str) -> u64 {
    let mut scanner = Scanner::new(text);
    scanner.run();
    scanner.finish()
}

/// What the previous character was, as far as the costs care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Prev {
    #[default]
    Start,
    Letter,
    Digit,
    Space,
    Newline,
    Tab,
    Control,
    Punct(u8),
    Other,
}

/// One pass over `text`, a byte at a time where it is ASCII.
///
/// A letter run (a word, or one camelCase part of an identifier) is a contiguous slice of the
/// text, so it is priced once it ends, from its bytes: the common case, a known word, then
/// costs a hash and a filter lookup, and the per-letter costs of unknown runs are only added
/// up for runs that turn out unknown. The loop over a run's letters does nothing but find
/// where it ends.
#[derive(Debug)]
struct Scanner<'t> {
    text: &'t str,
    sixteenths: u64,
    /// Bytes that NFKC or NFC adds to the text (see [`expansion_bytes`]).
    extra_bytes: u64,
    prev: Prev,
    /// Length of the run of one punctuation character that ends here.
    punct_run: u32,
    pending_spaces: u64,
    /// The letter run being read, if `prev` is a letter: where it starts, whether it has a
    /// non-ASCII letter (then it is no known word), whether its last letter is lowercase.
    piece_open: bool,
    piece_start: usize,
    /// FNV-1a of its ASCII letters, for the known-word lookup.
    piece_hash: u64,
    piece_non_ascii: bool,
    piece_last_lower: bool,
}

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01B3;

impl<'t> Scanner<'t> {
    fn new(text: &'t str) -> Scanner<'t> {
        Scanner {
            text,
            sixteenths: 0,
            extra_bytes: 0,
            prev: Prev::Start,
            punct_run: 0,
            pending_spaces: 0,
            piece_open: false,
            piece_start: 0,
            piece_hash: FNV_OFFSET,
            piece_non_ascii: false,
            piece_last_lower: false,
        }
    }

    #[inline(always)]
    fn add(&mut self, sixteenths: u64) {
        self.sixteenths = self.sixteenths.saturating_add(sixteenths);
    }

    fn run(&mut self) {
        let bytes = self.text.as_bytes();
        let mut at = 0;
        while let Some(&byte) = bytes.get(at) {
            if byte.is_ascii_alphabetic() {
                at = self.letters(bytes, at);
            } else if byte.is_ascii() {
                self.end_piece(at);
                self.push_ascii(byte);
                at += 1;
            } else {
                // A character boundary: every other branch moves by whole characters.
                let Some(ch) = self.text.get(at..).and_then(|rest| rest.chars().next()) else {
                    break;
                };
                self.push_non_ascii(ch, at);
                at += ch.len_utf8();
            }
        }
    }

    /// Reads the run of ASCII letters that starts at `at` (an ASCII letter) and returns where
    /// it ends. A new piece starts at the run unless the run continues one (after an accented
    /// letter), and at every camelCase hump: tokenizers split `getUserName` at the capitals.
    /// The piece's hash is kept up as the letters go by (it is needed at its end).
    #[inline(always)]
    fn letters(&mut self, bytes: &[u8], mut at: usize) -> usize {
        self.flush_spaces(true);
        let mut last_lower = self.piece_open && self.piece_last_lower;
        if !self.piece_open {
            self.start_piece(at);
        }
        let mut hash = self.piece_hash;
        while let Some(&byte) = bytes.get(at) {
            // Lowercase letters, most of a text, are one comparison.
            if byte.wrapping_sub(b'a') >= 26 {
                if byte.wrapping_sub(b'A') >= 26 {
                    break;
                }
                if last_lower {
                    self.piece_hash = hash;
                    self.end_piece(at);
                    self.start_piece(at);
                    hash = FNV_OFFSET;
                }
                last_lower = false;
            } else {
                last_lower = true;
            }
            hash = (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
            at += 1;
        }
        self.piece_hash = hash;
        self.piece_last_lower = last_lower;
        self.prev = Prev::Letter;
        at
    }

    #[inline(always)]
    fn start_piece(&mut self, at: usize) {
        self.piece_open = true;
        self.piece_start = at;
        self.piece_hash = FNV_OFFSET;
        self.piece_non_ascii = false;
    }

    fn push_ascii(&mut self, byte: u8) {
        match byte {
            b'0'..=b'9' => {
                self.flush_spaces(false);
                self.add(DIGIT);
                self.prev = Prev::Digit;
            }
            b' ' => {
                self.pending_spaces = self.pending_spaces.saturating_add(1);
                self.prev = Prev::Space;
            }
            b'\n' => {
                self.flush_spaces(false);
                self.add(if self.prev == Prev::Newline {
                    NEWLINE_EXTRA
                } else {
                    NEWLINE
                });
                self.prev = Prev::Newline;
            }
            b'\t' => {
                self.flush_spaces(false);
                self.add(if self.prev == Prev::Tab {
                    TAB_EXTRA
                } else {
                    TAB
                });
                self.prev = Prev::Tab;
            }
            0..=0x1F | 0x7F => {
                self.flush_spaces(false);
                self.add(CONTROL);
                self.prev = Prev::Control;
            }
            _ => {
                self.flush_spaces(true);
                let cost = match self.prev {
                    Prev::Punct(last) if last == byte => {
                        self.punct_run = self.punct_run.saturating_add(1);
                        let early = self.punct_run <= PUNCT_EARLY_RUN;
                        match (byte, early) {
                            (b'#' | b'*' | b'-' | b'.' | b'/' | b'=' | b'_', true) => {
                                RULE_REPEAT_EARLY
                            }
                            (b'_', false) => UNDERSCORE_REPEAT_LATE,
                            (b'#' | b'*' | b'-' | b'.' | b'/' | b'=', false) => RULE_REPEAT_LATE,
                            (_, true) => PUNCT_REPEAT_EARLY,
                            (_, false) => PUNCT_REPEAT_LATE,
                        }
                    }
                    Prev::Punct(_) => {
                        self.punct_run = 1;
                        PUNCT_CHANGE
                    }
                    _ => {
                        self.punct_run = 1;
                        PUNCT
                    }
                };
                self.add(cost);
                self.prev = Prev::Punct(byte);
            }
        }
    }

    /// `ch` starts at byte `at`.
    fn push_non_ascii(&mut self, ch: char, at: usize) {
        let code = u32::from(ch);
        let extra_bytes = u64::from(expansion_bytes(code));
        self.extra_bytes = self.extra_bytes.saturating_add(extra_bytes);
        self.add(non_ascii_sixteenths(code).saturating_add(extra_bytes.saturating_mul(UNIT)));
        // Accented Latin letters continue the word they are in (`café`, `Straße`).
        if self.piece_open && is_latin_letter(code) {
            self.piece_non_ascii = true;
            self.piece_last_lower = true;
            return;
        }
        self.end_piece(at);
        self.flush_spaces(false);
        self.prev = Prev::Other;
    }

    /// Prices the open letter run, which ends at byte `end`.
    #[inline(always)]
    fn end_piece(&mut self, end: usize) {
        if self.piece_open {
            self.piece_open = false;
            self.price_piece(end);
        }
    }

    /// Most runs are known words: that case is priced from the run's length and hash alone
    /// (a cache hit costs a few instructions), and only the rest is sliced out of the text and
    /// priced letter by letter in [`Scanner::price_unknown`].
    fn price_piece(&mut self, end: usize) {
        // `piece_start..end` is a run of whole characters, so its length is that of its slice.
        let len = end.saturating_sub(self.piece_start);
        let known = !self.piece_non_ascii
            && (2..=MAX_KNOWN_WORD_LEN as usize).contains(&len)
            && is_known_word_cached(self.piece_hash);
        if known {
            self.add(KNOWN_WORD);
        } else {
            self.price_unknown(end);
        }
    }

    #[inline(never)]
    fn price_unknown(&mut self, end: usize) {
        let piece = self.text.get(self.piece_start..end).unwrap_or_default();
        self.add(unknown_cost(piece));
    }

    /// Settles a run of spaces once the next character is known.
    #[inline(always)]
    fn flush_spaces(&mut self, next_takes_a_space: bool) {
        if self.pending_spaces != 0 {
            self.settle_spaces(next_takes_a_space);
        }
    }

    fn settle_spaces(&mut self, next_takes_a_space: bool) {
        let spaces = std::mem::take(&mut self.pending_spaces);
        // The last space goes with a following word or punctuation, or is a token of its own;
        // the spaces before it are one more token (Qwen and Gemma split longer runs).
        if !next_takes_a_space {
            self.add(SPACE_RUN);
        }
        if spaces >= 2 {
            self.add(
                SPACE_RUN.saturating_add(spaces.saturating_sub(2).saturating_mul(SPACE_EXTRA)),
            );
        }
    }

    /// Takes `&mut self` rather than `self`: moving the scanner would copy it.
    fn finish(&mut self) -> u64 {
        self.end_piece(self.text.len());
        self.flush_spaces(false);
        // What no byte-level tokenizer can exceed: the UTF-8 bytes of the text, plus what NFKC
        // or NFC adds to them.
        let ceiling_tokens = (self.text.len() as u64).saturating_add(self.extra_bytes);
        self.sixteenths.div_ceil(UNIT).min(ceiling_tokens)
    }
}

/// The cost of a letter run that is not a known word, in sixteenths: its first letter, each
/// next letter by its place in the run, and the rare pairs. The run's characters are ASCII
/// letters and accented Latin letters only.
fn unknown_cost(piece: &str) -> u64 {
    let mut chars = piece.chars();
    let Some(mut last) = chars.next() else {
        return 0;
    };
    let mut cost = UNKNOWN_FIRST;
    let mut len: u32 = 1;
    for ch in chars {
        len = len.saturating_add(1);
        let letter = if len <= UNKNOWN_TIER {
            UNKNOWN_NEXT
        } else if ch == last || ch.is_ascii_uppercase() {
            UNKNOWN_REPEAT
        } else {
            UNKNOWN_LATE
        };
        cost = cost
            .saturating_add(letter)
            .saturating_add(if is_rare_pair(last, ch) { RARE_PAIR } else { 0 });
        last = ch;
    }
    cost
}

/// Slots of [`KNOWN_CACHE`].
const KNOWN_CACHE_SLOTS: usize = 256;

thread_local! {
    /// The latest answers of [`is_known_word`] by hash, one per slot: (hash, 1 + answer), 0
    /// for an empty slot. The answer is a function of the hash alone, so a hit gives exactly
    /// what the filter would; text repeats its words, and a hit costs a few instructions where
    /// the filter's five probes cost about eighty.
    static KNOWN_CACHE: [Cell<(u64, u8)>; KNOWN_CACHE_SLOTS] =
        const { [const { Cell::new((0, 0)) }; KNOWN_CACHE_SLOTS] };
}

/// [`is_known_word`] through [`KNOWN_CACHE`]: a hit is answered here, a miss (rarer, and
/// dear anyway) out of line.
#[inline(always)]
fn is_known_word_cached(fnv: u64) -> bool {
    // FNV-1a mixes its high bits best.
    let slot = (fnv >> 56) as usize % KNOWN_CACHE_SLOTS;
    KNOWN_CACHE.with(|cache| match cache.get(slot) {
        Some(entry) => match entry.get() {
            (hash, answer) if hash == fnv && answer != 0 => answer == 2,
            _ => known_word_miss(entry, fnv),
        },
        None => is_known_word(fnv),
    })
}

/// Looks `fnv` up in the filter and keeps the answer in its cache slot.
#[inline(never)]
fn known_word_miss(entry: &Cell<(u64, u8)>, fnv: u64) -> bool {
    let known = is_known_word(fnv);
    entry.set((fnv, 1 + u8::from(known)));
    known
}

fn is_known_word(fnv: u64) -> bool {
    const BITS: u64 = BLOOM_BYTES as u64 * 8;
    let hash = fmix64(fnv);
    let h1 = hash & 0xFFFF_FFFF;
    let h2 = (hash >> 32) | 1;
    (0..BLOOM_PROBES).all(|i| {
        // Double hashing; multiply-shift maps a 32-bit probe onto the bits without a division.
        let bit = ((h1.wrapping_add(i.wrapping_mul(h2)) & 0xFFFF_FFFF) * BITS) >> 32;
        KNOWN_WORDS
            .get((bit / 8) as usize)
            .is_some_and(|byte| byte & (1 << (bit % 8)) != 0)
    })
}

/// MurmurHash3's finalizer: FNV-1a alone leaves the high bits of short words poorly mixed.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

fn is_rare_pair(first: char, second: char) -> bool {
    if !first.is_ascii_alphabetic() || !second.is_ascii_alphabetic() {
        return false;
    }
    let row = usize::from((first.to_ascii_lowercase() as u8).saturating_sub(b'a'));
    let column = u32::from((second.to_ascii_lowercase() as u8).saturating_sub(b'a'));
    RARE_PAIRS
        .get(row)
        .is_some_and(|mask| mask & (1 << column) != 0)
}

/// Latin letters with diacritics and combining marks, which stay inside a word.
fn is_latin_letter(code: u32) -> bool {
    matches!(code, 0xC0..=0x24F | 0x300..=0x36F | 0x1E00..=0x1EFF)
}

/// The cost of one non-ASCII character, in sixteenths, by script. Where a recorded tokenizer
/// falls back to bytes for a script (the legacy Claude tokenizer for Armenian and most Indic
/// and Southeast Asian scripts, Tekken for emoji), the cost is its UTF-8 length.
fn non_ascii_sixteenths(code: u32) -> u64 {
    if let Some(tokens) = table_tokens(code) {
        return tokens.saturating_mul(UNIT);
    }
    match code {
        0x80..=0xBF => 16,                   // Latin-1 punctuation and symbols, NBSP
        0xC0..=0x24F => 16,                  // Latin letters with diacritics
        0x250..=0x2FF => 20,                 // IPA, spacing modifiers (Azerbaijani ə)
        0x300..=0x36F => 24,                 // combining diacritics (NFD text)
        0x370..=0x3FF => 22,                 // Greek
        0x400..=0x52F => 15,                 // Cyrillic
        0x530..=0x58F => 32,                 // Armenian: bytes
        0x590..=0x5FF => 24,                 // Hebrew
        0x600..=0x7FF => 24,                 // Arabic, Syriac, Thaana, N'Ko
        0x900..=0x97F => 24,                 // Devanagari
        0x980..=0x9FF | 0xB80..=0xBFF => 36, // Bengali, Tamil
        0xC00..=0xD7F => 40,                 // Telugu, Kannada, Malayalam
        0xE00..=0xEFF => 32,                 // Thai, Lao
        0xF00..=0x10FF => 36,                // Tibetan, Myanmar, Georgian
        0x1E00..=0x1EFF => 24,               // Latin Extended Additional (Vietnamese)
        0xFE00..=0xFE0F => 40,               // variation selectors
        // Other BMP scripts (Gurmukhi, Gujarati, Oriya, Sinhala, Khmer, Ethiopic...): bytes.
        0x800..=0xFFFF => 48,
        // Emoji and the other supplementary planes: bytes.
        _ => 64,
    }
}

fn table_tokens(code: u32) -> Option<u64> {
    let &(first, _, start) = CHAR_RANGES
        .iter()
        .find(|&&(first, last, _)| (first..=last).contains(&code))?;
    let index = start.saturating_add(code.saturating_sub(first)) as usize;
    let byte = CHAR_TOKENS.get(index / 4)?;
    Some(u64::from((byte >> (2 * (index % 4))) & 0b11))
}

/// Extra UTF-8 bytes of the NFKC/NFC form of a code point (the legacy Claude tokenizer
/// normalizes to NFKC, Qwen to NFC): `½` becomes `1⁄2`, Thai `ำ` becomes two characters.
fn expansion_bytes(code: u32) -> u8 {
    let after = EXPANSIONS.partition_point(|&(first, _, _)| first <= code);
    match after.checked_sub(1).and_then(|i| EXPANSIONS.get(i)) {
        Some(&(_, last, extra)) if code <= last => extra,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    const SAMPLES: &str = include_str!("../tests/fixtures/tokenizer/samples.json");

    struct Sample {
        name: String,
        kind: String,
        text: String,
        /// The largest count among the recorded tokenizers, and which one gave it.
        max_tokens: u64,
        max_tokenizer: String,
    }

    fn samples() -> Vec<Sample> {
        let fixture: Value = serde_json::from_str(SAMPLES).unwrap();
        let tokenizers = fixture["tokenizers"].as_object().unwrap();
        assert!(
            tokenizers.len() >= 3,
            "the fixture records at least 3 tokenizers"
        );
        fixture["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sample| {
                let counts = sample["counts"].as_object().unwrap();
                assert_eq!(counts.len(), tokenizers.len(), "{}", sample["name"]);
                let (max_tokenizer, max_tokens) = counts
                    .iter()
                    .map(|(name, count)| (name.clone(), count.as_u64().unwrap()))
                    .max_by_key(|(_, count)| *count)
                    .unwrap();
                Sample {
                    name: sample["name"].as_str().unwrap().to_owned(),
                    kind: sample["kind"].as_str().unwrap().to_owned(),
                    text: sample["text"].as_str().unwrap().to_owned(),
                    max_tokens,
                    max_tokenizer,
                }
            })
            .collect()
    }

    #[test]
    fn bounds_every_recorded_tokenizer_on_every_sample() {
        let samples = samples();
        assert!(samples.len() >= 60);
        let failures: Vec<String> = samples
            .iter()
            .filter_map(|s| {
                let estimate = text_tokens(&s.text);
                (estimate < s.max_tokens).then(|| {
                    format!(
                        "{} ({}): estimate {estimate} < {} by {}",
                        s.name, s.kind, s.max_tokens, s.max_tokenizer
                    )
                })
            })
            .collect();
        assert!(
            failures.is_empty(),
            "under the real count:\n{}",
            failures.join("\n")
        );
    }

    /// Estimate / largest real count, per kind: (min, median, max). Printed with --nocapture.
    #[test]
    fn ratios_per_kind() {
        let mut by_kind: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for s in samples().iter().filter(|s| s.max_tokens > 0) {
            let ratio = text_tokens(&s.text) as f64 / s.max_tokens as f64;
            by_kind.entry(s.kind.clone()).or_default().push(ratio);
        }
        for (kind, ratios) in &mut by_kind {
            ratios.sort_by(f64::total_cmp);
            let median = ratios[ratios.len() / 2];
            let (min, max) = (ratios[0], ratios[ratios.len() - 1]);
            println!(
                "{kind:<14} n={:<3} min {min:.2} median {median:.2} max {max:.2}",
                ratios.len()
            );
            assert!(min >= 1.0, "{kind}");
        }
    }

    #[test]
    fn english_and_code_are_within_1_6_times_the_real_count() {
        const TIGHT_KINDS: [&str; 4] = ["english", "code", "markdown", "json"];
        const BOUND: f64 = 1.6;
        let loose: Vec<String> = samples()
            .iter()
            .filter(|s| TIGHT_KINDS.contains(&s.kind.as_str()) && s.max_tokens >= 20)
            .filter_map(|s| {
                let ratio = text_tokens(&s.text) as f64 / s.max_tokens as f64;
                (ratio > BOUND).then(|| format!("{} ({}): {ratio:.2}", s.name, s.kind))
            })
            .collect();
        assert!(
            loose.is_empty(),
            "looser than {BOUND}x:\n{}",
            loose.join("\n")
        );
    }

    #[test]
    fn small_cases() {
        assert_eq!(text_tokens(""), 0);
        assert_eq!(text_tokens("a"), 1);
        assert_eq!(text_tokens(" "), 1);
        // Known words cost one token each, a single space before a word nothing.
        assert_eq!(text_tokens("the cat sat on the mat"), 6);
        assert_eq!(text_tokens("hello ".repeat(100).as_str()), 101);
        // Every digit is a token (Gemma, Qwen).
        assert_eq!(text_tokens("1234567890"), 10);
        // The UTF-8 length is the ceiling: 4 bytes, at most 4 tokens.
        assert_eq!(text_tokens("😀"), 4);
        // ... except where NFKC makes the text longer: `½` is 2 bytes, but `1⁄2` is 3 tokens.
        assert_eq!(text_tokens("½"), 4);
        // Unknown and random letter runs cost more than words of the same length.
        assert!(text_tokens("xqzjvkwpfh") > text_tokens("everything"));
    }

    /// The byte-at-a-time scanner against the per-character reference, on the fixtures and on
    /// many generated strings: ASCII soup weighted towards letters (camelCase, long runs,
    /// repeats), accented letters inside words, every script the tables know, and slices of
    /// the fixtures cut at random character boundaries and glued together.
    #[test]
    fn matches_the_reference_scanner() {
        let check = |text: &str| {
            assert_eq!(text_tokens(text), reference::text_tokens(text), "{text:?}");
        };
        let samples: Vec<String> = samples().into_iter().map(|s| s.text).collect();
        for text in &samples {
            check(text);
        }
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        const ASCII_POOL: &[u8] =
            b"aaaeeeiioouttnnssrrhhlldcmwfgypbvkjxqzTAEISHXQZ    \n\n\t\r0123456789.,;:!?-_=#*/'\"()[]{}<>@&|~`^%$+\x01\x7f";
        const OTHER_POOL: &[char] = &[
            'é',
            'ß',
            'ñ',
            'Ø',
            'ə',
            '\u{301}',
            'ệ',
            'Ω',
            'я',
            'Ж',
            'ש',
            'ع',
            'क',
            'ক',
            'த',
            'ไ',
            'ำ',
            'ა',
            '好',
            'の',
            'カ',
            '한',
            '，',
            '—',
            '…',
            '½',
            '™',
            '\u{a0}',
            '😀',
            '🚀',
            '\u{fe0f}',
            'ﷺ',
            'Ａ',
            '\u{10ffff}',
        ];
        for round in 0..3000 {
            let len = (next() % 200) as usize;
            let accents = round % 3 != 0;
            let text: String = (0..len)
                .map(|_| {
                    let roll = next();
                    if accents && roll % 8 == 0 {
                        OTHER_POOL[(roll >> 8) as usize % OTHER_POOL.len()]
                    } else {
                        char::from(ASCII_POOL[(roll >> 8) as usize % ASCII_POOL.len()])
                    }
                })
                .collect();
            check(&text);
        }
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..(next() % 4 + 1) {
                let sample = &samples[next() as usize % samples.len()];
                let bounds: Vec<usize> = sample
                    .char_indices()
                    .map(|(at, _)| at)
                    .chain([sample.len()])
                    .collect();
                let a = bounds[next() as usize % bounds.len()];
                let b = bounds[next() as usize % bounds.len()];
                text.push_str(&sample[a.min(b)..a.max(b)]);
            }
            check(&text);
        }
        for text in [
            "getUserNameFromTheDatabaseQuicklyAndReliably",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "caféÉtéNaïveStraße ÀB aÀb xÉ",
            "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
            "\u{301}abc\u{301}Def",
            "a\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}b",
        ] {
            check(text);
        }
    }

    #[test]
    fn time_is_linear_in_the_length() {
        let unit = samples().into_iter().map(|s| s.text).collect::<String>();
        let one = unit.repeat((1 << 20) / unit.len() + 1);
        let two = one.repeat(2);
        // The estimate itself scales with the text...
        let (e1, e2) = (text_tokens(&one), text_tokens(&two));
        assert!(e2 >= 2 * e1 - 1 && e2 <= 2 * e1 + 1, "{e1} {e2}");
        // ...and so does the time. Runs alternate and the best of each is kept, so that a busy
        // machine slows both sizes alike.
        let time = |text: &str| {
            let start = Instant::now();
            std::hint::black_box(text_tokens(std::hint::black_box(text)));
            start.elapsed()
        };
        let (mut t1, mut t2) = (Duration::MAX, Duration::MAX);
        for _ in 0..7 {
            t1 = t1.min(time(&one));
            t2 = t2.min(time(&two));
        }
        let ratio = t2.as_secs_f64() / t1.as_secs_f64().max(1e-9);
        assert!(ratio < 3.0, "1 MB took {t1:?}, 2 MB took {t2:?}");
    }

    #[test]
    fn never_panics() {
        // Every scalar value, in order and in one string (every table lookup path).
        let all: String = (0..=0x10_FFFF_u32).filter_map(char::from_u32).collect();
        let all_tokens = text_tokens(&all);
        assert!(all_tokens > 0 && all_tokens <= 2 * all.len() as u64);
        // Arbitrary bytes, decoded lossily, from a fixed-seed xorshift generator.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..200 {
            let len = (next() % 4096) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let text = String::from_utf8_lossy(&bytes);
            let tokens = text_tokens(&text);
            assert!(tokens <= 2 * text.len() as u64, "round {round}");
            assert_eq!(tokens == 0, text.is_empty(), "round {round}");
        }
        // Long runs of one kind of character: letters, digits, spaces, punctuation, CJK.
        for unit in ["a", "Ab", "7", " ", "\n", "\t", "=", "好", "😂", "\u{301}"] {
            let text = unit.repeat(1 << 20);
            assert!(text_tokens(&text) <= 2 * text.len() as u64, "{unit:?}");
        }
        // A 10 MB prompt.
        let big = "Lorem ipsum dolor sit amet, 12345 Ωμέγα 你好 🚀\n".repeat(10 << 20 >> 6);
        assert!(text_tokens(&big) > 0);
    }
}
