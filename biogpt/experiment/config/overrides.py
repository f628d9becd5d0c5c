"""Unknown config keys and values of the wrong type on the command line, reported before Hydra runs.

Hydra lists the valid options of a config group (``task=kddti``) but answers a misspelt key
(``data.max_tokenz=5``) with only "Key 'max_tokenz' is not in struct". Before an entry point hands
its arguments to Hydra, :func:`exit_on_unknown_keys` composes the config the arguments select and
names every key override that is not in it, with close matches and the valid keys at that level.
:func:`exit_on_composition_error` then composes the config with every override
(:func:`compose_first_job`), where the typed schema (:mod:`biogpt.experiment.config.schema`) refuses a value
of the wrong type, and prints OmegaConf's message naming the full key as one ``error:`` line instead
of Hydra's report, whose last line is about stack traces.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from biogpt.errors import ConfigError
from biogpt.experiment.config.paths import CONF_DIR

# Command-line flags that keep their meaning for this check; any other flag (--cfg, --help,
# --config-name, ...) changes what is composed, so the check steps aside and Hydra handles it.
_MULTIRUN_FLAGS = frozenset({"-m", "--multirun"})


def _is_group(key: str, conf_dir: Path) -> bool:
    return (conf_dir / key.split("@")[0]).is_dir()


def _parsed(arguments: Sequence[str]) -> list[Override] | None:
    """The overrides of a command line, or None when it carries flags that change what is composed
    (or does not parse: Hydra then reports it)."""
    overrides = [argument for argument in arguments if argument not in _MULTIRUN_FLAGS]
    if any(argument.startswith("-") for argument in overrides):
        return None
    try:
        return OverridesParser.create().parse_overrides(overrides)
    except HydraException:
        return None


def _first_choice(override: Override) -> str | None:
    """A sweep's first value: any one of its jobs tells whether a key exists. An interval (a search's
    ``interval(low, high)``, which has no values to list) gives its low end; None where a sweep has no
    value to take without the config (``glob(...)``)."""
    if override.is_sweep_override():
        value = override.value()
        if isinstance(value, IntervalSweep):
            return str(value.start)
        try:
            return next(iter(override.sweep_string_iterator()))
        except HydraException:
            return None
    return override.get_value_element_as_str()


def describe_unknown_key(cfg: DictConfig, key: str) -> str | None:
    """Why ``key`` is not in ``cfg`` (the valid keys where the path stops), or None if it is.

    The walk reads the unresolved tree: outside a Hydra run, interpolations such as
    ``${hydra:runtime.output_dir}`` cannot resolve, yet their keys exist.
    """
    parts = key.split(".")
    level: dict[str, Any] = OmegaConf.to_container(cfg, resolve=False)  # type: ignore[assignment]
    depth = 0
    while parts[depth] in level:
        child = level[parts[depth]]
        if depth == len(parts) - 1 or not isinstance(child, dict):
            # The key exists, or the path goes on into a value, list or interpolation: Hydra checks those.
            return None
        level, depth = child, depth + 1
    where_name = ".".join(parts[:depth])
    valid = sorted(str(name) for name in level)
    where = f"'{where_name}'" if where_name else "the config"
    prefix = f"{where_name}." if where_name else ""
    close = difflib.get_close_matches(parts[depth], valid, n=3)
    hint = f" Did you mean {' or '.join(repr(prefix + name) for name in close)}?" if close else ""
    return (
        f"unknown config key '{key}': {where} has no key '{parts[depth]}'.{hint}\n"
        f"  valid keys of {where}: {', '.join(valid) or '(none)'}\n"
        f"  (to add a new key on purpose, write +{key}=...)"
    )


def unknown_key_messages(config_name: str, arguments: Sequence[str], conf_dir: Path = CONF_DIR) -> list[str]:
    """One message per key override of ``arguments`` that the composed config lacks.

    Returns nothing when the arguments do not parse or compose (Hydra then reports the problem,
    listing a group's valid options itself) or carry flags that change what is composed.
    """
    parsed = _parsed(arguments)
    if parsed is None:
        return []
    selections, keys = [], []
    for override in parsed:
        key = override.key_or_group
        if key.startswith("hydra") or override.is_add() or override.is_force_add() or override.is_delete():
            continue
        if _is_group(key, conf_dir):
            if (choice := _first_choice(override)) is not None:
                selections.append(f"{key}={choice}")
        else:
            keys.append(key)
    if not keys:
        return []
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=selections)
    except HydraException:
        return []
    return [message for key in keys if (message := describe_unknown_key(cfg, key)) is not None]


def exit_on_unknown_keys(config_name: str, arguments: Sequence[str]) -> None:
    """Exit with status 2 and a message per unknown key, before Hydra starts the run."""
    messages = unknown_key_messages(config_name, arguments)
    if messages:
        print("\n".join(messages), file=sys.stderr)
        sys.exit(2)


def _value_error(error: BaseException) -> OmegaConfBaseException | None:
    """The OmegaConf error (a wrong type, a value that does not resolve) behind a composition error."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OmegaConfBaseException) and not isinstance(seen, ConfigKeyError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def compose_first_job(
    config_name: str, arguments: Sequence[str], conf_dir: Path = CONF_DIR
) -> DictConfig | None:
    """The config of ``arguments`` (a sweep's first job), as Hydra will compose it; None when the
    arguments carry flags that change what is composed or fail for a reason other than a value (an
    unknown key or option, which :func:`unknown_key_messages` and Hydra report).

    A value that does not fit its key's type raises :class:`~biogpt.errors.ConfigError` naming the
    key (``optim.lr: Value 'abc' of type 'str' could not be converted to Float``).
    """
    parsed = _parsed(arguments)
    if parsed is None:
        return None
    first_job: list[str] = []
    for override in parsed:
        if override.key_or_group.startswith("hydra"):
            continue
        if not override.is_sweep_override():
            first_job.append(override.input_line)
        elif (choice := _first_choice(override)) is not None:
            first_job.append(f"{override.get_key_element()}={choice}")
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            return compose(config_name=config_name, overrides=first_job)
    except (HydraException, OmegaConfBaseException) as error:
        cause = _value_error(error)
        if cause is None:
            return None
        where = str(error).splitlines()[0]
        origin = f" ({where.split(':')[0].removeprefix('In ')})" if where.startswith("In '") else ""
        raise ConfigError(f"{cause.full_key}{origin}: {str(cause.msg).splitlines()[0]}") from None


def exit_on_composition_error(config_name: str, arguments: Sequence[str]) -> None:
    """Exit with status 1 and one ``error:`` line when a value does not fit its key's type."""
    try:
        compose_first_job(config_name, arguments)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
