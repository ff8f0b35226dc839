import json
from pathlib import Path

import pytest
from fake_cli import FakeCli, FakeClock
from restore_test import (
    Copy,
    KubeMigrator,
    LambdaMigrator,
    credentials_verdict,
    instance_verdict,
    job_name,
    latest_snapshot,
    main,
    migrate,
    run,
    schema_version,
    throwaway_name,
)

SNAPSHOTS = {"DBSnapshots": [
    {"DBSnapshotIdentifier": "rds:db-2026-01-01", "SnapshotCreateTime": "2026-01-01T03:10:00Z", "Status": "available"},
    {"DBSnapshotIdentifier": "rds:db-2026-01-02", "SnapshotCreateTime": "2026-01-02T03:10:00Z", "Status": "available"},
    {"DBSnapshotIdentifier": "rds:db-2026-01-03", "SnapshotCreateTime": "2026-01-03T03:10:00Z", "Status": "creating"},
]}  # fmt: skip
LOGS = {"DescribeDBLogFiles": [{"LogFileName": "error/postgresql.log.2026-01-03-10", "LastWritten": 1}]}
READY = {"LogFileData": "LOG:  database system is ready to accept connections\n"}


@pytest.fixture
def github(tmp_path, monkeypatch):
    files = {"summary": tmp_path / "summary.md", "output": tmp_path / "output"}
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(files["summary"]))
    monkeypatch.setenv("GITHUB_OUTPUT", str(files["output"]))
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path))
    return files


def cli_for(statuses, log=READY):
    return FakeCli({
        ("aws", "rds", "describe-db-snapshots"): SNAPSHOTS,
        ("aws", "rds", "describe-db-instances"): [{"DBInstances": [{"DBInstanceStatus": s}]} for s in statuses],
        ("aws", "rds", "describe-db-log-files"): LOGS,
        ("aws", "rds", "download-db-log-file-portion"): log,
    })  # fmt: skip


def restore(cli, **kwargs):
    clock = FakeClock()
    args = dict(instance="svc-prod-db", subnet_group="g", security_group="sg-1", suffix="42", interval=60)
    return run(cli, clock=clock, sleep=clock.sleep, log=print, **{**args, **kwargs})


def test_latest_available_snapshot_is_restored():
    assert latest_snapshot(SNAPSHOTS["DBSnapshots"])["DBSnapshotIdentifier"] == "rds:db-2026-01-02"
    with pytest.raises(SystemExit, match="no available automated snapshot"):
        latest_snapshot([])


def test_throwaway_names_are_valid_rds_identifiers():
    assert throwaway_name("svc-prod-db", "run 123") == "svc-prod-db-restore-run-123"
    long = throwaway_name("a" * 70, "9876543210")
    assert len(long) <= 63 and long.endswith("-restore-9876543210")
    assert throwaway_name("1db", "x")[0].isalpha()


def test_restore_that_answers_passes_and_is_deleted():
    cli = cli_for(["creating", "backing-up", "available"])
    verdict = restore(cli)
    assert verdict.ok, verdict.message
    (call,) = cli.called("aws", "rds", "restore-db-instance-from-db-snapshot")
    assert call[call.index("--db-snapshot-identifier") + 1] == "rds:db-2026-01-02"
    assert "--no-publicly-accessible" in call
    # Where a real restore lands: the database's own subnet group and security group (the default
    # security group of the VPC would admit nobody, or the wrong clients).
    assert call[call.index("--db-subnet-group-name") + 1] == "g"
    assert call[call.index("--vpc-security-group-ids") + 1] == "sg-1"
    assert cli.called("aws", "rds", "delete-db-instance", "--db-instance-identifier", "svc-prod-db-restore-42")


def test_failed_restore_fails_and_is_still_deleted():
    cli = cli_for(["creating", "incompatible-restore"])
    verdict = restore(cli)
    assert not verdict.ok and "incompatible-restore" in verdict.message
    assert cli.called("aws", "rds", "delete-db-instance")


