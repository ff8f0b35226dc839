"""DnsFailover: the service's public name as a Route 53 failover pair, one record per region.

The production stack of a tier with a second region writes the PRIMARY record: an alias of the
hostname to this region's endpoint (the ALB on EKS, the HTTP API's domain on Lambda). The
standby stack, brought up in the DR region during a failover (stack config
`<service>:failover`, `StandbyConfig`), writes the SECONDARY record to its own endpoint.
Route 53 answers with the primary while it is healthy and with the secondary otherwise.

The primary is healthy when both hold:

- its target is healthy (`evaluate_target_health`, which failover alias records require): for an
  ALB, at least one target of every target group passes the load balancer's health check of
  the pods' readiness path; for an HTTP API, API Gateway serves in the region;
- the failover switch is off: a Route 53 health check on a CloudWatch alarm in the DR region,
  which the failover workflow turns on once the standby serves (a metric it publishes). The
  switch latches: the alarm keeps its state while no data arrives (`treat_missing_data:
  ignore`), so a primary region that comes back never takes traffic again by itself while the
  promoted database in the DR region holds the writes. Failing back turns it off.

Why not an HTTPS health check of the health path: Route 53 sends the checked name as the Host
header and TLS server name, so a check of the regional endpoint's own DNS name meets the
Ingress host rule (404) or API Gateway's custom-domain routing (403), and a check of the public
hostname follows the failover it controls and would flap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_aws as aws

from ._base import child, require, type_token
from .reliability.answers import AWS_REGION_AZS
from .reliability.plan import EnvironmentPlan, replica_network

ROLES = ("PRIMARY", "SECONDARY")
FAILOVER_CONFIG_KEY = "failover"
# The failover switch: a metric the failover workflow publishes in the DR region (1: the standby
# serves, keep the primary out; 0: fail back).
SWITCH_NAMESPACE = "RegionalFailover"
SWITCH_METRIC = "PrimaryRetired"
SWITCH_PERIOD_SECONDS = 60
_INSTANCE_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def switch_alarm_name(name: str) -> str:
    """The alarm behind the primary record's health check, in the DR region: `<service>-<env>-failover`."""
    return f"{name}-failover"


@dataclass(frozen=True)
class StandbyConfig:
    """Stack config `<service>:failover` of the standby stack (`prod-dr`): its presence makes the
    stack the DR region's copy of production, writing the SECONDARY record. `database` names the
    promoted replica's instance identifier, which the stack adopts instead of creating a
    database; required when the service has one."""

    database: str = ""

    @classmethod
    def from_config(cls, value: Any) -> StandbyConfig | None:
        if value is None:
            return None
        key = FAILOVER_CONFIG_KEY
        require(isinstance(value, Mapping), f"{key} must be a mapping (database); got {value!r}")
        unknown = sorted(set(value) - {"database"})
        require(not unknown, f"{key}.{unknown[0] if unknown else ''} is not a known setting; accepted: database")
        database = value.get("database", "")
        require(isinstance(database, str), f"{key}.database must be a string; got {database!r}")
        return cls(database=database)

    def validate(self, plan: EnvironmentPlan, region: str, restoring: bool = False) -> None:
        key = FAILOVER_CONFIG_KEY
        require(
            not restoring,
            f"{key} and database_restore are both set: the standby adopts the promoted replica; restore into it "
            "later, once it is the production database",
        )
        require(
            plan.recovery.multi_region,
            f"{key} is set but the plan of stack {plan.name!r} names no second region (recovery.multi_region)",
        )
        require(
            region == plan.recovery.dr_region,
            f"{key}: the standby stack runs in the DR region {plan.recovery.dr_region}; aws:region is {region}",
        )
        if plan.database is None:
            require(not self.database, f"{key}.database is set but this service has no database (database: none)")
            return
        require(
            bool(self.database),
            f"{key}.database is missing: name the promoted replica's instance identifier "
            f"(the prod stack's output db_replica_identifier)",
        )
        require(
            len(self.database) <= 63 and bool(_INSTANCE_IDENTIFIER.match(self.database)),
            f"{key}.database must be a DB instance identifier; got {self.database!r}",
        )

    def standby_plan(self, plan: EnvironmentPlan) -> EnvironmentPlan:
        """The plan the standby stack builds: production's, in the replica's network (the one the
        adopted database lives in, so the workload's CIDR rules name it), with no replica of its own
        (a fresh replica in the other direction comes with failing back), so no regional failover of
        its own to count in the availability estimate."""
        network = replica_network(plan)
        if plan.database is None or network is None:
            return plan
        return replace(
            plan,
            network=network,
            database=replace(plan.database, replica_region=""),
            recovery=replace(plan.recovery, failover="none"),
        )


