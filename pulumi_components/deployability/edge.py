"""The edge: what the internet reaches must serve HTTPS behind a WAF with access logs.

On EKS the ALB is built by the AWS Load Balancer Controller from the Ingress's
annotations, so no Pulumi resource says whether it has a certificate, a web ACL or
access logs: the annotations do, and each names a resource that must exist in the
stack and be usable by the load balancer (an issued certificate for the host, a
regional web ACL, a bucket ELB may write to with the only encryption it supports).
On Lambda the HTTP API must serve its custom domain with an issued certificate and
nothing else. Either way the stack's `base_url` is https on a name it owns.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlparse

from ..edge_protection import ACCESS_LOG_ENCRYPTION, MANAGED_RULE_GROUPS, log_delivery_principal
from . import StackView, stack_rule
from .rules_common import as_list, policy_statements, subject

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
HTTP_API = "aws:apigatewayv2/api:Api"
API_DOMAIN = "aws:apigatewayv2/domainName:DomainName"
API_MAPPING = "aws:apigatewayv2/apiMapping:ApiMapping"

ANNOTATION = "alb.ingress.kubernetes.io/"
TLS_POLICY_PREFIX = "ELBSecurityPolicy-TLS13-"  # TLS 1.3, and 1.2 at the least
API_TLS_POLICIES = ("TLS_1_2",)
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _state(resource: Any) -> Mapping[str, Any]:
    """What the provider answered for a resource (its ARN, computed outputs); empty if unknown."""
    return getattr(resource, "state", None) or {}


def _public_ingresses(stack: StackView) -> list[Any]:
    return [r for r in stack.of_type(INGRESS) if _annotations(r).get(f"{ANNOTATION}scheme") == "internet-facing"]


def _annotations(ingress: Any) -> Mapping[str, Any]:
    return ((ingress.inputs.get("metadata") or {}).get("annotations")) or {}


def _hosts(ingress: Any) -> list[str]:
    return [rule.get("host", "") for rule in as_list((ingress.inputs.get("spec") or {}).get("rules"))]


def _load_balancer_hostname(ingress: Any) -> str:
    entries = ((_state(ingress).get("status") or {}).get("loadBalancer") or {}).get("ingress") or [{}]
    return entries[0].get("hostname", "")


def _issued_certificates(stack: StackView) -> dict[str, Any]:
    """Certificates ACM is waited on to issue (a CertificateValidation names them), by ARN."""
    validated = {v.inputs.get("certificateArn") for v in stack.of_type(VALIDATION)}
    return {_state(c).get("arn"): c for c in stack.of_type(CERTIFICATE) if _state(c).get("arn") in validated}


def _covers(certificate: Any, host: str) -> bool:
    names = [certificate.inputs.get("domainName", ""), *as_list(certificate.inputs.get("subjectAlternativeNames"))]
    return any(name == host or (name.startswith("*.") and host.split(".", 1)[-1] == name[2:]) for name in names)


def _alias_targets(stack: StackView, host: str) -> set[str]:
    """What the stack's A records for `host` alias."""
    return {
        alias.get("name", "").rstrip(".")
        for record in stack.of_type(RECORD)
        if record.inputs.get("type") == "A" and str(record.inputs.get("name", "")).rstrip(".") == host
        for alias in as_list(record.inputs.get("aliases"))
    }


def _certificate_defects(stack: StackView, arn: Any, hosts: list[str]) -> Iterator[str]:
    certificate = _issued_certificates(stack).get(arn)
    if not arn:
        yield "names no certificate"
    elif certificate is None:
        yield f"names certificate {arn!r}, which is not a certificate of this stack that ACM is waited on to issue"
    else:
        for host in hosts:
            if not _covers(certificate, host):
                yield f"serves {host!r} with a certificate for {certificate.inputs.get('domainName')!r}"