def test_instance_that_never_accepts_connections_fails():
    cli = cli_for(["available"], log={"LogFileData": "LOG:  redo starts\n"})
    verdict = restore(cli)
    assert not verdict.ok and "timed out" in verdict.message


def test_restore_slower_than_the_rto_fails():
    cli = cli_for(["creating"] * 60 + ["available"])
    verdict = restore(cli, rto_minutes=30)
    assert not verdict.ok and "RTO" in verdict.message


def test_instance_status_verdicts():
    assert instance_verdict({"DBInstances": [{"DBInstanceStatus": "available"}]}).ok
    assert not instance_verdict({"DBInstances": [{"DBInstanceStatus": "modifying"}]}).done


# ---- the release's migrations on the copy ----------------------------------------------------------
RELEASE_JOB = {
    "metadata": {"name": "svc-migrate-0123456789", "uid": "release-uid"},
    "spec": {
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "release-uid"}},
        "template": {
            "metadata": {
                "labels": {
                    "app.kubernetes.io/component": "schema-migration",
                    "batch.kubernetes.io/controller-uid": "release-uid",
                    "batch.kubernetes.io/job-name": "svc-migrate-0123456789",
                    "controller-uid": "release-uid",
                    "job-name": "svc-migrate-0123456789",
                }
            },
            "spec": {
                "serviceAccountName": "svc",
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "migrate",
                        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-prod@sha256:" + "a" * 64,
                        "command": ["python", "-m", "service.migrate", "up"],
                        "env": [{"name": "LOG_LEVEL", "value": "INFO"}],
                        "volumeMounts": [{"name": "svc-database", "mountPath": "/run/secrets/svc-database"}],
                    }
                ],
                "volumes": [{"name": "svc-database", "secret": {"secretName": "svc-database"}}],
            },
        },
    },
}
ONE_OFF = "svc-prod-db-restore-migrate-42"
COPY = {"Address": "svc-prod-db-restore-42.abc.us-east-1.rds.amazonaws.com", "Port": 5432}
MIGRATION_LOG = "0002_add_visit_agent: up\nschema version 0002_add_visit_agent\n"


def described(status, pending=None):
    instance = {"DBInstanceStatus": status, "Endpoint": COPY, "MasterUsername": "app_admin", "DBName": "svc"}
    if pending:
        instance["PendingModifiedValues"] = pending
    return {"DBInstances": [instance]}


class FilesCli(FakeCli):
    """Also keeps what the files a command names held when it ran (they are removed right after)."""

    def __init__(self, answers):
        super().__init__(answers)
        self.files = []

    def __call__(self, command):
        for flag in ("--filename", "--cli-input-json"):
            if flag in command:
                path = command[command.index(flag) + 1].removeprefix("file://")
                self.files.append(json.loads(Path(path).read_text()))
        return super().__call__(command)


def migrating_cli(job_status, extra=None):
    return FilesCli({
        ("aws", "rds", "describe-db-snapshots"): SNAPSHOTS,
        ("aws", "rds", "describe-db-instances"): [
            described("creating"), described("available"),
            described("resetting-master-credentials", {"MasterUserPassword": "****"}), described("available"),
        ],
        ("aws", "rds", "describe-db-log-files"): LOGS,
        ("aws", "rds", "download-db-log-file-portion"): READY,
        ("kubectl", "get", "job", "svc-migrate-0123456789"): RELEASE_JOB,
        ("kubectl", "create"): {"metadata": {"uid": "one-off-uid"}},
        ("kubectl", "get", "job", ONE_OFF): [{"status": {"active": 1}}, job_status],
        ("kubectl", "logs"): MIGRATION_LOG,
        **(extra or {}),
    })  # fmt: skip


