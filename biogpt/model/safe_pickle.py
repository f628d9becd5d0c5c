"""Loading ``torch.save`` files without running code from them.

Checkpoints are pickles, and unpickling can call any importable function. We always unpickle with
``torch.load(weights_only=True)``, which only rebuilds tensors and plain containers. fairseq
checkpoints also pickle objects of fairseq's own classes (and sometimes ``argparse.Namespace`` or
omegaconf nodes) in their bookkeeping; to read those files without fairseq installed and without
trusting them, such classes are replaced by :class:`InertObject`, which only records the data the
pickle hands it. Any other global (``os.system``, ``builtins.eval``, ...) makes the load fail with a
message naming it, unless the caller explicitly trusts the file.
"""

from __future__ import annotations

import argparse
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from biogpt.errors import DataFileError, MissingFileError

# Module prefixes whose classes only ever carry configuration or training statistics in checkpoints.
INERT_MODULE_PREFIXES = ("fairseq.", "fairseq_cli.", "omegaconf.")


class UnsafeCheckpointError(DataFileError, RuntimeError):
    """The file references code that a weights-only load refuses to run."""


class InertObject:
    """Stand-in for an object of a class that is not imported: holds constructor args and state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _inert_class(qualified_name: str) -> type:
    module, _, name = qualified_name.rpartition(".")
    return type(name, (InertObject,), {"__module__": module, "__qualname__": name})


def _allowed_globals(path: Path) -> list[Any]:
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    allowed: list[Any] = []
    refused: list[str] = []
    for qualified_name in unsafe:
        if qualified_name == "argparse.Namespace":
            allowed.append(argparse.Namespace)
        elif qualified_name.startswith(INERT_MODULE_PREFIXES):
            allowed.append(_inert_class(qualified_name))
        else:
            refused.append(qualified_name)
    if refused:
        raise UnsafeCheckpointError(
            f"{path}: refusing to unpickle {', '.join(sorted(refused))}: loading it could run code from "
            "the file. If you trust its origin, pass trust_pickle=True (it is then loaded with "
            "torch.load(weights_only=False))."
        )
    return allowed


def safe_load(path: str | Path, *, trust_pickle: bool = False) -> Any:
    """``torch.load`` a file on CPU, refusing code execution unless ``trust_pickle`` is set."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"checkpoint file not found: {path}")
    try:
        if trust_pickle:
            return torch.load(path, map_location="cpu", weights_only=False)
        with torch.serialization.safe_globals(_allowed_globals(path)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except UnsafeCheckpointError:
        raise
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        raise DataFileError(
            f"{path}: not a readable torch checkpoint (truncated or corrupt?): {error}"
        ) from error


def to_plain(value: Any) -> Any:
    """Turn Namespaces, inert objects and omegaconf node pickles into dicts, lists and scalars."""
    if isinstance(value, argparse.Namespace):
        return {key: to_plain(item) for key, item in vars(value).items()}
    if isinstance(value, InertObject):
        state = value.state
        if isinstance(state, Mapping):
            # omegaconf containers keep their items in "_content" and leaf nodes their value in "_val".
            if "_content" in state:
                return to_plain(state["_content"])
            if "_val" in state:
                return to_plain(state["_val"])
            return {key: to_plain(item) for key, item in state.items()}
        if len(value.args) == 1 and not value.kwargs:
            return to_plain(value.args[0])  # e.g. an enum member rebuilt from its value
        return state
    if isinstance(value, Mapping):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    return value
