"""PostgresDatabase: PostgreSQL on RDS in isolated subnets, sized and protected by the plan.

Never publicly accessible, encrypted with its own rotating key, TLS forced by
its parameter group, IAM authentication on, the master password created and
rotated by Secrets Manager (it never appears in code or stack config). Only
the client security groups it is given may connect, on 5432. When the plan
names a replica region, a cross-region read replica runs there in its own
network, ready to promote (Multi-AZ when the plan says so).

A regional failover is stack config too: the standby stack in the DR region
adopts the promoted replica (`AdoptedDatabase`, named by `<service>:failover`)
instead of creating an empty database, and serves from the replica's network.
Replica lag above the plan's RPO raises a ticket (`ReplicaLagAlarm`): a failover
at that moment would lose more writes than the plan allows.

A restore is stack config, not state surgery: `<service>:database_restore`
(a `DatabaseRestore`) makes the instance the restore of a snapshot or of a
point in time, under a new identifier; `pulumi up` creates it next to the old
one and moves every reader to it. A protected database is never deleted by
Pulumi: when a restore replaces it, the old instance and its logs stay in the
account, still protected, until someone retires them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

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
# Every instance's parameter group: TLS only; statements slower than a second, every schema
# change (CREATE, ALTER, DROP: who changed what, when) and every connection in the log.
PARAMETERS = {
    "rds.force_ssl": "1",
    "ssl_min_protocol_version": "TLSv1.2",
    "log_connections": "1",
    "log_disconnections": "1",
    "log_min_duration_statement": "1000",
    "log_statement": "ddl",
}
_WINDOW = re.compile(r"^\d\d:\d\d-\d\d:\d\d$")
_MAINTENANCE_WINDOW = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d-(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d$")


RESTORE_CONFIG_KEY = "database_restore"
_RESTORE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_SNAPSHOT = re.compile(r"^(arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:snapshot:)?(rds:)?[a-zA-Z][a-zA-Z0-9-]*$")
_INSTANCE_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_RESTORE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@dataclass(frozen=True)
class DatabaseRestore:
    """Where the running instance comes from, when it is a restore: stack config
    `<service>:database_restore`. `id` names the instance `<name>-db-<id>`; a new restore takes
    a new id. Exactly one source: `snapshot` (a DB snapshot of this database, its identifier or
    ARN), or `source` (the instance whose automated backups to replay) with `time` (UTC,
    2025-01-31T09:41:00Z) or `latest: true`. The key stays in the config for as long as that
    instance serves: removing it would make Pulumi replace the database with an empty one."""

    id: str
    snapshot: str = ""
    source: str = ""
    time: str = ""
    latest: bool = False

    @classmethod
    def from_config(cls, value: Any) -> DatabaseRestore | None:
        """The restore described by the config value (None when the key is unset), or a
        ComponentArgsError naming the key and what it accepts."""
        if value is None:
            return None
        key = RESTORE_CONFIG_KEY
        accepted = "id, and snapshot or source with time or latest"
        require(isinstance(value, Mapping), f"{key} must be a mapping ({accepted}); got {value!r}")
        unknown = sorted(set(value) - {"id", "snapshot", "source", "time", "latest"})
        require(not unknown, f"{key}.{unknown[0] if unknown else ''} is not a known setting; accepted: {accepted}")
        require("id" in value, f"{key}.id is missing: it names the restored instance <name>-db-<id>")
        for name in ("id", "snapshot", "source", "time"):
            require(
                isinstance(value.get(name, ""), str),
                f"{key}.{name} must be a string; got {value.get(name)!r}",
            )
        require(
            isinstance(value.get("latest", False), bool),
            f"{key}.latest must be true or false; got {value.get('latest')!r}",
        )
        restore = cls(**dict(value))
        restore.validate()
        return restore

    @property
    def point_in_time(self) -> bool:
        return bool(self.source)

    def validate(self) -> None:
        key = RESTORE_CONFIG_KEY
        require(
            len(self.id) <= 20 and bool(_RESTORE_ID.match(self.id)),
            f"{key}.id must be 1 to 20 lowercase letters, digits and single hyphens (it names the "
            f"instance <name>-db-<id>); got {self.id!r}",
        )
        require(
            bool(self.snapshot) != bool(self.source),
            f"{key}: give exactly one source, snapshot (a DB snapshot identifier or ARN) or source (the "
            "instance whose backups to restore, with time or latest)",
        )
        if self.snapshot:
            require(
                bool(_SNAPSHOT.match(self.snapshot)),
                f"{key}.snapshot must be a DB snapshot identifier or ARN; got {self.snapshot!r}",
            )
            require(not (self.time or self.latest), f"{key}: time and latest go with source, not with snapshot")
            return
        require(
            len(self.source) <= 63 and bool(_INSTANCE_IDENTIFIER.match(self.source)),
            f"{key}.source must be a DB instance identifier; got {self.source!r}",
        )
        require(
            bool(self.time) != self.latest,
            f"{key}: a point-in-time restore takes exactly one of time (UTC, e.g. 2025-01-31T09:41:00Z) "
            "or latest: true",
        )
        if self.time:
            require(
                bool(_RESTORE_TIME.match(self.time)) and _parses(self.time),
                f"{key}.time must be a UTC time like 2025-01-31T09:41:00Z; got {self.time!r}",
            )


def _parses(timestamp: str) -> bool:
    try:
        datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class ReplicaLagAlarm:
    """A ticket when the cross-region replica falls further behind than the RPO allows: its
    `ReplicaLag` above `threshold_seconds` (the plan's RPO) for `minutes` minutes in a row, or
    not reported at all (replication stopped). Sent to `email` (the team's, where tickets go)
    from an SNS topic in the replica's region: a CloudWatch alarm notifies topics of its own
    region only."""

    threshold_seconds: int
    email: str
    minutes: int = 3

    def validate(self) -> None:
        require(
            self.threshold_seconds >= 1, f"replica lag threshold must be at least 1 s; got {self.threshold_seconds}"
        )
        require(1 <= self.minutes <= 60, f"replica lag alarm minutes must be 1 to 60; got {self.minutes}")
        require("@" in self.email, f"replica lag alarm e-mail must be an address; got {self.email!r}")


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
    restore: DatabaseRestore | None = None  # stack config `<service>:database_restore`
    # With a replica region: the deployability rule `replica-lag-alarm` holds the program to it.
    replica_lag_alarm: ReplicaLagAlarm | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def identifier(self) -> str:
        """The primary's RDS identifier: a restore gets its own, so it is created next to the old one."""
        return f"{self.name}-db-{self.restore.id}" if self.restore else f"{self.name}-db"

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
            if self.replica_lag_alarm is not None:
                self.replica_lag_alarm.validate()
        if self.restore is not None:
            self.restore.validate()
            longest = f"{self.identifier}-{plan.replica_region}" if plan.replica_region else self.identifier
            require(
                len(longest) <= 63,
                f"{RESTORE_CONFIG_KEY}.id: the instance identifier {longest!r} would be longer than RDS allows "
                "(63); choose a shorter id",
            )


class PostgresDatabase(pulumi.ComponentResource):
    """Exposes `instance`, `endpoint`, `address`, `secret_arn` (the managed master
    secret) with `secret_key_arn` (the key it is encrypted with: every reader of the
    secret needs kms:Decrypt on it), `security_group` and, with a replica region,
    `replica` with its `replica_lag_alarm`."""

    instance: aws.rds.Instance
    security_group: aws.ec2.SecurityGroup
    endpoint: pulumi.Output[str]
    address: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    secret_key_arn: pulumi.Output[str]
    replica: aws.rds.Instance | None
    replica_lag_alarm: aws.cloudwatch.MetricAlarm | None = None

    def __init__(self, name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("PostgresDatabase"), name, None, opts)
        plan, tags = args.plan, args.tags
        self._name, self._tags = name, tags
        # Subnet group, parameter group and key keep the database's name through restores;
        # the instance (and the log groups RDS names after it) take the restore's identifier.
        base, identifier = f"{args.name}-db", args.identifier
        # A protected database outlives its Pulumi resource: a restore that replaces it, or a
        # destroy, leaves it (and its logs) in the account for a person to retire.
        keep = pulumi.ResourceOptions(retain_on_delete=plan.deletion_protection)

        self.key = kms_key(
            f"{args.name}-db",
            description=f"Encrypts the {base} database, its secret, insights and logs",
            parent=self,
            tags=tags,
            service_principals=[f"logs.{args.region}.amazonaws.com"],
        )
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=base,
            description=f"Isolated subnets of {args.name}",
            subnet_ids=list(args.isolated_subnet_ids),
            tags=tags,
            opts=child(self),
        )
        self.security_group = self._security_group(name, args, args.vpc_id, args.client_security_group_ids, child(self))
        parameters = self._parameter_group(name, args, base, child(self))
        monitoring_role = self._monitoring_role(name, args)
        log_groups = self._log_groups(name, args, identifier, self.key, pulumi.ResourceOptions.merge(child(self), keep))

        final_snapshot = plan.final_snapshot
        self.instance = aws.rds.Instance(
            f"{name}-instance",
            identifier=identifier,
            engine="postgres",
            instance_class=plan.instance_class,
            # A restore brings its engine version, size, database name and master user from its
            # source: asking for them again would make the provider modify (downgrade, shrink) it.
            engine_version=None if args.restore else plan.engine_version,
            allocated_storage=None if args.restore else plan.allocated_storage_gb,
            db_name=None if args.restore else args.db_name,
            username=None if args.restore else "app_admin",
            snapshot_identifier=args.restore.snapshot or None if args.restore else None,
            restore_to_point_in_time=_point_in_time(args.restore),
            manage_master_user_password=True,
            # The key's ARN, as RDS reports it back: readers are granted kms:Decrypt on this ARN.
            master_user_secret_kms_key_id=self.key.arn,
            iam_database_authentication_enabled=True,
            port=PORT,
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
            opts=pulumi.ResourceOptions.merge(child(self, depends_on=log_groups), keep),
        )
        self.endpoint = self.instance.endpoint
        self.address = self.instance.address
        self.secret_arn = self.instance.master_user_secrets.apply(lambda s: s[0]["secret_arn"] if s else "")
        self.secret_key_arn = self.key.arn
        self.replica = self._replica(name, args, monitoring_role, keep) if plan.replica_region else None
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
            description=f"{identifier}: TLS only; slow statements, schema changes and connections logged",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=param, value=value) for param, value in PARAMETERS.items()
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

    def _replica(
        self, name: str, args: PostgresDatabaseArgs, monitoring_role: aws.iam.Role, keep: pulumi.ResourceOptions
    ) -> aws.rds.Instance:
        plan, region = args.plan, args.plan.replica_region
        provider = aws.Provider(f"{name}-{region}", region=region, opts=child(self))
        opts = child(self, provider=provider)
        standby_tags = merge_tags(args.tags, **{STANDBY_TAG: "standby"})
        network = Network(
            f"{name}-dr",
            NetworkArgs(name=f"{args.name}-dr", region=region, plan=args.replica_network, tags=standby_tags),
            opts=pulumi.ResourceOptions(parent=self, providers={"aws": provider}),
        )
        base, identifier = f"{args.name}-db-{region}", f"{args.identifier}-{region}"
        key = kms_key(
            f"{args.name}-db-{region}",
            description=f"Encrypts the {base} replica, its insights and logs",
            parent=self,
            tags=args.tags,
            # Logs, and the lag alarm's topic (CloudWatch publishes to it, SNS stores its messages).
            service_principals=[f"logs.{region}.amazonaws.com", "cloudwatch.amazonaws.com", "sns.amazonaws.com"],
            provider=provider,
        )
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-dr-subnets",
            name=base,
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
        parameters = self._parameter_group(f"{name}-dr", args, base, opts)
        log_groups = self._log_groups(f"{name}-dr", args, identifier, key, pulumi.ResourceOptions.merge(opts, keep))
        replica = aws.rds.Instance(
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
            # The plan's choice: a Multi-AZ replica promotes to a database that is highly available.
            multi_az=plan.replica_multi_az,
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
            opts=pulumi.ResourceOptions.merge(child(self, provider=provider, depends_on=log_groups), keep),
        )
        if args.replica_lag_alarm is not None:
            self._lag_alarm(name, args, replica, key, opts)
        return replica

    def _lag_alarm(
        self, name: str, args: PostgresDatabaseArgs, replica: aws.rds.Instance, key: aws.kms.Key, opts
    ) -> aws.cloudwatch.MetricAlarm:
        alarm, region = args.replica_lag_alarm, args.plan.replica_region
        topic = aws.sns.Topic(
            f"{name}-replica-ticket",
            name=f"{args.name}-db-{region}-ticket",
            kms_master_key_id=key.arn,
            tags=merge_tags(args.tags, purpose="replica-lag-ticket"),
            opts=opts,
        )
        aws.sns.TopicSubscription(
            f"{name}-replica-ticket-email", topic=topic.arn, protocol="email", endpoint=alarm.email, opts=opts
        )
        self.replica_lag_alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-replica-lag",
            name=f"{args.name}-db-replica-lag",
            alarm_description=(
                f"The {region} replica of {args.name} is more than {alarm.threshold_seconds} s behind (the RPO of a "
                "regional failover), or reports no lag at all: a failover now would lose more writes than the plan "
                "allows. docs/disaster-recovery.md, Regional failover."
            ),
            namespace="AWS/RDS",
            metric_name="ReplicaLag",
            dimensions={"DBInstanceIdentifier": replica.identifier},
            statistic="Maximum",
            period=60,
            evaluation_periods=alarm.minutes,
            datapoints_to_alarm=alarm.minutes,
            comparison_operator="GreaterThanThreshold",
            threshold=alarm.threshold_seconds,
            # A replica that stops reporting its lag is not replicating.
            treat_missing_data="breaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            tags=args.tags,
            opts=opts,
        )
        return self.replica_lag_alarm


