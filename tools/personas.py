"""Synthetic personas (tools/personas/*.toml): one truth for the card emulator, host registry and demo.

Every value is invented. A persona's card and its registry row agree, so a demo visit resolves.
"""

from __future__ import annotations

import csv
import enum
import io
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PERSONAS_DIR = Path(__file__).resolve().parent / "personas"
PIN_NAMES = ("auth", "face", "sign")


class SignCertificate(enum.StrEnum):
    """The JPKI signing certificate on the card (署名用電子証明書)."""

    VALID = "valid"
    ABSENT = "absent"  # children under 15 get none: no EF 0001, no signing PIN file (EF 001B)
    EXPIRED = "expired"
    REVOKED = "revoked"  # e.g. after an address change; the card itself is unchanged


@dataclass(frozen=True)
class CardProfile:
    """How this persona's card differs from a fresh adult's card (the `[card]` table of its TOML)."""

    sign_certificate: SignCertificate = SignCertificate.VALID
    tries: dict[str, int] = field(default_factory=dict)  # counters at insertion, e.g. {"face": 0} = blocked

    @classmethod
    def from_toml(cls, data: dict[str, object]) -> CardProfile:
        unknown = set(data) - {"sign_certificate", "tries"}
        if unknown:
            raise ValueError(f"unknown [card] keys: {', '.join(sorted(unknown))}")
        tries = dict(data.get("tries", {}))  # type: ignore[call-overload]
        if set(tries) - set(PIN_NAMES):
            raise ValueError(f"[card] tries names PINs other than {PIN_NAMES}")
        sign = SignCertificate(str(data.get("sign_certificate", "valid")))
        return cls(sign, {str(name): int(count) for name, count in tries.items()})


@dataclass(frozen=True)
class Persona:
    id: str
    label_ja: str
    label_en: str
    name: str
    kana: str
    address: str
    birth_date: date
    sex: str
    my_number: str
    municipality_code: str
    subject_id: str
    pins: dict[str, str]
    history: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    guardian_name: str | None = None
    card: CardProfile = field(default_factory=CardProfile)
    extra: dict[str, object] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print a (synthetic) My Number or PIN by accident
        return f"Persona({self.id})"


def load_persona(path: Path) -> Persona:
    data = tomllib.loads(path.read_text("utf-8"))
    data["history"] = tuple(data.get("history", ()))
    data["conditions"] = tuple(data.get("conditions", ()))
    data["card"] = CardProfile.from_toml(data.get("card", {}))
    if data["card"].sign_certificate is SignCertificate.ABSENT:
        if "sign" in data["pins"]:
            raise ValueError(f"{path.name}: a card without a signing certificate has no signing PIN")
    elif "sign" not in data["pins"]:
        raise ValueError(f"{path.name}: the signing PIN is missing")
    return Persona(**data)


def all_personas() -> dict[str, Persona]:
    personas = (load_persona(path) for path in sorted(PERSONAS_DIR.glob("*.toml")))
    return {persona.id: persona for persona in personas}


def persona(persona_id: str) -> Persona:
    try:
        return all_personas()[persona_id]
    except KeyError:
        raise KeyError(f"no persona {persona_id!r}; known: {', '.join(sorted(all_personas()))}") from None


REGISTRY_COLUMNS = (
    "my_number", "atena_number", "kana", "name", "birth_date", "sex", "address", "guardian_name",
    "municipality_code", "no_auto_answer", "no_disclosure", "viewing_suspended", "history", "conditions", "subject_id",
)  # fmt: skip


def registry_csv(personas: list[Persona], overrides: dict[str, dict[str, str]] | None = None) -> str:
    """A municipal registry extract (the `yoshin-host residents import` format) agreeing with the cards."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REGISTRY_COLUMNS)
    writer.writeheader()
    for number, who in enumerate(personas, start=1):
        row = {
            "my_number": who.my_number,
            "atena_number": f"{number:010d}",
            "kana": who.kana,
            "name": who.name,
            "birth_date": who.birth_date.isoformat(),
            "sex": who.sex,
            "address": who.address,
            "guardian_name": who.guardian_name or "",
            "municipality_code": who.municipality_code,
            "no_auto_answer": "0",
            "no_disclosure": "0",
            "viewing_suspended": "0",
            "history": ";".join(who.history),
            "conditions": ";".join(who.conditions),
            "subject_id": who.subject_id,
        }
        row.update((overrides or {}).get(who.id, {}))
        writer.writerow(row)
    return out.getvalue()
