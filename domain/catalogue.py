"""The vaccine catalogue: the rules vocabulary, the antigen series, the routine programmes and the products.

Loaded from versioned, effective-dated TOML files in `domain/data/catalogue/` (published to appliances
as the signed bundle). The model follows the structure of CDC's CDSi logic specification, with Japan's
rules as data:

- a **kind** is what a history entry or a product is (`hib`, `dpt_ipv_hib`, `mumps`, `yellow_fever`, ...):
  the antigens it contains, live or not, injectable or not, its routes, sites and dose amount by age;
- a **series** is the schedule of one antigen group (Hib, DPT-IPV phase 1, MR phase 2, ...): which kinds
  count (preferable and allowable, each with its own dates and ages), the paths chosen by the age at the
  first dose (catch-up), and the target doses with age, interval and conditional-skip rules;
- a **programme** (`[[vaccine]]`, the code the kiosk lists, the template and the product refer to) is a
  routine vaccination as a resident receives it: the series it drives, its category (A類/B類) and, for
  B類, who is a target;
- a **product** is a pack on the market (GTIN), of one kind, given under one programme.

Every allowing or refusing rule carries its `source` (law article, notice with its date, or a page with
its address); a rule not confirmed from a stored source carries `unconfirmed` saying what is uncertain.
Ages follow domain/age.py: a boundary age is attained on the day before the birthday and both ends of a
window are inclusive (「…に至るまで」「…未満」 include the day of attainment).
"""

from __future__ import annotations

import calendar
import itertools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from yoshin.domain.age import attainment_date
from yoshin.domain.codes import is_valid_gtin14
from yoshin.domain.contract import ROUTES, SITES
from yoshin.domain.i18n import Bilingual

# A path relative to this file works in a checkout and in an installed wheel alike (importlib.resources
# does not handle namespace packages on Python 3.11).
DATA_DIR = Path(__file__).resolve().parent / "data"
CATEGORIES = ("A", "B")  # A類 (mainly children), B類 (older people)
BASES = ("age_on_day", "age_at_fiscal_year_end")
RESETS = ("never", "fiscal_year", "pregnancy")  # pregnancy: only doses of the last 280 days count


class CatalogueError(ValueError):
    """A catalogue file that does not describe a usable catalogue (a data error, for reviewers)."""


# --- ages and intervals as the law counts them -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Age:
    """An age boundary: `months` (years are 12 months) or `days` after birth (出生N日後, rotavirus).

    `on(birth)` is the day the boundary is reached: for months the attainment day (the day before the
    corresponding day, or the month's last day); for days the N-th day after birth (出生6週0日後 = +42).
    """

    months: int = 0
    days: int = 0
    text: str = ""
    moved: int = 0  # days added to the boundary: only the mutation test moves data by a day

    def on(self, birth: date) -> date:
        if self.days:
            base = birth + timedelta(days=self.days)
        else:
            base = attainment_date(birth, self.months) if self.months else birth
        return base + timedelta(days=self.moved)


@dataclass(frozen=True, slots=True)
class Interval:
    """A minimum interval after a dose: N clear days (N日以上の間隔) or N months (N月以上の間隔).

    N days: the earliest next day is the dose day + N + 1 (27日 → the same weekday four weeks later).
    N months: the period ends on the attainment day N months on (民法143条), so the earliest next day is
    the day after it: 1 April + 3 months → 1 July; 30 November + 3 months → 1 March.
    """

    months: int = 0
    days: int = 0
    text: str = ""
    moved: int = 0

    def earliest_after(self, given: date) -> date:
        if self.months:
            base = attainment_date(given, self.months) + timedelta(days=1)
        else:
            base = given + timedelta(days=self.days + 1)
        return base + timedelta(days=self.moved)


def parse_age(text: str) -> Age:
    """`"2m"`, `"13y"`, `"42d"`, `"6w"` (weeks are 7 days after birth)."""
    number, unit = _split(text)
    if unit == "y":
        return Age(months=12 * number, text=text)
    if unit == "m":
        return Age(months=number, text=text)
    if unit == "w":
        return Age(days=7 * number, text=text)
    if unit == "d":
        return Age(days=number, text=text)
    raise CatalogueError(f"age {text!r}: use Ny, Nm, Nw or Nd")


