"""Decoding: batched equals one by one, cached equals uncached, beam search is exact where it can be."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from biogpt import BioGPT, BioGPTConfig
from biogpt.generation.decoding import GenerationSettings, _beam_search, _Decoding, _Scorer, generate

EOS, PAD = 2, 1


def _model(vocab_size: int, seed: int = 0) -> BioGPT:
    torch.manual_seed(seed)
    model = BioGPT(BioGPTConfig.from_preset("tiny", vocab_size=vocab_size, max_positions=64)).eval()
    with torch.no_grad():  # sharper distributions than the default init, so decoding paths differ
        model.embed_tokens.weight.mul_(8)
    return model


PREFIXES = [[EOS, 11, 12, 13, 14, 15, 16], [EOS, 20], [EOS, 30, 31, 32], [EOS, 40, 41]]


@pytest.fixture(scope="module")
def model() -> BioGPT:
    return _model(200)


def _uncached_greedy(model: BioGPT, prefix: list[int], steps: int) -> list[int]:
    tokens = list(prefix)
    for _ in range(steps):
        with torch.no_grad():
            token = int(model(torch.tensor([tokens]))[0, -1].argmax())
        if token == EOS:
            break
        tokens.append(token)
    return tokens[len(prefix) :]


def test_batched_greedy_equals_one_by_one_and_uncached(model: BioGPT) -> None:
    config = GenerationSettings(max_new_tokens=12)
    batched = generate(model, PREFIXES, config, eos_id=EOS, pad_id=PAD)
    for prefix, output in zip(PREFIXES, batched, strict=True):
        assert generate(model, [prefix], config, eos_id=EOS, pad_id=PAD) == [output]
        assert _uncached_greedy(model, prefix, 12) == output
    assert any(len(output) == 12 for output in batched)


def test_beam_of_one_equals_greedy(model: BioGPT) -> None:
    """With one beam, search is greedy; at the length limit it ends with a forced </s> (fairseq)."""
    config = GenerationSettings(max_new_tokens=10, beam=1)
    greedy = generate(model, PREFIXES, config, eos_id=EOS, pad_id=PAD)
    scorer = _Scorer(config, EOS, None, model.config.vocab_size, torch.device("cpu"))
    decoding = _Decoding(model, None, PAD, torch.device("cpu"))
    beam = _beam_search(decoding, PREFIXES, config, scorer, EOS, PAD, torch.device("cpu"))
    for greedy_output, beam_output in zip(greedy, beam, strict=True):
        assert beam_output == greedy_output[:9]


def _sequence_logprob(model: BioGPT, prefix: list[int], continuation: list[int]) -> float:
    tokens = torch.tensor([prefix + continuation])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(tokens)[0].float(), dim=-1)
    positions = range(len(prefix) - 1, len(prefix) + len(continuation) - 1)
    return sum(logprobs[p, tokens[0, p + 1]].item() for p in positions)


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_wide_beam_finds_the_exhaustive_optimum(length_penalty: float) -> None:
    """Vocabulary 8, at most 2 tokens then </s>: a beam of 64 keeps every hypothesis, so it is exact."""
    small = _model(8, seed=3)
    prefix = [EOS, 5, 6]
    config = GenerationSettings(max_new_tokens=3, beam=64, length_penalty=length_penalty)
    [found] = generate(small, [prefix], config, eos_id=EOS, pad_id=PAD)
    best, best_score = None, -math.inf
    for length in range(3):
        for body in itertools.product([t for t in range(8) if t != EOS], repeat=length):
            score = _sequence_logprob(small, prefix, [*body, EOS]) / (length + 1) ** length_penalty
            if score > best_score:
                best, best_score = list(body), score
    assert found == best


def test_beam_search_keeps_a_minimum_up_to_the_room_its_limit_leaves(model: BioGPT) -> None:
    """A beam hypothesis ends with its </s> within ``max_new_tokens`` (fairseq forces it at the last
    step), so ``max_new_tokens - 1`` is the longest minimum it can keep: one more, and every hypothesis
    died and the texts came back empty, which the config checks refuse (``_beam_room``)."""
    config = GenerationSettings(max_new_tokens=6, min_new_tokens=5, beam=3)
    outputs = generate(model, PREFIXES, config, eos_id=EOS, pad_id=PAD)
    assert [len(output) for output in outputs] == [5] * len(PREFIXES)


def test_sampling_is_seeded_and_top_k_one_is_greedy(model: BioGPT) -> None:
    greedy = generate(model, PREFIXES, GenerationSettings(max_new_tokens=8), eos_id=EOS, pad_id=PAD)
    top1 = generate(
        model, PREFIXES, GenerationSettings(max_new_tokens=8, sampling=True, top_k=1), eos_id=EOS, pad_id=PAD
    )
    assert top1 == greedy
    sampled = [
        generate(
            model,
            PREFIXES,
            GenerationSettings(max_new_tokens=8, sampling=True, temperature=50.0, seed=s),
            eos_id=EOS,
            pad_id=PAD,
        )
        for s in (1, 1, 2)
    ]
    assert sampled[0] == sampled[1] and sampled[0] != sampled[2]


def test_constraints_min_length_no_repeat_and_allowed_tokens(model: BioGPT) -> None:
    config = GenerationSettings(max_new_tokens=20, no_repeat_ngram_size=2, min_new_tokens=20)
    for output in generate(model, PREFIXES, config, eos_id=EOS, pad_id=PAD):
        assert len(output) == 20
        bigrams = list(zip(output, output[1:], strict=False))
        assert len(bigrams) == len(set(bigrams))
    allowed = [{50, 51, 52}, {60}, {70, 71}, {80, 81, 82, 83}]
    outputs = generate(
        model, PREFIXES, GenerationSettings(max_new_tokens=6), eos_id=EOS, pad_id=PAD, allowed=allowed
    )
    for output, ids in zip(outputs, allowed, strict=True):
        assert set(output) <= ids


def test_finished_rows_leave_the_batch_and_the_others_decode_as_alone(
    model: BioGPT, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows that end are dropped from the batch (and its cache) once they are a quarter of it, and the
    rows left (with their constraints and n-gram bans) generate what each generates alone."""
    prefixes = PREFIXES + [[EOS, 50, 51], [EOS, 60, 61, 62, 63]]
    free = set(range(3, 200))
    allowed = [set(), free, free, set(), free, free]  # rows 0 and 3 may only end: they end at once
    config = GenerationSettings(max_new_tokens=10, no_repeat_ngram_size=2)
    rows_per_step: list[int] = []
    step = type(model).continue_decoding

    def recorded(self, token, mask, state):
        rows_per_step.append(token.shape[0])
        return step(self, token, mask, state)

    monkeypatch.setattr(type(model), "continue_decoding", recorded)
    batched = generate(model, prefixes, config, eos_id=EOS, pad_id=PAD, allowed=allowed)
    assert rows_per_step[0] == 4 and rows_per_step == sorted(rows_per_step, reverse=True)
    assert batched[0] == batched[3] == []
    for prefix, ids, output in zip(prefixes, allowed, batched, strict=True):
        assert generate(model, [prefix], config, eos_id=EOS, pad_id=PAD, allowed=[ids]) == [output]


def test_bad_generation_settings_are_named(model: BioGPT) -> None:
    with pytest.raises(ValueError, match="sampling and beam search are exclusive"):
        GenerationSettings(sampling=True, beam=4)
    with pytest.raises(ValueError, match="prefix 0 is empty"):
        generate(model, [[]], GenerationSettings(), eos_id=EOS, pad_id=PAD)
    with pytest.raises(ValueError, match="fills all 64 positions"):
        generate(model, [[EOS] * 64], GenerationSettings(), eos_id=EOS, pad_id=PAD)
