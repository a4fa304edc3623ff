"""Web Push in the browser: the settings' 消息通知 switch subscribes this phone, the server pushes an SOS to a
push endpoint on 127.0.0.1, and that very payload, handed to the app's service worker over CDP
(`ServiceWorker.deliverPushMessage`), shows the localised notification; a tap opens the senior's page.

pushManager.subscribe() has no push service to reach in a test browser, so the page's PushManager is
given a subscription whose endpoint is the local one (keys of a test subscriber, who decrypts).
"""
from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from dispatch.catalog import Role
from models.engine import write_session
from tests import factories as f
from tests.conftest import sqlite_engine
from tests.e2e.conftest import PHONE, TIMEOUT_MS, api_as
from tests.pushkit import Endpoint, Subscriber

pytestmark = pytest.mark.e2e

STAND_IN = """
(() => {
  const json = %s;
  const KEPT = "test-push-subscribed";  // a page load keeps it, as a browser keeps a subscription
  const subscription = { endpoint: json.endpoint, options: {}, toJSON: () => json, getKey: () => null,
                         unsubscribe: async () => { localStorage.removeItem(KEPT); return true; } };
  PushManager.prototype.subscribe = async function () { localStorage.setItem(KEPT, "1"); return subscription; };
  PushManager.prototype.getSubscription = async function () { return localStorage.getItem(KEPT) ? subscription : null; };
  PushManager.prototype.permissionState = async function () { return "granted"; };
})();
"""


@pytest.fixture
def push_world(tmp_path, built_pwa):
    """A live server that may push to a local endpoint; a senior 王秀兰 and her daughter 李华."""
    endpoint = Endpoint()
    instance = tmp_path / "instance"
    instance.mkdir()
    engine = sqlite_engine(tmp_path)
    with write_session(engine) as session:
        c = f.first_community(session)
        senior_user = f.user(session, Role.SENIOR, name="王秀兰")
        family_user = f.user(session, Role.FAMILY, name="李华")
        senior = f.senior(session, c, owner=senior_user, name="王秀兰")
        f.family_link(session, senior, family_user)
        session.commit()
        w = SimpleNamespace(senior_phone=senior_user.phone, family_phone=family_user.phone, senior_id=senior.id,
                            endpoint=endpoint)
    engine.dispose()
    env = {"LINLI_INSTANCE_PATH": str(instance), "LINLI_DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
           "LINLI_SECRET_KEY": "e2e-secret", "LINLI_PUSH_ALLOWED_HOSTS": endpoint.host}
    try:
        with f.LiveServer(env, log=tmp_path / "serve.log") as server:
            w.url = server.url
            w.server = server
            yield w
    finally:
        endpoint.close()


def _registration_id(cdp, page) -> str:
    found: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: found.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not any(not r.get("isDeleted") for r in found) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    return next(r["registrationId"] for r in found if not r.get("isDeleted"))


def _notifications(page) -> list[dict]:
    return page.evaluate("""async () => (await (await navigator.serviceWorker.ready).getNotifications())
        .map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url,
                    requireInteraction: n.requireInteraction, silent: n.silent}))""")


def test_switch_on_then_an_sos_push_shows_and_a_tap_opens_the_senior(browser, push_world):
    w = push_world
    device = Subscriber(w.endpoint.url("/push/li-hua"))
    context = browser.new_context(**PHONE, base_url=w.url, permissions=["notifications"])
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(STAND_IN % json.dumps(device.subscription()))
    try:
        assert context.request.post("/api/v1/auth/login", data={"phone": w.family_phone, "password": f.PASSWORD}).ok
        page = context.new_page()
        page.goto("/settings")
        page.wait_for_selector("body[data-ready='1']")
        page.evaluate("navigator.serviceWorker.ready")
        switch = page.locator("#push")
        expect(switch).to_contain_text("消息通知")
        switch.get_by_role("button", name="开启通知").click()
        expect(switch).to_contain_text("已开启")
        family = api_as(w, w.family_phone)
        mine = family.get(f"{family.base}/push/subscriptions").json()
        assert [s["endpoint"] for s in mine] == [device.endpoint]

        senior = api_as(w, w.senior_phone)
        assert senior.post(f"{senior.base}/sos", json={"senior_id": w.senior_id}).status_code == 201
        [got] = w.endpoint.wait_for(1, timeout=10)
        payload = device.decrypt(got.body)  # exactly what the push service would hand the browser
        assert payload["kind"] == "sos" and payload["url"] == f"/senior/{w.senior_id}"

        page.reload()  # the service worker controls the page from here on
        page.wait_for_selector("body[data-ready='1']")
        cdp = context.new_cdp_session(page)
        cdp.send("ServiceWorker.deliverPushMessage", {"origin": w.url, "registrationId": _registration_id(cdp, page),
                                                      "data": json.dumps(payload, ensure_ascii=False)})
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        shown = []
        while not shown and time.monotonic() < deadline:
            shown = _notifications(page)
            page.wait_for_timeout(100)
        assert shown == [{"title": "紧急求助 · 王秀兰", "body": "王秀兰 按下了紧急求助，请立即查看。",
                          "tag": payload["tag"], "url": f"/senior/{w.senior_id}", "requireInteraction": True,
                          "silent": False}]

        # A tap: the worker's notificationclick handler with the notification just shown.
        worker = context.service_workers[0]
        worker.evaluate("""async () => {
            const [n] = await self.registration.getNotifications();
            self.dispatchEvent(new NotificationEvent("notificationclick", {notification: n}));
        }""")
        page.wait_for_url(f"**/senior/{w.senior_id}")
        expect(page.locator("body")).to_contain_text("王秀兰")

        page.goto("/settings")
        page.wait_for_selector("body[data-ready='1']")
        page.locator("#push").get_by_role("button", name="关闭通知").click()
        expect(page.locator("#push").get_by_role("button", name="开启通知")).to_be_visible()
        assert family.get(f"{family.base}/push/subscriptions").json() == []
    finally:
        context.close()
