"""KubernetesService's object bodies, built by pure functions of the args: tested without Pulumi."""

from __future__ import annotations

import dataclasses

import pytest
from service_fixtures import DB_SECRET_ARN, SECRET_ARN, service_args, service_plan

from pulumi_components import kubernetes_service as ks
from pulumi_components.reliability.plan import PROMETHEUS_SCRAPE_INTERVAL_SECONDS

STRATEGIES = ("rolling", "canary", "blue-green")


@pytest.fixture(scope="module", params=STRATEGIES)
def args(request):
    return service_args(service_plan(deployment_strategy=request.param))


def test_secrets_are_named_in_order_and_mounted_read_only_from_files():
    plan = service_plan()
    both = service_args(plan, secret_arns=[SECRET_ARN, SECRET_ARN])
    assert ks.secret_names(both) == ["example-secrets-0", "example-secrets-1", "example-database"]
    assert ks.secret_names(service_args(plan, secret_arns=[], database=False)) == []
    spec = ks.pod_template(both)["spec"]
    (container,) = spec["containers"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    for name in ks.secret_names(both):
        assert mounts[name] == {"name": name, "mountPath": f"/run/secrets/{name}", "readOnly": True}
        assert volumes[name]["secret"] == {"secretName": name, "defaultMode": 0o440}
    assert volumes["tmp"]["emptyDir"] == {"medium": "Memory", "sizeLimit": ks.TMP_VOLUME_SIZE}


def test_the_database_url_is_assembled_by_external_secrets_without_the_password():
    database = service_args(service_plan()).database
    source = ks.database_source(database, "db.example.internal", DB_SECRET_ARN)
    url = source["template"]["data"]["DATABASE_URL"]
    assert url == (
        "postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}"
        "@db.example.internal:5432/app?sslmode=require"
    )
    assert [d["remoteRef"] for d in source["data"]] == [
        {"key": DB_SECRET_ARN, "property": "username"},
        {"key": DB_SECRET_ARN, "property": "password"},
    ]
    spec = ks.external_secret_spec(service_args(service_plan()), "example-database", source)
    # The template shapes the written Secret; the remote references stay at the top.
    assert spec["target"] == {"name": "example-database", "creationPolicy": "Owner", "template": source["template"]}
    assert spec["data"] == source["data"] and "template" not in spec
    assert spec["secretStoreRef"] == {"name": "example", "kind": "SecretStore"}
    plain = ks.external_secret_spec(service_args(service_plan()), "example-secrets-0", {"dataFrom": ["x"]})
    assert plain["target"] == {"name": "example-secrets-0", "creationPolicy": "Owner"}


def test_the_database_host_on_the_pod_template_rolls_the_pods_when_it_changes():
    plan = service_plan()
    with_db = ks.pod_template(service_args(plan))["metadata"]
    assert with_db["annotations"] == {ks.DATABASE_ANNOTATION: "example.cluster-abc.us-east-1.rds.amazonaws.com"}
    assert "annotations" not in ks.pod_template(service_args(plan, database=False))["metadata"]


def test_the_team_cannot_shorten_the_graceful_timeout_the_grace_period_is_sized_for():
    args = service_args(service_plan(), config={"LOG_LEVEL": "debug", "GRACEFUL_TIMEOUT_SECONDS": "120"})
    data = ks.config_data(args)
    assert data["GRACEFUL_TIMEOUT_SECONDS"] == str(ks.APP_GRACEFUL_TIMEOUT_SECONDS)
    assert data["LOG_LEVEL"] == "debug" and data["PORT"] == "8080"


def test_services_and_backends_follow_the_strategy(args):
    strategy = args.plan.rollout.strategy
    assert (
        ks.service_names(args)
        == {
            "rolling": ["example"],
            "canary": ["example", "example-stable", "example-canary"],
            "blue-green": ["example", "example-preview"],
        }[strategy]
    )
    backend = ks.ingress_spec(args)["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["port"] == ({"name": "use-annotation"} if strategy == "canary" else {"number": 80})
    assert ks.metrics_service_spec(args)["clusterIP"] == "None"


def test_pods_of_one_version_spread_over_zones_and_nodes(args):
    constraints = ks.pod_template(args)["spec"]["topologySpreadConstraints"]
    expected = "pod-template-hash" if args.plan.rollout.strategy == "rolling" else "rollouts-pod-template-hash"
    assert {c["topologyKey"]: c["whenUnsatisfiable"] for c in constraints} == {
        "topology.kubernetes.io/zone": "DoNotSchedule",
        "kubernetes.io/hostname": "ScheduleAnyway",
    }
    assert all(c["matchLabelKeys"] == [expected] and c["maxSkew"] == 1 for c in constraints)


def test_a_deployment_or_a_rollout_with_the_same_pods(args):
    strategy = args.plan.rollout.strategy
    spec = ks.deployment_spec(args) if strategy == "rolling" else ks.rollout_spec(args)
    assert spec["template"] == ks.pod_template(args)
    assert spec["replicas"] == args.plan.workload.replicas_min
    assert spec["revisionHistoryLimit"] == ks.REVISION_HISTORY_LIMIT
    target = ks.autoscaler_spec(args)["scaleTargetRef"]
    assert target["kind"] == ("Deployment" if strategy == "rolling" else "Rollout")
    if strategy == "rolling":
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    else:
        assert spec["progressDeadlineAbort"] is True


def test_canary_steps_pause_between_weights_and_not_after_the_last():
    args = service_args(service_plan(deployment_strategy="canary"))
    plan = dataclasses.replace(args.plan, rollout=dataclasses.replace(args.plan.rollout, canary_steps=(10, 100)))
    canary = ks.rollout_strategy(dataclasses.replace(args, plan=plan))["canary"]
    pause = {"pause": {"duration": f"{plan.rollout.pause_seconds}s"}}
    assert canary["steps"] == [{"setWeight": 10}, pause, {"setWeight": 100}]
    assert canary["analysis"] == ks.analysis_ref("example")


def test_blue_green_analyses_the_preview_then_the_new_active_colour():
    args = service_args(service_plan(deployment_strategy="blue-green"))
    blue_green = ks.rollout_strategy(args)["blueGreen"]
    assert blue_green["prePromotionAnalysis"] == blue_green["postPromotionAnalysis"] == ks.analysis_ref("example")
    assert ks.analysis_ref("example")["args"][0]["valueFrom"] == {"podTemplateHashValue": "Latest"}


def test_network_allows_follow_the_strategy_the_database_and_tracing():
    def peers(args):
        return [peer for rule in ks.network_policy_spec(args)["ingress"] for peer in rule["from"]]

    def egress_ports(args):
        return {p["port"] for rule in ks.network_policy_spec(args)["egress"] for p in rule["ports"]}

    argo = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "argo-rollouts"}}}
    assert argo in peers(service_args(service_plan(deployment_strategy="blue-green")))
    assert argo not in peers(service_args(service_plan(deployment_strategy="canary")))
    standard = service_args(service_plan(monitoring_level="standard"), database=False)
    assert egress_ports(standard) == {53, 443}
    assert 4318 in egress_ports(service_args(service_plan(monitoring_level="comprehensive"), database=False))
    # The database's own CIDRs when it names them, else the VPC's.
    with_db = service_args(service_plan())
    elsewhere = dataclasses.replace(with_db.database, cidrs=["10.99.0.0/24"])
    database_rule = ks.network_policy_spec(dataclasses.replace(with_db, database=elsewhere))["egress"][-1]
    assert database_rule == {
        "to": [{"ipBlock": {"cidr": "10.99.0.0/24"}}],
        "ports": [{"protocol": "TCP", "port": 5432}],
    }
    assert ks.default_deny_spec() == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_scrapes_read_the_version_label_only_under_argo_rollouts(args):
    spec = ks.service_monitor_spec(args)
    rollouts = args.plan.rollout.strategy != "rolling"
    assert spec.get("podTargetLabels") == (["rollouts-pod-template-hash"] if rollouts else None)
    (endpoint,) = spec["endpoints"]
    assert endpoint["scrapeTimeout"] == f"{ks.SCRAPE_TIMEOUT_SECONDS}s"
    assert ks.SCRAPE_TIMEOUT_SECONDS < PROMETHEUS_SCRAPE_INTERVAL_SECONDS  # Prometheus refuses a longer timeout
    assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/name": "example", ks.METRICS_SERVICE_LABEL: "true"}


def test_probe_timings_take_a_pod_out_of_rotation_before_restarting_it():
    def budget(timing):
        return timing.period_seconds * timing.failure_threshold

    assert budget(ks.READINESS_PROBE) < budget(ks.LIVENESS_PROBE)
    assert budget(ks.STARTUP_PROBE) == 60
    for timing in (ks.STARTUP_PROBE, ks.LIVENESS_PROBE, ks.READINESS_PROBE):
        assert ks.PROBE_TIMEOUT_SECONDS <= timing.period_seconds  # one probe at a time
    (container,) = ks.pod_template(service_args(service_plan()))["spec"]["containers"]
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/readyz", "port": "http"},
        "periodSeconds": 5,
        "timeoutSeconds": 2,
        "failureThreshold": 2,
    }
