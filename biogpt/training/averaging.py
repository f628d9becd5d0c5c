"""Checkpoint averaging: the paper evaluates the average of the last 5 epoch checkpoints.

Parameters are averaged in float64 (summing many float16/float32 copies in their own precision
loses low bits) and cast back to their stored dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from biogpt.model.safe_pickle import safe_load
from biogpt.model.weights import lightning_weights


def average_checkpoints(paths: Sequence[Path]) -> dict[str, torch.Tensor]:
    if not paths:
        raise ValueError("no checkpoints to average")
    total: dict[str, torch.Tensor] = {}
    dtypes: dict[str, torch.dtype] = {}
    for path in paths:
        state = lightning_weights(safe_load(path), str(path))
        if total and state.keys() != total.keys():
            raise ValueError(f"{path}: its parameters differ from those of {paths[0]}")
        for key, value in state.items():
            dtypes[key] = value.dtype
            total[key] = total.get(key, 0) + value.double()
    return {key: (value / len(paths)).to(dtypes[key]) for key, value in total.items()}
