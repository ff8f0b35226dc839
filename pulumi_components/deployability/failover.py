"""Failover: the availability estimate may count only the failover a stack contains.

The reliability model charges each kind of regional failover its own minutes
(`reliability/availability.py`) and counts the kind the plan names in
`recovery.failover`. A kind needs resources to exist before the incident: a
cold standby needs the database's replica (and the network the service lands
in) in the DR region; a warm standby also needs running compute there and
health-checked failover records; active-active needs compute in both regions
behind health-checked records. These rules read the stack's resources, work out
the strongest kind they support, and report a plan that claims more; and a
failover record that would move DNS without a health check.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from ..reliability import from_config
from ..reliability.availability import FAILOVER_ORDER
from . import ResourceLike, StackView, stack_rule
from .rules_common import subject

PROVIDER = "pulumi:providers:aws"
DB = "aws:rds/instance:Instance"
VPC = "aws:ec2/vpc:Vpc"
RECORD = "aws:route53/record:Record"
COMPUTE = ("aws:eks/cluster:Cluster", "aws:lambda/function:Function")


def _regions(stack: StackView) -> tuple[str, dict[str, str]]:
    """The stack's own region and each explicit provider's region, by provider name."""
    home = str(stack.config.get("aws:region", ""))
    return home, {r.name: str(r.inputs.get("region", home)) for r in stack.of_type(PROVIDER)}


def region_of(resource: ResourceLike, stack: StackView) -> str:
    """Where a resource lives: its own `region`, else its provider's, else the stack's."""
    home, providers = _regions(stack)
    if resource.inputs.get("region"):
        return str(resource.inputs["region"])
    reference = getattr(resource, "provider", None) or ""
    name = reference.split("::")[-2] if "::" in reference else ""
    return providers.get(name, home)


def _elsewhere(stack: StackView, resources: Sequence[ResourceLike]) -> list[ResourceLike]:
    home, _ = _regions(stack)
    return [r for r in resources if region_of(r, stack) != home]


def _failover_records(stack: StackView, kind: str) -> list[ResourceLike]:
    return [
        r
        for r in stack.of_type(RECORD)
        if any(p.get("type") == kind for p in r.inputs.get("failoverRoutingPolicies") or [] if isinstance(p, dict))
    ]


def _balanced_records(stack: StackView) -> list[ResourceLike]:
    keys = ("latencyRoutingPolicies", "weightedRoutingPolicies", "geolocationRoutingPolicies")
    return [r for r in stack.of_type(RECORD) if any(r.inputs.get(k) for k in keys)]


def _missing(stack: StackView, kind: str, has_database: bool) -> list[str]:
    """What the stack lacks for `kind`; empty when it contains everything the kind needs."""
    if kind == "none":
        return []
    missing: list[str] = []
    replicas = [r for r in _elsewhere(stack, stack.of_type(DB)) if r.inputs.get("replicateSourceDb")]
    if has_database and not replicas:
        missing.append("a replica of the database in another region")
    if has_database and not _elsewhere(stack, stack.of_type(VPC)):
        missing.append("a network in the DR region for the service to land in")
    if not [r for r in _failover_records(stack, "PRIMARY") if r.inputs.get("healthCheckId")]:
        missing.append("a health-checked PRIMARY failover record, for DNS to move once the standby serves")
    if kind == "cold-standby":
        return missing
    if not _elsewhere(stack, stack.of_type(*COMPUTE)):
        missing.append("running compute in the DR region")
    if kind == "warm-standby":
        primary = [r for r in _failover_records(stack, "PRIMARY") if r.inputs.get("healthCheckId")]
        if not primary or not _failover_records(stack, "SECONDARY"):
            missing.append("health-checked PRIMARY and SECONDARY failover records")
        return missing
    balanced = _balanced_records(stack)
    if len(balanced) < 2 or not all(r.inputs.get("healthCheckId") for r in balanced):
        missing.append("health-checked latency or weighted records for both regions")
    return missing


def supported_failover(stack: StackView, has_database: bool) -> str:
    """The strongest kind of failover the stack's resources support."""
    return [kind for kind in FAILOVER_ORDER if not _missing(stack, kind, has_database)][-1]


def _plan(stack: StackView) -> Any:
    value = stack.config.get(f"{stack.service}:plan")
    plan = from_config(value) if isinstance(value, dict) else None
    if plan is not None and stack.config.get(f"{stack.service}:failover"):
        # The standby stack (prod-dr) is the failed-over service: its config is production's, but it
        # has no replica of its own, so it claims no regional failover (dns_failover.standby_plan).
        return replace(plan, recovery=replace(plan.recovery, failover="none"))
    return plan


@stack_rule(
    "failover-claim-backed",
    "The availability estimate counts only the regional failover whose resources the stack contains.",
)
def failover_claim_backed(stack: StackView) -> Iterator[tuple[str, str]]:
    plan = _plan(stack)
    if plan is None:
        return
    claimed = plan.recovery.failover
    if claimed not in FAILOVER_ORDER:
        yield f"stack {stack.env}", f"recovery.failover {claimed!r}; accepted: {', '.join(FAILOVER_ORDER)}"
        return
    missing = _missing(stack, claimed, plan.database is not None)
    if missing:
        yield (
            f"stack {stack.env}",
            f"the plan counts a {claimed} failover in its availability estimate, but the stack lacks "
            f"{'; '.join(missing)} (it supports {supported_failover(stack, plan.database is not None)})",
        )


@stack_rule(
    "failover-primary-health-checked",
    "A PRIMARY failover record carries a Route 53 health check, or DNS never moves to the secondary.",
)
def failover_primary_health_checked(stack: StackView) -> Iterator[tuple[str, str]]:
    for record in _failover_records(stack, "PRIMARY"):
        if not record.inputs.get("healthCheckId"):
            yield subject(record), "PRIMARY failover record without healthCheckId: Route 53 would never fail over"
