"""`linli serve` (gevent) sends from its own outbox: an SOS reaches the family's phone as a push and
as a signed text through the SMS webhook, both on 127.0.0.1, with no test hand on the notifier."""
from __future__ import annotations

import json
import time

import requests

from dispatch.catalog import Role
from models.engine import write_session
from server.notify.sms import signature
from tests import factories as f
from tests.conftest import sqlite_engine
from tests.pushkit import Endpoint, Subscriber


def test_an_sos_on_a_live_server_pushes_and_texts_the_family(tmp_path):
    engine = sqlite_engine(tmp_path)
    with write_session(engine) as s:
        com = f.first_community(s)
        owner = f.user(s, Role.SENIOR)
        senior = f.senior(s, com, owner=owner, name="李桂英")
        daughter = f.user(s, Role.FAMILY)
        f.family_link(s, senior, daughter)
        h_senior, h_family = f.bearer(s, owner), f.bearer(s, daughter)
        senior_id, daughter_phone = senior.id, daughter.phone
        s.commit()
    engine.dispose()
    endpoint = Endpoint()
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {"LINLI_INSTANCE_PATH": str(instance), "LINLI_DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
           "LINLI_SECRET_KEY": "live-secret", "LINLI_PUSH_ALLOWED_HOSTS": endpoint.host,
           "LINLI_SMS_WEBHOOK_URL": endpoint.url("/sms"), "LINLI_SMS_WEBHOOK_SECRET": "hook-secret"}
    try:
        with f.LiveServer(env, log=tmp_path / "serve.log") as server:
            phone = Subscriber(endpoint.url("/push/daughter"))
            r = requests.post(f"{server.url}/api/v1/push/subscriptions", json=phone.subscription(), headers=h_family,
                              timeout=10)
            assert r.status_code == 201, r.text
            r = requests.post(f"{server.url}/api/v1/sos", json={"senior_id": senior_id}, headers=h_senior, timeout=10)
            assert r.status_code == 201, r.text
            sos_id = r.json()["id"]
            got = {x.path: x for x in endpoint.wait_for(2, timeout=10)}
            assert set(got) == {"/push/daughter", "/sms"}, server.log_tail()
            message = phone.decrypt(got["/push/daughter"].body)
            assert message["kind"] == "sos" and message["url"] == f"/senior/{senior_id}" and message["ids"]["sos_id"] == sos_id and "李桂英" in message["title"]
            assert got["/push/daughter"].headers["Urgency"] == "high"
            text = json.loads(got["/sms"].body)
            assert text["to"] == daughter_phone and "李桂英" in text["text"]
            stamp = got["/sms"].headers["X-Linli-Timestamp"]
            assert got["/sms"].headers["X-Linli-Signature"] == signature("hook-secret", stamp, got["/sms"].body)
            # The sender marks a delivery sent once the endpoint has answered, a moment after it got the request.
            deadline = time.monotonic() + 10
            while True:
                mine = requests.get(f"{server.url}/api/v1/push/deliveries", headers=h_family, timeout=10).json()
                if all(d["status"] != "queued" for d in mine) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert sorted((d["channel"], d["status"]) for d in mine) == [("push", "sent"), ("sms", "sent")]
    finally:
        endpoint.close()