@stack_rule(
    "edge-ingress-https",
    "An internet-facing Ingress serves its host over HTTPS only (listener 443 with an issued certificate for the "
    "host and a TLS 1.2+ policy; HTTP redirected to it), and the host's DNS record aliases its load balancer.",
)
def ingress_https(stack: StackView) -> Iterator[tuple[str, str]]:
    for ingress in _public_ingresses(stack):
        where, notes = subject(ingress), _annotations(ingress)
        try:
            ports = {
                (proto, port)
                for entry in json.loads(notes.get(f"{ANNOTATION}listen-ports", "[]"))
                for proto, port in entry.items()
            }
        except (ValueError, AttributeError):
            ports = set()
        if ("HTTPS", 443) not in ports:
            yield where, f"listens on {sorted(ports) or 'HTTP 80 only'}: add an HTTPS 443 listener (listen-ports)"
        if any(proto == "HTTP" for proto, _ in ports) and str(notes.get(f"{ANNOTATION}ssl-redirect")) != "443":
            yield where, "serves plain HTTP: set ssl-redirect to 443 so port 80 only redirects"
        if not str(notes.get(f"{ANNOTATION}ssl-policy", "")).startswith(TLS_POLICY_PREFIX):
            yield (
                where,
                f"ssl-policy must be a {TLS_POLICY_PREFIX}* policy; got {notes.get(f'{ANNOTATION}ssl-policy')!r}",
            )
        hosts = _hosts(ingress)
        if not all(hosts):
            yield where, "a rule has no host: the load balancer would answer any name with the certificate's"
        for defect in _certificate_defects(stack, notes.get(f"{ANNOTATION}certificate-arn"), [h for h in hosts if h]):
            yield where, defect
        target = _load_balancer_hostname(ingress)
        for host in filter(None, hosts):
            if target not in _alias_targets(stack, host):
                yield where, f"no A record of the stack points {host!r} at the load balancer {target!r}"


@stack_rule(
    "edge-ingress-waf",
    "An internet-facing Ingress names a web ACL of the stack: REGIONAL, logged, with the plan's per-client rate "
    "limit and the AWS managed IP reputation, common and known-bad-inputs rule groups.",
)
def ingress_waf(stack: StackView) -> Iterator[tuple[str, str]]:
    acls = {_state(acl).get("arn"): acl for acl in stack.of_type(WEB_ACL)}
    logged = {logging.inputs.get("resourceArn") for logging in stack.of_type(WAF_LOGGING)}
    plan_limit = ((stack.config.get(f"{stack.service}:plan") or {}).get("edge") or {}).get("waf_rate_limit")
    for ingress in _public_ingresses(stack):
        where = subject(ingress)
        arn = _annotations(ingress).get(f"{ANNOTATION}wafv2-acl-arn")
        acl = acls.get(arn)
        if acl is None:
            yield where, f"wafv2-acl-arn {arn!r} names no web ACL of this stack"
            continue
        if acl.inputs.get("scope") != "REGIONAL":
            yield where, f"web ACL scope is {acl.inputs.get('scope')!r}; only a REGIONAL web ACL attaches to an ALB"
        if arn not in logged:
            yield where, "the web ACL has no logging configuration: blocked requests leave no trace"
        rules = as_list(acl.inputs.get("rules"))
        limits = [((r.get("statement") or {}).get("rateBasedStatement") or {}).get("limit") for r in rules]
        limits = [limit for limit in limits if limit]
        if not limits:
            yield where, "the web ACL has no rate-based rule"
        elif plan_limit and float(plan_limit) not in {float(limit) for limit in limits}:
            yield where, f"the web ACL's rate limit {limits} is not the plan's edge.waf_rate_limit ({plan_limit})"
        enforced = {
            ((r.get("statement") or {}).get("managedRuleGroupStatement") or {}).get("name")
            for r in rules
            if "count" not in (r.get("overrideAction") or {})
        }
        missing = [group for group in MANAGED_RULE_GROUPS if group not in enforced]
        if missing:
            yield where, f"the web ACL does not enforce the managed rule groups {', '.join(missing)}"


def _access_log_settings(ingress: Any) -> dict[str, str]:
    text = str(_annotations(ingress).get(f"{ANNOTATION}load-balancer-attributes", ""))
    return dict(item.split("=", 1) for item in text.split(",") if "=" in item)


def _for_bucket(stack: StackView, type_: str, bucket: str) -> list[Any]:
    return [r for r in stack.of_type(type_) if r.inputs.get("bucket") == bucket]


