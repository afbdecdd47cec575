from __future__ import annotations

from yoshin.domain.i18n import Bilingual, BilingualError


def test_bilingual_picks_language_and_falls_back_to_english() -> None:
    text = Bilingual(ja="カードを挿入してください", en="Please insert your card")
    assert text.get("ja") == "カードを挿入してください"
    assert text.get("en") == "Please insert your card"
    assert text.get("fr") == "Please insert your card"


def test_bilingual_error_carries_both_languages() -> None:
    error = BilingualError(Bilingual(ja="読み取れません", en="Cannot read"))
    assert "読み取れません" in str(error) and "Cannot read" in str(error)
    assert error.message.en == "Cannot read"
