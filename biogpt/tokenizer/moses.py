"""The Moses stage of the BioGPT tokenizer: English, aggressive hyphen splitting, XML escaping.

BioGPT's release tokenized text with the Moses ``tokenizer.perl`` rules (``-l en -a``, escaping on) before
fastBPE; the Hugging Face port runs ``sacremoses`` for that, which costs about half of its encode time
because it applies some twenty regular expressions and a Python loop to every document.

This module reproduces that behaviour exactly but splits the work so it can be cached. Every Moses rule
looks at most one character beyond a whitespace-separated chunk, and the whitespace between chunks
survives every rule, so a chunk tokenizes the same wherever it occurs, given only:

* whether it starts or ends the text (rules on ``,`` and ``'`` behave differently at the text edges,
  and a final ``.'`` is split only at the end of the text);
* whether a final ``word.`` keeps its period, which depends on the first character of the next chunk
  (lower case, or a digit after ``No.``/``Art.``/``pp.``).

The one rule that can reach across chunks is the English apostrophe rule ``([^alpha])'([^alpha])``: it
consumes the character after the apostrophe, so in ``x' 'y`` the space is used up by the first
apostrophe and the second one is not split. Texts with an apostrophe on both sides of a space therefore
take the exact whole-text path (:func:`tokenize_text`), which applies the rules in the
original order to the full string.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

from biogpt.tokenizer import _unicode_tables as tables
from biogpt.tokenizer.cache import BoundedCache

T = TypeVar("T")
U = TypeVar("U")


def _parse_ranges(spec: str) -> list[tuple[int, int]]:
    """Turn ``"0041-005A 00AA"`` into ``[(0x41, 0x5A), (0xAA, 0xAA)]``."""
    ranges = []
    for item in spec.split():
        first, _, last = item.partition("-")
        ranges.append((int(first, 16), int(last or first, 16)))
    return ranges


def _char_class(*specs: str) -> str:
    """A regex character-class body (without brackets) covering the union of the range tables."""
    parts = []
    for spec in specs:
        for first, last in _parse_ranges(spec):
            parts.append(f"\\U{first:08x}" if first == last else f"\\U{first:08x}-\\U{last:08x}")
    return "".join(parts)


def _char_set(*specs: str) -> frozenset[str]:
    return frozenset(
        chr(c) for spec in specs for first, last in _parse_ranges(spec) for c in range(first, last + 1)
    )


_ALNUM = _char_class(tables.ALNUM, tables.INDIC_MARKS)
_ALPHA = _char_class(tables.ALPHA, tables.INDIC_MARKS)
_NUMBER = _char_class(tables.NUMBER)
_ALPHA_SET = _char_set(tables.ALPHA, tables.INDIC_MARKS)
_LOWER_SET = _char_set(tables.LOWER)
_ASCII_DIGITS = frozenset("0123456789")

# Control characters that Moses deletes; the other C0 controls are whitespace and separate chunks.
_JUNK = re.compile(r"[\x00-\x08\x0e-\x1b]")
_WHITESPACE = re.compile(r"\s+")
_C0_CONTROL = re.compile(r"[\x00-\x1f]")
_APOSTROPHES_ACROSS_SPACE = re.compile(r"'\s+'")

# The chunk rules of the Moses tokenizer, in the order it applies them.
# Isolating symbols is ``sub(r" \1 ")``; ``" ".join(split())`` with the capturing group gives the same
# string without a Python call per match (Python 3.11 expands group templates in Python). Space and newline
# are listed besides ``\s`` because the regex engine tests listed characters with one table lookup but
# tests ``\s`` after the astral ranges of the letter class.
_ISOLATE_SYMBOLS = re.compile(rf"([^{_ALNUM}\s \n.'`,\-])")
# Moses consumes the letter before the hyphen; a lookbehind is equivalent (that letter is never a hyphen,
# so no other match needs it) and makes the replacement a plain string. Starting with the literal hyphen
# lets the regex engine skip to hyphens instead of testing the letter class at every position.
_HYPHEN = re.compile(rf"-(?<=[{_ALNUM}]-)(?=[{_ALNUM}])")
_DOT_RUN = re.compile(r"\.{2,}")
_COMMA_AFTER_NON_NUMBER = re.compile(rf"([^{_NUMBER}]),")
_COMMA_BEFORE_NON_NUMBER = re.compile(rf",([^{_NUMBER}])")
_COMMA_AT_END_AFTER_NUMBER = re.compile(rf"([{_NUMBER}]),$")
_APOSTROPHE_RULES = (
    (re.compile(rf"([^{_ALPHA}])'([^{_ALPHA}])"), r"\1 ' \2"),
    (re.compile(rf"([^{_ALPHA}{_NUMBER}])'([{_ALPHA}])"), r"\1 ' \2"),
    (re.compile(rf"([{_ALPHA}])'([^{_ALPHA}])"), r"\1 ' \2"),
    (re.compile(rf"([{_ALPHA}])'([{_ALPHA}])"), r"\1 '\2"),
    (re.compile(rf"([{_NUMBER}])'(s)"), r"\1 '\2"),
)
_DOT_MARKER = re.compile(r"(?:DOT)+MULTI")
# In this order: "&" first, since the others insert it.
_XML_ESCAPES = (
    ("&", "&amp;"),
    ("|", "&#124;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ("'", "&apos;"),
    ('"', "&quot;"),
    ("[", "&#91;"),
    ("]", "&#93;"),
)

# Whether a token ending in a period keeps it: decided by the token alone, or by the next token.
_PERIOD_NONE = 0  # not a ``word.`` token, or one whose period always stays
_PERIOD_UNLESS_LOWER = 1  # split unless the next token starts lower case
_PERIOD_UNLESS_LOWER_OR_DIGIT = 2  # ``No.``, ``Art.``, ``pp.``: also kept before a digit


def _dots_to_marker(match: re.Match[str]) -> str:
    """A run of k dots becomes ``DOT``*k + ``MULTI`` so later rules leave it alone, spaced off."""
    marker = " " + "DOT" * (match.end() - match.start()) + "MULTI"
    return marker + " " if match.end() < len(match.string) else marker


def _apply_rules(text: str) -> str:
    """Moses rules from symbol isolation to apostrophes, on ``text``; tokens are its whitespace-split parts.

    Each rule is skipped when its trigger character is absent, which is exact (every rule needs it)
    and makes the common text cost one or two regex scans. No rule adds or removes a newline.
    """
    text = " ".join(_ISOLATE_SYMBOLS.split(text))
    if "-" in text:
        text = _HYPHEN.sub(" @-@ ", text)
    if ".." in text:
        text = _DOT_RUN.sub(_dots_to_marker, text)
    if "," in text:
        text = _COMMA_AFTER_NON_NUMBER.sub(r"\1 , ", text)
        text = _COMMA_BEFORE_NON_NUMBER.sub(r" , \1", text)
        text = _COMMA_AT_END_AFTER_NUMBER.sub(r"\1 , ", text)
    if "'" in text:
        for pattern, replacement in _APOSTROPHE_RULES:
            text = pattern.sub(replacement, text)
    return text


def _period_rule(token: str) -> int:
    """How Moses' non-breaking-prefix rule treats ``token`` (one of the ``_PERIOD_*`` values)."""
    if len(token) < 2 or token[-1] != ".":
        return _PERIOD_NONE
    prefix = token[:-1]
    if "." in prefix and not _ALPHA_SET.isdisjoint(prefix):
        return _PERIOD_NONE
    if prefix in tables.NONBREAKING_PREFIXES and prefix not in tables.NUMERIC_ONLY_PREFIXES:
        return _PERIOD_NONE
    if prefix in tables.NUMERIC_ONLY_PREFIXES:
        return _PERIOD_UNLESS_LOWER_OR_DIGIT
    return _PERIOD_UNLESS_LOWER


