"""SOS: a 5-second cancellable countdown, the family's open page alerted live, acknowledged; offline
it never queues and offers phone calls instead."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import api_as

pytestmark = pytest.mark.e2e


def test_sos_reaches_family_live_and_family_acknowledges(phone, world):
    family = phone(world.family_phone)
    expect(family.locator(".senior-card")).to_contain_text("王秀兰")
    senior = phone(world.senior_phone, geolocation=world.senior_at)

    senior.locator("#sos-button").click()
    expect(senior.locator("#sos-count")).to_contain_text("秒后呼叫")
    expect(senior.locator("#sos-cancel")).to_be_visible()
    alert = family.locator("#sos-alerts .sos-alert")  # arrives by itself once the countdown ends
    expect(alert).to_contain_text("王秀兰发出紧急求助")
    expect(senior.locator("#sos-status")).to_contain_text("已发出求助")
    expect(senior.locator("#sos-status")).to_contain_text("还没有人回应")

    alert.get_by_role("button", name="我知道了，马上处理").click()
    expect(alert).to_contain_text("已确认")
    expect(senior.locator("#sos-status")).to_contain_text("李华已看到")
    sos_id = alert.get_attribute("data-sos-id")
    fam = api_as(world, world.family_phone)
    body = fam.get(f"{fam.base}/sos/{sos_id}").json()
    assert body["status"] == "acknowledged"
    assert [a["user_id"] for a in body["acks"]] == [world.family_user_id]


def test_sos_countdown_can_be_cancelled(phone, world):
    senior = phone(world.senior_phone)
    senior.locator("#sos-button").click()
    senior.locator("#sos-cancel").click()
    expect(senior.locator("#sos-button")).to_be_visible()
    senior.wait_for_timeout(6000)  # past the five seconds: nothing was raised
    me = api_as(world, world.senior_phone)
    assert me.get(f"{me.base}/sos?status=all").json() == []


def test_offline_sos_never_queues_and_shows_phone_links(phone, world):
    senior = phone(world.senior_phone)
    senior.context.set_offline(True)
    senior.locator("#sos-button").click()
    expect(senior.locator("h1")).to_contain_text("没有网络")
    calls = senior.locator(".calls a")
    expect(calls.nth(0)).to_have_attribute("href", f"tel:{world.family_phone}")
    expect(calls.nth(0)).to_contain_text("李华")
    expect(calls.last).to_have_attribute("href", "tel:120")
    senior.wait_for_timeout(6000)
    senior.context.set_offline(False)
    senior.wait_for_selector("body[data-socket='live']")
    me = api_as(world, world.senior_phone)
    assert me.get(f"{me.base}/sos?status=all").json() == []
