"""Alertmanager configuration for a plan: pages, tickets and a heartbeat, per on-call tool.

- critical pages, but only from environments whose plan pages (production,
  told apart by the `environment` external label every Prometheus adds);
  elsewhere a critical alert opens a ticket like a warning does;
- tickets (warning) and info go to a destination that does not page: a
  second, low-urgency PagerDuty integration, Opsgenie P3/P5, the team's
  alerts channel on Slack (its own webhook: a Slack webhook posts to one
  channel only), or e-mail;
- kube-prometheus-stack's always-firing `Watchdog` from a paging environment
  pings a heartbeat every HEARTBEAT_REPEAT, so a dead Prometheus or
  Alertmanager pages: Opsgenie's own heartbeat API, or, for the other tools,
  a heartbeat service (Dead Man's Snitch, Healthchecks.io) whose check-in URL
  is a secret file and which notifies the tool when the pings stop;
- a page inhibits the ticket of the same SLO (and both inhibit its info);
- receivers read every credential from files that kube-prometheus-stack mounts
  from the Kubernetes Secret ONCALL_SECRET; none is ever inline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .plan import ServicePlan
from .slo import duration_seconds
from .vocabulary import OncallTool, Severity

SECRETS_DIR = "/etc/alertmanager/secrets"  # where alertmanagerSpec.secrets are mounted
PAGE, TICKET, INFO, HEARTBEAT = "page", "ticket", "info", "heartbeat"

# The heartbeat: Alertmanager re-sends the firing Watchdog every HEARTBEAT_REPEAT (checked at
# each group_interval, so pings are at most two of them apart); the heartbeat expires and pages
# after HEARTBEAT_EXPIRY without one. Opsgenie's shortest heartbeat interval is one minute.
HEARTBEAT_REPEAT = "1m"
HEARTBEAT_EXPIRY = "10m"
OPSGENIE_API = "https://api.opsgenie.com"


@dataclass(frozen=True)
class Credential:
    """One file in ONCALL_SECRET: its key, the Pulumi secret config that holds it, what it is."""

    key: str
    config: str
    what: str


HEARTBEAT_CONFIG = "oncall_heartbeat_url"  # only environments that page ping a heartbeat
CREDENTIALS: dict[OncallTool, dict[str, Credential]] = {
    OncallTool.PAGERDUTY: {
        PAGE: Credential(
            "pagerduty-routing-key", "oncall_credential", "Events API v2 integration key of the paging service"
        ),
        TICKET: Credential(
            "pagerduty-ticket-routing-key",
            "oncall_ticket_credential",
            "Events API v2 integration key of a second service whose urgency is low",
        ),
        HEARTBEAT: Credential("heartbeat-url", HEARTBEAT_CONFIG, "check-in URL of the heartbeat service"),
    },
    OncallTool.OPSGENIE: {
        PAGE: Credential("opsgenie-api-key", "oncall_credential", "API key of the team's API integration"),
    },
    OncallTool.SLACK: {
        PAGE: Credential("slack-webhook-url", "oncall_credential", "incoming webhook of the on-call channel"),
        TICKET: Credential(
            "slack-ticket-webhook-url", "oncall_ticket_credential", "incoming webhook of the alerts channel"
        ),
        HEARTBEAT: Credential("heartbeat-url", HEARTBEAT_CONFIG, "check-in URL of the heartbeat service"),
    },
    OncallTool.EMAIL: {
        PAGE: Credential("smtp-password", "oncall_credential", "SMTP password of the Amazon SES SMTP user"),
        HEARTBEAT: Credential("heartbeat-url", HEARTBEAT_CONFIG, "check-in URL of the heartbeat service"),
    },
}


def oncall_secret(slug: str) -> str:
    """The Kubernetes Secret (namespace monitoring) holding the on-call credentials."""
    return f"{slug}-oncall"


def credential(tool: str, kind: str) -> Credential:
    """The credential a receiver of `kind` uses: its own; info goes where tickets go; else the tool's main one."""
    own = CREDENTIALS[tool]
    return own.get(kind) or (own.get(TICKET) if kind == INFO else None) or own[PAGE]


def credentials(tool: str) -> tuple[Credential, ...]:
    """Every credential `tool`'s receivers read, each once."""
    return tuple(CREDENTIALS[tool].values())


