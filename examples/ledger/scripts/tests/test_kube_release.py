import json

import pytest
from fake_cli import FakeCli, FakeClock
from kube_release import deployment_verdict, follow, main, rollout_verdict, undo, undo_target


def rollout(phase, stable="aaa", current="bbb", abort=False, observed="2", generation=2, message=""):
    return {
        "metadata": {"generation": generation},
        "status": {"phase": phase, "stableRS": stable, "currentPodHash": current, "abort": abort,
                   "observedGeneration": observed, "message": message, "updatedReplicas": 1, "replicas": 4},
    }  # fmt: skip


def replicaset(pod_hash, revision, image):
    return {
        "metadata": {
            "labels": {"rollouts-pod-template-hash": pod_hash},
            "annotations": {"rollout.argoproj.io/revision": str(revision)},
            "ownerReferences": [{"kind": "Rollout", "name": "svc"}],
        },
        "spec": {"template": {"metadata": {"labels": {"app": "svc", "rollouts-pod-template-hash": pod_hash}},
                              "spec": {"containers": [{"image": image}]}}},
    }  # fmt: skip


def test_promoted_rollout_passes():
    assert rollout_verdict(rollout("Healthy", stable="bbb", current="bbb")).ok


def test_paused_canary_keeps_waiting():
    verdict = rollout_verdict(rollout("Paused"))
    assert not verdict.done


def test_aborted_rollout_fails():
    verdict = rollout_verdict(rollout("Degraded", abort=True, message="metric error-ratio assessed Failed"))
    assert verdict.done and not verdict.ok
    assert "error-ratio" in verdict.message


def test_stale_status_is_not_trusted():
    assert not rollout_verdict(rollout("Healthy", stable="bbb", current="bbb", observed="1")).done


def test_follow_waits_through_the_steps_then_passes():
    cli = FakeCli({("kubectl", "get", "rollout"): [rollout("Progressing"), rollout("Paused"),
                                                   rollout("Healthy", stable="bbb", current="bbb")]})  # fmt: skip
    clock = FakeClock()
    verdict = follow(cli, "rollout", "ns", "svc", timeout=600, interval=10, clock=clock, sleep=clock.sleep, log=print)
    assert verdict.ok and clock.now == 20


def test_follow_fails_on_timeout():
    cli = FakeCli({("kubectl", "get", "rollout"): rollout("Paused")})
    clock = FakeClock()
    verdict = follow(cli, "rollout", "ns", "svc", timeout=60, interval=10, clock=clock, sleep=clock.sleep, log=print)
    assert not verdict.ok and "timed out" in verdict.message


def test_main_exits_1_when_the_rollout_aborts():
    cli = FakeCli({("kubectl", "get", "rollout"): rollout("Degraded", abort=True)})
    assert main(["follow", "--namespace", "ns", "--name", "svc", "--interval", "0"], runner=cli) == 1


def test_undo_mid_rollout_returns_to_the_stable_template():
    sets = [replicaset("aaa", 1, "app:1"), replicaset("bbb", 2, "app:2")]
    target = undo_target(rollout("Paused", stable="aaa", current="bbb"), sets)
    assert target["spec"]["template"]["spec"]["containers"][0]["image"] == "app:1"


def test_undo_after_promotion_returns_to_the_previous_revision():
    sets = [replicaset("aaa", 1, "app:1"), replicaset("bbb", 2, "app:2"), replicaset("ccc", 3, "app:3")]
    target = undo_target(rollout("Healthy", stable="ccc", current="ccc"), sets)
    assert target["metadata"]["labels"]["rollouts-pod-template-hash"] == "bbb"


def test_undo_of_the_first_release_refuses():
    with pytest.raises(SystemExit, match="first release"):
        undo_target(rollout("Healthy", stable="aaa", current="aaa"), [replicaset("aaa", 1, "app:1")])


def test_undo_patches_the_pod_template_without_the_hash_label():
    cli = FakeCli({
        ("kubectl", "get", "rollout"): rollout("Healthy", stable="bbb", current="bbb"),
        ("kubectl", "get", "replicasets"): {"items": [replicaset("aaa", 1, "app:1"), replicaset("bbb", 2, "app:2")]},
    })  # fmt: skip
    assert "revision 1" in undo(cli, "rollout", "ns", "svc")
    (patch_call,) = cli.called("kubectl", "patch", "rollout")
    patch = json.loads(patch_call[patch_call.index("--patch") + 1])
    assert patch[0]["path"] == "/spec/template"
    assert patch[0]["value"]["metadata"]["labels"] == {"app": "svc"}
    assert patch[0]["value"]["spec"]["containers"][0]["image"] == "app:1"


def test_deployment_undo_uses_kubectl_rollout_undo():
    status = {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}
    done = {"metadata": {"generation": 3}, "spec": {"replicas": 2}, "status": status}
    cli = FakeCli({("kubectl", "get", "deployment"): done})
    assert main(["undo", "--kind", "deployment", "--namespace", "ns", "--name", "svc"], runner=cli) == 0
    assert cli.called("kubectl", "rollout", "undo", "deployment/svc")


def test_deployment_past_its_deadline_fails():
    stuck = {"metadata": {"generation": 1}, "spec": {"replicas": 2},
             "status": {"observedGeneration": 1, "updatedReplicas": 1,
                        "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}}  # fmt: skip
    verdict = deployment_verdict(stuck)
    assert verdict.done and not verdict.ok
