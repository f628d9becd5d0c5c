"""Metric functions of ``biogpt.evaluation`` on small synthetic cases computed by hand in the comments.

Release behaviour referenced: examples/RE-DTI/hard_match_evaluation.py (identical in RE-DDI),
examples/RE-*/postprocess.py, examples/QA-PubMedQA and examples/DC-HoC hard_match_evaluation.py of
microsoft/BioGPT, and the BioCreative V CDR kit's readme (BC5CDR_Evaluation-0.0.3/readme.txt).
"""

from __future__ import annotations

import json

import pytest

from biogpt.data.formats import ParseResult, Triplet
from biogpt.evaluation.base import precision_recall_f1
from biogpt.evaluation.bc5cdr import cid_metrics, pubtator_line
from biogpt.evaluation.classification import HOC_LABELS, accuracy_and_macro_f1, micro_f1, split_labels
from biogpt.evaluation.hard_match import (
    abbreviation_variant,
    hard_match_metrics,
    match,
    name_variant,
    normalize_name,
    predicted_keys,
    release_extracted_line,
    triple_key,
)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("type1", "typeI"),  # final digit after a letter -> upper-case roman numeral
        ("cyp3a4", "cyp3aIV"),  # the rule looks only at the last two characters
        ("5-ht2", "5htII"),  # roman first, then "-" removed
        ("abc12", "abc12"),  # two final digits: unchanged
        ("h1", "h1"),  # too short (length must exceed 2)
        ("x²1", "x1"),  # "²".isnumeric() blocks the roman rule; then "²" is not [a-zA-Z0-9]
        ("beta-type", "beta"),
        ("beta-type1", "betaI"),  # roman numeral before "-type" removal
        ("α-synuclein", "synuclein"),  # non-ASCII letters are removed too
        ("ion0", "ion0"),  # 0 maps to itself
        ("il9", "ilIX"),
    ],
)
def test_normalize_name(raw: str, normalized: str) -> None:
    assert normalize_name(raw) == normalized


def test_bracket_variants() -> None:
    # Keys are space-stripped before the variants apply, as in the release.
    assert abbreviation_variant("monoamineoxidasetypea(mao-a)") == "maoa"
    assert name_variant("monoamineoxidasetypea(mao-a)") == "monoamineoxidasetypea"
    # the last "(" opens the trailing pair; a bracket not at the end is no pair
    assert abbreviation_variant("a(b)c(dd2)") == "ddII"  # the variant is normalised afterwards
    assert name_variant("a(b)c(dd2)") == "abc"
    assert abbreviation_variant("a(b)c") == name_variant("a(b)c") == "abc"


def test_triple_key_is_drug_target_interaction_lowercased_without_spaces() -> None:
    assert triple_key(Triplet(" Aspirin X ", "Inhibitor", "COX 1")) == ("aspirinx", "cox1", "inhibitor")


def test_match_takes_the_better_variant_for_precision_and_recall_separately() -> None:
    # gold {x, a, c}; pred {a(x), c(x), e(x)} (target "t", relation "r" everywhere)
    # abbreviation variant: pred -> {x}: P = 1/1, R = 1/3
    # name variant: pred -> {a, c, e}: P = 2/3, R = 2/3
    # best: P = 1 (abbreviation), R = 2/3 (name), F1 = 2 * 1 * 2/3 / (5/3) = 0.8
    gold = {("x", "t", "r"), ("a", "t", "r"), ("c", "t", "r")}
    predicted = {("a(x)", "t", "r"), ("c(x)", "t", "r"), ("e(x)", "t", "r")}
    score = match(predicted, gold)
    assert (score.precision, score.recall) == (1.0, pytest.approx(2 / 3))
    assert score.f1 == pytest.approx(0.8)


