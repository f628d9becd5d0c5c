"""The networks: the :class:`Backbone` interface every run uses (:mod:`~biogpt.model.backbone`); the
BioGPT decoder (:mod:`~biogpt.model.network`), its config and presets (:mod:`~biogpt.model.config`),
the weight files (:mod:`~biogpt.model.weights`: Hugging Face directories and hub ids, fairseq release
checkpoints, our Lightning checkpoints) and :class:`BioGPT`, the network that loads and saves them
(:mod:`~biogpt.model.pretrained`); the ``transformers`` families (:mod:`~biogpt.model.hf`); and
:func:`load_network`, which loads any of them from where it is stored (:mod:`~biogpt.model.loading`)."""

from biogpt.model.backbone import Backbone
from biogpt.model.config import PRESETS, BioGPTConfig
from biogpt.model.loading import load_network
from biogpt.model.network import DecoderLayer, KVCache, count_parameters
from biogpt.model.pretrained import BioGPT

__all__ = [
    "PRESETS",
    "Backbone",
    "BioGPT",
    "BioGPTConfig",
    "DecoderLayer",
    "KVCache",
    "count_parameters",
    "load_network",
]
