"""What every release script shares: run a CLI that answers JSON, and poll until a verdict.

Scripts take the command runner, clock and sleep as arguments so their unit tests
drive them with recorded answers instead of a cloud account.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

Runner = Callable[[Sequence[str]], str]


def run_cli(command: Sequence[str]) -> str:
    """Run `command` and return its standard output; its standard error goes to the log."""
    result = subprocess.run(list(command), check=False, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise CommandFailed(command, result.returncode)
    return result.stdout


def run_json(runner: Runner, command: Sequence[str]) -> Any:
    output = runner(command)
    return json.loads(output) if output.strip() else {}


class CommandFailed(RuntimeError):
    def __init__(self, command: Sequence[str], returncode: int) -> None:
        super().__init__(f"{' '.join(command)} exited with {returncode}")
        self.returncode = returncode


class Verdict:
    """The outcome a poll waits for: done (passed or failed) or still going."""

    def __init__(self, done: bool, ok: bool, message: str) -> None:
        self.done, self.ok, self.message = done, ok, message

    @classmethod
    def passed(cls, message: str) -> Verdict:
        return cls(True, True, message)

    @classmethod
    def failed(cls, message: str) -> Verdict:
        return cls(True, False, message)

    @classmethod
    def waiting(cls, message: str) -> Verdict:
        return cls(False, False, message)


def poll(
    check: Callable[[], Verdict],
    *,
    timeout_seconds: float,
    interval_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
) -> Verdict:
    """Call `check` every `interval_seconds` until it is done or `timeout_seconds` pass;
    log each new message once, so the job log reads as the release's history."""
    deadline = clock() + timeout_seconds
    last = None
    while True:
        verdict = check()
        if verdict.message != last:
            log(verdict.message)
            last = verdict.message
        if verdict.done:
            return verdict
        if clock() >= deadline:
            return Verdict.failed(f"timed out after {timeout_seconds:.0f}s: {verdict.message}")
        sleep(interval_seconds)
