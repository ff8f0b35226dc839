"""The generated app's schema migrations (template/app/service/migrate.py) against a real PostgreSQL
server (Debian's `postgresql`, which .ci/run installs): forward, backward, atomic failure, edited
files refused, lock_timeout, concurrent runners; and the expand/contract check on SQL text.

Unlike the generated repo's own test, nothing here skips: without the server binaries it fails."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
import time
from pathlib import Path

import pg8000.native
import pytest

APP = Path(__file__).resolve().parents[1] / "template" / "app"
MIGRATIONS = APP / "service" / "{% if database == 'postgres' %}migrations{% endif %}"


def _load(name: str, path: Path):
    # The template's file names carry their Jinja condition, so the loader is named explicitly.
    spec = importlib.util.spec_from_loader(name, importlib.machinery.SourceFileLoader(name, str(path)))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


migrate = _load("groundwork_migrate", APP / "service" / "{% if database == 'postgres' %}migrate.py{% endif %}")
pg = _load("groundwork_postgres_server", APP / "tests" / "{% if database == 'postgres' %}postgres_server.py{% endif %}")


@pytest.fixture(scope="module")
def server():
    binaries = pg.server_binaries()
    if binaries is None:
        pytest.fail("PostgreSQL's server binaries are missing: install Debian's postgresql package (.ci/run does)")
    with pg.postgres(binaries) as running:
        yield running


@pytest.fixture
def database(server, request):
    """A fresh database per test, and a connection to it."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:50]
    admin = pg8000.native.Connection(
        pg.USER, host=server.host, port=server.port, password=pg.PASSWORD, database="postgres"
    )
    admin.run(f"DROP DATABASE IF EXISTS {name}")
    admin.run(f"CREATE DATABASE {name}")
    connection = migrate.connect(server.url(name))
    yield connection, server.url(name)
    connection.close()
    admin.run(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


def copy_migrations(tmp_path: Path, extra: dict[str, str] | None = None) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for path in MIGRATIONS.glob("*.sql"):
        (directory / path.name).write_text(path.read_text())
    for name, sql in (extra or {}).items():
        (directory / name).write_text(sql)
    return directory


def tables(connection) -> set[str]:
    rows = connection.run("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row[0] for row in rows}


def test_the_example_migration_goes_up_and_down(database, capsys):
    connection, _ = database
    migrations = migrate.discover(MIGRATIONS)
    assert [m.label for m in migrations] == ["0001_create_visits"]
    with migrate.Runner(connection, migrations) as runner:
        assert [m.label for m in runner.up()] == ["0001_create_visits"]
        connection.run("INSERT INTO visits (route) VALUES ('/')")
        assert connection.run("SELECT route FROM visits") == [["/"]]
        assert runner.up() == []  # applied once
        assert runner.status() == [("0001_create_visits", True)]
        recorded = connection.run("SELECT version, name, checksum FROM schema_migrations")
        assert recorded == [[1, "create_visits", migrations[0].checksum]]
        assert [m.label for m in runner.down()] == ["0001_create_visits"]
        assert tables(connection) == {"schema_migrations"}
        assert runner.status() == [("0001_create_visits", False)]
        runner.up()  # and forward again after the rollback
    assert "visits" in tables(connection)
    assert "0001_create_visits: down" in capsys.readouterr().out


def test_down_rolls_back_to_a_version_newest_first(database, tmp_path):
    connection, _ = database
    directory = copy_migrations(
        tmp_path,
        {
            "0002_add_visit_agent.up.sql": "ALTER TABLE visits ADD COLUMN agent text;",
            "0002_add_visit_agent.down.sql": "-- contract: undoes 0002\nALTER TABLE visits DROP COLUMN agent;",
            "0003_create_routes.up.sql": "CREATE TABLE routes (path text PRIMARY KEY);",
            "0003_create_routes.down.sql": "DROP TABLE routes;",
        },
    )
    with migrate.Runner(connection, migrate.discover(directory)) as runner:
        runner.up()
        assert [m.version for m in runner.down(to=1)] == [3, 2]
        assert tables(connection) == {"schema_migrations", "visits"}
        columns = connection.run("SELECT column_name FROM information_schema.columns WHERE table_name = 'visits'")
        assert "agent" not in {row[0] for row in columns}


def test_a_failing_migration_changes_nothing_and_says_which(database, tmp_path):
    connection, _ = database
    directory = copy_migrations(
        tmp_path,
        {"0002_broken.up.sql": "CREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;"},
    )
    with migrate.Runner(connection, migrate.discover(directory)) as runner:
        with pytest.raises(migrate.MigrationError, match=r"0002_broken \(up\) failed and was rolled back"):
            runner.up()
        assert "half_done" not in tables(connection)
        assert runner.status() == [("0001_create_visits", True), ("0002_broken", False)]


def test_a_migration_edited_after_it_ran_is_refused(database, tmp_path):
    connection, _ = database
    directory = copy_migrations(tmp_path)
    with migrate.Runner(connection, migrate.discover(directory)) as runner:
        runner.up()
    edited = directory / "0001_create_visits.up.sql"
    edited.write_text(edited.read_text() + "\nCREATE INDEX visits_route ON visits (route);\n")
    with migrate.Runner(connection, migrate.discover(directory)) as runner:
        with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
            runner.up()


def test_a_release_older_than_the_schema_is_refused(database, tmp_path):
    connection, _ = database
    newer = copy_migrations(tmp_path, {"0002_create_routes.up.sql": "CREATE TABLE routes (path text);"})
    with migrate.Runner(connection, migrate.discover(newer)) as runner:
        runner.up()
    with migrate.Runner(connection, migrate.discover(MIGRATIONS)) as runner:
        with pytest.raises(migrate.MigrationError, match="0002_create_routes applied, which this release does not"):
            runner.up()


def test_down_without_a_down_file_points_at_the_snapshot(database, tmp_path):
    connection, _ = database
    directory = copy_migrations(tmp_path, {"0002_create_routes.up.sql": "CREATE TABLE routes (path text);"})
    with migrate.Runner(connection, migrate.discover(directory)) as runner:
        runner.up()
        with pytest.raises(migrate.MigrationError, match="no down file: roll back by restoring the snapshot"):
            runner.down()
        assert "routes" in tables(connection)


def test_a_migration_blocked_by_a_long_transaction_fails_fast(database, tmp_path, monkeypatch):
    """Waiting for the lock would queue every query on the table behind the migration: it gives up instead."""
    connection, url = database
    with migrate.Runner(connection, migrate.discover(MIGRATIONS)) as runner:
        runner.up()
    reader = migrate.connect(url)
    reader.run("BEGIN")
    reader.run("SELECT count(*) FROM visits")  # holds ACCESS SHARE until the transaction ends
    monkeypatch.setenv("MIGRATION_LOCK_TIMEOUT", "300ms")
    directory = copy_migrations(tmp_path, {"0002_add_visit_agent.up.sql": "ALTER TABLE visits ADD COLUMN agent text;"})
    started = time.monotonic()
    try:
        with migrate.Runner(connection, migrate.discover(directory)) as runner:
            with pytest.raises(migrate.MigrationError, match="lock timeout"):
                runner.up()
    finally:
        reader.run("ROLLBACK")
        reader.close()
    assert time.monotonic() - started < 5


def test_a_second_runner_waits_for_the_first(database, tmp_path):
    connection, url = database
    directory = copy_migrations(
        tmp_path, {"0002_slow.up.sql": "SELECT pg_sleep(1);\nCREATE TABLE after_sleep (id int);"}
    )
    outcome = {}

    def second() -> None:
        other = migrate.connect(url)
        try:
            with migrate.Runner(other, migrate.discover(directory)) as runner:
                outcome["applied"] = [m.version for m in runner.up()]
        finally:
            other.close()

    with migrate.Runner(connection, migrate.discover(directory)) as runner:
        thread = threading.Thread(target=second)
        thread.start()
        assert [m.version for m in runner.up()] == [1, 2]
    thread.join(timeout=30)
    assert outcome["applied"] == []  # it waited for the lock, then found nothing left to do


def test_the_command_line_applies_and_reports(server, database, monkeypatch, capsys):
    _, url = database
    monkeypatch.setenv("DATABASE_URL", url)
    assert migrate.main(["--dir", str(MIGRATIONS), "up"]) == 0
    assert migrate.main(["--dir", str(MIGRATIONS), "status"]) == 0
    assert "applied  0001_create_visits" in capsys.readouterr().out
    monkeypatch.setenv("DATABASE_URL", url.replace(pg.PASSWORD, "wrong"))
    assert migrate.main(["--dir", str(MIGRATIONS), "up"]) == 1
    assert "password authentication failed" in capsys.readouterr().err


# -- expand/contract, on the SQL text ----------------------------------------------------------
@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE visits;",
        "drop   table if exists visits cascade;",
        "ALTER TABLE visits DROP COLUMN route;",
        "ALTER TABLE visits DROP route;",
        "ALTER TABLE ONLY public.visits ADD COLUMN path text, DROP COLUMN IF EXISTS route;",
        "ALTER TABLE visits RENAME COLUMN route TO path;",
        "ALTER TABLE visits RENAME route TO path;",
        'ALTER TABLE "visits" RENAME TO page_visits;',
        "CREATE TABLE a (id int);\n-- a comment; with a semicolon\nDROP TABLE b;",
    ],
)
def test_destructive_changes_are_found(sql):
    assert migrate.destructive_statements(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE visits (id int);",
        "ALTER TABLE visits ADD COLUMN path text;",
        "ALTER TABLE visits DROP CONSTRAINT visits_route_check;",
        "ALTER TABLE visits ALTER COLUMN route DROP NOT NULL, ALTER COLUMN route DROP DEFAULT;",
        "ALTER TABLE visits RENAME CONSTRAINT a TO b;",
        "-- DROP TABLE visits;\nCREATE INDEX visits_route ON visits (route);",
        "/* ALTER TABLE visits DROP COLUMN route; */ SELECT 1;",
        "INSERT INTO notes (text) VALUES ('DROP TABLE visits; it is old');",
        "CREATE FUNCTION f() RETURNS void AS $body$ BEGIN DROP TABLE x; END $body$ LANGUAGE plpgsql;",
        "DROP INDEX visits_route;",
    ],
)
def test_additive_changes_pass(sql):
    assert migrate.destructive_statements(sql) == []


