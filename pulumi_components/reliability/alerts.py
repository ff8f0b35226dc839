"""The alert catalogue: every alert a generated repository defines, from its plan.

One list per (platform, monitoring level, database). Everything known about an
alert is here: its rule, severity, user impact and the checks its runbook adds
(`runbooks.py` turns these into the facts a runbook prints). The Prometheus rules
(aws-eks), the CloudWatch alarms (aws-lambda), the Alertmanager routes, the
runbooks and team notes (`docs/runbooks/<AlertName>.md`, one template per folder
looping over this catalogue), the promtool tests (`promtool_tests.py`, from each
entry's test shape and `steady` input series), the user guide's alert table (`docs/hooks.py`) and
the tests all read it, so adding an alert is one entry here (and its name in
`tests/test_alert_catalogue.py`).

Burn-rate alerts follow `slo.py`: one page alert per SLO joining the two page
rows of the table (1h & 5m at 14.4x, 6h & 30m at 6x) and one ticket alert
joining the two ticket rows, as Sloth generates them. Thresholds are read from
`Objective.alerts`, never recomputed.

Standard library only: the Copier extension loads this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .answers import Answers
from .plan import ServicePlan, plan_service
from .slo import SLO_PERIOD_DAYS, BurnRateAlert, Objective, duration_seconds
from .vocabulary import AlertTest, Cluster

# Which monitoring levels include an alert: each level includes those below it.
LEVELS = ("basic", "standard", "comprehensive")

# Burn-rate alerts have no `for`, as Sloth generates them: the short window already debounces
# (it must cross the threshold too, and resets within minutes of recovery), so a `for` only
# delays the page. Measured with promtool (benchmarks/alert_detection.py, SLA 99.9): dropping
# the former `for: 30s` pages a total outage in 1.0 instead of 1.5 minutes; docs/observability.md.
# Sloth's `sloth_severity` label per severity, read by Sloth's UI from ALERTS.
SLOTH_SEVERITY = {"critical": "page", "warning": "ticket"}

# Fixed operational thresholds (not sized by the SLA).
SATURATION_RATIO = 0.9  # CPU or memory use over 90% of the container limit
DISK_FREE_RATIO = 0.1  # less than 10% of a filesystem or volume free
BUDGET_LOW_REMAINING = 0.25  # info when less than a quarter of the 30-day budget is left
CRASH_LOOP_WINDOW = "5m"
# A Service without a ready pod for this long pages: longer than a readiness flap (KubernetesService:
# 2 failed probes 5 s apart) or a release's pod swap, which keeps pods ready (max unavailable 0).
NO_PODS_FOR = "1m"
LOG_ERROR_LINES_PER_SECOND = 1.0  # sustained error-level log lines (Loki ruler, comprehensive)
LAMBDA_CONCURRENCY_RATIO = 0.9  # concurrent executions over 90% of reserved concurrency

PAGE, TICKET, INFO = "critical", "warning", "info"

# What a runbook's "First checks" add to the common ones, per alert (Alert.checks): resource use
# against the limits, the node filesystems, the database's recent events (when there is one).
RESOURCES, FILESYSTEM, DATABASE = "resources", "filesystem", "database"

# The branch runbook links open: the one the pipelines deploy from.
RUNBOOK_BRANCH = "main"


def runbook_path(name: str) -> str:
    return f"docs/runbooks/{name}.md"


def runbook_url(repository: str, name: str) -> str:
    """The runbook of alert `name` on GitHub, for `repository` as owner/name (Answers.repository):
    a link a pager can open, in Prometheus annotations and CloudWatch alarm descriptions alike."""
    return f"https://github.com/{repository}/blob/{RUNBOOK_BRANCH}/{runbook_path(name)}"


@dataclass(frozen=True)
class InputSeries:
    """One synthetic series of an alert's steady-state promtool tests: `metric{labels}` at `firing` in
    the case where the alert must fire, at `healthy` in the one where it must stay silent (None: the
    series is absent from that case). A counter grows by its value every minute; a gauge holds it."""

    metric: str
    labels: dict[str, str]
    firing: float | None
    healthy: float | None
    counter: bool = False


@dataclass(frozen=True)
class SteadyState:
    """The promtool input of an alert tested by one steady state that fires it and one that does not:
    its series, and the labels (besides its own) the alert fires with."""

    series: tuple[InputSeries, ...]
    labels: dict[str, str]


@dataclass(frozen=True)
class Alert:
    """One alert: what it is called, how loud it is, and what decides it.

    `expr` is PromQL (aws-eks), LogQL (`engine="loki"`), or empty on aws-lambda,
    where `slo_alarms.py` builds CloudWatch alarms from `burn_rows` or `metric`.
    `description` may use Prometheus' `{{ $labels.x }}` templating on aws-eks.
    `impact` is what users see while it fires; `checks` are the runbook's extra first
    checks (RESOURCES, FILESYSTEM, DATABASE). `fires_when` is its condition in the user guide's
    alert table, the same whatever the answers. `steady` is the promtool input of a Prometheus
    alert whose cases are one firing and one healthy steady state. `test` names the shape of its
    promtool cases (`AlertTest`: steady, burn-rate, budget-left, no-pods), so an alert of a known
    shape needs no test code of its own.
    """

    name: str
    severity: str
    summary: str
    description: str
    level: str  # lowest monitoring level that includes it
    source: str  # where its threshold comes from, for readers of the catalogue and runbooks
    impact: str  # user impact while it fires, for the runbook
    fires_when: str  # the user guide's one-line condition (docs/observability.md)
    expr: str = ""
    for_: str = "0s"
    engine: str = "prometheus"  # "prometheus", "loki" or "cloudwatch"
    slo: str = ""  # "availability" or "latency" for burn-rate alerts
    burn_rows: tuple[BurnRateAlert, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    checks: tuple[str, ...] = ()
    steady: SteadyState | None = None
    test: AlertTest = AlertTest.STEADY
    runbook_url: str = ""  # absolute; alert_catalogue() sets it from the repository

    @property
    def runbook(self) -> str:
        return runbook_path(self.name)


# KubernetesService runs the app in the namespace named after the service, in a container
# named APP_CONTAINER, scraped through the `<slug>-metrics` Service (hence job="<slug>-metrics").
APP_CONTAINER = "app"


def scrape_job(slug: str) -> str:
    return f"{slug}-metrics"


# Where the promtool tests' synthetic series come from: a scrape target, a pod of the workload, a node.
TEST_TARGET = "10.0.2.5:8080"
TEST_POD_HASH = "7d9f8b6c5-x2x4z"
TEST_NODE = "10.0.1.17:9100"
TEST_MEMORY_LIMIT = 512 * 2**20  # bytes


def _test_labels(slug: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The labels of the synthetic series: the service's scrape job, one of its pods, its app container."""
    job = {"namespace": slug, "job": scrape_job(slug)}
    pod = {"namespace": slug, "pod": f"{slug}-{TEST_POD_HASH}"}
    return job, pod, {**pod, "container": APP_CONTAINER}


