"""Reading and writing BioGPT weights in every format a BioGPT user holds.

* Hugging Face directories (``config.json`` + ``model.safetensors`` / ``pytorch_model.bin``, sharded
  or not), which is also the format we write;
* hub ids (``microsoft/biogpt``), fetched through ``huggingface_hub`` so its cache and offline mode
  apply;
* fairseq checkpoints of the BioGPT release (``checkpoint.pt``, ``checkpoint_avg.pt``), whose
  ``decoder.*`` parameters and ``cfg["model"]`` (or legacy ``args``) describe the same network.

Our module names equal fairseq's without ``decoder.`` and Hugging Face's without ``biogpt.``, so each
format is a key prefix plus a config translation. This module reads and writes a config and its
tensors (:class:`PretrainedWeights`) and knows nothing of the network; ``BioGPT.from_weights``
validates every key and shape against the config before anything is assigned, so a failed load
raises and returns no model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from biogpt.errors import MissingFileError
from biogpt.model.config import POSITION_OFFSET, BioGPTConfig
from biogpt.model.safe_pickle import safe_load, to_plain

logger = logging.getLogger(__name__)

HF_PREFIX = "biogpt."
HF_OUTPUT_KEY = "output_projection.weight"
FAIRSEQ_PREFIX = "decoder."
FAIRSEQ_OUTPUT_KEY = "decoder.output_projection.weight"
# fairseq bookkeeping entries of the decoder state dict that are not parameters.
FAIRSEQ_IGNORED_KEYS = ("decoder.version",)
HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
HF_INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
FAIRSEQ_CHECKPOINT_NAMES = ("checkpoint_avg.pt", "checkpoint.pt", "checkpoint_best.pt", "checkpoint_last.pt")
HUB_PATTERNS = [
    "config.json",
    "*.safetensors",
    "*.safetensors.index.json",
    "pytorch_model*.bin",
    "pytorch_model.bin.index.json",
    "vocab.json",
    "merges.txt",
    "tokenizer*.json",
    # the transformers families' tokenizer and decoding files (biogpt.model.hf)
    "spiece.model",
    "special_tokens_map.json",
    "added_tokens.json",
    "generation_config.json",
]

# Hugging Face BioGptConfig field -> our field.
HF_CONFIG_FIELDS = {
    "vocab_size": "vocab_size",
    "num_hidden_layers": "num_layers",
    "hidden_size": "hidden_size",
    "num_attention_heads": "num_heads",
    "intermediate_size": "ffn_size",
    "max_position_embeddings": "max_positions",
    "hidden_dropout_prob": "dropout",
    "attention_probs_dropout_prob": "attention_dropout",
    "activation_dropout": "activation_dropout",
    "scale_embedding": "scale_embedding",
    "pad_token_id": "pad_token_id",
    "bos_token_id": "bos_token_id",
    "eos_token_id": "eos_token_id",
}
# transformers' BioGPT builds its LayerNorms with torch's default eps and never reads the config's
# ``layer_norm_eps`` (1e-12 in the released configs), so 1e-5 is what Hugging Face checkpoints run
# with, and what fairseq trained them with.
HF_LAYER_NORM_EPS = 1e-5
# fairseq transformer_lm option -> our field (sizes come from the weights, cross-checked).
FAIRSEQ_CONFIG_FIELDS = {
    "decoder_layers": "num_layers",
    "decoder_embed_dim": "hidden_size",
    "decoder_attention_heads": "num_heads",
    "decoder_ffn_embed_dim": "ffn_size",
    "dropout": "dropout",
    "attention_dropout": "attention_dropout",
    "activation_dropout": "activation_dropout",
}
# Options that must hold for the network to be the BioGPT decoder implemented here.
FAIRSEQ_REQUIRED = {
    "share_decoder_input_output_embed": True,
    "decoder_learned_pos": True,
    "decoder_normalize_before": True,
    "activation_fn": "gelu",
}


class CheckpointError(ValueError):
    """A checkpoint that does not describe a loadable BioGPT (names the file and the key or field)."""


@dataclass(frozen=True)
class PretrainedWeights:
    """A network's config and its parameters under our module names, read from ``source``."""

    config: BioGPTConfig
    state: dict[str, Tensor]
    source: str


# ---------------------------------------------------------------- configs


