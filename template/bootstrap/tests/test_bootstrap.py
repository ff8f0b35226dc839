"""The bootstrap program (bootstrap/) under Pulumi mocks: what it creates passes the guardrails,
its roles trust only this repository's workflows, and it creates everything the workflows read.

The admin's own config (repository, reviewers, token) is stood in for by the deployability
rules' EXAMPLE_ADMIN_CONFIG.
"""

import json
import sys
from functools import cache
from pathlib import Path

import pytest

BOOTSTRAP = Path(__file__).resolve().parents[1]
ROOT = BOOTSTRAP.parent
sys.path[:0] = [str(ROOT / "infra"), str(BOOTSTRAP)]

import access  # noqa: E402
import settings as bootstrap_settings  # noqa: E402
from components import identity  # noqa: E402
from components.deployability import RepositoryView, check_repository  # noqa: E402
from components.deployability.bootstrap import bootstrap_config, bootstrap_view  # noqa: E402
from components.guardrails import Context, check_resources  # noqa: E402

PROJECT, CONFIG = bootstrap_config(ROOT)
SERVICE = CONFIG[f"{PROJECT}:service"]
ENVIRONMENTS = CONFIG[f"{PROJECT}:environments"]
REPOSITORY = CONFIG[f"{PROJECT}:repository"]
KIND = CONFIG.get(f"{PROJECT}:kind", "service")  # a platform repository runs this program too


@cache
def view():
    return bootstrap_view(ROOT)


def of_type(type_):
    return view().of_type(type_)


def roles():
    return {r.inputs["name"]: r for r in of_type("aws:iam/role:Role")}


def subjects(role):
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    condition = statement["Condition"]["StringEquals"]
    assert condition[f"{access.GITHUB_ISSUER}:aud"] == access.GITHUB_AUDIENCE
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    return set(condition[f"{access.GITHUB_ISSUER}:sub"])


def test_everything_it_creates_passes_the_guardrails():
    # The strictest context: the bootstrap's resources serve every environment, production included.
    violations = check_resources(view().resources, Context())
    assert not violations, "\n".join(map(str, violations))


