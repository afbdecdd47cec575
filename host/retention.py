"""Retention (controls 21, 22): records at least 5 years, logs 3 years, provision records 7 years.

Every purge is recorded and writes an erasure report. The host never deletes records younger than the
legal minimum, whatever the configuration says.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from yoshin.host import audit
from yoshin.host.store import Database

MIN_RECORD_YEARS = 5


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    record_years: int = 5
    log_years: int = 3
    provision_years: int = 7

    def __post_init__(self) -> None:
        if self.record_years < MIN_RECORD_YEARS:
            raise ValueError(f"records are kept at least {MIN_RECORD_YEARS} years (予防接種法施行令 6条の2)")


@dataclass(frozen=True, slots=True)
class ErasureReport:
    at: str
    policy: dict[str, int]
    records_deleted: int
    audit_lines_deleted: int
    provision_records_deleted: int


def _years_before(now: datetime, years: int) -> datetime:
    return now - timedelta(days=365 * years + years // 4)


def purge(db: Database, policy: RetentionPolicy, now: datetime, report_dir: Path) -> ErasureReport:
    with db.transaction() as tx:
        records = tx.execute(
            "DELETE FROM inbox WHERE received_at < ?", [_years_before(now, policy.record_years).isoformat()]
        ).rowcount
        provisions = tx.execute(
            "DELETE FROM provisions WHERE at < ?", [_years_before(now, policy.provision_years).isoformat()]
        ).rowcount
        lines = audit.purge_before(tx, _years_before(now, policy.log_years))
        report = ErasureReport(now.isoformat(), asdict(policy), records, lines, provisions)
        tx.insert(
            "erasures",
            {
                "municipality_code": "*",
                "kind": "retention_purge",
                "device_id": None,
                "recorded_at": now.isoformat(),
                "detail": json.dumps(asdict(report), sort_keys=True),
            },
        )
        audit.append(tx, now, "*", "admin", "cli", "retention.purge", "-", f"records={records} lines={lines}")
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / f"erasure-report-{now.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False))
    return report
