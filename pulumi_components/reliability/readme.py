"""The generated README's tables, decided from the plan: each cell a finished Markdown string.

`README.md.jinja` loops over these rows and writes `| a | b |`; it decides nothing. A cell holds
only values the model produced or validated (vocabulary members, numbers, the validated
`platform_stack`), never free text: the README formats the free-text answers itself, each
through its Markdown filter.

Standard library only: the Copier extension loads this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from .availability import feasibility
from .facts import service_facts
from .load_test import load_test_plan
from .plan import EnvironmentPlan, ServicePlan
from .vocabulary import Database, DeploymentStrategy, MonitoringLevel

Row = tuple[str, ...]


@dataclass(frozen=True)
class ReadmeFacts:
    chosen: tuple[Row, ...]  # "What was chosen": question, answer, what it means here
    per_environment: tuple[Row, ...]  # a label, then one cell per environment
    hostnames: tuple[Row, ...]  # environment, URL, rate limit
    layout: tuple[Row, ...]  # path, what it holds
    release: str  # how a release reaches the users on Kubernetes; '' on Lambda (its release macro says it)
    release_step: int  # the number of the deploy guide's "Release" step
    monitoring_files: tuple[Row, ...]  # file, what it holds (Prometheus and Alertmanager only)
    variables: tuple[Row, ...]  # the pipelines' repository variables and secrets
    documents: tuple[Row, ...]  # reliability documents: document, what it holds


def code(value: object) -> str:
    return f"`{value}`"


def _chosen(plan: ServicePlan, platform_stack: str) -> tuple[Row, ...]:
    answers, prod = plan.answers, plan.prod
    return (
        ("platform", code(answers.platform), _platform_meaning(plan, platform_stack)),
        ("region", code(answers.aws_region), _region_meaning(prod)),
        ("environments", ", ".join(answers.environments), "one Pulumi stack each (`Pulumi.<env>.yaml`)"),
        ("deployment strategy", code(answers.deployment_strategy), _strategy_meaning(prod)),
        ("monitoring level", code(answers.monitoring_level), ", ".join(prod.monitoring.components)),
        (
            "SLA",
            f"{answers.sla}%",
            f"tier **{plan.tier.name}**: error budget {plan.availability.budget_minutes} min / 30 days",
        ),
        (
            "latency SLO",
            f"p99 < {answers.latency_slo_ms} ms",
            f"99% of requests faster than {answers.latency_slo_ms} ms",
        ),
        ("database", code(answers.database), _database_meaning(prod)),
        ("on-call", code(answers.oncall), "pages (critical) and tickets (warning) route there"),
        ("compliance", ", ".join(answers.compliance) or "none", "tagged on every resource"),
    )


def _platform_meaning(plan: ServicePlan, platform_stack: str) -> str:
    facts = service_facts(plan)
    if facts.shared_cluster:
        stacks = f"read from the {code(platform_stack)} stacks (docs/platform.md)"
        return f"Kubernetes on the platform team's shared EKS cluster, {stacks}"
    if facts.has_cluster:
        return f"Kubernetes {plan.prod.cluster.kubernetes_version} on EKS, managed node groups in private subnets"
    return "AWS Lambda behind an HTTP API"


def _region_meaning(prod: EnvironmentPlan) -> str:
    return f"disaster recovery in {code(prod.recovery.dr_region)}" if prod.recovery.multi_region else "single region"


def _strategy_meaning(prod: EnvironmentPlan) -> str:
    rollout = prod.rollout
    if rollout.strategy == DeploymentStrategy.CANARY:
        return f"weights {_weights(rollout.canary_steps)}, automatic rollback on failed analysis"
    if rollout.strategy == DeploymentStrategy.BLUE_GREEN:
        delay = rollout.scale_down_delay_seconds // 60
        return f"preview colour analysed before promotion, old colour kept {delay} min for instant rollback"
    return "rolling update, no pod removed before its replacement is ready"


def _weights(steps: tuple[int, ...]) -> str:
    return "% → ".join(map(str, steps)) + "%"


def _database_meaning(prod: EnvironmentPlan) -> str:
    database = prod.database
    if database is None:
        return "none"
    multi_az = ", Multi-AZ" if database.multi_az else ""
    return f"PostgreSQL {database.engine_version} on RDS{multi_az}, {database.backup_retention_days} days of backups"


def _per_environment(plan: ServicePlan) -> tuple[Row, ...]:
    envs = plan.environments.values()

    def row(label: str, cell) -> Row:
        return (label, *(str(cell(env)) for env in envs))

    rows = [
        row("availability zones", lambda env: env.network.az_count),
        row("NAT gateways", lambda env: env.network.nat_gateways),
        row("replicas (min–max)", lambda env: f"{env.workload.replicas_min}–{env.workload.replicas_max}"),
    ]
    if plan.answers.database == Database.POSTGRES:
        rows += [
            row("database Multi-AZ", lambda env: "yes" if env.database.multi_az else "no"),
            row("backup retention (days)", lambda env: env.database.backup_retention_days),
        ]
    rows += [
        row("RTO / RPO (min)", lambda env: f"{env.recovery.rto_minutes} / {env.recovery.rpo_minutes}"),
        row("relaxations", lambda env: ", ".join(env.relaxations) or "none"),
        row("public URL", lambda env: _url(env)),
    ]
    return tuple(rows)


def _url(env: EnvironmentPlan) -> str:
    return code(f"https://{env.edge.hostname}")


def _rate_limit(env: EnvironmentPlan) -> str:
    edge = env.edge
    if edge.waf_rate_limit:
        return f"{edge.waf_rate_limit} requests / {edge.waf_rate_window_seconds // 60} min per client IP (WAF)"
    function = env.function
    return f"{function.api_throttle_rate} requests/s, burst {function.api_throttle_burst}, all clients (stage throttle)"


def _layout(plan: ServicePlan) -> tuple[Row, ...]:
    answers, facts = plan.answers, service_facts(plan)
    rows: list[Row] = [
        (
            "`Pulumi.yaml`, `Pulumi.<env>.yaml`",
            "the Pulumi project and one stack per environment; each stack carries its plan as config",
        ),
        ("`infra/__main__.py`", "composes the components from stack config"),
        (
            "`infra/components/`",
            "the Groundwork components and reliability model (vendored; `copier update` refreshes them)",
        ),
        ("`infra/tests/`", "the program run under Pulumi mocks for every stack"),
        ("`policy/`", "the CrossGuard policy pack: the guardrails, enforced on every `pulumi preview` and `pulumi up`"),
        (
            "`bootstrap/`",
            "the Pulumi program an admin runs once per account and repository: pipeline roles, registries, state "
            "backend, GitHub environments, variables and secrets (see [Deploy](#deploy)); its tests in "
            "`bootstrap/tests/`",
        ),
        ("`app/`", f"the service: `/healthz`, `/readyz`, {_app(plan)}; its tests in `app/tests/`"),
    ]
    if facts.has_cluster:  # a shared cluster's add-ons are the platform's
        rollouts = "" if answers.deployment_strategy == DeploymentStrategy.ROLLING else ", argo-rollouts"
        add_ons = f"load balancer controller, external-secrets, metrics-server{rollouts}"
        rows.append(("`deploy/`", f"Helm values of the cluster add-ons ({add_ons})"))
    rows += [
        ("`monitoring/`", f"every alert (`alerts.yaml`){_monitoring_folder(plan)}; see [Monitoring](#monitoring)"),
        (
            "`.github/workflows/`",
            "the pipelines (see [Pipelines](#pipelines)); `.github/dependabot.yml` keeps their pinned actions "
            "current; `renovate.json` offers template updates through Renovate (see "
            "[Update to newer golden-path standards](#update-to-newer-golden-path-standards))",
        ),
        (
            "`scripts/`",
            f"what the pipelines run: smoke tests, {_scripts(plan)}, reports to GitHub; "
            "their tests in `scripts/tests/`",
        ),
    ]
    return tuple(rows)


def _app(plan: ServicePlan) -> str:
    if service_facts(plan).runs_on_kubernetes:
        return (
            "`/metrics` (`http_requests_total`, `http_request_duration_seconds`, summed over gunicorn's worker "
            "processes), JSON logs, graceful SIGTERM, served by gunicorn (`python -m service`, settings in "
            "`app/service/runtime.py`), and its Dockerfile"
        )
    return (
        "JSON logs, and the Lambda handler (`service.lambda_handler.handle`), which writes each request's outcome "
        "and function version as CloudWatch metrics (embedded metric format)"
    )


def _monitoring_folder(plan: ServicePlan) -> str:
    if not service_facts(plan).alerts_via_prometheus:
        return ", built as CloudWatch alarms by `infra/`"
    dashboards = ", Grafana dashboards" if plan.answers.monitoring_level != MonitoringLevel.BASIC else ""
    return (
        f", Prometheus rules with their promtool tests, Alertmanager routes{dashboards}, "
        "Helm values of the monitoring charts, the local game day"
    )


def _scripts(plan: ServicePlan) -> str:
    if service_facts(plan).runs_on_kubernetes:
        release = "following and undoing a release on Kubernetes"
    else:
        release = "the CodeDeploy shift of the Lambda alias and its rollback"
    restore = ", the backup restore test" if plan.answers.database == Database.POSTGRES else ""
    return release + restore


def _release(prod: EnvironmentPlan) -> str:
    rollout = prod.rollout
    gate = f"error ratio at most {rollout.max_error_ratio}, p99 at most {rollout.max_latency_p99_seconds} s"
    if rollout.strategy == DeploymentStrategy.CANARY:
        return (
            f"A release is an Argo Rollouts canary: {_weights(rollout.canary_steps)} of the ALB's traffic, analysed "
            f"against Prometheus ({gate}) and aborted automatically when it fails."
        )
    if rollout.strategy == DeploymentStrategy.BLUE_GREEN:
        return (
            f"A release is an Argo Rollouts blue-green: the preview colour is analysed ({gate}) before and after "
            f"promotion, and the old colour stays {rollout.scale_down_delay_seconds} s for an instant rollback."
        )
    return "A release is a rolling update that never removes a pod before its replacement is ready."


# The deploy guide's steps before the release; a cluster of its own adds the runners' GitHub App
# and the first `pulumi up` from a workstation (the cluster API is private until the runners exist);
# a shared cluster adds the platform admin's first `pulumi up` (onboarding, docs/platform.md).
STEPS_BEFORE_RELEASE = 7
KUBERNETES_FIRST_DEPLOY_STEPS = 2
SHARED_CLUSTER_FIRST_DEPLOY_STEPS = 1


def _monitoring_files(plan: ServicePlan) -> tuple[Row, ...]:
    if not service_facts(plan).alerts_via_prometheus:
        return ()
    level, oncall = plan.answers.monitoring_level, plan.answers.oncall
    rows: list[Row] = [
        (
            "`monitoring/prometheus/rules.yml`",
            "SLO recording rules (Sloth's names and `sloth_*` labels: `slo:sli_error:ratio_rate5m` ... "
            "`ratio_rate30d`, `slo:period_error_budget_remaining:ratio`, `sloth_slo_info`) and the alerts; "
            "loaded as a PrometheusRule",
        ),
        (
            "`monitoring/prometheus/*.test.yml`",
            "promtool unit tests: every alert fires when it should and stays silent when it should",
        ),
        (
            "`monitoring/alertmanager/alertmanager.yml`",
            f"critical pages {oncall} from production; warnings and other environments open tickets that do not "
            "page; Watchdog pings a heartbeat; a page silences the matching ticket",
        ),
    ]
    if level != MonitoringLevel.BASIC:
        report = ", error-budget report" if level == MonitoringLevel.COMPREHENSIVE else ""
        rows.append(
            ("`monitoring/dashboards/`", f"Grafana dashboards (SLO, RED{report}), provisioned by Grafana's sidecar")
        )
    components = ", ".join(plan.prod.monitoring.components)
    rows.append(
        (
            "`monitoring/values/`",
            f"Helm values of {components}; `infra/` adds replicas, retention and volume sizes from each stack's plan",
        )
    )
    return tuple(rows)


def _variables(plan: ServicePlan, pulumi_backend: str) -> tuple[Row, ...]:
    answers = plan.answers
    slug, failover = answers.service_slug, plan.prod.recovery.fails_over
    postgres, s3 = answers.database == Database.POSTGRES, pulumi_backend == "s3"
    rows: list[Row] = []
    for env in answers.environments:
        deployers = "deploy, rollback" + (", failover" if env == "prod" and failover else "")
        readable = ", the state bucket and `kms:Decrypt` on the secrets key" if s3 else ""
        rows += [
            (
                code(f"AWS_DEPLOY_ROLE_{env.upper()}"),
                "variable",
                deployers,
                f"ARN of {code(f'{slug}-{env}-deploy')}, assumable only by jobs in the {code(env)} environment",
            ),
            (
                code(f"AWS_READONLY_ROLE_{env.upper()}"),
                "variable",
                "preview, drift",
                f"ARN of {code(f'{slug}-{env}-preview')}: ReadOnlyAccess{readable}; no object or secret values",
            ),
        ]
    if postgres:
        rows.append(
            (
                "`AWS_RESTORE_TEST_ROLE`",
                "variable",
                "restore-test",
                f"ARN of {code(f'{slug}-restore-test')}: restores, re-passwords, inspects and deletes only instances "
                "tagged `purpose=restore-test`, and has the release's migrations applied to its copy ("
                + (
                    f"a Job in the {code(slug)} namespace of production's cluster"
                    if service_facts(plan).runs_on_kubernetes
                    else "invokes the production function"
                )
                + ")",
            )
        )
    if not s3:
        users = "preview, deploy, rollback, drift" + (", restore-test" if postgres else "")
        users += ", failover" if failover else ""
        token = "the token of `pulumi config set --secret pulumi_access_token` in `bootstrap/`"
        rows.append(("`PULUMI_ACCESS_TOKEN`", "secret", users, token))
    rows += [
        (
            "`TEMPLATE_UPDATE_APP_CLIENT_ID`",
            "variable (optional)",
            "template-update",
            "client ID of the GitHub App whose token pushes template updates (see "
            "[Update to newer golden-path standards](#update-to-newer-golden-path-standards)); unset, the workflow is "
            "skipped; set by hand: `gh variable set TEMPLATE_UPDATE_APP_CLIENT_ID --body <client id>`",
        ),
        (
            "`TEMPLATE_UPDATE_APP_PRIVATE_KEY`",
            "secret (optional)",
            "template-update",
            "a private key of that App; set by hand: "
            "`gh secret set TEMPLATE_UPDATE_APP_PRIVATE_KEY < <app>.private-key.pem`",
        ),
    ]
    return tuple(rows)


def _link(path: str) -> str:
    return f"[{path}]({path})"


def _documents(plan: ServicePlan) -> tuple[Row, ...]:
    answers, prod = plan.answers, plan.prod
    report = feasibility(plan)
    reachable = "reachable" if report.reachable else "**not reachable**"
    restores = ("database and " if answers.database == Database.POSTGRES else "") + "whole-stack restore"
    failover = ", regional failover" if prod.recovery.fails_over else ""
    node = "node/AZ" if service_facts(plan).runs_on_kubernetes else "AZ"
    rows: list[Row] = [
        (
            _link("docs/reliability-report.md"),
            f"feasibility: estimated availability {report.composite_display}% against the {answers.sla}% target "
            f"({reachable}), with its assumptions; recovery objectives per failure mode; risks and recommendations; "
            "monthly cost per environment, low to high, with each price's source, and its AWS Budget",
        ),
        (_link("docs/slo.md"), "SLIs, objectives, error budgets, burn-rate alerts, error-budget policy"),
        (
            _link("docs/runbooks/"),
            "one runbook per alert, named after it; the team's own notes in `docs/runbooks/notes/`",
        ),
        (
            ", ".join(_link(f"docs/{name}.md") for name in ("incident-response", "oncall", "postmortem-template")),
            f"severities SEV-1 to SEV-4, roles, escalation through {answers.oncall}, communication templates; "
            "the on-call guide; the blameless post-mortem",
        ),
        (_link("docs/disaster-recovery.md"), f"RTO/RPO, backups, {restores}{failover}, the restore test"),
        (
            _link("docs/recovery-measurements.yml"),
            "the team's record of recovery drills (restore test, DR rehearsal, failover) and their measured "
            "minutes; the restore-test and failover workflows print the entry to add, and the next `copier update` "
            "shows the latest per objective in the report and ticks the checklist's objectives it measured within "
            "their RTO",
        ),
        (
            _link("docs/chaos-experiments.md"),
            f"pod kill, {node} loss, database failover, latency injection, dependency outage",
        ),
        (
            f"{_link('docs/security-checklist.md')}, {_link('docs/production-readiness.md')}",
            "checklists, ticked where this repository already does it",
        ),
        (
            _link("docs/feature-flags.md"),
            "flags in AWS AppConfig read through OpenFeature (`app/flags.json`, the sample `home-greeting`), "
            "the kill switch",
        ),
    ]
    if {"staging", "prod"} <= set(answers.environments):
        rows.append(
            (
                "`loadtest/`",
                f"the Locust load test the deploy workflow runs against staging ({load_test_plan(plan).target_rps} "
                "requests/s); production waits unless errors and p99 stay within the SLOs",
            )
        )
    return tuple(rows)


def readme_facts(plan: ServicePlan, platform_stack: str = "", pulumi_backend: str = "pulumi-cloud") -> ReadmeFacts:
    """The README's rows for `plan`; `platform_stack` and `pulumi_backend` are the answers the
    service's model does not hold (the platform's stack name, where the state lives)."""
    facts = service_facts(plan)
    extra_steps = (
        KUBERNETES_FIRST_DEPLOY_STEPS
        if facts.has_cluster
        else SHARED_CLUSTER_FIRST_DEPLOY_STEPS
        if facts.shared_cluster
        else 0
    )
    return ReadmeFacts(
        chosen=_chosen(plan, platform_stack),
        per_environment=_per_environment(plan),
        hostnames=tuple((env.name, _url(env), _rate_limit(env)) for env in plan.environments.values()),
        layout=_layout(plan),
        release=_release(plan.prod) if facts.runs_on_kubernetes else "",
        release_step=STEPS_BEFORE_RELEASE + extra_steps + 1,
        monitoring_files=_monitoring_files(plan),
        variables=_variables(plan, pulumi_backend),
        documents=_documents(plan),
    )
