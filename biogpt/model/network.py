"""The BioGPT decoder in plain PyTorch.

This is the network of the BioGPT release: fairseq's ``transformer_lm`` trained with
``--share-decoder-input-output-embed --decoder-learned-pos`` (and ``transformers.BioGptForCausalLM``):

* token embeddings scaled by ``sqrt(hidden_size)``;
* learned positional embeddings with fairseq's offset of 2 (fairseq reserves rows 0 and 1 because it
  derives positions from ``padding_idx=1``); positions are counted from the attention mask, so a
  padded sequence gets exactly the positions it would get alone;
* pre-LayerNorm blocks: separate q/k/v/out projections with bias, GELU feed-forward;
* a final LayerNorm and an output projection tied to the token embedding.

Module names are fairseq's decoder names without the ``decoder.`` prefix (and Hugging Face's without
``biogpt.``), so checkpoint conversion is a prefix swap (see :mod:`biogpt.model.weights`).
"""

from __future__ import annotations

import math
import threading

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from biogpt.model.attention import attend
from biogpt.model.config import POSITION_OFFSET, BioGPTConfig
from biogpt.model.precision import cpu_runs_amx

# fp32 on CPU, the projections (forward and backward) run through oneDNN's matmul, the kernel
# torch.compile uses on CPU, instead of the BLAS sgemm behind F.linear: same weights (no copy or
# re-layout), results that differ from F.linear by summation order only, and on CPUs where the BLAS
# is slow (MKL on AMD: 2.3x for the training step, 1.8x for batch-8 decoding) much faster;
# see benchmarks/bench_model.py and benchmarks/bench_generation.py. Autocast (mixed precision), other
# dtypes, other devices and ``torch.backends.mkldnn.enabled = False`` keep F.linear. Set to False to
# use F.linear everywhere.
ONEDNN_AVAILABLE = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
# Below AVX2 (torch's kernels at their ``default`` level) oneDNN's matmul is the slower one: 2.08x the
# BLAS training step with every kernel limited to SSE4 (benchmarks/bench_model.py), so F.linear stays.
ONEDNN_LINEAR = ONEDNN_AVAILABLE and torch.backends.cpu.get_cpu_capability() != "DEFAULT"


def _blas_is_mkl_on_intel(cpuinfo_path: str = "/proc/cpuinfo") -> bool:
    """Whether ``F.linear``'s BLAS is MKL running on an Intel CPU (``vendor_id`` in ``/proc/cpuinfo``),
    the vendor MKL's fastest kernels are written for; False where either is unknown."""
    if not torch.backends.mkl.is_available():
        return False
    try:
        with open(cpuinfo_path, encoding="utf-8") as cpuinfo:
            vendor = next((line for line in cpuinfo if line.startswith("vendor_id")), "")
    except OSError:
        return False
    return "GenuineIntel" in vendor


# Which products take oneDNN depends on the CPU's vendor, because MKL's speed does. On AMD EPYCs (MKL
# off its home ground) oneDNN was the faster for every product: the training step 2.3x, batch-8
# decoding 1.8x, and its matrix-vector products (batch-1 decoding) read the weights about 1.5x faster.
# On a 2-core Intel Xeon with AMX MKL is the faster for matrix-vector products (oneDNN 1.12-1.56x its
# time at BioGPT's shapes, 1.5-3.5x for 2 rows) and for training (the 6-layer step 1.105x with
# oneDNN), oneDNN for the gradient-free products of 4-64 rows that batched decoding runs (0.61-0.90x
# for the feed-forward and output projections; batch-8 decoding 1.28x faster overall); at prefill
# sizes they are even. benchmarks/bench_model.py and bench_generation.py show both paths.
_MKL_ON_INTEL = _blas_is_mkl_on_intel()
# Products of fewer rows keep F.linear (1: every product may take oneDNN).
ONEDNN_MIN_ROWS = 4 if _MKL_ON_INTEL else 1
# Whether products that autograd records (training) may take oneDNN, forward and backward.
ONEDNN_TRAINING = not _MKL_ON_INTEL
# Products of fewer input features keep F.linear: below 256, oneDNN's per-call overhead and its
# small-K kernels cost more than they save (benchmarks/bench_linear.py, one thread on an idle 2-core AMD
# EPYC: at 64 and 128 features its training products 1.02-1.29x and its decoding products 2.4-2.8x the
# BLAS's time; at 256, 0.95-1.15x; from 512 on, 0.91-0.96x). No published backbone is that narrow; the
# tiny and mini presets of the tests and the demo are.
ONEDNN_MIN_FEATURES = 256
# One-row bf16 products without gradients (batch-1 decoding of a bf16 model) take torch.mv (with the
# bias, torch.addmv, which adds it before rounding as F.linear does), oneDNN's matrix-vector kernel,
# where oneDNN runs AMX. On a 2-core Intel Xeon with AMX, F.linear's bf16 one-row product read BioGPT's
# projections no faster than its float32 one (benchmarks/bench_linear.py --bf16-row, weights out of
# cache: 601-795 us against 711-757 us for the feed-forward ones), so bf16 greedy decoding at batch 1
# was slower than float32; torch.mv takes 0.71-0.85x F.linear's time, and bf16 decoding at batch 1 is
# 1.12x float32 at the biogpt shape (was 0.90x) and 0.92x at 6 layers (was 0.73x; there the float32
# logits weigh more; benchmarks/bench_bf16.py). Elsewhere F.linear stays: with oneDNN limited to
# AVX-512 BF16 (the AMD EPYC kind) torch.mv took 1.51-1.71x F.linear's time, with bf16 emulated (AVX2)
# 4.3x.
BF16_MATVEC = cpu_runs_amx()


