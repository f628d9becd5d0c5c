"""Stream the records of one PubMed / MEDLINE XML file: citations, deletions and malformed spans.

Formats. The current ``PubmedArticleSet`` format (baseline and update files since 2017) holds
``PubmedArticle/MedlineCitation`` journal citations, ``PubmedBookArticle/BookDocument`` NCBI Bookshelf
items and, in update files, ``DeleteCitation`` blocks. The pre-2017 leased ``MedlineCitationSet``
format holds bare ``MedlineCitation`` elements (and ``DeleteCitation``). Records are recognised by
the element that carries the citation (``MedlineCitation`` or ``BookDocument``), so both formats go
through one code path. Book items are kept: they are PubMed items with a title and an abstract, they
share the PMID space, and ``DeleteCitation`` can name them.

Text. Titles and abstracts keep the text of inline markup (``<i>``, ``<sup>``, ``<sub>``, MathML...)
through ``itertext``; all whitespace runs, no-break spaces included, collapse to one space because
the files are pretty-printed and line breaks inside markup are layout, not content. A structured
abstract (several ``AbstractText`` with ``Label``) is joined in document order with one space,
optionally as ``LABEL: text``. ``OtherAbstract`` (translations, publisher abstracts) is ignored.
``date_revised`` is ``DateRevised`` as an ISO date, or ``DateCreated`` for old records that were
never revised, or None when neither exists.

Memory. The file is fed to an ``XMLPullParser`` in 64 KiB chunks (faster than 1 MiB chunks, which
let millions of pending events pile up) and each record element is cleared as soon as it ends, so
memory does not grow with the file size except for one empty element shell per record that the
document root keeps (about 84 bytes, ~2.5 MB for a 30,000-citation baseline file, freed when the
file ends). Clearing those shells needs the root, which the parser only hands out through "start"
events for every element; measured, they cost about a quarter of the parse time, so we do not.

Malformed input. An XML syntax error raises :class:`MalformedXMLError` naming the file, the line and
the column (``/data/pubmed23n0001.xml.gz:1234:7: mismatched tag; expected a well-formed PubMed XML
file ...``); a :class:`~biogpt.errors.DataFileError`, so the commands print it alone. With
``skip_malformed`` a :class:`Malformed` record is yielded instead and parsing resumes at the next
record start tag after the error (found by rescanning the decompressed file from its start, which is
slow but only happens on errors); a truncated file or compressed stream ends the file. A record
without a numeric PMID or with an invalid date is malformed too; its message names the record's
ordinal in the file, because the standard-library parser does not report element line numbers.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree as ET
from xml.parsers import expat

from biogpt.errors import DataFileError

_CHUNK_BYTES = 1 << 16
_CITATION_TAGS = frozenset({"MedlineCitation", "BookDocument"})
_ENVELOPE_TAGS = frozenset({"PubmedArticle", "PubmedBookArticle"})
_TITLE_PATHS = ("Article/ArticleTitle", "ArticleTitle", "Book/BookTitle")
_ABSTRACT_PATHS = ("Article/Abstract/AbstractText", "Abstract/AbstractText")
_DATE_TAGS = ("DateRevised", "DateCreated")
_TERMINAL_PUNCTUATION = (".", "?", "!")
_RECORD_START = re.compile(rb"<(?:PubmedArticle|PubmedBookArticle|MedlineCitation|DeleteCitation)[\s>]")
_ROOT_START = re.compile(rb"<(PubmedArticleSet|MedlineCitationSet)[\s>]")
_COMPRESSION_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)
_EXPECTED = "a well-formed PubMed XML file (PubmedArticleSet or MedlineCitationSet)"


class MalformedXMLError(DataFileError):
    """A PubMed file that is not well-formed XML, or a record without a usable PMID or date."""


@dataclass(frozen=True, slots=True)
class Citation:
    """One version of a PubMed item; ``abstract`` is empty when the item has none."""

    pmid: str
    title: str
    abstract: str
    date_revised: str | None

    @property
    def text(self) -> str:
        """What the language model reads: the title, then the abstract.

        Joined with one space because PubMed titles nearly always end with a full stop (NLM style);
        a period is inserted only when the title ends without terminal punctuation, so the title
        stays a sentence of its own without producing ``..`` as ``title + ". " + abstract`` would.
        """
        if not self.title or not self.abstract:
            return self.title or self.abstract
        separator = " " if self.title.endswith(_TERMINAL_PUNCTUATION) else ". "
        return self.title + separator + self.abstract


@dataclass(frozen=True, slots=True)
class Deletion:
    """A ``DeleteCitation`` block: these PMIDs are withdrawn from PubMed."""

    pmids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Malformed:
    """A skipped span of a file (one record, or the rest of a truncated file), with the reason."""

    message: str


Record = Citation | Deletion | Malformed


def iter_records(path: Path, *, keep_labels: bool = False, skip_malformed: bool = False) -> Iterator[Record]:
    """Yield the records of one ``.xml`` or ``.xml.gz`` PubMed file in document order.

    ``keep_labels`` writes structured abstracts as ``LABEL: text``. Without ``skip_malformed`` the
    first malformed record raises :class:`MalformedXMLError`; with it, a :class:`Malformed` is yielded.
    """
    return _FileReader(Path(path), keep_labels, skip_malformed).records()


@dataclass(frozen=True)
class _Resume:
    """Where parsing restarts after a syntax error: a record start tag at byte ``offset`` of line
    ``line`` (1-based) of the decompressed file, ``column`` characters into that line. The new parser
    is first fed a start tag of the original ``root`` so that the file's closing tag still matches."""

    root: str
    line: int
    offset: int
    column: int

    @property
    def prefix(self) -> bytes:
        return f"<{self.root}>".encode()

    def original_position(self, line: int, column: int) -> tuple[int, int]:
        """Map a (line, column) of the resumed parser back to the file's own coordinates."""
        if line == 1:
            return self.line, self.column + column - len(self.prefix)
        return self.line + line - 1, column