def service_selector(slug: str) -> str:
    """The PromQL label matchers of the service's own metrics."""
    return f'namespace="{slug}", job="{scrape_job(slug)}"'


def _job(plan: ServicePlan) -> str:
    return service_selector(plan.answers.service_slug)


def _container(plan: ServicePlan) -> str:
    return f'namespace="{plan.answers.service_slug}", container="{APP_CONTAINER}"'


def _spoken(duration: str) -> str:
    """'1m' -> '1 minute', '5m' -> '5 minutes': a whole number of minutes, as descriptions say it."""
    minutes = duration_seconds(duration) // 60
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def _endpoints(plan: ServicePlan) -> str:
    """The Endpoints of the Service the load balancer routes to: named after the service, in its namespace,
    whatever the strategy (KubernetesService: the rolling Service, the canary root, the blue-green active)."""
    slug = plan.answers.service_slug
    return f'namespace="{slug}", endpoint="{slug}"'


def _rows(objective: Objective, severity: str) -> tuple[BurnRateAlert, ...]:
    return tuple(row for row in objective.alerts if row.severity == severity)


def burn_expr(objective: Objective, rows: tuple[BurnRateAlert, ...], service: str) -> str:
    """Both windows of each row over its threshold; rows joined with `or`. Each window is
    taken `without (sloth_window)`, as Sloth does, so every row yields the same label set
    and the alert stays one alert whichever row fires."""
    sel = f'{{service="{service}", slo="{objective.sli}"}}'

    def over(window: str, threshold: float) -> str:
        return f"max(slo:sli_error:ratio_rate{window}{sel} > {threshold!r}) without (sloth_window)"

    clauses = [
        f"({over(row.long_window, row.threshold)}\n  and {over(row.short_window, row.threshold)})" for row in rows
    ]
    return "\n or ".join(clauses)


