"""Every stack's program builds what its plan says, and bad stack config names its key.

Bad config is tried on the prod stack (every repo has one); the checks run
before any resource exists, so the other stacks would fail the same way.
"""

import pytest
from components import ComponentArgsError
from components.reliability import PlanConfigError
from components.reliability.answers import AWS_REGION_AZS
from conftest import PLAN_KEY, run_stack, stack_file_config, standby


def test_network_follows_the_plan(run, plan):
    every_vpc = run.of_type("aws:ec2/vpc:Vpc")  # the DR replica's landing zone included
    vpcs = [v for v in every_vpc if not standby(v)]
    if not vpcs:
        # No VPC of its own: a Lambda without a database, or a service on its platform's cluster.
        assert (plan.function is not None and plan.database is None) or (plan.function or plan.cluster) is None
        return
    primary = [s for s in run.of_type("aws:ec2/subnet:Subnet") if not standby(s)]
    assert len(primary) == 3 * plan.network.az_count
    nats = [n for n in run.of_type("aws:ec2/natGateway:NatGateway") if not standby(n)]
    assert len(nats) == (plan.network.az_count if plan.network.nat_gateways == "per-az" else 1)
    assert vpcs[0].inputs["cidrBlock"] == plan.network.cidr
    assert not any(s.inputs.get("mapPublicIpOnLaunch") for s in primary)
    assert len(run.of_type("aws:ec2/flowLog:FlowLog")) == len(every_vpc)


def test_every_taggable_resource_carries_the_plan_tags(run, plan):
    tagged = [r for r in run.resources if "tags" in r.inputs]
    assert tagged
    for resource in tagged:
        for key, value in plan.tags.items():
            assert resource.inputs["tags"].get(key) == value, f"{resource.type} {resource.name} lacks tag {key}"


def test_names_derive_from_service_and_environment(run, plan):
    prefix = f"{plan.tags['service']}-{plan.name}"
    named = [r for r in run.resources if r.type.startswith("aws:") and isinstance(r.inputs.get("name"), str)]
    assert named
    for resource in named:
        name = resource.inputs["name"]
        if resource.type == "aws:route53/record:Record":  # a DNS name: the hostname, or ACM's record under it
            assert name.rstrip(".").endswith(plan.edge.hostname), f"{resource.type} {name}"
            continue
        assert prefix in name or name in ("$default", "live"), f"{resource.type} {name}"


def test_bad_plan_value_names_the_key(stack="prod"):
    config = stack_file_config(stack)
    config[PLAN_KEY]["network"]["az_count"] = "three"
    with pytest.raises(PlanConfigError, match=r"plan\.network\.az_count must be a whole number"):
        run_stack(stack, **{PLAN_KEY: config[PLAN_KEY]})


def _needs_network(plan):
    if "cluster" not in plan and "database" not in plan:
        pytest.skip("this stack has no VPC")


def test_cidr_that_does_not_parse_names_the_key(stack="prod"):
    plan = stack_file_config(stack)[PLAN_KEY]
    _needs_network(plan)
    plan["network"]["cidr"] = "10.0.0/16"
    with pytest.raises(ComponentArgsError, match=r"network\.cidr"):
        run_stack(stack, **{PLAN_KEY: plan})


def test_az_count_the_region_cannot_give_names_the_key(stack="prod"):
    config = stack_file_config(stack)
    plan = config[PLAN_KEY]
    _needs_network(plan)
    plan["network"]["az_count"] = AWS_REGION_AZS[config["aws:region"]] + 1
    with pytest.raises(ComponentArgsError, match=r"network\.az_count: .* offers \d AZs"):
        run_stack(stack, **{PLAN_KEY: plan})


def test_unknown_instance_class_names_the_key(stack="prod"):
    plan = stack_file_config(stack)[PLAN_KEY]
    if "database" in plan:
        plan["database"]["instance_class"] = "db.x9.mega"
        key = r"database\.instance_class: unknown RDS instance class"
    elif "cluster" in plan:
        plan["cluster"]["node_instance_types"] = ["m7x.mega"]
        key = r"cluster\.node_instance_types: unknown instance type"
    else:
        pytest.skip("this stack sizes no instances")
    with pytest.raises(ComponentArgsError, match=key):
        run_stack(stack, **{PLAN_KEY: plan})