def config_from_hf(values: Mapping[str, Any], source: str) -> BioGPTConfig:
    """Translate a Hugging Face ``config.json`` (naming ``source`` in any error)."""
    if values.get("model_type", "biogpt") != "biogpt":
        raise CheckpointError(f"{source}: model_type is {values['model_type']!r}, expected 'biogpt'")
    if values.get("hidden_act", "gelu") != "gelu":
        raise CheckpointError(f"{source}: hidden_act is {values['hidden_act']!r}, BioGPT uses 'gelu'")
    if not values.get("tie_word_embeddings", True):
        raise CheckpointError(f"{source}: tie_word_embeddings is false; BioGPT ties its output projection")
    ours = {field: values[key] for key, field in HF_CONFIG_FIELDS.items() if key in values}
    ours["layer_norm_eps"] = HF_LAYER_NORM_EPS
    try:
        return BioGPTConfig(**ours)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{source}: {error}") from error


def config_to_hf(config: BioGPTConfig) -> dict[str, Any]:
    """The ``config.json`` that ``transformers.BioGptForCausalLM`` reads for this network."""
    if config.layer_norm_eps != HF_LAYER_NORM_EPS:
        logger.warning(
            "layer_norm_eps=%g is not stored in the Hugging Face format: transformers runs BioGPT with %g",
            config.layer_norm_eps,
            HF_LAYER_NORM_EPS,
        )
    values = {key: getattr(config, field) for key, field in HF_CONFIG_FIELDS.items()}
    return {
        "architectures": ["BioGptForCausalLM"],
        "model_type": "biogpt",
        "hidden_act": "gelu",
        "initializer_range": 0.02,
        "layerdrop": 0.0,
        "tie_word_embeddings": True,
        "use_cache": True,
        "layer_norm_eps": HF_LAYER_NORM_EPS,
        **values,
    }


def config_from_fairseq(
    model_args: Mapping[str, Any], state: Mapping[str, Tensor], source: str
) -> BioGPTConfig:
    """Build the config of a fairseq decoder from its options, with sizes read off the weights."""
    for option, expected in FAIRSEQ_REQUIRED.items():
        value = model_args.get(option, expected)
        if value != expected:
            raise CheckpointError(f"{source}: cfg.model.{option} is {value!r}; BioGPT needs {expected!r}")
    if model_args.get("no_scale_embedding", False):
        raise CheckpointError(f"{source}: cfg.model.no_scale_embedding is set; BioGPT scales embeddings")
    embed = _required(state, f"{FAIRSEQ_PREFIX}embed_tokens.weight", source)
    positions = _required(state, f"{FAIRSEQ_PREFIX}embed_positions.weight", source)
    ours: dict[str, Any] = {
        "vocab_size": embed.shape[0],
        "max_positions": positions.shape[0] - POSITION_OFFSET,
        "num_layers": _count_layers(state, FAIRSEQ_PREFIX),
        "hidden_size": embed.shape[1],
        "ffn_size": _required(state, f"{FAIRSEQ_PREFIX}layers.0.fc1.weight", source).shape[0],
    }
    for option, field in FAIRSEQ_CONFIG_FIELDS.items():
        value = model_args.get(option)
        if value is None:
            continue
        if field in ours and ours[field] != value:
            raise CheckpointError(
                f"{source}: cfg.model.{option} is {value} but the weights have {field}={ours[field]}"
            )
        ours[field] = value
    declared_positions = model_args.get("max_target_positions")
    if declared_positions is not None and declared_positions != ours["max_positions"]:
        raise CheckpointError(
            f"{source}: cfg.model.max_target_positions is {declared_positions} but "
            f"{FAIRSEQ_PREFIX}embed_positions.weight has {positions.shape[0]} rows "
            f"({ours['max_positions']} positions + {POSITION_OFFSET})"
        )
    if "num_heads" not in ours:
        raise CheckpointError(f"{source}: cfg.model.decoder_attention_heads is missing")
    try:
        return BioGPTConfig(**ours)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{source}: {error}") from error


def _required(state: Mapping[str, Tensor], key: str, source: str) -> Tensor:
    if key not in state:
        raise CheckpointError(f"{source}: missing key {key!r}")
    return state[key]


def _count_layers(state: Mapping[str, Tensor], prefix: str) -> int:
    indices = {
        int(key[len(prefix) + 7 :].split(".")[0]) for key in state if key.startswith(prefix + "layers.")
    }
    return max(indices) + 1 if indices else 0


# ---------------------------------------------------------------- state dicts


def _untie(state: dict[str, Tensor], output_key: str, embed_key: str, source: str) -> None:
    """Drop a stored output projection after checking it is the tied token embedding."""
    output = state.pop(output_key, None)
    if output is not None and embed_key in state and not torch.equal(output, state[embed_key]):
        raise CheckpointError(
            f"{source}: {output_key} differs from {embed_key}; BioGPT ties its output projection"
        )