def _windows_text(rows: tuple[BurnRateAlert, ...]) -> str:
    return "; ".join(
        f"{row.long_window} & {row.short_window} over {row.threshold!r} ({row.burn_rate:g}x)" for row in rows
    )


def _burn_alerts(plan: ServicePlan, objective: Objective, level: str) -> list[Alert]:
    service = plan.answers.service_slug
    cap = objective.sli.capitalize()
    what = "requests failing" if objective.sli == "availability" else "requests slower than the latency target"
    eks = plan.answers.platform == "aws-eks"
    impact = _burn_impact(plan, objective)
    alerts = []
    for severity, kind, speed in ((PAGE, "Page", "fast"), (TICKET, "Ticket", "slow")):
        rows = _rows(objective, severity)
        horizon = "within hours" if severity == PAGE else "within days"
        description = (
            f"{{{{ $labels.service }}}} is spending its {objective.sli} error budget {speed}: {what} "
            f"would exhaust the {SLO_PERIOD_DAYS}-day budget {horizon}. Windows: {_windows_text(rows)}."
            if eks
            else f"{service} is spending its {objective.sli} error budget {speed}: {what} would exhaust the "
            f"{SLO_PERIOD_DAYS}-day budget {horizon}. Windows: {_windows_text(rows)}."
        )
        alerts.append(
            Alert(
                name=f"{cap}BudgetBurn{kind}",
                severity=severity,
                summary=f"{cap} error budget burning {speed}",
                description=description,
                level=level,
                source=f"plan.{objective.sli}.alerts ({', '.join(row.name for row in rows)})",
                impact=impact[severity],
                fires_when=_burn_condition(objective, rows),
                expr=burn_expr(objective, rows, service) if eks else "",
                engine="prometheus" if eks else "cloudwatch",
                slo=objective.sli,
                burn_rows=rows,
                labels={"slo": objective.sli, "sloth_severity": SLOTH_SEVERITY[severity]},
                checks=(DATABASE,) if severity == PAGE else (),
                test=AlertTest.BURN_RATE,
            )
        )
    return alerts


def _burn_condition(objective: Objective, rows: tuple[BurnRateAlert, ...]) -> str:
    """'5xx ratio over 1h and 5m above 14.4x the error budget, or over 6h and 30m above 6x'."""
    if objective.sli == "availability":
        what, budget = "5xx ratio", "the error budget"
    else:
        what, budget = (
            "share of requests slower than `latency_slo_ms`",
            f"the error budget ({objective.error_budget:.0%})",
        )
    windows = [f"over {row.long_window} and {row.short_window} above {row.burn_rate:g}x" for row in rows]
    return f"{what} {windows[0]} {budget}" + "".join(f", or {window}" for window in windows[1:])


def _burn_impact(plan: ServicePlan, objective: Objective) -> dict[str, str]:
    """What users see while each burn-rate alert of `objective` fires, by severity."""
    if objective.sli == "availability":
        return {
            PAGE: f"Users see failed requests now. At this rate the {objective.budget_minutes}-minute monthly "
            "error budget is gone within hours.",
            TICKET: "A small share of requests fails steadily. Nobody notices one failure, but the budget runs "
            "out within days and releases then stop (docs/slo.md).",
        }
    slow = f"slower than {plan.answers.latency_slo_ms} ms"
    return {
        PAGE: f"Requests {slow}: users wait, and clients may time out and retry. The latency budget is gone "
        "within hours.",
        TICKET: f"More requests than the {objective.error_budget:.0%} the SLO allows are {slow}. The budget runs "
        "out within days.",
    }


