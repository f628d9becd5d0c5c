"""Token sequences the model reads, laid out as the BioGPT release's prompt dataset lays them out.

The release (``src/language_model_prompt_dataset.py``) builds ``sentence = [source; prompt; target; </s>]``
and trains the language model on ``input = [</s>; sentence[:-1]]`` against ``sentence``: fairseq's
language models start every sequence with ``</s>``. Truncation as released:

* a source of more than ``max_source_positions`` tokens keeps its first ``max_source_positions - 1``
  tokens and ends with the ``...`` token;
* a target (with its ``</s>``) longer than ``max_positions - max_source_positions - prompt length``
  is cut to that length with ``...`` and ``</s>`` as its last two tokens.

The loss covers every token of the sentence, as the release trains (``loss_on="all"``), or only the
target and its ``</s>`` (``loss_on="target"``).

Encoder-decoder backbones (a layout with an :class:`EncoderLayout`) read ``[source; prompt]``, wrapped
in their family's special tokens, with the encoder, and ``[start; target]`` with the decoder, which
predicts ``[target; eos]``: the loss is on the target. The source is cut as above; the target to
``max_positions`` (the decoder's own positions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

# Target id of positions that take no loss (torch's cross-entropy default ignore_index).
IGNORE_INDEX = -100


LOSS_ON = ("all", "target")


@dataclass(frozen=True)
class EncoderLayout:
    """An encoder-decoder's encoder input: the family's special ids around ``[source; prompt]``, and
    the token its decoder starts from."""

    decoder_start_id: int
    prefix_ids: tuple[int, ...] = ()
    suffix_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class SequenceLayout:
    """Lengths and special ids that fix how a (source, target) pair becomes a training sequence.

    ``encoder`` set: an encoder-decoder layout (see the module docstring); None: one decoder sequence.
    """

    eos_id: int
    ellipsis_ids: tuple[int, ...]  # what marks a cut: "..." (one piece in the released vocabulary)
    prompt_ids: tuple[int, ...] = ()
    max_source_positions: int = 640
    max_positions: int = 1024
    loss_on: str = "all"
    encoder: EncoderLayout | None = None

    def __post_init__(self) -> None:
        if self.loss_on not in LOSS_ON:
            raise ValueError(f"unknown loss_on {self.loss_on!r}; valid choices: {', '.join(LOSS_ON)}")
        if self.max_target_positions < len(self.ellipsis_ids) + 1:
            raise ValueError(
                f"max_positions ({self.max_positions}) leaves no room for a target after "
                f"max_source_positions ({self.max_source_positions}) and a "
                f"{len(self.prompt_ids)}-token prompt"
            )

    @property
    def max_target_positions(self) -> int:
        if self.encoder is not None:
            return self.max_positions
        return self.max_positions - self.max_source_positions - len(self.prompt_ids)

    def fits(self, source_length: int, target_length: int) -> bool:
        """Whether a source and a target (without its ``</s>``) of these lengths are read uncut."""
        return source_length <= self.max_source_positions and target_length + 1 <= self.max_target_positions

    def truncate_source(self, source_ids: list[int]) -> list[int]:
        if len(source_ids) <= self.max_source_positions:
            return source_ids
        return source_ids[: self.max_source_positions - len(self.ellipsis_ids)] + list(self.ellipsis_ids)

    def truncate_target(self, target_ids: list[int]) -> list[int]:
        """The target with its ``</s>``, cut as released."""
        with_eos = target_ids + [self.eos_id]
        if len(with_eos) <= self.max_target_positions:
            return with_eos
        kept = self.max_target_positions - len(self.ellipsis_ids) - 1
        return with_eos[:kept] + [*self.ellipsis_ids, self.eos_id]

    def prefix(self, source_ids: list[int]) -> list[int]:
        """What generation continues: ``[</s>; source; prompt]``, or an encoder-decoder's start token."""
        if self.encoder is not None:
            return [self.encoder.decoder_start_id]
        return [self.eos_id, *self.truncate_source(source_ids), *self.prompt_ids]

    def encoder_input(self, source_ids: list[int]) -> list[int]:
        """What an encoder-decoder's encoder reads: ``[source; prompt]`` in the family's specials."""
        if self.encoder is None:
            raise ValueError("a decoder-only layout has no encoder input")
        return [
            *self.encoder.prefix_ids,
            *self.truncate_source(source_ids),
            *self.prompt_ids,
            *self.encoder.suffix_ids,
        ]

    def training_pair(self, source_ids: list[int], target_ids: list[int]) -> tuple[list[int], list[int]]:
        """Decoder input and next-token targets (``IGNORE_INDEX`` where no loss is taken)."""
        if self.encoder is not None:
            target = self.truncate_target(target_ids)
            return [self.encoder.decoder_start_id, *target[:-1]], target
        context = self.truncate_source(source_ids) + list(self.prompt_ids)
        sentence = context + self.truncate_target(target_ids)
        inputs = [self.eos_id, *sentence[:-1]]
        if self.loss_on == "all":
            return inputs, sentence
        return inputs, [IGNORE_INDEX] * len(context) + sentence[len(context) :]


def right_padded(
    rows: Sequence[Sequence[int]], fill: int, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows padded on the right with ``fill`` to the longest, and the mask of their real entries
    (training batches, and encoder inputs: an encoder with absolute positions numbers them from the left)."""
    width = max(len(row) for row in rows)
    values = torch.full((len(rows), width), fill, dtype=torch.long, device=device)
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=device)
    for index, row in enumerate(rows):
        values[index, : len(row)] = torch.tensor(list(row), dtype=torch.long, device=device)
        mask[index, : len(row)] = 1
    return values, mask
