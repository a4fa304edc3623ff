"""Request hooks: body checks, the error shape for every failure, and security headers."""
from __future__ import annotations

import json
import logging
import re

from flask import Flask, Response, current_app, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from server.errors import AppError, BadRequest, Busy, Invalid, RateLimited, TooLarge, UnsupportedMedia, field_error
from server.limits import retry_after

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request", 413: "too_large"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob: https://*.tile.openstreetmap.org; connect-src 'self' ws: wss:; "
       "worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'self'; "
       "frame-ancestors 'none'; form-action 'self'")


class FieldError(BaseModel):
    """One refused field: its dotted path and why."""

    field: str
    message: str
    type: str | None = None


class ErrorInfo(BaseModel):
    """The error: a snake_case code, human text and, for a 422, the fields refused."""

    code: str
    message: str
    details: list[FieldError] | None = None


class ErrorBody(BaseModel):
    """The contract's error shape, documented as the 422 response of every operation."""

    error: ErrorInfo


def error_response(error: AppError) -> Response:
    """The contract's error shape for an AppError."""
    response = jsonify(error.body())
    response.status_code = error.status
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def validation_error_response(exc: ValidationError) -> Response:
    """flask-openapi3's hook: a pydantic error becomes 422 with the fields listed."""
    body = request.get_json(silent=True) if request.is_json else None
    details = [_detail(e, body) for e in exc.errors(include_url=False)]
    return error_response(Invalid(details=details))


def _detail(error: dict, body) -> dict:
    """One refused field, named as the client wrote it. A body told apart by a field (a discriminated
    union: visit progress by status) is refused on that field when it names no variant; inside a
    variant, pydantic puts the variant's tag in the path (`in_service.lat`), which the client never
    wrote, so it is left out (`lat`)."""
    loc, message = list(error["loc"]), error["msg"]
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        context = error.get("ctx") or {}
        loc = [*loc, context.get("discriminator", "").strip("'\"")]
        tags = re.findall(r"'([^']*)'", context.get("expected_tags", ""))
        if tags:
            message = f"须为 {'、'.join(tags)} 之一 / must be one of {', '.join(tags)}"
    return {"field": ".".join(str(p) for p in _untagged(loc, body)) or "body", "message": message,
            "type": error["type"]}


def _untagged(loc: list, body) -> list:
    """loc without the tags of discriminated unions: a name inside the path that is not a key of the
    object at that point of the body but is one of its values (its tag) is the variant's, not the
    client's. (A tag is never last: the variant's own field follows it.)"""
    path, node = [], body
    for index, part in enumerate(loc):
        if (index < len(loc) - 1 and isinstance(node, dict) and isinstance(part, str) and part not in node
                and part in node.values()):
            continue
        path.append(part)
        node = node.get(part) if isinstance(node, dict) else (
            node[part] if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node) else None)
    return path


def check_body() -> None:
    """Unsafe API requests with a body must be JSON that parses; too big is 413."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or not request.path.startswith("/api/"):
        return
    data = request.get_data(cache=True)  # raises 413 when Content-Length is beyond MAX_CONTENT_LENGTH
    if not data:
        return
    if request.content_length is None and len(data) >= current_app.config["MAX_CONTENT_LENGTH"]:
        _refuse_the_rest()
    if request.mimetype != "application/json":
        raise UnsupportedMedia()
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested thousands deep
        raise BadRequest("JSON 无法解析 / The body is not valid JSON", code="invalid_json")
    field = _field_with_nul(body)
    if field is not None:  # PostgreSQL text cannot hold NUL: refuse it here rather than fail at INSERT
        raise field_error(field, "不能含有 NUL 字符 / must not contain NUL (U+0000) characters")


def _refuse_the_rest() -> None:
    """413 for a chunked body longer than the limit. Without Content-Length, Werkzeug reads such a body
    up to MAX_CONTENT_LENGTH and stops there without a word, so a valid JSON object followed by
    256 KiB of spaces parsed as if nothing followed it. One byte more from the server's own stream
    (which ends with the last chunk) tells a body of exactly the limit from a longer one."""
    if request.environ["wsgi.input"].read(1):
        raise TooLarge()


def _field_with_nul(body) -> str | None:
    """The dotted path of the first string (key or value) in body holding U+0000, if any."""
    stack = [((), body)]
    while stack:  # iterative: bodies may nest deeper than Python's recursion limit
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return ".".join(map(str, path)) or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return ".".join(map(str, path + (key.replace("\x00", "\\u0000"),)))
                stack.append((path + (key,), item))
        elif isinstance(value, list):
            stack.extend((path + (index,), item) for index, item in enumerate(value))
    return None


def security_headers(response: Response) -> Response:
    """CSP, nosniff, no framing, a strict referrer policy; API answers are not cached."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
    if request.path.startswith("/api/v1"):
        headers.setdefault("Cache-Control", "no-store")
    return response


def register_error_handlers(app: Flask) -> None:
    """Map every failure to the error shape: domain errors, HTTP errors, busy DB, the unexpected."""
    app.register_error_handler(AppError, error_response)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded):
        retry = str(retry_after())
        return error_response(RateLimited(headers={"Retry-After": retry}, details={"limit": str(exc.limit.limit)}))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc):
        return error_response(TooLarge())

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.response is not None:  # flask-openapi3 aborts with a ready response
            return exc.response
        code = _HTTP_CODES.get(exc.code, "http_error")
        return error_response(_http_app_error(exc, code))

    @app.errorhandler(OperationalError)
    def db_busy(exc: OperationalError):
        if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
            return error_response(Busy(headers={"Retry-After": "1"}))
        return unexpected(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        response = error_response(AppError("服务器错误 / Server error", code="server_error"))
        response.status_code = 500
        return response


def _http_app_error(exc: HTTPException, code: str) -> AppError:
    error = AppError(exc.description, code=code)
    error.status = exc.code or 500
    return error
