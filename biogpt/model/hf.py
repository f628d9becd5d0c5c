"""The ``transformers`` backbones: GPT-2 (and BioMedLM, a GPT-2), GPT-Neo, BART (BioBART, In-BoXBART) and
T5 (Flan-T5, SciFive), behind the :class:`~biogpt.model.backbone.Backbone` interface.

``transformers`` is imported only here, and only when one of these families is chosen: BioGPT runs on
our own implementation (:mod:`biogpt.model.pretrained`) with or without it installed.

Decoding keeps ``transformers``' own caches (``DynamicCache``, ``EncoderDecoderCache``) but never its
``generate``: the decoding loop and every setting come from :mod:`biogpt.generation.decoding`, so a
checkpoint's ``generation_config.json`` (``num_beams=4, no_repeat_ngram_size=3`` in BART-derived
checkpoints) cannot change an evaluation. Decoder-only prefixes are left-padded, and positions are
counted from the attention mask as ``transformers``' ``generate`` counts them, so a padded row
computes what it would alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from biogpt.model.backbone import DECODER, ENCODER_DECODER, Backbone
from biogpt.model.weights import CheckpointError
from biogpt.optional import require_transformers

# model_type (config.json) -> kind, for the architecture families this framework trains.
FAMILIES: dict[str, str] = {
    "gpt2": DECODER,
    "gpt_neo": DECODER,
    "bart": ENCODER_DECODER,
    "t5": ENCODER_DECODER,
}
# model_type -> the projections a LoRA adapter targets by default: every attention and feed-forward
# projection, by the family's own module names (T5 v1.1 and Flan-T5 split ``wi`` into ``wi_0``/``wi_1``;
# GPT-2's ``c_proj`` names the attention and the MLP output projections).
ADAPTER_TARGETS: dict[str, tuple[str, ...]] = {
    "gpt2": ("c_attn", "c_proj", "c_fc"),
    "gpt_neo": ("q_proj", "k_proj", "v_proj", "out_proj", "c_fc", "c_proj"),
    "bart": ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"),
    "t5": ("q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo"),
}
# Lightning checkpoint entry holding a transformers backbone's config (with its model_type).
HF_CONFIG_KEY = "hf_backbone_config"
# The attribute holding the transformers model, so the prefix of its weights in our state dicts.
NETWORK_PREFIX = "network."
# Config fields of each family's dropout: (hidden/embedding dropout fields, attention dropout fields).
DROPOUT_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gpt2": (("resid_pdrop", "embd_pdrop"), ("attn_pdrop",)),
    "gpt_neo": (("resid_dropout", "embed_dropout"), ("attention_dropout",)),
    "bart": (("dropout",), ("attention_dropout",)),
    "t5": (("dropout_rate",), ()),
}


def model_type(directory: Path) -> str | None:
    """The ``model_type`` of a Hugging Face directory's ``config.json`` (None: no config.json)."""
    path = directory / "config.json"
    if not path.is_file():
        return None
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from None
    kind = values.get("model_type") if isinstance(values, dict) else None
    if not isinstance(kind, str):
        raise CheckpointError(f"{path}: no 'model_type' field naming the architecture")
    return kind


def check_family(family: str, source: str) -> str:
    """The kind of a supported family, or an error naming the families this framework trains."""
    if family not in FAMILIES:
        raise CheckpointError(
            f"{source}: model_type {family!r} is not a supported backbone family; supported: biogpt "
            f"(our implementation) and, through transformers, {', '.join(FAMILIES)}"
        )
    return FAMILIES[family]


class _HFState:
    """A ``transformers`` cache, plus an encoder-decoder's encoder outputs and mask."""

    def __init__(self, cache: Any, encoder: tuple[Any, Tensor] | None = None) -> None:
        self.cache = cache
        self.encoder = encoder

    def reorder(self, rows: Tensor) -> None:
        self.cache.reorder_cache(rows)
        if self.encoder is not None:
            outputs, mask = self.encoder
            outputs.last_hidden_state = outputs.last_hidden_state.index_select(0, rows)
            self.encoder = (outputs, mask.index_select(0, rows))