class _SyntaxFailure(Exception):
    """Internal: the parser stopped at ``line``/``column`` of the file (column None: unknown)."""

    def __init__(self, line: int, column: int | None, reason: str) -> None:
        super().__init__(reason)
        self.line, self.column, self.reason = line, column, reason


class _BadRecord(Exception):
    """Internal: a well-formed record that cannot be used (no PMID, bad date)."""


class _FileReader:
    """Parses one file; keeps the options and the record ordinal used in error messages."""

    def __init__(self, path: Path, keep_labels: bool, skip_malformed: bool) -> None:
        self.path = path
        self.keep_labels = keep_labels
        self.skip_malformed = skip_malformed
        self.ordinal = 0

    def records(self) -> Iterator[Record]:
        resume: _Resume | None = None
        while True:
            try:
                yield from self._segment(resume)
                return
            except _SyntaxFailure as failure:
                column = None if failure.column is None else failure.column + 1
                yield self._malformed(
                    MalformedXMLError.at(self.path, failure.line, failure.reason, _EXPECTED, column)
                )
                if failure.column is None:
                    return
                resume = _next_record_start(self.path, failure.line, failure.column)
                if resume is None:
                    return

    def _malformed(self, error: MalformedXMLError) -> Malformed:
        if not self.skip_malformed:
            raise error
        return Malformed(str(error))

    def _segment(self, resume: _Resume | None) -> Iterator[Record]:
        """Parse from the file start, or from ``resume`` to the end; syntax errors become failures."""
        parser = ET.XMLPullParser(events=("end",))
        line, at_end = 1, False
        try:
            for chunk in _chunks(self.path, resume):
                parser.feed(chunk)
                line += chunk.count(b"\n")
                yield from self._records(parser.read_events())
            at_end = True
            parser.close()
            yield from self._records(parser.read_events())
        except ET.ParseError as error:
            where = error.position if resume is None else resume.original_position(*error.position)
            reason = expat.ErrorString(error.code)
            raise _SyntaxFailure(*where, f"unexpected end of file ({reason})" if at_end else reason) from None
        except _COMPRESSION_ERRORS as error:
            where_line = line if resume is None else resume.original_position(line, 0)[0]
            raise _SyntaxFailure(
                where_line, None, f"truncated or corrupt compressed data ({error})"
            ) from None

    def _records(self, events: Iterable[tuple[str, ET.Element]]) -> Iterator[Record]:
        for _, element in events:
            tag = element.tag
            if tag in _CITATION_TAGS or tag == "DeleteCitation":
                self.ordinal += 1
                try:
                    yield (
                        _citation(element, self.keep_labels)
                        if tag != "DeleteCitation"
                        else _deletion(element)
                    )
                except _BadRecord as bad:
                    yield self._malformed(
                        MalformedXMLError(f"{self.path} record {self.ordinal} ({tag}): {bad}")
                    )
                element.clear()
            elif tag in _ENVELOPE_TAGS:
                element.clear()


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def _chunks(path: Path, resume: _Resume | None) -> Iterator[bytes]:
    """The decompressed bytes of the file, or of its tail from ``resume`` behind a root start tag."""
    with _open(path) as stream:
        if resume is not None:
            yield resume.prefix
            for _ in range(resume.line - 1):
                stream.readline()
            yield stream.readline()[resume.offset :]
        # read1 hands over what was decompressed before a truncation instead of losing the chunk.
        while chunk := stream.read1(_CHUNK_BYTES):
            yield chunk


