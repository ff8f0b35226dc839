"""Check Helm values against the value keys of the pinned chart (tests/reference/chart-keys).

The key lists and their matching rule are described in tests/reference/README.md:
a path is valid when it is listed, or when a listed `X.*` covers it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

KEYS_DIR = Path(__file__).parent / "reference" / "chart-keys"


@cache
def allowed_paths(chart: str, version: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """(exact paths, free-form prefixes) for a chart; subcharts included where listed."""
    with_sub = KEYS_DIR / f"{chart}-{version}.with-subcharts.txt"
    source = with_sub if with_sub.exists() else KEYS_DIR / f"{chart}-{version}.txt"
    lines = [line.strip() for line in source.read_text().splitlines() if line.strip()]
    prefixes = tuple(line[: -len(".*")] for line in lines if line.endswith(".*"))
    return frozenset(lines), prefixes


def _escape(key: str) -> str:
    for char in "\\.[]*":
        key = key.replace(char, "\\" + char)
    return key


def value_paths(values: Any, prefix: str = "") -> list[str]:
    """Every key path of a values document, lists written as `[]`."""
    paths: list[str] = []
    if isinstance(values, dict):
        for key, value in values.items():
            path = f"{prefix}.{_escape(str(key))}" if prefix else _escape(str(key))
            paths.append(path)
            paths.extend(value_paths(value, path))
    elif isinstance(values, list):
        path = f"{prefix}[]"
        for item in values:
            if isinstance(item, (dict, list)):
                paths.extend(value_paths(item, path))
    return paths


def unknown_keys(chart: str, version: str, values: Any) -> list[str]:
    exact, prefixes = allowed_paths(chart, version)

    def known(path: str) -> bool:
        return path in exact or any(path.startswith(p + ".") or path.startswith(p + "[") for p in prefixes)

    return [path for path in value_paths(values) if not known(path)]