class HFBackbone(Backbone):
    """A ``transformers`` model (``network``) of one of :data:`FAMILIES`, as a backbone."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        family = network.config.model_type
        self.kind = check_family(family, type(network).__name__)  # type: ignore[misc]
        self.family = family
        # transformers loads in eval mode; a backbone starts in training mode, as any nn.Module does
        self.network = network.train()

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        *,
        dtype: torch.dtype = torch.float32,
        dropout: float | None = None,
        attention_dropout: float | None = None,
        quantization: Any | None = None,
    ) -> HFBackbone:
        """Load a local Hugging Face directory (hub ids are fetched by :mod:`biogpt.model.loading`);
        ``dropout``/``attention_dropout`` replace the checkpoint's own values where given;
        ``quantization``: a ``transformers`` quantization config its projections load in
        (:func:`biogpt.model.quantized.nf4_config`)."""
        transformers = require_transformers(f"{directory}")
        config = transformers.AutoConfig.from_pretrained(str(directory))
        kind = check_family(config.model_type, str(directory))
        set_dropout(config, dropout, attention_dropout)
        auto = transformers.AutoModelForCausalLM if kind == DECODER else transformers.AutoModelForSeq2SeqLM
        extra = {} if quantization is None else {"quantization_config": quantization}
        return cls(auto.from_pretrained(str(directory), config=config, dtype=dtype, **extra))

    @classmethod
    def from_config(cls, values: Mapping[str, Any], state: Mapping[str, Tensor] | None = None) -> HFBackbone:
        """A network of this config (``model_type`` included), with ``state`` (its ``network.*``
        weights, as a Lightning checkpoint holds them) or randomly initialised."""
        transformers = require_transformers(f"a {values.get('model_type')} backbone")
        values = dict(values)
        family = values.pop("model_type", None)
        kind = check_family(str(family), "checkpoint config")
        config = transformers.AutoConfig.for_model(family, **values)
        auto = transformers.AutoModelForCausalLM if kind == DECODER else transformers.AutoModelForSeq2SeqLM
        backbone = cls(auto.from_config(config))
        if state is not None:
            backbone.load_state_dict(dict(state))
        return backbone

    # --- the Backbone interface ------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return int(self.network.get_input_embeddings().num_embeddings)

    @property
    def max_positions(self) -> int | None:
        if self.family == "t5":  # relative position buckets: no table to run out of
            return None
        config = self.network.config
        return int(getattr(config, "n_positions", None) or config.max_position_embeddings)

    @property
    def decoder_start_id(self) -> int | None:
        if self.kind == DECODER:
            return None
        config = self.network.config
        start = getattr(config, "decoder_start_token_id", None)
        return int(start if start is not None else config.pad_token_id)  # T5 starts from its pad token

    @property
    def block_classes(self) -> tuple[type[nn.Module], ...]:
        names = set(self.network._no_split_modules or ())
        found = {type(module) for module in self.network.modules() if type(module).__name__ in names}
        return tuple(sorted(found, key=lambda cls: cls.__name__))

    @property
    def adapter_targets(self) -> tuple[str, ...]:
        return ADAPTER_TARGETS[self.family]

    @property
    def adapter_fan_in_fan_out(self) -> bool:
        return self.family == "gpt2"  # Conv1D: weights stored (in, out)

    def transformers_name(self, name: str) -> str:
        return _network_key(name)

    def batch_logits(self, batch: Mapping[str, Any], logits_to_keep: int = 0) -> Tensor:
        if self.kind == DECODER:
            mask = batch["attention_mask"]
            return self.network(
                input_ids=batch["input_ids"],
                attention_mask=mask,
                position_ids=_positions(mask),
                logits_to_keep=logits_to_keep,
            ).logits
        logits = self.network(  # not every encoder-decoder class takes logits_to_keep (T5 does not)
            input_ids=batch["encoder_ids"],
            attention_mask=batch["encoder_mask"],
            decoder_input_ids=batch["input_ids"],
            decoder_attention_mask=batch["attention_mask"],
        ).logits
        return logits[:, -logits_to_keep:] if logits_to_keep else logits

    def input_embeddings(self) -> nn.Embedding:
        return self.network.get_input_embeddings()

    def grow_embeddings(self, rows: Tensor) -> None:
        old_rows = self.vocab_size
        self.network.resize_token_embeddings(old_rows + rows.shape[0], mean_resizing=False)
        weight = self.network.get_input_embeddings().weight
        with torch.no_grad():
            weight[old_rows:] = rows.to(weight)
            output = self.network.get_output_embeddings()
            if output is not None and output.weight is not weight:  # an untied head starts from the rows too
                output.weight[old_rows:] = rows.to(output.weight)

    def begin_decoding(
        self, tokens: Tensor, mask: Tensor, capacity: int, encoder: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, _HFState]:
        if self.kind == DECODER:
            if encoder is not None:
                raise ValueError(f"{self.family} is decoder-only: it takes no encoder inputs")
            out = self.network(
                input_ids=tokens,
                attention_mask=mask,
                position_ids=_positions(mask),
                use_cache=True,
                logits_to_keep=1,
            )
            return out.logits[:, -1], _HFState(out.cache)
        if encoder is None:
            raise ValueError(f"{self.family} is an encoder-decoder: decoding needs the encoder inputs")
        encoder_ids, encoder_mask = encoder
        encoded = self.network.get_encoder()(input_ids=encoder_ids, attention_mask=encoder_mask)
        out = self.network(
            encoder_outputs=encoded, attention_mask=encoder_mask, decoder_input_ids=tokens, use_cache=True
        )
        return out.logits[:, -1], _HFState(out.cache, (encoded, encoder_mask))

    def continue_decoding(self, token: Tensor, mask: Tensor, state: _HFState) -> Tensor:  # type: ignore[override]
        if self.kind == DECODER:
            out = self.network(
                input_ids=token[:, None],
                attention_mask=mask,
                position_ids=_positions(mask)[:, -1:],
                cache=state.cache,
                use_cache=True,
            )
        else:
            encoded, encoder_mask = state.encoder  # type: ignore[misc]
            out = self.network(
                encoder_outputs=encoded,
                attention_mask=encoder_mask,
                decoder_input_ids=token[:, None],
                cache=state.cache,
                use_cache=True,
            )
        state.cache = out.cache
        return out.logits[:, -1]

    def save_pretrained(self, directory: str | Path, state: Mapping[str, Tensor] | None = None) -> Path:
        directory = Path(directory)
        weights = None if state is None else {_network_key(key): value for key, value in state.items()}
        self.network.save_pretrained(str(directory), state_dict=weights)
        return directory

    def checkpoint_entries(self) -> dict[str, Any]:
        return {HF_CONFIG_KEY: self.network.config.to_dict()}


def set_dropout(config: Any, dropout: float | None, attention_dropout: float | None) -> None:
    """Write the regularisation to train with into a family's config fields (None: keep its own)."""
    hidden_fields, attention_fields = DROPOUT_FIELDS[config.model_type]
    for names, value in ((hidden_fields, dropout), (attention_fields, attention_dropout)):
        if value is not None:
            for name in names:
                setattr(config, name, value)


def _network_key(key: str) -> str:
    """A backbone state-dict key as the wrapped ``transformers`` model names it."""
    if not key.startswith(NETWORK_PREFIX):
        raise KeyError(f"{key!r}: expected a backbone weight name starting with {NETWORK_PREFIX!r}")
    return key[len(NETWORK_PREFIX) :]


def _positions(mask: Tensor) -> Tensor:
    """Each token's position: the number of real tokens before it (left padding shifts nothing)."""
    return (mask.long().cumsum(dim=1) - 1).clamp(min=0)
