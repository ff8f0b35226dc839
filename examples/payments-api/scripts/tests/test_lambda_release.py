import json

import pytest
from fake_cli import FakeCli, FakeClock
from lambda_release import Alias, appspec, deploy, main, previous_version, rollback

ALIAS = ("aws", "lambda", "get-alias")
CREATE = ("aws", "deploy", "create-deployment")
GET = ("aws", "deploy", "get-deployment")


def info(status, **extra):
    return {"deploymentInfo": {"status": status, **extra}}


def run_deploy(cli, timeout=600):
    clock = FakeClock()
    alias = Alias(cli, "fn", "live")
    return deploy(cli, alias, "7", "app", "group", timeout, 15, clock=clock, sleep=clock.sleep, log=print)


def test_appspec_names_both_versions():
    spec = json.loads(appspec("fn", "live", "6", "7"))
    props = spec["Resources"][0]["live"]["Properties"]
    assert props == {"Name": "fn", "Alias": "live", "CurrentVersion": "6", "TargetVersion": "7"}


def test_appspec_runs_the_pre_traffic_hook_only_when_there_is_one():
    assert "Hooks" not in json.loads(appspec("fn", "live", "6", "7"))
    spec = json.loads(appspec("fn", "live", "6", "7", "CodeDeployHook_fn-pre-traffic"))
    assert spec["Hooks"] == [{"BeforeAllowTraffic": "CodeDeployHook_fn-pre-traffic"}]


def test_deploy_follows_the_shift_until_it_succeeds():
    cli = FakeCli({
        ALIAS: {"FunctionVersion": "6"},
        CREATE: {"deploymentId": "d-1"},
        GET: [info("InProgress"), info("Baking"), info("Succeeded")],
    })  # fmt: skip
    assert run_deploy(cli).ok
    (create,) = cli.called(*CREATE)
    revision = json.loads(create[create.index("--revision") + 1])
    assert (
        json.loads(revision["appSpecContent"]["content"])["Resources"][0]["live"]["Properties"]["TargetVersion"] == "7"
    )


def test_deploy_fails_when_the_alarms_roll_it_back():
    failed = info("Stopped", errorInformation={"message": "alarm fn-errors fired"},
                  rollbackInfo={"rollbackDeploymentId": "d-2"})  # fmt: skip
    cli = FakeCli({ALIAS: {"FunctionVersion": "6"}, CREATE: {"deploymentId": "d-1"}, GET: [info("InProgress"), failed]})
    verdict = run_deploy(cli)
    assert not verdict.ok
    assert "rolled back" in verdict.message and "fn-errors" in verdict.message


def test_deploy_times_out():
    cli = FakeCli({ALIAS: {"FunctionVersion": "6"}, CREATE: {"deploymentId": "d-1"}, GET: info("InProgress")})
    assert "timed out" in run_deploy(cli, timeout=60).message


def test_deploy_of_the_served_version_is_a_no_op():
    cli = FakeCli({ALIAS: {"FunctionVersion": "7"}})
    assert run_deploy(cli).ok
    assert not cli.called(*CREATE)


def test_previous_version_skips_latest_and_newer():
    assert previous_version(["$LATEST", "3", "4", "6", "9"], "6") == "4"
    with pytest.raises(SystemExit):
        previous_version(["$LATEST", "1"], "1")


def test_rollback_stops_a_running_deployment_with_automatic_rollback():
    cli = FakeCli({("aws", "deploy", "list-deployments"): {"deployments": ["d-9"]}})
    assert "d-9" in rollback(cli, Alias(cli, "fn", "live"), "app", "group")
    assert cli.called("aws", "deploy", "stop-deployment", "--deployment-id", "d-9", "--auto-rollback-enabled")
    assert not cli.called("aws", "lambda", "update-alias")


def test_rollback_moves_the_alias_to_the_previous_published_version():
    cli = FakeCli({
        ("aws", "deploy", "list-deployments"): {"deployments": []},
        ALIAS: {"FunctionVersion": "6"},
        ("aws", "lambda", "list-versions-by-function"): [
            {"Versions": [{"Version": "$LATEST"}, {"Version": "4"}], "NextMarker": "m"},
            {"Versions": [{"Version": "5"}, {"Version": "6"}]},
        ],
    })  # fmt: skip
    assert "from version 6 to 5" in rollback(cli, Alias(cli, "fn", "live"), "app", "group")
    (update,) = cli.called("aws", "lambda", "update-alias")
    assert update[update.index("--function-version") + 1] == "5"


def test_main_needs_a_version_to_deploy():
    with pytest.raises(SystemExit):
        main(["deploy", "--function", "fn", "--alias", "live", "--application", "a", "--deployment-group", "g"],
             runner=FakeCli({}))  # fmt: skip
