"""EdgeProtection: what guards the load balancer the AWS Load Balancer Controller creates.

The controller builds the ALB from the Ingress's annotations, so nothing in the Pulumi
program can attach a firewall or logging to it directly. This component creates what
the annotations name: a regional WAF web ACL (AWS managed rule groups for IP
reputation, common exploits and known bad inputs, and a per-client rate limit sized
by the plan) whose blocked and counted requests are logged, and the bucket the ALB
writes its access logs to: public access blocked, TLS only, objects owned by the
bucket owner, expired after the environment's log retention, and encrypted with
SSE-S3, the only server-side encryption ALB access logs support.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ._base import LOG_RETENTION_DAYS, child, merge_tags, policy_json, require, type_token
from .kms import kms_key
from .reliability.plan import WAF_RATE_LIMIT_RANGE, EdgePlan

# In the order WAF evaluates them, after the rate limit: the cheap IP list first.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
COUNT_ONLY_GROUP = "AWSManagedRulesCommonRuleSet"  # where the plan's waf_count_only rules live
RATE_WINDOWS_SECONDS = (60, 120, 300, 600)
_RULE_NAME = re.compile(r"^[\w-]{1,128}$")  # what WAF accepts as a rule name
# ALB access logs reach a bucket only encrypted with SSE-S3 (Elastic Load Balancing user guide,
# "Enable access logs for your Application Load Balancer").
ACCESS_LOG_ENCRYPTION = "AES256"
# Who writes ALB access logs, per Region: an Elastic Load Balancing account in Regions available
# before August 2022, the log delivery service principal in those launched since
# (tests/reference/aws/elb-log-delivery-accounts.json).
LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
ELB_LOG_DELIVERY_ACCOUNTS = {
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-south-1": "718504428378",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-north-1": "897822967062",
    "eu-south-1": "635631232127",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
}


def log_delivery_principal(region: str, partition: str = "aws") -> dict[str, str]:
    """The principal that writes a `region` load balancer's access logs, as a policy `Principal`."""
    account = ELB_LOG_DELIVERY_ACCOUNTS.get(region)
    return {"AWS": f"arn:{partition}:iam::{account}:root"} if account else {"Service": LOG_DELIVERY_SERVICE}


def access_log_bucket_policy(bucket: str, prefix: str, account_id: str, region: str, partition: str = "aws") -> str:
    """The load balancer may write its logs under `<prefix>/AWSLogs/<account>/`; nobody reaches
    the bucket without TLS."""
    arn = f"arn:{partition}:s3:::{bucket}"
    return policy_json(
        [
            {
                "Sid": "LoadBalancerWritesAccessLogs",
                "Effect": "Allow",
                "Principal": log_delivery_principal(region, partition),
                "Action": "s3:PutObject",
                "Resource": f"{arn}/{prefix}/AWSLogs/{account_id}/*",
            },
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ]
    )


@dataclass
class EdgeProtectionArgs:
    name: str  # e.g. "payments-prod"
    region: str
    edge: EdgePlan
    log_retention_days: int  # access logs and WAF logs
    access_log_prefix: str  # where in the bucket this service's ALB writes (the Ingress annotation's prefix)
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        low, high = WAF_RATE_LIMIT_RANGE
        limit = self.edge.waf_rate_limit
        require(low <= limit <= high, f"edge.waf_rate_limit must be {low} to {high} requests per window; got {limit}")
        window = self.edge.waf_rate_window_seconds
        windows = RATE_WINDOWS_SECONDS
        require(window in windows, f"edge.waf_rate_window_seconds must be one of {windows}; got {window}")
        for rule in self.edge.waf_count_only:
            require(
                bool(_RULE_NAME.match(rule)),
                f"edge.waf_count_only must name rules of {COUNT_ONLY_GROUP} such as SizeRestrictions_BODY "
                f"(letters, digits, '_' and '-'); got {rule!r}",
            )
        require(
            self.log_retention_days in LOG_RETENTION_DAYS,
            f"log_retention_days must be one of {LOG_RETENTION_DAYS}; got {self.log_retention_days}",
        )
        require(
            bool(self.access_log_prefix) and "AWSLogs" not in self.access_log_prefix,
            f"access_log_prefix must be set and must not contain AWSLogs (ELB adds it); got {self.access_log_prefix!r}",
        )


