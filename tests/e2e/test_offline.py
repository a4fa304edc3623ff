"""Offline and reconnecting: the booking queue, and events replayed after the link comes back."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import api_as

pytestmark = pytest.mark.e2e


def book_meal_now(page):
    page.get_by_role("link", name="助餐").click()
    page.locator("a.choice[data-when='now']").click()
    page.get_by_role("button", name="确认预约").click()


def test_offline_booking_waits_then_is_delivered_exactly_once(phone, world):
    senior = phone(world.senior_phone)
    me = api_as(world, world.senior_phone)
    senior.context.set_offline(True)
    expect(senior.locator("#conn")).to_contain_text("没有网络")
    expect(senior.locator("#reconnecting")).to_contain_text("正在重新连接")

    book_meal_now(senior)
    waiting = senior.locator("#visits .visit.waiting")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("等待发送")
    expect(waiting).to_contain_text("助餐")
    assert me.get(f"{me.base}/requests").json() == []  # nothing has left the phone
    stored = senior.evaluate("""() => new Promise((ok) => { const r = indexedDB.open('linli');
        r.onsuccess = () => { const q = r.result.transaction('bookings').objectStore('bookings').getAll();
        q.onsuccess = () => ok(q.result); }; })""")
    assert len(stored) == 1
    assert set(stored[0]) <= {"key", "user_id", "senior_id", "service_type", "scheduled_start", "state", "queued_at"}

    # The first delivery's answer is lost on the way back: the server made the booking, the phone
    # does not know. The phone keeps the entry and sends it again with the same Idempotency-Key.
    sent_keys = []

    def lose_first_answer(route):
        sent_keys.append(route.request.headers.get("idempotency-key"))
        if len(sent_keys) == 1:
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    senior.route("**/api/v1/requests", lambda route: lose_first_answer(route) if route.request.method == "POST" else route.continue_())
    senior.context.set_offline(False)
    expect(senior.locator("body[data-socket='live']")).to_be_attached()
    expect(waiting).to_have_count(1)  # still waiting: the phone never heard back
    senior.context.set_offline(True)
    senior.context.set_offline(False)  # back online again: sent once more
    expect(senior.locator("#visits .visit.waiting")).to_have_count(0)
    expect(senior.locator("#visits .visit").first).to_contain_text("正在找服务人员")
    assert len(sent_keys) == 2 and sent_keys[0] == sent_keys[1] and sent_keys[0]
    bookings = me.get(f"{me.base}/requests").json()
    assert len(bookings) == 1 and bookings[0]["service_type"] == "meal"
    senior.reload()
    senior.wait_for_selector("body[data-socket='live']")
    expect(senior.locator("#visits .visit")).to_have_count(1)
    assert len(me.get(f"{me.base}/requests").json()) == 1


def test_a_refused_offline_booking_shows_the_servers_reason(phone, world):
    senior = phone(world.senior_phone)
    senior.context.set_offline(True)
    senior.evaluate("""(senior) => new Promise((ok) => { const r = indexedDB.open('linli', 1);
        r.onupgradeneeded = () => r.result.createObjectStore('bookings', {keyPath: 'key'});
        r.onsuccess = () => { const t = r.result.transaction('bookings', 'readwrite');
          t.objectStore('bookings').put({key: 'k-' + Date.now(), user_id: senior.user, senior_id: 999999,
            service_type: 'meal', scheduled_start: null, state: 'waiting', queued_at: Date.now()});
          t.oncomplete = ok; }; })""", {"user": senior.evaluate("JSON.parse(localStorage.getItem('linli.user')).id")})
    senior.context.set_offline(False)
    refused = senior.locator(".visit.waiting[data-state='refused']")
    expect(refused).to_contain_text("没有发送成功")
    expect(refused).to_contain_text("找不到了")
    refused.get_by_role("button", name="知道了").click()
    expect(refused).to_have_count(0)


def test_offer_made_while_provider_offline_appears_on_reconnect_by_replay(phone, world):
    provider = phone(world.provider_phone, geolocation=world.provider_at)
    senior = api_as(world, world.senior_phone)
    before = int(provider.evaluate("document.body.dataset.lastEventId || '0'"))
    provider.context.set_offline(True)
    expect(provider.locator("#reconnecting")).to_be_visible()
    # Only the socket's replay may bring the offer back: the app's own GET /offers is refused.
    provider.route("**/api/v1/offers", lambda route: route.abort("failed"))

    r = senior.post(f"{senior.base}/requests", json={"senior_id": world.senior_id, "service_type": "meal"})
    assert r.status_code == 201, r.text
    provider.wait_for_timeout(1500)
    expect(provider.locator("#no-offers")).to_be_visible()  # offline: nothing arrived

    provider.context.set_offline(False)
    expect(provider.locator("#reconnecting")).to_have_count(0)
    offer = provider.locator("#offers .offer")
    expect(offer).to_have_count(1)
    expect(offer).to_contain_text("助餐")
    assert int(provider.evaluate("document.body.dataset.lastEventId")) > before
    offer.get_by_role("button", name="接单").click()
    expect(provider.locator(".job-view")).to_contain_text("王秀兰")
