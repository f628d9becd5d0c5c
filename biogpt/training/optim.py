"""The paper's optimiser and schedule: Adam (0.9, 0.98) with decoupled weight decay, inverse square root.

fairseq's Adam applies weight decay to every parameter, decoupled from the gradient (AdamW). Its
``inverse_sqrt`` schedule warms up linearly from ``warmup_init_lr`` to ``lr`` over ``warmup_updates``
updates, then decays as ``lr * sqrt(warmup_updates / update)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-5
    warmup_updates: int = 100
    warmup_init_lr: float = 1e-7
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-8
    weight_decay: float = 0.01

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.warmup_updates < 0:
            raise ValueError(
                f"optim.lr must be > 0 and optim.warmup_updates >= 0, got {self.lr}, {self.warmup_updates}"
            )


def inverse_sqrt_factor(config: OptimConfig, update: int) -> float:
    """Multiplier of ``config.lr`` after ``update`` optimizer updates."""
    if update < config.warmup_updates:
        return (
            config.warmup_init_lr + update * (config.lr - config.warmup_init_lr) / config.warmup_updates
        ) / config.lr
    return (max(config.warmup_updates, 1) / max(update, 1)) ** 0.5


def build_optimizer(
    config: OptimConfig, param_groups: Iterable[dict]
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    optimizer = torch.optim.AdamW(
        param_groups, lr=config.lr, betas=config.betas, eps=config.eps, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda update: inverse_sqrt_factor(config, update)
    )
    return optimizer, scheduler
