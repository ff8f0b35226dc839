"""KubernetesService: the service's workload on EKS, delivered the way the plan says.

`rolling` is a Deployment that never removes a pod before its replacement is
ready. `canary` and `blue-green` are Argo Rollouts: the canary shifts ALB
traffic through the plan's weights while an AnalysisTemplate queries
Prometheus for the new pods' error ratio and p99 latency, and aborts (traffic
back to stable) on the second failed measurement; blue-green analyses the
preview colour before promotion and the new active colour after it, and keeps
the old colour for `scale_down_delay_seconds` so a rollback is instant.

Whatever the strategy, the pods run restricted (non-root, read-only root
filesystem, no capabilities, RuntimeDefault seccomp) behind a default-deny
NetworkPolicy, spread across zones and nodes, scaled by an HPA, protected by
a PDB, scraped by a ServiceMonitor, configured from a ConfigMap and given
their secrets by External Secrets from AWS Secrets Manager, mounted as files
(never inline, never in the environment).
The IRSA role is created here, trusted only by this service's account.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ._base import child, merge_tags, policy_json, require, type_token, web_identity_trust
from .kms import secret_decrypt_statement
from .monitoring_stack import COLLECTOR, COLLECTOR_OTLP_HTTP_PORT, collector_endpoint
from .reliability.alerts import APP_CONTAINER, scrape_job, service_selector
from .reliability.plan import PROMETHEUS_SCRAPE_INTERVAL_SECONDS, EnvironmentPlan
from .schema_migration import JOB_ANNOTATION, SchemaMigration, SchemaMigrationArgs

APP_PORT = 8080
SERVICE_PORT = 80
RUN_AS_USER = 10001  # the app image's non-root user
PROGRESS_DEADLINE_SECONDS = 600
DNS_PORT = 53
HTTPS_PORT = 443
POSTGRES_PORT = 5432
SECRETS_PATH = "/run/secrets"  # one read-only directory per Secret; the app reads files, not env
PROBE_PATHS = {"liveness": "/healthz", "readiness": "/readyz", "metrics": "/metrics"}
# Pod shutdown, in order: the preStop pause keeps the pod serving while the load balancer
# deregisters it; then SIGTERM, and gunicorn lets in-flight requests finish for up to the
# app's graceful timeout (GRACEFUL_TIMEOUT_SECONDS, app/service/runtime.py); the kubelet's
# SIGKILL comes at the grace period, counted from the start of preStop, with a margin to spare.
PRE_STOP_SECONDS = 10
APP_GRACEFUL_TIMEOUT_SECONDS = 15
SHUTDOWN_MARGIN_SECONDS = 5
TERMINATION_GRACE_PERIOD_SECONDS = PRE_STOP_SECONDS + APP_GRACEFUL_TIMEOUT_SECONDS + SHUTDOWN_MARGIN_SECONDS
# Argo Rollouts labels every pod with the hash of its template; the ServiceMonitor copies
# it onto the metrics so analysis can read the new pods' series alone.
ROLLOUT_HASH_LABEL = "rollouts-pod-template-hash"
ROLLOUT_HASH_METRIC_LABEL = ROLLOUT_HASH_LABEL.replace("-", "_")
STRATEGIES = ("rolling", "canary", "blue-green")
DATABASE_ANNOTATION = "groundwork.dev/database"
# The listener's TLS policy: TLS 1.3 and 1.2 with forward-secret ciphers only and hybrid
# post-quantum key exchange; AWS's recommended policy for new HTTPS listeners.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
HTTP_PORT = 80  # the ALB's plain-HTTP listener: it only redirects to HTTPS_PORT
# Old ReplicaSets kept: what `kubectl rollout undo` and an Argo Rollouts rollback can return to.
REVISION_HISTORY_LIMIT = 5
# External Secrets re-reads Secrets Manager this often: a rotated secret reaches the pods' files within it.
EXTERNAL_SECRET_REFRESH_INTERVAL = "1h"
SECRET_FILE_MODE = 0o440  # readable by the app's user and its group (fsGroup), writable by no one
# The one writable path of a read-only root filesystem; memory-backed, so it counts against the memory limit.
TMP_VOLUME_SIZE = "64Mi"
SPREAD_MAX_SKEW = 1  # zones (and nodes) differ by at most one pod of a version
# Under the scrape interval, as Prometheus requires: a slow /metrics fails its own scrape, not the next.
SCRAPE_TIMEOUT_SECONDS = 10
PREVIEW_CHECK_TIMEOUT_SECONDS = 5  # blue-green's request to the preview colour; slower counts as a failure
METRICS_SERVICE_LABEL = "groundwork.dev/metrics"  # marks the headless Service the ServiceMonitor selects


class ProbeTiming(NamedTuple):
    period_seconds: int
    failure_threshold: int


# /healthz answers from memory and /readyz after one database check (app/service/routing.py);
# an answer slower than this counts as a failure.
PROBE_TIMEOUT_SECONDS = 2
# Startup: checked every 2 s for up to 60 s, so a fast start is seen fast and a slow one is not
# restarted by the liveness probe before it listens.
STARTUP_PROBE = ProbeTiming(period_seconds=2, failure_threshold=30)
# Liveness: restarted after 30 s without an answer, long enough to ride out a pause under load.
LIVENESS_PROBE = ProbeTiming(period_seconds=10, failure_threshold=3)
# Readiness: out of the load balancer's targets within 10 s of failing.
READINESS_PROBE = ProbeTiming(period_seconds=5, failure_threshold=2)


@dataclass
class DatabaseConnection:
    """Where the service's PostgreSQL is and the Secrets Manager secret holding its
    `username` and `password` (for example the RDS-managed master user secret), with the
    customer-managed key that secret is encrypted with (None: the AWS-managed
    `aws/secretsmanager` key, which every role of the account may use)."""

    host: pulumi.Input[str]
    secret_arn: pulumi.Input[str]
    secret_key_arn: pulumi.Input[str] | None
    name: str = "app"
    port: int = POSTGRES_PORT
    cidrs: Sequence[str] = ()  # where the database lives, for the egress allow
    # The command in the image that migrates the schema, run as a Job before each rollout
    # (schema_migration.py); empty: the service migrates nothing.
    migrate_command: Sequence[str] = ()


@dataclass
class PublicIngress:
    """How the internet reaches the service through the ALB the controller creates: the name it
    serves, its issued certificate, the web ACL in front and where the ALB writes its access logs
    (see PublicEndpoint and EdgeProtection)."""

    hostname: str
    certificate_arn: pulumi.Input[str]
    web_acl_arn: pulumi.Input[str]
    access_log_bucket: pulumi.Input[str]
    access_log_prefix: str


@dataclass
class KubernetesServiceArgs:
    name: str  # the service slug: Kubernetes names, labels and the namespace
    image: pulumi.Input[str]  # pinned by digest: repository@sha256:...
    plan: EnvironmentPlan
    region: str
    oidc_provider_arn: pulumi.Input[str]  # the cluster's IAM OIDC provider (IRSA)
    oidc_issuer: pulumi.Input[str]  # its issuer URL, with or without https://
    ingress_cidrs: Sequence[str]  # where the ALB's targets are reached from: the VPC
    edge: PublicIngress  # HTTPS only, behind a web ACL, access-logged
    config: Mapping[str, str] = field(default_factory=dict)  # ConfigMap -> environment
    secret_arns: Sequence[pulumi.Input[str]] = ()  # Secrets Manager secrets -> environment
    # The customer-managed keys those secrets are encrypted with; reading a secret decrypts it.
    secret_key_arns: Sequence[pulumi.Input[str]] = ()
    database: DatabaseConnection | None = None
    prometheus_url: str = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    monitoring_namespace: str = "monitoring"
    service_monitor_labels: Mapping[str, str] = field(default_factory=lambda: {"release": "kube-prometheus-stack"})
    argo_rollouts_namespace: str = "argo-rollouts"
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        rollout, workload = self.plan.rollout, self.plan.workload
        require(
            rollout.strategy in STRATEGIES,
            f"rollout.strategy must be one of {', '.join(STRATEGIES)}; got {rollout.strategy!r}",
        )
        require(
            1 <= workload.replicas_min <= workload.replicas_max,
            f"workload.replicas_min must be 1 to replicas_max ({workload.replicas_max}); got {workload.replicas_min}",
        )
        require(
            0 <= workload.pdb_min_available < workload.replicas_min,
            f"workload.pdb_min_available must be below replicas_min ({workload.replicas_min}) so a node can "
            f"drain; got {workload.pdb_min_available}",
        )
        require(
            not isinstance(self.image, str) or "@sha256:" in self.image,
            f"image: pin the image by digest (repository@sha256:...); got {self.image!r}",
        )
        if rollout.strategy == "canary":
            steps = rollout.canary_steps
            require(
                bool(steps) and list(steps) == sorted(set(steps)) and 0 < steps[0] and steps[-1] == 100,
                f"rollout.canary_steps must rise strictly from above 0 to 100; got {list(steps)}",
            )
        require(
            0 < rollout.max_error_ratio < 1,
            f"rollout.max_error_ratio must be between 0 and 1; got {rollout.max_error_ratio}",
        )
        require(bool(self.ingress_cidrs), "ingress_cidrs: name the VPC CIDR the load balancer reaches the pods from")
        require(
            not self.secret_key_arns or bool(self.secret_arns),
            "secret_key_arns: keys given for no secret; pass the secret_arns they encrypt",
        )
        require(bool(self.edge.hostname), "edge.hostname: name the host the Ingress serves")


def restricted_namespace(
    resource_name: str, name: str, labels: Mapping[str, str], parent: pulumi.Resource
) -> k8s.core.v1.Namespace:
    """A namespace whose pods Pod Security Admission rejects unless they are `restricted`."""
    enforce = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    return k8s.core.v1.Namespace(
        resource_name, metadata={"name": name, "labels": {**labels, **enforce}}, opts=child(parent)
    )


class KubernetesService(pulumi.ComponentResource):
    """The workload and everything around it; pass the cluster's provider in `opts`.

    The class creates the resources and wires their order; each object's body comes from
    a builder function below it (`pod_template(args)`, `rollout_strategy(args)`...), which
    reads only the args and is tested directly."""

    def __init__(self, name: str, args: KubernetesServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("KubernetesService"), name, None, opts)
        self._args = args
        self._name = name
        self.strategy = args.plan.rollout.strategy
        self.labels = service_labels(args)
        self.selector = pod_selector(args)

        self.namespace = restricted_namespace(f"{name}-ns", args.name, self.labels, self)
        self.role = self._irsa_role()
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=self._meta(args.name, annotations={"eks.amazonaws.com/role-arn": self.role.arn}),
            automount_service_account_token=False,
            opts=child(self),
        )
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-config", metadata=self._meta(f"{args.name}-config"), data=config_data(args), opts=child(self)
        )
        self.secret_names = self._external_secrets()
        self.services = self._services()
        self.ingress = self._ingress()
        self.workload = self._workload()
        self._autoscaling()
        self._network_policies()
        self._service_monitor()
        # The ALB's own DNS name, which the hostname's record aliases; clients use `url`.
        self.load_balancer_hostname = self.ingress.status.apply(_ingress_hostname)
        self.url = f"https://{args.edge.hostname}"
        self.register_outputs(
            {
                "namespace": args.name,
                "strategy": self.strategy,
                "role_arn": self.role.arn,
                "service_names": list(self.services),
                "url": self.url,
            }
        )

    # -- helpers ---------------------------------------------------------------------

    def _meta(self, name: str, **extra: Any) -> dict[str, Any]:
        return object_meta(self._args, name, **extra)

    def _opts(self, *, depends_on: Sequence[pulumi.Resource] = (), **kwargs: Any) -> pulumi.ResourceOptions:
        # Everything namespaced waits for its namespace.
        return child(self, depends_on=[self.namespace, *depends_on], **kwargs)

    # -- identity and secrets -----------------------------------------------------------

    def _irsa_role(self) -> aws.iam.Role:
        args = self._args
        issuer = pulumi.Output.from_input(args.oidc_issuer).apply(lambda url: url.removeprefix("https://"))
        trust = pulumi.Output.all(args.oidc_provider_arn, issuer).apply(
            lambda a: web_identity_trust(a[0], a[1], namespace=args.name, service_account=args.name)
        )
        role = aws.iam.Role(
            f"{self._name}-irsa",
            description=f"Runs {args.name} pods in {args.plan.name} (service account {args.name}/{args.name})",
            assume_role_policy=trust,
            tags=merge_tags(args.tags, Name=f"{args.name}-{args.plan.name}-pods"),
            opts=child(self),
        )
        secrets = [*args.secret_arns, *([args.database.secret_arn] if args.database else [])]
        keys = [*args.secret_key_arns, *([args.database.secret_key_arn] if args.database else [])]
        if secrets:
            # External Secrets reads with this role (SecretStore below); Secrets Manager then
            # decrypts with the caller's permission on each secret's key.
            aws.iam.RolePolicy(
                f"{self._name}-irsa-secrets",
                role=role.id,
                policy=pulumi.Output.all(pulumi.Output.all(*secrets), pulumi.Output.all(*keys)).apply(
                    lambda a: _secret_reader_policy(a[0], [key for key in a[1] if key], args.region)
                ),
                opts=child(self),
            )
        return role

    def _external_secrets(self) -> list[str]:
        """Secrets reach the pods as Kubernetes Secrets written by External Secrets, read
        with this service's own IRSA role through a namespaced SecretStore."""
        args = self._args
        store = k8s.apiextensions.CustomResource(
            f"{self._name}-secret-store",
            api_version="external-secrets.io/v1",
            kind="SecretStore",
            metadata=self._meta(args.name),
            spec=secret_store_spec(args),
            opts=self._opts(),
        )
        names = secret_names(args)
        sources: list[Any] = [{"dataFrom": [{"extract": {"key": arn}}]} for arn in args.secret_arns]
        if args.database:
            database = args.database
            sources.append(
                pulumi.Output.all(database.host, database.secret_arn).apply(lambda a: database_source(database, *a))
            )
        for target, source in zip(names, sources, strict=True):
            self._external_secret(target, store, source)
        return names

    def _external_secret(self, target: str, store: pulumi.Resource, source: Any) -> None:
        k8s.apiextensions.CustomResource(
            f"{self._name}-{target.removeprefix(self._args.name + '-')}",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata=self._meta(target),
            spec=pulumi.Output.from_input(source).apply(lambda src: external_secret_spec(self._args, target, src)),
            opts=self._opts(depends_on=[store]),
        )

    # -- traffic ------------------------------------------------------------------------

    def _services(self) -> dict[str, k8s.core.v1.Service]:
        """The Services of `service_names(args)`, then a headless `-metrics` Service for the
        ServiceMonitor, which selects every pod whatever colour or weight it has."""
        args = self._args
        services = {}
        for service_name in service_names(args):
            services[service_name] = k8s.core.v1.Service(
                f"{self._name}-svc-{service_name.removeprefix(args.name).lstrip('-') or 'main'}",
                metadata=self._meta(service_name),
                spec=service_spec(args),
                opts=self._opts(),
            )
        # Its name is the scrape job the alert rules select (reliability/alerts.py).
        metrics_name = scrape_job(args.name)
        services[metrics_name] = k8s.core.v1.Service(
            f"{self._name}-svc-metrics",
            metadata={**self._meta(metrics_name), "labels": {**self.labels, METRICS_SERVICE_LABEL: "true"}},
            spec=metrics_service_spec(args),
            opts=self._opts(),
        )
        return services

    def _ingress(self) -> k8s.networking.v1.Ingress:
        return k8s.networking.v1.Ingress(
            f"{self._name}-ingress",
            metadata=self._meta(self._args.name, annotations=ingress_annotations(self._args)),
            spec=ingress_spec(self._args),
            opts=self._opts(depends_on=list(self.services.values())),
        )

    # -- the workload ---------------------------------------------------------------------

    def pod_template(self) -> dict[str, Any]:
        return pod_template(self._args)

    def _workload(self) -> pulumi.CustomResource:
        args = self._args
        # The HPA owns the replica count after creation; Pulumi must not reset it on update.
        needs = [self.service_account, self.config_map, *self.services.values()]
        self.migration = self._migration(needs)
        job = self.migration.job_name if self.migration else None
        if self.strategy == "rolling":
            return k8s.apps.v1.Deployment(
                f"{self._name}-deployment",
                metadata=self._meta(args.name),
                spec=after_migration(deployment_spec(args), job),
                opts=self._opts(ignore_changes=["spec.replicas"], depends_on=needs),
            )
        self.analysis_template = self._analysis_template()
        return k8s.apiextensions.CustomResource(
            f"{self._name}-rollout",
            api_version="argoproj.io/v1alpha1",
            kind="Rollout",
            metadata=self._meta(args.name),
            spec=after_migration(rollout_spec(args), job),
            opts=self._opts(
                ignore_changes=["spec.replicas"], depends_on=[*needs, self.analysis_template, self.ingress]
            ),
        )

    def _migration(self, needs: Sequence[pulumi.Resource]) -> SchemaMigration | None:
        """With a migration command, the release's migrations run as a Job of the workload's own pod
        (identity, secrets, image) before the rollout starts (schema_migration.py)."""
        database = self._args.database
        if not (database and database.migrate_command):
            return None
        return SchemaMigration(
            f"{self._name}-migration",
            SchemaMigrationArgs(
                service=self._args.name,
                pod_template=pod_template(self._args),
                database_host=database.host,
                command=database.migrate_command,
                database_port=database.port,
                database_cidrs=database.cidrs or self._args.ingress_cidrs,
                labels={"environment": self._args.plan.name, "app.kubernetes.io/managed-by": "pulumi"},
            ),
            opts=self._opts(depends_on=list(needs)),
        )

    def _analysis_template(self) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{self._name}-analysis",
            api_version="argoproj.io/v1alpha1",
            kind="AnalysisTemplate",
            metadata=self._meta(f"{self._args.name}-analysis"),
            spec=analysis_spec(self._args),
            opts=self._opts(),
        )

    # -- scaling, disruption, isolation, scraping -------------------------------------------

    def _autoscaling(self) -> None:
        args = self._args
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{self._name}-hpa",
            metadata=self._meta(args.name),
            spec=autoscaler_spec(args),
            opts=self._opts(depends_on=[self.workload]),
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{self._name}-pdb",
            metadata=self._meta(args.name),
            spec=disruption_budget_spec(args),
            opts=self._opts(),
        )

    def _network_policies(self) -> None:
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-default-deny",
            metadata=self._meta("default-deny"),
            spec=default_deny_spec(),
            opts=self._opts(),
        )
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-allow",
            metadata=self._meta(f"{self._args.name}-allow"),
            spec=network_policy_spec(self._args),
            opts=self._opts(),
        )

    def _service_monitor(self) -> None:
        args = self._args
        k8s.apiextensions.CustomResource(
            f"{self._name}-service-monitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata={**self._meta(args.name), "labels": {**self.labels, **args.service_monitor_labels}},
            spec=service_monitor_spec(args),
            opts=self._opts(),
        )


