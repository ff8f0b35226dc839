"""Incident severities and the escalation path, for the incident-response and on-call documents.

The severity table is fixed policy (it does not move with the SLA); which alert
severity opens which incident level, and how a page escalates, depend on the
answers and are decided here so every document says the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .plan import ServicePlan
from .vocabulary import OncallTool as OncallChoice


@dataclass(frozen=True)
class Severity:
    level: str  # "SEV-1" .. "SEV-4"
    name: str
    impact: str
    response: str  # time to acknowledge and start work
    updates: str  # how often stakeholders hear from the incident
    postmortem: str
    opened_by: str  # which alerts (by severity label) open it


SEVERITIES: tuple[Severity, ...] = (
    Severity(
        "SEV-1",
        "Critical",
        "Service down or data lost for all or most users; the fast page burn fires in production.",
        "5 minutes",
        "every 30 minutes",
        "required, draft within 24 hours",
        "critical alerts in production when the error ratio exceeds the fast-burn threshold",
    ),
    Severity(
        "SEV-2",
        "High",
        "A major feature broken or significant degradation; any other page in production.",
        "15 minutes",
        "every hour",
        "required, draft within 48 hours",
        "critical alerts (pages) in production",
    ),
    Severity(
        "SEV-3",
        "Medium",
        "A minor feature broken or some users affected; budget burning slowly.",
        "1 hour (business hours)",
        "when resolved",
        "optional",
        "warning alerts (tickets); any alert outside production",
    ),
    Severity(
        "SEV-4",
        "Low",
        "Cosmetic issue or minimal user impact.",
        "next business day",
        "in the release notes",
        "not required",
        "info alerts and user reports",
    ),
)


@dataclass(frozen=True)
class EscalationStep:
    after_minutes: int  # minutes since the page without acknowledgement
    who: str


# Who is paged when nobody acknowledges: primary, secondary, team lead, engineering manager.
ESCALATION: tuple[EscalationStep, ...] = (
    EscalationStep(0, "primary on-call"),
    EscalationStep(5, "secondary on-call"),
    EscalationStep(15, "team lead"),
    EscalationStep(30, "engineering manager"),
)


@dataclass(frozen=True)
class OncallTool:
    key: str
    name: str
    pages: bool  # acknowledges and escalates by itself
    route: str  # how Alertmanager / SNS reaches it
    escalation: str  # where the escalation policy above lives
    acknowledge: str


ONCALL_TOOLS: dict[OncallChoice, OncallTool] = {
    OncallChoice.PAGERDUTY: OncallTool(
        "pagerduty",
        "PagerDuty",
        True,
        "the Events API v2 integration of the paging service (secret `pagerduty-routing-key`); on aws-eks, "
        "tickets go to a second, low-urgency service (`pagerduty-ticket-routing-key`)",
        "a PagerDuty escalation policy on the service with the steps below",
        "acknowledge in the PagerDuty app; resolve there when the alert clears",
    ),
    OncallChoice.OPSGENIE: OncallTool(
        "opsgenie",
        "Opsgenie",
        True,
        "Opsgenie API integration of the team (secret `opsgenie-api-key`): pages at P1, tickets at P3",
        "an Opsgenie escalation policy for the team with the steps below",
        "acknowledge in the Opsgenie app; close there when the alert clears",
    ),
    OncallChoice.SLACK: OncallTool(
        "slack",
        "Slack",
        False,
        "incoming webhooks: the on-call channel's for pages (secret `slack-webhook-url`) and, on aws-eks, "
        "the alerts channel's for tickets (`slack-ticket-webhook-url`)",
        "people: Slack neither acknowledges nor escalates, so the primary posts 'ack' in the thread "
        "and follows the steps below by phone",
        "reply 'ack' in the alert's thread within the response time",
    ),
    OncallChoice.EMAIL: OncallTool(
        "email",
        "e-mail",
        False,
        "SMTP to the team address",
        "people: e-mail neither acknowledges nor escalates, so the primary replies 'ack' to all and "
        "follows the steps below by phone",
        "reply 'ack' to all within the response time",
    ),
}


def oncall_tool(plan: ServicePlan) -> OncallTool:
    return ONCALL_TOOLS[plan.answers.oncall]


# The incident an alert opens in production, by its `severity` label (SEVERITIES' `opened_by`);
# the incident commander may raise a page to SEV-1.
INCIDENT_FOR_ALERT_SEVERITY: dict[str, str] = {"critical": "SEV-2", "warning": "SEV-3", "info": "SEV-4"}
