"""Every main screen of each role: axe-core finds no serious or critical violation, and the elder-
friendly numbers (MIIT 适老化) hold on the rendered page: text ≥ 18 px, service labels ≥ 30 px,
targets ≥ 60 × 60 px in the senior view (≥ 44 × 44 px elsewhere), line height ≥ 1.3, contrast ≥ 4.5:1."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import api_as, run_axe

pytestmark = pytest.mark.e2e

MEASURE = """(minTarget) => {
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const textEls = [...document.querySelectorAll('#app *')].filter((el) => visible(el) &&
    [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()));
  const small = textEls.map((el) => { const s = getComputedStyle(el);
      return { text: el.textContent.trim().slice(0, 20), size: parseFloat(s.fontSize),
               lh: s.lineHeight === 'normal' ? 1.2 : parseFloat(s.lineHeight) / parseFloat(s.fontSize) }; });
  const targets = [...document.querySelectorAll('#app a[href], #app button, #app input:not([type=hidden]), #app textarea')]
    .filter((el) => visible(el) && !el.closest('.skip') && !(el.tagName === 'INPUT' && ['checkbox', 'radio'].includes(el.type)))
    .map((el) => { const r = el.getBoundingClientRect();
      return { text: (el.textContent || el.name || el.id).trim().slice(0, 20), w: r.width, h: r.height }; })
    .filter((t) => t.w < minTarget - 0.5 || t.h < minTarget - 0.5);
  const labels = [...document.querySelectorAll('.service-label')].map((el) => parseFloat(getComputedStyle(el).fontSize));
  return { minSize: Math.min(...small.map((x) => x.size)), smallest: small.sort((a, b) => a.size - b.size)[0],
           minLh: Math.min(...small.map((x) => x.lh)), tight: small.filter((x) => x.lh < 1.3).slice(0, 3),
           tooSmallTargets: targets, labels };
}"""


def check(page, screen: str, *, senior: bool):
    violations = run_axe(page)
    assert violations == [], f"{screen}: {violations}"
    m = page.evaluate(MEASURE, 60 if senior else 44)
    assert m["minSize"] >= (18 if senior else 16), f"{screen}: smallest text {m['smallest']}"
    assert m["minLh"] >= 1.3, f"{screen}: line height under 1.3 in {m['tight']}"
    assert m["tooSmallTargets"] == [], f"{screen}: targets under {60 if senior else 44} px: {m['tooSmallTargets']}"
    if senior and m["labels"]:
        assert len(m["labels"]) == 5 and min(m["labels"]) >= 30, f"{screen}: service labels {m['labels']}"
    return m


def test_signed_out_screens(phone, world):
    page = phone(None)
    expect(page.locator("#login")).to_be_visible()
    check(page, "login", senior=False)
    page.get_by_role("link", name="还没有账号？注册").click()
    expect(page.locator("#register")).to_be_visible()
    check(page, "register", senior=False)


def test_senior_screens(phone, world):
    page = phone(world.senior_phone)
    m = check(page, "senior home", senior=True)
    assert min(m["labels"]) >= 30 and m["minSize"] >= 18
    page.get_by_role("link", name="助餐").click()
    check(page, "senior when", senior=True)
    page.locator("a.choice[data-when='now']").click()
    check(page, "senior confirm", senior=True)
    page.get_by_role("button", name="确认预约").click()
    expect(page.locator("#visits .visit")).to_have_count(1)
    check(page, "senior home with a visit", senior=True)
    page.locator("#visits .visit button.cancel").click()
    check(page, "senior cancel confirmation", senior=True)
    page.get_by_role("button", name="不取消").click()
    page.locator("#sos-button").click()
    check(page, "senior SOS countdown", senior=True)
    page.locator("#sos-cancel").click()
    page.locator("#settings-link").click()
    check(page, "senior settings", senior=True)
    page.locator("fieldset", has_text="高对比度").get_by_role("button", name="开").click()
    check(page, "senior settings, high contrast", senior=True)
    page.locator("fieldset", has_text="字体大小").get_by_role("button", name="特大").click()
    page.get_by_role("link", name="返回").click()
    m = check(page, "senior home, largest text, high contrast", senior=True)
    assert min(m["labels"]) >= 36 and m["minSize"] >= 23


def test_family_screens(phone, world):
    senior = api_as(world, world.senior_phone)
    assert senior.post(f"{senior.base}/requests", json={"senior_id": world.senior_id, "service_type": "meal"}).ok
    page = phone(world.family_phone)
    expect(page.locator(".senior-card .visit")).to_have_count(1)
    check(page, "family home", senior=False)
    page.locator(".senior-card a", has_text="我的服务").click()
    check(page, "family senior page", senior=False)
    page.locator("a.primary.button").first.click()
    check(page, "family service choice", senior=False)
    assert senior.post(f"{senior.base}/sos", json={"senior_id": world.senior_id}).status_code == 201
    page.get_by_role("link", name="返回").click()
    expect(page.locator("#sos-alerts .sos-alert")).to_be_visible()
    check(page, "family home with an SOS", senior=False)
    page.locator("#settings-link").click()
    check(page, "family settings", senior=False)


def test_plan_screens(phone, world):
    page = phone(world.senior_phone)
    page.get_by_role("link", name="助餐").click()
    page.locator("a.choice[data-when='weekly']").click()
    check(page, "senior weekly plan", senior=True)
    page.get_by_role("button", name="星期一").click()
    page.get_by_role("button", name="下午3:00").click()
    check(page, "senior weekly plan, chosen", senior=True)
    page.get_by_role("button", name="确认", exact=True).click()
    expect(page.locator("#plans .plan .plan-next li")).to_have_count(3)
    check(page, "senior plans", senior=True)
    page.locator("#plans .plan button.end-plan").click()
    check(page, "senior plans, end confirmation", senior=True)
    page.get_by_role("button", name="不取消").click()
    page.locator("#plans .plan button.pause-plan").click()
    expect(page.locator("#plans .plan[data-status='paused']")).to_have_count(1)
    check(page, "senior plans, paused", senior=True)
    family = phone(world.family_phone)
    family.locator(".senior-card a[data-plans-for]").click()
    expect(family.locator("#plans .plan")).to_have_count(1)
    check(family, "family plans", senior=False)
    family.locator("#add-plan").click()
    family.get_by_role("link", name="助行").click()
    family.locator("a.choice[data-when='weekly']").click()
    check(family, "family weekly plan with a typed time", senior=False)


def test_provider_screens(phone, world):
    page = phone(world.provider_phone, geolocation=world.provider_at)
    check(page, "provider home", senior=False)
    senior = api_as(world, world.senior_phone)
    assert senior.post(f"{senior.base}/requests", json={"senior_id": world.senior_id, "service_type": "meal"}).ok
    expect(page.locator("#offers .offer")).to_have_count(1)
    check(page, "provider offer", senior=False)
    page.locator("#offers .offer button.accept").click()
    expect(page.locator(".job-view")).to_contain_text("王秀兰")
    check(page, "provider job", senior=False)
    page.get_by_role("link", name="返回").click()
    expect(page.locator("#today .job")).to_have_count(1)
    check(page, "provider home with a visit", senior=False)
    page.locator("#settings-link").click()
    check(page, "provider settings", senior=False)
    page.locator("fieldset", has_text="语言").get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_contain_text("Settings")
    check(page, "provider settings in English", senior=False)
