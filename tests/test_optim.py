"""The inverse square root schedule of fairseq, as the paper trains with it."""

from __future__ import annotations

import pytest
import torch

from biogpt.training.optim import OptimConfig, build_optimizer, inverse_sqrt_factor


def test_linear_warmup_from_init_lr_then_inverse_square_root() -> None:
    config = OptimConfig(lr=1e-4, warmup_updates=100, warmup_init_lr=1e-7)
    lr = [config.lr * inverse_sqrt_factor(config, update) for update in (0, 50, 100, 400, 10000)]
    assert lr[0] == pytest.approx(1e-7)
    assert lr[1] == pytest.approx(1e-7 + 50 * (1e-4 - 1e-7) / 100)
    assert lr[2] == pytest.approx(1e-4)
    assert lr[3] == pytest.approx(1e-4 * (100 / 400) ** 0.5)
    assert lr[4] == pytest.approx(1e-5)


def test_optimizer_is_adam_with_decoupled_weight_decay_and_the_schedule_steps_per_update() -> None:
    param = torch.nn.Parameter(torch.ones(3))
    optimizer, scheduler = build_optimizer(OptimConfig(lr=1e-3, warmup_updates=4), [{"params": [param]}])
    assert isinstance(optimizer, torch.optim.AdamW)
    assert (
        optimizer.param_groups[0]["betas"] == (0.9, 0.98)
        and optimizer.param_groups[0]["weight_decay"] == 0.01
    )
    seen = []
    for _ in range(6):
        seen.append(optimizer.param_groups[0]["lr"])
        param.grad = torch.ones(3)
        optimizer.step()
        scheduler.step()
    assert seen[0] == pytest.approx(1e-7) and seen[4] == pytest.approx(1e-3) and seen[5] < seen[4]
