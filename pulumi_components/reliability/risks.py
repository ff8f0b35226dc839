"""Risks the answers leave open, each with the recommendation that closes it.

Derived from the plan (never from the rendered files), so the reliability
report and the production-readiness checklist name the same risks.
"""

from __future__ import annotations

from dataclasses import dataclass

from .availability import failover_kind, feasibility
from .plan import ServicePlan
from .vocabulary import Cluster, Database, DeploymentStrategy, MonitoringLevel, NatStrategy, OncallTool, Platform

SEVERITY_ORDER = ("high", "medium", "low")


@dataclass(frozen=True)
class Risk:
    key: str
    severity: str  # high | medium | low
    finding: str
    recommendation: str


def _feasibility_risks(plan: ServicePlan) -> list[Risk]:
    result = feasibility(plan)
    risks = []
    if not result.reachable:
        remedies = "; or ".join(result.remedies)
        risks.append(Risk("sla-not-reachable", "high", result.shortfall, remedies[0].upper() + remedies[1:] + "."))
    elif result.budget_share_percent > 50:
        risks.append(
            Risk(
                "infrastructure-spends-budget",
                "medium",
                f"The providers' commitments allow {result.allowed_downtime_minutes} min of downtime per 30 days, "
                f"{result.budget_share_percent}% of the {plan.availability.budget_minutes} min error budget, "
                "before any failure of the service itself.",
                "Keep releases behind the rollout analysis and treat the error budget policy strictly; "
                "a second region or fewer synchronous dependencies raise the ceiling.",
            )
        )
    kind = result.failover
    if kind.key != "none" and kind.minutes > plan.availability.budget_minutes:
        warm = failover_kind(plan, "warm-standby")
        steps = ", ".join(f"{step.name} {step.minutes:g}" for step in kind.steps)
        risks.append(
            Risk(
                "failover-exceeds-budget",
                "medium",
                f"A regional failover to {result.dr_region} ({kind.title}) takes about {kind.minutes:g} min "
                f"({steps}), more than the {plan.availability.budget_minutes} min monthly error budget; "
                f"{len(kind.manual_steps)} step(s) wait for a person.",
                "Rehearse the failover each quarter (docs/disaster-recovery.md) and compare its measured time with "
                f"this estimate; a warm standby with health-checked automatic failover would take about "
                f"{warm.minutes:g} min.",
            )
        )
    return risks


def _environment_risks(plan: ServicePlan) -> list[Risk]:
    risks = []
    for env in plan.environments.values():
        relaxed = set(env.relaxations)
        if "single-nat-gateway" in relaxed:
            risks.append(
                Risk(
                    f"{env.name}-single-nat",
                    "low",
                    f"{env.name} has one NAT gateway: losing its AZ cuts outbound traffic for the whole environment.",
                    "Accepted outside production to save cost; production has one NAT gateway per AZ.",
                )
            )
        if "short-backup-retention" in relaxed:
            risks.append(
                Risk(
                    f"{env.name}-short-backups",
                    "low",
                    f"{env.name} keeps database backups for {env.database.backup_retention_days} day(s) "
                    "and takes no final snapshot on deletion.",
                    f"Never keep data in {env.name} that cannot be recreated from seed scripts.",
                )
            )
    if plan.prod.network.nat_gateways == NatStrategy.SINGLE:
        risks.append(
            Risk(
                "prod-single-nat",
                "medium",
                "Production has a single NAT gateway: an AZ loss also cuts egress for the other AZs.",
                "Choose sla 99.9 or higher for one NAT gateway per AZ.",
            )
        )
    prod_db = plan.prod.database
    if prod_db is not None and not prod_db.multi_az:
        risks.append(
            Risk(
                "prod-single-az-database",
                "high",
                "The production database is Single-AZ: an AZ outage or instance failure stops the service "
                f"until a restore (RTO {plan.prod.recovery.rto_minutes} min).",
                "Choose sla 99.9 or higher for a Multi-AZ database with automatic failover.",
            )
        )
    if not plan.prod.recovery.multi_region:
        risks.append(
            Risk(
                "single-region",
                "low" if plan.answers.sla < 99.95 else "medium",
                f"Everything runs in {plan.answers.aws_region}: a regional outage lasts until the region "
                f"recovers or the stack is rebuilt from code elsewhere (RTO {plan.prod.recovery.rto_minutes} min).",
                f"Keep the whole-stack restore rehearsed; sla 99.99 adds a replica in {plan.answers.failover_region}.",
            )
        )
    return risks