def strip_prefix(state: Mapping[str, Tensor], prefix: str, source: str) -> dict[str, Tensor]:
    stripped = {}
    for key, tensor in state.items():
        if not key.startswith(prefix):
            raise CheckpointError(
                f"{source}: unexpected key {key!r} (expected names starting with {prefix!r})"
            )
        stripped[key[len(prefix) :]] = tensor
    return stripped


# ---------------------------------------------------------------- Hugging Face format


def read_hf_directory(directory: Path) -> PretrainedWeights:
    config_path = directory / "config.json"
    try:
        config = config_from_hf(json.loads(config_path.read_text()), str(config_path))
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{config_path}: not valid JSON: {error}") from error
    source = str(directory)
    state = read_hf_weights(directory)
    _untie(state, HF_OUTPUT_KEY, f"{HF_PREFIX}embed_tokens.weight", source)
    return PretrainedWeights(config, strip_prefix(state, HF_PREFIX, source), source)


def read_hf_weights(directory: Path) -> dict[str, Tensor]:
    stored = hf_weights_file(directory)
    if stored.name not in HF_INDEX_FILES:
        return _read_weight_file(stored)
    weight_map = json.loads(stored.read_text()).get("weight_map")
    if not isinstance(weight_map, dict):
        raise CheckpointError(f"{stored}: expected a 'weight_map' object")
    state: dict[str, Tensor] = {}
    for shard in sorted(set(weight_map.values())):
        state.update(_read_weight_file(directory / shard))
    return state


def hf_weights_file(directory: Path) -> Path:
    """A Hugging Face directory's weight file, or the index of its shards."""
    for name in HF_WEIGHT_FILES + HF_INDEX_FILES:
        if (directory / name).is_file():
            return directory / name
    raise CheckpointError(
        f"{directory}: no weights found; expected one of {', '.join(HF_WEIGHT_FILES + HF_INDEX_FILES)}"
    )


