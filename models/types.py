"""Column types and field types shared by the tables and schemas."""
from __future__ import annotations

import os
import re
from datetime import date, datetime, timezone
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, Strict
from sqlalchemy import DateTime, String, TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (SQLite has no zones) and always hands back aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    """The current time, aware, in UTC (the one clock models and services use)."""
    return datetime.now(timezone.utc)


def local_zone() -> ZoneInfo:
    """The zone naive input is read in and times are shown in (LINLI_TIMEZONE, Asia/Shanghai)."""
    return ZoneInfo(os.environ.get("LINLI_TIMEZONE") or "Asia/Shanghai")


# Client times outside these bounds name no visit: refusing them keeps every later step (reading
# them in UTC, adding a duration, offering 48 h before) far from datetime's year 1 and year 9999.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)


def _aware(value: datetime) -> datetime:
    try:
        value = value.replace(tzinfo=local_zone()) if value.tzinfo is None else value
        value = value.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # 0001-01-01 read at +08:00, 9999-12-31T23:59-12:00 in UTC
        value = None
    if value is None or not EARLIEST <= value < LATEST:
        raise ValueError("时间须在 2000 至 2199 年之间 / must be a time between the years 2000 and 2199")
    return value


# A time from a client: naive input is read as local (Asia/Shanghai) time, per API.md.
ClientDateTime = Annotated[datetime, AfterValidator(_aware)]


def _bounded_day(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError("日期须在 2000 至 2199 年之间 / must be a date between the years 2000 and 2199")
    return value


# A local date from a client (a day to skip, a rule's first day), in the same bounds as times.
ClientDate = Annotated[date, AfterValidator(_bounded_day)]

_PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def _normalise_phone(value: str) -> str:
    match = _PHONE.match(value.replace(" ", "").replace("-", ""))
    if not match:
        raise ValueError("请输入 11 位手机号 / must be an 11-digit mainland mobile number starting with 1")
    return match.group(1)


Phone = Annotated[str, AfterValidator(_normalise_phone)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Name = Annotated[str, Field(min_length=1, max_length=80)]
# Ids are 32-bit integer columns on PostgreSQL: a larger number names nothing and must not reach the
# driver (SQLite raises OverflowError beyond 64 bits), so it is a 422 like any other bad input.
MAX_ID = 2**31 - 1
# An id in a JSON body is a JSON integer: "13", 13.0 and true are 422, not read as 13 (a limit keyed
# by the id would count them apart). Path ids pass Flask's int converter first, so they are ints too.
Id = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]
# An id in a query string, where everything is text: digits only (pydantic's int parsing of a string).
QueryId = Annotated[int, Field(ge=1, le=MAX_ID)]


class EnumText(TypeDecorator):
    """A StrEnum stored as its value in a VARCHAR (adding a member needs no migration of a type)."""

    impl = String(24)
    cache_ok = True

    def __init__(self, enum_cls, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.enum_cls = enum_cls

    def process_bind_param(self, value, dialect):
        return None if value is None else self.enum_cls(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum_cls(value)
