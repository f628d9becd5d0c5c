"""The domain-specificity study end to end through ``train.py``, ``evaluate.py`` and the export.

A tiny encoder-decoder (T5) and a tiny decoder-only model (GPT-2), random and 64 wide, memorise 4 DCE
and 4 ChemProt training examples of ``experiment=study/<dataset>`` and score F1 = 1.0 on them with the
study's scoring; a miniature few-shot grid (2 backbones x 2 shot counts x 2 seeds) runs as one multirun
over two backbone presets added the way a researcher adds one (a ``model/<name>.yaml`` on Hydra's search
path, with its few-shot epochs), and its Table-1-shaped report and plot are built. The export writes the
study's (source, target) pairs, and ``evaluate.py predictions=FILE`` scores texts with the study's
procedure.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
from family_models import family_model_dir
from project_commands import run_project

from biogpt.data.tasks import load_task_split, make_task_settings


@pytest.fixture(scope="module")
def backbones(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Path]:
    """Tiny GPT-2 (the real GPT-2 vocabulary) and T5 (a vocabulary learned on the DCE and ChemProt
    training examples) model directories."""
    root = tmp_path_factory.mktemp("study-backbones")
    texts = [
        text
        for name in ("dce", "chemprot")
        for example in load_task_split(make_task_settings(name, data_dir=str(shared_data)), "train").examples
        for text in (example.source, example.target)
    ]
    return {
        "gpt2": family_model_dir("gpt2", root / "gpt2", shared_data, width=64),
        "t5": family_model_dir("t5", root / "t5", shared_data, texts=texts, width=64, vocab_size=2000),
    }


def _run(command: str, arguments: list[str], shared_data: Path, cache: Path) -> subprocess.CompletedProcess:
    return run_project(
        [
            *command.split(),
            f"data_dir={shared_data}",
            f"data.cache_dir={cache}",
            "logger={}",
            "trainer=cpu",
            "trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
            *arguments,
        ]
    )


@pytest.mark.parametrize("family", ["gpt2", "t5"])
@pytest.mark.parametrize("dataset", ["dce", "chemprot"])
def test_a_tiny_backbone_memorises_four_study_examples(
    dataset: str,
    family: str,
    backbones: dict[str, Path],
    tmp_path: Path,
    shared_data: Path,
    token_cache: Path,
) -> None:
    run = tmp_path / "run"
    _run(
        "train.py",
        [
            f"experiment=study/{dataset}",
            "debug=overfit",
            f"model.init={backbones[family]}",
            "task.max_epochs=1",  # debug=overfit sets the trainer's; the study's few-shot table has no 4
            "task.max_source_positions=96",
            f"hydra.run.dir={run}",
        ],
        shared_data,
        token_cache,
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["task"] == dataset and metrics["examples"] == 4
    assert metrics["parse_failures"] == 0
    # The run stopped because the examples were memorised, before the cap of epochs.
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["metrics"]["train/min_token_probability"] >= 0.6
    assert metrics["metrics"]["f1"] == 1.0, (run / "predictions.jsonl").read_text()[:3000]


def _preset(directory: Path, backbone: Path, family: str) -> None:
    """A backbone preset as a researcher adds one: its weights and its few-shot epochs per shot count."""
    (directory / "model").mkdir(parents=True, exist_ok=True)
    (directory / "model" / f"tiny_{family}.yaml").write_text(
        f"preset: tiny\ninit: {backbone}\ndropout: 0.0\nattention_dropout: 0.0\n"
        "study:\n  fewshot_epochs: {2: 2, 4: 3}\n  max_new_tokens: 12\n",
        encoding="utf-8",
    )


def test_a_miniature_few_shot_grid_gives_the_study_table(
    backbones: dict[str, Path], tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    presets = tmp_path / "presets"
    for family, backbone in backbones.items():
        _preset(presets, backbone, family)
    sweep = tmp_path / "sweep"
    _run(
        "train.py -m",
        [
            "experiment=study/dce",
            "model=tiny_t5,tiny_gpt2",
            "data.train_shots=2,4",
            "seed=0,1",
            "task.max_source_positions=96",
            "eval.limit=3",
            f"hydra.searchpath=[file://{presets}]",
            f"hydra.sweep.dir={sweep}",
        ],
        shared_data,
        token_cache,
    )
    jobs = sorted(sweep.glob("*/train_summary.json"))
    assert len(jobs) == 8
    updates = {json.loads(job.read_text())["updates"] for job in jobs}
    # one example per micro-batch, 32 per update: 2 or 4 examples make one update an epoch, and the
    # preset's epochs (2 for 2 shots, 3 for 4) are how many updates each job made
    assert updates == {2, 3}
    out = tmp_path / "report"
    run_project(["-m", "biogpt.report", str(sweep), "--layout", "study", "--out", str(out)])
    with (out / "study.csv").open(encoding="utf-8") as handle:
        cells = [(row["model"], row["dataset"], row["setting"], row["n"]) for row in csv.DictReader(handle)]
    assert sorted(cells) == [
        (model, "dce", setting, "2") for model in ("tiny_gpt2", "tiny_t5") for setting in ("2-shot", "4-shot")
    ]
    table = (out / "study.md").read_text(encoding="utf-8")
    assert table.count("(n=2)") == 4  # mean ± std over the two seeds in each cell
    assert (out / "study.png").stat().st_size > 0


def test_export_and_evaluate_predictions_follow_the_study(
    tmp_path: Path, shared_data: Path, token_cache: Path, backbones: dict[str, Path]
) -> None:
    """The export writes the study's pairs for an encoder-decoder; the gold targets of the test split,
    scored through ``evaluate.py predictions=FILE``, give the study's figure: F1 = 1.0 on DCE test."""
    out = tmp_path / "dce-test.jsonl"
    common = ["experiment=study/dce", f"model.init={backbones['t5']}"]
    _run("-m biogpt.data.export", [*common, "split=test", f"out={out}"], shared_data, token_cache)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    examples = load_task_split(make_task_settings("dce", data_dir=str(shared_data)), "test").examples
    assert [(r["id"], r["source"], r["target"]) for r in rows] == [
        (e.id, e.source, e.target) for e in examples
    ]
    assert rows[0]["source"].startswith("Find all instances of drugs used in combination")
    assert all(r["encoder_tokens"] == r["source_tokens"] + 1 for r in rows)  # T5: source </s>
    predictions = tmp_path / "generated.txt"
    predictions.write_text("".join(row["target"] + "\n" for row in rows), encoding="utf-8")
    run = tmp_path / "evaluation"
    _run(
        "evaluate.py",
        [*common, f"predictions={predictions}", f"hydra.run.dir={run}"],
        shared_data,
        token_cache,
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["examples"] == len(examples) and metrics["metrics"]["f1"] == 1.0
