"""Each stack delivers releases the way its plan says: the workload's strategy, its analysis
gates and add-ons on EKS; the CodeDeploy shifting and its rollback alarms on Lambda."""

from functools import cache

import pytest
from components.testing import CapturingMocks
from conftest import PROJECT, run_stack

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/service@sha256:" + "0" * 64


@cache
def release_run(stack: str):
    # A release run: the pipeline passes the image it built, by digest.
    return run_stack(stack, **{f"{PROJECT}:image": IMAGE})


def objects(run, kind: str) -> list[dict]:
    return [r.inputs for r in run.resources if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")]


def test_eks_workload_follows_the_rollout_plan(stack, plan):
    if plan.cluster is None:
        pytest.skip("not an EKS stack")
    run = release_run(stack)
    rollout = plan.rollout
    workloads = objects(run, "Rollout") + objects(run, "Deployment")
    (workload,) = workloads
    assert workload["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    strategy = workload["spec"]["strategy"]
    if rollout.strategy == "rolling":
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    elif rollout.strategy == "canary":
        weights = [step["setWeight"] for step in strategy["canary"]["steps"] if "setWeight" in step]
        assert tuple(int(w) for w in weights) == rollout.canary_steps
    else:
        assert strategy["blueGreen"]["scaleDownDelaySeconds"] == rollout.scale_down_delay_seconds
    if rollout.strategy != "rolling":
        (template,) = objects(run, "AnalysisTemplate")
        conditions = {m["name"]: m["successCondition"] for m in template["spec"]["metrics"]}
        assert conditions["error-ratio"].endswith(f"<= {rollout.max_error_ratio}")
        assert conditions["latency-p99"].endswith(f"<= {rollout.max_latency_p99_seconds}")
    (hpa,) = objects(run, "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (
        plan.workload.replicas_min,
        plan.workload.replicas_max,
    )
    charts = {r.inputs["chart"] for r in run.of_type("kubernetes:helm.sh/v3:Release")}
    assert ("argo-rollouts" in charts) is (rollout.strategy != "rolling")
    assert run.outputs["base_url"] is not None and run.outputs["image_repository_url"] is not None


def test_lambda_alias_shifts_through_codedeploy_with_rollback_alarms(stack, plan):
    if plan.function is None:
        pytest.skip("not a Lambda stack")
    run = release_run(stack)
    (group,) = run.of_type("aws:codedeploy/deploymentGroup:DeploymentGroup")
    assert "DEPLOYMENT_STOP_ON_ALARM" in group.inputs["autoRollbackConfiguration"]["events"]
    alarms = {a.inputs["name"]: a.inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    rollback_alarms = [alarms[name] for name in group.inputs["alarmConfiguration"]["alarms"]]
    # Each version judged on its own requests: the error ratio at the page rate, over 1% slower than the SLO.
    thresholds = sorted(a["threshold"] for a in rollback_alarms)
    assert thresholds == pytest.approx(sorted([plan.rollout.max_error_ratio, 0.01]))
    for alarm in rollback_alarms:
        (query,) = alarm["metricQueries"]
        assert "GROUP BY Version" in query["expression"]
    configs = run.of_type("aws:codedeploy/deploymentConfig:DeploymentConfig")
    if plan.rollout.strategy == "blue-green":
        assert group.inputs["deploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce" and not configs
    else:
        (config,) = configs
        routing = config.inputs["trafficRoutingConfig"]
        expected = "TimeBasedCanary" if plan.rollout.strategy == "canary" else "TimeBasedLinear"
        assert routing["type"] == expected


def test_a_stack_without_an_image_creates_nothing_and_says_how_to_pass_one(stack, plan, monkeypatch):
    """A fresh stack has no image to fall back to: `pulumi up` without one stops before any resource."""
    if plan.cluster is None:
        pytest.skip("not an EKS stack")
    created = []
    register = CapturingMocks.new_resource
    monkeypatch.setattr(
        CapturingMocks, "new_resource", lambda self, args: created.append(args.typ) or register(self, args)
    )
    with pytest.raises(ValueError, match=rf"{PROJECT}:image is not set.*--config {PROJECT}:image=<repository>@sha256:"):
        run_stack(stack, release=False)
    assert created == []
    with pytest.raises(ValueError, match="pinned by digest"):
        run_stack(stack, **{f"{PROJECT}:image": "registry.example/app:latest"})