def parse_interval(text: str) -> Interval:
    number, unit = _split(text)
    if unit == "m":
        return Interval(months=number, text=text)
    if unit == "d":
        return Interval(days=number, text=text)
    if unit == "w":
        return Interval(days=7 * number - 1, text=text)  # N weeks = 7N-1 clear days: same weekday N weeks on
    raise CatalogueError(f"interval {text!r}: use Nm, Nw or Nd")


def _split(text: str) -> tuple[int, str]:
    if not isinstance(text, str) or len(text) < 2 or not text[:-1].isdigit():
        raise CatalogueError(f"{text!r} is not a number followed by a unit")
    return int(text[:-1]), text[-1]


# --- the model -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoseBand:
    """The dose amount of a kind for an age band (添付文書): up to `below` (未満: inclusive of the day that age is
    attained, the day before the birthday, as the data's windows count it), None = any age."""

    ml: Decimal
    below: Age | None = None


@dataclass(frozen=True, slots=True)
class RouteBand:
    """The routes of a kind for an age band (添付文書: PCV20 is 皮下又は筋肉内 under 6, 筋肉内 from 6)."""

    routes: tuple[str, ...]
    below: Age | None = None


@dataclass(frozen=True, slots=True)
class Kind:
    code: str
    name: Bilingual
    antigens: frozenset[str]
    live: bool
    injectable: bool
    routes: tuple[str, ...]
    sites: tuple[str, ...]
    dose_ml: tuple[DoseBand, ...]
    source: str
    unconfirmed: str | None = None
    route_bands: tuple[RouteBand, ...] = ()  # by age; `routes` (all of them) when empty
    no_volume: bool = False  # the 添付文書 states no per-person volume (BCG 管針法): no amount check

    def dose_for(self, birth: date, on: date) -> Decimal | None:
        for band in self.dose_ml:  # 「3歳未満」 includes the day 3 is attained, like every 「未満」 of the data
            if band.below is None or on <= band.below.on(birth):
                return band.ml
        return None

    def routes_for(self, birth: date, on: date) -> tuple[str, ...]:
        for band in self.route_bands:
            if band.below is None or on <= band.below.on(birth):
                return band.routes
        return self.routes


@dataclass(frozen=True, slots=True)
class KindRule:
    """A kind that counts toward a series (CDSi preferable/allowable vaccine), with its own limits."""

    kind: str
    preferable: bool = False
    effective_from: date | None = None  # may be given under the programme from
    effective_to: date | None = None
    min_age: Age | None = None
    max_age: Age | None = None
    source: str = ""

    def usable(self, birth: date, on: date) -> bool:
        if self.effective_from is not None and on < self.effective_from:
            return False
        if self.effective_to is not None and on > self.effective_to:
            return False
        if self.min_age is not None and on < self.min_age.on(birth):
            return False
        return not (self.max_age is not None and on > self.max_age.on(birth))


@dataclass(frozen=True, slots=True)
class TargetDose:
    """One target dose of a path (CDSi target dose)."""

    min_age: Age | None = None
    max_age: Age | None = None  # inclusive: the day the age is attained is still inside
    interval: Interval | None = None  # from the previous dose given in this series
    interval_from_first: Interval | None = None  # from the first dose (Hep B dose 3: 139 days)
    skip_after_age: Age | None = None  # not given after this age (初回2回目・3回目は生後12月に至るまで)
    skip_if_previous_after: Age | None = None  # not given when the previous dose was after this age
    interval_after_skip: Interval | None = None  # the interval used when an earlier target was skipped
    # not given when the previous dose came at least this long after the first (HPV 9価: 2 doses 5か月以上
    # apart complete the series; a second dose sooner needs a third)
    skip_if_previous_from_first: Interval | None = None
    source: str = ""
    unconfirmed: str | None = None

    def skipped(self, birth: date, on: date, previous: date | None, first: date | None = None) -> bool:
        if self.skip_after_age is not None and on > self.skip_after_age.on(birth):
            return True
        if (
            self.skip_if_previous_from_first is not None
            and previous is not None
            and first is not None
            and previous >= self.skip_if_previous_from_first.earliest_after(first)
        ):
            return True
        return (
            self.skip_if_previous_after is not None
            and previous is not None
            and previous > self.skip_if_previous_after.on(birth)
        )