def _probe_alerts(plan: ServicePlan) -> list[Alert]:
    """The synthetic probe's alert, where the service's own monitoring stack runs the blackbox exporter
    (MonitoringStack.probe). On a platform's shared cluster (`cluster: shared`) nothing probes the
    service: the platform's monitoring installs no blackbox exporter (a Probe object would name no
    prober), and the service's namespace runs none of its own (its network policies deny every pod's
    traffic but the workload's; its quota is sized to the workload's pods). `probe_success` would never
    exist and the alert would never fire."""
    if plan.answers.cluster == Cluster.SHARED:
        return []
    slug = plan.answers.service_slug
    target = f"https://{slug}.example.com/healthz"
    # Where users meet the service: through the load balancer, its certificate and DNS, which
    # the SLI (requests that reached a pod) cannot see.
    return [
        Alert(
            name="SyntheticProbeFailing",
            severity=PAGE,
            summary="The synthetic probe of the public endpoint fails",
            description="The blackbox probe of {{ $labels.instance }} has failed for 5 minutes.",
            level="standard",
            source="fixed: 5 minutes of failed blackbox probes",
            impact="The public endpoint fails from outside: users most likely cannot reach the service at all.",
            fires_when="the blackbox probe of the public `/healthz` fails for 5 minutes",
            expr=f'max by (instance) (probe_success{{service="{slug}"}}) == 0',
            for_="5m",
            steady=SteadyState(
                (InputSeries("probe_success", {"service": slug, "instance": target, "job": "blackbox"}, 0, 1),),
                {"instance": target},
            ),
        )
    ]


