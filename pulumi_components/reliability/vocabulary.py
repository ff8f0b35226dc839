"""The closed vocabularies of the questionnaire and the plan, each declared once.

Every value carries the label the questionnaire shows and a description of what it
decides, as provider schemas describe each value of an enum. The members are `StrEnum`s:
they compare equal to, hash like and format as their string values, so answers read
from Copier or stack config and literals in older code keep working, while new code
names the member. copier.yml builds its `choices` from these (`vocabulary_choices`), so
the questionnaire offers exactly what the model plans for.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Vocabulary(StrEnum):
    """A closed set of string values, each with a label and a description."""

    label: str
    description: str

    def __new__(cls, value: str, label: str, description: str) -> Vocabulary:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.description = description
        return member

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)

    @classmethod
    def parse(cls, name: str, value: Any) -> Any:
        """The member for `value`, or a ValueError naming the question and what it accepts."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"{name} must be one of {', '.join(cls.values())}; got {value!r}") from None


class Platform(Vocabulary):
    AWS_EKS = ("aws-eks", "Kubernetes on AWS EKS", "containers on an EKS cluster behind an Application Load Balancer")
    AWS_LAMBDA = (
        "aws-lambda",
        "Serverless on AWS Lambda",
        "a Lambda function behind an API Gateway HTTP API, released through an alias",
    )


class DeploymentStrategy(Vocabulary):
    ROLLING = ("rolling", "Rolling update", "new replicas replace old ones in place, with no analysis nor rollback")
    CANARY = (
        "canary",
        "Canary with metric analysis and automatic rollback",
        "a growing share of traffic goes to the new release while its error rate and latency are analysed",
    )
    BLUE_GREEN = (
        "blue-green",
        "Blue-green with pre-promotion analysis",
        "the new release runs beside the old one and takes all traffic at once after its analysis passes",
    )


class MonitoringLevel(Vocabulary):
    BASIC = ("basic", "basic: Prometheus, Alertmanager, SLO alerts", "SLO burn-rate alerts and service health only")
    STANDARD = (
        "standard",
        "standard: + Grafana dashboards, Loki logs, latency and saturation alerts",
        "adds dashboards, logs, the latency SLO and saturation alerts",
    )
    COMPREHENSIVE = (
        "comprehensive",
        "comprehensive: + tracing, synthetic probes, log alerts, error-budget report",
        "adds traces, synthetic probes, log-based alerts and the error-budget dashboard",
    )


class Database(Vocabulary):
    POSTGRES = ("postgres", "PostgreSQL on Amazon RDS", "an RDS PostgreSQL instance sized and backed up by the SLA")
    NONE = ("none", "No database", "the service keeps no state of its own")


class OncallTool(Vocabulary):
    PAGERDUTY = ("pagerduty", "PagerDuty", "pages and escalates through PagerDuty services")
    OPSGENIE = ("opsgenie", "Opsgenie", "pages and escalates through an Opsgenie team")
    SLACK = ("slack", "Slack", "posts to Slack channels; cannot page or escalate by itself")
    EMAIL = ("email", "E-mail", "sends e-mail to the team's address; cannot page or escalate by itself")


class Severity(Vocabulary):
    CRITICAL = ("critical", "page", "wakes the on-call engineer: users are affected now")
    WARNING = ("warning", "ticket", "opens a ticket for working hours: the budget burns, users are not yet hurt")
    INFO = ("info", "info", "recorded for context; notifies nobody")


class NatStrategy(Vocabulary):
    SINGLE = ("single", "one NAT gateway", "one NAT gateway for the VPC: cheaper, its zone's outage cuts egress")
    PER_AZ = ("per-az", "a NAT gateway per zone", "one NAT gateway in each availability zone: egress survives a zone")


class Cluster(Vocabulary):
    DEDICATED = (
        "dedicated",
        "dedicated: this repository creates the network, the cluster and the monitoring stack",
        "the service's own VPC, EKS cluster and monitoring stack in every environment",
    )
    SHARED = (
        "shared",
        "shared: deploy into the platform team's cluster, read from its Pulumi stack",
        "the platform's cluster, network and monitoring (its stack's outputs); the service creates what it owns",
    )


class Kind(Vocabulary):
    SERVICE = (
        "service",
        "service: one service, on its own infrastructure or on its platform team's cluster",
        "renders template/: the service's code, infrastructure, pipelines, monitoring and documents",
    )
    PLATFORM = (
        "platform",
        "platform: the shared EKS cluster, network, monitoring and CI runners that services deploy into",
        "renders platform/: the cluster, network, monitoring and runners that shared services read from its stack",
    )


class AlertTest(Vocabulary):
    """How the promtool tests exercise a Prometheus alert (promtool_tests.py has one case builder per value)."""

    STEADY = (
        "steady",
        "one firing and one healthy steady state",
        "the alert's own input series (Alert.steady), held long enough for its `for`",
    )
    BURN_RATE = (
        "burn-rate",
        "error-ratio steps against its burn-rate windows",
        "a page fires by the minute slo.py's detection time says and not at the budget; a ticket fires above it",
    )
    BUDGET_LEFT = (
        "budget-left",
        "the SLO's period error budget spent",
        "fires when most of its SLO's budget is spent, stays silent at half of it",
    )
    NO_PODS = (
        "no-pods",
        "the Service's ready endpoints disappearing",
        "fires `for` after the last ready address goes, stays silent while one pod of two serves",
    )


# The questions whose choices copier.yml builds from a vocabulary.
QUESTION_VOCABULARIES: dict[str, type[Vocabulary]] = {
    "platform": Platform,
    "deployment_strategy": DeploymentStrategy,
    "monitoring_level": MonitoringLevel,
    "database": Database,
    "oncall": OncallTool,
    "cluster": Cluster,
    # Also picks the folder Copier renders (copier.yml's _subdirectory): template/ or platform/.
    "kind": Kind,
}


def question_choices(question: str) -> dict[str, str]:
    """Copier `choices` of `question`: each value under its label, in declaration order."""
    vocabulary = QUESTION_VOCABULARIES[question]
    return {member.label: member.value for member in vocabulary}


def _yaml_as_strings() -> None:
    """PyYAML's safe dumper writes a member as its plain string value (it looks up exact
    types, so str subclasses need a representer). The model itself needs only the standard
    library: without PyYAML there is nothing to register."""
    try:
        import yaml
    except ImportError:
        return
    yaml.SafeDumper.add_multi_representer(Vocabulary, lambda dumper, member: dumper.represent_str(member.value))


_yaml_as_strings()
