"""The restore drill, on each backend: back up a working host with the CLI, lose the database, restore
it with the CLI, and find every record there and the audit chain intact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from yoshin.domain import examples
from yoshin.host import audit, store
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id

SCRIPT = str(Path(sys.executable).parent / "yoshin-host")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=300)


def test_restore_drill(make_device, host: HostServer, tmp_path: Path, request, prove) -> None:
    device = make_device()
    bodies = [
        prove(device, "vaccination_record", examples.vaccination_record(new_record_id(), new_record_id()))
        for _ in range(20)
    ]
    envelopes = [device.seal("vaccination_record", body, body["record_id"]).to_json() for body in bodies]
    assert {r["status"] for r in device.client.call("POST", api.RECORDS, {"envelopes": envelopes})["results"]} == {
        "accepted"
    }
    service, data = host.service, str(host.service.data_dir)
    before = {
        table: service.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("inbox", "audit", "residents", "history", "devices")
    }
    backup_file = tmp_path / "backups" / "host.backup"
    made = _cli("backup", "--data-dir", data, str(backup_file))
    assert made.returncode == 0, made.stderr
    host.stop()
    service.db.close()

    # the disaster: the database is gone
    if service.db.postgresql:
        cluster = request.getfixturevalue("pg_cluster")
        name = service.db.url.rsplit("/", 1)[1]
        cluster.drop_database(name)
        cluster.create_database(name)  # empty, as a rebuilt server would have it
    else:
        for path in Path(data).glob("host.db*"):
            path.unlink()
    restored = _cli("restore", "--data-dir", data, str(backup_file))
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout) == {"restored": str(backup_file), "audit_problems": 0}

    db = store.open_database(store.configured_url(Path(data)))
    db.data_dir = Path(data)  # the audit key and anchor file (outside the database, untouched by the loss)
    after = {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in before}
    assert after == before
    stored = {row[0] for row in db.execute("SELECT record_id FROM inbox").fetchall()}
    assert stored == {body["record_id"] for body in bodies}
    assert audit.verify(db).intact
    verified = _cli("audit", "verify", "--data-dir", data)
    assert verified.returncode == 0 and "intact" in verified.stdout
    db.close()


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    data = tmp_path / "host"
    store.open_database(data / "host.db").close()
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database at all" * 100)
    refused = _cli("restore", "--data-dir", str(data), str(junk))
    assert refused.returncode == 1 and "not an intact SQLite database backup" in refused.stderr
    assert "Traceback" not in refused.stderr
