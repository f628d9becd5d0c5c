"""The generation job (``biogpt-generate``): continue a text with any backbone.

A decoder-only model continues ``[</s>; text]`` (fairseq language models start sequences with
``</s>``, GPT-2 starts documents with its ``<|endoftext|>``, the same role) and the text is printed
with its continuation, detokenized together. An encoder-decoder reads the text (in its family's
special tokens) with its encoder and generates a target, printed after the text. The model's
vocabulary is the one that goes with its source (:func:`biogpt.artifacts.vocabulary.vocabulary_source`).
"""

from __future__ import annotations

from omegaconf import DictConfig

from biogpt.artifacts.model_dir import load_generator
from biogpt.experiment.config.settings import vocab_root
from biogpt.generation import GenerationSettings, generate
from biogpt.model.precision import inference_dtype
from biogpt.prompts import PromptSettings


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
    if model.decoder_start_id is None:
        [continuation] = generate(
            model, [[tokenizer.eos_id, *text_ids]], config, eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id
        )
        return tokenizer.decode(text_ids + continuation)
    before, after = tokenizer.special_wrapping()
    [target] = generate(
        model,
        [[model.decoder_start_id]],
        config,
        eos_id=tokenizer.eos_id,
        pad_id=tokenizer.pad_id,
        encoder_inputs=[[*before, *text_ids, *after]],
    )
    return f"{cfg.text} {tokenizer.decode(target)}"
