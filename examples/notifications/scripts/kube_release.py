"""Follow or undo a release of the service's workload on Kubernetes.

    python scripts/kube_release.py follow --namespace NS --name NAME [--kind rollout|deployment]
    python scripts/kube_release.py undo   --namespace NS --name NAME [--kind rollout|deployment]

`follow` waits until an Argo Rollout is promoted (healthy, the new ReplicaSet is the
stable one) or a Deployment has rolled out, and exits 1 when the Rollout aborts
(failed analysis), degrades, or the timeout passes. `undo` returns the workload to
the previous release: a Rollout gets the pod template of its stable ReplicaSet (mid
rollout) or of the previous revision (after promotion), the same change
`kubectl argo rollouts undo` makes, without needing the plugin; a Deployment uses
`kubectl rollout undo`. Only kubectl is needed.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Sequence
from typing import Any

from _poll import Runner, Verdict, poll, run_cli, run_json

REVISION = "rollout.argoproj.io/revision"
POD_TEMPLATE_HASH = "rollouts-pod-template-hash"


def rollout_verdict(rollout: dict[str, Any]) -> Verdict:
    status = rollout.get("status") or {}
    generation = str(rollout.get("metadata", {}).get("generation", ""))
    message = status.get("message") or ""
    if status.get("observedGeneration") != generation:
        return Verdict.waiting(f"waiting for the controller to see generation {generation}")
    if status.get("abort"):
        return Verdict.failed(f"rollout aborted: {message or 'analysis failed'}")
    phase = status.get("phase", "Unknown")
    if phase == "Degraded":
        return Verdict.failed(f"rollout degraded: {message}")
    if phase == "Healthy" and status.get("stableRS") == status.get("currentPodHash"):
        return Verdict.passed(f"rollout promoted: {status.get('currentPodHash')} is stable")
    step = status.get("currentStepIndex")
    where = f", step {step}" if step is not None else ""
    updated, replicas = status.get("updatedReplicas", 0), status.get("replicas", 0)
    return Verdict.waiting(f"{phase}{where}: {updated}/{replicas} pods updated {message}".rstrip())


def deployment_verdict(deployment: dict[str, Any]) -> Verdict:
    """The checks `kubectl rollout status` makes."""
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    generation = deployment.get("metadata", {}).get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return Verdict.waiting(f"waiting for the controller to see generation {generation}")
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return Verdict.failed(f"deployment exceeded its progress deadline: {condition.get('message', '')}")
    wanted = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    if updated < wanted:
        return Verdict.waiting(f"{updated}/{wanted} pods updated")
    if status.get("replicas", 0) > updated:
        return Verdict.waiting(f"{status.get('replicas', 0) - updated} old pods terminating")
    if status.get("availableReplicas", 0) < updated:
        return Verdict.waiting(f"{status.get('availableReplicas', 0)}/{updated} updated pods available")
    return Verdict.passed(f"deployment rolled out: {updated} pods available")


VERDICTS = {"rollout": rollout_verdict, "deployment": deployment_verdict}


def get_workload(runner: Runner, kind: str, namespace: str, name: str) -> dict[str, Any]:
    return run_json(runner, ["kubectl", "get", kind, name, "--namespace", namespace, "--output", "json"])


def owned_replicasets(runner: Runner, namespace: str, name: str) -> list[dict[str, Any]]:
    items = run_json(runner, ["kubectl", "get", "replicasets", "--namespace", namespace, "--output", "json"])
    return [
        rs
        for rs in items.get("items", [])
        if any(o.get("kind") == "Rollout" and o.get("name") == name for o in rs["metadata"].get("ownerReferences", []))
    ]


def undo_target(rollout: dict[str, Any], replicasets: list[dict[str, Any]]) -> dict[str, Any]:
    """The ReplicaSet to return to: the stable one while a rollout is in progress,
    else the one with the highest revision below the current one."""
    status = rollout.get("status") or {}

    def pod_hash(rs: dict[str, Any]) -> str:
        return rs["metadata"].get("labels", {}).get(POD_TEMPLATE_HASH, "")

    def revision(rs: dict[str, Any]) -> int:
        return int(rs["metadata"].get("annotations", {}).get(REVISION, "0"))

    by_hash = {pod_hash(rs): rs for rs in replicasets}
    stable, current = status.get("stableRS"), status.get("currentPodHash")
    if stable and current and stable != current and stable in by_hash:
        return by_hash[stable]
    if current not in by_hash:
        raise SystemExit(f"no ReplicaSet for the current pod template hash {current!r}")
    older = [rs for rs in replicasets if revision(rs) < revision(by_hash[current])]
    if not older:
        raise SystemExit("no previous revision to return to (this is the first release)")
    return max(older, key=revision)


def pod_template_of(replicaset: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(replicaset["spec"]["template"])
    template.get("metadata", {}).get("labels", {}).pop(POD_TEMPLATE_HASH, None)
    return template


def undo(runner: Runner, kind: str, namespace: str, name: str) -> str:
    if kind == "deployment":
        runner(["kubectl", "rollout", "undo", f"deployment/{name}", "--namespace", namespace])
        return f"deployment/{name} returned to its previous revision"
    rollout = get_workload(runner, kind, namespace, name)
    target = undo_target(rollout, owned_replicasets(runner, namespace, name))
    patch = [{"op": "replace", "path": "/spec/template", "value": pod_template_of(target)}]
    runner(
        ["kubectl", "patch", "rollout", name, "--namespace", namespace, "--type", "json", "--patch", json.dumps(patch)]
    )
    revision = target["metadata"].get("annotations", {}).get(REVISION, "?")
    return f"rollout/{name} returned to revision {revision}"


def follow(
    runner: Runner, kind: str, namespace: str, name: str, timeout: float, interval: float, **poll_args: Any
) -> Verdict:
    verdict_of = VERDICTS[kind]
    return poll(
        lambda: verdict_of(get_workload(runner, kind, namespace, name)),
        timeout_seconds=timeout,
        interval_seconds=interval,
        **poll_args,
    )


def main(argv: Sequence[str] | None = None, runner: Runner = run_cli) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("follow", "undo"))
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--kind", choices=sorted(VERDICTS), default="rollout")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the verdict")
    parser.add_argument("--interval", type=float, default=10)
    args = parser.parse_args(argv)
    if args.action == "undo":
        print(undo(runner, args.kind, args.namespace, args.name))
    verdict = follow(runner, args.kind, args.namespace, args.name, args.timeout, args.interval)
    print(("OK: " if verdict.ok else "FAILED: ") + verdict.message)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
