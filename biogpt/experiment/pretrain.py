"""The pre-training job (``pretrain.py``): causal-LM pre-training of BioGPT on a packed PubMed corpus.

It builds the model (``model.preset``, or ``model.init`` to continue from weights), the data over the
packed corpus (:mod:`biogpt.data.pubmed.packed`) and the Trainer of ``trainer``, adds the step checkpoints
and resumes from the newest one, and saves the final model with its tokenizer as ``<run dir>/final``,
which fine-tuning loads as ``model.init``.

To resume an interrupted run, run the same command with the same run directory
(``hydra.run.dir=<run dir>``): ``pretrain.resume=auto`` restores model, optimizer, schedule, loss
scaler and the position in the data, so the run ends with the weights of an uninterrupted one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from biogpt.artifacts.model_dir import save_model_dir
from biogpt.data.pubmed.packed import PackedDataModule, check_corpus
from biogpt.errors import ConfigError
from biogpt.experiment.build import build_trainer, load_initial
from biogpt.experiment.config.settings import pretrain_run_settings
from biogpt.experiment.fitting import CHECKPOINTS, fitted
from biogpt.experiment.logging import print_lightning_logs_once
from biogpt.model import BioGPT
from biogpt.tokenizer import BioGPTTokenizer
from biogpt.training.checkpoint_io import step_checkpoints
from biogpt.training.loggers import live_loggers, log_evaluation
from biogpt.training.module import validation_loss
from biogpt.training.pretrain import CausalLMPretrainer


def pretrain(cfg: DictConfig) -> dict[str, Any]:
    """Pre-train, resuming when checkpoints exist; returns what ``pretrain_summary.json`` holds."""
    print_lightning_logs_once()
    run_dir = Path(cfg.run_dir)
    run = pretrain_run_settings(cfg)
    corpus = run.corpus
    model, tokenizer = load_initial(run)
    if not isinstance(model, BioGPT) or not isinstance(tokenizer, BioGPTTokenizer):
        raise ConfigError(
            f"pre-training runs BioGPT networks (model.preset / a BioGPT model.init); {run.backbone.init} is "
            f"a {model.family} model: fine-tune it with train.py instead"
        )
    datamodule = PackedDataModule(
        corpus.corpus_dir,
        blocks_per_batch=corpus.blocks_per_batch,
        seed=run.seed,
        num_workers=corpus.num_workers,
    )
    check_corpus(datamodule.index, tokenizer, model.config, corpus.tokens_per_sample)
    module = CausalLMPretrainer(model, run.optim, seed=run.seed)
    checkpoints = step_checkpoints(run_dir / CHECKPOINTS, corpus.save_every_n_updates, link_last=True)
    trainer = build_trainer(
        cfg,
        callbacks=checkpoints,
        model=model,
        # Lightning counts validation intervals in micro-batches, the recipe in updates.
        val_check_interval=corpus.valid_every_n_updates * run.accumulate_grad_batches,
        check_val_every_n_epoch=None,
    )
    with fitted(trainer, module, datamodule, cfg=cfg, run_dir=run_dir, resume=corpus.resume) as fit:
        if trainer.is_global_zero:
            save_model_dir(run_dir / "final", module.model, tokenizer, weights=fit.last_weights)
            if corpus.validate_final:
                fit.summary.evaluation = validate_final(module, datamodule, run_dir)
                log_evaluation(
                    live_loggers(trainer),
                    fit.summary.evaluation["metrics"],
                    [],
                    prefix="valid",
                    step=trainer.global_step,
                )
            fit.summary.write(run_dir / "pretrain_summary.json")
    return fit.summary.to_dict()


def validate_final(module: CausalLMPretrainer, datamodule: PackedDataModule, run_dir: Path) -> dict[str, Any]:
    """The final model's loss and perplexity on the corpus's whole valid split, written to
    ``metrics.json`` as fine-tuning writes its scores (pre-training has no test split: its held-out
    documents are ``valid``).

    Run in this process by rank 0 alone, like fine-tuning's closing evaluation: a second
    ``trainer.validate`` would start the processes of a spawning strategy again.
    """
    loss, perplexity = validation_loss(
        module, datamodule.valid_loader(remedy="or set pretrain.validate_final=false")
    )
    evaluation = {
        "task": "pretrain",
        "split": "valid",
        "examples": len(datamodule.splits["valid"]),
        "metrics": {"loss": loss, "perplexity": perplexity},
    }
    (run_dir / "metrics.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    return {**evaluation, "metrics_file": str(run_dir / "metrics.json")}
