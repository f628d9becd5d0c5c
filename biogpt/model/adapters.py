"""Parameter-efficient fine-tuning: LoRA (and QLoRA's 4-bit frozen base) through ``peft``, for every backbone.

The adapters are ``peft``'s own LoRA layers, put into the backbone in place by
:func:`peft.inject_adapter_in_model` (``peft``'s tuner API for any ``torch`` module, so our BioGPT network
takes them exactly as the ``transformers`` families do); nothing here computes a LoRA forward. The
network keeps its module names, each adapted projection becomes ``<name>.base_layer`` plus
``<name>.lora_A.default``/``<name>.lora_B.default``, and ``peft`` freezes everything else.

An adapter is saved as ``peft`` saves one (``adapter_config.json`` + ``adapter_model.safetensors``) with
the weight names of the family's ``transformers`` class (:meth:`Backbone.transformers_name`: our BioGPT's
``layers.0.self_attn.q_proj`` is ``BioGptForCausalLM``'s ``biogpt.layers.0.self_attn.q_proj``), so
``PeftModel.from_pretrained(<transformers model of the base>, <adapter dir>)`` loads it as it is.

``peft`` imports ``transformers``: a run with ``peft=lora`` needs both installed (the ``peft`` extra);
``peft=none``, the default, imports neither, so the BioGPT path stays free of ``transformers``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from biogpt.model.backbone import DECODER, ENCODER_DECODER, Backbone
from biogpt.optional import require_peft

PEFT_METHODS = ("none", "lora", "qlora")
ADAPTER_NAME = "default"  # peft's name of a model's one adapter
ADAPTER_CONFIG_FILE = "adapter_config.json"
ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors"
# An unmerged model directory: the adapter in ADAPTER_DIR, the soft prompt's embedding rows beside it.
ADAPTER_DIR = "adapter"
PROMPT_ROWS_FILE = "prompt_rows.safetensors"
PROMPT_ROWS_KEY = "rows"
FIRST_ROW_KEY = "first_row"
# peft's prefix of an adapter's weight names: PeftModel.base_model (the tuner) .model (the network)
PEFT_PREFIX = "base_model.model."
LORA_MARKERS = (".lora_A.", ".lora_B.")
BASE_LAYER = ".base_layer"
TASK_TYPES = {DECODER: "CAUSAL_LM", ENCODER_DECODER: "SEQ_2_SEQ_LM"}  # peft's, by backbone kind


class AdapterSetupError(ValueError):
    """A ``peft`` setting this run cannot honour (the message says which and what to do instead)."""


@dataclass(frozen=True)
class PeftSettings:
    """The ``peft`` config group: which parameter-efficient method trains the backbone and its shape.

    ``method``: ``none`` (every weight trains), ``lora`` (low-rank adapters on a frozen base) or ``qlora``
    (the same over a base loaded in 4-bit NF4, CUDA only); ``r``, ``alpha``, ``dropout``: the adapters'
    rank, scale numerator (updates are scaled by ``alpha / r``) and input dropout; ``target_modules``:
    the projections adapted by the family's own module names (None: the family's defaults,
    :attr:`Backbone.adapter_targets`); ``merge``: whether ``final/`` holds the merged full model (every
    command reads it unchanged) or the adapter and a reference to its base.
    """

    method: str = "none"
    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    target_modules: tuple[str, ...] | None = None
    merge: bool = True

    def __post_init__(self) -> None:
        if self.method not in PEFT_METHODS:
            raise ValueError(f"peft.method={self.method!r}; valid choices: {', '.join(PEFT_METHODS)}")
        if self.r < 1:
            raise ValueError(f"peft.r must be >= 1, got {self.r}")
        if self.alpha <= 0:
            raise ValueError(f"peft.alpha must be > 0, got {self.alpha}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"peft.dropout must be in [0, 1), got {self.dropout}")
        if self.target_modules is not None and not self.target_modules:
            raise ValueError("peft.target_modules is empty: name modules, or null for the family's defaults")

    @property
    def enabled(self) -> bool:
        return self.method != "none"


def check_device(settings: PeftSettings) -> None:
    """Refuse ``qlora`` on a machine without CUDA before anything is loaded, so that no run silently
    trains plain LoRA under its name: bitsandbytes' 4-bit training is a CUDA path (its CPU kernels, plain
    ``torch`` and slow, serve the tests)."""
    if settings.method == "qlora" and not torch.cuda.is_available():
        raise AdapterSetupError(
            "peft=qlora loads the frozen base in 4-bit NF4 through bitsandbytes, which needs a CUDA GPU, "
            "and this machine has none; use peft=lora (the same adapters over an unquantised base)"
        )


def lora_config(backbone: Backbone, settings: PeftSettings, base: str | None = None) -> Any:
    """``peft``'s ``LoraConfig`` of ``settings`` for ``backbone`` (``base``: what
    ``base_model_name_or_path`` names)."""
    peft = require_peft(f"peft={settings.method}")
    targets = settings.target_modules or backbone.adapter_targets
    return peft.LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(targets),
        fan_in_fan_out=backbone.adapter_fan_in_fan_out,
        bias="none",
        task_type=TASK_TYPES[backbone.kind],
        base_model_name_or_path=base,
    )


def add_adapters(backbone: Backbone, config: Any) -> Backbone:
    """Put ``config``'s LoRA layers into ``backbone`` in place (``peft`` initialises B to zero, so the
    network computes what it did) and freeze every other weight; returns ``backbone``."""
    peft = require_peft("a LoRA adapter")
    try:
        peft.inject_adapter_in_model(config, backbone, adapter_name=ADAPTER_NAME)
    except ValueError as error:  # no module matched target_modules
        raise AdapterSetupError(
            f"peft.target_modules={list(config.target_modules)}: {error}; the defaults of this "
            f"{backbone.family} backbone are {list(backbone.adapter_targets)}"
        ) from error
    # Adapters on a 4-bit base are made in its compute dtype (bf16); they train in float32, as
    # peft's get_peft_model leaves them.
    from peft.tuners.tuners_utils import cast_adapter_dtype

    cast_adapter_dtype(backbone, ADAPTER_NAME)
    return backbone


def adapted_config(backbone: Backbone) -> Any | None:
    """The ``LoraConfig`` of the adapters in ``backbone`` (None: it has none)."""
    configs = getattr(backbone, "peft_config", None)
    return None if not configs else configs[ADAPTER_NAME]


def is_adapter_weight(name: str) -> bool:
    return any(marker in name for marker in LORA_MARKERS)


def adapter_key(backbone: Backbone, name: str) -> str:
    """The key ``peft`` saves the adapter weight ``name`` of ``backbone`` under, for the family's
    ``transformers`` class: ``base_model.model.<transformers name>.lora_A.weight``."""
    return PEFT_PREFIX + backbone.transformers_name(name.removesuffix(f".{ADAPTER_NAME}.weight")) + ".weight"


def adapter_weights(backbone: Backbone, state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The adapter's weights of ``state`` (the backbone's names), keyed as ``peft`` saves them."""
    return {adapter_key(backbone, name): tensor for name, tensor in state.items() if is_adapter_weight(name)}


