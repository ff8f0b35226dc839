import pytest
from fake_cli import FakeCli, FakeClock
from restore_test import instance_verdict, latest_snapshot, run, throwaway_name

SNAPSHOTS = {"DBSnapshots": [
    {"DBSnapshotIdentifier": "rds:db-2026-01-01", "SnapshotCreateTime": "2026-01-01T03:10:00Z", "Status": "available"},
    {"DBSnapshotIdentifier": "rds:db-2026-01-02", "SnapshotCreateTime": "2026-01-02T03:10:00Z", "Status": "available"},
    {"DBSnapshotIdentifier": "rds:db-2026-01-03", "SnapshotCreateTime": "2026-01-03T03:10:00Z", "Status": "creating"},
]}  # fmt: skip
LOGS = {"DescribeDBLogFiles": [{"LogFileName": "error/postgresql.log.2026-01-03-10", "LastWritten": 1}]}
READY = {"LogFileData": "LOG:  database system is ready to accept connections\n"}


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
