"""The inverse square root schedule of fairseq, as the paper trains with it, and transformers' linear
schedule with warm-up, as the domain-specificity study trains with it."""

from __future__ import annotations

import pytest
import torch

from biogpt.training.optim import (
    OptimSettings,
    build_optimizer,
    inverse_sqrt_factor,
    linear_factor,
    linear_warmup_updates,
)


def test_linear_warmup_from_init_lr_then_inverse_square_root() -> None:
    config = OptimSettings(lr=1e-4, warmup_updates=100, warmup_init_lr=1e-7)
    lr = [config.lr * inverse_sqrt_factor(config, update) for update in (0, 50, 100, 400, 10000)]
    assert lr[0] == pytest.approx(1e-7)
    assert lr[1] == pytest.approx(1e-7 + 50 * (1e-4 - 1e-7) / 100)
    assert lr[2] == pytest.approx(1e-4)
    assert lr[3] == pytest.approx(1e-4 * (100 / 400) ** 0.5)
    assert lr[4] == pytest.approx(1e-5)


def test_optimizer_is_adam_with_decoupled_weight_decay_and_the_schedule_steps_per_update() -> None:
    param = torch.nn.Parameter(torch.ones(3))
    optimizer, scheduler = build_optimizer(OptimSettings(lr=1e-3, warmup_updates=4), [{"params": [param]}])
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


def test_the_fused_update_equals_torchs_reference_loop() -> None:
    """Ten updates of the fused kernel against torch's single-tensor AdamW (the reference
    implementation), with decay and the schedule, on parameters of several shapes."""
    generator = torch.Generator().manual_seed(0)
    shapes = [(64, 32), (32,), (7, 3, 5)]
    ours = [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in shapes]
    reference = [torch.nn.Parameter(param.detach().clone()) for param in ours]
    initial = [param.detach().clone() for param in ours]
    config = OptimSettings(lr=1e-2, warmup_updates=3)
    optimizer, scheduler = build_optimizer(config, [{"params": ours}])
    assert optimizer.defaults["fused"]
    loop = torch.optim.AdamW(
        reference,
        lr=config.lr,
        betas=config.betas,
        eps=config.eps,
        weight_decay=config.weight_decay,
        foreach=False,
    )
    loop_schedule = torch.optim.lr_scheduler.LambdaLR(
        loop, lambda update: inverse_sqrt_factor(config, update)
    )
    for _ in range(10):
        for param, other in zip(ours, reference, strict=True):
            param.grad = torch.randn(param.shape, generator=generator)
            other.grad = param.grad.clone()
        optimizer.step(), loop.step(), scheduler.step(), loop_schedule.step()
    for param, other, start in zip(ours, reference, initial, strict=True):
        assert (param - start).abs().max() > 1e-3  # the updates moved the weights
        torch.testing.assert_close(param, other, rtol=1e-5, atol=1e-6)


def test_linear_schedule_warms_up_over_a_rounded_up_fraction_then_falls_to_zero_at_the_end() -> None:
    config = OptimSettings(lr=5e-5, schedule="linear", warmup_fraction=0.1)
    assert linear_warmup_updates(config, 95) == 10  # ceil(9.5), as transformers' get_warmup_steps
    factors = [linear_factor(config, update, 95) for update in range(97)]
    assert factors[:11] == pytest.approx([update / 10 for update in range(11)])  # 0 at the first update
    assert factors[10] == 1.0 and factors[95] == 0.0 and factors[96] == 0.0
    assert factors[50] == pytest.approx((95 - 50) / 85)
    assert all(a > b for a, b in zip(factors[10:95], factors[11:96], strict=True))
    # No warm-up: full rate at once; a one-update run (16-shot, 32 per update) takes its one warm-up step.
    assert linear_factor(OptimSettings(schedule="linear"), 0, 4) == 1.0
    assert [linear_factor(config, update, 1) for update in (0, 1)] == [0.0, 0.0]


def test_linear_schedule_needs_the_total_updates_and_steps_the_optimizer_per_update() -> None:
    config = OptimSettings(
        lr=1e-3, schedule="linear", warmup_fraction=0.25, betas=(0.9, 0.999), weight_decay=0.0
    )
    param = torch.nn.Parameter(torch.ones(3))
    with pytest.raises(ValueError, match="total updates"):
        build_optimizer(config, [{"params": [param]}])
    optimizer, scheduler = build_optimizer(config, [{"params": [param]}], total_updates=8)
    seen = []
    for _ in range(8):
        seen.append(optimizer.param_groups[0]["lr"])
        param.grad = torch.ones(3)
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx(
        [0.0, 5e-4, 1e-3, 1e-3 * 5 / 6, 1e-3 * 4 / 6, 1e-3 * 3 / 6, 1e-3 * 2 / 6, 1e-3 / 6]
    )
    with pytest.raises(ValueError, match="optim.schedule='cosine'"):
        OptimSettings(schedule="cosine")
