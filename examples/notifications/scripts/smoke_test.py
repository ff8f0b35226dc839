"""Smoke test a deployed release: /healthz and /readyz must answer 2xx.

    python scripts/smoke_test.py https://api.example.com --attempts 10 --interval 6

Retries while a fresh release comes up (DNS, target registration, cold start);
exits 1 with the last answer of each path when they never pass.
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable

PATHS = ("/healthz", "/readyz")


def probe(url: str, timeout: float) -> tuple[bool, str]:
    """(healthy, what it answered) for one GET of `url`."""
    request = urllib.request.Request(url, headers={"User-Agent": "smoke-test"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https or http only, checked)
            return 200 <= response.status < 300, f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return False, f"HTTP {error.code}"
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return False, f"no answer ({getattr(error, 'reason', error)})"


def smoke_test(
    base_url: str,
    *,
    attempts: int,
    interval: float,
    timeout: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
) -> bool:
    if not base_url.startswith(("https://", "http://")):
        raise ValueError(f"base URL must start with https:// or http://, got {base_url!r}")
    pending = {path: "not tried" for path in PATHS}
    for attempt in range(1, attempts + 1):
        for path in list(pending):
            healthy, answer = probe(base_url.rstrip("/") + path, timeout)
            log(f"attempt {attempt}/{attempts}: {path} -> {answer}")
            if healthy:
                del pending[path]
            else:
                pending[path] = answer
        if not pending:
            return True
        if attempt < attempts:
            sleep(interval)
    for path, answer in pending.items():
        log(f"FAILED {path}: {answer}")
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="the release's base URL (a stack output)")
    parser.add_argument("--attempts", type=int, default=10)
    parser.add_argument("--interval", type=float, default=6.0, help="seconds between attempts")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request")
    args = parser.parse_args(argv)
    ok = smoke_test(args.base_url, attempts=args.attempts, interval=args.interval, timeout=args.timeout)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