def _onednn_linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


class _OneDNNLinear(torch.autograd.Function):
    """``F.linear`` with oneDNN products in both directions."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return _onednn_linear(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = grad_bias = None
        rows = grad.reshape(-1, grad.shape[-1])
        if ctx.needs_input_grad[0]:
            grad_x = _onednn_linear(grad, weight.t(), None)
        if ctx.needs_input_grad[1]:
            grad_weight = _onednn_linear(rows.t(), x.reshape(-1, x.shape[-1]).t(), None)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = rows.sum(0)
        return grad_x, grad_weight, grad_bias


def _cpu_autocast() -> bool:
    try:
        return torch.is_autocast_enabled("cpu")
    except TypeError:  # torch < 2.4
        return torch.is_autocast_cpu_enabled()


def _recorded(*tensors: Tensor | None) -> bool:
    """Whether autograd records an operation on ``tensors`` (which then keeps what it needs for the
    backward pass)."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.linear``, through oneDNN for fp32 on CPU without autocast where it is the faster (see
    ``ONEDNN_LINEAR``, ``ONEDNN_MIN_ROWS``, ``ONEDNN_TRAINING``), and through ``torch.mv`` for one bf16 row
    where that is (``BF16_MATVEC``)."""
    recorded = _recorded(x, weight, bias)
    if (
        ONEDNN_LINEAR
        and (ONEDNN_TRAINING or not recorded)
        and x.device.type == "cpu"
        and x.numel() >= ONEDNN_MIN_ROWS * x.shape[-1]
        and x.shape[-1] >= ONEDNN_MIN_FEATURES
        and x.dtype == weight.dtype == torch.float32
        and (bias is None or bias.dtype == torch.float32)
        and torch.backends.mkldnn.enabled
        and not _cpu_autocast()
    ):
        return _OneDNNLinear.apply(x, weight, bias) if recorded else _onednn_linear(x, weight, bias)
    if (
        BF16_MATVEC
        and not recorded
        and x.device.type == "cpu"
        and x.numel() == x.shape[-1]
        and x.dtype == weight.dtype == torch.bfloat16
        and (bias is None or bias.dtype == torch.bfloat16)
    ):
        vector = x.reshape(-1)
        product = torch.mv(weight, vector) if bias is None else torch.addmv(bias, weight, vector)
        return product.view(*x.shape[:-1], -1)
    return F.linear(x, weight, bias)


class Projection(nn.Linear):
    """A projection of the network: an ``nn.Linear`` whose forward is :func:`linear`, so that a module
    wrapping it (a ``peft`` LoRA layer calls its ``base_layer``, then adds the adapter) keeps the
    oneDNN path for the frozen weights."""

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)


def _project(module: nn.Module, x: Tensor) -> Tensor:
    """``module(x)``; straight through :func:`linear` for a plain :class:`Projection` without hooks
    (decoding calls the projections many times per token), otherwise the module's own call (hooks run;
    a wrapper such as a LoRA layer adds its adapter)."""
    if type(module) is not Projection or module._forward_hooks or module._forward_pre_hooks:
        return module(x)
    return linear(x, module.weight, module.bias)  # type: ignore[arg-type]


# Weights in a lower precision (bf16, fp16 inference) keep the residual stream, the LayerNorms and the
# logits in float32: the projections and attention run in the weights' dtype (as does the KV cache),
# their outputs are added to the float32 stream, and the vocabulary projection multiplies float32
# states by float32 copies of LOGIT_CHUNK embedding rows at a time (bf16 logits have about two
# significant digits, so near-ties in greedy decoding would be decided by rounding). On the demo's
# pre-trained model, 93% of 256 bf16 greedy continuations then match float32 ones, against 70% for an
# all-bf16 forward (transformers') and 95% for the bf16-rounded weights run wholly in float32; see
# benchmarks/bench_bf16.py.
LOGIT_CHUNK = 4096


def _normed(norm: nn.LayerNorm, x: Tensor, keep_dtype: bool = False) -> Tensor:
    """``norm(x)`` computed in ``x``'s dtype (float32 for the stream of a lower-precision model), cast to
    the norm's dtype for the projection that follows unless ``keep_dtype``."""
    if norm.weight.dtype == x.dtype:
        return norm(x)
    normed = F.layer_norm(x, norm.normalized_shape, norm.weight.to(x.dtype), norm.bias.to(x.dtype), norm.eps)
    return normed if keep_dtype else normed.to(norm.weight.dtype)


