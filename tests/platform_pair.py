"""A platform and a service on its shared cluster, run together under mocks: the platform's program
runs first, and its outputs, exactly as exported, are what the service program's StackReference reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from pulumi_components.reliability.contract import PlatformContract
from pulumi_components.testing import RELEASE_IMAGE, ProgramRun, run_program, stack_config

# The platform the tests render: one answer set, so every test that needs a platform shares one render
# (conftest.render caches by answers). At 99.99 and comprehensive, the most the platform builds.
PLATFORM = {
    "kind": "platform",
    "project_name": "Platform",
    "team": "acme",
    "sla": 99.99,
    "monitoring_level": "comprehensive",
}
PLATFORM_STACK = "acme/platform/{env}"


def shared_service(**answers: Any) -> dict[str, Any]:
    """The answers of a service named Shop on PLATFORM's cluster, with `answers` on top."""
    return {"project_name": "Shop", "team": "acme", "cluster": "shared", "platform_stack": PLATFORM_STACK} | answers


class PairRun(NamedTuple):
    platform_config: dict[str, Any]
    platform_run: ProgramRun
    exported: dict[str, Any]  # the contract's outputs, as the platform's stack exports them
    service_config: dict[str, Any]
    service_run: ProgramRun


def run_pair(platform: Path, service: Path, platform_stack: str, envs: tuple[str, ...]) -> dict[str, PairRun]:
    """Each environment's pair: `platform` and `service` are rendered repositories whose projects are
    their folders' names; `platform_stack` is the service's answer, `{env}` standing for the environment."""
    runs = {}
    for env in envs:
        platform_config = stack_config(platform / f"Pulumi.{env}.yaml")
        platform_run = run_program(platform / "infra", project=platform.name, stack=env, config=platform_config)
        exported = {name: platform_run.output(name) for name in PlatformContract.output_names()}
        config = stack_config(service / f"Pulumi.{env}.yaml") | {f"{service.name}:image": RELEASE_IMAGE}
        service_run = run_program(
            service / "infra",
            project=service.name,
            stack=env,
            config=config,
            stack_outputs={platform_stack.format(env=env): exported},
        )
        runs[env] = PairRun(platform_config, platform_run, exported, config, service_run)
    return runs
