"""PlatformAddons under Pulumi mocks, with the values files a generated repo ships."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from chart_keys import unknown_keys
from conftest import render

from pulumi_components import ComponentArgsError
from pulumi_components.charts import CHARTS
from pulumi_components.guardrails import Context, Resource, check_resources
from pulumi_components.kubernetes_cluster import NodeAutoscaling
from pulumi_components.platform_addons import (
    DEFAULT_STORAGE_CLASS,
    PlatformAddons,
    PlatformAddonsArgs,
    chart_values,
    helm_release,
    load_balancer_controller_policy,
)
from pulumi_components.testing import run_with_mocks

RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "arn:aws:iam::123456789012:role/example-prod-alb-controller"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/0123"
AUTOSCALER_ROLE = "arn:aws:iam::123456789012:role/example-prod-cluster-autoscaler"
UPSTREAM_POLICY = Path(__file__).parent / "reference" / "aws-load-balancer-controller" / "iam_policy.json"


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    base = tmp_path_factory.mktemp("addons")
    return {
        strategy: render(base / strategy, platform="aws-eks", deployment_strategy=strategy)
        for strategy in ("rolling", "canary", "blue-green")
    } | {"lambda": render(base / "lambda", platform="aws-lambda")}


def addons_args(repo, strategy, **overrides):
    values = dict(
        cluster_name="example-prod",
        region="eu-west-1",
        vpc_id="vpc-0123",
        strategy=strategy,
        values_dir=repo / "deploy",
        load_balancer_role_arn=ROLE,
        volume_key_arn=KEY,
        autoscaling=NodeAutoscaling(role_arn=AUTOSCALER_ROLE, image_tag="v1.34.5"),
        tags={"service": "example", "environment": "prod"},
    )
    return PlatformAddonsArgs(**{**values, **overrides})


def releases(repo, strategy, **overrides):
    run = run_with_mocks(lambda: PlatformAddons("example-prod", addons_args(repo, strategy, **overrides)))
    return {r.inputs["chart"]: r for r in run.of_type(RELEASE)}


@pytest.mark.parametrize("strategy", ["rolling", "canary", "blue-green"])
def test_argo_rollouts_only_when_the_strategy_needs_it(repos, strategy):
    installed = set(releases(repos[strategy], strategy, autoscaling=None))
    base = {"metrics-server", "external-secrets", "aws-load-balancer-controller"}
    assert installed == (base if strategy == "rolling" else base | {"argo-rollouts"})
    assert (repos[strategy] / "deploy" / "argo-rollouts.yaml").exists() == (strategy != "rolling")


def test_releases_are_pinned_atomic_and_in_their_namespaces(repos):
    for chart, release in releases(repos["canary"], "canary").items():
        pinned = CHARTS[chart]
        assert release.inputs["version"] == pinned.version
        assert release.inputs["repositoryOpts"] == {"repo": pinned.repo}
        assert release.inputs["namespace"] == pinned.namespace
        assert release.inputs["atomic"] is True


def test_values_come_from_the_files_with_deploy_time_facts_on_top(repos):
    installed = releases(repos["canary"], "canary")
    lbc = installed["aws-load-balancer-controller"].inputs["values"]
    assert lbc["clusterName"] == "example-prod"
    assert lbc["vpcId"] == "vpc-0123"
    assert lbc["region"] == "eu-west-1"
    assert lbc["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE}
    assert lbc["defaultTags"] == {"service": "example", "environment": "prod"}
    assert lbc["replicaCount"] == 2  # from deploy/aws-load-balancer-controller.yaml
    on_disk = yaml.safe_load((repos["canary"] / "deploy" / "argo-rollouts.yaml").read_text())
    assert installed["argo-rollouts"].inputs["values"] == on_disk


@pytest.mark.parametrize("strategy", ["rolling", "canary", "blue-green"])
def test_every_value_key_exists_in_the_pinned_chart(repos, strategy):
    for chart, release in releases(repos[strategy], strategy).items():
        assert unknown_keys(chart, CHARTS[chart].version, release.inputs["values"]) == [], chart


def test_the_key_check_would_catch_a_typo(repos):
    values = chart_values(repos["canary"] / "deploy", "argo-rollouts", {"controller": {"replica": 2}})
    assert unknown_keys("argo-rollouts", CHARTS["argo-rollouts"].version, values) == ["controller.replica"]


def test_lambda_repos_ship_no_cluster_values(repos):
    charts = ("argo-rollouts", "aws-load-balancer-controller", "external-secrets", "metrics-server")
    assert not [chart for chart in charts if (repos["lambda"] / "deploy" / f"{chart}.yaml").exists()]


def test_helm_release_is_reusable_for_any_pinned_chart(tmp_path):
    (tmp_path / "loki.yaml").write_text("deploymentMode: SingleBinary\n")

    def build():
        import pulumi

        class Holder(pulumi.ComponentResource):
            def __init__(self):
                super().__init__("groundwork:index:Holder", "holder")
                helm_release("holder-loki", "loki", parent=self, values_dir=tmp_path, overrides={"x": {"y": 1}})

        Holder()

    run = run_with_mocks(build)
    (release,) = run.of_type(RELEASE)
    assert release.inputs["values"] == {"deploymentMode": "SingleBinary", "x": {"y": 1}}
    assert release.inputs["version"] == CHARTS["loki"].version
    with pytest.raises(ComponentArgsError, match=r"values_dir: .*nginx\.yaml is missing"):
        chart_values(tmp_path, "nginx")


def test_bad_args_name_the_setting(repos, tmp_path):
    with pytest.raises(ComponentArgsError, match=r"rollout\.strategy"):
        PlatformAddons("x", addons_args(repos["canary"], "big-bang"))
    with pytest.raises(ComponentArgsError, match=r"values_dir"):
        PlatformAddons("x", addons_args(repos["canary"], "canary", values_dir=tmp_path / "missing"))


def test_load_balancer_policy_is_the_upstream_document():
    assert json.loads(load_balancer_controller_policy()) == json.loads(UPSTREAM_POLICY.read_text())


def test_upstream_load_balancer_policy_passes_the_guardrails():
    # Upstream lists every action (no `*` or `service:*`); its wildcard resources are scoped by the
    # `elbv2.k8s.aws/cluster` tag conditions or by resource type, which the guardrail accepts.
    role_policy = Resource("aws:iam/rolePolicy:RolePolicy", "alb", {"policy": load_balancer_controller_policy()})
    assert check_resources([role_policy], Context()) == []


def test_default_storage_class_is_encrypted_gp3_with_the_volume_key(repos):
    run = run_with_mocks(lambda: PlatformAddons("example-prod", addons_args(repos["rolling"], "rolling")))
    (storage,) = run.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage.inputs["metadata"] == {
        "name": DEFAULT_STORAGE_CLASS,
        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
    }
    assert storage.inputs["provisioner"] == "ebs.csi.aws.com"
    assert storage.inputs["parameters"] == {"type": "gp3", "encrypted": "true", "kmsKeyId": KEY}
    assert storage.inputs["volumeBindingMode"] == "WaitForFirstConsumer"


def test_cluster_autoscaler_discovers_this_cluster_with_its_role_and_image(repos):
    values = releases(repos["rolling"], "rolling")["cluster-autoscaler"].inputs["values"]
    assert values["autoDiscovery"]["clusterName"] == "example-prod"
    assert values["awsRegion"] == "eu-west-1"
    assert values["image"]["tag"] == "v1.34.5"
    account = values["rbac"]["serviceAccount"]
    assert account["name"] == "cluster-autoscaler"
    assert account["annotations"] == {"eks.amazonaws.com/role-arn": AUTOSCALER_ROLE}
    assert values["cloudProvider"] == "aws"  # from deploy/cluster-autoscaler.yaml
