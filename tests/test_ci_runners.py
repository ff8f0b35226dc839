"""CiRunners under Pulumi mocks, with the values files a generated EKS repo ships."""

from __future__ import annotations

import json

import pytest
from chart_keys import unknown_keys
from conftest import render

from pulumi_components import ComponentArgsError, identity
from pulumi_components.charts import CHARTS
from pulumi_components.ci_runners import (
    CONTROLLER_CHART,
    SCALE_SET_CHART,
    CiRunners,
    CiRunnersArgs,
    bootstrap_api_cidrs,
    runner_secret_policy,
)
from pulumi_components.testing import ACCOUNT_ID, run_with_mocks

RELEASE = "kubernetes:helm.sh/v3:Release"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return render(tmp_path_factory.mktemp("runners") / "svc", platform="aws-eks", service_slug="payments")


def runner_args(repo, **overrides):
    values = dict(
        service="payments",
        env="prod",
        region="eu-west-1",
        github_repository="acme/payments",
        values_dir=repo / "deploy",
        oidc_provider_arn=OIDC_ARN,
        oidc_issuer=ISSUER,
        tags={"service": "payments", "environment": "prod"},
    )
    return CiRunnersArgs(**{**values, **overrides})


@pytest.fixture(scope="module")
def run(repo):
    return run_with_mocks(lambda: CiRunners("payments-prod", runner_args(repo)), region="eu-west-1")


def releases(run):
    return {r.inputs["chart"].rsplit("/", 1)[-1]: r for r in run.of_type(RELEASE)}


def kube(run, kind):
    return {r.inputs["metadata"]["name"]: r for r in run.resources if r.type.endswith(f":{kind}")}


def test_both_charts_are_pinned_oci_releases_in_their_namespaces(run):
    installed = releases(run)
    assert set(installed) == {CONTROLLER_CHART, SCALE_SET_CHART}
    for chart, release in installed.items():
        pinned = CHARTS[chart]
        assert release.inputs["chart"] == f"oci://ghcr.io/actions/actions-runner-controller-charts/{chart}"
        assert release.inputs["version"] == pinned.version
        assert "repositoryOpts" not in release.inputs  # an OCI chart has no repository index
        assert release.inputs["namespace"] == pinned.namespace
        assert release.inputs["atomic"] is True


def test_the_scale_set_is_named_for_the_workflows_and_registers_with_the_repository(run):
    values = releases(run)[SCALE_SET_CHART].inputs["values"]
    assert values["runnerScaleSetName"] == identity.runner_scale_set_name("payments", "prod") == "payments-prod"
    assert values["githubConfigUrl"] == "https://github.com/acme/payments"
    assert values["githubConfigSecret"] == "github-app"  # written by External Secrets, never a value here
    assert 0 <= values["minRunners"] < values["maxRunners"]
    controller = releases(run)[CONTROLLER_CHART].inputs["values"]
    assert values["controllerServiceAccount"] == {
        "namespace": CHARTS[CONTROLLER_CHART].namespace,
        "name": controller["serviceAccount"]["name"],
    }


def test_every_value_key_exists_in_the_pinned_chart(run):
    for chart, release in releases(run).items():
        assert unknown_keys(chart, CHARTS[chart].version, release.inputs["values"]) == [], chart


def test_the_key_check_would_catch_a_typo(run):
    values = {**releases(run)[SCALE_SET_CHART].inputs["values"], "maxRunner": 3}
    assert unknown_keys(SCALE_SET_CHART, CHARTS[SCALE_SET_CHART].version, values) == ["maxRunner"]


