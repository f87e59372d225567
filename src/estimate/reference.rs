//! The per-character scanner that [`super::text_tokens`] replaced, kept for the tests only: the
//! byte-at-a-time version must give the same count for every input, and this one is the
//! straightforward reading of the rules in the module documentation.

use super::{
    CONTROL, DIGIT, FNV_OFFSET, FNV_PRIME, KNOWN_WORD, MAX_KNOWN_WORD_LEN, NEWLINE, NEWLINE_EXTRA,
    PUNCT, PUNCT_CHANGE, PUNCT_EARLY_RUN, PUNCT_REPEAT_EARLY, PUNCT_REPEAT_LATE, Prev, RARE_PAIR,
    RULE_REPEAT_EARLY, RULE_REPEAT_LATE, SPACE_EXTRA, SPACE_RUN, TAB, TAB_EXTRA,
    UNDERSCORE_REPEAT_LATE, UNIT, UNKNOWN_FIRST, UNKNOWN_LATE, UNKNOWN_NEXT, UNKNOWN_REPEAT,
    UNKNOWN_TIER, expansion_bytes, is_known_word, is_latin_letter, is_rare_pair,
    non_ascii_sixteenths,
};

/// The estimate of `text`, one character at a time.
pub fn text_tokens(text: &str) -> u64 {
    let mut scanner = Scanner::default();
    for ch in text.chars() {
        scanner.push(ch);
    }
    scanner.finish()
}

/// The letter run being read: a word, or one camelCase part of an identifier.
#[derive(Debug, Clone, Copy, Default)]
struct Piece {
    len: u32,
    /// FNV-1a of its ASCII bytes, for the known-word lookup.
    hash: u64,
    /// Its cost if it is not a known word, in sixteenths.
    unknown_cost: u64,
    /// It has a non-ASCII letter, so it is not a known word.
    non_ascii: bool,
    last: char,
    last_lower: bool,
}

#[derive(Debug, Default)]
struct Scanner {
    sixteenths: u64,
    /// What no byte-level tokenizer can exceed: the UTF-8 bytes of the text, plus what NFKC or
    /// NFC adds to them.
    ceiling_tokens: u64,
    prev: Prev,
    /// Length of the run of one punctuation character that ends here.
    punct_run: u32,
    pending_spaces: u64,
    piece: Piece,
}

impl Scanner {
    fn add(&mut self, sixteenths: u64) {
        self.sixteenths = self.sixteenths.saturating_add(sixteenths);
    }

    fn push(&mut self, ch: char) {
        self.ceiling_tokens = self.ceiling_tokens.saturating_add(ch.len_utf8() as u64);
        if ch.is_ascii() {
            self.push_ascii(ch as u8);
        } else {
            self.push_non_ascii(ch);
        }
    }

    fn push_ascii(&mut self, byte: u8) {
        if byte.is_ascii_alphabetic() {
            let lower = byte.is_ascii_lowercase();
            self.flush_spaces(true);
            // A new run, or a camelCase hump: tokenizers split `getUserName` at the capitals.
            if self.prev != Prev::Letter || (!lower && self.piece.last_lower) {
                self.end_piece();
            }
            self.push_letter(char::from(byte));
            self.piece.hash = (self.piece.hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
            self.piece.last_lower = lower;
            self.prev = Prev::Letter;
            return;
        }
        self.end_piece();
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

    fn push_non_ascii(&mut self, ch: char) {
        let code = u32::from(ch);
        let extra_bytes = u64::from(expansion_bytes(code));
        self.ceiling_tokens = self.ceiling_tokens.saturating_add(extra_bytes);
        self.add(non_ascii_sixteenths(code).saturating_add(extra_bytes.saturating_mul(UNIT)));
        // Accented Latin letters continue the word they are in (`café`, `Straße`).
        if self.prev == Prev::Letter && is_latin_letter(code) {
            self.push_letter(ch);
            self.piece.non_ascii = true;
            self.piece.last_lower = true;
            return;
        }
        self.end_piece();
        self.flush_spaces(false);
        self.prev = Prev::Other;
    }

    /// Adds a letter to the current run and its share of the run's unknown-word cost.
    fn push_letter(&mut self, ch: char) {
        let piece = &mut self.piece;
        piece.len = piece.len.saturating_add(1);
        let cost = if piece.len == 1 {
            piece.hash = FNV_OFFSET;
            UNKNOWN_FIRST
        } else {
            let letter = if piece.len <= UNKNOWN_TIER {
                UNKNOWN_NEXT
            } else if ch == piece.last || ch.is_ascii_uppercase() {
                UNKNOWN_REPEAT
            } else {
                UNKNOWN_LATE
            };
            letter.saturating_add(if is_rare_pair(piece.last, ch) {
                RARE_PAIR
            } else {
                0
            })
        };
        piece.unknown_cost = piece.unknown_cost.saturating_add(cost);
        piece.last = ch;
    }

    fn end_piece(&mut self) {
        if self.piece.len == 0 {
            return;
        }
        let piece = std::mem::take(&mut self.piece);
        let known = !piece.non_ascii
            && (2..=MAX_KNOWN_WORD_LEN).contains(&piece.len)
            && is_known_word(piece.hash);
        self.add(if known {
            KNOWN_WORD
        } else {
            piece.unknown_cost
        });
    }

    /// Settles a run of spaces once the next character is known.
    fn flush_spaces(&mut self, next_takes_a_space: bool) {
        if self.pending_spaces == 0 {
            return;
        }
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

    fn finish(mut self) -> u64 {
        self.end_piece();
        self.flush_spaces(false);
        self.sixteenths.div_ceil(UNIT).min(self.ceiling_tokens)
    }
}