def test_match_abbreviation_counts_as_correct() -> None:
    # gold {(d1, prostaglandinsynthase(ptgs), inhibitor), (d2, b, agonist)}
    # pred {(d1, ptgs, inhibitor), (d2, x, agonist), (d3, y, agonist)}
    # abbreviation: 1 of 3 predicted correct, 1 of 2 gold found; name: 0 correct
    # P = 1/3, R = 1/2, F1 = (2 * 1/6) / (5/6) = 0.4
    gold = {("d1", "prostaglandinsynthase(ptgs)", "inhibitor"), ("d2", "b", "agonist")}
    predicted = {("d1", "ptgs", "inhibitor"), ("d2", "x", "agonist"), ("d3", "y", "agonist")}
    score = match(predicted, gold)
    assert (score.precision, score.recall, score.f1) == (pytest.approx(1 / 3), 0.5, pytest.approx(0.4))


@pytest.mark.parametrize(
    ("predicted", "gold", "expected"),
    [
        (set(), {("a", "t", "r")}, (0.0, 0.0)),  # nothing predicted, something to find
        (set(), set(), (1.0, 1.0)),  # nothing predicted, nothing to find
        ({("a", "t", "r")}, set(), (0.0, 0.0)),  # P = 0/1; R = int(pred == gold) = 0
    ],
)
def test_match_empty_sets(predicted: set, gold: set, expected: tuple[float, float]) -> None:
    score = match(predicted, gold)
    assert (score.precision, score.recall) == expected


def test_failed_marker_empties_a_prediction() -> None:
    marker = Triplet("failed", "failed", "failed")
    assert predicted_keys([marker]) == set()
    assert predicted_keys([marker, Triplet("a", "r", "t")]) == set()  # only the first subject is checked
    later = predicted_keys([Triplet("a", "r", "t"), marker])
    assert later == {("a", "t", "r"), ("failed", "failed", "failed")}


def test_hard_match_metrics_means_and_ontology() -> None:
    a, b, c, d = (("a", "t", "r"), ("b", "t", "r"), ("c", "t", "r"), ("d", "t", "r"))
    # doc1 gold {a, b} pred {a}: P 1, R 1/2, F1 2/3
    # doc2 gold {c} pred {c, d}: P 1/2, R 1, F1 2/3
    # doc3 gold {a} pred {}: P 0, R 0, F1 0
    # means: P = 1.5/3 = 0.5, R = 0.5, F1 = (4/3)/3 = 4/9; F1 of the means = 0.5
    # ontology: pred {a, c, d}, gold {a, b, c}: 2 correct -> P = R = F1 = 2/3
    metrics, documents = hard_match_metrics([{a}, {c, d}, set()], [{a, b}, {c}, {a}])
    assert [(s.precision, s.recall) for s in documents] == [(1.0, 0.5), (0.5, 1.0), (0.0, 0.0)]
    assert metrics == pytest.approx(
        {
            "precision": 0.5,
            "recall": 0.5,
            "f1": 4 / 9,
            "f1_of_means": 0.5,
            "ontology_precision": 2 / 3,
            "ontology_recall": 2 / 3,
            "ontology_f1": 2 / 3,
        }
    )


def test_hard_match_metrics_rejects_misaligned_or_empty_input() -> None:
    with pytest.raises(ValueError):
        hard_match_metrics([set()], [set(), set()])
    with pytest.raises(ValueError, match="no documents"):
        hard_match_metrics([], [])


def test_release_extracted_line_layout() -> None:
    parsed = ParseResult((Triplet("aspirin", "inhibitor", "cox (ptgs)"),))
    assert release_extracted_line(parsed) == (
        '{"triple_list_gold": [], "triple_list_pred": [{"subject": "aspirin", "relation": "inhibitor", '
        '"object": "cox (ptgs)"}], "new": [], "lack": [], "id": [0]}'
    )
    failed = json.loads(release_extracted_line(ParseResult((), ("garbage",))))
    assert failed["triple_list_pred"] == [{"subject": "failed", "relation": "failed", "object": "failed"}]
    # an empty target (keep_empty) is no failure: an empty prediction list
    assert json.loads(release_extracted_line(ParseResult(())))["triple_list_pred"] == []


