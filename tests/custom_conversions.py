"""The real corpora of ``../shared/data`` converted by the tests themselves into the exchange formats a
``task=custom`` corpus may be in, so that its examples and scores can be compared with the built-in
readers'. Each converter reads the release files directly (not through the project's readers) and
returns documents of :mod:`biogpt.data.custom.document`, which the library's writers then write."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from biogpt.data.custom.document import Document, Entity, Location, Passage, Relation, Span
from biogpt.data.custom.writers import bigbio_kb, bioc_xml, write_brat, write_jsonl

HERE = Location("converted")
CHEMPROT_FILES = {
    split: (
        folder,
        f"{prefix}_abstracts{gs}.tsv",
        f"{prefix}_entities{gs}.tsv",
        f"{prefix}_gold_standard.tsv",
    )
    for split, folder, prefix, gs in (
        ("train", "chemprot_training", "chemprot_training", ""),
        ("valid", "chemprot_development", "chemprot_development", ""),
        ("test", "chemprot_test_gs", "chemprot_test", "_gs"),
    )
}


def _tsv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as handle:
        return [line.rstrip("\n").split("\t") for line in handle if line.strip()]


def chemprot_documents(data: Path, split: str) -> list[Document]:
    """Title, a space and abstract; the entity table's mentions; the gold standard's relations."""
    folder, abstracts, entities, gold = CHEMPROT_FILES[split]
    root = data / "ChemProt" / "raw" / folder
    mentions: dict[str, list[Entity]] = {}
    for pmid, entity_id, entity_type, start, end, text in _tsv(root / entities):
        span = Span(int(start), int(end))
        mentions.setdefault(pmid, []).append(Entity(entity_id, entity_type, (span,), text, HERE))
    relations: dict[str, list[Relation]] = {}
    for pmid, label, head, tail in _tsv(root / gold):
        found = relations.setdefault(pmid, [])
        found.append(Relation(f"R{len(found) + 1}", label, head.split(":")[1], tail.split(":")[1], HERE))
    return [
        Document(
            pmid,
            (Passage("title", 0, title), Passage("abstract", len(title) + 1, abstract)),
            tuple(mentions.get(pmid, [])),
            tuple(relations.get(pmid, [])),
            HERE,
        )
        for pmid, title, abstract in _tsv(root / abstracts)
    ]


DDI_FOLDERS = {
    "train": ("Train/DrugBank", "Train/MedLine"),
    "test": ("Test/Test for DDI Extraction task/DrugBank", "Test/Test for DDI Extraction task/MedLine"),
}


def ddi2013_documents(data: Path, split: str) -> list[Document]:
    """Each corpus XML file (in path order) as one document: sentences stripped, joined by a space;
    an entity's first offset range, as the bigbio loader gives it; true typed pairs as relations."""
    files = sorted(
        path
        for folder in DDI_FOLDERS[split]
        for path in (data / "DDI2013" / "DDICorpus" / folder).glob("*.xml")
    )
    documents = []
    for path in files:
        root = ET.parse(path).getroot()
        text, entities, relations = "", [], []
        for sentence in root.iter("sentence"):
            raw = sentence.get("text", "")
            base = len(text) + (1 if text else 0) - (len(raw) - len(raw.lstrip()))
            text = f"{text} {raw.strip()}" if text else raw.strip()
            for entity in sentence.iter("entity"):
                start, end = (int(v) for v in entity.get("charOffset", "").split(";")[0].split("-"))
                span = Span(base + start, base + end + 1)
                entities.append(
                    Entity(entity.get("id", ""), entity.get("type", ""), (span,), raw[start : end + 1], HERE)
                )
            for pair in sentence.iter("pair"):
                if pair.get("ddi") == "true" and pair.get("type"):
                    relations.append(
                        Relation(
                            pair.get("id", ""),
                            pair.get("type", ""),
                            pair.get("e1", ""),
                            pair.get("e2", ""),
                            HERE,
                        )
                    )
        documents.append(
            Document(root.get("id", ""), (Passage("", 0, text),), tuple(entities), tuple(relations), HERE)
        )
    return documents


def write_relation_formats(documents: list[Document], root: Path) -> dict[str, Path]:
    """``documents`` in brat (one numbered folder a document, to keep their order), BioC XML and
    ``bigbio_kb`` JSONL under ``root``; returns each format's path."""
    for index, document in enumerate(documents):
        write_brat(document, root / "brat" / f"{index:05d}")
    (root / "bioc").mkdir(parents=True)
    (root / "bioc" / "corpus.xml").write_text(bioc_xml(documents), encoding="utf-8")
    write_jsonl([bigbio_kb(d) for d in documents], root / "bigbio" / "corpus.jsonl")
    return {
        "brat": root / "brat",
        "bioc": root / "bioc" / "corpus.xml",
        "bigbio": root / "bigbio" / "corpus.jsonl",
    }


def hoc_rows(data: Path, split: str) -> list[tuple[str, str, str]]:
    """(id, sentence, label string) of the non-blank lines of HoC's ``<split>.tsv``, ids counted from 0."""
    lines = [
        line
        for line in (data / "HoC" / "raw" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [(str(i), *(field.strip() for field in line.split("\t"))) for i, line in enumerate(lines)]  # type: ignore[misc]


def write_hoc(data: Path, split: str, root: Path) -> dict[str, Path]:
    rows = hoc_rows(data, split)
    root.mkdir(parents=True, exist_ok=True)
    with (root / f"{split}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label"])
        writer.writerows(rows)
    bigbio = [
        {"id": i, "document_id": i, "text": text, "labels": label.split("|")} for i, text, label in rows
    ]
    return {"csv": root / f"{split}.csv", "bigbio": write_jsonl(bigbio, root / f"{split}.jsonl")}


def write_pubmedqa(data: Path, splits: dict[str, list[str]], root: Path) -> dict[str, dict[str, Path]]:
    """PQA-L's questions of each split (``splits``: PMIDs in order) as our JSONL and as ``bigbio_qa``."""
    records: dict[str, Any] = json.loads(
        (data / "PubMedQA" / "raw" / "ori_pqal.json").read_text(encoding="utf-8")
    )
    paths: dict[str, dict[str, Path]] = {}
    for split, pmids in splits.items():
        ours = [
            {
                "id": p,
                "question": records[p]["QUESTION"],
                "context": records[p]["CONTEXTS"],
                "answer": records[p]["final_decision"],
            }
            for p in pmids
        ]
        bigbio = [
            {
                "id": p, "question_id": p, "document_id": p, "type": "yesno",
                "question": records[p]["QUESTION"],
                "choices": ["yes", "no", "maybe"], "context": " ".join(records[p]["CONTEXTS"]),
                "answer": [records[p]["final_decision"]],
            }
            for p in pmids
        ]  # fmt: skip
        paths[split] = {
            "jsonl": write_jsonl(ours, root / "jsonl" / f"{split}.jsonl"),
            "bigbio": write_jsonl(bigbio, root / "bigbio" / f"{split}.jsonl"),
        }
    return paths