def test_the_check_refuses_an_unmarked_drop_and_accepts_a_contract_step(tmp_path, capsys):
    directory = copy_migrations(tmp_path, {"0002_drop_route.up.sql": "ALTER TABLE visits DROP COLUMN route;"})
    assert migrate.main(["--dir", str(directory), "check"]) == 1
    message = capsys.readouterr().err
    assert "0002_drop_route.up.sql" in message and "-- contract: <reason>" in message
    (directory / "0002_drop_route.up.sql").write_text(
        "-- contract: no release since 0001's expand reads visits.route\nALTER TABLE visits DROP COLUMN route;"
    )
    assert migrate.main(["--dir", str(directory), "check"]) == 0
    (directory / "0002_drop_route.up.sql").write_text("-- contract:\nALTER TABLE visits DROP COLUMN route;")
    assert migrate.main(["--dir", str(directory), "check"]) == 1  # a contract step says why


def test_down_files_are_not_checked_and_the_example_passes():
    assert migrate.check(migrate.discover(MIGRATIONS)) == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"1_x.up.sql": ""}, "named NNNN_name.up.sql"),
        ({"0002_x.down.sql": ""}, "has no up file"),
        ({"0002_x.up.sql": "", "0002_y.up.sql": ""}, "two up files"),
    ],
)
def test_badly_named_files_are_refused(tmp_path, files, message):
    with pytest.raises(migrate.MigrationError, match="not a directory of migrations"):
        migrate.discover(tmp_path / "missing")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(migrate.MigrationError, match=message):
        migrate.discover(tmp_path)


