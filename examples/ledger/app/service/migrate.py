"""Versioned schema migrations: plain SQL files in app/service/migrations, applied in order by this runner.

    python -m service.migrate up             apply every pending migration (each in its own transaction)
    python -m service.migrate down [--to N]  roll back to version N (default: the one before the latest)
    python -m service.migrate status         what is applied and what is pending
    python -m service.migrate check          refuse destructive changes not marked as contract steps

Files are `NNNN_name.up.sql` with an optional `NNNN_name.down.sql` beside it. The database records
each applied version with the sha256 of its up file in `schema_migrations`; a file edited after it
was applied is refused (write a new migration instead). A session advisory lock makes a second
runner wait rather than apply the same migration twice. `lock_timeout` (MIGRATION_LOCK_TIMEOUT,
default 5s) bounds how long a statement queues behind a long transaction: while it waits, every
query on that table waits behind it, so a busy table fails the migration instead of the service.

Expand/contract: a release's migrations must keep the previous release working, since its pods
(or function version) serve beside the new ones during the rollout and after a rollback. Dropping or
renaming a table or a column breaks it, so `check` refuses such a statement in an up file unless the
file says why it is safe now with a line `-- contract: <reason>` (docs/schema-migrations.md).

Connection: DATABASE_URL (postgresql://user:password@host:port/db?sslmode=require, as External
Secrets writes it for the pods and compose.yaml sets it locally) through pg8000, a pure-Python
driver: the same locked package serves the image and the Lambda function's bundle, whatever the
architecture. On Lambda the release invokes the new version with a migration event
(`lambda_migrate`), which builds the URL from the function's environment and database secret.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import ssl
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # inside the package: the image and bundle carry it
FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.(?P<direction>up|down)\.sql$")
CONTRACT = re.compile(r"^[ \t]*--[ \t]*contract:[ \t]*(?P<reason>\S.*)$", re.MULTILINE)
LOCK_KEY = 0x6D696772  # pg_advisory_lock key of this runner ("migr")
TABLE = "schema_migrations"


class MigrationError(Exception):
    """A migration cannot run as asked; the message says what to do."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up: Path
    down: Path | None

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.up.read_bytes()).hexdigest()


def discover(directory: Path | None = None) -> list[Migration]:
    """The migrations in `directory` (default: the package's), by version; a stray or duplicate file is an error."""
    directory = directory or MIGRATIONS
    if not directory.is_dir():
        raise MigrationError(f"{directory} is not a directory of migrations")
    ups: dict[int, tuple[str, Path]] = {}
    downs: dict[int, Path] = {}
    for path in sorted(directory.glob("*.sql")):
        match = FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.up.sql or NNNN_name.down.sql")
        version = int(match["version"])
        target = ups if match["direction"] == "up" else downs
        if version in target:
            raise MigrationError(f"{path.name}: version {version:04d} has two {match['direction']} files")
        target[version] = (match["name"], path) if match["direction"] == "up" else path
    orphans = sorted(set(downs) - set(ups))
    if orphans:
        raise MigrationError(f"{downs[orphans[0]].name} has no up file beside it")
    return [Migration(v, ups[v][0], ups[v][1], downs.get(v)) for v in sorted(ups)]


# -- expand/contract ----------------------------------------------------------------------------
_LITERALS = re.compile(
    r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(?P<tag>\$[A-Za-z_0-9]*\$).*?(?P=tag)", re.DOTALL
)
_HARMLESS_DROPS = ("CONSTRAINT", "DEFAULT", "NOT NULL", "IDENTITY", "EXPRESSION")


def _statements(sql: str) -> Iterator[str]:
    """Statements with comments, strings and dollar-quoted bodies blanked out, upper-case, one space."""
    bare = _LITERALS.sub(lambda m: " " if m.group(0).startswith(("--", "/*")) else "''", sql)
    for statement in bare.split(";"):
        words = " ".join(statement.split()).upper()
        if words:
            yield words


def _actions(alter: str) -> list[str]:
    """The comma-separated actions of an ALTER TABLE statement, outside parentheses."""
    depth, current, actions = 0, [], []
    for char in alter:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            actions.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    actions.append("".join(current).strip())
    return actions


def destructive_statements(sql: str) -> list[str]:
    """The statements that drop or rename a table or a column: what the previous release may still read."""
    found = []
    for statement in _statements(sql):
        if re.match(r"^DROP TABLE\b", statement):
            found.append(statement)
            continue
        alter = re.match(r"^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?\S+ (?P<actions>.*)$", statement)
        if not alter:
            continue
        for action in _actions(alter["actions"]):
            drop = re.match(r"^DROP (?P<what>.*)$", action)
            rename = re.match(r"^RENAME (?P<what>.*)$", action)
            if drop and not drop["what"].startswith(_HARMLESS_DROPS):
                found.append(statement)
                break
            if rename and not rename["what"].startswith("CONSTRAINT"):
                found.append(statement)
                break
    return found


