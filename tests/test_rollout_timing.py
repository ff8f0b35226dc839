"""The rollout and rollback figures the plan derives for each strategy."""

import pytest

from pulumi_components.reliability import Answers, plan_service


def rollout(**answers):
    base = {"project_name": "Timing", "service_slug": "timing", "team": "platform", "owner_email": "p@example.com"}
    return plan_service(Answers.from_mapping({**base, **answers})).prod.rollout


@pytest.mark.parametrize("sla", [99.5, 99.9, 99.95, 99.99])
def test_canary_and_blue_green_meet_the_reference_aims(sla):
    for strategy in ("canary", "blue-green"):
        plan = rollout(sla=sla, deployment_strategy=strategy)
        assert 0 < plan.full_rollout_seconds < 600
        assert plan.rollback_decision_seconds < 120


def test_canary_rollout_is_the_sum_of_its_pauses():
    plan = rollout(sla=99.9, deployment_strategy="canary")
    assert plan.canary_steps == (5, 25, 50, 100)
    assert plan.full_rollout_seconds == 3 * plan.pause_seconds


def test_blue_green_rollout_is_pre_plus_post_promotion_analysis():
    plan = rollout(sla=99.9, deployment_strategy="blue-green")
    assert plan.full_rollout_seconds == 2 * plan.analysis_count * plan.analysis_interval_seconds


def test_rollback_decision_grows_as_the_regression_shrinks():
    plan = rollout(sla=99.9, deployment_strategy="canary")
    hard = plan.rollback_decision_seconds_at(1.0)
    mild = plan.rollback_decision_seconds_at(2 * plan.max_error_ratio)
    assert hard < mild
    # At twice the threshold the rate window is half full when it crosses.
    window = plan.analysis_window_seconds
    assert mild - hard == pytest.approx(window / 2 - plan.max_error_ratio * window, abs=0.1)
    assert plan.rollback_decision_seconds_at(plan.max_error_ratio) is None
    assert rollout(deployment_strategy="rolling").rollback_decision_seconds_at(1.0) is None


def test_lambda_shifting_uses_whole_minutes():
    platinum = rollout(sla=99.99, deployment_strategy="canary", platform="aws-lambda")
    assert platinum.pause_seconds == 90
    assert platinum.lambda_shift_interval_minutes == 2
    linear = rollout(sla=99.9, deployment_strategy="rolling", platform="aws-lambda")
    assert linear.lambda_linear_percent == 25
    assert linear.lambda_full_rollout_seconds == 3 * linear.lambda_shift_interval_minutes * 60
    assert rollout(deployment_strategy="blue-green").lambda_full_rollout_seconds == 0
    assert linear.lambda_rollback_decision_seconds <= 120


def test_generated_doc_and_benchmark_show_the_model_figures(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from conftest import render

    eks = render(tmp_path / "eks", platform="aws-eks", deployment_strategy="canary", sla=99.9)
    doc = (eks / "docs" / "delivery.md").read_text()
    plan = rollout(sla=99.9, deployment_strategy="canary")
    hard = plan.rollback_decision_seconds_at(1.0)
    assert f"| prod | {plan.full_rollout_seconds} s | {hard} s for a release failing every request |" in doc
    assert "5% → 25% → 50% → 100%" in doc and f"**{plan.max_error_ratio}**" in doc
    lam = render(tmp_path / "lambda", platform="aws-lambda", deployment_strategy="rolling", sla=99.9)
    lambda_plan = rollout(sla=99.9, deployment_strategy="rolling", platform="aws-lambda")
    shift, decision = lambda_plan.lambda_full_rollout_seconds, lambda_plan.lambda_rollback_decision_seconds
    lambda_doc = (lam / "docs" / "delivery.md").read_text()
    assert f"| prod | {shift} s | at most {decision} s" in lambda_doc
    # What Lambda really gets: CodeDeploy's linear steps and per-version CloudWatch alarms, no Prometheus.
    readme = (lam / "README.md").read_text()
    for text in (readme, lambda_doc):
        assert "`TimeBasedLinear` configuration: 25% → 50% → 75% → 100%" in " ".join(text.split())
        assert "Metrics Insights queries grouped by that version" in " ".join(text.split())
    assert f"below {lambda_plan.lambda_quiet_canary_requests} requests a period" in " ".join(lambda_doc.split())
    releases = readme.split("## Releases", 1)[1].split("## Monitoring", 1)[0]
    assert "Prometheus" not in releases and "Argo" not in releases and "/metrics" not in readme
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "rollout_timing.py"
    printed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    (row,) = [line.split() for line in printed.splitlines() if line.split()[:2] == ["99.9", "canary"]]
    assert row[3] == f"{plan.full_rollout_seconds}s" and row[5] == f"{hard:g}s"


@pytest.mark.parametrize(
    ("strategy", "sla", "steps"),
    [
        ("canary", 99.99, ((0, 1), (120, 100))),
        ("canary", 99.5, ((0, 20), (60, 100))),
        ("rolling", 99.9, ((0, 25), (120, 50), (240, 75), (360, 100))),
        ("blue-green", 99.9, ((0, 100),)),
    ],
)
def test_lambda_traffic_steps_end_when_the_rollout_does(strategy, sla, steps):
    plan = rollout(sla=sla, deployment_strategy=strategy, platform="aws-lambda")
    assert plan.lambda_traffic_steps == steps
    assert plan.lambda_traffic_steps[-1][0] == plan.lambda_full_rollout_seconds


def test_a_quiet_canary_fails_on_one_request_below_the_resolution():
    plan = rollout(sla=99.99, deployment_strategy="canary", platform="aws-lambda")
    n = plan.lambda_quiet_canary_requests
    assert (n, plan.lambda_alarm_period_seconds) == (695, 60)
    assert 1 / (n - 1) > plan.max_error_ratio >= 1 / n  # one failure in n - 1 breaches, in n it does not
