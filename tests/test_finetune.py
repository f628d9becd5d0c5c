"""Prompt fine-tuning end to end on the real task data with a tiny model on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from family_models import family_model_dir
from hydra.errors import ConfigCompositionException
from hydra_config import compose_train
from peft_models import biogpt_base_dir
from project_commands import run_project

from biogpt import BioGPT
from biogpt.experiment.build import build_finetuning, build_trainer
from biogpt.experiment.config.settings import run_settings
from biogpt.model.adapters import is_adapter_weight
from biogpt.training.memorised import StopWhenMemorised

FAST = [
    "model=tiny",
    "model.dropout=0",
    "model.attention_dropout=0",
    "optim.lr=3e-3",
    "optim.warmup_updates=2",
    "data.update_freq=1",
    "logger={}",
    "callbacks={}",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.limit_val_batches=0",
    "trainer.max_epochs=1000",
    "task.max_source_positions=96",
]


def parts(run):
    """A built fine-tuning run as (module, datamodule, tokenizer, prompt)."""
    return run.module, run.datamodule, run.tokenizer, run.prompt


class Recorder(L.Callback):
    """Training losses, and the gradients of the first optimizer update."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.first_grads: dict[str, torch.Tensor] | None = None

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.losses.append(float(trainer.callback_metrics["train/loss"]))

    def on_before_optimizer_step(self, trainer, module, optimizer) -> None:
        if self.first_grads is None:
            self.first_grads = {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


class LossFalls(Recorder):
    """Stops training once the mean loss of the last 4 updates is below ``fraction`` of the first 4's: the
    goal is checked as training goes, and ``trainer.max_steps`` is only a cap."""

    def __init__(self, fraction: float) -> None:
        super().__init__()
        self.fraction = fraction

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        super().on_train_batch_end(trainer, module, outputs, batch, batch_idx)
        if len(self.losses) >= 8 and sum(self.losses[-4:]) < self.fraction * sum(self.losses[:4]):
            trainer.should_stop = True


def _fit(cfg, recorder: Recorder | None = None):
    module, datamodule, tokenizer, prompt = parts(build_finetuning(run_settings(cfg)))
    trainer = build_trainer(cfg)
    if recorder is not None:
        trainer.callbacks.append(recorder)
    trainer.fit(module, datamodule=datamodule)
    return module, datamodule


@pytest.mark.parametrize(
    ("task", "options"),
    [
        ("bc5cdr", []),
        ("kd_dti", ["data.splits.train=valid", "data.splits.valid=test"]),  # no train split offline
        ("ddi", []),
        ("pubmedqa", []),
        ("hoc", []),
    ],
)
def test_training_loss_falls_on_every_task(
    task: str, options: list[str], tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    cfg = compose_train(
        tmp_path,
        shared_data,
        cache_dir=token_cache,
        overrides=[f"task={task}", *FAST, *options, "data.train_shots=4", "trainer.max_steps=200"],
    )
    recorder = LossFalls(0.7)
    _fit(cfg, recorder)
    first, last = sum(recorder.losses[:4]) / 4, sum(recorder.losses[-4:]) / 4
    assert last < 0.7 * first and len(recorder.losses) < 200, f"{task}: loss {first:.2f} -> {last:.2f}"


def test_gradient_accumulation_equals_one_batch_of_everything(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    """4 micro-batches of unequal token counts accumulate to the gradient of one batch holding them all."""
    common = ["task=ddi", *FAST, "data.train_shots=4", "trainer.max_steps=1", "seed=2"]
    split_cfg = compose_train(
        tmp_path / "a",
        shared_data,
        cache_dir=token_cache,
        overrides=[*common, "data.update_freq=4", "data.max_tokens=null", "data.batch_size=1"],
    )
    whole_cfg = compose_train(
        tmp_path / "b",
        shared_data,
        cache_dir=token_cache,
        overrides=[*common, "data.max_tokens=null", "data.batch_size=4"],
    )
    split_rec, whole_rec = Recorder(), Recorder()
    module, datamodule = _fit(split_cfg, split_rec)
    predicted = datamodule.split("train").predicted
    assert len(set(predicted.tolist())) == 4, "the micro-batches must have unequal token counts"
    _fit(whole_cfg, whole_rec)
    assert len(split_rec.losses) == 4 and len(whole_rec.losses) == 1
    assert split_rec.first_grads.keys() == whole_rec.first_grads.keys()
    for name, grad in whole_rec.first_grads.items():
        torch.testing.assert_close(split_rec.first_grads[name], grad, atol=1e-6, rtol=0, msg=name)


def test_prompt_only_training_changes_only_the_prompt_rows(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    cfg = compose_train(
        tmp_path,
        shared_data,
        cache_dir=token_cache,
        overrides=[
            "task=ddi",
            *FAST,
            "data.train_shots=2",
            "trainer.max_steps=3",
            "train_only_prompt=true",
            "prompt.length=5",
        ],
    )
    module, _, tokenizer, _ = parts(build_finetuning(run_settings(cfg)))
    before = {name: p.detach().clone() for name, p in module.model.named_parameters()}
    trainer = build_trainer(cfg)
    trainer.fit(module, datamodule=parts(build_finetuning(run_settings(cfg)))[1])
    base = tokenizer.vocab_size - 5
    for name, param in module.model.named_parameters():
        if name == "embed_tokens.weight":
            assert torch.equal(param[:base], before[name][:base])
            assert not torch.equal(param[base:], before[name][base:])
        else:
            assert torch.equal(param, before[name]), name


def test_few_shot_sampling_depends_on_the_seed(tmp_path: Path, shared_data: Path, token_cache: Path) -> None:
    def shots(seed: int) -> list[str]:
        cfg = compose_train(
            tmp_path,
            shared_data,
            cache_dir=token_cache,
            overrides=["task=hoc", *FAST, "data.train_shots=16", f"seed={seed}"],
        )
        _, datamodule, _, _ = parts(build_finetuning(run_settings(cfg)))
        return datamodule.split("train").ids

    assert len(shots(1)) == 16 and shots(1) == shots(1) and shots(1) != shots(2)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task=bc5cdrx", "Could not find 'task/bc5cdrx'"),
        ("target_format=sov", "Could not find 'target_format/sov'"),
        ("prompt=soft_hard", "Could not find 'prompt/soft_hard'"),
    ],
)
def test_unknown_config_choice_lists_the_valid_names(
    override: str, message: str, tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    with pytest.raises(ConfigCompositionException, match=message) as error:
        compose_train(tmp_path, shared_data, cache_dir=token_cache, overrides=[override])
    group = override.split("=")[0]
    valid = {"task": "kd_dti", "target_format": "rel-is", "prompt": "hard"}[group]
    assert valid in str(error.value), "the error lists the available options"


def test_data_root_without_the_release_files_names_the_missing_file(
    tmp_path: Path, token_cache: Path, biogpt_vocab: Path
) -> None:
    cfg = compose_train(
        tmp_path,
        tmp_path / "nowhere",
        cache_dir=token_cache,
        overrides=["task=ddi", *FAST, f"tokenizer={biogpt_vocab}"],
    )
    with pytest.raises(FileNotFoundError, match=r"nowhere/DDI/raw/train.json"):
        _fit(cfg)


def test_train_py_runs_end_to_end_and_averages_the_last_epochs(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    """The CLI: 3 epochs on a 2-document DDI sample, the last 2 epoch checkpoints averaged into final/."""
    run = run_project(
        [
            "train.py",
            "task=ddi",
            "model=tiny",
            "data.train_shots=2",
            "data.update_freq=1",
            "trainer.max_epochs=3",
            "keep_last_epochs=2",
            "trainer.limit_val_batches=2",
            "eval.limit=3",
            "eval.generation.max_new_tokens=8",
            f"data_dir={shared_data}",
            f"data.cache_dir={token_cache}",
            f"hydra.run.dir={tmp_path}/run",
        ],
        timeout=600,
    )
    checkpoints = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("*.ckpt"))
    # The last 2 epochs, and the newest step checkpoint (the end of the run) to resume from.
    assert checkpoints == ["epoch001.ckpt", "epoch002.ckpt", "step0000003.ckpt"]
    from biogpt.training.averaging import average_checkpoints

    expected = average_checkpoints(sorted((tmp_path / "run" / "checkpoints").glob("epoch*.ckpt")))
    final = BioGPT.from_pretrained(tmp_path / "run" / "final")
    for name, value in final.state_dict().items():
        torch.testing.assert_close(value, expected[name], atol=1e-7, rtol=0)
    epoch_model = BioGPT.from_pretrained(
        tmp_path / "run" / "checkpoints" / "epoch002.ckpt"
    )  # our .ckpt loads too
    assert epoch_model.config == final.config
    summary = json.loads((tmp_path / "run" / "train_summary.json").read_text())
    assert summary["updates"] == 3 and "valid/loss" in summary["metrics"]
    assert (tmp_path / "run" / "logs" / "metrics.csv").is_file()
    # The run ends by evaluating final/ on the first 3 test documents.
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["examples"] == 3
    assert summary["evaluation"]["metrics"] == metrics["metrics"]
    assert {"precision", "recall", "f1"} <= set(metrics["metrics"])
    assert len((tmp_path / "run" / "predictions.jsonl").read_text().splitlines()) == 3
    assert "f1" in run.stdout and str(tmp_path / "run" / "metrics.json") in run.stdout
    # Lightning's messages print once, in Hydra's format, and reach the run's log file.
    assert (run.stdout + run.stderr).count("`Trainer.fit` stopped") == 1
    assert "`Trainer.fit` stopped" in (tmp_path / "run" / "train.log").read_text()


def test_fine_tuned_release_checkpoint_prompt_rows_become_the_soft_prompt(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    """A release checkpoint's learned1..9 rows are the soft prompt's embeddings, not re-initialised."""
    from model_oracle import reference_model, write_fine_tuned_checkpoint

    shape = dict(
        vocab_size=42384,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=256,
        max_position_embeddings=1024,
    )
    reference = reference_model(0, **shape)
    prompt_rows = write_fine_tuned_checkpoint(reference, tmp_path / "checkpoint_avg.pt", 9)
    cfg = compose_train(
        tmp_path,
        shared_data,
        cache_dir=token_cache,
        overrides=["task=ddi", *FAST, f"model.init={tmp_path / 'checkpoint_avg.pt'}", "prompt.length=9"],
    )
    module, datamodule, tokenizer, _ = parts(build_finetuning(run_settings(cfg)))
    assert datamodule.layout.prompt_ids == tuple(range(42384, 42393))
    assert [tokenizer.id_to_token(i) for i in datamodule.layout.prompt_ids] == [
        f"learned{i}" for i in range(1, 10)
    ]
    torch.testing.assert_close(module.model.embed_tokens.weight[42384:], prompt_rows, atol=0, rtol=0)


class GradientDump(L.Callback):
    """Saves the first update's gradients from rank 0 (works across spawned DDP processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_before_optimizer_step(self, trainer, module, optimizer) -> None:
        if trainer.global_step == 0 and trainer.global_rank == 0:
            torch.save(
                {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}, self.path
            )


@pytest.mark.parametrize("backbone", ["biogpt", "biogpt-lora", "t5"])
def test_two_rank_ddp_update_equals_one_process_with_the_whole_batch(
    backbone: str, tmp_path: Path, shared_data: Path, biogpt_vocab: Path, token_cache: Path
) -> None:
    """2 gloo ranks x 2 micro-batches of 1 document = one process with the 4 documents in one batch,
    for BioGPT, for LoRA adapters (and the soft prompt's rows) on a frozen BioGPT, and for an
    encoder-decoder from transformers (T5: encoder inputs batched alongside)."""
    common = [
        "task=ddi",
        *FAST,
        "data.train_shots=4",
        "trainer.max_steps=1",
        "data.max_tokens=null",
        "seed=3",
    ]
    if backbone == "t5":
        common += [f"model.init={family_model_dir('t5', tmp_path / 't5', shared_data)}", "prompt=none"]
    if backbone == "biogpt-lora":
        pytest.importorskip("peft")
        base = biogpt_base_dir(tmp_path / "base", biogpt_vocab)
        common += [f"model.init={base}", "peft=lora", "peft.dropout=0"]
    runs = {
        "ddp": ["data.batch_size=1", "data.update_freq=2", "trainer.devices=2", "trainer.strategy=ddp_spawn"],
        "single": ["data.batch_size=4"],
    }
    grads = {}
    for name, options in runs.items():
        cfg = compose_train(
            tmp_path / name, shared_data, cache_dir=token_cache, overrides=[*common, *options]
        )
        module, datamodule, _, _ = parts(build_finetuning(run_settings(cfg)))
        trainer = build_trainer(cfg)
        trainer.callbacks.append(GradientDump(tmp_path / f"{name}.pt"))
        trainer.fit(module, datamodule=datamodule)
        grads[name] = torch.load(tmp_path / f"{name}.pt")
    assert grads["ddp"].keys() == grads["single"].keys()
    if backbone == "biogpt-lora":  # the adapters and the prompt rows, nothing of the base
        assert all(is_adapter_weight(key) or key.endswith("embed_tokens.weight") for key in grads["single"])
    for key, grad in grads["single"].items():
        torch.testing.assert_close(grads["ddp"][key], grad, atol=1e-6, rtol=0, msg=key)


def test_overfits_a_handful_of_bc5cdr_documents(tmp_path: Path, shared_data: Path, token_cache: Path) -> None:
    cfg = compose_train(
        tmp_path,
        shared_data,
        cache_dir=token_cache,
        overrides=[
            "task=bc5cdr",
            *FAST,
            "data.train_shots=4",
            "data.loss_on=target",
            "optim.lr=1e-2",
            "optim.warmup_updates=5",
            "trainer.max_epochs=300",  # a cap: training stops once the documents are memorised
            "task.max_source_positions=32",
        ],
    )
    recorder = Recorder()
    module, datamodule, _, _ = parts(build_finetuning(run_settings(cfg)))
    trainer = build_trainer(cfg, callbacks=[recorder, StopWhenMemorised(every_n_epochs=5)])
    trainer.fit(module, datamodule=datamodule)
    assert recorder.losses[0] > 5, recorder.losses[:3]
    assert trainer.callback_metrics["train/min_token_probability"] >= 0.6, recorder.losses[::10]
    assert trainer.current_epoch < 300  # stopped by the goal, not the cap


def test_soft_prompt_can_start_from_vocabulary_embeddings(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    cfg = compose_train(
        tmp_path,
        shared_data,
        cache_dir=token_cache,
        overrides=["task=ddi", *FAST, "prompt.init=vocab", "prompt.length=3"],
    )
    module, _, _, _ = parts(build_finetuning(run_settings(cfg)))
    weight = module.model.embed_tokens.weight.detach()
    for row in weight[-3:]:
        assert (weight[4:-3] == row).all(dim=1).any(), "each prompt row copies a vocabulary row"


class BatchOrder(L.Callback):
    def __init__(self) -> None:
        self.epochs: list[list[str]] = []

    def on_train_epoch_start(self, trainer, module) -> None:
        self.epochs.append([])

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.epochs[-1].extend(batch["ids"])


def test_each_epoch_reshuffles_the_batches(tmp_path: Path, shared_data: Path, token_cache: Path) -> None:
    cfg = compose_train(
        tmp_path,
        shared_data,
        cache_dir=token_cache,
        overrides=[
            "task=hoc",
            *FAST,
            "data.train_shots=32",
            "data.max_tokens=null",
            "data.batch_size=4",
            "trainer.max_epochs=2",
            "trainer.max_steps=-1",
        ],
    )
    order = BatchOrder()
    module, datamodule, _, _ = parts(build_finetuning(run_settings(cfg)))
    trainer = build_trainer(cfg)
    trainer.callbacks.append(order)
    trainer.fit(module, datamodule=datamodule)
    assert len(order.epochs) == 2 and sorted(order.epochs[0]) == sorted(order.epochs[1])
    assert order.epochs[0] != order.epochs[1]
