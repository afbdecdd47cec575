"""Check digits of the numbers yoshin handles: My Number, municipality code, GTIN.

Pure functions; every caller (card layer, host registry import, contract, scanner) uses these, so a
rule lives in one place (control 17: hand-entered numbers get a check-digit test).
"""

from __future__ import annotations

import operator

# the weights above, for the digits read from the left (n = 11 .. 1)
_MY_NUMBER_WEIGHTS = tuple(n + 1 if n <= 6 else n - 5 for n in range(11, 0, -1))
_ASCII_ZERO = ord("0")
_ASCII_ZERO_TOTAL = _ASCII_ZERO * sum(_MY_NUMBER_WEIGHTS)  # what "0" bytes add to the weighted sum


def my_number_check_digit(first_eleven: str) -> int:
    """Check digit of a My Number (平成26年総務省令第85号 第5条).

    Digits are numbered n = 1..11 from the right; weights are n + 1 for n <= 6 and n - 5 above;
    r = sum mod 11; the check digit is 0 when r <= 1, else 11 - r.
    """
    if len(first_eleven) != 11 or not first_eleven.isascii() or not first_eleven.isdigit():
        raise ValueError("a My Number check digit needs exactly 11 ASCII digits")
    return _check_digit(first_eleven.encode())


def _check_digit(ascii_digits: bytes) -> int:
    """The rule on the first 11 of ASCII digits (their byte values; the registry import checks millions)."""
    total = sum(map(operator.mul, ascii_digits, _MY_NUMBER_WEIGHTS)) - _ASCII_ZERO_TOTAL  # zip-like: first 11
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(number: str) -> bool:
    """12 ASCII digits whose last is the check digit of the first 11."""
    if len(number) != 12 or not number.isascii() or not number.isdigit():
        return False
    code = number.encode()
    return _check_digit(code) == code[11] - _ASCII_ZERO


def municipality_check_digit(first_five: str) -> int:
    """Check digit of a 6-digit 全国地方公共団体コード (JIS X 0402 / 総務省).

    Weights 6, 5, 4, 3, 2 from the left; r = sum mod 11; the digit is the last digit of 11 - r
    (so r = 0 gives 1 and r = 1 gives 0).
    """
    if len(first_five) != 5 or not first_five.isascii() or not first_five.isdigit():
        raise ValueError("a municipality check digit needs exactly 5 ASCII digits")
    total = sum(int(char) * weight for char, weight in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10


def is_valid_municipality_code(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit() and municipality_check_digit(code[:5]) == int(code[5])


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of a GTIN body (all digits but the last)."""
    if not body or not body.isascii() or not body.isdigit():
        raise ValueError("a GTIN body is ASCII digits")
    total = sum(int(char) * (3 if i % 2 == 0 else 1) for i, char in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin14(gtin: str) -> bool:
    return len(gtin) == 14 and gtin.isascii() and gtin.isdigit() and gtin_check_digit(gtin[:13]) == int(gtin[13])
