"""The reliability model: the questionnaire's answers in, every number that follows out.

Standard library only, so Copier's Jinja extension, the Pulumi components,
the generated repo's tests and the reliability documents all read the same
figures. `tiers.py` says what each SLA changes; `environments.py` what each
environment changes from production; `plan.py` derives each environment's
plan; `slo.py` holds the error budgets and burn-rate alerts.
"""

# Feasibility, cost, risks and incident policy of a plan (the reliability documents read these);
# Prometheus rules, their promtool tests, Alertmanager routes, Grafana dashboards and runbooks for the alert catalogue.
from . import (  # noqa: F401
    alertmanager,
    availability,
    budget,
    cost,
    dashboards,
    incident,
    load_test,
    measurements,
    prometheus_rules,
    promtool_tests,
    recovery,
    risks,
    runbooks,
    vocabulary,
)
from .alerts import ALL_ALERT_NAMES, Alert, alert_catalogue, alert_names
from .answers import AnswerError, Answers
from .config import PlanConfigError, from_config, to_config
from .plan import EnvironmentPlan, ServicePlan, plan_service
from .slo import BurnRateAlert, Objective
from .tiers import TIERS, Tier, tier_for

__all__ = [
    "ALL_ALERT_NAMES",
    "TIERS",
    "Alert",
    "AnswerError",
    "Answers",
    "BurnRateAlert",
    "EnvironmentPlan",
    "Objective",
    "PlanConfigError",
    "ServicePlan",
    "Tier",
    "alert_catalogue",
    "alert_names",
    "from_config",
    "plan_service",
    "tier_for",
    "to_config",
]
