"""A throwaway PostgreSQL 15 cluster for tests and benchmarks: initdb in a temporary directory, loopback
only, on a free port, owned by the `postgres` user (initdb refuses root, so as root every server command
runs through `runuser -u postgres`).

    with PostgresCluster() as cluster:
        url = cluster.create_database("t1")      # owned by the non-superuser role the host connects as

The host's role (`yoshin`) is neither superuser nor BYPASSRLS, so row-level security applies to it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

BIN = Path(os.environ.get("YOSHIN_PG_BIN", "/usr/lib/postgresql/15/bin"))
APP_ROLE = "yoshin"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def available() -> bool:
    return (BIN / "initdb").exists()


class PostgresCluster:
    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="yoshin-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.settings = settings or {}
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_postgres, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresCluster:
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")  # fmt: skip
        options = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": "400",
            "shared_buffers": "128MB",
            **self.settings,
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in options.items())
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "start")
        with self.admin() as connection:
            connection.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB")
        return self

    def admin(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}", autocommit=True)

    def url(self, database: str) -> str:
        return f"postgresql://{APP_ROLE}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        with self.admin() as connection:
            clause = f" TEMPLATE {template}" if template else ""
            connection.execute(f"CREATE DATABASE {name} OWNER {APP_ROLE}{clause}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.admin() as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def standby(self, name: str = "standby1") -> PostgresCluster:
        """A streaming-replication standby of this cluster, made with pg_basebackup, started.

        This cluster must have been started with `replicated()` settings; `require_synchronous(name)`
        then makes its commits wait for the standby."""
        standby = PostgresCluster.__new__(PostgresCluster)
        standby.root, standby.data, standby.port = self.root, self.root / name, _free_port()
        standby.settings, standby._as_postgres, standby.user = {}, self._as_postgres, self.user
        self._run(str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                  "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        with (standby.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"primary_conninfo = 'host=127.0.0.1 port={self.port} user={self.user} application_name={name}'\n"
            )
        with (standby.data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {standby.port}\n")
        self._run(str(BIN / "pg_ctl"), "-D", str(standby.data), "-l", str(self.root / f"{name}.log"), "-w", "start")
        return standby

    def require_synchronous(self, name: str = "standby1") -> str:
        """From now on a commit returns only once standby `name` has flushed it; the standby's sync_state."""
        with self.admin() as connection:
            connection.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{name}'")
            connection.execute("SELECT pg_reload_conf()")
            for _ in range(600):  # the walsender picks up the reload: bounded wait on the real server
                row = connection.execute(
                    "SELECT sync_state FROM pg_stat_replication WHERE application_name = %s", [name]
                ).fetchone()
                if row and row[0] == "sync":
                    return "sync"
                time.sleep(0.05)
        return row[0] if row else "absent"

    def promote(self) -> None:
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "promote")

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def replicated() -> dict[str, str]:
    """Primary settings for streaming replication; `require_synchronous` then makes commits wait."""
    return {"wal_level": "replica", "max_wal_senders": "5", "synchronous_commit": "on"}
