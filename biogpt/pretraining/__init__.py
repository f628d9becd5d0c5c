"""Causal-LM pre-training of BioGPT on a packed PubMed corpus: ``train.py experiment=paper/pretrain``.

:func:`pretrain` is what :func:`biogpt.pipeline.train` runs for ``job: pretrain``: it builds the model
(``model.preset``, or ``model.init`` to continue from weights), the data over the packed corpus
(:mod:`biogpt.pretraining.data`) and the Trainer of ``cfg.trainer``, adds the step checkpoints and
resumes from the newest one (:mod:`biogpt.pretraining.checkpoints`), and saves the final model with
its tokenizer as ``<run dir>/final``, which fine-tuning loads as ``model.init``.

To resume an interrupted run, run the same command with the same run directory
(``hydra.run.dir=<run dir>``): ``pretrain.resume=auto`` restores model, optimizer, schedule, loss
scaler and the position in the data, so the run ends with the weights of an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, open_dict

from biogpt.data.packing import PackedIndex, vocabulary_hash
from biogpt.loggers import closing_loggers, live_loggers, log_evaluation, log_run_config
from biogpt.model import BioGPT
from biogpt.pipeline import build_trainer, load_backbone, load_tokenizer, optim_config
from biogpt.pretraining.checkpoints import CHECKPOINT_NAME, AtomicCheckpointIO, latest_checkpoint
from biogpt.pretraining.data import PackedDataModule
from biogpt.pretraining.module import CausalLMPretrainer
from biogpt.tokenizer import BioGPTTokenizer

__all__ = ["CausalLMPretrainer", "PackedDataModule", "pretrain"]

logger = logging.getLogger(__name__)


def check_corpus(
    index: PackedIndex, tokenizer: BioGPTTokenizer, model: BioGPT, tokens_per_sample: int
) -> None:
    """Refuse a corpus packed with another vocabulary or block size, or blocks longer than the model."""
    if index.vocab_hash != vocabulary_hash(tokenizer):
        raise ValueError(
            f"the corpus was packed with another vocabulary (hash {index.vocab_hash}) than the tokenizer "
            f"in use ({vocabulary_hash(tokenizer)}); repack it or set tokenizer="
        )
    if index.tokens_per_sample != tokens_per_sample:
        raise ValueError(
            f"pretrain.tokens_per_sample={tokens_per_sample} but the corpus was packed with "
            f"--tokens-per-sample {index.tokens_per_sample}"
        )
    if tokens_per_sample > model.config.max_positions or index.vocab_size > model.config.vocab_size:
        raise ValueError(
            f"blocks of {tokens_per_sample} tokens over {index.vocab_size} ids do not fit the model "
            f"({model.config.max_positions} positions, {model.config.vocab_size} ids)"
        )


def _checkpointing(cfg: DictConfig) -> ModelCheckpoint:
    """A checkpoint every ``save_every_n_updates`` updates; the newest is kept, ``last.ckpt`` links it."""
    return ModelCheckpoint(
        dirpath=Path(cfg.run_dir) / "checkpoints",
        filename=CHECKPOINT_NAME,
        auto_insert_metric_name=False,
        # No monitor: with one, Lightning defers the save of an epoch's last step to a validation that
        # may not run then. Without one it keeps the newest checkpoint only, removing the previous one
        # after the new one is complete.
        monitor=None,
        save_top_k=1,
        every_n_train_steps=cfg.pretrain.save_every_n_updates,
        save_last="link",
    )


def _resume_path(cfg: DictConfig, checkpoints: ModelCheckpoint) -> str | None:
    resume = cfg.pretrain.resume
    if resume in (None, False):
        return None
    if resume in ("auto", True):
        found = latest_checkpoint(checkpoints.dirpath)
        if found is not None:
            logger.info("resuming from %s", found)
        return None if found is None else str(found)
    if not Path(str(resume)).is_file():
        raise FileNotFoundError(f"pretrain.resume={resume}: no such checkpoint")
    return str(resume)


def pretrain(cfg: DictConfig) -> dict[str, Any]:
    """Pre-train, resuming when checkpoints exist; returns what ``pretrain_summary.json`` holds."""
    run_dir = Path(cfg.run_dir)
    settings = cfg.pretrain
    L.seed_everything(cfg.seed, workers=True)
    tokenizer = load_tokenizer(cfg)
    model = load_backbone(cfg, tokenizer.vocab_size)
    datamodule = PackedDataModule(
        settings.corpus_dir,
        blocks_per_batch=settings.blocks_per_batch,
        seed=cfg.seed,
        num_workers=settings.num_workers,
    )
    check_corpus(datamodule.index, tokenizer, model, settings.tokens_per_sample)
    module = CausalLMPretrainer(model, optim_config(cfg), seed=cfg.seed)
    with open_dict(cfg):  # Lightning counts validation intervals in micro-batches, the recipe in updates
        cfg.trainer.val_check_interval = settings.valid_every_n_updates * cfg.trainer.accumulate_grad_batches
        cfg.trainer.check_val_every_n_epoch = None
    checkpoints = _checkpointing(cfg)
    trainer = build_trainer(cfg)
    trainer.callbacks = [c for c in trainer.callbacks if not isinstance(c, ModelCheckpoint)] + [checkpoints]
    trainer.strategy.checkpoint_io = AtomicCheckpointIO()
    resumed_from = _resume_path(cfg, checkpoints)
    log_run_config(trainer.loggers, cfg)
    with closing_loggers(trainer):
        trainer.fit(module, datamodule=datamodule, ckpt_path=resumed_from)
        summary: dict[str, Any] = {
            "run_dir": str(run_dir),
            "final_model": str(run_dir / "final"),
            "resumed_from": resumed_from,
            "updates": trainer.global_step,
            "metrics": {key: float(value) for key, value in trainer.callback_metrics.items()},
        }
        if trainer.is_global_zero:
            module.model.save_pretrained(run_dir / "final")
            tokenizer.save_pretrained(run_dir / "final")
            if cfg.eval.split is not None:
                evaluation = validate_final(module, datamodule)
                (run_dir / "metrics.json").write_text(json.dumps(evaluation, indent=2) + "\n")
                summary["evaluation"] = {**evaluation, "metrics_file": str(run_dir / "metrics.json")}
                log_evaluation(
                    live_loggers(trainer), evaluation["metrics"], [], prefix="valid", step=trainer.global_step
                )
            (run_dir / "pretrain_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def validate_final(module: CausalLMPretrainer, datamodule: PackedDataModule) -> dict[str, Any]:
    """The final model's loss and perplexity on the corpus's whole valid split, as ``metrics.json`` holds
    them for fine-tuning runs (pre-training has no test split: its held-out documents are ``valid``).

    Run in this process by rank 0 alone, like fine-tuning's closing evaluation: a second
    ``trainer.validate`` would start the processes of a spawning strategy again.
    """
    loader = datamodule.valid_loader(remedy="or set eval.split=null")
    model = module.model.eval()
    sums = torch.zeros(2, dtype=torch.float64)
    with torch.no_grad():
        for batch in loader:
            batch = {k: v.to(module.device) if torch.is_tensor(v) else v for k, v in batch.items()}
            total, count = module(batch)
            sums += torch.stack([total.double(), count.double()]).cpu() * float(batch["loss_weight"])
    model.train()
    loss = (sums[0] / sums[1].clamp(min=1)).item()
    return {
        "task": "pretrain",
        "split": "valid",
        "examples": len(datamodule.splits["valid"]),
        "metrics": {"loss": loss, "perplexity": math.exp(min(loss, 50.0))},
    }
