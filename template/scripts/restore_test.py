"""Prove the database's backups restore and migrate: latest snapshot -> throwaway instance -> it
answers -> the release's migrations applied to it -> delete.

    python scripts/restore_test.py --instance SVC-prod-db --subnet-group G --security-group SG \
        --suffix run123 --rto-minutes 60 [--migrate kube --namespace SVC --migration-job SVC-migrate-HASH]
        [--migrate lambda --function SVC-prod --qualifier live]

The throwaway instance is private, single-AZ, tagged `purpose=restore-test`, and is
deleted (without a final snapshot) whatever happens. "It answers" means RDS reports it
available AND its PostgreSQL log says the database system is ready to accept
connections, which needs no network path into the VPC. With `--rto-minutes`, a
restore (and its migrations) slower than the recovery-time objective fails the test too.

With `--migrate`, the migrations of the release production runs are applied to the copy, as a
recovery would before the service moves to it, by the release's own migration code inside the
VPC: `kube`, a one-off Job made from the release's migration Job (same image, service account,
NetworkPolicy labels) with DATABASE_URL in its environment naming the copy; `lambda`, the
function's `qualifier` invoked with the migration event naming the copy. The copy keeps the
snapshot's master password, which the RDS-managed secret may have rotated away since, so the test
first sets a fresh random one on the copy (never printed, passed only through files and the Job's
Secret, which belongs to the Job and goes with it). A failed migration fails the test. The schema
version after migrating goes to the job summary and the step output `schema`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from _poll import Runner, Verdict, poll, run_cli, run_json
from release_database import invoke_migration, output, summarize

READY_LINE = "database system is ready to accept connections"
VERSION = re.compile(r"^schema version (\S+)$", re.MULTILINE)  # app/service/migrate.py's last line of `up`
# Labels and fields the Job controller writes into a Job and its pod template: a new Job gets its own.
CONTROLLER_LABELS = ("controller-uid", "job-name", "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name")
JOB_TTL_SECONDS = 24 * 3600  # a Job left behind by a cancelled run goes within a day, its Secret with it
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


@dataclass(frozen=True)
class Copy:
    """Where the restored copy answers, and the credentials the test set on it."""

    host: str
    port: int
    user: str
    password: str
    database: str

    def url(self) -> str:
        # The password is hex (fresh_password): nothing in it needs quoting.
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}?sslmode=require"


def fresh_password() -> str:
    """48 hex characters: within RDS's 8 to 128 for PostgreSQL, none of the refused "/", '"', "@"."""
    return secrets.token_hex(24)


@contextlib.contextmanager
def private_file(content: str) -> Iterator[str]:
    """A file only this user may read, removed on exit: secrets reach the CLIs through files, never argv."""
    descriptor, path = tempfile.mkstemp(prefix="restore-test-", dir=os.environ.get("RUNNER_TEMP"))
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(content)
        yield path
    finally:
        Path(path).unlink(missing_ok=True)


def schema_version(log: str) -> str:
    found = VERSION.findall(log or "")
    return found[-1] if found else "unknown"


def credentials_verdict(answer: dict[str, Any]) -> Verdict:
    instance = (answer.get("DBInstances") or [{}])[0]
    status = instance.get("DBInstanceStatus", "unknown")
    pending = instance.get("PendingModifiedValues") or {}
    if status == "available" and "MasterUserPassword" not in pending:
        return Verdict.passed("the copy's master password is set")
    if status in FAILED_STATES:
        return Verdict.failed(f"setting the copy's password failed: instance status {status}")
    return Verdict.waiting(f"setting the copy's master password (instance status {status})")


class Migrator(Protocol):
    def migrate(self, copy: Copy) -> tuple[Verdict, str]: ...

    def clean_up(self) -> None: ...


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

    def set_password(self, password: str, **poll_args: Any) -> Verdict:
        """A fresh master password on the copy (ModifyDBInstance applies it asynchronously: done when
        PendingModifiedValues no longer holds it)."""
        request = {"DBInstanceIdentifier": self.name, "MasterUserPassword": password, "ApplyImmediately": True}
        with private_file(json.dumps(request)) as path:
            self.rds("modify-db-instance", "--cli-input-json", f"file://{path}")
        describe = lambda: self.rds("describe-db-instances", "--db-instance-identifier", self.name)  # noqa: E731
        return poll(lambda: credentials_verdict(describe()), **poll_args)

    def copy(self, password: str) -> Copy:
        instance = (
            self.rds("describe-db-instances", "--db-instance-identifier", self.name).get("DBInstances") or [{}]
        )[0]
        endpoint = instance.get("Endpoint") or {}
        return Copy(
            host=endpoint.get("Address", ""),
            port=int(endpoint.get("Port", 5432)),
            user=instance.get("MasterUsername", ""),
            password=password,
            database=instance.get("DBName", ""),
        )

    def delete(self) -> None:
        self.rds(
            "delete-db-instance",
            "--db-instance-identifier",
            self.name,
            "--skip-final-snapshot",
            "--delete-automated-backups",
        )


