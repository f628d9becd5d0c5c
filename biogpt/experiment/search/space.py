"""A search space written in Hydra's sweep syntax, as Optuna distributions.

``hydra.sweeper.params`` and the command line's sweep overrides use the syntax of Hydra's Optuna
sweeper: ``interval(low, high)`` (a float: Hydra reads an interval's ends as floats), wrapped in
``tag(log, ...)`` for a log scale; ``choice(a, b, ...)`` (a categorical); ``range(start, stop, step)``
(integers when all three are, else floats; Hydra's range, ``stop`` excluded as in Python's ``range``:
Hydra's published sweeper included it). Any other override is fixed: every trial gets it as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Glob, IntervalSweep, Override, RangeSweep, Transformer
from hydra.errors import HydraException
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from biogpt.errors import ConfigError

_SYNTAX = "interval(low, high), tag(log, interval(low, high)), choice(a, b, ...) or range(start, stop, step)"


@dataclass(frozen=True)
class SearchSpace:
    """What each trial samples (``distributions``, by override key) and what every trial is given as
    written (``fixed``: override strings)."""

    distributions: dict[str, BaseDistribution]
    fixed: tuple[str, ...]

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """A trial's overrides: the fixed ones, then its sampled values."""
        return [*self.fixed, *(f"{key}={override_value(value)}" for key, value in params.items())]


def override_value(value: Any) -> str:
    """A sampled value as Hydra reads it back (null, true/false, numbers; strings already encoded)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _numbers(override: Override, *values: Any) -> None:
    if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
        raise ConfigError(f"{override.input_line}: expected numbers; the search space syntax is {_SYNTAX}")


def distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one sweep override (``ConfigError`` for a sweep it cannot sample)."""
    value = override.value()
    line = override.input_line
    if isinstance(value, Glob):  # config group options by pattern: Optuna needs the values themselves
        raise ConfigError(f"{line}: Optuna cannot sample this sweep; write {_SYNTAX}")
    if isinstance(value, IntervalSweep):
        _numbers(override, value.start, value.end)
        log = "log" in value.tags
        if value.start >= value.end or (log and value.start <= 0):
            raise ConfigError(f"{line}: expected low < high{' and low > 0 (log scale)' if log else ''}")
        return FloatDistribution(float(value.start), float(value.end), log=log)
    if value_is_range := isinstance(value, RangeSweep):
        _numbers(override, value.start, value.stop, value.step)
    if override.is_choice_sweep() or (value_is_range and value.shuffle):
        choices = list(override.sweep_iterator(transformer=Transformer.encode))
        if not choices:
            raise ConfigError(f"{line}: a choice needs at least one value")
        return CategoricalDistribution(choices)
    if value_is_range:
        values = list(override.sweep_iterator())
        if not values:
            raise ConfigError(f"{line}: the range is empty")
        step = abs(value.step)
        low, high = min(values), max(values)
        if all(isinstance(v, int) for v in (value.start, value.stop, value.step)):
            return IntDistribution(int(low), int(high), step=int(step))
        return FloatDistribution(float(low), float(high), step=float(step))
    raise ConfigError(f"{line}: Optuna cannot sample this sweep; write {_SYNTAX}")


def search_space(params: Mapping[str, str], arguments: Sequence[str]) -> SearchSpace:
    """The space of ``hydra.sweeper.params`` (key: sweep) and the command line's overrides; a key both
    give takes the command line's."""
    lines = [f"{key}={sweep}" for key, sweep in params.items()]
    try:
        parsed = OverridesParser.create().parse_overrides([*lines, *arguments])
    except HydraException as error:
        raise ConfigError(f"hydra.sweeper.params: {str(error).splitlines()[0]}") from None
    distributions: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in parsed:
        key = override.get_key_element()
        distributions.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            distributions[key] = distribution(override)
        else:
            fixed[key] = override.input_line
    return SearchSpace(distributions, tuple(fixed.values()))
