"""This service's infrastructure, composed from its stack config.

Every number comes from the `plan` in Pulumi.<stack>.yaml, which the
reliability model wrote; nothing here is sized by hand. Change the plan
there (or the answers, with `copier update`), not in this file.

    aws-eks     Network + KubernetesCluster (+ PostgresDatabase)
                + PlatformAddons + CiRunners + KubernetesService (the workload, from the image
                registry the bootstrap program created: bootstrap/)
                + EdgeProtection (WAF, access logs) behind PublicEndpoint (certificate, DNS)
    aws-lambda  ServerlessFunction (+ Network + PostgresDatabase) + LambdaDeployment
                behind PublicEndpoint (certificate, DNS)
"""

import json
import re
from pathlib import Path

import pulumi
import pulumi_aws as aws
from components import (
    ApiDomain,
    DatabaseRestore,
    EdgeProtection,
    EdgeProtectionArgs,
    KubernetesCluster,
    KubernetesClusterArgs,
    LambdaDeployment,
    LambdaDeploymentArgs,
    Network,
    NetworkArgs,
    PostgresDatabase,
    PostgresDatabaseArgs,
    PublicEndpoint,
    PublicEndpointArgs,
    ServerlessFunction,
    ServerlessFunctionArgs,
    VpcPlacement,
    preflight,
)
from components.budget import CostBudget, CostBudgetArgs
from components.dns_failover import DnsFailover, DnsFailoverArgs, StandbyConfig
from components.feature_flags import (
    FeatureFlags,
    FeatureFlagsArgs,
    flags_from_file,
    load_balancer_error_alarm,
    reader_environment,
)
from components.identity import image_repository_name
from components.lambda_bundle import bundled_packages, function_code
from components.postgres_database import AdoptedDatabase, AdoptedDatabaseArgs, ReplicaLagAlarm
from components.reliability import from_config
from components.reliability.budget import budget_from_config
from components.reliability.plan import replica_network

REPO = Path(__file__).resolve().parent.parent

config = pulumi.Config()
service = config.require("service")
platform = config.require("platform")
region = pulumi.Config("aws").require("region")
plan = from_config(config.require_object("plan"))
name = f"{service}-{plan.name}"  # every resource name starts with this
tags = plan.tags
# Set only while the database is a restore (docs/disaster-recovery.md): where it was restored from.
database_restore = DatabaseRestore.from_config(config.get_object("database_restore"))
# Set only in the standby stack (prod-dr) a regional failover brings up in the DR region: it serves
# from the promoted replica instead of creating a database (docs/disaster-recovery.md).
standby = StandbyConfig.from_config(config.get_object("failover"))
dr_network = replica_network(plan)
if standby:
    standby.validate(plan, region, restoring=database_restore is not None)
    plan = standby.standby_plan(plan)
preflight(plan, region, database_restore)  # bad config fails here, naming its key, before any resource exists
budget_plan = budget_from_config(config.require_object("budget"))  # likewise
flags = flags_from_file(json.loads((REPO / "app" / "flags.json").read_text()))  # likewise

DIGEST_PINNED = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


def release_image() -> pulumi.Input[str]:
    """The workload's image: `<project>:image`, pinned by digest, which every release passes.

    There is no fallback: a workload is never created without an image. A preview may run without
    one (a never-deployed stack has no image yet): the image shows as unknown, as it is until the
    first release pushes it. The preview and drift workflows pass the image the stack runs now.
    """
    key = f"{config.name}:image"
    image = config.get("image")
    if image:
        if not DIGEST_PINNED.match(image):
            raise ValueError(f"{key} must be pinned by digest (<repository>@sha256:<64 hex digits>); got {image!r}")
        return image
    if pulumi.runtime.is_dry_run():
        pulumi.log.warn(f"{key} is not set: this preview shows the workload's image as unknown")
        return pulumi.Output(set(), _value(None), _value(False))  # an unknown value, as the engine shows one
    raise ValueError(
        f"{key} is not set, and the workload is never created without an image. Pass it pinned by digest: "
        f"pulumi up --stack {plan.name} --config {key}=<repository>@sha256:<digest>. The deploy workflow pushes "
        f"each release to the {image_repository_name(service, plan.name)} registry and passes it; to apply a change "
        f'without a new release, pass the image the stack runs now: --config {key}="$(pulumi stack output image '
        f'--stack {plan.name})".'
    )


