"""Rules of the app's runtime in its pod.

- a pod outlasts its shutdown (the app's container): the kubelet kills a container at terminationGracePeriodSeconds,
  counted from the start of the preStop hook, so the grace period must cover the preStop pause
  plus the time gunicorn gives in-flight requests after SIGTERM (GRACEFUL_TIMEOUT_SECONDS, from
  the container's ConfigMap; app/service/runtime.py). Otherwise a deploy or a scale-in cuts
  requests off mid-flight.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..reliability.alerts import APP_CONTAINER
from . import StackView, stack_rule
from .rules_common import as_list, subject

WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:argoproj.io/v1alpha1:Rollout")
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
GRACEFUL_TIMEOUT = "GRACEFUL_TIMEOUT_SECONDS"
DEFAULT_GRACE_PERIOD_SECONDS = 30  # Kubernetes' default terminationGracePeriodSeconds


def config_maps(stack: StackView) -> dict[str, Mapping[str, Any]]:
    """name -> data of every ConfigMap of the stack."""
    found = {}
    for resource in stack.of_type(CONFIG_MAP):
        name = (resource.inputs.get("metadata") or {}).get("name")
        if isinstance(name, str):
            found[name] = resource.inputs.get("data") or {}
    return found


def graceful_timeout(container: Mapping[str, Any], maps: Mapping[str, Mapping[str, Any]]) -> int | None:
    """The container's GRACEFUL_TIMEOUT_SECONDS, from its env or a ConfigMap it loads (None: unset)."""
    for variable in as_list(container.get("env")):
        if variable.get("name") == GRACEFUL_TIMEOUT and "value" in variable:
            return int(variable["value"])
    for source in as_list(container.get("envFrom")):
        data = maps.get((source.get("configMapRef") or {}).get("name"), {})
        if GRACEFUL_TIMEOUT in data:
            return int(data[GRACEFUL_TIMEOUT])
    return None


def pre_stop_seconds(container: Mapping[str, Any]) -> int:
    sleep = ((container.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}
    return int(sleep.get("seconds") or 0)


@stack_rule(
    "pod-grace-period-covers-shutdown",
    "Each workload's terminationGracePeriodSeconds covers its preStop pause plus the app's graceful "
    "timeout after SIGTERM (GRACEFUL_TIMEOUT_SECONDS), so no request in flight is killed.",
)
def grace_period_covers_shutdown(stack: StackView) -> Iterator[tuple[str, str]]:
    maps = config_maps(stack)
    for workload in stack.of_type(*WORKLOADS):
        pod = (((workload.inputs.get("spec") or {}).get("template") or {}).get("spec")) or {}
        grace = int(pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE_PERIOD_SECONDS))
        for container in as_list(pod.get("containers")):
            name = container.get("name")
            if name != APP_CONTAINER:  # sidecars drain on their own terms
                continue
            timeout = graceful_timeout(container, maps)
            if timeout is None:
                yield subject(workload), f"container {name} has no {GRACEFUL_TIMEOUT}: how long it drains is unknown"
                continue
            needed = pre_stop_seconds(container) + timeout
            if grace < needed:
                yield (
                    subject(workload),
                    f"terminationGracePeriodSeconds {grace} < preStop {pre_stop_seconds(container)} s + "
                    f"{GRACEFUL_TIMEOUT} {timeout} s of container {name}: requests in flight are killed",
                )
