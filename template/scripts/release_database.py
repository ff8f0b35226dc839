"""The database's part of a release: a snapshot named after it first, the migrations, and what to do
when the release fails.

    python scripts/release_database.py snapshot --instance SVC-prod-db --release SHA --attempt 1
    python scripts/release_database.py migrate-lambda --function SVC-prod-fn --version 42
    python scripts/release_database.py failed --snapshot NAME --env prod --release SHA

`snapshot` takes a manual RDS snapshot `<instance>-<release sha, 12>-<attempt>` (kept until someone
deletes it: manual snapshots outlive the instance's backup retention), tagged with the release, and
waits until it is available, so nothing of the release touches the schema before a copy exists. It
writes the name to the step's outputs (`name=`) and to the job summary. With no instance (the stack's
first deploy creates it) there is nothing to protect: it says so and passes.

`migrate-lambda` invokes the function's new published version (before CodeDeploy shifts any
traffic to it) with the migration event (app/service/lambda_handler.py), which applies the pending
migrations with the function's own network path, role and secret; a function error or a refused
migration fails the step, and the alias stays on the running version.

`failed` writes the job summary of a release that failed after its snapshot: which snapshot holds the
data as it was, and how to restore it (docs/schema-migrations.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _poll import Runner, Verdict, poll, run_cli, run_json

MIGRATE_EVENT = {"groundwork_migrate": "up"}  # app/service/lambda_handler.py answers it
_IDENTIFIER = re.compile(r"[^a-zA-Z0-9-]+")
RUNBOOK = "docs/schema-migrations.md"


def snapshot_name(instance: str, release: str, attempt: str = "1") -> str:
    """An RDS snapshot identifier (letters, digits, single hyphens, a letter first, at most 255)."""
    name = _IDENTIFIER.sub("-", f"{instance}-{release[:12]}-{attempt}")
    return re.sub(r"-{2,}", "-", name).strip("-")[:255]


def summarize(text: str) -> None:
    """Append to the job summary (GitHub shows it on the run's page) and to the log."""
    print(text)
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(text + "\n")


def output(name: str, value: str) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as outputs:
            outputs.write(f"{name}={value}\n")


def snapshot_verdict(answer: dict[str, Any]) -> Verdict:
    snapshots = answer.get("DBSnapshots") or [{}]
    status = snapshots[0].get("Status", "unknown")
    if status == "available":
        return Verdict.passed("snapshot available")
    if status in ("failed", "deleted", "deleting"):
        return Verdict.failed(f"snapshot {status}")
    return Verdict.waiting(f"snapshot {status} ({snapshots[0].get('PercentProgress', 0)}%)")


def take_snapshot(
    runner: Runner, *, instance: str, release: str, attempt: str, timeout: float, interval: float = 15, **poll_args: Any
) -> tuple[Verdict, str]:
    if not instance:
        summarize("No database instance yet (this deploy creates it): no snapshot to take.")
        return Verdict.passed("no instance"), ""
    name = snapshot_name(instance, release, attempt)
    rds = ["aws", "rds"]
    run_json(
        runner,
        [*rds, "create-db-snapshot", "--db-instance-identifier", instance, "--db-snapshot-identifier", name,
         "--tags", f"Key=release,Value={release}", "Key=purpose,Value=pre-release", "--output", "json"],
    )  # fmt: skip
    verdict = poll(
        lambda: snapshot_verdict(
            run_json(runner, [*rds, "describe-db-snapshots", "--db-snapshot-identifier", name, "--output", "json"])
        ),
        timeout_seconds=timeout,
        interval_seconds=interval,
        **poll_args,
    )
    if verdict.ok:
        output("name", name)
        summarize(f"Database snapshot before release `{release[:12]}`: `{name}` (instance `{instance}`).")
    else:
        summarize(f"The snapshot `{name}` of `{instance}` did not complete ({verdict.message}): nothing was released.")
    return verdict, name


def migrate_lambda(runner: Runner, *, function: str, version: str) -> Verdict:
    """Invoke the new version with the migration event; its answer lists what it applied."""
    return invoke_migration(runner, function=function, qualifier=version)[0]


def invoke_migration(
    runner: Runner, *, function: str, qualifier: str, database: dict[str, Any] | None = None
) -> tuple[Verdict, dict[str, Any]]:
    """Invoke `function:qualifier` with the migration event (naming `database` instead of the
    function's own when given: the restore test's copy); the verdict and the function's answer.
    The event reaches the CLI through a file only this user can read, never its arguments."""
    event = {**MIGRATE_EVENT, **({"database": database} if database is not None else {})}
    with tempfile.TemporaryDirectory() as work:
        event_file, answer_file = Path(work) / "event.json", Path(work) / "answer.json"
        event_file.write_text(json.dumps(event))
        meta = run_json(
            runner,
            ["aws", "lambda", "invoke", "--function-name", function, "--qualifier", qualifier,
             "--cli-binary-format", "raw-in-base64-out", "--payload", f"file://{event_file}",
             "--output", "json", str(answer_file)],
        )  # fmt: skip
        answer = answer_file.read_text() if answer_file.exists() else ""
    verdict = lambda_verdict(meta, answer)
    try:
        body = json.loads(answer) if verdict.ok else {}
    except ValueError:
        body = {}
    return verdict, body if isinstance(body, dict) else {}


def lambda_verdict(meta: dict[str, Any], answer: str) -> Verdict:
    try:
        body = json.loads(answer) if answer else {}
    except ValueError:
        body = {"errorMessage": answer}
    if meta.get("FunctionError") or not isinstance(body, dict) or "applied" not in body:
        reason = body.get("errorMessage", answer) if isinstance(body, dict) else answer
        return Verdict.failed(f"the migration failed: {reason}")
    applied = body["applied"]
    version = f"; schema version {body['version']}" if body.get("version") else ""
    return Verdict.passed((f"applied {', '.join(applied)}" if applied else "schema up to date") + version)


def failed_summary(*, snapshot: str, env: str, release: str) -> None:
    if not snapshot:
        summarize(f"The release `{release[:12]}` to {env} failed before any database snapshot was taken.")
        return
    summarize(
        f"## The release `{release[:12]}` to {env} failed\n\n"
        f"The database as it was before this release is in snapshot **`{snapshot}`**.\n\n"
        "Each migration runs in its own transaction: a migration that failed changed nothing, and the "
        "running release still serves. Only if a migration that succeeded must be undone, restore the "
        f"snapshot as a new instance (stack config `database_restore` with `snapshot: {snapshot}`); "
        f"see {RUNBOOK}."
    )


def main(argv: Sequence[str] | None = None, runner: Runner = run_cli, **poll_args: Any) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    snap = commands.add_parser("snapshot", help="snapshot the instance, named after the release")
    snap.add_argument("--instance", default="", help="the DB instance identifier (empty: none yet)")
    snap.add_argument("--release", required=True, help="the commit being released")
    snap.add_argument("--attempt", default="1", help="the run attempt, so a re-run takes its own snapshot")
    snap.add_argument("--timeout", type=float, default=1800)
    lam = commands.add_parser("migrate-lambda", help="run the migrations with the function's new version")
    lam.add_argument("--function", required=True)
    lam.add_argument("--version", required=True)
    fail = commands.add_parser("failed", help="the job summary of a failed release")
    fail.add_argument("--snapshot", default="")
    fail.add_argument("--env", required=True)
    fail.add_argument("--release", required=True)
    args = parser.parse_args(argv)
    if args.command == "failed":
        failed_summary(snapshot=args.snapshot, env=args.env, release=args.release)
        return 0
    if args.command == "snapshot":
        verdict, _ = take_snapshot(
            runner, instance=args.instance, release=args.release, attempt=args.attempt, timeout=args.timeout,
            **poll_args,
        )  # fmt: skip
    else:
        verdict = migrate_lambda(runner, function=args.function, version=args.version)
    print(("OK: " if verdict.ok else "FAILED: ") + verdict.message)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
