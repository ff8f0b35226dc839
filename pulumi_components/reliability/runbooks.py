"""What each alert's runbook says, decided here so `docs/runbooks/<AlertName>.md` only formats it.

`runbook_facts(plan, alert)` gathers, for one alert of the catalogue, every
decision its runbook prints: the incident it opens, where its rule runs and how
to query it, which first checks apply, the workload kind the rollback commands
name, and the numbers of the mitigation steps (the incident's HPA ceiling, the
reserved concurrency, Multi-AZ failover or restore, the DR region).

Standard library only: the Copier extension loads this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .alerts import DATABASE, FILESYSTEM, INFO, PAGE, RESOURCES, TICKET, Alert
from .incident import INCIDENT_FOR_ALERT_SEVERITY
from .plan import ServicePlan

# For an incident caused by load, the runbook raises the HPA ceiling to this multiple of the plan's.
INCIDENT_SCALE_OUT_FACTOR = 2

SEVERITY_EFFECT = {PAGE: "pages the on-call in production", TICKET: "opens a ticket", INFO: "informational"}
EVALUATED_BY = {
    "prometheus": "Prometheus rules in monitoring/",
    "loki": "the Loki ruler",
    "cloudwatch": "CloudWatch alarms created by the Pulumi stack",
}
# (code-fence language, where to run it) of an alert's expression, by engine; CloudWatch alarms have none.
QUERY = {
    "prometheus": ("promql", "PromQL, in Grafana Explore or the Prometheus UI"),
    "loki": ("logql", "LogQL, in Grafana Explore on Loki"),
}
# The Kubernetes kind of the workload per deployment strategy (KubernetesService): Argo Rollouts for the
# progressive ones, a Deployment for rolling updates. kubectl and kube_release.py take it in lower case.
WORKLOAD_KIND = {"rolling": "deployment", "canary": "rollout", "blue-green": "rollout"}

_SERVICE_LABEL = re.compile(r"\{\{ *\$labels\.(service|job) *\}\}")
_OTHER_LABEL = re.compile(r"\{\{ *\$labels\.([a-z_]+) *\}\}")


@dataclass(frozen=True)
class RunbookFacts:
    alert: Alert
    incident: str  # "SEV-2": the incident it opens in production
    severity_effect: str
    pages: bool
    evaluated_by: str
    description: str  # the alert's description for a reader: the service named, other labels as `label`
    query_language: str  # code-fence language of alert.expr; "" when the alert has no expression
    query_where: str
    kubernetes: bool
    workload_kind: str  # "rollout" or "deployment"; "" on aws-lambda
    resource_check: bool
    cpu_limit: str  # per pod, the plan's (shown with the resource check)
    memory_limit: str
    filesystem_check: bool
    database_check: bool
    logs_in_loki: bool
    dashboards: str  # "grafana", "prometheus" or "cloudwatch"
    replicas_max: int
    incident_replicas_max: int
    reserved_concurrency: int
    database: bool
    database_multi_az: bool
    dr_region: str  # "" without a regional failover


def reader_description(plan: ServicePlan, alert: Alert) -> str:
    """The description with `{{ $labels.service }}`/`job` as the service's name and any other label
    as its name in code, as a reader of the runbook (not of a firing alert) sees it."""
    named = _SERVICE_LABEL.sub(plan.answers.service_slug, alert.description)
    return _OTHER_LABEL.sub(lambda match: f"`{match.group(1)}`", named)


def runbook_facts(plan: ServicePlan, alert: Alert) -> RunbookFacts:
    prod, answers = plan.prod, plan.answers
    kubernetes = answers.platform == "aws-eks"
    postgres = answers.database == "postgres"
    language, where = QUERY.get(alert.engine, ("", "")) if alert.expr else ("", "")
    if not kubernetes:
        dashboards = "cloudwatch"
    else:
        dashboards = "grafana" if "grafana" in prod.monitoring.components else "prometheus"
    replicas_max = prod.workload.replicas_max
    return RunbookFacts(
        alert=alert,
        incident=INCIDENT_FOR_ALERT_SEVERITY[alert.severity],
        severity_effect=SEVERITY_EFFECT[alert.severity],
        pages=alert.severity == PAGE,
        evaluated_by=EVALUATED_BY[alert.engine],
        description=reader_description(plan, alert),
        query_language=language,
        query_where=where,
        kubernetes=kubernetes,
        workload_kind=WORKLOAD_KIND[answers.deployment_strategy] if kubernetes else "",
        resource_check=kubernetes and RESOURCES in alert.checks,
        cpu_limit=prod.workload.cpu_limit,
        memory_limit=prod.workload.memory_limit,
        filesystem_check=kubernetes and FILESYSTEM in alert.checks,
        database_check=postgres and DATABASE in alert.checks,
        logs_in_loki="loki" in prod.monitoring.components,
        dashboards=dashboards,
        replicas_max=replicas_max,
        incident_replicas_max=replicas_max * INCIDENT_SCALE_OUT_FACTOR,
        reserved_concurrency=prod.function.reserved_concurrency if prod.function else 0,
        database=postgres,
        database_multi_az=bool(prod.database and prod.database.multi_az),
        dr_region=prod.recovery.dr_region if prod.recovery.multi_region else "",
    )
