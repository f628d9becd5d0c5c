"""``score_predictions`` on the real test sets: gold targets, perturbations, release files, an oracle.

The oracle below is a transcription, written from reading them, of the release's postprocess.py and
hard_match_evaluation.py scripts (examples/RE-DTI, RE-DDI, RE-BC5CDR, QA-PubMedQA, DC-HoC of
microsoft/BioGPT) and of the CDR kit's relation comparison (distinct (pmid, chemical, disease)
triples). It reads gold labels from the raw release files, not from the project's examples, and
parses generations with the release's own regular expressions, so it shares no code path with
``biogpt.evaluation`` or ``biogpt.data.formats``; its figures must equal ours exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from biogpt.data.formats import Triplet, get_format
from biogpt.data.tasks import Example, load_task_split, make_task_settings
from biogpt.evaluation import Scores, score_predictions, write_scores

# ---------------------------------------------------------------------------------------------------
# Oracle: the release's scripts, transcribed.

_PREFIXES = ["(learned[0-9]+ )+", "we can conclude that", "we have that", "in conclusion,"]
_BC5CDR_PREFIXES = ["(learned[0-9]+ )+", "in conclusion ,", "we can conclude that", "we have that"]
_ROMAN = {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV", "5": "V"}
_ROMAN.update({"6": "VI", "7": "VII", "8": "VIII", "9": "IX"})


def _release_strip(line: str, prefixes: list[str]) -> str:
    e = line.strip()
    if len(e) > 0 and e[-1] == ".":
        e = e[:-1]
    for p in prefixes:
        if re.search(p, e) is not None:
            return re.split(p, e)[-1].strip()
    return e


def _oracle_dti_postprocess(generations: Sequence[str]) -> tuple[list[str], int]:
    lines, failed = [], 0
    for generation in generations:
        found = []
        for sentence in re.split(r"; ", _release_strip(generation, _PREFIXES)):
            m = re.match(r"the interaction between (.*) and (.*) is (.*)", sentence)
            if m is not None:
                found.append((m.group(1).strip(), m.group(3).strip(), m.group(2).strip()))
        if not found:
            found = [("failed", "failed", "failed")]
            failed += 1
        pred = [{"subject": s, "relation": r, "object": o} for s, r, o in found]
        lines.append(
            json.dumps({"triple_list_gold": [], "triple_list_pred": pred, "new": [], "lack": [], "id": [0]})
        )
    return lines, failed


def _oracle_normalize(s: str) -> str:
    s = s.strip()
    if len(s) > 2 and s[-1].isnumeric() and not s[-2].isnumeric() and s[-1] in _ROMAN:
        s = s[:-1] + _ROMAN[s[-1]]
    s = s.replace("-type", "")
    return re.sub("[^a-zA-Z0-9]+", "", s)


def _oracle_cut(s: str, keep_abbreviation: bool) -> str:
    s = s.strip()
    if "(" in s and s[-1] == ")":
        s = s[s.rfind("(") + 1 : -1] if keep_abbreviation else s[: s.rfind("(")]
    return _oracle_normalize(s.strip())


def _oracle_best(pred: set, gold: set, metric: Callable[[set, set], float]) -> float:
    scores = []
    for keep in (True, False):
        p = {tuple(_oracle_cut(x, keep) for x in t) for t in pred}
        g = {tuple(_oracle_cut(x, keep) for x in t) for t in gold}
        scores.append(metric(p, g))
    return max(scores)


def _oracle_precision(p: set, g: set) -> float:
    return int(p == g) if len(p) == 0 else len(p & g) / len(p)


def _oracle_recall(p: set, g: set) -> float:
    return int(p == g) if len(g) == 0 else len(p & g) / len(g)


def _oracle_f1(p: float, r: float) -> float:
    return 0 if p + r == 0 else 2 * p * r / (p + r)


def _oracle_hard_match(extracted: list[str], golden: dict[str, Any], pmids: list[str]) -> dict[str, float]:
    ps, rs, fs = [], [], []
    all_pred, all_gold = [], []
    for line, pmid in zip(extracted, pmids, strict=True):
        pred_list = json.loads(line)["triple_list_pred"]
        pred = set()
        if pred_list and pred_list[0]["subject"] != "failed":
            for tp in pred_list:
                pred.add(
                    tuple(tp[k].strip().lower().replace(" ", "") for k in ("subject", "object", "relation"))
                )
        gold = set()
        for tp in golden[pmid]["triples"] or []:
            gold.add(tuple(tp[k].strip().lower().replace(" ", "") for k in ("drug", "target", "interaction")))
        ps.append(_oracle_best(pred, gold, _oracle_precision))
        rs.append(_oracle_best(pred, gold, _oracle_recall))
        fs.append(_oracle_f1(ps[-1], rs[-1]))
        all_pred.extend(pred)
        all_gold.extend(gold)
    onto_p = _oracle_best(set(all_pred), set(all_gold), _oracle_precision)
    onto_r = _oracle_best(set(all_pred), set(all_gold), _oracle_recall)
    return {
        "precision": sum(ps) / len(ps),
        "recall": sum(rs) / len(rs),
        "f1": sum(fs) / len(fs),
        "f1_of_means": _oracle_f1(sum(ps) / len(ps), sum(rs) / len(rs)),
        "ontology_precision": onto_p,
        "ontology_recall": onto_r,
        "ontology_f1": _oracle_f1(onto_p, onto_r),
    }


def _oracle_bc5cdr(
    generations: Sequence[str], pmids: list[str], ent2id: dict[str, dict[str, str]], gold_file: Path
) -> tuple[list[str], int, dict[str, float]]:
    lines, failed = [], 0
    for i, generation in enumerate(generations):
        found = []
        for sentence in re.split(r";", _release_strip(generation, _BC5CDR_PREFIXES)):
            m = re.match(r"the relation between (.*) and (.*) exists", sentence.strip())
            if m is not None:
                chemical = ent2id["chemical2id"].get(m.group(1).strip(), "-1")
                disease = ent2id["disease2id"].get(m.group(2).strip(), "-1")
                found.append(f"{pmids[i]}\tCID\t{chemical}\t{disease}\t1.0")
        failed += not found
        lines.extend(found)
    predicted = {tuple(line.split("\t")[i] for i in (0, 2, 3)) for line in lines}
    gold = set()
    for line in gold_file.read_text(encoding="utf8").splitlines():
        fields = line.split("\t")
        if len(fields) == 4 and fields[1] == "CID":
            gold.add((fields[0], fields[2], fields[3]))
    tp, fp, fn = len(predicted & gold), len(predicted - gold), len(gold - predicted)
    p, r = tp / (tp + fp), tp / (tp + fn)
    return lines, failed, {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": _oracle_f1(p, r)}


def _oracle_answers(generations: Sequence[str], lead: str) -> tuple[list[str], int]:
    answers = []
    for generation in generations:
        m = re.search(lead + "(.*)", _release_strip(generation, _PREFIXES))
        answers.append(m.group(1).strip() if m is not None else "failed")
    return answers, answers.count("failed")


def _oracle_pubmedqa(answers: list[str], gold: list[str]) -> dict[str, float]:
    f1s = []
    for label in ("yes", "no", "maybe"):
        tp = sum(1 for a, g in zip(answers, gold, strict=True) if a == g == label)
        predicted, actual = answers.count(label), gold.count(label)
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        f1s.append(_oracle_f1(p, r))
    accuracy = sum(1 for a, g in zip(answers, gold, strict=True) if a == g) / len(gold)
    return {"accuracy": accuracy, "macro_f1": sum(f1s) / 3}


_HOC_CLASSES = [
    "tumor promoting inflammation",
    "inducing angiogenesis",
    "evading growth suppressors",
    "resisting cell death",
    "cellular energetics",
    "empty",
    "genomic instability and mutation",
    "sustaining proliferative signaling",
    "avoiding immune destruction",
    "activating invasion and metastasis",
    "enabling replicative immortality",
]


def _oracle_hoc(answers: list[str], gold_lines: list[str]) -> dict[str, float]:
    def binarize(line: str) -> list[int]:
        labels = [w.strip() for w in line.strip().split("|")]
        return [int(c in labels) for c in _HOC_CLASSES]

    tp = fp = fn = 0
    for a, g in zip(answers, gold_lines, strict=True):
        for x, y in zip(binarize(a), binarize(g), strict=True):
            tp += x and y
            fp += x and not y
            fn += y and not x
    p, r = tp / (tp + fp), tp / (tp + fn)
    return {"precision": p, "recall": r, "f1": _oracle_f1(p, r)}


# ---------------------------------------------------------------------------------------------------
# Generations: gold targets and perturbations of them.


@cache
def _examples(data_dir: Path, task: str) -> list[Example]:
    return load_task_split(make_task_settings(task, data_dir=str(data_dir)), "test").examples


def _shifted(targets: list[str]) -> list[str]:
    """Every prediction one line late: example i gets example i+1's target, the last the first's."""
    return targets[1:] + targets[:1]


def _perturbed_relations(task: str, examples: list[Example]) -> list[str]:
    """Gold targets with, by position: dropped last triple, renamed head, neighbour's target, garbage,
    prompt echo, hard prompt, and a bracketed tail cut to its abbreviation (which the hard match
    accepts); every kind occurs dozens of times."""
    fmt = get_format(task, "rel-is")
    out = []
    for i, example in enumerate(examples):
        triplets = list(example.triplets)
        kind = i % 7
        if kind == 0 and len(triplets) > 1:
            out.append(fmt.render(triplets[:-1]))
        elif kind == 1:
            renamed = Triplet("renamed entity", triplets[0].relation, triplets[0].tail)
            out.append(fmt.render([renamed, *triplets[1:]]))
        elif kind == 2:
            out.append(examples[(i + 1) % len(examples)].target)
        elif kind == 3:
            out.append("no relation could be found in this text.")
        elif kind == 4:
            out.append("learned1 learned2 learned3 " + example.target)
        elif kind == 5:
            out.append("we can conclude that " + example.target)
        else:
            abbreviated = [
                Triplet(t.head, t.relation, re.sub(r".*\((.*)\)$", r"\1", t.tail)) for t in triplets
            ]
            out.append(fmt.render(abbreviated))
    return out


def _perturbed_answers(examples: list[Example], lead: str, answers: list[str], wrong: Callable[[str], str]):
    """Answers with, by position: a wrong answer, neighbour's target, garbage, an echo, and untouched."""
    out = []
    for i, (example, answer) in enumerate(zip(examples, answers, strict=True)):
        kind = i % 5
        if kind == 0:
            out.append(f"{lead} {wrong(answer)}.")
        elif kind == 1:
            out.append(examples[(i + 1) % len(examples)].target)
        elif kind == 2:
            out.append("the model rambled without an answer.")
        elif kind == 3:
            out.append("learned1 learned2 " + example.target)
        else:
            out.append(example.target)
    return out


