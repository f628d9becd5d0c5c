"""Prompt fine-tuning of any backbone: the language-model module, optionally training the soft prompt
alone, or LoRA adapters (and the soft prompt) on a frozen backbone.

``train_only_prompt`` freezes the backbone: only the soft prompt's embedding rows (those past
``base_vocab_size``) change, and they get no weight decay. ``adapters``: the backbone carries ``peft``
adapters (:mod:`biogpt.model.adapters`), which ``peft`` left the only trainable weights; a soft prompt's
rows train beside them, the rest of the embedding stays as it was (bitwise: its gradient rows are zero
and it gets no weight decay).
"""

from __future__ import annotations

from typing import Any

import torch

from biogpt.model.backbone import Backbone
from biogpt.training.module import CausalLMModule
from biogpt.training.optim import OptimSettings


class PromptFineTuner(CausalLMModule):
    def __init__(
        self,
        model: Backbone,
        optim: OptimSettings,
        *,
        base_vocab_size: int,
        train_only_prompt: bool = False,
        adapters: bool = False,
    ) -> None:
        super().__init__(model, optim)
        self.base_vocab_size = base_vocab_size
        self.train_only_prompt = train_only_prompt
        self.prompt_rows_train = False
        if train_only_prompt and adapters:
            raise ValueError(
                "train_only_prompt=true trains the soft prompt alone, peft adapters train beside it: "
                "choose one"
            )
        if train_only_prompt:
            self._freeze_backbone()
        elif adapters and self.model.vocab_size > self.base_vocab_size:
            self._train_prompt_rows()

    def _freeze_backbone(self) -> None:
        if self.model.vocab_size <= self.base_vocab_size:
            raise ValueError(
                "train_only_prompt needs a soft prompt (prompt=soft): there are no prompt rows to train"
            )
        for param in self.model.parameters():
            param.requires_grad_(False)
        self._train_prompt_rows()

    def _train_prompt_rows(self) -> None:
        """Train the embedding's rows past ``base_vocab_size`` (the soft prompt) and no other row."""
        self.prompt_rows_train = True
        self.model.input_embeddings().weight.requires_grad_(True)
        self._zero_base_row_gradients()

    def _zero_base_row_gradients(self) -> None:
        embedding = self.model.input_embeddings().weight
        frozen_rows = self.base_vocab_size

        def keep_prompt_rows(grad: torch.Tensor) -> torch.Tensor:
            grad = grad.clone()
            grad[:frozen_rows] = 0
            return grad

        embedding.register_hook(keep_prompt_rows)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled (``ddp_spawn`` sends the module to its processes this way): tensor hooks are not
        pickled, so the base rows' gradient hook is registered again, or they would train there."""
        super().__setstate__(state)
        if self.prompt_rows_train:
            self._zero_base_row_gradients()

    def optimizer_groups(self) -> list[dict[str, Any]]:
        if not self.prompt_rows_train:
            return super().optimizer_groups()
        embedding = self.model.input_embeddings().weight
        others = [p for p in self.model.parameters() if p.requires_grad and p is not embedding]
        return [
            *([{"params": others}] if others else []),
            {"params": [embedding], "weight_decay": 0.0},
        ]
