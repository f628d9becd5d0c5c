"""Decoding (:mod:`~biogpt.generation.decoding`: greedy, beam and sampling with a KV cache) and a task
split's generations from a model with its tokenizer and prompt (:mod:`~biogpt.generation.tasks`)."""

from biogpt.generation.decoding import GenerationSettings, generate

__all__ = ["GenerationSettings", "generate"]
