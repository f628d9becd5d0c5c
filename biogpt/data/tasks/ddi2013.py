"""DDI-2013 for the study: the corpus XML documents to documents with drug-drug interactions.

Training documents are ``Train/DrugBank`` and ``Train/MedLine`` (714, in path order); ``valid`` is a
seeded hold-out of them (:func:`biogpt.data.tasks.study_documents.holdout`); test is the 191 documents
of ``Test/Test for DDI Extraction task``. The study read the corpus through the ``bigbio/ddi_corpus``
loader, whose test split also holds the 112 documents of the DrugNER test set; they have no relations
and are not in this copy of the corpus, so our test split has 191 documents where the study's had 303.

A document's text is its sentences' texts, each stripped, joined by one space (the bigbio text). Its
relations are the ``pair`` elements with ``ddi="true"``, in document order (the study's frozenset had
none), duplicates kept as the study keeps them: head = ``e1``'s name, tail = ``e2``'s, class = ``type``.
An entity is named by the sentence text of its first ``charOffset`` range (offsets are inclusive), which
for the 47 discontinuous entities (``"a-b;c-d"``) is the first fragment rather than the XML ``text``
attribute: that is what the bigbio loader gives. A true pair without a type (one in the training set)
cannot be rendered; it is reported in ``skipped`` under its pair id and the rest of its document kept.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from biogpt.data.tasks.settings import StudyTaskSettings
from biogpt.data.tasks.study_documents import StudyDocument, StudyRead, holdout
from biogpt.data.tasks.types import SkippedRecord, StudyRelation
from biogpt.errors import MissingFileError
from biogpt.textfiles import parse_xml

SPLIT_FOLDERS: dict[str, tuple[str, ...]] = {
    "train": ("Train/DrugBank", "Train/MedLine"),
    "valid": ("Train/DrugBank", "Train/MedLine"),
    "test": ("Test/Test for DDI Extraction task/DrugBank", "Test/Test for DDI Extraction task/MedLine"),
}


def _files(data_dir: str, split: str) -> list[Path]:
    """The split's XML files sorted by path; a missing corpus folder raises naming it."""
    files = []
    for folder in SPLIT_FOLDERS[split]:
        path = Path(data_dir) / "DDI2013" / "DDICorpus" / folder
        if not path.is_dir():
            raise MissingFileError(f"missing DDI-2013 corpus folder {path} (expected the DDICorpus layout)")
        files.extend(path.glob("*.xml"))
    return sorted(files)


def _entity_name(entity: ET.Element, sentence_text: str) -> str:
    """The sentence text of the entity's first offset range ("12-20" or "12-20;31-40", inclusive ends)."""
    first = entity.get("charOffset", "").split(";")[0]
    try:
        start, end = (int(value) for value in first.split("-"))
    except ValueError:
        raise ValueError(f"entity {entity.get('id')!r}: bad charOffset {first!r}") from None
    return sentence_text[start : end + 1]


def _document(path: Path, root: ET.Element, skipped: list[SkippedRecord]) -> StudyDocument:
    """One corpus file's document; a ValueError's message is why to skip it; untyped true pairs go to
    ``skipped``."""
    texts, relations = [], []
    for sentence in root.iter("sentence"):
        text = sentence.get("text")
        if text is None:
            raise ValueError(f"sentence {sentence.get('id')!r} has no text")
        texts.append(text.strip())
        names = {entity.get("id"): _entity_name(entity, text) for entity in sentence.iter("entity")}
        for pair in sentence.iter("pair"):
            if pair.get("ddi") != "true":
                continue
            head, tail, label = pair.get("e1"), pair.get("e2"), pair.get("type")
            if head not in names or tail not in names:
                raise ValueError(f"pair {pair.get('id')!r} names an entity its sentence lacks")
            if not label:
                skipped.append(SkippedRecord(str(pair.get("id")), f"{path.name}: true pair without a type"))
                continue
            relations.append(StudyRelation(((names[head],), (names[tail],)), label))
    doc_id = root.get("id")
    if not doc_id:
        raise ValueError("document has no id")
    return StudyDocument(doc_id, " ".join(texts), tuple(relations))


def read_ddi2013(config: StudyTaskSettings, split: str) -> StudyRead:
    """The split's documents; a document with a wrong field is skipped under its file name.

    A file that is not well-formed XML (cut off, not XML) raises naming its line: it is not a document
    with a wrong field but no document at all."""
    files = _files(config.data_dir, split)
    if split != "test":
        files = holdout(files, config, split)
    result = StudyRead()
    for path in files:
        root = parse_xml(path, "a well-formed DDI-2013 corpus XML document").getroot()
        try:
            result.documents.append(_document(path, root, result.skipped))
        except ValueError as error:
            result.skipped.append(SkippedRecord(path.name, str(error)))
    return result
