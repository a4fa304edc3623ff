"""每周… in the browser: a weekly plan in taps, the plans screen (next visits, pause, skip, end), the
server's refusal in the user's language, and no plan made (or queued) offline."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import api_as

pytestmark = pytest.mark.e2e
SHANGHAI = timezone(timedelta(hours=8))


def plans_of(world, number):
    s = api_as(world, number)
    r = s.get(f"{s.base}/plans", params={"senior_id": world.senior_id})
    assert r.ok, r.text
    return s, r.json()


def local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(SHANGHAI)


def weekly_form(page, service="助餐"):
    page.get_by_role("link", name=service).click()
    page.locator("a.choice[data-when='weekly']").click()
    expect(page.locator("h1")).to_contain_text(f"每周{service}")


def test_senior_makes_a_weekly_plan_in_taps_then_pauses_resumes_and_skips_one(phone, world):
    senior = phone(world.senior_phone)
    weekly_form(senior)
    sent = []
    senior.on("request", lambda req: sent.append(req.method) if req.url.endswith("/api/v1/plans") else None)
    confirm = senior.get_by_role("button", name="确认", exact=True)
    confirm.click()  # no day chosen yet: said where the eye and the screen reader are, nothing sent
    expect(senior.locator("#plan-summary")).to_be_focused()
    expect(senior.locator("#plan-summary")).to_have_text("请先选择哪几天")
    assert sent == []
    for day in ("星期一", "星期三", "星期五", "星期二"):
        senior.get_by_role("button", name=day).click()
    senior.get_by_role("button", name="星期二").click()  # a second tap takes it back
    expect(senior.get_by_role("button", name="星期二")).to_have_attribute("aria-pressed", "false")
    senior.get_by_role("button", name="下午3:00").click()
    expect(senior.get_by_role("button", name="下午3:00")).to_have_attribute("aria-pressed", "true")
    expect(senior.get_by_role("button", name="上午9:00")).to_have_attribute("aria-pressed", "false")
    expect(senior.locator("#plan-summary")).to_have_text("每周一、三、五 下午3:00 助餐")
    confirm.click()
    expect(senior.locator("h1")).to_have_text("我的定期服务")
    assert sent == ["POST"]
    card = senior.locator("#plans .plan")
    expect(card).to_have_count(1)
    expect(card.locator(".plan-title")).to_have_text("每周一、三、五 下午3:00 助餐")
    expect(card.locator(".plan-next li")).to_have_count(3)
    expect(card.locator(".plan-next li").first).to_contain_text("15:00")
    _, plans = plans_of(world, world.senior_phone)
    assert len(plans) == 1
    plan = plans[0]
    assert plan["rrule"] == "FREQ=WEEKLY;BYDAY=MO,WE,FR" and plan["service_type"] == "meal"
    assert plan["duration_minutes"] == 60 and plan["status"] == "active"
    start = local(plan["start"])
    assert (start.hour, start.minute) == (15, 0) and start.weekday() in (0, 2, 4)
    assert datetime.now(SHANGHAI) < start < datetime.now(SHANGHAI) + timedelta(days=7)  # the next matching day
    shown = [li.get_attribute("data-start") for li in card.locator(".plan-next li").all()]

    card.get_by_role("button", name="暂停").click()
    expect(card).to_have_attribute("data-status", "paused")
    expect(card).to_contain_text("已暂停")
    assert plans_of(world, world.senior_phone)[1][0]["status"] == "paused"
    card.get_by_role("button", name="恢复").click()
    expect(card).to_have_attribute("data-status", "active")
    expect(card.locator(".plan-next li")).to_have_count(3)

    card.get_by_role("button", name="跳过下一次").click()
    expect(card.locator(".plan-skipped")).to_contain_text("已跳过")
    expect(card.locator(".plan-next li").first).not_to_have_attribute("data-start", shown[0])
    s, plans = plans_of(world, world.senior_phone)
    assert plans[0]["status"] == "active"
    occurrences = s.get(f"{s.base}/plans/{plan['id']}/occurrences").json()
    skipped = [o for o in occurrences if o["status"] == "skipped"]
    assert len(skipped) == 1 and local(skipped[0]["start"]).date() == local(shown[0]).date()

    senior.get_by_role("link", name="返回").click()  # the home screen links to the plans screen
    expect(senior.locator("#visits .visit .badge").first).to_contain_text("定期")
    senior.locator("a.plans-link").click()
    expect(senior.locator("#plans .plan")).to_have_count(1)


def test_a_refusal_is_shown_in_the_users_language(phone, world):
    s = api_as(world, world.senior_phone)
    monday = datetime.now(SHANGHAI).date() + timedelta(days=7 - datetime.now(SHANGHAI).weekday())
    r = s.post(f"{s.base}/plans", json={"senior_id": world.senior_id, "service_type": "meal",
                                        "rrule": "FREQ=WEEKLY;BYDAY=MO", "start": f"{monday}T11:30:00"})
    assert r.status_code == 201, r.text
    senior = phone(world.senior_phone)
    weekly_form(senior)
    senior.get_by_role("button", name="星期一").click()
    senior.get_by_role("button", name="确认", exact=True).click()
    toast = senior.locator(".toast.error")
    expect(toast).to_contain_text("同一天重复同类服务")  # plan_clash, the Chinese half only
    expect(toast).not_to_contain_text("at most one a day")
    assert len(plans_of(world, world.senior_phone)[1]) == 1


def test_offline_a_plan_is_not_made_nor_queued(phone, world):
    senior = phone(world.senior_phone)
    weekly_form(senior, "助洁")
    senior.get_by_role("button", name="星期六").click()
    sent = []
    senior.on("request", lambda req: sent.append(req.url) if "/api/v1/plans" in req.url else None)
    senior.context.set_offline(True)
    senior.get_by_role("button", name="确认", exact=True).click()
    expect(senior.locator(".toast.error")).to_contain_text("需要联网")
    expect(senior.locator("h1")).to_contain_text("每周助洁")  # still on the form, nothing waiting
    senior.context.set_offline(False)
    senior.wait_for_timeout(300)
    assert sent == [] and plans_of(world, world.senior_phone)[1] == []


def test_family_sees_the_seniors_plans_and_ends_one_with_a_confirmation(phone, world):
    s = api_as(world, world.senior_phone)
    tomorrow = datetime.now(SHANGHAI).date() + timedelta(days=1)
    r = s.post(f"{s.base}/plans", json={"senior_id": world.senior_id, "service_type": "cleaning",
                                        "rrule": "FREQ=DAILY", "start": f"{tomorrow}T09:00:00"})
    assert r.status_code == 201, r.text
    family = phone(world.family_phone)
    family.locator(f".senior-card a[data-plans-for='{world.senior_id}']").click()
    expect(family.locator("h1")).to_have_text("王秀兰的定期服务")
    card = family.locator("#plans .plan")
    expect(card.locator(".plan-title")).to_have_text("每天 上午9:00 助洁")
    expect(card.locator(".plan-next li")).to_have_count(3)
    card.get_by_role("button", name="取消计划").click()
    expect(card).to_contain_text("确定取消这个定期服务吗")
    card.get_by_role("button", name="不取消").click()
    card.get_by_role("button", name="取消计划").click()
    card.get_by_role("button", name="是，取消计划").click()
    expect(family.locator("#plans .plan")).to_have_count(0)
    expect(family.locator("p.empty")).to_have_text("还没有定期服务")
    assert plans_of(world, world.family_phone)[1][0]["status"] == "ended"

    family.locator("#add-plan").click()  # a new one, at a typed time
    family.get_by_role("link", name="助行").click()
    family.locator("a.choice[data-when='weekly']").click()
    family.get_by_role("button", name="星期四").click()
    family.locator("#plan-time").fill("16:45")
    family.locator("#plan-time").blur()
    expect(family.locator("#plan-summary")).to_have_text("每周四 下午4:45 助行")
    family.get_by_role("button", name="确认", exact=True).click()
    expect(family.locator("#plans .plan .plan-title")).to_have_text(re.compile("每周四 下午4:45 助行"))
    plans = plans_of(world, world.family_phone)[1]
    made = next(p for p in plans if p["status"] == "active")
    assert made["rrule"] == "FREQ=WEEKLY;BYDAY=TH" and (local(made["start"]).hour, local(made["start"]).minute) == (16, 45)
