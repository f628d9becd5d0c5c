"""Prompt fine-tuning of any backbone: the language-model module, optionally training the soft prompt
alone.

``train_only_prompt`` freezes the backbone: only the soft prompt's embedding rows (those past
``base_vocab_size``) change, and they get no weight decay.
"""

from __future__ import annotations

from typing import Any

import torch

from biogpt.model.backbone import Backbone
from biogpt.training.module import CausalLMModule
from biogpt.training.optim import OptimConfig


class PromptFineTuner(CausalLMModule):
    def __init__(
        self, model: Backbone, optim: OptimConfig, *, base_vocab_size: int, train_only_prompt: bool = False
    ) -> None:
        super().__init__(model, optim)
        self.base_vocab_size = base_vocab_size
        self.train_only_prompt = train_only_prompt
        if train_only_prompt:
            self._freeze_backbone()

    def _freeze_backbone(self) -> None:
        if self.model.vocab_size <= self.base_vocab_size:
            raise ValueError(
                "train_only_prompt needs a soft prompt (prompt=soft): there are no prompt rows to train"
            )
        for param in self.model.parameters():
            param.requires_grad_(False)
        embedding = self.model.input_embeddings().weight
        embedding.requires_grad_(True)
        frozen_rows = self.base_vocab_size

        def keep_prompt_rows(grad: torch.Tensor) -> torch.Tensor:
            grad = grad.clone()
            grad[:frozen_rows] = 0
            return grad

        embedding.register_hook(keep_prompt_rows)

    def optimizer_groups(self) -> list[dict[str, Any]]:
        if self.train_only_prompt:
            return [{"params": [self.model.input_embeddings().weight], "weight_decay": 0.0}]
        return super().optimizer_groups()
