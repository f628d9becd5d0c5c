"""Convert a BioGPT fairseq release checkpoint into a Hugging Face directory.

    python -m biogpt.convert Pre-trained-BioGPT/ biogpt-hf/
    python -m biogpt.convert RE-BC5CDR/checkpoint_avg.pt bc5cdr-hf/ --vocab data/BioGPT

The output holds ``config.json`` + ``model.safetensors`` (``transformers.BioGptForCausalLM`` loads
them) and the tokenizer files written from ``bpecodes`` + ``dict.txt``. Fine-tuned release
checkpoints carry embedding rows after the dictionary for the learned prompt tokens; the release
names them ``learned1..learnedN`` (its ``--learned-prompt-pattern`` default), as our soft prompts
do: they are added to the tokenizer under those names so every row keeps a token, and the output is
a model directory that records that prompt (:mod:`biogpt.artifacts.model_dir`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from biogpt.artifacts.model_dir import save_model_dir
from biogpt.errors import DataFileError, MissingFileError
from biogpt.model import BioGPT
from biogpt.model.weights import find_fairseq_checkpoint
from biogpt.prompts import PromptSettings, prompt_tokens
from biogpt.textfiles import output_directory
from biogpt.tokenizer import BioGPTTokenizer

logger = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def convert(
    source: Path,
    output: Path,
    *,
    vocab: Path | None = None,
    trust_pickle: bool = False,
    dtype: torch.dtype = torch.float32,
) -> tuple[BioGPT, BioGPTTokenizer]:
    """Write the Hugging Face directory for ``source`` (a release directory or checkpoint file)."""
    checkpoint = find_fairseq_checkpoint(source) if source.is_dir() else source
    if checkpoint is None or not checkpoint.is_file():
        raise MissingFileError(f"{source}: no fairseq checkpoint (checkpoint*.pt) found")
    vocab_dir = vocab or checkpoint.parent
    for name in ("bpecodes", "dict.txt"):
        if not (vocab_dir / name).is_file():
            raise MissingFileError(
                f"{vocab_dir / name} not found; pass --vocab DIR holding bpecodes and dict.txt"
            )
    model = BioGPT.from_pretrained(checkpoint, trust_pickle=trust_pickle, dtype=dtype)
    tokenizer = BioGPTTokenizer.from_pretrained(vocab_dir)
    extra_rows = model.config.vocab_size - tokenizer.vocab_size
    if extra_rows < 0:
        raise DataFileError(
            f"{checkpoint}: the model has {model.config.vocab_size} embedding rows but "
            f"{vocab_dir / 'dict.txt'} gives {tokenizer.vocab_size} ids; is this the checkpoint's vocabulary?"
        )
    prompt = None
    if extra_rows:
        prompt = PromptSettings(kind="soft", length=extra_rows)
        tokenizer.add_tokens(prompt_tokens(prompt, tokenizer).new_tokens)
        logger.info("added %d learned prompt tokens: %s", extra_rows, prompt.echo())
    save_model_dir(output, model, tokenizer, prompt)
    return model, tokenizer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", type=Path, help="fairseq release directory or checkpoint .pt file")
    parser.add_argument("output", type=output_directory, help="Hugging Face directory to write")
    parser.add_argument(
        "--vocab", type=Path, help="directory with bpecodes + dict.txt (default: beside the checkpoint)"
    )
    parser.add_argument(
        "--dtype", choices=sorted(DTYPES), default="float32", help="dtype of the written weights"
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="unpickle the checkpoint without the weights-only safeguard (trusted files only)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model, tokenizer = convert(
        args.source, args.output, vocab=args.vocab, trust_pickle=args.trust_pickle, dtype=DTYPES[args.dtype]
    )
    print(
        f"wrote {args.output}: {model.config.num_layers} layers, d={model.config.hidden_size}, "
        f"{model.config.vocab_size} ids ({len(tokenizer.added_tokens)} added tokens)"
    )
