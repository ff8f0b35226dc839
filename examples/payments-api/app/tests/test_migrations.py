"""The schema migrations in app/service/migrations against a real PostgreSQL server on loopback
(postgres_server.py): every migration goes up, down to nothing and up again, and none drops or
renames a table or column outside a contract step. Skipped, saying why, where PostgreSQL's server
binaries are not installed (Debian/Ubuntu: apt-get install postgresql; or set PG_BIN)."""

from __future__ import annotations

import pytest
from postgres_server import postgres, server_binaries
from service import migrate


@pytest.fixture(scope="module")
def database_url():
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries: apt-get install postgresql (or set PG_BIN) to run the migrations")
    with postgres(binaries) as server:
        yield server.url()


def test_every_migration_goes_up_down_and_up_again(database_url):
    migrations = migrate.discover()
    connection = migrate.connect(database_url)
    try:
        with migrate.Runner(connection, migrations) as runner:
            assert runner.up() == migrations
            assert all(applied for _, applied in runner.status())
            reversible = [m for m in migrations if m.down]
            if len(reversible) == len(migrations):
                runner.down(to=0)
                assert not any(applied for _, applied in runner.status())
                assert runner.up() == migrations
    finally:
        connection.close()


def test_no_destructive_change_outside_a_contract_step():
    assert migrate.check(migrate.discover()) == []


def test_the_lambda_handler_migrates_on_the_release_event_only(monkeypatch):
    from service import lambda_handler

    calls = []
    monkeypatch.setattr(migrate, "lambda_migrate", lambda: calls.append("migrate") or {"applied": []})
    assert lambda_handler.handle({"groundwork_migrate": "up"}, None) == {"applied": []}
    # A request through API Gateway always carries a requestContext: it is served, never a migration.
    request = {"groundwork_migrate": "up", "rawPath": "/healthz", "requestContext": {"http": {"method": "GET"}}}
    assert lambda_handler.handle(request, None)["statusCode"] == 200
    assert calls == ["migrate"]
