"""The paper's sweeps in miniature through Hydra's multirun, each ending in ``biogpt.report``'s table.

Each sweep runs the README's command with a tiny model, a 2x2 grid and a few updates on the real
KD-DTI release (whose train split is not available offline: the valid split stands in), then checks
that every job wrote its ``metrics.json`` and that the report built its table and plot.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from project_commands import run_project

# What turns the paper's KD-DTI setting into seconds of CPU work per job.
MINIATURE = [
    "experiment=paper/kd_dti",
    "debug=fast",  # the tiny model, 4 updates
    "model.init=null",
    "trainer=cpu",
    "trainer.precision=32-true",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "data.splits.train=valid",
    "task.max_source_positions=64",
    "eval.limit=2",
    "eval.generation.max_new_tokens=8",
]


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """No wandb account, settings or network: what a fresh machine or CI has (one home for the module's
    sweeps, so that one command server serves them)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("WANDB_")}
    return {**env, "HOME": str(tmp_path_factory.mktemp("home")), "WANDB_SILENT": "true"}


def _sweep(
    sweep_dir: Path, shared_data: Path, cache: Path, overrides: list[str], env: dict[str, str]
) -> None:
    run_project(
        [
            "train.py",
            "-m",
            *MINIATURE,
            f"data_dir={shared_data}",
            f"data.cache_dir={cache}",
            f"hydra.sweep.dir={sweep_dir}",
            *overrides,
        ],
        env=env,
    )


def _job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(path.parent.parent for path in sweep_dir.rglob(".hydra/overrides.yaml"))


def _report(sweep_dir: Path, *options: str) -> list[dict[str, str]]:
    run_project(["-m", "biogpt.report", str(sweep_dir), *options], timeout=300)
    for name in ("report.md", "report.csv", "report.png"):
        assert (sweep_dir / name).is_file() and (sweep_dir / name).stat().st_size > 0
    assert (sweep_dir / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with (sweep_dir / "report.csv").open() as handle:
        return list(csv.DictReader(handle))


def _metrics(job: Path) -> dict:
    return json.loads((job / "metrics.json").read_text())


def test_table9_target_format_sweep_with_wandb_offline(
    tmp_path: Path, shared_data: Path, token_cache: Path, environment: dict[str, str]
) -> None:
    """target_format=svo,rel-is x seed=1,2, logged to csv and wandb (offline: no account here)."""
    sweep_dir = tmp_path / "table9"
    _sweep(
        sweep_dir,
        shared_data,
        token_cache,
        ["logger=[csv,wandb]", "target_format=svo,rel-is", "seed=1,2"],
        environment,
    )
    jobs = _job_dirs(sweep_dir)
    assert len(jobs) == 4
    for job in jobs:
        metrics = _metrics(job)
        assert metrics["task"] == "kd-dti" and metrics["examples"] == 2
        assert {"precision", "recall", "f1"} <= set(metrics["metrics"])
        [run] = list((job / "wandb").glob("offline-run-*"))
        assert any(run.glob("*.wandb"))
    rows = _report(sweep_dir)
    assert [(row["target_format"], row["n"]) for row in rows] == [("rel-is", "2"), ("svo", "2")]
    markdown = (sweep_dir / "report.md").read_text()
    assert "common:" in markdown and "experiment=paper/kd_dti" in markdown


def test_table10_prompt_sweeps_share_one_report(
    tmp_path: Path, shared_data: Path, token_cache: Path, environment: dict[str, str]
) -> None:
    """Soft prompt lengths and hard prompts: two multiruns under one directory, one report."""
    sweep_dir = tmp_path / "table10"
    _sweep(
        sweep_dir / "soft",
        shared_data,
        token_cache,
        ["prompt=soft", "prompt.length=1,5", "seed=1,2"],
        environment,
    )
    _sweep(
        sweep_dir / "hard",
        shared_data,
        token_cache,
        ["prompt=hard", "prompt.text='we have that','in conclusion,'"],
        environment,
    )
    jobs = _job_dirs(sweep_dir)
    assert len(jobs) == 6 and all((job / "metrics.json").is_file() for job in jobs)
    prompts = {json.loads((job / "final" / "prompt.json").read_text())["text"] for job in jobs}
    assert prompts == {"", "we have that", "in conclusion,"}
    rows = _report(sweep_dir, "--x", "prompt.length")
    settings = [(row["prompt"], row["prompt.length"], row["prompt.text"], row["n"]) for row in rows]
    assert len(settings) == 4
    assert [s for s in settings if s[0] == "soft"] == [("soft", "1", "", "2"), ("soft", "5", "", "2")]
    # Settings are shown as the overrides were written (Hydra keeps the quotes of a quoted value).
    assert sorted(s[2] for s in settings if s[0] == "hard") == ["'in conclusion,'", "'we have that'"]


def test_few_shot_sweep_samples_training_examples_per_seed(
    tmp_path: Path, shared_data: Path, token_cache: Path, environment: dict[str, str]
) -> None:
    sweep_dir = tmp_path / "few_shot"
    _sweep(sweep_dir, shared_data, token_cache, ["data.train_shots=2,4", "seed=1,2"], environment)
    jobs = _job_dirs(sweep_dir)
    assert len(jobs) == 4
    trained = {}
    for job in jobs:
        summary = json.loads((job / "train_summary.json").read_text())
        config = (job / ".hydra" / "overrides.yaml").read_text()
        shots = 2 if "data.train_shots=2" in config else 4
        assert len(summary["train_ids"]) == shots and summary["evaluation"]["examples"] == 2
        trained[(shots, "seed=1" in config)] = summary["train_ids"]
    assert trained[(2, True)] != trained[(2, False)] and trained[(4, True)] != trained[(4, False)]
    rows = _report(sweep_dir)
    assert [(row["data.train_shots"], row["n"]) for row in rows] == [("2", "2"), ("4", "2")]


@pytest.mark.parametrize("launcher", ["slurm"])
def test_slurm_launcher_config_composes_for_a_gpu_sweep(launcher: str) -> None:
    """The submitit SLURM launcher resolves its resources from the trainer (no cluster is needed to check)."""
    result = run_project(
        [
            "train.py",
            f"hydra/launcher={launcher}",
            "trainer=ddp",
            "trainer.num_nodes=2",
            "hydra.launcher.partition=gpu",
            "--cfg",
            "all",  # the launcher's fields interpolate the job's config (trainer, task)
            "--resolve",
        ],
        timeout=120,
    )
    assert "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher" in result.stdout
    assert "nodes: 2" in result.stdout and "gpus_per_node: 8" in result.stdout
    assert "partition: gpu" in result.stdout