def _keeps_period(rule: int, next_token: str | None) -> bool:
    """Whether a token with period rule ``rule`` keeps its period before ``next_token`` (None: text end)."""
    if rule == _PERIOD_NONE:
        return True
    if next_token is None:
        return False
    first = next_token[0]
    return first in _LOWER_SET or (rule == _PERIOD_UNLESS_LOWER_OR_DIGIT and first in _ASCII_DIGITS)


def _finish(text: str) -> str:
    """Restore dot runs and escape XML, the last two Moses steps (per token, or on whitespace-separated
    tokens at once: neither step looks beyond a token)."""
    if "MULTI" in text:
        text = _DOT_MARKER.sub(lambda m: "." * ((m.end() - m.start() - 5) // 3), text)
    for char, escaped in _XML_ESCAPES:  # a few memchr scans; str.translate looks up every character
        if char in text:
            text = text.replace(char, escaped)
    return text


def _resolve_periods(raw: list[str], tokens: list[str], next_token: str | None) -> list[str]:
    """Apply the non-breaking-prefix rule: ``tokens[i]`` (raw token ``raw[i]`` finished) loses its period
    into a token of its own wherever Moses splits ``raw[i]``, ``next_token`` (raw) following the last."""
    out = []
    for i, token in enumerate(raw):
        following = raw[i + 1] if i + 1 < len(raw) else next_token
        if _keeps_period(_period_rule(token), following):
            out.append(tokens[i])
        else:
            out.extend((tokens[i][:-1], "."))
    return out


def _split_final_dot_apostrophe(raw_last: str, tokens: list[str]) -> None:
    """At the very end of the text Moses splits ``.'`` into ``.`` and ``'`` (in place on the finished
    ``tokens``, ``raw_last`` being the raw last token)."""
    if raw_last.endswith(".'"):
        last = tokens[-1]
        tokens[-1:] = [t for t in (last[: -len(".&apos;")], ".", "&apos;") if t]


class Pending(NamedTuple, Generic[T]):
    """A chunk whose last token is ``prefix.`` and keeps its period or not depending on the next chunk.

    ``body`` holds the chunk's items before that token, ``keep`` the token whole, ``split`` as ``prefix``
    and ``.``; ``period_rule`` (non-zero) says how to choose from the next chunk's first character. (The
    rules only insert spaces and turn dot runs into ``DOT...MULTI``, so the first raw token of a chunk
    starts with the chunk's first character, or with ``D`` instead of ``.``: neither is lower case or a
    digit.)
    """

    body: tuple[T, ...]
    keep: tuple[T, ...]
    split: tuple[T, ...]
    period_rule: int


#: The Moses tokens (or anything derived from them, such as token ids) of one chunk, cacheable: a plain
#: tuple of its items, or a :class:`Pending` one for the few chunks that end in ``prefix.``.
Chunk = tuple[T, ...] | Pending[T]


def convert_chunk(chunk: Chunk[T], convert: Callable[[tuple[T, ...]], tuple[U, ...]]) -> Chunk[U]:
    """The same chunk with every token sequence converted (e.g. Moses tokens to BPE ids)."""
    if isinstance(chunk, Pending):
        return Pending(convert(chunk.body), convert(chunk.keep), convert(chunk.split), chunk.period_rule)
    return convert(chunk)


def _chunk_from_rules(raw_line: str, line: str) -> Chunk[str]:
    """The chunk whose tokens are ``raw_line``'s after the rules and ``line``'s finished (not at the end)."""
    tokens = line.split()
    if "." not in raw_line:  # no token ends with a period
        return tuple(tokens)
    raw = raw_line.split()
    rule = _period_rule(raw[-1])
    if rule == _PERIOD_NONE:
        return tuple(_resolve_periods(raw, tokens, None))
    last = tokens[-1]
    return Pending(tuple(_resolve_periods(raw[:-1], tokens, raw[-1])), (last,), (last[:-1], "."), rule)


def _triggers(chunk: str) -> tuple[bool, bool, bool, bool]:
    """Which of the optional rule families of :func:`_apply_rules` can fire on ``chunk``."""
    return "-" in chunk, ".." in chunk, "," in chunk, "'" in chunk


def analyse_chunks(chunks: list[str]) -> list[Chunk[str]]:
    """The tokens of each chunk in the middle of a text, the Moses rules run once per group of chunks.

    Joined by `` \\n ``, every chunk sees a space on either side, as in the middle of a text, and its own
    spaces: no rule looks more than one character beyond a chunk, so each line is tokenized as its chunk
    alone would be; and since no rule adds or removes a newline, the result splits back into the chunks.
    Chunks never contain whitespace, and the text ends in a space, so ``$`` never matches inside it.
    Chunks are grouped by the rules they can trigger, so that a rule scans only chunks it may change.
    """
    groups: dict[tuple[bool, ...], list[int]] = {}
    for index, chunk in enumerate(chunks):
        groups.setdefault(_triggers(chunk), []).append(index)
    result: list[Chunk[str]] = [()] * len(chunks)
    for indices in groups.values():
        raw_text = _apply_rules(" " + " \n ".join([chunks[i] for i in indices]) + " ")
        lines = zip(indices, raw_text.split("\n"), _finish(raw_text).split("\n"), strict=True)
        for index, raw_line, line in lines:
            result[index] = _chunk_from_rules(raw_line, line)
    return result


def analyse_chunk(chunk: str, first: bool = False, last: bool = False) -> Chunk[str]:
    """Tokenize one chunk; ``first``/``last`` say whether it starts/ends the text.

    Only a first chunk starting with ``,``/``'`` or a last chunk ending with ``,``/``'`` tokenizes
    differently from the same chunk mid-text (see :func:`join_chunks`); a pending period at the end of
    the text is resolved by :func:`join_chunks`.
    """
    raw_line = _apply_rules(("" if first else " ") + chunk + ("" if last else " "))
    if not last:
        return _chunk_from_rules(raw_line, _finish(raw_line))
    raw = raw_line.split()
    tokens = _resolve_periods(raw, _finish(raw_line).split(), None)
    _split_final_dot_apostrophe(raw[-1], tokens)
    return tuple(tokens)


def split_chunks(text: str) -> list[str] | None:
    """The whitespace-separated chunks of ``text`` after deleting control characters.

    Returns None when the text must be tokenized as a whole (an apostrophe on both sides of a space,
    see the module docstring); :func:`tokenize_text` then gives the exact answer.
    """
    if not text.isprintable() and _C0_CONTROL.search(text) is not None:  # isprintable: a fast pre-check
        text = _JUNK.sub("", text)
    if "'" in text and _APOSTROPHES_ACROSS_SPACE.search(text) is not None:
        return None
    return text.split()


def join_chunks(
    chunks: list[str], entries: list[Chunk[T]], edge: Callable[[str, bool, bool], Chunk[T]]
) -> list[T]:
    """Concatenate the chunks' items, resolving each pending period against the next chunk.

    ``entries`` holds the mid-text result of each chunk (from a cache); ``edge(chunk, first, last)`` gives
    the result at a text edge, asked only where it can differ. This is the hot loop of encoding, hence the
    flat code.
    """
    if not chunks:
        return []
    size = len(chunks)
    if chunks[0][0] in ",'":
        entries[0] = edge(chunks[0], True, size == 1)
    if chunks[-1][-1] in ",'":
        entries[-1] = edge(chunks[-1], size == 1, True)
    out: list[T] = []
    pending: Pending[T] | None = None
    for chunk, entry in zip(chunks, entries, strict=True):
        if pending is not None:
            out += pending.keep if _keeps_period(pending.period_rule, chunk) else pending.split
            pending = None
        if entry.__class__ is Pending:
            out += entry.body
            pending = entry
        else:
            out += entry
    if pending is not None:
        out += pending.split
    return out


def tokenize_text(text: str) -> list[str]:
    """Tokenize ``text`` as one string, applying every rule in Moses' order (the uncached path)."""
    text = _WHITESPACE.sub(" ", text)
    text = _JUNK.sub("", text).strip()
    if not text:
        return []
    raw_text = _apply_rules(text)
    raw = raw_text.split()
    tokens = _resolve_periods(raw, _finish(raw_text).split(), None)
    _split_final_dot_apostrophe(raw[-1], tokens)
    return tokens


class MosesTokenizer:
    """Exact, cached equivalent of ``sacremoses.MosesTokenizer("en").tokenize(text,
    aggressive_dash_splits=True, escape=True)``; the cache is per instance."""

    def __init__(self, cache_size: int = 1 << 18) -> None:
        self._cache: BoundedCache[str, Chunk[str]] = BoundedCache(analyse_chunks, cache_size)

    def tokenize(self, text: str) -> list[str]:
        """Moses tokens of ``text``."""
        chunks = split_chunks(text)
        if chunks is None:
            return tokenize_text(text)
        return join_chunks(chunks, self._cache.get_many(chunks), analyse_chunk)


_CJK_RANGES = tuple(_parse_ranges(tables.CJK))
_DETOK_HYPHEN = re.compile(r" @-@ ")
_XML_UNESCAPES = (
    ("&bar;", "|"),
    ("&#124;", "|"),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&bra;", "["),
    ("&ket;", "]"),
    ("&quot;", '"'),
    ("&apos;", "'"),
    ("&#91;", "["),
    ("&#93;", "]"),
    ("&amp;", "&"),
)
_CURRENCY_OR_OPENING = re.compile(rf"^[{_char_class(tables.CURRENCY)}(\[{{¿¡]+$")
_CLOSING_PUNCTUATION = re.compile(r"^[,.?!:;\\%}\])]+$")
_ENGLISH_CONTRACTION = re.compile(rf"^'[{_char_class(tables.ALPHA)}]")
_QUOTES = re.compile(r"^['\"„“`]+$")
_DOUBLE_QUOTES = re.compile(r"^[„“”]+$")
_SPACE_RUN = re.compile(r" {2,}")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return any(first <= code <= last for first, last in _CJK_RANGES)


def detokenize(tokens: list[str]) -> str:
    """Exact equivalent of ``sacremoses.MosesDetokenizer("en").detokenize(tokens)``.

    Undoes hyphen splitting and XML escaping, then decides token by token whether a space goes before
    it: punctuation attaches left, currency and opening brackets attach right, quotes alternate between
    opening and closing (a lone ``'`` after a word ending in ``s`` is a possessive). Decoding is not on
    the training hot path, so this is a straightforward loop rather than a cached one.
    """
    text = _DETOK_HYPHEN.sub("-", " " + " ".join(tokens) + " ")
    for escaped, char in _XML_UNESCAPES:
        text = text.replace(escaped, char)
    words = text.split()
    quote_counts: dict[str, int] = {}
    out: list[str] = []
    space = " "
    for i, word in enumerate(words):
        if _is_cjk(word[0]):
            out.append(word if i > 0 and _is_cjk(words[i - 1][-1]) else space + word)
            space = " "
        elif _CURRENCY_OR_OPENING.search(word):
            out.append(space + word)
            space = ""
        elif _CLOSING_PUNCTUATION.search(word) or (i > 0 and _ENGLISH_CONTRACTION.search(word)):
            out.append(word)
            space = " "
        elif _QUOTES.search(word):
            kind = '"' if _DOUBLE_QUOTES.search(word) else word
            count = quote_counts.get(kind, 0)
            if count % 2 == 1:  # closing quote
                out.append(word)
                space = " "
                quote_counts[kind] = count + 1
            elif word == "'" and i > 0 and words[i - 1].endswith("s"):  # possessive, not an opening quote
                out.append(word)
                space = " "
            else:  # opening quote
                out.append(space + word)
                space = ""
                quote_counts[kind] = count + 1
        else:
            out.append(space + word)
            space = " "
    return _SPACE_RUN.sub(" ", "".join(out)).strip()