@dataclass
class AdoptedDatabaseArgs:
    """The standby stack's database: an instance this stack does not own (the promoted replica),
    named by `<service>:failover.database`. `az_count` is the replica network's AZ count (its
    subnets per tier)."""

    identifier: str
    az_count: int

    def validate(self) -> None:
        require(
            len(self.identifier) <= 63 and bool(_INSTANCE_IDENTIFIER.match(self.identifier)),
            f"failover.database must be a DB instance identifier; got {self.identifier!r}",
        )
        require(2 <= self.az_count <= 4, f"az_count must be 2 to 4; got {self.az_count}")


def adopted_instance_error(identifier: str, replicate_source_db: str, secrets: Sequence[Any]) -> str:
    """Why the looked-up instance cannot serve as the standby's database yet ("" when it can)."""
    if replicate_source_db:
        return (
            f"failover.database: {identifier} is still a read replica of {replicate_source_db}; promote it first "
            f"(aws rds promote-read-replica --db-instance-identifier {identifier})"
        )
    if not secrets:
        return (
            f"failover.database: {identifier} has no master secret managed by RDS in this region; enable it "
            f"(aws rds modify-db-instance --db-instance-identifier {identifier} --manage-master-user-password "
            "--apply-immediately)"
        )
    return ""


class AdoptedDatabase(pulumi.ComponentResource):
    """The promoted replica, looked up (never created, changed or deleted by this stack), with the
    interface the program reads of a PostgresDatabase: `endpoint`, `address`, `secret_arn`,
    `secret_key_arn`, `instance.identifier`, `instance.db_subnet_group_name`, `security_group.id`,
    `key.arn`, `replica` (None), `admit()`; and `network` (`vpc.id`, `subnet_ids[tier]`), the
    replica's VPC, which the standby's workload joins. A preview warns while the instance is still a
    replica (the rehearsal previews against it); `pulumi up` refuses."""

    replica = None

    def __init__(self, name: str, args: AdoptedDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("AdoptedDatabase"), name, None, opts)
        self._name = name
        invoke = pulumi.InvokeOutputOptions(parent=self)
        found = aws.rds.get_instance_output(db_instance_identifier=args.identifier, opts=invoke)
        self.ready = pulumi.Output.all(found.replicate_source_db, found.master_user_secrets).apply(
            lambda values: _adoptable(args.identifier, values[0] or "", values[1] or [])
        )
        secret = found.master_user_secrets.apply(lambda secrets: secrets[0] if secrets else {})
        self.endpoint = pulumi.Output.all(self.ready, found.endpoint).apply(lambda values: values[1])
        self.address = found.address
        # Before the promotion (a rehearsal's preview) there is no secret in this region yet: unknown.
        self.secret_arn = pulumi.Output.all(self.ready, secret).apply(lambda v: _once_ready(v[0], v[1], "secret_arn"))
        self.secret_key_arn = pulumi.Output.all(self.ready, secret).apply(
            lambda v: _once_ready(v[0], v[1], "kms_key_id")
        )
        self.instance = SimpleNamespace(
            identifier=found.db_instance_identifier, db_subnet_group_name=found.db_subnet_group
        )
        self.security_group = SimpleNamespace(id=found.vpc_security_groups.apply(lambda groups: groups[0]))
        self.key = SimpleNamespace(arn=found.kms_key_id)
        subnets = aws.rds.get_subnet_group_output(name=found.db_subnet_group, opts=invoke)
        private = aws.ec2.get_subnets_output(
            filters=[
                aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[subnets.vpc_id]),
                aws.ec2.GetSubnetsFilterArgs(name="tag:tier", values=["private"]),
            ],
            opts=invoke,
        )
        self.network = SimpleNamespace(
            vpc=SimpleNamespace(id=subnets.vpc_id),
            subnet_ids={
                "private": _each(private.ids, args.az_count),
                "isolated": _each(subnets.subnet_ids, args.az_count),
            },
        )
        self.register_outputs({"endpoint": self.endpoint, "secret_arn": self.secret_arn})

    def admit(self, label: str, security_group_id: pulumi.Input[str]) -> None:
        """Let the standby's workload connect on 5432: the replica's group admits nobody until now."""
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-from-{label}",
            security_group_id=self.security_group.id,
            referenced_security_group_id=security_group_id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            description="PostgreSQL from the standby's workload",
            opts=child(self),
        )


