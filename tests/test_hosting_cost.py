"""The cost of hosting services on a shared platform against each on its own cluster (hosting_cost)."""

from __future__ import annotations

import pytest

from pulumi_components import kubernetes_cluster
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.cost import estimate_cost
from pulumi_components.reliability.hosting_cost import (
    SERVICE_MILLICORES_PER_NODE,
    fleet_costs,
    hosted_cost,
    platform_cost,
    platform_nodes,
)

BASE = {"project_name": "Shop", "service_slug": "shop", "team": "acme", "owner_email": "a@example.com"}


def plans(**answers):
    dedicated = plan_service(Answers.from_mapping({**BASE, **answers}))
    shared = plan_service(Answers.from_mapping({**BASE, **answers, "cluster": "shared"}))
    platform = plan_service(Answers.from_mapping({**BASE, "service_slug": "platform", "database": "none"}))
    return dedicated, shared, platform


def test_node_capacity_is_the_clusters_own_sizing():
    large = kubernetes_cluster.SIZE_VCPUS["large"]
    assert SERVICE_MILLICORES_PER_NODE == int(large * 1000 * kubernetes_cluster.SERVICE_CPU_SHARE)


def test_a_hosted_service_pays_for_its_load_balancer_and_database_only():
    _, shared, _ = plans()
    items = {line.item for env in hosted_cost(shared).environments for line in env.lines}
    assert "Application Load Balancer" in items and any(item.startswith("RDS") for item in items)
    assert not any(item.startswith(("EKS", "NAT", "Node")) for item in items)


def test_one_service_costs_the_same_either_way_and_many_cost_less_shared():
    dedicated, shared, platform = plans()
    one, ten, fifty = fleet_costs(dedicated, shared, platform)
    assert one.dedicated_usd == pytest.approx(estimate_cost(dedicated).total_usd)
    # One service costs about the same either way: the pair of stacks pays a few fixed per-stack lines
    # twice (KMS keys, each stack's base log volume), never less than the dedicated service.
    assert one.dedicated_usd <= one.shared_usd <= one.dedicated_usd * 1.05
    assert ten.shared_usd < ten.dedicated_usd and fifty.shared_usd < fifty.dedicated_usd
    assert fifty.platform_share_usd < ten.platform_share_usd < one.platform_share_usd
    assert fifty.saving_ratio > ten.saving_ratio > 0


def test_the_platforms_nodes_grow_with_the_pods_it_hosts():
    _, shared, platform = plans()
    prod, hosted = platform.prod, shared.prod
    assert platform_nodes(prod, []) == prod.cluster.node_desired
    per_service = hosted.workload.replicas_min * 250
    assert platform_nodes(prod, [hosted] * 50) == -(-50 * per_service // SERVICE_MILLICORES_PER_NODE)
    assert platform_cost(platform, [shared] * 50).total_usd > platform_cost(platform).total_usd
