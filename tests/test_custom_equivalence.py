"""``task=custom`` against the built-in readers, on the real corpora converted by the tests.

DDI-2013 and ChemProt in brat, BioC XML and ``bigbio_kb`` JSONL, configured with the study's wording,
give the study tasks' examples (source, target, gold relations) split by split; BC5CDR's PubTator files,
read as they are, give CDR's; HoC as CSV and ``bigbio_text`` gives HoC's; PubMedQA as JSONL and
``bigbio_qa`` (its official split written out) gives PubMedQA's. The same generations then score the
same on both sides (the study tasks under ``scoring=corrected``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import pytest
from custom_conversions import (
    chemprot_documents,
    ddi2013_documents,
    write_hoc,
    write_pubmedqa,
    write_relation_formats,
)

from biogpt.data.tasks import Example, TaskSettings, load_task_split, make_task_settings
from biogpt.data.tasks.cdr import PUBTATOR_FILES
from biogpt.data.tasks.pubmedqa import official_split
from biogpt.evaluation.scoring import score_predictions

SPLITS = ("train", "valid", "test")
RELATION_METRICS = ("tp", "fp", "fn", "redundant", "precision", "recall", "f1")
CHEMPROT_WORDING = {
    "target_format": "study",
    "instruction": "Find all instances of relations between chemicals and proteins in the following passage:",
    "empty_target": "No drug-gene relationships are established.",
    "verbalize": {
        "CPR:3": "upregulation",
        "CPR:4": "downregulation",
        "CPR:5": "agonist",
        "CPR:6": "antagonist",
        "CPR:9": "substrate and/or product",
    },
    "lowercase": "names",
    "deduplicate": True,
    "match": "lower",
}
DDI2013_WORDING = {
    "target_format": "study",
    "instruction": "Find all instances of drug-drug relations in the following passage:",
    "empty_target": "No drug-drug interactions are established.",
    "verbalize": {"int": "interaction", "mechanism": "mechanism", "effect": "effect", "advise": "advice"},
}
CDR_WORDING = {
    "target_format": "study",
    "instruction": "Find all instances of relations between chemicals and diseases in the following passage:",
    "clause": "The relation between {head} and {tail} exists",
    "empty_target": ".",
}


def rows(examples: Sequence[Example]) -> list[tuple[object, ...]]:
    return [(e.id, e.source, e.target, e.relations, e.labels, e.answer) for e in examples]


@functools.cache
def builtin_rows(config: TaskSettings, split: str) -> list[tuple[object, ...]]:
    """A built-in task's examples, read once for every format compared with them."""
    return rows(load_task_split(config, split).examples)


def generations(examples: Sequence[Example]) -> list[str]:
    """Generations a model might write: the gold target, its neighbour's (wrong relations), an
    upper-cased target (right under case folding only) and the empty answer, in turn."""
    made = []
    for index, example in enumerate(examples):
        turn = index % 4
        if turn == 0:
            made.append(example.target)
        elif turn == 1:
            made.append(examples[(index + 1) % len(examples)].target)
        elif turn == 2:
            made.append(example.target.upper())
        else:
            made.append("")
    return made


def assert_same_scores(
    builtin: TaskSettings, custom: TaskSettings, split: str, metrics: Sequence[str]
) -> None:
    examples = load_task_split(builtin, split).examples
    made = generations(examples)
    ours = score_predictions(custom, made, split=split).metrics
    theirs = score_predictions(builtin, made, split=split).metrics
    assert {m: ours[m] for m in metrics} == {m: theirs[m] for m in metrics}
    assert 0 < theirs[metrics[-1]] < 1  # the generations are neither all right nor all wrong


