"""Network under Pulumi mocks: subnets, NAT and flow logs as the plan says, secure defaults on."""

from __future__ import annotations

import dataclasses

import pulumi
import pytest

from pulumi_components import ComponentArgsError, Network, NetworkArgs
from pulumi_components.network import subnet_cidrs
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.testing import CapturingMocks, run_with_mocks

TAGS = {"service": "svc", "environment": "prod", "team": "t", "managed-by": "pulumi"}


def network_plan(sla: float, env: str = "prod"):
    answers = Answers(project_name="S", service_slug="svc", team="t", owner_email="t@example.com", sla=sla)
    return plan_service(answers).environments[env].network


def build(plan, region="us-east-1"):
    return run_with_mocks(lambda: Network("svc", NetworkArgs(name="svc-prod", region=region, plan=plan, tags=TAGS)))


@pytest.mark.parametrize(("sla", "azs", "nats"), [(99.5, 2, 1), (99.9, 3, 3), (99.99, 3, 3)])
def test_subnets_and_nat_follow_the_sla(sla, azs, nats):
    run = build(network_plan(sla))
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    assert sorted(s.inputs["tags"]["tier"] for s in subnets) == sorted(["public", "private", "isolated"] * azs)
    assert len({s.inputs["availabilityZone"] for s in subnets}) == azs
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == nats


def test_dev_gets_one_nat_even_at_high_sla():
    run = build(network_plan(99.99, "dev"))
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 1


def test_isolated_subnets_have_no_route_out():
    run = build(network_plan(99.9))
    (isolated,) = [rt for rt in run.of_type("aws:ec2/routeTable:RouteTable") if rt.name.endswith("isolated-rt")]
    assert not isolated.inputs.get("routes")
    private = [rt for rt in run.of_type("aws:ec2/routeTable:RouteTable") if "private" in rt.name]
    assert all(rt.inputs["routes"][0].get("natGatewayId") for rt in private)


def test_default_security_group_is_stripped_and_flow_logs_are_encrypted():
    run = build(network_plan(99.9))
    (default_sg,) = run.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg.inputs.get("ingress", []) == [] and default_sg.inputs.get("egress", []) == []
    (group,) = run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 365 and group.inputs["kmsKeyId"]
    (key,) = run.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    (flow_log,) = run.of_type("aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["trafficType"] == "ALL"
    (endpoint,) = run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"


def test_every_child_is_tagged_and_parented():
    run = build(network_plan(99.9))
    component = [r for r in run.resources if r.type == "groundwork:index:Network"]
    assert len(component) == 1
    for resource in run.resources:
        if resource.type == "groundwork:index:Network":
            continue
        if "tags" in resource.inputs:
            assert TAGS.items() <= resource.inputs["tags"].items(), resource.name
    taggable = {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway", "aws:kms/key:Key"}
    assert all("tags" in r.inputs for r in run.resources if r.type in taggable)


def test_subnet_layout_never_overlaps():
    cidrs = subnet_cidrs("10.30.0.0/16", 4)
    flat = [c for tier in cidrs.values() for c in tier]
    assert len(flat) == len(set(flat)) == 12


@pytest.mark.parametrize(
    ("region", "change", "message"),
    [
        ("us-east-1", {"cidr": "10.0.0/16"}, r"network\.cidr: '10\.0\.0/16' is not an IPv4 CIDR"),
        ("us-east-1", {"cidr": "10.0.0.0/24"}, r"network\.cidr: prefix must be /16 to /20"),
        ("us-west-1", {"az_count": 3}, r"network\.az_count: us-west-1 offers 2 AZs"),
        ("us-east-1", {"nat_gateways": "many"}, r"network\.nat_gateways must be one of single, per-az"),
        ("us-east-1", {"flow_log_retention_days": 10}, r"network\.flow_log_retention_days must be one of"),
    ],
)
def test_bad_args_fail_before_anything_is_created(region, change, message):
    plan = dataclasses.replace(network_plan(99.9), **change)
    mocks = CapturingMocks(region)
    pulumi.runtime.set_mocks(mocks, project="test", stack="test", preview=False)
    with pytest.raises(ComponentArgsError, match=message):
        Network("svc", NetworkArgs(name="svc-prod", region=region, plan=plan, tags=TAGS))
    assert mocks.resources == []
