"""Network: a VPC with public, private and isolated subnets over the plan's AZs.

Public subnets hold only load balancers and NAT gateways; workloads run in
private subnets that reach the internet through NAT; databases sit in
isolated subnets with no route out at all. Flow logs go to an encrypted log
group, and the default security group is stripped of every rule so nothing
can fall back on it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ._base import (
    LOG_RETENTION_DAYS,
    ComponentArgsError,
    child,
    merge_tags,
    policy_json,
    require,
    service_trust,
    type_token,
)
from .kms import kms_key
from .reliability.answers import AWS_REGION_AZS
from .reliability.plan import NetworkPlan
from .reliability.vocabulary import NatStrategy

MAX_AZS = 4  # the subnet layout carves the VPC into 16 blocks: 3 tiers x up to 4 AZs
SUBNET_TIERS = ("public", "private", "isolated")


@dataclass
class NetworkArgs:
    name: str  # prefix of every resource name, e.g. "payments-prod"
    region: str
    plan: NetworkPlan
    tags: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        try:
            vpc = ipaddress.IPv4Network(self.plan.cidr)
        except ValueError:
            raise ComponentArgsError(
                f"network.cidr: {self.plan.cidr!r} is not an IPv4 CIDR such as 10.0.0.0/16"
            ) from None
        require(
            16 <= vpc.prefixlen <= 20,
            f"network.cidr: prefix must be /16 to /20 to fit the subnets; got /{vpc.prefixlen}",
        )
        offered = AWS_REGION_AZS.get(self.region)
        require(offered is not None, f"aws:region: unknown region {self.region!r}")
        require(
            2 <= self.plan.az_count <= min(MAX_AZS, offered),
            f"network.az_count: {self.region} offers {offered} AZs and the layout takes 2 to {MAX_AZS}; "
            f"got {self.plan.az_count}",
        )
        require(
            self.plan.nat_gateways in NatStrategy.values(),
            f"network.nat_gateways must be one of {', '.join(NatStrategy.values())}; got {self.plan.nat_gateways!r}",
        )
        require(
            self.plan.flow_log_retention_days in LOG_RETENTION_DAYS,
            f"network.flow_log_retention_days must be one of {LOG_RETENTION_DAYS}; "
            f"got {self.plan.flow_log_retention_days}",
        )


def subnet_cidrs(cidr: str, az_count: int) -> dict[str, list[str]]:
    """Carve the VPC into sixteen equal blocks: private subnets first (they hold the
    pods), then public, then isolated; block i of a tier is in AZ i."""
    blocks = list(ipaddress.IPv4Network(cidr).subnets(prefixlen_diff=4))
    return {
        tier: [str(blocks[offset * MAX_AZS + az]) for az in range(az_count)]
        for offset, tier in enumerate(("private", "public", "isolated"))
    }


class Network(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    subnet_ids: dict[str, list[pulumi.Output[str]]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("Network"), name, None, opts)
        plan, tags = args.plan, args.tags
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=plan.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=merge_tags(tags, Name=f"{args.name}-vpc"),
            opts=child(self),
        )
        # Strip the default security group: anything that lands in it gets no traffic.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=merge_tags(tags, Name=f"{args.name}-default-deny"),
            opts=child(self),
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=merge_tags(tags, Name=f"{args.name}-igw"), opts=child(self)
        )

        cidrs = subnet_cidrs(plan.cidr, plan.az_count)
        subnets: dict[str, list[aws.ec2.Subnet]] = {tier: [] for tier in SUBNET_TIERS}
        for tier in SUBNET_TIERS:
            role = {"public": {"kubernetes.io/role/elb": "1"}, "private": {"kubernetes.io/role/internal-elb": "1"}}
            for az in range(plan.az_count):
                subnets[tier].append(
                    aws.ec2.Subnet(
                        f"{name}-{tier}-{az}",
                        vpc_id=self.vpc.id,
                        cidr_block=cidrs[tier][az],
                        availability_zone=zones.names.apply(lambda names, i=az: _zone(names, i, args.region)),
                        map_public_ip_on_launch=False,
                        tags=merge_tags(tags, Name=f"{args.name}-{tier}-{az}", tier=tier, **role.get(tier, {})),
                        opts=child(self),
                    )
                )

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=merge_tags(tags, Name=f"{args.name}-public"),
            opts=child(self),
        )
        for az, subnet in enumerate(subnets["public"]):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{az}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child(self)
            )

        nat_count = plan.az_count if plan.nat_gateways == NatStrategy.PER_AZ else 1
        nats = []
        for az in range(nat_count):
            eip = aws.ec2.Eip(
                f"{name}-nat-eip-{az}",
                domain="vpc",
                tags=merge_tags(tags, Name=f"{args.name}-nat-{az}"),
                opts=child(self),
            )
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{az}",
                    allocation_id=eip.id,
                    subnet_id=subnets["public"][az].id,
                    tags=merge_tags(tags, Name=f"{args.name}-nat-{az}"),
                    opts=child(self, depends_on=[igw]),
                )
            )

        endpoint_route_tables = []
        for az, subnet in enumerate(subnets["private"]):
            nat = nats[az if nat_count > 1 else 0]
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{az}",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags=merge_tags(tags, Name=f"{args.name}-private-{az}"),
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{az}", subnet_id=subnet.id, route_table_id=rt.id, opts=child(self)
            )
            endpoint_route_tables.append(rt.id)

        # Isolated subnets: local routes only, no way to the internet.
        isolated_rt = aws.ec2.RouteTable(
            f"{name}-isolated-rt",
            vpc_id=self.vpc.id,
            tags=merge_tags(tags, Name=f"{args.name}-isolated"),
            opts=child(self),
        )
        for az, subnet in enumerate(subnets["isolated"]):
            aws.ec2.RouteTableAssociation(
                f"{name}-isolated-rta-{az}", subnet_id=subnet.id, route_table_id=isolated_rt.id, opts=child(self)
            )
        endpoint_route_tables.append(isolated_rt.id)

        # S3 through a gateway endpoint: image layers and backups stay off the NAT bill.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=endpoint_route_tables,
            tags=merge_tags(tags, Name=f"{args.name}-s3"),
            opts=child(self),
        )

        self.flow_log_group = self._flow_logs(name, args)
        self.subnet_ids = {tier: [s.id for s in subnets[tier]] for tier in SUBNET_TIERS}
        self.register_outputs(
            {
                "vpc_id": self.vpc.id,
                "public_subnet_ids": self.subnet_ids["public"],
                "private_subnet_ids": self.subnet_ids["private"],
                "isolated_subnet_ids": self.subnet_ids["isolated"],
                "flow_log_group": self.flow_log_group.name,
            }
        )

    def _flow_logs(self, name: str, args: NetworkArgs) -> aws.cloudwatch.LogGroup:
        key = kms_key(
            f"{args.name}-flow-logs",
            description=f"Encrypts VPC flow logs of {args.name}",
            parent=self,
            tags=args.tags,
            service_principals=[f"logs.{args.region}.amazonaws.com"],
        )
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/vpc/{args.name}/flow-logs",
            retention_in_days=args.plan.flow_log_retention_days,
            kms_key_id=key.arn,
            tags=args.tags,
            opts=child(self),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=service_trust("vpc-flow-logs.amazonaws.com"),
            tags=args.tags,
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-write",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            "Resource": [arn, f"{arn}:*"],
                        }
                    ]
                )
            ),
            opts=child(self),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=args.tags,
            opts=child(self),
        )
        return group


def _zone(names: list[str], index: int, region: str) -> str:
    if index >= len(names):
        raise ValueError(f"network.az_count: {region} has only {len(names)} available AZs for this account")
    return names[index]
