"""Rules of the regional failover: the DR plan names only steps the stacks and the workflow carry out.

- a Route 53 failover record is complete: a set identifier, an alias that evaluates its target's
  health (failover alias records require it), and on the PRIMARY a health check of this stack
  whose CloudWatch alarm exists here and latches (`treatMissingData: ignore`);
- a cross-region read replica has a lag alarm on its `ReplicaLag` that notifies someone;
- the DR plan's "Regional failover" section and the production stack agree: the section exists
  exactly when production has a PRIMARY failover record; the failover workflow exists, turns on
  the switch the stack's health check reads (namespace, metric, dimension), promotes the replica
  when there is one and sets the standby's config key; and every resource name the section gives
  (switch alarm, replica, lag alarm) is one the stack creates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from . import RepositoryView, StackView, repository_rule, stack_rule
from .rules_common import as_list

RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
INSTANCE = "aws:rds/instance:Instance"
DOC = "docs/disaster-recovery.md"
WORKFLOW = ".github/workflows/failover.yml"
SECTION = re.compile(r"^## Regional failover.*?(?=^## |\Z)", re.M | re.S)
CONFIG_KEY = "failover"  # dns_failover.FAILOVER_CONFIG_KEY, as `<service>:failover`


def _subject(resource: Any) -> str:
    return f"{resource.type} {resource.name}"


def failover_role(record: Any) -> str:
    policies = as_list(record.inputs.get("failoverRoutingPolicies"))
    return str(policies[0].get("type", "")) if policies and isinstance(policies[0], Mapping) else ""


def _ids(resource: Any) -> set[str]:
    """How other resources' inputs refer to this one: by its id (the mocks' `<name>-id`)."""
    return {f"{resource.name}-id", str(resource.inputs.get("id", ""))} - {""}


@stack_rule(
    "failover-record-complete",
    "A Route 53 failover record has a set identifier and an alias that evaluates its target's health; the "
    "PRIMARY record's health check exists in the stack, and a health check on a CloudWatch alarm reads an "
    "alarm of the stack that keeps its state without data.",
)
def failover_record_complete(stack: StackView) -> Iterator[tuple[str, str]]:
    checks = stack.of_type(HEALTH_CHECK)
    alarms = {str(a.inputs.get("name")): a for a in stack.of_type(ALARM)}
    for record in stack.of_type(RECORD):
        role = failover_role(record)
        if not role:
            continue
        if not record.inputs.get("setIdentifier"):
            yield _subject(record), f"a {role} failover record needs a setIdentifier"
        aliases = as_list(record.inputs.get("aliases"))
        if not aliases or not all(isinstance(a, Mapping) and a.get("evaluateTargetHealth") is True for a in aliases):
            yield _subject(record), "a failover alias record must set evaluateTargetHealth: true"
        if role != "PRIMARY":
            continue
        check_id = str(record.inputs.get("healthCheckId") or "")
        check = next((c for c in checks if check_id in _ids(c)), None)
        if check is None:
            yield _subject(record), f"the PRIMARY record's healthCheckId {check_id!r} is no health check of this stack"
            continue
        if check.inputs.get("type") == "CLOUDWATCH_METRIC":
            alarm = alarms.get(str(check.inputs.get("cloudwatchAlarmName")))
            if alarm is None:
                yield _subject(check), f"reads the alarm {check.inputs.get('cloudwatchAlarmName')!r}, not in this stack"
            elif alarm.inputs.get("treatMissingData") != "ignore":
                yield (
                    _subject(alarm),
                    "the failover switch must keep its state without data (treatMissingData: ignore), or the "
                    "primary takes traffic back by itself",
                )


@stack_rule(
    "replica-lag-alarm",
    "Every cross-region read replica has an alarm on its ReplicaLag that notifies someone.",
)
def replica_lag_alarm(stack: StackView) -> Iterator[tuple[str, str]]:
    watched = {
        str((alarm.inputs.get("dimensions") or {}).get("DBInstanceIdentifier"))
        for alarm in stack.of_type(ALARM)
        if alarm.inputs.get("metricName") == "ReplicaLag" and as_list(alarm.inputs.get("alarmActions"))
    }
    for replica in stack.of_type(INSTANCE):
        if replica.inputs.get("replicateSourceDb") and str(replica.inputs.get("identifier")) not in watched:
            yield (
                _subject(replica),
                f"no ReplicaLag alarm with an action watches {replica.inputs.get('identifier')}: it may be behind the "
                "RPO when a failover needs it",
            )


def _workflow_text(repo: RepositoryView) -> str:
    path = repo.root / WORKFLOW
    if not path.is_file():
        return ""
    workflow = yaml.safe_load(path.read_text()) or {}
    return "\n".join(
        str(step.get("run", ""))
        for job in (workflow.get("jobs") or {}).values()
        for step in as_list(job.get("steps"))
        if isinstance(step, Mapping)
    )


@repository_rule(
    "dr-plan-executable",
    "The DR plan's regional failover names only what exists: production's failover record, switch and "
    "health check, its replica and lag alarm, the standby's config key, and a failover workflow that "
    "promotes, sets that key and turns on that switch.",
)
def dr_plan_executable(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    prod = repo.stacks.get("prod")
    doc = repo.root / DOC
    text = doc.read_text() if doc.is_file() else ""
    found = SECTION.search(text)
    section = found.group(0) if found else ""
    primary = [r for r in prod.of_type(RECORD) if failover_role(r) == "PRIMARY"] if prod else []
    if section and not primary:
        yield DOC, "describes a regional failover, but the prod stack writes no PRIMARY failover record"
        return
    if not primary:
        if (repo.root / WORKFLOW).is_file():
            yield WORKFLOW, "a failover workflow, but the prod stack writes no failover record"
        return
    if not section:
        yield DOC, "the prod stack writes a failover record, but the DR plan has no 'Regional failover' section"
    checks = prod.of_type(HEALTH_CHECK)
    switch_names = {str(c.inputs.get("cloudwatchAlarmName")) for c in checks if c.inputs.get("cloudwatchAlarmName")}
    switches = [a for a in prod.of_type(ALARM) if str(a.inputs.get("name")) in switch_names]
    replicas = [r for r in prod.of_type(INSTANCE) if r.inputs.get("replicateSourceDb")]
    lag_alarms = [a for a in prod.of_type(ALARM) if a.inputs.get("metricName") == "ReplicaLag"]
    yield from _workflow_steps(repo, prod, switches, bool(replicas))
    if not section:
        return
    named = {
        "switch alarm": [str(a.inputs.get("name")) for a in switches],
        "replica": [str(r.inputs.get("identifier")) for r in replicas],
        "replica lag alarm": [str(a.inputs.get("name")) for a in lag_alarms],
    }
    for what, names in named.items():
        for name in names:
            if f"`{name}`" not in section:
                yield DOC, f"the regional failover does not name the {what} `{name}` the prod stack creates"
    mentioned = set(re.findall(r"`([a-z0-9-]+-(?:failover|replica-lag|db-[a-z]{2}-[a-z]+-\d))`", section))
    for name in sorted(mentioned - {n for names in named.values() for n in names}):
        yield DOC, f"names `{name}`, which the prod stack does not create"
    if f"`{prod.service}:{CONFIG_KEY}`" not in section:
        yield DOC, f"the regional failover does not name the standby's config key `{prod.service}:{CONFIG_KEY}`"


def _workflow_steps(
    repo: RepositoryView, prod: StackView, switches: list[Any], replica: bool
) -> Iterator[tuple[str, str]]:
    script = _workflow_text(repo)
    if not script:
        yield WORKFLOW, "the prod stack writes a failover record, but there is no failover workflow"
        return
    for alarm in switches:
        dimensions = alarm.inputs.get("dimensions") or {}
        wanted = [
            f"--namespace {alarm.inputs.get('namespace')}",
            f"--metric-name {alarm.inputs.get('metricName')}",
            *(f"{key}={value}" for key, value in dimensions.items()),
        ]
        if "put-metric-data" not in script or not all(part in script for part in wanted):
            yield WORKFLOW, f"does not publish the metric the failover switch {alarm.inputs.get('name')} reads"
    if replica and "promote-read-replica" not in script:
        yield WORKFLOW, "the prod stack has a cross-region replica, but the workflow never promotes it"
    if f"{prod.service}:{CONFIG_KEY}" not in script and "workstation" not in script:
        yield WORKFLOW, f"never sets the standby's config key {prod.service}:{CONFIG_KEY}, nor hands it to a person"