async def _value(value):
    return value


image = registry = None
if platform == "aws-eks":
    # Both before any resource, so a missing image or registry changes nothing. The registry exists
    # before the first deploy (the bootstrap program creates it): a release pushes its image there
    # before `pulumi up` creates the workload that pulls it.
    image = release_image()
    registry = aws.ecr.get_repository(name=image_repository_name(service, plan.name))

# The public name (plan.edge.hostname in the team's zone) and its issued certificate; the
# platform below serves it and `endpoint.alias*` points the name at what serves it.
endpoint = PublicEndpoint(name, PublicEndpointArgs(hostname=plan.edge.hostname, zone=plan.edge.zone, tags=tags))


adopted = None
if standby and standby.database:
    adopted = AdoptedDatabase(name, AdoptedDatabaseArgs(identifier=standby.database, az_count=dr_network.az_count))


def route(target: pulumi.Input[str], target_zone_id: pulumi.Input[str] | None = None) -> None:
    """Point the hostname at what serves it (an ALB of this region when no zone is given): a failover
    record where the tier has a second region, PRIMARY here and SECONDARY in the standby stack."""
    if not plan.recovery.multi_region:
        endpoint.alias(target, target_zone_id) if target_zone_id else endpoint.alias_load_balancer(target)
        return
    role = "SECONDARY" if standby else "PRIMARY"
    DnsFailover(
        name,
        DnsFailoverArgs(
            name=name,
            hostname=plan.edge.hostname,
            zone_id=endpoint.zone_id,
            region=region,
            role=role,
            target=target,
            target_zone_id=target_zone_id,
            dr_region=plan.recovery.dr_region if role == "PRIMARY" else "",
            tags=tags,
        ),
    )
    pulumi.export("failover_record", role)
    pulumi.export("endpoint_target", target)  # this region's endpoint, smoke tested before the switch


def build_network() -> Network:
    if adopted:
        return adopted.network  # the replica's VPC in the DR region, which the prod stack keeps
    return Network(name, NetworkArgs(name=name, region=region, plan=plan.network, tags=tags))


def build_database(network: Network, clients: list) -> PostgresDatabase:
    if adopted:
        for index, client in enumerate(clients):
            adopted.admit(f"client-{index}", client)
        return adopted
    replica = bool(plan.database.replica_region)
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
            restore=database_restore,
            # Lag beyond the RPO of a regional failover opens a ticket (the team's e-mail).
            replica_lag_alarm=ReplicaLagAlarm(plan.recovery.rpo_minutes * 60, config.require("owner_email"))
            if replica
            else None,
            tags=tags,
        ),
    )


def restore_test_access(cluster_name, provider, namespace) -> None:
    """Production's weekly restore test applies the release's migrations to its copy with a one-off
    Job in the service's namespace (scripts/restore_test.py): its role's access entry and Role."""
    if plan.name != "prod":
        return
    from components.restore_test_access import RestoreTestAccess, RestoreTestAccessArgs

    RestoreTestAccess(
        name,
        RestoreTestAccessArgs(service=service, cluster_name=cluster_name, tags=tags),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[namespace]),
    )


network = None
database = None
cluster = None
function = None

