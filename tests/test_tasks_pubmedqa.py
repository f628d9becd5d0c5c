"""PubMedQA PQA-L: the official split (pubmedqa/pubmedqa preprocess/split_dataset.py) and release strings
(microsoft/BioGPT examples/QA-PubMedQA/ReasoningRequired/rebuild_data.py)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from biogpt.data.tasks import TaskSplit, load_task_split, make_task_settings


@cache
def _load(data_dir: Path, split: str, **fields: Any) -> TaskSplit:
    return load_task_split(make_task_settings("pubmedqa", data_dir=str(data_dir), **fields), split)


def test_test_pmids_equal_official_ground_truth(shared_data: Path) -> None:
    truth = json.loads((shared_data / "PubMedQA" / "raw" / "test_ground_truth.json").read_text())
    test = _load(shared_data, "test").examples
    assert len(test) == 500 and {e.id for e in test} == set(truth)
    assert {e.id: e.answer for e in test} == truth


@pytest.mark.parametrize("fold", [0, 7])
def test_fold_sizes_and_disjointness(shared_data: Path, fold: int) -> None:
    splits = {
        name: [e.id for e in _load(shared_data, name, fold=fold).examples]
        for name in ("train", "valid", "test")
    }
    assert {name: len(ids) for name, ids in splits.items()} == {"train": 450, "valid": 50, "test": 500}
    everything = [pmid for ids in splits.values() for pmid in ids]
    assert len(set(everything)) == 1000


def test_folds_partition_the_cross_validation_half(shared_data: Path) -> None:
    devs = [{e.id for e in _load(shared_data, "valid", fold=k).examples} for k in range(10)]
    assert len(set().union(*devs)) == 500 and all(len(d) == 50 for d in devs)
    assert {e.id for e in _load(shared_data, "train", fold=0).examples} == set().union(*devs[1:])


def test_literal_examples(shared_data: Path) -> None:
    first_test = _load(shared_data, "test").examples[0]
    assert first_test.id == "12377809"
    assert first_test.source.startswith(
        "question: Is anorectal endosonography valuable in dyschesia? context: Dyschesia can be provoked by "
        "inappropriate defecation movements. The aim of this prospective study"
    )
    # contexts joined by single spaces, original case, a trailing space after the last context
    assert "using anorectal endosonography. Twenty consecutive patients" in first_test.source
    assert first_test.source.endswith("(p<0.01, chi(2) test) in patients versus control subjects. ")
    assert first_test.target == "the answer to the question given the context is yes."
    first_train = _load(shared_data, "train").examples[0]
    assert first_train.id == "18251357"
    assert first_train.source == (
        "question: Does histologic chorioamnionitis correspond to clinical chorioamnionitis? context: To "
        "evaluate the degree to which histologic chorioamnionitis, a frequent finding in placentas "
        "submitted for histopathologic evaluation, correlates with clinical indicators of infection in "
        "the mother. A retrospective review was performed on 52 cases with a histologic diagnosis of "
        "acute chorioamnionitis from 2,051 deliveries at University Hospital, Newark, from January 2003 "
        "to July 2003. Third-trimester placentas without histologic chorioamnionitis (n = 52) served as "
        "controls. Cases and controls were selected sequentially. Maternal medical records were reviewed "
        "for indicators of maternal infection. Histologic chorioamnionitis was significantly associated "
        "with the usage of antibiotics (p = 0.0095) and a higher mean white blood cell count (p = "
        "0.018). The presence of 1 or more clinical indicators was significantly associated with the "
        "presence of histologic chorioamnionitis (p = 0.019). "
    )
    with_answer = _load(shared_data, "train", long_answer=True).examples[0]
    assert with_answer.source == first_train.source + (
        "answer: Histologic chorioamnionitis is a reliable indicator of infection whether or not it is "
        "clinically apparent."
    )


def test_answer_labels(shared_data: Path) -> None:
    answers = [e.answer for e in _load(shared_data, "test").examples]
    assert {a: answers.count(a) for a in set(answers)} == {"yes": 276, "no": 169, "maybe": 55}
    for example in _load(shared_data, "valid").examples:
        assert example.target == f"the answer to the question given the context is {example.answer}."


def test_malformed_records_are_reported(tmp_path: Path) -> None:
    raw = tmp_path / "PubMedQA" / "raw"
    raw.mkdir(parents=True)
    good = {"QUESTION": "q?", "CONTEXTS": ["a\n b", "c"], "LONG_ANSWER": "l", "final_decision": "no"}
    records = {str(i): good for i in range(20)}
    records |= {"bad1": dict(good, final_decision="perhaps"), "bad2": dict(good, CONTEXTS="a"), "bad3": "x"}
    (raw / "ori_pqal.json").write_text(json.dumps(records))
    result = _load(tmp_path, "test")
    assert len(result.examples) == 10 and result.examples[0].source == "question: q? context: a b c "
    assert [(s.record_id, s.reason) for s in result.skipped] == [
        ("bad1", "final_decision 'perhaps' is not one of yes, no, maybe"),
        ("bad2", "field 'CONTEXTS' is missing or not a list of strings"),
        ("bad3", "record is str, expected object"),
    ]


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"PubMedQA/raw/ori_pqal\.json"):
        _load(tmp_path, "train")