def test_cid_metrics_distinct_pairs_and_unknown_ids() -> None:
    gold = {("1", "C1", "D1"), ("1", "C2", "D1"), ("2", "C1", "D2")}
    # predicted twice -> once; "-1" id -> false positive; a document not in gold -> false positive
    predicted = [("1", "C1", "D1"), ("1", "C1", "D1"), ("1", "-1", "D1"), ("3", "C9", "D9")]
    # distinct predictions {(1,C1,D1), (1,-1,D1), (3,C9,D9)}: TP 1, FP 2, FN 2 -> P = R = F = 1/3
    metrics = cid_metrics(predicted, gold)
    third = pytest.approx(1 / 3)
    assert metrics == {"tp": 1, "fp": 2, "fn": 2, "precision": third, "recall": third, "f1": third}
    assert cid_metrics([], gold) == {"tp": 0, "fp": 0, "fn": 3, "precision": 0.0, "recall": 0.0, "f1": 0.0}


@pytest.mark.parametrize(
    ("tp", "fp", "fn", "printed"),
    [
        # the kit readme's relation example and its mention example, figures as the kit printed them
        (90, 533, 33, (0.14446227929373998, 0.7317073170731707, 0.24128686327077747)),
        (303, 105, 121, (0.7426470588235294, 0.714622641509434, 0.7283653846153848)),
        (150, 56, 64, (0.7281553398058253, 0.7009345794392523, 0.7142857142857142)),
    ],
)
def test_precision_recall_f1_reproduces_the_cdr_kit_bit_for_bit(
    tp: int, fp: int, fn: int, printed: tuple[float, float, float]
) -> None:
    # 2*TP/(2*TP+FP+FN) would print 0.7283653846153846 and 0.7142857142857143 for the last two rows
    result = precision_recall_f1(tp, fp, fn)
    assert (result["precision"], result["recall"], result["f1"]) == printed


def test_pubtator_line_layout() -> None:
    assert pubtator_line(("8701013", "D015738", "-1")) == "8701013\tCID\tD015738\t-1\t1.0"


def test_accuracy_and_macro_f1() -> None:
    gold = ["yes", "yes", "no", "maybe", "no"]
    predicted = ["yes", "no", "no", None, "yes."]
    # accuracy: positions 0 and 2 -> 2/5
    # yes: TP 1, FP 0 ("yes." is not "yes"), FN 1 -> P 1, R 1/2, F1 2/3
    # no: TP 1 (2), FP 1 (1), FN 1 (4) -> F1 1/2
    # maybe: TP 0, FN 1 -> F1 0
    # macro F1 = (2/3 + 1/2 + 0) / 3 = 7/18
    assert accuracy_and_macro_f1(predicted, gold, ("yes", "no", "maybe")) == pytest.approx(
        {"accuracy": 0.4, "macro_f1": 7 / 18}
    )


def test_micro_f1_ignores_unknown_labels_and_repeats() -> None:
    angiogenesis, death, empty = "inducing angiogenesis", "resisting cell death", "empty"
    gold = [[angiogenesis], [angiogenesis, death], [empty]]
    predicted = [[angiogenesis, "not a hallmark"], [death, death], []]
    # TP: row 1 angiogenesis, row 2 death -> 2; FP: unknown string ignored, repeat counted once -> 0
    # FN: row 2 angiogenesis, row 3 empty -> 2; P = 1, R = 2/4, F1 = 2/3
    expected = {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3)}
    assert micro_f1(predicted, gold, HOC_LABELS) == expected


def test_split_labels() -> None:
    assert split_labels("empty | inducing angiogenesis") == ["empty", "inducing angiogenesis"]
    assert split_labels("") == [""]
    assert split_labels(None) == []
    assert len(HOC_LABELS) == len(set(HOC_LABELS)) == 11
