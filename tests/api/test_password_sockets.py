"""A password change, a staff reset and disabling an account end the user's open sockets too
(through revoke_sessions' outbox event, which the relay turns into disconnects)."""
from __future__ import annotations

from dispatch.catalog import Role
from tests import factories as f
from tests.api.test_sockets import connect, received, relay  # noqa: F401, F811 (relay is a fixture)


def _queued(sio) -> list[tuple[str, dict]]:
    return [(m["name"], m["args"][0] if m["args"] else None) for m in sio.queue]


def _signed_in(session, user, n=2):
    return [f.token_of(f.bearer(session, user)) for _ in range(n)]


def test_a_password_change_ends_the_other_sockets_and_keeps_the_callers(app, client, session, relay):  # noqa: F811
    user = f.user(session, Role.SENIOR)
    mine, other = _signed_in(session, user)
    session.commit()
    kept, ended = connect(app, mine), connect(app, other)
    for sio in (kept, ended):
        assert received(sio)[-1][0] == "ready"
    r = client.post("/api/v1/auth/password", json={"current_password": f.PASSWORD, "new_password": "blue-teapot-42"},
                    headers={"Authorization": f"Bearer {mine}"})
    assert r.status_code == 200, r.get_json()
    relay.drain()
    assert not ended.is_connected() and _queued(ended) == [("session_ended", {"reason": "password_changed"})]
    assert kept.is_connected() and received(kept) == []
    kept.disconnect()


def test_a_staff_reset_and_disabling_end_every_socket(app, client, session, relay):  # noqa: F811
    home = f.community(session)
    staff_headers = f.bearer(session, f.user(session, Role.CENTER_STAFF, communities=(home,)))
    admin_headers = f.bearer(session, f.user(session, Role.ADMIN))
    senior_user = f.user(session, Role.SENIOR)
    f.senior(session, home, owner=senior_user)
    family = f.user(session, Role.FAMILY)
    f.family_link(session, f.senior(session, home, name="李桂英"), family)
    senior_tokens, family_tokens = _signed_in(session, senior_user), _signed_in(session, family, 1)
    session.commit()
    senior_sockets = [connect(app, t) for t in senior_tokens]
    family_socket = connect(app, family_tokens[0])
    for sio in [*senior_sockets, family_socket]:
        received(sio)
    r = client.post(f"/api/v1/users/{senior_user.id}/password-reset", json={"new_password": "blue-teapot-42"},
                    headers=staff_headers)
    assert r.status_code == 200 and r.get_json()["sessions_ended"] == 2
    relay.drain()
    for sio in senior_sockets:
        assert not sio.is_connected() and _queued(sio) == [("session_ended", {"reason": "password_reset"})]
    assert family_socket.is_connected()
    assert client.post(f"/api/v1/users/{family.id}/disable", headers=admin_headers).status_code == 200
    relay.drain()
    assert not family_socket.is_connected()
    assert _queued(family_socket) == [("session_ended", {"reason": "account_disabled"})]
    assert not connect(app, family_tokens[0]).is_connected()