@dataclass(frozen=True, slots=True)
class SeriesPath:
    """The target doses for children who start the series up to `start_until` (catch-up by start age)."""

    code: str
    doses: tuple[TargetDose, ...]
    start_until: Age | None = None  # inclusive; None = any start age
    source: str = ""
    start_kinds: tuple[str, ...] = ()  # only for a series started with one of these kinds (or not started)


@dataclass(frozen=True, slots=True)
class Extension:
    """A temporary extension of the series' last day for a birth cohort (供給不足による延長など)."""

    born_from: date
    born_to: date
    until: date
    note: Bilingual
    source: str


@dataclass(frozen=True, slots=True)
class Series:
    code: str
    name: Bilingual
    antigens: frozenset[str]
    kinds: tuple[KindRule, ...]
    paths: tuple[SeriesPath, ...]
    effective_from: date
    effective_to: date | None
    source: str
    number_from: int = 1  # the programme's dose number of this series' first dose (MR phase 2 = 2)
    window: str | None = None  # a named window instead of ages: see series.WINDOWS
    reset: str = "never"  # "fiscal_year": yearly vaccines count only this fiscal year's doses
    period_from: date | None = None  # absolute period (経過措置)
    period_to: date | None = None
    born_from: date | None = None  # cohort (経過措置)
    born_to: date | None = None
    requires_dose_from: date | None = None  # at least one dose already given in this date range
    requires_dose_to: date | None = None
    extensions: tuple[Extension, ...] = ()
    unconfirmed: str | None = None

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def counts(self, kind: str) -> bool:
        return any(rule.kind == kind for rule in self.kinds)


@dataclass(frozen=True, slots=True)
class Target:
    """One way to be a B類 target: by age (on the day or at the fiscal year's end), maybe with a condition."""

    basis: str
    min_age: Age | None = None
    max_age: Age | None = None  # inclusive
    ages: tuple[int, ...] = ()  # exact ages in years (age_at_fiscal_year_end)
    conditions_any: tuple[str, ...] = ()
    effective_to: date | None = None  # a transitional target (経過措置) ends
    source: str = ""
    unconfirmed: str | None = None


@dataclass(frozen=True, slots=True)
class Vaccine:
    """A routine programme: what the kiosk lists, what a template and a product refer to."""

    code: str
    category: str
    name: Bilingual
    live: bool
    injectable: bool
    route: str
    series: tuple[str, ...]
    effective_from: date
    effective_to: date | None
    source: str
    sex: str | None = None
    targets: tuple[Target, ...] = ()
    yield_to: tuple[str, ...] = ()  # not offered while one of these programmes is due (it covers the antigen)
    same_kind: bool = False  # a series started with one kind is finished with the same kind (ロタ 1価/5価)
    disease_exempt: bool = False  # 施行令3条: having had the disease does not exclude (flu, COVID-19)
    unconfirmed: str | None = None

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True, slots=True)
class Product:
    gtin: str
    vaccine_code: str
    kind: str
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
    kinds: Mapping[str, Kind] = field(default_factory=dict)
    series_list: tuple[Series, ...] = ()
    conditions: Mapping[str, Bilingual] = field(default_factory=dict)
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def vaccine(self, code: str, on: date) -> Vaccine | None:
        """The programme `code` in force on `on`, if any."""
        return next((v for v in self.vaccines if v.code == code and v.in_force(on)), None)

    def vaccines_in_force(self, on: date) -> list[Vaccine]:
        return [v for v in self.vaccines if v.in_force(on)]

    def series(self, code: str, on: date) -> Series | None:
        return next((s for s in self.series_list if s.code == code and s.in_force(on)), None)

    def kind(self, code: str) -> Kind | None:
        """The kind of a history code: a kind code, a programme code (its first series' preferable
        kind, for histories recorded by programme) or a product GTIN."""
        if code in self.kinds:
            return self.kinds[code]
        product = next((p for p in self.products if p.gtin == code), None)
        if product is not None:
            return self.kinds.get(product.kind)
        programme = next((v for v in self.vaccines if v.code == code), None)
        if programme is not None:
            return self.kinds.get(_programme_kind(self, programme))
        return None

    def product(self, gtin: str, on: date) -> Product | None:
        return next((p for p in self.products if p.gtin == gtin and p.in_force(on)), None)

    def products_for(self, vaccine_code: str, on: date) -> list[Product]:
        return [p for p in self.products if p.vaccine_code == vaccine_code and p.in_force(on)]