def _logits(hidden: Tensor, embedding: Tensor) -> Tensor:
    """The output projection (tied to the token embedding) in ``hidden``'s dtype, through float32
    copies of a few rows at a time when the embedding is in a lower precision: on CPU without
    gradients, copies written into one reused buffer (:func:`_row_buffer`)."""
    if embedding.dtype == hidden.dtype:
        return linear(hidden, embedding)
    chunks = embedding.split(LOGIT_CHUNK)
    # Autograd keeps each copy for the backward pass; CUDA's caching allocator already reuses blocks.
    if _recorded(hidden, embedding) or hidden.device.type != "cpu":
        return torch.cat([linear(hidden, rows.to(hidden.dtype)) for rows in chunks], -1)
    buffer = _row_buffer(min(LOGIT_CHUNK, len(embedding)), embedding.shape[1], hidden.dtype)
    return torch.cat([linear(hidden, buffer[: len(rows)].copy_(rows)) for rows in chunks], -1)


_ROW_BUFFERS = threading.local()


def _row_buffer(rows: int, width: int, dtype: torch.dtype) -> Tensor:
    """This thread's CPU buffer of ``rows x width`` in ``dtype``, kept for the next call (one per
    thread: concurrent decoders do not share it). A fresh 16 MB tensor per chunk comes from the C
    library's allocator, which, depending on the state of the process's heap, may hand it back to the
    kernel when it is freed, so that the next chunk faults its 4,096 pages in again. In a process that
    held a bf16 and a float32 copy of the model (2-core Intel Xeon with AMX, 32-token batch-1 greedy
    generations, medians of 7 interleaved runs), fresh copies took 869,173 minor page faults and 3.30 s
    at the biogpt shape, against none and 2.23 s with this buffer (float32: 2.41 s); 42,656 faults and
    1.25 s against 0.84 s with 6 layers. In other processes the heap keeps the blocks and both cost the
    same (benchmarks/bench_bf16.py counts each side's page faults). Made outside inference mode, so that
    a later call outside it may still write to it."""
    buffer = getattr(_ROW_BUFFERS, "buffer", None)
    if buffer is None or buffer.shape != (rows, width) or buffer.dtype != dtype:
        with torch.inference_mode(False):
            buffer = _ROW_BUFFERS.buffer = torch.empty(rows, width, dtype=dtype)
    return buffer


class KVCache:
    """Pre-allocated keys and values of every layer, for incremental decoding.

    Pre-allocation (rather than concatenating per step) keeps decoding free of re-allocations; the
    filled length advances once per model call, after every layer has written its slice.
    """

    def __init__(
        self,
        config: BioGPTConfig,
        batch_size: int,
        max_length: int,
        *,
        dtype: torch.dtype,
        device: torch.device | str,
    ) -> None:
        if max_length > config.max_positions:
            raise ValueError(f"KVCache max_length {max_length} exceeds max_positions {config.max_positions}")
        shape = (config.num_layers, batch_size, config.num_heads, max_length, config.head_dim)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.length = 0

    @property
    def capacity(self) -> int:
        return self.keys.shape[3]

    def store(self, layer: int, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """Write this call's keys/values of one layer and return all keys/values so far."""
        end = self.length + key.shape[2]
        self.keys[layer, :, :, self.length : end] = key
        self.values[layer, :, :, self.length : end] = value
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]

    def advance(self, num_tokens: int) -> None:
        self.length += num_tokens

    def reorder(self, batch_index: Tensor) -> None:
        """Select batch rows (beam search keeps the cache of the surviving hypotheses)."""
        self.keys = self.keys.index_select(1, batch_index)
        self.values = self.values.index_select(1, batch_index)