# --- the objects' bodies: pure functions of the args -------------------------------------------


def service_labels(args: KubernetesServiceArgs) -> dict[str, str]:
    """The labels of every object the service creates."""
    return {
        "app.kubernetes.io/name": args.name,
        "app.kubernetes.io/part-of": args.name,
        "app.kubernetes.io/managed-by": "pulumi",
        "environment": args.plan.name,
    }


def pod_selector(args: KubernetesServiceArgs) -> dict[str, str]:
    """What selects the service's pods, whatever their version or colour."""
    return {"app.kubernetes.io/name": args.name}


def object_meta(args: KubernetesServiceArgs, name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": args.name, "labels": service_labels(args), **extra}


def config_data(args: KubernetesServiceArgs) -> dict[str, str]:
    """The ConfigMap the container reads its environment from."""
    return {
        "PORT": str(APP_PORT),
        "ENVIRONMENT": args.plan.name,
        "SECRETS_PATH": SECRETS_PATH,
        **tracing_config(args.plan, args.monitoring_namespace),
        **args.config,
        # after the team's settings: the pod's grace period is sized for this one
        "GRACEFUL_TIMEOUT_SECONDS": str(APP_GRACEFUL_TIMEOUT_SECONDS),
    }


def secret_store_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    """Secrets Manager in the service's region, read as the service's own account (IRSA)."""
    return {
        "provider": {
            "aws": {
                "service": "SecretsManager",
                "region": args.region,
                "auth": {"jwt": {"serviceAccountRef": {"name": args.name}}},
            }
        }
    }


def secret_names(args: KubernetesServiceArgs) -> list[str]:
    """The Kubernetes Secrets External Secrets writes: one per secret ARN, then the database's."""
    names = [f"{args.name}-secrets-{index}" for index in range(len(args.secret_arns))]
    return names + ([f"{args.name}-database"] if args.database else [])


def external_secret_spec(args: KubernetesServiceArgs, target: str, source: Mapping[str, Any]) -> dict[str, Any]:
    """An ExternalSecret writing the Secret `target` from `source` (its `data`/`dataFrom`, and
    a `template` when the Secret's keys are assembled from the remote ones)."""
    return {
        "refreshInterval": EXTERNAL_SECRET_REFRESH_INTERVAL,
        "secretStoreRef": {"name": args.name, "kind": "SecretStore"},
        "target": {
            "name": target,
            "creationPolicy": "Owner",
            **({"template": source["template"]} if "template" in source else {}),
        },
        **{key: value for key, value in source.items() if key != "template"},
    }


def database_source(database: DatabaseConnection, host: str, arn: str) -> dict[str, Any]:
    """DATABASE_URL assembled by External Secrets from the database secret's username
    and password (Go template, URL-escaped), so the password never passes through Pulumi."""
    url = (
        "postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}"
        f"@{host}:{database.port}/{database.name}?sslmode=require"
    )
    return {
        "data": [{"secretKey": key, "remoteRef": {"key": arn, "property": key}} for key in ("username", "password")],
        "template": {"engineVersion": "v2", "data": {"DATABASE_URL": url}},
    }


def service_names(args: KubernetesServiceArgs) -> list[str]:
    """rolling: one Service; canary: root (the ALB's), stable and canary; blue-green:
    active and preview."""
    return {
        "rolling": [args.name],
        "canary": [args.name, f"{args.name}-stable", f"{args.name}-canary"],
        "blue-green": [args.name, f"{args.name}-preview"],
    }[args.plan.rollout.strategy]


def service_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    return {
        "type": "ClusterIP",
        "selector": pod_selector(args),
        "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
    }


def metrics_service_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    """Headless: Prometheus scrapes each pod's own address."""
    return {
        "clusterIP": "None",
        "selector": pod_selector(args),
        "ports": [{"name": "http", "port": APP_PORT, "targetPort": "http", "protocol": "TCP"}],
    }


def ingress_annotations(args: KubernetesServiceArgs) -> dict[str, Any]:
    """An internet-facing ALB sending to pod IPs, serving over HTTPS only (the HTTP listener
    answers with a redirect to 443), behind the web ACL, writing access logs."""
    edge = args.edge
    return {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/healthcheck-path": PROBE_PATHS["readiness"],
        "alb.ingress.kubernetes.io/tags": ",".join(f"{k}={v}" for k, v in args.tags.items()),
        "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTP": HTTP_PORT}, {"HTTPS": HTTPS_PORT}]),
        "alb.ingress.kubernetes.io/certificate-arn": edge.certificate_arn,
        "alb.ingress.kubernetes.io/ssl-redirect": str(HTTPS_PORT),
        "alb.ingress.kubernetes.io/ssl-policy": SSL_POLICY,
        "alb.ingress.kubernetes.io/wafv2-acl-arn": edge.web_acl_arn,
        "alb.ingress.kubernetes.io/load-balancer-attributes": pulumi.Output.concat(
            "access_logs.s3.enabled=true,access_logs.s3.bucket=",
            edge.access_log_bucket,
            f",access_logs.s3.prefix={edge.access_log_prefix}",
            # Requests with header names a proxy could read differently never reach the pods.
            ",routing.http.drop_invalid_header_fields.enabled=true",
        ),
    }


