"""The password rule: long enough, not a common or trivial password, not the phone number.

Seniors are often helped by staff or family to choose one, so the rule is short and the message
says all of it. The list of common passwords (server/common_passwords.txt) holds the most used
ones of global and Chinese leaks and their commonest variations.
"""
from __future__ import annotations

import re
from functools import cache
from itertools import pairwise
from importlib import resources

from server.errors import field_error

MIN_LENGTH = 8
RULE = ("密码至少 8 位；不能是常见密码（如 12345678、5201314、woaini1314）；不能全是同一个字符或顺序字符"
        "（如 11111111、abcdefgh、87654321）；不能是手机号或手机号的一部分 / "
        "At least 8 characters; not a common password (like 12345678, 5201314, woaini1314); not one character "
        "repeated or a simple sequence (like 11111111, abcdefgh, 87654321); not your phone number or part of it")
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased."""
    text = resources.files("server").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def weakness(password: str, phone: str | None = None) -> str | None:
    """Why password breaks the rule (too_short, common, trivial, phone), or None when it is fine."""
    word = password.strip().lower()
    if len(word) < MIN_LENGTH:
        return "too_short"
    if word in common_passwords():
        return "common"
    if _trivial(word):
        return "trivial"
    if phone and _like_phone(word, phone):
        return "phone"
    return None


def check_password(password: str, *, phone: str | None, field: str = "password") -> None:
    """422 weak_password, with the whole rule as the message, unless password keeps the rule."""
    reason = weakness(password, phone)
    if reason is not None:
        error = field_error(field, RULE, code="weak_password")
        error.details[0]["reason"] = reason
        raise error


def _trivial(word: str) -> bool:
    """One character repeated, a short unit repeated (abcabcab, 12121212), or a run along the
    alphabet, the digits or a keyboard row, either way (abcdefgh, 87654321, qwertyui)."""
    for size in (1, 2, 3, 4):
        unit = word[:size]
        if (unit * (len(word) // size + 1)).startswith(word):
            return True
    steps = {ord(b) - ord(a) for a, b in pairwise(word)}
    if steps in ({1}, {-1}):
        return True
    return any(word in row or word in row[::-1] for row in _ROWS)


def _like_phone(word: str, phone: str) -> bool:
    """The phone number, part of it, or it with a few characters around it."""
    phone = phone.removeprefix("+86")
    digits = re.sub(r"\D", "", word)
    mostly_digits = len(digits) >= MIN_LENGTH and len(word) - len(digits) <= 3  # 138-0013-8000
    if word in phone or (mostly_digits and digits in phone):
        return True
    return phone in word and len(word) - len(phone) <= 3
