"""The Moses stage against sacremoses, the implementation the Hugging Face BioGPT tokenizer runs.

The corpus-wide comparison lives in test_tokenizer_parity.py (through token ids); here are the data
tables, hand-picked edge cases, and a seeded fuzz over the characters every Moses rule reacts to, which
is what finds the cross-chunk interactions the chunk cache must respect.
"""

from __future__ import annotations

import random
import sys

import pytest

from biogpt.tokenizer import _unicode_tables as tables
from biogpt.tokenizer import moses
from biogpt.tokenizer.cache import BoundedCache

sacremoses = pytest.importorskip("sacremoses")
from sacremoses.indic import NUKTAS, VIRAMAS  # noqa: E402
from sacremoses.util import is_cjk  # noqa: E402

EDGE_CASES = [
    "",
    " ",
    " \t\n\r\x0b\x0c ",
    "tab\tseparated\tcolumns\nand\r\nlines",
    "\x00\x01con\x02trol\x1b chars\x7f and \x1c\x1d\x1e\x1f separators",
    "a \x00 b",
    "α-β interferon, γ-globulin and δ",
    "10 µM ± 0.5 °C at 37°C",
    "中文 日本語 한국어 mixed with English",
    "emoji 😀👍🏽 🧬 and 𝛼𝛽 𝟙",
    "already &amp; escaped &lt;b&gt; &#124; &quot;",
    "A & B | C < D > E ' F \" G [ H ] I",
    "x' 'y",
    "1' '2",
    "1'  '2",
    "1' \x01 '2",
    "' ' ' '",
    "'tis 'twas can't won't Jones' O'Neil 1990's rock'n'roll",
    "e.g. i.e. Dr. Smith et al. No. 5 pp. 12 Fig. 1A. The end.",
    "No. a No. 5 No.5 Art. 3 Art. b pp. x Mr. Smith U.S.A. and U.K. 3.5. 4. a. A.",
    "ends with No.",
    "... a..b...c.... .. ...",
    "DOTMULTI DOTDOTMULTI xDOTMULTIy MULTI",
    "5,300 a,b ,5 5, ,, ,a 1,2,3 a,,5 ,",
    ",start",
    "'start",
    "end,",
    "end'",
    "trailing .'",
    ".'",
    "--a-- a--b a-b-c -a- 5-6 α-1",
    "http://example.com/a_b?c=d&e=f user@example.org #tag @handle",
    "(IL)-6 [Ca2+]i {x} <y> 5/6 and/or",
    "\u2028line\u2029sep\u00a0nbsp\u3000ideographic\u0085nel",
    "combining e\u0301 and zero-width\u200djoiner",
    "`quoted' ``double'' „German“ ”odd”",
    "the </s> and <s> <unk> <pad> literal",
    "a" * 5000,
    "pneumonoultramicroscopicsilicovolcanoconiosis-" * 50,
]

# Characters and strings each Moses rule reacts to, for the fuzz.
FUZZ_ALPHABET = [
    *"aBzé1905,.'`-\"()[]{}<>&|/:;?!%$€@#µ中😀",
    " ",
    " ",
    "  ",
    "\t",
    "\x00",
    "..",
    "...",
    "--",
    "DOT",
    "MULTI",
    "No",
    "pp",
    "Mr",
    "s",
    "e.g",
    "\u0301",
]


@pytest.fixture(scope="module")
def reference() -> sacremoses.MosesTokenizer:
    return sacremoses.MosesTokenizer(lang="en")


def reference_tokens(reference: sacremoses.MosesTokenizer, text: str) -> list[str]:
    return reference.tokenize(text, aggressive_dash_splits=True, return_str=False, escape=True)


def _ranges_to_set(*specs: str) -> set[str]:
    return set(moses._char_set(*specs))


def test_unicode_tables_match_the_reference_property_files() -> None:
    ref = sacremoses.MosesTokenizer
    without_space = lambda chars: {c for c in chars if not c.isspace()}  # noqa: E731
    assert _ranges_to_set(tables.ALNUM, tables.INDIC_MARKS) == without_space(ref.IsAlnum)
    assert _ranges_to_set(tables.ALPHA, tables.INDIC_MARKS) == without_space(ref.IsAlpha)
    assert _ranges_to_set(tables.NUMBER) == without_space(ref.IsN)
    assert _ranges_to_set(tables.LOWER) == set(ref.IsLower)
    assert _ranges_to_set(tables.INDIC_MARKS) == set(VIRAMAS) | set(NUKTAS)
    assert _ranges_to_set(tables.ALPHA) == set(sacremoses.MosesDetokenizer.IsAlpha)
    assert _ranges_to_set(tables.CURRENCY) == without_space(sacremoses.MosesDetokenizer.IsSc)