def _garbage_lines(count: int, period: int, position: int, perturbation: str) -> int:
    """How many of ``count`` generations a perturbation replaced by an unparseable line."""
    return len(range(position, count, period)) if perturbation == "mixed" else 0


def _score(shared_data: Path, task: str, generations: list[str]) -> Scores:
    return score_predictions(make_task_settings(task, data_dir=str(shared_data)), generations)


def _raw_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf8"))


# ---------------------------------------------------------------------------------------------------
# Gold targets scored as predictions: the official figures of a perfect model.


def test_gold_targets_bc5cdr(shared_data: Path) -> None:
    """Not 1.0, as the official pipeline gives: 21 of the 1,066 gold pairs do not survive names -> ids.

    The split-wide test.entities.json maps some names to another document's id ("skin reactions",
    "parkinson's disease", "renal impairment") or to "-1", and the greedy "(.*) and (.*)" splits
    diseases containing " and " ("tonic and clonic seizure") at the wrong place.
    """
    examples = _examples(shared_data, "bc5cdr")
    scores = _score(shared_data, "bc5cdr", [e.target for e in examples])
    assert scores.parse_failures == 0
    assert scores.metrics == {
        "tp": 1045,
        "fp": 20,
        "fn": 21,
        "precision": 1045 / 1065,
        "recall": 1045 / 1066,
        "f1": pytest.approx(0.980760206475833, abs=1e-15),
    }


