"""The app as an installable PWA, and what every role shares: sign-in and registration, errors in the
user's language, read-aloud, sign-out, re-fetch on returning to the foreground."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.e2e.conftest import api_as

pytestmark = pytest.mark.e2e


def test_manifest_icons_and_offline_shell(phone, world):
    page = phone(world.senior_phone)
    manifest_url = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = page.context.request.get(manifest_url).json()
    assert manifest["display"] == "standalone" and manifest["lang"] == "zh-CN" and manifest["theme_color"]
    sizes = {(i["sizes"], i.get("purpose", "any")) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        r = page.context.request.get(icon["src"])
        assert r.ok and r.headers["content-type"] == "image/png" and r.body()[:8] == b"\x89PNG\r\n\x1a\n"
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null || "
                           "navigator.serviceWorker.ready.then(() => true)")
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()  # now controlled by the service worker, which has precached the shell
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    expect(page.get_by_role("link", name="助餐")).to_be_visible()  # the shell and the last user's seniors
    expect(page.locator("#conn")).to_contain_text("没有网络")


def test_register_profile_sign_out_and_errors_in_the_users_language(phone, world):
    page = phone(None)
    page.get_by_role("link", name="还没有账号？注册").click()
    number = f.next_phone()
    page.get_by_label("姓名").fill("赵桂英")
    page.get_by_label("手机号").fill(world.senior_phone)  # taken: the server's refusal, in Chinese
    page.get_by_label("密码").fill("sunflower-garden-7")
    page.get_by_role("button", name="注册").click()
    expect(page.locator("#register .form-error")).to_have_text("这个手机号已注册")
    page.get_by_label("手机号").fill(number)
    page.get_by_label("密码").fill("sunflower-garden-7")
    page.get_by_role("button", name="注册").click()

    expect(page.locator("#senior-profile")).to_be_visible()  # first run: the senior's own profile
    page.get_by_label("地址").fill("郴州市北湖区桔井社区3栋")
    page.get_by_label("出生年份").fill("1948")
    page.get_by_label("紧急联系人姓名").fill("赵明")
    page.get_by_label("紧急联系人手机号").fill(world.family_phone)
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".hello")).to_contain_text("赵桂英")

    page.locator("#settings-link").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator("#login")).to_be_visible()
    page.get_by_label("手机号").fill(number)
    page.get_by_label("密码").fill("wrong-password-1")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#login-error")).to_have_text("手机号或密码不对")
    page.get_by_role("button", name="English").click()
    page.get_by_label("Phone").fill(number)
    page.get_by_label("Password").fill("wrong-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_have_text("Wrong phone or password")
    page.get_by_label("Password").fill("sunflower-garden-7")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Meals")).to_be_visible()


def test_read_aloud_speaks_the_screen_in_chinese(phone, world):
    page = phone(world.senior_phone)
    page.evaluate("""() => { window.__spoken = [];
        window.speechSynthesis.speak = (u) => window.__spoken.push({text: u.text, lang: u.lang}); }""")
    page.get_by_role("button", name="朗读").click()
    spoken = page.evaluate("window.__spoken")
    assert len(spoken) == 1 and spoken[0]["lang"] == "zh-CN"
    assert "王秀兰" in spoken[0]["text"] and "助餐" in spoken[0]["text"] and "紧急求助" in spoken[0]["text"]


def test_back_in_the_foreground_the_app_fetches_again(phone, world):
    page = phone(world.family_phone)
    expect(page.locator(".senior-card .visit")).to_have_count(0)
    page.evaluate("""() => { window.__origFetch = window.fetch; window.__fetches = [];
        window.fetch = (...a) => { window.__fetches.push(String(a[0])); return window.__origFetch(...a); }; }""")
    # While hidden, the link is down and misses the booking; on return the app fetches again.
    senior = api_as(world, world.senior_phone)
    page.context.set_offline(True)
    assert senior.post(f"{senior.base}/requests", json={"senior_id": world.senior_id, "service_type": "meal"}).ok
    page.context.set_offline(False)
    page.evaluate("""() => { Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
        document.dispatchEvent(new Event('visibilitychange')); }""")
    expect(page.locator(".senior-card .visit")).to_have_count(1)
    assert any("/api/v1/requests" in u for u in page.evaluate("window.__fetches"))


def test_notifications_setting_says_plainly_when_push_cannot_be_had(phone, world):
    page = phone(world.family_phone)
    page.locator("#settings-link").click()
    group = page.locator("#push")
    expect(group).to_contain_text("消息通知")
    group.get_by_role("button", name="开启通知").click()  # permission refused by default
    expect(group.get_by_role("alert")).to_contain_text("没有得到通知权限")
    page.context.grant_permissions(["notifications"])
    group.get_by_role("button", name="开启通知").click()  # allowed, but no push service in a test browser
    expect(group.get_by_role("alert")).to_contain_text("暂时无法开启通知；紧急消息会发短信")
    assert page.context.request.get("/api/v1/push/subscriptions").json() == []


def test_a_session_ended_elsewhere_returns_to_sign_in(phone, world):
    page = phone(world.provider_phone, geolocation=world.provider_at)
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "linli_csrf")
    assert page.context.request.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status == 204
    page.evaluate("""() => { Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
        document.dispatchEvent(new Event('visibilitychange')); }""")  # back in the foreground: fetches, 401
    expect(page.locator("#login")).to_be_visible()


def test_im_fine_checks_in_for_today_in_one_tap(phone, world):
    page = phone(world.senior_phone)
    page.get_by_role("button", name="我很好（每日平安）").click()
    expect(page.locator("#checkin")).to_contain_text("今天已报平安")
    staff_view = page.context.request.get("/api/v1/seniors/%d" % world.senior_id)
    assert staff_view.ok
    page.reload()
    expect(page.locator("#checkin")).to_contain_text("今天已报平安")
