"""BC5CDR scored on some test documents (``eval.ids`` / ``eval.limit``): gold is those documents' alone.

The kit's recall counts every gold relation of the corpus file. That is right for the whole split,
but a run that scores 4 documents (``debug=fast``) would then miss the other 496 documents' relations
and report a meaningless recall. The gold counts here are read from the real PubTator file by the
test itself, not through ``biogpt.evaluation``.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

from biogpt.data.tasks import Example, load_task_split, make_task_settings
from biogpt.evaluation import Scores, score_predictions, write_scores

# Documents whose gold targets survive names -> MeSH ids intact (6 + 8 + 6 relations), in an order
# that is neither the split's nor sorted, so the scorer must follow ``ids``.
ROUND_TRIP = ["9578276", "24753331", "35781"]
# The first 4 test documents, what ``debug=fast`` (eval.limit=4) scores. 23433219's target names one
# disease the split-wide entity map sends to another id (D011605 -> D011618): 1 of their 8 relations
# is lost however good the model, as on the full split.
FIRST_FOUR = ["8701013", "439781", "22836123", "23433219"]


@cache
def _test_examples(data_dir: Path) -> dict[str, Example]:
    config = make_task_settings("bc5cdr", data_dir=str(data_dir))
    return {example.id: example for example in load_task_split(config, "test").examples}


@cache
def _gold_relation_counts(data_dir: Path) -> Counter[str]:
    """Distinct CID relations per PMID of the official test corpus file."""
    path = data_dir / "BC5CDR" / "raw" / "CDR_Data" / "CDR_TestSet.PubTator.txt"
    relations = set()
    for line in path.read_text(encoding="utf8").splitlines():
        fields = line.split("\t")
        if len(fields) == 4 and fields[1] == "CID":
            relations.add((fields[0], fields[2], fields[3]))
    return Counter(pmid for pmid, _, _ in relations)


def _score(data_dir: Path, generations: list[str], ids: list[str] | None) -> Scores:
    return score_predictions(make_task_settings("bc5cdr", data_dir=str(data_dir)), generations, ids=ids)


def test_gold_targets_of_a_subset_score_one(shared_data: Path) -> None:
    examples = _test_examples(shared_data)
    gold = _gold_relation_counts(shared_data)
    scores = _score(shared_data, [examples[pmid].target for pmid in ROUND_TRIP], ROUND_TRIP)
    relations = sum(gold[pmid] for pmid in ROUND_TRIP)
    assert relations == 20
    assert scores.parse_failures == 0
    assert scores.metrics == {"tp": 20, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert [record["id"] for record in scores.records] == ROUND_TRIP
    assert [len(record["gold_ids"]) for record in scores.records] == [gold[pmid] for pmid in ROUND_TRIP]


def test_empty_predictions_on_a_subset_miss_only_its_relations(shared_data: Path) -> None:
    gold = _gold_relation_counts(shared_data)
    scores = _score(shared_data, [""] * len(ROUND_TRIP), ROUND_TRIP)
    assert sum(gold.values()) == 1066
    assert scores.parse_failures == len(ROUND_TRIP)
    assert scores.metrics == {"tp": 0, "fp": 0, "fn": 20, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert scores.release_files["extracted.PubTator"] == []


def test_debug_fast_documents(shared_data: Path) -> None:
    """The 4 documents eval.limit=4 picks: 8 gold relations, not the split's 1,066."""
    examples = _test_examples(shared_data)
    gold = _gold_relation_counts(shared_data)
    assert list(examples)[:4] == FIRST_FOUR
    assert [gold[pmid] for pmid in FIRST_FOUR] == [1, 1, 3, 3]
    missed = _score(shared_data, ["no relation could be found in this text."] * 4, FIRST_FOUR)
    assert (missed.metrics["tp"], missed.metrics["fp"], missed.metrics["fn"]) == (0, 0, 8)
    perfect = _score(shared_data, [examples[pmid].target for pmid in FIRST_FOUR], FIRST_FOUR)
    assert perfect.metrics == {"tp": 7, "fp": 1, "fn": 1, "precision": 7 / 8, "recall": 7 / 8, "f1": 7 / 8}
    lost = [record["id"] for record in perfect.records if record["gold_ids"] != sorted(record["parsed_ids"])]
    assert lost == ["23433219"]


def test_a_wrong_document_in_a_subset(shared_data: Path) -> None:
    """One document given another's target: its relations are missed and the other's are false
    positives under its PMID; the two correct documents still count fully."""
    examples = _test_examples(shared_data)
    generations = [examples[pmid].target for pmid in ROUND_TRIP]
    generations[0] = examples[FIRST_FOUR[2]].target
    scores = _score(shared_data, generations, ROUND_TRIP)
    assert (scores.metrics["tp"], scores.metrics["fp"], scores.metrics["fn"]) == (14, 3, 6)
    assert scores.metrics["precision"] == 14 / 17
    assert scores.metrics["recall"] == 14 / 20


def test_all_ids_equal_the_whole_split(shared_data: Path) -> None:
    """Naming every test document scores exactly as scoring the split: the kit's figures."""
    targets = [example.target for example in _test_examples(shared_data).values()]
    whole = _score(shared_data, targets, None)
    named = _score(shared_data, targets, list(_test_examples(shared_data)))
    assert whole.metrics == named.metrics
    assert (whole.metrics["tp"], whole.metrics["fp"], whole.metrics["fn"]) == (1045, 20, 21)


def test_metrics_file_counts_the_scored_documents(shared_data: Path, tmp_path: Path) -> None:
    examples = _test_examples(shared_data)
    scores = _score(shared_data, [examples[pmid].target for pmid in ROUND_TRIP], ROUND_TRIP)
    out = write_scores(scores, tmp_path / "run")
    summary = json.loads((out / "metrics.json").read_text(encoding="utf8"))
    assert (summary["task"], summary["split"], summary["examples"]) == ("bc5cdr", "test", 3)
    assert summary["metrics"]["tp"] + summary["metrics"]["fn"] == 20
    records = (out / "predictions.jsonl").read_text(encoding="utf8").splitlines()
    assert [json.loads(line)["id"] for line in records] == ROUND_TRIP
    pubtator = (out / "extracted.PubTator").read_text(encoding="utf8").splitlines()
    assert {line.split("\t")[0] for line in pubtator} == set(ROUND_TRIP)
    assert len(pubtator) == 20
