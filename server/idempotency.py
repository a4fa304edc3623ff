"""Idempotency-Key for POSTs a person may repeat (book, accept, cancel, SOS).

The key is claimed in the request's own session, so it commits with the use case or not at all:
a failed attempt leaves nothing behind and may be retried. Once the use case has committed, its
response is stored on the claim; the same key and body from the same user get it again, another
body under the same key is a 422. A concurrent duplicate waits on the unique key and then replays.
"""
from __future__ import annotations

import hashlib
from functools import wraps

from flask import jsonify, request
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models.events import IdempotencyKey
from server import db
from server.auth import current_user
from server.errors import Conflict, Invalid

HEADER = "Idempotency-Key"


def idempotent(view):
    """Route decorator: honour Idempotency-Key on this POST."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 100 or not key.isprintable():
            raise Invalid("Idempotency-Key 须为 1–100 个可打印字符 / must be 1–100 printable characters",
                          code="invalid_idempotency_key")
        user = current_user()
        session = db.session()
        digest = hashlib.sha256(request.path.encode() + b"\0" + request.get_data()).hexdigest()
        existing = _find(session, user.id, key)
        if existing is not None:
            return _replay(existing, digest)
        claim = IdempotencyKey(user_id=user.id, key=key, endpoint=request.path, body_hash=digest)
        session.add(claim)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            return _replay(_find(session, user.id, key), digest)
        response = view(*args, **kwargs)
        claim.status_code, claim.response = response.status_code, response.get_json()
        session.add(claim)
        session.commit()
        return response

    return wrapper


def _find(session, user_id: int, key: str) -> IdempotencyKey | None:
    return session.exec(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                     IdempotencyKey.key == key)).first()


def _replay(row: IdempotencyKey, digest: str):
    if row.body_hash != digest:
        raise Invalid("该 Idempotency-Key 已用于另一请求 / This Idempotency-Key was used for another request",
                      code="idempotency_key_reused")
    if row.status_code is None:
        raise Conflict("同一请求正在处理 / The same request is still being processed",
                       code="idempotency_in_progress", headers={"Retry-After": "1"})
    response = jsonify(row.response)
    response.status_code = row.status_code
    response.headers["Idempotent-Replayed"] = "true"
    return response