def _delivery_defects(stack: StackView, bucket: str, prefix: str) -> Iterator[str]:
    from ..testing import ACCOUNT_ID  # the account every stack is run in under mocks

    region = str(stack.config.get("aws:region", "us-east-1"))
    if not any(_state(b).get("bucket") == bucket for b in stack.of_type(BUCKET)):
        yield f"writes access logs to bucket {bucket!r}, which is not a bucket of this stack"
        return
    algorithms = {
        ((rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm"))
        for config in _for_bucket(stack, BUCKET_ENCRYPTION, bucket)
        for rule in as_list(config.inputs.get("rules"))
    }
    if algorithms != {ACCESS_LOG_ENCRYPTION}:
        yield (
            f"bucket {bucket!r} is encrypted with {sorted(map(str, algorithms)) or 'nothing declared'}; "
            f"ALB access logs are delivered only to SSE-S3 ({ACCESS_LOG_ENCRYPTION}) buckets"
        )
    blocks = _for_bucket(stack, PUBLIC_ACCESS_BLOCK, bucket)
    if not any(all(block.inputs.get(flag) is True for flag in PUBLIC_ACCESS_FLAGS) for block in blocks):
        yield f"bucket {bucket!r} does not block public access"
    key = f"arn:aws:s3:::{bucket}/{prefix}/AWSLogs/{ACCOUNT_ID}/elasticloadbalancing/{region}/log.gz"
    principal = log_delivery_principal(region)
    allowed = any(
        statement.get("Effect") == "Allow"
        and statement.get("Principal") == principal
        and {"s3:PutObject", "s3:*"} & set(as_list(statement.get("Action")))
        and any(fnmatch.fnmatchcase(key, pattern) for pattern in as_list(statement.get("Resource")))
        for policy in _for_bucket(stack, BUCKET_POLICY, bucket)
        for statement in policy_statements(policy.inputs.get("policy"))
    )
    if not allowed:
        yield (
            f"bucket {bucket!r} does not let {principal} (the {region} load balancers' log delivery) "
            f"s3:PutObject under {prefix}/AWSLogs/"
        )


@stack_rule(
    "edge-ingress-access-logs",
    "An internet-facing Ingress writes access logs to a bucket of the stack that its region's load balancers may "
    "write to: SSE-S3 encrypted (the only encryption ALB log delivery supports), public access blocked, and a "
    "policy granting the region's ELB principal s3:PutObject under <prefix>/AWSLogs/<account>/.",
)
def ingress_access_logs(stack: StackView) -> Iterator[tuple[str, str]]:
    for ingress in _public_ingresses(stack):
        settings = _access_log_settings(ingress)
        if settings.get("access_logs.s3.enabled") != "true" or not settings.get("access_logs.s3.bucket"):
            yield subject(ingress), "load-balancer-attributes do not enable access logs to a bucket"
            continue
        bucket, prefix = settings["access_logs.s3.bucket"], settings.get("access_logs.s3.prefix", "")
        for defect in _delivery_defects(stack, bucket, prefix):
            yield subject(ingress), defect


@stack_rule(
    "edge-api-domain",
    "An HTTP API is reached only on its custom domain: an issued certificate for the name, a TLS 1.2 policy, a "
    "mapping to the API, the default execute-api endpoint off and an A record aliasing the domain.",
)
def api_domain(stack: StackView) -> Iterator[tuple[str, str]]:
    apis = [api for api in stack.of_type(HTTP_API) if api.inputs.get("protocolType") == "HTTP"]
    domains = stack.of_type(API_DOMAIN)
    if apis and not domains:
        yield "stack", "the HTTP API has no custom domain: clients would call its execute-api name"
    for api in apis:
        if domains and api.inputs.get("disableExecuteApiEndpoint") is not True:
            yield subject(api), "the default execute-api endpoint is on: clients can bypass the custom domain"
    mapped = {mapping.inputs.get("domainName") for mapping in stack.of_type(API_MAPPING)}
    for domain in domains:
        name, config = domain.inputs.get("domainName", ""), domain.inputs.get("domainNameConfiguration") or {}
        for defect in _certificate_defects(stack, config.get("certificateArn"), [name]):
            yield subject(domain), defect
        if config.get("securityPolicy") not in API_TLS_POLICIES:
            yield subject(domain), f"security policy {config.get('securityPolicy')!r}; use {API_TLS_POLICIES[0]}"
        if name not in mapped:
            yield subject(domain), "no API mapping sends the domain to the API"
        target = str((_state(domain).get("domainNameConfiguration") or {}).get("targetDomainName", ""))
        if target not in _alias_targets(stack, name):
            yield subject(domain), f"no A record of the stack points {name!r} at the API domain {target!r}"


@stack_rule(
    "edge-base-url-https",
    "The stack's base_url is https:// on a name the stack has an issued certificate and a DNS record for.",
)
def base_url_https(stack: StackView) -> Iterator[tuple[str, str]]:
    url = stack.outputs.get("base_url")
    if url is None:
        return
    parsed = urlparse(str(url))
    host = parsed.hostname or ""
    if parsed.scheme != "https":
        yield "output base_url", f"{url!r} is not https://"
    elif not any(_covers(certificate, host) for certificate in _issued_certificates(stack).values()):
        yield "output base_url", f"no issued certificate of the stack covers {host!r}"
    elif not _alias_targets(stack, host):
        yield "output base_url", f"no A record of the stack names {host!r}"
