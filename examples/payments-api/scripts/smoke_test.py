"""Smoke test a deployed release over HTTPS: /healthz and /readyz must answer 2xx.

    python scripts/smoke_test.py https://api.example.com --attempts 10 --interval 6

The service serves HTTPS only, so the base URL must be https:// and its certificate
must verify. Retries while a fresh release comes up (DNS, target registration, cold
start). Once both paths pass, one plain-HTTP request to the same host must not be
served: a redirect to https:// (the load balancer's port 80) or no answer at all
(API Gateway listens on 443 only) passes, any other answer fails. Exits 1 with the
last answer of each check that never passed.
"""

from __future__ import annotations

import argparse
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

PATHS = ("/healthz", "/readyz")
REDIRECTS = (301, 302, 307, 308)


def probe(url: str, timeout: float, context: ssl.SSLContext | None = None) -> tuple[bool, str]:
    """(healthy, what it answered) for one GET of `url`."""
    request = urllib.request.Request(url, headers={"User-Agent": "smoke-test"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310 (https only, checked)
            return 200 <= response.status < 300, f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return False, f"HTTP {error.code}"
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return False, f"no answer ({getattr(error, 'reason', error)})"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003 (urllib's signature)
        return None  # report the redirect instead of following it


def plain_http_refused(base_url: str, timeout: float, http_port: int = 80) -> tuple[bool, str]:
    """(refused, what it answered) for one plain-HTTP GET of the base URL's host."""
    host = urlsplit(base_url).hostname or ""
    url = f"http://{host}{'' if http_port == 80 else f':{http_port}'}{PATHS[0]}"
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers={"User-Agent": "smoke-test"}), timeout=timeout) as answer:
            return False, f"plain HTTP served {url} (HTTP {answer.status})"
    except urllib.error.HTTPError as error:
        location = error.headers.get("Location", "")
        if error.code in REDIRECTS and location.startswith("https://"):
            return True, f"plain HTTP redirects to {location}"
        return False, f"plain HTTP answered {url} with HTTP {error.code}{f' to {location}' if location else ''}"
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return True, f"plain HTTP not served ({getattr(error, 'reason', error)})"


def smoke_test(
    base_url: str,
    *,
    attempts: int,
    interval: float,
    timeout: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
    context: ssl.SSLContext | None = None,  # None: verify against the system's trusted CAs
    http_port: int = 80,
) -> bool:
    if urlsplit(base_url).scheme != "https":
        raise ValueError(f"base URL must start with https:// (the service serves HTTPS only); got {base_url!r}")
    pending = {path: "not tried" for path in PATHS}
    for attempt in range(1, attempts + 1):
        for path in list(pending):
            healthy, answer = probe(base_url.rstrip("/") + path, timeout, context)
            log(f"attempt {attempt}/{attempts}: {path} -> {answer}")
            if healthy:
                del pending[path]
            else:
                pending[path] = answer
        if not pending:
            refused, answer = plain_http_refused(base_url, timeout, http_port)
            log(answer)
            if not refused:
                log(f"FAILED plain HTTP: {answer}")
            return refused
        if attempt < attempts:
            sleep(interval)
    for path, answer in pending.items():
        log(f"FAILED {path}: {answer}")
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="the release's https:// base URL (the stack output base_url)")
    parser.add_argument("--attempts", type=int, default=10)
    parser.add_argument("--interval", type=float, default=6.0, help="seconds between attempts")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request")
    args = parser.parse_args(argv)
    try:
        ok = smoke_test(args.base_url, attempts=args.attempts, interval=args.interval, timeout=args.timeout)
    except ValueError as error:
        parser.error(str(error))  # exits 2, naming what is accepted
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
