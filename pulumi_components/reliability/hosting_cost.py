"""What hosting services on a shared platform costs, against each service running its own cluster.

A service on a shared cluster pays for what it owns (its load balancer, its database); the platform
pays once per environment for the control plane, the NAT gateways and the nodes, which grow with the
pods the hosted services request. The nodes are sized as the dedicated plan sizes them per service
(`large` nodes, of which the plan leaves SERVICE_CPU_SHARE of the CPU to service pods; the other half
is the kubelet's, the DaemonSets' and the platform's own pods); every hosted service is counted at its
steady-state replicas (the Cluster Autoscaler adds nodes for releases and peaks, as on a dedicated
cluster). Same price table, same exclusions (cost.NOT_ESTIMATED).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from .cost import TRAFFIC, CostEstimate, EnvironmentCost, environment_cost, estimate_cost, load_balancer_lines
from .plan import EnvironmentPlan, ServicePlan

# vCPUs of the `large` node types the plan chooses (t3.large, m7i.large), and the share of a node's CPU
# left to service pods: kubernetes_cluster.SIZE_VCPUS["large"] and SERVICE_CPU_SHARE (a test holds them equal).
NODE_VCPUS = 2
SERVICE_CPU_SHARE = 0.5
SERVICE_MILLICORES_PER_NODE = int(NODE_VCPUS * 1000 * SERVICE_CPU_SHARE)
FLEET_SIZES = (1, 10, 50)


def _millicores(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def steady_millicores(env: EnvironmentPlan) -> int:
    """CPU a service's pods request at their steady-state replica count."""
    return env.workload.replicas_min * _millicores(env.workload.cpu_request)


def hosted_cost(service: ServicePlan) -> CostEstimate:
    """A shared-cluster service's own monthly cost: its load balancer and its database, per environment
    (its plan has no cluster or network of its own, so the estimate holds nothing else)."""
    return estimate_cost(service)


def platform_nodes(platform_env: EnvironmentPlan, hosted: Sequence[EnvironmentPlan]) -> int:
    """The platform's steady node count in an environment hosting `hosted`."""
    needed = math.ceil(sum(steady_millicores(env) for env in hosted) / SERVICE_MILLICORES_PER_NODE)
    return max(platform_env.cluster.node_desired, needed)


def platform_cost(platform: ServicePlan, hosted: Sequence[ServicePlan] = ()) -> CostEstimate:
    """The platform's monthly cost per environment while it hosts `hosted`: control plane, nodes sized
    for their pods, node volumes, NAT gateways (no load balancer: each service brings its own)."""
    region = platform.answers.aws_region
    environments = []
    for name, env in platform.environments.items():
        nodes = platform_nodes(env, [service.environments[name] for service in hosted if name in service.environments])
        sized = dataclasses.replace(env, cluster=dataclasses.replace(env.cluster, node_desired=nodes), database=None)
        own_lb = {line.item for line in load_balancer_lines(sized, region, TRAFFIC[name])}
        lines = tuple(line for line in environment_cost(platform, sized).lines if line.item not in own_lb)
        environments.append(EnvironmentCost(name, region, lines, TRAFFIC[name]))
    return dataclasses.replace(estimate_cost(platform), environments=tuple(environments))


@dataclass(frozen=True)
class FleetCost:
    """The monthly cost of `services` copies of one service, every environment included."""

    services: int
    dedicated_usd: float  # each on its own cluster
    platform_usd: float  # the shared platform, sized for them
    hosted_usd: float  # what the services own on it, all of them

    @property
    def shared_usd(self) -> float:
        return round(self.platform_usd + self.hosted_usd, 2)

    @property
    def platform_share_usd(self) -> float:
        """Each service's share of the platform."""
        return round(self.platform_usd / self.services, 2)

    @property
    def saving_ratio(self) -> float:
        return round(1 - self.shared_usd / self.dedicated_usd, 3)


def fleet_costs(
    dedicated: ServicePlan, shared: ServicePlan, platform: ServicePlan, sizes: Sequence[int] = FLEET_SIZES
) -> tuple[FleetCost, ...]:
    """`dedicated` and `shared` are the same service's plans with `cluster` dedicated and shared."""
    own = hosted_cost(shared).total_usd
    return tuple(
        FleetCost(
            services=n,
            dedicated_usd=round(n * estimate_cost(dedicated).total_usd, 2),
            platform_usd=platform_cost(platform, [shared] * n).total_usd,
            hosted_usd=round(n * own, 2),
        )
        for n in sizes
    )
