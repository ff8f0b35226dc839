"""Run the Pulumi program of each stack under mocks; no CLI or cloud account needed."""

import sys
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[1]
ROOT = INFRA.parent
sys.path.insert(0, str(INFRA))

from components.testing import ProgramRun, run_program, stack_config  # noqa: E402

STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
PROJECT = __import__("yaml").safe_load((ROOT / "Pulumi.yaml").read_text())["name"]


def run_stack(stack: str, **overrides) -> ProgramRun:
    config = {**stack_config(ROOT / f"Pulumi.{stack}.yaml"), **overrides}
    return run_program(INFRA, project=PROJECT, stack=stack, config=config)


@pytest.fixture(params=STACKS)
def stack(request) -> str:
    return request.param


@pytest.fixture
def run(stack) -> ProgramRun:
    # Mocks are set inside run_program, once per test, so tests never share them.
    return run_stack(stack)


@pytest.fixture
def plan(stack):
    from components.reliability import from_config

    return from_config(stack_config(ROOT / f"Pulumi.{stack}.yaml")[f"{PROJECT}:plan"])
