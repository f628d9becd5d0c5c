"""Objects from the composed config: the Trainer with its loggers and callbacks, the model and tokenizer,
the fine-tuning module and data. Where Hydra stops: past these functions, the library sees only typed
settings and built objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import hydra
import lightning as L
from hydra.errors import InstantiationException
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import Callback, ModelSummary, ProgressBar
from omegaconf import DictConfig

from biogpt.artifacts.backbone_source import BackboneSettings, adapter_base_reference, load_backbone
from biogpt.data.datamodule import TaskDataModule
from biogpt.errors import ConfigError
from biogpt.experiment.config.settings import PretrainRunSettings, RunSettings
from biogpt.model.adapters import PeftSettings, add_adapters, check_device, lora_config
from biogpt.model.backbone import Backbone
from biogpt.model.precision import check_training_precision
from biogpt.prompts import PromptSettings, build_layout, check_prompt_fits, fit_embeddings, prompt_tokens
from biogpt.tokenizer.protocol import Tokenizer
from biogpt.training.finetune import PromptFineTuner

FSDP_STRATEGY = "lightning.pytorch.strategies.FSDPStrategy"
# Trainer flags that, when false, forbid callbacks of a kind.
_SWITCHABLE_CALLBACKS = {"enable_progress_bar": ProgressBar, "enable_model_summary": ModelSummary}


def build_trainer(
    cfg: DictConfig,
    callbacks: Sequence[Callback] = (),
    *,
    model: Backbone | None = None,
    **trainer_options: object,
) -> L.Trainer:
    """The Trainer of ``cfg.trainer`` with the ``logger`` and ``callbacks`` groups' objects, plus
    ``callbacks`` and ``trainer_options`` given by the job.

    A progress-bar (model-summary) callback is left out when ``trainer.enable_progress_bar``
    (``enable_model_summary``) is false, which Lightning would refuse, so turning either off is one
    override whatever the callbacks group holds. A bf16 precision on a CPU that emulates bf16 is warned
    of (see :mod:`biogpt.model.precision`); a device this machine lacks (``trainer=ddp`` without a GPU) is
    a :class:`~biogpt.errors.ConfigError` with Lightning's message. Under FSDP, ``model``'s own layer classes
    (``block_classes``) are the units FSDP wraps and activation checkpointing recomputes, whatever
    family the backbone is.
    """
    loggers = [hydra.utils.instantiate(c) for c in (cfg.get("logger") or {}).values()]
    configured = [hydra.utils.instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    switched_off = tuple(
        kind for flag, kind in _SWITCHABLE_CALLBACKS.items() if not cfg.trainer.get(flag, True)
    )
    kept = [c for c in [*configured, *callbacks] if not isinstance(c, switched_off)]
    strategy = cfg.trainer.get("strategy")
    if isinstance(strategy, DictConfig) and strategy.get("_target_") == FSDP_STRATEGY:
        if model is None:
            raise ValueError("trainer=fsdp needs the backbone to know which layers to shard")
        trainer_options["strategy"] = fsdp_strategy(strategy, model)
    options = {"logger": loggers or False, "callbacks": kept, **trainer_options}
    try:
        trainer = hydra.utils.instantiate(cfg.trainer, **options)
    except InstantiationException as error:
        if not isinstance(error.__cause__, MisconfigurationException):
            raise
        # Lightning's refusal of what this machine cannot run (trainer=ddp without a GPU, more devices
        # than it has) is the user's to fix: its message names the missing device.
        chosen = ", ".join(f"trainer.{key}={cfg.trainer.get(key)}" for key in ("accelerator", "devices"))
        raise ConfigError(
            f"{chosen}: {error.__cause__}; trainer=cpu (or ddp_cpu) runs on CPUs alone"
        ) from None
    check_training_precision(trainer.precision, trainer.strategy.root_device)
    return trainer


def fsdp_strategy(strategy: DictConfig, model: Backbone) -> object:
    """The configured FSDP strategy with each of ``model``'s layers (``block_classes``: BioGPT's
    decoder layer, GPT-2's block, BART's encoder and decoder layers, T5's block) as one FSDP unit and
    one activation-checkpointing unit."""
    layers = set(model.block_classes)
    return hydra.utils.instantiate(strategy, auto_wrap_policy=layers, activation_checkpointing_policy=layers)


def load_seeded(
    backbone: BackboneSettings, *, tokenizer: str | None, vocab_root: Path, seed: int, quantized: bool = False
) -> tuple[Backbone, Tokenizer]:
    """The backbone and its vocabulary, a fresh network initialised from ``seed``; ``quantized``: QLoRA's
    4-bit base."""
    L.seed_everything(seed, workers=True)
    return load_backbone(backbone, tokenizer=tokenizer, vocab_root=vocab_root, quantized=quantized)


def load_initial(run: RunSettings | PretrainRunSettings) -> tuple[Backbone, Tokenizer]:
    """A run's network before it trains (``model.init``'s weights, or a fresh ``model.preset`` network
    initialised from the run's seed) and the vocabulary that goes with it."""
    return load_seeded(run.backbone, tokenizer=run.tokenizer, vocab_root=run.vocab_root, seed=run.seed)


@dataclass
class FineTuning:
    """What a fine-tuning run trains: the module, its data, and the tokenizer and prompt to save with it;
    with ``peft``, the adapters' settings and the embedding rows of the base (the rows past them are the
    soft prompt's, which an unmerged ``final/`` stores beside the adapter)."""

    module: PromptFineTuner
    datamodule: TaskDataModule
    tokenizer: Tokenizer
    prompt: PromptSettings
    peft: PeftSettings = PeftSettings()
    base_rows: int = 0


def build_finetuning(run: RunSettings) -> FineTuning:
    """The backbone with its prompt rows (and adapters, ``peft``), the task's data laid out around the
    prompt, the module."""
    adapters = run.peft
    check_device(adapters)  # qlora on a CPU stops before any weight is read
    base = adapter_base_reference(run.backbone) if adapters.enabled else None
    model, tokenizer = load_seeded(
        run.backbone,
        tokenizer=run.tokenizer,
        vocab_root=run.vocab_root,
        seed=run.seed,
        quantized=adapters.method == "qlora",
    )
    base_rows = model.vocab_size
    base_vocab_size = tokenizer.vocab_size - len(tokenizer.added_tokens)
    prompt = run.prompt
    check_prompt_fits(prompt, model)
    tokens = prompt_tokens(prompt, tokenizer)
    tokenizer.add_tokens(tokens.new_tokens)
    fit_embeddings(model, tokenizer.vocab_size, prompt.init, seed=run.seed)
    if adapters.enabled:
        add_adapters(model, lora_config(model, adapters, base=base))
    layout = build_layout(run.layout, tokenizer, tokens.ids, model)
    datamodule = TaskDataModule(run.task, run.data, seed=run.seed)
    datamodule.connect(tokenizer, layout)
    module = PromptFineTuner(
        model,
        run.optim,
        base_vocab_size=base_vocab_size,
        train_only_prompt=run.train_only_prompt,
        adapters=adapters.enabled,
    )
    return FineTuning(module, datamodule, tokenizer, prompt, adapters, base_rows)
