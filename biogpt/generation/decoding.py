"""Batched decoding with the KV cache: greedy, beam search and sampling.

Prefixes of unequal length are left-padded, so every row's next token sits in the last column;
positions come from the attention mask (see :mod:`biogpt.model`), so a padded row computes what it
would compute alone. Every strategy runs the same loop: one forward for the prefixes, then one
single-token forward per step, with the logits turned into log-probabilities and filtered by the
configured constraints (minimum length, no-repeat n-grams, an allowed-token set per row), which set
the banned tokens' log-probabilities to ``-inf`` and leave the others as the model gave them.

The loop is the same for every backbone (:class:`~biogpt.model.backbone.Backbone`): a decoder-only
model continues ``[prefix]``; an encoder-decoder reads its (right-padded) encoder inputs once and its
decoder continues from its start token. Every setting comes from :class:`GenerationSettings`, never
from a checkpoint's own generation defaults.

Beam search follows fairseq: at each step the ``2 * beam`` best continuations of a sentence are
considered, those ending in ``</s>`` are finished with score ``sum(log p) / length ** lenpen``
(length counting the generated tokens and the ``</s>``), the others fill the beam; a sentence is
done when it has ``beam`` finished hypotheses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from biogpt.data.sequences import right_padded
from biogpt.model.backbone import Backbone, DecodingState


@dataclass(frozen=True)
class GenerationSettings:
    """How to decode: greedy (the paper's, ``beam=1`` without ``sampling``), beam search with
    ``length_penalty``, or sampling (``temperature``, ``top_k``, ``top_p``, from ``seed``); length
    limits and n-gram blocking apply to all three."""

    max_new_tokens: int = 128
    min_new_tokens: int = 0
    beam: int = 1
    length_penalty: float = 1.0
    sampling: bool = False
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    no_repeat_ngram_size: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.beam < 1 or self.max_new_tokens < 1 or self.min_new_tokens < 0:
            raise ValueError("generation needs beam >= 1, max_new_tokens >= 1 and min_new_tokens >= 0")
        if self.sampling and self.beam > 1:
            raise ValueError("sampling and beam search are exclusive: set beam=1 to sample")
        if self.temperature <= 0 or not 0 < self.top_p <= 1 or self.top_k < 0:
            raise ValueError("generation needs temperature > 0, 0 < top_p <= 1 and top_k >= 0")


@dataclass
class _Batch:
    """Left-padded token rows and their mask, grown one column per step."""

    tokens: Tensor
    mask: Tensor

    def rows(self, rows: Tensor) -> _Batch:
        """These rows only, in this order."""
        return _Batch(self.tokens[rows], self.mask[rows])

    def extended(self, token: Tensor, rows: Tensor | None = None) -> _Batch:
        """The (optionally reordered) rows with one more, attended, column."""
        tokens, mask = (self.tokens, self.mask) if rows is None else (self.tokens[rows], self.mask[rows])
        return _Batch(
            torch.cat([tokens, token[:, None]], 1), torch.cat([mask, torch.ones_like(token)[:, None]], 1)
        )


def _left_pad(prefixes: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> _Batch:
    width = max(len(prefix) for prefix in prefixes)
    tokens = torch.full((len(prefixes), width), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros_like(tokens)
    for row, prefix in enumerate(prefixes):
        if not prefix:
            raise ValueError(f"prefix {row} is empty: generation continues at least one token")
        tokens[row, width - len(prefix) :] = torch.tensor(list(prefix), device=device)
        mask[row, width - len(prefix) :] = 1
    return _Batch(tokens, mask)


class _Scorer:
    """Next-token log-probabilities with the configured constraints applied."""

    def __init__(
        self,
        config: GenerationSettings,
        eos_id: int,
        allowed: Sequence[set[int]] | None,
        vocab_size: int,
        device: torch.device,
    ) -> None:
        self.config = config
        self.eos_id = eos_id
        self.allowed_mask: Tensor | None = None
        if allowed is not None:
            self.allowed_mask = torch.ones(len(allowed), vocab_size, dtype=torch.bool, device=device)
            for row, ids in enumerate(allowed):
                self.allowed_mask[row, list(ids | {eos_id})] = False

    def __call__(self, logits: Tensor, batch: _Batch, rows: Tensor, generated: int) -> Tensor:
        # The model's log-probabilities first, then the constraints, without renormalising what is
        # left (as fairseq and transformers do): a beam's score stays the model's log-probability of
        # its tokens. Greedy and sampled choices are the same either way.
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        if self.allowed_mask is not None:
            logprobs = logprobs.masked_fill(self.allowed_mask[rows], float("-inf"))
        if generated < self.config.min_new_tokens:
            logprobs[:, self.eos_id] = float("-inf")
        if self.config.no_repeat_ngram_size:
            self._ban_repeats(logprobs, batch)
        return logprobs

    def _ban_repeats(self, logprobs: Tensor, batch: _Batch) -> None:
        n = self.config.no_repeat_ngram_size
        for row in range(batch.tokens.shape[0]):
            sequence = batch.tokens[row][batch.mask[row].bool()].tolist()
            if len(sequence) < n:
                continue
            context = tuple(sequence[len(sequence) - n + 1 :]) if n > 1 else ()
            banned = [
                sequence[i + n - 1]
                for i in range(len(sequence) - n + 1)
                if tuple(sequence[i : i + n - 1]) == context
            ]
            logprobs[row, banned] = float("-inf")


def _sample(logprobs: Tensor, config: GenerationSettings, generator: torch.Generator) -> Tensor:
    scores = logprobs / config.temperature
    if config.top_k:
        kth = scores.topk(min(config.top_k, scores.shape[-1]), dim=-1).values[:, -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if config.top_p < 1:
        sorted_scores, order = scores.sort(dim=-1, descending=True)
        cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative - sorted_scores.softmax(dim=-1) >= config.top_p  # keep the smallest covering set
        scores = scores.scatter(-1, order, sorted_scores.masked_fill(drop, float("-inf")))
    return torch.multinomial(scores.softmax(dim=-1), 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(
    model: Backbone,
    prefixes: Sequence[Sequence[int]],
    config: GenerationSettings,
    *,
    eos_id: int,
    pad_id: int,
    allowed: Sequence[set[int]] | None = None,
    encoder_inputs: Sequence[Sequence[int]] | None = None,
) -> list[list[int]]:
    """The generated continuation of each prefix (without the prefix, without the final ``</s>``).

    ``allowed`` restricts each row's tokens to a set (``</s>`` always allowed): constrained decoding.
    ``encoder_inputs``: an encoder-decoder's source of each row (its prefix is the decoder's start).
    """
    if not prefixes:
        return []
    if (encoder_inputs is None) != (model.decoder_start_id is None):
        raise ValueError(
            f"a {model.kind} backbone {'needs' if encoder_inputs is None else 'takes no'} encoder inputs"
        )
    model.eval()
    device = model.input_embeddings().weight.device
    if model.max_positions is not None:
        budget = model.max_positions - max(len(prefix) for prefix in prefixes)
        if budget < 1:
            raise ValueError(f"a prefix fills all {model.max_positions} positions: nothing left to generate")
        config = replace(config, max_new_tokens=min(config.max_new_tokens, budget))
    scorer = _Scorer(config, eos_id, allowed, model.vocab_size, device)
    decoding = _Decoding(model, encoder_inputs, pad_id, device)
    if config.beam > 1:
        return _beam_search(decoding, prefixes, config, scorer, eos_id, pad_id, device)
    return _greedy_or_sample(decoding, prefixes, config, scorer, eos_id, pad_id, device)


@dataclass
class _Decoding:
    """A backbone with its rows' encoder inputs: starts decoding for (repeated) rows, then steps."""

    model: Backbone
    encoder_inputs: Sequence[Sequence[int]] | None
    pad_id: int
    device: torch.device

    def begin(self, batch: _Batch, capacity: int, repeats: int = 1) -> tuple[Tensor, DecodingState]:
        encoder = None
        if self.encoder_inputs is not None:
            rows = [row for row in self.encoder_inputs for _ in range(repeats)]
            encoder = right_padded(rows, self.pad_id, self.device)
        return self.model.begin_decoding(batch.tokens, batch.mask, capacity, encoder)

    def step(self, token: Tensor, batch: _Batch, state: DecodingState) -> Tensor:
        return self.model.continue_decoding(token, batch.mask, state)


