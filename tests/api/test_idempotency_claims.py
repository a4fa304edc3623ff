"""Idempotency-Key claims commit with the use case and its stored response, or not at all."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models.events import IdempotencyKey
from models.requests import ServiceRequest
from tests import factories as f
from tests.api.test_dispatch import world  # noqa: F401  (fixture)


def _crash_once(monkeypatch):
    """Fail where the response is put on the claim: after the use case's commit, before the claim's."""
    import server.idempotency as idem

    real, calls = idem._remember, []

    def crash(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the process died here")
        return real(*args, **kwargs)

    monkeypatch.setattr(idem, "_remember", crash)
    return calls


def test_a_crash_before_the_response_is_stored_leaves_no_stuck_claim(client, world, session, monkeypatch):  # noqa: F811
    calls = _crash_once(monkeypatch)
    headers = {**world["senior_h"], "Idempotency-Key": "book-crash"}
    body = {"senior_id": world["senior"].id, "service_type": "meal"}
    crashed = client.post("/api/v1/requests", json=body, headers=headers)
    assert crashed.status_code == 500 and calls == [1]
    f.fresh(session)
    assert session.exec(select(ServiceRequest)).all() == []  # the booking went with the claim
    assert session.exec(select(IdempotencyKey)).all() == []
    retry = client.post("/api/v1/requests", json=body, headers=headers)
    assert retry.status_code == 201, retry.get_json()  # not 409 idempotency_in_progress, ever
    again = client.post("/api/v1/requests", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == retry.get_json()["id"]
    f.fresh(session)
    assert len(session.exec(select(ServiceRequest)).all()) == 1
    claim = session.exec(select(IdempotencyKey)).one()
    assert claim.status_code == 201 and claim.response["id"] == retry.get_json()["id"]


def test_a_claim_is_never_committed_without_its_response(client, world, session, monkeypatch):  # noqa: F811
    """Whatever commits during the view, the claim row that becomes visible already has its answer."""
    from sqlalchemy import event
    from sqlmodel import Session as OrmSession

    seen = []

    def check(sess):
        for obj in list(sess.new) + list(sess.dirty) + list(sess.identity_map.values()):
            if isinstance(obj, IdempotencyKey):
                seen.append(obj.status_code)

    event.listen(OrmSession, "before_commit", check)
    try:
        headers = {**world["senior_h"], "Idempotency-Key": "book-seen"}
        r = client.post("/api/v1/requests", json={"senior_id": world["senior"].id, "service_type": "meal"},
                        headers=headers)
    finally:
        event.remove(OrmSession, "before_commit", check)
    assert r.status_code == 201
    assert seen and None not in seen


def test_accepting_with_a_key_replays_the_win(client, world):  # noqa: F811
    client.post("/api/v1/requests", json={"senior_id": world["senior"].id, "service_type": "meal"},
                headers=world["senior_h"])
    offer = client.get("/api/v1/offers", headers=world["provider_h"][0]).get_json()[0]
    headers = {**world["provider_h"][0], "Idempotency-Key": "accept-1"}
    won = client.post(f"/api/v1/offers/{offer['id']}/accept", headers=headers)
    again = client.post(f"/api/v1/offers/{offer['id']}/accept", headers=headers)
    assert won.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == won.get_json()
    taken = client.post(f"/api/v1/offers/{offer['id']}/accept", headers=world["provider_h"][0])
    assert taken.status_code == 409
