"""`yoshin-card`: My Number card access over PC/SC (readers, status, face read, JPKI auth).

The PIN is read from standard input (one line), never from the command line. Messages go to stderr,
in Japanese and English; `--json` prints one JSON object on stdout. Exit codes are a contract that
scripts and the host's tests rely on (docs/smartcard.md).
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from yoshin.smartcard.card import Pin, open_card
from yoshin.smartcard.errors import (
    CardError,
    CardRemovedError,
    LastTryConfirmationRequired,
    NoCardError,
    NoReaderError,
    NotMyNumberCardError,
    PinBlockedError,
    PinFormatError,
    WrongPinError,
)
from yoshin.smartcard.transport import PcscContext

EXIT_CODES: list[tuple[type[CardError], int]] = [
    (NoReaderError, 3),
    (NoCardError, 3),
    (WrongPinError, 4),
    (PinBlockedError, 5),
    (NotMyNumberCardError, 6),
    (CardRemovedError, 7),
    (LastTryConfirmationRequired, 8),
    (PinFormatError, 2),
]
T = TypeVar("T")

reader_option = click.option(
    "--reader",
    help="Reader: its name, a unique part of it, or its number in `readers` (default: the one reader holding a card).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
confirm_option = click.option(
    "--confirm-last-try", is_flag=True, help="Allow the attempt when exactly one PIN try is left."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
def main() -> None:
    """My Number card access over PC/SC: readers, PIN status, face read, JPKI authentication.

    Exit codes: 0 ok, 1 other failure, 2 usage, 3 no reader or no card, 4 wrong PIN, 5 PIN blocked,
    6 not a My Number card, 7 card removed, 8 last try needs --confirm-last-try.
    """


@main.command()
@json_option
def readers(as_json: bool) -> None:
    """List PC/SC readers and whether each holds a card."""

    def run() -> dict[str, Any]:
        with PcscContext() as context:
            found = context.list_readers()
        if not found:
            raise NoReaderError()
        return {"readers": [{"name": r.name, "card_present": r.card_present} for r in found]}

    result = _guard(run)
    _emit(
        result,
        as_json,
        lambda: "\n".join(
            f"{n}\t{r['name']}\t{'card' if r['card_present'] else '-'}" for n, r in enumerate(result["readers"])
        ),
    )


@main.command()
@reader_option
@json_option
def status(reader: str | None, as_json: bool) -> None:
    """Identify the card and show the tries left of the three PINs (uses no try).

    A PIN the card does not hold (a child's card has no signing PIN) is null in JSON and "not issued"
    in text.
    """

    def run() -> dict[str, Any]:
        with open_card(reader) as card:
            try:
                kind = card.identify()
            except NotMyNumberCardError as error:
                kind = error.kind
            pins = card.pin_status()
            return {
                "reader": card.channel.reader,
                "card": kind,
                "pins": {pin.value: pins.get(pin) for pin in Pin},
            }

    result = _guard(run)
    _emit(result, as_json, lambda: status_text(result))


PIN_LABELS = {
    Pin.AUTH: "利用者証明用電子証明書の暗証番号 / user-authentication PIN",
    Pin.FACE: "券面事項入力補助用の暗証番号 / face PIN",
    Pin.SIGN: "署名用電子証明書の暗証番号 / signing password",
}


def tries_text(tries: int | None) -> str:
    if tries is None:
        return "未発行 / not issued"
    if tries == 0:
        return "ロック中 (市区町村の窓口で再設定) / blocked (reset at the municipal office)"
    return f"残り{tries}回 / {tries} {'try' if tries == 1 else 'tries'} left"


def status_text(result: dict[str, Any]) -> str:
    lines = [f"{result['reader']}: {result['card']}"]
    lines += [f"{PIN_LABELS[pin]}: {tries_text(result['pins'][pin.value])}" for pin in Pin]
    return "\n".join(lines)


@main.command()
@reader_option
@json_option
@confirm_option
@click.option(
    "--jlis-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="J-LIS public key (PEM)."
)
def face(reader: str | None, as_json: bool, confirm_last_try: bool, jlis_key: Path | None) -> None:
    """Read name, address, birth date and sex with the 4-digit PIN (券面事項入力補助AP). PIN on stdin."""
    key = _load_rsa_key(jlis_key) if jlis_key else None
    pin = _read_pin()

    def run() -> dict[str, Any]:
        with open_card(reader) as card:
            read = card.read_face(pin, confirm_last_try=confirm_last_try, jlis_key=key)
        info = read.basic_info
        return {
            "name": info.name,
            "address": info.address,
            "birth_date": info.birth_date.isoformat(),
            "sex": info.sex,
            "my_number_last4": read.my_number.last4,
            "hashes_match": read.hashes_match,
            "signature_valid": read.signature_valid,
        }

    result = _guard(run)
    _emit(result, as_json, lambda: "\n".join(f"{k}: {v}" for k, v in result.items()))


@main.command()
@reader_option
@json_option
@confirm_option
@click.option("--challenge", required=True, help="The host's challenge, hex.")
def auth(reader: str | None, as_json: bool, confirm_last_try: bool, challenge: str) -> None:
    """Sign the host's challenge with the JPKI user-authentication key. PIN on stdin."""
    try:
        challenge_bytes = bytes.fromhex(challenge)
    except ValueError:
        raise click.BadParameter("must be hexadecimal", param_hint="--challenge") from None
    if not challenge_bytes:
        raise click.BadParameter("must not be empty", param_hint="--challenge")
    pin = _read_pin()

    def run() -> dict[str, Any]:
        with open_card(reader) as card:
            signed = card.jpki_authenticate(pin, challenge_bytes, confirm_last_try=confirm_last_try)
        return {
            "certificate": base64.b64encode(signed.certificate).decode(),
            "signature": base64.b64encode(signed.signature).decode(),
            "algorithm": signed.algorithm,
        }

    result = _guard(run)
    _emit(result, as_json, lambda: json.dumps(result, indent=2))


def _read_pin() -> str:
    line = sys.stdin.readline()
    if not line.strip():
        click.echo(
            "暗証番号を標準入力から1行で入力してください / Give the PIN as one line on standard input",
            err=True,
        )
        sys.exit(2)
    return line.rstrip("\r\n")


def _load_rsa_key(path: Path) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, rsa.RSAPublicKey):
        raise click.BadParameter("not an RSA public key", param_hint="--jlis-key")
    return key


def _guard(run: Callable[[], T]) -> T:
    """Run a card flow; on a card error, print its message to stderr and exit with its code."""
    try:
        return run()
    except CardError as error:
        click.echo(str(error.message), err=True)
        code = next((code for kind, code in EXIT_CODES if isinstance(error, kind)), 1)
        sys.exit(code)


def _emit(result: dict[str, Any], as_json: bool, text: Callable[[], str]) -> None:
    click.echo(json.dumps(result, ensure_ascii=False) if as_json else text())


if __name__ == "__main__":
    main()