def _eks_alerts(plan: ServicePlan) -> list[Alert]:
    job, container, service = _job(plan), _container(plan), plan.answers.service_slug
    budget_remaining = f'slo:period_error_budget_remaining:ratio{{service="{service}", slo="availability"}}'
    up, pod, app = _test_labels(service)
    alerts = [
        *_burn_alerts(plan, plan.availability, "basic"),
        Alert(
            name="AvailabilityErrorBudgetLow",
            severity=INFO,
            summary="Less than a quarter of the availability error budget is left",
            description=(
                f"{{{{ $labels.service }}}} has less than {BUDGET_LOW_REMAINING:.0%} of its {SLO_PERIOD_DAYS}-day "
                "availability error budget left; the error-budget policy applies."
            ),
            level="basic",
            source="alerts.BUDGET_LOW_REMAINING over slo:period_error_budget_remaining:ratio",
            impact=(
                f"No user impact right now. Less than {BUDGET_LOW_REMAINING:.0%} of the {SLO_PERIOD_DAYS}-day "
                "budget is left, so the error-budget policy applies (docs/slo.md)."
            ),
            fires_when=f"less than {BUDGET_LOW_REMAINING:.0%} of the {SLO_PERIOD_DAYS}-day budget left",
            expr=f"{budget_remaining} < {BUDGET_LOW_REMAINING!r}",
            for_="1h",
            slo="availability",
            labels={"slo": "availability"},
            test=AlertTest.BUDGET_LEFT,
        ),
        Alert(
            name="ServiceAbsent",
            severity=PAGE,
            summary="Prometheus has no scrape target for the service",
            description=(
                "No `up` series for {{ $labels.job }}: the workload or its ServiceMonitor is gone, "
                "so the SLO alerts are blind."
            ),
            level="basic",
            source="fixed: 5 minutes without a target",
            impact="Possibly none, but the SLO alerts cannot see anything: an outage now would not page.",
            fires_when="Prometheus has no target for the service for 5 minutes",
            expr=f"absent(up{{{job}}})",
            for_="5m",
            steady=SteadyState(
                (
                    InputSeries("up", {**up, "job": "other", "instance": TEST_TARGET}, 1, None),
                    InputSeries("up", {**up, "instance": TEST_TARGET}, None, 1),
                ),
                up,
            ),
        ),
        Alert(
            name="ServiceDown",
            severity=PAGE,
            summary="Every instance of the service fails its scrape",
            description="Every {{ $labels.job }} target has failed its scrape for 2 minutes.",
            level="basic",
            source="fixed: 2 minutes with every target down",
            impact="Every instance fails its scrape: the service is most likely down for all users.",
            fires_when="every target fails its scrape for 2 minutes",
            checks=(DATABASE,),
            expr=f"sum by (namespace, job) (up{{{job}}}) == 0",
            for_="2m",
            steady=SteadyState((InputSeries("up", {**up, "instance": TEST_TARGET}, 0, 1),), up),
        ),
        # No pod serves: the Service the load balancer routes to has no ready address, so every request
        # fails at the load balancer (503) and none reaches a pod, where the SLI counts requests.
        Alert(
            name="NoPodsServing",
            severity=PAGE,
            summary="No pod of the service is ready to serve",
            description=(
                f"The {service} Service has had no ready endpoint for {_spoken(NO_PODS_FOR)}: the load balancer "
                "has no target and answers every request with an error."
            ),
            level="basic",
            source=f"fixed: {_spoken(NO_PODS_FOR)} with no ready address in the Service's Endpoints "
            "(kube-state-metrics)",
            impact="Every request fails at the load balancer: the service is down for all users, and the SLO "
            "alerts do not see it (no request reaches a pod).",
            fires_when=f"the Service the load balancer routes to has no ready endpoint for {_spoken(NO_PODS_FOR)}",
            checks=(RESOURCES, DATABASE),
            expr=(
                f"max by (namespace, endpoint) (kube_endpoint_info{{{_endpoints(plan)}}})\n"
                f'unless on (namespace, endpoint) kube_endpoint_address{{{_endpoints(plan)}, ready="true"}}'
            ),
            for_=NO_PODS_FOR,
            test=AlertTest.NO_PODS,
        ),
        Alert(
            name="PodCrashLooping",
            severity=TICKET,
            summary="A pod of the service is crash-looping",
            description=("Pod {{ $labels.namespace }}/{{ $labels.pod }} has been in CrashLoopBackOff for 15 minutes."),
            level="basic",
            source=f"fixed: CrashLoopBackOff seen within {CRASH_LOOP_WINDOW} for 15 minutes",
            impact="Fewer replicas serve traffic. If every pod crash-loops, the service is down.",
            fires_when="a pod in CrashLoopBackOff for 15 minutes",
            checks=(RESOURCES,),
            expr=(
                f"max by (namespace, pod) (max_over_time(kube_pod_container_status_waiting_reason"
                f'{{reason="CrashLoopBackOff", {container}}}[{CRASH_LOOP_WINDOW}])) >= 1'
            ),
            for_="15m",
            steady=SteadyState(
                (InputSeries("kube_pod_container_status_waiting_reason", {**app, "reason": "CrashLoopBackOff"}, 1, 0),),
                pod,
            ),
        ),
    ]
    if plan.answers.monitoring_level in LEVELS[1:]:
        node = {"instance": TEST_NODE, "fstype": "ext4", "mountpoint": "/"}
        alerts += [
            *_burn_alerts(plan, plan.latency, "standard"),
            *_probe_alerts(plan),
            Alert(
                name="ServiceCPUSaturation",
                severity=TICKET,
                summary="The service uses most of its CPU limit",
                description=(
                    "Pod {{ $labels.namespace }}/{{ $labels.pod }} uses "
                    f"over {SATURATION_RATIO:.0%} of its CPU limit."
                ),
                level="standard",
                source="alerts.SATURATION_RATIO of the container CPU limit (plan.workload.cpu_limit)",
                impact="CPU throttling raises latency first, then errors once requests time out.",
                fires_when=f"a pod above {SATURATION_RATIO:.0%} of its CPU limit for 15 minutes",
                checks=(RESOURCES,),
                expr=(
                    f"sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{{{container}}}[5m]))\n"
                    f'/ sum by (namespace, pod) (kube_pod_container_resource_limits{{resource="cpu", {container}}})\n'
                    f"> {SATURATION_RATIO!r}"
                ),
                for_="15m",
                steady=SteadyState(
                    (
                        # CPU seconds a minute: 95% and 50% of a one-core limit
                        InputSeries("container_cpu_usage_seconds_total", app, 60 * 0.95, 60 * 0.5, counter=True),
                        InputSeries(
                            "kube_pod_container_resource_limits", {**app, "resource": "cpu", "unit": "core"}, 1, 1
                        ),
                    ),
                    pod,
                ),
            ),
            Alert(
                name="ServiceMemorySaturation",
                severity=TICKET,
                summary="The service uses most of its memory limit",
                description=(
                    "Pod {{ $labels.namespace }}/{{ $labels.pod }} uses "
                    f"over {SATURATION_RATIO:.0%} of its memory limit; it will be OOM-killed at the limit."
                ),
                level="standard",
                source="alerts.SATURATION_RATIO of the container memory limit (plan.workload.memory_limit)",
                impact="Pods near their memory limit are OOM-killed, dropping in-flight requests.",
                fires_when=f"a pod above {SATURATION_RATIO:.0%} of its memory limit for 15 minutes",
                checks=(RESOURCES,),
                expr=(
                    f"sum by (namespace, pod) (container_memory_working_set_bytes{{{container}}})\n"
                    f"/ sum by (namespace, pod) "
                    f'(kube_pod_container_resource_limits{{resource="memory", {container}}})\n'
                    f"> {SATURATION_RATIO!r}"
                ),
                for_="15m",
                steady=SteadyState(
                    (
                        InputSeries(
                            "container_memory_working_set_bytes",
                            app,
                            TEST_MEMORY_LIMIT * 0.95,
                            TEST_MEMORY_LIMIT * 0.5,
                        ),
                        InputSeries(
                            "kube_pod_container_resource_limits",
                            {**app, "resource": "memory", "unit": "byte"},
                            TEST_MEMORY_LIMIT,
                            TEST_MEMORY_LIMIT,
                        ),
                    ),
                    pod,
                ),
            ),
            Alert(
                name="DiskSpaceLow",
                severity=TICKET,
                summary="A node filesystem or persistent volume is nearly full",
                description=(
                    f"{{{{ $labels.instance }}}}{{{{ $labels.persistentvolumeclaim }}}} has less than "
                    f"{DISK_FREE_RATIO:.0%} free space."
                ),
                level="standard",
                source="alerts.DISK_FREE_RATIO of node filesystems and persistent volumes",
                impact="When the filesystem fills, writes fail: logs, temporary files and databases on the volume.",
                fires_when=f"a node filesystem or persistent volume under {DISK_FREE_RATIO:.0%} free",
                checks=(FILESYSTEM,),
                expr=(
                    'max by (instance) (node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"}\n'
                    '  / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}) < '
                    f"{DISK_FREE_RATIO!r}\n"
                    "or max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_available_bytes\n"
                    f"  / kubelet_volume_stats_capacity_bytes) < {DISK_FREE_RATIO!r}"
                ),
                for_="15m",
                steady=SteadyState(
                    (
                        InputSeries("node_filesystem_avail_bytes", node, 5, 50),
                        InputSeries("node_filesystem_size_bytes", node, 100, 100),
                    ),
                    {"instance": TEST_NODE},
                ),
            ),
        ]
        if plan.answers.database == "postgres":
            alerts.append(
                Alert(
                    name="DatabaseUnavailable",
                    severity=PAGE,
                    summary="The service cannot reach its PostgreSQL database",
                    description=(
                        f"Every {service} instance has reported its database unreachable "
                        "for 2 minutes; /readyz fails, so traffic is drained."
                    ),
                    level="standard",
                    source="fixed: 2 minutes with the app's database check failing everywhere",
                    impact="Every request that reads or writes data fails.",
                    fires_when="every instance reports the database unreachable for 2 minutes",
                    checks=(DATABASE,),
                    expr=f'max(app_dependency_up{{{job}, dependency="postgres"}}) == 0',
                    for_="2m",
                    steady=SteadyState(
                        (
                            InputSeries(
                                "app_dependency_up", {**up, "dependency": "postgres", "instance": TEST_TARGET}, 0, 1
                            ),
                        ),
                        {},
                    ),
                )
            )
    if plan.answers.monitoring_level == "comprehensive":
        alerts += [
            Alert(
                name="ErrorLogsElevated",
                severity=TICKET,
                summary="The service writes error-level logs steadily",
                description=(
                    f"{{{{ $labels.service }}}} has logged more than {LOG_ERROR_LINES_PER_SECOND:g} "
                    "error line(s) per second for 10 minutes."
                ),
                level="comprehensive",
                source="alerts.LOG_ERROR_LINES_PER_SECOND (Loki ruler)",
                impact=(
                    "Some requests or background work fail; the SLO alerts may not see it when the failures "
                    "are not HTTP responses."
                ),
                fires_when=f"more than {LOG_ERROR_LINES_PER_SECOND:g} error log line a second for 10 minutes "
                "(Loki ruler)",
                expr=(
                    f'sum by (service) (rate({{service="{service}"}} | json | level="error" [5m])) '
                    f"> {LOG_ERROR_LINES_PER_SECOND!r}"
                ),
                for_="10m",
                engine="loki",
            ),
        ]
    return alerts


