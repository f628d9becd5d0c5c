"""ValidateAtLastUpdate: a run that ``max_steps`` ends mid-epoch validates after its last update."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from biogpt.training.last_update import ValidateAtLastUpdate


class _Regression(L.LightningModule):
    """A linear model on random data that records the update count at each validation."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
        self.validated_at: list[int] = []

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        inputs, targets = batch
        return torch.nn.functional.mse_loss(self.layer(inputs), targets)

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        inputs, targets = batch
        self.log("valid/loss", torch.nn.functional.mse_loss(self.layer(inputs), targets))

    def on_validation_epoch_end(self) -> None:
        self.validated_at.append(self.trainer.global_step)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(callbacks: list[L.Callback], accumulate: int) -> tuple[_Regression, L.Trainer]:
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(40, 4), torch.randn(40, 1))
    module = _Regression()
    trainer = L.Trainer(
        max_steps=3,
        accumulate_grad_batches=accumulate,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        callbacks=callbacks,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    # 20 batches an epoch: the 3 updates end the run well inside the first.
    trainer.fit(module, DataLoader(data, batch_size=2), DataLoader(data, batch_size=2))
    return module, trainer


def test_without_it_a_run_that_max_steps_ends_mid_epoch_never_validates() -> None:
    module, trainer = _fit([], accumulate=1)
    assert trainer.global_step == 3 and module.validated_at == []
    assert "valid/loss" not in trainer.callback_metrics


def test_with_it_the_run_validates_once_after_its_last_update() -> None:
    for accumulate in (1, 2):
        module, trainer = _fit([ValidateAtLastUpdate()], accumulate=accumulate)
        assert trainer.global_step == 3 and module.validated_at == [3]
        assert "valid/loss" in trainer.callback_metrics
