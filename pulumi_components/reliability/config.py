"""An EnvironmentPlan as Pulumi stack config, and back.

The generated `Pulumi.<env>.yaml` carries the plan as one structured config
value, so a team can read and override any number in the file it deploys
from. Reading it back is strict: an unknown key or a value of the wrong type
fails with the dotted path of the key.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

from .plan import EnvironmentPlan


class PlanConfigError(ValueError):
    """Stack config that does not describe a plan; the message names the key."""


def to_config(plan: Any) -> Any:
    """Plain data (dicts, lists, scalars) for a plan or any part of it; None values are dropped."""
    if dataclasses.is_dataclass(plan):
        return {
            f.name: to_config(getattr(plan, f.name))
            for f in dataclasses.fields(plan)
            if getattr(plan, f.name) is not None
        }
    if isinstance(plan, tuple):
        return [to_config(item) for item in plan]
    if isinstance(plan, dict):
        return {_plain(key): to_config(value) for key, value in plan.items()}
    return _plain(plan)


def _plain(value: Any) -> Any:
    """A vocabulary member as its string; any other value as it is."""
    return value.value if isinstance(value, enum.Enum) else value


def from_config(data: Any, path: str = "plan") -> EnvironmentPlan:
    """Rebuild an EnvironmentPlan from stack config, checking every key and type."""
    return _build(EnvironmentPlan, data, path)


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise PlanConfigError(f"{path} must be a mapping; got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise PlanConfigError(f"{path}.{unknown[0]} is not a known setting; accepted: {', '.join(sorted(fields))}")
    values = {}
    for name, f in fields.items():
        key = f"{path}.{name}"
        if name not in data:
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required and not _is_optional(hints[name]):
                raise PlanConfigError(f"{key} is missing")
            continue
        values[name] = _value(hints[name], data[name], key)
    return cls(**values)


def _is_optional(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


def _value(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return None if value is None else _value(inner[0], value, path)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise PlanConfigError(f"{path} must be a list; got {value!r}")
        item = typing.get_args(hint)[0]
        return tuple(_value(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise PlanConfigError(f"{path} must be a mapping of strings; got {value!r}")
        return dict(value)
    return _scalar(hint, value, path)


def _scalar(hint: type, value: Any, path: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    raise PlanConfigError(f"{path} must be {names.get(hint, hint)}; got {value!r}")
