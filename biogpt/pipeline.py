"""What ``train.py`` runs: a Hydra config in, a fine-tuned and checkpoint-averaged BioGPT out.

Each piece is built from its config group (task, target_format, prompt, model, trainer, logger,
callbacks) by the small functions below, so scripts and tests can assemble the same objects.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from omegaconf import DictConfig, OmegaConf

from biogpt.averaging import average_checkpoints
from biogpt.checkpoint import build_model
from biogpt.data.datamodule import TaskDataModule
from biogpt.data.sequences import SequenceLayout
from biogpt.data.tasks import TaskConfig, make_task_config
from biogpt.data.tasks.config import RELATION_TASKS
from biogpt.finetune import PromptFineTuner
from biogpt.inference import PROMPT_FILE
from biogpt.model import BioGPT, BioGPTConfig
from biogpt.optim import OptimConfig
from biogpt.prompts import PromptConfig, fit_embeddings, prompt_ids
from biogpt.tokenizer import BioGPTTokenizer

logger = logging.getLogger(__name__)

ELLIPSIS_PIECE = "...</w>"


def task_config(cfg: DictConfig) -> TaskConfig:
    """The reader settings of ``cfg.task`` (+ ``cfg.target_format`` for relation tasks)."""
    task = cfg.task
    fields: dict[str, Any] = {"data_dir": str(cfg.data_dir)}
    if task.name in RELATION_TASKS:
        fields |= {
            "target_format": cfg.target_format.name,
            "order": task.order,
            "keep_empty": task.keep_empty,
            "empty_target": task.empty_target,
        }
    elif task.name == "pubmedqa":
        fields |= {"fold": task.fold, "long_answer": task.long_answer}
    return make_task_config(task.name, **fields)


def default_vocabulary(cfg: DictConfig) -> Path:
    """The released vocabulary of the configured shape, under ``data_dir/vocab``."""
    return (
        Path(str(cfg.data_dir))
        / "vocab"
        / ("biogpt-large" if cfg.model.preset == "biogpt-large" else "biogpt")
    )


def load_tokenizer(cfg: DictConfig) -> BioGPTTokenizer:
    source = cfg.tokenizer or cfg.model.init
    if source is None or Path(str(source)).is_file():  # a bare fairseq checkpoint holds no vocabulary
        source = default_vocabulary(cfg)
    return BioGPTTokenizer.from_pretrained(source)


def optim_config(cfg: DictConfig) -> OptimConfig:
    return OptimConfig(**{**OmegaConf.to_container(cfg.optim, resolve=True), "betas": tuple(cfg.optim.betas)})


def prompt_config(cfg: DictConfig) -> PromptConfig:
    return PromptConfig(**OmegaConf.to_container(cfg.prompt, resolve=True))


def build_layout(
    cfg: DictConfig, tokenizer: BioGPTTokenizer, prompt: PromptConfig, model_positions: int | None = None
) -> SequenceLayout:
    """How examples become sequences: the prompt's ids (added to the tokenizer if soft), truncation."""
    ellipsis = tokenizer.token_to_id(ELLIPSIS_PIECE)
    if ellipsis is None:
        raise ValueError(f"the vocabulary has no '{ELLIPSIS_PIECE}' piece, which marks truncated sources")
    return SequenceLayout(
        eos_id=tokenizer.eos_id,
        ellipsis_id=ellipsis,
        prompt_ids=prompt_ids(prompt, tokenizer),
        max_source_positions=cfg.task.max_source_positions,
        max_positions=min(cfg.task.max_positions, model_positions or cfg.task.max_positions),
        loss_on=cfg.data.loss_on,
    )


