"""The Lambda release gate, simulated: CodeDeploy's traffic steps and the alarms LambdaDeployment
builds (captured under mocks), fed with the EMF lines the handler writes (`tests/lambda_gate.py`).

A bad version on 1% of the traffic (the 99.99 tier's canary) is rolled back within one alarm
period; the alias alarm the deployment used before would have let it through."""

from __future__ import annotations

import pytest
from lambda_gate import AliasAlarm, Behaviour, VersionAlarm, simulate, traffic_steps
from service_fixtures import lambda_release_args, service_plan

from pulumi_components.lambda_deployment import LambdaDeployment
from pulumi_components.reliability.plan import LAMBDA_ALARM_PERIOD_SECONDS
from pulumi_components.testing import run_with_mocks

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
CONFIG = "aws:codedeploy/deploymentConfig:DeploymentConfig"
OFFSETS = range(0, 60, 7)  # where in a CloudWatch period the deployment starts


def release(strategy: str, sla: float):
    """The plan, traffic steps and error-ratio alarm a prod stack gets."""
    plan = service_plan("prod", platform="aws-lambda", deployment_strategy=strategy, sla=sla)
    args = lambda_release_args(strategy, sla)
    result = run_with_mocks(lambda: LambdaDeployment("example-prod", args))
    configs = result.of_type(CONFIG)
    (errors,) = [a.inputs for a in result.of_type(ALARM) if a.inputs["name"].endswith("-deploy-error-ratio")]
    steps = traffic_steps(configs[0].inputs if configs else None)
    assert tuple(steps) == plan.rollout.lambda_traffic_steps  # the docs' steps are the configuration's
    return plan.rollout, steps, VersionAlarm.from_inputs(errors)


@pytest.fixture(scope="module")
def platinum_canary():
    rollout, steps, alarm = release("canary", 99.99)
    assert steps == [(0, 1), (120, 100)]  # CodeDeploy's canary: 1% for 2 min, then everything
    return rollout, steps, alarm


def test_a_bad_version_on_one_percent_is_rolled_back_within_one_period(platinum_canary):
    rollout, steps, alarm = platinum_canary
    rps = 100  # the canary gets one request a second
    for bad, first_failure in (
        (Behaviour(failing=1.0), 1),
        (Behaviour(failing=1.0, raises=True), 1),
        (Behaviour(failing=0.1), 10),  # one canary request in ten fails
    ):
        outcomes = [simulate(steps, alarm, new=bad, rps=rps, offset=offset) for offset in OFFSETS]
        assert {o.share_at_rollback for o in outcomes} == {1}, bad
        worst = max(o.rolled_back_after for o in outcomes)
        # The period holding the first failed canary request breaches when it closes: the
        # canary's ratio is its own, whatever the old version serves.
        assert worst <= first_failure + alarm.period, (bad, worst)
        if bad.failing == 1.0:
            assert worst == alarm.period == LAMBDA_ALARM_PERIOD_SECONDS == 60
    assert alarm.period <= rollout.lambda_rollback_decision_seconds
    assert alarm.period < steps[1][0]  # decided before CodeDeploy shifts the rest of the traffic


def test_the_rollback_stays_at_one_percent_with_a_minute_of_cloudwatch_delay(platinum_canary):
    """EMF extraction and alarm evaluation take time; up to a minute still rolls back at 1%."""
    _, steps, alarm = platinum_canary
    for offset in OFFSETS:
        outcome = simulate(steps, alarm, new=Behaviour(failing=1.0), offset=offset, evaluation_delay=59)
        assert outcome.share_at_rollback == 1 and outcome.rolled_back_after <= 119


def test_a_healthy_version_is_not_rolled_back(platinum_canary):
    _, steps, alarm = platinum_canary
    for offset in OFFSETS:
        assert simulate(steps, alarm, new=Behaviour(), offset=offset).rolled_back_after is None
    # The old version's own errors below the threshold do not stop the release either.
    old = Behaviour(failing=alarm.threshold / 2, raises=True)
    assert simulate(steps, alarm, new=Behaviour(), old=old, rps=200).rolled_back_after is None


def test_the_alias_alarm_used_before_lets_the_bad_canary_through(platinum_canary):
    """The same threshold on the alias: 10% failing on 1% of the traffic is 0.1% of the alias,
    under the 0.144% page rate; a returned 5xx is no Lambda error at all."""
    _, steps, alarm = platinum_canary
    alias = AliasAlarm(alarm.threshold, alarm.period, alarm.evaluation_periods, alarm.datapoints_to_alarm)
    for offset in OFFSETS:
        diluted = simulate(steps, alias, new=Behaviour(failing=0.1, raises=True), offset=offset)
        assert diluted.rolled_back_after is None
        returned = simulate(steps, alias, new=Behaviour(failing=1.0), offset=offset)
        assert returned.rolled_back_after is None
        # Only a version whose every request raises shows on the alias, still diluted a hundredfold.
        crashing = simulate(steps, alias, new=Behaviour(failing=1.0, raises=True), offset=offset)
        assert crashing.share_at_rollback == 1


@pytest.mark.parametrize(("strategy", "sla", "first_share"), [("canary", 99.9, 5), ("rolling", 99.9, 25)])
def test_other_tiers_roll_back_at_their_first_step(strategy, sla, first_share):
    _, steps, alarm = release(strategy, sla)
    assert steps[0] == (0, first_share)
    for offset in OFFSETS:
        outcome = simulate(steps, alarm, new=Behaviour(failing=0.1), offset=offset)
        assert outcome.share_at_rollback == first_share and outcome.rolled_back_after <= alarm.period


def test_one_error_in_a_period_of_a_quiet_canary_rolls_it_back(platinum_canary):
    """The gate's resolution is one request: below `lambda_quiet_canary_requests` canary requests a
    period (695 a minute at 99.99), a single failed request is above the page rate."""
    _, steps, alarm = platinum_canary
    one_in_sixty = Behaviour(failing=1 / 60)  # 100 rps: the canary gets 60 requests a minute
    assert simulate(steps, alarm, new=one_in_sixty).share_at_rollback == 1
    assert simulate(steps, alarm, new=Behaviour(failing=1 / 600)).rolled_back_after is None  # none in 2 min
