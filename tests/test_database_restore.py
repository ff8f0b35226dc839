"""A restore is a stack-config change: the generated program, given `<service>:database_restore`,
creates the database from that snapshot or point in time and moves every reader to it, and the
stack still passes the guardrails and the deployability rules."""

from __future__ import annotations

import json

import pytest
from conftest import render

from pulumi_components.deployability import check_stack, stack_view
from pulumi_components.guardrails import Context, check_resources
from pulumi_components.reliability import from_config
from pulumi_components.testing import RELEASE_IMAGE, run_program, stack_config

RDS = "aws:rds/instance:Instance"
RESTORE = {"id": "r20250131", "source": "svc-prod-db", "time": "2025-01-31T09:41:00Z"}


@pytest.fixture(scope="module", params=["aws-eks", "aws-lambda"])
def restored(request, tmp_path_factory):
    repo = render(
        tmp_path_factory.mktemp(request.param) / "svc",
        platform=request.param,
        database="postgres",
        sla=99.99,
        service_slug="svc",
    )
    config = {**stack_config(repo / "Pulumi.prod.yaml"), "svc:database_restore": RESTORE, "svc:image": RELEASE_IMAGE}
    return request.param, repo, config, run_program(repo / "infra", project="svc", stack="prod", config=config)


def test_the_database_is_the_restore_under_its_own_identifier(restored):
    _, _, _, run = restored
    (primary,) = [r for r in run.of_type(RDS) if not r.inputs.get("replicateSourceDb")]
    assert primary.inputs["identifier"] == "svc-prod-db-r20250131"
    assert primary.inputs["restoreToPointInTime"] == {
        "sourceDbInstanceIdentifier": "svc-prod-db",
        "restoreTime": "2025-01-31T09:41:00Z",
    }
    assert run.output("db_instance_identifier") == "svc-prod-db-r20250131"
    assert run.output("db_subnet_group_name") == "svc-prod-db"  # the same network as before
    assert run.output("db_replica_identifier") == "svc-prod-db-r20250131-us-west-2"


def test_every_reader_follows_the_restored_instance(restored):
    platform, _, _, run = restored
    secret = run.output("db_secret_arn")
    assert "rds!db-svc-prod-db-r20250131" in secret
    host = "svc-prod-db-r20250131.abcdefghijkl.us-east-1.rds.amazonaws.com"
    readers = [r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if secret in r.inputs["policy"]]
    assert readers, "no role may read the restored instance's secret"
    if platform == "aws-eks":
        (external,) = [
            r for r in run.resources if r.inputs.get("kind") == "ExternalSecret" and r.name.endswith("-database")
        ]
        assert {d["remoteRef"]["key"] for d in external.inputs["spec"]["data"]} == {secret}
        assert host in json.dumps(external.inputs["spec"]["target"]["template"])
        # The pods roll onto the new instance (no pool keeps writing to the old one).
        (workload,) = [r for r in run.resources if r.inputs.get("kind") in ("Deployment", "Rollout")]
        annotations = workload.inputs["spec"]["template"]["metadata"]["annotations"]
        assert annotations["groundwork.dev/database"] == host
    else:
        (function,) = run.of_type("aws:lambda/function:Function")
        variables = function.inputs["environment"]["variables"]
        assert (variables["DB_HOST"], variables["DB_SECRET_ARN"]) == (host, secret)


def test_the_restored_stack_passes_the_guardrails_and_would_deploy(restored):
    _, _, config, run = restored
    plan = from_config(config["svc:plan"])
    assert not check_resources(run.resources, Context.from_plan(plan))
    findings = check_stack(stack_view("svc", "prod", run, config))
    assert not findings, "\n".join(map(str, findings))


def test_bad_restore_config_fails_before_any_resource(tmp_path):
    repo = render(tmp_path / "svc", platform="aws-lambda", database="postgres", sla=99.9, service_slug="svc")
    config = {
        **stack_config(repo / "Pulumi.prod.yaml"),
        "svc:database_restore": {"id": "r1", "snapshot": "s1", "latest": True},
    }
    # The program's own copy of the components raises it (ComponentArgsError is a ValueError).
    with pytest.raises(ValueError, match=r"database_restore: time and latest go with source"):
        run_program(repo / "infra", project="svc", stack="prod", config=config)