def test_on_lambda_the_url_comes_from_the_functions_environment_and_secret(monkeypatch):
    monkeypatch.setenv("DB_HOST", "svc-prod-db.abc.us-east-1.rds.amazonaws.com")
    monkeypatch.setenv("DB_NAME", "svc")
    monkeypatch.setenv("DB_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1")
    read = {"username": "postgres", "password": "p@ss/w:rd?"}.copy
    url = migrate.lambda_database_url(lambda arn: read())
    assert url == (
        "postgresql://postgres:p%40ss%2Fw%3Ard%3F@svc-prod-db.abc.us-east-1.rds.amazonaws.com:5432/svc?sslmode=require"
    )
    monkeypatch.delenv("DB_SECRET_ARN")
    with pytest.raises(migrate.MigrationError, match="no DB_SECRET_ARN"):
        migrate.lambda_database_url(lambda arn: read())


def test_the_lambda_migration_event_applies_and_lists_what_it_applied(database, monkeypatch):
    _, url = database
    monkeypatch.setattr(migrate, "lambda_database_url", lambda read_secret=None: url)
    monkeypatch.setattr(migrate, "MIGRATIONS", MIGRATIONS)  # the package's, under its template name here
    assert migrate.lambda_migrate() == {"applied": ["0001_create_visits"], "version": "0001_create_visits"}
    assert migrate.lambda_migrate() == {"applied": [], "version": "0001_create_visits"}