def test_cjk_ranges_match_the_reference() -> None:
    # Checking every code point is 1.1M calls; the range boundaries and a stride are enough.
    probes = {c + d for first, last in moses._CJK_RANGES for c in (first, last) for d in (-1, 0, 1)}
    probes |= set(range(0, sys.maxunicode + 1, 97))
    for code in sorted(probes):
        assert moses._is_cjk(chr(code)) == is_cjk(chr(code)), hex(code)


def test_nonbreaking_prefixes_match_the_reference(reference: sacremoses.MosesTokenizer) -> None:
    assert tables.NONBREAKING_PREFIXES == {p for p in reference.NONBREAKING_PREFIXES if " " not in p}
    assert tables.NUMERIC_ONLY_PREFIXES == set(reference.NUMERIC_ONLY_PREFIXES)


@pytest.mark.parametrize("text", EDGE_CASES + [t.lower() for t in EDGE_CASES])
def test_edge_cases_match_the_reference(reference: sacremoses.MosesTokenizer, text: str) -> None:
    expected = reference_tokens(reference, text)
    assert moses.MosesTokenizer().tokenize(text) == expected
    assert moses.tokenize_text(text) == expected


def test_cross_chunk_apostrophes_take_the_whole_text_path() -> None:
    # In "1' '2" Moses' first apostrophe rule consumes the space, so the second apostrophe stays attached:
    # a chunk-by-chunk tokenization would get this wrong, hence the whole-text fallback.
    assert moses.split_chunks("1' '2") is None
    assert moses.MosesTokenizer().tokenize("1' '2") == ["1", "&apos;", "&apos;2"]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(FUZZ_ALPHABET) for _ in range(rng.randint(1, 24)))


def test_fuzz_matches_the_reference(reference: sacremoses.MosesTokenizer) -> None:
    rng = random.Random(20221019)
    tokenizer = moses.MosesTokenizer()
    for _ in range(4000):
        text = _random_text(rng)
        assert tokenizer.tokenize(text) == reference_tokens(reference, text), repr(text)


def test_detokenizer_fuzz_matches_the_reference() -> None:
    rng = random.Random(7)
    reference = sacremoses.MosesDetokenizer(lang="en")
    words = [
        *FUZZ_ALPHABET,
        "@-@",
        "&apos;",
        "&quot;",
        "&amp;",
        "&#91;",
        "&lt;",
        "'s",
        "''",
        "``",
        "$",
        "(",
        "€5",
    ]
    words = [w for w in words if w.strip()]
    for _ in range(4000):
        tokens = [rng.choice(words).strip() or "x" for _ in range(rng.randint(1, 12))]
        assert moses.detokenize(tokens) == reference.detokenize(tokens), tokens


@pytest.mark.parametrize("text", EDGE_CASES)
def test_detokenizer_round_trip_matches_the_reference(
    reference: sacremoses.MosesTokenizer, text: str
) -> None:
    tokens = reference_tokens(reference, text)
    if tokens:
        assert moses.detokenize(tokens) == sacremoses.MosesDetokenizer(lang="en").detokenize(tokens)


def test_bounded_cache_builds_in_batches_and_stays_bounded() -> None:
    batches: list[list[str]] = []

    def build_many(words: list[str]) -> list[moses.Chunk[str]]:
        batches.append(words)
        return moses.analyse_chunks(words)

    cache: BoundedCache[str, moses.Chunk[str]] = BoundedCache(build_many, max_size=3)
    for words in (["a,", "b.", "a,"], ["a,", "c"], ["d", "e"], ["a,"]):
        assert cache.get_many(words) == [moses.analyse_chunk(word) for word in words]
        assert len(cache) <= 3
    # each new word built once per batch; "a," again only after the cache was emptied
    assert batches == [["a,", "b."], ["c"], ["d", "e"], ["a,"]]


def test_batched_chunks_match_single_chunks() -> None:
    """Chunks analysed together (one pass of the rules over all of them) as each alone, mid-text."""
    rng = random.Random(11)
    chunks = [chunk for _ in range(3000) for chunk in moses.split_chunks(_random_text(rng)) or []]
    chunks += [chunk for text in EDGE_CASES for chunk in moses.split_chunks(text) or []]
    assert moses.analyse_chunks(chunks) == [moses.analyse_chunk(chunk) for chunk in chunks]
