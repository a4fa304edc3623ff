"""The community center console's page (/console and /console/…): console.html with the map's tile
settings filled in, and a CSP whose img-src admits the configured tile host (none by default)."""
from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import Response

from server.hooks import CSP

log = logging.getLogger(__name__)

_HOST = re.compile(r"^[A-Za-z0-9.*{}-]+(:\d+)?$")
_TILES = '<meta name="linli-map-tiles" content="" />'
_ATTRIBUTION = '<meta name="linli-map-attribution" content="" />'


def is_console(path: str) -> bool:
    """A client-side route of the console."""
    return path == "console" or path.startswith("console/")


def tile_origin(url: str | None) -> str | None:
    """The origin a CSP must allow for a tile URL template ({s} becomes *), or None when it is unusable."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not _HOST.match(parts.netloc or ""):
        log.warning("LINLI_MAP_TILES is not an http(s) URL template; the map is drawn without tiles")
        return None
    host = re.sub(r"\{[a-z]\}", "*", parts.netloc)
    return f"{parts.scheme}://{host}"


def console_response(root: Path, tiles: str | None, attribution: str | None) -> Response:
    """console.html from root with the tile settings; not cached (it names the current bundle)."""
    page = (root / "console.html").read_text(encoding="utf-8")
    origin = tile_origin(tiles)
    csp = CSP
    if origin:
        page = page.replace(_TILES, f'<meta name="linli-map-tiles" content="{html.escape(tiles or "")}" />')
        page = page.replace(_ATTRIBUTION,
                            f'<meta name="linli-map-attribution" content="{html.escape(attribution or "")}" />')
        csp = CSP.replace("img-src 'self' data: blob:", f"img-src 'self' data: blob: {origin}")
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = "no-cache"
    return response
