"""The failover rules: the generated 99.99 stack backs the cold standby its estimate counts, and a plan
claiming more than its resources support is reported."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import yaml
from conftest import render

from pulumi_components.deployability import StackView, check_stack, stack_view
from pulumi_components.deployability.failover import region_of, supported_failover
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.availability import feasibility
from pulumi_components.testing import RELEASE_IMAGE, run_program, stack_config

RULES = ("failover-claim-backed", "failover-primary-health-checked")


@dataclass
class Resource:
    type: str
    name: str
    inputs: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None


@pytest.fixture(scope="module")
def platinum(tmp_path_factory) -> tuple[StackView, Any]:
    """The production stack of a 99.99 EKS service with PostgreSQL, and its ServicePlan."""
    repo = render(tmp_path_factory.mktemp("platinum") / "svc", sla=99.99, service_slug="svc")
    config = stack_config(repo / "Pulumi.prod.yaml") | {"svc:image": RELEASE_IMAGE}
    run = run_program(repo / "infra", project="svc", stack="prod", config=config)
    service = plan_service(Answers.from_mapping(yaml.safe_load((repo / ".copier-answers.yml").read_text())))
    return stack_view("svc", "prod", run, config), service


def findings(stack: StackView, rule: str) -> list[str]:
    return [f.message for f in check_stack(stack, only=[rule])]


def claiming(stack: StackView, kind: str) -> StackView:
    config = copy.deepcopy(dict(stack.config))
    config["svc:plan"]["recovery"]["failover"] = kind
    return replace(stack, config=config)


def dr_provider(stack: StackView) -> str:
    """A provider reference for the DR region, as the engine passes it."""
    provider = next(r for r in stack.of_type("pulumi:providers:aws") if r.inputs.get("region") == "us-west-2")
    return f"urn:pulumi:prod::svc::pulumi:providers:aws::{provider.name}::{provider.name}-id"


def test_the_platinum_stack_backs_its_cold_standby(platinum):
    stack, service = platinum
    assert stack.config["svc:plan"]["recovery"]["failover"] == "cold-standby"
    assert supported_failover(stack, has_database=True) == "cold-standby"
    for rule in RULES:
        assert findings(stack, rule) == []
    replica = next(r for r in stack.of_type("aws:rds/instance:Instance") if r.inputs.get("replicateSourceDb"))
    assert region_of(replica, stack) == "us-west-2"
    # The figure is the cold standby's: what the stack contains, not the warm standby it lacks.
    result = feasibility(service)
    built = {a.kind.key: a.percent for a in result.alternatives}
    assert result.composite_percent == built["cold-standby"] < built["warm-standby"]


def test_a_cold_standby_without_its_replica_is_reported(platinum):
    stack, _ = platinum
    without = replace(stack, resources=[r for r in stack.resources if not r.inputs.get("replicateSourceDb")])
    (message,) = findings(without, "failover-claim-backed")
    assert "counts a cold-standby failover" in message
    assert "lacks a replica of the database in another region" in message
    assert supported_failover(without, has_database=True) == "none"


def test_a_warm_standby_claim_needs_running_compute_and_failover_records(platinum):
    stack, _ = platinum
    (message,) = findings(claiming(stack, "warm-standby"), "failover-claim-backed")
    assert "running compute in the DR region" in message
    assert "health-checked PRIMARY and SECONDARY failover records" in message
    assert "(it supports cold-standby)" in message


def test_warm_standby_resources_support_a_warm_standby_claim(platinum):
    stack, _ = platinum
    provider = dr_provider(stack)
    extra = [
        Resource("aws:eks/cluster:Cluster", "svc-prod-dr", provider=provider),
        Resource(
            "aws:route53/record:Record",
            "svc-primary",
            {"failoverRoutingPolicies": [{"type": "PRIMARY"}], "healthCheckId": "hc-1"},
        ),
        Resource("aws:route53/record:Record", "svc-secondary", {"failoverRoutingPolicies": [{"type": "SECONDARY"}]}),
    ]
    warm = replace(claiming(stack, "warm-standby"), resources=[*stack.resources, *extra])
    assert supported_failover(warm, has_database=True) == "warm-standby"
    assert findings(warm, "failover-claim-backed") == []
    # Compute in the primary region only is not a standby.
    home = replace(warm, resources=[*stack.resources, replace(extra[0], provider=None), *extra[1:]])
    assert "running compute in the DR region" in findings(home, "failover-claim-backed")[0]


def test_active_active_needs_health_checked_records_for_both_regions(platinum):
    stack, _ = platinum
    compute = Resource("aws:eks/cluster:Cluster", "svc-prod-dr", provider=dr_provider(stack))
    records = [
        Resource(
            "aws:route53/record:Record", f"svc-{r}", {"latencyRoutingPolicies": [{"region": r}], "healthCheckId": r}
        )
        for r in ("us-east-1", "us-west-2")
    ]
    active = replace(claiming(stack, "active-active"), resources=[*stack.resources, compute, *records])
    assert findings(active, "failover-claim-backed") == []
    unchecked = replace(
        active,
        resources=[*stack.resources, compute, records[0], replace(records[1], inputs={"latencyRoutingPolicies": [{}]})],
    )
    (message,) = findings(unchecked, "failover-claim-backed")
    assert "health-checked latency or weighted records for both regions" in message


def test_an_unknown_failover_kind_is_reported_with_the_accepted_ones(platinum):
    stack, _ = platinum
    (message,) = findings(claiming(stack, "pilot-light"), "failover-claim-backed")
    assert "accepted: none, cold-standby, warm-standby, active-active" in message


def test_a_primary_record_without_a_health_check_is_reported(platinum):
    stack, _ = platinum
    primary = Resource("aws:route53/record:Record", "svc-primary", {"failoverRoutingPolicies": [{"type": "PRIMARY"}]})
    with_record = replace(stack, resources=[*stack.resources, primary])
    (message,) = findings(with_record, "failover-primary-health-checked")
    assert "never fail over" in message
    checked = replace(primary, inputs={**primary.inputs, "healthCheckId": "hc-1"})
    assert findings(replace(stack, resources=[*stack.resources, checked]), "failover-primary-health-checked") == []
