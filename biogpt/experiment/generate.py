"""The generation job (``biogpt-generate``): continue a text with any backbone.

A decoder-only model continues ``[</s>; text]`` (fairseq language models start sequences with
``</s>``, GPT-2 starts documents with its ``<|endoftext|>``, the same role) and the text is printed
with its continuation, detokenized together. An encoder-decoder reads the text (in its family's
special tokens) with its encoder and generates a target, printed after the text. The model's
vocabulary is the one that goes with its source (:func:`biogpt.artifacts.vocabulary.vocabulary_source`).
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from biogpt.artifacts.model_dir import load_generator
from biogpt.errors import ConfigError
from biogpt.experiment.config.settings import vocab_root
from biogpt.generation import GenerationSettings, generate
from biogpt.model.precision import inference_dtype
from biogpt.prompts import PromptSettings

logger = logging.getLogger(__name__)


def _room_to_generate(read: int, positions: int | None, decoder_only: bool, max_len: int, ckpt: str) -> None:
    """Refuse a text the model cannot read whole, which ended in the decoder's traceback, and say so where
    ``max_len`` asks for more tokens than the positions leave, rather than stop short silently. ``read``:
    the text's tokens as the model reads them; ``positions``: the model's table (None: T5's relative
    positions, no table to run out of). A decoder-only model reads the text and generates after it in
    one table, so one position must stay free; an encoder-decoder's encoder reads the text, and its
    decoder starts from one token of its own table."""
    if positions is None:
        return
    fits = positions - 1 if decoder_only else positions
    if read > fits:
        raise ConfigError(
            f"text: {read} tokens as the model reads it, over the {fits} that the {positions} positions of "
            f"{ckpt} allow{' with one left to generate' if decoder_only else ''}; expected a shorter text"
        )
    room = positions - read if decoder_only else positions - 1
    if max_len > room:
        logger.warning(
            "max_len=%d: %s has room for %d tokens after this text; it stops there", max_len, ckpt, room
        )


def continue_text(cfg: DictConfig) -> str:
    loaded = load_generator(
        str(cfg.ckpt),
        tokenizer=cfg.tokenizer,
        vocab_root=vocab_root(cfg),
        prompt=PromptSettings(kind="none"),
        dtype=inference_dtype(str(cfg.dtype)),
    )
    model, tokenizer = loaded.model, loaded.tokenizer
    config = GenerationSettings(
        max_new_tokens=cfg.max_len,
        min_new_tokens=cfg.min_len,
        beam=cfg.beam,
        length_penalty=cfg.lenpen,
        sampling=cfg.sampling,
        temperature=cfg.temperature,
        top_k=cfg.top_k,
        top_p=cfg.top_p,
        no_repeat_ngram_size=cfg.no_repeat_ngram_size,
        seed=cfg.seed,
    )
    text_ids = tokenizer.encode(str(cfg.text))
    before, after = tokenizer.special_wrapping()
    decoder_only = model.decoder_start_id is None
    read = 1 + len(text_ids) if decoder_only else len(before) + len(text_ids) + len(after)
    _room_to_generate(read, model.max_positions, decoder_only, cfg.max_len, str(cfg.ckpt))
    if decoder_only:
        [continuation] = generate(
            model, [[tokenizer.eos_id, *text_ids]], config, eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id
        )
        return tokenizer.decode(text_ids + continuation)
    [target] = generate(
        model,
        [[model.decoder_start_id]],
        config,
        eos_id=tokenizer.eos_id,
        pad_id=tokenizer.pad_id,
        encoder_inputs=[[*before, *text_ids, *after]],
    )
    return f"{cfg.text} {tokenizer.decode(target)}"
