"""The model directory every run writes (``<run dir>/final``) and every command reads.

A model directory holds the weights and config in the Hugging Face layout, the tokenizer (added
prompt tokens included) and, for fine-tuned models, ``prompt.json``: the prompt it was trained with.
Fine-tuning, pre-training, evaluation, generation and the demo all save and load through this module,
so what one writes the others read.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from biogpt.artifacts.vocabulary import load_vocabulary, vocabulary_source
from biogpt.generation.tasks import Generator
from biogpt.model.adapters import (
    ADAPTER_DIR,
    adapted_config,
    merged_weights,
    save_adapter,
    save_prompt_rows,
)
from biogpt.model.backbone import Backbone
from biogpt.model.loading import BIOGPT_FAMILY, load_network
from biogpt.model.precision import inference_device
from biogpt.model.quantized import quantized_modules, with_float_base
from biogpt.model.weights import CheckpointError
from biogpt.prompts import PromptSettings, prompt_tokens
from biogpt.tokenizer.protocol import Tokenizer

logger = logging.getLogger(__name__)

PROMPT_FILE = "prompt.json"


def save_model_dir(
    directory: Path,
    model: Backbone,
    tokenizer: Tokenizer,
    prompt: PromptSettings | None = None,
    *,
    weights: dict[str, torch.Tensor] | None = None,
    merge: bool = True,
    base_rows: int | None = None,
) -> Path:
    """Write a model directory: ``weights`` (e.g. averaged checkpoints) or the model's own, the
    tokenizer, and the prompt the model was trained with (None: a plain language model).

    A model carrying ``peft`` adapters also writes them to ``adapter/`` (a ``peft`` adapter directory
    naming its base); the directory's model is then the merged full model (``merge``), which every
    command reads as any other, or nothing but the embedding rows past the base's ``base_rows`` (a soft
    prompt's, ``prompt_rows.safetensors``), so that loading it reads the base and adds rows and adapter.
    """
    state = model.state_dict() if weights is None else weights
    config = adapted_config(model)
    if config is None:
        model.save_pretrained(directory, weights)
        return _save_tokenizer_and_prompt(directory, tokenizer, prompt)
    writer = model
    if quantized_modules(model):
        # A 4-bit base (QLoRA) is written from its float weights: the merged model adds the adapters to
        # them, and the network that writes it is the float base (grown by the prompt's rows).
        writer = _float_base(model, config)
        state = with_float_base(state, model, writer.state_dict())
        config = copy.copy(config)
        config.fan_in_fan_out = writer.adapter_fan_in_fan_out  # GPT-2's Conv1D, which bitsandbytes replaced
    save_adapter(directory / ADAPTER_DIR, model, state, config)
    if merge:
        writer.save_pretrained(directory, merged_weights(state, config))
    elif base_rows is not None and model.vocab_size > base_rows:
        save_prompt_rows(directory, model, state, base_rows)
    return _save_tokenizer_and_prompt(directory, tokenizer, prompt)


def _float_base(model: Backbone, config: Any) -> Backbone:
    """The float32 network an adapted 4-bit ``model`` was quantised from (the adapter's base), with as
    many embedding rows as ``model`` (a soft prompt's rows past the base's, here as ``model`` holds them)."""
    base = load_network(config.base_model_name_or_path)
    rows = model.input_embeddings().weight
    if rows.shape[0] > base.vocab_size:
        base.grow_embeddings(rows[base.vocab_size :].detach().float().cpu())
    return base


def _save_tokenizer_and_prompt(directory: Path, tokenizer: Tokenizer, prompt: PromptSettings | None) -> Path:
    tokenizer.save_pretrained(directory)
    if prompt is not None:
        (directory / PROMPT_FILE).write_text(json.dumps(asdict(prompt), indent=2) + "\n")
    return directory


def load_generator(
    source: str | Path,
    *,
    tokenizer: str | None = None,
    vocab_root: Path,
    prompt: PromptSettings,
    dtype: torch.dtype = torch.float32,
) -> Generator:
    """Model, tokenizer and prompt from ``source`` (a model directory, HF directory or hub id, or a
    fairseq checkpoint); ``prompt`` applies where the source records none. ``dtype``: the precision of
    the weights, and so of the KV cache decoding allocates (``torch.bfloat16``: lower-precision inference).

    Our model directories record their prompt (``prompt.json``). A fine-tuned release checkpoint's
    prompt is its ``learned1..N`` rows past the vocabulary. The prompt's soft tokens are added to the
    tokenizer here, once, so its ids match the model's rows.
    """
    model = load_network(source, dtype=dtype).to(inference_device())
    vocabulary = vocabulary_source(
        str(source), model.vocab_size, family=model.family, tokenizer=tokenizer, vocab_root=vocab_root
    )
    loaded_tokenizer = load_vocabulary(vocabulary, model.family)
    path = Path(source)
    if (path / PROMPT_FILE).is_file():
        prompt = PromptSettings(**json.loads((path / PROMPT_FILE).read_text()))
        logger.info("prompt of %s: %s", source, prompt)
    elif model.family == BIOGPT_FAMILY and model.vocab_size > loaded_tokenizer.vocab_size:
        prompt = PromptSettings(kind="soft", length=model.vocab_size - loaded_tokenizer.vocab_size)
        logger.info("%s carries %d learned prompt rows: prompt %s", source, prompt.length, prompt.echo())
    loaded_tokenizer.add_tokens(prompt_tokens(prompt, loaded_tokenizer).new_tokens)
    if loaded_tokenizer.vocab_size > model.vocab_size:
        raise CheckpointError(
            f"{source}: the model has {model.vocab_size} embedding rows but its tokenizer ({vocabulary}) "
            f"with a {prompt.kind} prompt of {prompt.length} tokens needs {loaded_tokenizer.vocab_size}; "
            "give the prompt it was trained with (prompt=hard, prompt=none, or prompt.length=...), or a "
            "model directory that records it"
        )
    return Generator(model.eval(), loaded_tokenizer, prompt)
