"""BioCreative VI ChemProt for the study: abstracts, entities and gold-standard tables to documents.

Text is the title, one space and the abstract; every abstract is kept. Names are the entity texts
lower-cased, as the study renders and scores them. Gold relations are the ``*_gold_standard.tsv``
rows (the evaluated classes CPR:3/4/5/6/9; head = Arg1, the chemical; tail = Arg2, the gene),
de-duplicated on (head, tail, class) as the study's ``list(set(...))`` does, but in first-occurrence
file order where the study's order was arbitrary.

Lines are split on tabs, taking every character as written. The study's ``pandas.read_table`` applies
CSV quoting, which changes exactly one line of these files: the training abstract of PMID 23194825
starts with ``"Ecstasy" (3,4-...``, which pandas reads as ``Ecstasy (3,4-...``. We keep the quotes:
they are the corpus text, and the entity offsets count them.
"""

from __future__ import annotations

from pathlib import Path

from biogpt.data.tasks.io import raw_file
from biogpt.data.tasks.settings import StudyTaskSettings
from biogpt.data.tasks.study_documents import StudyDocument, StudyRead
from biogpt.data.tasks.types import SkippedRecord, StudyRelation
from biogpt.errors import DataFileError
from biogpt.textfiles import numbered_lines

# split -> (folder, abstracts, entities, gold standard), as the BioCreative VI release names them.
SPLIT_FILES: dict[str, tuple[str, str, str, str]] = {
    "train": (
        "chemprot_training",
        "chemprot_training_abstracts.tsv",
        "chemprot_training_entities.tsv",
        "chemprot_training_gold_standard.tsv",
    ),
    "valid": (
        "chemprot_development",
        "chemprot_development_abstracts.tsv",
        "chemprot_development_entities.tsv",
        "chemprot_development_gold_standard.tsv",
    ),
    "test": (
        "chemprot_test_gs",
        "chemprot_test_abstracts_gs.tsv",
        "chemprot_test_entities_gs.tsv",
        "chemprot_test_gold_standard.tsv",
    ),
}


def _rows(path: Path, width: int) -> list[tuple[int, list[str]]]:
    """The file's numbered tab-separated rows; a non-blank line of another width breaks the format
    (a cut-off file, a column lost) and raises naming it."""
    expected = f"{width} tab-separated fields a line"
    rows = []
    for number, line in numbered_lines(path, expected):
        fields = line.split("\t")
        if len(fields) == width:
            rows.append((number, fields))
        elif line.strip():
            raise DataFileError.at(path, number, f"{len(fields)} field(s)", expected)
    return rows


def _argument(value: str, prefix: str, names: dict[str, str]) -> str:
    """The lower-cased name of the entity an ``Arg1:T12`` field points to."""
    if not value.startswith(prefix) or value[len(prefix) :] not in names:
        raise ValueError(f"{value!r} is not {prefix}<id of an entity of the abstract>")
    return names[value[len(prefix) :]]


def read_chemprot(config: StudyTaskSettings, split: str) -> StudyRead:
    """The split's abstracts in file order with their de-duplicated gold relations."""
    folder, *files = SPLIT_FILES[split]
    abstracts, entities, gold = (raw_file(config.data_dir, "ChemProt", f"{folder}/{name}") for name in files)
    errors: dict[str, str] = {}
    names: dict[str, dict[str, str]] = {}
    for _, (pmid, entity_id, _type, _start, _end, text) in _rows(entities, 6):
        names.setdefault(pmid, {})[entity_id] = text.lower()
    relations: dict[str, dict[tuple[str, str, str], StudyRelation]] = {}
    for number, (pmid, label, head, tail) in _rows(gold, 4):
        try:
            known = names.get(pmid, {})
            key = (_argument(head, "Arg1:", known), _argument(tail, "Arg2:", known), label)
        except ValueError as error:
            errors.setdefault(pmid, f"{gold.name} line {number}: {error}")
            continue
        relations.setdefault(pmid, {}).setdefault(key, StudyRelation(((key[0],), (key[1],)), label))
    result = StudyRead()
    for _, (pmid, title, abstract) in _rows(abstracts, 3):
        if pmid in errors:
            continue
        result.documents.append(
            StudyDocument(pmid, f"{title} {abstract}", tuple(relations.get(pmid, {}).values()))
        )
    result.skipped = [SkippedRecord(pmid, reason) for pmid, reason in errors.items()]
    return result
