"""KubernetesService under Pulumi mocks: each strategy builds what the plan says."""

from __future__ import annotations

import json

import pytest
from service_fixtures import (
    EDGE,
    OIDC_ARN,
    manifests,
    objects_of_kind,
    run_service,
    service_args,
    service_plan,
)

from pulumi_components import ComponentArgsError
from pulumi_components.kubernetes_service import KubernetesService
from pulumi_components.testing import resolve, run_with_mocks, walk

STRATEGIES = ("rolling", "canary", "blue-green")


@pytest.fixture(scope="module")
def runs():
    """One run per strategy (prod, SLA 99.9, with a database), shared by the module."""
    built = {}
    for strategy in STRATEGIES:
        plan = service_plan(deployment_strategy=strategy)
        built[strategy] = (plan, run_service(service_args(plan)))
    return built


def workload(run):
    (obj,) = [m for m in manifests(run) if m["kind"] in ("Deployment", "Rollout")]
    return obj


def pod_spec(run):
    return workload(run)["spec"]["template"]["spec"]


def test_rolling_is_a_deployment_that_never_drops_below_ready(runs):
    plan, run = runs["rolling"]
    deployment = workload(run)
    assert deployment["kind"] == "Deployment"
    update = deployment["spec"]["strategy"]["rollingUpdate"]
    assert update == {"maxUnavailable": 0, "maxSurge": f"{plan.workload.max_surge_percent}%"}
    assert not objects_of_kind(run, "AnalysisTemplate")
    (hpa,) = objects_of_kind(run, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "example"}


