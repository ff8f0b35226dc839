"""A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, `pg_ctl start` on a
free loopback port with password (SCRAM) authentication, as RDS has it, and stopped and removed
afterwards. The server binaries come from PG_BIN, else Debian's /usr/lib/postgresql/<version>/bin
(package `postgresql`), else `initdb` on PATH. PostgreSQL refuses to run as root: under root the
cluster belongs to the `postgres` user (or `nobody`) and its commands run through `runuser`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pg8000.native

USER = "migrator"
PASSWORD = "local-test-password"
DATABASE = "service"


def server_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if debian:
        return debian[-1].parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


@dataclass(frozen=True)
class Server:
    host: str
    port: int

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://{USER}:{PASSWORD}@{self.host}:{self.port}/{database}?sslmode=disable"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _owner() -> tuple[list[str], pwd.struct_passwd | None]:
    """The command prefix that runs the server's tools as a non-root user, and that user."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            account = pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"], account
    raise RuntimeError("running as root with neither a postgres nor a nobody user to own the test cluster")


@contextlib.contextmanager
def postgres(binaries: Path) -> Iterator[Server]:
    prefix, account = _owner()
    root = Path(tempfile.mkdtemp(prefix="pg-test-"))
    data, password_file, log = root / "data", root / "password", root / "server.log"
    password_file.write_text(PASSWORD + "\n")
    if account is not None:
        os.chown(root, account.pw_uid, account.pw_gid)
        os.chown(password_file, account.pw_uid, account.pw_gid)
    port = _free_port()

    def run(*command: str) -> None:
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if result.returncode:
            detail = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}{detail}")

    try:
        run(
            str(binaries / "initdb"), "--pgdata", str(data), "--username", USER, "--pwfile", str(password_file),
            "--auth", "scram-sha-256", "--encoding", "UTF8", "--no-instructions",
        )  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' -c fsync=off"
        run(str(binaries / "pg_ctl"), "--pgdata", str(data), "--log", str(log), "--options", options, "--wait", "start")
        try:
            admin = pg8000.native.Connection(USER, host="127.0.0.1", port=port, password=PASSWORD, database="postgres")
            admin.run(f"CREATE DATABASE {DATABASE}")
            admin.close()
            yield Server("127.0.0.1", port)
        finally:
            run(str(binaries / "pg_ctl"), "--pgdata", str(data), "--mode", "immediate", "--wait", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
