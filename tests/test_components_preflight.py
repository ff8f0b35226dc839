"""preflight: every component's checks over a whole plan, before any resource exists."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_components import ComponentArgsError, preflight
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.answers import SLA_CHOICES

ROOT = Path(__file__).resolve().parents[1]


def prod(platform="aws-eks", database="postgres", sla=99.99):
    base = {"project_name": "Pay", "service_slug": "pay", "team": "core", "owner_email": "core@example.com"}
    return plan_service(Answers(**base, platform=platform, database=database, sla=sla)).prod


@pytest.mark.parametrize("platform", ["aws-eks", "aws-lambda"])
@pytest.mark.parametrize("database", ["postgres", "none"])
@pytest.mark.parametrize("sla", SLA_CHOICES)
def test_every_planned_environment_passes(platform, database, sla):
    base = {"project_name": "Pay", "service_slug": "pay", "team": "core", "owner_email": "core@example.com"}
    plan = plan_service(Answers(**base, platform=platform, database=database, sla=sla))
    for env in plan.environments.values():
        preflight(env, "us-east-1")


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (lambda p: dataclasses.replace(p, network=dataclasses.replace(p.network, cidr="10.0.0/16")), r"network\.cidr"),
        (lambda p: dataclasses.replace(p, network=dataclasses.replace(p.network, az_count=5)), r"network\.az_count"),
        (
            lambda p: dataclasses.replace(p, database=dataclasses.replace(p.database, instance_class="db.x1.huge")),
            r"database\.instance_class",
        ),
        (
            lambda p: dataclasses.replace(p, cluster=dataclasses.replace(p.cluster, node_instance_types=("z9.big",))),
            r"cluster\.node_instance_types",
        ),
    ],
)
def test_bad_config_fails_naming_the_key(plan, message):
    with pytest.raises(ComponentArgsError, match=message):
        preflight(plan(prod()), "us-east-1")


def test_a_region_with_too_few_zones_is_named():
    with pytest.raises(ComponentArgsError, match=r"network\.az_count: us-west-1 offers 2 AZs"):
        preflight(prod(), "us-west-1")


def test_lambda_without_a_database_needs_no_network():
    plan = prod(platform="aws-lambda", database="none")
    broken = dataclasses.replace(plan, network=dataclasses.replace(plan.network, cidr="not a cidr"))
    preflight(broken, "us-east-1")
    with pytest.raises(ComponentArgsError, match=r"function\.timeout_seconds"):
        preflight(
            dataclasses.replace(plan, function=dataclasses.replace(plan.function, timeout_seconds=90)), "us-east-1"
        )


def test_a_restore_is_checked_with_the_plan_it_restores():
    from pulumi_components import DatabaseRestore

    preflight(prod(), "us-east-1", DatabaseRestore(id="r1", snapshot="pay-prod-db-pre-migration"))
    with pytest.raises(ComponentArgsError, match=r"database_restore is set but this service has no database"):
        preflight(prod(database="none"), "us-east-1", DatabaseRestore(id="r1", snapshot="snap"))
    with pytest.raises(ComponentArgsError, match=r"database_restore: give exactly one source"):
        preflight(prod(), "us-east-1", DatabaseRestore(id="r1"))


def _rollout(plan, **changes):
    return dataclasses.replace(plan, rollout=dataclasses.replace(plan.rollout, **changes))


def _workload(plan, **changes):
    return dataclasses.replace(plan, workload=dataclasses.replace(plan.workload, **changes))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: _rollout(p, strategy="big-bang"), r"rollout\.strategy must be one of rolling, canary, blue-green"),
        (lambda p: _rollout(p, canary_steps=(50, 25, 100)), r"rollout\.canary_steps must rise strictly"),
        (lambda p: _rollout(p, max_error_ratio=0.0), r"rollout\.max_error_ratio must be between 0 and 1"),
        (lambda p: _workload(p, pdb_min_available=p.workload.replicas_min), r"workload\.pdb_min_available"),
        (lambda p: _workload(p, replicas_min=0), r"workload\.replicas_min must be 1 to replicas_max"),
    ],
)
def test_the_workload_s_settings_are_checked_before_anything_is_created(change, message):
    plan = prod(platform="aws-eks")
    assert plan.rollout.strategy == "canary"
    with pytest.raises(ComponentArgsError, match=message):
        preflight(change(plan), "us-east-1")


@pytest.mark.parametrize(
    ("strategy", "change", "message"),
    [
        ("canary", {"canary_steps": (100,)}, r"rollout\.canary_steps: the first weight must be between 0 and 100"),
        ("rolling", {"max_surge_percent": 100}, r"rollout\.max_surge_percent must be between 0 and 100"),
        ("blue-green", {"max_error_ratio": 1.5}, r"rollout\.max_error_ratio must be between 0 and 1"),
    ],
)
def test_the_lambda_release_settings_are_checked_before_anything_is_created(strategy, change, message):
    plan = _rollout(prod(platform="aws-lambda"), strategy=strategy)
    preflight(plan, "us-east-1")
    with pytest.raises(ComponentArgsError, match=message):
        preflight(_rollout(plan, **change), "us-east-1")


def test_a_lambda_service_s_preflight_runs_without_pulumi_kubernetes():
    # Only EKS services install pulumi-kubernetes; a Lambda program imports the components and
    # runs preflight without it.
    script = (
        "import sys; sys.modules['pulumi_kubernetes'] = None\n"
        "from pulumi_components import preflight\n"
        "from pulumi_components.reliability import Answers, plan_service\n"
        "answers = Answers(project_name='Pay', service_slug='pay', team='core', owner_email='c@example.com',"
        " platform='aws-lambda')\n"
        "for env in plan_service(answers).environments.values():\n"
        "    preflight(env, 'us-east-1')\n"
        "assert 'pulumi_components.kubernetes_service' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
