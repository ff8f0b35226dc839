"""The plan numbers the infrastructure components read beyond the tier table."""

import pytest

from pulumi_components.reliability import Answers, from_config, plan_service, to_config
from pulumi_components.reliability.plan import DR_CIDR, replica_network


def _plan(**answers):
    base = {"project_name": "Pay", "service_slug": "pay", "team": "core", "owner_email": "core@example.com"}
    return plan_service(Answers(**{**base, **answers}))


def test_node_disk_and_cluster_deletion_protection_follow_the_environment():
    plan = _plan(platform="aws-eks")
    assert plan.environments["dev"].cluster.node_disk_gb < plan.prod.cluster.node_disk_gb
    assert plan.prod.cluster.deletion_protection
    assert not plan.environments["dev"].cluster.deletion_protection


@pytest.mark.parametrize("sla", [99.5, 99.9, 99.95])
def test_no_replica_network_below_the_cross_region_tier(sla):
    assert all(replica_network(env) is None for env in _plan(sla=sla).environments.values())


def test_replica_network_exists_only_for_prod_at_99_99_and_does_not_overlap():
    plan = _plan(sla=99.99, aws_region="eu-west-1")
    network = replica_network(plan.prod)
    assert network is not None and network.cidr == DR_CIDR
    assert network.az_count == plan.prod.network.az_count
    assert network.nat_gateways == "single"
    assert all(replica_network(plan.environments[env]) is None for env in ("dev", "staging"))
    assert network.cidr not in {env.network.cidr for env in plan.environments.values()}


def test_replica_network_without_a_database_is_none():
    assert replica_network(_plan(sla=99.99, database="none").prod) is None


def test_new_fields_round_trip_through_stack_config():
    prod = _plan(sla=99.99).prod
    assert from_config(to_config(prod)) == prod
