"""Run the Pulumi program of each stack under mocks; no CLI or cloud account needed."""

import copy
import json
import sys
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[1]
ROOT = INFRA.parent
sys.path.insert(0, str(INFRA))

from components.guardrails import STANDBY_TAG, Context  # noqa: E402
from components.reliability import from_config  # noqa: E402
from components.testing import RELEASE_IMAGE, ProgramRun, run_program, stack_config  # noqa: E402

STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
PROJECT = __import__("yaml").safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
PLAN_KEY = f"{PROJECT}:plan"


def stack_file_config(stack: str) -> dict:
    return copy.deepcopy(stack_config(ROOT / f"Pulumi.{stack}.yaml"))


_runs: dict[tuple[str, str], ProgramRun] = {}


def run_stack(stack: str, *, release: bool = True, **overrides) -> ProgramRun:
    """The program for `stack` under mocks, with config overrides. A release run passes the image by
    digest, as the deploy workflow does; `release=False` is a `pulumi up` without one. Runs are shared
    by stack and overrides (tests only read the captured resources); a run that raises is not kept."""
    key = (stack, release, json.dumps(overrides, sort_keys=True, default=str))
    if key not in _runs:
        image = {f"{PROJECT}:image": RELEASE_IMAGE} if release else {}
        config = {**stack_file_config(stack), **image, **overrides}
        _runs[key] = run_program(INFRA, project=PROJECT, stack=stack, config=config)
    return _runs[key]


def standby(resource) -> bool:
    """Part of the disaster-recovery landing zone in the replica region."""
    return (resource.inputs.get("tags") or {}).get(STANDBY_TAG) == "standby"


def stack_run(stack: str) -> ProgramRun:
    """A release run of the stack: what `pulumi up` in the deploy pipeline builds."""
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
