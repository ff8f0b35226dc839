"""Check a whole environment plan against every component's rules before any resource exists.

Each component validates its own args when it is built, but by then the
components built before it have registered resources. `preflight` runs the
same validations up front, so bad stack config fails a `pulumi preview` (and a
test) at once, with the message naming the key. Values that exist only once
other resources do (ids, ARNs, the image) are stand-ins here. The components
whose args also name the generated repository's files (`deploy/`,
`monitoring/`: PlatformAddons, MonitoringStack, CiRunners, SloAlarms) check
their args when they are built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

from ._base import require
from .edge_protection import EdgeProtectionArgs
from .kubernetes_cluster import KubernetesClusterArgs, check_node_capacity
from .lambda_deployment import LambdaDeploymentArgs
from .network import NetworkArgs
from .postgres_database import RESTORE_CONFIG_KEY, DatabaseRestore, PostgresDatabaseArgs
from .public_endpoint import PublicEndpointArgs
from .reliability.plan import EnvironmentPlan, replica_network
from .serverless_function import ServerlessFunctionArgs, VpcPlacement

if TYPE_CHECKING:
    from .kubernetes_service import KubernetesServiceArgs

_PLACEHOLDER = "preflight"
_PLACEHOLDER_IMAGE = f"{_PLACEHOLDER}@sha256:{'0' * 64}"  # the release passes the real one, pinned by digest


def preflight(plan: EnvironmentPlan, region: str, database_restore: DatabaseRestore | None = None) -> None:
    """Raise ComponentArgsError for the first setting no component can build."""
    require(
        database_restore is None or plan.database is not None,
        f"{RESTORE_CONFIG_KEY} is set but this service has no database to restore (database: none)",
    )
    require(
        plan.edge is not None,
        "plan.edge is missing: the stack names no hostname (run `copier update` to answer the domain question)",
    )
    PublicEndpointArgs(hostname=plan.edge.hostname, zone=plan.edge.zone).validate()
    needs_network = plan.cluster is not None or plan.database is not None
    if needs_network:
        NetworkArgs(name=_PLACEHOLDER, region=region, plan=plan.network).validate()
    subnets = [_PLACEHOLDER] * plan.network.az_count
    if plan.cluster is not None:
        KubernetesClusterArgs(
            name=_PLACEHOLDER,
            region=region,
            plan=plan.cluster,
            vpc_id=_PLACEHOLDER,
            private_subnet_ids=subnets,
            log_retention_days=plan.log_retention_days,
        ).validate()
        check_node_capacity(plan.cluster, plan.workload, plan.rollout)
        EdgeProtectionArgs(
            name=_PLACEHOLDER,
            region=region,
            edge=plan.edge,
            log_retention_days=plan.log_retention_days,
            access_log_prefix=_PLACEHOLDER,
        ).validate()
        _kubernetes_service_args(plan, region).validate()
    if plan.database is not None:
        PostgresDatabaseArgs(
            name=_PLACEHOLDER,
            region=region,
            plan=plan.database,
            vpc_id=_PLACEHOLDER,
            isolated_subnet_ids=subnets,
            log_retention_days=plan.log_retention_days,
            replica_network=replica_network(plan),
            restore=database_restore,
        ).validate()
        dr_network = replica_network(plan)
        if dr_network is not None:
            NetworkArgs(name=_PLACEHOLDER, region=plan.database.replica_region, plan=dr_network).validate()
    if plan.function is not None:
        ServerlessFunctionArgs(
            name=_PLACEHOLDER,
            region=region,
            plan=plan.function,
            code=pulumi.AssetArchive({}),
            handler=_PLACEHOLDER,
            log_retention_days=plan.log_retention_days,
            vpc=VpcPlacement(_PLACEHOLDER, subnets, plan.network.cidr) if plan.database is not None else None,
        ).validate()
        LambdaDeploymentArgs(
            name=_PLACEHOLDER,
            function_name=_PLACEHOLDER,
            function_arn=_PLACEHOLDER,
            alias_name=_PLACEHOLDER,
            rollout=plan.rollout,
            kms_key_arn=_PLACEHOLDER,
            log_retention_days=plan.log_retention_days,
            dead_letter_queue_arn=_PLACEHOLDER,
        ).validate()


def _kubernetes_service_args(plan: EnvironmentPlan, region: str) -> KubernetesServiceArgs:
    """The workload's args as the program passes them, from the plan alone. Imported here: only
    EKS services install pulumi-kubernetes, and a Lambda service's preflight runs without it."""
    from .kubernetes_service import KubernetesServiceArgs, PublicIngress

    return KubernetesServiceArgs(
        name=_PLACEHOLDER,
        image=_PLACEHOLDER_IMAGE,
        plan=plan,
        region=region,
        oidc_provider_arn=_PLACEHOLDER,
        oidc_issuer=_PLACEHOLDER,
        ingress_cidrs=[plan.network.cidr],
        edge=PublicIngress(
            hostname=plan.edge.hostname,
            certificate_arn=_PLACEHOLDER,
            web_acl_arn=_PLACEHOLDER,
            access_log_bucket=_PLACEHOLDER,
            access_log_prefix=_PLACEHOLDER,
        ),
    )
