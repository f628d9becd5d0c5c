"""The documents of an extraction's input, as one deterministic stream of ``(id, text)`` items.

Formats (``auto`` picks one from the path):

* ``pubmed-xml``: PubMed baseline and update files (``.xml``, ``.xml.gz``; files, a directory or a
  glob) read with the corpus builder (:func:`biogpt.data.pubmed.corpus.iter_documents`): the latest version
  of each PMID, deletions honoured, title and abstract as the language model reads them; items
  without an abstract, deleted, superseded or malformed are counted as skipped;
* ``pubmed-dataset``: the dataset ``python -m biogpt.data.pubmed`` writes (``pmid``, ``text``);
* ``jsonl``: one JSON object a line, with ``id_field`` and ``text_field`` (a record without text is
  skipped; a repeated id is skipped; a line that is not a JSON object, or one without an id, is an
  error naming its file and line);
* ``text``: one document per file (its id the file's name); ``lines``: one per non-blank line (id
  ``<file name>:<line number>``);
* ``custom``: a corpus the custom-task readers read (brat, BioC, PubTator, BigBIO, JSONL, CSV/TSV),
  each document's or text's whole text (a question is skipped: extraction reads texts).

Every item of the stream, document or skipped record, has a position; rank ``r`` of ``world``
processes takes the items whose position is ``r`` modulo ``world``, so ranks share no document and
miss none. Counts that a reader makes over the whole input (PubMed's versions) go to rank 0 alone.
"""

from __future__ import annotations

import glob
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from biogpt.data.custom.corpus import read_files
from biogpt.data.custom.document import Document as AnnotatedDocument
from biogpt.data.custom.document import LabelledText
from biogpt.data.custom.files import detect_format
from biogpt.data.custom.settings import CustomTaskSettings
from biogpt.data.pubmed.corpus import PubmedCounts, iter_documents
from biogpt.errors import ConfigError, DataFileError, MissingFileError
from biogpt.textfiles import numbered_lines, parse_json, read_text

INPUT_FORMATS: tuple[str, ...] = ("auto", "pubmed-xml", "pubmed-dataset", "jsonl", "text", "lines", "custom")
_PUBMED_SUFFIXES = (".xml", ".xml.gz")


@dataclass(frozen=True)
class InputSettings:
    """Where the documents are and how to read them (see the module docstring)."""

    path: str
    format: str = "auto"
    id_field: str = "id"
    text_field: str = "text"

    def __post_init__(self) -> None:
        if self.format not in INPUT_FORMATS:
            raise ValueError(f"input_format={self.format!r}: expected one of {', '.join(INPUT_FORMATS)}")


@dataclass(frozen=True)
class Document:
    """One text to extract from; ``position``: its place in the input's stream of items."""

    id: str
    text: str
    position: int


@dataclass(frozen=True)
class _Text:
    """A reader's document, before the stream gives it its position."""

    id: str
    text: str


@dataclass(frozen=True)
class Skipped:
    """A record of the input that is no document, and why."""

    reason: str


@dataclass
class InputStream:
    """A rank's share of the input: its documents, in stream order, and ``skipped`` (reasons counted)
    as the stream is read (complete once it is exhausted)."""

    documents: Iterator[Document]
    skipped: Counter[str] = field(default_factory=Counter)
    total: int | None = None  # the rank's share of the items, where known (for the time left)


def input_files(pattern: str, suffixes: tuple[str, ...] = ()) -> list[Path]:
    """The files of a path, a directory (its files with ``suffixes``, all where none) or a glob, sorted."""
    path = Path(pattern)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and (not suffixes or p.name.endswith(suffixes))]
    else:
        files = [Path(p) for p in glob.glob(pattern) if Path(p).is_file()]
    if not files:
        raise MissingFileError(f"input={pattern}: no such file, directory or glob match")
    return sorted(files, key=lambda file: (file.name, str(file)))


def detect_input_format(pattern: str) -> str:
    """The input format a path implies: a saved dataset, PubMed XML, JSONL, else plain text files."""
    path = Path(pattern)
    if path.is_dir() and (path / "state.json").is_file() and (path / "dataset_info.json").is_file():
        return "pubmed-dataset"
    names = [file.name for file in input_files(pattern)]
    if all(name.endswith(_PUBMED_SUFFIXES) for name in names):
        return "pubmed-xml"
    if all(name.endswith(".jsonl") for name in names):
        return "jsonl"
    if all(name.endswith(".txt") for name in names):
        return "text"
    raise ConfigError(
        f"input={pattern}: cannot tell its format from the file names ({', '.join(names[:3])}); set "
        f"input_format to one of {', '.join(INPUT_FORMATS[1:])}"
    )


def _pubmed_items(settings: InputSettings, counts: PubmedCounts) -> Iterator[_Text | Skipped]:
    files = input_files(settings.path, _PUBMED_SUFFIXES)
    for citation in iter_documents(files, skip_malformed=True, counts=counts):
        yield _Text(citation.pmid, citation.text)