def kube_migrator(cli, clock):
    return KubeMigrator(
        cli, namespace="svc", release_job="svc-migrate-0123456789", name=job_name("svc-prod-db", "42"),
        timeout=900, interval=10, clock=clock, sleep=clock.sleep, log=print,
    )  # fmt: skip


def restore_and_migrate(cli, migrator_for):
    clock = FakeClock()
    args = dict(instance="svc-prod-db", subnet_group="g", security_group="sg-1", suffix="42", interval=60)
    return run(cli, clock=clock, sleep=clock.sleep, log=print, migrator=migrator_for(cli, clock), **args)


COMPLETE = {"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}}
FAILED_CONDITION = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit"}  # fmt: skip
FAILED = {"status": {"failed": 1, "conditions": [FAILED_CONDITION]}}


def test_kube_the_release_migration_pod_migrates_the_copy_with_a_fresh_password(github):
    cli = migrating_cli(COMPLETE)
    verdict = restore_and_migrate(cli, kube_migrator)
    assert verdict.ok and "migrated to schema version 0002_add_visit_agent" in verdict.message
    modify, job, secret = cli.files
    # The copy's password: fresh, set before anything connects, and the one the Job's Secret carries.
    password = modify["MasterUserPassword"]
    assert modify == {"DBInstanceIdentifier": "svc-prod-db-restore-42", "MasterUserPassword": password,
                      "ApplyImmediately": True}  # fmt: skip
    assert len(password) == 48 and not set(password) & set('/"@')
    assert secret["stringData"]["DATABASE_URL"] == (
        f"postgresql://app_admin:{password}@{COPY['Address']}:5432/svc?sslmode=require"
    )
    assert not any(password in " ".join(call) for call in cli.calls)  # never on a command line
    # The one-off Job: the release's pod (image, identity, mounts, NetworkPolicy label), suspended
    # until its Secret exists, with DATABASE_URL from that Secret in its environment.
    pod = job["spec"]["template"]["spec"]
    release_pod = RELEASE_JOB["spec"]["template"]["spec"]
    assert job["metadata"]["name"] == ONE_OFF and job["spec"]["suspend"] is True
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 900
    assert "selector" not in job["spec"]
    assert pod["serviceAccountName"] == "svc" and pod["volumes"] == release_pod["volumes"]
    assert pod["containers"][0]["image"] == release_pod["containers"][0]["image"]
    assert pod["containers"][0]["env"] == [
        {"name": "LOG_LEVEL", "value": "INFO"},
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": ONE_OFF, "key": "DATABASE_URL"}}},
    ]
    assert job["spec"]["template"]["metadata"]["labels"] == {"app.kubernetes.io/component": "schema-migration"}
    assert secret["metadata"]["ownerReferences"] == [
        {"apiVersion": "batch/v1", "kind": "Job", "name": ONE_OFF, "uid": "one-off-uid"}
    ]
    (patch,) = cli.called("kubectl", "patch", "job", ONE_OFF)
    assert json.loads(patch[patch.index("--patch") + 1]) == {"spec": {"suspend": False}}
    # Reported, then everything goes: the Job (its Secret with it), then the copy.
    assert "`0002_add_visit_agent`" in github["summary"].read_text()
    assert github["output"].read_text() == "schema=0002_add_visit_agent\n"
    order = [c[:3] for c in cli.calls if c[1] in ("delete", "rds") and "delete" in " ".join(c[:3])]
    assert order == [["kubectl", "delete", "job"], ["aws", "rds", "delete-db-instance"]]


def test_kube_a_migration_that_fails_on_the_copy_fails_the_test_and_everything_is_deleted(github):
    cli = migrating_cli(FAILED)
    verdict = restore_and_migrate(cli, kube_migrator)
    assert not verdict.ok and "the migration Job failed on the copy: Job has reached" in verdict.message
    assert cli.called("kubectl", "delete", "job", ONE_OFF)
    assert cli.called("aws", "rds", "delete-db-instance", "--db-instance-identifier", "svc-prod-db-restore-42")
    assert "did not complete on the copy" in github["summary"].read_text()
    assert not github["output"].exists()  # no schema version to record


def test_nothing_is_migrated_when_the_restore_fails(github):
    cli = migrating_cli(COMPLETE, {("aws", "rds", "describe-db-instances"): described("incompatible-restore")})
    verdict = restore_and_migrate(cli, kube_migrator)
    assert not verdict.ok and "incompatible-restore" in verdict.message
    assert not cli.called("aws", "rds", "modify-db-instance") and not cli.called("kubectl")
    assert cli.called("aws", "rds", "delete-db-instance")


def restore_through_the_function(invoke):
    """A restore whose migrations run in the Lambda function: `invoke(command)` answers `aws lambda invoke`."""
    cli = migrating_cli(COMPLETE)
    fake = cli.__call__
    verdict = restore_and_migrate(
        lambda command: invoke(command) if command[:3] == ["aws", "lambda", "invoke"] else fake(command),
        lambda runner, clock: LambdaMigrator(runner, function="svc-prod", qualifier="live"),
    )
    return verdict, cli


def test_lambda_the_function_migrates_the_copy_its_event_names(github):
    events = []

    def invoke(command):
        events.append(json.loads(Path(command[command.index("--payload") + 1].removeprefix("file://")).read_text()))
        Path(command[-1]).write_text(json.dumps({"applied": [], "version": "0001_create_visits"}))
        return json.dumps({"StatusCode": 200, "ExecutedVersion": "7"})

    verdict, cli = restore_through_the_function(invoke)
    assert verdict.ok and "schema version 0001_create_visits" in verdict.message
    (modify,) = [f for f in cli.files if "MasterUserPassword" in f]
    target = {"host": COPY["Address"], "port": 5432, "user": "app_admin", "password": modify["MasterUserPassword"]}
    assert events == [{"groundwork_migrate": "up", "database": target}]
    assert github["output"].read_text() == "schema=0001_create_visits\n"
    assert cli.called("aws", "rds", "delete-db-instance")


def test_lambda_a_function_error_fails_the_test(github):
    def invoke(command):
        Path(command[-1]).write_text(json.dumps({"errorMessage": "0002_x (up) failed and was rolled back: boom"}))
        return json.dumps({"StatusCode": 200, "FunctionError": "Unhandled"})

    verdict, cli = restore_through_the_function(invoke)
    assert not verdict.ok and "0002_x (up) failed and was rolled back" in verdict.message
    assert cli.called("aws", "rds", "delete-db-instance")


def test_the_password_is_set_once_rds_has_applied_it():
    assert not credentials_verdict(described("available", {"MasterUserPassword": "****"})).done
    assert not credentials_verdict(described("resetting-master-credentials")).done
    assert credentials_verdict(described("available")).ok
    assert not credentials_verdict(described("failed")).ok


def test_the_schema_version_is_the_last_one_the_runner_printed():
    assert schema_version("0001_a: up\nschema version 0001_a\n") == "0001_a"
    assert schema_version("noise") == "unknown"


def test_the_command_line_asks_for_what_each_migration_needs(capsys):
    base = ["--instance", "svc-prod-db", "--subnet-group", "g", "--security-group", "sg", "--suffix", "1"]
    with pytest.raises(SystemExit):
        main([*base, "--migrate", "kube", "--namespace", "svc"], FakeCli({}))
    assert "--migrate kube needs --namespace and --migration-job" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--migrate", "lambda"], FakeCli({}))
    assert "--migrate lambda needs --function" in capsys.readouterr().err


def test_a_copy_without_an_endpoint_is_not_handed_to_the_migration():
    class Never:
        def migrate(self, copy):
            raise AssertionError("migrated a copy with no address")

    verdict, schema = migrate(Never(), Copy(host="", port=5432, user="app_admin", password="p", database="svc"))
    assert not verdict.ok and "reports no host" in verdict.message and schema == ""
