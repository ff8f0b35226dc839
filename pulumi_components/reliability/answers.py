"""The questionnaire's answers, validated, and the catalogues they are checked against.

Copier's validators and the generated Pulumi program both call the functions
here, so a value the questionnaire accepts is a value the model can plan for,
and every rejection says what is accepted instead.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .slo import PAGE_FAST_BURN_RATE
from .vocabulary import (
    QUESTION_VOCABULARIES,
    Cluster,
    Database,
    DeploymentStrategy,
    Kind,
    MonitoringLevel,
    OncallTool,
    Platform,
    Vocabulary,
)

PLATFORMS = Platform.values()
DEPLOYMENT_STRATEGIES = DeploymentStrategy.values()
MONITORING_LEVELS = MonitoringLevel.values()
DATABASES = Database.values()
ONCALL_TOOLS = OncallTool.values()
COMPLIANCE_FRAMEWORKS = ("soc2", "hipaa", "pci-dss")
ENVIRONMENTS = ("dev", "staging", "prod")
CLUSTERS = Cluster.values()  # an EKS service's own cluster, or its platform team's

# The lowest plannable SLA: below it the error budget is so large that PAGE_FAST_BURN_RATE times it
# exceeds an error ratio of 1, so the fast page could never fire. Rounded up to the 3 decimals
# SLAs are written with (93.056 for the 14.4x page).
SLA_MIN = math.ceil(100_000 * (1 - 1 / PAGE_FAST_BURN_RATE)) / 1000
SLA_MAX = 99.999
SLA_CHOICES = (99.5, 99.9, 99.95, 99.99)
LATENCY_SLO_MS_RANGE = (10, 60_000)
LOAD_TEST_RPS_RANGE = (1, 10_000)  # the staging load test's target rate, requests per second

# Commercial AWS regions and how many availability zones each offers to every
# account (opt-in regions included). The number bounds the plan's AZ count. tests/test_regions.py
# compares the keys with botocore's endpoint data: a region AWS adds fails it until it is here.
AWS_REGION_AZS: dict[str, int] = {
    "us-east-1": 6,
    "us-east-2": 3,
    "us-west-1": 2,
    "us-west-2": 4,
    "ca-central-1": 3,
    "ca-west-1": 3,
    "mx-central-1": 3,
    "sa-east-1": 3,
    "eu-west-1": 3,
    "eu-west-2": 3,
    "eu-west-3": 3,
    "eu-central-1": 3,
    "eu-central-2": 3,
    "eu-north-1": 3,
    "eu-south-1": 3,
    "eu-south-2": 3,
    "il-central-1": 3,
    "me-south-1": 3,
    "me-central-1": 3,
    "af-south-1": 3,
    "ap-east-1": 3,
    "ap-east-2": 3,
    "ap-south-1": 3,
    "ap-south-2": 3,
    "ap-northeast-1": 3,
    "ap-northeast-2": 4,
    "ap-northeast-3": 3,
    "ap-southeast-1": 3,
    "ap-southeast-2": 3,
    "ap-southeast-3": 3,
    "ap-southeast-4": 3,
    "ap-southeast-5": 3,
    "ap-southeast-6": 3,  # Asia Pacific (New Zealand), launched 2025-09 with three AZs
    "ap-southeast-7": 3,
}

# The region a service fails over to when its SLA calls for a second region:
# the nearest region in the same jurisdiction with at least three AZs.
DR_REGION_PAIRS: dict[str, str] = {
    "us-east-1": "us-west-2",
    "us-east-2": "us-west-2",
    "us-west-1": "us-east-2",
    "us-west-2": "us-east-1",
    "ca-central-1": "ca-west-1",
    "ca-west-1": "ca-central-1",
    "mx-central-1": "us-east-2",
    "sa-east-1": "us-east-1",
    "eu-west-1": "eu-central-1",
    "eu-west-2": "eu-west-1",
    "eu-west-3": "eu-central-1",
    "eu-central-1": "eu-west-1",
    "eu-central-2": "eu-central-1",
    "eu-north-1": "eu-central-1",
    "eu-south-1": "eu-central-1",
    "eu-south-2": "eu-west-3",
    "il-central-1": "eu-central-1",
    "me-south-1": "me-central-1",
    "me-central-1": "me-south-1",
    "af-south-1": "eu-west-1",
    "ap-east-1": "ap-southeast-1",
    "ap-east-2": "ap-east-1",
    "ap-south-1": "ap-south-2",
    "ap-south-2": "ap-south-1",
    "ap-northeast-1": "ap-northeast-3",
    "ap-northeast-2": "ap-northeast-1",
    "ap-northeast-3": "ap-northeast-1",
    "ap-southeast-1": "ap-southeast-3",
    "ap-southeast-2": "ap-southeast-4",
    "ap-southeast-3": "ap-southeast-1",
    "ap-southeast-4": "ap-southeast-2",
    "ap-southeast-5": "ap-southeast-1",
    "ap-southeast-6": "ap-southeast-2",  # no second region in New Zealand: Sydney, the nearest
    "ap-southeast-7": "ap-southeast-1",
}

_DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# An e-mail address whose every character is safe in YAML, Markdown, shell and Alertmanager's
# Go templates (which expand `{{` even in a `to:` field): a dot-atom local part of letters,
# digits and `_ % + -`, and a domain of DNS labels. RFC 5322's rarer characters are refused.
_EMAIL = re.compile(
    r"^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# The owning team names Slack channels (#<team>-oncall), tags and the default GitHub owner.
_TEAM = re.compile(r"^[a-z][a-z0-9-]*$")
# Characters no one-line text answer may hold: control characters (newline, tab, escape...),
# line and paragraph separators, and lone surrogates, which no UTF-8 file can hold.
_NOT_ONE_LINE = frozenset(("Cc", "Cs", "Zl", "Zp"))
# A GitHub repository URL: owner (1-39 letters, digits, single hyphens) and name.
_GITHUB_REPOSITORY = re.compile(r"^https://github\.com/([A-Za-z0-9](?:-?[A-Za-z0-9]){0,38})/([A-Za-z0-9._-]{1,100})$")
SLUG_MAX_LENGTH = 40
DEFAULT_DOMAIN = "example.com"
# An ACM certificate's domain name is its Common Name, which RFC 5280 limits to 64 characters.
CERTIFICATE_NAME_MAX_LENGTH = 64


class AnswerError(ValueError):
    """An answer the model cannot plan for; the message says what is accepted."""


def _one_of(name: str, value: Any, vocabulary: type[Vocabulary]) -> Any:
    """The vocabulary's member for `value`; an AnswerError naming what is accepted otherwise."""
    try:
        return vocabulary.parse(name, value)
    except ValueError as error:
        raise AnswerError(str(error)) from None


