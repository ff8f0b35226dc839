"""The runtime's deployability rule: the pod's grace period covers the preStop pause and the app's
graceful timeout, on the component's own workloads and on workloads changed to break it."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from service_fixtures import run_service, service_args, service_plan

from pulumi_components.deployability import check_stack, stack_view
from pulumi_components.deployability.runtime import CONFIG_MAP, WORKLOADS

RULE = "pod-grace-period-covers-shutdown"


@pytest.fixture(scope="module", params=["rolling", "blue-green"])
def view(request):
    run = run_service(service_args(service_plan(deployment_strategy=request.param)))
    return stack_view("example", "prod", run)


def changed(view, edit):
    """`view` with `edit(resource, inputs)` applied to a deep copy of every resource's inputs."""
    resources = []
    for resource in view.resources:
        inputs = copy.deepcopy(resource.inputs)
        edit(resource, inputs)
        resources.append(dataclasses.replace(resource, inputs=inputs))
    return dataclasses.replace(view, resources=tuple(resources))


def findings(view):
    return [(f.subject, f.message) for f in check_stack(view, only=[RULE])]


def pod(inputs):
    return inputs["spec"]["template"]["spec"]


def test_the_components_workload_drains_within_its_grace_period(view):
    assert view.of_type(*WORKLOADS) and findings(view) == []


def test_a_grace_period_shorter_than_pre_stop_plus_drain_is_reported(view):
    def shorten(resource, inputs):
        if resource.type in WORKLOADS:
            pod(inputs)["terminationGracePeriodSeconds"] = 20

    (found,) = findings(changed(view, shorten))
    assert found[0].startswith(WORKLOADS) and "terminationGracePeriodSeconds 20 < preStop 10 s" in found[1]


def test_a_longer_app_drain_than_the_pod_allows_is_reported(view):
    def slower(resource, inputs):
        if resource.type == CONFIG_MAP and "GRACEFUL_TIMEOUT_SECONDS" in (inputs.get("data") or {}):
            inputs["data"]["GRACEFUL_TIMEOUT_SECONDS"] = "60"

    (found,) = findings(changed(view, slower))
    assert "GRACEFUL_TIMEOUT_SECONDS 60 s of container app" in found[1]


def test_an_env_value_overrides_the_config_map_and_a_missing_one_is_reported(view):
    def env(resource, inputs):
        if resource.type in WORKLOADS:
            pod(inputs)["containers"][0]["env"] = [{"name": "GRACEFUL_TIMEOUT_SECONDS", "value": "45"}]

    (found,) = findings(changed(view, env))
    assert "GRACEFUL_TIMEOUT_SECONDS 45 s" in found[1]

    def unset(resource, inputs):
        if resource.type == CONFIG_MAP:
            (inputs.get("data") or {}).pop("GRACEFUL_TIMEOUT_SECONDS", None)

    (found,) = findings(changed(view, unset))
    assert "container app has no GRACEFUL_TIMEOUT_SECONDS" in found[1]


def test_sidecars_are_not_the_apps_concern(view):
    def sidecar(resource, inputs):
        if resource.type in WORKLOADS:
            pod(inputs)["containers"].append({"name": "collector", "image": "otel/collector"})

    assert findings(changed(view, sidecar)) == []
