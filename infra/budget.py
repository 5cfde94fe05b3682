"""Cost alert: an AWS Budgets monthly cost budget for the stage (context `budget_monthly_usd`).

It counts the costs tagged `project=prosync` and `stage=<stage>` (every resource of the stack carries
both tags): **activate both as cost allocation tags** in the Billing console once per account, or the
budget sees nothing (docs/DEPLOY.md). It mails `budget_email` (else `alarm_email`) and publishes to the
alarm topic when actual spend passes 80 % of the limit and when the month's forecast passes 100 %.
AWS Budgets: the first two budgets of an account are free, then $0.02 per budget per day.
"""

from __future__ import annotations

from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import StackConfig

THRESHOLDS = (("ACTUAL", 80), ("FORECASTED", 100))  # notification type, percent of the limit


class Budget(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig, topic: sns.ITopic) -> None:
        super().__init__(scope, id)
        email = config.budget_email or config.alarm_email
        subscribers = [
            budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=email),
            budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic.topic_arn),
        ]
        tag = budgets.CfnBudget.TagValuesProperty
        self.budget = budgets.CfnBudget(
            self,
            "Monthly",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{config.prefix}-monthly",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=config.budget_monthly_usd, unit="USD"),
                filter_expression=budgets.CfnBudget.ExpressionProperty(
                    and_=[
                        budgets.CfnBudget.ExpressionProperty(tags=tag(key="project", values=["prosync"])),
                        budgets.CfnBudget.ExpressionProperty(tags=tag(key="stage", values=[config.stage])),
                    ]
                ),
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers,
                )
                for kind, percent in THRESHOLDS
            ],
        )
