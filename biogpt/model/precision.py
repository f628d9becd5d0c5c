"""The precisions inference can run in (``eval.dtype``, ``biogpt-generate dtype=``), by name.

The weights and so the KV cache decoding allocates are kept in the chosen dtype; decoding takes its
log-probabilities in float32 whatever the model's dtype. Named here, in the model layer, so that the
evaluation settings can check a name without importing the artifacts that load models.
"""

from __future__ import annotations

import torch

INFERENCE_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def inference_dtype(name: str, key: str = "dtype") -> torch.dtype:
    """The torch dtype of an inference precision name (``fp32``, ``bf16``, ``fp16``); ``key`` names the
    setting in the error."""
    if name not in INFERENCE_DTYPES:
        raise ValueError(f"{key}={name!r}: expected one of {', '.join(INFERENCE_DTYPES)}")
    return INFERENCE_DTYPES[name]
