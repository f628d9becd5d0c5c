"""Sequence layout and truncation as in the release's prompt dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra_config import compose_train

from biogpt.data.sequences import IGNORE_INDEX, SequenceLayout
from biogpt.experiment.config.settings import layout_settings
from biogpt.prompts import build_layout
from biogpt.tokenizer import BioGPTTokenizer

EOS, DOTS = 2, 99


def test_pair_is_eos_then_source_prompt_target_eos() -> None:
    layout = SequenceLayout(eos_id=EOS, ellipsis_ids=(DOTS,), prompt_ids=(50, 51), max_source_positions=10)
    inputs, targets = layout.training_pair([10, 11, 12], [20, 21])
    assert inputs == [EOS, 10, 11, 12, 50, 51, 20, 21]
    assert targets == [10, 11, 12, 50, 51, 20, 21, EOS]
    assert layout.prefix([10, 11, 12]) == [EOS, 10, 11, 12, 50, 51]


def test_loss_on_target_ignores_source_and_prompt() -> None:
    layout = SequenceLayout(eos_id=EOS, ellipsis_ids=(DOTS,), prompt_ids=(50,), loss_on="target")
    _, targets = layout.training_pair([10, 11], [20])
    assert targets == [IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 20, EOS]


def test_long_source_keeps_its_head_and_ends_with_the_ellipsis() -> None:
    layout = SequenceLayout(eos_id=EOS, ellipsis_ids=(DOTS,), max_source_positions=4, max_positions=16)
    assert layout.truncate_source([1, 2, 3, 4]) == [1, 2, 3, 4]
    assert layout.truncate_source([1, 2, 3, 4, 5]) == [1, 2, 3, DOTS]


def test_long_target_is_cut_with_ellipsis_and_eos_so_everything_fits() -> None:
    layout = SequenceLayout(
        eos_id=EOS, ellipsis_ids=(DOTS,), prompt_ids=(50, 51), max_source_positions=4, max_positions=10
    )
    assert layout.max_target_positions == 4
    assert layout.truncate_target([20, 21, 22]) == [20, 21, 22, EOS]
    assert layout.truncate_target([20, 21, 22, 23, 24]) == [20, 21, DOTS, EOS]
    inputs, _ = layout.training_pair(list(range(100, 120)), list(range(20, 40)))
    assert len(inputs) == 10


def test_bad_layouts_are_named() -> None:
    with pytest.raises(ValueError, match="unknown loss_on 'prompt'; valid choices: all, target"):
        SequenceLayout(eos_id=EOS, ellipsis_ids=(DOTS,), loss_on="prompt")
    with pytest.raises(ValueError, match="leaves no room for a target"):
        SequenceLayout(eos_id=EOS, ellipsis_ids=(DOTS,), max_source_positions=1020, prompt_ids=(1, 2, 3))


def test_an_ellipsis_of_several_pieces_still_keeps_every_cut_within_its_budget() -> None:
    """A learned vocabulary may spell "..." as several pieces (e.g. ``.`` ``.`` ``.``)."""
    layout = SequenceLayout(eos_id=EOS, ellipsis_ids=(7, 7, 8), max_source_positions=5, max_positions=12)
    assert layout.truncate_source([1, 2, 3, 4, 5, 6]) == [1, 2, 7, 7, 8]
    assert layout.truncate_target(list(range(20, 30))) == [20, 21, 22, 7, 7, 8, EOS]
    assert len(layout.training_pair(list(range(40)), list(range(40)))[0]) == 12


def test_released_vocabulary_marks_a_cut_with_its_single_ellipsis_piece(
    tmp_path: Path, shared_data: Path, biogpt_vocab: Path
) -> None:
    cfg = compose_train(tmp_path, shared_data, ["task=ddi", "prompt=none"])
    tokenizer = BioGPTTokenizer.from_pretrained(biogpt_vocab)
    layout = build_layout(layout_settings(cfg), tokenizer, ())
    assert layout.ellipsis_ids == (tokenizer.token_to_id("...</w>"),)
