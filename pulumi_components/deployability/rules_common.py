"""Helpers shared by the rule modules: reading policies, Kubernetes objects and Helm values
out of captured resource inputs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..testing import walk  # noqa: F401  (the rule modules search nested inputs with it)


def subject(resource: Any) -> str:
    return f"{resource.type} {resource.name}"


def policy_statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM or KMS policy document given as JSON text or a mapping."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, Mapping):
        return []
    statements = document.get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    return [s for s in statements if isinstance(s, Mapping)]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