def test_gold_targets_kd_dti(shared_data: Path) -> None:
    """2 of 1,159 documents score 0: their target's name contains " and ", which the greedy pattern
    splits at the wrong place ("signal transducer and activator of transcription 3 (stat3)")."""
    examples = _examples(shared_data, "kd-dti")
    scores = _score(shared_data, "kd-dti", [e.target for e in examples])
    failed = [r["id"] for r in scores.records if r["f1"] < 1]
    assert (scores.parse_failures, failed) == (0, ["25609248", "11316659"])
    assert scores.metrics["precision"] == scores.metrics["recall"] == scores.metrics["f1"] == 1157 / 1159
    # unique triples over the corpus: 2 wrong of 1,368 on each side
    assert scores.metrics["ontology_f1"] == pytest.approx(1366 / 1368, abs=1e-15)


@pytest.mark.parametrize("task", ["ddi", "pubmedqa", "hoc"])
def test_gold_targets_score_one(shared_data: Path, task: str) -> None:
    examples = _examples(shared_data, task)
    scores = _score(shared_data, task, [e.target for e in examples])
    assert scores.parse_failures == 0
    assert set(scores.metrics.values()) == {1.0}


@pytest.mark.parametrize(("task", "target_format"), [("ddi", "svo"), ("ddi", "structured")])
def test_gold_targets_in_other_formats(shared_data: Path, task: str, target_format: str) -> None:
    """svo parses verbs back through the relation vocabulary; both formats round-trip DDI exactly."""
    config = make_task_settings(task, data_dir=str(shared_data), target_format=target_format)
    examples = load_task_split(config, "test").examples
    scores = score_predictions(config, [e.target for e in examples])
    assert scores.parse_failures == 0
    assert set(scores.metrics.values()) == {1.0}


