"""The password rule: long enough, not common, not trivial, not the phone number."""
import pytest

from server.errors import AppError
from server.passwords import RULE, check_password, common_passwords, weakness

PHONE = "13800138000"


@pytest.mark.parametrize("password, reason", [
    ("1234567", "too_short"), ("abc", "too_short"),
    ("12345678", "common"), ("password", "common"), ("PassWord", "common"), ("123456789", "common"),
    ("5201314", "too_short"), ("woaini1314", "common"), ("qq123456", "common"), ("a123456", "too_short"),
    ("a1234567", "common"), ("iloveyou", "common"), ("88888888", "common"), ("1qaz2wsx", "common"),
    ("zzzzzzzzzz", "trivial"), ("bcdefghij", "trivial"), ("98765432", "common"), ("76543210", "trivial"),
    ("xyxyxyxyxy", "trivial"), ("lkjhgfds", "trivial"), ("poiuytre", "trivial"),
    (PHONE, "phone"), ("+8613800138000", "phone"), ("38001380", "phone"), ("13800138000ab", "phone"),
    ("138-0013-8000", "phone"),
])
def test_weak_passwords_are_named_with_their_reason(password, reason):
    assert weakness(password, PHONE) == reason


@pytest.mark.parametrize("password", ["linli2018", "correct-horse-1", "secret-pass", "王奶奶家在向阳路3号",
                                      "13800138000 是旧号码的新密码", "blue-teapot-42"])
def test_ordinary_passwords_pass_the_demo_and_test_ones_included(password):
    assert weakness(password, PHONE) is None


def test_the_list_is_package_data_a_few_thousand_with_chinese_favourites():
    words = common_passwords()
    assert 1000 <= len(words) <= 5000
    assert {"123456789", "5201314", "woaini1314", "qq123456", "a123456", "password"} <= words
    assert "linli2018" not in words


def test_check_password_is_a_422_weak_password_that_states_the_rule():
    with pytest.raises(AppError) as caught:
        check_password("12345678", phone=PHONE, field="new_password")
    error = caught.value
    assert (error.status, error.code, error.message) == (422, "weak_password", RULE)
    assert error.details == [{"field": "new_password", "message": RULE, "reason": "common"}]
    assert "至少 8 位" in RULE and "At least 8 characters" in RULE and "phone number" in RULE
