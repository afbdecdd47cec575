"""The yoshin-card CLI contract: JSON shapes, PIN on stdin, exit codes, messages on stderr."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from yoshin.smartcard.verify import verify_jpki_auth
from yoshin.tools.test_pki import TestPki

pytestmark = pytest.mark.pcsc
SLOT0 = "Test Virtual PCD 00 00"
CARD = str(Path(sys.executable).parent / "yoshin-card")


def card(*args: str, pin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CARD, *args], input=pin, capture_output=True, text=True, timeout=60, check=False)


def test_readers(insert_card) -> None:
    insert_card("adult", slot=1)
    result = card("readers", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "readers": [
            {"name": "Test Virtual PCD 00 00", "card_present": False},
            {"name": "Test Virtual PCD 00 01", "card_present": True},
        ]
    }


def test_status(insert_card) -> None:
    insert_card("elderly")
    result = card("status", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "reader": SLOT0,
        "card": "mynumber",
        "pins": {"auth": 3, "face": 3, "sign": 5},
    }


def test_status_of_a_childs_card_reports_the_signing_pin_as_not_issued(insert_card) -> None:
    insert_card("child")
    result = card("status", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pins"] == {"auth": 3, "face": 3, "sign": None}
    text = card("status")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == f"{SLOT0}: mynumber"
    sign = next(line for line in lines if "signing password" in line)
    assert "未発行" in sign and "not issued" in sign
    assert sum("3 tries left" in line and "残り3回" in line for line in lines) == 2


def test_status_text_of_a_blocked_face_pin(insert_card) -> None:
    insert_card("face-blocked")
    text = card("status")
    assert text.returncode == 0, text.stderr
    face = next(line for line in text.stdout.splitlines() if "face PIN" in line)
    assert "ロック中" in face and "blocked" in face


def test_status_of_an_old_juki_card(insert_card) -> None:
    insert_card("adult", kind="juki")
    result = card("status", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["card"] == "juki"


def test_face(insert_card, test_pki: TestPki) -> None:
    insert_card("adult")
    result = card("face", "--json", "--jlis-key", str(test_pki.jlis_public_pem), pin="1234\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "name": "川崎 花子",
        "address": "神奈川県川崎市中原区小杉町3丁目10番地",
        "birth_date": "1988-06-12",
        "sex": "female",
        "my_number_last4": "0860",
        "hashes_match": True,
        "signature_valid": True,
    }
    assert "402135790860" not in result.stdout + result.stderr


def test_face_without_a_jlis_key_reports_null(insert_card) -> None:
    insert_card("elderly")
    result = card("face", "--json", pin="2580\n")
    assert json.loads(result.stdout)["signature_valid"] is None


def test_auth(insert_card, test_pki: TestPki) -> None:
    insert_card("adult")
    challenge = bytes(range(48))
    result = card("auth", "--json", "--challenge", challenge.hex(), pin="1234\n")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["algorithm"] == "RSASSA-PKCS1-v1_5-SHA256"
    verify_jpki_auth(
        base64.b64decode(out["certificate"]),
        base64.b64decode(out["signature"]),
        challenge,
        [test_pki.ca_cert],
        datetime.now(UTC),
    )


def test_exit_codes(insert_card) -> None:
    assert card("face", "--reader", SLOT0, pin="1234\n").returncode == 3  # no card
    emulator = insert_card("adult")
    wrong = card("face", pin="0000\n")
    assert wrong.returncode == 4 and "残り2回" in wrong.stderr and "2 tries left" in wrong.stderr
    assert card("face", pin="0000\n").returncode == 4
    last = card("face", pin="1234\n")
    assert last.returncode == 8 and "--confirm-last-try" not in last.stdout
    assert card("face", "--confirm-last-try", pin="0000\n").returncode == 5
    assert card("face", "--confirm-last-try", pin="1234\n").returncode == 5
    assert card("face", pin="12\n").returncode == 2  # format, checked before sending
    assert card("face").returncode == 2  # no PIN on stdin
    assert card("auth", pin="1234\n").returncode == 2  # --challenge missing
    assert card("auth", "--challenge", "zz", pin="1234\n").returncode == 2
    assert card("auth", "--challenge", "00", pin="1234\n").returncode == 0  # auth PIN is separate
    emulator.pull_after = 3
    assert card("face", pin="1234\n").returncode in (3, 7)


def test_not_a_my_number_card(insert_card) -> None:
    insert_card("adult", kind="foreign")
    result = card("face", pin="1234\n")
    assert result.returncode == 6
    assert "マイナンバーカードではありません" in result.stderr


def test_pulled_card_exit_code(insert_card) -> None:
    emulator = insert_card("adult")
    emulator.pull_after = 6
    result = card("face", pin="1234\n")
    assert result.returncode == 7, result.stderr
