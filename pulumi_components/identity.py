"""Names the bootstrap program and the service program must agree on.

The bootstrap program (`bootstrap/`, run once by an admin) creates the roles
the pipelines assume and the registry images are pushed to; the service
program grants those roles access to its cluster and deploys from that
registry. Neither reads the other's state, so both derive the names here,
from the service slug and the environment.
"""

from __future__ import annotations


def deploy_role_name(service: str, env: str) -> str:
    """The role `pulumi up` assumes in the deploy and rollback workflows of `env`."""
    return f"{service}-{env}-deploy"


def preview_role_name(service: str, env: str) -> str:
    """The read-only role of `pulumi preview` (pull requests) and drift detection in `env`."""
    return f"{service}-{env}-preview"


def restore_test_role_name(service: str) -> str:
    """The role of the weekly restore test (prod): restores a throwaway copy and migrates it."""
    return f"{service}-restore-test"


def role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def runner_scale_set_name(service: str, env: str) -> str:
    """The `runs-on:` label of the runners inside `env`'s network, which reach its private APIs."""
    return f"{service}-{env}"


def image_repository_name(service: str, env: str) -> str:
    """The ECR repository of `env`'s images; it exists before the first deploy."""
    return f"{service}-{env}"


def runner_credentials_secret_name(service: str, env: str) -> str:
    """The Secrets Manager secret holding the GitHub App credentials of `env`'s in-cluster runners
    (JSON with `github_app_id`, `github_app_installation_id`, `github_app_private_key`)."""
    return f"{service}-{env}-runner-github-app"


# The GitHub Actions variable holding each kind of role, per environment (`AWS_DEPLOY_ROLE_PROD`):
# the workflows assume `vars.<variable>`, the bootstrap program sets it to the role's ARN, and the
# cluster grants each role its access entry.
ROLE_KINDS = {"DEPLOY": deploy_role_name, "READONLY": preview_role_name}


def role_variable(kind: str, env: str) -> str:
    if kind not in ROLE_KINDS:
        raise ValueError(f"role kind must be one of {', '.join(ROLE_KINDS)}; got {kind!r}")
    return f"AWS_{kind}_ROLE_{env.upper()}"