def merged_weights(state: Mapping[str, Tensor], config: Any) -> dict[str, Tensor]:
    """``state`` (an adapted backbone's weights) with each adapter merged into its base weight, as
    ``peft``'s ``merge_and_unload`` merges it, under the plain network's names: what the full model
    with these adapters' updates holds.

    Computed from the weights rather than on live modules, so that averaged or best-epoch weights merge
    without being loaded into the training network (under FSDP only the gathered copy is whole).
    """
    from peft.utils.other import transpose

    if config.use_rslora or config.rank_pattern or config.alpha_pattern or config.use_dora:
        raise ValueError("merging covers one rank and alpha for every layer, without rsLoRA or DoRA")
    scaling = config.lora_alpha / config.r
    merged: dict[str, Tensor] = {}
    for name, tensor in state.items():
        if is_adapter_weight(name):
            continue
        merged[name.replace(BASE_LAYER, "")] = tensor
    for name, tensor in state.items():
        if ".lora_A." not in name:
            continue
        module = name.split(".lora_A.")[0]
        weight_b = state[name.replace(".lora_A.", ".lora_B.")]
        delta = transpose(weight_b.double() @ tensor.double(), config.fan_in_fan_out) * scaling
        base = merged[module + ".weight"]
        merged[module + ".weight"] = (base.double() + delta).to(base.dtype)
    return merged


