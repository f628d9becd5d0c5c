"""The generation job (``biogpt-generate``): continue a text with any BioGPT.

The text is tokenized and prefixed with ``</s>`` (fairseq language models start sequences with it);
the continuation is returned after the text, detokenized. The model's vocabulary is the one that goes
with its source (:func:`biogpt.artifacts.model_dir.vocabulary_source`).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from biogpt.artifacts.model_dir import vocabulary_source
from biogpt.generation import GenerationConfig, generate
from biogpt.model import BioGPT
from biogpt.tokenizer import BioGPTTokenizer


def continue_text(cfg: DictConfig) -> str:
    model = BioGPT.from_pretrained(str(cfg.ckpt)).eval()
    vocabulary = vocabulary_source(
        str(cfg.ckpt), model.config, tokenizer=cfg.tokenizer, vocab_root=Path(str(cfg.data_dir)) / "vocab"
    )
    tokenizer = BioGPTTokenizer.from_pretrained(vocabulary)
    config = GenerationConfig(
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
    prefix = [tokenizer.eos_id, *tokenizer.encode(str(cfg.text))]
    [continuation] = generate(model, [prefix], config, eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id)
    return tokenizer.decode(prefix[1:] + continuation)
