"""The console's page: /console and its client-side routes get console.html (not the phone app's
shell), the tile URL setting reaches the page and the CSP admits that host only when it is set."""
from pathlib import Path

import pytest

from server.config import Settings
from server.console_page import console_response, is_console, tile_origin

PAGE = Path(__file__).resolve().parents[2] / "pwa" / "console.html"
OSM = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"


@pytest.fixture
def root(tmp_path):
    (tmp_path / "console.html").write_text(PAGE.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_console_routes_are_recognised():
    assert is_console("console") and is_console("console/live") and is_console("console/coverage/x")
    assert not is_console("consoles") and not is_console("index.html") and not is_console("assets/console-1.js")


def test_tile_origin_of_a_template_and_refused_ones():
    assert tile_origin(OSM) == "https://*.tile.openstreetmap.org"
    assert tile_origin("https://tiles.example.cn:8443/{z}/{x}/{y}.png") == "https://tiles.example.cn:8443"
    assert tile_origin(None) is None and tile_origin("") is None
    assert tile_origin("javascript:alert(1)") is None
    assert tile_origin("https://a.example; script-src *") is None  # nothing can be smuggled into the CSP


def test_no_tiles_by_default_and_the_page_is_not_cached(root):
    response = console_response(root, None, None)
    body = response.get_data(as_text=True)
    assert '<meta name="linli-map-tiles" content="" />' in body and "/src/console/main.js" in body
    assert response.headers["Cache-Control"] == "no-cache"
    assert "img-src 'self' data: blob: https://*.tile.openstreetmap.org;" in response.headers["Content-Security-Policy"]


def test_a_tile_setting_fills_the_page_and_widens_img_src_to_its_host(root):
    response = console_response(root, "https://tiles.example.cn/{z}/{x}/{y}.png?a=1&b=2", "© 示例 <地图>")
    body = response.get_data(as_text=True)
    assert 'content="https://tiles.example.cn/{z}/{x}/{y}.png?a=1&amp;b=2"' in body
    assert 'content="© 示例 &lt;地图&gt;"' in body
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://tiles.example.cn " in csp and "script-src 'self';" in csp


def test_settings_read_the_tile_url(tmp_path):
    s = Settings.from_env({"LINLI_INSTANCE_PATH": str(tmp_path), "LINLI_MAP_TILES": OSM,
                           "LINLI_MAP_ATTRIBUTION": "© OpenStreetMap"})
    assert s.map_tiles == OSM and s.map_attribution == "© OpenStreetMap"
    assert Settings.from_env({"LINLI_INSTANCE_PATH": str(tmp_path)}).map_tiles is None


def test_console_routes_never_get_the_phone_apps_shell(client):
    """Built or not, /console/… is the console's page when pwa/dist has one, and never a JSON 404."""
    for path in ("/console", "/console/live", "/console/coverage"):
        r = client.get(path)
        assert r.status_code == 200 and r.mimetype == "text/html"
        dist = Path(__file__).resolve().parents[2] / "pwa" / "dist" / "console.html"
        if dist.exists():
            assert "console" in r.get_data(as_text=True) and r.headers["Cache-Control"] == "no-cache"
