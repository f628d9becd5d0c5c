"""The OmegaConf resolvers the configs use, registered when the experiment layer is imported (before any
command or test composes a config).

``${by_shots:SHOTS,FULL,FEW}``: a setting that depends on whether a run trains on the whole training split
(``SHOTS`` = ``data.train_shots`` is null: ``FULL``) or on a few examples (``FEW``: one value for every
count, or a mapping from the count to its value). The domain-specificity study's experiments choose their
final model by it (best validated in full, last in few-shot runs) and their epochs, per backbone and count
(``model.study.fewshot_epochs``), so one multirun over models and counts gives each job its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import Node, OmegaConf


def by_shots(shots: int | None, full: Any, few: Any, *, _node_: Node) -> Any:
    """``full`` for a run on the whole training split, else ``few`` (or ``few[shots]``, a mapping's)."""
    if shots is None:
        return full
    if few is None or (isinstance(few, Mapping) and shots not in few):
        known = f"known counts: {', '.join(map(str, few))}" if isinstance(few, Mapping) else "no counts known"
        key = _node_._get_full_key(None)
        raise ValueError(
            f"{key} has no value for data.train_shots={shots} with this model ({known}); "
            f"set {key}=<value> on the command line"
        )
    return few[shots] if isinstance(few, Mapping) else few


def register_resolvers() -> None:
    """Register every resolver above (again: a later registration replaces the earlier one)."""
    OmegaConf.register_new_resolver("by_shots", by_shots, replace=True)
