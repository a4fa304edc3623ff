"""The community center console at 1280 × 800: an escalated request assigned by hand reaches the
provider's phone live; an SOS raised by a senior appears without a reload; axe-core on the main panels."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.e2e.conftest import DESKTOP, api_as, run_axe

pytestmark = pytest.mark.e2e

PANELS = ("live", "hotline", "coverage", "providers", "subsidies", "stats", "care")


def escalated_request(world, staff_phone: str) -> int:
    """A meal the staff book by phone while the only provider is off duty: nobody can take it, so it is
    escalated at once. The provider then comes back on duty (and so is an eligible candidate)."""
    provider, staff = api_as(world, world.provider_phone), api_as(world, staff_phone)
    assert provider.post(f"{provider.base}/providers/me/duty", json={"on_duty": False}).ok
    r = staff.post(f"{staff.base}/requests", json={"senior_id": world.senior_id, "service_type": "meal"})
    assert r.ok, r.text
    assert r.json()["status"] == "escalated"
    at = {"lat": world.provider_at["latitude"], "lon": world.provider_at["longitude"]}
    assert provider.post(f"{provider.base}/providers/me/duty", json={"on_duty": True, **at}).ok
    return r.json()["id"]


def test_escalated_request_assigned_by_hand_reaches_the_provider_live(phone, console, world, staff_phone):
    provider = phone(world.provider_phone, geolocation=world.provider_at)
    provider.evaluate("window.__noReload = 1")
    desk = console(staff_phone)
    desk.evaluate("window.__noReload = 1")
    rid = escalated_request(world, staff_phone)

    row = desk.locator(f"#live tr[data-request-id='{rid}']")  # arrives live on the console
    expect(row).to_have_attribute("data-status", "escalated")
    expect(row).to_contain_text("王秀兰")
    row.get_by_role("button", name="指派").click()
    dialog = desk.locator("#assign-dialog")
    candidate = dialog.locator(f"tr[data-provider-id='{world.provider_id}']")
    expect(candidate).to_contain_text("王建国")
    expect(candidate).to_contain_text("可指派")
    candidate.get_by_role("button", name="指派").click()
    expect(dialog).to_be_hidden()
    expect(desk.locator("#panel > .messages")).to_contain_text("已指派给 王建国")

    job = provider.locator(f"li.job[data-request-id='{rid}']")  # the provider's page, without a reload
    expect(job).to_contain_text("助餐")
    expect(job).to_contain_text("已接单，待出发")
    expect(desk.locator(f"#live tr[data-request-id='{rid}']")).to_have_attribute("data-status", "assigned")
    assert provider.evaluate("window.__noReload") == 1 and desk.evaluate("window.__noReload") == 1
    body = api_as(world, staff_phone)
    assert body.get(f"{body.base}/requests/{rid}").json()["provider_id"] == world.provider_id
    assert desk.csp_errors == []


def test_sos_raised_by_a_senior_appears_on_the_console_without_a_reload(console, world, staff_phone):
    desk = console(staff_phone)
    desk.evaluate("window.__noReload = 1")
    expect(desk.locator("#sos-h")).to_contain_text("（0）")
    senior = api_as(world, world.senior_phone)
    at = {"lat": world.senior_at["latitude"], "lon": world.senior_at["longitude"]}
    sos = senior.post(f"{senior.base}/sos", json={"senior_id": world.senior_id, **at})
    assert sos.status_code == 201, sos.text
    sos_id = sos.json()["id"]

    item = desk.locator(f"#sos-list li[data-sos-id='{sos_id}']")
    expect(item).to_contain_text("王秀兰")
    expect(item).to_contain_text("无人确认")
    expect(desk.locator("#notices .notice")).to_contain_text("新的紧急求助：王秀兰")
    item.get_by_role("button", name="确认收到").click()
    expect(item).to_have_attribute("data-status", "acknowledged")
    expect(item).to_contain_text("已确认")
    assert senior.get(f"{senior.base}/sos/{sos_id}").json()["status"] == "acknowledged"
    expect(item.get_by_role("button", name="确认收到")).to_have_count(0)  # acknowledged once is enough
    item.get_by_role("button", name="结束求助").click()  # an outcome is needed first
    expect(item.get_by_role("textbox")).to_be_focused()
    item.get_by_role("textbox").fill("已电话联系，老人摔倒无大碍")
    item.get_by_role("button", name="结束求助").click()
    expect(desk.locator("#sos-h")).to_contain_text("（0）")
    assert desk.evaluate("window.__noReload") == 1
    assert senior.get(f"{senior.base}/sos/{sos_id}").json()["status"] == "resolved"


def test_console_panels_have_no_serious_accessibility_violations(console, world, staff_phone):
    escalated_request(world, staff_phone)
    desk = console(staff_phone, axe=True)
    for name in PANELS:
        desk.locator(f"#nav-{name}").click()
        expect(desk.locator("body")).to_have_attribute("data-panel", name)
        expect(desk.locator("#panel .loading")).to_have_count(0)
        if name == "coverage":
            expect(desk.locator("#coverage-map .leaflet-control-zoom-in")).to_be_visible()
        assert run_axe(desk) == [], name
        small = desk.evaluate("""() => [...document.querySelectorAll('#app *')].filter((el) => {
            const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 &&
              [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()) &&
              parseFloat(getComputedStyle(el).fontSize) < 16; }).map((el) => el.textContent.trim().slice(0, 20))""")
        assert small == [], f"{name}: text under 16 px: {small}"
    desk.locator("#nav-live").click()
    desk.locator("#live button", has_text="指派").first.click()
    expect(desk.locator("#assign-dialog tr[data-provider-id]").first).to_be_visible()
    assert run_axe(desk) == [], "assign dialog"


def test_console_is_for_staff_and_the_phone_app_links_to_it(console, phone, world, staff_phone):
    desk = console(world.senior_phone, "/console", staff=False)
    expect(desk.locator("#panel")).to_contain_text("控制台仅供社区工作人员和管理员使用")
    staff_on_phone = phone(staff_phone)
    staff_on_phone.locator("#open-console").click()
    expect(staff_on_phone.locator("body")).to_have_attribute("data-panel", "live")
    expect(staff_on_phone.locator("h1")).to_contain_text("实时运行")


def test_console_signs_in_and_speaks_english(browser, world, staff_phone):
    context = browser.new_context(**DESKTOP, base_url=world.url)
    try:
        page = context.new_page()
        page.goto("/console/coverage")
        page.locator("#login input[name=phone]").fill(staff_phone)
        page.locator("#login input[name=password]").fill(f.PASSWORD)
        page.locator("#login button[type=submit]").click()
        expect(page.locator("body")).to_have_attribute("data-panel", "coverage")
        page.locator("#lang").click()
        expect(page.locator("#panel h1")).to_have_text("Coverage")
        expect(page.locator("#nav-live")).to_have_text("Live")
    finally:
        context.close()


def test_hotline_booking_by_keyboard_then_the_coverage_map_and_a_plan_paused(console, world, staff_phone):
    """An elder phones in: found, served and booked with the keyboard alone (channel hotline); the map
    is drawn without tiles; a plan of the community is paused and resumed from the console."""
    desk = console(staff_phone, "/console/hotline")
    desk.locator("#senior-q").focus()
    desk.keyboard.type("王秀")
    desk.keyboard.press("Enter")
    pick = desk.locator(f"#pick-{world.senior_id}")
    expect(pick).to_be_visible()
    pick.focus()
    desk.keyboard.press("Enter")
    expect(desk.locator("#hotline-form input[value=meal]")).to_be_focused()
    desk.keyboard.press("ArrowRight")  # the radio group: 助餐 → 助洁
    expect(desk.locator("#hotline-form input[value=cleaning]")).to_be_checked()
    desk.locator("#book").focus()
    desk.keyboard.press("Enter")
    expect(desk.locator("#panel > .messages")).to_contain_text("已预约：王秀兰 助洁")
    staff = api_as(world, staff_phone)
    booked = staff.get(f"{staff.base}/requests", params={"limit": 5}).json()
    assert [(r["service_type"], r["channel"]) for r in booked] == [("cleaning", "hotline")]

    desk.locator("#nav-coverage").click()
    expect(desk.locator("#cov-h")).to_contain_text("助餐")
    expect(desk.locator("#coverage-map .leaflet-overlay-pane canvas")).to_be_attached()
    assert desk.locator("#coverage-map .leaflet-tile").count() == 0  # no tiles unless LINLI_MAP_TILES is set

    senior = api_as(world, world.senior_phone)
    plan = senior.post(f"{senior.base}/plans", json={"senior_id": world.senior_id, "service_type": "meal",
                                                     "rrule": "FREQ=WEEKLY", "start": f"{date.today() + timedelta(days=10)}T11:30:00"})
    assert plan.status_code == 201, plan.text
    desk.locator("#nav-care").click()
    row = desk.locator(f"#plans tr[data-plan-id='{plan.json()['id']}']")
    expect(row).to_contain_text("王秀兰")
    row.get_by_role("button", name="暂停计划").click()
    expect(row).to_have_attribute("data-status", "paused")
    row.get_by_role("button", name="恢复计划").click()
    expect(row).to_have_attribute("data-status", "active")
    assert desk.csp_errors == []


def test_staff_set_up_a_weekly_care_visit_for_an_elder_who_phones_in(console, world, staff_phone):
    """Center staff make a recurring plan for an elder (issue 10: plans for staff too): a weekly 关爱探访
    care visit on Monday and Wednesday at 10:00, from the hotline panel; the API holds it."""
    desk = console(staff_phone, "/console/hotline")
    desk.locator("#senior-q").fill("王秀")
    desk.locator("#senior-search button[type=submit]").click()
    desk.locator(f"#pick-{world.senior_id}").click()
    desk.locator("#hotline-form input[value=weekly]").check()
    desk.locator("#book").click()
    expect(desk.locator("#panel > .messages")).to_contain_text("请至少选择一天")  # no day: nothing sent
    desk.locator("#plan-days input[value=MO]").check()
    desk.locator("#plan-days input[value=WE]").check()
    desk.locator("#plan-time").fill("10:00")
    desk.locator("#care-visit").check()
    desk.locator("#book").click()
    expect(desk.locator("#panel > .messages")).to_contain_text("已为王秀兰建立定期助餐：一、三")
    staff = api_as(world, staff_phone)
    plans = staff.get(f"{staff.base}/plans", params={"senior_id": world.senior_id}).json()
    local = [datetime.fromisoformat(p["start"]).astimezone(ZoneInfo("Asia/Shanghai")) for p in plans]
    assert [(p["rrule"], p["kind"]) for p in plans] == [("FREQ=WEEKLY;BYDAY=MO,WE", "care_visit")]
    assert f"{local[0]:%H:%M}" == "10:00" and local[0].weekday() in (0, 2)


def test_providers_panel_verifies_suspends_with_a_reason_and_resolves_a_complaint(console, world, staff_phone):
    import requests

    number = f.next_phone()
    r = requests.post(f"{world.url}/api/v1/auth/register", timeout=10, json={
        "phone": number, "password": f.PASSWORD, "name": "赵新来", "role": "provider"})
    assert r.status_code == 201, r.text
    newcomer = api_as(world, number)
    lat, lon = world.provider_at["latitude"], world.provider_at["longitude"]
    mine = newcomer.post(f"{newcomer.base}/providers", json={"name": "赵新来", "services": ["meal"], "base_lat": lat,
                                                             "base_lon": lon, "service_radius_km": 3})
    assert mine.status_code == 201, mine.text
    pid = mine.json()["id"]
    rid = escalated_request(world, staff_phone)
    staff = api_as(world, staff_phone)
    assert staff.post(f"{staff.base}/center/requests/{rid}/assign", json={"provider_id": world.provider_id}).ok
    senior = api_as(world, world.senior_phone)
    complaint = senior.post(f"{senior.base}/requests/{rid}/complaints", json={"category": "late", "text": "晚到四十分钟"})
    assert complaint.status_code == 201, complaint.text

    desk = console(staff_phone, "/console/providers")
    desk.locator(f"#verify-queue tr[data-provider-id='{pid}']").get_by_role("button", name="审核通过").click()
    expect(desk.locator("#verify-queue")).to_contain_text("暂无")
    row = desk.locator(f"#provider-list tr[data-provider-id='{pid}']")
    expect(row).to_have_attribute("data-status", "verified")
    row.get_by_role("button", name="暂停").click()
    expect(desk.locator("#panel > .messages")).to_contain_text("请填写原因")
    expect(row).to_have_attribute("data-status", "verified")
    row.get_by_role("textbox").fill("资质过期")
    row.get_by_role("button", name="暂停").click()
    expect(row).to_have_attribute("data-status", "suspended")
    assert staff.get(f"{staff.base}/providers/{pid}").json()["status_reason"] == "资质过期"

    item = desk.locator(f"#complaints tr[data-complaint-id='{complaint.json()['id']}']")
    expect(item).to_contain_text("迟到")
    expect(item).to_contain_text("晚到四十分钟")
    item.get_by_role("textbox").fill("核实属实，已提醒")
    item.get_by_role("button", name="成立", exact=True).click()
    expect(desk.locator("#complaints")).to_contain_text("没有待处理的投诉")
    resolved = staff.get(f"{staff.base}/complaints", params={"status": "resolved"}).json()
    assert [(c["upheld"], c["resolution"]) for c in resolved] == [(True, "核实属实，已提醒")]


def test_subsidy_and_statistics_downloads_and_charts(console, world, staff_phone):
    escalated_request(world, staff_phone)
    desk = console(staff_phone, "/console/subsidies")
    expect(desk.locator("#illustrative")).to_contain_text("费率为示例")
    month = desk.locator("#subsidy-month").input_value()
    for link, kind in (("#subsidy-csv", "text/csv"), ("#subsidy-xlsx", "spreadsheetml")):
        href = desk.locator(link).get_attribute("href")
        assert href == f"/api/v1/center/subsidies?month={month}&format={link[9:]}"
        with desk.expect_download() as download:
            desk.locator(link).click()
        assert download.value.suggested_filename.endswith(link[9:])
        got = desk.context.request.get(href)
        assert got.ok and kind in got.headers["content-type"], got.headers
    desk.locator("#nav-stats").click()
    expect(desk.locator("#stats-overall")).to_contain_text("转人工")
    bars = desk.locator("#stats svg.chart").first
    expect(bars).to_have_attribute("aria-label", "请求，按社区")
    expect(bars.locator("rect")).to_have_count(1)
    with desk.expect_download() as download:
        desk.locator("#stats-csv").click()
    assert download.value.suggested_filename.endswith(".csv")