# -- the restore test's copy (scripts/restore_test.py) ------------------------------------------
def test_database_url_in_the_environment_wins_over_the_mounted_secret(database, tmp_path, monkeypatch, capsys):
    """The restore test's one-off Job keeps the release pod's mounted database Secret and sets
    DATABASE_URL in its environment to the restored copy: the migrations go to the copy."""
    connection, url = database
    mounted = tmp_path / "secrets" / "svc-database"
    mounted.mkdir(parents=True)
    (mounted / "DATABASE_URL").write_text(url.replace(pg.PASSWORD, "the-production-password"))
    monkeypatch.setenv("SECRETS_PATH", str(tmp_path / "secrets"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    # The pods' settings reader (app/service/config.py), as the package's `from . import config` loads it.
    config = _load("groundwork_config", APP / "service" / "config.py")
    monkeypatch.setattr(migrate, "_setting", config.setting)
    assert migrate.main(["--dir", str(MIGRATIONS), "up"]) == 1  # the mounted Secret alone: production's
    assert "password authentication failed" in capsys.readouterr().err
    monkeypatch.setenv("DATABASE_URL", url)
    assert migrate.main(["--dir", str(MIGRATIONS), "up"]) == 0
    out = capsys.readouterr().out
    assert "0001_create_visits: up" in out and out.strip().endswith("schema version 0001_create_visits")
    assert "visits" in tables(connection)


def test_the_lambda_event_migrates_the_copy_it_names_without_reading_the_functions_secret(
    server, database, monkeypatch
):
    connection, url = database
    name = url.rsplit("/", 1)[1].split("?")[0]
    monkeypatch.setenv("DB_NAME", name)
    monkeypatch.setenv("DB_HOST", "svc-prod-db.abc.us-east-1.rds.amazonaws.com")  # production: never used
    monkeypatch.setenv("DB_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1")
    monkeypatch.setattr(migrate, "_read_secret", lambda arn: pytest.fail("read the function's own secret"))
    monkeypatch.setattr(migrate, "MIGRATIONS", MIGRATIONS)
    # RDS forces TLS (sslmode=require); the loopback server here serves none, so the test maps it off.
    real_context = migrate._ssl_context
    monkeypatch.setattr(
        migrate, "_ssl_context", lambda mode, root: None if mode == "require" else real_context(mode, root)
    )
    target = {"host": server.host, "port": server.port, "user": pg.USER, "password": pg.PASSWORD}
    assert migrate.lambda_migrate(target=target) == {"applied": ["0001_create_visits"], "version": "0001_create_visits"}
    assert "visits" in tables(connection)
    with pytest.raises(migrate.MigrationError, match="password authentication failed"):
        migrate.lambda_migrate(target={**target, "password": "the-snapshots-old-password"})


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("postgresql://x", "must be a mapping of host, user and password"),
        ({"host": "h", "user": "u", "password": "p", "sslmode": "disable"}, "must be a mapping"),
        ({"host": "h", "user": "u"}, "check password"),
        ({"host": "", "user": "u", "password": "p"}, "check host"),
        ({"host": "h", "user": "u", "password": "p", "port": "5432"}, "check port"),
        ({"host": "h", "user": "u", "password": "p", "port": 70000}, "check port"),
    ],
)
def test_a_bad_copy_in_the_event_is_refused_saying_what_is_accepted(target, message, monkeypatch):
    monkeypatch.setenv("DB_NAME", "svc")
    with pytest.raises(migrate.MigrationError, match=message):
        migrate.restored_copy_url(target)


def test_the_copys_url_quotes_its_credentials_and_forces_tls(monkeypatch):
    monkeypatch.setenv("DB_NAME", "svc")
    target = {"host": "copy.abc.us-east-1.rds.amazonaws.com", "user": "app_admin", "password": "a b:c"}
    assert migrate.restored_copy_url(target) == (
        "postgresql://app_admin:a%20b%3Ac@copy.abc.us-east-1.rds.amazonaws.com:5432/svc?sslmode=require"
    )
