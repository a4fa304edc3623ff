"""Domain errors (one AppError family) and their mapping to the contract's error shape."""
from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 400
    code = "bad_request"
    message = "请求有误 / Bad request"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: Any = None, headers: dict | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict:
        """The error shape of API.md."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class BadRequest(AppError):
    status, code, message = 400, "bad_request", "请求格式有误 / Malformed request"


class Unauthorized(AppError):
    status, code, message = 401, "not_authenticated", "请先登录 / Please sign in"


class Forbidden(AppError):
    status, code, message = 403, "forbidden", "没有权限 / Not allowed"


class NotFound(AppError):
    status, code, message = 404, "not_found", "未找到 / Not found"


class Conflict(AppError):
    status, code, message = 409, "conflict", "状态已改变 / The state has changed"


class TooLarge(AppError):
    status, code, message = 413, "too_large", "请求过大 / Request too large"


class UnsupportedMedia(AppError):
    status, code, message = 415, "not_json", "请以 JSON 发送 / Send the body as application/json"


class Invalid(AppError):
    status, code, message = 422, "validation_error", "输入有误 / Invalid input"


class RateLimited(AppError):
    status, code, message = 429, "rate_limited", "操作太频繁，请稍后再试 / Too many requests, try again later"


class Busy(AppError):
    status, code, message = 503, "busy", "系统繁忙，请稍后再试 / Busy, try again shortly"


def field_error(field: str, message: str, code: str = "validation_error") -> Invalid:
    """A 422 about one named field."""
    return Invalid(message, code=code, details=[{"field": field, "message": message}])