def _programme_kind(catalogue: Catalogue, programme: Vaccine) -> str:
    for code in programme.series:
        for series in catalogue.series_list:
            if series.code == code:
                preferable = [rule.kind for rule in series.kinds if rule.preferable]
                return (preferable or [series.kinds[0].kind])[0]
    return programme.code


# --- loading ---------------------------------------------------------------------------------------


def load_catalogue(texts: Iterable[str]) -> Catalogue:
    """Build a catalogue from the text of one or more TOML files (e.g. this year's and next April's)."""
    versions: list[str] = []
    vaccines: list[Vaccine] = []
    products: list[Product] = []
    kinds: dict[str, Kind] = {}
    series: list[Series] = []
    conditions: dict[str, Bilingual] = {}
    aliases: dict[str, tuple[str, ...]] = {}
    for text in texts:
        data = tomllib.loads(text)
        versions.append(str(_require(data, "catalogue", dict)["version"]))
        for item in data.get("kind", []):
            kind = _kind(item)
            kinds[kind.code] = kind
        for item in data.get("condition", []):
            code = _require(item, "code", str)
            conditions[code] = Bilingual(ja=_require(item, "ja", str), en=_require(item, "en", str))
            if "means" in item:
                aliases[code] = tuple(item["means"])
        series.extend(_series(item) for item in data.get("series", []))
        vaccines.extend(_vaccine(item) for item in data.get("vaccine", []))
        products.extend(_product(item) for item in data.get("product", []))
    _check_overlaps(vaccines, lambda v: v.code, "vaccine")
    _check_overlaps(series, lambda s: s.code, "series")
    _check_references(kinds, series, vaccines, products)
    return Catalogue("+".join(versions), tuple(vaccines), tuple(products), kinds, tuple(series), conditions, aliases)


def catalogue_files() -> dict[str, str]:
    """The catalogue files shipped with yoshin, by name."""
    folder = DATA_DIR / "catalogue"
    return {path.name: path.read_text("utf-8") for path in sorted(folder.glob("*.toml"))}


def default_catalogue() -> Catalogue:
    return load_catalogue(text for _, text in sorted(catalogue_files().items()))


def _kind(item: Mapping[str, Any]) -> Kind:
    code = _require(item, "code", str)
    try:
        routes = tuple(_require(item, "routes", list))
        sites = tuple(item.get("sites", ()))
        if unknown := [r for r in routes if r not in ROUTES] + [s for s in sites if s not in SITES]:
            raise CatalogueError(f"unknown route or site {unknown}")
        bands = tuple(
            DoseBand(Decimal(str(band["ml"])), parse_age(band["below"]) if "below" in band else None)
            for band in item.get("dose_ml", ())
        )
        route_bands = tuple(
            RouteBand(tuple(band["routes"]), parse_age(band["below"]) if "below" in band else None)
            for band in item.get("route_bands", ())
        )
        if stray := [r for band in route_bands for r in band.routes if r not in routes]:
            raise CatalogueError(f"route_bands name routes not in routes: {stray}")
        return Kind(
            code=code,
            name=Bilingual(ja=_require(item, "name_ja", str), en=_require(item, "name_en", str)),
            antigens=frozenset(_require(item, "antigens", list)),
            live=_require(item, "live", bool),
            injectable=_require(item, "injectable", bool),
            routes=routes,
            sites=sites,
            dose_ml=bands,
            source=_require(item, "source", str),
            unconfirmed=item.get("unconfirmed"),
            route_bands=route_bands,
            no_volume=item.get("no_volume", False),
        )
    except (KeyError, TypeError) as error:
        raise CatalogueError(f"kind {code}: {error}") from None