def _next_record_start(path: Path, line: int, column: int) -> _Resume | None:
    """The first record start tag strictly after (line, column), or None (rest of file unusable)."""
    root: str | None = None
    try:
        with _open(path) as stream:
            for number, text in enumerate(stream, start=1):
                if root is None and (found := _ROOT_START.search(text)):
                    root = found.group(1).decode()
                if number < line:
                    continue
                if root is None:
                    return None
                start = 0 if number > line else _byte_offset(text, column) + 1
                if found := _RECORD_START.search(text, start):
                    return _Resume(root, number, found.start(), _char_count(text[: found.start()]))
    except _COMPRESSION_ERRORS:
        return None
    return None


def _byte_offset(text: bytes, column: int) -> int:
    """Expat counts columns in characters; the rescan works on bytes."""
    return len(text.decode("utf-8", "surrogateescape")[:column].encode("utf-8", "surrogateescape"))


def _char_count(text: bytes) -> int:
    return len(text.decode("utf-8", "surrogateescape"))


def _normalised_text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _pmid(element: ET.Element) -> str:
    pmid = (element.text or "").strip()
    if not (pmid.isascii() and pmid.isdigit()):
        raise _BadRecord(f"invalid PMID {pmid!r}")
    return pmid


def _citation(element: ET.Element, keep_labels: bool) -> Citation:
    pmid = element.find("PMID")
    if pmid is None:
        raise _BadRecord("missing PMID")
    title = next((node for path in _TITLE_PATHS if (node := element.find(path)) is not None), None)
    parts = next((nodes for path in _ABSTRACT_PATHS if (nodes := element.findall(path))), [])
    return Citation(
        pmid=_pmid(pmid),
        title="" if title is None else _normalised_text(title),
        abstract=" ".join(_abstract_parts(parts, keep_labels)),
        date_revised=_date(element),
    )


def _abstract_parts(parts: list[ET.Element], keep_labels: bool) -> Iterator[str]:
    for part in parts:
        text = _normalised_text(part)
        label = part.get("Label", "").strip()
        if text:
            yield f"{label}: {text}" if keep_labels and label else text


def _date(element: ET.Element) -> str | None:
    node = next((node for tag in _DATE_TAGS if (node := element.find(tag)) is not None), None)
    if node is None:
        return None
    try:
        return date(
            int(node.findtext("Year")), int(node.findtext("Month")), int(node.findtext("Day"))
        ).isoformat()
    except (TypeError, ValueError) as error:
        raise _BadRecord(f"invalid {node.tag}") from error


def _deletion(element: ET.Element) -> Deletion:
    return Deletion(tuple(_pmid(pmid) for pmid in element.findall("PMID")))
