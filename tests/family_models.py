"""Tiny randomly initialised ``transformers`` models of the four backbone families, with tokenizers, as a
hub checkpoint would ship them (weights, config, tokenizer, generation config), built without any
download.

GPT-2 and GPT-Neo use the real GPT-2 byte-level BPE vocabulary of ``../shared/data/vocab/gpt2``; BART
the same files read by BART's tokenizer (which appends BART's specials); T5 a SentencePiece unigram
model trained here on the given texts. The BART model's generation config carries the defaults
BART-derived checkpoints ship (``num_beams=4, no_repeat_ngram_size=3``), which our decoding must ignore.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

FAMILIES = ("gpt2", "gpt_neo", "bart", "t5")
DECODER_FAMILIES = ("gpt2", "gpt_neo")
T5_SPECIALS = ("<pad>", "</s>", "<unk>")
# What a T5 unigram model is trained on when a test gives no texts of its own.
DEFAULT_TEXTS = (
    "the relation between aspirin and headache is treats.",
    "Naloxone reverses the antihypertensive effect of clonidine.",
    "the answer to the question given the context is yes.",
    "the type of this document is sustaining proliferative signaling.",
)


def family_tokenizer(
    family: str, shared_data: Path, texts: Sequence[str] = DEFAULT_TEXTS, vocab_size: int = 400
) -> Any:
    """The family's ``transformers`` tokenizer over real (GPT-2, BART) or trained (T5) vocabularies."""
    import transformers

    gpt2 = shared_data / "vocab" / "gpt2"
    if family in DECODER_FAMILIES:
        return transformers.GPT2TokenizerFast.from_pretrained(str(gpt2))
    if family == "bart":
        return transformers.BartTokenizerFast.from_pretrained(str(gpt2))
    if family == "t5":
        return transformers.T5TokenizerFast(vocab=unigram_pieces(texts, vocab_size), extra_ids=0)
    raise ValueError(f"unknown family {family!r}")


def unigram_pieces(texts: Sequence[str], vocab_size: int) -> list[tuple[str, float]]:
    """A SentencePiece unigram vocabulary, deterministic (the ``tokenizers`` trainer breaks score ties
    in hash order): T5's specials, every character, then the most frequent words, each scored by its
    log frequency."""
    words = Counter(f"\u2581{word}" for text in texts for word in text.split())
    characters = Counter(
        character for word, count in words.items() for character in word for _ in range(count)
    )
    total = sum(words.values()) + sum(characters.values())
    room = vocab_size - len(T5_SPECIALS) - len(characters)
    frequent = sorted(
        ((count, word) for word, count in words.items() if len(word) > 1), key=lambda x: (-x[0], x[1])
    )
    scored = [(piece, math.log(count / total)) for count, piece in frequent[: max(room, 0)]]
    scored += [(character, math.log(count / total)) for character, count in characters.items()]
    return [(special, 0.0) for special in T5_SPECIALS] + sorted(scored, key=lambda item: (-item[1], item[0]))


def family_network(
    family: str, tokenizer: Any, *, seed: int = 0, dropout: float = 0.0, positions: int = 512, width: int = 32
) -> Any:
    """A 2-layer network of ``family``, ``width`` wide, sized to ``tokenizer``, initialised from ``seed``."""
    import transformers

    torch.manual_seed(seed)
    vocab = len(tokenizer)
    if family == "gpt2":
        config = transformers.GPT2Config(
            vocab_size=vocab, n_positions=positions, n_embd=width, n_layer=2, n_head=4,
            resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout,
            bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
        )  # fmt: skip
        return transformers.GPT2LMHeadModel(config)
    if family == "gpt_neo":
        config = transformers.GPTNeoConfig(
            vocab_size=vocab, max_position_embeddings=positions, hidden_size=width, num_layers=2, num_heads=4,
            attention_types=[[["global", "local"], 1]], window_size=16,
            resid_dropout=dropout, embed_dropout=dropout, attention_dropout=dropout,
            bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
        )  # fmt: skip
        return transformers.GPTNeoForCausalLM(config)
    if family == "bart":
        config = transformers.BartConfig(
            vocab_size=vocab, d_model=width, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
            decoder_attention_heads=4, encoder_ffn_dim=2 * width, decoder_ffn_dim=2 * width,
            max_position_embeddings=positions,
            dropout=dropout, attention_dropout=dropout, activation_dropout=0.0,
            pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id,
        )  # fmt: skip
        network = transformers.BartForConditionalGeneration(config)
        network.generation_config.num_beams = 4  # what BART-derived checkpoints ship
        network.generation_config.no_repeat_ngram_size = 3
        return network
    if family == "t5":
        config = transformers.T5Config(
            vocab_size=vocab, d_model=width, d_ff=2 * width, d_kv=width // 4, num_layers=2, num_heads=4,
            dropout_rate=dropout,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
            # exact relative positions up to 64 tokens apart (T5's default: 16), so that a tiny model can
            # tell the clauses of a long, repetitive relation target apart when it memorises one
            relative_attention_num_buckets=128, relative_attention_max_distance=1024,
        )  # fmt: skip
        return transformers.T5ForConditionalGeneration(config)
    raise ValueError(f"unknown family {family!r}")


def family_model_dir(
    family: str,
    directory: Path,
    shared_data: Path,
    *,
    texts: Sequence[str] = DEFAULT_TEXTS,
    seed: int = 0,
    width: int = 32,
    vocab_size: int = 400,
) -> Path:
    """A hub-style model directory of a tiny ``family`` network and its tokenizer (``vocab_size``: T5's)."""
    tokenizer = family_tokenizer(family, shared_data, texts, vocab_size)
    network = family_network(family, tokenizer, seed=seed, width=width)
    network.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory
