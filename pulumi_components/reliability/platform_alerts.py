"""A platform's own alerts: the failures of the shared cluster that its hosted services cannot see.

kube-prometheus-stack's default rules (`defaultRules.create`) already cover nodes
(KubeNodeNotReady, NodeFilesystemSpaceFillingUp), the API server (KubeAPIDown,
KubeAPIErrorBudgetBurn), workloads of the add-ons (KubeDeploymentReplicasMismatch,
KubePodCrashLooping) and overcommitment (KubeCPUOvercommit, KubeMemoryOvercommit, KubeQuotaAlmostFull),
each with its upstream runbook. These are what only this platform's plan knows: the node floor the
plan sizes, the ceiling the autoscaler stops at, the runners the hosted services' pipelines wait on,
and a control plane that stopped answering Prometheus at all. Each has a section in the platform
repository's docs/runbooks.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .plan import EnvironmentPlan

RUNNERS_NAMESPACE = "arc-runners"  # the scale sets' listeners and runner pods (charts.py)
CAPACITY_HEADROOM_RATIO = 0.8  # CPU requested over what node_max nodes could offer


@dataclass(frozen=True)
class PlatformAlert:
    name: str
    expr: str
    duration: str
    severity: str  # critical pages in production; warning opens a ticket
    summary: str
    description: str


def fixed_alerts() -> tuple[PlatformAlert, ...]:
    """The same in every environment: the repository's monitoring/prometheus/rules.yml."""
    return (
        PlatformAlert(
            "PlatformControlPlaneUnreachable",
            'absent(up{job="apiserver"} == 1)',
            "5m",
            "critical",
            "Prometheus cannot reach the cluster's API server",
            "No API server target has answered a scrape for 5 minutes: deploys, autoscaling and every "
            "controller of every hosted service depend on it.",
        ),
        PlatformAlert(
            "PlatformRunnersUnavailable",
            f'sum(kube_pod_status_ready{{namespace="{RUNNERS_NAMESPACE}",condition="true"}}) == 0',
            "15m",
            "warning",
            "No runner listener is ready",
            "The runner scale set's listener has not been ready for 15 minutes: every hosted service's "
            "deploy, rollback and preview jobs wait for a runner that never comes.",
        ),
    )


def sized_alerts(env: EnvironmentPlan) -> tuple[PlatformAlert, ...]:
    """Sized by the environment's plan (node floor and ceiling): the program loads them per stack."""
    cluster = env.cluster
    ready = 'kube_node_status_condition{condition="Ready",status="true"}'
    requested = 'sum(kube_pod_container_resource_requests{resource="cpu"})'
    per_node = 'sum(kube_node_status_allocatable{resource="cpu"}) / count(kube_node_info)'
    return (
        PlatformAlert(
            "PlatformNodesBelowMinimum",
            f"count({ready} == 1) < {cluster.node_min}",
            "10m",
            "critical",
            "Fewer Ready nodes than the plan's minimum",
            f"Fewer than {cluster.node_min} nodes have been Ready for 10 minutes: hosted services lose the "
            "spread across zones their PodDisruptionBudgets assume.",
        ),
        PlatformAlert(
            "PlatformCapacityHeadroomLow",
            f"{requested} / ({per_node} * {cluster.node_max}) > {CAPACITY_HEADROOM_RATIO}",
            "30m",
            "warning",
            "The cluster is near what its largest node count can hold",
            f"Pods request more than {CAPACITY_HEADROOM_RATIO:.0%} of the CPU that {cluster.node_max} nodes "
            "(the autoscaler's maximum) offer: the next release or scale-up of a hosted service may not fit.",
        ),
    )


def all_alerts(env: EnvironmentPlan) -> tuple[PlatformAlert, ...]:
    """Every platform alert of `env`, each with a section of docs/runbooks.md."""
    return fixed_alerts() + sized_alerts(env)


def runbook_anchor(name: str) -> str:
    """The anchor of the alert's section in docs/runbooks.md (GitHub's heading slug)."""
    return name.lower()


def rule_file(platform: str, alerts: tuple[PlatformAlert, ...], runbook_base: str, group: str) -> dict[str, Any]:
    """A PrometheusRule spec of `alerts`, each linking its runbook section."""
    return {
        "groups": [
            {
                "name": f"{platform}-{group}",
                "rules": [
                    {
                        "alert": alert.name,
                        "expr": alert.expr,
                        "for": alert.duration,
                        "labels": {"severity": alert.severity, "service": platform},
                        "annotations": {
                            "summary": alert.summary,
                            "description": alert.description,
                            "runbook_url": f"{runbook_base}#{runbook_anchor(alert.name)}",
                        },
                    }
                    for alert in alerts
                ],
            }
        ]
    }
