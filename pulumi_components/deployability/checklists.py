"""Checklists tick only what exists.

docs/security-checklist.md and docs/production-readiness.md tick what the repository builds. Each
ticked line must match one of FACTS, which checks it against the production stack's resources or
the repository's files; a ticked line no fact covers is reported too, so a new tick comes with the
check that keeps it true.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import RepositoryView, StackView, repository_rule
from .pipelines import pod_spec, workflow_jobs
from .rules_common import walk

CHECKLISTS = ("docs/security-checklist.md", "docs/production-readiness.md")
TICKED = re.compile(r"^- \[x\] (.+)$", re.MULTILINE)
RELEASE = "kubernetes:helm.sh/v3:Release"
DB = "aws:rds/instance:Instance"
Check = Callable[[RepositoryView, StackView], "str | None"]
PROD = "prod"  # the checklists describe production


def _inputs(stack: StackView, type_: str) -> list[Mapping[str, Any]]:
    return [r.inputs for r in stack.of_type(type_)]


def _charts(stack: StackView) -> set[str]:
    return {r.get("chart", "") for r in _inputs(stack, RELEASE)}


def _all_db(stack: StackView, test: Callable[[Mapping[str, Any]], bool], what: str) -> str | None:
    instances = _inputs(stack, DB)
    if not instances:
        return "no database instance"
    return None if all(test(i) for i in instances) else f"a database instance has no {what}"


def _file(*paths: str) -> Check:
    return lambda repo, stack: next((f"{p} is missing" for p in paths if not (repo.root / p).is_file()), None)


def _charts_installed(*charts: str) -> Check:
    return lambda repo, stack: next((f"no {c} release" for c in charts if c not in _charts(stack)), None)


def _private_subnets(repo: RepositoryView, stack: StackView) -> str | None:
    if not _inputs(stack, "aws:ec2/vpc:Vpc"):
        return "no VPC"
    public = [s for s in _inputs(stack, "aws:ec2/subnet:Subnet") if s.get("mapPublicIpOnLaunch")]
    return "a subnet assigns public IPs" if public else None


def _flow_logs(repo: RepositoryView, stack: StackView) -> str | None:
    logs = [f for f in _inputs(stack, "aws:ec2/flowLog:FlowLog") if f.get("trafficType") == "ALL"]
    if not logs:
        return "no flow log of all traffic"
    groups = [g for g in _inputs(stack, "aws:cloudwatch/logGroup:LogGroup") if "flow-logs" in str(g.get("name"))]
    return None if groups and all(g.get("kmsKeyId") for g in groups) else "the flow log group is not KMS-encrypted"


def _no_vpc(repo: RepositoryView, stack: StackView) -> str | None:
    return "the stack has a VPC" if _inputs(stack, "aws:ec2/vpc:Vpc") else None


def _private_api(repo: RepositoryView, stack: StackView) -> str | None:
    clusters = _inputs(stack, "aws:eks/cluster:Cluster")
    public = [c for c in clusters if (c.get("vpcConfig") or {}).get("endpointPublicAccess", True)]
    return "no cluster" if not clusters else ("the API endpoint is public" if public else None)


def _network_policies(repo: RepositoryView, stack: StackView) -> str | None:
    policies = _inputs(stack, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    deny = [
        p
        for p in policies
        if (p.get("spec") or {}).get("podSelector") == {}
        and not (p.get("spec") or {}).get("ingress")
        and not (p.get("spec") or {}).get("egress")
    ]
    cni = [a for a in _inputs(stack, "aws:eks/addon:Addon") if a.get("addonName") == "vpc-cni"]
    if not deny:
        return "no default-deny NetworkPolicy"
    return None if any("enableNetworkPolicy" in str(a.get("configurationValues")) for a in cni) else "no policy agent"


def _isolated_database(repo: RepositoryView, stack: StackView) -> str | None:
    return _all_db(stack, lambda i: i.get("publiclyAccessible") is False and i.get("dbSubnetGroupName"), "isolation")


def _no_database(repo: RepositoryView, stack: StackView) -> str | None:
    return "the stack has a database instance" if _inputs(stack, DB) else None


def _encrypted_volumes(repo: RepositoryView, stack: StackView) -> str | None:
    classes = _inputs(stack, "kubernetes:storage.k8s.io/v1:StorageClass")
    ok = [
        c
        for c in classes
        if (c.get("metadata") or {}).get("name") == "gp3-encrypted"
        and (c.get("parameters") or {}).get("encrypted") == "true"
        and (c.get("parameters") or {}).get("kmsKeyId")
    ]
    return None if ok else "no gp3-encrypted StorageClass with a KMS key"


def _oidc_workflows(repo: RepositoryView, stack: StackView) -> str | None:
    for path, job_id, job in workflow_jobs(repo.root):
        for step in job.get("steps") or []:
            with_ = step.get("with") or {}
            if "aws-access-key-id" in with_ or "aws-secret-access-key" in with_:
                return f"{path} job {job_id} passes AWS access keys"
            if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials"):
                if "role-to-assume" not in with_ or (job.get("permissions") or {}).get("id-token") != "write":
                    return f"{path} job {job_id} reaches AWS without an OIDC role"
    return None


def _access_entries(repo: RepositoryView, stack: StackView) -> str | None:
    clusters = _inputs(stack, "aws:eks/cluster:Cluster")
    ok = [
        c
        for c in clusters
        if (c.get("accessConfig") or {}).get("authenticationMode") == "API"
        and (c.get("accessConfig") or {}).get("bootstrapClusterCreatorAdminPermissions") is False
    ]
    return None if clusters and len(ok) == len(clusters) else "cluster access is not by access entries alone"


def _prod_environment(repo: RepositoryView, stack: StackView) -> str | None:
    for _, _, job in workflow_jobs(repo.root):
        environment = job.get("environment")
        name = environment.get("name") if isinstance(environment, Mapping) else environment
        if name == "prod":
            return None
    return "no workflow job runs in the prod environment"


def _tagged(repo: RepositoryView, stack: StackView) -> str | None:
    for resource in stack.resources:
        tags = resource.inputs.get("tags")
        if resource.type.startswith("aws:") and isinstance(tags, Mapping):
            missing = {"service", "environment", "team"} - set(tags)
            if missing:
                return f"{resource.type} {resource.name} lacks {', '.join(sorted(missing))} tags"
    return None


def _non_root(repo: RepositoryView, stack: StackView) -> str | None:
    containers = [
        c
        for r in stack.resources
        if r.type in ("kubernetes:apps/v1:Deployment", "kubernetes:argoproj.io/v1alpha1:Rollout")
        for c in pod_spec(r).get("containers") or []
    ]
    if not containers:
        return "no workload"
    for c in containers:
        context = c.get("securityContext") or {}
        if not (context.get("runAsNonRoot") and context.get("readOnlyRootFilesystem")):
            return f"container {c.get('name')} may run as root or write its root filesystem"
    return None


def _image_scan(repo: RepositoryView, stack: StackView) -> str | None:
    steps = [str(step.get("uses", "")) for _, _, job in workflow_jobs(repo.root) for step in job.get("steps") or []]
    sbom = any(s.startswith("anchore/sbom-action") for s in steps)
    scan = any(s.startswith("anchore/scan-action") for s in steps)
    return None if sbom and scan else "no SBOM and vulnerability scan step in the workflows"


def _replicas(repo: RepositoryView, stack: StackView) -> str | None:
    workloads = stack.of_type("kubernetes:apps/v1:Deployment", "kubernetes:argoproj.io/v1alpha1:Rollout")
    if not any(int((w.inputs.get("spec") or {}).get("replicas", 1)) >= 2 for w in workloads):
        return "no workload with two replicas"
    return None if stack.of_type("kubernetes:policy/v1:PodDisruptionBudget") else "no PodDisruptionBudget"


def _function(repo: RepositoryView, stack: StackView) -> str | None:
    functions = _inputs(stack, "aws:lambda/function:Function")
    ok = [f for f in functions if f.get("reservedConcurrentExecutions")]
    return None if ok else "no function with reserved concurrency"


def _progressive(repo: RepositoryView, stack: StackView) -> str | None:
    rollouts = [
        r
        for r in _inputs(stack, "kubernetes:argoproj.io/v1alpha1:Rollout")
        if any(isinstance(v, Mapping) and ("analysis" in v or "prePromotionAnalysis" in v) for v in walk(r))
    ]
    groups = [
        g
        for g in _inputs(stack, "aws:codedeploy/deploymentGroup:DeploymentGroup")
        if (g.get("autoRollbackConfiguration") or {}).get("enabled")
        and (g.get("alarmConfiguration") or {}).get("enabled")
    ]
    return None if rollouts or groups else "no Rollout with analysis and no CodeDeploy group rolling back on alarms"


def _runbooks(repo: RepositoryView, stack: StackView, line: str) -> str | None:
    count = int(re.match(r"(\d+) alerts", line).group(1))
    found = len(list((repo.root / "docs" / "runbooks").glob("*.md")))
    return None if found >= count else f"{count} alerts claimed, {found} runbooks in docs/runbooks/"


def _tracing(repo: RepositoryView, stack: StackView) -> str | None:
    missing = _charts_installed("tempo", "opentelemetry-collector")(repo, stack)
    if missing:
        return missing
    maps = _inputs(stack, "kubernetes:core/v1:ConfigMap")
    senders = [c for c in maps if "OTEL_EXPORTER_OTLP_ENDPOINT" in (c.get("data") or {})]
    return None if senders else "the service exports no traces"


def _function_logs(repo: RepositoryView, stack: StackView, line: str) -> str | None:
    days = int(re.search(r"kept (\d+) days", line).group(1))
    groups = [g for g in _inputs(stack, "aws:cloudwatch/logGroup:LogGroup") if "/aws/lambda/" in str(g.get("name"))]
    ok = groups and all(int(g.get("retentionInDays", 0)) == days for g in groups)
    return None if ok else f"no function log group kept {days} days"


def _pages(repo: RepositoryView, stack: StackView) -> str | None:
    alertmanager = repo.root / "monitoring" / "alertmanager" / "alertmanager.yml"
    if alertmanager.is_file():
        text = alertmanager.read_text()
        return None if "pagerduty_configs" in text or "opsgenie_configs" in text else "no paging receiver"
    subscriptions = _inputs(stack, "aws:sns/topicSubscription:TopicSubscription")
    if any(s.get("protocol") == "https" for s in subscriptions):
        return None
    # Without the tool's key in the stack, the program warns and pages go by e-mail until it is set.
    keyless = f"{stack.service}:oncall_credential" not in stack.config
    return None if keyless else "no paging subscription although oncall_credential is set"


def _edge_rules_hold(*rules: str, needs: str) -> Check:
    """The edge's own deployability rules find nothing, and the stack has a `needs` resource."""

    def check(repo: RepositoryView, stack: StackView) -> str | None:
        from . import check_stack

        if not stack.of_type(needs):
            return f"no {needs}"
        found = check_stack(stack, only=rules)
        return str(found[0]) if found else None

    return check