@dataclass
class DnsFailoverArgs:
    name: str  # <service>-<env>
    hostname: str  # the plan's edge.hostname, the same in both regions
    zone_id: pulumi.Input[str]  # the public hosted zone holding it
    region: str  # where the target serves
    role: str  # PRIMARY (the production stack) or SECONDARY (the standby stack)
    target: pulumi.Input[str]  # the ALB's or the API domain's DNS name
    # The target's canonical hosted zone; None: an Application Load Balancer of `region`.
    target_zone_id: pulumi.Input[str] | None = None
    dr_region: str = ""  # PRIMARY only: where the failover switch lives
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        require(self.role in ROLES, f"role must be one of {', '.join(ROLES)}; got {self.role!r}")
        require(self.region in AWS_REGION_AZS, f"region: {self.region!r} is not an AWS region")
        if self.role == "PRIMARY":
            require(
                self.dr_region in AWS_REGION_AZS and self.dr_region != self.region,
                f"dr_region: the failover switch lives in an AWS region other than {self.region}; "
                f"got {self.dr_region!r}",
            )


class DnsFailover(pulumi.ComponentResource):
    """Exposes `record` and, on the primary, `health_check` and `switch` (its alarm)."""

    health_check: aws.route53.HealthCheck | None = None
    switch: aws.cloudwatch.MetricAlarm | None = None

    def __init__(self, name: str, args: DnsFailoverArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("DnsFailover"), name, None, opts)
        self._name, self._args = name, args
        if args.role == "PRIMARY":
            self.switch = self._switch()
            self.health_check = self._health_check(self.switch)
        target_zone_id = args.target_zone_id
        if target_zone_id is None:
            target_zone_id = aws.lb.get_hosted_zone_id_output(
                load_balancer_type="application", region=args.region, opts=pulumi.InvokeOutputOptions(parent=self)
            ).id
        self.record = aws.route53.Record(
            f"{name}-{args.role.lower()}",
            zone_id=args.zone_id,
            name=args.hostname,
            type="A",
            set_identifier=f"{args.name}-{args.region}",
            failover_routing_policies=[aws.route53.RecordFailoverRoutingPolicyArgs(type=args.role)],
            health_check_id=self.health_check.id if self.health_check else None,
            # Failover alias records must evaluate their target's health.
            aliases=[
                aws.route53.RecordAliasArgs(name=args.target, zone_id=target_zone_id, evaluate_target_health=True)
            ],
            opts=child(self),
        )
        self.register_outputs(
            {
                "record": self.record.fqdn,
                "health_check_id": self.health_check.id if self.health_check else None,
                "switch_alarm": self.switch.name if self.switch else None,
            }
        )

    def _switch(self) -> aws.cloudwatch.MetricAlarm:
        """In the DR region, so an impaired primary region cannot hold the switch."""
        args = self._args
        provider = aws.Provider(f"{self._name}-{args.dr_region}", region=args.dr_region, opts=child(self))
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-switch",
            name=switch_alarm_name(args.name),
            alarm_description=(
                f"Regional failover switch of {args.hostname}: in ALARM, Route 53 treats the primary record "
                f"({args.region}) as unhealthy and answers with the standby in {args.dr_region}. Set by the "
                "failover workflow (docs/disaster-recovery.md)."
            ),
            namespace=SWITCH_NAMESPACE,
            metric_name=SWITCH_METRIC,
            dimensions={"Service": args.name},
            statistic="Maximum",
            period=SWITCH_PERIOD_SECONDS,
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            # A latch: no data keeps the last state, so only a published 0 fails back.
            treat_missing_data="ignore",
            tags=dict(args.tags),
            opts=child(self, provider=provider),
        )

    def _health_check(self, switch: aws.cloudwatch.MetricAlarm) -> aws.route53.HealthCheck:
        args = self._args
        return aws.route53.HealthCheck(
            f"{self._name}-health",
            type="CLOUDWATCH_METRIC",
            cloudwatch_alarm_name=switch.name,
            cloudwatch_alarm_region=args.dr_region,
            # A switch never set has no data yet: the primary is healthy until it is.
            insufficient_data_health_status="LastKnownStatus",
            reference_name=args.name[:64],
            tags={**args.tags, "Name": f"{args.name}-primary"},
            opts=child(self),
        )
