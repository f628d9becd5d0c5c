"""BC5CDR, KD-DTI and DDI: one triplet pipeline over three raw layouts.

Each dataset differs only in how a record gives its source text and its gold relations; ordering,
dropping relation-less documents and rendering the target are shared. Defaults reproduce the
release's ``examples/RE-{BC5CDR,DTI,DDI}/rebuild_data.py`` (microsoft/BioGPT) string for string.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from biogpt.data.formats import BC5CDR_RELATION, Triplet, get_format
from biogpt.data.tasks.io import raw_file, read_json_object, require_str
from biogpt.data.tasks.settings import RelationTaskSettings
from biogpt.data.tasks.types import Example, SkippedRecord, TaskSplit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _GoldRelation:
    """A gold triplet as rendered (lowercased names), the name the release searches to order it, its ids."""

    triplet: Triplet
    search_name: str
    ids: tuple[str, str] | None = None


def _title_and_abstract(record: dict[str, Any]) -> str:
    """Lowercased "title. abstract"; a title already ending in a non-word character gets a space only."""
    title = require_str(record, "title")
    abstract = require_str(record, "abstract")
    separator = " " if re.search(r"\W$", title) else ". "
    return (title + separator + abstract).lower()


def _plain_abstract(text: str) -> str:
    """A DDI text as its source: stripped, newlines as spaces, lowercased."""
    return text.strip().replace("\n", " ").lower()


def _abstract_only(record: dict[str, Any]) -> str:
    """DDI texts have no title: the abstract as :func:`_plain_abstract` renders it."""
    return _plain_abstract(require_str(record, "abstract"))


def _list_field(record: dict[str, Any], key: str) -> list[Any]:
    """A relation list field; null is an empty list, as the release treats it."""
    if key not in record:
        raise ValueError(f"missing field {key!r}")
    value = record[key]
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"field {key!r} is {type(value).__name__}, expected list")
    return value


def _entry(value: Any, key: str, index: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{key}[{index}] is {type(value).__name__}, expected object")
    return value


def _drug_relations(record: dict[str, Any]) -> list[_GoldRelation]:
    """KD-DTI and DDI ``triples``: drug, target and interaction, lowercased as the release renders them."""
    relations = []
    for index, raw in enumerate(_list_field(record, "triples")):
        entry = _entry(raw, "triples", index)
        drug, target, interaction = (require_str(entry, k) for k in ("drug", "target", "interaction"))
        triplet = Triplet(drug.lower(), interaction.lower(), target.lower())
        relations.append(_GoldRelation(triplet, search_name=drug))
    return relations


def _longest_names(record: dict[str, Any], key: str) -> dict[str, str]:
    """MeSH id -> its longest mention name in the ``key`` map (the first such name on ties), as released."""
    if key not in record:
        raise ValueError(f"missing field {key!r}")
    name_to_id = record[key]
    if not isinstance(name_to_id, dict):
        raise ValueError(f"field {key!r} is {type(name_to_id).__name__}, expected object")
    id_to_name: dict[str, str] = {}
    for name, mesh_id in name_to_id.items():
        if not isinstance(mesh_id, str):
            raise ValueError(f"{key}[{name!r}] is {type(mesh_id).__name__}, expected str")
        if mesh_id not in id_to_name or len(name) > len(id_to_name[mesh_id]):
            id_to_name[mesh_id] = name
    return id_to_name


def _chemical_disease_relations(record: dict[str, Any]) -> list[_GoldRelation]:
    """BC5CDR ``relations`` (MeSH id pairs) named by each id's longest mention in the record's maps."""
    relations = _list_field(record, "relations")
    if not relations:
        return []
    chemicals = _longest_names(record, "chemical2id")
    diseases = _longest_names(record, "disease2id")
    gold = []
    for index, raw in enumerate(relations):
        entry = _entry(raw, "relations", index)
        chemical_id, disease_id = require_str(entry, "chemical"), require_str(entry, "disease")
        for mesh_id, names, field in (
            (chemical_id, chemicals, "chemical2id"),
            (disease_id, diseases, "disease2id"),
        ):
            if mesh_id not in names:
                raise ValueError(f"relations[{index}] id {mesh_id!r} has no mention in {field!r}")
        triplet = Triplet(chemicals[chemical_id], BC5CDR_RELATION, diseases[disease_id])
        gold.append(_GoldRelation(triplet, search_name=triplet.head, ids=(chemical_id, disease_id)))
    return gold


@dataclass(frozen=True)
class _RelationDataset:
    """What differs between the three relation datasets."""

    directory: str
    source: Callable[[dict[str, Any]], str]
    text: Callable[[str], str]  # how the source renders a document's whole text
    relations: Callable[[dict[str, Any]], list[_GoldRelation]]
    release_sorts: bool


_DATASETS: dict[str, _RelationDataset] = {
    # The BC5CDR script defines a sort but never calls it: relations keep their listed order.
    "bc5cdr": _RelationDataset(
        "BC5CDR", _title_and_abstract, str.lower, _chemical_disease_relations, release_sorts=False
    ),
    "kd-dti": _RelationDataset("KD-DTI", _title_and_abstract, str.lower, _drug_relations, release_sorts=True),
    "ddi": _RelationDataset("DDI", _abstract_only, _plain_abstract, _drug_relations, release_sorts=True),
}


def text_source(config: RelationTaskSettings, text: str) -> str:
    """A document's text (its title and abstract, already joined) as ``config``'s reader renders it into
    a source: lowercased as released (DDI: stripped, newlines as spaces, too)."""
    return _DATASETS[config.name].text(text)


def _order(
    relations: list[_GoldRelation], source: str, order: str, release_sorts: bool
) -> list[_GoldRelation]:
    """Relations in target order (stable sorts, so ties keep the listed order).

    The release sorts by ``source.find(name)`` with the head's original case in the lowercased
    source: a capitalised head is "not found" (-1) and moves first. ``appearance`` searches the
    lowercased head instead and puts heads that are never mentioned last.
    """
    if order == "appearance":

        def first_mention(relation: _GoldRelation) -> int:
            position = source.find(relation.triplet.head)
            return position if position >= 0 else len(source)

        return sorted(relations, key=first_mention)
    if release_sorts:
        return sorted(relations, key=lambda relation: source.find(relation.search_name))
    return relations


def load_relation_split(config: RelationTaskSettings, split: str) -> TaskSplit:
    """The examples of ``<data_dir>/<DATASET>/raw/<split>.json`` under ``config``."""
    dataset = _DATASETS[config.name]
    path = raw_file(config.data_dir, dataset.directory, f"{split}.json")
    fmt = get_format(config.name, config.target_format)
    result = TaskSplit(examples=[])
    for doc_id, record in read_json_object(path).items():
        try:
            if not isinstance(record, dict):
                raise ValueError(f"record is {type(record).__name__}, expected object")
            source = dataset.source(record)
            relations = dataset.relations(record)
        except ValueError as error:
            result.skipped.append(SkippedRecord(doc_id, str(error)))
            continue
        if not relations:
            if config.keep_empty:
                result.examples.append(Example(doc_id, source, config.empty_target))
            else:
                result.dropped.append(doc_id)
            continue
        ordered = _order(relations, source, config.order, dataset.release_sorts)
        triplets = tuple(r.triplet for r in ordered)
        ids = tuple(r.ids for r in ordered if r.ids is not None)
        result.examples.append(
            Example(doc_id, source, fmt.render(triplets), triplets=triplets, triplet_ids=ids)
        )
    for skipped in result.skipped:
        logger.warning("%s: skipped malformed record %s: %s", path, skipped.record_id, skipped.reason)
    logger.info(
        "%s: %d examples, %d documents without relations dropped (as released), %d malformed records skipped",
        path,
        len(result.examples),
        len(result.dropped),
        len(result.skipped),
    )
    return result