def _practice_risks(plan: ServicePlan) -> list[Risk]:
    answers = plan.answers
    risks = []
    if answers.monitoring_level != MonitoringLevel.COMPREHENSIVE:
        # The blackbox probe runs on aws-eks from `standard` up, on the service's own cluster only.
        probed = (
            answers.platform == Platform.AWS_EKS
            and answers.cluster == Cluster.DEDICATED
            and answers.monitoring_level == MonitoringLevel.STANDARD
        )
        missing = "distributed tracing" if probed else "distributed tracing or synthetic probes"
        unseen = "" if probed else " and outages seen only from outside"
        risks.append(
            Risk(
                "no-tracing",
                "low" if answers.monitoring_level == MonitoringLevel.STANDARD else "medium",
                f"No {missing}: latency regressions in dependencies{unseen} are found by users first.",
                "Choose monitoring_level comprehensive for Tempo tracing"
                + ("." if probed else " and blackbox probes (standard or higher on aws-eks)."),
            )
        )
    if answers.cluster == Cluster.SHARED and answers.monitoring_level == MonitoringLevel.COMPREHENSIVE:
        risks.append(
            Risk(
                "no-synthetic-probe",
                "low",
                "The platform's monitoring probes no tenant's endpoint: outages seen only from outside "
                "(DNS, certificate, load balancer) are found by users first.",
                "Ask the platform team for a blackbox exporter that tenants' Probe objects select, "
                "or probe the public endpoint from outside the platform.",
            )
        )
    if answers.monitoring_level == MonitoringLevel.BASIC and answers.platform == Platform.AWS_EKS:
        risks.append(
            Risk(
                "no-dashboards-or-logs",
                "medium",
                "Basic monitoring installs no dashboards and no log aggregation: diagnosis starts from raw "
                "PromQL and kubectl logs.",
                "Choose monitoring_level standard or higher for Grafana dashboards and Loki.",
            )
        )
    if answers.deployment_strategy == DeploymentStrategy.ROLLING:
        risks.append(
            Risk(
                "no-automated-rollback",
                "medium",
                "Rolling updates have no metric analysis: a bad release reaches every replica and is rolled "
                "back by a person after the burn-rate page.",
                "Choose deployment_strategy canary or blue-green for automatic rollback on the SLO.",
            )
        )
    if answers.oncall in (OncallTool.SLACK, OncallTool.EMAIL):
        risks.append(
            Risk(
                "no-paging",
                "high" if answers.sla >= 99.9 else "medium",
                f"Pages go to {answers.oncall}, which has no acknowledgement or escalation: a page at night "
                "can go unseen.",
                "Route critical alerts to PagerDuty or Opsgenie for acknowledged paging with escalation.",
            )
        )
    if "staging" not in answers.environments:
        risks.append(
            Risk(
                "no-staging",
                "medium",
                "There is no staging environment: production is the first place a change meets real infrastructure.",
                "Add staging to environments.",
            )
        )
    if answers.platform == Platform.AWS_LAMBDA and answers.database == Database.POSTGRES:
        risks.append(
            Risk(
                "lambda-connection-storms",
                "medium",
                "Lambda scales out faster than PostgreSQL accepts connections: a traffic burst can exhaust "
                f"max_connections (reserved concurrency {plan.prod.function.reserved_concurrency}).",
                "Keep reserved concurrency below the database's connection limit, or put RDS Proxy in front.",
            )
        )
    return risks


def assess_risks(plan: ServicePlan) -> tuple[Risk, ...]:
    """Every open risk, most severe first."""
    risks = _feasibility_risks(plan) + _environment_risks(plan) + _practice_risks(plan)
    return tuple(sorted(risks, key=lambda r: SEVERITY_ORDER.index(r.severity)))
