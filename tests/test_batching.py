"""fairseq-style batch planning: budgets, coverage, shuffling, DDP shards and update token totals."""

from __future__ import annotations

import numpy as np
import pytest

from biogpt.data.batching import TokenBudgetBatchSampler
from biogpt.errors import ConfigError

RNG = np.random.default_rng(0)
LENGTHS = RNG.integers(5, 300, size=203).tolist()
PREDICTED = [length - 1 for length in LENGTHS]


def _sampler(**options) -> TokenBudgetBatchSampler:
    return TokenBudgetBatchSampler(LENGTHS, PREDICTED, **({"max_tokens": 1024} | options))


def test_every_example_once_and_every_batch_within_budget() -> None:
    batches = _sampler(shuffle=True, seed=3).global_batches()
    assert sorted(i for batch in batches for i in batch) == list(range(len(LENGTHS)))
    for batch in batches:
        assert max(LENGTHS[i] for i in batch) * len(batch) <= 1024


def test_batches_are_length_buckets() -> None:
    for batch in _sampler().global_batches():
        lengths = sorted(LENGTHS[i] for i in batch)
        assert lengths[-1] - lengths[0] <= 60  # neighbours in length order, not random mixtures


def test_shuffle_depends_on_seed_and_epoch_only() -> None:
    first, again = _sampler(shuffle=True, seed=1), _sampler(shuffle=True, seed=1)
    assert first.global_batches() == again.global_batches()
    again.set_epoch(1)
    assert first.global_batches() != again.global_batches()
    assert len(first) == len(again)


def test_ddp_ranks_get_disjoint_batches_and_the_same_step_count() -> None:
    world = [_sampler(shuffle=True, rank=r, world_size=3, update_freq=2) for r in range(3)]
    per_rank = [list(sampler) for sampler in world]
    assert len({len(batches) for batches in per_rank}) == 1
    real = [i for batches in per_rank for b in batches if b.loss_weight for i in b.indices]
    assert sorted(real) == list(range(len(LENGTHS)))


def test_update_tokens_sum_the_predicted_tokens_of_all_ranks_and_micro_batches() -> None:
    world_size, update_freq = 2, 3
    plan = _sampler(rank=0, world_size=world_size, update_freq=update_freq).plan()
    steps = len(plan[0])
    for start in range(0, steps, update_freq):
        update = [b for rank in plan for b in rank[start : start + update_freq]]
        expected = sum(PREDICTED[i] for b in update if b.loss_weight for i in b.indices)
        assert {b.update_tokens for b in update} == {expected}


def test_fixed_size_batches_and_option_errors() -> None:
    batches = _sampler(max_tokens=None, batch_size=16).global_batches()
    assert [len(b) for b in batches[:-1]] == [16] * (len(batches) - 1)
    with pytest.raises(ValueError, match="exactly one of data.max_tokens and data.batch_size"):
        _sampler(max_tokens=None)
    with pytest.raises(ConfigError, match=r"data.max_tokens=100: example .* has .* tokens; expected"):
        _sampler(max_tokens=100).global_batches()
