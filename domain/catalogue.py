"""The vaccine catalogue: routine vaccines with their dose schedules, and the products on the market.

Loaded from versioned TOML files in `domain/data/catalogue/`. Every vaccine and product carries
effective-from and effective-to dates, so next April's rules load beside this year's and the engine
picks the entry in force on the vaccination date.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from yoshin.domain.codes import is_valid_gtin14
from yoshin.domain.contract import ROUTES
from yoshin.domain.i18n import Bilingual

# A path relative to this file works in a checkout and in an installed wheel alike (importlib.resources
# does not handle namespace packages on Python 3.11).
DATA_DIR = Path(__file__).resolve().parent / "data"
CATEGORIES = ("A", "B")  # A類 (mainly children), B類 (older people)


class CatalogueError(ValueError):
    """A catalogue file that does not describe a usable catalogue (a data error, for reviewers)."""


@dataclass(frozen=True, slots=True)
class DoseRule:
    """When dose `number` of a vaccine may be given."""

    number: int
    min_age_months: int | None = None
    max_age_months: int | None = None  # exclusive: up to the day before attaining it
    min_age_days: int | None = None  # for schedules counted in days (rotavirus: 6 weeks)
    max_age_days: int | None = None  # exclusive
    window: str | None = None  # a named window instead of ages: see eligibility.WINDOWS
    min_gap_days: int | None = None  # days strictly between this dose and the previous (中N日)
    min_gap_months: int | None = None  # calendar months after the previous dose
    min_gap_days_from_first: int | None = None  # days strictly between this dose and dose 1


@dataclass(frozen=True, slots=True)
class OlderAdultRule:
    """B類 targets: who is eligible by age, and the 60–64 disability condition."""

    basis: str  # "age_on_day" or "age_in_fiscal_year"
    min_age: int | None = None  # eligible from this age
    exact_ages: tuple[int, ...] = ()  # or only at these ages
    condition: str | None = None  # e.g. "b_class_disability"
    condition_ages: tuple[int, int] | None = None  # inclusive range where the condition qualifies
    per: str = "lifetime"  # "lifetime" or "fiscal_year" (yearly vaccines such as influenza)


@dataclass(frozen=True, slots=True)
class Vaccine:
    code: str
    category: str
    name: Bilingual
    live: bool
    injectable: bool
    route: str
    doses: tuple[DoseRule, ...]
    effective_from: date
    effective_to: date | None
    source: str
    sex: str | None = None
    older_adult: OlderAdultRule | None = None

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True, slots=True)
class Product:
    gtin: str
    vaccine_code: str
    manufacturer: str
    brand_name: str
    generic_name: str
    route: str
    dose_ml: Decimal
    effective_from: date
    effective_to: date | None

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True, slots=True)
class Catalogue:
    version: str
    vaccines: tuple[Vaccine, ...]
    products: tuple[Product, ...]

    def vaccine(self, code: str, on: date) -> Vaccine | None:
        """The entry for `code` in force on `on`, if any."""
        return next((v for v in self.vaccines if v.code == code and v.in_force(on)), None)

    def vaccines_in_force(self, on: date) -> list[Vaccine]:
        return [v for v in self.vaccines if v.in_force(on)]

    def product(self, gtin: str, on: date) -> Product | None:
        return next((p for p in self.products if p.gtin == gtin and p.in_force(on)), None)

    def products_for(self, vaccine_code: str, on: date) -> list[Product]:
        return [p for p in self.products if p.vaccine_code == vaccine_code and p.in_force(on)]


def load_catalogue(texts: Iterable[str]) -> Catalogue:
    """Build a catalogue from the text of one or more TOML files (e.g. this year's and next April's)."""
    versions: list[str] = []
    vaccines: list[Vaccine] = []
    products: list[Product] = []
    for text in texts:
        data = tomllib.loads(text)
        versions.append(str(_require(data, "catalogue", dict)["version"]))
        vaccines.extend(_vaccine(item) for item in data.get("vaccine", []))
        products.extend(_product(item) for item in data.get("product", []))
    _check_overlaps(vaccines)
    return Catalogue("+".join(versions), tuple(vaccines), tuple(products))


def catalogue_files() -> dict[str, str]:
    """The catalogue files shipped with yoshin, by name."""
    folder = DATA_DIR / "catalogue"
    return {path.name: path.read_text("utf-8") for path in sorted(folder.glob("*.toml"))}


def default_catalogue() -> Catalogue:
    return load_catalogue(text for _, text in sorted(catalogue_files().items()))


def _vaccine(item: Mapping[str, Any]) -> Vaccine:
    code = _require(item, "code", str)
    try:
        category = _require(item, "category", str)
        if category not in CATEGORIES:
            raise CatalogueError(f"category must be A or B, not {category!r}")
        route = _require(item, "route", str)
        if route not in ROUTES:
            raise CatalogueError(f"unknown route {route!r}")
        doses = tuple(DoseRule(**dose) for dose in _require(item, "dose", list))
        if [d.number for d in doses] != list(range(1, len(doses) + 1)):
            raise CatalogueError("doses must be numbered 1, 2, 3, ...")
        older = item.get("older_adult")
        older_rule = None
        if older is not None:
            older_rule = OlderAdultRule(
                basis=older["basis"],
                min_age=older.get("min_age"),
                exact_ages=tuple(older.get("exact_ages", ())),
                condition=older.get("condition"),
                condition_ages=tuple(older["condition_ages"]) if "condition_ages" in older else None,  # type: ignore[arg-type]
                per=older.get("per", "lifetime"),
            )
        return Vaccine(
            code=code,
            category=category,
            name=Bilingual(ja=_require(item, "name_ja", str), en=_require(item, "name_en", str)),
            live=_require(item, "live", bool),
            injectable=_require(item, "injectable", bool),
            route=route,
            doses=doses,
            effective_from=_require(item, "effective_from", date),
            effective_to=item.get("effective_to"),
            source=_require(item, "source", str),
            sex=item.get("sex"),
            older_adult=older_rule,
        )
    except (KeyError, TypeError) as error:
        raise CatalogueError(f"vaccine {code}: {error}") from None


def _product(item: Mapping[str, Any]) -> Product:
    gtin = _require(item, "gtin", str)
    if not is_valid_gtin14(gtin):
        raise CatalogueError(f"product {gtin}: not a GTIN-14 with a valid check digit")
    return Product(
        gtin=gtin,
        vaccine_code=_require(item, "vaccine_code", str),
        manufacturer=_require(item, "manufacturer", str),
        brand_name=_require(item, "brand_name", str),
        generic_name=_require(item, "generic_name", str),
        route=_require(item, "route", str),
        dose_ml=Decimal(_require(item, "dose_ml", str)),
        effective_from=_require(item, "effective_from", date),
        effective_to=item.get("effective_to"),
    )


def _check_overlaps(vaccines: list[Vaccine]) -> None:
    """Two entries for one vaccine must not be in force on the same day."""
    by_code: dict[str, list[Vaccine]] = {}
    for vaccine in vaccines:
        by_code.setdefault(vaccine.code, []).append(vaccine)
    for code, entries in by_code.items():
        entries.sort(key=lambda v: v.effective_from)
        for before, after in itertools.pairwise(entries):
            if before.effective_to is None or before.effective_to >= after.effective_from:
                raise CatalogueError(f"vaccine {code}: entries from {after.effective_from} overlap")


def _require(item: Mapping[str, Any], key: str, kind: type) -> Any:
    if key not in item:
        raise CatalogueError(f"missing {key!r}")
    value = item[key]
    if not isinstance(value, kind) or (kind is date and not isinstance(value, date)):
        raise CatalogueError(f"{key!r} must be {kind.__name__}")
    return value