def check(migrations: Sequence[Migration]) -> list[str]:
    """One message per up file with a destructive statement and no `-- contract: <reason>` line."""
    problems = []
    for migration in migrations:
        sql = migration.up.read_text()
        found = destructive_statements(sql)
        if found and not CONTRACT.search(sql):
            problems.append(
                f"{migration.up.name}: {found[0][:120]} drops or renames what the running release may still "
                "read. Expand first (add the new table or column, write both, backfill), ship, then drop in a "
                "later release whose migration says why it is safe with a line `-- contract: <reason>` "
                "(docs/schema-migrations.md)."
            )
    return problems


# -- the database ------------------------------------------------------------------------------
def connect(url: str | None = None) -> Any:
    """A pg8000 connection from DATABASE_URL; sslmode as libpq reads it (require: encrypted,
    unverified; verify-full: the server's certificate and name checked against sslrootcert)."""
    import pg8000.native  # the database operations only: `check` runs without a driver

    url = url or os.environ.get("DATABASE_URL") or _setting("DATABASE_URL")
    if not url:
        raise MigrationError("DATABASE_URL is not set: postgresql://user:password@host:port/database")
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise MigrationError(f"DATABASE_URL must start with postgresql://; got {parts.scheme or 'nothing'}://")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    host, port, database = parts.hostname or "localhost", parts.port or 5432, unquote(parts.path.lstrip("/"))
    try:
        return pg8000.native.Connection(
            user=unquote(parts.username or ""),
            password=unquote(parts.password or "") or None,
            host=host,
            port=port,
            database=database or None,
            ssl_context=_ssl_context(query.get("sslmode", "disable"), query.get("sslrootcert")),
            timeout=60,
            application_name="service-migrate",
        )
    except (OSError, pg8000.native.Error) as error:  # the message names the host, never the password
        raise MigrationError(f"cannot connect to {host}:{port}/{database}: {_reason(error)}") from error


def _reason(error: Exception) -> str:
    """PostgreSQL's own message (pg8000 carries its fields as a dict), else the error's text."""
    fields = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    return fields.get("M") or str(error)


def _setting(name: str) -> str:
    from . import config  # files under SECRETS_PATH, as the pods mount their Secrets

    return config.setting(name)


def _ssl_context(mode: str, root: str | None) -> ssl.SSLContext | None:
    if mode in ("disable", "allow", "prefer"):
        return None
    if mode == "require":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if mode in ("verify-ca", "verify-full"):
        context = ssl.create_default_context(cafile=root)
        context.check_hostname = mode == "verify-full"
        return context
    raise MigrationError(f"sslmode {mode!r} is not one of disable, require, verify-ca, verify-full")


