"""The app's runtime and supply chain, from the template's side: the pod's shutdown numbers and
gunicorn's agree, and every committed lock still pins what its requirements files allow (checked
offline with the generated repo's own check; resolving a new lock needs PyPI:
scripts/lock_requirements.py)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest
from service_fixtures import manifests, objects_of_kind, run_service, service_args, service_plan

from pulumi_components.kubernetes_service import (
    APP_GRACEFUL_TIMEOUT_SECONDS,
    PRE_STOP_SECONDS,
    SHUTDOWN_MARGIN_SECONDS,
    TERMINATION_GRACE_PERIOD_SECONDS,
)
from scripts.lock_requirements import LOCKS, PLATFORMS, render_inputs, template_lock

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "template" / "app" / "service" / "runtime.py"


def check_locks():
    spec = importlib.util.spec_from_file_location("check_locks", ROOT / "template" / "scripts" / "check_locks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_locks"] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_the_pod_outlasts_the_pre_stop_pause_plus_gunicorns_graceful_timeout():
    run = run_service(service_args(service_plan()))
    (workload,) = [m for m in manifests(run) if m["kind"] in ("Deployment", "Rollout")]
    pod = workload["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["lifecycle"]["preStop"]["sleep"]["seconds"] == PRE_STOP_SECONDS
    assert pod["terminationGracePeriodSeconds"] == TERMINATION_GRACE_PERIOD_SECONDS
    assert TERMINATION_GRACE_PERIOD_SECONDS >= PRE_STOP_SECONDS + APP_GRACEFUL_TIMEOUT_SECONDS + SHUTDOWN_MARGIN_SECONDS
    (config,) = objects_of_kind(run, "ConfigMap")
    assert config["data"]["GRACEFUL_TIMEOUT_SECONDS"] == str(APP_GRACEFUL_TIMEOUT_SECONDS)
    # the app's default (a run outside the pod) is the same number
    default = re.search(r'"GRACEFUL_TIMEOUT_SECONDS", "(\d+)"', RUNTIME.read_text())
    assert default and int(default[1]) == APP_GRACEFUL_TIMEOUT_SECONDS


def test_a_team_setting_cannot_shorten_the_pods_graceful_timeout():
    run = run_service(service_args(service_plan(), config={"GRACEFUL_TIMEOUT_SECONDS": "120"}))
    (config,) = objects_of_kind(run, "ConfigMap")
    assert config["data"]["GRACEFUL_TIMEOUT_SECONDS"] == str(APP_GRACEFUL_TIMEOUT_SECONDS)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_committed_lock_matches_the_requirements_it_was_made_from(platform, tmp_path):
    render_inputs(platform, tmp_path)
    for lock in LOCKS.values():
        shutil.copy(template_lock(lock, platform), tmp_path / lock)
        header = (tmp_path / lock).read_text().splitlines()[1]
        # one lock for CI's Python (3.11) and the image's (3.12), every file hashed
        assert "--universal --python-version 3.11 --generate-hashes" in header and header.endswith(f"-o {lock}")
    assert check_locks().problems(tmp_path) == []


def test_the_check_names_a_lock_its_ranges_moved_away_from(tmp_path):
    render_inputs("aws-eks", tmp_path)
    for lock in LOCKS.values():
        shutil.copy(template_lock(lock, "aws-eks"), tmp_path / lock)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(requirements.read_text().replace("pulumi-aws>=7.51,<8", "pulumi-aws>=8,<9"))
    (problem,) = check_locks().problems(tmp_path)
    assert problem.startswith("requirements.lock: pulumi-aws==7.") and "outside pulumi-aws<9,>=8" in problem
