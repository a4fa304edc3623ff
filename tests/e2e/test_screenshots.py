"""The main screens of each role at 360 × 800 in zh-CN. `make screenshots` keeps them in
docs/screenshots/ (LINLI_SCREENSHOTS); in the suite they go to a temporary folder, so every screen is
at least drawn once more in each run."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.e2e.conftest import api_as
from tests.e2e.test_console import escalated_request

pytestmark = pytest.mark.e2e


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("LINLI_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str):
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.wait_for_timeout(150)
        page.screenshot(path=str(folder / f"{name}.png"))
        assert (folder / f"{name}.png").stat().st_size > 5_000

    return shot


def visit_done(world, service: str):
    """A visit booked, accepted, carried out and checked out through the API."""
    senior, provider = api_as(world, world.senior_phone), api_as(world, world.provider_phone)
    request = senior.post(f"{senior.base}/requests", json={"senior_id": world.senior_id, "service_type": service}).json()
    offers = provider.get(f"{provider.base}/offers")
    assert offers.ok, offers.text
    offer = next(o for o in offers.json() if o["request_id"] == request["id"])
    assert provider.post(f"{provider.base}/offers/{offer['id']}/accept", json={}).ok
    at = {"lat": world.senior_at["latitude"], "lon": world.senior_at["longitude"]}
    for status in ("en_route", "in_service", "completed"):
        r = provider.post(f"{provider.base}/requests/{request['id']}/progress", json={"status": status, **at})
        assert r.ok, r.text
    return request["id"]


def test_screens_of_each_role(phone, world, shots):
    page = phone(None)
    shots(page, "01-sign-in")

    visit_done(world, "cleaning")
    senior = phone(world.senior_phone, geolocation=world.senior_at)
    provider = phone(world.provider_phone, geolocation=world.provider_at)
    senior.get_by_role("link", name="助餐").click()
    shots(senior, "03-senior-when")
    senior.locator("a.choice[data-when='now']").click()
    shots(senior, "04-senior-confirm")
    senior.get_by_role("button", name="确认预约").click()
    expect(provider.locator("#offers .offer")).to_have_count(1)
    shots(provider, "10-provider-offer")
    provider.locator("#offers .offer button.accept").click()
    expect(provider.locator(".job-view")).to_contain_text("王秀兰")
    shots(provider, "11-provider-job")
    expect(senior.locator("#visits .visit").first).to_contain_text("已接单")
    senior.evaluate("window.scrollTo(0, 0)")
    shots(senior, "02-senior-home")
    senior.locator("#visits").scroll_into_view_if_needed()
    senior.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    shots(senior, "05-senior-visits-and-rating")
    senior.locator("#visits .visit[data-status='completed']").get_by_role("button", name="满意", exact=True).click()
    expect(senior.locator("#visits .visit[data-status='completed']")).to_contain_text("谢谢您的评价")
    provider.get_by_role("link", name="返回").click()
    expect(provider.locator("#today .job")).to_have_count(2)
    provider.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    shots(provider, "12-provider-visits-credit")

    family = phone(world.family_phone)
    shots(family, "08-family-home")
    senior.locator("#sos-button").click()
    shots(senior, "06-senior-sos-countdown")
    expect(family.locator("#sos-alerts .sos-alert")).to_be_visible(timeout=15_000)
    family.evaluate("window.scrollTo(0, 0)")
    shots(family, "09-family-sos-alert")
    family.get_by_role("button", name="我知道了，马上处理").click()
    expect(senior.locator("#sos-status")).to_contain_text("已看到")
    shots(senior, "07-senior-sos-seen")

    senior.get_by_role("link", name="返回").click()
    senior.locator("#settings-link").click()
    shots(senior, "13-settings")
    senior.context.set_offline(True)
    senior.get_by_role("link", name="返回").click()
    senior.locator("#sos-button").click()
    shots(senior, "14-senior-offline-sos")


def test_plan_screens(phone, world, shots):
    """每周… (days and time chosen) and 我的定期服务 with a plan's next visits and one skipped."""
    senior = phone(world.senior_phone)
    senior.get_by_role("link", name="助餐").click()
    senior.locator("a.choice[data-when='weekly']").click()
    for day in ("星期一", "星期三", "星期五"):
        senior.get_by_role("button", name=day).click()
    senior.get_by_role("button", name="中午11:30").click()
    shots(senior, "senior-weekly")
    senior.get_by_role("button", name="确认", exact=True).click()
    plan = senior.locator("#plans .plan")
    expect(plan.locator(".plan-next li")).to_have_count(3)
    plan.get_by_role("button", name="跳过下一次").click()
    expect(plan.locator(".plan-skipped")).to_be_visible()
    senior.get_by_role("button", name="知道了").click()
    shots(senior, "senior-plans")


def test_console_screens(console, world, staff_phone, shots):
    """The center's console at 1280 × 800: live operations with an escalated request and an open SOS,
    the assign dialog, and the coverage map (no tiles: drawn on a plain background)."""
    escalated_request(world, staff_phone)
    more_seniors(world, staff_phone)
    senior = api_as(world, world.senior_phone)
    at = {"lat": world.senior_at["latitude"], "lon": world.senior_at["longitude"]}
    assert senior.post(f"{senior.base}/sos", json={"senior_id": world.senior_id, **at}).ok
    desk = console(staff_phone)
    expect(desk.locator("#sos-list .sos-item")).to_have_count(1)
    expect(desk.locator("#live tr[data-status='escalated']")).to_have_count(1)
    desk.evaluate("document.getElementById('notices').replaceChildren()")
    shots(desk, "console-live")
    desk.locator("#live tr[data-status='escalated']").get_by_role("button", name="指派").click()
    expect(desk.locator("#assign-dialog tr[data-provider-id]").first).to_be_visible()
    shots(desk, "console-assign")
    desk.keyboard.press("Escape")
    desk.locator("#nav-coverage").click()
    expect(desk.locator("#coverage-map .leaflet-overlay-pane canvas")).to_be_attached()
    desk.locator("#siting-k").fill("2")
    desk.get_by_role("button", name="计算建议").click()
    expect(desk.locator("#siting tbody tr")).to_have_count(2)
    desk.locator("#map-h").scroll_into_view_if_needed()
    shots(desk, "console-coverage")


def more_seniors(world, staff_phone: str):
    """Seniors the staff register around the community, some beyond every provider's radius, two assessed."""
    staff = api_as(world, staff_phone)
    community_id = staff.get(f"{staff.base}/me").json()["user"]["community_ids"][0]
    lat, lon = world.senior_at["latitude"], world.senior_at["longitude"]
    severe = {k: 0 for k in f.BARTHEL_FULL}
    for i, (north, east, items) in enumerate([(1.5, 1.0, None), (-2.0, 2.5, severe), (3.0, -1.0, None),
                                              (7.5, 6.0, severe), (8.0, 7.0, f.BARTHEL_FULL), (-7.0, 8.0, None),
                                              (-8.0, 7.5, None), (7.0, -7.5, severe)]):
        at = f.offset(lat, lon, north_km=north, east_km=east)
        r = staff.post(f"{staff.base}/seniors", json={"name": f"长辈{i + 1}", "address": f"桔井路{i + 1}号",
                                                      "lat": at[0], "lon": at[1], "birth_year": 1940 + i,
                                                      "community_id": community_id})
        assert r.status_code == 201, r.text
        if items:
            assert staff.post(f"{staff.base}/seniors/{r.json()['id']}/assessments", json={"items": items}).ok