class SelfAttention(nn.Module):
    def __init__(self, config: BioGPTConfig) -> None:
        super().__init__()
        self.num_heads = config.num_heads
        self.head_dim = config.head_dim
        self.dropout = config.attention_dropout
        self.q_proj = Projection(config.hidden_size, config.hidden_size)
        self.k_proj = Projection(config.hidden_size, config.hidden_size)
        self.v_proj = Projection(config.hidden_size, config.hidden_size)
        self.out_proj = Projection(config.hidden_size, config.hidden_size)

    def _heads(self, x: Tensor) -> Tensor:
        batch, time, _ = x.shape
        return x.view(batch, time, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, x: Tensor, mask: Tensor | None, cache: KVCache | None, layer: int) -> Tensor:
        q = self._heads(_project(self.q_proj, x))
        k = self._heads(_project(self.k_proj, x))
        v = self._heads(_project(self.v_proj, x))
        if cache is not None:
            k, v = cache.store(layer, k, v)
        # Without an explicit mask the keys are exactly the causal prefix of each query.
        out = attend(q, k, v, mask, self.dropout if self.training else 0.0)
        batch, _, time, _ = out.shape
        return _project(self.out_proj, out.transpose(1, 2).reshape(batch, time, -1))


class DecoderLayer(nn.Module):
    def __init__(self, config: BioGPTConfig) -> None:
        super().__init__()
        self.dropout = config.dropout
        self.activation_dropout = config.activation_dropout
        self.self_attn_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.self_attn = SelfAttention(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.fc1 = Projection(config.hidden_size, config.ffn_size)
        self.fc2 = Projection(config.ffn_size, config.hidden_size)

    def forward(self, x: Tensor, mask: Tensor | None, cache: KVCache | None, layer: int) -> Tensor:
        attended = self.self_attn(_normed(self.self_attn_layer_norm, x), mask, cache, layer)
        x = x + F.dropout(attended, self.dropout, self.training)  # a float32 stream stays float32
        hidden = F.gelu(_project(self.fc1, _normed(self.final_layer_norm, x)))
        hidden = F.dropout(hidden, self.activation_dropout, self.training)
        return x + F.dropout(_project(self.fc2, hidden), self.dropout, self.training)


class BioGPTNetwork(nn.Module):
    """BioGPT causal language model; ``forward`` returns logits ``[batch, time, vocab]``.

    Loading and saving weights come with :class:`biogpt.model.BioGPT`, the class to use.
    """

    def __init__(self, config: BioGPTConfig) -> None:
        super().__init__()
        self.config = config
        self.embed_scale = math.sqrt(config.hidden_size) if config.scale_embedding else 1.0
        self.embed_tokens = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.embed_positions = nn.Embedding(config.max_positions + POSITION_OFFSET, config.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.num_layers))
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """fairseq's initialisation: normal(0, d^-0.5) token embeddings (pad row zero), normal(0, 0.02)
        elsewhere, zero biases, unit LayerNorms."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.embed_tokens.weight, std=self.config.hidden_size**-0.5)
        nn.init.normal_(self.embed_positions.weight, std=self.config.hidden_size**-0.5)
        with torch.no_grad():
            self.embed_tokens.weight[self.config.pad_token_id].zero_()
            self.embed_positions.weight[:POSITION_OFFSET].zero_()

    def embed(self, input_ids: Tensor) -> Tensor:
        """Scaled token embeddings: what ``forward(inputs_embeds=...)`` expects for real tokens."""
        return self.embed_tokens(input_ids) * self.embed_scale

    def new_cache(self, batch_size: int, max_length: int) -> KVCache:
        weight = self.embed_tokens.weight
        return KVCache(self.config, batch_size, max_length, dtype=weight.dtype, device=weight.device)

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        *,
        inputs_embeds: Tensor | None = None,
        cache: KVCache | None = None,
        logits_to_keep: int = 0,
    ) -> Tensor:
        """Logits for every position (``[batch, time, vocab]``), or for the last ``logits_to_keep`` ones
        only (``transformers``' argument: 0 keeps all). Decoding needs the last one, a loss on targets only
        the positions from the first target on: the vocabulary projection is the costliest layer of a
        long prefix, and its logits the largest activation.

        ``attention_mask`` (1 = token, 0 = padding) covers the cached tokens and this call's tokens,
        ``[batch, cache.length + time]``. ``inputs_embeds`` replaces ``input_ids`` with already scaled
        embeddings (``embed``), so callers can splice learned prompt vectors into the sequence.
        """
        hidden = self._input_embeddings(input_ids, inputs_embeds)
        batch, time, _ = hidden.shape
        past = cache.length if cache is not None else 0
        if cache is not None and past + time > cache.capacity:
            raise ValueError(f"KVCache holds {cache.capacity} positions; this call needs {past + time}")
        if past + time > self.config.max_positions:
            raise ValueError(
                f"sequence of {past + time} positions exceeds max_positions {self.config.max_positions}"
            )
        mask = self._validated_mask(attention_mask, batch, past + time, hidden.device)
        positions = self._positions(mask, past, time, hidden.device)
        stream = torch.promote_types(hidden.dtype, torch.float32)  # see LOGIT_CHUNK
        hidden = hidden.to(stream) + self.embed_positions(positions + POSITION_OFFSET)
        hidden = F.dropout(hidden, self.config.dropout, self.training)
        attn_mask = self._attention_mask(mask, past, time, hidden.device)
        for index, layer in enumerate(self.layers):
            hidden = layer(hidden, attn_mask, cache, index)
        if cache is not None:
            cache.advance(time)
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]
        return _logits(_normed(self.layer_norm, hidden, keep_dtype=True), self.embed_tokens.weight)

    def _input_embeddings(self, input_ids: Tensor | None, inputs_embeds: Tensor | None) -> Tensor:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        if inputs_embeds is not None:
            if inputs_embeds.dim() != 3 or inputs_embeds.shape[-1] != self.config.hidden_size:
                raise ValueError(
                    f"inputs_embeds must be [batch, time, {self.config.hidden_size}], "
                    f"got {list(inputs_embeds.shape)}"
                )
            return inputs_embeds
        if input_ids.dim() != 2 or input_ids.dtype not in (torch.int32, torch.int64):
            raise ValueError(
                f"input_ids must be an integer tensor [batch, time], got {input_ids.dtype} "
                f"{list(input_ids.shape)}"
            )
        return self.embed(input_ids)

    @staticmethod
    def _validated_mask(mask: Tensor | None, batch: int, total: int, device: torch.device) -> Tensor | None:
        if mask is None:
            return None
        if mask.shape != (batch, total):
            raise ValueError(
                f"attention_mask must be [batch, cached + new tokens] = [{batch}, {total}], "
                f"got {list(mask.shape)}"
            )
        return mask.to(device=device, dtype=torch.bool)

    @staticmethod
    def _positions(mask: Tensor | None, past: int, time: int, device: torch.device) -> Tensor:
        """Position of each new token = number of real tokens before it (fairseq's numbering)."""
        if mask is None:
            return torch.arange(past, past + time, device=device).unsqueeze(0)
        return (mask.long().cumsum(dim=1) - 1).clamp(min=0)[:, past:]

    @staticmethod
    def _attention_mask(mask: Tensor | None, past: int, time: int, device: torch.device) -> Tensor | None:
        """Boolean ``[batch, 1, time, past + time]`` mask, or None when causality alone is exact.

        Real tokens never see padding that comes after them, so a right-padded (or unpadded) batch
        without a cache needs only the causal mask, which lets SDPA take its fused causal path.
        """
        if mask is not None and (
            bool(mask.all()) or (past == 0 and bool((mask[:, 1:] <= mask[:, :-1]).all()))
        ):
            mask = None
        if mask is None:
            return None if past == 0 or time == 1 else _causal(past, time, device)
        keep = _causal(past, time, mask.device) & mask[:, None, None, :]
        # Every query may see itself, so a padding row never has all keys masked (SDPA would give NaN).
        diagonal = torch.arange(time, device=mask.device)
        keep[:, :, diagonal, past + diagonal] = True
        return keep


def _causal(past: int, time: int, device: torch.device) -> Tensor:
    query = torch.arange(past, past + time, device=device)[:, None]
    key = torch.arange(past + time, device=device)[None, :]
    return (key <= query)[None, None]


def count_parameters(model: nn.Module) -> int:
    """Unique parameters (the tied output projection is the token embedding, counted once)."""
    return sum(p.numel() for p in model.parameters())
