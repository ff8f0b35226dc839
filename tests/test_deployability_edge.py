"""The edge rules: each passes on the generated production stacks and reports the defect it names."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace

import pytest
from conftest import render

from pulumi_components.deployability import StackView, check_stack, stack_view
from pulumi_components.testing import RELEASE_IMAGE, run_program, stack_config

EDGE_RULES = (
    "edge-ingress-https",
    "edge-ingress-waf",
    "edge-ingress-access-logs",
    "edge-api-domain",
    "edge-base-url-https",
)
ANNOTATION = "alb.ingress.kubernetes.io/"


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> dict[str, StackView]:
    """The production stack of an EKS and of a Lambda service, as `pulumi up` under mocks builds it."""
    views = {}
    for platform in ("aws-eks", "aws-lambda"):
        repo = render(
            tmp_path_factory.mktemp(platform) / "svc", platform=platform, service_slug="svc", domain="acme.io"
        )
        config = stack_config(repo / "Pulumi.prod.yaml") | {"svc:image": RELEASE_IMAGE}
        run = run_program(repo / "infra", project="svc", stack="prod", config=config)
        views[platform] = stack_view("svc", "prod", run, config)
    return views


def findings(stack: StackView, rule: str) -> list[str]:
    return [f"{f.subject}: {f.message}" for f in check_stack(stack, only=[rule])]


def mutated(stack: StackView, type_: str, change: Callable[[dict, dict], None], name: str = "") -> StackView:
    """A copy of the stack where `change(inputs, state)` edited every resource of `type_` (named `name`)."""
    resources = []
    for resource in stack.resources:
        if resource.type == type_ and (not name or resource.name == name):
            resource = copy.deepcopy(resource)
            change(resource.inputs, resource.state)
        resources.append(resource)
    return replace(stack, resources=tuple(resources))


def without(stack: StackView, type_: str) -> StackView:
    return replace(stack, resources=tuple(r for r in stack.resources if r.type != type_))


def annotate(stack: StackView, **annotations: str | None) -> StackView:
    def change(inputs, state):
        notes = inputs["metadata"]["annotations"]
        for key, value in annotations.items():
            full = ANNOTATION + key.replace("_", "-")
            if value is None:
                notes.pop(full, None)
            else:
                notes[full] = value

    return mutated(stack, "kubernetes:networking.k8s.io/v1:Ingress", change)


@pytest.mark.parametrize("platform", ["aws-eks", "aws-lambda"])
def test_the_generated_production_stacks_serve_https_behind_the_edge(stacks, platform):
    for rule in EDGE_RULES:
        assert findings(stacks[platform], rule) == [], rule
    assert stacks[platform].outputs["base_url"] == "https://svc.acme.io"


# --- HTTPS on the Ingress ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ({"listen_ports": json.dumps([{"HTTP": 80}])}, "add an HTTPS 443 listener"),
        ({"ssl_redirect": None}, "set ssl-redirect to 443"),
        ({"ssl_policy": "ELBSecurityPolicy-2016-08"}, "ssl-policy must be a ELBSecurityPolicy-TLS13-* policy"),
        ({"certificate_arn": None}, "names no certificate"),
        (
            {"certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/elsewhere"},
            "not a certificate of this stack that ACM is waited on to issue",
        ),
    ],
)
def test_an_ingress_without_https_is_reported(stacks, annotations, message):
    problems = findings(annotate(stacks["aws-eks"], **annotations), "edge-ingress-https")
    assert any(message in p for p in problems), problems


def test_a_certificate_acm_is_not_waited_on_to_issue_is_reported(stacks):
    stack = without(stacks["aws-eks"], "aws:acm/certificateValidation:CertificateValidation")
    assert any("waited on to issue" in p for p in findings(stack, "edge-ingress-https"))


def test_a_certificate_for_another_name_is_reported(stacks):
    stack = mutated(
        stacks["aws-eks"],
        "aws:acm/certificate:Certificate",
        lambda inputs, state: inputs.update(domainName="other.acme.io"),
    )
    assert any(
        "'svc.acme.io' with a certificate for 'other.acme.io'" in p for p in findings(stack, "edge-ingress-https")
    )


def test_a_host_whose_record_misses_the_load_balancer_is_reported(stacks):
    def elsewhere(inputs, state):
        inputs["aliases"][0]["name"] = "k8s-other-0123.us-east-1.elb.amazonaws.com"

    stack = mutated(stacks["aws-eks"], "aws:route53/record:Record", elsewhere, name="svc-prod-record")
    assert any("points 'svc.acme.io' at the load balancer" in p for p in findings(stack, "edge-ingress-https"))


def test_an_ingress_rule_without_a_host_is_reported(stacks):
    def hostless(inputs, state):
        inputs["spec"]["rules"][0].pop("host")

    stack = mutated(stacks["aws-eks"], "kubernetes:networking.k8s.io/v1:Ingress", hostless)
    assert any("a rule has no host" in p for p in findings(stack, "edge-ingress-https"))


# --- the web ACL ------------------------------------------------------------------------------------


def test_an_ingress_naming_no_web_acl_of_the_stack_is_reported(stacks):
    problems = findings(annotate(stacks["aws-eks"], wafv2_acl_arn=None), "edge-ingress-waf")
    assert any("names no web ACL of this stack" in p for p in problems), problems
    assert findings(without(stacks["aws-eks"], "aws:wafv2/webAcl:WebAcl"), "edge-ingress-waf")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda inputs, state: inputs.update(scope="CLOUDFRONT"), "only a REGIONAL web ACL attaches to an ALB"),
        (lambda inputs, state: inputs.update(rules=inputs["rules"][1:]), "has no rate-based rule"),
        (
            lambda inputs, state: inputs["rules"][0]["statement"]["rateBasedStatement"].update(limit=2_000_000.0),
            "is not the plan's edge.waf_rate_limit (15000)",
        ),
        (
            lambda inputs, state: inputs["rules"][2].update(overrideAction={"count": {}}),
            "does not enforce the managed rule groups AWSManagedRulesCommonRuleSet",
        ),
        (
            lambda inputs, state: inputs.update(rules=inputs["rules"][:1]),
            "AWSManagedRulesAmazonIpReputationList, AWSManagedRulesCommonRuleSet, AWSManagedRulesKnownBadInputsRuleSet",
        ),
    ],
)
def test_a_web_acl_that_does_not_protect_is_reported(stacks, change, message):
    problems = findings(mutated(stacks["aws-eks"], "aws:wafv2/webAcl:WebAcl", change), "edge-ingress-waf")
    assert any(message in p for p in problems), problems


def test_an_unlogged_web_acl_is_reported(stacks):
    stack = without(stacks["aws-eks"], "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    assert any("no logging configuration" in p for p in findings(stack, "edge-ingress-waf"))


# --- access logs ------------------------------------------------------------------------------------


def test_an_ingress_without_access_logs_is_reported(stacks):
    stack = annotate(stacks["aws-eks"], load_balancer_attributes="routing.http.drop_invalid_header_fields.enabled=true")
    assert any("do not enable access logs" in p for p in findings(stack, "edge-ingress-access-logs"))


def test_access_logs_to_a_bucket_outside_the_stack_are_reported(stacks):
    stack = annotate(
        stacks["aws-eks"], load_balancer_attributes="access_logs.s3.enabled=true,access_logs.s3.bucket=somewhere"
    )
    assert any(
        "'somewhere', which is not a bucket of this stack" in p for p in findings(stack, "edge-ingress-access-logs")
    )


def test_a_kms_encrypted_log_bucket_is_reported_because_alb_cannot_deliver_to_it(stacks):
    def kms(inputs, state):
        inputs["rules"][0]["applyServerSideEncryptionByDefault"] = {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "k"}

    stack = mutated(
        stacks["aws-eks"], "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", kms
    )
    assert any("delivered only to SSE-S3 (AES256) buckets" in p for p in findings(stack, "edge-ingress-access-logs"))


def test_a_public_log_bucket_is_reported(stacks):
    stack = mutated(
        stacks["aws-eks"],
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        lambda inputs, state: inputs.update(restrictPublicBuckets=False),
    )
    assert any("does not block public access" in p for p in findings(stack, "edge-ingress-access-logs"))


@pytest.mark.parametrize(
    "statement",
    [
        # The pre-2022 service principal does not deliver ALB logs in us-east-1: its ELB account does.
        {"Principal": {"Service": "delivery.logs.amazonaws.com"}},
        # The right principal, but not under the prefix the Ingress writes to.
        {"Resource": "arn:aws:s3:::b/other/AWSLogs/123456789012/*"},
    ],
)
def test_a_bucket_policy_the_log_delivery_cannot_write_through_is_reported(stacks, statement):
    def change(inputs, state):
        policy = json.loads(inputs["policy"])
        policy["Statement"][0].update(statement)
        inputs["policy"] = json.dumps(policy)

    stack = mutated(stacks["aws-eks"], "aws:s3/bucketPolicy:BucketPolicy", change)
    problems = findings(stack, "edge-ingress-access-logs")
    assert any("arn:aws:iam::127311923021:root" in p and "under svc/AWSLogs/" in p for p in problems), problems


def test_the_log_delivery_principal_follows_the_region(stacks):
    from pulumi_components.edge_protection import access_log_bucket_policy, log_delivery_principal

    # A Region launched after August 2022 has no ELB account: the service principal writes.
    assert log_delivery_principal("eu-central-2") == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    policy = json.loads(access_log_bucket_policy("b", "svc", "123456789012", "eu-central-2"))
    assert policy["Statement"][0]["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}


# --- Lambda -----------------------------------------------------------------------------------------


def test_an_http_api_without_its_custom_domain_is_reported(stacks):
    stack = without(stacks["aws-lambda"], "aws:apigatewayv2/domainName:DomainName")
    assert any("has no custom domain" in p for p in findings(stack, "edge-api-domain"))


@pytest.mark.parametrize(
    ("type_", "change", "message"),
    [
        (
            "aws:apigatewayv2/api:Api",
            lambda inputs, state: inputs.update(disableExecuteApiEndpoint=False),
            "default execute-api endpoint is on",
        ),
        (
            "aws:apigatewayv2/domainName:DomainName",
            lambda inputs, state: inputs["domainNameConfiguration"].update(securityPolicy="TLS_1_0"),
            "security policy 'TLS_1_0'",
        ),
        (
            "aws:apigatewayv2/domainName:DomainName",
            lambda inputs, state: inputs["domainNameConfiguration"].update(certificateArn="arn:aws:acm:x"),
            "not a certificate of this stack that ACM is waited on to issue",
        ),
        (
            "aws:apigatewayv2/apiMapping:ApiMapping",
            lambda inputs, state: inputs.update(domainName="other.acme.io"),
            "no API mapping sends the domain to the API",
        ),
        (
            "aws:route53/record:Record",
            lambda inputs, state: inputs.update(name="elsewhere.acme.io") if inputs.get("type") == "A" else None,
            "no A record of the stack points 'svc.acme.io' at the API domain",
        ),
    ],
)
def test_an_api_domain_that_does_not_serve_https_only_is_reported(stacks, type_, change, message):
    problems = findings(mutated(stacks["aws-lambda"], type_, change), "edge-api-domain")
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize("platform", ["aws-eks", "aws-lambda"])
def test_a_plain_http_or_unowned_base_url_is_reported(stacks, platform):
    stack = stacks[platform]
    plain = replace(stack, outputs={**stack.outputs, "base_url": "http://svc.acme.io"})
    assert findings(plain, "edge-base-url-https") == ["output base_url: 'http://svc.acme.io' is not https://"]
    foreign = replace(stack, outputs={**stack.outputs, "base_url": "https://svc.elsewhere.io"})
    assert findings(foreign, "edge-base-url-https") == [
        "output base_url: no issued certificate of the stack covers 'svc.elsewhere.io'"
    ]
