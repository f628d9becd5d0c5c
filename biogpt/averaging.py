"""Checkpoint averaging: the paper evaluates the average of the last 5 epoch checkpoints.

Parameters are averaged in float64 (summing many float16/float32 copies in their own precision
loses low bits) and cast back to their stored dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from biogpt.safe_pickle import safe_load

MODEL_PREFIX = "model."


def lightning_model_state(path: Path) -> dict[str, torch.Tensor]:
    """The BioGPT weights inside one of our Lightning checkpoints (``model.*`` entries)."""
    checkpoint = safe_load(path)
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a Lightning checkpoint (no 'state_dict')")
    weights = {
        key[len(MODEL_PREFIX) :]: value for key, value in state.items() if key.startswith(MODEL_PREFIX)
    }
    if not weights:
        raise ValueError(f"{path}: its state_dict holds no '{MODEL_PREFIX}*' weights")
    return weights


def average_checkpoints(paths: Sequence[Path]) -> dict[str, torch.Tensor]:
    if not paths:
        raise ValueError("no checkpoints to average")
    total: dict[str, torch.Tensor] = {}
    dtypes: dict[str, torch.dtype] = {}
    for path in paths:
        state = lightning_model_state(path)
        if total and state.keys() != total.keys():
            raise ValueError(f"{path}: its parameters differ from those of {paths[0]}")
        for key, value in state.items():
            dtypes[key] = value.dtype
            total[key] = total.get(key, 0) + value.double()
    return {key: (value / len(paths)).to(dtypes[key]) for key, value in total.items()}
