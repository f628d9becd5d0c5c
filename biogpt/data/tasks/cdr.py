"""BioCreative V CDR for the study: PubTator files to documents with chemical-induced-disease relations.

The study read the corpus's BioC XML; the PubTator files here carry the same annotations. A document's
text is its title, one space and its abstract; every document is kept, with or without relations.
An entity is a MeSH id (a mention with ids ``a|b`` belongs to both; ``-1`` is no id) and its names are
the texts of all its mentions, including the parts of composite mentions (PubTator's seventh column,
``Ocular toxicity|auditory toxicity``, which BioC lists as ``IndividualMention`` annotations). Gold
relations are the ``CID`` lines in file order, each argument holding its entity's names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from biogpt.data.formats import BC5CDR_RELATION
from biogpt.data.tasks.settings import StudyTaskSettings
from biogpt.data.tasks.study_documents import StudyDocument, StudyRead
from biogpt.data.tasks.types import SkippedRecord, StudyRelation
from biogpt.errors import DataFileError, MissingFileError
from biogpt.textfiles import numbered_lines

PUBTATOR_FILES: dict[str, str] = {
    "train": "CDR_TrainingSet.PubTator.txt",
    "valid": "CDR_DevelopmentSet.PubTator.txt",
    "test": "CDR_TestSet.PubTator.txt",
}
# BioGPT's data folder holds the corpus files directly in CDR_Data/; the corpus zip nests them one
# folder deeper, where the release's infer.sh looks. Either layout is accepted.
_CORPUS_FOLDERS: tuple[str, ...] = ("CDR_Data", "CDR_Data/CDR.Corpus.v010516")
# The shapes of a PubTator line: title or abstract; mention (pmid, start, end, text, type, ids[, parts]);
# relation (pmid, type, id, id).
_PUBTATOR_LINE = re.compile(
    r"[^|\t]+\|[ta]\|.*|[^\t]+\t\d+\t\d+\t[^\t]*\t[^\t]+\t[^\t]*(\t[^\t]*)?|[^\t]+\t[^\t\d][^\t]*\t[^\t]+\t[^\t]+"
)
_EXPECTED = "PubTator lines: 'pmid|t|title', 'pmid|a|abstract', a mention or a relation (tab-separated)"


def pubtator_path(data_dir: str | Path, split: str) -> Path:
    """The gold PubTator corpus file of ``split``; raises naming every place it was looked for."""
    if split not in PUBTATOR_FILES:
        raise ValueError(f"no CDR corpus file for split {split!r}; valid splits: {', '.join(PUBTATOR_FILES)}")
    raw = Path(data_dir) / "BC5CDR" / "raw"
    candidates = [raw / folder / PUBTATOR_FILES[split] for folder in _CORPUS_FOLDERS]
    for path in candidates:
        if path.is_file():
            return path
    raise MissingFileError(f"missing CDR corpus file; looked for {', '.join(map(str, candidates))}")


def pubtator_documents(path: Path) -> list[list[tuple[int, str]]]:
    """The file's documents: runs of non-blank numbered lines.

    A line that is neither a title or abstract line (``pmid|t|...``, ``pmid|a|...``) nor a mention
    (``pmid start end text type ids[ parts]``) or relation (``pmid type id id``) line breaks the format
    (a cut-off file, another format) and raises naming it.
    """
    documents: list[list[tuple[int, str]]] = [[]]
    for number, line in numbered_lines(path, _EXPECTED):
        if not line.strip():
            if documents[-1]:
                documents.append([])
            continue
        if not _PUBTATOR_LINE.fullmatch(line):
            raise DataFileError.at(path, number, f"not a PubTator line: {line[:60]!r}", _EXPECTED)
        documents[-1].append((number, line))
    return [document for document in documents if document]


def _add_mention(names: dict[str, list[str]], fields: list[str]) -> None:
    """Record one mention line's text under each of its ids, and a composite's parts under their own id."""
    text, ids = fields[3], fields[5].split("|")
    parts = fields[6].split("|") if len(fields) > 6 else []
    if parts and len(parts) != len(ids):
        raise ValueError(f"composite mention {text!r}: {len(parts)} parts for {len(ids)} ids")
    for mesh_id in ids:
        names.setdefault(mesh_id, []).append(text)
    for mesh_id, part in zip(ids, parts, strict=False):
        names[mesh_id].append(part)


def _rendered_first(names: list[str], mention: str) -> tuple[str, ...]:
    """The entity's distinct names, the one its targets render first.

    ``study``: Python's ``max`` of the names, i.e. the alphabetically last, which is what the study's
    ``longest()`` computes (it calls ``max(strings)`` without ``key=len``); ``longest``: the longest,
    the first such on ties.
    """
    distinct = list(dict.fromkeys(name for name in names if name))
    chosen = max(distinct) if mention == "study" else max(distinct, key=len)
    return (chosen, *(name for name in distinct if name != chosen))


@dataclass(frozen=True)
class PubTatorDocument:
    """One PubTator document's lines: its PMID, title and abstract, and its annotation lines (mentions
    and relations) split into their tab-separated fields, each with its line number."""

    pmid: str
    title: str
    abstract: str
    annotations: tuple[tuple[int, tuple[str, ...]], ...]


def pubtator_document(block: list[tuple[int, str]]) -> PubTatorDocument:
    """A document of :func:`pubtator_documents`; raises ValueError (its reason to skip it) where a line
    belongs to another PMID or the title or abstract line is missing."""
    pmid, title, abstract = _pmid(block), None, None
    annotations: list[tuple[int, tuple[str, ...]]] = []
    for number, line in block:
        if line.startswith(f"{pmid}|t|"):
            title = line[len(pmid) + 3 :]
        elif line.startswith(f"{pmid}|a|"):
            abstract = line[len(pmid) + 3 :]
        else:
            fields = tuple(line.split("\t"))
            if fields[0] != pmid:
                raise ValueError(f"line {number} belongs to document {fields[0]!r}, not {pmid}")
            annotations.append((number, fields))
    if title is None or abstract is None:
        raise ValueError(f"line {block[0][0]}: document without a title (|t|) or abstract (|a|) line")
    return PubTatorDocument(pmid, title, abstract, tuple(annotations))


def _document(block: list[tuple[int, str]], mention: str) -> StudyDocument:
    """One PubTator document; a ValueError's message is the reason to skip it."""
    document = pubtator_document(block)
    names: dict[str, list[str]] = {}
    pairs: list[tuple[int, str, str]] = []
    for number, fields in document.annotations:
        if len(fields) == 4 and fields[1] == BC5CDR_RELATION:
            pairs.append((number, fields[2], fields[3]))
        elif len(fields) in (6, 7):
            try:
                _add_mention(names, list(fields))
            except ValueError as error:
                raise ValueError(f"line {number}: {error}") from None
        else:
            raise ValueError(f"line {number}: relation {fields[1]!r}, expected {BC5CDR_RELATION}")
    relations = []
    for number, chemical, disease in pairs:
        missing = [mesh_id for mesh_id in (chemical, disease) if not any(names.get(mesh_id, []))]
        if missing:
            raise ValueError(
                f"line {number}: CID relation {chemical}-{disease}: no mention of {', '.join(missing)}"
            )
        arguments = (_rendered_first(names[chemical], mention), _rendered_first(names[disease], mention))
        relations.append(StudyRelation(arguments, BC5CDR_RELATION))
    return StudyDocument(document.pmid, f"{document.title} {document.abstract}", tuple(relations))


def _pmid(block: list[tuple[int, str]]) -> str:
    """The PMID a document's first line starts with."""
    return block[0][1].split("|", 1)[0].split("\t", 1)[0]


def read_cdr(config: StudyTaskSettings, split: str) -> StudyRead:
    """The documents of the split's PubTator file (training, development, test = train, valid, test)."""
    result = StudyRead()
    for block in pubtator_documents(pubtator_path(config.data_dir, split)):
        try:
            result.documents.append(_document(block, config.mention))
        except ValueError as error:
            result.skipped.append(SkippedRecord(_pmid(block), str(error)))
    return result
