"""This service's infrastructure, composed from its stack config.

Every number comes from the `plan` in Pulumi.<stack>.yaml, which the
reliability model wrote; nothing here is sized by hand. Change the plan
there (or the answers, with `copier update`), not in this file.

    aws-eks     Network + KubernetesCluster (+ PostgresDatabase)
    aws-lambda  ServerlessFunction (+ Network + PostgresDatabase)
"""

from pathlib import Path

import pulumi
from components import (
    KubernetesCluster,
    KubernetesClusterArgs,
    Network,
    NetworkArgs,
    PostgresDatabase,
    PostgresDatabaseArgs,
    ServerlessFunction,
    ServerlessFunctionArgs,
    VpcPlacement,
    preflight,
)
from components.reliability import from_config
from components.reliability.plan import replica_network

REPO = Path(__file__).resolve().parent.parent

config = pulumi.Config()
service = config.require("service")
platform = config.require("platform")
region = pulumi.Config("aws").require("region")
plan = from_config(config.require_object("plan"))
name = f"{service}-{plan.name}"  # every resource name starts with this
tags = plan.tags
preflight(plan, region)  # bad config fails here, naming its key, before any resource exists


def build_network() -> Network:
    return Network(name, NetworkArgs(name=name, region=region, plan=plan.network, tags=tags))


def build_database(network: Network, clients: list) -> PostgresDatabase:
    return PostgresDatabase(
        name,
        PostgresDatabaseArgs(
            name=name,
            region=region,
            plan=plan.database,
            vpc_id=network.vpc.id,
            isolated_subnet_ids=network.subnet_ids["isolated"],
            client_security_group_ids=clients,
            log_retention_days=plan.log_retention_days,
            db_name=service.replace("-", "_"),
            replica_network=replica_network(plan),
            tags=tags,
        ),
    )


network = None
database = None
cluster = None
function = None

# ---- Platform ---------------------------------------------------------------------------------
if platform == "aws-eks":
    network = build_network()
    cluster = KubernetesCluster(
        name,
        KubernetesClusterArgs(
            name=name,
            region=region,
            plan=plan.cluster,
            vpc_id=network.vpc.id,
            private_subnet_ids=network.subnet_ids["private"],
            log_retention_days=plan.log_retention_days,
            tags=tags,
        ),
    )
    if plan.database:
        database = build_database(network, [cluster.workload_security_group.id])
    pulumi.export("cluster_name", cluster.cluster_name)
    pulumi.export("kubeconfig", cluster.kubeconfig)  # a secret output
    pulumi.export("oidc_provider_arn", cluster.oidc_provider.arn)
    pulumi.export("node_role_arn", cluster.node_role.arn)
    pulumi.export("workload_security_group_id", cluster.workload_security_group.id)

elif platform == "aws-lambda":
    environment = {"SERVICE": service, "ENVIRONMENT": plan.name}
    vpc = None
    if plan.database:
        network = build_network()
        database = build_database(network, [])
        # The function reads the managed master secret by ARN; no password reaches its environment.
        environment |= {"DB_HOST": database.address, "DB_NAME": service.replace("-", "_"), "DB_SECRET_ARN": database.secret_arn}
        vpc = VpcPlacement(vpc_id=network.vpc.id, subnet_ids=network.subnet_ids["private"], cidr=plan.network.cidr)
    function = ServerlessFunction(
        name,
        ServerlessFunctionArgs(
            name=name,
            region=region,
            plan=plan.function,
            code=pulumi.FileArchive(str(REPO / "function")),
            handler="handler.handle",
            log_retention_days=plan.log_retention_days,
            environment=environment,
            vpc=vpc,
            secret_arns=[database.secret_arn] if database else [],
            tags=tags,
        ),
    )
    if database:
        database.admit("function", function.security_group.id)
    pulumi.export("function_name", function.function.name)
    pulumi.export("alias_name", function.alias.name)
    pulumi.export("function_version", function.function.version)
    pulumi.export("api_url", function.api_url)
    pulumi.export("base_url", function.api_url)
    pulumi.export("dead_letter_queue_url", function.dead_letter_queue.url)

else:
    raise ValueError(f"{service}:platform must be aws-eks or aws-lambda; got {platform!r}")

if network:
    pulumi.export("vpc_id", network.vpc.id)
    pulumi.export("private_subnet_ids", network.subnet_ids["private"])
if database:
    pulumi.export("db_endpoint", database.endpoint)
    pulumi.export("db_secret_arn", database.secret_arn)
    pulumi.export("db_instance_identifier", database.instance.identifier)
    pulumi.export("db_subnet_group_name", database.instance.db_subnet_group_name)
    pulumi.export("db_security_group_id", database.security_group.id)
    if database.replica:
        pulumi.export("db_replica_endpoint", database.replica.endpoint)

# ---- Delivery ---------------------------------------------------------------------------------
# The workload, its Helm add-ons and (Lambda) CodeDeploy traffic shifting go here. They build on:
#   cluster.kubeconfig (a Kubernetes provider), cluster.oidc_provider / cluster.oidc_issuer /
#   cluster.irsa_role(), cluster.workload_security_group, cluster.node_role;
#   function.function and function.alias (the `live` alias a deployment shifts).

# ---- Observability ----------------------------------------------------------------------------
# Monitoring Helm releases (EKS) and CloudWatch SLO alarms (Lambda) go here, from plan.monitoring.
