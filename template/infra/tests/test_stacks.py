"""Every stack's program builds what its plan says."""

import copy

import pytest
from conftest import PROJECT, ROOT, run_stack

from components import ComponentArgsError
from components.reliability import PlanConfigError
from components.testing import stack_config


def test_network_follows_the_plan(run, plan):
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == 3 * plan.network.az_count
    nats = run.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == (plan.network.az_count if plan.network.nat_gateways == "per-az" else 1)
    (vpc,) = run.of_type("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == plan.network.cidr
    assert not any(s.inputs.get("mapPublicIpOnLaunch") for s in subnets)
    (flow_log,) = run.of_type("aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["trafficType"] == "ALL"


def test_every_taggable_resource_carries_the_plan_tags(run, plan):
    tagged = [r for r in run.resources if "tags" in r.inputs]
    assert tagged
    for resource in tagged:
        for key, value in plan.tags.items():
            assert resource.inputs["tags"].get(key) == value, f"{resource.type} {resource.name} lacks tag {key}"


def test_bad_plan_config_names_the_key(stack):
    plan = copy.deepcopy(stack_config(ROOT / f"Pulumi.{stack}.yaml")[f"{PROJECT}:plan"])
    plan["network"]["az_count"] = "three"
    with pytest.raises(PlanConfigError, match=r"plan\.network\.az_count must be a whole number"):
        run_stack(stack, **{f"{PROJECT}:plan": plan})


def test_bad_cidr_names_the_key(stack):
    plan = copy.deepcopy(stack_config(ROOT / f"Pulumi.{stack}.yaml")[f"{PROJECT}:plan"])
    plan["network"]["cidr"] = "10.0.0/16"
    with pytest.raises(ComponentArgsError, match=r"network\.cidr"):
        run_stack(stack, **{f"{PROJECT}:plan": plan})
