"""MkDocs hook: pages write `<!-- tier-table -->` and get the SLA tier table from the model, and
`<!-- alert-table -->` the alert table from the alert catalogue, so the guide can never disagree with
`pulumi_components/reliability/tiers.py` or `alerts.py`."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_components.reliability.alerts import LEVELS, Alert, alert_catalogue  # noqa: E402
from pulumi_components.reliability.answers import AnswerError, Answers  # noqa: E402
from pulumi_components.reliability.plan import plan_service  # noqa: E402
from pulumi_components.reliability.tiers import TIERS, Tier  # noqa: E402

MARKER = "<!-- tier-table -->"
ALERT_MARKER = "<!-- alert-table -->"

# The answers that decide which alerts exist besides the platform and the level (every alert of a level
# is in the levels above it, so the highest shows them all), and how the table names a restriction to one value.
ALERT_CONDITIONS = {
    "database": ("postgres", "none"),
    "cluster": ("dedicated", "shared"),
}
RESTRICTION = {
    ("database", "postgres"): "with postgres",
    ("cluster", "dedicated"): "own cluster (a shared platform probes no tenant)",
}

ROWS = (
    ("SLA from (%)", lambda t: t.min_sla),
    ("availability zones", lambda t: t.az_count),
    ("NAT gateways", lambda t: "one per AZ" if t.nat_per_az else "one"),
    ("replicas (min–max)", lambda t: f"{t.replicas_min}–{t.replicas_max}"),
    ("database Multi-AZ", lambda t: "yes" if t.db_multi_az else "no"),
    ("database instance", lambda t: t.db_instance_class),
    ("backup retention (days)", lambda t: t.backup_retention_days),
    ("cross-region replica", lambda t: "yes" if t.cross_region_replica else "no"),
    ("regional failover", lambda t: t.failover),
    ("database restore RTO / RPO (minutes)", lambda t: f"{t.rto_minutes} / {t.rpo_minutes}"),
    ("canary steps (%)", lambda t: " → ".join(map(str, t.canary_steps))),
    ("pause between canary steps (s)", lambda t: t.canary_pause_seconds),
    ("blue-green: old colour kept (s)", lambda t: t.blue_green_scale_down_delay_seconds),
    ("Prometheus / Alertmanager replicas", lambda t: f"{t.prometheus_replicas} / {t.alertmanager_replicas}"),
    ("Prometheus retention (days)", lambda t: t.prometheus_retention_days),
    (
        "Lambda reserved / provisioned concurrency",
        lambda t: f"{t.lambda_reserved_concurrency} / {t.lambda_provisioned_concurrency}",
    ),
)


def tier_table(tiers: tuple[Tier, ...] = TIERS) -> str:
    lines = [
        "| production setting | " + " | ".join(t.name for t in tiers) + " |",
        "| --- |" + " --- |" * len(tiers),
    ]
    lines += [f"| {label} | " + " | ".join(str(cell(t)) for t in tiers) + " |" for label, cell in ROWS]
    return "\n".join(lines)


def _catalogues() -> list[tuple[dict[str, str], tuple[Alert, ...]]]:
    """Each valid combination of the platform and ALERT_CONDITIONS, at the highest level, with its alerts."""
    dimensions = {"platform": ("aws-eks", "aws-lambda"), **ALERT_CONDITIONS}
    found = []
    for values in itertools.product(*dimensions.values()):
        answers = dict(zip(dimensions, values, strict=True))
        mapping = {"project_name": "Guide", "service_slug": "guide", "team": "platform", "owner_email": "p@example.com"}
        try:
            plan = plan_service(Answers.from_mapping({**mapping, **answers, "monitoring_level": LEVELS[-1]}))
        except AnswerError:
            continue  # not a combination anyone can answer (a shared cluster on aws-lambda)
        found.append((answers, alert_catalogue(plan)))
    return found


def _where(name: str, catalogues: list[tuple[dict[str, str], tuple[Alert, ...]]]) -> str:
    """'both', or the one platform, then each answer the alert needs: 'aws-eks, with postgres'."""
    present = [answers for answers, alerts in catalogues if any(alert.name == name for alert in alerts)]
    platforms = {answers["platform"] for answers in present}
    parts = ["both" if len(platforms) > 1 else next(iter(platforms))]
    for dimension in ALERT_CONDITIONS:
        values = {answers[dimension] for answers in present}
        possible = {answers[dimension] for answers, _ in catalogues if answers["platform"] in platforms}
        if values != possible:
            needed = next(iter(values))
            if len(values) != 1 or (dimension, needed) not in RESTRICTION:
                raise ValueError(f"{name} exists only with {dimension} in {sorted(values)}: name it in RESTRICTION")
            parts.append(RESTRICTION[(dimension, needed)])
    return ", ".join(parts)


def alert_table() -> str:
    """One row per alert any answers produce: severity, lowest level, where it exists, when it fires."""
    catalogues = _catalogues()
    alerts: dict[str, Alert] = {}
    for _, catalogue in catalogues:
        for alert in catalogue:
            alerts.setdefault(alert.name, alert)
    rows = sorted(alerts.values(), key=lambda alert: LEVELS.index(alert.level))
    lines = ["| alert | severity | level | platform | fires when |", "| --- | --- | --- | --- | --- |"]
    lines += [
        f"| `{a.name}` | {a.severity} | {a.level} | {_where(a.name, catalogues)} | {a.fires_when} |" for a in rows
    ]
    return "\n".join(lines)


def on_page_markdown(markdown: str, **_: object) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, tier_table())
    if ALERT_MARKER in markdown:
        markdown = markdown.replace(ALERT_MARKER, alert_table())
    return markdown