def _rate_limited(repo: RepositoryView, stack: StackView) -> str | None:
    if stack.of_type(WEB_ACL):
        return _edge_rules_hold("edge-ingress-waf", needs=WEB_ACL)(repo, stack)
    stages = _inputs(stack, "aws:apigatewayv2/stage:Stage")
    limited = [s for s in stages if float((s.get("defaultRouteSettings") or {}).get("throttlingRateLimit") or 0) > 0]
    return None if stages and len(limited) == len(stages) else "no web ACL and an API stage without throttling"


WEB_ACL = "aws:wafv2/webAcl:WebAcl"


# What a ticked line starts with, and its check: None when it holds, else what is missing.
FACTS: list[tuple[re.Pattern[str], Callable[..., str | None]]] = [
    (re.compile(r"^VPC .* no subnet assigns public IPs"), _private_subnets),
    (re.compile(r"^VPC flow logs \(all traffic\)"), _flow_logs),
    (re.compile(r"^No VPC:"), _no_vpc),
    (re.compile(r"^EKS API endpoint private"), _private_api),
    (re.compile(r"^NetworkPolicies: default deny"), _network_policies),
    (re.compile(r"^Database in isolated subnets"), _isolated_database),
    (
        re.compile(r"^Database storage encrypted with a customer-managed KMS key"),
        lambda repo, stack: _all_db(stack, lambda i: i.get("storageEncrypted") and i.get("kmsKeyId"), "CMK"),
    ),
    (
        re.compile(r"^Deletion protection"),
        lambda repo, stack: _all_db(stack, lambda i: i.get("deletionProtection") is True, "deletion protection"),
    ),
    (
        re.compile(r"^Point-in-time recovery"),
        lambda repo, stack: _all_db(stack, lambda i: int(i.get("backupRetentionPeriod") or 0) > 0, "backups"),
    ),
    (
        re.compile(r"^Database master password managed by RDS"),
        lambda repo, stack: _all_db(
            stack,
            # A read replica has no master user of its own: it replicates its source's.
            lambda i: (
                bool(i.get("replicateSourceDb"))
                or (i.get("manageMasterUserPassword") is True and bool(i.get("masterUserSecretKmsKeyId")))
            ),
            "RDS-managed password under the service's key",
        ),
    ),
    (re.compile(r"^The service keeps no database"), _no_database),
    (re.compile(r"^Persistent volumes .* `gp3-encrypted`"), _encrypted_volumes),
    (re.compile(r"^Workflows reach AWS through GitHub OIDC roles"), _oidc_workflows),
    (re.compile(r"^Cluster access through EKS access entries only"), _access_entries),
    (re.compile(r"^Production deploys run in the `prod` GitHub environment"), _prod_environment),
    (re.compile(r"^Every resource tagged"), _tagged),
    (re.compile(r"^Containers run as non-root"), _non_root),
    (re.compile(r"^Images get an SBOM and a vulnerability scan"), _image_scan),
    (re.compile(r"^SLOs defined"), _file("docs/slo.md")),
    (re.compile(r"^The architecture can meet the SLA"), _file("docs/reliability-report.md")),
    (re.compile(r"^At least two replicas"), _replicas),
    (re.compile(r"^The function runs across"), _function),
    (
        re.compile(r"^Multi-AZ database"),
        lambda repo, stack: _all_db(stack, lambda i: i.get("multiAz") is True, "Multi-AZ"),
    ),
    (re.compile(r"^Releases roll out progressively with automatic rollback"), _progressive),
    (re.compile(r"^Disaster recovery plan"), _file("docs/disaster-recovery.md")),
    (re.compile(r"^\d+ alerts, each with a runbook"), _runbooks),
    (re.compile(r"^Dashboards \(Grafana\)"), _charts_installed("grafana")),
    (re.compile(r"^Centralised logs \(Loki\)"), _charts_installed("loki", "alloy")),
    (re.compile(r"^Distributed tracing"), _tracing),
    (re.compile(r"^Synthetic probes"), _charts_installed("prometheus-blackbox-exporter")),
    (re.compile(r"^Function and API logs in CloudWatch Logs"), _function_logs),
    (re.compile(r"^Pages reach a tool"), _pages),
    (re.compile(r"^Incident response with severities"), _file("docs/incident-response.md", "docs/oncall.md")),
    (
        re.compile(r"^TLS on every external endpoint"),
        _edge_rules_hold(
            "edge-ingress-https",
            "edge-api-domain",
            "edge-base-url-https",
            needs="aws:acm/certificateValidation:CertificateValidation",
        ),
    ),
    (re.compile(r"^Rate limiting on the public endpoint"), _rate_limited),
    (re.compile(r"^WAF on the load balancer"), _edge_rules_hold("edge-ingress-waf", needs=WEB_ACL)),
    (
        re.compile(r"^Load balancer access logs"),
        _edge_rules_hold("edge-ingress-access-logs", needs="aws:s3/bucket:Bucket"),
    ),
]
READS_LINE = (_runbooks, _function_logs)  # these read the figure the line states


@repository_rule(
    "checklists-tick-only-what-exists",
    "Every ticked line of the security and production-readiness checklists is backed by the production stack's "
    "resources or the repository's files.",
)
def check_checklists(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    stack = repo.stacks.get(PROD)
    for name in CHECKLISTS:
        path = repo.root / name
        if not path.is_file() or stack is None:
            continue
        for line in TICKED.findall(path.read_text()):
            check = next((c for pattern, c in FACTS if pattern.search(line)), None)
            if check is None:
                yield name, f"ticked with no fact to check it against: {line[:80]!r}"
                continue
            missing = check(repo, stack, line) if check in READS_LINE else check(repo, stack)
            if missing:
                yield name, f"ticked but {missing}: {line[:80]!r}"
