"""MkDocs hook: pages write `<!-- tier-table -->` and get the SLA tier table from the model,
so the guide can never disagree with `pulumi_components/reliability/tiers.py`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_components.reliability.tiers import TIERS, Tier  # noqa: E402

MARKER = "<!-- tier-table -->"

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


def on_page_markdown(markdown: str, **_: object) -> str:
    return markdown.replace(MARKER, tier_table()) if MARKER in markdown else markdown
