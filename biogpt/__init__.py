"""BioGPT: pre-training, prompt fine-tuning and evaluation of BioGPT-style generative models."""

from biogpt.model import BioGPT, BioGPTConfig, KVCache

__all__ = ["BioGPT", "BioGPTConfig", "KVCache"]