# ---- Platform ---------------------------------------------------------------------------------
# `cluster: shared`: the cluster, network and monitoring are the platform team's (HostedService).
shared = platform == "aws-eks" and config.get("cluster", "dedicated") == "shared"
if platform == "aws-eks" and not shared:
    import dataclasses

    from components.ci_runners import bootstrap_api_cidrs, github_repository

    # The first `pulumi up` creates the in-cluster runners, so it runs from an admin's workstation
    # through the API opened to that admin's address only; removed once the runners exist
    # (docs/pipelines.md, "First deploy of an environment"). Both are checked before any resource.
    admin_cidrs = bootstrap_api_cidrs(config.get_object("bootstrap_api_cidrs"))
    runners_repository = github_repository(config.require("repository"))  # owner/name, from the answers

    from components.identity import deploy_role_name, preview_role_name
    from components.kubernetes_cluster import ClusterAccess

    # The pipelines' roles (created by bootstrap/) and the people in `<service>:cluster_admins`.
    access = ClusterAccess(
        deploy_role=deploy_role_name(service, plan.name),
        preview_role=preview_role_name(service, plan.name),
        admins=config.get_object("cluster_admins") or [],
    )
    access.validate()  # a bad ARN fails here, before any resource exists
    network = build_network()
    cluster_plan = dataclasses.replace(
        plan.cluster, public_access_cidrs=(*plan.cluster.public_access_cidrs, *admin_cidrs)
    )
    cluster = KubernetesCluster(
        name,
        KubernetesClusterArgs(
            name=name,
            region=region,
            plan=cluster_plan,
            vpc_id=network.vpc.id,
            private_subnet_ids=network.subnet_ids["private"],
            log_retention_days=plan.log_retention_days,
            access=access,
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
    environment = {"SERVICE": service, "ENVIRONMENT": plan.name, **reader_environment(name)}
    vpc = None
    if plan.database:
        network = build_network()
        database = build_database(network, [])
        # The function reads the managed master secret by ARN; no password reaches its environment.
        environment |= {
            "DB_HOST": database.address,
            "DB_NAME": service.replace("-", "_"),
            "DB_SECRET_ARN": database.secret_arn,
        }
        vpc = VpcPlacement(vpc_id=network.vpc.id, subnet_ids=network.subnet_ids["private"], cidr=plan.network.cidr)
    function = ServerlessFunction(
        name,
        ServerlessFunctionArgs(
            name=name,
            region=region,
            plan=plan.function,
            # The sample service's own core (app/service), behind the HTTP API, with the pure-Python
            # packages its handler imports that the Lambda runtime lacks (it ships botocore): the
            # OpenFeature SDK and, with a database, the PostgreSQL driver its migrations use, from the
            # lock this program runs with.
            code=function_code(REPO / "app", bundled_packages(plan.database is not None)),
            handler="service.lambda_handler.handle",
            log_retention_days=plan.log_retention_days,
            environment=environment,
            vpc=vpc,
            secret_arns=[database.secret_arn] if database else [],
            secret_key_arns=[database.secret_key_arn] if database else [],
            domain=ApiDomain(hostname=plan.edge.hostname, certificate_arn=endpoint.certificate_arn),
            tags=tags,
        ),
    )
    target = function.api_domain.domain_name_configuration
    route(target.target_domain_name, target.hosted_zone_id)
    if database:
        database.admit("function", function.security_group.id)
    pulumi.export("function_name", function.function.name)
    pulumi.export("alias_name", function.alias.name)
    pulumi.export("function_version", function.function.version)
    pulumi.export("base_url", endpoint.url)
    pulumi.export("dead_letter_queue_url", function.dead_letter_queue.url)

elif shared:
    from components.hosted_service import HostedService, HostedServiceArgs
    from components.reliability.alertmanager import CONFIG_KEYS as ONCALL_CONFIG_KEYS

    hosted = HostedService(
        name,
        HostedServiceArgs(
            service=service,
            plan=plan,
            region=region,
            sla=config.require_float("sla"),
            image=image,
            platform_stack=config.require("platform_stack"),
            endpoint=endpoint,
            monitoring_dir=REPO / "monitoring",
            flags=flags,
            oncall_credentials={key: config.get_secret(key) for key in ONCALL_CONFIG_KEYS},
            tags=tags,
        ),
        build_database,
    )
    database = hosted.database
    if hosted.workload.migration:
        pulumi.export("migration_job", hosted.workload.migration.job_name)
        restore_test_access(hosted.platform.field("cluster_name"), hosted.kube, hosted.workload.namespace)
    pulumi.export("platform_stack", hosted.stack)
    pulumi.export("cluster_name", hosted.platform.field("cluster_name"))  # the workflows' kubeconfig
    pulumi.export("runner_label", hosted.platform.field("runner_label"))
    pulumi.export("image", image)
    pulumi.export("image_repository_url", registry.repository_url)
    pulumi.export("base_url", endpoint.url)

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
    pulumi.export("db_key_arn", database.key.arn)  # re-encrypt a snapshot copied in for a restore with it
    if database.replica:
        pulumi.export("db_replica_endpoint", database.replica.endpoint)
        pulumi.export("db_replica_identifier", database.replica.identifier)

# ---- Delivery ---------------------------------------------------------------------------------
# EKS: the cluster add-ons (Helm, values from deploy/) and the workload with the plan's rollout
# strategy, its image from the environment's registry.
# Lambda: CodeDeploy shifting of the `live` alias with automatic rollback.
kube = None  # the cluster's Kubernetes provider, for everything installed into it
if cluster:
    import pulumi_kubernetes as k8s
    from components.kubernetes_service import (
        DatabaseConnection,
        KubernetesService,
        KubernetesServiceArgs,
        PublicIngress,
    )
    from components.platform_addons import PlatformAddons, PlatformAddonsArgs, load_balancer_controller_policy
    from components.schema_migration import APP_MIGRATE_COMMAND

    kube = k8s.Provider(
        f"{name}-kube", kubeconfig=cluster.kubeconfig, opts=pulumi.ResourceOptions(depends_on=[cluster])
    )
    load_balancer_role = cluster.irsa_role(
        "alb-controller",
        namespace="kube-system",
        service_account="aws-load-balancer-controller",
        policy=load_balancer_controller_policy(),
    )
    addons = PlatformAddons(
        name,
        PlatformAddonsArgs(
            cluster_name=cluster.cluster_name,
            region=region,
            vpc_id=network.vpc.id,
            strategy=plan.rollout.strategy,
            values_dir=REPO / "deploy",
            load_balancer_role_arn=load_balancer_role.arn,
            volume_key_arn=cluster.volume_key.arn,
            autoscaling=cluster.autoscaling,
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(provider=kube),
    )
    # This environment's GitHub Actions runners, inside the VPC: the jobs that reach this cluster's
    # private API run on them (`runs-on: <service>-<env>`).
    from components.ci_runners import CiRunners, CiRunnersArgs

    runners = CiRunners(
        name,
        CiRunnersArgs(
            service=service,
            env=plan.name,
            region=region,
            github_repository=runners_repository,
            values_dir=REPO / "deploy",
            oidc_provider_arn=cluster.oidc_provider.arn,
            oidc_issuer=cluster.oidc_issuer,
            after=[addons.releases["external-secrets"]],
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(provider=kube),
    )
    pulumi.export("runner_scale_set", runners.scale_set_name)
    # The monitoring stack before the workload: its ServiceMonitor needs kube-prometheus-stack's CRDs.
    # After the add-ons: its volume claims name no class and wait for the default StorageClass.
    from components.monitoring_stack import MonitoringStack, MonitoringStackArgs
    from components.reliability.alertmanager import CONFIG_KEYS as ONCALL_CONFIG_KEYS

    monitoring = MonitoringStack(
        name,
        MonitoringStackArgs(
            service=service,
            plan=plan,
            monitoring_dir=REPO / "monitoring",
            # `pulumi config set --secret oncall_credential ...`; docs/oncall.md lists each key
            oncall_credentials={key: config.get_secret(key) for key in ONCALL_CONFIG_KEYS},
        ),
        opts=pulumi.ResourceOptions(provider=kube, depends_on=[addons]),
    )
    # The WAF web ACL and access-log bucket the Ingress annotations name (the controller builds the ALB).
    protection = EdgeProtection(
        name,
        EdgeProtectionArgs(
            name=name,
            region=region,
            edge=plan.edge,
            log_retention_days=plan.log_retention_days,
            access_log_prefix=service,
            tags=tags,
        ),
    )
    workload = KubernetesService(
        name,
        KubernetesServiceArgs(
            name=service,
            image=image,
            plan=plan,
            region=region,
            oidc_provider_arn=cluster.oidc_provider.arn,
            oidc_issuer=cluster.oidc_issuer,
            ingress_cidrs=[plan.network.cidr],
            edge=PublicIngress(
                hostname=plan.edge.hostname,
                certificate_arn=endpoint.certificate_arn,
                web_acl_arn=protection.web_acl_arn,
                access_log_bucket=protection.access_log_bucket_name,
                access_log_prefix=protection.access_log_prefix,
            ),
            database=DatabaseConnection(
                host=database.address,
                secret_arn=database.secret_arn,
                secret_key_arn=database.secret_key_arn,
                name=service.replace("-", "_"),
                cidrs=[plan.network.cidr],
                # app/service/migrations, applied by a Job before each rollout (components/schema_migration.py)
                migrate_command=APP_MIGRATE_COMMAND,
            )
            if database
            else None,
            config=reader_environment(name),  # its feature flags (FeatureFlags below)
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(provider=kube, depends_on=[addons, monitoring.stack]),
    )
    # Feature flags: AppConfig rolls a flag change back on the ALB's 5xx ratio (the canary's gate).
    FeatureFlags(
        name,
        FeatureFlagsArgs(
            name=name,
            flags=flags,
            rollback_alarm_arns=[
                load_balancer_error_alarm(name, workload.load_balancer_hostname, plan.rollout.max_error_ratio, tags).arn
            ],
            reader_role_names=[workload.role.name],
            tags=tags,
        ),
    )
    route(workload.load_balancer_hostname)
    if workload.migration:
        pulumi.export("migration_job", workload.migration.job_name)
        restore_test_access(cluster.cluster_name, kube, workload.namespace)
    monitoring.probe(endpoint.url)  # synthetic probes of the public endpoint (standard and comprehensive)
    pulumi.export("image", image)
    pulumi.export("image_repository_url", registry.repository_url)
    pulumi.export("base_url", endpoint.url)

if function:
    # The SLO burn-rate alarms of monitoring/alerts.yaml, routed to the on-call tool through SNS.
    # CodeDeploy rolls a release back on LambdaDeployment's per-version alarms (same page threshold).
    import yaml
    from components.slo_alarms import SloAlarms, SloAlarmsArgs

    slo_alarms = SloAlarms(
        name,
        SloAlarmsArgs(
            name=name,
            plan=plan,
            catalogue=yaml.safe_load((REPO / "monitoring" / "alerts.yaml").read_text()),
            api_id=function.api.id,
            stage=function.stage.name,
            function_name=function.function.name,
            oncall=config.require("oncall"),
            owner_email=config.require("owner_email"),
            oncall_credential=config.get_secret("oncall_credential"),  # `pulumi config set --secret`
            slack_team_id=config.get("slack_team_id"),
            slack_channel_id=config.get("slack_channel_id"),
            tags=tags,
        ),
    )
    pulumi.export("slo_page_topic_arn", slo_alarms.page_topic.arn)
    pulumi.export("slo_dashboard", slo_alarms.dashboard.dashboard_name)
    pulumi.export("slo_rollback_alarm_arns", slo_alarms.rollback_alarm_arns)
    # Feature flags: AppConfig rolls a flag change back on the SLO's page alarms.
    FeatureFlags(
        name,
        FeatureFlagsArgs(
            name=name,
            flags=flags,
            rollback_alarm_arns=slo_alarms.rollback_alarm_arns,
            reader_role_names=[function.role.name],
            tags=tags,
        ),
    )
    deployment = LambdaDeployment(
        name,
        LambdaDeploymentArgs(
            name=name,
            function_name=function.function.name,
            function_arn=function.function.arn,
            alias_name=function.alias.name,
            rollout=plan.rollout,
            kms_key_arn=function.key.arn,
            log_retention_days=plan.log_retention_days,
            dead_letter_queue_arn=function.dead_letter_queue.arn,
            tags=tags,
        ),
    )
    pulumi.export("codedeploy_application", deployment.application.name)
    pulumi.export("codedeploy_deployment_group", deployment.deployment_group.deployment_group_name)
    # Blue-green's readiness check before the shift; the release script adds it to the AppSpec.
    pulumi.export("codedeploy_pre_traffic_hook", deployment.hook.name if deployment.hook else "")

# ---- Cost --------------------------------------------------------------------------------------
# The environment's monthly AWS Budget (limit from the reliability model, `<service>:budget`),
# alerting the owner through the ticket route: SloAlarms' ticket topic on Lambda, e-mail on EKS.
budget = CostBudget(
    name,
    CostBudgetArgs(
        name=name,
        plan=budget_plan,
        owner_email=config.require("owner_email"),
        tags=tags,
        ticket_topic_arn=slo_alarms.ticket_topic.arn if function else None,
    ),
)
pulumi.export("budget_name", budget.budget.name)

# ---- Observability ----------------------------------------------------------------------------
# EKS: MonitoringStack (above, before the workload whose ServiceMonitor needs its CRDs).
# Lambda: SloAlarms (above, beside the CodeDeploy group).
