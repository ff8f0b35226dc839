"""What the platform and cluster answers mean for the generated repository, decided once.

Templates branch on these named facts (`service_facts()` in Jinja) rather than comparing
`platform` with a literal: a fact says why a line differs (the workload runs as pods, the
repository creates its cluster, alerts are Prometheus rules), and a new platform or cluster
kind changes this module, not every template that mentions one.

Standard library only: the Copier extension loads this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from .plan import ServicePlan
from .vocabulary import Cluster, Kind, Platform


@dataclass(frozen=True)
class ServiceFacts:
    """What the repository builds and runs, from the platform and cluster answers."""

    # The workload runs as pods on EKS (either cluster kind): a container image, Helm, kubectl,
    # a Rollout or Deployment, Prometheus scraping it.
    runs_on_kubernetes: bool
    # The workload is a Lambda function behind an API Gateway HTTP API, released by CodeDeploy.
    runs_on_lambda: bool
    # This repository creates the network, the EKS cluster, its add-ons and its runners (dedicated).
    has_cluster: bool
    # The workload deploys into the platform team's cluster and reads it from the platform's stack.
    shared_cluster: bool
    # CI builds, scans and pushes a container image, passed to `pulumi up` by digest (a service's:
    # a platform runs no workload of its own).
    builds_image: bool
    # Alerts are Prometheus rules routed by Alertmanager; otherwise CloudWatch alarms notify SNS topics.
    alerts_via_prometheus: bool
    # The failover workflow creates the standby stack itself (Lambda); an EKS standby's new cluster
    # has a private API that production's runners cannot reach, so an admin creates it.
    standby_created_by_workflow: bool


def service_facts(plan: ServicePlan) -> ServiceFacts:
    answers = plan.answers
    kubernetes = answers.platform == Platform.AWS_EKS
    shared = kubernetes and answers.cluster == Cluster.SHARED
    return ServiceFacts(
        runs_on_kubernetes=kubernetes,
        runs_on_lambda=answers.platform == Platform.AWS_LAMBDA,
        has_cluster=kubernetes and not shared,
        shared_cluster=shared,
        builds_image=kubernetes and answers.kind == Kind.SERVICE,
        alerts_via_prometheus=kubernetes,
        standby_created_by_workflow=not kubernetes,
    )
