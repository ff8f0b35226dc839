"""Runtime settings: plain values from the environment (the ConfigMap), secrets from files.

Secrets are mounted as files, one directory per Kubernetes Secret under SECRETS_PATH,
so they never sit in the process environment. A setting is looked up in the
environment first, then as a file named after it in any of those directories.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

POSTGRES_PORT = 5432


def setting(name: str, default: str = "") -> str:
    if name in os.environ:
        return os.environ[name]
    root = Path(os.environ.get("SECRETS_PATH", "/run/secrets"))
    if root.is_dir():
        for candidate in sorted(root.glob(f"*/{name}")):
            if candidate.is_file():
                return candidate.read_text().strip()
    return default


def database_address() -> tuple[str, int] | None:
    """Where the database listens: from DATABASE_URL (Kubernetes) or DB_HOST/DB_PORT (Lambda)."""
    url = setting("DATABASE_URL")
    if url:
        parts = urlsplit(url)
        return (parts.hostname or "", parts.port or POSTGRES_PORT)
    host = setting("DB_HOST")
    if host:
        return (host, int(setting("DB_PORT", str(POSTGRES_PORT))))
    return None
