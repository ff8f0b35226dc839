"""Alertmanager configuration for a plan: route by severity to the chosen on-call tool.

- critical pages, but only from environments whose plan pages (production);
  elsewhere a critical alert opens a ticket like a warning does;
- warning opens a ticket, info goes to the low-priority receiver;
- a page inhibits the ticket of the same SLO (and both inhibit its info);
- receivers read their credentials from files that kube-prometheus-stack
  mounts from the Kubernetes Secret ONCALL_SECRET (written by External
  Secrets); no credential is ever inline.
"""

from __future__ import annotations

from typing import Any

from .plan import ServicePlan

SECRETS_DIR = "/etc/alertmanager/secrets"  # where alertmanagerSpec.secrets are mounted


def oncall_secret(slug: str) -> str:
    """The Kubernetes Secret (namespace monitoring) holding the on-call credentials."""
    return f"{slug}-oncall"


# Secret key per tool: what the team stores in AWS Secrets Manager.
SECRET_KEYS = {
    "pagerduty": "pagerduty-routing-key",
    "opsgenie": "opsgenie-api-key",
    "slack": "slack-webhook-url",
    "email": "smtp-password",
}
PAGE, TICKET, INFO = "page", "ticket", "info"


def secret_file(slug: str, tool: str) -> str:
    return f"{SECRETS_DIR}/{oncall_secret(slug)}/{SECRET_KEYS[tool]}"


def paging_environments(plan: ServicePlan) -> tuple[str, ...]:
    return tuple(name for name, env in plan.environments.items() if env.monitoring.pages)


def _receiver(plan: ServicePlan, kind: str) -> dict[str, Any]:
    answers = plan.answers
    tool, slug = answers.oncall, answers.service_slug
    key_file = secret_file(slug, tool)
    name = f"{slug}-{kind}"
    if tool == "pagerduty":
        severity = {PAGE: "critical", TICKET: "warning", INFO: "info"}[kind]
        config = {"routing_key_file": key_file, "severity": severity, "send_resolved": True}
        return {"name": name, "pagerduty_configs": [config]}
    if tool == "opsgenie":
        priority = {PAGE: "P1", TICKET: "P3", INFO: "P5"}[kind]
        config = {
            "api_key_file": key_file,
            "priority": priority,
            "tags": f"{slug},{answers.team}",
            "send_resolved": True,
        }
        return {"name": name, "opsgenie_configs": [config]}
    if tool == "slack":
        channel = f"#{answers.team}-alerts" if kind != PAGE else f"#{answers.team}-oncall"
        config = {
            "api_url_file": key_file,
            "channel": channel,
            "send_resolved": True,
            "title": "{{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
            "text": (
                "{{ range .Alerts }}{{ .Annotations.description }}\n"
                "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
            ),
        }
        if kind == PAGE:
            config["link_names"] = True
            config["pretext"] = "@here page for " + slug
        return {"name": name, "slack_configs": [config]}
    config = {"to": answers.owner_email, "send_resolved": True}
    return {"name": name, "email_configs": [config]}


def alertmanager_config(plan: ServicePlan) -> dict[str, Any]:
    answers = plan.answers
    slug = answers.service_slug
    config: dict[str, Any] = {}
    if answers.oncall == "email":
        # Amazon SES in the service's region; the SMTP user is the SES SMTP credential's name.
        config["global"] = {
            "smtp_smarthost": f"email-smtp.{answers.aws_region}.amazonaws.com:587",
            "smtp_from": answers.owner_email,
            "smtp_auth_username": f"{slug}-alertmanager",
            "smtp_auth_password_file": secret_file(slug, "email"),
            "smtp_require_tls": True,
        }
    pages = "|".join(paging_environments(plan))
    config["route"] = {
        "receiver": f"{slug}-{TICKET}",
        "group_by": ["alertname", "service", "slo"],
        "group_wait": "30s",
        "group_interval": "5m",
        "repeat_interval": "12h",
        "routes": [
            # kube-prometheus-stack's always-firing heartbeat and info inhibitor notify no one.
            {"matchers": ['alertname=~"Watchdog|InfoInhibitor"'], "receiver": "null"},
            {
                "matchers": ['severity="critical"', f'environment=~"{pages}"'],
                "receiver": f"{slug}-{PAGE}",
                "group_wait": "10s",
                "repeat_interval": "1h",
            },
            {"matchers": ['severity=~"critical|warning"'], "receiver": f"{slug}-{TICKET}"},
            {"matchers": ['severity="info"'], "receiver": f"{slug}-{INFO}", "repeat_interval": "24h"},
        ],
    }
    config["inhibit_rules"] = [
        {
            "source_matchers": ['severity="critical"', 'slo=~".+"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": ["service", "slo"],
        },
        {
            "source_matchers": ['severity="warning"', 'slo=~".+"'],
            "target_matchers": ['severity="info"'],
            "equal": ["service", "slo"],
        },
    ]
    config["receivers"] = [{"name": "null"}, *(_receiver(plan, kind) for kind in (PAGE, TICKET, INFO))]
    return config