def _opt_age(item: Mapping[str, Any], key: str) -> Age | None:
    return parse_age(item[key]) if key in item else None


def _opt_interval(item: Mapping[str, Any], key: str) -> Interval | None:
    return parse_interval(item[key]) if key in item else None


def _dose(item: Mapping[str, Any]) -> TargetDose:
    known = {
        "min_age", "max_age", "interval", "interval_from_first", "skip_after_age", "skip_if_previous_after",
        "interval_after_skip", "skip_if_previous_from_first", "source", "unconfirmed",
    }  # fmt: skip
    if unknown := set(item) - known:
        raise CatalogueError(f"unknown dose keys {sorted(unknown)}")
    return TargetDose(
        min_age=_opt_age(item, "min_age"),
        max_age=_opt_age(item, "max_age"),
        interval=_opt_interval(item, "interval"),
        interval_from_first=_opt_interval(item, "interval_from_first"),
        skip_after_age=_opt_age(item, "skip_after_age"),
        skip_if_previous_after=_opt_age(item, "skip_if_previous_after"),
        interval_after_skip=_opt_interval(item, "interval_after_skip"),
        skip_if_previous_from_first=_opt_interval(item, "skip_if_previous_from_first"),
        source=item.get("source", ""),
        unconfirmed=item.get("unconfirmed"),
    )


def _series(item: Mapping[str, Any]) -> Series:
    code = _require(item, "code", str)
    try:
        kinds = tuple(
            KindRule(
                kind=rule["kind"],
                preferable=rule.get("preferable", False),
                effective_from=rule.get("effective_from"),
                effective_to=rule.get("effective_to"),
                min_age=_opt_age(rule, "min_age"),
                max_age=_opt_age(rule, "max_age"),
                source=rule.get("source", ""),
            )
            for rule in _require(item, "kinds", list)
        )
        paths = tuple(
            SeriesPath(
                code=_require(path, "code", str),
                doses=tuple(_dose(d) for d in _require(path, "dose", list)),
                start_until=_opt_age(path, "start_until"),
                source=path.get("source", ""),
                start_kinds=tuple(path.get("start_kinds", ())),
            )
            for path in _require(item, "path", list)
        )
        if not paths or any(not p.doses for p in paths):
            raise CatalogueError("a series needs at least one path with at least one dose")
        reset = item.get("reset", "never")
        if reset not in RESETS:
            raise CatalogueError(f"reset must be one of {RESETS}")
        extensions = tuple(
            Extension(
                born_from=_require(ext, "born_from", date),
                born_to=_require(ext, "born_to", date),
                until=_require(ext, "until", date),
                note=Bilingual(ja=_require(ext, "note_ja", str), en=_require(ext, "note_en", str)),
                source=_require(ext, "source", str),
            )
            for ext in item.get("extension", [])
        )
        return Series(
            code=code,
            name=Bilingual(ja=_require(item, "name_ja", str), en=_require(item, "name_en", str)),
            antigens=frozenset(_require(item, "antigens", list)),
            kinds=kinds,
            paths=paths,
            effective_from=_require(item, "effective_from", date),
            effective_to=item.get("effective_to"),
            source=_require(item, "source", str),
            number_from=item.get("number_from", 1),
            window=item.get("window"),
            reset=reset,
            period_from=item.get("period_from"),
            period_to=item.get("period_to"),
            born_from=item.get("born_from"),
            born_to=item.get("born_to"),
            requires_dose_from=item.get("requires_dose_from"),
            requires_dose_to=item.get("requires_dose_to"),
            extensions=extensions,
            unconfirmed=item.get("unconfirmed"),
        )
    except (KeyError, TypeError) as error:
        raise CatalogueError(f"series {code}: {error}") from None


