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

    card.get_by_role("button", name="满意", exact=True).click()
    expect(card).to_contain_text("谢谢您的评价")
    request_id = card.get_attribute("data-request-id")
    r = senior.context.request.get(f"/api/v1/requests/{request_id}")
    body = r.json()
    assert body["status"] == "completed" and body["checkin_at"] and body["checkout_at"]
    assert not body["checkin_flagged"]  # checked in at the senior's door
    provider.reload()
    expect(provider.locator("#score")).to_contain_text("5.0 ★")


def test_family_books_for_their_senior_and_cancels_with_confirmation(phone, world):
    family = phone(world.family_phone)
    family.locator(".senior-card a[data-book-for]").click()  # picks the senior; then the same three taps
    family.get_by_role("link", name="助医").click()
    tomorrow = family.locator("a.choice", has_text="明天").first
    label = tomorrow.inner_text()
    tomorrow.click()
    expect(family.locator(".summary")).to_contain_text("王秀兰")
    family.get_by_role("button", name="确认预约").click()
    card = family.locator("#visits .visit").first
    expect(card).to_contain_text("助医")
    expect(card).to_contain_text(label)

    card.get_by_role("button", name="取消预约").click()
    expect(card).to_contain_text("确定要取消这次服务吗？")
    card.get_by_role("button", name="不取消").click()
    expect(card).not_to_contain_text("确定要取消")
    card.get_by_role("button", name="取消预约").click()
    card.get_by_role("button", name="是，取消").click()
    expect(card).to_contain_text("已取消")
    request_id = card.get_attribute("data-request-id")
    assert family.context.request.get(f"/api/v1/requests/{request_id}").json()["status"] == "cancelled"


def test_book_again_repeats_a_past_booking_in_one_tap(phone, world):
    senior = phone(world.senior_phone)
    senior.get_by_role("link", name="助浴").click()
    senior.locator("a.choice", has_text="明天").first.click()
    senior.get_by_role("button", name="确认预约").click()
    card = senior.locator("#visits .visit").first
    card.get_by_role("button", name="取消预约").click()
    card.get_by_role("button", name="是，取消").click()
    expect(card).to_contain_text("已取消")
    first = senior.context.request.get("/api/v1/requests").json()
    assert len(first) == 1
    card.get_by_role("button", name="再订一次").click()
    expect(senior.locator("#visits .visit[data-status='offering'], #visits .visit[data-status='pending']")).to_have_count(1)
    both = senior.context.request.get("/api/v1/requests").json()
    again = next(r for r in both if r["id"] != first[0]["id"])
    assert again["service_type"] == "bathing" and again["senior_id"] == world.senior_id
    assert again["scheduled_start"][11:16] == first[0]["scheduled_start"][11:16]  # the same time of day


def test_duty_sends_a_coarse_position_only_when_going_on_duty(phone, world):
    provider = phone(world.provider_phone, geolocation={"latitude": 25.801234, "longitude": 113.034567})
    with provider.expect_request("**/api/v1/providers/me/duty") as off:
        provider.get_by_role("button", name="停止接单").click()
    assert off.value.post_data_json == {"on_duty": False}  # off duty: no position at all
    expect(provider.locator(".duty")).to_contain_text("休息中")
    me = provider.context.request.get(f"/api/v1/providers/{world.provider_id}").json()
    assert me["on_duty"] is False
    with provider.expect_request("**/api/v1/providers/me/duty") as on:
        provider.get_by_role("button", name="开始接单").click()
    assert on.value.post_data_json == {"on_duty": True, "lat": 25.8, "lon": 113.03}  # ~1 km, never the exact point
    expect(provider.locator(".duty")).to_contain_text("正在接单")
    me = provider.context.request.get(f"/api/v1/providers/{world.provider_id}").json()
    assert me["on_duty"] is True