def test_canary_walks_the_plan_weights_with_its_pauses(runs):
    plan, run = runs["canary"]
    rollout = workload(run)
    canary = rollout["spec"]["strategy"]["canary"]
    weights = [step["setWeight"] for step in canary["steps"] if "setWeight" in step]
    pauses = [step["pause"]["duration"] for step in canary["steps"] if "pause" in step]
    assert tuple(weights) == plan.rollout.canary_steps == (5, 25, 50, 100)
    assert pauses == [f"{plan.rollout.pause_seconds}s"] * (len(weights) - 1)
    assert canary["maxUnavailable"] == 0
    assert canary["trafficRouting"]["alb"] == {"ingress": "example", "rootService": "example", "servicePort": 80}
    assert canary["analysis"]["templates"] == [{"templateName": "example-analysis"}]
    assert canary["analysis"]["args"][0]["valueFrom"] == {"podTemplateHashValue": "Latest"}
    assert rollout["spec"]["progressDeadlineAbort"] is True
    services = {m["metadata"]["name"] for m in objects_of_kind(run, "Service")}
    assert {"example", "example-stable", "example-canary", "example-metrics"} == services
    (ingress,) = objects_of_kind(run, "Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "example", "port": {"name": "use-annotation"}}


def test_canary_analysis_aborts_on_the_sla_thresholds(runs):
    plan, run = runs["canary"]
    (template,) = objects_of_kind(run, "AnalysisTemplate")
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    assert set(metrics) == {"error-ratio", "latency-p99"}
    assert plan.rollout.max_error_ratio == pytest.approx(0.0144)
    assert metrics["error-ratio"]["successCondition"] == "len(result) == 0 || result[0] <= 0.0144"
    assert metrics["latency-p99"]["successCondition"] == "len(result) == 0 || result[0] <= 0.5"
    for metric in metrics.values():
        assert metric["interval"] == f"{plan.rollout.analysis_interval_seconds}s"
        assert metric["failureLimit"] == plan.rollout.analysis_failure_limit
        assert "count" not in metric  # background analysis runs until promotion
        query = metric["provider"]["prometheus"]["query"]
        assert 'rollouts_pod_template_hash="{{args.pod-template-hash}}"' in query
        assert f"[{plan.rollout.analysis_window_seconds}s]" in query
    assert "http_requests_total{" in metrics["error-ratio"]["provider"]["prometheus"]["query"]
    assert 'code=~"5.."' in metrics["error-ratio"]["provider"]["prometheus"]["query"]
    assert "http_request_duration_seconds_bucket" in metrics["latency-p99"]["provider"]["prometheus"]["query"]
    (monitor,) = objects_of_kind(run, "ServiceMonitor")
    assert monitor["spec"]["podTargetLabels"] == ["rollouts-pod-template-hash"]


def test_thresholds_follow_the_answers():
    plan = service_plan(deployment_strategy="canary", sla=99.99, latency_slo_ms=250)
    run = run_service(service_args(plan, database=False))
    (template,) = objects_of_kind(run, "AnalysisTemplate")
    conditions = {m["name"]: m["successCondition"] for m in template["spec"]["metrics"]}
    assert conditions["error-ratio"].endswith(f"<= {plan.rollout.max_error_ratio}")
    assert plan.rollout.max_error_ratio == pytest.approx(0.00144)
    assert conditions["latency-p99"].endswith("<= 0.25")
    weights = [s["setWeight"] for s in workload(run)["spec"]["strategy"]["canary"]["steps"] if "setWeight" in s]
    assert tuple(weights) == plan.rollout.canary_steps == (1, 5, 25, 50, 100)


def test_blue_green_analyses_before_and_after_promotion_and_keeps_the_old_colour(runs):
    plan, run = runs["blue-green"]
    blue_green = workload(run)["spec"]["strategy"]["blueGreen"]
    assert blue_green["activeService"] == "example"
    assert blue_green["previewService"] == "example-preview"
    assert blue_green["scaleDownDelaySeconds"] == plan.rollout.scale_down_delay_seconds == 600
    for phase in ("prePromotionAnalysis", "postPromotionAnalysis"):
        assert blue_green[phase]["templates"] == [{"templateName": "example-analysis"}]
    (template,) = objects_of_kind(run, "AnalysisTemplate")
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    assert set(metrics) == {"error-ratio", "latency-p99", "preview-responds"}
    assert {m["count"] for m in metrics.values()} == {plan.rollout.analysis_count}
    assert metrics["preview-responds"]["provider"]["web"]["url"].startswith("http://example-preview.example.svc")
    # The controller's calls to the preview are allowed through the default-deny.
    (allow,) = [p for p in objects_of_kind(run, "NetworkPolicy") if p["metadata"]["name"] == "example-allow"]
    peers = [peer for rule in allow["spec"]["ingress"] for peer in rule["from"]]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "argo-rollouts"}}} in peers


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_pods_run_restricted_with_probes_and_limits(runs, strategy):
    plan, run = runs[strategy]
    spec = pod_spec(run)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"] == {
        "requests": {"cpu": plan.workload.cpu_request, "memory": plan.workload.memory_request},
        "limits": {"cpu": plan.workload.cpu_limit, "memory": plan.workload.memory_limit},
    }
    assert "@sha256:" in container["image"]
    keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
    assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_scaling_and_disruption_follow_the_plan(runs, strategy):
    plan, run = runs[strategy]
    (hpa,) = objects_of_kind(run, "HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] == plan.workload.replicas_min
    assert hpa["spec"]["maxReplicas"] == plan.workload.replicas_max
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["spec"]["metrics"]}
    assert targets == {"cpu": plan.workload.hpa_cpu_percent, "memory": plan.workload.hpa_memory_percent}
    (pdb,) = objects_of_kind(run, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == plan.workload.pdb_min_available
    assert workload(run)["spec"]["replicas"] == plan.workload.replicas_min


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_secrets_come_only_through_external_secrets(runs, strategy):
    _, run = runs[strategy]
    assert not objects_of_kind(run, "Secret")
    targets = {e["spec"]["target"]["name"] for e in objects_of_kind(run, "ExternalSecret")}
    assert targets == {"example-secrets-0", "example-database"}
    spec = pod_spec(run)
    (container,) = spec["containers"]
    volumes = {v["name"]: v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
    assert set(volumes.values()) == targets
    mounts = {m["mountPath"] for m in container["volumeMounts"] if m["name"] in volumes}
    assert mounts == {f"/run/secrets/{target}" for target in targets}
    assert all(m["readOnly"] for m in container["volumeMounts"] if m["name"] in volumes)
    assert "env" not in container  # nothing inline
    assert all("secretRef" not in source for source in container["envFrom"])
    (store,) = objects_of_kind(run, "SecretStore")
    assert store["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"] == {"name": "example"}


def test_service_account_is_bound_to_its_own_role(runs):
    _, run = runs["canary"]
    (account,) = objects_of_kind(run, "ServiceAccount")
    (role,) = run.of_type("aws:iam/role:Role")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("/example-irsa")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Federated": OIDC_ARN}
    assert trust["Condition"]["StringEquals"] == {
        "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:sub": "system:serviceaccount:example:example",
        "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:aud": "sts.amazonaws.com",
    }
    (policy,) = run.of_type("aws:iam/rolePolicy:RolePolicy")
    statement = json.loads(policy.inputs["policy"])["Statement"][0]
    assert statement["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert len(statement["Resource"]) == 2
    assert role.inputs["tags"]["service"] == "example"


def test_network_is_default_deny_with_only_the_needed_allows(runs):
    plan, run = runs["rolling"]
    policies = {p["metadata"]["name"]: p["spec"] for p in objects_of_kind(run, "NetworkPolicy")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allow = policies["example-allow"]
    ingress_ports = {port["port"] for rule in allow["ingress"] for port in rule["ports"]}
    assert ingress_ports == {8080}
    egress_ports = {(p["protocol"], p["port"]) for rule in allow["egress"] for p in rule["ports"]}
    assert egress_ports == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 5432)}
    no_db = run_service(service_args(service_plan(deployment_strategy="rolling"), database=False))
    (allow,) = [p for p in objects_of_kind(no_db, "NetworkPolicy") if p["metadata"]["name"] == "example-allow"]
    assert 5432 not in {p["port"] for rule in allow["spec"]["egress"] for p in rule["ports"]}


def test_namespace_enforces_restricted_pod_security(runs):
    _, run = runs["rolling"]
    (namespace,) = objects_of_kind(run, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_metrics_are_scraped_from_every_pod(runs, strategy):
    _, run = runs[strategy]
    (monitor,) = objects_of_kind(run, "ServiceMonitor")
    endpoint = monitor["spec"]["endpoints"][0]
    assert (endpoint["path"], endpoint["port"]) == ("/metrics", "http")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (metrics_service,) = [s for s in objects_of_kind(run, "Service") if s["metadata"]["name"] == "example-metrics"]
    assert metrics_service["spec"]["clusterIP"] == "None"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= metrics_service["metadata"]["labels"].items()


def test_no_plain_text_credentials_anywhere(runs):
    for _, run in runs.values():
        for resource in run.resources:
            for value in walk(resource.inputs):
                assert not (isinstance(value, str) and "password=" in value.lower())


def test_bad_args_fail_before_anything_is_created():
    plan = service_plan(deployment_strategy="canary")
    with pytest.raises(ComponentArgsError, match=r"image: pin the image by digest"):
        KubernetesService("x", service_args(plan, image="example:latest"))
    with pytest.raises(ComponentArgsError, match=r"ingress_cidrs"):
        KubernetesService("x", service_args(plan, ingress_cidrs=[]))
    with pytest.raises(ComponentArgsError, match=r"secret_key_arns: keys given for no secret"):
        KubernetesService("x", service_args(plan, secret_arns=[], secret_key_arns=["arn:aws:kms:us-east-1:1:key/k"]))
    import dataclasses

    bad_steps = dataclasses.replace(plan, rollout=dataclasses.replace(plan.rollout, canary_steps=(50, 25, 100)))
    with pytest.raises(ComponentArgsError, match=r"rollout\.canary_steps"):
        KubernetesService("x", service_args(bad_steps))


def test_the_ingress_serves_its_host_over_https_behind_the_web_acl_with_access_logs(runs):
    _, run = runs["canary"]
    (ingress,) = objects_of_kind(run, "Ingress")
    notes = ingress["metadata"]["annotations"]
    prefix = "alb.ingress.kubernetes.io/"
    assert json.loads(notes[prefix + "listen-ports"]) == [{"HTTP": 80}, {"HTTPS": 443}]
    assert notes[prefix + "ssl-redirect"] == "443"  # port 80 only redirects
    assert notes[prefix + "ssl-policy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    assert notes[prefix + "certificate-arn"] == EDGE.certificate_arn
    assert notes[prefix + "wafv2-acl-arn"] == EDGE.web_acl_arn
    attributes = dict(item.split("=", 1) for item in notes[prefix + "load-balancer-attributes"].split(","))
    assert attributes == {
        "access_logs.s3.enabled": "true",
        "access_logs.s3.bucket": EDGE.access_log_bucket,
        "access_logs.s3.prefix": EDGE.access_log_prefix,
        "routing.http.drop_invalid_header_fields.enabled": "true",
    }
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [EDGE.hostname]


def test_the_service_url_is_its_hostname_over_https():
    plan = service_plan()
    made = {}
    run_with_mocks(lambda: made.setdefault("svc", KubernetesService("example", service_args(plan))))
    assert made["svc"].url == f"https://{EDGE.hostname}"
    assert resolve(made["svc"].load_balancer_hostname).endswith(".elb.amazonaws.com")
