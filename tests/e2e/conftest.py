"""Browser tests: Debian Chromium driven by Playwright against `linli serve` serving the built PWA.

Chromium and the build are prerequisites of `make test`; here a missing one fails in CI (CI=true)
and skips elsewhere, so a developer without Chromium can still run the rest of the suite.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from dispatch.catalog import Role
from models.engine import make_engine, write_session
from tests import factories as f
from tests.conftest import IN_CI, sqlite_engine

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "pwa" / "dist"
CHROMIUM = os.environ.get("LINLI_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"viewport": {"width": 360, "height": 800}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
AXE = ROOT / "pwa" / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 20_000  # generous: CI machines run other suites beside these


@pytest.fixture(scope="session", autouse=True)
def _patient_expect():
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)


def _missing(what: str):
    if IN_CI:
        pytest.fail(f"{what} (browser tests never skip in CI)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def built_pwa():
    """The built app (`make pwa`); built here when missing and npm is present."""
    if not (DIST / "index.html").exists():
        if shutil.which("npm") and (ROOT / "pwa" / "node_modules").exists():
            subprocess.run(["npm", "run", "build"], cwd=ROOT / "pwa", check=True, capture_output=True)
        else:
            _missing("pwa/dist is not built: run `make pwa`")
    return DIST


@pytest.fixture(scope="session")
def browser(built_pwa):
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} is missing: `make chromium` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def world(tmp_path):
    """A live server on a fresh database with a senior (and her account), her daughter linked with
    booking rights, and a verified provider 王建国 on duty 0.5 km away offering every service."""
    instance = tmp_path / "instance"
    instance.mkdir()
    engine = sqlite_engine(tmp_path)
    with write_session(engine) as session:
        c = f.first_community(session)
        senior_user = f.user(session, Role.SENIOR, name="王秀兰")
        family_user = f.user(session, Role.FAMILY, name="李华")
        senior = f.senior(session, c, owner=senior_user, name="王秀兰",
                          emergency_contacts=[{"name": "李华", "phone": family_user.phone, "relation": "女儿"}])
        f.family_link(session, senior, family_user)
        provider_user = f.user(session, Role.PROVIDER, name="王建国")
        lat, lon = f.offset(c.lat, c.lon, east_km=0.5)
        provider = f.provider_on_duty_at(session, c, lat=lat, lon=lon, owner=provider_user,
                                         services=("meal", "cleaning", "escort", "bathing", "medical"))
        session.commit()
        w = SimpleNamespace(senior_phone=senior_user.phone, family_phone=family_user.phone,
                            provider_phone=provider_user.phone, senior_id=senior.id, provider_id=provider.id,
                            senior_at={"latitude": senior.lat, "longitude": senior.lon},
                            provider_at={"latitude": lat, "longitude": lon}, family_user_id=family_user.id)
    engine.dispose()
    env = {"LINLI_INSTANCE_PATH": str(instance), "LINLI_DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
           "LINLI_SECRET_KEY": "e2e-secret"}
    with f.LiveServer(env, log=tmp_path / "serve.log", start_timeout=120) as server:  # slow on a loaded machine
        w.url = server.url
        w.server = server
        yield w


@pytest.fixture
def phone(browser, world):
    """open(phone_number, geolocation=None) → a signed-in page in its own browser context (a phone)."""
    contexts = []

    def open_phone(number: str | None, *, geolocation: dict | None = None, path: str = "/"):
        options = dict(PHONE, base_url=world.url, bypass_csp=True)  # bypass_csp: lets the tests inject axe-core
        if geolocation:
            options.update(geolocation=geolocation, permissions=["geolocation"])
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        if number:
            r = context.request.post("/api/v1/auth/login", data={"phone": number, "password": f.PASSWORD})
            assert r.ok, r.text()
        page = context.new_page()
        page.goto(path)
        page.wait_for_selector("body[data-ready='1']")
        if number:
            page.wait_for_selector("body[data-socket='live']")
        return page

    yield open_phone
    for context in contexts:
        context.close()


def run_axe(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
    return result


def api_as(world, number: str):
    """A requests.Session signed in as number (bearer), outside any browser."""
    import requests

    s = requests.Session()
    r = s.post(f"{world.url}/api/v1/auth/login", json={"phone": number, "password": f.PASSWORD}, timeout=10)
    assert r.ok, r.text
    s.headers["Authorization"] = f"Bearer {r.json()['token']}"
    s.cookies.clear()
    s.base = f"{world.url}/api/v1"
    return s


# The community center's console (tests/e2e/test_console.py, test_screenshots.py).
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@pytest.fixture
def staff_phone(world, tmp_path) -> str:
    """A center_staff member of the world's community, written into the running server's database."""
    engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    with write_session(engine) as session:
        staff = f.staff(session, f.first_community(session))
        session.commit()
        number = staff.phone
    engine.dispose()
    return number


@pytest.fixture
def console(browser, world):
    """open(phone_number, path, axe=False) → a signed-in console page (a desktop browser context)."""
    contexts = []

    def open_console(number: str, path: str = "/console/live", *, axe: bool = False, staff: bool = True):
        context = browser.new_context(**DESKTOP, base_url=world.url, bypass_csp=axe)  # axe-core is injected inline
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        r = context.request.post("/api/v1/auth/login", data={"phone": number, "password": f.PASSWORD})
        assert r.ok, r.text()
        page = context.new_page()
        page.csp_errors = []
        page.on("console", lambda m: "Content Security Policy" in m.text and page.csp_errors.append(m.text))
        page.goto(path)
        page.wait_for_selector("body[data-ready='1']")
        if staff:
            page.wait_for_selector("body[data-socket='live']")
        return page

    yield open_console
    for context in contexts:
        context.close()