def config_key(secret_key: str) -> str:
    """The Pulumi secret config that holds the file `secret_key` of ONCALL_SECRET."""
    return next(c.config for tool in CREDENTIALS.values() for c in tool.values() if c.key == secret_key)


# Every Pulumi secret config a stack may hold on-call credentials in, whatever the tool.
CONFIG_KEYS = tuple(dict.fromkeys(c.config for tool in CREDENTIALS.values() for c in tool.values()))


def secret_file(slug: str, tool: str, kind: str = PAGE) -> str:
    return f"{SECRETS_DIR}/{oncall_secret(slug)}/{credential(tool, kind).key}"


def paging_environments(plan: ServicePlan) -> tuple[str, ...]:
    return tuple(name for name, env in plan.environments.items() if env.monitoring.pages)


def heartbeat_name(slug: str, env: str) -> str:
    """The heartbeat to create in the on-call tool or heartbeat service, one per paging environment."""
    return f"{slug}-{env}-watchdog"


def _receiver(plan: ServicePlan, kind: str) -> dict[str, Any]:
    answers = plan.answers
    tool, slug = answers.oncall, answers.service_slug
    key_file = secret_file(slug, tool, kind)
    name = f"{slug}-{kind}"
    if tool == OncallTool.PAGERDUTY:
        severity = {PAGE: Severity.CRITICAL, TICKET: Severity.WARNING, INFO: Severity.INFO}[kind]
        config = {"routing_key_file": key_file, "severity": severity, "send_resolved": True}
        return {"name": name, "pagerduty_configs": [config]}
    if tool == OncallTool.OPSGENIE:
        # The team's Opsgenie notification rules notify by phone for P1 only; P3 and P5 wait in the queue.
        priority = {PAGE: "P1", TICKET: "P3", INFO: "P5"}[kind]
        config = {
            "api_key_file": key_file,
            "priority": priority,
            "tags": f"{slug},{answers.team}",
            "send_resolved": True,
        }
        return {"name": name, "opsgenie_configs": [config]}
    if tool == OncallTool.SLACK:
        channel = f"#{answers.team}-alerts" if kind != PAGE else f"#{answers.team}-oncall"
        config = {
            "api_url_file": key_file,
            "channel": channel,
            "send_resolved": True,
            "title": "{{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
            "text": (
                "{{ range .Alerts }}{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook_url }}\n{{ end }}"
            ),
        }
        if kind == PAGE:
            config["link_names"] = True
            config["pretext"] = "@here page for " + slug
        return {"name": name, "slack_configs": [config]}
    subject = {PAGE: "[PAGE]", TICKET: "[ticket]", INFO: "[info]"}[kind]
    config = {
        "to": answers.owner_email,
        "send_resolved": True,
        "headers": {"Subject": subject + " {{ .CommonLabels.alertname }} {{ .CommonLabels.environment }}"},
    }
    return {"name": name, "email_configs": [config]}


def _heartbeat_receiver(plan: ServicePlan, env: str) -> dict[str, Any]:
    """Pings the heartbeat of `env`; Alertmanager POSTs its webhook payload, which both
    Opsgenie's ping endpoint and the heartbeat services accept."""
    tool, slug = plan.answers.oncall, plan.answers.service_slug
    if tool == OncallTool.OPSGENIE:
        config = {
            "url": f"{OPSGENIE_API}/v2/heartbeats/{heartbeat_name(slug, env)}/ping",
            "http_config": {"authorization": {"type": "GenieKey", "credentials_file": secret_file(slug, tool)}},
        }
    else:
        config = {"url_file": secret_file(slug, tool, HEARTBEAT)}
    return {"name": f"{slug}-{HEARTBEAT}-{env}", "webhook_configs": [{**config, "send_resolved": False}]}


def _heartbeat_routes(plan: ServicePlan) -> list[dict[str, Any]]:
    slug = plan.answers.service_slug
    return [
        {
            "matchers": ['alertname="Watchdog"', f'environment="{env}"'],
            "receiver": f"{slug}-{HEARTBEAT}-{env}",
            "group_by": ["alertname", "environment"],
            "group_wait": "0s",
            "group_interval": HEARTBEAT_REPEAT,
            "repeat_interval": HEARTBEAT_REPEAT,
        }
        for env in paging_environments(plan)
    ]


