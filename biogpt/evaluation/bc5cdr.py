"""BC5CDR: generated chemical-disease sentences scored as the BioCreative V CDR kit scores CID relations.

The release (``examples/RE-BC5CDR/postprocess.py`` of microsoft/BioGPT) maps each generated chemical
and disease name to a MeSH id through the split's ``{split}.entities.json`` (an unknown name becomes
"-1"), writes ``pmid CID chemical disease 1.0`` PubTator lines, and runs the kit's
``eval_relation.sh`` against the gold corpus. The kit compares (document, chemical id, disease id)
relations: micro precision and recall over distinct relations, with recall over every gold relation
of the corpus file, so documents without a prediction still count. When only some documents are
scored (``eval.ids`` or ``eval.limit``), recall is over those documents' gold relations alone: the
rest of the file was never asked for, and counting it would make a subset's recall meaningless.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from biogpt.data.formats import BC5CDR_RELATION, Triplet
from biogpt.data.tasks import Example, RelationTaskSettings
from biogpt.data.tasks.cdr import pubtator_documents, pubtator_path
from biogpt.data.tasks.io import read_json_object
from biogpt.errors import DataFileError, MissingFileError
from biogpt.evaluation.base import Scores, make_record, precision_recall_f1
from biogpt.evaluation.parsing import parse_relation_generations, triplet_rows

# A relation as the kit compares it: (PMID, chemical MeSH id, disease MeSH id).
CidPair = tuple[str, str, str]

UNKNOWN_ID = "-1"


def read_cid_pairs(path: Path) -> set[CidPair]:
    """The distinct CID relations (``pmid<TAB>CID<TAB>chemical<TAB>disease``) of a gold PubTator file.

    A line that breaks the format raises naming it: a cut-off gold file would lower recall silently.
    """
    pairs = set()
    for document in pubtator_documents(path):
        for _, line in document:
            fields = line.split("\t")
            if len(fields) >= 4 and fields[1] == BC5CDR_RELATION:
                pairs.add((fields[0], fields[2], fields[3]))
    return pairs


def read_entity_ids(data_dir: str | Path, split: str) -> tuple[dict[str, str], dict[str, str]]:
    """The (chemical name -> MeSH id, disease name -> MeSH id) maps of ``{split}.entities.json``."""
    path = Path(data_dir) / "BC5CDR" / "raw" / f"{split}.entities.json"
    if not path.is_file():
        raise MissingFileError(f"missing BC5CDR entity map {path}")
    expected = "an object with the name -> MeSH id maps 'chemical2id' and 'disease2id'"
    maps = read_json_object(path, expected)
    for key in ("chemical2id", "disease2id"):
        if not isinstance(maps.get(key), dict):
            raise DataFileError.at(path, 1, f"no {key!r} object", expected)
    return maps["chemical2id"], maps["disease2id"]


def to_ids(triplet: Triplet, chemicals: dict[str, str], diseases: dict[str, str]) -> tuple[str, str]:
    """A parsed (chemical, CID, disease) triplet as MeSH ids; names outside the map become "-1"."""
    return chemicals.get(triplet.head, UNKNOWN_ID), diseases.get(triplet.tail, UNKNOWN_ID)


def cid_metrics(predicted: Collection[CidPair], gold: Collection[CidPair]) -> dict[str, float]:
    """The kit's relation figures: TP, FP, FN over distinct pairs, then precision, recall and F-score."""
    predicted, gold = set(predicted), set(gold)
    tp, fp, fn = len(predicted & gold), len(predicted - gold), len(gold - predicted)
    return {"tp": float(tp), "fp": float(fp), "fn": float(fn), **precision_recall_f1(tp, fp, fn)}


def pubtator_line(pair: CidPair) -> str:
    """A prediction line as the release's postprocess.py writes it, with its constant 1.0 confidence."""
    pmid, chemical, disease = pair
    return f"{pmid}\t{BC5CDR_RELATION}\t{chemical}\t{disease}\t1.0"


def score_bc5cdr(
    config: RelationTaskSettings, split: str, examples: Sequence[Example], generations: Sequence[str]
) -> Scores:
    """BC5CDR generations scored against the gold relations of ``examples`` in the split's CDR corpus file.

    On a full split that is every relation of the file, as the kit counts them; on a subset, only the
    chosen documents' relations, so a few scored documents are not charged the others' as misses.

    ``extracted.PubTator`` holds one line per parsed clause, duplicates included, in generation
    order, exactly what the release passes to ``eval_relation.sh PubTator <gold> <file>``.
    """
    chemicals, diseases = read_entity_ids(config.data_dir, split)
    # Gold relations of the scored documents: every test document on a full split (the kit's recall
    # counts documents without output), the chosen ones when only some are scored.
    documents = {example.id for example in examples}
    gold = {pair for pair in read_cid_pairs(pubtator_path(config.data_dir, split)) if pair[0] in documents}
    parsed = parse_relation_generations(config, examples, generations)
    gold_by_document: dict[str, list[list[str]]] = {}
    for pmid, chemical, disease in sorted(gold):
        gold_by_document.setdefault(pmid, []).append([chemical, disease])
    predicted: list[CidPair] = []
    records = []
    for example, generated, result in zip(examples, generations, parsed, strict=True):
        ids = [to_ids(t, chemicals, diseases) for t in result.triplets]
        predicted.extend((example.id, *pair) for pair in ids)
        record = make_record(
            example, generated, triplet_rows(example.triplets), triplet_rows(result.triplets), result.failed
        )
        record.update(gold_ids=gold_by_document.get(example.id, []), parsed_ids=[list(pair) for pair in ids])
        records.append(record)
    failures = sum(p.failed for p in parsed)
    release_files = {"extracted.PubTator": [pubtator_line(pair) for pair in predicted]}
    return Scores(config.name, split, cid_metrics(predicted, gold), failures, records, release_files)
