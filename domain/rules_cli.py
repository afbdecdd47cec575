"""`yoshin-rules`: the rules engine from the command line, with the library's names.

- `check`: JSON lines of cases in, JSON lines of verdicts out (`yoshin.domain.series.evaluate`);
- `schedule`: the due list and a forecast for one person (`series.due_list`, `series.forecast`);
- `explain`: the path taken through the rules, with sources (`Verdict.steps`);
- `guard`: JSON lines of administrations in, findings out (`yoshin.domain.rules_guard.guard`).

A case is `{"birth_date", "sex", "conditions": [...], "history": [...], "on", "vaccine"}`; a history item
is `{"code", "dose", "date"}` or the registry's `"code:dose:YYYY-MM-DD"`. The vocabulary of codes is in
docs/questionnaire.md. A bad line gets a bilingual error line, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

import click

from yoshin.domain.catalogue import Catalogue, CatalogueError, default_catalogue, load_catalogue
from yoshin.domain.i18n import Bilingual
from yoshin.domain.rules_guard import Given, guard
from yoshin.domain.series import Case, HistoryEntry, Subject, Verdict, due_list, evaluate, forecast

SEXES = ("male", "female", "not_applicable")


class CaseError(ValueError):
    def __init__(self, message: Bilingual) -> None:
        super().__init__(str(message))
        self.message = message


def _date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CaseError(
            Bilingual(ja=f"{name} は YYYY-MM-DD で指定してください", en=f"{name} must be YYYY-MM-DD")
        ) from None


def parse_history(items: Iterable[Any]) -> tuple[HistoryEntry, ...]:
    entries = []
    for item in items:
        code: Any
        dose: Any
        when: Any
        if isinstance(item, str):
            parts = item.split(":")
            if len(parts) != 3:
                raise CaseError(Bilingual(ja="接種歴は code:回数:日付 です", en="history items are code:dose:date"))
            code, dose, when = parts
        elif isinstance(item, dict):
            code, dose, when = item.get("code"), item.get("dose", 1), item.get("date")
        else:
            raise CaseError(Bilingual(ja="接種歴の形式が違います", en="a history item must be an object or a string"))
        if not isinstance(code, str) or not code:
            raise CaseError(Bilingual(ja="接種歴のコードがありません", en="a history item needs a code"))
        try:
            number = int(dose)
        except (TypeError, ValueError):
            raise CaseError(Bilingual(ja="接種回数は整数です", en="dose must be an integer")) from None
        entries.append(HistoryEntry(code, number, _date(when, "history date")))
    return tuple(entries)


def parse_subject(data: dict[str, Any]) -> Subject:
    sex = data.get("sex", "not_applicable")
    if sex not in SEXES:
        raise CaseError(Bilingual(ja=f"性別は {', '.join(SEXES)} のいずれかです", en=f"sex must be one of {SEXES}"))
    conditions = data.get("conditions", [])
    if not isinstance(conditions, list) or not all(isinstance(c, str) for c in conditions):
        raise CaseError(Bilingual(ja="conditions は文字列のリストです", en="conditions must be a list of strings"))
    return Subject(_date(data.get("birth_date"), "birth_date"), sex, frozenset(conditions))


def parse_case(data: Any) -> Case:
    if not isinstance(data, dict):
        raise CaseError(Bilingual(ja="1行に1つのJSONオブジェクトです", en="each line must be one JSON object"))
    vaccine = data.get("vaccine")
    if not isinstance(vaccine, str) or not vaccine:
        raise CaseError(
            Bilingual(ja="vaccine (ワクチンコード) がありません", en="vaccine (a programme code) is missing")
        )
    history = data.get("history", [])
    if not isinstance(history, list):
        raise CaseError(Bilingual(ja="history はリストです", en="history must be a list"))
    return Case(parse_subject(data), parse_history(history), _date(data.get("on"), "on"), vaccine)


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "vaccine": verdict.vaccine_code,
        "eligible": verdict.eligible,
        "dose_number": verdict.dose_number,
        "series": verdict.series,
        "path": verdict.path,
        "reasons": [{"code": r.code, "ja": r.text.ja, "en": r.text.en, "source": r.source} for r in verdict.reasons],
        "next_due": verdict.next_due.isoformat() if verdict.next_due else None,
        "last_day": verdict.last_day.isoformat() if verdict.last_day else None,
        "kinds": list(verdict.kinds),
    }


def _error_json(number: int, message: Bilingual) -> dict[str, Any]:
    return {"line": number, "error": {"ja": message.ja, "en": message.en}}


def _lines(stream: TextIO) -> Iterable[tuple[int, Any]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError:
            yield number, CaseError(Bilingual(ja="JSONとして読めません", en="not valid JSON"))


def _catalogue(files: tuple[str, ...]) -> Catalogue:
    if not files:
        return default_catalogue()
    try:
        return load_catalogue(Path(name).read_text("utf-8") for name in files)
    except (OSError, CatalogueError, ValueError) as error:
        raise click.ClickException(f"カタログを読めません / cannot load the catalogue: {error}") from None


def _print(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


catalogue_option = click.option(
    "--catalogue", "catalogue_files", multiple=True, help="catalogue TOML file(s) instead of the shipped ones"
)


@click.group()
def main() -> None:
    """Routine-vaccination rules: check cases, show a schedule, explain a verdict, guard a pack."""


@main.command()
@catalogue_option
def check(catalogue_files: tuple[str, ...]) -> None:
    """JSON lines of cases on stdin -> JSON lines of verdicts on stdout."""
    catalogue = _catalogue(catalogue_files)
    _answer_lines(lambda data: verdict_json(evaluate(parse_case(data), catalogue)))


def _answer_lines(answer: Callable[[Any], dict[str, Any]]) -> None:
    """One JSON line out for each line in: `answer(data)`, or the line's bilingual error; exit 1 on any error."""
    failed = False
    for number, data in _lines(sys.stdin):
        try:
            if isinstance(data, CaseError):
                raise data
            _print(answer(data))
        except CaseError as error:
            failed = True
            _print(_error_json(number, error.message))
    sys.exit(1 if failed else 0)