def test_keep_empty_documents_score_on_valid(shared_data: Path) -> None:
    """With keep_empty, DDI valid keeps its 9 relation-less documents; the empty target scores 1 on
    them (nothing predicted, nothing to find) and any triple there scores 0."""
    config = make_task_settings("ddi", data_dir=str(shared_data), keep_empty=True)
    examples = load_task_split(config, "valid").examples
    empty = [i for i, e in enumerate(examples) if not e.triplets]
    generations = [e.target for e in examples]
    assert (len(examples), len(empty)) == (50, 9)
    gold = score_predictions(config, generations, split="valid")
    assert (gold.parse_failures, set(gold.metrics.values())) == (0, {1.0})
    generations[empty[0]] = examples[0].target
    wrong = score_predictions(config, generations, split="valid")
    assert wrong.metrics["f1"] == 49 / 50
    assert json.loads(wrong.release_files["extracted.json"][empty[1]])["triple_list_pred"] == []


# ---------------------------------------------------------------------------------------------------
# Perturbations against the oracle.


@pytest.mark.parametrize("task", ["kd-dti", "ddi"])
@pytest.mark.parametrize("perturbation", ["mixed", "shifted"])
def test_hard_match_against_release_oracle(shared_data: Path, task: str, perturbation: str) -> None:
    examples = _examples(shared_data, task)
    targets = [e.target for e in examples]
    generations = _perturbed_relations(task, examples) if perturbation == "mixed" else _shifted(targets)
    scores = _score(shared_data, task, generations)
    lines, failed = _oracle_dti_postprocess(generations)
    golden = _raw_json(shared_data / task.upper() / "raw" / "test.json")
    expected = _oracle_hard_match(lines, golden, [e.id for e in examples])
    assert scores.release_files["extracted.json"] == lines
    assert scores.parse_failures == failed == _garbage_lines(len(examples), 7, 3, perturbation)
    assert scores.metrics == expected
    # neighbouring documents share (almost) no triples
    assert 0 < scores.metrics["f1"] < 0.9 if perturbation == "mixed" else scores.metrics["f1"] < 0.2


@pytest.mark.parametrize("perturbation", ["mixed", "shifted"])
def test_bc5cdr_against_release_oracle(shared_data: Path, perturbation: str) -> None:
    examples = _examples(shared_data, "bc5cdr")
    targets = [e.target for e in examples]
    generations = _perturbed_relations("bc5cdr", examples) if perturbation == "mixed" else _shifted(targets)
    scores = _score(shared_data, "bc5cdr", generations)
    raw = shared_data / "BC5CDR" / "raw"
    lines, failed, expected = _oracle_bc5cdr(
        generations,
        [e.id for e in examples],
        _raw_json(raw / "test.entities.json"),
        raw / "CDR_Data" / "CDR_TestSet.PubTator.txt",
    )
    assert scores.release_files["extracted.PubTator"] == lines
    assert scores.parse_failures == failed == _garbage_lines(len(examples), 7, 3, perturbation)
    assert scores.metrics == expected
    assert 0 < scores.metrics["f1"] < (0.9 if perturbation == "mixed" else 0.2)


