"""PostgresDatabase: PostgreSQL on RDS in isolated subnets, sized and protected by the plan.

Never publicly accessible, encrypted with its own rotating key, TLS forced by
its parameter group, IAM authentication on, the master password created and
rotated by Secrets Manager (it never appears in code or stack config). Only
the client security groups it is given may connect, on 5432. When the plan
names a replica region, a cross-region read replica runs there in its own
network, ready to promote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ._base import (
    LOG_RETENTION_DAYS,
    ComponentArgsError,
    child,
    merge_tags,
    require,
    service_trust,
    type_token,
)
from .guardrails import STANDBY_TAG
from .kms import kms_key
from .network import Network, NetworkArgs
from .reliability.answers import AWS_REGION_AZS
from .reliability.plan import DatabasePlan, NetworkPlan

PORT = 5432
LOG_EXPORTS = ("postgresql", "upgrade")
# RDS for PostgreSQL instance classes: family -> sizes offered.
_BURSTABLE = ("micro", "small", "medium", "large", "xlarge", "2xlarge")
_STANDARD = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge")
INSTANCE_CLASSES: dict[str, tuple[str, ...]] = {
    "t3": _BURSTABLE,
    "t4g": _BURSTABLE,
    **{
        family: _STANDARD
        for family in ("m5", "m6g", "m6i", "m7g", "m7i", "m8g", "r5", "r6g", "r6i", "r7g", "r7i", "r8g")
    },
}
ENGINE_VERSIONS = ("14", "15", "16", "17")
_WINDOW = re.compile(r"^\d\d:\d\d-\d\d:\d\d$")
_MAINTENANCE_WINDOW = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d-(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d$")


def instance_class_error(instance_class: str) -> str:
    family, _, size = instance_class.removeprefix("db.").partition(".")
    if not instance_class.startswith("db.") or size not in INSTANCE_CLASSES.get(family, ()):
        known = ", ".join(f"db.{f}.*" for f in INSTANCE_CLASSES)
        return f"database.instance_class: unknown RDS instance class {instance_class!r}; accepted families: {known}"
    return ""


@dataclass
class PostgresDatabaseArgs:
    name: str  # prefix of every resource name, e.g. "payments-prod"
    region: str
    plan: DatabasePlan
    vpc_id: pulumi.Input[str]
    isolated_subnet_ids: Sequence[pulumi.Input[str]]
    log_retention_days: int
    # The only groups admitted on 5432; more can be admitted later with `admit()`.
    client_security_group_ids: Sequence[pulumi.Input[str]] = ()
    db_name: str = "app"
    replica_network: NetworkPlan | None = None  # required when plan.replica_region is set
    tags: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        plan = self.plan
        error = instance_class_error(plan.instance_class)
        require(not error, error)
        major = plan.engine_version.split(".")[0]
        require(
            major in ENGINE_VERSIONS,
            f"database.engine_version: PostgreSQL {plan.engine_version!r} is not supported here; "
            f"accepted major versions: {', '.join(ENGINE_VERSIONS)}",
        )
        require(
            20 <= plan.allocated_storage_gb <= plan.max_allocated_storage_gb <= 65536,
            "database.allocated_storage_gb must be at least 20 and at most max_allocated_storage_gb (<= 65536); "
            f"got {plan.allocated_storage_gb} and {plan.max_allocated_storage_gb}",
        )
        require(
            0 <= plan.backup_retention_days <= 35,
            f"database.backup_retention_days must be 0 to 35; got {plan.backup_retention_days}",
        )
        require(
            not plan.point_in_time_recovery or plan.backup_retention_days >= 1,
            "database.backup_retention_days must be at least 1 for point_in_time_recovery",
        )
        require(
            plan.monitoring_interval_seconds in (1, 5, 10, 15, 30, 60),
            "database.monitoring_interval_seconds must be 1, 5, 10, 15, 30 or 60; "
            f"got {plan.monitoring_interval_seconds}",
        )
        require(
            plan.performance_insights_retention_days == 7 or plan.performance_insights_retention_days % 31 == 0,
            "database.performance_insights_retention_days must be 7 or a multiple of 31",
        )
        require(
            bool(_WINDOW.match(plan.backup_window)),
            f"database.backup_window: expected hh:mm-hh:mm; got {plan.backup_window!r}",
        )
        require(
            bool(_MAINTENANCE_WINDOW.match(plan.maintenance_window)),
            f"database.maintenance_window: expected ddd:hh:mm-ddd:hh:mm; got {plan.maintenance_window!r}",
        )
        require(len(self.isolated_subnet_ids) >= 2, "network.az_count: an RDS subnet group needs two AZs")
        require(bool(re.match(r"^[a-z][a-z0-9_]{0,62}$", self.db_name)), f"database.db_name: invalid {self.db_name!r}")
        require(
            self.log_retention_days in LOG_RETENTION_DAYS,
            f"log_retention_days must be one of {LOG_RETENTION_DAYS}; got {self.log_retention_days}",
        )
        if plan.replica_region:
            require(
                plan.replica_region in AWS_REGION_AZS and plan.replica_region != self.region,
                f"database.replica_region: {plan.replica_region!r} must be an AWS region other than {self.region}",
            )
            if self.replica_network is None:
                raise ComponentArgsError("database.replica_region is set but no replica network was given")


class PostgresDatabase(pulumi.ComponentResource):
    """Exposes `instance`, `endpoint`, `address`, `secret_arn` (the managed master
    secret), `security_group` and, with a replica region, `replica`."""

    instance: aws.rds.Instance
    security_group: aws.ec2.SecurityGroup
    endpoint: pulumi.Output[str]
    address: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    replica: aws.rds.Instance | None

    def __init__(self, name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("PostgresDatabase"), name, None, opts)
        plan, tags = args.plan, args.tags
        self._name, self._tags = name, tags
        identifier = f"{args.name}-db"

        self.key = kms_key(
            f"{args.name}-db",
            description=f"Encrypts the {identifier} database, its secret, insights and logs",
            parent=self,
            tags=tags,
            service_principals=[f"logs.{args.region}.amazonaws.com"],
        )
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=identifier,
            description=f"Isolated subnets of {args.name}",
            subnet_ids=list(args.isolated_subnet_ids),
            tags=tags,
            opts=child(self),
        )
        self.security_group = self._security_group(name, args, args.vpc_id, args.client_security_group_ids, child(self))
        parameters = self._parameter_group(name, args, identifier, child(self))
        monitoring_role = self._monitoring_role(name, args)
        log_groups = self._log_groups(name, args, identifier, self.key, child(self))

        final_snapshot = plan.final_snapshot
        self.instance = aws.rds.Instance(
            f"{name}-instance",
            identifier=identifier,
            engine="postgres",
            engine_version=plan.engine_version,
            instance_class=plan.instance_class,
            db_name=args.db_name,
            username="app_admin",
            manage_master_user_password=True,
            master_user_secret_kms_key_id=self.key.key_id,
            iam_database_authentication_enabled=True,
            port=PORT,
            allocated_storage=plan.allocated_storage_gb,
            max_allocated_storage=plan.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=self.key.arn,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            publicly_accessible=False,
            multi_az=plan.multi_az,
            parameter_group_name=parameters.name,
            backup_retention_period=plan.backup_retention_days,
            backup_window=plan.backup_window,
            maintenance_window=plan.maintenance_window,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            copy_tags_to_snapshot=True,
            deletion_protection=plan.deletion_protection,
            skip_final_snapshot=not final_snapshot,
            final_snapshot_identifier=f"{identifier}-final" if final_snapshot else None,
            delete_automated_backups=not final_snapshot,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=self.key.arn,
            performance_insights_retention_period=plan.performance_insights_retention_days,
            monitoring_interval=plan.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            ca_cert_identifier="rds-ca-rsa2048-g1",
            tags=merge_tags(tags, Name=identifier),
            opts=child(self, depends_on=log_groups),
        )
        self.endpoint = self.instance.endpoint
        self.address = self.instance.address
        self.secret_arn = self.instance.master_user_secrets.apply(lambda s: s[0]["secret_arn"] if s else "")
        self.replica = self._replica(name, args, monitoring_role) if plan.replica_region else None
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "secret_arn": self.secret_arn,
                "security_group_id": self.security_group.id,
                "replica_endpoint": self.replica.endpoint if self.replica else None,
            }
        )

    def _security_group(
        self,
        name: str,
        args: PostgresDatabaseArgs,
        vpc_id: pulumi.Input[str],
        clients: Sequence[pulumi.Input[str]],
        opts: pulumi.ResourceOptions,
    ) -> aws.ec2.SecurityGroup:
        # No egress rule: the database starts no connections.
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=f"{args.name}-db",
            description=f"PostgreSQL of {args.name}: {PORT} from the workload only",
            vpc_id=vpc_id,
            tags=merge_tags(args.tags, Name=f"{args.name}-db"),
            opts=opts,
        )
        for index, client in enumerate(clients):
            self._ingress(f"{name}-from-client-{index}", group, client, args.tags)
        return group

    def admit(self, label: str, security_group_id: pulumi.Input[str]) -> None:
        """Let one more security group connect on 5432 (for a client built after the database)."""
        self._ingress(f"{self._name}-from-{label}", self.security_group, security_group_id, self._tags)

    def _ingress(
        self, name: str, group: aws.ec2.SecurityGroup, client: pulumi.Input[str], tags: dict[str, str]
    ) -> aws.vpc.SecurityGroupIngressRule:
        return aws.vpc.SecurityGroupIngressRule(
            name,
            security_group_id=group.id,
            referenced_security_group_id=client,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            description="PostgreSQL from the workload",
            tags=tags,
            opts=child(self),
        )

    def _parameter_group(
        self, name: str, args: PostgresDatabaseArgs, identifier: str, opts: pulumi.ResourceOptions
    ) -> aws.rds.ParameterGroup:
        major = args.plan.engine_version.split(".")[0]
        return aws.rds.ParameterGroup(
            f"{name}-params",
            name=identifier,
            family=f"postgres{major}",
            description=f"{identifier}: TLS only, slow and connection logging",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="ssl_min_protocol_version", value="TLSv1.2"),
                aws.rds.ParameterGroupParameterArgs(name="log_connections", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_disconnections", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_min_duration_statement", value="1000"),
            ],
            tags=args.tags,
            opts=opts,
        )

    def _monitoring_role(self, name: str, args: PostgresDatabaseArgs) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-monitoring-role",
            assume_role_policy=service_trust("monitoring.rds.amazonaws.com"),
            tags=args.tags,
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
            opts=child(self),
        )
        return role

    def _log_groups(
        self, name: str, args: PostgresDatabaseArgs, identifier: str, key: aws.kms.Key, opts: pulumi.ResourceOptions
    ) -> list[aws.cloudwatch.LogGroup]:
        # RDS would create these with no retention; creating them first sets retention and key.
        return [
            aws.cloudwatch.LogGroup(
                f"{name}-log-{export}",
                name=f"/aws/rds/instance/{identifier}/{export}",
                retention_in_days=args.log_retention_days,
                kms_key_id=key.arn,
                tags=args.tags,
                opts=opts,
            )
            for export in LOG_EXPORTS
        ]

    def _replica(self, name: str, args: PostgresDatabaseArgs, monitoring_role: aws.iam.Role) -> aws.rds.Instance:
        plan, region = args.plan, args.plan.replica_region
        provider = aws.Provider(f"{name}-{region}", region=region, opts=child(self))
        opts = child(self, provider=provider)
        standby_tags = merge_tags(args.tags, **{STANDBY_TAG: "standby"})
        network = Network(
            f"{name}-dr",
            NetworkArgs(name=f"{args.name}-dr", region=region, plan=args.replica_network, tags=standby_tags),
            opts=pulumi.ResourceOptions(parent=self, providers={"aws": provider}),
        )
        identifier = f"{args.name}-db-{region}"
        key = kms_key(
            f"{args.name}-db-{region}",
            description=f"Encrypts the {identifier} replica, its insights and logs",
            parent=self,
            tags=args.tags,
            service_principals=[f"logs.{region}.amazonaws.com"],
            provider=provider,
        )
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-dr-subnets",
            name=identifier,
            description=f"Isolated subnets of {args.name} in {region}",
            subnet_ids=network.subnet_ids["isolated"],
            tags=args.tags,
            opts=opts,
        )
        # Admits nobody until a failover brings the workload to this region.
        group = aws.ec2.SecurityGroup(
            f"{name}-dr-sg",
            name=f"{args.name}-db",
            description=f"PostgreSQL replica of {args.name}: no client until failover",
            vpc_id=network.vpc.id,
            tags=merge_tags(args.tags, Name=f"{args.name}-db"),
            opts=opts,
        )
        parameters = self._parameter_group(f"{name}-dr", args, identifier, opts)
        log_groups = self._log_groups(f"{name}-dr", args, identifier, key, opts)
        return aws.rds.Instance(
            f"{name}-replica",
            identifier=identifier,
            replicate_source_db=self.instance.arn,
            instance_class=plan.instance_class,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            max_allocated_storage=plan.max_allocated_storage_gb,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[group.id],
            publicly_accessible=False,
            multi_az=False,
            parameter_group_name=parameters.name,
            iam_database_authentication_enabled=True,
            # Backups on the replica so a promoted replica is protected from its first minute.
            backup_retention_period=plan.backup_retention_days,
            backup_window=plan.backup_window,
            maintenance_window=plan.maintenance_window,
            auto_minor_version_upgrade=True,
            copy_tags_to_snapshot=True,
            deletion_protection=plan.deletion_protection,
            skip_final_snapshot=True,  # RDS takes no final snapshot of a read replica
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key.arn,
            performance_insights_retention_period=plan.performance_insights_retention_days,
            monitoring_interval=plan.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            ca_cert_identifier="rds-ca-rsa2048-g1",
            tags=merge_tags(args.tags, Name=identifier),
            opts=child(self, provider=provider, depends_on=log_groups),
        )