def alertmanager_config(plan: ServicePlan) -> dict[str, Any]:
    answers = plan.answers
    slug = answers.service_slug
    config: dict[str, Any] = {}
    if answers.oncall == OncallTool.EMAIL:
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
            *_heartbeat_routes(plan),
            # Watchdog from environments that do not page, and the info inhibitor, notify no one.
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
            "equal": ["environment", "service", "slo"],
        },
        {
            "source_matchers": ['severity="warning"', 'slo=~".+"'],
            "target_matchers": ['severity="info"'],
            "equal": ["environment", "service", "slo"],
        },
    ]
    config["receivers"] = [
        {"name": "null"},
        *(_receiver(plan, kind) for kind in (PAGE, TICKET, INFO)),
        *(_heartbeat_receiver(plan, env) for env in paging_environments(plan)),
    ]
    return config


# The local stack (compose.yaml): its Alertmanager posts every notification to this sink service.
LOCAL_SINK_URL = "http://alert-sink:9095/"


def local_alertmanager_config(plan: ServicePlan, sink_url: str = LOCAL_SINK_URL) -> dict[str, Any]:
    """The repo's route tree and inhibitions, for the local stack: each receiver keeps its name (the
    sink sees which one a notification took) and posts to `sink_url`; `null` stays silent. No
    credentials and no SMTP settings: nothing leaves the machine."""
    config = alertmanager_config(plan)
    hook = {"url": sink_url, "send_resolved": True}
    receivers = [
        {"name": r["name"]} if r["name"] == "null" else {"name": r["name"], "webhook_configs": [hook]}
        for r in config["receivers"]
    ]
    return {"route": config["route"], "inhibit_rules": config["inhibit_rules"], "receivers": receivers}


def heartbeat_ping_seconds() -> int:
    """The longest gap between two heartbeat pings while Watchdog fires."""
    return 2 * duration_seconds(HEARTBEAT_REPEAT)


def without_url_files(config: dict[str, Any]) -> dict[str, Any]:
    """`config` for Alertmanager releases before 0.26 (Debian 12's amtool and alertmanager
    are 0.25), which have no webhook `url_file`: each becomes a `url` naming the file, so
    these tools can check everything else and route. The deployed Alertmanager reads the file."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                ("url" if key == "url_file" else key): (
                    f"https://heartbeat.invalid{item}" if key == "url_file" else walk(item)
                )
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk(config)


# Where each kind of notification lands, per tool: what the on-call guide tells the team to set up.
DESTINATIONS: dict[OncallTool, dict[str, str]] = {
    OncallTool.PAGERDUTY: {
        PAGE: "the paging PagerDuty service (high urgency: phone and push)",
        TICKET: "a second PagerDuty service whose urgency is low (no phone call), severity `warning`",
        INFO: "the low-urgency service, severity `info`",
    },
    OncallTool.OPSGENIE: {
        PAGE: "Opsgenie, priority P1 (notification rules call and push for P1)",
        TICKET: "Opsgenie, priority P3 (the team's queue; notification rules do not call for P3)",
        INFO: "Opsgenie, priority P5",
    },
    OncallTool.SLACK: {
        PAGE: "the on-call channel, with @here",
        TICKET: "the alerts channel, through its own webhook",
        INFO: "the alerts channel",
    },
    OncallTool.EMAIL: {
        PAGE: "e-mail, subject `[PAGE]`",
        TICKET: "e-mail, subject `[ticket]`",
        INFO: "e-mail, subject `[info]`",
    },
}


def oncall_routing(plan: ServicePlan) -> dict[str, Any]:
    """The routing as data for the on-call guide: destinations, credentials, heartbeats."""
    tool, slug = plan.answers.oncall, plan.answers.service_slug
    return {
        "destinations": DESTINATIONS[tool],
        "credentials": credentials(tool),
        "paging_environments": paging_environments(plan),
        "heartbeats": [heartbeat_name(slug, env) for env in paging_environments(plan)],
        "heartbeat_repeat": HEARTBEAT_REPEAT,
        "heartbeat_expiry_minutes": duration_seconds(HEARTBEAT_EXPIRY) // 60,
        "heartbeat_gap_minutes": heartbeat_ping_seconds() // 60,
    }