def _greedy_or_sample(
    decoding: _Decoding,
    prefixes: Sequence[Sequence[int]],
    config: GenerationSettings,
    scorer: _Scorer,
    eos_id: int,
    pad_id: int,
    device: torch.device,
) -> list[list[int]]:
    batch = _left_pad(prefixes, pad_id, device)
    rows = torch.arange(len(prefixes), device=device)  # the prefix each batch row continues
    generator = torch.Generator(device=device).manual_seed(config.seed)
    logits, state = decoding.begin(batch, batch.tokens.shape[1] + config.max_new_tokens)
    outputs: list[list[int]] = [[] for _ in prefixes]
    done = torch.zeros(len(prefixes), dtype=torch.bool, device=device)
    for step in range(config.max_new_tokens):
        logprobs = scorer(logits, batch, rows, step)
        token = _sample(logprobs, config, generator) if config.sampling else logprobs.argmax(dim=-1)
        token = token.masked_fill(done, pad_id)
        chosen = token.tolist()  # one device sync per step, not one per row
        for position, row in zip((~done).nonzero().flatten().tolist(), rows[~done].tolist(), strict=True):
            if chosen[position] != eos_id:
                outputs[row].append(chosen[position])
        done |= token == eos_id
        if done.all() or step == config.max_new_tokens - 1:
            break
        if _worth_dropping(done):
            live = (~done).nonzero().flatten()
            state.reorder(live)
            batch, rows, token, done = batch.rows(live), rows[live], token[live], done[live]
        batch = batch.extended(token)
        logits = decoding.step(token, batch, state)
    return outputs