class KubeMigrator:
    """The release's migration Job, copied into a one-off Job that migrates the copy."""

    def __init__(
        self,
        runner: Runner,
        *,
        namespace: str,
        release_job: str,
        name: str,
        timeout: float,
        interval: float = 15,
        **poll_args: Any,
    ) -> None:
        self.runner, self.namespace, self.release_job, self.name = runner, namespace, release_job, name
        self.timeout, self.poll_args = timeout, {"interval_seconds": interval, **poll_args}
        self.created = False

    def kubectl(self, *args: str) -> Any:
        return run_json(self.runner, ["kubectl", *args, "--namespace", self.namespace])

    def migrate(self, copy: Copy) -> tuple[Verdict, str]:
        release = self.kubectl("get", "job", self.release_job, "--output", "json")
        job = restore_job(release, self.name, self.timeout)
        with private_file(json.dumps(job)) as path:
            created = self.kubectl("create", "--filename", path, "--output", "json")
        self.created = True
        secret = job_secret(self.name, created["metadata"]["uid"], copy)
        with private_file(json.dumps(secret)) as path:
            self.kubectl("create", "--filename", path, "--output", "json")
        self.kubectl("patch", "job", self.name, "--type", "merge", "--patch", '{"spec":{"suspend":false}}')
        verdict = poll(
            lambda: job_verdict(self.kubectl("get", "job", self.name, "--output", "json")),
            timeout_seconds=self.timeout + 300,  # the deadline counts from the pod's start; the image pull before it
            **self.poll_args,
        )
        log = self.runner(["kubectl", "logs", f"job/{self.name}", "--namespace", self.namespace, "--tail", "200"])
        print(log)
        return verdict, schema_version(log)

    def clean_up(self) -> None:
        if self.created:  # the Secret belongs to the Job: it goes with it
            self.runner(["kubectl", "delete", "job", self.name, "--namespace", self.namespace,
                         "--ignore-not-found", "--wait=false"])  # fmt: skip


def restore_job(release: dict[str, Any], name: str, timeout: float) -> dict[str, Any]:
    """A Job running the release's migration pod, suspended until its Secret exists, with
    DATABASE_URL from that Secret in the environment (it wins over the mounted database Secret)."""
    template = release["spec"]["template"]
    labels = {k: v for k, v in (template.get("metadata") or {}).get("labels", {}).items() if k not in CONTROLLER_LABELS}
    spec = dict(template["spec"])
    container = dict(spec["containers"][0])
    env = [e for e in container.get("env") or [] if e.get("name") != "DATABASE_URL"]
    env.append({"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": name, "key": "DATABASE_URL"}}})
    spec["containers"] = [{**container, "env": env}, *spec["containers"][1:]]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {**labels, "purpose": "restore-test"}},
        "spec": {
            "suspend": True,
            "backoffLimit": 0,
            "activeDeadlineSeconds": int(timeout),
            "ttlSecondsAfterFinished": JOB_TTL_SECONDS,
            "template": {"metadata": {**(template.get("metadata") or {}), "labels": labels}, "spec": spec},
        },
    }


def job_secret(name: str, job_uid: str, copy: Copy) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "labels": {"purpose": "restore-test"},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": job_uid}],
        },
        "type": "Opaque",
        "stringData": {"DATABASE_URL": copy.url()},
    }


def job_verdict(job: dict[str, Any]) -> Verdict:
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return Verdict.passed("the migrations applied to the copy")
        if condition.get("type") == "Failed":
            reason = condition.get("message") or condition.get("reason") or "failed"
            return Verdict.failed(f"the migration Job failed on the copy: {reason}")
    return Verdict.waiting(f"migration Job: {status.get('active', 0)} pod(s) running")


class LambdaMigrator:
    """The function's migration event, naming the copy."""

    def __init__(self, runner: Runner, *, function: str, qualifier: str) -> None:
        self.runner, self.function, self.qualifier = runner, function, qualifier

    def migrate(self, copy: Copy) -> tuple[Verdict, str]:
        target = {"host": copy.host, "port": copy.port, "user": copy.user, "password": copy.password}
        verdict, body = invoke_migration(self.runner, function=self.function, qualifier=self.qualifier, database=target)
        return verdict, str(body.get("version", "unknown"))

    def clean_up(self) -> None:
        """Nothing outlives the invocation."""


