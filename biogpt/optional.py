"""Optional dependencies: imported where a feature needs them, with an error that says how to install them.

``transformers`` runs the non-BioGPT backbones and their tokenizers only; the BioGPT path never imports it
unless ``peft`` (LoRA adapters, which imports ``transformers`` itself) is chosen. ``optuna`` runs the
hyperparameter searches (``hparams_search=...``) only.
"""

from __future__ import annotations

from types import ModuleType

BACKBONES_INSTALL = "pip install -e '.[backbones]' (transformers and sentencepiece)"
PEFT_INSTALL = "pip install -e '.[peft]' (peft, with transformers)"
SEARCH_INSTALL = "pip install -e '.[search]' (optuna, with SQLAlchemy)"
QLORA_INSTALL = "pip install -e '.[qlora]' (bitsandbytes, with peft and transformers)"


class MissingDependencyError(ImportError):
    """An optional dependency a chosen feature needs is not installed; the message says how to install it."""


def require_transformers(what: str) -> ModuleType:
    """The ``transformers`` module, or an error naming what needs it and how to install it."""
    try:
        import transformers
    except ImportError as error:
        raise MissingDependencyError(
            f"{what} runs through transformers, which is not installed: {BACKBONES_INSTALL}"
        ) from error
    return transformers


def require_peft(what: str) -> ModuleType:
    """The ``peft`` module (LoRA adapters, :mod:`biogpt.model.adapters`), or an error naming what needs it
    and how to install it."""
    try:
        import peft
    except ImportError as error:
        raise MissingDependencyError(
            f"{what} runs through peft, which is not installed: {PEFT_INSTALL}"
        ) from error
    return peft


def require_bitsandbytes(what: str) -> ModuleType:
    """The ``bitsandbytes`` module (QLoRA's 4-bit NF4 base, :mod:`biogpt.model.quantized`), or an error
    naming what needs it and how to install it."""
    try:
        import bitsandbytes
    except ImportError as error:
        raise MissingDependencyError(
            f"{what} runs through bitsandbytes, which is not installed: {QLORA_INSTALL}"
        ) from error
    return bitsandbytes


def require_optuna(what: str) -> ModuleType:
    """The ``optuna`` module (hyperparameter searches, :mod:`biogpt.experiment.search`), or an error naming
    what needs it and how to install it."""
    try:
        import optuna
    except ImportError as error:
        raise MissingDependencyError(
            f"{what} runs through optuna, which is not installed: {SEARCH_INSTALL}"
        ) from error
    return optuna


SERVE_INSTALL = "pip install -e '.[serve]' (litserve, with fastapi and uvicorn)"


def require_litserve(what: str) -> ModuleType:
    """The ``litserve`` module (``biogpt-serve``), or an error naming what needs it and how to install it."""
    try:
        import litserve
    except ImportError as error:
        raise MissingDependencyError(
            f"{what} runs on litserve, which is not installed: {SERVE_INSTALL}"
        ) from error
    return litserve