def _worth_dropping(done: Tensor) -> bool:
    """Whether the finished rows (a quarter of the batch or more) are worth dropping from it: a step's
    work grows with its rows, but dropping them copies the cache once."""
    return bool(4 * int(done.sum()) >= done.numel())


def _beam_search(
    decoding: _Decoding,
    prefixes: Sequence[Sequence[int]],
    config: GenerationSettings,
    scorer: _Scorer,
    eos_id: int,
    pad_id: int,
    device: torch.device,
) -> list[list[int]]:
    beam, sentences = config.beam, len(prefixes)
    batch = _left_pad([prefix for prefix in prefixes for _ in range(beam)], pad_id, device)
    rows = torch.arange(sentences, device=device).repeat_interleave(beam)
    logits, state = decoding.begin(batch, batch.tokens.shape[1] + config.max_new_tokens, repeats=beam)
    scores = torch.full((sentences, beam), float("-inf"), device=device)
    scores[:, 0] = 0.0  # the beams start identical: expand only the first
    hypotheses: list[list[list[int]]] = [[[] for _ in range(beam)] for _ in prefixes]
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in prefixes]
    for step in range(config.max_new_tokens):
        logprobs = scorer(logits, batch, rows, step)
        if step == config.max_new_tokens - 1:  # out of room: every live hypothesis ends here, as fairseq does
            forced = torch.full_like(logprobs, float("-inf"))
            forced[:, eos_id] = logprobs[:, eos_id]
            logprobs = forced
        vocab = logprobs.shape[-1]
        candidates = (scores[:, :, None] + logprobs.view(sentences, beam, vocab)).view(sentences, -1)
        top_scores, top_ids = candidates.topk(min(2 * beam, candidates.shape[-1]), dim=-1)
        next_rows, next_tokens, next_scores = [], [], []
        for sentence in range(sentences):
            kept = _advance(
                sentence,
                top_scores[sentence].tolist(),
                top_ids[sentence].tolist(),
                vocab,
                step,
                hypotheses,
                finished,
                config,
                eos_id,
            )
            kept += [(0, pad_id, float("-inf"))] * (beam - len(kept))  # a done sentence keeps dead beams
            hypotheses[sentence] = [hypotheses[sentence][source] + [token] for source, token, _ in kept]
            next_rows += [sentence * beam + source for source, _, _ in kept]
            next_tokens += [token for _, token, _ in kept]
            next_scores.append([score for _, _, score in kept])
        if all(len(hyps) >= beam for hyps in finished):
            break
        order = torch.tensor(next_rows, device=device)
        state.reorder(order)
        token = torch.tensor(next_tokens, device=device)
        batch = batch.extended(token, order)
        scores = torch.tensor(next_scores, device=device)
        logits = decoding.step(token, batch, state)
    return [max(hyps, key=lambda item: item[0])[1] if hyps else [] for hyps in finished]


def _advance(
    sentence: int,
    scores: list[float],
    flat_ids: list[int],
    vocab: int,
    step: int,
    hypotheses: list[list[list[int]]],
    finished: list[list[tuple[float, list[int]]]],
    config: GenerationSettings,
    eos_id: int,
) -> list[tuple[int, int, float]]:
    """One sentence's step: finish ``</s>`` candidates ranked within the beam, keep the best live ones."""
    kept: list[tuple[int, int, float]] = []
    if len(finished[sentence]) >= config.beam:
        return kept
    for rank, (score, flat) in enumerate(zip(scores, flat_ids, strict=True)):
        if score == float("-inf"):
            break
        source, token = divmod(flat, vocab)
        if token == eos_id:
            if rank < config.beam:
                normalised = score / (step + 1) ** config.length_penalty
                finished[sentence].append((normalised, hypotheses[sentence][source]))
        elif len(kept) < config.beam:
            kept.append((source, token, score))
    return kept if len(finished[sentence]) < config.beam else []