class Runner:
    def __init__(self, connection: Any, migrations: Sequence[Migration], out: Any = None) -> None:
        self.db, self.migrations, self.out = connection, list(migrations), out
        self.by_version = {m.version: m for m in self.migrations}

    def __enter__(self) -> Runner:
        # Wait for another runner as long as it takes; lock_timeout applies to the migrations only.
        self.db.run("SELECT pg_advisory_lock(:key)", key=LOCK_KEY)
        self.db.run(f"SET lock_timeout = '{_lock_timeout()}'")
        self.db.run(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (version integer PRIMARY KEY, name text NOT NULL, "
            "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.run("SELECT pg_advisory_unlock(:key)", key=LOCK_KEY)

    def applied(self) -> dict[int, tuple[str, str]]:
        rows = self.db.run(f"SELECT version, name, checksum FROM {TABLE} ORDER BY version")
        return {version: (name, checksum) for version, name, checksum in rows}

    def verify(self) -> dict[int, tuple[str, str]]:
        """The applied versions, after checking each still has its file, unchanged."""
        applied = self.applied()
        for version, (name, checksum) in applied.items():
            migration = self.by_version.get(version)
            if migration is None:
                raise MigrationError(
                    f"the database has {version:04d}_{name} applied, which this release does not have: it is "
                    "older than the schema (roll forward, or roll the schema back with the release that has it)"
                )
            if migration.checksum != checksum:
                raise MigrationError(
                    f"{migration.up.name} changed after it was applied; restore it and add a new migration instead"
                )
        return applied

    def up(self) -> list[Migration]:
        applied = self.verify()
        pending = [m for m in self.migrations if m.version not in applied]
        for migration in pending:
            self._apply(migration.up.read_text(), migration, record=True)
        if not pending:
            self._say("schema up to date")
        return pending

    def down(self, to: int | None = None) -> list[Migration]:
        applied = sorted(self.verify(), reverse=True)
        target = (applied[1] if len(applied) > 1 else 0) if to is None else to
        undone = [self.by_version[v] for v in applied if v > target]
        missing = [m.label for m in undone if m.down is None]
        if missing:
            raise MigrationError(
                f"{missing[0]} has no down file: roll back by restoring the snapshot taken before the release"
            )
        for migration in undone:
            self._apply(migration.down.read_text(), migration, record=False)
        return undone

    def status(self) -> list[tuple[str, bool]]:
        applied = self.verify()
        return [(m.label, m.version in applied) for m in self.migrations]

    def _apply(self, sql: str, migration: Migration, *, record: bool) -> None:
        direction = "up" if record else "down"
        self.db.run("BEGIN")
        try:
            self.db.run(sql)
            if record:
                self.db.run(
                    f"INSERT INTO {TABLE} (version, name, checksum) VALUES (:v, :n, :c)",
                    v=migration.version,
                    n=migration.name,
                    c=migration.checksum,
                )
            else:
                self.db.run(f"DELETE FROM {TABLE} WHERE version = :v", v=migration.version)
            self.db.run("COMMIT")
        except Exception as error:
            self.db.run("ROLLBACK")
            reason = _reason(error)
            raise MigrationError(f"{migration.label} ({direction}) failed and was rolled back: {reason}") from error
        self._say(f"{migration.label}: {direction}")

    def _say(self, line: str) -> None:
        print(line, file=self.out or sys.stdout, flush=True)


def _lock_timeout() -> str:
    value = os.environ.get("MIGRATION_LOCK_TIMEOUT", "5s")
    if not re.fullmatch(r"\d+(ms|s|min)?", value):
        raise MigrationError(f"MIGRATION_LOCK_TIMEOUT must be a PostgreSQL duration like 5s or 500ms; got {value!r}")
    return value


# -- on Lambda ---------------------------------------------------------------------------------
def lambda_migrate(read_secret: Any = None) -> dict[str, list[str]]:
    """The migration event's answer (lambda_handler.py): the pending migrations applied with the
    function's own network path and role, before CodeDeploy shifts traffic to its version. A
    refused or failed migration raises, which Lambda reports as a function error."""
    connection = connect(lambda_database_url(read_secret))
    try:
        with Runner(connection, discover()) as runner:
            return {"applied": [m.label for m in runner.up()]}
    finally:
        connection.close()


def lambda_database_url(read_secret: Any = None) -> str:
    """DATABASE_URL from the function's environment (DB_HOST, DB_NAME, DB_PORT) and the username
    and password in the secret DB_SECRET_ARN names (the RDS-managed master user secret)."""
    missing = [name for name in ("DB_HOST", "DB_NAME", "DB_SECRET_ARN") if not os.environ.get(name)]
    if missing:
        raise MigrationError(f"the function has no {', '.join(missing)}: it has no database to migrate")
    secret = (read_secret or _read_secret)(os.environ["DB_SECRET_ARN"])
    user, password = (quote(secret[key], safe="") for key in ("username", "password"))
    host, port, name = os.environ["DB_HOST"], os.environ.get("DB_PORT", "5432"), os.environ["DB_NAME"]
    return f"postgresql://{user}:{password}@{host}:{port}/{name}?sslmode=require"


def _read_secret(arn: str) -> dict[str, str]:
    import boto3  # the Lambda runtime's

    return json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="the migrations directory (default: the package's)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="apply every pending migration")
    down = commands.add_parser("down", help="roll back to a version (default: the one before the latest)")
    down.add_argument("--to", type=int, help="the version to keep (0: roll back everything)")
    commands.add_parser("status", help="applied and pending migrations")
    commands.add_parser("check", help="refuse destructive changes not marked as contract steps")
    args = parser.parse_args(argv)
    try:
        migrations = discover(args.dir)
        if args.command == "check":
            problems = check(migrations)
            for problem in problems:
                print(f"FAILED: {problem}", file=sys.stderr)
            if not problems:
                print(f"{len(migrations)} migrations, none destructive outside a contract step")
            return 1 if problems else 0
        connection = connect()
        try:
            with Runner(connection, migrations) as runner:
                if args.command == "up":
                    runner.up()
                elif args.command == "down":
                    runner.down(args.to)
                else:
                    for label, done in runner.status():
                        print(f"{'applied' if done else 'pending'}  {label}")
        finally:
            connection.close()
    except MigrationError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
