"""The extraction engine against ``evaluate.py``: same generated texts, same parsing, one reading path."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from extraction_models import FINE_TUNED_SOURCE_POSITIONS, common_options
from project_commands import run_project

from biogpt.artifacts.task_record import TASK_FILE, read_task_record
from biogpt.data.tasks import load_task_split, make_task_settings
from biogpt.errors import ConfigError
from biogpt.evaluation.parsing import generation_reader
from biogpt.evaluation.scoring import score_predictions
from biogpt.extraction import ExtractionSettings, Extractor
from biogpt.extraction.engine import argument_span
from biogpt.prompts import LayoutSettings


def _evaluate(shared_data: Path, token_cache: Path, final: Path, ids: list[str], out: Path) -> list[dict]:
    run_project(
        [
            "evaluate.py",
            *common_options(shared_data, token_cache),
            f"ckpt={final}",
            f"eval.ids=[{','.join(ids)}]",
            f"hydra.run.dir={out}",
        ]
    )
    return [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]


def test_extraction_equals_evaluate_py_on_a_task_split(
    tmp_path: Path, shared_data: Path, token_cache: Path, fine_tuned_ddi: Path
) -> None:
    """The fine-tuned model's own record of its task, applied to the test split's texts, generates and
    parses exactly what ``evaluate.py`` does (4 memorised documents and 12 others)."""
    trained = json.loads((fine_tuned_ddi.parent / "train_summary.json").read_text())["train_ids"]
    examples = load_task_split(make_task_settings("ddi", data_dir=str(shared_data)), "test").examples
    others = [e.id for e in examples if e.id not in trained][:12]
    ids = [*trained, *others]
    records = _evaluate(shared_data, token_cache, fine_tuned_ddi, ids, tmp_path / "eval")
    texts = {e.id: e.source for e in examples}

    extractor = Extractor.load(ExtractionSettings(ckpt=str(fine_tuned_ddi), vocab_root=shared_data / "vocab"))
    assert (
        extractor.describe()["task"] == "ddi" and extractor.max_source_tokens == FINE_TUNED_SOURCE_POSITIONS
    )
    extractions = extractor.extract([texts[i] for i in ids], ids)

    assert [x.id for x in extractions] == [r["id"] for r in records] == ids
    assert [x.generated for x in extractions] == [r["generated"] for r in records]
    assert [[[r.head, r.type, r.tail] for r in x.relations] for x in extractions] == [
        r["parsed"] for r in records
    ]
    assert [x.parse_failed for x in extractions] == [r["parse_failed"] for r in records]
    assert all(x.relations for x in extractions[: len(trained)])  # memorised: real relations
    tokenizer = extractor.generator.tokenizer
    for x in extractions:
        text = texts[x.id]
        assert x.truncated == (len(tokenizer.encode(text)) > FINE_TUNED_SOURCE_POSITIONS)
        assert x.generated_tokens >= 1
        for relation in x.relations:
            for name, span in ((relation.head, relation.head_span), (relation.tail, relation.tail_span)):
                if name.lower() in text.lower():
                    assert span is not None and text[span[0] : span[1]].lower() == name.lower()
                    assert text.lower().find(name.lower()) == span[0]
                else:
                    assert span is None


def test_fine_tuning_records_the_task_and_overrides_win(shared_data: Path, fine_tuned_ddi: Path) -> None:
    record = read_task_record(fine_tuned_ddi)
    assert record is not None
    assert record.task == make_task_settings("ddi", data_dir=str(shared_data))
    assert record.layout.max_source_positions == FINE_TUNED_SOURCE_POSITIONS
    trained_on = load_task_split(record.task, "test").examples  # the run trained on the test split
    assert record.relation_types == tuple(sorted({t.relation for e in trained_on for t in e.triplets}))

    settings = ExtractionSettings(
        ckpt=str(fine_tuned_ddi), vocab_root=shared_data / "vocab", target_format="svo"
    )
    extractor = Extractor.load(settings)
    assert extractor.task.task.target_format == "svo"
    assert extractor.task.relation_types == record.relation_types
    assert extractor.describe()["target_format"] == "svo"


def test_a_model_without_a_task_record_needs_a_task(
    tmp_path: Path, shared_data: Path, fine_tuned_ddi: Path
) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for path in fine_tuned_ddi.iterdir():
        if path.name != TASK_FILE:
            (bare / path.name).write_bytes(path.read_bytes())
    with pytest.raises(ConfigError, match="records no task"):
        Extractor.load(ExtractionSettings(ckpt=str(bare), vocab_root=shared_data / "vocab"))
    task = make_task_settings("ddi", data_dir=str(shared_data))
    layout = LayoutSettings(max_source_positions=FINE_TUNED_SOURCE_POSITIONS)
    settings = ExtractionSettings(ckpt=str(bare), vocab_root=shared_data / "vocab", task=task, layout=layout)
    extractor = Extractor.load(settings)
    assert extractor.task.task == task and extractor.max_source_tokens == FINE_TUNED_SOURCE_POSITIONS
    with pytest.raises(ConfigError, match="question"):
        Extractor.load(
            ExtractionSettings(
                ckpt=str(bare),
                vocab_root=shared_data / "vocab",
                task=make_task_settings("pubmedqa", data_dir=str(shared_data)),
                layout=layout,
            )
        )


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("ddi", {"target_format": "svo"}),
        ("kd-dti", {"target_format": "is-of"}),
        ("hoc", {}),
        ("chemprot", {}),
    ],
)
def test_the_reading_without_gold_is_the_scorers_reading(shared_data: Path, name: str, options: dict) -> None:
    """Gold targets (and mangled ones) read by :func:`generation_reader` equal the scorer's parsed
    records, failures included: one parsing path for evaluation and extraction."""
    task = make_task_settings(name, data_dir=str(shared_data), **options)
    examples = load_task_split(task, "test").examples[:40]
    generations = [
        e.target if i % 3 else e.target[: len(e.target) // 2] + " x" for i, e in enumerate(examples)
    ]
    generations[1] = "garbage"
    scores = score_predictions(task, generations, split="test", ids=[e.id for e in examples])
    types = sorted({t.relation for e in examples for t in e.triplets})
    read = generation_reader(task, types)
    for record, generated in zip(scores.records, generations, strict=True):
        reading = read(generated)
        assert reading.failed == record["parse_failed"]
        if name == "hoc":
            assert (reading.label is None) == (record["parsed"] is None)
            if reading.label is not None:
                assert [label.strip() for label in reading.label.split("|")] == record["parsed"]
        elif name == "chemprot":
            assert [[r.head, r.relation, r.tail] for r in reading.relations] == [
                [row["arguments"][0][0], row["label"], row["arguments"][1][0]] for row in record["parsed"]
            ]
        else:
            assert [[r.head, r.relation, r.tail] for r in reading.relations] == record["parsed"]
    assert sum(read(g).failed for g in generations) == scores.parse_failures >= 1


def test_argument_spans_are_case_insensitive_first_occurrences() -> None:
    text = "Aspirin and warfarin; aspirin again."
    assert argument_span(text, "ASPIRIN") == (0, 7)
    assert argument_span(text, "warfarin") == (12, 20)
    assert argument_span(text, "heparin") is None and argument_span(text, "") is None
    assert argument_span("a (b) c", "(b)") == (2, 5)


def test_settings_refuse_bad_decoding_values(shared_data: Path) -> None:
    base = ExtractionSettings(ckpt="x", vocab_root=shared_data / "vocab")
    with pytest.raises(ValueError, match="eval.dtype"):
        replace(base, dtype="fp8")
    with pytest.raises(ValueError, match="eval.batch_size"):
        replace(base, batch_size=0)