def test_the_workflows_find_every_variable_secret_and_role_they_read():
    findings = check_repository(
        RepositoryView(ROOT, {}, view()),
        only=["workflow-inputs-bootstrapped", "workflow-roles-trusted", "role-session-outlasts-job"],
    )
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_has_its_roles_trusting_only_this_repository(env):
    by_name = roles()
    deploy = by_name[identity.deploy_role_name(SERVICE, env)]
    preview = by_name[identity.preview_role_name(SERVICE, env)]
    assert subjects(deploy) == {f"repo:{REPOSITORY}:environment:{env}"}
    assert subjects(preview) == {f"repo:{REPOSITORY}:pull_request", f"repo:{REPOSITORY}:ref:refs/heads/main"}
    assert deploy.inputs["permissionsBoundary"], "the deploy role is capped by its boundary"
    variables = {
        r.inputs["variableName"]: r.inputs["value"] for r in of_type("github:index/actionsVariable:ActionsVariable")
    }
    assert variables[identity.role_variable("DEPLOY", env)].endswith(f"role/{identity.deploy_role_name(SERVICE, env)}")
    assert variables[identity.role_variable("READONLY", env)].endswith(
        f"role/{identity.preview_role_name(SERVICE, env)}"
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_eks_environment_has_its_registry_before_the_first_deploy(env):
    names = {r.inputs["name"] for r in of_type("aws:ecr/repository:Repository")}
    if CONFIG[f"{PROJECT}:platform"] != "aws-eks" or KIND == "platform":
        assert not names, "a Lambda function ships as a zip, a platform ships no image: no registry"
        return
    assert identity.image_repository_name(SERVICE, env) in names


def test_production_waits_for_reviewers_and_every_environment_deploys_from_main_only():
    environments = {
        r.inputs["environment"]: r for r in of_type("github:index/repositoryEnvironment:RepositoryEnvironment")
    }
    assert set(environments) == set(ENVIRONMENTS)
    prod = environments["prod"]
    reviewers = prod.inputs["reviewers"][0]
    assert reviewers["users"] and reviewers["teams"], "every configured user and team reviews production"
    assert prod.inputs["preventSelfReview"] is True and prod.inputs["canAdminsBypass"] is False
    for environment in environments.values():
        assert environment.inputs["deploymentBranchPolicy"] == {
            "protectedBranches": False,
            "customBranchPolicies": True,
        }
    policies = of_type("github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy")
    assert {(p.inputs["environment"], p.inputs["branchPattern"]) for p in policies} == {
        (e, "main") for e in ENVIRONMENTS
    }


def test_an_existing_oidc_provider_is_adopted_not_created():
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    adopted = bootstrap_view(ROOT, github_oidc_provider_arn=arn)
    assert not adopted.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    for role in adopted.of_type("aws:iam/role:Role"):
        assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Federated": arn}


def test_the_s3_backend_gets_a_private_versioned_encrypted_tls_only_bucket():
    if CONFIG[f"{PROJECT}:pulumi_backend"] != "s3":
        assert not of_type("aws:s3/bucket:Bucket"), "Pulumi Cloud keeps the state: no bucket"
        return
    (bucket,) = of_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == CONFIG[f"{PROJECT}:state_bucket"]
    (versioning,) = of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    (encryption,) = of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    (block,) = of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    (policy,) = of_type("aws:s3/bucketPolicy:BucketPolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    aliases = {a.inputs["name"] for a in of_type("aws:kms/alias:Alias")}
    assert f"alias/{SERVICE}-pulumi-secrets" in aliases  # the secretsprovider of every Pulumi.<env>.yaml


def test_runners_get_a_kms_encrypted_secret_per_environment_on_eks():
    secrets = {s.inputs["name"]: s for s in of_type("aws:secretsmanager/secret:Secret")}
    if CONFIG[f"{PROJECT}:platform"] != "aws-eks":
        assert not secrets
        return
    for env in ENVIRONMENTS:
        secret = secrets[identity.runner_credentials_secret_name(SERVICE, env)]
        assert secret.inputs["kmsKeyId"], "encrypted with its own customer-managed key"
        assert "secretString" not in secret.inputs, "the credentials are put by hand, never through this state"


def test_the_preview_role_writes_nothing_but_the_state_lock():
    reads = ("Get", "List", "Describe", "Decrypt", "GenerateDataKey")
    for policy in of_type("aws:iam/rolePolicy:RolePolicy"):
        if not policy.name.endswith("-preview-state"):
            continue
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            writes = [a for a in actions if not a.split(":")[1].startswith(reads)]
            if statement["Effect"] == "Allow" and writes:
                assert writes == ["s3:PutObject", "s3:DeleteObject"], writes
                assert all("/.pulumi/locks/*" in r for r in statement["Resource"]), statement


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_deploy_role_writes_only_its_own_environments_state(env):
    policies = {p.name: p for p in of_type("aws:iam/rolePolicy:RolePolicy")}
    statements = json.loads(policies[f"{identity.deploy_role_name(SERVICE, env)}-deploy"].inputs["policy"])["Statement"]
    writes = [s for s in statements if s.get("Sid") == "StateWrite"]
    if CONFIG[f"{PROJECT}:pulumi_backend"] != "s3":
        assert not writes, "Pulumi Cloud keeps the state"
        return
    (write,) = writes
    assert all(f"{SERVICE}/{env}" in resource for resource in write["Resource"]), write["Resource"]


def test_managed_policies_fit_iam_size_limits():
    # Managed policies: 6,144 characters; a role's inline policies: 10,240 (whitespace not counted).
    for policy in of_type("aws:iam/policy:Policy"):
        assert len(json.dumps(json.loads(policy.inputs["policy"]), separators=(",", ":"))) < 6144, policy.name
    for policy in of_type("aws:iam/rolePolicy:RolePolicy"):
        assert len(json.dumps(json.loads(policy.inputs["policy"]), separators=(",", ":"))) < 10240, policy.name


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("repository", "not-a-repository", "<owner>/<name>"),
        ("prod_reviewers", [], "1 to 6 reviewers"),
        ("prod_reviewers", ["alice"], "user:<login> or team:<slug>"),
        ("github_oidc_provider_arn", "arn:aws:iam::1:oidc-provider/example.com", "token.actions.githubusercontent.com"),
        ("kind", "cluster", "one of service, platform"),
    ],
)
def test_bad_admin_config_is_refused_naming_the_key(key, value, message):
    values = {k.split(":", 1)[1]: v for k, v in CONFIG.items() if k.startswith(f"{PROJECT}:")} | {key: value}
    with pytest.raises(bootstrap_settings.SettingsError, match=message) as error:
        bootstrap_settings.from_config(values, "us-east-1").validate(PROJECT)
    assert f"{PROJECT}:{key}" in str(error.value)
