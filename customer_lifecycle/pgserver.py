"""A throwaway PostgreSQL server for tests: its own data directory, a free loopback port,
started on demand and stopped (and deleted) afterwards.

Uses the server binaries of Debian's `postgresql` package. As root, the server runs as the
`postgres` user (PostgreSQL refuses to run as root).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path | None:
    override = os.environ.get("LIFECYCLE_PG_BIN")
    candidates = [override] if override else sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    database: str

    def env(self, schema: str = "lifecycle") -> dict[str, str]:
        """The environment variables that profiles.yml's postgres target reads."""
        return {
            "LIFECYCLE_TARGET": "postgres",
            "LIFECYCLE_PG_HOST": self.host,
            "LIFECYCLE_PG_PORT": str(self.port),
            "LIFECYCLE_PG_USER": self.user,
            "LIFECYCLE_PG_PASSWORD": "",
            "LIFECYCLE_PG_DATABASE": self.database,
            "LIFECYCLE_PG_SCHEMA": schema,
        }

    def connect(self):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=self.database)


class ThrowawayPostgres:
    """Context manager: `with ThrowawayPostgres() as server: ...`."""

    def __init__(self, database: str = "lifecycle"):
        self.database = database
        self.bin_dir = find_bin_dir()
        if self.bin_dir is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin). "
                "Install them with: apt-get install -y postgresql"
            )
        self.root = Path(tempfile.mkdtemp(prefix="lifecycle-pg-"))
        self.data_dir = self.root / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True)

    def __enter__(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                  "--auth=trust", "--encoding=UTF8", "--no-locale")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off " \
                  "-c synchronous_commit=off -c full_page_writes=off -c timezone=UTC"
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")
        server = PostgresServer("127.0.0.1", self.port, "postgres", self.database)
        deadline = time.time() + 30
        while True:
            try:
                import psycopg2

                conn = psycopg2.connect(host=server.host, port=server.port, user="postgres", dbname="postgres")
                conn.autocommit = True
                conn.cursor().execute(f'create database "{self.database}"')
                conn.close()
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        return server

    def record(self) -> dict[str, str]:
        """What stop_recorded_server needs to stop this server from another process."""
        return {"bin_dir": str(self.bin_dir), "data_dir": str(self.data_dir), "root": str(self.root),
                "as_postgres": "1" if self._as_postgres else ""}

    def __exit__(self, *exc) -> None:
        stop_recorded_server(self.record())


def stop_recorded_server(record: dict[str, str]) -> None:
    """Stop a throwaway server (ThrowawayPostgres.record()) and delete its folder."""
    cmd = [str(Path(record["bin_dir"]) / "pg_ctl"), "-D", record["data_dir"], "-m", "immediate", "-w", "stop"]
    if record["as_postgres"]:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    finally:
        shutil.rmtree(record["root"], ignore_errors=True)
