"""Which vocabulary goes with which model source, and loading it.

A fairseq release checkpoint, a model directory without tokenizer files and a fresh network carry no
vocabulary of their own: the released one of their shape goes with them (BioGPT-Large's for a network
with as many embedding rows, BioGPT's otherwise). Every command that loads a model asks here, so
training, evaluation, generation and serving pair the same vocabulary with the same weights.
"""

from __future__ import annotations

from pathlib import Path

from biogpt.errors import MissingFileError
from biogpt.model import PRESETS
from biogpt.model.loading import BIOGPT_FAMILY, local_source
from biogpt.model.weights import looks_like_hub_id
from biogpt.tokenizer import BioGPTTokenizer
from biogpt.tokenizer.family import FamilyTokenizer
from biogpt.tokenizer.protocol import Tokenizer
from biogpt.tokenizer.vocab import FAIRSEQ_FILES, HF_FILES

# The released vocabularies, as directories under a vocabulary root (``<data_dir>/vocab``).
BIOGPT_VOCABULARY = "biogpt"
BIOGPT_LARGE_VOCABULARY = "biogpt-large"
# A saved transformers tokenizer.
TOKENIZERS_FILES = ("tokenizer.json",)


def released_vocabulary(vocab_root: Path, rows: int) -> Path:
    """The released vocabulary a BioGPT network with ``rows`` embedding rows was trained with.

    BioGPT-Large's dictionary is the larger one; a network with at least as many embedding rows uses
    it (rows past the dictionary are a fine-tuned model's prompt rows), any other uses BioGPT's.
    """
    large = rows >= PRESETS[BIOGPT_LARGE_VOCABULARY].vocab_size
    return vocab_root / (BIOGPT_LARGE_VOCABULARY if large else BIOGPT_VOCABULARY)


def holds_vocabulary(directory: Path) -> bool:
    """Whether ``directory`` holds a tokenizer (Hugging Face, fairseq or ``tokenizers`` files)."""
    return any(
        all((directory / name).is_file() for name in files)
        for files in (HF_FILES, FAIRSEQ_FILES, TOKENIZERS_FILES)
    )


def vocabulary_source(
    model_source: str | None,
    rows: int,
    *,
    family: str = BIOGPT_FAMILY,
    tokenizer: str | None,
    vocab_root: Path,
) -> str | Path:
    """Where the tokenizer of a model comes from, in this order:

    an explicit ``tokenizer``; the model's own directory when it holds a vocabulary; a hub id's own
    tokenizer files; else (a bare fairseq checkpoint, a directory without one, a fresh network) the
    released vocabulary of a BioGPT network with ``rows`` embedding rows under ``vocab_root``. Other
    families always bring their own tokenizer.
    """
    if tokenizer:
        return tokenizer
    if model_source is not None:
        path = Path(model_source)
        if path.is_dir() and holds_vocabulary(path):
            return path
        if not path.exists() and looks_like_hub_id(model_source):
            return model_source
    if family != BIOGPT_FAMILY:
        raise MissingFileError(
            f"{model_source}: a {family} model without its tokenizer files; "
            "give them with tokenizer=<directory>"
        )
    return released_vocabulary(vocab_root, rows)


def load_vocabulary(source: str | Path, family: str) -> Tokenizer:
    """The tokenizer at ``source`` (a directory or hub id) for a network of ``family``: BioGPT's own
    reimplementation, or the family's ``transformers`` tokenizer."""
    if family == BIOGPT_FAMILY:
        return BioGPTTokenizer.from_pretrained(source)
    return FamilyTokenizer.from_pretrained(local_source(source))
