"""Idempotency-Key for POSTs a person may repeat (book, accept, cancel, SOS).

The claim, the use case's work and the response stored on the claim commit in one transaction: while
the view runs, the use case's commit only flushes (`_one_transaction`), and the wrapper commits once
the response is on the claim. So a key is never left claimed without its answer: a crash anywhere
before that commit leaves nothing behind, and the same key may be retried. The same key and body
from the same user get the first response again; another body under the same key is a 422. A
concurrent duplicate waits on the unique key and then replays.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from functools import wraps

from flask import Response, jsonify, request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.events import IdempotencyKey
from server import db
from server.auth import current_user
from server.errors import AppError, Conflict, Invalid
from server.hooks import error_response

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
        with _one_transaction(session) as committed:
            try:
                response = view(*args, **kwargs)
            except AppError as error:
                if not committed:  # refused before doing anything: the claim goes too, a retry may run
                    raise
                response = error_response(error)  # done, then refused: that answer is the one to repeat
        _remember(session, claim, response)
        session.commit()
        return response

    return wrapper


@contextmanager
def _one_transaction(session: Session):
    """While the view runs, the use case's session.commit() flushes instead (yields a list that is
    non-empty once it has): its work then commits with the claim and the stored response."""
    committed: list[bool] = []

    def commit() -> None:
        session.flush()
        committed.append(True)

    session.commit = commit
    try:
        yield committed
    finally:
        del session.commit  # the Session's own commit again


def _remember(session: Session, claim: IdempotencyKey, response: Response) -> None:
    """Store the response on the claim (re-added: a use case that rolled back took the claim with it)."""
    claim.status_code, claim.response = response.status_code, response.get_json()
    session.add(claim)


def _find(session, user_id: int, key: str) -> IdempotencyKey | None:
    return session.exec(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                     IdempotencyKey.key == key)).first()


def _replay(row: IdempotencyKey, digest: str):
    if row.body_hash != digest:
        raise Invalid("该 Idempotency-Key 已用于另一请求 / This Idempotency-Key was used for another request",
                      code="idempotency_key_reused")
    if row.status_code is None:  # only rows written before claims committed with their response
        raise Conflict("同一请求正在处理 / The same request is still being processed",
                       code="idempotency_in_progress", headers={"Retry-After": "1"})
    response = jsonify(row.response)
    response.status_code = row.status_code
    response.headers["Idempotent-Replayed"] = "true"
    return response