def _read_weight_file(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise CheckpointError(f"weight file not found: {path}")
    if path.suffix == ".safetensors":
        try:
            return load_file(path)
        except (SafetensorError, OSError) as error:
            raise CheckpointError(
                f"{path}: not a readable safetensors file (truncated or corrupt?): {error}"
            ) from error
    state = safe_load(path)
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a mapping of parameter names to tensors")
    return dict(state)


def write_pretrained(config: BioGPTConfig, state: Mapping[str, Tensor], directory: str | Path) -> Path:
    """Write ``config.json`` + ``model.safetensors`` in the layout ``transformers`` loads."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stored = {HF_PREFIX + name: tensor.detach().contiguous().cpu() for name, tensor in state.items()}
    save_file(stored, directory / "model.safetensors", metadata={"format": "pt"})
    hf_config = config_to_hf(config)
    hf_config["torch_dtype"] = str(state["embed_tokens.weight"].dtype).removeprefix("torch.")
    (directory / "config.json").write_text(json.dumps(hf_config, indent=2) + "\n")
    return directory


# ---------------------------------------------------------------- fairseq format


def read_checkpoint_file(path: Path, *, trust_pickle: bool = False) -> PretrainedWeights:
    """A ``torch.save`` file: one of our Lightning checkpoints, or a fairseq release checkpoint."""
    checkpoint = safe_load(path, trust_pickle=trust_pickle)
    if isinstance(checkpoint, Mapping) and "state_dict" in checkpoint:
        return _from_lightning(checkpoint, str(path))
    return _from_fairseq(checkpoint, str(path))


# ---------------------------------------------------------------- our Lightning checkpoints

LIGHTNING_MODEL_PREFIX = "model."
LIGHTNING_CONFIG_KEY = "biogpt_config"


def lightning_weights(checkpoint: Mapping[str, Any], source: str) -> dict[str, Tensor]:
    """The BioGPT weights in one of our Lightning checkpoints (its ``model.*`` entries)."""
    state = checkpoint.get("state_dict")
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{source}: not a Lightning checkpoint (no 'state_dict')")
    prefix = LIGHTNING_MODEL_PREFIX
    weights = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
    if not weights:
        raise CheckpointError(f"{source}: its state_dict holds no '{prefix}*' weights")
    return weights


def _from_lightning(checkpoint: Mapping[str, Any], source: str) -> PretrainedWeights:
    values = checkpoint.get(LIGHTNING_CONFIG_KEY)
    if not isinstance(values, Mapping):
        raise CheckpointError(
            f"{source}: a Lightning checkpoint without '{LIGHTNING_CONFIG_KEY}' (not one of ours)"
        )
    config = BioGPTConfig.from_dict(dict(values))
    return PretrainedWeights(config, lightning_weights(checkpoint, source), source)


# ---------------------------------------------------------------- fairseq checkpoints


def _from_fairseq(checkpoint: Any, source: str) -> PretrainedWeights:
    """A BioGPT release checkpoint; learned prompt rows beyond the vocabulary are kept."""
    if not isinstance(checkpoint, Mapping) or not isinstance(checkpoint.get("model"), Mapping):
        raise CheckpointError(f"{source}: expected a fairseq checkpoint with a 'model' state dict")
    state = {key: value for key, value in checkpoint["model"].items() if key not in FAIRSEQ_IGNORED_KEYS}
    model_args = _fairseq_model_args(checkpoint, source)
    _untie(state, FAIRSEQ_OUTPUT_KEY, f"{FAIRSEQ_PREFIX}embed_tokens.weight", source)
    config = config_from_fairseq(model_args, state, source)
    return PretrainedWeights(config, strip_prefix(state, FAIRSEQ_PREFIX, source), source)


def _fairseq_model_args(checkpoint: Mapping[str, Any], source: str) -> dict[str, Any]:
    """fairseq >= 0.10 stores ``cfg["model"]``; older versions an argparse ``args``."""
    cfg = to_plain(checkpoint.get("cfg"))
    model_args = cfg.get("model") if isinstance(cfg, Mapping) else None
    if model_args is None:
        model_args = to_plain(checkpoint.get("args"))
    if not isinstance(model_args, Mapping):
        raise CheckpointError(f"{source}: neither cfg['model'] nor args describe the model")
    return dict(model_args)


def stored_weights(directory: Path) -> Path:
    """The file holding the weights of a model directory, found without reading it: a Hugging Face
    directory's (``config.json`` beside its weights or their shards' index) or a fairseq release
    directory's checkpoint. A directory with neither is an error that says what was looked for, so a
    service can refuse it before its workers would load it."""
    if (directory / "config.json").is_file():
        return hf_weights_file(directory)
    checkpoint = find_fairseq_checkpoint(directory)
    if checkpoint is None:
        raise CheckpointError(
            f"{directory}: neither a Hugging Face directory (config.json) nor a fairseq release directory "
            f"({' or '.join(FAIRSEQ_CHECKPOINT_NAMES)})"
        )
    return checkpoint


def find_fairseq_checkpoint(directory: Path) -> Path | None:
    for name in FAIRSEQ_CHECKPOINT_NAMES:
        if (directory / name).is_file():
            return directory / name
    candidates = sorted(directory.glob("*.pt"))
    return candidates[0] if len(candidates) == 1 else None


# ---------------------------------------------------------------- dispatch


def read_pretrained(
    source: str | Path,
    *,
    trust_pickle: bool = False,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
) -> PretrainedWeights:
    """Load from a Hugging Face directory, a fairseq checkpoint (file or directory), one of our Lightning
    checkpoints (``.ckpt``), or a hub id."""
    path = Path(source)
    if path.is_file():
        return read_checkpoint_file(path, trust_pickle=trust_pickle)
    if path.is_dir():
        stored = stored_weights(path)
        if (path / "config.json").is_file():
            return read_hf_directory(path)
        return read_checkpoint_file(stored, trust_pickle=trust_pickle)
    if looks_like_hub_id(str(source)):
        return read_hf_directory(download_from_hub(str(source), revision=revision, cache_dir=cache_dir))
    raise MissingFileError(f"{source}: no such file or directory, and not a hub id of the form 'org/name'")


def looks_like_hub_id(source: str) -> bool:
    parts = source.split("/")
    return len(parts) == 2 and all(parts) and not source.startswith((".", "~")) and not source.endswith(".pt")


def download_from_hub(
    repo_id: str, *, revision: str | None = None, cache_dir: str | Path | None = None
) -> Path:
    """Fetch (or reuse from the huggingface_hub cache) the files of a hub model."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(
            snapshot_download(repo_id, revision=revision, cache_dir=cache_dir, allow_patterns=HUB_PATTERNS)
        )
    except LocalEntryNotFoundError as error:
        import huggingface_hub.constants

        cache = Path(cache_dir if cache_dir is not None else huggingface_hub.constants.HF_HUB_CACHE)
        raise CheckpointError(
            f"{repo_id}: not in the huggingface_hub cache ({cache}) and the hub cannot be reached (offline "
            f"mode or no network). On a machine with internet, run `hf download {repo_id}` and copy its "
            "cache (~/.cache/huggingface/hub) here, pointing HF_HOME or HF_HUB_CACHE at it; or give a local "
            "directory holding the model's files (config.json, weights, tokenizer) instead of the hub id "
            "(model.init=<dir>, ckpt=<dir>)."
        ) from error
    except HfHubHTTPError as error:
        raise CheckpointError(f"{repo_id}: the hub refused the download: {error}") from error
