"""SchemaMigration: the release's database migrations as a Kubernetes Job, run before the rollout.

The Job's pod is the workload's own pod template (same image, service account and IRSA role, the
same mounted Secrets, among them the DATABASE_URL External Secrets writes, the same restricted
security context) with the migration command instead of the server, no probes and no restarts.
Pulumi's Job await waits until the Job completes and fails the update as soon as it fails; the
workload's pod template names the Job (an input that depends on it), so the engine never touches
the Deployment or Rollout before the migrations succeeded, and a failed migration leaves the
running release serving as it was.

One Job per image and database: its name carries a hash of the image reference and the database's
host, so each release (a new digest, with its migrations inside) runs its migrations once, a
`pulumi up` without a new image runs nothing, and a restore (a new instance, at the schema of its
snapshot) runs them again before the pods move to it. The Job stays after it finishes (no TTL,
which Pulumi would read as drift) until the next release replaces it: `kubectl logs job/<name>`
shows what ran.

Its own NetworkPolicy: the namespace denies everything by default, and the migration pod needs
DNS and the database only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from ._base import child, require, type_token

COMPONENT_LABEL = "app.kubernetes.io/component"
COMPONENT = "schema-migration"
# The workload's pod template names the Job it waits for (kubernetes_service.py).
JOB_ANNOTATION = "groundwork.dev/schema-migration"
APP_MIGRATE_COMMAND = ("python", "-m", "service.migrate", "up")  # app/service/migrate.py
DNS_PORT = 53
DEFAULT_TIMEOUT_SECONDS = 600
IMAGE_PULL_SECONDS = 300  # the first pull of a new image on a node, before the deadline counts


@dataclass
class SchemaMigrationArgs:
    service: str  # the namespace and the prefix of every name
    pod_template: Mapping[str, Any]  # the workload's pod template: identity, secrets, image
    database_host: pulumi.Input[str] = ""  # a new host (a restore) runs the migrations again
    command: Sequence[str] = APP_MIGRATE_COMMAND
    database_port: int = 5432
    database_cidrs: Sequence[str] = ()  # where the database lives
    labels: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS

    def validate(self) -> None:
        require(bool(self.command), "command: give the command that applies the migrations in the image")
        require(bool(self.database_cidrs), "database_cidrs: name where the database lives, for the egress allow")
        containers = (self.pod_template.get("spec") or {}).get("containers") or []
        require(len(containers) >= 1, "pod_template: the workload's pod template has no container to run")
        require(
            bool((self.pod_template.get("spec") or {}).get("serviceAccountName")),
            "pod_template: the workload's pod template names no service account; the Job runs as the service",
        )
        require(
            60 <= self.timeout_seconds <= 3600,
            f"timeout_seconds must be 60 to 3600; got {self.timeout_seconds}",
        )


def job_name(service: str, image: str, database_host: str = "") -> str:
    """`<service>-migrate-<10 hex>`: a new name for each image and database, so each release runs its
    migrations once against each database it serves from."""
    digest = hashlib.sha256(f"{image}\n{database_host}".encode()).hexdigest()[:10]
    return f"{service}-migrate-{digest}"


def migration_pod(template: Mapping[str, Any], command: Sequence[str], labels: Mapping[str, str]) -> dict[str, Any]:
    """The Job's pod: the workload's pod spec with its first container running `command` once.
    Copied level by level, never deeply: the template holds Outputs (the image, the database host)."""
    spec = {
        key: value
        for key, value in template["spec"].items()
        if key not in ("topologySpreadConstraints", "terminationGracePeriodSeconds", "containers")
    }
    container = {
        key: value
        for key, value in template["spec"]["containers"][0].items()
        if key not in ("ports", "startupProbe", "livenessProbe", "readinessProbe", "lifecycle")
    }
    container |= {"name": "migrate", "command": list(command)}
    spec |= {"containers": [container], "restartPolicy": "Never"}
    return {"metadata": {**(template.get("metadata") or {}), "labels": dict(labels)}, "spec": spec}


class SchemaMigration(pulumi.ComponentResource):
    """The Job (and its NetworkPolicy); `job_name` is the Output the workload must depend on."""

    def __init__(self, name: str, args: SchemaMigrationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        import pulumi_kubernetes as k8s  # here: the deployability rules import this module in Lambda repos too

        args.validate()
        super().__init__(type_token("SchemaMigration"), name, None, opts)
        self.labels = {
            **args.labels,
            "app.kubernetes.io/name": f"{args.service}-migrate",
            "app.kubernetes.io/part-of": args.service,
            COMPONENT_LABEL: COMPONENT,
        }
        image = args.pod_template["spec"]["containers"][0]["image"]
        self.policy = self._network_policy(name, args)
        pod = migration_pod(args.pod_template, args.command, self.labels)
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata={
                "name": pulumi.Output.all(image, args.database_host).apply(
                    lambda values: job_name(args.service, values[0], values[1])
                ),
                "namespace": args.service,
                "labels": dict(self.labels),
            },
            spec={
                "backoffLimit": 0,  # a failed migration rolled back its transaction: fail the release, no retry
                "activeDeadlineSeconds": args.timeout_seconds,
                "template": pod,
            },
            opts=child(
                self,
                depends_on=[self.policy],
                # The pod template is immutable: a changed Job is deleted, then created (same name).
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(
                    create=f"{args.timeout_seconds + IMAGE_PULL_SECONDS}s",
                    update=f"{args.timeout_seconds + IMAGE_PULL_SECONDS}s",
                ),
            ),
        )
        self.job_name = self.job.metadata.apply(lambda meta: meta["name"])
        self.register_outputs({"job_name": self.job_name})

    def _network_policy(self, name: str, args: SchemaMigrationArgs) -> pulumi.CustomResource:
        import pulumi_kubernetes as k8s

        dns = [{"protocol": protocol, "port": DNS_PORT} for protocol in ("UDP", "TCP")]
        return k8s.networking.v1.NetworkPolicy(
            f"{name}-policy",
            metadata={"name": f"{args.service}-migrate", "namespace": args.service, "labels": dict(self.labels)},
            spec={
                "podSelector": {"matchLabels": {COMPONENT_LABEL: COMPONENT}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": dns,
                    },
                    {
                        "to": [{"ipBlock": {"cidr": cidr}} for cidr in args.database_cidrs],
                        "ports": [{"protocol": "TCP", "port": args.database_port}],
                    },
                ],
            },
            opts=child(self),
        )
