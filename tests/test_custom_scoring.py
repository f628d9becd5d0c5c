"""``task=custom`` scoring on the hand-written brat corpus: the corrected relation scoring with per-type
P/R/F1 and macro F1, symmetric types and ``eval.match=lower``; the predictions written back in brat;
classification and QA scores in HoC's and PubMedQA's reading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biogpt.data.custom.brat import read_brat_document
from biogpt.data.tasks import CustomTaskSettings, make_task_settings
from biogpt.evaluation.protocol import EvalSettings, score_and_write
from biogpt.evaluation.scoring import score_predictions

CORPORA = Path(__file__).resolve().parent / "corpora" / "custom"
BRAT = CORPORA / "brat" / "train"
GENERATIONS = [
    # d1: one right (a concept's other mention name), the same again (redundant), one wrong
    "the interaction between aspirin and warfarin is effect; the interaction between Aspirin and warfarin is "
    "effect; the interaction between warfarin and ibuprofen is advise.",
    "there are no relations.",  # d2: right, and no parse failure
    # d3: a relation in the reverse order, one whose head is in no text
    "the interaction between rigidity and carbidopa tablets is effect; "
    "the interaction between paracetamol and rigidity is effect.",
]


def brat_task(**fields: object) -> CustomTaskSettings:
    config = make_task_settings("custom", kind="relation", train=str(BRAT), test=str(BRAT), **fields)
    assert isinstance(config, CustomTaskSettings)
    return config


def test_corrected_counts_per_type_and_macro_f1() -> None:
    scores = score_predictions(brat_task(), GENERATIONS)
    m = scores.metrics
    assert (m["tp"], m["fp"], m["fn"], m["redundant"]) == (1, 3, 4, 1)
    assert (m["precision"], m["recall"]) == (1 / 4, 1 / 5)
    assert (m["EFFECT/precision"], m["EFFECT/recall"]) == (1 / 3, 1 / 3)
    assert (m["ADVISE/precision"], m["ADVISE/recall"], m["MECHANISM/recall"]) == (0, 0, 0)
    assert m["macro_f1"] == pytest.approx((1 / 3) / 3)
    assert scores.parse_failures == 0


def test_symmetric_types_match_in_either_order() -> None:
    m = score_predictions(brat_task(symmetric=["EFFECT"]), GENERATIONS).metrics
    assert (m["tp"], m["fp"], m["fn"]) == (2, 2, 3)
    assert (m["EFFECT/precision"], m["EFFECT/recall"]) == (2 / 3, 2 / 3)


def test_lower_match_folds_case_and_spaces() -> None:
    shouting = ["the interaction between ASPIRIN and  warfarin is effect."] + ["there are no relations."] * 2
    assert score_predictions(brat_task(), shouting).metrics["tp"] == 0
    assert score_predictions(brat_task(match="lower"), shouting).metrics["tp"] == 1


def test_predictions_written_back_in_brat(tmp_path: Path) -> None:
    score_and_write(brat_task(), GENERATIONS, EvalSettings(split="test"), None, tmp_path)
    out = tmp_path / "predictions"
    assert (out / "d1.ann").read_text().splitlines() == [
        "T1\tPredicted 0 7\tAspirin",
        "T2\tPredicted 12 20\twarfarin",
        "T3\tPredicted 80 89\tibuprofen",
        "R1\tEFFECT Arg1:T1 Arg2:T2",
        "R2\tEFFECT Arg1:T1 Arg2:T2",
        "R3\tADVISE Arg1:T2 Arg2:T3",
    ]
    assert (out / "d1.txt").read_text() == (BRAT / "d1.txt").read_text()
    document, _ = read_brat_document(out / "d3.ann")  # what brat opens, our reader reads
    assert [e.text for e in document.entities] == ["carbidopa tablets", "rigidity"]
    assert [(r.type, r.head, r.tail) for r in document.relations] == [("EFFECT", "T2", "T1")]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["arguments_not_found"] == [{"id": "d3", "argument": "paracetamol"}]
    assert (summary["documents"], summary["relations"]) == (3, 4)


def test_classification_scores_per_label(tmp_path: Path) -> None:
    config = make_task_settings(
        "custom",
        kind="classification",
        train=str(CORPORA / "jsonl" / "classes.jsonl"),
        test=str(CORPORA / "jsonl" / "classes.jsonl"),
    )
    said = [
        "the type of this document is resisting cell death.",
        "the type of this document is inducing angiogenesis.",  # one of two labels
        "no lead at all",  # a parse failure: predicts nothing
    ]
    scores = score_predictions(config, said)
    m = scores.metrics
    assert (m["precision"], m["recall"], m["accuracy"]) == (1.0, 0.5, 1 / 3)
    assert (m["empty/recall"], m["inducing angiogenesis/f1"]) == (0.0, 1.0)
    assert m["macro_f1"] == pytest.approx((1 + 1 + 0 + 0) / 4)
    assert scores.parse_failures == 1


def test_free_text_qa_is_exact_match_and_choices_close_the_set() -> None:
    path = str(CORPORA / "jsonl" / "questions.jsonl")
    free = make_task_settings("custom", kind="qa", train=path, test=path)
    said = [
        "the answer to the question given the context is Yes.",
        "the answer to the question given the context is no.",
    ]
    assert score_predictions(free, said).metrics == {"exact_match": 0.5}
    lower = make_task_settings("custom", kind="qa", train=path, test=path, match="lower")
    assert score_predictions(lower, said).metrics == {"exact_match": 1.0}
    closed = make_task_settings(
        "custom",
        kind="qa",
        train=str(CORPORA / "bigbio" / "questions.jsonl"),
        test=str(CORPORA / "bigbio" / "questions.jsonl"),
    )
    m = score_predictions(closed, said).metrics
    assert m["accuracy"] == 0.5 and m["macro_f1"] == pytest.approx((0 + 1 + 0) / 3)  # yes, no, maybe


def test_training_leaves_over_length_examples_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, biogpt_vocab: Path
) -> None:
    from biogpt.data.datamodule import DataSettings, TaskDataModule
    from biogpt.prompts import LayoutSettings, build_layout
    from biogpt.tokenizer import BioGPTTokenizer

    tokenizer = BioGPTTokenizer.from_pretrained(str(biogpt_vocab))
    # d1's source is 18 BioGPT tokens, the others' 5 and 10.
    layout = build_layout(LayoutSettings(max_source_positions=16, max_positions=64), tokenizer, ())
    module = TaskDataModule(brat_task(valid=str(BRAT)), DataSettings(cache_dir=tmp_path))
    module.connect(tokenizer, layout)
    with caplog.at_level("WARNING"):
        assert module.split("train").ids == ["d2", "d3"]
    assert "1 training examples over the model's positions left out" in caplog.text and ": d1" in caplog.text
    module.connect(
        tokenizer, build_layout(LayoutSettings(max_source_positions=32, max_positions=64), tokenizer, ())
    )
    assert module.split("train").ids == ["d1", "d2", "d3"]


def test_evaluation_flags_over_length_examples(tmp_path: Path) -> None:
    score_and_write(brat_task(), GENERATIONS, EvalSettings(split="test"), None, tmp_path, over_length={"d1"})
    records = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert [r["over_length"] for r in records] == [True, False, False]


def test_an_edited_corpus_is_tokenized_anew(tmp_path: Path, biogpt_vocab: Path) -> None:
    from biogpt.data.tokenized import tokenized_split
    from biogpt.tokenizer import BioGPTTokenizer

    tokenizer = BioGPTTokenizer.from_pretrained(str(biogpt_vocab))
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "a", "text": "Aspirin works.", "label": "yes"}\n')
    config = make_task_settings("custom", kind="classification", train=str(corpus), test=str(corpus))
    assert tokenized_split(config, "test", tokenizer, tmp_path / "cache")["source"] == ["Aspirin works."]
    corpus.write_text('{"id": "a", "text": "Aspirin fails.", "label": "no"}\n')
    assert tokenized_split(config, "test", tokenizer, tmp_path / "cache")["source"] == ["Aspirin fails."]
