"""The generated bootstrap program (template/bootstrap/): rendered for both platforms and both
Pulumi backends, run under mocks, checked against the guardrails, the workflows of the same
repository and the service stacks it prepares for.

Two renders cover the four corners (EKS on s3 with a database at 99.99, Lambda on Pulumi Cloud
without one); the generated repo's own bootstrap/tests run in test_generated_suite."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from conftest import render
from platform_pair import PLATFORM

from pulumi_components import identity
from pulumi_components.deployability import RepositoryView, check_repository
from pulumi_components.deployability.bootstrap import bootstrap_view
from pulumi_components.deployability.pipeline_roles import iam_service
from pulumi_components.deployability.rules_common import as_list
from pulumi_components.guardrails import Context, check_resources
from pulumi_components.testing import RELEASE_IMAGE, run_program, stack_config

BOOTSTRAP_RULES = ["workflow-inputs-bootstrapped", "workflow-roles-trusted", "role-session-outlasts-job"]
CORNERS = {
    "eks-s3": dict(platform="aws-eks", pulumi_backend="s3", database="postgres", sla=99.99),
    "lambda-cloud": dict(platform="aws-lambda", pulumi_backend="pulumi-cloud", database="none", sla=99.9),
}
_repos: dict[str, Path] = {}


@pytest.fixture(scope="module", params=sorted(CORNERS))
def corner(request, tmp_path_factory) -> tuple[str, Path]:
    name = request.param
    if name not in _repos:
        _repos[name] = render(tmp_path_factory.mktemp(name) / "svc", service_slug="svc", **CORNERS[name])
    return name, _repos[name]


def _access(repo: Path, module: str = "access"):
    """The generated bootstrap/access.py (or another module of bootstrap/), imported from the rendered repo."""
    spec = importlib.util.spec_from_file_location(f"{module}_{id(repo)}", repo / "bootstrap" / f"{module}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_bootstrap_passes_the_guardrails_and_serves_every_workflow(corner):
    name, repo = corner
    view = bootstrap_view(repo)
    violations = check_resources(view.resources, Context())
    assert not violations, "\n".join(map(str, violations))
    findings = check_repository(RepositoryView(repo, {}, view), only=BOOTSTRAP_RULES)
    assert not findings, "\n".join(map(str, findings))
    types = {r.type for r in view.resources}
    assert ("aws:s3/bucket:Bucket" in types) is (CORNERS[name]["pulumi_backend"] == "s3")
    assert ("aws:secretsmanager/secret:Secret" in types) is (CORNERS[name]["platform"] == "aws-eks")
    assert ("github:index/actionsSecret:ActionsSecret" in types) is (CORNERS[name]["pulumi_backend"] == "pulumi-cloud")
    roles = {r.inputs["name"] for r in view.of_type("aws:iam/role:Role")}
    assert ("svc-restore-test" in roles) is (CORNERS[name]["database"] == "postgres")
    for env in ("dev", "staging", "prod"):
        assert {identity.deploy_role_name("svc", env), identity.preview_role_name("svc", env)} <= roles


def test_the_secrets_provider_the_stacks_name_is_the_key_the_bootstrap_creates(corner):
    name, repo = corner
    view = bootstrap_view(repo)
    aliases = {a.inputs["name"] for a in view.of_type("aws:kms/alias:Alias")}
    for stack in ("dev", "staging", "prod"):
        text = (repo / f"Pulumi.{stack}.yaml").read_text()
        provider = next(
            (line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("secretsprovider:")), None
        )
        if CORNERS[name]["pulumi_backend"] == "s3":
            assert provider == view.outputs["secrets_provider"]
            assert provider.removeprefix("awskms://").split("?")[0] in aliases
        else:
            assert provider is None


def test_the_deploy_role_may_do_what_the_service_stack_does(corner):
    """Every AWS service the service program creates resources in is granted to the deploy role,
    every AWS-managed policy it attaches is one the boundary lets it attach, and every role it
    creates is named under the environment's prefix (the deploy role's IAM scope)."""
    name, repo = corner
    access = _access(repo)
    granted = set(access.services(CORNERS[name]["platform"], CORNERS[name]["database"] == "postgres"))
    granted |= {"iam", "ecr", "secretsmanager"}
    for stack in ("dev", "prod"):
        config = stack_config(repo / f"Pulumi.{stack}.yaml") | {"svc:image": RELEASE_IMAGE}  # a release
        run = run_program(repo / "infra", project="svc", stack=stack, config=config)
        for resource in run.resources:
            if resource.type.startswith("aws:"):
                service = iam_service(resource.type)
                assert service in granted, f"{resource.type}: the deploy role is not granted {service}"
            if resource.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
                policy = resource.inputs["policyArn"].split(":policy/", 1)[1]
                assert policy in access.ATTACHABLE_AWS_POLICIES, policy
            if resource.type == "aws:iam/role:Role":
                assert resource.name.startswith(f"svc-{stack}-"), resource.name
                for statement in json.loads(resource.inputs["assumeRolePolicy"])["Statement"]:
                    for principal in as_list(statement["Principal"].get("Service")):
                        assert principal in access.PASSED_TO, f"{resource.name} is passed to {principal}"


def test_policies_fit_iam_size_limits_for_the_longest_names():
    access = _access(Path(__file__).resolve().parents[1] / "template")
    service = "s" * 40  # the longest service slug the questionnaire accepts
    scope = access.Scope(
        service=service,
        env="staging",
        repository=f"{'o' * 39}/{'r' * 100}",
        account_id="123456789012",
        partition="aws-us-gov",
        regions=("us-gov-west-1", "us-gov-east-1"),
        platform="aws-eks",
        database=True,
        registry_arn=f"arn:aws-us-gov:ecr:us-gov-west-1:123456789012:repository/{service}-staging",
        state_bucket="b" * 63,
        secrets_key_arn="arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/" + "0" * 36,
    )
    oidc = "arn:aws-us-gov:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    boundary = access.deploy_boundary(
        scope, (f"{service}-staging-deploy", f"{service}-staging-preview"), ("x" * 70,), oidc
    )
    compact = lambda document: len(json.dumps(json.loads(document), separators=(",", ":")))  # noqa: E731
    assert compact(boundary) < 6144  # a managed policy's limit
    assert compact(access.deploy_policy(scope)) < 10240  # a role's inline policies
    assert compact(access.preview_policy(scope)) + compact(access.restore_test_policy(scope)) < 10240


def test_a_platforms_bootstrap_makes_the_roles_its_cluster_names_and_no_service_parts(tmp_path):
    """kind platform: the same program, with the platform's names, permissions fit for a cluster, the
    runners' secret, and neither registry nor restore-test role; a platform with a database is refused."""
    # The platform of tests/test_platform_pair.py: one render for both.
    root = render(tmp_path / "platform", **PLATFORM)
    view = bootstrap_view(root)
    roles = {r.inputs["name"] for r in view.of_type("aws:iam/role:Role")}
    envs = ("dev", "staging", "prod")
    # The names the platform's access entries give them (workflow-roles-are-cluster-principals holds the pair).
    kinds = (identity.deploy_role_name, identity.preview_role_name)
    assert roles == {name("platform", env) for env in envs for name in kinds}
    assert not view.of_type("aws:ecr/repository:Repository")
    secrets = {s.inputs["name"] for s in view.of_type("aws:secretsmanager/secret:Secret")}
    assert secrets == {identity.runner_credentials_secret_name("platform", env) for env in envs}
    (policy,) = [p for p in view.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "platform-prod-deploy-deploy"]
    services = {a.split(":")[0] for s in json.loads(policy.inputs["policy"])["Statement"] for a in as_list(s["Action"])}
    assert services == {"ec2", "eks", "kms", "logs", "iam", "secretsmanager", "sts"}
    access = _access(root)
    module = _access(root, "settings")
    values = {"kind": "platform", "service": "platform", "platform": "aws-eks", "environments": ["prod"]}
    values |= {"pulumi_backend": "pulumi-cloud", "repository": "acme/platform", "prod_reviewers": ["user:a"]}
    module.from_config(values, "us-east-1").validate("platform-bootstrap")
    with pytest.raises(
        module.SettingsError, match="platform-bootstrap:kind platform runs on aws-eks without a database"
    ):
        module.from_config(values | {"database": "postgres"}, "us-east-1").validate("platform-bootstrap")
    assert access.services("aws-eks", False, "platform") == access.KIND_SERVICES["platform"]
