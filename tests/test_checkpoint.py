"""Loading and saving checkpoints, checked against ``transformers.BioGptForCausalLM``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import types
from pathlib import Path

import pytest
import torch
from model_oracle import (
    fairseq_model_cfg,
    fairseq_state,
    padded_batch,
    reference_model,
    write_fairseq_checkpoint,
    write_fine_tuned_checkpoint,
)
from project_commands import run_command
from safetensors.torch import load_file, save_file
from transformers import BioGptForCausalLM

from biogpt import BioGPT
from biogpt.model.safe_pickle import UnsafeCheckpointError
from biogpt.model.weights import CheckpointError

REAL_BIOGPT = dict(
    vocab_size=42384,
    hidden_size=1024,
    num_hidden_layers=24,
    num_attention_heads=16,
    intermediate_size=4096,
    max_position_embeddings=1024,
)
# BioGPT-Large's width, heads, vocabulary and positions at reduced depth.
LARGE_REDUCED = dict(
    vocab_size=57717,
    hidden_size=1600,
    num_hidden_layers=2,
    num_attention_heads=25,
    intermediate_size=6400,
    max_position_embeddings=2048,
)
SMALL = dict(
    vocab_size=300,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=40,
)


def _assert_same_logits(ours: BioGPT, reference: BioGptForCausalLM, vocab_size: int) -> None:
    ids, mask = padded_batch(vocab_size, [17, 9, 3], seed=11)
    with torch.no_grad():
        expected = reference(input_ids=ids, attention_mask=mask).logits
        actual = ours.eval()(ids, mask)
    keep = mask.bool()
    torch.testing.assert_close(actual[keep], expected[keep], atol=1e-4, rtol=0)
    assert actual.shape == expected.shape


@pytest.fixture(scope="module", params=["biogpt", "biogpt-large-reduced"])
def released_shape(request, tmp_path_factory) -> tuple[BioGptForCausalLM, Path, int]:
    """A random reference model at a released shape, saved by transformers."""
    shape = REAL_BIOGPT if request.param == "biogpt" else LARGE_REDUCED
    reference = reference_model(0, **shape)
    directory = tmp_path_factory.mktemp(request.param)
    reference.save_pretrained(directory)
    return reference, directory, shape["vocab_size"]


def test_hf_directory_written_by_transformers_gives_the_reference_logits(released_shape) -> None:
    reference, directory, vocab_size = released_shape
    _assert_same_logits(BioGPT.from_pretrained(directory), reference, vocab_size)


def test_fairseq_checkpoint_gives_the_reference_logits(released_shape, tmp_path: Path) -> None:
    reference, _, vocab_size = released_shape
    path = write_fairseq_checkpoint(reference, tmp_path / "checkpoint_avg.pt")
    _assert_same_logits(BioGPT.from_pretrained(path), reference, vocab_size)
    # A release directory holding the checkpoint loads the same way.
    _assert_same_logits(BioGPT.from_pretrained(tmp_path), reference, vocab_size)


def test_save_pretrained_loads_in_transformers_with_identical_logits(tmp_path: Path) -> None:
    reference = reference_model(1, **SMALL)
    ours = BioGPT.from_pretrained(write_fairseq_checkpoint(reference, tmp_path / "checkpoint.pt"))
    ours.save_pretrained(tmp_path / "hf")
    reloaded, info = BioGptForCausalLM.from_pretrained(tmp_path / "hf", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    _assert_same_logits(ours, reloaded.eval(), SMALL["vocab_size"])
    assert BioGPT.from_pretrained(tmp_path / "hf").config == ours.config


def test_legacy_args_namespace_and_fairseq_objects_load_without_fairseq(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Old checkpoints pickle an argparse Namespace and fairseq classes; neither runs any code."""
    reference = reference_model(2, **SMALL)

    class AverageMeter:  # what fairseq's meters look like to pickle
        def __init__(self) -> None:
            self.val, self.sum, self.count = 1.5, 3.0, 2

    for name in ("fairseq", "fairseq.logging", "fairseq.logging.meters"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    AverageMeter.__module__, AverageMeter.__qualname__ = "fairseq.logging.meters", "AverageMeter"
    sys.modules["fairseq.logging.meters"].AverageMeter = AverageMeter
    write_fairseq_checkpoint(
        reference,
        tmp_path / "checkpoint.pt",
        cfg=None,
        args=argparse.Namespace(**fairseq_model_cfg(reference)),
        extra_state={"metrics": {"train": AverageMeter()}},
    )
    monkeypatch.undo()
    assert "fairseq" not in sys.modules
    _assert_same_logits(BioGPT.from_pretrained(tmp_path / "checkpoint.pt"), reference, SMALL["vocab_size"])


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_checkpoint_that_would_run_code_is_refused(tmp_path: Path) -> None:
    reference = reference_model(3, **SMALL)
    path = write_fairseq_checkpoint(reference, tmp_path / "checkpoint.pt", extra_state={"x": _Exploit()})
    with pytest.raises(UnsafeCheckpointError, match=r"refusing to unpickle .*system.*trust_pickle=True"):
        BioGPT.from_pretrained(path)


def test_fine_tuned_checkpoint_keeps_learned_prompt_rows(tmp_path: Path) -> None:
    """Release fine-tuned checkpoints append learned1..N rows after the vocabulary."""
    reference = reference_model(4, **SMALL)
    prompt_rows = write_fine_tuned_checkpoint(reference, tmp_path / "checkpoint.pt", 9)
    model = BioGPT.from_pretrained(tmp_path / "checkpoint.pt")
    assert model.config.vocab_size == SMALL["vocab_size"] + 9
    torch.testing.assert_close(model.embed_tokens.weight[SMALL["vocab_size"] :], prompt_rows, atol=0, rtol=0)


# ---------------------------------------------------------------- bad input


@pytest.fixture()
def hf_dir(tmp_path: Path) -> Path:
    reference_model(5, **SMALL).save_pretrained(tmp_path / "hf")
    return tmp_path / "hf"


def test_missing_and_unexpected_keys_are_named(hf_dir: Path) -> None:
    state = load_file(hf_dir / "model.safetensors")
    del state["biogpt.layers.1.fc2.bias"]
    state["biogpt.layers.1.adapter.weight"] = torch.zeros(2)
    save_file(state, hf_dir / "model.safetensors")
    with pytest.raises(
        CheckpointError, match=r"missing keys \['layers.1.fc2.bias'\].*unexpected keys \['layers.1.adapter"
    ):
        BioGPT.from_pretrained(hf_dir)


def test_config_that_disagrees_with_the_weights_is_named(hf_dir: Path) -> None:
    config = json.loads((hf_dir / "config.json").read_text())
    config["intermediate_size"] = 128
    (hf_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        CheckpointError, match=r"layers.0.fc1.weight has shape \[64, 32\], the config expects \[128, 32\]"
    ):
        BioGPT.from_pretrained(hf_dir)


def test_fairseq_options_that_disagree_with_the_weights_are_named(tmp_path: Path) -> None:
    reference = reference_model(6, **SMALL)
    cfg = fairseq_model_cfg(reference) | {"decoder_embed_dim": 48}
    torch.save({"cfg": {"model": cfg}, "model": fairseq_state(reference)}, tmp_path / "checkpoint.pt")
    with pytest.raises(
        CheckpointError, match="cfg.model.decoder_embed_dim is 48 but the weights have hidden_size=32"
    ):
        BioGPT.from_pretrained(tmp_path / "checkpoint.pt")
    cfg = fairseq_model_cfg(reference) | {"share_decoder_input_output_embed": False}
    torch.save({"cfg": {"model": cfg}, "model": fairseq_state(reference)}, tmp_path / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="share_decoder_input_output_embed is False"):
        BioGPT.from_pretrained(tmp_path / "checkpoint.pt")


def test_truncated_files_are_named(hf_dir: Path, tmp_path: Path) -> None:
    weights = hf_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=rf"{weights}: not a readable safetensors file"):
        BioGPT.from_pretrained(hf_dir)
    fairseq = write_fairseq_checkpoint(reference_model(7, **SMALL), tmp_path / "checkpoint.pt")
    fairseq.write_bytes(fairseq.read_bytes()[:5000])
    with pytest.raises(ValueError, match=rf"{fairseq}: not a readable torch checkpoint"):
        BioGPT.from_pretrained(fairseq)


