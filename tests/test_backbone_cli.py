"""The ``transformers`` backbones from the command line.

``python -m biogpt.generate`` continues a text with a tiny model of each family exactly as
``transformers``' own greedy ``generate`` does (the checkpoint's ``generation_config.json`` plays no
part on either side), and a hub id that is neither cached nor reachable fails with one error that
says how to provide the files, from the library and from ``train.py``, without downloading anything.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import transformers
from family_models import DECODER_FAMILIES, FAMILIES, family_model_dir
from project_commands import run_command

from biogpt.artifacts.backbone_source import BackboneSettings, load_backbone
from biogpt.model.loading import load_network
from biogpt.model.weights import CheckpointError

TEXT = "the relation between aspirin and"  # words the tiny T5 vocabulary was trained on
NEW_TOKENS = 8
# Weights drawn wider than the families' 0.02 initialisation, so that the tiny models' greedy choices
# vary with the input (at 0.02 they ignore the encoder input and repeat one token; T5 generates only
# special tokens).
WEIGHT_STD = 0.3
UNCACHED_DECODER = "openai-community/gpt2-medium"
UNCACHED_ENCODER_DECODER = "google-t5/t5-small"


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8", **(env or {})}
    return run_command(args, env=environment, timeout=600)


def _auto_class(family: str) -> type:
    decoder_only = family in DECODER_FAMILIES
    return transformers.AutoModelForCausalLM if decoder_only else transformers.AutoModelForSeq2SeqLM


def _redraw_weights(family: str, directory: Path, std: float = WEIGHT_STD) -> None:
    """Replace every matrix of the model at ``directory`` by draws of N(0, std^2), in place."""
    network = _auto_class(family).from_pretrained(str(directory))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in network.parameters():
            if parameter.dim() >= 2:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
    network.save_pretrained(str(directory))


def _transformers_greedy(family: str, directory: Path, text: str, steps: int) -> tuple[str, list[int]]:
    """What ``continue_text`` must print, computed with ``transformers`` alone (greedy decoding of
    exactly ``steps`` tokens, nothing taken from the checkpoint's own generation config), and the
    generated ids."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(directory))
    declared = transformers.GenerationConfig.from_pretrained(str(directory))
    decoder_only = family in DECODER_FAMILIES
    network = _auto_class(family).from_pretrained(str(directory), dtype=torch.float32).eval()
    # transformers fills every unset field of a given config from the model's own (BART's num_beams=4,
    # no_repeat_ngram_size=3, forced_eos_token_id): the model keeps none here, and every field is set.
    network.generation_config = transformers.GenerationConfig()
    eos = tokenizer.eos_token_id
    greedy = transformers.GenerationConfig(
        do_sample=False,
        num_beams=1,
        max_new_tokens=steps,
        min_new_tokens=steps,
        no_repeat_ngram_size=0,
        repetition_penalty=1.0,
        length_penalty=1.0,
        eos_token_id=eos,
        pad_token_id=eos if tokenizer.pad_token_id is None else tokenizer.pad_token_id,
        bos_token_id=declared.bos_token_id,
        decoder_start_token_id=None if decoder_only else declared.decoder_start_token_id,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
    )
    if decoder_only:
        text_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        prefix = torch.tensor([[eos, *text_ids]])  # our sequences start with eos
        with torch.no_grad():
            output = network.generate(
                prefix, attention_mask=torch.ones_like(prefix), generation_config=greedy
            )
        continuation = output[0, prefix.shape[1] :].tolist()
        assert len(continuation) == steps
        line = tokenizer.decode(
            text_ids + continuation, skip_special_tokens=True, clean_up_tokenization_spaces=False
        )
        return line, continuation
    encoded = tokenizer(text, return_tensors="pt")  # with the family's special tokens
    with torch.no_grad():
        output = network.generate(**encoded, generation_config=greedy)
    assert output[0, 0].item() == declared.decoder_start_token_id
    target = output[0, 1:].tolist()
    assert len(target) == steps
    decoded = tokenizer.decode(target, skip_special_tokens=True, clean_up_tokenization_spaces=False)
    return f"{text} {decoded}", target


@pytest.mark.parametrize("family", FAMILIES)
def test_generate_cli_continues_a_text_as_transformers_greedy_decoding_does(
    family: str, tmp_path: Path, shared_data: Path
) -> None:
    directory = family_model_dir(family, tmp_path / family, shared_data)
    _redraw_weights(family, directory)
    if family == "bart":  # what the checkpoint asks for, and neither side may use
        declared = transformers.GenerationConfig.from_pretrained(str(directory))
        assert (declared.num_beams, declared.no_repeat_ngram_size) == (4, 3)
    expected, generated = _transformers_greedy(family, directory, TEXT, NEW_TOKENS)
    specials = set(transformers.AutoTokenizer.from_pretrained(str(directory)).all_special_ids)
    assert set(generated) - specials, "the model generates only special tokens: a vacuous comparison"
    if family == "bart":  # greedy repeats a trigram, which the checkpoint's no_repeat_ngram_size=3 forbids
        trigrams = [tuple(generated[i : i + 3]) for i in range(len(generated) - 2)]
        assert len(set(trigrams)) < len(trigrams)
    result = _run(
        [
            "-m",
            "biogpt.generate",
            f"ckpt={directory}",
            f"text={TEXT}",
            "beam=1",
            f"min_len={NEW_TOKENS}",
            f"max_len={NEW_TOKENS}",
            f"data_dir={shared_data}",
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # The printed text is the output's last line(s): a continuation may hold line breaks.
    assert result.stdout.endswith(expected + "\n"), (result.stdout[-2000:], expected)


# ---------------------------------------------------------------- a hub id neither cached nor reachable


def _says_how_to_provide(message: str, hub_id: str, cache: Path) -> None:
    """The error a user without the files needs: which model, where it was looked for, why it was not
    fetched, and the ways to provide it (download it where there is internet with the installed
    huggingface_hub's own command and bring the cache, or give a local directory instead of the id)."""
    assert hub_id in message
    assert str(cache) in message  # the cache that was searched
    assert "offline" in message
    assert f"hf download {hub_id}" in message  # huggingface_hub >= 1.0 has no huggingface-cli
    assert "HF_HOME" in message or "HF_HUB_CACHE" in message
    assert "model.init=" in message


@pytest.fixture
def offline_empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """huggingface_hub in offline mode over an empty cache; any connection attempt fails the test."""
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError(f"test: no network ({address})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield cache
    assert attempts == [], f"tried to connect to {attempts}"
    assert not cache.exists() or not any(path.is_file() for path in cache.rglob("*"))


def test_an_uncached_hub_id_offline_raises_one_error_saying_how_to_provide_it(
    offline_empty_hub: Path, shared_data: Path
) -> None:
    with pytest.raises(CheckpointError) as decoder:
        load_network(UNCACHED_DECODER)
    _says_how_to_provide(str(decoder.value), UNCACHED_DECODER, offline_empty_hub)
    settings = BackboneSettings(preset=None, init=UNCACHED_ENCODER_DECODER)
    with pytest.raises(CheckpointError) as encoder_decoder:
        load_backbone(settings, tokenizer=None, vocab_root=shared_data / "vocab")
    _says_how_to_provide(str(encoder_decoder.value), UNCACHED_ENCODER_DECODER, offline_empty_hub)


def test_train_py_with_an_uncached_hub_model_offline_exits_with_that_error_and_no_traceback(
    tmp_path: Path, shared_data: Path
) -> None:
    cache = tmp_path / "hub"
    cache.mkdir()
    result = _run(
        [
            "train.py",
            f"model={UNCACHED_DECODER}",
            f"data_dir={shared_data}",
            f"data.cache_dir={tmp_path / 'tokens'}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        env={"HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_CACHE": str(cache)},
    )
    assert result.returncode != 0
    _says_how_to_provide(result.stderr, UNCACHED_DECODER, cache)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    assert "Error executing job" not in result.stderr  # Hydra's report of an unexpected failure
    assert not any(path.is_file() for path in cache.rglob("*"))  # nothing was downloaded
