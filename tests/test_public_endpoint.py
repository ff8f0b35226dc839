"""PublicEndpoint and EdgeProtection under Pulumi mocks: the certificate, the records, the web ACL
and the access-log bucket the edge needs, and the settings they refuse."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pulumi_components import (
    ComponentArgsError,
    EdgeProtection,
    EdgeProtectionArgs,
    PublicEndpoint,
    PublicEndpointArgs,
)
from pulumi_components.edge_protection import ELB_LOG_DELIVERY_ACCOUNTS, LOG_DELIVERY_SERVICE, MANAGED_RULE_GROUPS
from pulumi_components.guardrails import Context, check_resources
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.answers import AWS_REGION_AZS
from pulumi_components.testing import resolve, run_with_mocks

REFERENCE = Path(__file__).parent / "reference"
PLAN = plan_service(
    Answers(project_name="Pay", service_slug="pay", team="core", owner_email="c@example.com", domain="acme.io")
).prod


def endpoint_run(hostname="pay.acme.io", zone="acme.io"):
    made = {}

    def program():
        made["endpoint"] = PublicEndpoint("pay-prod", PublicEndpointArgs(hostname=hostname, zone=zone, tags=PLAN.tags))
        made["endpoint"].alias_load_balancer("k8s-pay-0123.us-east-1.elb.amazonaws.com")

    return run_with_mocks(program), made["endpoint"]


def protection_run(edge=PLAN.edge, region="us-east-1"):
    args = EdgeProtectionArgs(
        name="pay-prod",
        region=region,
        edge=edge,
        log_retention_days=PLAN.log_retention_days,
        access_log_prefix="pay",
        tags=PLAN.tags,
    )
    return run_with_mocks(lambda: EdgeProtection("pay-prod", args), region=region)


def one(run, type_):
    (resource,) = run.of_type(type_)
    return resource


def test_the_certificate_is_dns_validated_in_the_zone_and_waited_on():
    run, endpoint = endpoint_run()
    certificate = one(run, "aws:acm/certificate:Certificate")
    assert certificate.inputs["domainName"] == "pay.acme.io"
    assert certificate.inputs["validationMethod"] == "DNS"
    alias, validation = sorted(run.of_type("aws:route53/record:Record"), key=lambda r: r.inputs["type"])
    assert (alias.inputs["type"], validation.inputs["type"]) == ("A", "CNAME")
    assert validation.inputs["zoneId"] == alias.inputs["zoneId"] == "Z0123456789MOCKZONE"
    assert validation.inputs["name"] == "_0123456789abcdef.pay.acme.io."
    issued = one(run, "aws:acm/certificateValidation:CertificateValidation")
    assert issued.inputs["validationRecordFqdns"] == ["_0123456789abcdef.pay.acme.io"]
    # What listeners get is the ARN the validation returns: it exists once ACM has issued.
    assert resolve(endpoint.certificate_arn) == issued.inputs["certificateArn"] == certificate.state["arn"]
    assert endpoint.url == "https://pay.acme.io"


def test_the_hostname_aliases_the_load_balancer_in_its_regions_canonical_zone():
    run, _ = endpoint_run()
    record = [r for r in run.of_type("aws:route53/record:Record") if r.inputs["type"] == "A"][0]
    assert record.inputs["name"] == "pay.acme.io"
    assert record.inputs["aliases"] == [
        {"name": "k8s-pay-0123.us-east-1.elb.amazonaws.com", "zoneId": "Z35SXDOTRQ7X7K", "evaluateTargetHealth": False}
    ]
    assert "allowOverwrite" not in record.inputs  # an existing record for the name stops the deploy


@pytest.mark.parametrize(
    ("hostname", "zone", "message"),
    [
        ("pay.other.io", "acme.io", "edge.hostname must be a name inside edge.zone (acme.io)"),
        ("pay.acme.io", "acme", "edge.zone must be the name of a Route 53 public hosted zone"),
        ("Pay.acme.io", "acme.io", "edge.hostname must be a name inside edge.zone"),
        ("p" * 60 + ".acme.io", "acme.io", "edge.hostname must be at most 64 characters"),
    ],
)
def test_a_hostname_the_zone_cannot_hold_is_refused_before_anything_exists(hostname, zone, message):
    with pytest.raises(ComponentArgsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PublicEndpointArgs(hostname=hostname, zone=zone).validate()


# --- EdgeProtection ---------------------------------------------------------------------------------


def test_the_web_acl_rate_limits_per_client_then_runs_the_managed_groups():
    run = protection_run()
    acl = one(run, "aws:wafv2/webAcl:WebAcl")
    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    rules = sorted(acl.inputs["rules"], key=lambda r: r["priority"])
    rate = rules[0]["statement"]["rateBasedStatement"]
    assert rate == {"limit": PLAN.edge.waf_rate_limit, "evaluationWindowSec": 300, "aggregateKeyType": "IP"}
    assert rules[0]["action"] == {"block": {}}
    groups = [r["statement"]["managedRuleGroupStatement"]["name"] for r in rules[1:]]
    assert tuple(groups) == MANAGED_RULE_GROUPS
    assert all(r["overrideAction"] == {"none": {}} for r in rules[1:])
    assert all(r["visibilityConfig"]["cloudwatchMetricsEnabled"] for r in rules)


def test_rules_the_plan_names_only_count_in_the_common_rule_set():
    edge = dataclasses.replace(PLAN.edge, waf_count_only=("SizeRestrictions_BODY",))
    rules = one(protection_run(edge), "aws:wafv2/webAcl:WebAcl").inputs["rules"]
    overrides = {r["name"]: r["statement"]["managedRuleGroupStatement"].get("ruleActionOverrides") for r in rules[1:]}
    assert overrides["AWSManagedRulesCommonRuleSet"] == [
        {"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}
    ]
    assert overrides["AWSManagedRulesKnownBadInputsRuleSet"] is None


def test_waf_logs_only_blocked_and_counted_requests_encrypted_with_its_own_key():
    run = protection_run()
    logging = one(run, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    assert logging.inputs["resourceArn"] == one(run, "aws:wafv2/webAcl:WebAcl").state["arn"]
    kept = logging.inputs["loggingFilter"]
    assert kept["defaultBehavior"] == "DROP"
    assert {c["actionCondition"]["action"] for c in kept["filters"][0]["conditions"]} == {"BLOCK", "COUNT"}
    assert {f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]} == {"authorization", "cookie"}
    group = one(run, "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "aws-waf-logs-pay-prod"
    assert group.inputs["kmsKeyId"] and group.inputs["retentionInDays"] == PLAN.log_retention_days


def test_the_access_log_bucket_is_private_sse_s3_tls_only_and_expiring():
    run = protection_run()
    bucket = one(run, "aws:s3/bucket:Bucket").state["bucket"]
    assert bucket.startswith("pay-prod-alb-logs-")
    assert one(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }
    block = one(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[flag] for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    encryption = one(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    (rule,) = one(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    assert rule["expiration"] == {"days": PLAN.log_retention_days} and rule["status"] == "Enabled"
    statements = json.loads(one(run, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"]
    write, tls = statements
    assert write["Resource"] == f"arn:aws:s3:::{bucket}/pay/AWSLogs/123456789012/*"
    assert write["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert not check_resources(run.resources, Context.from_plan(PLAN))


def test_log_delivery_principals_match_the_upstream_table_in_every_region_the_model_accepts():
    upstream = json.loads((REFERENCE / "aws" / "elb-log-delivery-accounts.json").read_text())
    for region in AWS_REGION_AZS:
        account = upstream["accounts"].get(region)
        assert ELB_LOG_DELIVERY_ACCOUNTS.get(region) == account, region
    for region in ("eu-central-2", "me-central-1", "ap-southeast-5"):  # launched after August 2022
        run = protection_run(region=region)
        write = json.loads(one(run, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"][0]
        assert write["Principal"] == {"Service": LOG_DELIVERY_SERVICE} == {"Service": upstream["service_principal"]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"waf_rate_limit": 0}, "edge.waf_rate_limit must be 10 to 2000000000"),
        ({"waf_rate_window_seconds": 90}, "edge.waf_rate_window_seconds must be one of"),
        (
            {"waf_count_only": ("SizeRestrictions BODY",)},
            "edge.waf_count_only must name rules of AWSManagedRulesCommonRuleSet",
        ),
    ],
)
def test_a_web_acl_the_plan_cannot_size_is_refused(change, message):
    args = EdgeProtectionArgs(
        name="pay-prod",
        region="us-east-1",
        edge=dataclasses.replace(PLAN.edge, **change),
        log_retention_days=365,
        access_log_prefix="pay",
    )
    with pytest.raises(ComponentArgsError, match=message):
        args.validate()


def test_a_log_prefix_elb_would_double_is_refused():
    args = EdgeProtectionArgs(
        name="pay-prod", region="us-east-1", edge=PLAN.edge, log_retention_days=365, access_log_prefix="x/AWSLogs"
    )
    with pytest.raises(ComponentArgsError, match="must not contain AWSLogs"):
        args.validate()
