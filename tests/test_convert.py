"""``python -m biogpt.convert``: a fairseq release directory becomes a directory transformers loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from model_oracle import padded_batch, reference_model, small_with_released_vocab, write_fine_tuned_checkpoint
from project_commands import run_project
from transformers import BioGptForCausalLM, BioGptTokenizer

from biogpt import BioGPT


def _fine_tuned_release_dir(directory: Path, vocab: Path, prompt_rows: int) -> BioGptForCausalLM:
    """A release-like directory: checkpoint_avg.pt with learned prompt rows, bpecodes, dict.txt."""
    reference = reference_model(0, **small_with_released_vocab(128))
    write_fine_tuned_checkpoint(reference, directory / "checkpoint_avg.pt", prompt_rows)
    for name in ("bpecodes", "dict.txt"):
        shutil.copy(vocab / name, directory / name)
    return reference


def test_convert_cli_writes_a_directory_transformers_loads(tmp_path: Path, biogpt_vocab: Path) -> None:
    _fine_tuned_release_dir(tmp_path / "RE-BC5CDR", biogpt_vocab, prompt_rows=9)
    result = run_project(
        ["-m", "biogpt.convert", str(tmp_path / "RE-BC5CDR"), str(tmp_path / "hf")], timeout=300
    )
    assert "42393 ids (9 added tokens)" in result.stdout

    reference, info = BioGptForCausalLM.from_pretrained(tmp_path / "hf", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    ours = BioGPT.from_pretrained(tmp_path / "RE-BC5CDR")
    ids, mask = padded_batch(42393, [10, 4])
    with torch.no_grad():
        expected = reference.eval()(input_ids=ids, attention_mask=mask).logits
        actual = ours.eval()(ids, mask)
    torch.testing.assert_close(actual[mask.bool()], expected[mask.bool()], atol=1e-4, rtol=0)

    tokenizer = BioGptTokenizer.from_pretrained(tmp_path / "hf")
    assert len(tokenizer) == 42393
    ids = tokenizer("aspirin learned1 learned9", add_special_tokens=False)["input_ids"]
    assert ids[-2:] == [42384, 42392]