def _lambda_alerts(plan: ServicePlan) -> list[Alert]:
    service = plan.answers.service_slug
    alerts = [
        *_burn_alerts(plan, plan.availability, "basic"),
        Alert(
            name="FunctionThrottled",
            severity=TICKET,
            summary="The function is throttled",
            description=f"{service} rejected invocations for lack of concurrency for 5 minutes.",
            level="basic",
            source="fixed: any throttle in 5 consecutive minutes",
            impact="Throttled invocations return HTTP 429 (or 503) to callers.",
            fires_when="throttles in 5 consecutive minutes",
            engine="cloudwatch",
        ),
    ]
    if plan.answers.monitoring_level in LEVELS[1:]:
        alerts += [
            *_burn_alerts(plan, plan.latency, "standard"),
            Alert(
                name="FunctionConcurrencySaturation",
                severity=TICKET,
                summary="The function uses most of its reserved concurrency",
                description=(
                    f"{service} runs above {LAMBDA_CONCURRENCY_RATIO:.0%} of its reserved concurrency; "
                    "throttling is next."
                ),
                level="standard",
                source="alerts.LAMBDA_CONCURRENCY_RATIO of plan.function.reserved_concurrency",
                impact="The function is close to its reserved concurrency; the next burst is throttled.",
                fires_when=f"concurrency above {LAMBDA_CONCURRENCY_RATIO:.0%} of the reserved concurrency",
                engine="cloudwatch",
            ),
        ]
    return alerts


