"""Booking in the browser: three taps, the offer live on the provider's phone, the whole visit."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_meal_in_three_taps_offer_live_accept_seen_without_reload(phone, world):
    provider = phone(world.provider_phone, geolocation=world.provider_at)
    expect(provider.locator("#no-offers")).to_be_visible()
    senior = phone(world.senior_phone)
    senior.evaluate("window.__noReload = 1")

    taps = 0
    for locator in (senior.get_by_role("link", name="助餐"), senior.locator("a.choice[data-when='now']"),
                    senior.get_by_role("button", name="确认预约")):
        locator.click()
        taps += 1
    assert taps == 3
    expect(senior.locator("#visits .visit").first).to_contain_text("正在找服务人员")

    offer = provider.locator("#offers .offer").first  # arrives live: no reload on the provider's phone
    expect(offer).to_contain_text("助餐")
    expect(offer).to_contain_text(re.compile(r"距离 0\.\d 公里"))
    expect(offer.locator("[data-expires]")).to_contain_text(re.compile(r"剩 \d+ 秒"))
    offer.get_by_role("button", name="接单").click()
    expect(provider.locator(".job-view")).to_contain_text("王秀兰")
    expect(provider.locator("#nav-amap")).to_have_attribute("href", re.compile(r"^https://uri\.amap\.com/marker\?position="))
    expect(provider.locator("#nav-geo")).to_have_attribute("href", re.compile(r"^geo:"))

    expect(senior.locator("#visits .visit").first).to_contain_text("王师傅已接单")
    assert senior.evaluate("window.__noReload") == 1  # the same page: it changed live


def test_whole_visit_with_positions_ends_in_rating(phone, world):
    senior = phone(world.senior_phone, geolocation=world.senior_at)
    provider = phone(world.provider_phone, geolocation=world.provider_at)
    senior.get_by_role("link", name="助洁").click()
    senior.locator("a.choice[data-when='now']").click()
    senior.get_by_role("button", name="确认预约").click()
    provider.locator("#offers .offer button.accept").first.click()
    card = senior.locator("#visits .visit").first

    provider.context.set_geolocation(world.provider_at)
    provider.get_by_role("button", name="出发").click()
    expect(card).to_contain_text("王师傅在路上")
    provider.context.set_geolocation(world.senior_at)  # at the senior's door
    provider.get_by_role("button", name="到达签到").click()
    expect(card).to_contain_text("服务中")
    provider.get_by_role("button", name="完成签退").click()
    expect(provider.locator(".provider-home")).to_be_visible()
    expect(card).to_contain_text("已完成")

    card.get_by_role("button", name="满意").click()
    expect(card).to_contain_text("谢谢您的评价")
    request_id = card.get_attribute("data-request-id")
    r = senior.context.request.get(f"/api/v1/requests/{request_id}")
    body = r.json()
    assert body["status"] == "completed" and body["checkin_at"] and body["checkout_at"]
    assert not body["checkin_flagged"]  # checked in at the senior's door
    provider.reload()
    expect(provider.locator("#score")).to_contain_text("5.0 ★")
