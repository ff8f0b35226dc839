"""What the pipelines need before their first run, created once per AWS account and repository
by an admin (README, "Deploy"):

- AWS: GitHub's OIDC provider (or the account's existing one), and per environment a deploy role
  and a read-only preview role that only this repository's workflows may assume; on EKS, the image
  registry and the secret its in-cluster runners read; with the s3 backend, the state bucket and
  the secrets key; with a database, the restore-test role.
- GitHub: an environment per stack (production behind required reviewers, deploys from main only)
  and every Actions variable and secret the workflows read.

A platform repository (kind platform) runs this program too: its roles, under the names its cluster's
access entries give (identity.py), may change a platform's network, cluster and add-on roles; the
secret of its runners is made here; it has no registry and no database.

`pulumi up` of the service stacks needs all of it; none of it is in their state, so destroying an
environment never removes the roles that would rebuild it.
"""

import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_github as github

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "infra"))  # the vendored components

from access import (  # noqa: E402
    GITHUB_AUDIENCE,
    GITHUB_ISSUER,
    MAIN,
    Scope,
    deploy_boundary,
    deploy_claims,
    deploy_policy,
    github_trust,
    preview_claims,
    preview_policy,
    restore_test_policy,
)
from components import ContainerRegistry, ContainerRegistryArgs, identity  # noqa: E402
from components._base import child, policy_json, type_token  # noqa: E402
from components.kms import kms_key  # noqa: E402
from settings import from_config, reviewers  # noqa: E402

CONFIG_KEYS = ("kind", "service", "platform", "pulumi_backend", "repository", "database", "state_bucket", "dr_region")
OBJECT_KEYS = ("environments", "prod_reviewers", "tags")
RESTORE_TEST_VARIABLE = "AWS_RESTORE_TEST_ROLE"
PULUMI_TOKEN_SECRET = "PULUMI_ACCESS_TOKEN"
READ_ONLY = "arn:{partition}:iam::aws:policy/ReadOnlyAccess"
SESSION_SECONDS = 3600  # what aws-actions/configure-aws-credentials asks for unless told otherwise

config = pulumi.Config()
values = {key: config.get(key) for key in (*CONFIG_KEYS, "github_oidc_provider_arn") if config.get(key)}
values |= {key: config.get_object(key) for key in OBJECT_KEYS if config.get(key)}
settings = from_config(values, pulumi.Config("aws").require("region"))
settings.validate(pulumi.get_project())
service = settings.service


def tags(env: str) -> dict[str, str]:
    return {**settings.tags, "environment": env}


SHARED = tags("shared")  # resources every environment relies on