class EdgeProtection(pulumi.ComponentResource):
    """Exposes `web_acl` (and `web_acl_arn`), `access_log_bucket` (and `access_log_bucket_name`)
    and `access_log_prefix`, for the Ingress annotations."""

    def __init__(self, name: str, args: EdgeProtectionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("EdgeProtection"), name, None, opts)
        self._name, self._args = name, args
        self.web_acl = self._web_acl()
        self.web_acl_arn: pulumi.Output[str] = self.web_acl.arn
        self._waf_logging()
        self.access_log_bucket = self._access_log_bucket()
        self.access_log_bucket_name: pulumi.Output[str] = self.access_log_bucket.bucket
        self.access_log_prefix = args.access_log_prefix
        self.register_outputs({"web_acl_arn": self.web_acl_arn, "access_log_bucket": self.access_log_bucket_name})

    # -- the web ACL -------------------------------------------------------------------------

    def _visibility(self, metric: str) -> dict[str, object]:
        return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}

    def _web_acl(self) -> aws.wafv2.WebAcl:
        args = self._args
        rules = [
            {
                "name": "rate-per-client-ip",
                "priority": 0,
                "action": {"block": {}},
                "statement": {
                    "rate_based_statement": {
                        "limit": args.edge.waf_rate_limit,
                        "evaluation_window_sec": args.edge.waf_rate_window_seconds,
                        "aggregate_key_type": "IP",  # the ALB sees the client's address itself
                    }
                },
                "visibility_config": self._visibility(f"{args.name}-rate-per-client-ip"),
            }
        ]
        for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
            statement: dict[str, object] = {"vendor_name": "AWS", "name": group}
            if group == COUNT_ONLY_GROUP and args.edge.waf_count_only:
                statement["rule_action_overrides"] = [
                    {"name": rule, "action_to_use": {"count": {}}} for rule in args.edge.waf_count_only
                ]
            rules.append(
                {
                    "name": group,
                    "priority": priority,
                    "override_action": {"none": {}},  # the group's own block actions apply
                    "statement": {"managed_rule_group_statement": statement},
                    "visibility_config": self._visibility(f"{args.name}-{group}"),
                }
            )
        return aws.wafv2.WebAcl(
            f"{self._name}-web-acl",
            name=f"{args.name}-edge",
            description=f"In front of the {args.name} load balancer",
            scope="REGIONAL",
            default_action={"allow": {}},
            rules=rules,
            visibility_config=self._visibility(f"{args.name}-edge"),
            tags=dict(args.tags),
            opts=child(self),
        )

    def _waf_logging(self) -> None:
        """Blocked and counted requests only: what a false positive or an attack looks like,
        at a fraction of the cost of logging every request."""
        args = self._args
        key = kms_key(
            f"{args.name}-waf-logs",
            description=f"Encrypts the WAF logs of {args.name}",
            parent=self,
            tags=args.tags,
            service_principals=[f"logs.{args.region}.amazonaws.com"],
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-waf-logs",
            name=f"aws-waf-logs-{args.name}",  # WAF delivers only to names with this prefix
            retention_in_days=args.log_retention_days,
            kms_key_id=key.arn,
            tags=dict(args.tags),
            opts=child(self),
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{self._name}-waf-logging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[log_group.arn],
            redacted_fields=[{"single_header": {"name": header}} for header in ("authorization", "cookie")],
            logging_filter={
                "default_behavior": "DROP",
                "filters": [
                    {
                        "behavior": "KEEP",
                        "requirement": "MEETS_ANY",
                        "conditions": [
                            {"action_condition": {"action": "BLOCK"}},
                            {"action_condition": {"action": "COUNT"}},
                        ],
                    }
                ],
            },
            opts=child(self),
        )

    # -- the access-log bucket -------------------------------------------------------------------

    def _access_log_bucket(self) -> aws.s3.Bucket:
        args, name = self._args, self._name
        # S3 adds a unique suffix to a prefix of at most 37 characters.
        bucket = aws.s3.Bucket(
            f"{name}-access-logs",
            bucket_prefix=f"{args.name[:27].rstrip('-')}-alb-logs-",
            force_destroy=False,
            tags=merge_tags(args.tags, Name=f"{args.name}-alb-access-logs"),
            opts=child(self),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-access-logs-ownership",
            bucket=bucket.bucket,
            rule={"object_ownership": "BucketOwnerEnforced"},  # ACLs off: the account owns every log
            opts=child(self),
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-access-logs-private",
            bucket=bucket.bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child(self),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-access-logs-encryption",
            bucket=bucket.bucket,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": ACCESS_LOG_ENCRYPTION}}],
            opts=child(self),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-access-logs-lifecycle",
            bucket=bucket.bucket,
            rules=[
                {
                    "id": "expire-access-logs",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": args.log_retention_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            opts=child(self),
        )
        invoke = pulumi.InvokeOutputOptions(parent=self)
        identity = aws.get_caller_identity_output(opts=invoke)
        partition = aws.get_partition_output(opts=invoke)
        aws.s3.BucketPolicy(
            f"{name}-access-logs-policy",
            bucket=bucket.bucket,
            policy=pulumi.Output.all(bucket.bucket, identity.account_id, partition.partition).apply(
                lambda a: access_log_bucket_policy(a[0], args.access_log_prefix, a[1], args.region, a[2])
            ),
            opts=child(self),
        )
        return bucket