def save_adapter(
    directory: Path, backbone: Backbone, state: Mapping[str, Tensor], config: Any | None = None
) -> Path:
    """Write ``peft``'s adapter directory (``adapter_config.json``, ``adapter_model.safetensors``) of the
    adapters in ``state`` (the adapted ``backbone``'s weights); ``config``: the ``LoraConfig`` to record,
    by default the backbone's."""
    config = config or adapted_config(backbone)
    if config is None:
        raise ValueError("the backbone carries no adapters to save")
    directory.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(str(directory))
    weights = adapter_weights(backbone, state)
    weights = {key: value.detach().contiguous().cpu() for key, value in weights.items()}
    save_file(weights, str(directory / ADAPTER_WEIGHTS_FILE), metadata={"format": "pt"})
    return directory


def is_adapter_dir(directory: Path) -> bool:
    return (directory / ADAPTER_CONFIG_FILE).is_file() and (directory / ADAPTER_WEIGHTS_FILE).is_file()


def adapter_base(directory: Path) -> str:
    """The base model an adapter directory names (``base_model_name_or_path``)."""
    path = directory / ADAPTER_CONFIG_FILE
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    base = values.get("base_model_name_or_path") if isinstance(values, dict) else None
    if not isinstance(base, str) or not base:
        raise ValueError(f"{path}: no 'base_model_name_or_path' naming the model the adapter was trained on")
    return base


def load_adapter(backbone: Backbone, directory: Path) -> Backbone:
    """Put the adapter saved in ``directory`` into ``backbone`` (its base), unmerged; returns ``backbone``."""
    peft = require_peft(f"the adapter in {directory}")
    config = peft.LoraConfig.from_pretrained(str(directory))
    config.inference_mode = True
    add_adapters(backbone, config)
    stored = load_file(str(directory / ADAPTER_WEIGHTS_FILE))
    names = [name for name, _ in backbone.named_parameters() if is_adapter_weight(name)]
    expected = {adapter_key(backbone, name): name for name in names}
    missing = sorted(set(expected) - set(stored))
    unexpected = sorted(set(stored) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{directory / ADAPTER_WEIGHTS_FILE}: does not fit its base; missing {missing[:4]} "
            f"({len(missing)} in all), unexpected {unexpected[:4]} ({len(unexpected)} in all)"
        )
    parameters = dict(backbone.named_parameters())
    with torch.no_grad():
        for key, name in expected.items():
            parameters[name].copy_(stored[key])
    return backbone


def save_prompt_rows(
    directory: Path, backbone: Backbone, state: Mapping[str, Tensor], base_rows: int
) -> Path:
    """Write the input embedding's rows of ``state`` past the base's ``base_rows`` (a soft prompt's,
    trained beside an adapter, which the base lacks)."""
    embedding = backbone.input_embeddings().weight
    name = next(name for name, param in backbone.named_parameters() if param is embedding)
    rows = state[name][base_rows:].detach().contiguous().cpu()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / PROMPT_ROWS_FILE
    save_file({PROMPT_ROWS_KEY: rows}, str(path), metadata={FIRST_ROW_KEY: str(base_rows)})
    return path


def load_adapted(directory: Path, base: Backbone) -> Backbone:
    """An unmerged model directory's network: ``base`` (the network its adapter names, loaded by the
    caller) with the directory's prompt rows appended and its adapter put in."""
    rows_path = directory / PROMPT_ROWS_FILE
    if rows_path.is_file():
        from safetensors import safe_open

        with safe_open(str(rows_path), framework="pt") as stored:
            first_row = int((stored.metadata() or {}).get(FIRST_ROW_KEY, -1))
            rows = stored.get_tensor(PROMPT_ROWS_KEY)
        if first_row != base.vocab_size:
            raise ValueError(
                f"{rows_path}: rows from {first_row} on, but the base has {base.vocab_size} embedding rows"
            )
        base.grow_embeddings(rows)
    return load_adapter(base, directory / ADAPTER_DIR)
