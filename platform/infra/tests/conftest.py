"""Run this platform's program for each stack under mocks; no CLI or cloud account needed."""

import copy
import sys
from functools import cache
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[1]
ROOT = INFRA.parent
sys.path.insert(0, str(INFRA))

from components.reliability import from_config  # noqa: E402
from components.testing import ProgramRun, run_program, stack_config  # noqa: E402

STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
PROJECT = __import__("yaml").safe_load((ROOT / "Pulumi.yaml").read_text())["name"]


def stack_file_config(stack: str) -> dict:
    return copy.deepcopy(stack_config(ROOT / f"Pulumi.{stack}.yaml"))


@cache
def stack_run(stack: str) -> ProgramRun:
    return run_program(INFRA, project=PROJECT, stack=stack, config=stack_file_config(stack))


@pytest.fixture(params=STACKS)
def stack(request) -> str:
    return request.param


@pytest.fixture
def run(stack) -> ProgramRun:
    return stack_run(stack)


@pytest.fixture
def plan(stack):
    return from_config(stack_file_config(stack)[f"{PROJECT}:plan"])
