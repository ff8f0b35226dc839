"""scripts/release_database.py with recorded AWS CLI answers: the snapshot is named after the release,
waited for, and named in the job summary; the Lambda migration fails on a function error or a
refused migration; a failed release's summary names the snapshot."""

import json
from pathlib import Path

import pytest
from fake_cli import FakeCli, FakeClock
from release_database import lambda_verdict, main, snapshot_name

RELEASE = "0123456789abcdef0123456789abcdef01234567"


def snapshots(*statuses):
    return [{"DBSnapshots": [{"Status": s, "PercentProgress": 50}]} for s in statuses]


@pytest.fixture
def github(tmp_path, monkeypatch):
    files = {"summary": tmp_path / "summary.md", "output": tmp_path / "output"}
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(files["summary"]))
    monkeypatch.setenv("GITHUB_OUTPUT", str(files["output"]))
    return files


def snapshot(cli, *extra):
    clock = FakeClock()
    argv = ["snapshot", "--instance", "svc-prod-db", "--release", RELEASE, "--attempt", "2", *extra]
    return main(argv, cli, clock=clock, sleep=clock.sleep, log=print)


def test_the_snapshot_is_named_after_the_release_and_waited_for(github):
    cli = FakeCli({("aws", "rds", "describe-db-snapshots"): snapshots("creating", "creating", "available")})
    assert snapshot(cli) == 0
    (create,) = cli.called("aws", "rds", "create-db-snapshot")
    name = "svc-prod-db-0123456789ab-2"
    assert create[create.index("--db-snapshot-identifier") + 1] == name
    assert f"Key=release,Value={RELEASE}" in create
    assert len(cli.called("aws", "rds", "describe-db-snapshots")) == 3
    assert github["output"].read_text() == f"name={name}\n"
    assert f"`{name}`" in github["summary"].read_text()


def test_a_failed_or_slow_snapshot_stops_the_release(github):
    assert snapshot(FakeCli({("aws", "rds", "describe-db-snapshots"): snapshots("creating", "failed")})) == 1
    assert "did not complete (snapshot failed)" in github["summary"].read_text()
    assert not github["output"].exists()
    slow = FakeCli({("aws", "rds", "describe-db-snapshots"): snapshots("creating")})
    assert snapshot(slow, "--timeout", "60") == 1


def test_no_instance_yet_means_nothing_to_snapshot(github):
    cli = FakeCli({})
    assert main(["snapshot", "--instance", "", "--release", RELEASE], cli) == 0
    assert cli.calls == []
    assert "no snapshot to take" in github["summary"].read_text()


def test_snapshot_names_are_valid_rds_identifiers():
    assert snapshot_name("svc--prod_db", "abc", "1") == "svc-prod-db-abc-1"
    assert len(snapshot_name("a" * 300, RELEASE)) == 255


def test_the_lambda_migration_invokes_the_new_version_and_reads_its_answer(tmp_path, capsys):
    answers = []

    events = []

    def cli(command):
        answers.append(list(command))
        events.append(json.loads(Path(command[command.index("--payload") + 1].removeprefix("file://")).read_text()))
        with open(command[-1], "w") as out:
            json.dump({"applied": ["0002_add_visit_agent"], "version": "0002_add_visit_agent"}, out)
        return json.dumps({"StatusCode": 200, "ExecutedVersion": "42"})

    assert main(["migrate-lambda", "--function", "svc-prod", "--version", "42"], cli) == 0
    (invoke,) = answers
    assert invoke[invoke.index("--qualifier") + 1] == "42"
    assert events == [{"groundwork_migrate": "up"}]  # the function's own database: no `database` in the event
    assert "applied 0002_add_visit_agent; schema version 0002_add_visit_agent" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("meta", "answer", "message"),
    [
        ({"FunctionError": "Unhandled"}, '{"errorMessage": "0002_x (up) failed and was rolled back"}', "rolled back"),
        ({}, '{"statusCode": 404}', "the migration failed"),  # an old handler that does not know the event
        ({}, "", "the migration failed"),
    ],
)
def test_a_failed_lambda_migration_fails_the_step(meta, answer, message):
    verdict = lambda_verdict(meta, answer)
    assert not verdict.ok and message in verdict.message


def test_a_failed_release_names_its_snapshot(github):
    assert main(["failed", "--env", "prod", "--release", RELEASE, "--snapshot", "svc-prod-db-0123456789ab-1"]) == 0
    summary = github["summary"].read_text()
    assert "**`svc-prod-db-0123456789ab-1`**" in summary and "database_restore" in summary
    assert main(["failed", "--env", "prod", "--release", RELEASE, "--snapshot", ""]) == 0
    assert "before any database snapshot was taken" in github["summary"].read_text()
