"""The bootstrap stack's config, read and checked before anything is created.

`Pulumi.bootstrap.yaml` carries what the template answers decided (kind, service, platform,
environments, backend); the admin adds who they are on GitHub with `pulumi config set`. A platform
repository (kind platform) runs the same program for its own pipelines: no image registry and no
database, and its deploy role may change what a platform is made of (access.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BACKENDS = ("pulumi-cloud", "s3")
KINDS = ("service", "platform")
PLATFORMS = ("aws-eks", "aws-lambda")
MAX_REVIEWERS = 6  # GitHub's limit of required reviewers per environment
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_REVIEWER = re.compile(r"^(user|team):[A-Za-z0-9][A-Za-z0-9._-]*$")
_OIDC_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$")


class SettingsError(ValueError):
    """Bootstrap config that cannot be built; names the key and what it accepts."""


@dataclass(frozen=True)
class Settings:
    service: str
    region: str
    platform: str
    environments: tuple[str, ...]
    database: bool
    pulumi_backend: str
    repository: str  # owner/name
    tags: Mapping[str, str]
    prod_reviewers: tuple[str, ...] = ()  # "user:<login>" or "team:<slug>"
    state_bucket: str | None = None
    dr_region: str | None = None
    github_oidc_provider_arn: str | None = None  # adopt the account's existing provider
    kind: str = "service"  # or platform: the repository of a shared cluster (no images, no database)

    @property
    def owner(self) -> str:
        return self.repository.split("/")[0]

    @property
    def repository_name(self) -> str:
        return self.repository.split("/")[1]

    @property
    def ships_images(self) -> bool:
        """A service on EKS pushes images to a registry per environment; a platform and Lambda do not."""
        return self.kind == "service" and self.platform == "aws-eks"

    @property
    def regions(self) -> tuple[str, ...]:
        return (self.region, self.dr_region) if self.dr_region else (self.region,)

    def validate(self, project: str) -> None:
        def fail(key: str, message: str) -> None:
            raise SettingsError(f"{project}:{key} {message}")

        if not _REPOSITORY.match(self.repository):
            fail("repository", f"must be the GitHub repository as <owner>/<name>; got {self.repository!r}")
        if self.kind not in KINDS:
            fail("kind", f"must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if self.kind == "platform" and (self.platform != "aws-eks" or self.database):
            fail(
                "kind", f"platform runs on aws-eks without a database; got {self.platform!r}, database {self.database}"
            )
        if self.platform not in PLATFORMS:
            fail("platform", f"must be one of {', '.join(PLATFORMS)}; got {self.platform!r}")
        if self.pulumi_backend not in BACKENDS:
            fail("pulumi_backend", f"must be one of {', '.join(BACKENDS)}; got {self.pulumi_backend!r}")
        if self.pulumi_backend == "s3" and not self.state_bucket:
            fail("state_bucket", "must name the state bucket when pulumi_backend is s3")
        if "prod" not in self.environments:
            fail("environments", f"must include prod; got {list(self.environments)}")
        if not 1 <= len(self.prod_reviewers) <= MAX_REVIEWERS:
            fail(
                "prod_reviewers",
                f'must name 1 to {MAX_REVIEWERS} reviewers of production deploys, e.g. ["user:alice", "team:sre"]; '
                f"got {list(self.prod_reviewers)}",
            )
        for reviewer in self.prod_reviewers:
            if not _REVIEWER.match(reviewer):
                fail("prod_reviewers", f"entries are user:<login> or team:<slug>; got {reviewer!r}")
        if self.github_oidc_provider_arn and not _OIDC_ARN.match(self.github_oidc_provider_arn):
            fail(
                "github_oidc_provider_arn",
                "must be the ARN of the account's token.actions.githubusercontent.com provider "
                f"(arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com); "
                f"got {self.github_oidc_provider_arn!r}",
            )


def from_config(values: Mapping[str, Any], region: str) -> Settings:
    """Settings from the stack's config values (keys without the project prefix)."""
    missing = [
        key for key in ("service", "platform", "environments", "pulumi_backend", "repository") if key not in values
    ]
    if missing:
        raise SettingsError(f"missing config: {', '.join(missing)} (see bootstrap/Pulumi.bootstrap.yaml)")
    return Settings(
        service=str(values["service"]),
        region=region,
        platform=str(values["platform"]),
        environments=_strings(values["environments"]),
        database=str(values.get("database", "none")) == "postgres",
        pulumi_backend=str(values["pulumi_backend"]),
        repository=str(values["repository"]),
        tags=dict(values.get("tags") or {}),
        prod_reviewers=_strings(values.get("prod_reviewers") or ()),
        state_bucket=values.get("state_bucket") or None,
        dr_region=values.get("dr_region") or None,
        github_oidc_provider_arn=values.get("github_oidc_provider_arn") or None,
        kind=str(values.get("kind") or "service"),
    )


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence):
        raise SettingsError(f"expected a list of strings; got {value!r}")
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class Reviewer:
    kind: str  # user or team
    handle: str

    @classmethod
    def parse(cls, value: str) -> Reviewer:
        kind, handle = value.split(":", 1)
        return cls(kind, handle)


def reviewers(settings: Settings) -> list[Reviewer]:
    return [Reviewer.parse(r) for r in settings.prod_reviewers]
