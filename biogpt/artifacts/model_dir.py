"""The model directory every run writes (``<run dir>/final``) and every command reads, and which
vocabulary goes with which model source.

A model directory holds the weights and config in the Hugging Face layout, the tokenizer (added
prompt tokens included) and, for fine-tuned models, ``prompt.json``: the prompt it was trained with.
Fine-tuning, pre-training, evaluation, generation and the demo all save and load through this module,
so what one writes the others read.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from biogpt.errors import MissingFileError
from biogpt.generation.tasks import Generator
from biogpt.model import PRESETS, BioGPT, BioGPTConfig
from biogpt.model.adapters import (
    ADAPTER_DIR,
    AdapterSetupError,
    adapted_config,
    merged_weights,
    save_adapter,
    save_prompt_rows,
)
from biogpt.model.backbone import Backbone
from biogpt.model.loading import (
    BIOGPT_FAMILY,
    dropout_overrides,
    load_network,
    local_source,
    outline_network,
    source_family,
)
from biogpt.model.precision import inference_device
from biogpt.model.quantized import load_quantized, quantized_modules, with_float_base
from biogpt.model.weights import looks_like_hub_id
from biogpt.prompts import PromptSettings, prompt_tokens
from biogpt.tokenizer import BioGPTTokenizer
from biogpt.tokenizer.family import FamilyTokenizer
from biogpt.tokenizer.protocol import Tokenizer
from biogpt.tokenizer.vocab import FAIRSEQ_FILES, HF_FILES

logger = logging.getLogger(__name__)

PROMPT_FILE = "prompt.json"
# The released vocabularies, as directories under a vocabulary root (``<data_dir>/vocab``).
BIOGPT_VOCABULARY = "biogpt"
BIOGPT_LARGE_VOCABULARY = "biogpt-large"
# A saved transformers tokenizer.
TOKENIZERS_FILES = ("tokenizer.json",)


def released_vocabulary(vocab_root: Path, rows: int) -> Path:
    """The released vocabulary a BioGPT network with ``rows`` embedding rows was trained with.

    BioGPT-Large's dictionary is the larger one; a network with at least as many embedding rows uses
    it (rows past the dictionary are a fine-tuned model's prompt rows), any other uses BioGPT's.
    """
    large = rows >= PRESETS[BIOGPT_LARGE_VOCABULARY].vocab_size
    return vocab_root / (BIOGPT_LARGE_VOCABULARY if large else BIOGPT_VOCABULARY)


def holds_vocabulary(directory: Path) -> bool:
    """Whether ``directory`` holds a tokenizer (Hugging Face, fairseq or ``tokenizers`` files)."""
    return any(
        all((directory / name).is_file() for name in files)
        for files in (HF_FILES, FAIRSEQ_FILES, TOKENIZERS_FILES)
    )


def vocabulary_source(
    model_source: str | None,
    rows: int,
    *,
    family: str = BIOGPT_FAMILY,
    tokenizer: str | None,
    vocab_root: Path,
) -> str | Path:
    """Where the tokenizer of a model comes from, in this order:

    an explicit ``tokenizer``; the model's own directory when it holds a vocabulary; a hub id's own
    tokenizer files; else (a bare fairseq checkpoint, a directory without one, a fresh network) the
    released vocabulary of a BioGPT network with ``rows`` embedding rows under ``vocab_root``. Other
    families always bring their own tokenizer.
    """
    if tokenizer:
        return tokenizer
    if model_source is not None:
        path = Path(model_source)
        if path.is_dir() and holds_vocabulary(path):
            return path
        if not path.exists() and looks_like_hub_id(model_source):
            return model_source
    if family != BIOGPT_FAMILY:
        raise MissingFileError(
            f"{model_source}: a {family} model without its tokenizer files; "
            "give them with tokenizer=<directory>"
        )
    return released_vocabulary(vocab_root, rows)


def load_vocabulary(source: str | Path, family: str) -> Tokenizer:
    """The tokenizer at ``source`` (a directory or hub id) for a network of ``family``: BioGPT's own
    reimplementation, or the family's ``transformers`` tokenizer."""
    if family == BIOGPT_FAMILY:
        return BioGPTTokenizer.from_pretrained(source)
    return FamilyTokenizer.from_pretrained(local_source(source))


def save_model_dir(
    directory: Path,
    model: Backbone,
    tokenizer: Tokenizer,
    prompt: PromptSettings | None = None,
    *,
    weights: dict[str, torch.Tensor] | None = None,
    merge: bool = True,
    base_rows: int | None = None,
) -> Path:
    """Write a model directory: ``weights`` (e.g. averaged checkpoints) or the model's own, the
    tokenizer, and the prompt the model was trained with (None: a plain language model).

    A model carrying ``peft`` adapters also writes them to ``adapter/`` (a ``peft`` adapter directory
    naming its base); the directory's model is then the merged full model (``merge``), which every
    command reads as any other, or nothing but the embedding rows past the base's ``base_rows`` (a soft
    prompt's, ``prompt_rows.safetensors``), so that loading it reads the base and adds rows and adapter.
    """
    state = model.state_dict() if weights is None else weights
    config = adapted_config(model)
    if config is None:
        model.save_pretrained(directory, weights)
        return _save_tokenizer_and_prompt(directory, tokenizer, prompt)
    writer = model
    if quantized_modules(model):
        # A 4-bit base (QLoRA) is written from its float weights: the merged model adds the adapters to
        # them, and the network that writes it is the float base (grown by the prompt's rows).
        writer = _float_base(model, config)
        state = with_float_base(state, model, writer.state_dict())
        config = copy.copy(config)
        config.fan_in_fan_out = writer.adapter_fan_in_fan_out  # GPT-2's Conv1D, which bitsandbytes replaced
    save_adapter(directory / ADAPTER_DIR, model, state, config)
    if merge:
        writer.save_pretrained(directory, merged_weights(state, config))
    elif base_rows is not None and model.vocab_size > base_rows:
        save_prompt_rows(directory, model, state, base_rows)
    return _save_tokenizer_and_prompt(directory, tokenizer, prompt)


def _float_base(model: Backbone, config: Any) -> Backbone:
    """The float32 network an adapted 4-bit ``model`` was quantised from (the adapter's base), with as
    many embedding rows as ``model`` (a soft prompt's rows past the base's, here as ``model`` holds them)."""
    base = load_network(config.base_model_name_or_path)
    rows = model.input_embeddings().weight
    if rows.shape[0] > base.vocab_size:
        base.grow_embeddings(rows[base.vocab_size :].detach().float().cpu())
    return base


def _save_tokenizer_and_prompt(directory: Path, tokenizer: Tokenizer, prompt: PromptSettings | None) -> Path:
    tokenizer.save_pretrained(directory)
    if prompt is not None:
        (directory / PROMPT_FILE).write_text(json.dumps(asdict(prompt), indent=2) + "\n")
    return directory


def adapter_base_reference(settings: BackboneSettings) -> str:
    """What an adapter trained on ``settings``' network names as its base: a hub id as it is, a local
    path made absolute (so the adapter loads from anywhere on this machine)."""
    if settings.init is None:
        raise AdapterSetupError(
            "peft adapts pretrained weights, and model.init is null (a fresh, random network): "
            "set model.init=<hub id, HF directory or checkpoint> or use peft=none"
        )
    path = Path(settings.init)
    return str(path.resolve()) if path.exists() else settings.init


def load_generator(
    source: str | Path,
    *,
    tokenizer: str | None = None,
    vocab_root: Path,
    prompt: PromptSettings,
    dtype: torch.dtype = torch.float32,
) -> Generator:
    """Model, tokenizer and prompt from ``source`` (a model directory, HF directory or hub id, or a
    fairseq checkpoint); ``prompt`` applies where the source records none. ``dtype``: the precision of
    the weights, and so of the KV cache decoding allocates (``torch.bfloat16``: lower-precision inference).

    Our model directories record their prompt (``prompt.json``). A fine-tuned release checkpoint's
    prompt is its ``learned1..N`` rows past the vocabulary. The prompt's soft tokens are added to the
    tokenizer here, once, so its ids match the model's rows.
    """
    model = load_network(source, dtype=dtype).to(inference_device())
    vocabulary = vocabulary_source(
        str(source), model.vocab_size, family=model.family, tokenizer=tokenizer, vocab_root=vocab_root
    )
    loaded_tokenizer = load_vocabulary(vocabulary, model.family)
    path = Path(source)
    if (path / PROMPT_FILE).is_file():
        prompt = PromptSettings(**json.loads((path / PROMPT_FILE).read_text()))
        logger.info("prompt of %s: %s", source, prompt)
    elif model.family == BIOGPT_FAMILY and model.vocab_size > loaded_tokenizer.vocab_size:
        prompt = PromptSettings(kind="soft", length=model.vocab_size - loaded_tokenizer.vocab_size)
        logger.info("%s carries %d learned prompt rows: prompt %s", source, prompt.length, prompt.echo())
    loaded_tokenizer.add_tokens(prompt_tokens(prompt, loaded_tokenizer).new_tokens)
    if loaded_tokenizer.vocab_size > model.vocab_size:
        raise ValueError(
            f"{source}: the model has {model.vocab_size} embedding rows but its tokenizer "
            f"({vocabulary}) with the prompt {prompt} needs {loaded_tokenizer.vocab_size}; give the "
            "prompt it was trained with (prompt=...), or a model directory that records it"
        )
    return Generator(model.eval(), loaded_tokenizer, prompt)


@dataclass(frozen=True)
class BackboneSettings:
    """The ``model`` config group: the network to train.

    ``preset``: a named BioGPT shape for a fresh network (see ``BioGPTConfig.from_preset``); ``init``:
    weights to start from instead (a model directory, HF directory or hub id of any supported family,
    fairseq or Lightning checkpoint); ``dropout``/``attention_dropout``: the regularisation to train
    with, whatever the weights were trained with (None: keep the checkpoint's own).
    """

    preset: str | None = "biogpt"
    init: str | None = None
    dropout: float | None = 0.1
    attention_dropout: float | None = 0.1

    def __post_init__(self) -> None:
        if self.preset is None and self.init is None:
            raise ValueError(
                "model.preset and model.init are both null: name a BioGPT shape or weights to load"
            )


def load_backbone(
    settings: BackboneSettings, *, tokenizer: str | None, vocab_root: Path, quantized: bool = False
) -> tuple[Backbone, Tokenizer]:
    """The network to train and its tokenizer (:func:`vocabulary_source` picks the vocabulary);
    ``quantized``: ``model.init``'s projections in 4-bit NF4 (QLoRA's frozen base).

    A fresh network gets as many embedding rows as the tokenizer has vocabulary pieces (a vocabulary
    learned for a new corpus may differ from the preset's released one); its initialisation draws
    from torch's generator, which the caller seeds.
    """
    if settings.init is None:
        shape = _preset_shape(settings)
        vocabulary = vocabulary_source(None, shape.vocab_size, tokenizer=tokenizer, vocab_root=vocab_root)
        loaded_tokenizer = BioGPTTokenizer.from_pretrained(vocabulary)
        rows = loaded_tokenizer.vocab_size - len(loaded_tokenizer.added_tokens)
        regularisation = dropout_overrides(settings.dropout, settings.attention_dropout)
        return BioGPT(replace(shape, vocab_size=rows, **regularisation)), loaded_tokenizer
    load = load_quantized if quantized else load_network
    model = load(settings.init, dropout=settings.dropout, attention_dropout=settings.attention_dropout)
    vocabulary = vocabulary_source(
        settings.init, model.vocab_size, family=model.family, tokenizer=tokenizer, vocab_root=vocab_root
    )
    return model, load_vocabulary(vocabulary, model.family)


def outline_backbone(settings: BackboneSettings) -> Backbone:
    """The configured network's structure on the meta device (kind, positions, decoder start id), with
    no weights read or allocated: what an export needs to lay examples out as training will. A BioGPT
    source stands as ``settings.preset``'s shape, as in :func:`load_tokenizer`."""
    family = BIOGPT_FAMILY if settings.init is None else source_family(local_source(settings.init))
    if family != BIOGPT_FAMILY:
        assert settings.init is not None
        return outline_network(local_source(settings.init))
    with torch.device("meta"):
        return BioGPT(_preset_shape(settings))


def load_tokenizer(settings: BackboneSettings, *, tokenizer: str | None, vocab_root: Path) -> Tokenizer:
    """The tokenizer :func:`load_backbone` would pair with the network, without loading any weights:
    where a BioGPT source holds no vocabulary, ``settings.preset``'s shape stands for the weights'."""
    family = BIOGPT_FAMILY if settings.init is None else source_family(local_source(settings.init))
    rows = _preset_shape(settings).vocab_size if family == BIOGPT_FAMILY else 0
    source = vocabulary_source(settings.init, rows, family=family, tokenizer=tokenizer, vocab_root=vocab_root)
    return load_vocabulary(source, family)


def _preset_shape(settings: BackboneSettings) -> BioGPTConfig:
    if settings.preset is None:
        raise ValueError(
            f"model.init={settings.init!r} needs model.preset (a BioGPT shape) to pick its vocabulary"
        )
    return BioGPTConfig.from_preset(settings.preset)
