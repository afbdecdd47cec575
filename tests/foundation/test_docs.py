"""The documentation states what the code does: record kinds and limits are checked against the constants."""

from __future__ import annotations

import re
from pathlib import Path

from yoshin.domain.contract import RecordKind
from yoshin.protocol import api
from yoshin.protocol.sealing import PayloadKind

DOCS = Path(__file__).resolve().parents[2] / "docs"


def section(path: Path, heading: str) -> str:
    """The text of the markdown section whose heading starts with `heading`, up to the next heading."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^#+ {re.escape(heading)}.*?$(.*?)(?=^#)", text, re.M | re.S)
    assert match, f"{path.name} has no section {heading!r}"
    return match.group(1)


def test_the_records_endpoint_documents_every_record_kind_and_the_batch_limit() -> None:
    records = section(DOCS / "host-api.md", "Records: `POST /api/v1/records`")
    paragraph = records.split("```")[0]
    documented = set(re.findall(r"`([a-z]+(?:_[a-z]+)+)`", paragraph))
    assert documented == {*RecordKind, PayloadKind.AUDIT_EVENT}
    assert re.search(r"\[1\.\.(\d+) sealed envelopes\]", paragraph).group(1) == str(api.MAX_BATCH)  # type: ignore[union-attr]
