"""failover-record-complete, replica-lag-alarm, dr-plan-executable: the regional failover the DR plan
describes is the one the stacks and the failover workflow carry out.

Stack rules run on DnsFailover and PostgresDatabase built under mocks, then on copies with one
defect each; the repository rule on a rendered 99.99 repository and its prod stack (run once),
then on copies of the document, the workflow and the stack with one defect each."""

from __future__ import annotations

import copy
import dataclasses
import shutil
from functools import cache
from pathlib import Path

import pytest
from conftest import render
from service_fixtures import service_plan

from pulumi_components.deployability import RepositoryView, StackView, check_repository, check_stack, stack_view
from pulumi_components.dns_failover import DnsFailover, DnsFailoverArgs
from pulumi_components.postgres_database import PostgresDatabase, PostgresDatabaseArgs, ReplicaLagAlarm
from pulumi_components.reliability.plan import replica_network
from pulumi_components.testing import RELEASE_IMAGE, run_program, run_with_mocks, stack_config

RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
INSTANCE = "aws:rds/instance:Instance"


def primary_args(**overrides) -> DnsFailoverArgs:
    values = dict(
        name="example-prod",
        hostname="example.example.com",
        zone_id="Z0123456789MOCKZONE",
        region="us-east-1",
        role="PRIMARY",
        target="k8s-example-0123.us-east-1.elb.amazonaws.com",
        dr_region="us-west-2",
    )
    return DnsFailoverArgs(**{**values, **overrides})


@cache
def failover_resources() -> tuple:
    return tuple(run_with_mocks(lambda: DnsFailover("example-prod", primary_args())).resources)


@cache
def database_resources() -> tuple:
    plan = service_plan("prod", sla=99.99, database="postgres")
    args = PostgresDatabaseArgs(
        name="example-prod",
        region="us-east-1",
        plan=plan.database,
        vpc_id="vpc-1",
        isolated_subnet_ids=["subnet-1", "subnet-2", "subnet-3"],
        log_retention_days=plan.log_retention_days,
        replica_network=replica_network(plan),
        replica_lag_alarm=ReplicaLagAlarm(plan.recovery.rpo_minutes * 60, "p@example.com"),
        tags=plan.tags,
    )
    return tuple(run_with_mocks(lambda: PostgresDatabase("example-prod", args)).resources)


def stack(resources) -> StackView:
    return StackView("example", "prod", list(resources))


def mutated(resources, type_: str, change, match=lambda r: True) -> list:
    out = []
    for resource in resources:
        if resource.type == type_ and match(resource):
            resource = copy.deepcopy(resource)
            change(resource.inputs)
        out.append(resource)
    return out


def findings(resources, rule: str) -> list[str]:
    return [f.message for f in check_stack(stack(resources), only=[rule])]


# -- failover-record-complete ------------------------------------------------------------------


def test_the_primary_record_with_its_switch_passes():
    resources = failover_resources()
    (record,) = [r for r in resources if r.type == RECORD]
    assert record.inputs["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    assert findings(resources, "failover-record-complete") == []


@pytest.mark.parametrize(
    ("type_", "change", "expected"),
    [
        (RECORD, lambda i: i.pop("setIdentifier"), "setIdentifier"),
        (RECORD, lambda i: i["aliases"][0].update(evaluateTargetHealth=False), "evaluateTargetHealth"),
        (RECORD, lambda i: i.update(healthCheckId="elsewhere"), "no health check of this stack"),
        (HEALTH_CHECK, lambda i: i.update(cloudwatchAlarmName="other"), "not in this stack"),
        (ALARM, lambda i: i.update(treatMissingData="notBreaching"), "keep its state"),
    ],
)
def test_an_incomplete_failover_record_is_reported(type_, change, expected):
    messages = findings(mutated(failover_resources(), type_, change), "failover-record-complete")
    assert any(expected in m for m in messages), messages


# -- replica-lag-alarm -------------------------------------------------------------------------


def test_the_replica_has_its_lag_alarm():
    resources = database_resources()
    (alarm,) = [r for r in resources if r.type == ALARM]
    assert alarm.inputs["metricName"] == "ReplicaLag" and alarm.inputs["threshold"] == 60
    assert alarm.inputs["treatMissingData"] == "breaching"
    assert findings(resources, "replica-lag-alarm") == []


@pytest.mark.parametrize(
    "change",
    [
        lambda i: i.update(alarmActions=[]),
        lambda i: i.update(dimensions={"DBInstanceIdentifier": "another-db"}),
        lambda i: i.update(metricName="CPUUtilization"),
    ],
)
def test_a_replica_nobody_watches_is_reported(change):
    messages = findings(mutated(database_resources(), ALARM, change), "replica-lag-alarm")
    assert messages and "ReplicaLag" in messages[0]


# -- dr-plan-executable ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def platinum(tmp_path_factory) -> tuple[Path, StackView]:
    repo = render(tmp_path_factory.mktemp("dr") / "svc", platform="aws-lambda", database="postgres", sla="99.99",
                  service_slug="svc", environments=["prod"])  # fmt: skip
    config = stack_config(repo / "Pulumi.prod.yaml") | {"svc:image": RELEASE_IMAGE}
    run = run_program(repo / "infra", project="svc", stack="prod", config=config)
    return repo, stack_view("svc", "prod", run, config)


def check(repo: Path, prod: StackView) -> list[str]:
    return [f.message for f in check_repository(RepositoryView(repo, {"prod": prod}), only=["dr-plan-executable"])]


def copy_repo(repo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(repo, target, ignore=shutil.ignore_patterns(".venv", "node_modules"))
    return target


def test_the_rendered_plan_names_what_exists(platinum):
    repo, prod = platinum
    assert check(repo, prod) == []
    assert findings(prod.resources, "failover-record-complete") == []
    assert findings(prod.resources, "replica-lag-alarm") == []


@pytest.mark.parametrize(
    ("path", "old", "new", "expected"),
    [
        ("docs/disaster-recovery.md", "`svc-prod-failover`", "the switch", "switch alarm `svc-prod-failover`"),
        ("docs/disaster-recovery.md", "`svc-prod-db-replica-lag`", "`svc-prod-db-lag`", "replica lag alarm"),
        ("docs/disaster-recovery.md", "`svc:failover`", "a config key", "config key `svc:failover`"),
        (".github/workflows/failover.yml", "aws rds promote-read-replica", "echo", "never promotes"),
        (".github/workflows/failover.yml", "--metric-name PrimaryRetired", "--metric-name Other", "does not publish"),
        (".github/workflows/failover.yml", "svc:failover.database", "svc:standby", "never sets"),
    ],
)
def test_a_plan_that_names_what_is_not_there_is_reported(platinum, tmp_path, path, old, new, expected):
    repo, prod = platinum
    copied = copy_repo(repo, tmp_path)
    text = (copied / path).read_text()
    assert old in text
    (copied / path).write_text(text.replace(old, new))
    messages = check(copied, prod)
    assert any(expected in m for m in messages), messages


def test_a_plan_without_the_records_or_the_workflow_is_reported(platinum, tmp_path):
    repo, prod = platinum
    no_records = dataclasses.replace(prod, resources=[r for r in prod.resources if r.type != RECORD])
    assert any("no PRIMARY failover record" in m for m in check(repo, no_records))
    copied = copy_repo(repo, tmp_path)
    (copied / ".github/workflows/failover.yml").unlink()
    assert any("no failover workflow" in m for m in check(copied, prod))
