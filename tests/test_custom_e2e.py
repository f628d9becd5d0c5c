"""``train.py task=custom`` end to end: a tiny decoder (GPT-2) and a tiny encoder-decoder (T5) each
memorise the hand-written brat corpus and its ``bigbio_kb`` twin (``debug=overfit``) to F1 = 1.0, in a
multirun over the two corpora whose report has one row per corpus; a brat run writes its predictions
back in brat."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from family_models import family_model_dir
from project_commands import run_project

from biogpt.data.tasks import load_task_split, make_task_settings

CORPORA = Path(__file__).resolve().parent / "corpora" / "custom"
BRAT, BIGBIO = CORPORA / "brat" / "train", CORPORA / "bigbio" / "train.jsonl"


@pytest.fixture(scope="module")
def backbones(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Path]:
    """Tiny GPT-2 and T5 model directories; T5's vocabulary is learned from the corpora's examples."""
    root = tmp_path_factory.mktemp("backbones")
    texts = []
    for corpus in (BRAT, BIGBIO):
        config = make_task_settings("custom", kind="relation", train=str(corpus), valid=str(corpus))
        texts += [text for e in load_task_split(config, "valid").examples for text in (e.source, e.target)]
    return {
        "gpt2": family_model_dir("gpt2", root / "gpt2", shared_data, width=64),
        "t5": family_model_dir("t5", root / "t5", shared_data, texts=texts * 20, width=64, vocab_size=300),
    }


@pytest.mark.parametrize(
    ("family", "options"),
    [
        ("gpt2", ["prompt=soft", "prompt.length=3"]),
        ("t5", ["prompt=hard", "prompt.text='relations:'"]),
    ],
)
def test_a_tiny_backbone_memorises_a_brat_and_a_bigbio_corpus(
    family: str,
    options: list[str],
    backbones: dict[str, Path],
    tmp_path: Path,
    shared_data: Path,
    token_cache: Path,
) -> None:
    sweep = tmp_path / "sweep"
    run_project(
        [
            "train.py", "-m", f"data_dir={shared_data}", f"data.cache_dir={token_cache}",
            "task=custom", "task.kind=relation", f"task.train={BRAT},{BIGBIO}",
            "task.valid=${task.train}", "task.test=${task.train}", "task.max_source_positions=64",
            "debug=overfit", "data.train_shots=3", f"model.init={backbones[family]}", *options,
            "checkpoint.every_n_updates=null", "logger={}", "trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false", f"hydra.sweep.dir={sweep}",
        ]
    )  # fmt: skip
    jobs = {}
    for overrides in sweep.rglob(".hydra/overrides.yaml"):
        job = overrides.parent.parent
        jobs["brat" if str(BRAT) in overrides.read_text() else "bigbio"] = job
    assert sorted(jobs) == ["bigbio", "brat"]
    for corpus, job in jobs.items():
        metrics = json.loads((job / "metrics.json").read_text())
        assert metrics["examples"] == 3 and metrics["parse_failures"] == 0
        assert metrics["metrics"]["f1"] == 1.0, (corpus, (job / "predictions.jsonl").read_text()[:2000])
        assert metrics["metrics"]["macro_f1"] == 1.0 and metrics["metrics"]["MECHANISM/f1"] == 1.0
    # brat predictions come back as brat, with the gold relations; BigBIO has no annotation tool to open.
    # "Levodopa ... tablets" is discontinuous, in no text as one string: only d3's other relation is written.
    assert (jobs["brat"] / "predictions" / "d3.ann").read_text().count("\tEFFECT ") == 1
    assert not (jobs["bigbio"] / "predictions").exists()
    run_project(["-m", "biogpt.report", str(sweep)])
    with (sweep / "report.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["task.train"] for row in rows) == sorted([str(BRAT), str(BIGBIO)])
    assert all(float(row["EFFECT/f1_mean"]) == 1.0 for row in rows)  # the report has the per-type scores
