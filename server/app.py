"""The app factory: settings, database, API, Socket.IO, rate limits, hooks."""
from __future__ import annotations

import logging

from flask import send_from_directory
from flask_openapi3 import Info, OpenAPI
from werkzeug.routing import PathConverter

from models.engine import make_engine
from server import db, hooks
from server.api import register_api
from server.config import Settings
from server.console_page import console_response, is_console
from server.limits import init_limits
from server.sockets import init_sockets
from server.state import KEY as STATE_KEY, AppState
from server.steps.directory import ProviderDirectory

VERSION = "0.1.0"
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/login → token"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "linli_session"},
}


def create_app(settings: Settings | None = None, *, engine=None) -> OpenAPI:
    """Build the Flask app for settings (from the environment when None)."""
    settings = settings or Settings.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = OpenAPI("linli", info=Info(title="Linli 邻里 API", version=VERSION), doc_prefix="/api",
                  security_schemes=SECURITY_SCHEMES, validation_error_status=422,
                  validation_error_model=hooks.ErrorBody, validation_error_callback=hooks.validation_error_response,
                  instance_path=str(settings.instance_path), static_folder=None)
    app.config.update(SECRET_KEY=settings.secret_key, LINLI_SETTINGS=settings,
                      MAX_CONTENT_LENGTH=settings.max_body_bytes, JSON_AS_ASCII=False)
    app.json.ensure_ascii = False
    engine = engine or make_engine(settings.database_url)
    app.extensions[STATE_KEY] = AppState(settings=settings, engine=engine,
                                         directory=ProviderDirectory(engine, warm=settings.index_warm,
                                                                     check_every=settings.index_check_seconds))
    init_limits(app, settings)
    app.before_request(hooks.check_body)
    app.after_request(hooks.security_headers)
    app.teardown_appcontext(db.close_session)
    hooks.register_error_handlers(app)
    register_api(app)
    _register_pages(app)
    init_sockets(app, settings)
    return app


class PagePath(PathConverter):
    """A page path: anything outside /api, so an unknown API route is a JSON 404 for every method."""

    regex = r"(?!api(?:/|$))[^/].*?"


def _register_pages(app: OpenAPI) -> None:
    from pathlib import Path

    dist = Path(__file__).resolve().parent.parent / "pwa" / "dist"
    fallback = Path(__file__).resolve().parent / "static"

    def healthz():
        return {"status": "ok"}

    def pwa(path: str):
        root = dist if (dist / "index.html").exists() else fallback
        if path == "console.html" or (is_console(path) and (root / "console.html").is_file()):
            settings = app.config["LINLI_SETTINGS"]  # the console's routes fall back to its own page
            return console_response(root, settings.map_tiles, settings.map_attribution)
        if not (root / path).is_file():
            path = "index.html"  # client-side routes fall back to the app shell
        response = send_from_directory(root, path)
        if path in ("index.html", "sw.js"):
            response.headers["Cache-Control"] = "no-cache"
        return response

    # Plain Flask rules: these are not part of the JSON API, so flask-openapi3 neither parses nor documents them.
    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
    app.add_url_rule("/", "pwa_root", pwa, defaults={"path": "index.html"}, methods=["GET"])
    app.url_map.converters["page"] = PagePath
    app.add_url_rule("/<page:path>", "pwa", pwa, methods=["GET"])
