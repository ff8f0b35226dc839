"""CostBudget: an environment's monthly AWS Budget, alerting the owner through the ticket route.

The limit and thresholds come from the reliability model (`reliability/budget.py`: the cost
estimate plus stated headroom), carried in the stack config. The budget counts the cost of
resources tagged with this environment's `service` and `environment` tags, so environments
sharing an account do not count each other's spend; AWS Billing counts a tag only once it is
activated as a cost allocation tag (Billing console, "Cost allocation tags", or
`aws ce update-cost-allocation-tags-status`), which the generated docs say to do once per account.

Budgets notify e-mail addresses or SNS topics only. Where the ticket route is an SNS topic
(Lambda services: SloAlarms' ticket topic), the notifications publish to it; elsewhere (EKS,
whose ticket route is Alertmanager inside the cluster) they e-mail the owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ._base import child, require, type_token
from .reliability.budget import BudgetPlan


@dataclass
class CostBudgetArgs:
    name: str  # <service>-<env>: the budget's name
    plan: BudgetPlan
    owner_email: str
    tags: Mapping[str, str]  # the shared tags; `service` and `environment` select the costs counted
    ticket_topic_arn: pulumi.Input[str] | None = None  # the ticket route when it is an SNS topic

    def validate(self) -> None:
        self.plan.validate()
        require("@" in self.owner_email, f"owner_email must be an e-mail address; got {self.owner_email!r}")
        for key in ("service", "environment"):
            require(bool(self.tags.get(key)), f"tags.{key} is needed: the budget counts the costs tagged with it")


class CostBudget(pulumi.ComponentResource):
    budget: aws.budgets.Budget

    def __init__(self, name: str, args: CostBudgetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("CostBudget"), name, None, opts)
        self.budget = aws.budgets.Budget(
            f"{name}-monthly",
            name=f"{args.name}-monthly",
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=str(args.plan.limit_usd),
            limit_unit="USD",
            filter_expression=aws.budgets.BudgetFilterExpressionArgs(
                ands=[
                    aws.budgets.BudgetFilterExpressionAndArgs(
                        tags=aws.budgets.BudgetFilterExpressionAndTagsArgs(key=key, values=[args.tags[key]])
                    )
                    for key in ("service", "environment")
                ]
            ),
            notifications=[self._notification("FORECASTED", args.plan.forecast_percent, args)]
            + [self._notification("ACTUAL", percent, args) for percent in args.plan.actual_percents],
            tags=dict(args.tags),
            opts=child(self),
        )
        self.register_outputs({"budget_name": self.budget.name, "limit_usd": args.plan.limit_usd})

    @staticmethod
    def _notification(kind: str, percent: int, args: CostBudgetArgs) -> aws.budgets.BudgetNotificationArgs:
        route = (
            {"subscriber_sns_topic_arns": [args.ticket_topic_arn]}
            if args.ticket_topic_arn is not None
            else {"subscriber_email_addresses": [args.owner_email]}
        )
        return aws.budgets.BudgetNotificationArgs(
            notification_type=kind,
            comparison_operator="GREATER_THAN",
            threshold=percent,
            threshold_type="PERCENTAGE",
            **route,
        )
