"""Groundwork's Pulumi components and the reliability model that sizes them.

One component per module; each validates its args before creating anything,
parents every child to itself and tags every taggable child with the shared
tags. The reliability model (`reliability/`) is plain Python and imports
without Pulumi.
"""

from ._base import ComponentArgsError
from .kubernetes_cluster import KubernetesCluster, KubernetesClusterArgs
from .network import Network, NetworkArgs
from .postgres_database import PostgresDatabase, PostgresDatabaseArgs
from .preflight import preflight
from .serverless_function import ServerlessFunction, ServerlessFunctionArgs, VpcPlacement

__all__ = [
    "ComponentArgsError",
    "KubernetesCluster",
    "KubernetesClusterArgs",
    "Network",
    "NetworkArgs",
    "PostgresDatabase",
    "PostgresDatabaseArgs",
    "ServerlessFunction",
    "ServerlessFunctionArgs",
    "VpcPlacement",
    "preflight",
]