def test_untied_output_projection_is_refused(tmp_path: Path) -> None:
    reference = reference_model(8, **SMALL)
    state = fairseq_state(reference)
    state["decoder.output_projection.weight"] = torch.randn_like(state["decoder.output_projection.weight"])
    torch.save({"cfg": {"model": fairseq_model_cfg(reference)}, "model": state}, tmp_path / "checkpoint.pt")
    with pytest.raises(
        CheckpointError, match="output_projection.weight differs from decoder.embed_tokens.weight"
    ):
        BioGPT.from_pretrained(tmp_path / "checkpoint.pt")


def test_unknown_sources_are_explained(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file or directory, and not a hub id"):
        BioGPT.from_pretrained(tmp_path / "missing" / "dir" / "x")
    with pytest.raises(CheckpointError, match="neither a Hugging Face directory"):
        BioGPT.from_pretrained(tmp_path)


# ---------------------------------------------------------------- hub ids

_HUB_SCRIPT = """
import sys
from biogpt import BioGPT
try:
    model = BioGPT.from_pretrained("microsoft/biogpt")
    print("LOADED", model.config.num_layers)
except Exception as error:
    print(type(error).__name__, error)
"""


def _run_offline(hf_home: Path) -> str:
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    # One command with this environment: a fresh interpreter costs less than a command server.
    result = run_command(["-c", _HUB_SCRIPT], env=env, timeout=120, fresh=True)
    return result.stdout + result.stderr


def test_hub_id_offline_without_cache_gives_a_clear_error(tmp_path: Path) -> None:
    output = _run_offline(tmp_path)
    assert "CheckpointError microsoft/biogpt: not in the huggingface_hub cache" in output


def test_hub_id_offline_is_served_from_the_huggingface_hub_cache(tmp_path: Path) -> None:
    """A model once downloaded sits in the hub cache layout; offline mode must use it."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--microsoft--biogpt"
    reference_model(9, **SMALL).save_pretrained(repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    assert "LOADED 2" in _run_offline(tmp_path)