class StateBackend(pulumi.ComponentResource):
    """The s3 backend: a versioned, KMS-encrypted, private, TLS-only bucket for the stacks' state,
    and the key that encrypts their secrets (`awskms://alias/<service>-pulumi-secrets`)."""

    def __init__(self, name: str, bucket_name: str) -> None:
        super().__init__(type_token("StateBackend"), name)
        # Losing the bucket loses every stack: it is protected (`pulumi destroy` refuses it until
        # `pulumi state unprotect`), and the key waits 30 days before it is deleted.
        keep = pulumi.ResourceOptions(parent=self, protect=True)
        self.key = kms_key(
            f"{service}-pulumi-secrets", description=f"Pulumi state and secrets of {service}", parent=self, tags=SHARED
        )
        self.bucket = aws.s3.Bucket(name, bucket=bucket_name, tags=SHARED, opts=keep)
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child(self),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": self.key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=child(self),
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child(self),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child(self),
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(
                lambda arn: policy_json(
                    [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [arn, f"{arn}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ]
                )
            ),
            opts=child(self),
        )
        self.register_outputs({"bucket": self.bucket.bucket, "key_arn": self.key.arn})


class EnvironmentAccess(pulumi.ComponentResource):
    """One environment: its deploy and preview roles, its GitHub environment and the variables
    naming the roles; on EKS, its image registry and the secret of its in-cluster runners."""

    def __init__(self, env: str, oidc_provider_arn: pulumi.Input[str], backend: StateBackend | None) -> None:
        super().__init__(type_token("EnvironmentAccess"), f"{service}-{env}")
        self.env = env
        env_tags = tags(env)
        # The registry exists before the first deploy pushes to it (a Lambda function ships as a zip).
        self.registry = (
            ContainerRegistry(
                identity.image_repository_name(service, env),
                ContainerRegistryArgs(name=identity.image_repository_name(service, env), tags=env_tags),
                opts=child(self),
            )
            if settings.ships_images
            else None
        )
        deploy_name = identity.deploy_role_name(service, env)
        preview_name = identity.preview_role_name(service, env)
        boundary_name = f"{deploy_name}-boundary"
        scope = pulumi.Output.all(
            caller.account_id,
            partition.partition,
            self.registry.repository.arn if self.registry else None,
            backend.key.arn if backend else None,
            oidc_provider_arn,
        ).apply(
            lambda a: (
                Scope(
                    service=service,
                    env=env,
                    repository=settings.repository,
                    account_id=a[0],
                    partition=a[1],
                    regions=settings.regions,
                    platform=settings.platform,
                    database=settings.database,
                    registry_arn=a[2],
                    state_bucket=settings.state_bucket if backend else None,
                    secrets_key_arn=a[3],
                    kind=settings.kind,
                ),
                a[4],
            )
        )
        # Names are fixed (identity.py): the service stack and the workflows find the roles by them.
        self.preview_role = aws.iam.Role(
            preview_name,
            name=preview_name,
            description=f"pulumi preview and drift detection of {service} {env} (read-only)",
            assume_role_policy=pulumi.Output.from_input(oidc_provider_arn).apply(
                lambda arn: github_trust(arn, settings.repository, preview_claims())
            ),
            max_session_duration=SESSION_SECONDS,
            tags=env_tags,
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(
            f"{preview_name}-read-only",
            role=self.preview_role.name,
            policy_arn=partition.partition.apply(lambda p: READ_ONLY.format(partition=p)),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{preview_name}-state",
            role=self.preview_role.id,
            policy=scope.apply(lambda s: preview_policy(s[0])),
            opts=child(self),
        )
        self.boundary = aws.iam.Policy(
            boundary_name,
            name=boundary_name,
            description=f"The most the deploy role of {service} {env} may ever do",
            policy=scope.apply(lambda s: deploy_boundary(s[0], (deploy_name, preview_name), (boundary_name,), s[1])),
            tags=env_tags,
            opts=child(self),
        )
        self.deploy_role = aws.iam.Role(
            deploy_name,
            name=deploy_name,
            description=f"pulumi up and releases of {service} {env} (GitHub environment {env})",
            assume_role_policy=pulumi.Output.from_input(oidc_provider_arn).apply(
                lambda arn: github_trust(arn, settings.repository, deploy_claims(env))
            ),
            permissions_boundary=self.boundary.arn,
            # Two hours: a deploy job with a database adds the pre-release snapshot's wait to its
            # timeout and asks for a session that long (deploy.yml, role-duration-seconds).
            max_session_duration=2 * SESSION_SECONDS,
            tags=env_tags,
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{deploy_name}-deploy",
            role=self.deploy_role.id,
            policy=scope.apply(lambda s: deploy_policy(s[0])),
            opts=child(self),
        )
        if settings.platform == "aws-eks":
            self._runner_credentials(env_tags)
        self._github(env)
        self.register_outputs({"deploy_role_arn": self.deploy_role.arn, "preview_role_arn": self.preview_role.arn})

    def _runner_credentials(self, env_tags: dict[str, str]) -> None:
        """The secret the in-cluster runners read their GitHub App credentials from; its value is
        put by hand (README), so it never passes through this program or its state."""
        name = identity.runner_credentials_secret_name(service, self.env)
        key = kms_key(name, description=f"Encrypts {name}", parent=self, tags=env_tags)
        self.runner_secret = aws.secretsmanager.Secret(
            name,
            name=name,
            description="GitHub App credentials of the in-cluster runners: github_app_id, "
            "github_app_installation_id, github_app_private_key",
            kms_key_id=key.arn,
            recovery_window_in_days=7,
            tags=env_tags,
            opts=child(self),
        )

    def _github(self, env: str) -> None:
        on_github = child(self, provider=github_provider)
        self.environment = github.RepositoryEnvironment(
            f"{service}-{env}-environment",
            repository=settings.repository_name,
            environment=env,
            reviewers=_reviewers() if env == "prod" else None,
            prevent_self_review=env == "prod",
            can_admins_bypass=False,
            # Only main deploys, so an unmerged branch never reaches an environment.
            deployment_branch_policy={"protected_branches": False, "custom_branch_policies": True},
            opts=on_github,
        )
        github.RepositoryEnvironmentDeploymentPolicy(
            f"{service}-{env}-main-only",
            repository=settings.repository_name,
            environment=self.environment.environment,
            branch_pattern="main",
            opts=on_github,
        )
        for kind, role in (("DEPLOY", self.deploy_role), ("READONLY", self.preview_role)):
            variable = identity.role_variable(kind, env)
            github.ActionsVariable(
                variable, repository=settings.repository_name, variable_name=variable, value=role.arn, opts=on_github
            )


def _reviewers() -> list[dict]:
    def lookup(reviewer) -> pulumi.Output[int]:
        invoke = pulumi.InvokeOutputOptions(provider=github_provider)
        if reviewer.kind == "user":
            found = github.get_user_output(username=reviewer.handle, opts=invoke)
        else:
            found = github.get_team_output(slug=reviewer.handle, opts=invoke)
        return found.id.apply(int)

    chosen = reviewers(settings)
    return [
        {
            "users": [lookup(r) for r in chosen if r.kind == "user"],
            "teams": [lookup(r) for r in chosen if r.kind == "team"],
        }
    ]


def restore_test_role(oidc_provider_arn: pulumi.Input[str], backend: StateBackend | None) -> aws.iam.Role:
    """The weekly restore test's role (scheduled on main): restore, inspect and delete throwaway copies."""
    name = identity.restore_test_role_name(service)
    role = aws.iam.Role(
        name,
        name=name,
        description=f"Weekly backup restore test of {service} prod",
        assume_role_policy=pulumi.Output.from_input(oidc_provider_arn).apply(
            lambda arn: github_trust(arn, settings.repository, (MAIN,))
        ),
        # A restore may take the RTO (four hours at the lowest tier); the workflow asks for the
        # job's timeout, up to IAM's maximum of twelve hours.
        max_session_duration=12 * 3600,
        tags=tags("prod"),
    )
    policy = pulumi.Output.all(caller.account_id, partition.partition, backend.key.arn if backend else None).apply(
        lambda a: restore_test_policy(
            Scope(
                service=service,
                env="prod",
                repository=settings.repository,
                account_id=a[0],
                partition=a[1],
                regions=settings.regions,
                platform=settings.platform,
                database=True,
                registry_arn=None,
                state_bucket=settings.state_bucket if backend else None,
                secrets_key_arn=a[2],
            )
        )
    )
    aws.iam.RolePolicy(f"{name}-restore", role=role.id, policy=policy)
    return role


caller = aws.get_caller_identity_output()
partition = aws.get_partition_output()
# The GitHub token comes from GITHUB_TOKEN (`GITHUB_TOKEN=$(gh auth token) pulumi up`).
github_provider = github.Provider("github", owner=settings.owner)

if settings.github_oidc_provider_arn:
    # One provider per account and URL: adopt the one another repository's bootstrap created.
    oidc_provider_arn: pulumi.Input[str] = settings.github_oidc_provider_arn
else:
    oidc_provider_arn = aws.iam.OpenIdConnectProvider(
        "github-actions",
        url=f"https://{GITHUB_ISSUER}",
        client_id_lists=[GITHUB_AUDIENCE],
        tags=SHARED,
    ).arn

backend = StateBackend(f"{service}-pulumi-state", settings.state_bucket) if settings.pulumi_backend == "s3" else None
environments = {env: EnvironmentAccess(env, oidc_provider_arn, backend) for env in settings.environments}

on_github = pulumi.ResourceOptions(provider=github_provider)
if settings.database:
    restore = restore_test_role(oidc_provider_arn, backend)
    github.ActionsVariable(
        RESTORE_TEST_VARIABLE,
        repository=settings.repository_name,
        variable_name=RESTORE_TEST_VARIABLE,
        value=restore.arn,
        opts=on_github,
    )
    pulumi.export("restore_test_role_arn", restore.arn)
if settings.pulumi_backend == "pulumi-cloud":
    github.ActionsSecret(
        PULUMI_TOKEN_SECRET,
        repository=settings.repository_name,
        secret_name=PULUMI_TOKEN_SECRET,
        value=config.require_secret("pulumi_access_token"),  # `pulumi config set --secret pulumi_access_token`
        opts=on_github,
    )

pulumi.export("github_oidc_provider_arn", oidc_provider_arn)
pulumi.export("deploy_role_arns", {env: access.deploy_role.arn for env, access in environments.items()})
pulumi.export("preview_role_arns", {env: access.preview_role.arn for env, access in environments.items()})
if settings.ships_images:
    pulumi.export("image_repository_urls", {env: a.registry.repository_url for env, a in environments.items()})
if settings.platform == "aws-eks":
    pulumi.export("runner_credentials_secrets", {env: a.runner_secret.name for env, a in environments.items()})
if backend:
    pulumi.export("state_bucket", backend.bucket.bucket)
    pulumi.export("secrets_provider", f"awskms://alias/{service}-pulumi-secrets?region={settings.region}")