def ingress_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    """The hostname's every path to the service. For canary the backend is the root Service
    with the `use-annotation` port: Argo Rollouts writes the weighted action."""
    canary = args.plan.rollout.strategy == "canary"
    port = {"name": "use-annotation"} if canary else {"number": SERVICE_PORT}
    backend = {"service": {"name": args.name, "port": port}}
    return {
        "ingressClassName": "alb",
        "rules": [
            {
                "host": args.edge.hostname,
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
            }
        ],
    }


def hash_label(strategy: str) -> str:
    """The label that tells one version's pods from another's: the ReplicaSet's for a
    Deployment, Argo Rollouts' own for a Rollout."""
    return "pod-template-hash" if strategy == "rolling" else ROLLOUT_HASH_LABEL


def app_container(args: KubernetesServiceArgs) -> dict[str, Any]:
    """The app: restricted, probed, sized by the plan, its secrets mounted as read-only files
    (they stay out of the process environment, which crash reports and child processes
    would otherwise inherit)."""
    workload = args.plan.workload
    secret_mounts = [
        {"name": secret, "mountPath": f"{SECRETS_PATH}/{secret}", "readOnly": True} for secret in secret_names(args)
    ]
    return {
        "name": APP_CONTAINER,
        "image": args.image,
        "imagePullPolicy": "Always",
        "ports": [{"name": "http", "containerPort": APP_PORT, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": f"{args.name}-config"}}],
        "resources": {
            "requests": {"cpu": workload.cpu_request, "memory": workload.memory_request},
            "limits": {"cpu": workload.cpu_limit, "memory": workload.memory_limit},
        },
        "startupProbe": _http_probe(PROBE_PATHS["liveness"], STARTUP_PROBE),
        "livenessProbe": _http_probe(PROBE_PATHS["liveness"], LIVENESS_PROBE),
        "readinessProbe": _http_probe(PROBE_PATHS["readiness"], READINESS_PROBE),
        # Keep serving while the load balancer deregisters the pod, then get SIGTERM.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *secret_mounts],
    }


def pod_template(args: KubernetesServiceArgs) -> dict[str, Any]:
    """The pods: the app container, run as the service's account, spread across zones and nodes."""
    secret_volumes = [
        {"name": secret, "secret": {"secretName": secret, "defaultMode": SECRET_FILE_MODE}}
        for secret in secret_names(args)
    ]
    spread_selector = {"matchLabels": pod_selector(args)}
    return {
        "metadata": {"labels": service_labels(args), **_database_annotation(args)},
        "spec": {
            "serviceAccountName": args.name,
            # IRSA's token is projected by the EKS webhook; the API token is not needed.
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": TERMINATION_GRACE_PERIOD_SECONDS,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS_USER,
                "runAsGroup": RUN_AS_USER,
                "fsGroup": RUN_AS_USER,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "topologySpreadConstraints": [
                {
                    "maxSkew": SPREAD_MAX_SKEW,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": spread_selector,
                    "matchLabelKeys": [hash_label(args.plan.rollout.strategy)],
                },
                {
                    "maxSkew": SPREAD_MAX_SKEW,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": spread_selector,
                    "matchLabelKeys": [hash_label(args.plan.rollout.strategy)],
                },
            ],
            "containers": [app_container(args)],
            "volumes": [
                {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": TMP_VOLUME_SIZE}},
                *secret_volumes,
            ],
        },
    }


def _database_annotation(args: KubernetesServiceArgs) -> dict[str, Any]:
    """The database's host on the pod template: pointing the service at another instance (a
    restore) rolls the pods through the release strategy, so no connection pool keeps writing
    to the old one."""
    if not args.database:
        return {}
    return {"annotations": {DATABASE_ANNOTATION: args.database.host}}


def _workload_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    """What a Deployment and a Rollout share."""
    return {
        "replicas": args.plan.workload.replicas_min,
        "revisionHistoryLimit": REVISION_HISTORY_LIMIT,
        "progressDeadlineSeconds": PROGRESS_DEADLINE_SECONDS,
        "selector": {"matchLabels": pod_selector(args)},
        "template": pod_template(args),
    }


def after_migration(spec: dict[str, Any], job: pulumi.Input[str] | None) -> dict[str, Any]:
    """The workload's spec with its pod template naming the migration Job: the workload then
    depends on the Job, which Pulumi awaits to completion, so a failed migration stops the
    rollout before it starts. No Job: the spec as it is."""
    if job is None:
        return spec
    template = spec["template"]
    metadata = {**template["metadata"]}
    metadata["annotations"] = {**metadata.get("annotations", {}), JOB_ANNOTATION: job}
    return {**spec, "template": {**template, "metadata": metadata}}


def deployment_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    """rolling: never a pod removed before its replacement is ready."""
    return {
        **_workload_spec(args),
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": f"{args.plan.workload.max_surge_percent}%"},
        },
    }


def rollout_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    """canary and blue-green: an Argo Rollout that aborts when it misses its progress deadline."""
    return {**_workload_spec(args), "progressDeadlineAbort": True, "strategy": rollout_strategy(args)}


def analysis_ref(service: str) -> dict[str, Any]:
    """The service's AnalysisTemplate, judging the newest pods (their template hash)."""
    return {
        "templates": [{"templateName": f"{service}-analysis"}],
        "args": [{"name": "pod-template-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}],
    }


def rollout_strategy(args: KubernetesServiceArgs) -> dict[str, Any]:
    """canary: the plan's weights with a pause between each; blue-green: the preview colour
    analysed before promotion, the new active colour after it."""
    rollout = args.plan.rollout
    if rollout.strategy == "canary":
        steps: list[dict[str, Any]] = []
        for index, weight in enumerate(rollout.canary_steps):
            steps.append({"setWeight": weight})
            if index < len(rollout.canary_steps) - 1:
                steps.append({"pause": {"duration": f"{rollout.pause_seconds}s"}})
        return {
            "canary": {
                "canaryService": f"{args.name}-canary",
                "stableService": f"{args.name}-stable",
                "maxSurge": f"{rollout.max_surge_percent}%",
                "maxUnavailable": 0,
                "trafficRouting": {
                    "alb": {"ingress": args.name, "rootService": args.name, "servicePort": SERVICE_PORT}
                },
                # Background analysis from the first weight to full promotion.
                "analysis": analysis_ref(args.name),
                "steps": steps,
            }
        }
    return {
        "blueGreen": {
            "activeService": args.name,
            "previewService": f"{args.name}-preview",
            "autoPromotionEnabled": True,
            "prePromotionAnalysis": analysis_ref(args.name),
            "postPromotionAnalysis": analysis_ref(args.name),
            "scaleDownDelaySeconds": rollout.scale_down_delay_seconds,
        }
    }


def analysis_queries(service: str, window_seconds: int) -> dict[str, str]:
    """PromQL for the new pods' error ratio and p99 latency, over the app's own metrics.

    Both return an empty vector rather than NaN when the new pods had no traffic yet, so
    `len(result) == 0` reads as "nothing to judge" instead of an analysis error.
    """
    # The same series the SLO rules read, narrowed to the new pods.
    pods = f'{service_selector(service)}, {ROLLOUT_HASH_METRIC_LABEL}="{{{{args.pod-template-hash}}}}"'
    window = f"{window_seconds}s"
    traffic = f"(sum(rate(http_requests_total{{{pods}}}[{window}])) > 0)"
    return {
        "error-ratio": f'sum(rate(http_requests_total{{{pods}, code=~"5.."}}[{window}])) / {traffic}',
        "latency-p99": (
            f"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{pods}}}[{window}])))"
            f" and on() {traffic}"
        ),
    }


def analysis_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    """Two metrics, each failing the analysis on its second breach (failureLimit from the
    plan). Blue-green analyses run a fixed number of measurements, after one interval for
    the preview's first scrapes; a canary's run in the background until promotion."""
    rollout = args.plan.rollout
    queries = analysis_queries(args.name, rollout.analysis_window_seconds)
    thresholds = {"error-ratio": rollout.max_error_ratio, "latency-p99": rollout.max_latency_p99_seconds}
    metrics = []
    for metric, query in queries.items():
        entry: dict[str, Any] = {
            "name": metric,
            "interval": f"{rollout.analysis_interval_seconds}s",
            "failureLimit": rollout.analysis_failure_limit,
            "successCondition": f"len(result) == 0 || result[0] <= {thresholds[metric]}",
            "provider": {"prometheus": {"address": args.prometheus_url, "query": query}},
        }
        if rollout.strategy == "blue-green":
            entry["count"] = rollout.analysis_count
            entry["initialDelay"] = f"{rollout.analysis_interval_seconds}s"
        metrics.append(entry)
    if rollout.strategy == "blue-green":
        # Real requests to the preview colour, counted by the metrics above.
        metrics.append(
            {
                "name": "preview-responds",
                "interval": f"{rollout.analysis_interval_seconds}s",
                "count": rollout.analysis_count,
                "failureLimit": rollout.analysis_failure_limit,
                "successCondition": "result == 'ok'",
                "provider": {
                    "web": {
                        "url": f"http://{args.name}-preview.{args.name}.svc.cluster.local:{SERVICE_PORT}/",
                        "jsonPath": "{$.status}",
                        "timeoutSeconds": PREVIEW_CHECK_TIMEOUT_SECONDS,
                    }
                },
            }
        )
    return {"args": [{"name": "pod-template-hash"}], "metrics": metrics}


def autoscaler_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    """Between the plan's replica bounds, on CPU and memory utilisation of the workload."""
    workload = args.plan.workload
    target = (
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": args.name}
        if args.plan.rollout.strategy == "rolling"
        else {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": args.name}
    )
    return {
        "scaleTargetRef": target,
        "minReplicas": workload.replicas_min,
        "maxReplicas": workload.replicas_max,
        "metrics": [
            _utilisation("cpu", workload.hpa_cpu_percent),
            _utilisation("memory", workload.hpa_memory_percent),
        ],
    }


def disruption_budget_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    return {"minAvailable": args.plan.workload.pdb_min_available, "selector": {"matchLabels": pod_selector(args)}}


def default_deny_spec() -> dict[str, Any]:
    """Every pod of the namespace: nothing in, nothing out, unless another policy allows it."""
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def network_policy_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    """What the pods may reach and be reached from, over the default deny."""
    http = [{"protocol": "TCP", "port": APP_PORT}]
    ingress = [
        # The ALB reaches pod IPs from inside the VPC.
        {"from": [{"ipBlock": {"cidr": cidr}} for cidr in args.ingress_cidrs], "ports": http},
        {"from": [_namespace_peer(args.monitoring_namespace)], "ports": http},
    ]
    if args.plan.rollout.strategy == "blue-green":
        # Pre-promotion analysis calls the preview colour from the Argo Rollouts controller.
        ingress.append({"from": [_namespace_peer(args.argo_rollouts_namespace)], "ports": http})
    egress = [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}],
        },
        # AWS APIs (STS for IRSA, and whatever the service calls) are only on HTTPS.
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": HTTPS_PORT}]},
    ]
    if args.database:
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": cidr}} for cidr in (args.database.cidrs or args.ingress_cidrs)],
                "ports": [{"protocol": "TCP", "port": args.database.port}],
            }
        )
    if tracing_config(args.plan, args.monitoring_namespace):
        # Spans go to the OpenTelemetry Collector's OTLP/HTTP receiver (app/service/tracing.py).
        egress.append(
            {
                "to": [
                    {
                        **_namespace_peer(args.monitoring_namespace),
                        "podSelector": {"matchLabels": {"app.kubernetes.io/name": COLLECTOR}},
                    }
                ],
                "ports": [{"protocol": "TCP", "port": COLLECTOR_OTLP_HTTP_PORT}],
            }
        )
    return {
        "podSelector": {"matchLabels": pod_selector(args)},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": ingress,
        "egress": egress,
    }