def _person_options(function: Any) -> Any:
    for option in reversed(
        [
            click.option("--birth-date", required=True, help="YYYY-MM-DD"),
            click.option("--on", "on", required=True, help="the day, YYYY-MM-DD"),
            click.option("--sex", type=click.Choice(SEXES), default="not_applicable"),
            click.option("--condition", "conditions", multiple=True, help="condition code (repeatable)"),
            click.option("--history", "history", multiple=True, help="code:dose:YYYY-MM-DD (repeatable)"),
            catalogue_option,
        ]
    ):
        function = option(function)
    return function


def _subject_history(
    birth_date: str, sex: str, conditions: tuple[str, ...], history: tuple[str, ...]
) -> tuple[Subject, tuple[HistoryEntry, ...]]:
    try:
        subject = parse_subject({"birth_date": birth_date, "sex": sex, "conditions": list(conditions)})
        return subject, parse_history(history)
    except CaseError as error:
        raise click.BadParameter(str(error.message)) from None


@main.command()
@_person_options
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text")
def schedule(
    birth_date: str, on: str, sex: str, conditions: tuple[str, ...], history: tuple[str, ...],
    catalogue_files: tuple[str, ...], as_json: bool,
) -> None:  # fmt: skip
    """The due list on --on and, for the rest, when each becomes due."""
    subject, entries = _subject_history(birth_date, sex, conditions, history)
    day = _click_date(on)
    catalogue = _catalogue(catalogue_files)
    due = due_list(subject, entries, day, catalogue)
    ahead = [v for v in forecast(subject, entries, day, catalogue) if not v.eligible]
    if as_json:
        _print({"due": [verdict_json(v) for v in due], "forecast": [verdict_json(v) for v in ahead]})
        return
    click.echo(f"due on {day.isoformat()}:")
    for verdict in due:
        click.echo(
            f"  {verdict.vaccine_code} dose {verdict.dose_number} ({verdict.series}) kinds {','.join(verdict.kinds)}"
        )
    click.echo("forecast:")
    for verdict in ahead:
        when = verdict.next_due.isoformat() if verdict.next_due else "-"
        codes = ",".join(verdict.codes)
        click.echo(f"  {verdict.vaccine_code} dose {verdict.dose_number or '-'} next {when} ({codes})")


@main.command()
@_person_options
@click.option("--vaccine", required=True, help="programme code")
def explain(
    birth_date: str, on: str, sex: str, conditions: tuple[str, ...], history: tuple[str, ...],
    catalogue_files: tuple[str, ...], vaccine: str,
) -> None:  # fmt: skip
    """The path taken through the rules for one vaccine, with the source of each step."""
    subject, entries = _subject_history(birth_date, sex, conditions, history)
    verdict = evaluate(Case(subject, entries, _click_date(on), vaccine), _catalogue(catalogue_files))
    answer = "eligible" if verdict.eligible else "not eligible"
    click.echo(f"{vaccine}: {answer}, dose {verdict.dose_number or '-'}, series {verdict.series or '-'}")
    for step in verdict.steps:
        click.echo(f"  - {step.text}")
        if step.source:
            click.echo(f"      source: {step.source}")
    for reason in verdict.reasons:
        click.echo(f"  reason {reason.code}: {reason.text.ja} / {reason.text.en}")
        if reason.source:
            click.echo(f"      source: {reason.source}")


@main.command(name="guard")
@catalogue_option
def guard_command(catalogue_files: tuple[str, ...]) -> None:
    """JSON lines of {case fields, "given": {product, dose_number, dose_ml, route, site, lot_expiry}} -> findings."""
    catalogue = _catalogue(catalogue_files)

    def findings(data: Any) -> dict[str, Any]:
        given = _given(data.get("given") if isinstance(data, dict) else None)
        subject = parse_subject(data)
        history = parse_history(data.get("history", []))
        found = guard(subject, history, given, _date(data.get("on"), "on"), catalogue)
        return {
            "findings": [
                {"code": f.code.value, "ja": f.message.ja, "en": f.message.en, "overridable": f.overridable}
                for f in found
            ]
        }

    _answer_lines(findings)


def _given(data: Any) -> Given:
    if not isinstance(data, dict) or not isinstance(data.get("product"), str):
        raise CaseError(Bilingual(ja="given.product (GTIN か種類コード) がありません", en="given.product is missing"))
    try:
        dose_ml = Decimal(str(data["dose_ml"])) if data.get("dose_ml") is not None else None
    except InvalidOperation:
        raise CaseError(Bilingual(ja="dose_ml は数値です", en="dose_ml must be a number")) from None
    expiry = _date(data["lot_expiry"], "lot_expiry") if data.get("lot_expiry") else None
    number = data.get("dose_number")
    if number is not None and not isinstance(number, int):
        raise CaseError(Bilingual(ja="dose_number は整数です", en="dose_number must be an integer"))
    return Given(
        product=data["product"],
        dose_number=number,
        dose_ml=dose_ml,
        route=data.get("route"),
        site=data.get("site"),
        lot_expiry=expiry,
        vaccine_code=data.get("vaccine"),
    )


def _click_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("日付は YYYY-MM-DD / dates are YYYY-MM-DD") from None


if __name__ == "__main__":  # pragma: no cover
    main()
