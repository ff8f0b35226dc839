"""Budgets: the model's limit (estimate plus stated headroom), the CostBudget component under mocks,
and the `environment-budget` guardrail."""

from __future__ import annotations

import math

import pytest

from pulumi_components import guardrails as g
from pulumi_components._base import ComponentArgsError
from pulumi_components.budget import CostBudget, CostBudgetArgs
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.budget import (
    ACTUAL_PERCENTS,
    HEADROOM,
    BudgetConfigError,
    BudgetPlan,
    budget_config,
    budget_from_config,
    budget_plan,
    monthly_estimate_usd,
)
from pulumi_components.reliability.cost import environment_cost
from pulumi_components.testing import resolve, run_with_mocks

BUDGET = "aws:budgets/budget:Budget"
TAGS = {"service": "pay", "environment": "prod", "team": "core", "managed-by": "pulumi"}


def service_plan(platform="aws-eks", database="postgres", sla=99.9):
    answers = Answers(
        project_name="Pay",
        service_slug="pay",
        team="core",
        owner_email="core@example.com",
        platform=platform,
        database=database,
        sla=sla,
    )
    return plan_service(answers)


# --- the model -----------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["aws-eks", "aws-lambda"])
def test_the_limit_is_the_estimate_plus_the_headroom_in_whole_dollars(platform):
    plan = service_plan(platform)
    for env in plan.environments:
        # the busy month's figure: a budget set on the quiet one would alert on ordinary traffic
        estimate = environment_cost(plan, plan.environments[env]).high_usd
        budget = budget_plan(plan, env)
        assert monthly_estimate_usd(plan, env) == estimate
        assert budget.limit_usd == math.ceil(estimate * (1 + HEADROOM))
        assert budget.limit_usd > estimate
        assert budget.headroom == HEADROOM > 0
        assert budget.forecast_percent == 100 and budget.actual_percents == ACTUAL_PERCENTS


def test_production_costs_more_than_dev_so_its_budget_is_higher():
    plan = service_plan(sla=99.99)
    assert budget_plan(plan, "prod").limit_usd > budget_plan(plan, "dev").limit_usd


def test_the_stack_config_round_trips():
    plan = service_plan()
    assert budget_from_config(budget_config(plan, "prod")) == budget_plan(plan, "prod")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"limit_usd": 0}, "budget.limit_usd must be a positive"),
        ({"limit_usd": "many"}, "budget.limit_usd must be a number"),
        ({"actual_percents": []}, "at least one percentage"),
        ({"actual_percents": [80, 5000]}, "between 1 and 1000"),
        ({"forecast_percent": 0}, "budget.forecast_percent must be percentages between 1 and 1000"),
        ({"limit": 10}, "unknown keys ['limit']"),
    ],
)
def test_bad_stack_config_names_the_key(change, message):
    data = budget_config(service_plan(), "prod") | change
    with pytest.raises(BudgetConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        budget_from_config(data)


def test_a_budget_that_is_not_a_mapping_is_refused():
    with pytest.raises(BudgetConfigError, match="budget must be a mapping"):
        budget_from_config(120)


# --- the component -------------------------------------------------------------------------------


def build(topic=None, email="core@example.com", tags=TAGS, plan=None):
    plan = plan or budget_plan(service_plan(), "prod")
    return run_with_mocks(
        lambda: CostBudget(
            "pay-prod",
            CostBudgetArgs(name="pay-prod", plan=plan, owner_email=email, tags=tags, ticket_topic_arn=topic),
        )
    )


def test_the_budget_counts_this_environment_and_alerts_by_email_without_a_topic():
    plan = budget_plan(service_plan(), "prod")
    (budget,) = build().of_type(BUDGET)
    inputs = resolve(budget.inputs)
    assert inputs["budgetType"] == "COST" and inputs["timeUnit"] == "MONTHLY"
    assert inputs["limitAmount"] == str(plan.limit_usd) and inputs["limitUnit"] == "USD"
    tags = {item["tags"]["key"]: item["tags"]["values"] for item in inputs["filterExpression"]["ands"]}
    assert tags == {"service": ["pay"], "environment": ["prod"]}
    kinds = [(n["notificationType"], n["threshold"]) for n in inputs["notifications"]]
    assert kinds == [("FORECASTED", 100), ("ACTUAL", 80), ("ACTUAL", 100)]
    assert all(n["subscriberEmailAddresses"] == ["core@example.com"] for n in inputs["notifications"])
    assert inputs["tags"] == TAGS


def test_with_a_ticket_topic_the_alerts_publish_to_it():
    topic = "arn:aws:sns:us-east-1:123456789012:pay-prod-ticket"
    (budget,) = build(topic=topic).of_type(BUDGET)
    notifications = resolve(budget.inputs)["notifications"]
    assert all(n["subscriberSnsTopicArns"] == [topic] for n in notifications)
    assert not any(n.get("subscriberEmailAddresses") for n in notifications)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"email": "nobody"}, "owner_email must be an e-mail address"),
        ({"tags": {"service": "pay"}}, "tags.environment is needed"),
        ({"plan": BudgetPlan(0, 0.0, 0.25, 100, (80,))}, "positive number of dollars"),
    ],
)
def test_bad_args_are_refused_before_any_resource(kwargs, message):
    with pytest.raises((ComponentArgsError, BudgetConfigError), match=message):
        build(**kwargs)


# --- the guardrail ---------------------------------------------------------------------------------


def environment(budget_props=None):
    resources = [g.Resource("groundwork:index:PublicEndpoint", "pay-prod", {})]
    if budget_props is not None:
        resources.append(g.Resource(BUDGET, "pay-prod-monthly", budget_props))
    return resources


def findings(resources):
    return [v.message for v in g.check_stack(resources, g.Context()) if v.rule == "environment-budget"]


def captured_budget_props():
    (budget,) = build().of_type(BUDGET)
    return resolve(budget.inputs)


def test_the_component_passes_the_guardrail():
    assert findings(environment(captured_budget_props())) == []


def test_an_environment_without_a_budget_is_reported():
    assert findings(environment()) == ["no AWS Budget: every environment has a monthly cost budget (CostBudget)"]


def test_a_component_tested_alone_is_not_an_environment():
    assert findings([g.Resource("aws:sns/topic:Topic", "t", {})]) == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p | {"limitAmount": "0"}, "must be a monthly COST budget with a positive limit"),
        (lambda p: p | {"timeUnit": "ANNUALLY"}, "must be a monthly COST budget"),
        (
            lambda p: p | {"notifications": [n for n in p["notifications"] if n["notificationType"] != "FORECASTED"]},
            "alerts no one on forecasted spend",
        ),
        (
            lambda p: (
                p
                | {
                    "notifications": [
                        n | {"subscriberEmailAddresses": []} if n["notificationType"] == "ACTUAL" else n
                        for n in p["notifications"]
                    ]
                }
            ),
            "alerts no one on actual spend",
        ),
    ],
)
def test_a_defective_budget_is_reported(mutate, message):
    reported = findings(environment(mutate(captured_budget_props())))
    assert len(reported) == 1 and message in reported[0]