def service_monitor_spec(args: KubernetesServiceArgs) -> dict[str, Any]:
    """Every pod scraped through the headless metrics Service; under Argo Rollouts each series
    carries its pods' template hash, which the analysis queries select on."""
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {**pod_selector(args), METRICS_SERVICE_LABEL: "true"}},
        "namespaceSelector": {"matchNames": [args.name]},
        "endpoints": [
            {
                "port": "http",
                "path": PROBE_PATHS["metrics"],
                "interval": f"{PROMETHEUS_SCRAPE_INTERVAL_SECONDS}s",
                "scrapeTimeout": f"{SCRAPE_TIMEOUT_SECONDS}s",
            }
        ],
    }
    if args.plan.rollout.strategy != "rolling":
        spec["podTargetLabels"] = [ROLLOUT_HASH_LABEL]
    return spec


def tracing_config(plan: EnvironmentPlan, monitoring_namespace: str) -> dict[str, str]:
    """The app's trace export settings: only where the monitoring stack runs a collector to receive them."""
    if COLLECTOR not in plan.monitoring.components:
        return {}
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": collector_endpoint(monitoring_namespace)}


def _secret_reader_policy(secret_arns: Sequence[str], key_arns: Sequence[str], region: str) -> str:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": list(secret_arns),
        }
    ]
    if key_arns:
        statements.append(secret_decrypt_statement(key_arns, secret_arns, region))
    return policy_json(statements)


def _http_probe(path: str, timing: ProbeTiming) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": timing.period_seconds,
        "timeoutSeconds": PROBE_TIMEOUT_SECONDS,
        "failureThreshold": timing.failure_threshold,
    }


def _utilisation(resource: str, percent: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": percent}},
    }


def _namespace_peer(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def _ingress_hostname(status: Any) -> str:
    try:
        return status["load_balancer"]["ingress"][0]["hostname"]
    except (KeyError, IndexError, TypeError):
        return ""
