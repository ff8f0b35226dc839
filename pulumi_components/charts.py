"""Every Helm chart the generated platform installs: repository and pinned version.

One table, so a chart upgrade is one line here, and the tests check the
generated values files against the value keys of exactly these versions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repo: str
    namespace: str


PROMETHEUS_COMMUNITY = "https://prometheus-community.github.io/helm-charts"
GRAFANA_COMMUNITY = "https://grafana-community.github.io/helm-charts"  # grafana, loki, tempo since 2026
# Actions Runner Controller publishes its charts to an OCI registry only.
ARC_CHARTS = "oci://ghcr.io/actions/actions-runner-controller-charts"

CHARTS: dict[str, Chart] = {
    chart.name: chart
    for chart in (
        Chart("kube-prometheus-stack", "88.5.3", PROMETHEUS_COMMUNITY, "monitoring"),
        Chart("prometheus-blackbox-exporter", "11.17.2", PROMETHEUS_COMMUNITY, "monitoring"),
        Chart("loki", "18.11.0", GRAFANA_COMMUNITY, "monitoring"),
        Chart("grafana", "12.11.1", GRAFANA_COMMUNITY, "monitoring"),
        Chart("tempo", "2.2.4", GRAFANA_COMMUNITY, "monitoring"),
        Chart("alloy", "1.11.1", "https://grafana.github.io/helm-charts", "monitoring"),
        Chart(
            "opentelemetry-collector",
            "0.170.0",
            "https://open-telemetry.github.io/opentelemetry-helm-charts",
            "monitoring",
        ),
        Chart("argo-rollouts", "2.41.0", "https://argoproj.github.io/argo-helm", "argo-rollouts"),
        Chart("aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts", "kube-system"),
        Chart("external-secrets", "2.9.0", "https://charts.external-secrets.io", "external-secrets"),
        Chart("metrics-server", "3.13.1", "https://kubernetes-sigs.github.io/metrics-server", "kube-system"),
        # Chart 9.59.0 ships the 1.35 image; `kubernetes_cluster.CLUSTER_AUTOSCALER_IMAGE_TAGS` sets
        # the one matching the cluster's minor.
        Chart("cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler", "kube-system"),
        Chart("gha-runner-scale-set-controller", "0.14.2", ARC_CHARTS, "arc-systems"),
        Chart("gha-runner-scale-set", "0.14.2", ARC_CHARTS, "arc-runners"),
    )
}
