"""Staff calls (seam 6): raised by the resident kiosk, listed and answered on the staff screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yoshin.device.staff_calls import StaffCalls

AT = datetime(2026, 10, 15, 1, 0, tzinfo=UTC)


def test_a_call_is_pending_until_acknowledged_once(tmp_path) -> None:
    calls = StaffCalls(tmp_path)
    later = calls.raise_call("questionnaire", AT + timedelta(minutes=1))
    first = calls.raise_call("pin", AT)
    assert [(c.call_id, c.screen, c.raised_at) for c in StaffCalls(tmp_path).pending()] == [
        (first, "pin", AT),
        (later, "questionnaire", AT + timedelta(minutes=1)),
    ]  # another process (a second instance) sees them, oldest first
    assert calls.acknowledge(first) is True
    assert calls.acknowledge(first) is False  # a second staff member pressing too late
    assert [c.call_id for c in calls.pending()] == [later]


def test_a_call_keeps_only_the_screen_name_and_time(tmp_path) -> None:
    calls = StaffCalls(tmp_path)
    calls.raise_call("x" * 500, AT)
    assert len(calls.pending()[0].screen) == 64
    with pytest.raises(ValueError):
        calls.raise_call("pin", datetime(2026, 10, 15, 10, 0))  # a naive time would be read in local time