@pytest.fixture(scope="module")
def chemprot(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    root = tmp_path_factory.mktemp("chemprot")
    return {
        split: write_relation_formats(chemprot_documents(shared_data, split), root / split)
        for split in SPLITS
    }


@pytest.mark.parametrize("fmt", ["brat", "bioc", "bigbio"])
def test_chemprot_as_the_study_task_reads_it(
    fmt: str, chemprot: dict[str, dict[str, Path]], shared_data: Path
) -> None:
    paths = {split: str(chemprot[split][fmt]) for split in SPLITS}
    custom = make_task_settings("custom", kind="relation", **paths, **CHEMPROT_WORDING)
    builtin = make_task_settings("chemprot", data_dir=str(shared_data), scoring="corrected")
    for split in SPLITS:
        assert rows(load_task_split(custom, split).examples) == builtin_rows(builtin, split)
    assert_same_scores(builtin, custom, "test", RELATION_METRICS)


@pytest.fixture(scope="module")
def ddi2013(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    root = tmp_path_factory.mktemp("ddi2013")
    return {
        split: write_relation_formats(ddi2013_documents(shared_data, split), root / split)
        for split in ("train", "test")
    }


@pytest.mark.parametrize("fmt", ["brat", "bioc", "bigbio"])
def test_ddi2013_as_the_study_task_reads_it(
    fmt: str, ddi2013: dict[str, dict[str, Path]], shared_data: Path
) -> None:
    # No valid split: the seeded hold-out of the training documents, as the study task draws it.
    custom = make_task_settings(
        "custom",
        kind="relation",
        train=str(ddi2013["train"][fmt]),
        test=str(ddi2013["test"][fmt]),
        **DDI2013_WORDING,
    )
    builtin = make_task_settings("ddi2013", data_dir=str(shared_data), scoring="corrected")
    for split in SPLITS:
        assert rows(load_task_split(custom, split).examples) == builtin_rows(builtin, split)
    assert_same_scores(builtin, custom, "test", RELATION_METRICS)


@pytest.mark.parametrize("mention", ["study", "longest"])
def test_bc5cdr_pubtator_as_the_cdr_task_reads_it(mention: str, shared_data: Path) -> None:
    corpus = shared_data / "BC5CDR" / "raw" / "CDR_Data"
    paths = {split: str(corpus / PUBTATOR_FILES[split]) for split in SPLITS}
    custom = make_task_settings("custom", kind="relation", mention=mention, **paths, **CDR_WORDING)
    builtin = make_task_settings("cdr", data_dir=str(shared_data), mention=mention, scoring="corrected")
    for split in SPLITS:
        assert rows(load_task_split(custom, split).examples) == builtin_rows(builtin, split)
    assert_same_scores(builtin, custom, "valid", RELATION_METRICS)


@pytest.mark.parametrize("fmt", ["csv", "bigbio"])
def test_hoc_as_csv_and_bigbio_text(fmt: str, shared_data: Path, tmp_path: Path) -> None:
    paths = {split: str(write_hoc(shared_data, split, tmp_path / split)[fmt]) for split in SPLITS}
    custom = make_task_settings("custom", kind="classification", label_separator="|", **paths)
    builtin = make_task_settings("hoc", data_dir=str(shared_data))
    for split in SPLITS:
        assert rows(load_task_split(custom, split).examples) == builtin_rows(builtin, split)
    assert_same_scores(builtin, custom, "test", ("precision", "recall", "f1"))


@pytest.mark.parametrize("fmt", ["jsonl", "bigbio"])
def test_pubmedqa_as_jsonl_and_bigbio_qa(fmt: str, shared_data: Path, tmp_path: Path) -> None:
    builtin = make_task_settings("pubmedqa", data_dir=str(shared_data))
    split_ids = {split: [e.id for e in load_task_split(builtin, split).examples] for split in SPLITS}
    written = write_pubmedqa(shared_data, split_ids, tmp_path)
    answers = {"answers": ["yes", "no", "maybe"]} if fmt == "jsonl" else {}  # bigbio_qa lists its choices
    custom = make_task_settings("custom", kind="qa", **{s: str(written[s][fmt]) for s in SPLITS}, **answers)
    for split in SPLITS:
        assert rows(load_task_split(custom, split).examples) == builtin_rows(builtin, split)
    assert_same_scores(builtin, custom, "test", ("accuracy", "macro_f1"))


def test_official_split_is_what_the_conversion_wrote(shared_data: Path) -> None:
    """The PubMedQA conversion writes the built-in split; this pins that split's sizes."""
    import json

    labels = {
        pmid: record["final_decision"]
        for pmid, record in json.loads((shared_data / "PubMedQA/raw/ori_pqal.json").read_text()).items()
    }
    assert [len(official_split(labels, 0)[s]) for s in SPLITS] == [450, 50, 500]
