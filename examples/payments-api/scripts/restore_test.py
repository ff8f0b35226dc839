"""Prove the database's backups restore: latest snapshot -> throwaway instance -> it answers -> delete.

    python scripts/restore_test.py --instance SVC-prod-db --subnet-group G --security-group SG \
        --suffix run123 --rto-minutes 60

The throwaway instance is private, single-AZ, tagged `purpose=restore-test`, and is
deleted (without a final snapshot) whatever happens. "It answers" means RDS reports it
available AND its PostgreSQL log says the database system is ready to accept
connections, which needs no network path into the VPC. With `--rto-minutes`, a
restore slower than the recovery-time objective fails the test too.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from _poll import Runner, Verdict, poll, run_cli, run_json

READY_LINE = "database system is ready to accept connections"
FAILED_STATES = {
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "inaccessible-encryption-credentials",
    "storage-full",
}


def latest_snapshot(snapshots: Sequence[dict[str, Any]]) -> dict[str, Any]:
    available = [s for s in snapshots if s.get("Status") == "available"]
    if not available:
        raise SystemExit("no available automated snapshot: backups are not being taken")
    return max(available, key=lambda s: s["SnapshotCreateTime"])


def throwaway_name(instance: str, suffix: str) -> str:
    """An RDS identifier (letters, digits, single hyphens, at most 63, starting with a letter)."""
    tail = re.sub(r"[^a-z0-9]+", "-", f"restore-{suffix}".lower()).strip("-")
    head = instance.lower()[: 62 - len(tail)].rstrip("-")
    name = re.sub(r"-{2,}", "-", f"{head}-{tail}")
    if not name[:1].isalpha():
        name = "r" + name[:62]
    return name.rstrip("-")


def instance_verdict(answer: dict[str, Any]) -> Verdict:
    instances = answer.get("DBInstances") or [{}]
    status = instances[0].get("DBInstanceStatus", "unknown")
    if status == "available":
        return Verdict.passed("restored instance is available")
    if status in FAILED_STATES:
        return Verdict.failed(f"restore failed: instance status {status}")
    return Verdict.waiting(f"instance status {status}")


class RestoreTest:
    def __init__(self, runner: Runner, instance: str, name: str) -> None:
        self.runner, self.instance, self.name = runner, instance, name

    def rds(self, *args: str) -> Any:
        return run_json(self.runner, ["aws", "rds", *args, "--output", "json"])

    def restore(self, snapshot: str, subnet_group: str, security_group: str, instance_class: str) -> None:
        self.rds(
            "restore-db-instance-from-db-snapshot", "--db-instance-identifier", self.name,
            "--db-snapshot-identifier", snapshot, "--db-instance-class", instance_class,
            "--db-subnet-group-name", subnet_group, "--vpc-security-group-ids", security_group,
            "--no-publicly-accessible", "--no-multi-az", "--no-deletion-protection",
            "--tags", "Key=purpose,Value=restore-test", f"Key=restored-from,Value={self.instance}",
        )  # fmt: skip

    def status(self) -> Verdict:
        return instance_verdict(self.rds("describe-db-instances", "--db-instance-identifier", self.name))

    def answers(self) -> Verdict:
        logs = self.rds("describe-db-log-files", "--db-instance-identifier", self.name).get("DescribeDBLogFiles", [])
        for log in sorted(logs, key=lambda item: item.get("LastWritten", 0)):
            portion = self.rds(
                "download-db-log-file-portion", "--db-instance-identifier", self.name,
                "--log-file-name", log["LogFileName"], "--starting-token", "0",
            )  # fmt: skip
            if READY_LINE in (portion.get("LogFileData") or ""):
                return Verdict.passed(f"PostgreSQL accepts connections ({log['LogFileName']})")
        return Verdict.waiting("waiting for PostgreSQL to log that it accepts connections")

    def delete(self) -> None:
        self.rds(
            "delete-db-instance",
            "--db-instance-identifier",
            self.name,
            "--skip-final-snapshot",
            "--delete-automated-backups",
        )


def run(
    runner: Runner,
    *,
    instance: str,
    subnet_group: str,
    security_group: str,
    suffix: str,
    instance_class: str = "db.t4g.medium",
    timeout: float = 3600,
    interval: float = 30,
    rto_minutes: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    **poll_args: Any,
) -> Verdict:
    snapshots = run_json(
        runner,
        ["aws", "rds", "describe-db-snapshots", "--db-instance-identifier", instance,
         "--snapshot-type", "automated", "--output", "json"],
    ).get("DBSnapshots", [])  # fmt: skip
    snapshot = latest_snapshot(snapshots)
    test = RestoreTest(runner, instance, throwaway_name(instance, suffix))
    print(f"restoring {snapshot['DBSnapshotIdentifier']} ({snapshot['SnapshotCreateTime']}) into {test.name}")
    started = clock()
    test.restore(snapshot["DBSnapshotIdentifier"], subnet_group, security_group, instance_class)
    try:
        verdict = poll(test.status, timeout_seconds=timeout, interval_seconds=interval, clock=clock, **poll_args)
        if verdict.ok:
            verdict = poll(test.answers, timeout_seconds=600, interval_seconds=interval, clock=clock, **poll_args)
        minutes = (clock() - started) / 60
        if verdict.ok and rto_minutes is not None and minutes > rto_minutes:
            verdict = Verdict.failed(f"restore took {minutes:.0f} min, over the {rto_minutes:.0f} min RTO")
        elif verdict.ok:
            verdict = Verdict.passed(f"{verdict.message}; restore took {minutes:.1f} min")
        return verdict
    finally:
        test.delete()
        print(f"deleted {test.name}")


def main(argv: Sequence[str] | None = None, runner: Runner = run_cli) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", required=True, help="identifier of the database instance whose backups to test")
    parser.add_argument("--subnet-group", required=True)
    parser.add_argument("--security-group", required=True)
    parser.add_argument("--suffix", required=True, help="makes the throwaway name unique, e.g. the run id")
    parser.add_argument("--instance-class", default="db.t4g.medium")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--rto-minutes", type=float)
    args = parser.parse_args(argv)
    verdict = run(
        runner,
        instance=args.instance,
        subnet_group=args.subnet_group,
        security_group=args.security_group,
        suffix=args.suffix,
        instance_class=args.instance_class,
        timeout=args.timeout,
        rto_minutes=args.rto_minutes,
    )
    print(("OK: " if verdict.ok else "FAILED: ") + verdict.message)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