def _adoptable(identifier: str, replicate_source_db: str, secrets: Sequence[Any]) -> bool:
    error = adopted_instance_error(identifier, replicate_source_db, secrets)
    if error and pulumi.runtime.is_dry_run():
        pulumi.log.warn(error)
        return False
    if error:
        raise ComponentArgsError(error)
    return True


def _once_ready(ready: bool, secret: Any, name: str) -> Any:
    """The secret's field, or an unknown value (as a preview shows what is not there yet)."""
    return _field(secret, name) if ready else pulumi.Output(set(), _resolved(None), _resolved(False))


async def _resolved(value: Any) -> Any:
    return value


def _field(value: Any, name: str) -> str:
    return str(value.get(name, "") if isinstance(value, Mapping) else getattr(value, name, "") or "")


def _each(ids: pulumi.Output[Sequence[str]], count: int) -> list[pulumi.Output[str]]:
    """A looked-up list as `count` outputs (components check how many subnets they get)."""
    return [ids.apply(lambda values, i=i: sorted(values)[i] if i < len(values) else "") for i in range(count)]


def _point_in_time(restore: DatabaseRestore | None) -> aws.rds.InstanceRestoreToPointInTimeArgs | None:
    if restore is None or not restore.point_in_time:
        return None
    return aws.rds.InstanceRestoreToPointInTimeArgs(
        source_db_instance_identifier=restore.source,
        restore_time=restore.time or None,
        use_latest_restorable_time=restore.latest or None,
    )
