"""The network a run starts from, as the ``model`` config group names it.

A fresh BioGPT of a preset shape, or weights of any supported family (in 4-bit NF4 for QLoRA's frozen
base), with the tokenizer that goes with them; the same network's outline on the meta device, for an
export that reads no weights; and what an adapter trained on it names as its base.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from biogpt.artifacts.vocabulary import load_vocabulary, vocabulary_source
from biogpt.model import BioGPT, BioGPTConfig
from biogpt.model.adapters import AdapterSetupError
from biogpt.model.backbone import Backbone
from biogpt.model.loading import (
    BIOGPT_FAMILY,
    dropout_overrides,
    load_network,
    local_source,
    outline_network,
    source_family,
)
from biogpt.model.quantized import load_quantized
from biogpt.tokenizer import BioGPTTokenizer
from biogpt.tokenizer.protocol import Tokenizer


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
    source stands as ``settings.preset``'s shape, as in :func:`load_backbone_tokenizer`."""
    family = BIOGPT_FAMILY if settings.init is None else source_family(local_source(settings.init))
    if family != BIOGPT_FAMILY:
        assert settings.init is not None
        return outline_network(local_source(settings.init))
    with torch.device("meta"):
        return BioGPT(_preset_shape(settings))


def load_backbone_tokenizer(
    settings: BackboneSettings, *, tokenizer: str | None, vocab_root: Path
) -> Tokenizer:
    """The tokenizer :func:`load_backbone` would pair with the network, without loading any weights:
    where a BioGPT source holds no vocabulary, ``settings.preset``'s shape stands for the weights'."""
    family = BIOGPT_FAMILY if settings.init is None else source_family(local_source(settings.init))
    rows = _preset_shape(settings).vocab_size if family == BIOGPT_FAMILY else 0
    source = vocabulary_source(settings.init, rows, family=family, tokenizer=tokenizer, vocab_root=vocab_root)
    return load_vocabulary(source, family)


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


def _preset_shape(settings: BackboneSettings) -> BioGPTConfig:
    if settings.preset is None:
        raise ValueError(
            f"model.init={settings.init!r} needs model.preset (a BioGPT shape) to pick its vocabulary"
        )
    return BioGPTConfig.from_preset(settings.preset)