def one_line_error(name: str, text: Any, required: bool = True) -> str:
    """Why `text` is not one line of text, or '' when it is. Any printable character is
    accepted (templates escape it for each file format); what no one-line field of a YAML,
    TOML or Markdown file can carry is refused."""
    if not isinstance(text, str):
        return f"{name} must be text; got {text!r}"
    if required and not text.strip():
        return f"{name} must not be empty"
    bad = sorted({char for char in text if unicodedata.category(char) in _NOT_ONE_LINE})
    if bad:
        shown = ", ".join(f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}" for char in bad)
        return (
            f"{name} must be one line of printable text (any letters, digits, punctuation and spaces); "
            f"it contains {shown}"
        )
    return ""


def project_name_error(name: Any) -> str:
    return one_line_error("project_name", name)


def description_error(description: Any) -> str:
    return one_line_error("description", description)


def default_description(project_name: str) -> str:
    """The questionnaire's default description, and the model's when none is given."""
    return f"{project_name} service"


def team_error(team: Any) -> str:
    if not isinstance(team, str) or not _TEAM.match(team):
        return f"team must be lowercase letters, digits and '-', starting with a letter; got {team!r}"
    return ""


def slug_error(slug: Any) -> str:
    """Why `slug` is not a usable service slug, or '' when it is."""
    if not isinstance(slug, str) or not slug:
        return "service_slug must not be empty"
    if len(slug) > SLUG_MAX_LENGTH:
        return f"service_slug must be at most {SLUG_MAX_LENGTH} characters; got {len(slug)}"
    if not _DNS_LABEL.match(slug):
        return (
            "service_slug must be a DNS-1123 label: lowercase letters, digits and '-', "
            f"starting with a letter and not ending with '-'; got {slug!r}"
        )
    return ""


