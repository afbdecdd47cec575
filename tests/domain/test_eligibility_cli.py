"""`yoshin-rules`: the CLI gives the library's answers (check, schedule, explain, guard) and bilingual errors."""

from __future__ import annotations

import json
from datetime import date

from click.testing import CliRunner

from yoshin.domain.rules_cli import main
from yoshin.domain.series import Case, HistoryEntry, Subject, evaluate, forecast

CASE = {
    "birth_date": "2025-05-14",
    "sex": "female",
    "history": [{"code": "hib", "dose": 1, "date": "2025-11-13"}, "dpt_ipv:1:2025-11-13"],
    "on": "2026-05-13",
    "vaccine": "dpt_ipv_hib",
}


def test_check_matches_the_library_line_by_line() -> None:
    lines = "\n".join(json.dumps(c) for c in (CASE, {**CASE, "vaccine": "mr"}, {**CASE, "on": "2026-05-01"}))
    result = CliRunner().invoke(main, ["check"], input=lines + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    subject = Subject(date(2025, 5, 14), "female")
    history = (HistoryEntry("hib", 1, date(2025, 11, 13)), HistoryEntry("dpt_ipv", 1, date(2025, 11, 13)))
    for answer, (vaccine, on) in zip(
        out, [("dpt_ipv_hib", "2026-05-13"), ("mr", "2026-05-13"), ("dpt_ipv_hib", "2026-05-01")], strict=True
    ):
        verdict = evaluate(Case(subject, history, date.fromisoformat(on), vaccine))
        assert answer["eligible"] == verdict.eligible and answer["dose_number"] == verdict.dose_number
        assert answer["series"] == verdict.series and [r["code"] for r in answer["reasons"]] == list(verdict.codes)
        assert answer["next_due"] == (verdict.next_due.isoformat() if verdict.next_due else None)
    assert out[0]["eligible"] and out[0]["dose_number"] == 2


def test_check_answers_bad_lines_with_a_bilingual_error_and_goes_on() -> None:
    lines = [
        "not json",
        json.dumps({**CASE, "birth_date": "2025-13-01"}),
        json.dumps({**CASE, "sex": "x"}),
        json.dumps(CASE),
    ]
    result = CliRunner().invoke(main, ["check"], input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o.get("line") for o in out[:3]] == [1, 2, 3]
    assert all(o["error"]["ja"] and o["error"]["en"] for o in out[:3])
    assert out[3]["vaccine"] == "dpt_ipv_hib"
    assert "Traceback" not in result.output


def test_schedule_lists_the_due_list_and_a_forecast() -> None:
    result = CliRunner().invoke(
        main, ["schedule", "--birth-date", "2026-04-15", "--on", "2026-06-14", "--sex", "female", "--json"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert {v["vaccine"] for v in answer["due"]} == {"pcv", "hepb", "rota", "dpt_ipv_hib", "bcg"}
    ahead = {v["vaccine"]: v["next_due"] for v in answer["forecast"]}
    expected = {
        v.vaccine_code: v.next_due for v in forecast(Subject(date(2026, 4, 15), "female"), [], date(2026, 6, 14))
    }
    assert ahead["mr"] == expected["mr"].isoformat() == "2027-04-14"  # 1歳の誕生日の前日
    text = CliRunner().invoke(main, ["schedule", "--birth-date", "2026-04-15", "--on", "2026-06-14"])
    assert "due on 2026-06-14" in text.output and "forecast" in text.output


def test_explain_shows_the_path_with_sources() -> None:
    result = CliRunner().invoke(
        main,
        [
            "explain",
            "--birth-date",
            "2025-02-14",
            "--on",
            "2026-05-01",
            "--vaccine",
            "pcv",
            "--history",
            "pcv20:1:2025-08-14",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "path start_2m_to_7m" in result.output and "source: " in result.output
    assert "https://" in result.output


def test_explain_refuses_a_bad_date_without_a_traceback() -> None:
    result = CliRunner().invoke(
        main, ["explain", "--birth-date", "15/02/2025", "--on", "2026-05-01", "--vaccine", "pcv"]
    )
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output and "Traceback" not in result.output


def test_guard_reports_findings() -> None:
    line: dict[str, object] = {**CASE, "vaccine": "hepb", "birth_date": "2026-04-15", "on": "2026-06-14", "history": []}
    line["given"] = {"product": "02000000000039", "dose_ml": "0.5", "lot_expiry": "2026-01-01", "dose_number": 1}
    result = CliRunner().invoke(main, ["guard"], input=json.dumps(line) + "\n")
    assert result.exit_code == 0, result.output
    findings = json.loads(result.output)["findings"]
    assert {f["code"] for f in findings} == {"expired_lot", "dose_amount"}
    assert [f["overridable"] for f in findings if f["code"] == "expired_lot"] == [False]
