"""BioGPT tokenization: exact, fast reimplementation of the release's Moses + fastBPE pipeline."""

from biogpt.tokenizer.tokenizer import BioGPTTokenizer

__all__ = ["BioGPTTokenizer"]
