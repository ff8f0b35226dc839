"""Run the Pulumi program of each stack under mocks; no CLI or cloud account needed."""

import copy
import sys
from functools import cache
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[1]
ROOT = INFRA.parent
sys.path.insert(0, str(INFRA))

from components.guardrails import STANDBY_TAG, Context  # noqa: E402
from components.reliability import from_config  # noqa: E402
from components.testing import ProgramRun, run_program, stack_config  # noqa: E402

STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
PROJECT = __import__("yaml").safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
PLAN_KEY = f"{PROJECT}:plan"


def stack_file_config(stack: str) -> dict:
    return copy.deepcopy(stack_config(ROOT / f"Pulumi.{stack}.yaml"))


def run_stack(stack: str, **overrides) -> ProgramRun:
    """A fresh run (fresh mocks) of the program for `stack`, with config overrides."""
    return run_program(INFRA, project=PROJECT, stack=stack, config={**stack_file_config(stack), **overrides})


def standby(resource) -> bool:
    """Part of the disaster-recovery landing zone in the replica region."""
    return (resource.inputs.get("tags") or {}).get(STANDBY_TAG) == "standby"


@cache
def stack_run(stack: str) -> ProgramRun:
    # One run per stack serves every read-only test of it; the captured resources are plain data.
    return run_stack(stack)


@pytest.fixture(params=STACKS)
def stack(request) -> str:
    return request.param


@pytest.fixture
def run(stack) -> ProgramRun:
    return stack_run(stack)


@pytest.fixture
def plan(stack):
    return from_config(stack_file_config(stack)[PLAN_KEY])


@pytest.fixture
def context(plan) -> Context:
    return Context.from_plan(plan)
