"""SchemaMigration under mocks: the release's migrations as a Job that runs as the service (its
account, image and database Secret), before the workload (whose pod template names the Job), with
DNS and the database as its only egress; and nothing of it without a migration command."""

from __future__ import annotations

import dataclasses

import pytest
from service_fixtures import IMAGE, objects_of_kind, run_service, service_args, service_plan

from pulumi_components._base import ComponentArgsError
from pulumi_components.schema_migration import (
    APP_MIGRATE_COMMAND,
    JOB_ANNOTATION,
    SchemaMigrationArgs,
    job_name,
)


def migrating_args(strategy: str = "rolling", **overrides):
    args = service_args(service_plan(deployment_strategy=strategy), **overrides)
    return dataclasses.replace(args, database=dataclasses.replace(args.database, migrate_command=APP_MIGRATE_COMMAND))


@pytest.fixture(scope="module", params=["rolling", "canary"])
def run(request):
    return run_service(migrating_args(request.param))


def workload(run):
    (found,) = objects_of_kind(run, "Deployment") or objects_of_kind(run, "Rollout")
    return found


def the_job(run):
    (job,) = objects_of_kind(run, "Job")
    return job


def test_the_job_runs_the_migrations_once_per_image_as_the_service(run):
    job, pod = the_job(run), workload(run)["spec"]["template"]
    host = migrating_args().database.host
    assert job["metadata"]["name"] == job_name("example", IMAGE, host) and job["metadata"]["namespace"] == "example"
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0
    assert job["spec"]["activeDeadlineSeconds"] == 600
    (container,) = spec["containers"]
    assert container["command"] == list(APP_MIGRATE_COMMAND) and container["image"] == IMAGE
    # The workload's identity, configuration, Secrets and restrictions, none of its serving parts.
    app = pod["spec"]["containers"][0]
    for key in ("serviceAccountName", "automountServiceAccountToken", "securityContext", "volumes"):
        assert spec[key] == pod["spec"][key]
    for key in ("envFrom", "volumeMounts", "securityContext", "resources"):
        assert container[key] == app[key]
    assert {"name": "example-database", "secret": {"secretName": "example-database", "defaultMode": 0o440}} in (
        spec["volumes"]
    )
    assert not {"ports", "readinessProbe", "livenessProbe", "startupProbe", "lifecycle"} & set(container)


def test_the_rollout_waits_for_the_job(run):
    annotations = workload(run)["spec"]["template"]["metadata"]["annotations"]
    assert annotations[JOB_ANNOTATION] == the_job(run)["metadata"]["name"]


def test_no_service_sends_traffic_to_the_job(run):
    labels = the_job(run)["spec"]["template"]["metadata"]["labels"]
    for service in objects_of_kind(run, "Service"):
        selector = service["spec"]["selector"]
        assert not selector.items() <= labels.items(), service["metadata"]["name"]


def test_the_job_reaches_dns_and_the_database_only(run):
    labels = the_job(run)["spec"]["template"]["metadata"]["labels"]
    (policy,) = [
        p
        for p in objects_of_kind(run, "NetworkPolicy")
        if p["spec"]["podSelector"].get("matchLabels", {}).items()
        and p["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    ]
    assert policy["spec"]["ingress"] == []
    ports = [port["port"] for rule in policy["spec"]["egress"] for port in rule["ports"]]
    assert sorted(ports) == [53, 53, 5432]
    cidrs = [peer["ipBlock"]["cidr"] for peer in policy["spec"]["egress"][1]["to"]]
    assert cidrs == [service_plan().network.cidr]


def test_without_a_migration_command_there_is_no_job():
    run = run_service(service_args(service_plan()))
    assert objects_of_kind(run, "Job") == []
    assert JOB_ANNOTATION not in workload(run)["spec"]["template"]["metadata"].get("annotations", {})


def test_each_image_and_each_database_get_their_own_job_name():
    other = IMAGE.replace("ab" * 32, "cd" * 32)
    assert job_name("example", IMAGE, "db") != job_name("example", other, "db")
    assert job_name("example", IMAGE, "db") != job_name("example", IMAGE, "restored-db")  # a restore migrates again
    assert len(job_name("a" * 40, IMAGE)) <= 63


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"command": ()}, "command: give the command"),
        ({"database_cidrs": ()}, "database_cidrs"),
        ({"timeout_seconds": 10}, "timeout_seconds must be 60 to 3600"),
        ({"pod_template": {"spec": {"containers": [{"image": IMAGE}]}}}, "names no service account"),
        ({"pod_template": {"spec": {"serviceAccountName": "x", "containers": []}}}, "no container"),
    ],
)
def test_bad_args_are_refused_with_what_is_accepted(change, message):
    good = {
        "service": "example",
        "pod_template": {"spec": {"serviceAccountName": "example", "containers": [{"image": IMAGE}]}},
        "database_cidrs": ["10.0.0.0/16"],
    }
    with pytest.raises(ComponentArgsError, match=message):
        SchemaMigrationArgs(**{**good, **change}).validate()