def load_backbone(cfg: DictConfig) -> BioGPT:
    """Pretrained weights from ``model.init``, or a fresh ``model.preset`` network."""
    regularisation = {"dropout": cfg.model.dropout, "attention_dropout": cfg.model.attention_dropout}
    if cfg.model.init is None:
        L.seed_everything(cfg.seed, workers=True)
        return BioGPT(BioGPTConfig.from_preset(cfg.model.preset, **regularisation))
    loaded = BioGPT.from_pretrained(cfg.model.init)
    # Rebuild with the configured dropout; the weights are the loaded ones.
    return build_model(replace(loaded.config, **regularisation), loaded.state_dict(), str(cfg.model.init))


def build(cfg: DictConfig) -> tuple[PromptFineTuner, TaskDataModule, BioGPTTokenizer, PromptConfig]:
    tokenizer = load_tokenizer(cfg)
    base_vocab_size = tokenizer.vocab_size - len(tokenizer.added_tokens)
    prompt = prompt_config(cfg)
    model = load_backbone(cfg)
    layout = build_layout(cfg, tokenizer, prompt, model.config.max_positions)
    fit_embeddings(model, tokenizer.vocab_size, prompt.init, seed=cfg.seed)
    datamodule = TaskDataModule(
        task_config(cfg),
        tokenizer,
        layout,
        cache_dir=cfg.data.cache_dir,
        splits=dict(cfg.data.splits),
        max_tokens=cfg.data.max_tokens,
        batch_size=cfg.data.batch_size,
        seed=cfg.seed,
        num_workers=cfg.data.num_workers,
        train_shots=cfg.data.train_shots,
    )
    module = PromptFineTuner(
        model, optim_config(cfg), base_vocab_size=base_vocab_size, train_only_prompt=cfg.train_only_prompt
    )
    return module, datamodule, tokenizer, prompt


def build_trainer(cfg: DictConfig) -> L.Trainer:
    loggers = [hydra.utils.instantiate(c) for c in (cfg.get("logger") or {}).values()]
    callbacks = [hydra.utils.instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    return hydra.utils.instantiate(cfg.trainer, logger=loggers or False, callbacks=callbacks)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fine-tune, then write the average of the kept epoch checkpoints as ``<run dir>/final``.

    ``job: pretrain`` (set by ``experiment=pretrain_biogpt``) runs causal-LM pre-training instead.
    """
    if cfg.get("job", "finetune") == "pretrain":
        from biogpt.pretraining import pretrain

        return pretrain(cfg)
    run_dir = Path(cfg.run_dir)
    L.seed_everything(cfg.seed, workers=True)
    module, datamodule, tokenizer, prompt = build(cfg)
    trainer = build_trainer(cfg)
    trainer.fit(module, datamodule=datamodule)
    final_dir = run_dir / "final"
    summary = {
        "run_dir": str(run_dir),
        "final_model": str(final_dir),
        "updates": trainer.global_step,
        # The examples a few-shot run trained on, to reproduce or evaluate on exactly them.
        "train_ids": datamodule.split("train").ids if cfg.data.train_shots is not None else None,
        "metrics": {key: float(value) for key, value in trainer.callback_metrics.items()},
    }
    if trainer.is_global_zero:  # one writer under DDP
        save_final(trainer, module, tokenizer, prompt, final_dir)
        (run_dir / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def save_final(
    trainer: L.Trainer,
    module: PromptFineTuner,
    tokenizer: BioGPTTokenizer,
    prompt: PromptConfig,
    directory: Path,
) -> Path:
    """Average the kept epoch checkpoints (the paper's evaluation model) and save it with its tokenizer."""
    checkpointer = trainer.checkpoint_callback
    kept = sorted(Path(path) for path in (checkpointer.best_k_models if checkpointer else {}))
    model = module.model
    if kept:
        model = build_model(model.config, average_checkpoints(kept), f"average of {len(kept)} checkpoints")
        logger.info("averaged %d epoch checkpoints: %s", len(kept), ", ".join(p.name for p in kept))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    (directory / PROMPT_FILE).write_text(json.dumps(prompt.__dict__, indent=2) + "\n")
    return directory
