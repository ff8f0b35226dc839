"""A service on its platform team's shared EKS cluster (`cluster: shared`): what the service's
program builds when the cluster, network and monitoring are the platform's.

The platform's stack (`platform_stack`, one per environment) is read once through the contract
(`platform_contract.py`); everything here builds on its outputs and creates only what the
service owns: its database in the platform's isolated subnets, admitting the platform's
workload security group; its web ACL and access logs; the workload and its rollout, with an
IRSA role trusting the platform's OIDC provider and, with a database, the schema migration Job
before each rollout; its feature flags in AppConfig, rolled back on its load balancer's 5xx
ratio; and, through ServiceTenancy, its namespace's quota and limit range, its pipelines'
namespace-scoped access, its rules, routes and dashboards for the platform's monitoring. The
same components the dedicated path uses, with the platform's values where the dedicated path has
its own cluster's. No synthetic probe: the platform's monitoring runs none for its tenants, so the
hosted service's alert catalogue has no SyntheticProbeFailing (reliability/alerts.py).

Resources keep the names the dedicated program gives them (`<service>-<env>`), top-level, so a
service moved from `dedicated` to `shared` keeps its stack (docs/platform.md, "Migration").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .edge_protection import EdgeProtection, EdgeProtectionArgs
from .feature_flags import FeatureFlags, FeatureFlagsArgs, Flag, load_balancer_error_alarm, reader_environment
from .identity import deploy_role_name, preview_role_name, runner_scale_set_name
from .kubernetes_service import DatabaseConnection, KubernetesService, KubernetesServiceArgs, PublicIngress
from .platform_contract import PlatformReference
from .postgres_database import PostgresDatabase
from .public_endpoint import PublicEndpoint
from .reliability.contract import (
    ARGO_ROLLOUTS_NAMESPACE,
    DISCOVERY_LABELS,
    MONITORING_NAMESPACE,
    PROMETHEUS_URL,
    hosting_warning,
    platform_project,
    platform_stack,
)
from .reliability.plan import EnvironmentPlan
from .schema_migration import APP_MIGRATE_COMMAND
from .service_tenancy import ServiceTenancy, ServiceTenancyArgs


@dataclass
class PlatformNetwork:
    """The platform's network as the database builder reads a Network: `vpc.id`, `subnet_ids`."""

    vpc: Any
    subnet_ids: dict[str, list[pulumi.Output[str]]]


@dataclass
class _Vpc:
    id: pulumi.Output[str]


@dataclass
class HostedServiceArgs:
    service: str
    plan: EnvironmentPlan
    region: str
    sla: float  # the service's answer: its platform's must cover it
    image: pulumi.Input[str]  # pinned by digest
    platform_stack: str  # the `platform_stack` answer, `{env}` for the environment
    endpoint: PublicEndpoint  # the service's hostname and certificate
    monitoring_dir: Path  # the generated repo's monitoring/
    flags: Mapping[str, Flag]  # app/flags.json (feature_flags.flags_from_file)
    oncall_credentials: Mapping[str, pulumi.Input[str] | None] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


class HostedService:
    """Builds the service on its platform; `database` is None without one."""

    def __init__(
        self,
        name: str,
        args: HostedServiceArgs,
        build_database: Callable[[Any, list[pulumi.Input[str]]], PostgresDatabase],
    ) -> None:
        plan = args.plan
        self.stack = platform_stack(args.platform_stack, plan.name)
        self.platform = PlatformReference(
            self.stack,
            env=plan.name,
            region=args.region,
            az_count=plan.network.az_count,
            # The label the workflows' cluster jobs run on (_macros/pipelines.jinja): the platform's runners.
            runner_label=runner_scale_set_name(platform_project(args.platform_stack), plan.name),
            # Its traces, logs and dashboards go to the platform's collector, Loki and Grafana.
            monitoring_components=plan.monitoring.components,
        )
        self.platform.field("sla").apply(self._warn_if_out_of_reach(args.sla))
        self.kube = k8s.Provider(f"{name}-kube", kubeconfig=self.platform.kubeconfig())
        self.network = PlatformNetwork(
            vpc=_Vpc(self.platform.field("vpc_id")),
            subnet_ids={
                kind: self.platform.subnet_ids(kind, plan.network.az_count) for kind in ("private", "isolated")
            },
        )
        workloads = self.platform.field("workload_security_group_id")
        self.database = build_database(self.network, [workloads]) if plan.database else None
        vpc_cidr = self.platform.field("vpc_cidr")
        protection = EdgeProtection(
            name,
            EdgeProtectionArgs(
                name=name,
                region=args.region,
                edge=plan.edge,
                log_retention_days=plan.log_retention_days,
                access_log_prefix=args.service,
                tags=args.tags,
            ),
        )
        database = self.database
        self.workload = KubernetesService(
            name,
            KubernetesServiceArgs(
                name=args.service,
                image=args.image,
                plan=plan,
                region=args.region,
                oidc_provider_arn=self.platform.field("oidc_provider_arn"),
                oidc_issuer=self.platform.field("oidc_issuer"),
                ingress_cidrs=[vpc_cidr],
                edge=PublicIngress(
                    hostname=plan.edge.hostname,
                    certificate_arn=args.endpoint.certificate_arn,
                    web_acl_arn=protection.web_acl_arn,
                    access_log_bucket=protection.access_log_bucket_name,
                    access_log_prefix=protection.access_log_prefix,
                ),
                database=DatabaseConnection(
                    host=database.address,
                    secret_arn=database.secret_arn,
                    secret_key_arn=database.secret_key_arn,
                    name=args.service.replace("-", "_"),
                    cidrs=[vpc_cidr],
                    # app/service/migrations, applied by a Job before each rollout (components/schema_migration.py)
                    migrate_command=APP_MIGRATE_COMMAND,
                )
                if database
                else None,
                config=reader_environment(name),  # its feature flags (FeatureFlags below)
                prometheus_url=PROMETHEUS_URL,
                monitoring_namespace=MONITORING_NAMESPACE,
                service_monitor_labels=DISCOVERY_LABELS["service_monitor"],
                argo_rollouts_namespace=ARGO_ROLLOUTS_NAMESPACE,
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(provider=self.kube),
        )
        self.tenancy = ServiceTenancy(
            name,
            ServiceTenancyArgs(
                service=args.service,
                plan=plan,
                namespace=self.workload.namespace,
                cluster_name=self.platform.field("cluster_name"),
                deploy_role=deploy_role_name(args.service, plan.name),
                preview_role=preview_role_name(args.service, plan.name),
                monitoring_dir=args.monitoring_dir,
                oncall_credentials=args.oncall_credentials,
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(provider=self.kube),
        )
        # Feature flags: AppConfig rolls a flag change back on the ALB's 5xx ratio (the canary's gate).
        self.flags = FeatureFlags(
            name,
            FeatureFlagsArgs(
                name=name,
                flags=args.flags,
                rollback_alarm_arns=[
                    load_balancer_error_alarm(
                        name, self.workload.load_balancer_hostname, plan.rollout.max_error_ratio, args.tags
                    ).arn
                ],
                reader_role_names=[self.workload.role.name],
                tags=args.tags,
            ),
        )
        args.endpoint.alias_load_balancer(self.workload.load_balancer_hostname)

    def _warn_if_out_of_reach(self, service_sla: float) -> Callable[[float], None]:
        def warn(platform_sla: float) -> None:
            reason = hosting_warning(service_sla, platform_sla)
            if reason:
                pulumi.log.warn(f"platform stack {self.stack}: {reason}")

        return warn