_PUBMEDQA_LEAD = "the answer to the question given the context is"
_HOC_LEAD = "the type of this document is"


@pytest.mark.parametrize("perturbation", ["mixed", "shifted"])
def test_pubmedqa_against_release_oracle(shared_data: Path, perturbation: str) -> None:
    examples = _examples(shared_data, "pubmedqa")
    truth = _raw_json(shared_data / "PubMedQA" / "raw" / "test_ground_truth.json")
    gold = [truth[e.id] for e in examples]
    rotate = {"yes": "no", "no": "maybe", "maybe": "yes"}.__getitem__
    generations = (
        _perturbed_answers(examples, _PUBMEDQA_LEAD, gold, rotate)
        if perturbation == "mixed"
        else _shifted([e.target for e in examples])
    )
    scores = _score(shared_data, "pubmedqa", generations)
    answers, failed = _oracle_answers(generations, _PUBMEDQA_LEAD)
    assert scores.release_files["extracted.txt"] == answers
    assert scores.parse_failures == failed == _garbage_lines(len(examples), 5, 2, perturbation)
    assert scores.metrics == _oracle_pubmedqa(answers, gold)
    # Shifting hardly matters here: the official split lists the test questions grouped by label.
    assert 0 < scores.metrics["accuracy"] < (0.9 if perturbation == "mixed" else 1)


@pytest.mark.parametrize("perturbation", ["mixed", "shifted"])
def test_hoc_against_release_oracle(shared_data: Path, perturbation: str) -> None:
    examples = _examples(shared_data, "hoc")
    raw_lines = (shared_data / "HoC" / "raw" / "test.tsv").read_text(encoding="utf8").splitlines()
    gold = [line.strip().split("\t")[-1] for line in raw_lines if line.strip()]

    def wrong(labels: str) -> str:
        # drop the first label and add an unknown string and a second known one
        return "|".join([*labels.split("|")[1:], "no such hallmark", "cellular energetics"])

    generations = (
        _perturbed_answers(examples, _HOC_LEAD, gold, wrong)
        if perturbation == "mixed"
        else _shifted([e.target for e in examples])
    )
    scores = _score(shared_data, "hoc", generations)
    answers, failed = _oracle_answers(generations, _HOC_LEAD)
    assert scores.release_files["extracted.txt"] == answers
    assert scores.parse_failures == failed == _garbage_lines(len(examples), 5, 2, perturbation)
    assert scores.metrics == _oracle_hoc(answers, gold)
    assert 0 < scores.metrics["f1"] < 0.9


# ---------------------------------------------------------------------------------------------------
# Entry point contract and written files.


def test_count_mismatch_names_both_counts(shared_data: Path) -> None:
    targets = [e.target for e in _examples(shared_data, "ddi")]
    with pytest.raises(ValueError, match=r"190 generations for 191 ddi test examples"):
        _score(shared_data, "ddi", targets[:-1])


def test_write_scores(shared_data: Path, tmp_path: Path) -> None:
    examples = _examples(shared_data, "ddi")
    generations = [e.target for e in examples]
    generations[0] = "gibberish"
    scores = _score(shared_data, "ddi", generations)
    out = write_scores(scores, tmp_path / "run")
    summary = json.loads((out / "metrics.json").read_text(encoding="utf8"))
    assert summary == {
        "task": "ddi",
        "split": "test",
        "examples": 191,
        "parse_failures": 1,
        "metrics": scores.metrics,
    }
    assert summary["metrics"]["f1"] == pytest.approx(190 / 191)
    records = [
        json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf8").splitlines()
    ]
    assert [r["id"] for r in records] == [e.id for e in examples]
    first = records[0]
    assert (first["generated"], first["parsed"], first["parse_failed"], first["f1"]) == (
        "gibberish",
        [],
        True,
        0,
    )
    assert first["gold"] == [[t.head, t.relation, t.tail] for t in examples[0].triplets]
    extracted = (out / "extracted.json").read_text(encoding="utf8").splitlines()
    assert extracted == scores.release_files["extracted.json"]
    assert (out / "pmids.txt").read_text(encoding="utf8").splitlines() == [e.id for e in examples]