def job_name(instance: str, suffix: str) -> str:
    """A DNS label (at most 63) for the one-off Job and its Secret."""
    return throwaway_name(instance, suffix).replace("-restore-", "-restore-migrate-", 1)[-63:].lstrip("-")


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
    migrator: Migrator | None = None,
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
    timing = {"interval_seconds": interval, "clock": clock, **poll_args}
    schema = ""
    try:
        verdict = poll(test.status, timeout_seconds=timeout, **timing)
        if verdict.ok:
            verdict = poll(test.answers, timeout_seconds=600, **timing)
        if verdict.ok and migrator is not None:
            password = fresh_password()
            verdict = test.set_password(password, timeout_seconds=1800, **timing)
            if verdict.ok:
                verdict, schema = migrate(migrator, test.copy(password))
        minutes = (clock() - started) / 60
        if verdict.ok and rto_minutes is not None and minutes > rto_minutes:
            verdict = Verdict.failed(f"restore took {minutes:.0f} min, over the {rto_minutes:.0f} min RTO")
        elif verdict.ok:
            migrated = f"; migrated to schema version {schema}" if schema else ""
            verdict = Verdict.passed(f"{verdict.message}{migrated}; restore took {minutes:.1f} min")
        report(snapshot["DBSnapshotIdentifier"], verdict, schema, migrated=migrator is not None)
        return verdict
    finally:
        try:
            if migrator is not None:
                migrator.clean_up()
        finally:
            test.delete()
            print(f"deleted {test.name}")


def migrate(migrator: Migrator, copy: Copy) -> tuple[Verdict, str]:
    """The migrator's verdict on the copy and the schema version it reached ("" unless it passed)."""
    unknown = [name for name in ("host", "user", "database") if not getattr(copy, name)]
    if unknown:
        return Verdict.failed(f"the restored copy reports no {', '.join(unknown)}: nothing to migrate"), ""
    verdict, schema = migrator.migrate(copy)
    return verdict, schema if verdict.ok else ""


def report(snapshot: str, verdict: Verdict, schema: str, *, migrated: bool) -> None:
    """The job summary's lines, and the step output `schema` the drill entry records."""
    if schema:
        output("schema", schema)
    lines = [
        f"## Restore test: {'passed' if verdict.ok else 'FAILED'}",
        "",
        f"Snapshot `{snapshot}`: {verdict.message}.",
    ]
    if migrated and schema:
        lines.append(f"Schema version after the release's migrations: **`{schema}`**.")
    elif migrated:
        lines.append(
            "The release's migrations did not complete on the copy: see the log above (docs/schema-migrations.md)."
        )
    summarize("\n".join(lines))


def main(argv: Sequence[str] | None = None, runner: Runner = run_cli) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", required=True, help="identifier of the database instance whose backups to test")
    parser.add_argument("--subnet-group", required=True)
    parser.add_argument("--security-group", required=True)
    parser.add_argument("--suffix", required=True, help="makes the throwaway name unique, e.g. the run id")
    parser.add_argument("--instance-class", default="db.t4g.medium")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--rto-minutes", type=float)
    parser.add_argument("--migrate", choices=("kube", "lambda"), help="apply the release's migrations to the copy")
    parser.add_argument("--namespace", help="kube: the service's namespace")
    parser.add_argument("--migration-job", help="kube: the release's migration Job (stack output migration_job)")
    parser.add_argument("--migration-timeout", type=float, default=900, help="kube: the one-off Job's deadline")
    parser.add_argument("--function", help="lambda: the function's name")
    parser.add_argument("--qualifier", default="live", help="lambda: the alias or version production serves")
    args = parser.parse_args(argv)
    migrator: Migrator | None = None
    if args.migrate == "kube":
        if not (args.namespace and args.migration_job):
            parser.error("--migrate kube needs --namespace and --migration-job")
        migrator = KubeMigrator(
            runner, namespace=args.namespace, release_job=args.migration_job,
            name=job_name(args.instance, args.suffix), timeout=args.migration_timeout,
        )  # fmt: skip
    elif args.migrate == "lambda":
        if not args.function:
            parser.error("--migrate lambda needs --function")
        migrator = LambdaMigrator(runner, function=args.function, qualifier=args.qualifier)
    verdict = run(
        runner,
        instance=args.instance,
        subnet_group=args.subnet_group,
        security_group=args.security_group,
        suffix=args.suffix,
        instance_class=args.instance_class,
        timeout=args.timeout,
        rto_minutes=args.rto_minutes,
        migrator=migrator,
    )
    print(("OK: " if verdict.ok else "FAILED: ") + verdict.message)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
