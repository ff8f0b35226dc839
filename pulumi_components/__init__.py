"""Groundwork's Pulumi components and the reliability model that sizes them.

One component per module; each validates its args before creating anything,
parents every child to itself and tags every taggable child with the shared
tags. The reliability model (`reliability/`) is plain Python and imports
without Pulumi. Kubernetes components (`kubernetes_service`, `platform_addons`)
need pulumi-kubernetes, which only EKS services install: import them from
their modules.
"""

from ._base import ComponentArgsError
from .container_registry import ContainerRegistry, ContainerRegistryArgs
from .edge_protection import EdgeProtection, EdgeProtectionArgs
from .kubernetes_cluster import KubernetesCluster, KubernetesClusterArgs
from .lambda_deployment import LambdaDeployment, LambdaDeploymentArgs
from .network import Network, NetworkArgs
from .postgres_database import DatabaseRestore, PostgresDatabase, PostgresDatabaseArgs
from .preflight import preflight
from .public_endpoint import PublicEndpoint, PublicEndpointArgs
from .serverless_function import ApiDomain, ServerlessFunction, ServerlessFunctionArgs, VpcPlacement

__all__ = [
    "ApiDomain",
    "ComponentArgsError",
    "ContainerRegistry",
    "ContainerRegistryArgs",
    "DatabaseRestore",
    "EdgeProtection",
    "EdgeProtectionArgs",
    "KubernetesCluster",
    "KubernetesClusterArgs",
    "LambdaDeployment",
    "LambdaDeploymentArgs",
    "Network",
    "NetworkArgs",
    "PostgresDatabase",
    "PostgresDatabaseArgs",
    "PublicEndpoint",
    "PublicEndpointArgs",
    "ServerlessFunction",
    "ServerlessFunctionArgs",
    "VpcPlacement",
    "preflight",
]
