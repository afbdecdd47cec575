"""The resident registry: the municipal extract, with the My Number only encrypted (control 10).

Each municipality's numbers are sealed with AES-256-GCM under its own key and found through an
HMAC-SHA256 index under another (keys derived in `keys.HostKeys`). No export, log or API answer carries
the number. The CSV import (`registry_import`) validates check digits and dates, reports errors per line, loads
the good lines whole or not at all, and is idempotent on rerun.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from yoshin.domain.series import HistoryEntry
from yoshin.host import audit, registry_import
from yoshin.host.keys import HostKeys, municipality_key
from yoshin.host.registry_import import subject_id
from yoshin.host.store import Database, Tx


@dataclass(frozen=True, slots=True)
class Resident:
    id: int
    municipality_code: str
    subject_id: str
    kana: str
    name: str
    birth_date: date
    sex: str
    address: str
    guardian_name: str | None
    no_auto_answer: bool
    conditions: frozenset[str]
    no_disclosure: bool = False
    viewing_suspended: bool = False

    @property
    def restricted(self) -> bool:
        """Control 19: never answered automatically (DV and support-measure cases, 不開示, 閲覧停止)."""
        return self.no_auto_answer or self.no_disclosure or self.viewing_suspended

    def __repr__(self) -> str:
        return f"Resident({self.municipality_code}/{self.subject_id})"


@dataclass(frozen=True, slots=True)
class ImportReport:
    loaded: int
    errors: list[tuple[int, str]]  # (line number, reason): the reason never quotes the My Number


class Registry:
    def __init__(self, db: Database, keys: HostKeys) -> None:
        self.db = db
        self.keys = keys
        self._numbers = NumberKeys(keys.registry_master)

    def index(self, municipality_code: str, my_number: str) -> bytes:
        return self._numbers.index(municipality_code, my_number)

    def seal_number(self, municipality_code: str, atena: str, my_number: str) -> bytes:
        return self._numbers.seal(municipality_code, atena, my_number)

    def subject_id_for(self, municipality_code: str, my_number: str) -> str:
        """A stable pseudonymous 予防接種対象者番号 derived from the index (not reversible)."""
        return subject_id(self.index(municipality_code, my_number))

    def find(self, municipality_code: str, my_number: str) -> Resident | None:
        return self._one(
            municipality_code,
            "SELECT * FROM residents WHERE municipality_code = ? AND my_number_index = ?",
            [municipality_code, self.index(municipality_code, my_number)],
        )

    def by_subject(self, municipality_code: str, subject_id: str) -> Resident | None:
        return self._one(
            municipality_code,
            "SELECT * FROM residents WHERE municipality_code = ? AND subject_id = ?",
            [municipality_code, subject_id],
        )

    def _one(self, municipality_code: str, sql: str, params: list[object]) -> Resident | None:
        rows, columns = self.db.query(sql, params, municipality_code)  # one statement: one round trip
        return _resident(columns, rows[0]) if rows else None

    def history(self, resident_id: int) -> list[HistoryEntry]:
        with self.db.read() as tx:
            rows = tx.execute(
                "SELECT vaccine_code, dose_number, date FROM history WHERE resident_id = ? ORDER BY date", [resident_id]
            ).fetchall()
            recorded = tx.execute(
                "SELECT body FROM inbox WHERE kind = 'vaccination_record' AND subject_id = "
                "(SELECT subject_id FROM residents WHERE id = ?) AND municipality_code = "
                "(SELECT municipality_code FROM residents WHERE id = ?)",
                [resident_id, resident_id],
            ).fetchall()
        history = [HistoryEntry(code, dose, date.fromisoformat(when)) for code, dose, when in rows]
        for (body,) in recorded:
            record = json.loads(body)
            history.append(
                HistoryEntry(
                    record["vaccine_code"],
                    record["dose_number"],
                    date.fromisoformat(record["vaccination_date"]),
                    record.get("gtin"),  # the series count the product's kind (5種混合, ロタ 1価/5価, ...)
                )
            )
        return sorted(set(history), key=lambda entry: entry.date)

    def import_csv(
        self, text: str | Iterable[str], workers: int | None = None, timings: dict[str, float] | None = None,
        actor: str = "cli", now: datetime | None = None,
    ) -> ImportReport:  # fmt: skip
        """Load a municipal extract whole: every good line, or nothing if the import fails; bad lines are
        reported by number and not loaded. A resident listed twice keeps the later line; a rerun is
        idempotent. Worker processes (`workers`, default one per core, at most 4) parse, check, seal
        and stage the lines; one transaction merges them (`registry_import`; `timings` gets each phase's
        wall seconds). Each municipality in the extract gets a `registry.import` audit line naming
        `actor` and its count, committed with the merge; a refused import is audited too."""
        at = now or datetime.now(UTC)

        def audited(tx: Tx, counts: dict[str, int]) -> None:
            for code, count in sorted(counts.items()):
                audit.append(tx, at, code, actor, "cli", "registry.import", code, f"ok, {count} residents loaded")

        lines = iter(io.StringIO(text) if isinstance(text, str) else text)
        try:
            loaded, errors = registry_import.import_csv(self.db, self._numbers, lines, workers, timings, audited)
        except registry_import.ImportRefused as refused:
            with self.db.transaction() as tx:  # nothing was loaded; which municipalities is not known
                audit.append(tx, at, "*", actor, "cli", "registry.import", "*", f"refused: {refused.message.en}")
            raise
        return ImportReport(loaded, errors)


class NumberKeys:
    """The My Number's keys per municipality: the HMAC index key and the AES-256-GCM sealing key.

    Picklable (the import's worker processes get a copy): only the master key travels, over the
    pool's pipe to a child of this process; the derived keys are made again on the other side.
    """

    def __init__(self, registry_master: bytes) -> None:
        self._master = registry_master
        self._index: dict[str, tuple[Any, Any]] = {}  # the keyed SHA-256 states (hashlib's type is private)
        self._seal: dict[str, AESGCM] = {}

    def __getstate__(self) -> bytes:
        return self._master

    def __setstate__(self, master: bytes) -> None:
        self.__init__(master)  # type: ignore[misc]

    def index(self, municipality_code: str, my_number: str) -> bytes:
        """HMAC-SHA256 (RFC 2104) of the number under the municipality's index key. The keyed inner and
        outer SHA-256 states are made once per key and copied per number: the same digest as
        `hmac.digest`, at a third of its cost (which looks the hash up by name on every call)."""
        pads = self._index.get(municipality_code)
        if pads is None:
            pads = self._index[municipality_code] = _hmac_pads(
                municipality_key(self._master, municipality_code, "index")
            )
        inner, outer = pads[0].copy(), pads[1].copy()
        inner.update(my_number.encode())
        outer.update(inner.digest())
        return outer.digest()

    def seal(self, municipality_code: str, atena: str, my_number: str) -> bytes:
        sealer = self._seal.get(municipality_code)
        if sealer is None:
            sealer = self._seal[municipality_code] = AESGCM(
                municipality_key(self._master, municipality_code, "encrypt")
            )
        nonce = os.urandom(12)
        return nonce + sealer.encrypt(nonce, my_number.encode(), f"{municipality_code}|{atena}".encode())


def _hmac_pads(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states after the key XOR ipad and XOR opad blocks (RFC 2104, block size 64)."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return (
        hashlib.sha256(bytes(byte ^ 0x36 for byte in block)),
        hashlib.sha256(bytes(byte ^ 0x5C for byte in block)),
    )


def _resident(columns: list[str], row: tuple[object, ...]) -> Resident:
    data = dict(zip(columns, row, strict=True))
    return Resident(
        id=int(str(data["id"])),
        municipality_code=str(data["municipality_code"]),
        subject_id=str(data["subject_id"]),
        kana=str(data["kana"]),
        name=str(data["name"]),
        birth_date=date.fromisoformat(str(data["birth_date"])),
        sex=str(data["sex"]),
        address=str(data["address"]),
        guardian_name=data["guardian_name"] and str(data["guardian_name"]),  # type: ignore[arg-type]
        no_auto_answer=bool(data["no_auto_answer"]),
        conditions=frozenset(filter(None, str(data["conditions"]).split(";"))),
        no_disclosure=bool(data["no_disclosure"]),
        viewing_suspended=bool(data["viewing_suspended"]),
    )
