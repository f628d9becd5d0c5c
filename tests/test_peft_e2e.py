"""``peft=lora`` end to end through ``train.py`` and ``evaluate.py``: our BioGPT with a soft prompt and a
T5 with a hard prompt train adapters (the loss falls), write ``final/adapter/`` and ``final/``, and
evaluate; the same run with ``peft.merge=false`` trains the same adapter and its unmerged ``final/``
(base + adapter + prompt rows) gives the merged one's predictions, in the run's closing evaluation and
through ``evaluate.py``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from family_models import family_model_dir
from peft_models import biogpt_base_dir
from project_commands import run_project
from safetensors.torch import load_file

from biogpt.model.adapters import ADAPTER_CONFIG_FILE, ADAPTER_DIR, ADAPTER_WEIGHTS_FILE, PROMPT_ROWS_FILE

pytest.importorskip("peft")
COMMON = [
    "task=ddi",
    "task.max_source_positions=32",
    "data.splits.train=test",
    "debug=overfit",
    "trainer.max_epochs=8",
    "peft=lora",
    "peft.r=16",
    "peft.alpha=32",
    "logger=csv",
    "trainer.log_every_n_steps=1",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def _train(arguments: list[str], shared_data: Path, cache: Path, run: Path) -> dict:
    run_project(
        [
            "train.py",
            f"data_dir={shared_data}",
            f"data.cache_dir={cache}",
            *COMMON,
            *arguments,
            f"hydra.run.dir={run}",
        ]
    )
    return json.loads((run / "metrics.json").read_text())


def _losses(run: Path) -> list[float]:
    with open(run / "logs" / "metrics.csv", newline="") as handle:
        return [float(row["train/loss"]) for row in csv.DictReader(handle) if row.get("train/loss")]


def _predictions(path: Path) -> list[tuple[str, str]]:
    return [(row["id"], row["generated"]) for row in map(json.loads, path.read_text().splitlines())]


def test_merged_and_unmerged_lora_runs_of_our_biogpt_predict_alike(
    tmp_path: Path, shared_data: Path, biogpt_vocab: Path, token_cache: Path
) -> None:
    base = biogpt_base_dir(tmp_path / "base", biogpt_vocab)
    options = [f"model.init={base}", "prompt=soft", "prompt.length=3"]
    merged_run, unmerged_run = tmp_path / "merged", tmp_path / "unmerged"
    merged = _train(options, shared_data, token_cache, merged_run)
    unmerged = _train([*options, "peft.merge=false"], shared_data, token_cache, unmerged_run)

    losses = _losses(merged_run)
    assert losses[-1] < 0.9 * losses[0], losses  # the adapters (and prompt rows) learn
    adapter = load_file(merged_run / "final" / ADAPTER_DIR / ADAPTER_WEIGHTS_FILE)
    assert adapter and all(key.startswith("base_model.model.biogpt.layers.") for key in adapter)
    same = load_file(unmerged_run / "final" / ADAPTER_DIR / ADAPTER_WEIGHTS_FILE)
    assert same.keys() == adapter.keys() and all((same[k] == adapter[k]).all() for k in adapter)
    config = json.loads((merged_run / "final" / ADAPTER_DIR / ADAPTER_CONFIG_FILE).read_text())
    assert config["base_model_name_or_path"] == str(base) and config["r"] == 16

    assert (merged_run / "final" / "config.json").is_file()  # the merged full model
    assert not (unmerged_run / "final" / "config.json").exists()
    assert (unmerged_run / "final" / PROMPT_ROWS_FILE).is_file()
    assert merged["examples"] == unmerged["examples"] == 4
    expected = _predictions(merged_run / "predictions.jsonl")
    assert _predictions(unmerged_run / "predictions.jsonl") == expected
    assert merged["metrics"] == unmerged["metrics"]

    evaluated = tmp_path / "evaluated"
    run_project(
        [
            "evaluate.py",
            f"data_dir={shared_data}",
            f"data.cache_dir={token_cache}",
            "task=ddi",
            "task.max_source_positions=32",
            "eval.split=test",
            f"eval.ids=[{','.join(example_id for example_id, _ in expected)}]",
            f"ckpt={unmerged_run / 'final'}",
            f"hydra.run.dir={evaluated}",
        ]
    )
    assert _predictions(evaluated / "predictions.jsonl") == expected


def test_a_t5_trains_lora_adapters_with_a_hard_prompt(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    model = family_model_dir("t5", tmp_path / "t5", shared_data, width=64)
    run = tmp_path / "run"
    metrics = _train(
        [f"model.init={model}", "prompt=hard", "prompt.text='interactions:'"], shared_data, token_cache, run
    )
    assert metrics["examples"] == 4
    losses = _losses(run)
    assert losses[-1] < 0.9 * losses[0], losses
    assert json.loads((run / "final" / "config.json").read_text())["model_type"] == "t5"
    config = json.loads((run / "final" / ADAPTER_DIR / ADAPTER_CONFIG_FILE).read_text())
    assert config["task_type"] == "SEQ_2_SEQ_LM" and set(config["target_modules"]) >= {"q", "k", "v", "o"}
