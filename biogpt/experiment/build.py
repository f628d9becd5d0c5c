"""Objects from the composed config: the Trainer with its loggers and callbacks, the model and tokenizer,
the fine-tuning module and data. Where Hydra stops: past these functions, the library sees only typed
settings and built objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import hydra
import lightning as L
from lightning.pytorch.callbacks import Callback, ModelSummary, ProgressBar
from omegaconf import DictConfig

from biogpt.artifacts.model_dir import load_backbone
from biogpt.artifacts.model_dir import load_tokenizer as load_vocabulary
from biogpt.data.datamodule import DataSettings, TaskDataModule
from biogpt.experiment.settings import (
    backbone_settings,
    cache_dir,
    layout_settings,
    optim_config,
    prompt_config,
    settings,
    task_config,
    vocab_root,
)
from biogpt.model import BioGPT
from biogpt.prompts import PromptConfig, build_layout, fit_embeddings, prompt_tokens
from biogpt.tokenizer import BioGPTTokenizer
from biogpt.training.finetune import PromptFineTuner

# Trainer flags that, when false, forbid callbacks of a kind.
_SWITCHABLE_CALLBACKS = {"enable_progress_bar": ProgressBar, "enable_model_summary": ModelSummary}


def build_trainer(
    cfg: DictConfig, callbacks: Sequence[Callback] = (), **trainer_options: object
) -> L.Trainer:
    """The Trainer of ``cfg.trainer`` with the ``logger`` and ``callbacks`` groups' objects, plus
    ``callbacks`` and ``trainer_options`` given by the job.

    A progress-bar (model-summary) callback is left out when ``trainer.enable_progress_bar``
    (``enable_model_summary``) is false, which Lightning would refuse, so turning either off is one
    override whatever the callbacks group holds.
    """
    loggers = [hydra.utils.instantiate(c) for c in (cfg.get("logger") or {}).values()]
    configured = [hydra.utils.instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    switched_off = tuple(
        kind for flag, kind in _SWITCHABLE_CALLBACKS.items() if not cfg.trainer.get(flag, True)
    )
    kept = [c for c in [*configured, *callbacks] if not isinstance(c, switched_off)]
    return hydra.utils.instantiate(cfg.trainer, logger=loggers or False, callbacks=kept, **trainer_options)


def load_model_and_tokenizer(cfg: DictConfig) -> tuple[BioGPT, BioGPTTokenizer]:
    """``model.init``'s weights (or a fresh ``model.preset`` network, initialised from ``seed``) and the
    vocabulary that goes with them."""
    L.seed_everything(cfg.seed, workers=True)
    return load_backbone(backbone_settings(cfg), tokenizer=cfg.tokenizer, vocab_root=vocab_root(cfg))


def load_tokenizer(cfg: DictConfig) -> BioGPTTokenizer:
    """The vocabulary of the configured model, without building it (exports, pre-training checks)."""
    return load_vocabulary(backbone_settings(cfg), tokenizer=cfg.tokenizer, vocab_root=vocab_root(cfg))


@dataclass
class FineTuning:
    """What a fine-tuning run trains: the module, its data, and the tokenizer and prompt to save with it."""

    module: PromptFineTuner
    datamodule: TaskDataModule
    tokenizer: BioGPTTokenizer
    prompt: PromptConfig


def build_finetuning(cfg: DictConfig) -> FineTuning:
    """The backbone with its prompt rows, the task's data laid out around the prompt, the module."""
    model, tokenizer = load_model_and_tokenizer(cfg)
    base_vocab_size = tokenizer.vocab_size - len(tokenizer.added_tokens)
    prompt = prompt_config(cfg)
    tokens = prompt_tokens(prompt, tokenizer)
    tokenizer.add_tokens(tokens.new_tokens)
    fit_embeddings(model, tokenizer.vocab_size, prompt.init, seed=cfg.seed)
    layout = build_layout(layout_settings(cfg), tokenizer, tokens.ids, model.config.max_positions)
    datamodule = TaskDataModule(
        task_config(cfg), settings(DataSettings, cfg.data, cache_dir=cache_dir(cfg)), seed=cfg.seed
    )
    datamodule.connect(tokenizer, layout)
    module = PromptFineTuner(
        model, optim_config(cfg), base_vocab_size=base_vocab_size, train_only_prompt=cfg.train_only_prompt
    )
    return FineTuning(module, datamodule, tokenizer, prompt)
