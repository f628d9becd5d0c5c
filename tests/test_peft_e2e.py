"""``peft=lora`` end to end through ``train.py`` and ``evaluate.py``: a tiny BioGPT (ours), GPT-2 and T5
memorise 4 DDI documents with LoRA alone (the base frozen) and score F1 = 1.0 on them, writing
``final/adapter/`` and ``final/``; a BioGPT run with a soft prompt and the same run with
``peft.merge=false`` train the same adapter, and the unmerged ``final/`` (base + adapter + prompt rows)
gives the merged one's predictions, in the run's closing evaluation and through ``evaluate.py``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from family_models import family_model_dir
from peft_models import biogpt_base_dir, confident_base
from project_commands import run_project
from safetensors.torch import load_file

from biogpt.data.tasks import load_task_split, task_settings_class
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


@pytest.mark.parametrize("family", ["biogpt", "gpt2", "t5"])
def test_lora_alone_memorises_four_documents_to_f1_one(
    family: str, tmp_path: Path, shared_data: Path, biogpt_vocab: Path, token_cache: Path
) -> None:
    """Trained until every target token is the adapted model's most likely with probability >= 0.6
    (``debug=overfit``'s check, at most 500 epochs), then evaluated: F1 = 1.0. The base is a random one
    whose logits have a pre-trained model's spread (:func:`confident_base`); the adapters are full rank
    (r = 64, the width) and without dropout, as memorisation asks; the learning rate is half
    ``debug=overfit``'s, at which T5's adapters overshoot."""
    if family == "biogpt":
        base = biogpt_base_dir(tmp_path / "base", biogpt_vocab)
    else:
        ddi = load_task_split(
            task_settings_class("ddi")(name="ddi", data_dir=str(shared_data)), "test"
        ).examples
        texts = [text for example in ddi for text in (example.source, example.target)]
        base = family_model_dir(
            family, tmp_path / "base", shared_data, texts=texts, width=64, vocab_size=2000
        )
    confident_base(base, family)
    run = tmp_path / "run"
    metrics = _train(
        [
            f"model.init={base}",
            "prompt=hard",
            "prompt.text='interactions:'",
            "trainer.max_epochs=500",
            "optim.lr=5e-3",
            "peft.r=64",
            "peft.alpha=64",
            "peft.dropout=0",
        ],
        shared_data,
        token_cache,
        run,
    )
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["metrics"]["train/min_token_probability"] >= 0.6  # stopped as memorised, not at the cap
    assert metrics["examples"] == 4 and metrics["parse_failures"] == 0
    assert metrics["metrics"]["f1"] == 1.0, (run / "predictions.jsonl").read_text()[:2000]
    config = json.loads((run / "final" / ADAPTER_DIR / ADAPTER_CONFIG_FILE).read_text())
    assert config["base_model_name_or_path"] == str(base) and config["r"] == 64
    assert config["task_type"] == ("SEQ_2_SEQ_LM" if family == "t5" else "CAUSAL_LM")
    assert json.loads((run / "final" / "config.json").read_text())["model_type"] == family