def alert_catalogue(plan: ServicePlan) -> tuple[Alert, ...]:
    """Every alert the repository generated for `plan` defines, in a stable order."""
    alerts = _eks_alerts(plan) if plan.answers.platform == "aws-eks" else _lambda_alerts(plan)
    repository = plan.answers.repository
    return tuple(replace(alert, runbook_url=runbook_url(repository, alert.name)) for alert in alerts)


def alert_names(plan: ServicePlan) -> tuple[str, ...]:
    return tuple(alert.name for alert in alert_catalogue(plan))


def _every_alert_name() -> tuple[str, ...]:
    """Every name some answers produce: each platform at the highest level (levels include those below
    them) with a database, in catalogue order."""
    names: list[str] = []
    for platform in ("aws-eks", "aws-lambda"):
        answers = Answers(
            "Every alert",
            "every-alert",
            "platform",
            "platform@example.com",
            platform=platform,
            monitoring_level=LEVELS[-1],
            database="postgres",
        )
        names += [name for name in alert_names(plan_service(answers)) if name not in names]
    return tuple(names)


# Every name any answer combination can produce, for documentation and tests: read off the catalogue.
ALL_ALERT_NAMES = _every_alert_name()


def catalogue_data(plan: ServicePlan) -> list[dict]:
    """The catalogue as plain data, for `monitoring/alerts.yaml` in the generated repo."""
    return [
        {
            "name": alert.name,
            "severity": alert.severity,
            "level": alert.level,
            "engine": alert.engine,
            "summary": alert.summary,
            "description": alert.description,
            "runbook": alert.runbook,
            "runbook_url": alert.runbook_url,
            "source": alert.source,
            **({"slo": alert.slo} if alert.slo else {}),
            **({"expr": alert.expr, "for": alert.for_} if alert.expr else {}),
            **(
                {
                    "windows": [
                        {
                            "name": row.name,
                            "long_window": row.long_window,
                            "short_window": row.short_window,
                            "burn_rate": row.burn_rate,
                            "threshold": row.threshold,
                        }
                        for row in alert.burn_rows
                    ]
                }
                if alert.burn_rows
                else {}
            ),
        }
        for alert in alert_catalogue(plan)
    ]