def test_runner_pods_are_restricted_and_sized(run):
    spec = releases(run)[SCALE_SET_CHART].inputs["values"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (runner,) = spec["containers"]
    assert runner["name"] == "runner"
    assert runner["image"].startswith("ghcr.io/actions/actions-runner:") and not runner["image"].endswith(":latest")
    assert runner["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert {"cpu", "memory"} <= set(runner["resources"]["requests"])
    assert "memory" in runner["resources"]["limits"]
    # A node running a job (a `pulumi up`) is not scaled in under it.
    metadata = releases(run)[SCALE_SET_CHART].inputs["values"]["template"]["metadata"]
    assert metadata["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
    namespace = kube(run, "Namespace")["arc-runners"]
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_github_app_reaches_the_namespace_through_external_secrets(run):
    (secret,) = kube(run, "ExternalSecret").values()
    spec = secret.inputs["spec"]
    assert spec["target"]["name"] == releases(run)[SCALE_SET_CHART].inputs["values"]["githubConfigSecret"]
    assert spec["dataFrom"] == [{"extract": {"key": identity.runner_credentials_secret_name("payments", "prod")}}]
    store = kube(run, "SecretStore")[spec["secretStoreRef"]["name"]]
    account = store.inputs["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"]["name"]
    sa = kube(run, "ServiceAccount")[account]
    role = next(r for r in run.of_type("aws:iam/role:Role") if "ci-runners" in r.name)
    assert sa.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(role.name)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert f"system:serviceaccount:arc-runners:{account}" in trust.values()


def test_the_role_reads_only_its_secret_and_decrypts_it_only_through_secrets_manager(run):
    (policy,) = [r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if "ci-runners" in r.name]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    name = identity.runner_credentials_secret_name("payments", "prod")
    arn = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT_ID}:secret:{name}-??????"
    assert statements["ReadGitHubApp"]["Resource"] == arn
    decrypt = statements["DecryptGitHubApp"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    assert decrypt["Condition"]["StringLike"] == {"kms:EncryptionContext:SecretARN": arn}


def test_runners_may_only_resolve_names_and_speak_https(run):
    policies = kube(run, "NetworkPolicy")
    assert policies["default-deny"].inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    egress = policies["runner-egress"].inputs["spec"]["egress"]
    ports = sorted((p["protocol"], p["port"]) for rule in egress for p in rule["ports"])
    assert ports == [("TCP", 53), ("TCP", 443), ("UDP", 53)]
    assert "ingress" not in policies["runner-egress"].inputs["spec"]


def test_the_component_and_its_aws_resources_carry_the_shared_tags(run):
    (component,) = [r for r in run.resources if r.type == "groundwork:index:CiRunners"]
    assert component.name == "payments-prod"
    (role,) = [r for r in run.of_type("aws:iam/role:Role") if "ci-runners" in r.name]
    assert {"service": "payments", "environment": "prod"}.items() <= role.inputs["tags"].items()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"github_repository": "payments"}, r"repository must be the GitHub repository as owner/name"),
        ({"github_repository": "https://github.com/acme/payments"}, r"owner/name"),
        ({"min_runners": 4, "max_runners": 3}, r"min_runners <= max_runners"),
        ({"max_runners": 0}, r"max_runners >= 1"),
    ],
)
def test_bad_args_name_the_setting(repo, overrides, message):
    with pytest.raises(ComponentArgsError, match=message):
        runner_args(repo, **overrides).validate()


def test_a_missing_values_dir_is_named(repo, tmp_path):
    with pytest.raises(ComponentArgsError, match=r"values_dir"):
        runner_args(repo, values_dir=tmp_path / "missing").validate()


def test_bootstrap_cidrs_are_single_admin_hosts():
    assert bootstrap_api_cidrs(None) == ()
    assert bootstrap_api_cidrs([]) == ()
    assert bootstrap_api_cidrs(["203.0.113.7/32", "198.51.100.9/32"]) == ("203.0.113.7/32", "198.51.100.9/32")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["0.0.0.0/0"], r"never 0\.0\.0\.0/0"),
        (["203.0.113.0/24"], r"more than one host"),
        (["2001:db8::1/128"], r"more than one host"),  # the EKS public endpoint filter is IPv4
        (["203.0.113.7"], None),  # a bare address is a /32
        (["203.0.113.7/33"], r"not an IPv4 address in CIDR form"),
        (["my-laptop"], r"not an IPv4 address"),
        ("203.0.113.7/32", r"must be a list"),
    ],
)
def test_bootstrap_cidrs_reject_anything_wider(value, message):
    if message is None:
        assert bootstrap_api_cidrs(value) == ("203.0.113.7/32",)
        return
    with pytest.raises(ComponentArgsError, match=message):
        bootstrap_api_cidrs(value)


def test_the_secret_policy_names_the_partition_and_region():
    statements = json.loads(runner_secret_policy("aws-us-gov", "us-gov-west-1", "1", "svc/prod/x"))["Statement"]
    assert statements[0]["Resource"] == "arn:aws-us-gov:secretsmanager:us-gov-west-1:1:secret:svc/prod/x-??????"
    assert statements[1]["Resource"] == "arn:aws-us-gov:kms:us-gov-west-1:1:key/*"