def _pubmed_counts(counts: PubmedCounts) -> Counter[str]:
    """PubMed versions that are no document to extract from, by reason."""
    reasons = {
        "without abstract": counts.without_abstract,
        "deleted": counts.deleted,
        "superseded by a later version": counts.duplicates,
        "malformed record": counts.malformed,
        "revised after the cut-off": counts.revised_after_cutoff,
    }
    return Counter({reason: count for reason, count in reasons.items() if count})


def _dataset_items(settings: InputSettings) -> Iterator[_Text | Skipped]:
    from datasets import load_from_disk  # deferred: importing datasets takes seconds

    dataset = load_from_disk(settings.path)
    missing = {"pmid", "text"} - set(dataset.column_names)
    if missing:
        raise DataFileError(
            f"{settings.path}: a dataset without the column(s) {sorted(missing)} of biogpt.data.pubmed"
        )
    for row in dataset.select_columns(["pmid", "text"]):
        yield _Text(str(row["pmid"]), row["text"]) if row["text"] else Skipped("no text")


def _jsonl_items(settings: InputSettings) -> Iterator[_Text | Skipped]:
    expected = f"a JSON object with {settings.id_field!r} and {settings.text_field!r} fields"
    seen: set[str] = set()
    for path in input_files(settings.path, (".jsonl",)):
        for number, line in numbered_lines(path, expected):
            if not line.strip():
                continue
            record = parse_json(line, path, expected, number)
            if not isinstance(record, dict):
                raise DataFileError.at(path, number, f"a JSON {type(record).__name__}", expected)
            if record.get(settings.id_field) in (None, ""):
                raise DataFileError.at(path, number, f"no {settings.id_field!r} field", expected)
            document_id = str(record[settings.id_field])
            text = record.get(settings.text_field)
            if document_id in seen:
                yield Skipped("repeated id")
            elif not isinstance(text, str) or not text.strip():
                yield Skipped(f"no {settings.text_field!r} text")
            else:
                yield _Text(document_id, text)
            seen.add(document_id)


def _text_items(settings: InputSettings, per_line: bool) -> Iterator[_Text | Skipped]:
    for path in input_files(settings.path):
        content = read_text(path, "UTF-8 text")
        if not per_line:
            yield _Text(path.name, content) if content.strip() else Skipped("empty file")
            continue
        for number, line in enumerate(content.splitlines(), 1):
            if line.strip():
                yield _Text(f"{path.name}:{number}", line)


def _custom_items(settings: InputSettings, task: CustomTaskSettings | None) -> Iterator[_Text | Skipped]:
    files = input_files(settings.path)
    config = task or CustomTaskSettings(kind="relation", train=settings.path)
    read = read_files(detect_format(files, f"input={settings.path}"), files, config)
    for _ in read.skipped:
        yield Skipped("unreadable record")
    for record in read.records:
        if isinstance(record, AnnotatedDocument | LabelledText):
            yield _Text(record.id, record.text) if record.text.strip() else Skipped("no text")
        else:
            yield Skipped("a question (extraction reads texts)")


def read_input(
    settings: InputSettings, rank: int = 0, world: int = 1, *, task: CustomTaskSettings | None = None
) -> InputStream:
    """Rank ``rank``'s share of the input (of ``world`` ranks); ``task``: a custom task's reader settings
    for ``custom`` corpora (JSONL and CSV field names)."""
    fmt = detect_input_format(settings.path) if settings.format == "auto" else settings.format
    counts = PubmedCounts()
    if fmt == "pubmed-xml":
        items = _pubmed_items(settings, counts)
    elif fmt == "pubmed-dataset":
        items = _dataset_items(settings)
    elif fmt == "jsonl":
        items = _jsonl_items(settings)
    elif fmt in ("text", "lines"):
        items = _text_items(settings, per_line=fmt == "lines")
    else:
        items = _custom_items(settings, task)
    stream = InputStream(iter(()))

    def share() -> Iterator[Document]:
        for index, item in enumerate(items):
            if index == 0 and fmt == "pubmed-xml":  # the versions were indexed before the first came
                stream.total = _share(counts.kept, rank, world)
            if index % world != rank:
                continue
            if isinstance(item, Skipped):
                stream.skipped[item.reason] += 1
            else:
                yield Document(item.id, item.text, index)
        if rank == 0:
            stream.skipped.update(_pubmed_counts(counts))

    stream.documents = share()
    stream.total = _share(count, rank, world) if (count := _count_items(settings, fmt)) is not None else None
    return stream


def _share(items: int, rank: int, world: int) -> int:
    """How many of ``items`` stream positions fall to ``rank``."""
    return max(0, (items - rank + world - 1) // world)


def _count_items(settings: InputSettings, fmt: str) -> int | None:
    """The input's number of items, where counting them costs little beside extraction (a file per
    document, a line per record); None where only reading tells (PubMed XML, custom corpora)."""
    if fmt == "jsonl":
        return sum(_non_blank_lines(path) for path in input_files(settings.path, (".jsonl",)))
    if fmt == "lines":
        return sum(_non_blank_lines(path) for path in input_files(settings.path))
    if fmt == "text":
        return len(input_files(settings.path))
    if fmt == "pubmed-dataset":
        from datasets import load_from_disk

        return len(load_from_disk(settings.path))
    return None


def _non_blank_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())
