"""Every host test that touches storage runs on both backends: the embedded SQLite file and a real
PostgreSQL 15 (a throwaway cluster for the session, a fresh database per test, copied from a migrated
template)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from yoshin.host import store
from yoshin.tools.pg_cluster import PostgresCluster

TEMPLATE = "yoshin_template"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    with PostgresCluster() as cluster:
        store.open_database(cluster.create_database(TEMPLATE)).close()
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = cluster.create_database(name, template=TEMPLATE)
    yield url
    cluster.drop_database(name)


@pytest.fixture
def storage_files(request: pytest.FixtureRequest) -> Callable[..., list[Path]]:
    """Every file the service's backend keeps on disk, with everything written through to it."""

    def files(service) -> list[Path]:  # type: ignore[no-untyped-def]
        found = [path for path in service.data_dir.rglob("*") if path.is_file()]
        if service.db.postgresql:
            cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
            with cluster.admin() as admin:
                admin.execute("CHECKPOINT")
            return found + [path for path in cluster.data.rglob("*") if path.is_file()]
        service.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return found

    return files
