"""``select.final=best``: the run scores the validation split by generation at the end of the scored epochs,
keeps the checkpoint of the best score, and ends with that epoch's weights in ``final/``, for a
decoder-only and an encoder-decoder backbone; with the study's linear schedule."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from family_models import family_model_dir
from hydra_config import compose_train
from peft_models import biogpt_base_dir

from biogpt.experiment.config.settings import select_settings
from biogpt.experiment.finetune import train
from biogpt.model.adapters import ADAPTER_DIR, merged_weights
from biogpt.model.loading import load_network
from biogpt.model.safe_pickle import safe_load
from biogpt.model.weights import lightning_weights
from biogpt.training.selection import SelectSettings

BEST = [
    "task=ddi",
    "task.max_source_positions=48",
    "data.train_shots=4",
    "data.batch_size=1",
    "data.max_tokens=null",
    "data.update_freq=2",
    "data.loss_on=target",
    "optim.schedule=linear",
    "optim.warmup_fraction=0.1",
    "optim.lr=1e-3",
    "trainer.max_epochs=4",
    "trainer.limit_val_batches=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "keep_last_epochs=0",
    "select.final=best",
    "select.from_epoch=2",
    "eval.limit=2",
    "eval.generation.max_new_tokens=6",
    "checkpoint.every_n_updates=null",
]


def test_select_settings_check_their_choices_and_which_epochs_are_scored() -> None:
    select = SelectSettings(final="best", from_epoch=10, every_n_epochs=2)
    assert [epoch for epoch in range(1, 16) if select.scores(epoch)] == [10, 12, 14]
    assert select.monitor == "valid/f1"
    with pytest.raises(ValueError, match="valid choices: average, last, best"):
        SelectSettings(final="mean")
    with pytest.raises(ValueError, match="from_epoch"):
        SelectSettings(from_epoch=0)


def test_final_null_is_the_tasks_paper_setting(tmp_path: Path, shared_data: Path) -> None:
    assert select_settings(compose_train(tmp_path, shared_data, ["task=ddi"])).final == "average"
    assert select_settings(compose_train(tmp_path, shared_data, ["task=hoc"])).final == "last"
    assert (
        select_settings(compose_train(tmp_path, shared_data, ["task=hoc", "select.final=best"])).final
        == "best"
    )


@pytest.mark.parametrize("family", ["biogpt", "biogpt-lora", "bart"])
def test_the_final_model_is_the_best_validated_epochs(
    family: str, tmp_path: Path, shared_data: Path, biogpt_vocab: Path, token_cache: Path
) -> None:
    backbone = ["model=tiny"]
    if family == "biogpt-lora":
        pytest.importorskip("peft")
        base = biogpt_base_dir(tmp_path / "base", biogpt_vocab)
        backbone = [f"model.init={base}", "peft=lora", "peft.dropout=0"]
    elif family != "biogpt":
        backbone = [f"model.init={family_model_dir(family, tmp_path / family, shared_data)}", "prompt=none"]
    run = tmp_path / "run"
    cfg = compose_train(run, shared_data, [*BEST, *backbone], cache_dir=token_cache)
    summary = train(cfg)
    with (run / "logs" / "metrics.csv").open() as handle:
        scored = [row for row in csv.DictReader(handle) if row.get("valid/f1")]
    # Epochs 2 to 4 (0-based 1 to 3) scored; the first of the highest scores is kept (ties: the earlier).
    epochs = [int(row["epoch"]) for row in scored]
    assert epochs == [1, 2, 3]
    scores = [float(row["valid/f1"]) for row in scored]
    best_epoch = epochs[scores.index(max(scores))]
    [kept] = sorted((run / "checkpoints").glob("best-*.ckpt"))
    assert kept.name == f"best-epoch{best_epoch:03d}.ckpt"
    assert not list((run / "checkpoints").glob("epoch*.ckpt"))  # keep_last_epochs=0: none to average
    expected = lightning_weights(safe_load(kept), str(kept))
    if family == "biogpt-lora":  # final/ is the best epoch's adapters merged into the base
        from peft import LoraConfig

        expected = merged_weights(expected, LoraConfig.from_pretrained(str(run / "final" / ADAPTER_DIR)))
    final = load_network(run / "final").state_dict()
    assert final.keys() == expected.keys()
    for name, value in expected.items():
        torch.testing.assert_close(final[name], value, atol=0, rtol=0)
    assert summary["evaluation"]["split"] == "test" and summary["metrics"]["valid/f1"] == scores[-1]