def slugify(name: str) -> str:
    """The default service slug for a project name: 'Payments API' -> 'payments-api'."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    slug = re.sub(r"^[^a-z]+", "", slug)
    return slug[:SLUG_MAX_LENGTH].rstrip("-") or "service"


def region_error(region: Any) -> str:
    if region not in AWS_REGION_AZS:
        return (
            f"aws_region must be an AWS region code such as us-east-1 or eu-west-1; "
            f"got {region!r}. Accepted: {', '.join(sorted(AWS_REGION_AZS))}"
        )
    return ""


def dr_region_error(dr_region: Any, aws_region: Any) -> str:
    if dr_region == aws_region:
        return f"dr_region must differ from aws_region ({aws_region})"
    return region_error(dr_region).replace("aws_region", "dr_region")


def sla_error(sla: Any) -> str:
    """Why `sla` cannot be planned for, or '' when it can."""
    try:
        value = float(sla)
    except (TypeError, ValueError):
        return f"sla must be a number of percent such as 99.9; got {sla!r}"
    if not SLA_MIN <= value <= SLA_MAX:
        return (
            f"sla must be between {SLA_MIN} and {SLA_MAX} percent (common targets: "
            f"{', '.join(map(str, SLA_CHOICES))}; below {SLA_MIN} the error budget is so large that the "
            f"{PAGE_FAST_BURN_RATE}x burn-rate page could never fire); got {value}"
        )
    return ""


def environments_error(environments: Any) -> str:
    envs = list(environments or [])
    unknown = [e for e in envs if e not in ENVIRONMENTS]
    if unknown:
        return f"environments must be chosen from {', '.join(ENVIRONMENTS)}; unknown: {', '.join(map(str, unknown))}"
    if "prod" not in envs:
        return "environments must include prod (dev and staging are optional)"
    return ""


def email_error(email: Any) -> str:
    if not isinstance(email, str) or not _EMAIL.match(email):
        return (
            "owner_email must be an e-mail address such as team@example.com: letters, digits, '.', '_', '%', "
            f"'+' and '-' before the @ and a domain name after it; got {email!r}"
        )
    return ""


def repository_url_error(url: Any) -> str:
    """Why `url` is not a GitHub repository URL, or '' when it is."""
    match = _GITHUB_REPOSITORY.match(url) if isinstance(url, str) else None
    if not match or match.group(2) in (".", ".."):
        return f"repository_url must be a GitHub repository URL such as https://github.com/acme/payments; got {url!r}"
    return ""


def github_repository(url: str) -> str:
    """`owner/name` of a GitHub repository URL (as GitHub's OIDC `sub` claim writes it)."""
    _check(repository_url_error(url))
    return url.removeprefix("https://github.com/")


def latency_error(latency_ms: Any) -> str:
    low, high = LATENCY_SLO_MS_RANGE
    try:
        value = int(latency_ms)
    except (TypeError, ValueError):
        return f"latency_slo_ms must be a whole number of milliseconds; got {latency_ms!r}"
    if value != float(latency_ms) or not low <= value <= high:
        return f"latency_slo_ms must be a whole number from {low} to {high}; got {latency_ms!r}"
    return ""


def load_test_rps_error(rps: Any) -> str:
    low, high = LOAD_TEST_RPS_RANGE
    try:
        value = int(rps)
    except (TypeError, ValueError):
        return f"load_test_rps must be a whole number of requests per second; got {rps!r}"
    if isinstance(rps, bool) or value != float(rps) or not low <= value <= high:
        return f"load_test_rps must be a whole number from {low} to {high} requests per second; got {rps!r}"
    return ""


def hostname_for(service: str, env: str, domain: str) -> str:
    """The service's public name in `env`: production gets the short name, every other
    environment is one label deeper, so no non-production name can shadow production's."""
    return f"{service}.{domain}" if env == "prod" else f"{service}.{env}.{domain}"


def domain_error(domain: Any, service_slug: str = "", environments: Any = ENVIRONMENTS) -> str:
    """Why `domain` cannot hold this service's hostnames, or '' when it can."""
    labels = domain.split(".") if isinstance(domain, str) else []
    valid = all(_HOST_LABEL.match(label) for label in labels) and labels[-1][:1].isalpha()
    if len(labels) < 2 or not valid:
        return (
            "domain must be the name of a Route 53 public hosted zone, such as example.com or "
            "api.example.com: two or more dot-separated labels of lowercase letters, digits and '-' "
            f"(at most 63 each, not starting or ending with '-'), no trailing dot; got {domain!r}"
        )
    if service_slug:
        longest = max((hostname_for(service_slug, env, domain) for env in environments or ENVIRONMENTS), key=len)
        if len(longest) > CERTIFICATE_NAME_MAX_LENGTH:
            return (
                f"domain {domain!r} makes the hostname {longest!r} {len(longest)} characters long; an ACM "
                f"certificate name holds at most {CERTIFICATE_NAME_MAX_LENGTH}: choose a shorter domain or service_slug"
            )
    return ""


_STATE_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def state_bucket_error(bucket: Any) -> str:
    """Why `bucket` is not an S3 bucket name, or '' when it is."""
    if not isinstance(bucket, str) or not _STATE_BUCKET.match(bucket) or ".." in bucket:
        return (
            "pulumi_state_bucket must be an S3 bucket name: 3 to 63 lowercase letters, digits, '-' and '.', "
            f"starting and ending with a letter or digit; got {bucket!r}"
        )
    return ""


def _check(message: str) -> None:
    if message:
        raise AnswerError(message)


@dataclass(frozen=True)
class Answers:
    """Everything the questionnaire asks, in the types the model works with."""

    project_name: str
    service_slug: str
    team: str
    owner_email: str
    platform: Platform = Platform.AWS_EKS
    aws_region: str = "us-east-1"
    environments: tuple[str, ...] = ENVIRONMENTS
    deployment_strategy: DeploymentStrategy = DeploymentStrategy.CANARY
    monitoring_level: MonitoringLevel = MonitoringLevel.STANDARD
    sla: float = 99.9
    latency_slo_ms: int = 500
    database: Database = Database.POSTGRES
    oncall: OncallTool = OncallTool.PAGERDUTY
    compliance: tuple[str, ...] = ()
    description: str = ""  # empty: default_description(project_name)
    dr_region: str = ""  # empty: the region paired with aws_region
    repository_url: str = ""  # empty: https://github.com/<team>/<service_slug>
    domain: str = DEFAULT_DOMAIN  # the Route 53 hosted zone the hostnames live in
    load_test_rps: int = 10  # the staging load test's target rate (load_test.py)
    cluster: str = "dedicated"  # shared: the network, cluster and monitoring are the platform's
    kind: Kind = Kind.SERVICE  # platform: the shared cluster services deploy into (platform/)

    def __post_init__(self) -> None:
        # Strings from Copier or stack config become their vocabulary's members.
        for name, vocabulary in QUESTION_VOCABULARIES.items():
            object.__setattr__(self, name, _one_of(name, getattr(self, name), vocabulary))
        _check(project_name_error(self.project_name))
        if not self.description:
            object.__setattr__(self, "description", default_description(self.project_name))
        _check(description_error(self.description))
        _check(team_error(self.team))
        _check(slug_error(self.service_slug))
        _check(email_error(self.owner_email))
        _check(region_error(self.aws_region))
        _check(environments_error(self.environments))
        _check(sla_error(self.sla))
        _check(latency_error(self.latency_slo_ms))
        _check(load_test_rps_error(self.load_test_rps))
        for framework in self.compliance:
            if framework not in COMPLIANCE_FRAMEWORKS:
                raise AnswerError(f"compliance must be one of {', '.join(COMPLIANCE_FRAMEWORKS)}; got {framework!r}")
        _check(dr_region_error(self.dr_region, self.aws_region) if self.dr_region else "")
        _check(repository_url_error(self.repository_url) if self.repository_url else "")
        _check(domain_error(self.domain, self.service_slug, self.environments))
        if self.cluster == Cluster.SHARED and self.platform != Platform.AWS_EKS:
            raise AnswerError(f"cluster: shared is a shared EKS cluster; platform {self.platform} has no cluster")
        if self.kind == Kind.PLATFORM and (self.platform, self.cluster) != (Platform.AWS_EKS, Cluster.DEDICATED):
            raise AnswerError("kind: platform is an EKS cluster of its own (platform aws-eks, cluster dedicated)")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Answers:
        """Build from Copier's answers (or any mapping); extra keys are ignored."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        if "environments" in known:
            # Keep the canonical dev -> staging -> prod order whatever order was given.
            envs = list(known["environments"] or [])
            _check(environments_error(envs))
            known["environments"] = tuple(e for e in ENVIRONMENTS if e in envs)
        if "compliance" in known:
            known["compliance"] = tuple(sorted(known["compliance"] or ()))
        if "sla" in known:
            _check(sla_error(known["sla"]))
            known["sla"] = float(known["sla"])
        if "latency_slo_ms" in known:
            _check(latency_error(known["latency_slo_ms"]))
            known["latency_slo_ms"] = int(known["latency_slo_ms"])
        if "load_test_rps" in known:
            _check(load_test_rps_error(known["load_test_rps"]))
            known["load_test_rps"] = int(known["load_test_rps"])
        return cls(**known)

    @property
    def builds_standby(self) -> bool:
        """Whether a regional failover can bring this repository's service up in the DR region. A
        shared service cannot: it runs on the platform team's cluster, which is in one region. A
        platform runs no service of its own to fail over."""
        return self.kind == Kind.SERVICE and self.cluster == Cluster.DEDICATED

    @property
    def needs_network(self) -> bool:
        """A VPC is built on EKS always (unless the cluster is the platform's, in its VPC), and on
        Lambda only to reach the database."""
        if self.cluster == "shared":
            return False
        return self.platform == Platform.AWS_EKS or self.database == Database.POSTGRES

    def hostname(self, env: str) -> str:
        """The public hostname of `env` (see `hostname_for`)."""
        return hostname_for(self.service_slug, env, self.domain)

    @property
    def repository(self) -> str:
        """The GitHub repository as `owner/name`: the answer, or `<team>/<service_slug>`."""
        return github_repository(self.repository_url or f"https://github.com/{self.team}/{self.service_slug}")

    @property
    def failover_region(self) -> str:
        """The disaster-recovery region: the answer, or the region paired with aws_region."""
        return self.dr_region or DR_REGION_PAIRS[self.aws_region]