def _vaccine(item: Mapping[str, Any]) -> Vaccine:
    code = _require(item, "code", str)
    try:
        category = _require(item, "category", str)
        if category not in CATEGORIES:
            raise CatalogueError(f"category must be A or B, not {category!r}")
        route = _require(item, "route", str)
        if route not in ROUTES:
            raise CatalogueError(f"unknown route {route!r}")
        targets = []
        for target in item.get("target", []):
            if target["basis"] not in BASES:
                raise CatalogueError(f"target basis must be one of {BASES}")
            targets.append(
                Target(
                    basis=target["basis"],
                    min_age=_opt_age(target, "min_age"),
                    max_age=_opt_age(target, "max_age"),
                    ages=tuple(target.get("ages", ())),
                    conditions_any=tuple(target.get("conditions_any", ())),
                    effective_to=target.get("effective_to"),
                    source=_require(target, "source", str),
                    unconfirmed=target.get("unconfirmed"),
                )
            )
        return Vaccine(
            code=code,
            category=category,
            name=Bilingual(ja=_require(item, "name_ja", str), en=_require(item, "name_en", str)),
            live=_require(item, "live", bool),
            injectable=_require(item, "injectable", bool),
            route=route,
            series=tuple(_require(item, "series", list)),
            effective_from=_require(item, "effective_from", date),
            effective_to=item.get("effective_to"),
            source=_require(item, "source", str),
            sex=item.get("sex"),
            targets=tuple(targets),
            yield_to=tuple(item.get("yield_to", ())),
            same_kind=item.get("same_kind", False),
            disease_exempt=item.get("disease_exempt", False),
            unconfirmed=item.get("unconfirmed"),
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
        kind=item.get("kind", item["vaccine_code"]),
        manufacturer=_require(item, "manufacturer", str),
        brand_name=_require(item, "brand_name", str),
        generic_name=_require(item, "generic_name", str),
        route=_require(item, "route", str),
        dose_ml=Decimal(_require(item, "dose_ml", str)),
        effective_from=_require(item, "effective_from", date),
        effective_to=item.get("effective_to"),
    )


def _check_overlaps(entries: list[Any], key: Any, what: str) -> None:
    """Two entries for one code must not be in force on the same day."""
    by_code: dict[str, list[Any]] = {}
    for entry in entries:
        by_code.setdefault(key(entry), []).append(entry)
    for code, same in by_code.items():
        same.sort(key=lambda e: e.effective_from)
        for before, after in itertools.pairwise(same):
            if before.effective_to is None or before.effective_to >= after.effective_from:
                raise CatalogueError(f"{what} {code}: entries from {after.effective_from} overlap")


def _check_references(
    kinds: Mapping[str, Kind], series: list[Series], vaccines: list[Vaccine], products: list[Product]
) -> None:
    """Every code a rule names exists, so a typo in the data cannot silently allow or refuse."""
    if not kinds:  # a file of programmes only (tests of effective dating) refers to the shipped kinds
        return
    series_codes = {s.code for s in series}
    for item in series:
        for rule in item.kinds:
            if rule.kind not in kinds:
                raise CatalogueError(f"series {item.code}: unknown kind {rule.kind!r}")
    for vaccine in vaccines:
        for code in vaccine.series:
            if code not in series_codes:
                raise CatalogueError(f"vaccine {vaccine.code}: unknown series {code!r}")
    for product in products:
        if product.kind not in kinds:
            raise CatalogueError(f"product {product.gtin}: unknown kind {product.kind!r}")


def _require(item: Mapping[str, Any], key: str, kind: type) -> Any:
    if key not in item:
        raise CatalogueError(f"missing {key!r}")
    value = item[key]
    if not isinstance(value, kind) or (kind is date and not isinstance(value, date)):
        raise CatalogueError(f"{key!r} must be {kind.__name__}")
    return value


def add_months(start: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (used for display only)."""
    year, index = divmod(start.month - 1 + months, 12)
    year += start.year
    last = calendar.monthrange(year, index + 1)[1]
    return date(year, index + 1, min(start.day, last))
