"""The BioGPT decoder (:mod:`~biogpt.model.network`), its config and presets
(:mod:`~biogpt.model.config`), the weight files (:mod:`~biogpt.model.weights`: Hugging Face
directories and hub ids, fairseq release checkpoints, our Lightning checkpoints), and
:class:`BioGPT`, the network that loads and saves them (:mod:`~biogpt.model.pretrained`)."""

from biogpt.model.config import PRESETS, BioGPTConfig
from biogpt.model.network import DecoderLayer, KVCache, count_parameters
from biogpt.model.pretrained import BioGPT

__all__ = ["PRESETS", "BioGPT", "BioGPTConfig", "DecoderLayer", "KVCache", "count_parameters"]
