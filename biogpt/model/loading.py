"""Any supported network from where it is stored: one entry point for every backbone family.

A source is a Hugging Face directory or hub id, a fairseq release checkpoint, or one of our Lightning
checkpoints. Its ``model_type`` picks the implementation: ``biogpt`` (and fairseq checkpoints) load
into our own :class:`~biogpt.model.BioGPT`, the :data:`~biogpt.model.hf.FAMILIES` into
:class:`~biogpt.model.hf.HFBackbone`. Hub ids are fetched once through ``huggingface_hub``
(:func:`~biogpt.model.weights.download_from_hub`), whose cache and offline errors every family shares.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from biogpt.errors import MissingFileError
from biogpt.model.adapters import (
    ADAPTER_DIR,
    adapter_base,
    is_adapter_dir,
    load_adapted,
)
from biogpt.model.backbone import Backbone
from biogpt.model.hf import HF_CONFIG_KEY, HFBackbone, check_family, model_type
from biogpt.model.pretrained import BioGPT
from biogpt.model.safe_pickle import safe_load
from biogpt.model.weights import (
    download_from_hub,
    lightning_weights,
    looks_like_hub_id,
    read_pretrained,
    stored_weights,
)

BIOGPT_FAMILY = "biogpt"


def local_source(source: str | Path) -> Path:
    """The local path of a source: itself, or a hub id's snapshot in the huggingface_hub cache."""
    path = Path(source)
    if not path.exists() and looks_like_hub_id(str(source)):
        return download_from_hub(str(source))
    if not path.exists():
        raise MissingFileError(
            f"{source}: no such file or directory, and not a hub id of the form 'org/name'"
        )
    return path


def source_family(path: Path) -> str:
    """``biogpt`` or the ``transformers`` family of a local source."""
    if path.is_dir():
        family = model_type(path)  # None: a fairseq release directory
    else:
        checkpoint = _hf_lightning_config(path)
        family = None if checkpoint is None else str(checkpoint.get("model_type"))
    if family in (None, BIOGPT_FAMILY):
        return BIOGPT_FAMILY
    check_family(family, str(path))
    return family


def load_network(
    source: str | Path,
    *,
    dtype: torch.dtype = torch.float32,
    dropout: float | None = None,
    attention_dropout: float | None = None,
) -> Backbone:
    """The network stored at ``source``; ``dropout``/``attention_dropout`` replace the stored
    regularisation where given (fine-tuning sets its own).

    A model directory holding only an adapter (``adapter/``, a ``peft.merge=false`` run's ``final/``)
    loads as the base its adapter names with the adapter in it, unmerged.
    """
    path = local_source(source)
    if _holds_only_an_adapter(path):
        base = load_network(adapter_base(path / ADAPTER_DIR), dtype=dtype)
        return load_adapted(path, base)
    if source_family(path) == BIOGPT_FAMILY:
        weights = read_pretrained(path)
        regularisation = dropout_overrides(dropout, attention_dropout)
        weights = replace(weights, config=replace(weights.config, **regularisation), source=str(source))
        return BioGPT.from_weights(weights, dtype=dtype)
    if path.is_file():
        checkpoint = safe_load(path)
        backbone = HFBackbone.from_config(checkpoint[HF_CONFIG_KEY], lightning_weights(checkpoint, str(path)))
        return backbone.to(dtype)
    return HFBackbone.from_pretrained(path, dtype=dtype, dropout=dropout, attention_dropout=attention_dropout)


def locate_network(source: str | Path) -> Path:
    """The local path of the network at ``source`` (a hub id's cached snapshot), checked to hold what
    :func:`load_network` reads, without reading a weight: a directory of a supported family with its
    weights, an adapter directory whose base is one, or a checkpoint file. A service locates its model
    before it starts the workers that load it, so a wrong path is one error line, not a worker's
    traceback."""
    path = local_source(source)
    if _holds_only_an_adapter(path):
        locate_network(adapter_base(path / ADAPTER_DIR))
    elif path.is_dir():
        source_family(path)
        stored_weights(path)
    return path


def _holds_only_an_adapter(path: Path) -> bool:
    """A ``peft.merge=false`` run's ``final/``: an adapter (``adapter/``) and no network of its own."""
    return path.is_dir() and model_type(path) is None and is_adapter_dir(path / ADAPTER_DIR)


def outline_network(path: Path) -> Backbone:
    """The ``transformers`` network stored at ``path`` built on the meta device from its config alone:
    its kind, positions and special ids, with no weight read or allocated (an export lays examples out
    as training would without loading a large model)."""
    values = _hf_lightning_config(path) if path.is_file() else _directory_config(path)
    if values is None:
        raise ValueError(f"{path}: not a transformers model directory or Lightning checkpoint of one")
    with torch.device("meta"):
        return HFBackbone.from_config(values)


def _directory_config(directory: Path) -> dict[str, Any]:
    model_type(directory)  # raises naming the file when config.json is malformed
    return json.loads((directory / "config.json").read_text(encoding="utf-8"))


def dropout_overrides(dropout: float | None, attention_dropout: float | None) -> dict[str, float]:
    """The BioGPT config fields to replace: the given rates (None: keep the config's own)."""
    values = {"dropout": dropout, "attention_dropout": attention_dropout}
    return {name: value for name, value in values.items() if value is not None}


def _hf_lightning_config(path: Path) -> Mapping[str, Any] | None:
    """The transformers config a Lightning checkpoint of ours records, if it holds such a backbone."""
    if path.suffix != ".ckpt":
        return None
    checkpoint = safe_load(path)
    values = checkpoint.get(HF_CONFIG_KEY) if isinstance(checkpoint, Mapping) else None
    return values if isinstance(values, Mapping) else None
